use super::*;
use crate::contract::ReplicaIdentity;
use crate::engine::ProbeHealth;
use crate::spec::MemoryFiles;

fn desired(yaml: &str) -> crate::spec::Desired {
    let loaded = crate::spec::load(&MemoryFiles::new([("fleet.yaml", yaml)]));
    loaded
        .desired
        .unwrap_or_else(|| panic!("invalid test state: {:#?}", loaded.diagnostics))
}

const STATE: &str = "project: shop
hosts:
  a: {address: ssh://a}
services:
  web:
    image: web:1
    healthcheck: {test: [CMD, true], interval: 5s, retries: 2}
    restart: on-failure
";

async fn create_web(engine: &MemoryEngine, desired: &crate::spec::Desired, name: &str) -> String {
    let service = &desired.services["web"];
    let identity = ReplicaIdentity {
        project: "shop",
        service: "web",
        slot: 0,
        spec_hash: "h1",
        commit: None,
    };
    engine
        .create(
            name,
            Create::Replica {
                desired,
                host: "a",
                secret_env: &[],
                service,
                identity: &identity,
            },
        )
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn health_passes_after_one_interval_and_events_say_so() {
    let registry = Registry::new();
    registry.publish("web:1", Behaviour::Serves);
    let engine = MemoryEngine::new("a", Arc::clone(&registry));
    let desired = desired(STATE);
    let mut events = engine.container_events("shop");
    engine
        .pull("web:1", None, None, Duration::from_secs(1))
        .await
        .unwrap();
    let id = create_web(&engine, &desired, "shop-web-0").await;
    engine.start(&id).await.unwrap();
    let probe = engine.probe(&id).await.unwrap().unwrap();
    assert_eq!(probe.health, Some(ProbeHealth::Starting));
    tokio::time::sleep(Duration::from_secs(6)).await;
    let probe = engine.probe(&id).await.unwrap().unwrap();
    assert_eq!(probe.health, Some(ProbeHealth::Healthy));
    let mut actions = Vec::new();
    for _ in 0..3 {
        actions.push(events.next().await.unwrap().unwrap().action);
    }
    assert_eq!(actions, ["create", "start", "health_status: healthy"]);
}

#[tokio::test(start_paused = true)]
async fn a_crashing_image_is_restarted_by_its_policy_and_counted() {
    let registry = Registry::new();
    registry.publish(
        "web:1",
        Behaviour::Exits {
            after: Duration::from_secs(1),
            code: 3,
        },
    );
    let engine = MemoryEngine::new("a", Arc::clone(&registry));
    engine.preload("web:1");
    let desired = desired(STATE);
    let id = create_web(&engine, &desired, "shop-web-0").await;
    engine.start(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let probe = engine.probe(&id).await.unwrap().unwrap();
    assert!(probe.restarts >= 1, "{probe:?}");
}

#[tokio::test]
async fn a_name_is_taken_once_unless_the_labels_are_the_same() {
    let registry = Registry::new();
    let engine = MemoryEngine::new("a", registry);
    engine.preload("web:1");
    let desired = desired(STATE);
    let first = create_web(&engine, &desired, "shop-web-0").await;
    let again = create_web(&engine, &desired, "shop-web-0").await;
    assert_eq!(first, again);
    engine.run_other("taken", "web:1", HashMap::new());
    let service = &desired.services["web"];
    let identity = ReplicaIdentity {
        project: "shop",
        service: "web",
        slot: 0,
        spec_hash: "h1",
        commit: None,
    };
    let what = Create::Replica {
        desired: &desired,
        host: "a",
        secret_env: &[],
        service,
        identity: &identity,
    };
    let err = engine.create("taken", what).await.unwrap_err();
    assert!(err.engine_message().unwrap().contains("already in use"));
}

#[tokio::test]
async fn volumes_are_created_once_with_the_first_labels() {
    let engine = MemoryEngine::new("a", Registry::new());
    let first = HashMap::from([("k".to_string(), "1".to_string())]);
    let second = HashMap::from([("k".to_string(), "2".to_string())]);
    assert_eq!(
        engine
            .create_labelled_volume("v.1", first.clone())
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        engine.create_labelled_volume("v.1", second).await.unwrap(),
        first
    );
    assert_eq!(engine.volumes_named("v.").await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_host_that_stops_answering_hangs_and_a_down_one_fails_at_once() {
    let engine = MemoryEngine::new("a", Registry::new());
    engine.stop_answering();
    let hung = tokio::time::timeout(Duration::from_secs(5), engine.ping()).await;
    assert!(hung.is_err());
    engine.answer_again();
    engine.go_down();
    assert!(matches!(
        engine.ping().await,
        Err(EngineError::EngineDown { .. })
    ));
}

#[tokio::test]
async fn stop_answering_after_lets_exactly_that_many_changes_through() {
    let engine = MemoryEngine::new("a", Registry::new());
    let told = engine.stop_answering_after(2);
    engine
        .create_labelled_volume("v1", HashMap::new())
        .await
        .unwrap();
    engine
        .create_labelled_volume("v2", HashMap::new())
        .await
        .unwrap();
    let third = tokio::time::timeout(
        Duration::from_millis(200),
        engine.create_labelled_volume("v3", HashMap::new()),
    );
    let (third, ()) = tokio::join!(third, told.notified());
    assert!(third.is_err(), "the third change must hang");
    engine.answer_again();
    let names: Vec<String> = engine
        .volumes_named("v")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["v1", "v2"]);
}

#[tokio::test]
async fn kills_stops_and_containers_run_by_hand_are_announced_as_docker_does() {
    let engine = MemoryEngine::new("a", Registry::new());
    engine.preload("web:1");
    let desired = desired(STATE);
    let mut events = engine.container_events("shop");
    let mut next = async || events.next().await.unwrap().unwrap().action;
    let labels = HashMap::from([(crate::labels::PROJECT.to_string(), "shop".to_string())]);
    engine.run_other("by-hand", "web:1", labels);
    assert_eq!([next().await, next().await], ["create", "start"]);
    let id = create_web(&engine, &desired, "shop-web-0").await;
    engine.start(&id).await.unwrap();
    assert_eq!([next().await, next().await], ["create", "start"]);
    // `docker kill`: the signal first, so a watcher tells it from a crash.
    engine.kill(&id);
    assert_eq!([next().await, next().await], ["kill", "die"]);
    engine.start(&id).await.unwrap();
    assert_eq!(next().await, "start");
    // `docker stop`: SIGTERM, the process ends, the container is stopped.
    engine.stop(&id, None).await.unwrap();
    assert_eq!(
        [next().await, next().await, next().await],
        ["kill", "die", "stop"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_pull_from_a_silent_host_fails_after_the_idle_bound() {
    let registry = Registry::new();
    registry.publish("web:1", Behaviour::Serves);
    let engine = MemoryEngine::new("a", registry);
    engine.stop_answering();
    let pull = engine.pull("web:1", None, None, Duration::from_secs(120));
    let failed = tokio::time::timeout(Duration::from_secs(121), pull)
        .await
        .expect("the pull ends by itself after 120 s");
    assert!(
        matches!(failed, Err(PullError::Engine(EngineError::Timeout(t))) if t == Duration::from_secs(120)),
        "{failed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_start_sets_the_restart_count_back_to_zero_as_dockers_does() {
    let registry = Registry::new();
    let engine = MemoryEngine::new("a", registry);
    engine.preload("web:1");
    let desired = desired(STATE);
    let id = create_web(&engine, &desired, "shop-web-0").await;
    engine.start(&id).await.unwrap();
    engine.kill(&id);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probe = engine.probe(&id).await.unwrap().unwrap();
    assert!(probe.running && probe.restarts == 1, "{probe:?}");
    // A start of a running container changes nothing; of a stopped one, starts counting over.
    engine.start(&id).await.unwrap();
    assert_eq!(engine.probe(&id).await.unwrap().unwrap().restarts, 1);
    engine.stop(&id, None).await.unwrap();
    engine.start(&id).await.unwrap();
    let probe = engine.probe(&id).await.unwrap().unwrap();
    assert!(probe.running && probe.restarts == 0, "{probe:?}");
}
