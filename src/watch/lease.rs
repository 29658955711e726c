//! The watch lease: which daemon acts for a project. A background task, so a long pass never
//! delays a renewal; it tells the loop when the role changes, and the loop's changes are gated on
//! the lease through the [`Fence`](crate::lock::Fence) of every pass.
//!
//! The lease is the lock `{project}.watch` on every reachable host (see `crate::lock` for terms,
//! expiry and the fault rules). A daemon leads while no reachable host shows a *live* lease of
//! another daemon and it holds at least one host; it acts only on the hosts it holds. A leader
//! renews every `renew`; a standby looks every probe interval and takes over what expired, so a
//! leader that died or was cut off is replaced within the ttl plus one probe. Two daemons never
//! hold the same host's lease at once; daemons cut off from each other's hosts each act only on
//! the hosts they hold.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::Trigger;
use crate::engine::SharedEngine;
use crate::lock::{Hold, State, Taken};

/// What the lease task tells the loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Leader,
    /// Another daemon holds the lease on a reachable host (`who` it is).
    Standby {
        leader: String,
    },
}

/// How the lease is kept.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub renew: Duration,
    pub probe: Duration,
}

/// What one round over the hosts found, for [`decide`].
#[derive(Debug, Default)]
pub struct Round {
    /// Hosts whose lease is held after the round (reachable or not: a grant that has not run
    /// out yet still counts, so an engine restarting for a few seconds changes nothing).
    pub held: usize,
    /// A live lease of another daemon, on the first host (name order) that has one.
    pub foreign: Option<State>,
}

/// The role a round leads to. Pure: a live foreign lease anywhere means standby; otherwise lead
/// as soon as one host is held (hosts whose lease cannot be taken yet, such as one whose labels
/// were lost, are taken when they expire and are not acted on until then). A daemon that holds
/// no host any more (cut off from all of them for longer than its grants last) stands by.
pub fn decide(round: &Round) -> Role {
    match &round.foreign {
        Some(state) => Role::Standby {
            leader: match state {
                State::Held { holder, .. } => holder.who.clone(),
                other => other.holder_text(),
            },
        },
        None if round.held > 0 => Role::Leader,
        None => Role::Standby {
            leader: "nobody: no host's watch lease is held (are the hosts reachable?)".into(),
        },
    }
}

/// Runs until aborted: keeps or seeks the lease on the hosts `engines` says are reachable, and
/// sends [`Trigger::Lease`] whenever the role changes (and once at the start).
pub async fn keep(
    hold: Arc<Hold>,
    mut engines: watch::Receiver<BTreeMap<String, SharedEngine>>,
    timing: Timing,
    triggers: mpsc::UnboundedSender<Trigger>,
) {
    let mut role: Option<Role> = None;
    let mut held_before: BTreeSet<String> = BTreeSet::new();
    loop {
        let started = tokio::time::Instant::now();
        let reachable = engines.borrow_and_update().clone();
        let leading = role == Some(Role::Leader);
        // No host may hold up the others' renewals for longer than a renewal period.
        let bound = timing.renew.min(crate::lock::CALL_TIMEOUT * 3);
        let mut round = round(&hold, &reachable, leading, bound).await;
        let held: BTreeSet<String> = hold.held_hosts().into_iter().collect();
        round.held = held.len();
        let next = decide(&round);
        if round.foreign.is_some() {
            // Give back what this round took: the other daemon leads.
            hold.release_all(&reachable).await;
        }
        if role.as_ref() != Some(&next) {
            match &next {
                Role::Leader => info!("leading: holding the watch lease"),
                Role::Standby { leader } if round.foreign.is_none() => {
                    warn!(leader = %leader, "no host's watch lease is held: standing by until one can be taken")
                }
                Role::Standby { leader } if leading => {
                    warn!(leader = %leader, "another daemon holds the watch lease on a host: stepping down")
                }
                Role::Standby { leader } => {
                    info!(leader = %leader, "standby: another daemon leads this project")
                }
            }
            if triggers.send(Trigger::Lease(next.clone())).is_err() {
                return;
            }
            role = Some(next);
        } else if role == Some(Role::Leader) && !held.is_subset(&held_before) {
            // A host is ours again (back from an engine restart or a cut): a pass may act there
            // now, where the pass that saw it come back could not.
            let gained: Vec<String> = held.difference(&held_before).cloned().collect();
            if triggers.send(Trigger::LeaseGained(gained)).is_err() {
                return;
            }
        }
        held_before = if role == Some(Role::Leader) {
            held
        } else {
            BTreeSet::new()
        };
        let every = if role == Some(Role::Leader) {
            timing.renew
        } else {
            timing.probe
        };
        // The period counts from the round's start, so a slow round does not stretch it.
        tokio::select! {
            _ = tokio::time::sleep_until(started + every) => {}
            // A host came or went: look at once (a restarted engine is held again at once).
            changed = engines.changed() => if changed.is_err() { return },
        }
    }
}

/// One round: a leader renews what it holds and takes the rest, every host at once; a standby
/// takes hosts in name order and stops at the first live foreign lease, so two standbys racing
/// never split the hosts between them. Each host's calls are bounded by `bound`.
async fn round(
    hold: &Hold,
    engines: &BTreeMap<String, SharedEngine>,
    leading: bool,
    bound: Duration,
) -> Round {
    let take = |host: &String, engine: &SharedEngine| {
        let engine = Arc::clone(engine);
        let host = host.clone();
        async move {
            let taken = tokio::time::timeout(bound, hold.take(&host, engine.as_ref())).await;
            match taken {
                Ok(Ok(Taken::Yes { over })) => {
                    if let Some(state) = over {
                        info!(host = %host, taken_over = %state, "took over the watch lease");
                    }
                    None
                }
                Ok(Ok(Taken::No(state @ State::Held { .. }))) => Some(state),
                Ok(Ok(Taken::No(state))) => {
                    debug!(host = %host, state = %state, "the watch lease cannot be taken yet");
                    None
                }
                // Host trouble: its follower reports it.
                Ok(Err(e)) => {
                    debug!(host = %host, error = %e, "lease call failed");
                    None
                }
                Err(_) => {
                    debug!(host = %host, "lease call timed out");
                    None
                }
            }
        }
    };
    let mut round = Round::default();
    if leading {
        let renewals = hold.renew_all(engines, bound);
        let takes = futures_util::future::join_all(
            engines
                .iter()
                .filter(|(host, _)| !hold.holds(host))
                .map(|(host, engine)| take(host, engine)),
        );
        let (_, taken) = tokio::join!(renewals, takes);
        round.foreign = taken.into_iter().flatten().next();
        return round;
    }
    for (host, engine) in engines {
        if let Some(state) = take(host, engine).await {
            round.foreign = Some(state);
            break;
        }
    }
    round
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::Holder;

    #[test]
    fn a_live_foreign_lease_anywhere_means_standby() {
        let holder = Holder::me("watch");
        let round = Round {
            held: 3,
            foreign: Some(State::Held {
                holder: holder.clone(),
                expires_in: 20,
            }),
        };
        assert_eq!(decide(&round), Role::Standby { leader: holder.who });
    }

    #[test]
    fn one_held_host_and_no_rival_is_enough_to_lead() {
        assert_eq!(
            decide(&Round {
                held: 1,
                foreign: None
            }),
            Role::Leader
        );
        assert!(
            matches!(decide(&Round::default()), Role::Standby { .. }),
            "holding nothing (cut off for longer than the grants last): not leading"
        );
    }
}
