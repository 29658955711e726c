//! Where a service's image comes from: a registry (pulled, by `pull_policy`), or the machine
//! running fleet (`x-fleet.image_source`: shipped to the hosts over their engine connection).

use serde::{Deserialize, Serialize};

use super::SourceAt;

/// Compose `pull_policy`. `Missing` is fleet's default: pull when the host lacks the exact tag
/// or digest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    #[default]
    Missing,
    /// Pull on every apply that creates a replica, even when the host has the tag.
    Always,
    /// Never pull: the image must already be on the host.
    Never,
}

impl PullPolicy {
    pub fn is_default(&self) -> bool {
        *self == PullPolicy::Missing
    }
}

/// `x-fleet.image_source`: the image is shipped from the machine running fleet to the hosts
/// that lack it, and never pulled from a registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageSource {
    /// The local engine (`DOCKER_HOST`, or /var/run/docker.sock).
    Local,
    /// A `docker save` archive in the working tree (usually not committed).
    Archive {
        /// Relative to the project root, normalised (never escaping it).
        path: String,
        /// Where it was written, for an archive that is missing when it is needed.
        #[serde(skip)]
        at: SourceAt,
    },
}
