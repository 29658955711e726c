//! The tracked revision: read it, load it, and keep one host follower per host it names.

use super::*;
use crate::spec::load::ROOT_FILE;

/// The tracked revision could not be read when the daemon started, before it ever held a state:
/// a daemon pointed at the wrong directory (no repository, no fleet.yaml) stops with this
/// instead of waiting forever. Later read failures are logged and the held state stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub message: String,
    pub hint: Option<String>,
}

impl Daemon {
    /// Reads the tracked revision; true when it is new. Fails only on the first read, before
    /// anything was held, when the source cannot be read or has no fleet.yaml.
    pub(super) async fn read_tip(&mut self) -> Result<bool, Unreadable> {
        type Read = Option<(Option<String>, Result<(Desired, Payload), Vec<String>>)>;
        let starting = self.tip.is_none() && self.held.is_none();
        let request = self.settings.request.clone();
        let known = self.tip.as_ref().and_then(|t| t.commit.clone());
        // The same commit is read again when a certificate fleet issued is due for renewal.
        let renew = self
            .tip
            .as_ref()
            .and_then(|t| t.desired.as_ref().ok())
            .is_some_and(|d| crate::payload::renewal_due(d, crate::clock::unix_now()));
        let read = tokio::task::spawn_blocking(move || -> Result<Read, Unreadable> {
            let snapshot = source::open(&request).map_err(|e| Unreadable {
                message: crate::error::full_message(&e),
                hint: e.hint(),
            })?;
            let commit = match snapshot.revision.kind {
                source::RevisionKind::Commit => snapshot.revision.commit.clone(),
                source::RevisionKind::Worktree => None,
            };
            if commit.is_some() && commit == known && !renew {
                return Ok(None);
            }
            // At start a commit without fleet.yaml is a daemon pointed at the wrong place, not
            // a bad commit to wait out.
            if starting && !snapshot.files().exists(ROOT_FILE).unwrap_or(true) {
                return Err(Unreadable {
                    message: format!(
                        "no {ROOT_FILE} at the project root of commit {}",
                        short(commit.as_deref())
                    ),
                    hint: Some(
                        "point fleet watch at the project with -C DIR or --repo, or commit fleet.yaml there".into(),
                    ),
                });
            }
            let loaded = crate::spec::load(snapshot.files());
            let desired = loaded
                .desired
                .ok_or_else(|| {
                    loaded
                        .diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .map(|d| d.to_string())
                        .collect()
                })
                .and_then(|mut desired| {
                    // Secrets that cannot be decrypted make the commit unusable, as an
                    // invalid one: the last good state stays.
                    let payload = crate::secrets::read_payload(&desired, snapshot.files())
                        .map_err(|errors| {
                            errors.iter().map(ToString::to_string).collect::<Vec<_>>()
                        })?;
                    payload.stamp(&mut desired);
                    Ok((desired, payload))
                });
            Ok(Some((commit, desired)))
        })
        .await
        .unwrap_or_else(|e| {
            Err(Unreadable {
                message: format!("internal error: {e}"),
                hint: None,
            })
        });
        let (commit, read) = match read {
            Ok(Some(read)) => read,
            Ok(None) => return Ok(false),
            Err(unreadable) if starting => return Err(unreadable),
            Err(Unreadable { message, hint }) => {
                warn!(error = %message, hint = hint.as_deref(), held = %self.held_commit(), "cannot read the repository; the last good state stays");
                self.shared
                    .count(|m| *m.failures.entry("source").or_default() += 1);
                self.shared.error("source", message);
                return Ok(false);
            }
        };
        let (desired, payload) = match read {
            Ok((desired, payload)) => (Ok(desired), Arc::new(payload)),
            Err(messages) => (Err(messages), Arc::default()),
        };
        if commit.is_none()
            && self
                .tip
                .as_ref()
                .is_some_and(|t| t.desired.as_ref().ok() == desired.as_ref().ok())
        {
            return Ok(false);
        }
        let desired = match (desired, &self.project) {
            (Ok(d), Some(project)) if d.project != *project => Err(vec![format!(
                "fleet.yaml: project changed from `{project}` to `{}`; a daemon follows one project: start a new one for it",
                d.project
            )]),
            (d, _) => d,
        };
        match &desired {
            Ok(d) => {
                info!(commit = %short(commit.as_deref()), project = %d.project, "read a new commit");
                self.project.get_or_insert_with(|| d.project.clone());
                self.start_lease();
                self.shared.update(|s| {
                    s.project = Some(d.project.clone());
                    s.tip_error = None;
                });
            }
            Err(messages) => {
                let (first, hint) = split_hint(messages.first().map_or("", String::as_str));
                warn!(commit = %short(commit.as_deref()), errors = messages.len(), first, hint, held = %self.held_commit(), "the new commit is invalid; the last good state stays");
                self.notify(
                    "commit_refused",
                    format!(
                        "commit {} is invalid and not applied: {}",
                        short(commit.as_deref()),
                        messages.join("; ")
                    ),
                    None,
                );
                self.shared
                    .count(|m| *m.failures.entry("invalid_commit").or_default() += 1);
                self.shared.error(
                    "invalid_commit",
                    format!(
                        "commit {}: {}",
                        short(commit.as_deref()),
                        messages.join("; ")
                    ),
                );
                self.shared.update(|s| {
                    s.tip_error = Some(TipError {
                        commit: commit.clone(),
                        kind: TipErrorKind::Invalid,
                        messages: messages.clone(),
                    })
                });
            }
        }
        self.shared.update(|s| s.tip_commit = commit.clone());
        self.tip = Some(Tip {
            commit,
            desired,
            payload,
        });
        self.sync_probers();
        Ok(true)
    }

    /// The commit the fleet is held to, for logs: `none yet` before the first one is applied.
    pub(super) fn held_commit(&self) -> String {
        self.held
            .as_ref()
            .map_or_else(|| "none yet".into(), |h| short(h.commit.as_deref()))
    }

    /// One prober per host of the held state and of the tip.
    pub(super) fn sync_probers(&mut self) {
        let Some(project) = self.project.clone() else {
            return;
        };
        let mut wanted: BTreeMap<String, Host> = BTreeMap::new();
        if let Some(held) = &self.held {
            wanted.extend(held.desired.hosts.clone());
        }
        if let Some(Ok(d)) = self.tip.as_ref().map(|t| &t.desired) {
            wanted.extend(d.hosts.clone());
        }
        self.probers.retain(|name, (host, task)| {
            let keep = wanted.get(name) == Some(host);
            if !keep {
                task.abort();
            }
            keep
        });
        self.links.retain(|name, _| wanted.contains_key(name));
        for (name, host) in wanted {
            if self.probers.contains_key(&name) {
                continue;
            }
            self.links.insert(name.clone(), Link::new());
            let task = tokio::spawn(link::follow_host(
                name.clone(),
                host.clone(),
                self.settings.connect.clone(),
                project.clone(),
                self.settings.probe_interval,
                self.triggers.clone(),
            ));
            self.probers.insert(name, (host, task));
        }
    }
}

/// A message and its hint, which diagnostics carry on a line of their own: logs keep the hint in
/// a field of its own rather than inside the message.
pub(super) fn split_hint(message: &str) -> (&str, Option<&str>) {
    match message.split_once("\n  hint: ") {
        Some((message, hint)) => (message, Some(hint)),
        None => (message, None),
    }
}
