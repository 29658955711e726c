#![recursion_limit = "256"]

//! fleet: declarative GitOps for plain Docker hosts.
//!
//! Stages with plain values between them (ARCHITECTURE.md draws them): `source` reads the
//! desired state from git and `spec` turns it into a `Desired`; `observe` reads the hosts through
//! the `engine` seam (implemented by `docker` over `ssh`, and by `engine::memory` for tests)
//! into an `Observed`; `plan` (pure, with `balancer`) computes a `Plan` from both; `render`
//! shows it and `apply` carries it out under the project lock (`lock`). `converge` is that
//! pipeline, once, for `fleet apply` and for every pass of `watch`, the daemon. `contract` and
//! `labels` say how fleet names and labels what it creates; `tls` reads and issues the
//! balancers' certificates; `error` formats error chains; `clock` reads and writes RFC 3339
//! time. `cli` parses the command line, wires the stages together and owns all output; nothing
//! else imports it.

pub mod apply;
pub mod autoscale;
pub mod balancer;
pub mod cli;
pub mod clock;
pub mod contract;
pub mod converge;
pub mod docker;
pub mod engine;
pub mod error;
pub mod labels;
pub mod lock;
pub mod notify;
pub mod observe;
pub mod payload;
pub mod plan;
pub mod render;
pub mod secrets;
pub mod source;
pub mod spec;
pub mod ssh;
pub mod tls;
pub mod watch;
