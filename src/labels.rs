//! The label contract: the only state fleet keeps is written as labels on Docker objects.
//!
//! Every key fleet writes starts with [`PREFIX`]; users may not set keys under it, so a
//! container can never look managed by accident. A container is this project's when it carries
//! [`MANAGED`] = `true` and [`PROJECT`] = the project name; everything else is invisible to
//! planning and never touched.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Prefix of every label key fleet owns.
pub const PREFIX: &str = "fleet.";

/// `true` on every object fleet created.
pub const MANAGED: &str = "fleet.managed";
/// The project a container or other object belongs to.
pub const PROJECT: &str = "fleet.project";
/// The service a container is a replica of.
pub const SERVICE: &str = "fleet.service";
/// The replica index (0-based) within the service.
pub const SLOT: &str = "fleet.slot";
/// Hash of the container-shaping part of the service spec; a different hash means "replace".
pub const SPEC_HASH: &str = "fleet.spec-hash";
/// The spec itself (compact JSON), so a plan can show field-level differences.
pub const SPEC: &str = "fleet.spec";
/// The commit the container was created from.
pub const COMMIT: &str = "fleet.commit";
/// What a managed container is when it is not a replica: `balancer` for the project's load
/// balancer on an ingress host.
pub const ROLE: &str = "fleet.role";
pub const ROLE_BALANCER: &str = "balancer";

/// What the labels of a container say about it, when it is this project's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Not this project's (no labels, another project, or not created by fleet): never touched.
    Foreign,
    /// This project's load balancer on one host.
    Balancer { spec_hash: String },
    /// This project's replica, or an imposter carrying its labels: what observing keeps as a
    /// container (`observe::Container::owner`).
    Container(Owner),
}

/// Who a container of the project is, as observing keeps it (and saved plans carry it: this
/// serialised shape is part of the plan file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    /// A replica, with its labels.
    Replica {
        service: String,
        slot: u32,
        spec_hash: String,
        commit: Option<String>,
        spec: Option<String>,
    },
    /// Carries the project's labels but is not a well-formed replica (hand-made, or damaged):
    /// an imposter that planning removes.
    Malformed { why: String },
}

pub fn ownership(project: &str, labels: &HashMap<String, String>) -> Ownership {
    if labels.get(PROJECT).map(String::as_str) != Some(project) {
        return Ownership::Foreign;
    }
    if labels.get(MANAGED).map(String::as_str) != Some("true") {
        return Ownership::Container(Owner::Malformed {
            why: format!("has `{PROJECT}={project}` but not `{MANAGED}=true`"),
        });
    }
    if labels.get(ROLE).map(String::as_str) == Some(ROLE_BALANCER) {
        return match labels.get(SPEC_HASH).filter(|s| !s.is_empty()) {
            Some(hash) if !labels.contains_key(SERVICE) => Ownership::Balancer {
                spec_hash: hash.clone(),
            },
            _ => Ownership::Container(Owner::Malformed {
                why: format!("a `{ROLE}={ROLE_BALANCER}` without a spec hash, or with a service"),
            }),
        };
    }
    let Some(service) = labels.get(SERVICE).filter(|s| !s.is_empty()) else {
        return Ownership::Container(Owner::Malformed {
            why: format!("has no `{SERVICE}` label"),
        });
    };
    let Some(slot) = labels.get(SLOT).and_then(|s| s.parse::<u32>().ok()) else {
        return Ownership::Container(Owner::Malformed {
            why: format!("has no valid `{SLOT}` label"),
        });
    };
    let Some(spec_hash) = labels.get(SPEC_HASH).filter(|s| !s.is_empty()) else {
        return Ownership::Container(Owner::Malformed {
            why: format!("has no `{SPEC_HASH}` label"),
        });
    };
    Ownership::Container(Owner::Replica {
        service: service.clone(),
        slot,
        spec_hash: spec_hash.clone(),
        commit: labels.get(COMMIT).cloned(),
        spec: labels.get(SPEC).cloned(),
    })
}

/// The Docker filter that selects every container of a project.
pub fn project_filter(project: &str) -> String {
    format!("{PROJECT}={project}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_this_projects_replicas_are_owned() {
        let full = [
            (MANAGED, "true"),
            (PROJECT, "shop"),
            (SERVICE, "web"),
            (SLOT, "2"),
            (SPEC_HASH, "abc"),
        ];
        assert!(matches!(
            ownership("shop", &labels(&full)),
            Ownership::Container(Owner::Replica { slot: 2, .. })
        ));
        assert_eq!(ownership("other", &labels(&full)), Ownership::Foreign);
        assert_eq!(
            ownership("shop", &labels(&[("app", "x")])),
            Ownership::Foreign
        );
        let balancer = [
            (MANAGED, "true"),
            (PROJECT, "shop"),
            (ROLE, ROLE_BALANCER),
            (SPEC_HASH, "abc"),
        ];
        assert_eq!(
            ownership("shop", &labels(&balancer)),
            Ownership::Balancer {
                spec_hash: "abc".into()
            }
        );
        assert!(matches!(
            ownership("shop", &labels(&balancer[..3])),
            Ownership::Container(Owner::Malformed { .. })
        ));
        assert!(matches!(
            ownership("shop", &labels(&[(PROJECT, "shop")])),
            Ownership::Container(Owner::Malformed { .. })
        ));
        assert!(matches!(
            ownership(
                "shop",
                &labels(&[
                    (MANAGED, "true"),
                    (PROJECT, "shop"),
                    (SERVICE, "web"),
                    (SLOT, "x"),
                    (SPEC_HASH, "a")
                ])
            ),
            Ownership::Container(Owner::Malformed { .. })
        ));
    }

    /// Saved plans carry owners: their JSON is part of the plan file.
    #[test]
    fn the_owner_keeps_its_shape_in_saved_plans() {
        let replica = Owner::Replica {
            service: "web".into(),
            slot: 2,
            spec_hash: "abc".into(),
            commit: None,
            spec: Some("{}".into()),
        };
        let json = serde_json::to_string(&replica).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"replica","service":"web","slot":2,"spec_hash":"abc","commit":null,"spec":"{}"}"#
        );
        assert_eq!(serde_json::from_str::<Owner>(&json).unwrap(), replica);
        let malformed = Owner::Malformed { why: "x".into() };
        let json = serde_json::to_string(&malformed).unwrap();
        assert_eq!(json, r#"{"kind":"malformed","why":"x"}"#);
        assert_eq!(serde_json::from_str::<Owner>(&json).unwrap(), malformed);
    }
}
