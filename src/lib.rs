#![recursion_limit = "256"]

//! fleet: declarative GitOps for plain Docker hosts.
//!
//! Stages with plain values between them (ARCHITECTURE.md draws them): `source` reads the
//! desired state from git and `spec` turns it into a `Desired`; `observe` reads the hosts through
//! the `docker` and `ssh` edges into an `Observed`; `plan` (pure, with `balancer`) computes a
//! `Plan` from both; `render` shows it and `apply` carries it out under the project lock
//! (`lock`). `watch` is the daemon that runs that pipeline whenever something happens. `contract`
//! and `labels` say how fleet names and labels what it creates; `error` formats error chains.
//! `cli` parses the command line, wires the stages together and owns all output; nothing else
//! imports it.

pub mod apply;
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
pub mod observe;
pub mod plan;
pub mod render;
pub mod source;
pub mod spec;
pub mod ssh;
pub mod watch;
