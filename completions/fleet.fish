# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fleet_global_optspecs
    string join \n C/directory= repo= ref= worktree format= color= v/verbose q/quiet h/help V/version
end

function __fish_fleet_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_fleet_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_fleet_using_subcommand
    set -l cmd (__fish_fleet_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c fleet -n "__fish_fleet_needs_command" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_needs_command" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_needs_command" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_needs_command" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''
markdown\t'For pull-request comments (`fleet plan`); other commands print text'"
complete -c fleet -n "__fish_fleet_needs_command" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_needs_command" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_needs_command" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_needs_command" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fleet -n "__fish_fleet_needs_command" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "init" -d 'Write a fleet.yaml that includes the compose file here, validate, and list what needs attention'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "validate" -d 'Check the desired state and report every problem with file, line and column'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "config" -d 'Print the desired state fully resolved (includes, merges, defaults) as YAML, or JSON with --format json; secret-looking environment values masked'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "hosts" -d 'Probe every host: reachability, latency, engine, OS/arch, CPUs, memory, managed containers'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "plan" -d 'Observe every host and show what would change to match the desired state'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "apply" -d 'Make the hosts match the desired state: pull, create, roll out, scale, remove'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "watch" -d 'Run the GitOps daemon: follow the repository, heal, correct drift, survive host loss'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "status" -d 'Show what runs now, per service and per host, read from the hosts (exit 1 unless converged)'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "lock" -d 'Show or break the project lock that `fleet apply` holds on each host'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "secret" -d 'Make an age identity, and write, edit, re-encrypt and list the encrypted secrets'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "schema" -d 'Print the JSON Schema of fleet.yaml (for editors and yaml-language-server)'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "version" -d 'Print the version, the commit it was built from, the target and the compiler'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "man" -d 'Write the man pages (fleet.1, fleet-plan.1, ...) into DIR; man/ holds a copy'
complete -c fleet -n "__fish_fleet_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fleet -n "__fish_fleet_using_subcommand init" -l project -d 'The project name (default: the directory\'s name, made valid)' -r
complete -c fleet -n "__fish_fleet_using_subcommand init" -l host -d 'A host to deploy to, as NAME=ADDRESS (e.g. web1=ssh://deploy@10.0.0.5); repeat for more. Without any, the local Docker engine is the one host' -r
complete -c fleet -n "__fish_fleet_using_subcommand init" -l file -d 'The compose file to include (default: the first of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml)' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand init" -s C -l directory -d 'Run as if started in DIR: the project directory [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand init" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand init" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand init" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand init" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand init" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand validate" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand validate" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand validate" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand validate" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand validate" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand validate" -l strict -d 'Fail (exit 1) on warnings too: an unset variable, an entry left out, a data directory, an ignored key'
complete -c fleet -n "__fish_fleet_using_subcommand validate" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand validate" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand validate" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand validate" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand validate" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand config" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand config" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand config" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand config" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand config" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand config" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand config" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand config" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand config" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand config" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l known-hosts -d 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l ssh-config -d 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l connect-timeout -d 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l parallel -d 'Hosts contacted at once' -r
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l accept-new-host-keys -d 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand hosts" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l known-hosts -d 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l ssh-config -d 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l connect-timeout -d 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l parallel -d 'Hosts contacted at once' -r
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l out -d 'Also write the plan (JSON) to FILE, for `fleet apply FILE`' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l max-size -d 'With `--format markdown`: leave out the lines beyond CHARS characters, with a note [default: 65536, GitHub\'s limit for a comment; GitLab\'s is 1000000]' -r
complete -c fleet -n "__fish_fleet_using_subcommand plan" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''
markdown\t'For pull-request comments (`fleet plan`); other commands print text'"
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l accept-new-host-keys -d 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l detailed-exitcode -d 'Exit 0 when there are no changes, 2 when there are, 1 on error (Terraform\'s convention)'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l ship-images -d 'Plan to ship every service\'s image from the local engine to the hosts that lack it (as `x-fleet: { image_source: local }` does for one service)'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fleet -n "__fish_fleet_using_subcommand plan" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l known-hosts -d 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l ssh-config -d 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l connect-timeout -d 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l parallel -d 'Hosts contacted at once' -r
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l lock-timeout -d 'How long to wait for another run\'s lock on a host (e.g. 30s, 5m; 0 = fail at once)' -r
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l pull -d 'When to pull images' -r -f -a "missing\t'Pull only images the host does not have (Compose\'s default)'
always\t'Pull every image, to pick up a moved tag'"
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l call-timeout -d 'Bound on each Docker API call; a host that does not answer within it is marked failed (pulls and graceful stops have their own, longer bounds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l notify -d 'POST the outcome to this webhook (repeatable): event `rollout` (with the result) or `rollback`; retried 3 times, never changes the exit code' -r
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l notify-format -d 'The body sent to --notify URLs: JSON, or Slack\'s `{"text"}`' -r -f -a "json\t''
slack\t''"
complete -c fleet -n "__fish_fleet_using_subcommand apply" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l accept-new-host-keys -d 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -s y -l yes -d 'Apply without asking (required when there is no terminal to ask on; not needed with a PLAN_FILE)'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l fail-fast -d 'Stop at the first failure on any host, after the steps in progress'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l allow-mass-delete -d 'Apply a plan that removes more than half of the running replicas (refused otherwise, as by `fleet watch`; fleet.yaml\'s `watch: { allow_mass_delete: true }` allows it too)'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l ship-images -d 'Ship every service\'s image from the local engine to the hosts that lack it, with no registry (as `x-fleet: { image_source: local }` does for one service); an image the local engine lacks is an error before anything changes'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fleet -n "__fish_fleet_using_subcommand apply" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l known-hosts -d 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l ssh-config -d 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l connect-timeout -d 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l parallel -d 'Hosts contacted at once' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l interval -d 'How often to read the tracked revision (a remote repository is fetched each time)' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l resync -d 'How often to run a full pass even when no event arrived' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l probe-interval -d 'How often to ping each host' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l host-down-after -d 'Declare a host down (and move its replicas) after it was unreachable this long [default: fleet.yaml\'s watch.host_down_after, or 60s]' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l listen -d 'Address for /healthz, /readyz, /status, /metrics and POST /hooks/git' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l webhook-secret-file -d 'File holding the webhook\'s shared secret (or set FLEET_WEBHOOK_SECRET); without one, every webhook delivery is refused' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l log-format -d 'Log lines as text or as JSON objects (one per line, on stderr)' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l lease-ttl -d 'How long the watch lease stays valid without renewal: a standby daemon takes over this long after the leader stopped renewing (killed, or cut off from the hosts)' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l lease-renew -d 'How often the leader renews the watch lease (at most a third of --lease-ttl)' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l autoscale-interval -d 'How often autoscaled services\' balancers and replicas\' CPU are read (x-fleet.autoscale)' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l lock-timeout -d 'No longer used: a pass never waits for the project lock; it reports `blocked_by` and retries within seconds' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l pull -d 'When to pull images' -r -f -a "missing\t'Pull only images the host does not have (Compose\'s default)'
always\t'Pull every image, to pick up a moved tag'"
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l call-timeout -d 'Bound on each Docker API call during a pass (a host cut off mid-pass holds the pass up this long; pulls and graceful stops have their own, longer bounds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l accept-new-host-keys -d 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l allow-mass-delete -d 'Apply commits that remove more than half of the running replicas'
complete -c fleet -n "__fish_fleet_using_subcommand watch" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand watch" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand watch" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fleet -n "__fish_fleet_using_subcommand watch" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand status" -l known-hosts -d 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand status" -l ssh-config -d 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand status" -l connect-timeout -d 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand status" -l parallel -d 'Hosts contacted at once' -r
complete -c fleet -n "__fish_fleet_using_subcommand status" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand status" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand status" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand status" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand status" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand status" -l accept-new-host-keys -d 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
complete -c fleet -n "__fish_fleet_using_subcommand status" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand status" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand status" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand status" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand status" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -f -a "status" -d 'Show who holds the project lock on each host, and since when'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -f -a "break" -d 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and not __fish_seen_subcommand_from status break help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l known-hosts -d 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l ssh-config -d 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l connect-timeout -d 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l parallel -d 'Hosts contacted at once' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l accept-new-host-keys -d 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l known-hosts -d 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l ssh-config -d 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l connect-timeout -d 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l parallel -d 'Hosts contacted at once' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l host -d 'Only on these hosts (repeatable); default: every host' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l accept-new-host-keys -d 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -s y -l yes -d 'Do not ask for confirmation (required without a terminal)'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l watch -d 'End the watch lease instead of the project lock (a standby takes over an expired lease by itself; a live daemon takes it back within seconds)'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from break" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show who holds the project lock on each host, and since when'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "break" -d 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway'
complete -c fleet -n "__fish_fleet_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -f -a "init" -d 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml\'s `secrets_recipients`'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -f -a "set" -d 'Encrypt a value (standard input, or --file) to fleet.yaml\'s `secrets_recipients`, into the secret\'s `file` (secrets/NAME.age for a new one)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -f -a "edit" -d 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -f -a "rotate" -d 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -f -a "ls" -d 'List the secrets: file, who each is encrypted to, which services mount it (no values)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -f -a "ca" -d 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and not __fish_seen_subcommand_from init set edit rotate ls ca help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -l file -d 'Read the value from this file instead of standard input' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from edit" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -s C -l directory -d 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]' -r -F
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -l repo -d 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user\'s cache directory' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -l ref -d 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]' -r
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -l worktree -d 'Read the files on disk, uncommitted changes included, instead of a commit'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -f -a "init" -d 'Make the project CA (ECDSA P-256, valid 10 years); commit both files'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -f -a "cert" -d 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from ca" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "init" -d 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml\'s `secrets_recipients`'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "set" -d 'Encrypt a value (standard input, or --file) to fleet.yaml\'s `secrets_recipients`, into the secret\'s `file` (secrets/NAME.age for a new one)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the secrets: file, who each is encrypted to, which services mount it (no values)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "ca" -d 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)'
complete -c fleet -n "__fish_fleet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fleet -n "__fish_fleet_using_subcommand schema" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand schema" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand schema" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand schema" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand schema" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand completions" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand completions" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand completions" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand completions" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand completions" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand version" -l format -d 'Output format on stdout [default: text]' -r -f -a "text\t''
json\t''"
complete -c fleet -n "__fish_fleet_using_subcommand version" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand version" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand version" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand version" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand version" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand man" -l color -d 'When to use colour on stderr (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c fleet -n "__fish_fleet_using_subcommand man" -s v -l verbose -d 'Say more'
complete -c fleet -n "__fish_fleet_using_subcommand man" -s q -l quiet -d 'Print only errors'
complete -c fleet -n "__fish_fleet_using_subcommand man" -s h -l help -d 'Print help'
complete -c fleet -n "__fish_fleet_using_subcommand man" -s V -l version -d 'Print version'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "init" -d 'Write a fleet.yaml that includes the compose file here, validate, and list what needs attention'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "validate" -d 'Check the desired state and report every problem with file, line and column'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "config" -d 'Print the desired state fully resolved (includes, merges, defaults) as YAML, or JSON with --format json; secret-looking environment values masked'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "hosts" -d 'Probe every host: reachability, latency, engine, OS/arch, CPUs, memory, managed containers'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "plan" -d 'Observe every host and show what would change to match the desired state'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "apply" -d 'Make the hosts match the desired state: pull, create, roll out, scale, remove'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "watch" -d 'Run the GitOps daemon: follow the repository, heal, correct drift, survive host loss'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "status" -d 'Show what runs now, per service and per host, read from the hosts (exit 1 unless converged)'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "lock" -d 'Show or break the project lock that `fleet apply` holds on each host'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "secret" -d 'Make an age identity, and write, edit, re-encrypt and list the encrypted secrets'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "schema" -d 'Print the JSON Schema of fleet.yaml (for editors and yaml-language-server)'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "completions" -d 'Print a shell completion script'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "version" -d 'Print the version, the commit it was built from, the target and the compiler'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "man" -d 'Write the man pages (fleet.1, fleet-plan.1, ...) into DIR; man/ holds a copy'
complete -c fleet -n "__fish_fleet_using_subcommand help; and not __fish_seen_subcommand_from init validate config hosts plan apply watch status lock secret schema completions version man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from lock" -f -a "status" -d 'Show who holds the project lock on each host, and since when'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from lock" -f -a "break" -d 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "init" -d 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml\'s `secrets_recipients`'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "set" -d 'Encrypt a value (standard input, or --file) to fleet.yaml\'s `secrets_recipients`, into the secret\'s `file` (secrets/NAME.age for a new one)'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "edit" -d 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "rotate" -d 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "ls" -d 'List the secrets: file, who each is encrypted to, which services mount it (no values)'
complete -c fleet -n "__fish_fleet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "ca" -d 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)'
