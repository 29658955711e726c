//! Preparing the hosts before any container changes: images pulled, the project's networks
//! and volumes created. A problem here aborts the run with nothing changed.

use super::*;
use crate::spec::model::PullPolicy as SpecPull;

fn strongest(a: SpecPull, b: SpecPull) -> SpecPull {
    let rank = |p| match p {
        SpecPull::Never => 0,
        SpecPull::Missing => 1,
        SpecPull::Always => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

impl Run<'_> {
    /// Pulls images and creates networks and volumes. `Some(abort)` aborts the run: nothing has
    /// been changed on any container.
    pub(super) async fn prepare(&self) -> Option<Abort> {
        if let Some(abort) = self.ship_images().await {
            return Some(abort);
        }
        // A shipped image is never pulled: the registry may hold another image of that name,
        // or none. A host that lacks it after shipping failed already.
        let shipped: BTreeSet<&str> = self
            .plan
            .ships
            .iter()
            .map(|s| s.source.image.as_str())
            .chain(
                self.desired
                    .services
                    .values()
                    .filter_map(|s| s.image_source.as_ref().map(|_| s.image.as_str())),
            )
            .collect();
        // Per host, each image with the strongest `pull_policy` of the services using it
        // (always > missing > never): `never` skips the pull, `always` pulls even when the host
        // has the tag; `missing` follows `--pull`.
        let mut images: BTreeMap<&str, BTreeMap<(&str, Option<&str>), SpecPull>> = BTreeMap::new();
        let mut services: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for change in self.plan.actions() {
            // A replica started again needs its files too (a reboot empties the secrets').
            if let (Action::Start, Some(service)) = (change.action, &change.service) {
                services
                    .entry(change.host.as_str())
                    .or_default()
                    .insert(service.as_str());
            }
            if let (Some(new), Some(service)) = (&change.create, &change.service) {
                let policy = images
                    .entry(change.host.as_str())
                    .or_default()
                    .entry((new.spec.image.as_str(), new.spec.host.platform.as_deref()))
                    .or_insert(SpecPull::Never);
                *policy = strongest(*policy, new.spec.pull_policy);
                services
                    .entry(change.host.as_str())
                    .or_default()
                    .insert(service.as_str());
            }
        }
        for b in self.plan.balancer_actions() {
            if matches!(b.action, BalancerAction::Create | BalancerAction::Replace) {
                images.entry(b.host.as_str()).or_default().insert(
                    (self.desired.balancer.image.as_str(), None),
                    SpecPull::Missing,
                );
            }
        }
        if !images.is_empty() {
            self.progress
                .phase("Preparing hosts (images, networks, volumes)");
        }
        let config = DockerConfig::load();
        let pulls = images.iter().map(|(host, images)| {
            let (config, shipped) = (&config, &shipped);
            async move {
                let mut errors = Vec::new();
                for ((image, platform), policy) in images {
                    if *policy == SpecPull::Never || shipped.contains(image) {
                        continue;
                    }
                    let always = *policy == SpecPull::Always;
                    if let Err(e) = self.pull(host, image, *platform, config, always).await {
                        errors.push(e);
                    }
                }
                errors
            }
        });
        let errors: Vec<PrepareFailure> = join_all(pulls).await.into_iter().flatten().collect();
        if !errors.is_empty() {
            return Some(Abort::Prepare(errors));
        }
        if self.stopped() {
            return Some(Abort::Stopped);
        }

        let resources = services
            .iter()
            .map(|(host, names)| async move { self.resources(host, names).await.err() });
        let errors: Vec<PrepareFailure> = join_all(resources).await.into_iter().flatten().collect();
        if !errors.is_empty() {
            return Some(Abort::Prepare(errors));
        }
        None
    }

    /// One image on one host. Registry errors are returned (they abort the run); host errors
    /// mark the host failed and are not.
    pub(super) async fn pull(
        &self,
        host: &str,
        image: &str,
        platform: Option<&str>,
        config: &DockerConfig,
        always: bool,
    ) -> Result<(), PrepareFailure> {
        let Ok(engine) = self.engine(host) else {
            return Ok(());
        };
        if self.options.pull == PullPolicy::Missing && !always {
            match self
                .call(host, self.options.call_timeout, engine.has_image(image))
                .await
            {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(OpError::Host(_)) => return Ok(()),
                Err(OpError::Replica(error)) => {
                    return Err(PrepareFailure::ImageCheck {
                        host: host.to_string(),
                        image: image.to_string(),
                        error,
                    });
                }
            }
        }
        // The pull is not made through `call` (it has its own error and idle bound): the lock is
        // checked here, as before any other change.
        if let Err(lost) = self.fence.check(host) {
            self.host_failed(host, &HostFailure::Fenced(lost));
            return Ok(());
        }
        self.progress
            .step_started(host, &format!("pulling {image}"));
        let started = Instant::now();
        let credentials = config.credentials(&create::registry_of(image));
        let result = engine
            .pull(image, platform, credentials, Duration::from_secs(120))
            .await;
        // A registry error aborts the run; an engine error fails the host only.
        let (ok, detail, registry_error) = match result {
            Ok(()) => (true, "pulled".to_string(), None),
            Err(PullError::Registry(message)) => (false, message.clone(), Some(message)),
            Err(PullError::Engine(e)) => {
                let failure = HostFailure::Engine(e);
                self.host_failed(host, &failure);
                (false, failure.to_string(), None)
            }
        };
        self.record(StepRecord {
            host: host.to_string(),
            kind: StepKind::Pull,
            service: None,
            slot: None,
            container: Some(image.to_string()),
            ok,
            detail,
            seconds: started.elapsed().as_secs_f64(),
        });
        match registry_error {
            Some(message) => Err(PrepareFailure::Pull {
                host: host.to_string(),
                image: image.to_string(),
                message,
            }),
            None => Ok(()),
        }
    }

    pub(super) async fn resources(
        &self,
        host: &str,
        services: &BTreeSet<&str>,
    ) -> Result<(), PrepareFailure> {
        let Ok(engine) = self.engine(host) else {
            return Ok(());
        };
        let mut networks = BTreeSet::new();
        let mut volumes = BTreeSet::new();
        for name in services {
            let Some(service) = self.desired.services.get(*name) else {
                continue;
            };
            networks.extend(contract::service_networks(service));
            for mount in &service.volumes {
                if let Mount::Volume {
                    source: Some(source),
                    ..
                } = mount
                {
                    volumes.insert(source.clone());
                }
            }
        }
        let project = self.desired.project.as_str();
        for key in networks {
            let declared = self.desired.networks.get(&key).cloned().unwrap_or_default();
            let name = contract::network_name(self.desired, &key);
            let result = if declared.external {
                match self
                    .call(
                        host,
                        self.options.call_timeout,
                        engine.network_exists(&name),
                    )
                    .await
                {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(OpError::Replica(ReplicaFailure::NoExternalNetwork {
                        name: name.clone(),
                    })),
                    Err(e) => Err(e),
                }
            } else {
                let mut labels = contract::object_labels(project);
                labels.extend(declared.labels.clone());
                self.call(
                    host,
                    self.options.call_timeout,
                    engine.ensure_network(&name, &declared, labels),
                )
                .await
            };
            match result {
                Ok(()) => {}
                Err(OpError::Host(_)) => return Ok(()),
                Err(OpError::Replica(error)) => {
                    return Err(PrepareFailure::Network {
                        host: host.to_string(),
                        name,
                        error,
                    });
                }
            }
        }
        self.files(host, services).await?;
        for key in volumes {
            let declared = self.desired.volumes.get(&key).cloned().unwrap_or_default();
            let name = contract::volume_name(self.desired, &key);
            let result = if declared.external {
                match self
                    .call(host, self.options.call_timeout, engine.volume_labels(&name))
                    .await
                {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err(OpError::Replica(ReplicaFailure::NoExternalVolume {
                        name: name.clone(),
                    })),
                    Err(e) => Err(e),
                }
            } else {
                let mut labels = contract::object_labels(project);
                labels.extend(declared.labels.clone());
                self.call(
                    host,
                    self.options.call_timeout,
                    engine.ensure_volume(&name, &declared, labels),
                )
                .await
            };
            match result {
                Ok(()) => {}
                Err(OpError::Host(_)) => return Ok(()),
                Err(OpError::Replica(error)) => {
                    return Err(PrepareFailure::Volume {
                        host: host.to_string(),
                        name,
                        error,
                    });
                }
            }
        }
        Ok(())
    }
}

impl Run<'_> {
    /// Writes the secrets and configs the services mount on this host, each set in its own
    /// directory (named by its digest), before any replica that binds them is created or
    /// started.
    async fn files(&self, host: &str, services: &BTreeSet<&str>) -> Result<(), PrepareFailure> {
        let Ok(engine) = self.engine(host) else {
            return Ok(());
        };
        for name in services {
            let Some(service) = self.desired.services.get(*name) else {
                continue;
            };
            for kind in contract::Shipped::ALL {
                let Some(dir) = contract::files_dir(self.desired, host, name, service, kind) else {
                    continue;
                };
                let files = self.payload.host_files(service, kind);
                let labels = contract::object_labels(&self.desired.project);
                let result = self
                    .call(
                        host,
                        self.options.call_timeout,
                        engine.put_files(&dir, &service.image, &files, labels),
                    )
                    .await;
                match result {
                    Ok(()) => {}
                    Err(OpError::Host(_)) => return Ok(()),
                    Err(OpError::Replica(error)) => {
                        return Err(PrepareFailure::Files {
                            host: host.to_string(),
                            service: name.to_string(),
                            what: kind.noun(),
                            error,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

impl Run<'_> {
    /// Blanks the secret files no replica uses any more (old values of a rotated secret, or
    /// the secrets of a removed service): once the service's rollout went through, so a
    /// rollback never finds its secrets gone. The empty files stay until the host reboots.
    pub(super) async fn blank_stale_secrets(&self, services: &BTreeMap<String, ServiceReport>) {
        for stale in &self.plan.stale_secrets {
            let done = match services.get(&stale.service) {
                Some(report) => matches!(
                    report.status,
                    ServiceStatus::Updated | ServiceStatus::Unchanged
                ),
                // A service no longer in the desired state: its replicas were pruned.
                None => true,
            };
            let Ok(engine) = self.engine(&stale.host) else {
                continue;
            };
            if !done {
                continue;
            }
            let blanks: Vec<HostFile> = stale
                .files
                .iter()
                .map(|name| HostFile {
                    name: name.clone(),
                    content: Vec::new(),
                    mode: 0o400,
                    uid: 0,
                    gid: 0,
                })
                .collect();
            let labels = contract::object_labels(&self.desired.project);
            // Best effort: a failure leaves the old values in memory until the host reboots;
            // it never fails the run.
            let _ = self
                .call(
                    &stale.host,
                    self.options.call_timeout,
                    engine.put_files(&stale.dir, &stale.image, &blanks, labels),
                )
                .await;
        }
    }
}
