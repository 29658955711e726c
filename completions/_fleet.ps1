
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'fleet' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'fleet'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'fleet' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a fleet.yaml that includes the compose file here, validate, and list what needs attention')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check the desired state and report every problem with file, line and column')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the desired state fully resolved (includes, merges, defaults) as YAML, or JSON with --format json; secret-looking environment values masked')
            [CompletionResult]::new('hosts', 'hosts', [CompletionResultType]::ParameterValue, 'Probe every host: reachability, latency, engine, OS/arch, CPUs, memory, managed containers')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Observe every host and show what would change to match the desired state')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the hosts match the desired state: pull, create, roll out, scale, remove')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Run the GitOps daemon: follow the repository, heal, correct drift, survive host loss')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what runs now, per service and per host, read from the hosts (exit 1 unless converged)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Show or break the project lock that `fleet apply` holds on each host')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Make an age identity, and write, edit, re-encrypt and list the encrypted secrets')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of fleet.yaml (for editors and yaml-language-server)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version, the commit it was built from, the target and the compiler')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (fleet.1, fleet-plan.1, ...) into DIR; man/ holds a copy')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;init' {
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'The project name (default: the directory''s name, made valid)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'A host to deploy to, as NAME=ADDRESS (e.g. web1=ssh://deploy@10.0.0.5); repeat for more. Without any, the local Docker engine is the one host')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The compose file to include (default: the first of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory [default: .]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;validate' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Fail (exit 1) on warnings too: an unset variable, an entry left out, a data directory, an ignored key')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;config' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;hosts' {
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Hosts contacted at once')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;plan' {
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Hosts contacted at once')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Also write the plan (JSON) to FILE, for `fleet apply FILE`')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'With `--format markdown`: leave out the lines beyond CHARS characters, with a note [default: 65536, GitHub''s limit for a comment; GitLab''s is 1000000]')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 0 when there are no changes, 2 when there are, 1 on error (Terraform''s convention)')
            [CompletionResult]::new('--ship-images', '--ship-images', [CompletionResultType]::ParameterName, 'Plan to ship every service''s image from the local engine to the hosts that lack it (as `x-fleet: { image_source: local }` does for one service)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;apply' {
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Hosts contacted at once')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on a host (e.g. 30s, 5m; 0 = fail at once)')
            [CompletionResult]::new('--pull', '--pull', [CompletionResultType]::ParameterName, 'When to pull images')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Bound on each Docker API call; a host that does not answer within it is marked failed (pulls and graceful stops have their own, longer bounds)')
            [CompletionResult]::new('--notify', '--notify', [CompletionResultType]::ParameterName, 'POST the outcome to this webhook (repeatable): event `rollout` (with the result) or `rollback`; retried 3 times, never changes the exit code')
            [CompletionResult]::new('--notify-format', '--notify-format', [CompletionResultType]::ParameterName, 'The body sent to --notify URLs: JSON, or Slack''s `{"text"}`')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking (required when there is no terminal to ask on; not needed with a PLAN_FILE)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking (required when there is no terminal to ask on; not needed with a PLAN_FILE)')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'Stop at the first failure on any host, after the steps in progress')
            [CompletionResult]::new('--allow-mass-delete', '--allow-mass-delete', [CompletionResultType]::ParameterName, 'Apply a plan that removes more than half of the running replicas (refused otherwise, as by `fleet watch`; fleet.yaml''s `watch: { allow_mass_delete: true }` allows it too)')
            [CompletionResult]::new('--ship-images', '--ship-images', [CompletionResultType]::ParameterName, 'Ship every service''s image from the local engine to the hosts that lack it, with no registry (as `x-fleet: { image_source: local }` does for one service); an image the local engine lacks is an error before anything changes')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;watch' {
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Hosts contacted at once')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'How often to read the tracked revision (a remote repository is fetched each time)')
            [CompletionResult]::new('--resync', '--resync', [CompletionResultType]::ParameterName, 'How often to run a full pass even when no event arrived')
            [CompletionResult]::new('--probe-interval', '--probe-interval', [CompletionResultType]::ParameterName, 'How often to ping each host')
            [CompletionResult]::new('--host-down-after', '--host-down-after', [CompletionResultType]::ParameterName, 'Declare a host down (and move its replicas) after it was unreachable this long [default: fleet.yaml''s watch.host_down_after, or 60s]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address for /healthz, /readyz, /status, /metrics and POST /hooks/git')
            [CompletionResult]::new('--webhook-secret-file', '--webhook-secret-file', [CompletionResultType]::ParameterName, 'File holding the webhook''s shared secret (or set FLEET_WEBHOOK_SECRET); without one, every webhook delivery is refused')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as JSON objects (one per line, on stderr)')
            [CompletionResult]::new('--lease-ttl', '--lease-ttl', [CompletionResultType]::ParameterName, 'How long the watch lease stays valid without renewal: a standby daemon takes over this long after the leader stopped renewing (killed, or cut off from the hosts)')
            [CompletionResult]::new('--lease-renew', '--lease-renew', [CompletionResultType]::ParameterName, 'How often the leader renews the watch lease (at most a third of --lease-ttl)')
            [CompletionResult]::new('--autoscale-interval', '--autoscale-interval', [CompletionResultType]::ParameterName, 'How often autoscaled services'' balancers and replicas'' CPU are read (x-fleet.autoscale)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'No longer used: a pass never waits for the project lock; it reports `blocked_by` and retries within seconds')
            [CompletionResult]::new('--pull', '--pull', [CompletionResultType]::ParameterName, 'When to pull images')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Bound on each Docker API call during a pass (a host cut off mid-pass holds the pass up this long; pulls and graceful stops have their own, longer bounds)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing')
            [CompletionResult]::new('--allow-mass-delete', '--allow-mass-delete', [CompletionResultType]::ParameterName, 'Apply commits that remove more than half of the running replicas')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;status' {
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Hosts contacted at once')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;lock' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show who holds the project lock on each host, and since when')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;lock;status' {
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Hosts contacted at once')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;lock;break' {
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to check host keys against [default: ~/.ssh/known_hosts]')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump) [default: ~/.ssh/config]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number is seconds)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Hosts contacted at once')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Only on these hosts (repeatable); default: every host')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust on first use: record unknown host keys in the known_hosts file instead of refusing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'End the watch lease instead of the project lock (a standby takes over an expired lease by itself; a live daemon takes it back within seconds)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;lock;help' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show who holds the project lock on each host, and since when')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;lock;help;status' {
            break
        }
        'fleet;lock;help;break' {
            break
        }
        'fleet;lock;help;help' {
            break
        }
        'fleet;secret' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml''s `secrets_recipients`')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Encrypt a value (standard input, or --file) to fleet.yaml''s `secrets_recipients`, into the secret''s `file` (secrets/NAME.age for a new one)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the secrets: file, who each is encrypted to, which services mount it (no values)')
            [CompletionResult]::new('ca', 'ca', [CompletionResultType]::ParameterValue, 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;secret;init' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;secret;set' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read the value from this file instead of standard input')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;secret;edit' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;secret;rotate' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;secret;ls' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;secret;ca' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Make the project CA (ECDSA P-256, valid 10 years); commit both files')
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;secret;ca;init' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing CA: every client must then trust the new certificate')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;secret;ca;cert' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]')
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'Read from this repository (a path, bare or not, or a remote URL) instead of the one holding DIR; remote URLs are mirrored into the user''s cache directory')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'Read the desired state at this revision (branch, tag or commit) [default: HEAD]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('--worktree', '--worktree', [CompletionResultType]::ParameterName, 'Read the files on disk, uncommitted changes included, instead of a commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;secret;ca;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Make the project CA (ECDSA P-256, valid 10 years); commit both files')
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;secret;ca;help;init' {
            break
        }
        'fleet;secret;ca;help;cert' {
            break
        }
        'fleet;secret;ca;help;help' {
            break
        }
        'fleet;secret;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml''s `secrets_recipients`')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Encrypt a value (standard input, or --file) to fleet.yaml''s `secrets_recipients`, into the secret''s `file` (secrets/NAME.age for a new one)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the secrets: file, who each is encrypted to, which services mount it (no values)')
            [CompletionResult]::new('ca', 'ca', [CompletionResultType]::ParameterValue, 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;secret;help;init' {
            break
        }
        'fleet;secret;help;set' {
            break
        }
        'fleet;secret;help;edit' {
            break
        }
        'fleet;secret;help;rotate' {
            break
        }
        'fleet;secret;help;ls' {
            break
        }
        'fleet;secret;help;ca' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Make the project CA (ECDSA P-256, valid 10 years); commit both files')
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`')
            break
        }
        'fleet;secret;help;ca;init' {
            break
        }
        'fleet;secret;help;ca;cert' {
            break
        }
        'fleet;secret;help;help' {
            break
        }
        'fleet;schema' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;version' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format on stdout [default: text]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;man' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr (NO_COLOR is respected with `auto`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'fleet;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a fleet.yaml that includes the compose file here, validate, and list what needs attention')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check the desired state and report every problem with file, line and column')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the desired state fully resolved (includes, merges, defaults) as YAML, or JSON with --format json; secret-looking environment values masked')
            [CompletionResult]::new('hosts', 'hosts', [CompletionResultType]::ParameterValue, 'Probe every host: reachability, latency, engine, OS/arch, CPUs, memory, managed containers')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Observe every host and show what would change to match the desired state')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the hosts match the desired state: pull, create, roll out, scale, remove')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Run the GitOps daemon: follow the repository, heal, correct drift, survive host loss')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what runs now, per service and per host, read from the hosts (exit 1 unless converged)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Show or break the project lock that `fleet apply` holds on each host')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Make an age identity, and write, edit, re-encrypt and list the encrypted secrets')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of fleet.yaml (for editors and yaml-language-server)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version, the commit it was built from, the target and the compiler')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (fleet.1, fleet-plan.1, ...) into DIR; man/ holds a copy')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'fleet;help;init' {
            break
        }
        'fleet;help;validate' {
            break
        }
        'fleet;help;config' {
            break
        }
        'fleet;help;hosts' {
            break
        }
        'fleet;help;plan' {
            break
        }
        'fleet;help;apply' {
            break
        }
        'fleet;help;watch' {
            break
        }
        'fleet;help;status' {
            break
        }
        'fleet;help;lock' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show who holds the project lock on each host, and since when')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'End the project lock of a run that is gone now (shows what it ends and asks first); a lock that is not renewed is taken over by the next run once it expires anyway')
            break
        }
        'fleet;help;lock;status' {
            break
        }
        'fleet;help;lock;break' {
            break
        }
        'fleet;help;secret' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Make an age identity for this machine (FLEET_AGE_KEY_FILE, or ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml''s `secrets_recipients`')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Encrypt a value (standard input, or --file) to fleet.yaml''s `secrets_recipients`, into the secret''s `file` (secrets/NAME.age for a new one)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and the temporary file overwritten and removed')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Encrypt every encrypted secret again, to the recipients fleet.yaml lists now')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the secrets: file, who each is encrypted to, which services mount it (no values)')
            [CompletionResult]::new('ca', 'ca', [CompletionResultType]::ParameterValue, 'The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key, encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)')
            break
        }
        'fleet;help;secret;init' {
            break
        }
        'fleet;help;secret;set' {
            break
        }
        'fleet;help;secret;edit' {
            break
        }
        'fleet;help;secret;rotate' {
            break
        }
        'fleet;help;secret;ls' {
            break
        }
        'fleet;help;secret;ca' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Make the project CA (ECDSA P-256, valid 10 years); commit both files')
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`')
            break
        }
        'fleet;help;secret;ca;init' {
            break
        }
        'fleet;help;secret;ca;cert' {
            break
        }
        'fleet;help;schema' {
            break
        }
        'fleet;help;completions' {
            break
        }
        'fleet;help;version' {
            break
        }
        'fleet;help;man' {
            break
        }
        'fleet;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
