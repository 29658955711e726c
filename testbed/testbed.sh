#!/usr/bin/env bash
# A real multi-host Docker testbed on one Linux machine: host fhI is a network namespace with its
# own address (10.250.I.2), its own dockerd and its own sshd. See testbed/README.md.
#
#   testbed.sh install               Debian packages the testbed needs (idempotent, quiet)
#   testbed.sh up [N]                bring up hosts fh1..fhN (default 3, at most 39); idempotent
#   testbed.sh down [--purge]        stop everything the testbed started; --purge removes the state
#   testbed.sh status                one line per host; exit 1 unless every host is fully up
#   testbed.sh sshd-stop I     | sshd-start I      connection refused (live sessions survive)
#   testbed.sh link-down I     | link-up I         black hole: packets dropped, connections hang
#   testbed.sh dockerd-stop I  | dockerd-start I   engine down behind a live SSH server
#
# State: ${FLEET_TESTBED_DIR:-/tmp/fleet-testbed}. Only 10.250.0.0/16 and loopback are ever used.
set -euo pipefail

STATE=${FLEET_TESTBED_DIR:-/tmp/fleet-testbed}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
STATE=${STATE%/}
MAX_HOSTS=39          # address pools 10.211-10.249.0.0/16; 10.250.0.0/16 is the testbed itself
NET=10.250            # host I: 10.250.I.1 (root namespace side), 10.250.I.2 (inside)
DROP_DEV=fleet-drop   # catch-all for 10.250.0.0/16 that silently drops (see ensure_net_guard)
LOCK=/run/lock/fleet-testbed.lock
WAIT=${FLEET_TESTBED_WAIT:-60}  # seconds to wait for one daemon
IMAGES=(fleet-demo:1 fleet-demo:2 fleet-demo:broken fleet-haproxy:2.6)
# `sh -c "$SETHOST" fhI cmd args...`: sets the hostname (in a fresh UTS namespace), then execs.
# shellcheck disable=SC2016 # expanded by that sh, not here
SETHOST='hostname "$0" && exec "$@"'

log() { echo "testbed: $*" >&2; }
die() { echo "testbed: error: $*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

addr() { echo "$NET.$1.2"; }
hostdir() { echo "$STATE/fh$1"; }
sock() { echo "$STATE/fh$1/docker.sock"; }
nsfile() { echo "/var/run/netns/fh$1"; }
dock() { docker -H "unix://$(sock "$1")" "${@:2}"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "run as root (network namespaces, dockerd)"; }
check_index() {
  if ! [[ ${1:-} =~ ^[1-9][0-9]*$ ]] || [ "$1" -gt "$MAX_HOSTS" ]; then
    die "host index must be 1..$MAX_HOSTS, got '${1:-}'"
  fi
}
# One testbed per machine (namespace names are global). up/down/install take the lock exclusively,
# fault helpers shared. The lock fd (9) is closed for every daemon started, or it would keep it.
lock() {
  mkdir -p "${LOCK%/*}"
  exec 9>"$LOCK"
  flock "$1" -w 600 9 || die "another testbed.sh holds $LOCK"
}

# ---------------------------------------------------------------------------------- processes

# "$1" is alive, is named $2 and its command line mentions this host's state directory $3: so it
# was started by the testbed (guards against stale pid files and reused pids).
owned() {
  local pid=$1 comm=$2 dir=$3
  is_live "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$dir/"
}
# Is $1 a live process? A zombie is not (this machine's PID 1 reaps orphans only now and then,
# and a zombie still has /proc/PID/comm and answers kill -0).
is_live() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] && read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}
# Pid from pid file $1 if that process is a live $2 of host dir $3.
owned_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  owned "$pid" "$2" "$3" && echo "$pid"
}
# Is process $1 in host $2's network namespace?
in_ns() {
  [ -e "$(nsfile "$2")" ] &&
    [ "$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null)" = "$(stat -L -c %i "$(nsfile "$2")" 2>/dev/null)" ]
}
# The given pids and all their descendants.
tree() {
  [ $# -gt 0 ] || return 0
  ps -e -o pid=,ppid= | awk -v roots="$*" '
    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
    { parent[$1] = $2 }
    END {
      do { changed = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } } while (changed)
      for (p in keep) if (p in parent) print p
    }'
}
# This script and its ancestors: never signalled, even when run from a session inside a host.
self_pids() {
  local p=$$
  while [ "$p" -gt 1 ]; do
    echo "$p"
    p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || break
  done
}
# Daemons of host dir $1 found by their command line (dockerd, its containerd, shims, sshd):
# catches them even when their pid files or their namespace are gone.
by_cmdline() {
  local dir=$1 p comm
  for p in /proc/[0-9]*; do
    read -r comm 2>/dev/null <"$p/comm" || continue
    case $comm in
      dockerd | containerd | containerd-shim* | sshd) owned "${p#/proc/}" "$comm" "$dir" && echo "${p#/proc/}" ;;
    esac
  done
  return 0
}
# TERM the pids, wait up to $1 seconds, then KILL what is left. Each pid's name is checked
# before every signal, so a pid reused in between is never hit; this script and its ancestors
# are never signalled.
terminate() {
  local grace=$1 p c mine deadline
  shift
  local -A name=()
  mine=" $(self_pids | tr '\n' ' ') "
  for p in "$@"; do
    [[ $mine == *" $p "* ]] && continue
    read -r c 2>/dev/null <"/proc/$p/comm" && name[$p]=$c
  done
  [ "${#name[@]}" -gt 0 ] || return 0
  signal_named TERM
  deadline=$((EPOCHSECONDS + grace))
  while [ -n "$(alive_named)" ] && [ "$EPOCHSECONDS" -lt "$deadline" ]; do sleep 0.1; done
  [ -n "$(alive_named)" ] || return 0
  signal_named KILL
  for _ in $(seq 1 50); do [ -n "$(alive_named)" ] || return 0; sleep 0.1; done
  return 0
}
# Helpers of terminate (they read its `name` array).
alive_named() {
  local p c
  for p in "${!name[@]}"; do read -r c 2>/dev/null <"/proc/$p/comm" && [ "$c" = "${name[$p]}" ] && is_live "$p" && echo "$p"; done
  return 0
}
signal_named() {
  local p
  for p in $(alive_named); do kill "-$1" "$p" 2>/dev/null || true; done
}

# Unmounts whatever is still mounted below directory $1 (deepest first): dockerd bind-mounts its
# data root onto itself and container mounts live below it; a killed dockerd leaves them behind.
unmount_below() {
  awk -v d="$1/" 'index($5, d) == 1 || $5 == substr(d, 1, length(d) - 1) { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}

# ---------------------------------------------------------------------------------- install

# dockerd, containerd and sshd processes (pgrep takes no pattern longer than 15 characters).
daemon_pids() {
  local n
  for n in dockerd containerd sshd; do pgrep -x "$n" || true; done
}

install() {
  need_root
  local missing=() pkg
  for pkg in docker.io containerd runc openssh-server openssh-client busybox-static haproxy iproute2 iptables util-linux procps; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  lock -x
  log "installing ${missing[*]}"
  # Package scripts must not start dockerd, containerd or sshd in the root namespace: the testbed
  # starts its own. policy-rc.d (exit 101) forbids it for invoke-rc.d and deb-systemd-invoke.
  local policy=/usr/sbin/policy-rc.d before
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# fleet testbed: no service starts during package installation\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  before=" $(daemon_pids | tr '\n' ' ') "
  local out
  out=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"; } >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    die "apt-get failed"
  fi
  rm -f "$out"
  # Belt and braces: a daemon that a package script started anyway is stopped again.
  local p started=()
  for p in $(daemon_pids); do [[ $before == *" $p "* ]] || started+=("$p"); done
  if [ "${#started[@]}" -gt 0 ]; then
    log "stopping daemons started by the package scripts: ${started[*]}"
    terminate 10 "${started[@]}"
  fi
  command -v dockerd >/dev/null || die "dockerd still missing after installing docker.io"
}

# ---------------------------------------------------------------------------------- network

# Installed before any host exists and kept while one does. Traffic for a host whose link is down
# must never follow the default route off the machine: 10.250.0.0/16 goes to a veth whose peer
# stays down and that does no ARP, so packets are dropped silently and connections hang (a
# `blackhole` route would fail connect() at once with EINVAL, which is not what a lost host does).
ensure_net_guard() {
  if ! ip link show "$DROP_DEV" >/dev/null 2>&1; then
    ip link add "$DROP_DEV" type veth peer name "$DROP_DEV-p"
  fi
  ip link set "$DROP_DEV" arp off
  ip link set "$DROP_DEV" up
  ip link set "$DROP_DEV-p" down
  ip route replace "$NET.0.0/16" dev "$DROP_DEV"
  ip route get "$NET.254.254" | grep -q "dev $DROP_DEV" || die "could not install the $NET.0.0/16 drop route"
  # Hosts reach each other (ProxyJump) through the root namespace, and nothing else.
  [ -f "$STATE/ip_forward.orig" ] || cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward.orig"
  sysctl -qw net.ipv4.ip_forward=1
  local rule
  # The ACCEPT keeps host-to-host traffic flowing when a dockerd in the root namespace (for
  # example the one scripts/demo starts) sets the FORWARD policy to DROP.
  for rule in "-i fh+ ! -d $NET.0.0/16 -j DROP" "-o fh+ ! -s $NET.0.0/16 -j DROP" \
    "-i fh+ -o fh+ -s $NET.0.0/16 -d $NET.0.0/16 -j ACCEPT"; do
    # shellcheck disable=SC2086 # the rule is a word list on purpose
    iptables -C FORWARD $rule 2>/dev/null || iptables -I FORWARD $rule
  done
}

remove_net_guard() {
  local rule
  for rule in "-i fh+ ! -d $NET.0.0/16 -j DROP" "-o fh+ ! -s $NET.0.0/16 -j DROP" \
    "-i fh+ -o fh+ -s $NET.0.0/16 -d $NET.0.0/16 -j ACCEPT"; do
    # shellcheck disable=SC2086
    while iptables -C FORWARD $rule 2>/dev/null; do iptables -D FORWARD $rule; done
  done
  ip route del "$NET.0.0/16" dev "$DROP_DEV" 2>/dev/null || true
  ip link del "$DROP_DEV" 2>/dev/null || true
  if [ -f "$STATE/ip_forward.orig" ]; then
    sysctl -qw "net.ipv4.ip_forward=$(cat "$STATE/ip_forward.orig")" || true
    rm -f "$STATE/ip_forward.orig"
  fi
}

net_up() {
  local i=$1
  local ns=fh$i veth=fh$i-veth
  # A namespace file whose namespace is gone (or was never mounted) is replaced.
  if [ -e "$(nsfile "$i")" ] && ! ip -n "$ns" link show lo >/dev/null 2>&1; then
    ip netns del "$ns" 2>/dev/null || rm -f "$(nsfile "$i")"
  fi
  [ -e "$(nsfile "$i")" ] || ip netns add "$ns"
  # Both ends must exist, as a pair; anything else (an end left by a half teardown, or whose
  # peer went with an older namespace) is recreated.
  if ! ip link show "$veth" >/dev/null 2>&1 || ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    ip link del "$veth" 2>/dev/null || true
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip addr replace "$NET.$i.1/24" dev "$veth"
  ip link set "$veth" up
  ip -n "$ns" addr replace "$(addr "$i")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" route replace default via "$NET.$i.1"
}

net_down() {
  ip link del "fh$1-veth" 2>/dev/null || true
  ip netns del "fh$1" 2>/dev/null || true
  rm -f "$(nsfile "$1")" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------- dockerd

dockerd_pid() { owned_pid "$(hostdir "$1")/dockerd.pid" dockerd "$(hostdir "$1")"; }

dockerd_start() {
  local i=$1 dir pid
  dir=$(hostdir "$i")
  mkdir -p "$dir"
  if pid=$(dockerd_pid "$i"); then
    in_ns "$pid" "$i" && return 0
    log "fh$i: dockerd $pid runs in a stale namespace; restarting it"
  fi
  dockerd_stop "$i"
  rm -f "$dir/docker.sock" "$dir/dockerd.pid" "$dir/exec/containerd/containerd.pid"
  # Own config (never /etc/docker/daemon.json) and own identity key: dockerd 20.10 derives the
  # engine ID (`docker info` .ID) from /etc/docker/key.json, which would make every host the same.
  printf '{ "deprecated-key-path": "%s/key.json" }\n' "$dir" >"$dir/daemon.json"
  echo "=== testbed: dockerd start $(date -Is)" >>"$dir/dockerd.log"
  # nsenter, not `ip netns exec`: the latter remounts /sys and dockerd fails on cgroups.
  # setsid: the daemon must not die with the caller's process group (Ctrl-C, job control).
  # Own UTS namespace: `docker info` .Name is the host's name, fhI (every exec keeps the pid).
  setsid nsenter --net="$(nsfile "$i")" unshare --uts sh -c "$SETHOST" "fh$i" dockerd \
    --config-file "$dir/daemon.json" \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" \
    --default-address-pool "base=10.$((210 + i)).0.0/16,size=24" \
    --containerd-namespace "fleet-fh$i" --containerd-plugins-namespace "fleet-fh$i-plugins" \
    --shutdown-timeout 2 \
    </dev/null >>"$dir/dockerd.log" 2>&1 9>&- &
  echo $! >"$dir/dockerd.spawned"
}

# Bounded wait for the engine to answer; fails at once if the daemon died.
dockerd_wait() {
  local i=$1 dir spawned deadline
  dir=$(hostdir "$i")
  spawned=$(cat "$dir/dockerd.spawned" 2>/dev/null || echo 0)
  deadline=$((EPOCHSECONDS + WAIT))
  while :; do
    dock "$i" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
    if ! dockerd_pid "$i" >/dev/null && ! is_live "$spawned"; then
      echo "--- tail of $dir/dockerd.log" >&2
      tail -n 25 "$dir/dockerd.log" >&2 || true
      die "dockerd of fh$i exited during startup (log: $dir/dockerd.log)"
    fi
    if [ "$EPOCHSECONDS" -ge "$deadline" ]; then
      echo "--- tail of $dir/dockerd.log" >&2
      tail -n 25 "$dir/dockerd.log" >&2 || true
      die "dockerd of fh$i did not answer on $dir/docker.sock within $WAIT s (log: $dir/dockerd.log)"
    fi
    sleep 0.2
  done
}

# Graceful stop (containers get --shutdown-timeout 2 s), then whatever is left of this engine:
# its containerd, shims and their containers, docker-proxy.
dockerd_stop() {
  local i=$1 dir pid procs=()
  dir=$(hostdir "$i")
  local roots=()
  pid=$(dockerd_pid "$i") && roots+=("$pid")
  local p
  for p in $(by_cmdline "$dir"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sshd ] || roots+=("$p"); done
  if [ "${#roots[@]}" -gt 0 ]; then
    mapfile -t procs < <(tree "${roots[@]}")
    if [ -n "${pid:-}" ]; then terminate 30 "$pid"; fi
    # After a clean shutdown nothing should be left; after a KILL, the rest goes too.
    local left=()
    for p in "${procs[@]}"; do is_live "$p" && left+=("$p"); done
    if [ "${#left[@]}" -gt 0 ]; then terminate 3 "${left[@]}"; fi
  fi
  unmount_below "$dir/data"
  unmount_below "$dir/exec"
  rm -f "$dir/dockerd.pid" "$dir/docker.sock"
}

# ---------------------------------------------------------------------------------- sshd

# The host's sshd listener: from its pid file, or (pid file lost or wrong) by its command line.
sshd_pid() {
  local dir p
  dir=$(hostdir "$1")
  owned_pid "$dir/sshd.pid" sshd "$dir" && return 0
  for p in $(by_cmdline "$dir"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sshd ] || continue
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-f $dir/sshd_config" || continue
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "[listener]" || continue
    echo "$p"
    return 0
  done
  return 1
}

sshd_config() {
  local i=$1 dir
  dir=$(hostdir "$i")
  cat <<EOF
# fleet testbed host fh$i (generated by testbed.sh)
ListenAddress $(addr "$i"):22
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PrintMotd no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
# Parallel tests open many connections to one host at once.
MaxStartups 200
MaxSessions 100
# For clients that run the docker CLI on the host (docker -H ssh://, dial-stdio).
SetEnv DOCKER_HOST=unix://$dir/docker.sock
EOF
}

# Starts sshd unless one runs with this very config and host key in the right namespace.
sshd_start() {
  local i=$1 dir pid fresh=0
  dir=$(hostdir "$i")
  mkdir -p "$dir" /run/sshd
  if [ ! -f "$dir/host_key" ] || [ ! -f "$dir/host_key.pub" ]; then
    rm -f "$dir/host_key" "$dir/host_key.pub"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C "fh$i"
    fresh=1
  fi
  [ -f "$dir/authorized_keys" ] || cp "$STATE/client/id_ed25519.pub" "$dir/authorized_keys"
  sshd_config "$i" >"$dir/sshd_config.new"
  cmp -s "$dir/sshd_config.new" "$dir/sshd_config" 2>/dev/null || fresh=1
  mv "$dir/sshd_config.new" "$dir/sshd_config"
  if pid=$(sshd_pid "$i"); then
    if [ "$fresh" -eq 0 ] && in_ns "$pid" "$i"; then
      echo "$pid" >"$dir/sshd.pid" # repairs a lost or wrong pid file
      return 0
    fi
    terminate 5 "$pid"
  fi
  rm -f "$dir/sshd.pid"
  /usr/sbin/sshd -t -f "$dir/sshd_config" || die "fh$i: invalid $dir/sshd_config"
  nsenter --net="$(nsfile "$i")" unshare --uts sh -c "$SETHOST" "fh$i" \
    /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null 9>&- ||
    die "fh$i: sshd did not start (see $dir/sshd.log)"
  for _ in $(seq 1 50); do sshd_pid "$i" >/dev/null && return 0; sleep 0.1; done
  tail -n 10 "$dir/sshd.log" >&2 || true
  die "fh$i: sshd did not write $dir/sshd.pid (see $dir/sshd.log)"
}

# Stops the listener only: like restarting sshd on a real server, open sessions live on.
sshd_stop() {
  local pid
  pid=$(sshd_pid "$1") || { rm -f "$(hostdir "$1")/sshd.pid"; return 0; }
  terminate 5 "$pid"
  rm -f "$(hostdir "$1")/sshd.pid"
}

# ---------------------------------------------------------------------------------- images

# Test images with no registry: FROM scratch with the static busybox, no RUN step (the applet
# links are made here and COPYed), so building needs no container and takes well under a second.
images_context() {
  local ctx=$1 a
  rm -rf "$ctx"
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/www1" "$ctx/www2"
  ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is dynamically linked: install busybox-static"
  cp /bin/busybox "$ctx/rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$ctx/rootfs/bin/$a"; done
  chmod 1777 "$ctx/rootfs/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$ctx/rootfs/etc/passwd"
  echo 'root:x:0:' >"$ctx/rootfs/etc/group"
  echo "demo 1" >"$ctx/www1/index.html"
  echo "demo 2" >"$ctx/www2/index.html"
  # sh as PID 1 with a TERM trap: `docker stop` ends it at once with status 0 (a bare httpd as
  # PID 1 ignores SIGTERM and every stop would wait the full timeout and end in SIGKILL).
  cat >"$ctx/Dockerfile.demo" <<'EOF'
FROM scratch
COPY rootfs/ /
ARG VERSION
COPY www${VERSION}/ /www/
EXPOSE 8080
CMD ["/bin/sh", "-c", "trap 'exit 0' TERM INT; httpd -f -p 8080 -h /www & wait"]
EOF
  cat >"$ctx/Dockerfile.broken" <<'EOF'
FROM scratch
COPY rootfs/ /
CMD ["/bin/sh", "-c", "echo 'fleet-demo:broken exits at once' >&2; exit 1"]
EOF
  # The balancer image (no registry): Debian's haproxy binary and the libraries it links, laid
  # out like the official image (binary on PATH, configuration in /usr/local/etc/haproxy).
  local hp=$ctx/haproxy lib
  mkdir -p "$hp/usr/local/sbin" "$hp/usr/local/etc/haproxy" "$hp/var/run" "$hp/tmp" "$hp/etc"
  cp /usr/sbin/haproxy "$hp/usr/local/sbin/haproxy"
  for lib in $(ldd /usr/sbin/haproxy | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    mkdir -p "$hp${lib%/*}"
    cp -L "$lib" "$hp$lib"
  done
  chmod 1777 "$hp/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$hp/etc/passwd"
  echo 'root:x:0:' >"$hp/etc/group"
  cat >"$ctx/Dockerfile.haproxy" <<'EOF'
FROM scratch
COPY haproxy/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
EOF
}

# Identifies the image recipe (this script + busybox): a change rebuilds the images.
images_recipe() {
  { sed -n '/^images_context()/,/^}/p' "$0"; sha256sum /bin/busybox /usr/sbin/haproxy; } | sha256sum | cut -c1-16
}

images_present() {
  [ "$(cat "$(hostdir "$1")/images.recipe" 2>/dev/null)" = "$2" ] &&
    dock "$1" image inspect "${IMAGES[@]}" >/dev/null 2>&1
}

images_build() {
  local i=$1 recipe=$2 ctx=$STATE/build v
  local tar=$STATE/images-$recipe.tar
  images_present "$i" "$recipe" && [ -s "$tar" ] && return 0
  if [ -s "$tar" ]; then images_load "$i" "$recipe"; return; fi
  images_context "$ctx"
  for v in 1 2; do
    DOCKER_BUILDKIT=0 dock "$i" build -q --build-arg "VERSION=$v" -f "$ctx/Dockerfile.demo" -t "fleet-demo:$v" "$ctx" >/dev/null 2>"$ctx/build.err" ||
      { cat "$ctx/build.err" >&2; die "fh$i: building fleet-demo:$v failed"; }
  done
  DOCKER_BUILDKIT=0 dock "$i" build -q -f "$ctx/Dockerfile.broken" -t fleet-demo:broken "$ctx" >/dev/null 2>"$ctx/build.err" ||
    { cat "$ctx/build.err" >&2; die "fh$i: building fleet-demo:broken failed"; }
  DOCKER_BUILDKIT=0 dock "$i" build -q -f "$ctx/Dockerfile.haproxy" -t fleet-haproxy:2.6 "$ctx" >/dev/null 2>"$ctx/build.err" ||
    { cat "$ctx/build.err" >&2; die "fh$i: building fleet-haproxy:2.6 failed"; }
  rm -rf "$ctx"
  rm -f "$STATE"/images-*.tar
  dock "$i" save -o "$tar.tmp" "${IMAGES[@]}"
  mv "$tar.tmp" "$tar"
  echo "$recipe" >"$(hostdir "$i")/images.recipe"
}

images_load() {
  local i=$1 recipe=$2
  images_present "$i" "$recipe" && return 0
  dock "$i" load -q -i "$STATE/images-$recipe.tar" >/dev/null || die "fh$i: loading the test images failed"
  echo "$recipe" >"$(hostdir "$i")/images.recipe"
}

# ---------------------------------------------------------------------------------- files

write_files() {
  local n=$1 i zones=(a b c) roles=(web worker)
  {
    for i in $(seq 1 "$n"); do echo "$(addr "$i") $(cut -d' ' -f1-2 "$(hostdir "$i")/host_key.pub")"; done
  } >"$STATE/known_hosts.tmp"
  mv "$STATE/known_hosts.tmp" "$STATE/known_hosts"
  {
    echo "# fleet testbed: $n host(s); zones a,b,c cycle, roles alternate web/worker"
    echo "hosts:"
    for i in $(seq 1 "$n"); do
      echo "  fh$i:"
      echo "    address: ssh://root@$(addr "$i"):22"
      echo "    docker_socket: $(sock "$i")"
      echo "    identity_file: $STATE/client/id_ed25519"
      echo "    labels: { zone: ${zones[$(((i - 1) % 3))]}, role: ${roles[$(((i - 1) % 2))]} }"
    done
  } >"$STATE/inventory.yaml"
  {
    echo "# fleet testbed: ssh -F $STATE/ssh_config fh1 docker ps"
    for i in $(seq 1 "$n"); do
      printf 'Host fh%s\n  HostName %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  ConnectTimeout 5\n' \
        "$i" "$(addr "$i")" "$STATE/client/id_ed25519" "$STATE/known_hosts"
    done
  } >"$STATE/ssh_config"
  cat >"$STATE/env" <<EOF
export FLEET_TESTBED_DIR=$STATE
export FLEET_TESTBED_HOSTS=$n
export FLEET_TESTBED_KNOWN_HOSTS=$STATE/known_hosts
export FLEET_TESTBED_IDENTITY=$STATE/client/id_ed25519
export FLEET_TESTBED_INVENTORY=$STATE/inventory.yaml
export FLEET_TESTBED_SSH_CONFIG=$STATE/ssh_config
EOF
  echo "$n" >"$STATE/hosts"
}

ssh_check() {
  ssh -F /dev/null -i "$STATE/client/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes -o ConnectTimeout="${2:-2}" \
    -o LogLevel=ERROR "root@$(addr "$1")" true </dev/null
}

# ---------------------------------------------------------------------------------- up / down

# Every host index the testbed may have left anything for: state dirs, namespaces, veths.
host_indices() {
  {
    local d
    for d in "$STATE"/fh[0-9]*; do [ -d "$d" ] && echo "${d##*/fh}"; done
    ip netns list 2>/dev/null | awk '{ print $1 }' | sed -n 's/^fh\([0-9][0-9]*\)$/\1/p'
    ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: fh\([0-9][0-9]*\)-veth[@:].*/\1/p'
  } | sort -nu
}

up() {
  local n=${1:-3} i t0 t
  if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt "$MAX_HOSTS" ]; then
    die "up: number of hosts must be 1..$MAX_HOSTS, got '$n'"
  fi
  need_root
  [ "${#STATE}" -le 60 ] || die "FLEET_TESTBED_DIR is too long for unix socket paths (max 60 characters): $STATE"
  local cmd
  for cmd in dockerd containerd docker sshd ssh-keygen ssh nsenter iptables ip; do
    command -v "$cmd" >/dev/null || [ -x "/usr/sbin/$cmd" ] || die "$cmd is missing: run '$0 install'"
  done
  lock -x
  t0=$(now)
  mkdir -p "$STATE/client"
  chmod 700 "$STATE/client"
  # Hosts beyond N from an earlier, larger testbed go away (their state stays for a later `up`).
  local extra=() p
  for i in $(host_indices); do
    if [ "$i" -gt "$n" ] && host_present "$i"; then
      log "fh$i: beyond $n hosts, taking it down"
      host_down "$i" &
      extra+=($!)
    fi
  done
  for p in "${extra[@]}"; do wait "$p" || true; done
  if [ ! -f "$STATE/client/id_ed25519" ] || [ ! -f "$STATE/client/id_ed25519.pub" ]; then
    rm -f "$STATE/client/id_ed25519" "$STATE/client/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -f "$STATE/client/id_ed25519" -C fleet-testbed-client
  fi
  ensure_net_guard
  for i in $(seq 1 "$n"); do
    net_up "$i"
    mkdir -p "$(hostdir "$i")"
    # The client key always gets in (a test may have added keys; `up` resets the list).
    cp "$STATE/client/id_ed25519.pub" "$(hostdir "$i")/authorized_keys"
  done
  for i in $(seq 1 "$n"); do dockerd_start "$i"; done
  for i in $(seq 1 "$n"); do sshd_start "$i"; done
  # Images: built on fh1 as soon as it answers, while the others are still starting; then
  # loaded into the others in parallel (docker save | load is faster than building on each).
  local recipe build loads=()
  recipe=$(images_recipe)
  (
    dockerd_wait 1
    images_build 1 "$recipe"
  ) &
  build=$!
  for i in $(seq 2 "$n"); do dockerd_wait "$i"; done
  wait "$build" || die "fh1: the test images could not be built"
  t=$(now)
  for i in $(seq 2 "$n"); do images_load "$i" "$recipe" & loads+=($!); done
  for p in "${loads[@]}"; do wait "$p" || die "loading the test images failed"; done
  [ "$n" -gt 1 ] && log "images loaded into fh2..fh$n in $(since "$t")"
  write_files "$n"
  # Smoke test: every sshd takes the client key and shows the key that known_hosts holds.
  local checks=()
  for i in $(seq 1 "$n"); do ssh_check "$i" 5 & checks+=("$!:$i"); done
  for p in "${checks[@]}"; do wait "${p%%:*}" || die "fh${p#*:}: ssh login with the client key failed (see $(hostdir "${p#*:}")/sshd.log)"; done
  log "up: fh1..fh$n in $(since "$t0"); source $STATE/env"
}

# Is anything of host $1 still there (namespace, link, daemons)?
host_present() {
  [ -e "$(nsfile "$1")" ] || ip link show "fh$1-veth" >/dev/null 2>&1 || [ -n "$(by_cmdline "$(hostdir "$1")")" ]
}

host_down() {
  local i=$1 dir pid
  dir=$(hostdir "$i")
  sshd_stop "$i"
  # Containers first (SIGKILL, no waiting): the engines come back empty on the next `up`.
  if dock "$i" version >/dev/null 2>&1; then
    local ids
    ids=$(timeout 30 docker -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || timeout 60 docker -H "unix://$dir/docker.sock" rm -f $ids >/dev/null 2>&1 || true
  fi
  dockerd_stop "$i"
  # Anything else in the namespace or naming this host's directory (sessions, a test's own sshd).
  local roots=() procs=()
  [ -e "$(nsfile "$i")" ] && mapfile -t roots < <(ip netns pids "fh$i" 2>/dev/null)
  mapfile -t -O "${#roots[@]}" roots < <(by_cmdline "$dir")
  if [ "${#roots[@]}" -gt 0 ]; then
    mapfile -t procs < <(tree "${roots[@]}")
    [ "${#procs[@]}" -eq 0 ] || terminate 3 "${procs[@]}"
  fi
  net_down "$i"
  rm -f "$dir/dockerd.pid" "$dir/sshd.pid" "$dir/docker.sock" "$dir/dockerd.spawned"
}


down() {
  local purge=0 i p pids=()
  case ${1:-} in --purge) purge=1 ;; "") ;; *) die "down: unknown option '$1'" ;; esac
  need_root
  lock -x
  local t0
  t0=$(now)
  for i in $(host_indices); do host_down "$i" & pids+=("$!"); done
  for p in "${pids[@]}"; do wait "$p" || true; done
  remove_net_guard
  rm -f "$STATE/hosts"
  if [ "$purge" -eq 1 ]; then
    unmount_below "$STATE"
    rm -rf "$STATE"
  fi
  local what="${#pids[@]} host(s)"
  [ "$purge" -eq 0 ] || what="$what, state removed"
  log "down ($what) in $(since "$t0")"
}

status() {
  need_root
  local n i bad=0 indices=()
  if [ -f "$STATE/hosts" ]; then
    n=$(cat "$STATE/hosts")
    mapfile -t indices < <(seq 1 "$n")
  else
    mapfile -t indices < <(host_indices)
  fi
  if [ "${#indices[@]}" -eq 0 ]; then echo "no testbed at $STATE"; return 1; fi
  for i in "${indices[@]}"; do
    local ns=down link=down engine=down ssh=down v
    ip -n "fh$i" link show lo >/dev/null 2>&1 && ns=up
    ip link show "fh$i-veth" 2>/dev/null | grep -q '[<,]UP[,>]' && link=up
    v=$(timeout 5 docker -H "unix://$(sock "$i")" version --format '{{.Server.Version}}' 2>/dev/null) && engine="up($v)"
    [ -f "$STATE/known_hosts" ] && ssh_check "$i" 2 2>/dev/null && ssh=up
    echo "fh$i $(addr "$i") netns=$ns link=$link dockerd=$engine sshd=$ssh"
    [ "$ns/$link/$ssh" = up/up/up ] && [ "$engine" != down ] || bad=1
  done
  return "$bad"
}

host_exists() {
  check_index "$1"
  need_root
  if [ ! -e "$(nsfile "$1")" ] || [ ! -d "$(hostdir "$1")" ]; then die "fh$1 is not up (testbed at $STATE)"; fi
  lock -s
}

case "${1:-}" in
  install) install ;;
  up) up "${2:-3}" ;;
  down) down "${2:-}" ;;
  status) status ;;
  sshd-stop | sshd-start | link-down | link-up | dockerd-stop | dockerd-start)
    host_exists "${2:-}"
    case $1 in
      sshd-stop) sshd_stop "$2" ;;
      sshd-start) sshd_start "$2" ;;
      link-down)
        ensure_net_guard
        ip link set "fh$2-veth" down
        ;;
      link-up)
        ip link set "fh$2-veth" up
        ip -n "fh$2" route replace default via "$NET.$2.1"
        ;;
      dockerd-stop) dockerd_stop "$2" ;;
      dockerd-start)
        dockerd_start "$2"
        dockerd_wait "$2"
        ;;
    esac
    ;;
  -h | --help | help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
