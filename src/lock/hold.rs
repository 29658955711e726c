//! Holding a lock: taking and renewing terms host by host, until when a holder may act
//! ([`Hold`]), the check before every change ([`Fence`]), and taking a lock on many hosts in
//! name order ([`lock_all`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::{EngineError, SharedEngine};

use super::*;
use crate::clock::now_rfc3339;

/// A granted term on one host, and until when its holder may act there.
#[derive(Clone, Copy, Debug)]
struct Grant {
    term: u64,
    until: Instant,
}

/// What trying to take a lock on one host came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Taken {
    /// Ours now (or still); `over` is the state taken over, when it was someone's.
    Yes { over: Option<State> },
    /// Someone else's, as judged (or they won the race to the next term).
    No(State),
}

/// One holder's hold on a lock across hosts: the terms it was granted and until when it may
/// act on each host. Shared by the code that takes and renews it and the code that acts
/// ([`Fence`]).
#[derive(Debug)]
pub struct Hold {
    name: String,
    holder: Holder,
    ttl: Duration,
    grants: Mutex<BTreeMap<String, Grant>>,
    /// Per host, the last term whose creation failed with an error (see [`Asker::attempted`]).
    attempted: Mutex<BTreeMap<String, u64>>,
}

impl Hold {
    pub fn new(name: &str, holder: Holder, ttl: Duration) -> Hold {
        Hold {
            name: name.to_string(),
            holder,
            ttl,
            grants: Mutex::new(BTreeMap::new()),
            attempted: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How early before a term could expire its holder stops acting: covers the creation
    /// time's one-second resolution, the call that created it and a slow change in flight.
    pub fn margin(&self) -> Duration {
        (self.ttl / 6).max(Duration::from_secs(2))
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Grant>> {
        self.grants.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn attempted_term(&self, host: &str) -> Option<u64> {
        self.attempted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .copied()
    }

    fn granted(&self, host: &str) -> Option<u64> {
        self.grants().get(host).map(|g| g.term)
    }

    /// Whether this holder may act on `host` now.
    pub fn holds(&self, host: &str) -> bool {
        self.grants()
            .get(host)
            .is_some_and(|g| Instant::now() < g.until)
    }

    /// Hosts held now.
    pub fn held_hosts(&self) -> Vec<String> {
        let now = Instant::now();
        self.grants()
            .iter()
            .filter(|(_, g)| now < g.until)
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// Forgets the grant on a host (lost, or released).
    fn revoke(&self, host: &str) {
        self.grants().remove(host);
    }

    /// Takes the lock on one host if it is free, stale or already ours (then this renews it).
    pub async fn take(
        &self,
        host: &str,
        volumes: &(impl Volumes + ?Sized),
    ) -> Result<Taken, EngineError> {
        self.advance(host, volumes, false).await
    }

    /// Renews the lock on a host only if the newest term there is still ours.
    pub async fn renew(
        &self,
        host: &str,
        volumes: &(impl Volumes + ?Sized),
    ) -> Result<bool, EngineError> {
        if self.granted(host).is_none() {
            return Ok(false);
        }
        Ok(matches!(
            self.advance(host, volumes, true).await?,
            Taken::Yes { .. }
        ))
    }

    /// Creates the next term if the newest is ours, or (unless `only_ours`) takeable.
    async fn advance(
        &self,
        host: &str,
        volumes: &(impl Volumes + ?Sized),
        only_ours: bool,
    ) -> Result<Taken, EngineError> {
        let granted = self.granted(host);
        let (terms, now) = read(volumes, &self.name).await?;
        let attempted = self.attempted_term(host);
        let asker = Asker {
            token: &self.holder.token,
            granted,
            attempted,
        };
        let judged = judge(&terms, now, Some(asker), self.ttl);
        if granted.is_some() && judged.state != State::Mine {
            // Someone created a term on top of ours: our hold ended there.
            self.revoke(host);
        }
        let over = match &judged.state {
            State::Mine => None,
            s if s.takeable() && !only_ours => (*s != State::Free).then(|| s.clone()),
            s => return Ok(Taken::No(s.clone())),
        };
        // A renewal keeps when the hold began; a new hold begins now.
        let since = match judged.state {
            State::Mine => terms
                .iter()
                .find(|t| t.number == judged.newest)
                .and_then(|t| t.labels.get(SINCE).cloned()),
            _ => None,
        }
        .unwrap_or_else(now_rfc3339);
        self.create_next(host, volumes, judged.newest, &terms, &since)
            .await
            .map(|taken| match taken {
                Taken::Yes { .. } => Taken::Yes { over },
                no => no,
            })
    }

    async fn create_next(
        &self,
        host: &str,
        volumes: &(impl Volumes + ?Sized),
        newest: u64,
        terms: &[Term],
        since: &str,
    ) -> Result<Taken, EngineError> {
        let next = newest + 1;
        let sent = Instant::now();
        let labels = match bounded(volumes.create(
            &term_name(&self.name, next),
            self.holder.labels(&self.name, self.ttl, since),
        ))
        .await
        {
            Ok(labels) => labels,
            Err(e) => {
                self.attempted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(host.to_string(), next);
                return Err(e);
            }
        };
        if labels.get(TOKEN) != Some(&self.holder.token) {
            // Someone else created that term first.
            self.revoke(host);
            let state = match Holder::from_labels(&labels) {
                Some(holder) => State::Held {
                    holder,
                    expires_in: self.ttl.as_secs(),
                },
                None => State::Unproven {
                    expires_in: self.ttl.as_secs(),
                },
            };
            return Ok(Taken::No(state));
        }
        // Re-read: a term above ours means ours was a late re-creation of one already
        // collected (the caller read long ago) and it never was the lock's state.
        let (after, now) = read(volumes, &self.name).await?;
        let judged = judge(
            &after,
            now,
            Some(Asker {
                token: &self.holder.token,
                granted: Some(next),
                attempted: None,
            }),
            self.ttl,
        );
        if judged.newest != next {
            self.revoke(host);
            return Ok(Taken::No(judged.state));
        }
        self.grants().insert(
            host.to_string(),
            Grant {
                term: next,
                until: sent + self.ttl.saturating_sub(self.margin()),
            },
        );
        collect(volumes, &self.name, terms, next).await;
        Ok(Taken::Yes { over: None })
    }

    /// Releases the lock on a host if the newest term there is ours (a released term on top).
    /// The hold ends at once; when the host does not answer, the term number is kept so a
    /// later take still knows the term is ours (the term itself expires).
    pub async fn release(
        &self,
        host: &str,
        volumes: &(impl Volumes + ?Sized),
    ) -> Result<(), EngineError> {
        let Some(term) = self.granted(host) else {
            return Ok(());
        };
        if let Some(grant) = self.grants().get_mut(host) {
            grant.until = Instant::now();
        }
        let (terms, now) = read(volumes, &self.name).await?;
        // Ours also when a renewal cut short (a run ending) created a newer term than granted.
        let asker = Asker {
            token: &self.holder.token,
            granted: Some(term),
            attempted: self.attempted_term(host),
        };
        let judged = judge(&terms, now, Some(asker), self.ttl);
        if judged.state == State::Mine {
            let term = judged.newest;
            let labels = released_labels(&self.name, &self.holder.who);
            bounded(volumes.create(&term_name(&self.name, term + 1), labels)).await?;
            collect(volumes, &self.name, &terms, term + 1).await;
        }
        self.revoke(host);
        Ok(())
    }

    /// Releases on every given host at once, each bounded; a host that does not answer keeps
    /// the term, which expires. Holds on hosts not given end here too.
    pub async fn release_all(&self, engines: &BTreeMap<String, SharedEngine>) {
        let held: Vec<String> = self.grants().keys().cloned().collect();
        let tasks = held.iter().map(|host| async move {
            match engines.get(host) {
                Some(engine) => {
                    let _ =
                        tokio::time::timeout(CALL_TIMEOUT * 3, self.release(host, engine.as_ref()))
                            .await;
                }
                None => {
                    if let Some(grant) = self.grants().get_mut(host) {
                        grant.until = Instant::now();
                    }
                }
            }
        });
        futures_util::future::join_all(tasks).await;
        let now = Instant::now();
        for grant in self.grants().values_mut() {
            grant.until = grant.until.min(now);
        }
    }

    /// Renews every held host once, at the same time, each bounded by `bound`; returns the
    /// hosts whose hold ended.
    pub async fn renew_all(
        &self,
        engines: &BTreeMap<String, SharedEngine>,
        bound: Duration,
    ) -> Vec<String> {
        let held: Vec<String> = self.grants().keys().cloned().collect();
        let tasks = held.iter().map(|host| async move {
            let Some(engine) = engines.get(host) else {
                return (host.clone(), false);
            };
            let renewed = tokio::time::timeout(bound, self.renew(host, engine.as_ref())).await;
            (host.clone(), matches!(renewed, Ok(Ok(true))))
        });
        futures_util::future::join_all(tasks)
            .await
            .into_iter()
            .filter(|(host, renewed)| !renewed && !self.holds(host))
            .map(|(host, _)| host)
            .collect()
    }
}

/// Keeps a hold renewed on the given hosts every `ttl / 3` until aborted. A host whose renewal
/// fails simply runs out: [`Hold::holds`] turns false before anyone else could take it.
pub fn keep_renewed(hold: Arc<Hold>, engines: BTreeMap<String, SharedEngine>) -> KeepRenewed {
    let every = hold.ttl() / 3;
    KeepRenewed(tokio::spawn(async move {
        let mut next = tokio::time::Instant::now();
        loop {
            // From each round's start, so a host that does not answer never delays the others'.
            next += every;
            tokio::time::sleep_until(next).await;
            hold.renew_all(&engines, every).await;
        }
    }))
}

/// The renewal task of [`keep_renewed`]; stops when dropped.
pub struct KeepRenewed(tokio::task::JoinHandle<()>);

impl Drop for KeepRenewed {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What must still be held for a change on a host to be made: checked before every engine call
/// a run makes, so a holder whose lock or lease ran out (cut off, or taken over after expiry)
/// stops acting before anyone else may start.
#[derive(Clone, Default)]
pub struct Fence {
    holds: Vec<Arc<Hold>>,
}

/// A change refused because a lock or lease on the host is no longer held.
#[derive(Clone, Debug, thiserror::Error)]
#[error("this run no longer holds the {what} on {host} (not renewed in time, or taken over)")]
pub struct Lost {
    pub host: String,
    pub what: &'static str,
}

impl Fence {
    /// Nothing to check (a run that changes nothing).
    pub fn none() -> Fence {
        Fence::default()
    }

    pub fn of(holds: impl IntoIterator<Item = Arc<Hold>>) -> Fence {
        Fence {
            holds: holds.into_iter().collect(),
        }
    }

    pub fn check(&self, host: &str) -> Result<(), Lost> {
        match self.holds.iter().find(|h| !h.holds(host)) {
            None => Ok(()),
            Some(hold) => Err(Lost {
                host: host.to_string(),
                what: if hold.name.ends_with(".watch") {
                    "watch lease"
                } else {
                    "project lock"
                },
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the lock on {host} is {state}; waited {waited:?}")]
    Held {
        host: String,
        state: State,
        waited: Duration,
    },
    #[error("could not take the lock on {host}")]
    Engine {
        host: String,
        #[source]
        source: EngineError,
    },
}

/// What taking locks reports as it goes.
pub enum LockEvent<'a> {
    /// Waiting for a host's lock.
    Waiting { host: &'a str, state: &'a State },
    /// Took over a stale lock (expired, process gone, labels lost).
    TookOver { host: &'a str, state: &'a State },
}

/// Takes the lock on every given host, in name order (so two runs never hold halves of the
/// fleet waiting on each other). Waits up to `wait` in all (zero: one try per host); on
/// failure, what was taken is released.
pub async fn lock_all(
    engines: &BTreeMap<String, SharedEngine>,
    hold: &Hold,
    wait: Duration,
    events: &(dyn Fn(LockEvent<'_>) + Sync),
) -> Result<(), LockError> {
    let start = Instant::now();
    let mut told: Option<&str> = None;
    let mut failure = None;
    let mut renewed = Instant::now();
    'hosts: for (host, engine) in engines {
        loop {
            // While waiting for one host, the hosts already taken must not run out.
            if renewed.elapsed() >= hold.ttl() / 3 {
                hold.renew_all(engines, CALL_TIMEOUT).await;
                renewed = Instant::now();
            }
            match hold.take(host, engine.as_ref()).await {
                Ok(Taken::Yes { over }) => {
                    if let Some(state) = &over {
                        events(LockEvent::TookOver { host, state });
                    }
                    continue 'hosts;
                }
                Ok(Taken::No(state)) => {
                    if start.elapsed() >= wait {
                        failure = Some(LockError::Held {
                            host: host.clone(),
                            state,
                            waited: wait,
                        });
                        break 'hosts;
                    }
                    if told != Some(host.as_str()) {
                        events(LockEvent::Waiting {
                            host,
                            state: &state,
                        });
                        told = Some(host);
                    }
                    let left = wait.saturating_sub(start.elapsed());
                    tokio::time::sleep(left.min(Duration::from_millis(500))).await;
                }
                Err(source) => {
                    failure = Some(LockError::Engine {
                        host: host.clone(),
                        source,
                    });
                    break 'hosts;
                }
            }
        }
    }
    match failure {
        None => Ok(()),
        Some(e) => {
            hold.release_all(engines).await;
            Err(e)
        }
    }
}
