#!/usr/bin/env bash
# A real multi-host Docker testbed on one Linux machine: each host is a network namespace with
# its own address (10.250.I.2), its own dockerd and its own sshd. See testbed/README.md.
#
#   testbed.sh install            Debian packages (idempotent)
#   testbed.sh up [N]             bring up hosts fh1..fhN (default 3); idempotent
#   testbed.sh down [--purge]     stop everything the testbed started; --purge removes state
#   testbed.sh status             one line per host
#   testbed.sh sshd-stop I | sshd-start I | link-down I | link-up I | dockerd-stop I | dockerd-start I
set -euo pipefail

STATE=${FLEET_TESTBED_DIR:-/tmp/fleet-testbed}
HERE=$(cd "$(dirname "$0")" && pwd)

log() { echo "testbed: $*" >&2; }
die() { echo "testbed: error: $*" >&2; exit 1; }

addr() { echo "10.250.$1.2"; }
hostdir() { echo "$STATE/fh$1"; }
dock() { docker -H "unix://$(hostdir "$1")/docker.sock" "${@:2}"; }

install() {
  local missing=()
  for pkg in docker.io openssh-server openssh-client busybox-static iproute2 iptables; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  # Packages must not start daemons in the root namespace: the testbed starts its own.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created" -eq 1 ] && rm -f "$policy"
  return 0
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() {
  local file=$1 pid
  pid_alive "$file" || { rm -f "$file"; return 0; }
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
}

net_up() {
  local i=$1 ns="fh$i" veth="fh$i-veth"
  # Traffic for a host whose link is down must be dropped here, never sent out of the machine
  # through the default route: a black-holed host then looks exactly like one.
  ip route replace blackhole 10.250.0.0/16
  # Hosts reach each other (ProxyJump tests) through this namespace, and nothing else.
  sysctl -qw net.ipv4.ip_forward=1
  iptables -C FORWARD -i fh+ ! -d 10.250.0.0/16 -j DROP 2>/dev/null || iptables -A FORWARD -i fh+ ! -d 10.250.0.0/16 -j DROP
  ip netns list | grep -qw "$ns" || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip netns exec "$ns" ip link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip addr replace "10.250.$i.1/24" dev "$veth"
  ip link set "$veth" up
  ip netns exec "$ns" ip addr replace "$(addr "$i")/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip route replace default via "10.250.$i.1"
}

dockerd_start() {
  local i=$1 dir
  dir=$(hostdir "$i")
  mkdir -p "$dir"
  pid_alive "$dir/dockerd.pid" && return 0
  rm -f "$dir/docker.sock" "$dir/dockerd.pid"
  # nsenter, not `ip netns exec`: the latter remounts /sys and dockerd fails on cgroups.
  nsenter --net="/var/run/netns/fh$i" dockerd \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" --default-address-pool "base=10.$((210 + i)).0.0/16,size=24" \
    --bip "172.$((16 + i)).0.1/16" --containerd-namespace "fleet-testbed-fh$i" \
    --containerd-plugins-namespace "fleet-testbed-fh$i-plugins" \
    >"$dir/dockerd.log" 2>&1 &
}

dockerd_wait() {
  local i=$1 dir
  dir=$(hostdir "$i")
  for _ in $(seq 1 150); do
    dock "$i" version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  tail -20 "$dir/dockerd.log" >&2 || true
  die "dockerd of fh$i did not answer within 30 s (log above: $dir/dockerd.log)"
}

sshd_start() {
  local i=$1 dir
  dir=$(hostdir "$i")
  mkdir -p "$dir" /run/sshd
  pid_alive "$dir/sshd.pid" && return 0
  [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C "fh$i"
  cp "$STATE/client/id_ed25519.pub" "$dir/authorized_keys"
  cat >"$dir/sshd_config" <<EOF
ListenAddress $(addr "$i"):22
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $dir/sshd.pid
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
# For clients that run the docker CLI on the host (docker -H ssh://, dial-stdio).
SetEnv DOCKER_HOST=unix://$dir/docker.sock
EOF
  nsenter --net="/var/run/netns/fh$i" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 1 50); do pid_alive "$dir/sshd.pid" && return 0; sleep 0.1; done
  die "sshd of fh$i did not start (see $dir/sshd.log)"
}

build_images() {
  local i=$1 ctx
  if dock "$i" image inspect fleet-demo:1 fleet-demo:2 fleet-demo:broken >/dev/null 2>&1; then return 0; fi
  if [ -f "$STATE/images.tar" ]; then
    dock "$i" load -q -i "$STATE/images.tar" >/dev/null && return 0
  fi
  ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  for v in 1 2; do
    mkdir -p "$ctx/www$v" && echo "demo $v" >"$ctx/www$v/index.html"
  done
  cat >"$ctx/Dockerfile.demo" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
ARG VERSION
COPY www${VERSION} /www
CMD ["/bin/busybox","httpd","-f","-p","8080","-h","/www"]
EOF
  cat >"$ctx/Dockerfile.broken" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
CMD ["/bin/busybox","false"]
EOF
  for v in 1 2; do
    DOCKER_BUILDKIT=0 dock "$i" build -q --build-arg VERSION=$v -f "$ctx/Dockerfile.demo" -t "fleet-demo:$v" "$ctx" >/dev/null
  done
  DOCKER_BUILDKIT=0 dock "$i" build -q -f "$ctx/Dockerfile.broken" -t fleet-demo:broken "$ctx" >/dev/null
  rm -rf "$ctx"
  dock "$i" save -o "$STATE/images.tar" fleet-demo:1 fleet-demo:2 fleet-demo:broken
}

write_inventory() {
  local n=$1 zones=(a b c) roles=(web web worker)
  : >"$STATE/known_hosts"
  {
    echo "hosts:"
    for i in $(seq 1 "$n"); do
      echo "$(addr "$i") $(cut -d' ' -f1-2 "$(hostdir "$i")/host_key.pub")" >>"$STATE/known_hosts"
      echo "  fh$i:"
      echo "    address: ssh://root@$(addr "$i"):22"
      echo "    docker_socket: $(hostdir "$i")/docker.sock"
      echo "    identity_file: $STATE/client/id_ed25519"
      echo "    labels: { zone: ${zones[$(((i - 1) % 3))]}, role: ${roles[$(((i - 1) % 3))]} }"
    done
  } >"$STATE/inventory.yaml"
  cat >"$STATE/env" <<EOF
export FLEET_TESTBED_DIR=$STATE
export FLEET_TESTBED_HOSTS=$n
export FLEET_TESTBED_KNOWN_HOSTS=$STATE/known_hosts
export FLEET_TESTBED_IDENTITY=$STATE/client/id_ed25519
export FLEET_TESTBED_INVENTORY=$STATE/inventory.yaml
EOF
}

up() {
  local n=${1:-3} i
  command -v dockerd >/dev/null || die "dockerd is missing: run '$0 install'"
  mkdir -p "$STATE/client"
  [ -f "$STATE/client/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$STATE/client/id_ed25519" -C fleet-testbed
  for i in $(seq 1 "$n"); do net_up "$i"; dockerd_start "$i"; sshd_start "$i"; done
  for i in $(seq 1 "$n"); do dockerd_wait "$i"; done
  build_images 1
  local loads=()
  for i in $(seq 2 "$n"); do build_images "$i" & loads+=($!); done
  # Wait for the loads only: the daemons are children of this shell too.
  for pid in "${loads[@]}"; do wait "$pid" || die "loading the test images failed"; done
  write_inventory "$n"
  echo "$n" >"$STATE/hosts"
  log "up: $n host(s); source $STATE/env"
}

down() {
  local dir i
  for dir in "$STATE"/fh*; do
    [ -d "$dir" ] || continue
    i=${dir##*/fh}
    stop_pidfile "$dir/sshd.pid"
    # Containers first, so no shim outlives its daemon.
    if pid_alive "$dir/dockerd.pid"; then
      dock "$i" ps -aq 2>/dev/null | xargs -r docker -H "unix://$dir/docker.sock" rm -f >/dev/null 2>&1 || true
    fi
    stop_pidfile "$dir/dockerd.pid"
    ip link del "fh$i-veth" 2>/dev/null || true
    ip netns del "fh$i" 2>/dev/null || true
  done
  # Namespaces left by an earlier state directory.
  for ns in $(ip netns list 2>/dev/null | awk '/^fh[0-9]+/{print $1}'); do ip netns del "$ns" 2>/dev/null || true; done
  ip route del blackhole 10.250.0.0/16 2>/dev/null || true
  if [ "${1:-}" = "--purge" ]; then
    for dir in "$STATE"/fh*; do [ -d "$dir" ] && { umount -R "$dir/exec" 2>/dev/null || true; umount -R "$dir/data" 2>/dev/null || true; }; done
    rm -rf "$STATE"
  fi
  log "down"
}

status() {
  local n i
  n=$(cat "$STATE/hosts" 2>/dev/null || echo 0)
  for i in $(seq 1 "$n"); do
    local ns=no engine=no ssh=no
    ip netns list | grep -qw "fh$i" && ns=yes
    dock "$i" version >/dev/null 2>&1 && engine=yes
    ssh -i "$STATE/client/id_ed25519" -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes \
      -o BatchMode=yes -o ConnectTimeout=2 "root@$(addr "$i")" true 2>/dev/null && ssh=yes
    echo "fh$i $(addr "$i") netns=$ns dockerd=$engine sshd=$ssh"
  done
}

case "${1:-}" in
  install) install ;;
  up) up "${2:-3}" ;;
  down) down "${2:-}" ;;
  status) status ;;
  sshd-stop) stop_pidfile "$(hostdir "$2")/sshd.pid" ;;
  sshd-start) sshd_start "$2" ;;
  link-down) ip netns exec "fh$2" ip link set eth0 down ;;
  link-up) ip netns exec "fh$2" ip link set eth0 up; ip link set "fh$2-veth" up; ip neigh flush dev "fh$2-veth" ;;
  dockerd-stop) stop_pidfile "$(hostdir "$2")/dockerd.pid" ;;
  dockerd-start) dockerd_start "$2"; dockerd_wait "$2" ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
