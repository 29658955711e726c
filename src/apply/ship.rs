//! Shipping images without a registry: before planning, what each source holds and what the
//! hosts have ([`survey`]); when applying, the archive streamed from the source into each host
//! that lacks the image, all hosts at once, then the id checked on the host.
//!
//! Each host gets its own read of the source (one `docker save` stream, or one read of the
//! archive, per host): a host that is slow or cut off holds up nobody else, and nothing is
//! buffered beyond a few chunks in flight. A host whose shipping fails is failed for the run
//! (as one whose pull fails for want of an answer); the others carry on.

mod source;

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use tokio::sync::mpsc;

pub use source::{SourceError, Sources, archive_facts};

use super::*;
use crate::plan::ship::{self, Ship, SourceImage};

/// Bound on the time a host takes to accept the next chunk, and to answer once it has them all.
const SHIP_IDLE: Duration = Duration::from_secs(60);
/// Bound on the time a host takes to load an image it has received.
const LOAD_LIMIT: Duration = Duration::from_secs(600);
/// Chunks in flight between a source and a host.
const IN_FLIGHT: usize = 8;

/// What the plan needs to ship images: the id and size of each source image some host will
/// create a container of (an image missing at its source is an error, before anything
/// changes), then, per host that will create a
/// container of it, the id of the image of that name it has. `all` is `--ship-images`.
pub async fn survey(
    desired: &Desired,
    plan: &Plan,
    engines: &BTreeMap<String, SharedEngine>,
    sources: &Sources,
    all: bool,
) -> Result<Vec<Ship>, Vec<SourceError>> {
    // Only images some host will create a container of: a plan that ships nothing needs no
    // source (a CI job planning on a machine that did not build the image).
    let mut wanted = ship::sources(desired, all);
    wanted.retain(|image, _| !ship::hosts_needing(plan, image).is_empty());
    let looked = join_all(wanted.iter().map(|(image, from)| async move {
        let facts = sources.facts(image, from).await?;
        Ok(SourceImage {
            image: image.clone(),
            from: from.clone(),
            id: facts.id,
            size: facts.size,
        })
    }))
    .await;
    let (found, errors): (Vec<_>, Vec<_>) = looked.into_iter().partition(Result::is_ok);
    if !errors.is_empty() {
        return Err(errors.into_iter().filter_map(Result::err).collect());
    }
    let found: Vec<SourceImage> = found.into_iter().filter_map(Result::ok).collect();
    let pairs: BTreeSet<(String, String)> = found
        .iter()
        .flat_map(|s| {
            ship::hosts_needing(plan, &s.image)
                .into_iter()
                .map(|h| (h, s.image.clone()))
        })
        .collect();
    let on_hosts = join_all(pairs.into_iter().map(|(host, image)| async move {
        // A host that does not answer gets the image shipped, and fails then if it still
        // does not answer.
        let id = match engines.get(&host) {
            Some(engine) => tokio::time::timeout(SHIP_IDLE, engine.inspect_image(&image))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .map(|f| f.id),
            None => None,
        };
        ((host, image), id)
    }))
    .await;
    Ok(ship::ships(plan, &found, &on_hosts.into_iter().collect()))
}

impl Run<'_> {
    /// Ships the plan's images to the hosts that lack them. `Some(abort)` when a source no
    /// longer holds what the plan saw (nothing has been changed then); a host that fails is
    /// marked failed.
    pub(super) async fn ship_images(&self) -> Option<Abort> {
        let ships: Vec<&Ship> = self
            .plan
            .ships
            .iter()
            .filter(|s| !s.hosts.is_empty())
            .collect();
        if ships.is_empty() {
            return None;
        }
        let Some(sources) = self.options.images.as_deref() else {
            return Some(Abort::Prepare(vec![PrepareFailure::Ship {
                image: ships[0].source.image.clone(),
                message: "this run has no image source (fleet watch does not ship images)".into(),
            }]));
        };
        self.progress.phase("Shipping images (no registry)");
        let mut failures = Vec::new();
        for s in &ships {
            let image = s.source.image.clone();
            let error = match sources.facts(&image, &s.source.from).await {
                Ok(facts) if facts.id == s.source.id => continue,
                Ok(facts) => SourceError::Changed {
                    image: image.clone(),
                    now: facts.id,
                },
                Err(e) => e,
            };
            let message = crate::error::full_message(&error);
            failures.push(PrepareFailure::Ship { image, message });
        }
        if !failures.is_empty() {
            return Some(Abort::Prepare(failures));
        }
        let sends = ships.iter().flat_map(|s| {
            s.hosts
                .iter()
                .map(move |host| self.ship_to(host, s, sources))
        });
        join_all(sends).await;
        None
    }

    /// One image to one host: streamed, loaded, its id checked. Any failure fails the host.
    async fn ship_to(&self, host: &str, s: &Ship, sources: &Sources) {
        let Ok(engine) = self.engine(host) else {
            return;
        };
        if let Err(lost) = self.fence.check(host) {
            self.host_failed(host, &HostFailure::Fenced(lost));
            return;
        }
        let image = s.source.image.as_str();
        let size = ship::human_size(s.source.size);
        self.progress
            .step_started(host, &format!("shipping {image} ({size})"));
        let started = Instant::now();
        let result = self.stream(host, engine, s, sources).await;
        let result = match result {
            Ok(()) => match self
                .call(host, self.options.call_timeout, engine.inspect_image(image))
                .await
            {
                Ok(Some(facts)) if facts.id == s.source.id => Ok(()),
                Ok(found) => Err(HostFailure::Engine(EngineError::Unexpected(format!(
                    "after loading, {image} is {} on the host, not {}",
                    found.map_or("missing".to_string(), |f| f.id),
                    s.source.id
                )))),
                // The host is marked failed by `call` already, or refused the inspect.
                Err(e) => Err(HostFailure::Engine(EngineError::Unexpected(e.to_string()))),
            },
            Err(failure) => Err(failure),
        };
        let (ok, detail) = match &result {
            Ok(()) => (true, format!("shipped {size}, id verified")),
            Err(failure) => {
                self.host_failed(host, failure);
                (false, format!("shipping failed: {failure}"))
            }
        };
        self.record(StepRecord {
            host: host.to_string(),
            kind: StepKind::Ship,
            service: None,
            slot: None,
            container: Some(image.to_string()),
            ok,
            detail,
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    /// Streams the source's archive into the host's load, chunk by chunk, reporting bytes.
    async fn stream(
        &self,
        host: &str,
        engine: &dyn Engine,
        s: &Ship,
        sources: &Sources,
    ) -> Result<(), HostFailure> {
        let image = s.source.image.as_str();
        let (tx, rx) = mpsc::channel::<Result<bytes::Bytes, EngineError>>(IN_FLIGHT);
        let received = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        })
        .boxed();
        let feed = async move {
            let mut from = sources.open(image, &s.source.from);
            let mut sent = 0u64;
            while let Some(chunk) = from.next().await {
                let failed = chunk.is_err();
                let len = chunk.as_ref().map_or(0, |c| c.len() as u64);
                match tokio::time::timeout(SHIP_IDLE, tx.send(chunk)).await {
                    Err(_) => return Err(HostFailure::NoAnswer(SHIP_IDLE)),
                    // The load ended (failed): it says why.
                    Ok(Err(_)) => return Ok(()),
                    Ok(Ok(())) => {}
                }
                if failed {
                    return Ok(());
                }
                sent += len;
                self.progress
                    .transferred(host, image, sent, s.source.size.max(sent));
            }
            Ok(())
        };
        let load = engine.load_image(received);
        tokio::pin!(load);
        tokio::select! {
            // The load ended before the feed: it failed (it needs the whole archive).
            loaded = &mut load => loaded.map_err(HostFailure::Engine),
            fed = feed => match fed {
                // Fed in full (or the load ended): the load's answer decides.
                Ok(()) => match tokio::time::timeout(LOAD_LIMIT, load).await {
                    Err(_) => Err(HostFailure::NoAnswer(LOAD_LIMIT)),
                    Ok(loaded) => loaded.map_err(HostFailure::Engine),
                },
                Err(e) => Err(e),
            },
        }
    }
}
