//! Locks and leases held on the hosts themselves: the project lock that serialises runs
//! (`fleet apply`, each `fleet watch` pass) and the watch lease that elects one daemon.
//!
//! # The primitive: terms
//! A lock on one host is a sequence of *terms*, Docker volumes named `fleet-lock-{name}.{N}`.
//! The newest term (highest N) is the lock's state: held by the holder its labels name, or
//! released. Every change of state (take, renew, release, break) creates the next term. The
//! engine creates a volume name at most once (creating an existing name returns the existing
//! volume untouched), so of all the parties that try to create term N+1 exactly one gets its
//! own labels back: that compare-and-swap is what everything here rests on. Volume labels
//! cannot be changed, which is why a renewal is a new term and not an update.
//!
//! # Expiry, on the engine's clock
//! A held term expires `ttl` after its creation time (the volume's `CreatedAt`) compared with
//! the engine's own `SystemTime`: both on the host's clock, so the clocks of the machines
//! running fleet never meet. The holder renews every `ttl / 3` and takes its hold as lost
//! `ttl - margin` after it *sent* the request that created its term, which is before any
//! reader can see the term expire; it checks that deadline before every change it makes on the
//! host ([`Fence`]). This assumes the hosts' clocks are not stepped by more than the margin
//! while a term runs.
//!
//! # What faults leave behind, and the rules (docs/apply.md, "Locks")
//! - Labels lost (a create that reached an engine shutting down makes the volume but answers
//!   an error and never stores the labels; or a hand-made volume): the name survives, so the
//!   term number and creation time do. The party that created the term knows its number (its
//!   grant, or the create that failed) and goes on from it at once; nobody else can prove it is
//!   theirs, so anyone else waits until it expires with the default ttl, then takes over.
//! - The holder's process is gone on this machine: taken over at once.
//! - The holder stopped renewing (killed on another machine, cut off from the host): taken over
//!   once its term has expired.
//! - Only the holder renews, and only while the newest term is its own; a term someone else
//!   created on top (a take-over after expiry, `fleet lock break`) ends the hold for good.
//!
//! Terms older than the [`KEEP`] newest are removed by whoever creates a term, so the few that
//! remain are the lock's recent history. This module is the only one that reads or writes lock
//! volumes; every function is safe to retry.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::docker::{Engine, EngineError, VolumeInfo};

pub const HOLDER: &str = "fleet.lock.holder";
pub const SINCE: &str = "fleet.lock.since";
pub const COMMAND: &str = "fleet.lock.command";
pub const TOKEN: &str = "fleet.lock.token";
pub const MACHINE: &str = "fleet.lock.machine";
pub const PID: &str = "fleet.lock.pid";
/// Seconds the term is valid for after its creation, unless renewed.
pub const TTL: &str = "fleet.lock.ttl";
/// `held` or `released`.
pub const STATE: &str = "fleet.lock.state";
/// When the term was created, on the holder's clock: only for a volume driver that reports no
/// creation time.
pub const RENEWED: &str = "fleet.lock.renewed";

/// Terms kept as history; older ones are removed.
pub const KEEP: u64 = 8;
/// The project lock's validity; runs renew it every third of it.
pub const LOCK_TTL: Duration = Duration::from_secs(30);
/// Bound on one call to the engine made for a lock.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Name of the legacy lock volume (fleet 0.1 and the term before the first numbered one).
pub fn lock_name(name: &str) -> String {
    format!("fleet-lock-{name}")
}

fn term_name(name: &str, term: u64) -> String {
    format!("fleet-lock-{name}.{term}")
}

/// The term number of a volume of lock `name`: `fleet-lock-{name}.{N}`, or 0 for the legacy
/// `fleet-lock-{name}`. Anything else (another lock whose name starts the same) is `None`.
fn term_number(name: &str, volume: &str) -> Option<u64> {
    let rest = volume.strip_prefix(&lock_name(name))?;
    if rest.is_empty() {
        return Some(0);
    }
    let digits = rest.strip_prefix('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Who holds (or wants) a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// `user@machine pid N`.
    pub who: String,
    /// RFC 3339, UTC, on the holder's clock (for people; expiry uses the host's clock).
    pub since: String,
    /// What the holder is doing, e.g. `apply`.
    pub command: String,
    /// Unique per holder: tells our terms from anyone else's.
    pub token: String,
    /// The machine and process holding it, to recognise a lock whose process is gone.
    pub machine: String,
    pub pid: Option<u32>,
}

impl Holder {
    pub fn me(command: &str) -> Holder {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let machine = this_machine();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Holder {
            who: format!("{user}@{machine} pid {}", std::process::id()),
            since: rfc3339(now.as_secs()),
            command: command.to_string(),
            token: format!("{}-{}-{}", machine, std::process::id(), now.as_nanos()),
            machine,
            pid: Some(std::process::id()),
        }
    }

    /// The labels of a held term; `since` is when the hold began (kept across renewals).
    fn labels(&self, name: &str, ttl: Duration, since: &str) -> HashMap<String, String> {
        let mut labels = crate::docker::create::object_labels(name);
        labels.insert(STATE.into(), "held".into());
        labels.insert(HOLDER.into(), self.who.clone());
        labels.insert(SINCE.into(), since.to_string());
        labels.insert(RENEWED.into(), now_rfc3339());
        labels.insert(COMMAND.into(), self.command.clone());
        labels.insert(TOKEN.into(), self.token.clone());
        labels.insert(MACHINE.into(), self.machine.clone());
        labels.insert(TTL.into(), ttl.as_secs().max(1).to_string());
        if let Some(pid) = self.pid {
            labels.insert(PID.into(), pid.to_string());
        }
        labels
    }

    /// The holder named by a term's labels; `None` when they cannot prove anyone holds it (no
    /// token: labels lost or damaged).
    fn from_labels(labels: &HashMap<String, String>) -> Option<Holder> {
        let token = labels.get(TOKEN).filter(|t| !t.is_empty())?;
        let get = |k: &str| labels.get(k).cloned().unwrap_or_else(|| "unknown".into());
        Some(Holder {
            who: get(HOLDER),
            since: get(SINCE),
            command: get(COMMAND),
            token: token.clone(),
            machine: get(MACHINE),
            pid: labels.get(PID).and_then(|p| p.parse().ok()),
        })
    }

    /// Whether this lock was taken on this machine by a process that no longer runs: a run
    /// killed here. Anything else (another machine, a live process) is never presumed dead.
    pub fn is_orphaned_here(&self) -> bool {
        let Some(pid) = self.pid else {
            return false;
        };
        if self.machine != this_machine() || pid == std::process::id() {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // A zombie is as dead as a missing process.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }
}

/// This machine's name, as lock holders are told apart (the kernel's host name).
pub fn this_machine() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (`fleet {}`) since {}",
            self.who, self.command, self.since
        )
    }
}

/// One term as read from a host.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub number: u64,
    /// Creation time, seconds since the epoch on the host's clock.
    pub created: Option<u64>,
    pub labels: HashMap<String, String>,
}

/// Why a term may be taken over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stale {
    /// Not renewed within its ttl.
    Expired { seconds_ago: u64 },
    /// Its holder ran on this machine and that process is gone.
    ProcessGone,
    /// Its labels are lost or damaged and it is older than the default ttl.
    LabelsLost,
}

/// The state of a lock on one host, as every fleet command judges it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// No term, or the newest term was released.
    Free,
    /// The newest term is the asker's own.
    Mine,
    /// Held by a holder that renews it.
    Held { holder: Holder, expires_in: u64 },
    /// The newest term's labels are lost or damaged (an engine restarted right after creating
    /// it, or a hand-made volume): nobody can prove it holds it, so it is taken over once it
    /// is as old as a lock can be without renewal.
    Unproven { expires_in: u64 },
    /// May be taken over now.
    Stale { holder: Option<Holder>, why: Stale },
}

impl State {
    /// Whether someone else may create the next term now.
    pub fn takeable(&self) -> bool {
        matches!(self, State::Free | State::Stale { .. })
    }

    /// The holder's name for messages, `unknown` when the labels are lost.
    pub fn holder_text(&self) -> String {
        match self {
            State::Held { holder, .. }
            | State::Stale {
                holder: Some(holder),
                ..
            } => holder.to_string(),
            State::Mine => "this run".into(),
            _ => "nobody (its labels are lost)".into(),
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Free => write!(f, "free"),
            State::Mine => write!(f, "held by this process"),
            State::Held { holder, expires_in } => {
                write!(
                    f,
                    "held by {holder}; expires in {expires_in}s unless renewed"
                )
            }
            State::Unproven { expires_in } => write!(
                f,
                "a lock without a holder (its labels are lost, e.g. by an engine restart); \
                 taken over in {expires_in}s"
            ),
            State::Stale { holder, why } => {
                let who = holder
                    .as_ref()
                    .map_or_else(|| "a lock without a holder".to_string(), |h| h.to_string());
                match why {
                    Stale::Expired { seconds_ago } => write!(
                        f,
                        "{who}, expired {seconds_ago}s ago (not renewed); the next run takes it over"
                    ),
                    Stale::ProcessGone => write!(
                        f,
                        "{who}, whose process is gone; the next run takes it over"
                    ),
                    Stale::LabelsLost => write!(
                        f,
                        "a lock without a holder (its labels are lost); the next run takes it over"
                    ),
                }
            }
        }
    }
}

/// The newest term's number and the lock's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub newest: u64,
    pub state: State,
}

/// Who is asking: their token, and the term they were granted on this host, if any (the term
/// number proves a term is theirs even when its labels are lost).
#[derive(Clone, Copy, Debug)]
pub struct Asker<'a> {
    pub token: &'a str,
    pub granted: Option<u64>,
    /// A term this asker tried to create and got an error for (an engine shutting down
    /// creates the volume but not its labels): if that term is there without labels, the asker
    /// made it, so it need not wait for it to expire.
    pub attempted: Option<u64>,
}

/// Judges a lock from its terms on one host at `now` (both on the host's clock). Pure: `fleet
/// lock status`, `fleet apply` and `fleet watch` all decide with this one function, so they
/// cannot disagree. `default_ttl` stands in for a term whose labels do not say.
pub fn judge(
    terms: &[Term],
    now: u64,
    asker: Option<Asker<'_>>,
    default_ttl: Duration,
) -> Judgement {
    let Some(newest) = terms.iter().max_by_key(|t| t.number) else {
        return Judgement {
            newest: 0,
            state: State::Free,
        };
    };
    let state = judge_term(newest, now, asker, default_ttl);
    Judgement {
        newest: newest.number,
        state,
    }
}

fn judge_term(term: &Term, now: u64, asker: Option<Asker<'_>>, default_ttl: Duration) -> State {
    let holder = Holder::from_labels(&term.labels);
    let released = term.labels.get(STATE).map(String::as_str) == Some("released");
    if let Some(asker) = asker
        && (asker.granted == Some(term.number)
            || holder.as_ref().is_some_and(|h| h.token == asker.token)
            || (asker.attempted == Some(term.number) && holder.is_none() && !released))
    {
        return State::Mine;
    }
    if released {
        return State::Free;
    }
    let ttl = term
        .labels
        .get(TTL)
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|_| holder.is_some())
        .unwrap_or(default_ttl.as_secs());
    if let Some(h) = &holder
        && h.is_orphaned_here()
    {
        return State::Stale {
            holder,
            why: Stale::ProcessGone,
        };
    }
    // A volume driver that reports no creation time: the holder's own note of it, and without
    // one (labels lost too) nothing can be waited for.
    let created = term
        .created
        .or_else(|| term.labels.get(RENEWED).and_then(|r| parse_rfc3339(r)));
    let age = created.map_or(ttl, |c| now.saturating_sub(c));
    if age >= ttl {
        return State::Stale {
            why: if holder.is_some() {
                Stale::Expired {
                    seconds_ago: age - ttl,
                }
            } else {
                Stale::LabelsLost
            },
            holder,
        };
    }
    match holder {
        Some(holder) => State::Held {
            holder,
            expires_in: ttl - age,
        },
        None => State::Unproven {
            expires_in: ttl - age,
        },
    }
}

/// What the lock needs of a host: the engine's volumes and clock. An edge of its own so the
/// protocol is tested on plain data (see the tests) as well as on real engines.
pub trait Volumes: Send + Sync {
    fn list(&self, part: &str)
    -> impl Future<Output = Result<Vec<VolumeInfo>, EngineError>> + Send;
    fn clock(&self) -> impl Future<Output = Result<String, EngineError>> + Send;
    /// Creates the volume, or returns the existing one's labels untouched.
    fn create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> impl Future<Output = Result<HashMap<String, String>, EngineError>> + Send;
    fn remove(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send;
}

impl Volumes for Engine {
    fn list(
        &self,
        part: &str,
    ) -> impl Future<Output = Result<Vec<VolumeInfo>, EngineError>> + Send {
        self.volumes_named(part)
    }
    fn clock(&self) -> impl Future<Output = Result<String, EngineError>> + Send {
        self.system_time()
    }
    fn create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> impl Future<Output = Result<HashMap<String, String>, EngineError>> + Send {
        self.create_labelled_volume(name, labels)
    }
    fn remove(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.remove_volume(name)
    }
}

/// The terms of lock `name` on a host, and the host's clock.
pub async fn read(host: &impl Volumes, name: &str) -> Result<(Vec<Term>, u64), EngineError> {
    let volumes = bounded(host.list(&lock_name(name))).await?;
    let clock = bounded(host.clock()).await?;
    let now = parse_rfc3339(&clock).ok_or_else(|| {
        EngineError::Unexpected(format!("the engine's time `{clock}` is not RFC 3339"))
    })?;
    let terms = volumes
        .into_iter()
        .filter_map(|v| {
            Some(Term {
                number: term_number(name, &v.name)?,
                created: v.created_at.as_deref().and_then(parse_rfc3339),
                labels: v.labels,
            })
        })
        .collect();
    Ok((terms, now))
}

/// How the lock on one host is judged by a reader that holds nothing (`fleet lock status`).
pub async fn status(host: &impl Volumes, name: &str) -> Result<Judgement, EngineError> {
    let (terms, now) = read(host, name).await?;
    Ok(judge(&terms, now, None, LOCK_TTL))
}

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
    pub async fn take(&self, host: &str, volumes: &impl Volumes) -> Result<Taken, EngineError> {
        self.advance(host, volumes, false).await
    }

    /// Renews the lock on a host only if the newest term there is still ours.
    pub async fn renew(&self, host: &str, volumes: &impl Volumes) -> Result<bool, EngineError> {
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
        volumes: &impl Volumes,
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
        volumes: &impl Volumes,
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
    pub async fn release(&self, host: &str, volumes: &impl Volumes) -> Result<(), EngineError> {
        let Some(term) = self.granted(host) else {
            return Ok(());
        };
        if let Some(grant) = self.grants().get_mut(host) {
            grant.until = Instant::now();
        }
        let (terms, _) = read(volumes, &self.name).await?;
        let newest = terms.iter().map(|t| t.number).max().unwrap_or(0);
        if newest == term {
            let mut labels = crate::docker::create::object_labels(&self.name);
            labels.insert(STATE.into(), "released".into());
            labels.insert(HOLDER.into(), self.holder.who.clone());
            labels.insert(SINCE.into(), now_rfc3339());
            bounded(volumes.create(&term_name(&self.name, term + 1), labels)).await?;
            collect(volumes, &self.name, &terms, term + 1).await;
        }
        self.revoke(host);
        Ok(())
    }

    /// Releases on every given host at once, each bounded; a host that does not answer keeps
    /// the term, which expires. Holds on hosts not given end here too.
    pub async fn release_all(&self, engines: &BTreeMap<String, Arc<Engine>>) {
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
        engines: &BTreeMap<String, Arc<Engine>>,
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

/// Removes terms older than the [`KEEP`] newest, and the legacy unnumbered volume once a
/// numbered term is above it (best effort: anyone may collect).
async fn collect(volumes: &impl Volumes, name: &str, terms: &[Term], newest: u64) {
    for term in terms
        .iter()
        .filter(|t| t.number + KEEP <= newest || (t.number == 0 && newest > 0))
    {
        let volume = if term.number == 0 {
            lock_name(name)
        } else {
            term_name(name, term.number)
        };
        let _ = bounded(volumes.remove(&volume)).await;
    }
}

async fn bounded<T>(call: impl Future<Output = Result<T, EngineError>>) -> Result<T, EngineError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or(Err(EngineError::Timeout(CALL_TIMEOUT)))
}

/// Ends whatever holds the lock on a host (`fleet lock break`): a released term on top, so a
/// holder that is still alive learns at its next renewal that its hold ended. Returns the
/// state that was broken.
pub async fn break_lock(volumes: &impl Volumes, name: &str) -> Result<State, EngineError> {
    let (terms, now) = read(volumes, name).await?;
    let judged = judge(&terms, now, None, LOCK_TTL);
    if judged.state == State::Free {
        return Ok(State::Free);
    }
    let mut labels = crate::docker::create::object_labels(name);
    labels.insert(STATE.into(), "released".into());
    labels.insert(
        HOLDER.into(),
        format!("broken by {}", Holder::me("lock break").who),
    );
    labels.insert(SINCE.into(), now_rfc3339());
    bounded(volumes.create(&term_name(name, judged.newest + 1), labels)).await?;
    collect(volumes, name, &terms, judged.newest + 1).await;
    Ok(judged.state)
}

/// Keeps a hold renewed on the given hosts every `ttl / 3` until aborted. A host whose renewal
/// fails simply runs out: [`Hold::holds`] turns false before anyone else could take it.
pub fn keep_renewed(hold: Arc<Hold>, engines: BTreeMap<String, Arc<Engine>>) -> KeepRenewed {
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
    engines: &BTreeMap<String, Arc<Engine>>,
    hold: &Hold,
    wait: Duration,
    events: &(dyn Fn(LockEvent<'_>) + Sync),
) -> Result<(), LockError> {
    let start = Instant::now();
    let mut told: Option<&str> = None;
    let mut failure = None;
    'hosts: for (host, engine) in engines {
        loop {
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

fn now_rfc3339() -> String {
    rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    )
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` as whole seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    // Days-from-civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests;
