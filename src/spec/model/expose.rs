//! The exposure of services through the balancers: the balancer settings, a service's
//! `x-fleet.expose` with its host-name routes and TLS, and what is known of a certificate.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Desired;

/// The default balancer image: the official HAProxy image, current LTS branch.
pub const DEFAULT_BALANCER_IMAGE: &str = "haproxy:3.2";

/// The top-level `balancer:` section: where and with what image exposed services are balanced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancerSettings {
    /// An HAProxy image (the official one by default).
    pub image: String,
    /// The ingress hosts that run a balancer; `None` means every host.
    pub hosts: Option<Vec<String>>,
    /// The port every balancer serves routed services on over HTTP (services with `hosts`).
    pub http_port: u16,
    /// The port every balancer serves routed services on over TLS.
    pub https_port: u16,
}

impl Default for BalancerSettings {
    fn default() -> Self {
        BalancerSettings {
            image: DEFAULT_BALANCER_IMAGE.to_string(),
            hosts: None,
            http_port: 80,
            https_port: 443,
        }
    }
}

impl Desired {
    /// The services a balancer routes to, with their exposure.
    pub fn exposed(&self) -> impl Iterator<Item = (&str, &Expose)> {
        self.services
            .iter()
            .filter_map(|(name, s)| s.expose_via.as_ref().map(|e| (name.as_str(), e)))
    }

    /// The hosts that should run a balancer: none when no service is exposed.
    pub fn ingress_hosts(&self) -> Vec<&str> {
        if self.exposed().next().is_none() {
            return Vec::new();
        }
        match &self.balancer.hosts {
            None => self.hosts.keys().map(String::as_str).collect(),
            Some(hosts) => self
                .hosts
                .keys()
                .filter(|h| hosts.contains(h))
                .map(String::as_str)
                .collect(),
        }
    }
}

/// `x-fleet: { expose: ... }` of a service: reachable through the project's balancers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expose {
    /// The container port the replicas serve on (published on a host port the engine picks).
    pub port: u16,
    /// The port every balancer listens on for this service alone; `None` for a service reached
    /// only by host name (`routes`) on the shared ports.
    pub host_port: Option<u16>,
    pub protocol: ExposeProtocol,
    /// How long a replica leaving the balancers keeps its connections before it is stopped.
    #[serde(with = "super::seconds")]
    pub drain: Duration,
    /// HTTP path the balancers probe (`http` only); without it they check that a TCP connection
    /// opens.
    pub health_path: Option<String>,
    /// Host names (and path prefixes) the balancers route to this service on their shared
    /// `http_port` and `https_port`.
    pub routes: Option<Routes>,
}

/// `expose.hosts` and what goes with it: the requests of these names (Host header, and SNI
/// over TLS) and paths go to the service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Routes {
    /// DNS names, lowercase; `*.example.com` matches one label in front of `example.com`.
    pub hosts: Vec<String>,
    /// Path prefixes (whole segments: `/v1` takes `/v1` and `/v1/x`, not `/v1x`); `/` by default.
    pub paths: Vec<String>,
    pub tls: Option<TlsSource>,
    /// Plain HTTP requests for these names are redirected (308) to https.
    pub redirect_http: bool,
    /// `Strict-Transport-Security: max-age=...` on responses over TLS.
    #[serde(default, with = "super::seconds::option")]
    pub hsts: Option<Duration>,
    /// Where `tls` was written: certificates are checked once decrypted, after loading.
    #[serde(skip)]
    pub tls_at: Option<SourceAt>,
}

/// Where a value was written, for checks made after loading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceAt {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// Where a routed service's certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsSource {
    /// Two secrets of the project: the certificate chain and its key, PEM.
    Secrets { certificate: String, key: String },
    /// Issued by the project's own CA for the listed names.
    Internal,
}

pub const DEFAULT_DRAIN: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposeProtocol {
    Http,
    Tcp,
}

/// What the balancers and people need to know of a certificate: never its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSummary {
    /// Names the file on the hosts: a digest of the certificate (which fixes its key).
    pub id: String,
    pub names: Vec<String>,
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub issuer: String,
    /// Issued by fleet from the project CA (`tls: internal`).
    pub internal: bool,
}
