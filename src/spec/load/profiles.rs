//! `profiles`: which services are active (fleet.yaml's top-level `profiles` chooses; a service
//! without profiles is always active, as in Compose), and the checks on `container_name`,
//! which become DNS aliases and so must be unique. Inactive services are removed from the state
//! before the checks across services run, so nothing downstream sees them.

use std::collections::BTreeMap;

use super::State;
use crate::spec::decode::{Cx, index};
use crate::spec::diag::Diagnostics;
use crate::spec::service::valid_profile;
use crate::spec::yaml::Node;

/// fleet.yaml's `profiles`: the active profile names.
pub(super) fn decode_profiles(cx: &mut Cx, node: &Node) -> Vec<String> {
    let Some(items) = cx.seq("profiles", node, "a list of profile names") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index("profiles", i);
        if let Some(name) = cx.string(&f, item) {
            if valid_profile(&name) {
                out.push(name);
            } else {
                cx.error(
                    item.pos,
                    &f,
                    format!("`{name}` is not a valid profile name"),
                    "letters, digits, `_`, `.` and `-`, starting with a letter or digit",
                );
            }
        }
    }
    out
}

/// Leaves the inactive services out of `state`. A dependency of an active service on an
/// inactive one is an error (fleet refuses `depends_on.required`, so every dependency is
/// required).
pub(super) fn apply_profiles(diags: &mut Diagnostics, active: &[String], state: &mut State) {
    let inactive: BTreeMap<String, Vec<String>> = state
        .services
        .iter()
        .filter(|(_, e)| {
            let p = &e.decoded.service.profiles;
            !p.is_empty() && !p.iter().any(|p| active.contains(p))
        })
        .map(|(n, e)| (n.clone(), e.decoded.service.profiles.clone()))
        .collect();
    if inactive.is_empty() {
        return;
    }
    state.services.retain(|n, _| !inactive.contains_key(n));
    for entry in state.services.values_mut() {
        let mut cx = Cx::new(entry.file.clone(), diags);
        let d = &mut entry.decoded;
        d.depends_refs.retain(|(dep, pos, field)| match inactive.get(dep) {
            Some(profiles) => {
                cx.error_hint(
                    *pos,
                    field,
                    format!(
                        "service `{dep}` is not active (its profiles: {})",
                        profiles.join(", ")
                    ),
                    "an active service",
                    format!(
                        "add one of its profiles to fleet.yaml's `profiles` (e.g. `profiles: [{}]`), or remove the dependency",
                        profiles[0]
                    ),
                );
                false
            }
            None => true,
        });
        d.service
            .depends_on
            .retain(|dep, _| !inactive.contains_key(dep));
    }
}

/// Two services with one `container_name`, or a `container_name` that is another service's
/// name, would make one DNS name mean two services.
pub(super) fn check_container_names(diags: &mut Diagnostics, state: &State) {
    let mut seen: BTreeMap<&str, (&str, &str, u32)> = BTreeMap::new();
    for (name, entry) in &state.services {
        let Some(cn) = entry.decoded.service.container_name.as_deref() else {
            continue;
        };
        let pos = entry.decoded.container_name_pos.unwrap_or(entry.name_pos);
        let field = format!("services.{name}.container_name");
        let mut cx = Cx::new(entry.file.clone(), diags);
        if let Some((other, file, line)) = seen.get(cn) {
            cx.error_hint(
                pos,
                &field,
                format!("container_name `{cn}` is also the container_name of service `{other}`"),
                "a name unique in the project",
                format!("it is set at {file}:{line}; rename one"),
            );
        } else if cn != name && state.services.contains_key(cn) {
            cx.error(
                pos,
                &field,
                format!("container_name `{cn}` is the name of another service"),
                "a name no other service uses",
            );
        } else {
            seen.insert(cn, (name, &entry.file, pos.line));
        }
    }
}
