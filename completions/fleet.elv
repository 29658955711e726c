
use builtin;
use str;

set edit:completion:arg-completer[fleet] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'fleet'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'fleet'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Write a fleet.yaml that includes the compose file here, validate, and list what needs attention'
            cand validate 'Check the desired state and report every problem with file, line and column'
            cand config 'Print the desired state fully resolved (includes, merges, defaults) as YAML, or JSON with --format json; secret-looking environment values masked'
            cand hosts 'Probe every host: reachability, latency, engine, OS/arch, CPUs, memory, managed containers'
            cand plan 'Observe every host and show what would change to match the desired state'
            cand apply 'Make the hosts match the desired state: pull, create, roll out, scale, remove'
            cand watch 'Run the GitOps daemon: follow the repository, heal, correct drift, survive host loss'
            cand status 'Show what runs now, per service and per host, read from the hosts (exit 1 unless converged)'
            cand lock 'Show or break the project lock that `fleet apply` holds on each host'
            cand secret 'Make an age identity, and write, edit, re-encrypt and list the encrypted secrets'
            cand schema 'Print the JSON Schema of fleet.yaml (for editors and yaml-language-server)'
            cand completions 'Print a shell completion script'
            cand version 'Print the version, the commit it was built from, the target and the compiler'
            cand man 'Write the man pages (fleet.1, fleet-plan.1, ...) into DIR; man/ holds a copy'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;init'= {
            cand --project 'The project name (default: the directory''s name, made valid)'
            cand --host 'A host to deploy to, as NAME=ADDRESS (e.g. web1=ssh://deploy@10.0.0.5); repeat for more. Without any, the local Docker engine is the one host'
            cand --file 'The compose file to include (default: the first of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml)'
            cand -C 'Run as if started in DIR: the project directory [default: .]'
            cand --directory 'Run as if started in DIR: the project directory [default: .]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;validate'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --strict 'Fail (exit 1) on warnings too: an unset variable, an entry left out, a data directory, an ignored key'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;config'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;hosts'= {
            cand --known-hosts 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]'
            cand --ssh-config 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]'
            cand --connect-timeout 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)'
            cand --parallel 'Hosts contacted at once'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --accept-new-host-keys 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;plan'= {
            cand --known-hosts 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]'
            cand --ssh-config 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]'
            cand --connect-timeout 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)'
            cand --parallel 'Hosts contacted at once'
            cand --out 'Also write the plan (JSON) to FILE, for `fleet apply FILE`'
            cand --max-size 'With `--format markdown`: leave out the lines beyond CHARS characters, with a note [default: 65536, GitHub''s limit for a comment; GitLab''s is 1000000]'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --accept-new-host-keys 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
            cand --detailed-exitcode 'Exit 0 when there are no changes, 2 when there are, 1 on error (Terraform''s convention)'
            cand --ship-images 'Plan to ship every service''s image from the local engine to the hosts that lack it (as `x-fleet: { image_source: local }` does for one service)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;apply'= {
            cand --known-hosts 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]'
            cand --ssh-config 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]'
            cand --connect-timeout 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)'
            cand --parallel 'Hosts contacted at once'
            cand --lock-timeout 'How long to wait for another run''s lock on a host (e.g. 30s, 5m; 0 = fail at once)'
            cand --pull 'When to pull images'
            cand --call-timeout 'Bound on each Docker API call; a host that does not answer within it is marked failed (pulls and graceful stops have their own, longer bounds)'
            cand --notify 'POST the outcome to this webhook (repeatable): event `rollout` (with the result) or `rollback`; retried 3 times, never changes the exit code'
            cand --notify-format 'The body sent to --notify URLs: JSON, or Slack''s `{"text"}`'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --accept-new-host-keys 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
            cand -y 'Apply without asking (required when there is no terminal to ask on; not needed with a PLAN_FILE)'
            cand --yes 'Apply without asking (required when there is no terminal to ask on; not needed with a PLAN_FILE)'
            cand --fail-fast 'Stop at the first failure on any host, after the steps in progress'
            cand --allow-mass-delete 'Apply a plan that removes more than half of the running replicas (refused otherwise, as by `fleet watch`; fleet.yaml''s `watch: { allow_mass_delete: true }` allows it too)'
            cand --ship-images 'Ship every service''s image from the local engine to the hosts that lack it, with no registry (as `x-fleet: { image_source: local }` does for one service); an image the local engine lacks is an error before anything changes'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;watch'= {
            cand --known-hosts 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]'
            cand --ssh-config 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]'
            cand --connect-timeout 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)'
            cand --parallel 'Hosts contacted at once'
            cand --interval 'How often to read the tracked revision (a remote repository is fetched each time)'
            cand --resync 'How often to run a full pass even when no event arrived'
            cand --probe-interval 'How often to ping each host'
            cand --host-down-after 'Declare a host down (and move its replicas) after it was unreachable this long [default: fleet.yaml''s watch.host_down_after, or 60s]'
            cand --listen 'Address for /healthz, /readyz, /status, /metrics and POST /hooks/git'
            cand --webhook-secret-file 'File holding the webhook''s shared secret (or set FLEET_WEBHOOK_SECRET); without one, every webhook delivery is refused'
            cand --log-format 'Log lines as text or as JSON objects (one per line, on stderr)'
            cand --lease-ttl 'How long the watch lease stays valid without renewal: a standby daemon takes over this long after the leader stopped renewing (killed, or cut off from the hosts)'
            cand --lease-renew 'How often the leader renews the watch lease (at most a third of --lease-ttl)'
            cand --autoscale-interval 'How often autoscaled services'' balancers and replicas'' CPU are read (x-fleet.autoscale)'
            cand --lock-timeout 'No longer used: a pass never waits for the project lock; it reports `blocked_by` and retries within seconds'
            cand --pull 'When to pull images'
            cand --call-timeout 'Bound on each Docker API call during a pass (a host cut off mid-pass holds the pass up this long; pulls and graceful stops have their own, longer bounds)'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --accept-new-host-keys 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
            cand --allow-mass-delete 'Apply commits that remove more than half of the running replicas'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;status'= {
            cand --known-hosts 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]'
            cand --ssh-config 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]'
            cand --connect-timeout 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)'
            cand --parallel 'Hosts contacted at once'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --accept-new-host-keys 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;lock'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand status 'Show who holds the project lock on each host, and since when'
            cand break 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;lock;status'= {
            cand --known-hosts 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]'
            cand --ssh-config 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]'
            cand --connect-timeout 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)'
            cand --parallel 'Hosts contacted at once'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --accept-new-host-keys 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;lock;break'= {
            cand --known-hosts 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]'
            cand --ssh-config 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]'
            cand --connect-timeout 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)'
            cand --parallel 'Hosts contacted at once'
            cand --host 'Only on these hosts (repeatable); default: every host'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --accept-new-host-keys 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing'
            cand -y 'Do not ask for confirmation (required without a terminal)'
            cand --yes 'Do not ask for confirmation (required without a terminal)'
            cand --watch 'End the watch lease instead of the project lock (a standby takes over an expired lease by itself; a live daemon takes it back within seconds)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;lock;help'= {
            cand status 'Show who holds the project lock on each host, and since when'
            cand break 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;lock;help;status'= {
        }
        &'fleet;lock;help;break'= {
        }
        &'fleet;lock;help;help'= {
        }
        &'fleet;secret'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml''s `secrets_recipients`'
            cand set 'Encrypt a value (standard input, or --file) to fleet.yaml''s `secrets_recipients`, into the secret''s `file` (secrets/NAME.age for a new one)'
            cand edit 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed'
            cand rotate 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now'
            cand ls 'List the secrets: file, who each is encrypted to, which services mount it (no values)'
            cand ca 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;secret;init'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;secret;set'= {
            cand --file 'Read the value from this file instead of standard input'
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;secret;edit'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;secret;rotate'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;secret;ls'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;secret;ca'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Make the project CA (ECDSA P-256, valid 10 years); commit both files'
            cand cert 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;secret;ca;init'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --force 'Replace an existing CA: every client must then trust the new certificate'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;secret;ca;cert'= {
            cand -C 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --directory 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]'
            cand --repo 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory'
            cand --ref 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]'
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand --worktree 'Read the files on disk, uncommitted changes included, instead of a commit'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;secret;ca;help'= {
            cand init 'Make the project CA (ECDSA P-256, valid 10 years); commit both files'
            cand cert 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;secret;ca;help;init'= {
        }
        &'fleet;secret;ca;help;cert'= {
        }
        &'fleet;secret;ca;help;help'= {
        }
        &'fleet;secret;help'= {
            cand init 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml''s `secrets_recipients`'
            cand set 'Encrypt a value (standard input, or --file) to fleet.yaml''s `secrets_recipients`, into the secret''s `file` (secrets/NAME.age for a new one)'
            cand edit 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed'
            cand rotate 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now'
            cand ls 'List the secrets: file, who each is encrypted to, which services mount it (no values)'
            cand ca 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;secret;help;init'= {
        }
        &'fleet;secret;help;set'= {
        }
        &'fleet;secret;help;edit'= {
        }
        &'fleet;secret;help;rotate'= {
        }
        &'fleet;secret;help;ls'= {
        }
        &'fleet;secret;help;ca'= {
            cand init 'Make the project CA (ECDSA P-256, valid 10 years); commit both files'
            cand cert 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`'
        }
        &'fleet;secret;help;ca;init'= {
        }
        &'fleet;secret;help;ca;cert'= {
        }
        &'fleet;secret;help;help'= {
        }
        &'fleet;schema'= {
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;completions'= {
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;version'= {
            cand --format 'Output format on stdout [default: text]'
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;man'= {
            cand --color 'When to use colour on stderr (NO_COLOR is respected with `auto`)'
            cand -v 'Say more'
            cand --verbose 'Say more'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'fleet;help'= {
            cand init 'Write a fleet.yaml that includes the compose file here, validate, and list what needs attention'
            cand validate 'Check the desired state and report every problem with file, line and column'
            cand config 'Print the desired state fully resolved (includes, merges, defaults) as YAML, or JSON with --format json; secret-looking environment values masked'
            cand hosts 'Probe every host: reachability, latency, engine, OS/arch, CPUs, memory, managed containers'
            cand plan 'Observe every host and show what would change to match the desired state'
            cand apply 'Make the hosts match the desired state: pull, create, roll out, scale, remove'
            cand watch 'Run the GitOps daemon: follow the repository, heal, correct drift, survive host loss'
            cand status 'Show what runs now, per service and per host, read from the hosts (exit 1 unless converged)'
            cand lock 'Show or break the project lock that `fleet apply` holds on each host'
            cand secret 'Make an age identity, and write, edit, re-encrypt and list the encrypted secrets'
            cand schema 'Print the JSON Schema of fleet.yaml (for editors and yaml-language-server)'
            cand completions 'Print a shell completion script'
            cand version 'Print the version, the commit it was built from, the target and the compiler'
            cand man 'Write the man pages (fleet.1, fleet-plan.1, ...) into DIR; man/ holds a copy'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'fleet;help;init'= {
        }
        &'fleet;help;validate'= {
        }
        &'fleet;help;config'= {
        }
        &'fleet;help;hosts'= {
        }
        &'fleet;help;plan'= {
        }
        &'fleet;help;apply'= {
        }
        &'fleet;help;watch'= {
        }
        &'fleet;help;status'= {
        }
        &'fleet;help;lock'= {
            cand status 'Show who holds the project lock on each host, and since when'
            cand break 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway'
        }
        &'fleet;help;lock;status'= {
        }
        &'fleet;help;lock;break'= {
        }
        &'fleet;help;secret'= {
            cand init 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml''s `secrets_recipients`'
            cand set 'Encrypt a value (standard input, or --file) to fleet.yaml''s `secrets_recipients`, into the secret''s `file` (secrets/NAME.age for a new one)'
            cand edit 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed'
            cand rotate 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now'
            cand ls 'List the secrets: file, who each is encrypted to, which services mount it (no values)'
            cand ca 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)'
        }
        &'fleet;help;secret;init'= {
        }
        &'fleet;help;secret;set'= {
        }
        &'fleet;help;secret;edit'= {
        }
        &'fleet;help;secret;rotate'= {
        }
        &'fleet;help;secret;ls'= {
        }
        &'fleet;help;secret;ca'= {
            cand init 'Make the project CA (ECDSA P-256, valid 10 years); commit both files'
            cand cert 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`'
        }
        &'fleet;help;secret;ca;init'= {
        }
        &'fleet;help;secret;ca;cert'= {
        }
        &'fleet;help;schema'= {
        }
        &'fleet;help;completions'= {
        }
        &'fleet;help;version'= {
        }
        &'fleet;help;man'= {
        }
        &'fleet;help;help'= {
        }
    ]
    $completions[$command]
}
