//! Registry credentials from the user's Docker client configuration (`~/.docker/config.json`,
//! or `$DOCKER_CONFIG/config.json`), as `docker pull` would use them: `credHelpers` for the
//! registry, then `credsStore`, then an `auths` entry.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::Credentials;

/// Docker Hub's key in config.json.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

#[derive(Debug, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

impl DockerConfig {
    /// The user's config; an absent or unreadable file means "no credentials" (as for docker).
    pub fn load() -> DockerConfig {
        let path = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".docker")))
            .map(|d| d.join("config.json"));
        path.and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> Result<DockerConfig, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Credentials for the registry `registry` (as returned by `create::registry_of`).
    pub fn credentials(&self, registry: &str) -> Option<Credentials> {
        let server = if registry == "docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry.to_string()
        };
        if let Some(helper) = self
            .cred_helpers
            .get(registry)
            .or(self.creds_store.as_ref())
            && let Some(found) = run_helper(helper, &server)
        {
            return Some(found);
        }
        let entry = self.auths.get(&server).or_else(|| {
            self.auths.iter().find_map(|(key, entry)| {
                let host = key
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .split('/')
                    .next()
                    .unwrap_or_default();
                (host == registry).then_some(entry)
            })
        })?;
        let (mut username, mut password) = (entry.username.clone(), entry.password.clone());
        if let Some(auth) = &entry.auth {
            let decoded = data_encoding::BASE64.decode(auth.trim().as_bytes()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (user, pass) = text.split_once(':')?;
            username = Some(user.to_string());
            password = Some(pass.to_string());
        }
        Some(Credentials {
            server,
            username,
            password,
            identity_token: entry.identitytoken.clone().filter(|t| !t.is_empty()),
        })
    }
}

/// Asks `docker-credential-{helper}` for the server's credentials, as the docker CLI does.
fn run_helper(helper: &str, server: &str) -> Option<Credentials> {
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(server.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).ok()?;
    Some(if answer.username == "<token>" {
        Credentials {
            server: server.to_string(),
            identity_token: Some(answer.secret),
            ..Default::default()
        }
    } else {
        Credentials {
            server: server.to_string(),
            username: Some(answer.username),
            password: Some(answer.secret),
            identity_token: None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_entries_are_decoded_per_registry() {
        let config = DockerConfig::parse(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
                "ghcr.io": {"auth": "Ym90OnM6ZWNyZXQ="},
                "https://registry.example.com/v2/": {"identitytoken": "tok"}
            }}"#,
        )
        .unwrap();
        let hub = config.credentials("docker.io").unwrap();
        assert_eq!(hub.server, DOCKER_HUB);
        assert_eq!(hub.username.as_deref(), Some("user"));
        assert_eq!(hub.password.as_deref(), Some("pass"));
        // A password may contain ':'.
        let ghcr = config.credentials("ghcr.io").unwrap();
        assert_eq!(ghcr.password.as_deref(), Some("s:ecret"));
        let other = config.credentials("registry.example.com").unwrap();
        assert_eq!(other.identity_token.as_deref(), Some("tok"));
        assert!(config.credentials("quay.io").is_none());
    }

    #[test]
    fn a_missing_helper_falls_back_to_auths() {
        let config = DockerConfig::parse(
            r#"{"credsStore": "fleet-test-no-such-helper",
                "auths": {"ghcr.io": {"auth": "YTpi"}}}"#,
        )
        .unwrap();
        assert_eq!(
            config.credentials("ghcr.io").unwrap().username.as_deref(),
            Some("a")
        );
    }
}
