//! The label contract: the only state fleet keeps is written as labels on Docker objects.
//!
//! Every key fleet writes starts with [`PREFIX`]; users may not set keys under it, so a
//! container can never look managed by accident.

/// Prefix of every label key fleet owns.
pub const PREFIX: &str = "fleet.";

/// The project a container or other object belongs to.
pub const PROJECT: &str = "fleet.project";
