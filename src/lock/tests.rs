//! The lock protocol on plain data: an in-memory host whose clock the tests move, which can lose
//! labels as an engine restart does, and whose calls yield so concurrent takers interleave.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;

/// Volume name to creation time and labels.
type Store = BTreeMap<String, (u64, HashMap<String, String>)>;

/// A host's volumes and clock, in memory.
#[derive(Default)]
struct Mem {
    volumes: Mutex<Store>,
    now: Mutex<u64>,
    /// Creates make the volume without labels and answer an error, as an engine shutting down.
    shutting_down: std::sync::atomic::AtomicBool,
}

const T0: u64 = 1_795_600_000;

impl Mem {
    fn new() -> Mem {
        let mem = Mem::default();
        *mem.now.lock().unwrap() = T0;
        mem
    }
    fn advance(&self, secs: u64) {
        *self.now.lock().unwrap() += secs;
    }
    fn now(&self) -> u64 {
        *self.now.lock().unwrap()
    }
    /// What an engine that restarted right after creating a volume leaves behind.
    fn put_bare(&self, name: &str) {
        let now = self.now();
        self.volumes
            .lock()
            .unwrap()
            .insert(name.to_string(), (now, HashMap::new()));
    }
    fn lose_labels(&self, name: &str) {
        if let Some(v) = self.volumes.lock().unwrap().get_mut(name) {
            v.1.clear();
        }
    }
    fn put_labels(&self, name: &str, labels: HashMap<String, String>) {
        let now = self.now();
        self.volumes
            .lock()
            .unwrap()
            .insert(name.to_string(), (now, labels));
    }
    fn names(&self) -> Vec<String> {
        self.volumes.lock().unwrap().keys().cloned().collect()
    }
}

impl Volumes for Mem {
    async fn list(&self, part: &str) -> Result<Vec<VolumeInfo>, EngineError> {
        tokio::task::yield_now().await;
        Ok(self
            .volumes
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n.contains(part))
            .map(|(n, (created, labels))| VolumeInfo {
                name: n.clone(),
                created_at: Some(rfc3339(*created)),
                labels: labels.clone(),
            })
            .collect())
    }
    async fn clock(&self) -> Result<String, EngineError> {
        tokio::task::yield_now().await;
        Ok(format!("{}.123456789Z", &rfc3339(self.now())[..19]))
    }
    async fn create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        tokio::task::yield_now().await;
        let now = self.now();
        let mut volumes = self.volumes.lock().unwrap();
        if self.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            volumes
                .entry(name.to_string())
                .or_insert((now, HashMap::new()));
            return Err(EngineError::Timeout(Duration::from_secs(1)));
        }
        Ok(volumes
            .entry(name.to_string())
            .or_insert((now, labels))
            .1
            .clone())
    }
    async fn remove(&self, name: &str) -> Result<(), EngineError> {
        tokio::task::yield_now().await;
        self.volumes.lock().unwrap().remove(name);
        Ok(())
    }
}

fn elsewhere(command: &str) -> Holder {
    let mut h = Holder::me(command);
    h.machine = "ci-runner-7".into();
    h.who = "ci@ci-runner-7 pid 4242".into();
    h.token = format!("ci-runner-7-4242-{command}");
    h.pid = Some(4242);
    h
}

fn hold(holder: Holder) -> Hold {
    Hold::new("shop", holder, LOCK_TTL)
}

async fn seen(mem: &Mem) -> State {
    status(mem, "shop").await.unwrap().state
}

#[tokio::test]
async fn a_free_lock_is_taken_and_others_see_its_holder() {
    let mem = Mem::new();
    let ci = hold(elsewhere("apply"));
    assert_eq!(seen(&mem).await, State::Free);
    assert_eq!(
        ci.take("h1", &mem).await.unwrap(),
        Taken::Yes { over: None }
    );
    assert!(ci.holds("h1"));
    match seen(&mem).await {
        State::Held { holder, expires_in } => {
            assert_eq!(holder.token, ci.holder().token);
            assert_eq!(expires_in, LOCK_TTL.as_secs());
        }
        other => panic!("expected held, got {other:?}"),
    }
    let me = hold(Holder::me("watch"));
    assert!(matches!(
        me.take("h1", &mem).await.unwrap(),
        Taken::No(State::Held { .. })
    ));
    assert!(!me.holds("h1"));
}

#[tokio::test]
async fn a_label_less_lock_is_nobodys_and_is_taken_over_once_it_would_have_expired() {
    let mem = Mem::new();
    // The reproduction of the wedge: the legacy lock volume with no labels at all.
    mem.put_bare("fleet-lock-shop");
    assert_eq!(
        seen(&mem).await,
        State::Unproven {
            expires_in: LOCK_TTL.as_secs()
        }
    );
    let me = hold(Holder::me("apply"));
    assert!(matches!(
        me.take("h1", &mem).await.unwrap(),
        Taken::No(State::Unproven { .. })
    ));
    mem.advance(LOCK_TTL.as_secs() - 1);
    assert_eq!(seen(&mem).await, State::Unproven { expires_in: 1 });
    mem.advance(1);
    let stale = State::Stale {
        holder: None,
        why: Stale::LabelsLost,
    };
    assert_eq!(seen(&mem).await, stale);
    assert_eq!(
        me.take("h1", &mem).await.unwrap(),
        Taken::Yes { over: Some(stale) }
    );
    assert_eq!(status(&mem, "shop").await.unwrap().newest, 1);
    assert!(
        !mem.names().contains(&"fleet-lock-shop".to_string()),
        "the label-less legacy volume is collected once a numbered term is above it"
    );
}

#[tokio::test]
async fn partial_or_unparsable_labels_prove_nothing() {
    let mem = Mem::new();
    let mut partial = crate::contract::object_labels("shop");
    partial.insert(HOLDER.into(), "someone".into());
    mem.put_labels("fleet-lock-shop.4", partial);
    assert!(matches!(seen(&mem).await, State::Unproven { .. }));

    // A token with a ttl that does not parse: a holder, with the default ttl.
    let mem = Mem::new();
    let mut labels = elsewhere("apply").labels("shop", LOCK_TTL, "2026-11-25T09:46:40Z");
    labels.insert(TTL.into(), "soon".into());
    mem.put_labels("fleet-lock-shop.4", labels);
    assert!(matches!(
        seen(&mem).await,
        State::Held { expires_in: 30, .. }
    ));
    mem.advance(31);
    assert!(matches!(
        seen(&mem).await,
        State::Stale {
            why: Stale::Expired { seconds_ago: 1 },
            ..
        }
    ));
}

#[tokio::test]
async fn a_holder_whose_process_is_gone_here_is_taken_over_at_once() {
    let mem = Mem::new();
    let mut dead = Holder::me("apply");
    dead.pid = Some(u32::MAX - 1);
    dead.token = "dead".into();
    mem.put_labels(
        "fleet-lock-shop.1",
        dead.labels("shop", LOCK_TTL, "2026-11-25T09:46:40Z"),
    );
    assert!(matches!(
        seen(&mem).await,
        State::Stale {
            why: Stale::ProcessGone,
            ..
        }
    ));
    let me = hold(Holder::me("apply"));
    assert!(matches!(
        me.take("h1", &mem).await.unwrap(),
        Taken::Yes {
            over: Some(State::Stale {
                why: Stale::ProcessGone,
                ..
            })
        }
    ));
}

#[tokio::test]
async fn a_holder_on_another_machine_is_waited_for_until_it_stops_renewing() {
    let mem = Mem::new();
    let ci = hold(elsewhere("apply"));
    ci.take("h1", &mem).await.unwrap();
    let me = hold(Holder::me("watch"));
    for _ in 0..5 {
        mem.advance(10);
        assert!(ci.renew("h1", &mem).await.unwrap(), "the holder renews");
        assert!(matches!(
            me.take("h1", &mem).await.unwrap(),
            Taken::No(State::Held { .. })
        ));
    }
    // It stops renewing (killed, or cut off).
    mem.advance(LOCK_TTL.as_secs() - 1);
    assert!(matches!(me.take("h1", &mem).await.unwrap(), Taken::No(_)));
    mem.advance(1);
    assert!(matches!(
        me.take("h1", &mem).await.unwrap(),
        Taken::Yes {
            over: Some(State::Stale {
                why: Stale::Expired { .. },
                ..
            })
        }
    ));
    // The old holder learns at its next renewal, and never takes it back by renewing.
    assert!(!ci.renew("h1", &mem).await.unwrap());
    assert!(!ci.holds("h1"));
    assert!(me.holds("h1"));
}

#[tokio::test]
async fn the_creator_of_a_term_whose_labels_were_lost_still_holds_and_renews_it() {
    let mem = Mem::new();
    let me = hold(Holder::me("watch"));
    me.take("h1", &mem).await.unwrap();
    mem.lose_labels("fleet-lock-shop.1");
    // Others cannot prove whose it is and wait; the holder knows its term number.
    assert!(matches!(seen(&mem).await, State::Unproven { .. }));
    mem.advance(5);
    assert!(me.renew("h1", &mem).await.unwrap());
    assert!(matches!(seen(&mem).await, State::Held { .. }));
}

#[tokio::test]
async fn a_term_whose_create_failed_on_a_stopping_engine_is_picked_up_by_its_creator_at_once() {
    let mem = Mem::new();
    let me = hold(Holder::me("watch"));
    me.take("h1", &mem).await.unwrap();
    mem.shutting_down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(me.renew("h1", &mem).await.is_err());
    mem.shutting_down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    // Term 2 is there without labels: everyone else must wait for it...
    assert!(matches!(seen(&mem).await, State::Unproven { .. }));
    let other = hold(elsewhere("apply"));
    assert!(matches!(
        other.take("h1", &mem).await.unwrap(),
        Taken::No(State::Unproven { .. })
    ));
    // ...but its creator goes on from it without waiting.
    mem.advance(1);
    assert_eq!(
        me.take("h1", &mem).await.unwrap(),
        Taken::Yes { over: None }
    );
    assert_eq!(status(&mem, "shop").await.unwrap().newest, 3);
    assert!(me.holds("h1"));
}

#[tokio::test]
async fn two_takers_racing_for_a_free_lock_never_both_get_it() {
    for round in 0..20 {
        let mem = Mem::new();
        if round % 2 == 1 {
            mem.put_bare("fleet-lock-shop");
            mem.advance(60);
        }
        let a = hold(Holder::me("watch"));
        let b = hold(elsewhere("watch"));
        let (ra, rb) = tokio::join!(a.take("h1", &mem), b.take("h1", &mem));
        let won = [ra.unwrap(), rb.unwrap()]
            .iter()
            .filter(|t| matches!(t, Taken::Yes { .. }))
            .count();
        assert_eq!(won, 1, "round {round}: exactly one taker wins");
        assert_ne!(a.holds("h1"), b.holds("h1"));
    }
}

#[tokio::test]
async fn a_broken_lock_ends_the_hold_at_its_next_renewal() {
    let mem = Mem::new();
    let ci = hold(elsewhere("apply"));
    ci.take("h1", &mem).await.unwrap();
    let broken = break_lock(&mem, "shop").await.unwrap();
    assert!(matches!(broken, State::Held { .. }));
    assert_eq!(seen(&mem).await, State::Free);
    assert!(!ci.renew("h1", &mem).await.unwrap());
    let fence = Fence::of([Arc::new(ci)]);
    assert!(fence.check("h1").is_err());
}

#[tokio::test]
async fn release_frees_only_our_own_newest_term() {
    let mem = Mem::new();
    let me = hold(Holder::me("apply"));
    me.take("h1", &mem).await.unwrap();
    me.release("h1", &mem).await.unwrap();
    assert_eq!(seen(&mem).await, State::Free);
    assert!(!me.holds("h1"));

    // Taken over after expiry while we were away: our release must not free theirs.
    let ci = hold(elsewhere("apply"));
    me.take("h1", &mem).await.unwrap();
    mem.advance(LOCK_TTL.as_secs());
    ci.take("h1", &mem).await.unwrap();
    me.release("h1", &mem).await.unwrap();
    assert!(
        matches!(seen(&mem).await, State::Held { holder, .. } if holder.token == ci.holder().token)
    );
}

#[tokio::test]
async fn only_the_newest_terms_are_kept_as_history() {
    let mem = Mem::new();
    mem.put_bare("fleet-lock-shop");
    mem.put_bare("fleet-lock-shopfront.3");
    mem.advance(60);
    let me = hold(Holder::me("watch"));
    me.take("h1", &mem).await.unwrap();
    for _ in 0..20 {
        assert!(me.renew("h1", &mem).await.unwrap());
    }
    let ours: Vec<String> = mem
        .names()
        .into_iter()
        .filter(|n| term_number("shop", n).is_some())
        .collect();
    assert_eq!(ours.len() as u64, KEEP, "{ours:?}");
    assert!(ours.contains(&"fleet-lock-shop.21".to_string()));
    assert!(
        mem.names().contains(&"fleet-lock-shopfront.3".to_string()),
        "another project's lock is not ours to collect"
    );
}

/// `fleet lock status` and `fleet apply` judge with the same function: for every state a fault
/// can leave, status says "takeable" exactly when a third party's take succeeds.
#[tokio::test]
async fn lock_status_and_apply_agree_on_every_state() {
    let mut dead = Holder::me("apply");
    dead.pid = Some(u32::MAX - 1);
    dead.token = "dead".into();
    type Setup = Box<dyn Fn(&Mem)>;
    let cases: Vec<(&str, Setup)> = vec![
        ("nothing", Box::new(|_: &Mem| {})),
        (
            "label-less legacy, new",
            Box::new(|m: &Mem| m.put_bare("fleet-lock-shop")),
        ),
        (
            "label-less legacy, old",
            Box::new(|m: &Mem| {
                m.put_bare("fleet-lock-shop");
                m.advance(100)
            }),
        ),
        (
            "live holder elsewhere",
            Box::new(|m: &Mem| {
                m.put_labels(
                    "fleet-lock-shop.3",
                    elsewhere("apply").labels("shop", LOCK_TTL, "2026-11-25T09:46:40Z"),
                )
            }),
        ),
        (
            "expired holder elsewhere",
            Box::new(|m: &Mem| {
                m.put_labels(
                    "fleet-lock-shop.3",
                    elsewhere("apply").labels("shop", LOCK_TTL, "2026-11-25T09:46:40Z"),
                );
                m.advance(31)
            }),
        ),
        (
            "dead process here",
            Box::new(move |m: &Mem| {
                m.put_labels(
                    "fleet-lock-shop.3",
                    dead.labels("shop", LOCK_TTL, "2026-11-25T09:46:40Z"),
                )
            }),
        ),
        (
            "released",
            Box::new(|m: &Mem| {
                let mut l = crate::contract::object_labels("shop");
                l.insert(STATE.into(), "released".into());
                m.put_labels("fleet-lock-shop.9", l)
            }),
        ),
    ];
    for (name, setup) in cases {
        let mem = Mem::new();
        setup(&mem);
        let said = seen(&mem).await;
        let taken = hold(Holder::me("apply")).take("h1", &mem).await.unwrap();
        assert_eq!(
            said.takeable(),
            matches!(taken, Taken::Yes { .. }),
            "{name}: status said {said:?}, apply got {taken:?}"
        );
        if let Taken::No(state) = taken {
            assert_eq!(state, said, "{name}: both name the same state");
        }
    }
}

#[test]
fn term_names_belong_to_one_lock() {
    assert_eq!(term_number("shop", "fleet-lock-shop"), Some(0));
    assert_eq!(term_number("shop", "fleet-lock-shop.17"), Some(17));
    assert_eq!(term_number("shop", "fleet-lock-shop.watch.3"), None);
    assert_eq!(
        term_number("shop.watch", "fleet-lock-shop.watch.3"),
        Some(3)
    );
    assert_eq!(term_number("shop", "fleet-lock-shop-2.3"), None);
    assert_eq!(term_number("shop", "fleet-lock-shop."), None);
}

#[test]
fn timestamps_are_rfc3339_utc_both_ways() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_795_600_000), "2026-11-25T09:46:40Z");
    for secs in [0, 951_782_400, 1_795_600_000, 4_102_444_799] {
        assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
    }
    assert_eq!(
        parse_rfc3339("2026-11-30T11:14:15.081827248Z"),
        Some(parse_rfc3339("2026-11-30T11:14:15Z").unwrap())
    );
    assert_eq!(
        parse_rfc3339("2026-11-30T12:14:15+01:00"),
        parse_rfc3339("2026-11-30T11:14:15Z")
    );
    assert_eq!(parse_rfc3339("yesterday"), None);
    assert_eq!(parse_rfc3339("2026-13-30T11:14:15Z"), None);
}

#[test]
fn a_holder_round_trips_through_labels() {
    let me = Holder::me("apply");
    let labels = me.labels("shop", LOCK_TTL, &me.since);
    assert_eq!(labels[crate::labels::PROJECT], "shop");
    assert_eq!(labels[TTL], "30");
    assert_eq!(Holder::from_labels(&labels), Some(me.clone()));
    assert!(me.who.contains(&std::process::id().to_string()));
}

#[test]
fn only_a_dead_process_on_this_machine_orphans_a_lock() {
    let me = Holder::me("apply");
    assert!(!me.is_orphaned_here(), "our own lock");
    let parent = Holder {
        pid: Some(std::os::unix::process::parent_id()),
        ..me.clone()
    };
    assert!(!parent.is_orphaned_here(), "a live process");
    let dead = Holder {
        pid: Some(u32::MAX - 1),
        ..me.clone()
    };
    assert!(dead.is_orphaned_here());
    let elsewhere = Holder {
        machine: "some-other-machine".into(),
        ..dead.clone()
    };
    assert!(!elsewhere.is_orphaned_here());
    let unknown = Holder { pid: None, ..dead };
    assert!(!unknown.is_orphaned_here());
}

#[test]
fn odd_times_are_refused_without_panicking() {
    assert_eq!(parse_rfc3339("2024-01-01T00:00:00é1234"), None);
    assert_eq!(parse_rfc3339("2024-01-01T00:00:00+é€"), None);
    assert_eq!(parse_rfc3339("2024-01-01T00:00:0é"), None);
    assert_eq!(parse_rfc3339("2024-01-01T00:00:00+1a:00"), None);
}

#[tokio::test]
async fn a_label_less_term_waits_as_long_as_the_longest_ttl_the_lock_has_used() {
    let mem = Mem::new();
    // A daemon with a 60 s lease left term 1 with its labels, then term 2 without.
    let long = Hold::new("shop", elsewhere("watch"), Duration::from_secs(60));
    long.take("h1", &mem).await.unwrap();
    mem.put_bare("fleet-lock-shop.2");
    mem.advance(45);
    assert!(
        matches!(seen(&mem).await, State::Unproven { expires_in: 15 }),
        "not the reader's 30 s"
    );
}

#[tokio::test]
async fn a_granted_term_number_proves_nothing_against_another_holders_token() {
    let mem = Mem::new();
    let me = hold(Holder::me("apply"));
    me.take("h1", &mem).await.unwrap();
    // The volumes were pruned and numbering started over: term 1 is someone else's now.
    mem.volumes.lock().unwrap().clear();
    mem.put_labels(
        "fleet-lock-shop.1",
        elsewhere("apply").labels("shop", LOCK_TTL, "2026-11-25T09:46:40Z"),
    );
    assert!(!me.renew("h1", &mem).await.unwrap());
    assert!(matches!(
        me.take("h1", &mem).await.unwrap(),
        Taken::No(State::Held { .. })
    ));
}

#[tokio::test]
async fn a_term_from_the_future_of_a_clock_stepped_back_is_stale() {
    let mem = Mem::new();
    mem.put_labels(
        "fleet-lock-shop.1",
        elsewhere("apply").labels("shop", LOCK_TTL, "2026-11-25T09:46:40Z"),
    );
    *mem.now.lock().unwrap() -= 3600;
    assert!(matches!(seen(&mem).await, State::Stale { .. }));
}

#[test]
fn a_pid_of_another_process_space_is_never_presumed_dead() {
    let mut other = Holder::me("apply");
    other.pid = Some(u32::MAX - 1);
    other.process_space = Some("another boot pid:[4026531836]".into());
    assert!(
        !other.is_orphaned_here(),
        "a container on the host network, a cloned VM"
    );
}

#[tokio::test]
async fn a_break_racing_a_renewal_still_ends_the_lock() {
    for _ in 0..10 {
        let mem = Mem::new();
        let ci = hold(elsewhere("apply"));
        ci.take("h1", &mem).await.unwrap();
        let (renewed, broken) = tokio::join!(ci.renew("h1", &mem), break_lock(&mem, "shop"));
        renewed.unwrap();
        assert!(matches!(broken.unwrap(), State::Held { .. }));
        assert_eq!(
            seen(&mem).await,
            State::Free,
            "the break is on top, whoever won the race"
        );
        assert!(!ci.renew("h1", &mem).await.unwrap());
    }
}
