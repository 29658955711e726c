//! The SSH edge: one authenticated russh connection per host, strict host-key checking, and
//! byte streams to the Docker socket on the host.
//!
//! Only this module talks to russh. It resolves `~/.ssh/config` (aliases, HostName, User, Port,
//! IdentityFile, ProxyJump), checks host keys against a known_hosts file (refusing unknown and
//! changed keys unless trust-on-first-use was asked for), authenticates with ssh-agent then key
//! files, and opens `direct-streamlocal` channels, falling back to `docker system dial-stdio`
//! when the server forbids socket forwarding.

use std::fmt;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::keys::{self, Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelStream, Disconnect};
use ssh2_config::{ParseRule, SshConfig};
use thiserror::Error;

pub mod known_hosts;
use known_hosts::Verdict;

/// How to connect: where trust comes from, and how long to wait.
#[derive(Clone, Debug)]
pub struct SshOptions {
    pub known_hosts: PathBuf,
    /// Trust on first use: record unknown host keys instead of refusing them.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    /// `~/.ssh/config`, when present.
    pub config_file: Option<PathBuf>,
    /// Passphrase for encrypted key files (`FLEET_SSH_PASSPHRASE`).
    pub passphrase: Option<String>,
    /// Whether to ask ssh-agent (`SSH_AUTH_SOCK`) first.
    pub use_agent: bool,
}

impl SshOptions {
    /// The defaults a user expects: `~/.ssh/known_hosts`, `~/.ssh/config`, agent, 10 s.
    pub fn from_env(
        known_hosts: Option<PathBuf>,
        accept_new_host_keys: bool,
        connect_timeout: Duration,
    ) -> Self {
        let ssh_dir = dirs::home_dir().map(|h| h.join(".ssh"));
        SshOptions {
            known_hosts: known_hosts
                .or_else(|| ssh_dir.as_ref().map(|d| d.join("known_hosts")))
                .unwrap_or_else(|| PathBuf::from("known_hosts")),
            accept_new_host_keys,
            connect_timeout,
            config_file: ssh_dir.map(|d| d.join("config")).filter(|p| p.exists()),
            passphrase: std::env::var("FLEET_SSH_PASSPHRASE").ok(),
            use_agent: std::env::var_os("SSH_AUTH_SOCK").is_some(),
        }
    }
}

/// A fully resolved place to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The name written in fleet.yaml's address (possibly an ssh_config alias).
    pub alias: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    pub proxy_jump: Option<Box<Target>>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

fn default_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into())
}

fn expand_tilde(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => dirs::home_dir()
            .map(|h| h.join(rest))
            .unwrap_or_else(|| path.to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}

/// Resolves an address as OpenSSH would: explicit values from fleet.yaml win, then
/// `~/.ssh/config`, then defaults.
pub fn resolve(
    options: &SshOptions,
    host: &str,
    user: Option<&str>,
    port: Option<u16>,
    identity_file: Option<&Path>,
) -> Result<Target, SshError> {
    let config = match &options.config_file {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|source| SshError::Config {
                path: path.clone(),
                message: source.to_string(),
            })?;
            SshConfig::default()
                .parse(&mut BufReader::new(file), ParseRule::ALLOW_UNKNOWN_FIELDS)
                .map_err(|e| SshError::Config {
                    path: path.clone(),
                    message: e.to_string(),
                })?
        }
        None => SshConfig::default(),
    };
    resolve_with(&config, host, user, port, identity_file, 0)
}

fn resolve_with(
    config: &SshConfig,
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    identity_file: Option<&Path>,
    depth: usize,
) -> Result<Target, SshError> {
    if depth > 8 {
        return Err(SshError::Config {
            path: PathBuf::from("~/.ssh/config"),
            message: format!("ProxyJump chain through `{alias}` is longer than 8 hops (a loop?)"),
        });
    }
    let params = config.query(alias);
    let mut identity_files: Vec<PathBuf> = identity_file
        .map(|p| vec![expand_tilde(p)])
        .unwrap_or_default();
    identity_files.extend(
        params
            .identity_file
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|p| expand_tilde(p)),
    );
    if identity_files.is_empty() {
        if let Some(ssh) = dirs::home_dir().map(|h| h.join(".ssh")) {
            identity_files.extend(["id_ed25519", "id_ecdsa", "id_rsa"].map(|n| ssh.join(n)));
        }
    }
    let proxy_jump = match params.proxy_jump.as_ref().and_then(|j| j.first()) {
        Some(jump) if jump != "none" => {
            let (jump_user, rest) = match jump.split_once('@') {
                Some((u, r)) => (Some(u), r),
                None => (None, jump.as_str()),
            };
            let (jump_host, jump_port) = match rest.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse().ok()),
                _ => (rest, None),
            };
            Some(Box::new(resolve_with(
                config,
                jump_host,
                jump_user,
                jump_port,
                None,
                depth + 1,
            )?))
        }
        _ => None,
    };
    Ok(Target {
        alias: alias.to_string(),
        host: params
            .host_name
            .clone()
            .unwrap_or_else(|| alias.to_string()),
        port: port.or(params.port).unwrap_or(22),
        user: user
            .map(str::to_string)
            .or(params.user.clone())
            .unwrap_or_else(default_user),
        identity_files,
        proxy_jump,
    })
}

/// Why a connection could not be made, classified so the user can act on it.
#[derive(Debug, Error)]
pub enum SshError {
    #[error("cannot read SSH config `{path}`: {message}")]
    Config { path: PathBuf, message: String },
    #[error("cannot resolve `{host}`")]
    Resolve {
        host: String,
        #[source]
        source: io::Error,
    },
    #[error("connection refused by {target}")]
    Refused { target: String },
    #[error("no route to {target}")]
    Unreachable { target: String },
    #[error("no answer from {target} within {after:?}")]
    Timeout { target: String, after: Duration },
    #[error("cannot connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("unknown host key for {host} ({fingerprint})")]
    UnknownHostKey {
        host: String,
        fingerprint: String,
        /// The exact line to add to the known_hosts file.
        line: String,
        known_hosts: PathBuf,
    },
    #[error("the host key of {host} has CHANGED: it does not match line {line} of {known_hosts}")]
    HostKeyChanged {
        host: String,
        line: usize,
        known_hosts: PathBuf,
        fingerprint: String,
    },
    #[error("the host key of {host} ({fingerprint}) is revoked at line {line} of {known_hosts}")]
    HostKeyRevoked {
        host: String,
        line: usize,
        known_hosts: PathBuf,
        fingerprint: String,
    },
    #[error("authentication failed for {user}@{host} (tried: {tried})")]
    AuthFailed {
        user: String,
        host: String,
        tried: String,
    },
    #[error("cannot read key file `{path}`: {message}")]
    KeyFile { path: PathBuf, message: String },
    #[error("the SSH server at {target} refused to open a channel: {message}")]
    Channel { target: String, message: String },
    #[error("SSH protocol error with {target}")]
    Protocol {
        target: String,
        #[source]
        source: russh::Error,
    },
}

impl SshError {
    /// A short reason for a table cell.
    pub fn short(&self) -> &'static str {
        match self {
            SshError::Config { .. } => "ssh config error",
            SshError::Resolve { .. } => "unknown host name",
            SshError::Refused { .. } => "connection refused",
            SshError::Timeout { .. } => "timeout",
            SshError::Unreachable { .. } => "unreachable",
            SshError::Connect { .. } => "connect failed",
            SshError::UnknownHostKey { .. } => "unknown host key",
            SshError::HostKeyChanged { .. } => "host key changed",
            SshError::HostKeyRevoked { .. } => "host key revoked",
            SshError::AuthFailed { .. } => "auth failed",
            SshError::KeyFile { .. } => "key file unreadable",
            SshError::Channel { .. } => "channel refused",
            SshError::Protocol { .. } => "ssh error",
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            SshError::UnknownHostKey { line, known_hosts, .. } => Some(format!(
                "if this is the right host, add this line to {}:\n    {line}\n  or run once with --accept-new-host-keys to record it",
                known_hosts.display()
            )),
            SshError::HostKeyChanged { line, known_hosts, .. } => Some(format!(
                "someone may be intercepting the connection, or the host was reinstalled; check with the host's owner, then replace line {line} of {}",
                known_hosts.display()
            )),
            SshError::HostKeyRevoked { line, known_hosts, .. } => Some(format!(
                "the owner of {} revoked this key (line {line}); do not connect until the host has a new key",
                known_hosts.display()
            )),
            SshError::AuthFailed { .. } => Some(
                "load a key into ssh-agent, set `identity_file` for the host in fleet.yaml, or IdentityFile in ~/.ssh/config; FLEET_SSH_PASSPHRASE unlocks an encrypted key".into(),
            ),
            SshError::Timeout { .. } | SshError::Unreachable { .. } => Some("check that the host is up and reachable; --connect-timeout changes the wait".into()),
            SshError::Refused { .. } => Some("is sshd running on that host and port?".into()),
            _ => None,
        }
    }
}

/// What `check_server_key` found, kept so `connect` can return a precise error.
#[derive(Debug, Clone)]
enum HostKeyVerdict {
    Unknown { line: String, fingerprint: String },
    Changed { line: usize, fingerprint: String },
    Revoked { line: usize, fingerprint: String },
    Unsupported,
}

struct Client {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    accept_new: bool,
    verdict: Arc<Mutex<Option<HostKeyVerdict>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = server_key else {
            *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(HostKeyVerdict::Unsupported);
            return Ok(false);
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let verdict = match known_hosts::check(&self.known_hosts, &self.host, self.port, key) {
            Ok(Verdict::Known) => return Ok(true),
            Ok(Verdict::Unknown) if self.accept_new => {
                known_hosts::learn(&self.known_hosts, &self.host, self.port, key)?;
                return Ok(true);
            }
            Ok(Verdict::Unknown) => HostKeyVerdict::Unknown {
                line: known_hosts::line_for(&self.host, self.port, key),
                fingerprint,
            },
            Ok(Verdict::Changed { line }) => HostKeyVerdict::Changed { line, fingerprint },
            Ok(Verdict::Revoked { line }) => HostKeyVerdict::Revoked { line, fingerprint },
            Err(e) => return Err(russh::Error::IO(e)),
        };
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
        Ok(false)
    }
}

/// An authenticated connection to one host (through its jump host, if any).
pub struct Session {
    handle: Handle<Client>,
    target: Target,
    /// Kept alive for as long as this session uses a channel through it.
    _jump: Option<Box<Session>>,
    /// How streams to the engine are carried on this session, once known.
    transport: Mutex<Transport>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Unknown,
    /// `direct-streamlocal@openssh.com` forwarding worked.
    Streamlocal,
    /// The server refused forwarding; `docker system dial-stdio` runs on the host instead.
    DialStdio,
}

pub type Stream = ChannelStream<Msg>;

fn preferred_host_key_algorithms(known_hosts: &Path, host: &str, port: u16) -> Vec<Algorithm> {
    let defaults = client::Config::default().preferred.key.to_vec();
    let mut known: Vec<Algorithm> = Vec::new();
    for algorithm in known_hosts::algorithms(known_hosts, host, port) {
        match algorithm {
            // An `ssh-rsa` entry is verified with the SHA-2 signature algorithms, never SHA-1.
            Algorithm::Rsa { .. } => {
                known.push(Algorithm::Rsa {
                    hash: Some(keys::ssh_key::HashAlg::Sha512),
                });
                known.push(Algorithm::Rsa {
                    hash: Some(keys::ssh_key::HashAlg::Sha256),
                });
            }
            other => known.push(other),
        }
    }
    let mut out: Vec<Algorithm> = known.clone();
    out.extend(defaults.into_iter().filter(|a| !known.contains(a)));
    out
}

fn client_config(options: &SshOptions, target: &Target) -> Arc<client::Config> {
    let mut config = client::Config {
        nodelay: true,
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        inactivity_timeout: None,
        ..client::Config::default()
    };
    config.preferred.key =
        preferred_host_key_algorithms(&options.known_hosts, &target.host, target.port).into();
    Arc::new(config)
}

impl Session {
    /// Connects and authenticates, within `options.connect_timeout` for each hop.
    pub fn connect<'a>(
        target: &'a Target,
        options: &'a SshOptions,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Session, SshError>> + Send + 'a>> {
        Box::pin(async move {
            let verdict = Arc::new(Mutex::new(None));
            let handler = Client {
                host: target.host.clone(),
                port: target.port,
                known_hosts: options.known_hosts.clone(),
                accept_new: options.accept_new_host_keys,
                verdict: Arc::clone(&verdict),
            };
            let config = client_config(options, target);
            let timeout = options.connect_timeout;
            let name = target.to_string();
            let (handle, jump) = match &target.proxy_jump {
                None => {
                    let addrs: Vec<std::net::SocketAddr> = tokio::time::timeout(
                        timeout,
                        tokio::net::lookup_host((target.host.as_str(), target.port)),
                    )
                    .await
                    .map_err(|_| SshError::Timeout {
                        target: name.clone(),
                        after: timeout,
                    })?
                    .map_err(|source| SshError::Resolve {
                        host: target.host.clone(),
                        source,
                    })?
                    .collect();
                    let tcp =
                        tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addrs[..]))
                            .await
                            .map_err(|_| SshError::Timeout {
                                target: name.clone(),
                                after: timeout,
                            })?
                            .map_err(|source| match source.kind() {
                                io::ErrorKind::ConnectionRefused => SshError::Refused {
                                    target: name.clone(),
                                },
                                io::ErrorKind::TimedOut => SshError::Timeout {
                                    target: name.clone(),
                                    after: timeout,
                                },
                                _ => SshError::Connect {
                                    target: name.clone(),
                                    source,
                                },
                            })?;
                    let _ = tcp.set_nodelay(true);
                    let handle =
                        tokio::time::timeout(timeout, client::connect_stream(config, tcp, handler))
                            .await
                            .map_err(|_| SshError::Timeout {
                                target: name.clone(),
                                after: timeout,
                            })?;
                    (handle, None)
                }
                Some(jump_target) => {
                    let jump = Session::connect(jump_target, options).await?;
                    let channel = jump
                        .handle
                        .channel_open_direct_tcpip(
                            target.host.clone(),
                            u32::from(target.port),
                            "127.0.0.1",
                            0,
                        )
                        .await
                        .map_err(|e| match e {
                            russh::Error::ChannelOpenFailure(reason) => SshError::Channel {
                                target: jump_target.to_string(),
                                message: format!(
                                    "forwarding to {}:{} refused ({reason:?})",
                                    target.host, target.port
                                ),
                            },
                            source => SshError::Protocol {
                                target: jump_target.to_string(),
                                source,
                            },
                        })?;
                    let handle = tokio::time::timeout(
                        timeout,
                        client::connect_stream(config, channel.into_stream(), handler),
                    )
                    .await
                    .map_err(|_| SshError::Timeout {
                        target: name.clone(),
                        after: timeout,
                    })?;
                    (handle, Some(Box::new(jump)))
                }
            };
            let verdict_now = verdict.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let mut handle = match (handle, verdict_now) {
                (Ok(h), None) => h,
                (_, Some(HostKeyVerdict::Unknown { line, fingerprint })) => {
                    return Err(SshError::UnknownHostKey {
                        host: target.host.clone(),
                        fingerprint,
                        line,
                        known_hosts: options.known_hosts.clone(),
                    });
                }
                (_, Some(HostKeyVerdict::Changed { line, fingerprint })) => {
                    return Err(SshError::HostKeyChanged {
                        host: target.host.clone(),
                        line,
                        known_hosts: options.known_hosts.clone(),
                        fingerprint,
                    });
                }
                (_, Some(HostKeyVerdict::Revoked { line, fingerprint })) => {
                    return Err(SshError::HostKeyRevoked {
                        host: target.host.clone(),
                        line,
                        known_hosts: options.known_hosts.clone(),
                        fingerprint,
                    });
                }
                (_, Some(HostKeyVerdict::Unsupported)) => {
                    return Err(SshError::Channel { target: name, message: "the server presented a host certificate, which fleet does not verify yet".into() });
                }
                (Err(source), None) => {
                    return Err(SshError::Protocol {
                        target: name,
                        source,
                    });
                }
            };
            tokio::time::timeout(timeout, authenticate(&mut handle, target, options))
                .await
                .map_err(|_| SshError::Timeout {
                    target: name.clone(),
                    after: timeout,
                })??;
            Ok(Session {
                handle,
                target: target.clone(),
                _jump: jump,
                transport: Mutex::new(Transport::Unknown),
            })
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// A byte stream to the Unix socket at `path` on the host.
    ///
    /// OpenSSH answers a forbidden socket forward and a missing socket with the same reason
    /// code, so they cannot be told apart: until a forward has worked once on this session, a
    /// refused forward falls back to `docker system dial-stdio` (which fails in turn, and is
    /// reported as such, when the engine is really down).
    pub async fn open_socket(&self, path: &str) -> Result<Stream, SshError> {
        let mode = *self.transport.lock().unwrap_or_else(|e| e.into_inner());
        if mode != Transport::DialStdio {
            match self.handle.channel_open_direct_streamlocal(path).await {
                Ok(channel) => {
                    *self.transport.lock().unwrap_or_else(|e| e.into_inner()) =
                        Transport::Streamlocal;
                    return Ok(channel.into_stream());
                }
                Err(russh::Error::ChannelOpenFailure(reason)) if mode == Transport::Streamlocal => {
                    return Err(SshError::Channel {
                        target: self.target.to_string(),
                        message: format!("cannot reach {path} ({reason:?})"),
                    });
                }
                Err(russh::Error::ChannelOpenFailure(_)) => {}
                Err(source) => {
                    return Err(SshError::Protocol {
                        target: self.target.to_string(),
                        source,
                    });
                }
            }
        }
        let channel =
            self.handle
                .channel_open_session()
                .await
                .map_err(|source| SshError::Protocol {
                    target: self.target.to_string(),
                    source,
                })?;
        let command = format!("DOCKER_HOST=unix://{path} docker system dial-stdio");
        channel
            .exec(true, command)
            .await
            .map_err(|source| SshError::Protocol {
                target: self.target.to_string(),
                source,
            })?;
        *self.transport.lock().unwrap_or_else(|e| e.into_inner()) = Transport::DialStdio;
        Ok(channel.into_stream())
    }

    pub async fn disconnect(&self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }
}

async fn authenticate(
    handle: &mut Handle<Client>,
    target: &Target,
    options: &SshOptions,
) -> Result<(), SshError> {
    let mut tried: Vec<String> = Vec::new();
    let protocol = |source| SshError::Protocol {
        target: target.to_string(),
        source,
    };
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(protocol)?
        .flatten();

    if options.use_agent {
        if let Ok(mut agent) = keys::agent::client::AgentClient::connect_env().await {
            let identities = agent.request_identities().await.unwrap_or_default();
            for identity in identities {
                let keys::agent::AgentIdentity::PublicKey { key, comment } = identity else {
                    continue;
                };
                tried.push(format!(
                    "agent key {}",
                    if comment.is_empty() {
                        key.algorithm().to_string()
                    } else {
                        comment
                    }
                ));
                let hash = matches!(key.algorithm(), Algorithm::Rsa { .. })
                    .then_some(rsa_hash)
                    .flatten();
                if let Ok(result) = handle
                    .authenticate_publickey_with(&target.user, key, hash, &mut agent)
                    .await
                {
                    if result.success() {
                        return Ok(());
                    }
                }
            }
        }
    }
    for path in &target.identity_files {
        if !path.exists() {
            continue;
        }
        let key = match keys::load_secret_key(path, None) {
            Ok(key) => key,
            Err(keys::Error::KeyIsEncrypted) => match &options.passphrase {
                Some(pass) => {
                    keys::load_secret_key(path, Some(pass)).map_err(|e| SshError::KeyFile {
                        path: path.clone(),
                        message: format!("wrong passphrase in FLEET_SSH_PASSPHRASE? {e}"),
                    })?
                }
                None => match prompt_passphrase(path) {
                    Some(pass) => {
                        keys::load_secret_key(path, Some(&pass)).map_err(|e| SshError::KeyFile {
                            path: path.clone(),
                            message: e.to_string(),
                        })?
                    }
                    None => {
                        tried.push(format!(
                            "{} (encrypted; set FLEET_SSH_PASSPHRASE)",
                            path.display()
                        ));
                        continue;
                    }
                },
            },
            Err(e) => {
                return Err(SshError::KeyFile {
                    path: path.clone(),
                    message: e.to_string(),
                });
            }
        };
        tried.push(path.display().to_string());
        let hash = matches!(key.algorithm(), Algorithm::Rsa { .. })
            .then_some(rsa_hash)
            .flatten();
        let result = handle
            .authenticate_publickey(
                &target.user,
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(protocol)?;
        if result.success() {
            return Ok(());
        }
    }
    Err(SshError::AuthFailed {
        user: target.user.clone(),
        host: target.host.clone(),
        tried: if tried.is_empty() {
            "no keys found".into()
        } else {
            tried.join(", ")
        },
    })
}

/// Asks for a key's passphrase when a person is at a terminal; never in CI.
fn prompt_passphrase(path: &Path) -> Option<String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    rpassword::prompt_password(format!("Passphrase for {}: ", path.display())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> SshConfig {
        SshConfig::default()
            .parse(&mut text.as_bytes(), ParseRule::ALLOW_UNKNOWN_FIELDS)
            .unwrap()
    }

    #[test]
    fn ssh_config_aliases_users_ports_and_jumps_are_honoured() {
        let cfg = config(
            "Host web\n  HostName 10.0.0.5\n  User deploy\n  Port 2222\n  IdentityFile /keys/web\n  ProxyJump ops@bastion:2200\n\nHost bastion\n  HostName 10.0.0.1\n",
        );
        let t = resolve_with(&cfg, "web", None, None, None, 0).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("10.0.0.5", 2222, "deploy")
        );
        assert_eq!(t.identity_files[0], PathBuf::from("/keys/web"));
        let jump = t.proxy_jump.unwrap();
        assert_eq!(
            (jump.host.as_str(), jump.port, jump.user.as_str()),
            ("10.0.0.1", 2200, "ops")
        );
    }

    #[test]
    fn explicit_address_parts_win_over_ssh_config() {
        let cfg = config("Host web\n  User deploy\n  Port 2222\n");
        let t = resolve_with(
            &cfg,
            "web",
            Some("root"),
            Some(22),
            Some(Path::new("/k")),
            0,
        )
        .unwrap();
        assert_eq!((t.user.as_str(), t.port), ("root", 22));
        assert_eq!(t.identity_files[0], PathBuf::from("/k"));
    }

    #[test]
    fn wildcard_sections_add_identity_files_to_aliases() {
        let cfg = config(
            "Host behind-fh1\n  HostName 10.250.2.2\n  User root\n  ProxyJump root@10.250.1.2\n\nHost *\n  IdentityFile /keys/all\n",
        );
        let t = resolve_with(&cfg, "behind-fh1", None, None, None, 0).unwrap();
        assert_eq!(t.host, "10.250.2.2");
        assert_eq!(t.identity_files, vec![PathBuf::from("/keys/all")]);
        assert_eq!(t.proxy_jump.unwrap().host, "10.250.1.2");
    }

    #[test]
    fn proxy_jump_loops_are_refused() {
        let cfg = config("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
        assert!(resolve_with(&cfg, "a", None, None, None, 0).is_err());
    }
}
