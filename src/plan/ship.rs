//! Which images are shipped where: pure, from plain data.
//!
//! A service whose image comes from the machine running fleet (`x-fleet.image_source`, or
//! every service with `fleet apply --ship-images`) has it shipped to each host where the plan
//! creates one of its containers, unless that host already has an image of the very same id.
//! What the source holds and what each host has are looked up before (by `apply::ship`, which
//! does the I/O) and passed in; this module only decides.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::spec::Desired;
use crate::spec::model::ImageSource;

/// Where a shipped image is read from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShipFrom {
    /// The engine of the machine running fleet.
    Local,
    /// A `docker save` archive, by its path relative to the project root.
    Archive { path: String },
}

/// An image as its source holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceImage {
    pub image: String,
    pub from: ShipFrom,
    /// The image id (`sha256:...`): what every host must have once it is shipped.
    pub id: String,
    /// Bytes, as the source says (the image's size, or the archive's).
    pub size: u64,
}

/// One image shipped to some hosts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ship {
    #[serde(flatten)]
    pub source: SourceImage,
    /// Where it is shipped: hosts that lack it (or hold another image under its name).
    pub hosts: Vec<String>,
    /// Hosts that need it and already have the very same image: nothing is sent to them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub present: Vec<String>,
}

/// The images to ship and where from: services with an `image_source`, and with `all`
/// (`--ship-images`) every other service's image from the local engine. When services sharing
/// an image say different sources, an archive wins over the local engine (it is the one
/// written down), and of two archives the first service's in name order.
pub fn sources(desired: &Desired, all: bool) -> BTreeMap<String, ShipFrom> {
    let mut out: BTreeMap<String, ShipFrom> = BTreeMap::new();
    for service in desired.services.values() {
        let from = match &service.image_source {
            Some(ImageSource::Archive { path, .. }) => ShipFrom::Archive { path: path.clone() },
            Some(ImageSource::Local) => ShipFrom::Local,
            None if all => ShipFrom::Local,
            None => continue,
        };
        match out.get(&service.image) {
            Some(ShipFrom::Archive { .. }) => {}
            _ => {
                out.insert(service.image.clone(), from);
            }
        }
    }
    out
}

/// The hosts where the plan creates a container of `image` (replicas only: the balancer's
/// image comes from a registry).
pub fn hosts_needing(plan: &Plan, image: &str) -> BTreeSet<String> {
    plan.changes
        .iter()
        .filter(|c| c.service.is_some())
        .filter_map(|c| c.create.as_ref().map(|new| (c, new)))
        .filter(|(_, new)| new.spec.image == image)
        .map(|(c, _)| c.host.clone())
        .collect()
}

/// The ships of a plan: each source image, to the hosts needing it whose image of that name
/// (`on_hosts`, by host and image; absent or `None` when the host lacks it) has another id.
/// Images no host needs are left out.
pub fn ships(
    plan: &Plan,
    sources: &[SourceImage],
    on_hosts: &BTreeMap<(String, String), Option<String>>,
) -> Vec<Ship> {
    sources
        .iter()
        .filter_map(|source| {
            let (present, hosts): (Vec<String>, Vec<String>) = hosts_needing(plan, &source.image)
                .into_iter()
                .partition(|host| {
                    on_hosts
                        .get(&(host.clone(), source.image.clone()))
                        .and_then(Option::as_deref)
                        == Some(source.id.as_str())
                });
            (!hosts.is_empty() || !present.is_empty()).then(|| Ship {
                source: source.clone(),
                hosts,
                present,
            })
        })
        .collect()
}

/// A size for people: `182 MB`, `1.4 GB`, `640 kB` (decimal units, as `docker images`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{HostState, Observed};
    use crate::spec::{MemoryFiles, load};

    fn desired(yaml: &str) -> Desired {
        load(&MemoryFiles::new([("fleet.yaml", yaml)]))
            .desired
            .expect("valid")
    }

    const YAML: &str = "project: p\nhosts:\n  a: { address: unix:///a }\n  b: { address: unix:///b }\n  c: { address: unix:///c }\nservices:\n  web:\n    image: app:1.4\n    x-fleet: { image_source: local }\n    deploy: { replicas: 3 }\n  db:\n    image: postgres:16\n";

    fn empty(d: &Desired) -> Observed {
        let hosts = d.hosts.keys().map(|h| {
            let state = HostState::Reachable {
                containers: Vec::new(),
            };
            (h.clone(), state)
        });
        Observed {
            hosts: hosts.collect(),
            ..Default::default()
        }
    }

    fn source(id: &str) -> SourceImage {
        SourceImage {
            image: "app:1.4".into(),
            from: ShipFrom::Local,
            id: id.into(),
            size: 182_000_000,
        }
    }

    #[test]
    fn an_image_is_shipped_only_to_hosts_that_create_a_container_of_it_and_lack_its_id() {
        let d = desired(YAML);
        let observed = empty(&d);
        let plan = crate::plan::plan(&d, &observed, None).unwrap();
        let on_hosts: BTreeMap<_, _> = [
            (
                ("a".to_string(), "app:1.4".to_string()),
                Some("sha256:new".to_string()),
            ),
            (
                ("b".to_string(), "app:1.4".to_string()),
                Some("sha256:old".to_string()),
            ),
            (("c".to_string(), "app:1.4".to_string()), None),
        ]
        .into();
        let ships = ships(&plan, &[source("sha256:new")], &on_hosts);
        assert_eq!(ships.len(), 1);
        assert_eq!(
            ships[0].hosts,
            ["b", "c"],
            "another id under the name is replaced"
        );
        assert_eq!(ships[0].present, ["a"]);
    }

    #[test]
    fn nothing_is_shipped_where_nothing_is_created() {
        let d = desired(YAML);
        let plan = crate::plan::plan(&d, &empty(&d), None).unwrap();
        let mut kept = plan.clone();
        kept.changes.retain(|c| c.service.as_deref() != Some("web"));
        assert!(ships(&kept, &[source("sha256:x")], &BTreeMap::new()).is_empty());
    }

    #[test]
    fn only_services_with_a_source_ship_unless_all_do() {
        let d = desired(YAML);
        assert_eq!(
            sources(&d, false),
            [("app:1.4".to_string(), ShipFrom::Local)].into()
        );
        assert_eq!(sources(&d, true).len(), 2);
        assert_eq!(sources(&d, true)["postgres:16"], ShipFrom::Local);
    }

    #[test]
    fn an_archive_wins_over_the_local_engine_for_a_shared_image() {
        let d = desired(
            "project: p\nservices:\n  a:\n    image: app:1\n    x-fleet: { image_source: local }\n  b:\n    image: app:1\n    x-fleet: { image_source: ./app.tar }\n  c:\n    image: app:1\n",
        );
        let archive = ShipFrom::Archive {
            path: "app.tar".into(),
        };
        assert_eq!(sources(&d, true)["app:1"], archive);
        assert_eq!(sources(&d, false)["app:1"], archive);
    }

    #[test]
    fn sizes_read_like_docker_images() {
        assert_eq!(human_size(182_000_000), "182 MB");
        assert_eq!(human_size(1_400_000_000), "1.4 GB");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(640_000), "640 kB");
    }
}
