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

mod hold;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::engine::{Engine, EngineError, VolumeInfo};

use crate::clock::{now_rfc3339, parse_rfc3339, rfc3339};
pub use hold::{
    Fence, Hold, KeepRenewed, LockError, LockEvent, Lost, Taken, keep_renewed, lock_all,
};

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
/// Boot and PID namespace of the holder's process (see [`Holder::process_space`]).
pub const PROCESS_SPACE: &str = "fleet.lock.process-space";
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
    /// The kernel boot and PID namespace the pid belongs to: a host name alone is shared by
    /// containers on the host network and by cloned machines, whose pids mean nothing here.
    pub process_space: Option<String>,
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
            process_space: this_process_space(),
        }
    }

    /// The labels of a held term; `since` is when the hold began (kept across renewals).
    fn labels(&self, name: &str, ttl: Duration, since: &str) -> HashMap<String, String> {
        let mut labels = crate::contract::object_labels(name);
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
        if let Some(space) = &self.process_space {
            labels.insert(PROCESS_SPACE.into(), space.clone());
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
            process_space: labels.get(PROCESS_SPACE).cloned(),
        })
    }

    /// Whether this lock was taken on this machine by a process that no longer runs: a run
    /// killed here. Anything else (another machine, a live process) is never presumed dead.
    pub fn is_orphaned_here(&self) -> bool {
        let Some(pid) = self.pid else {
            return false;
        };
        if self.machine != this_machine()
            || pid == std::process::id()
            || self.process_space.is_none()
            || self.process_space != this_process_space()
        {
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

/// The kernel boot and PID namespace of this process (`boot_id` and the `pid` namespace link):
/// a pid read from a label means a process here only when both are the same.
fn this_process_space() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let pid_ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{} {}", boot.trim(), pid_ns.display()))
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
    // A term whose labels are lost says nothing of its ttl: the longest any term of this lock
    // says stands in for it (a holder with a longer ttl than the reader's default must not be
    // taken over early).
    let fallback = terms
        .iter()
        .filter_map(|t| t.labels.get(TTL).and_then(|v| v.parse::<u64>().ok()))
        .max()
        .map_or(default_ttl, |secs| {
            default_ttl.max(Duration::from_secs(secs))
        });
    let state = judge_term(newest, now, asker, fallback);
    Judgement {
        newest: newest.number,
        state,
    }
}

fn asker_token<'a>(asker: Option<Asker<'a>>) -> &'a str {
    asker.map_or("", |a| a.token)
}

fn judge_term(term: &Term, now: u64, asker: Option<Asker<'_>>, default_ttl: Duration) -> State {
    let holder = Holder::from_labels(&term.labels);
    let released = term.labels.get(STATE).map(String::as_str) == Some("released");
    // A term number proves nothing against a token that says otherwise (term numbers start
    // over when the volumes are pruned).
    let not_theirs = holder
        .as_ref()
        .is_none_or(|h| h.token == asker_token(asker));
    if let Some(asker) = asker
        && ((asker.granted == Some(term.number) && not_theirs && !released)
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
    // Created further in the future than a ttl: the host's clock was stepped back since, and
    // a live holder would have renewed on the new clock by now.
    let age = match created {
        None => ttl,
        Some(c) if c > now + ttl => ttl,
        Some(c) => now.saturating_sub(c),
    };
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

impl<E: Engine + ?Sized> Volumes for E {
    async fn list(&self, part: &str) -> Result<Vec<VolumeInfo>, EngineError> {
        self.volumes_named(part).await
    }
    async fn clock(&self) -> Result<String, EngineError> {
        self.system_time().await
    }
    async fn create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        self.create_labelled_volume(name, labels).await
    }
    async fn remove(&self, name: &str) -> Result<(), EngineError> {
        self.remove_volume(name).await
    }
}

/// The terms of lock `name` on a host, and the host's clock.
pub async fn read(
    host: &(impl Volumes + ?Sized),
    name: &str,
) -> Result<(Vec<Term>, u64), EngineError> {
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
pub async fn status(host: &(impl Volumes + ?Sized), name: &str) -> Result<Judgement, EngineError> {
    let (terms, now) = read(host, name).await?;
    Ok(judge(&terms, now, None, LOCK_TTL))
}

/// The labels of a released term: `who` released it, and when (on their clock).
fn released_labels(name: &str, who: &str) -> HashMap<String, String> {
    let mut labels = crate::contract::object_labels(name);
    labels.insert(STATE.into(), "released".into());
    labels.insert(HOLDER.into(), who.to_string());
    labels.insert(SINCE.into(), now_rfc3339());
    labels
}

/// Removes terms older than the [`KEEP`] newest, and the legacy unnumbered volume once a
/// numbered term is above it (best effort: anyone may collect).
async fn collect(volumes: &(impl Volumes + ?Sized), name: &str, terms: &[Term], newest: u64) {
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
pub async fn break_lock(
    volumes: &(impl Volumes + ?Sized),
    name: &str,
) -> Result<State, EngineError> {
    let me = Holder::me("lock break");
    let mut broken = State::Free;
    // A renewal may create the same term first: then the lock is held anew, and is broken on
    // top of that (a few times at most: a holder renews every ttl/3).
    for _ in 0..3 {
        let (terms, now) = read(volumes, name).await?;
        let judged = judge(&terms, now, None, LOCK_TTL);
        if judged.state == State::Free {
            return Ok(broken);
        }
        let mut labels = released_labels(name, &format!("broken by {}", me.who));
        labels.insert(TOKEN.into(), me.token.clone());
        let got = bounded(volumes.create(&term_name(name, judged.newest + 1), labels)).await?;
        broken = judged.state;
        if got.get(TOKEN) == Some(&me.token) {
            collect(volumes, name, &terms, judged.newest + 1).await;
            return Ok(broken);
        }
    }
    Err(EngineError::Unexpected(format!(
        "the lock `{name}` kept being renewed while it was being broken; try again"
    )))
}

#[cfg(test)]
mod tests;
