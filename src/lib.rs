#![recursion_limit = "256"]

//! fleet: declarative GitOps for plain Docker hosts.
//!
//! Stages, each in its own module: `source` reads the desired state from git, `spec` turns it
//! into typed values. The CLI in `cli` wires them together and owns all output.

pub mod apply;
pub mod balancer;
pub mod cli;
pub mod contract;
pub mod docker;
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
