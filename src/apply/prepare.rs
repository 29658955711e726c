//! Preparing the hosts before any container changes: images pulled, the project's networks
//! and volumes created. A problem here aborts the run with nothing changed.

use super::*;

impl Run<'_> {
    /// Pulls images and creates networks and volumes. `Some(reason)` aborts the run: nothing has
    /// been changed on any container.
    pub(super) async fn prepare(&self) -> Option<String> {
        let mut images: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut services: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for change in self.plan.actions() {
            if let (Some(new), Some(service)) = (&change.create, &change.service) {
                images
                    .entry(change.host.as_str())
                    .or_default()
                    .insert(new.spec.image.as_str());
                services
                    .entry(change.host.as_str())
                    .or_default()
                    .insert(service.as_str());
            }
        }
        for b in self.plan.balancer_actions() {
            if matches!(b.action, BalancerAction::Create | BalancerAction::Replace) {
                images
                    .entry(b.host.as_str())
                    .or_default()
                    .insert(self.desired.balancer.image.as_str());
            }
        }
        if !images.is_empty() {
            self.progress
                .phase("Preparing hosts (images, networks, volumes)");
        }
        let config = DockerConfig::load();
        let pulls = images.iter().map(|(host, images)| {
            let config = &config;
            async move {
                let mut errors = Vec::new();
                for image in images {
                    if let Err(e) = self.pull(host, image, config).await {
                        errors.push(e);
                    }
                }
                errors
            }
        });
        let errors: Vec<String> = join_all(pulls).await.into_iter().flatten().collect();
        if !errors.is_empty() {
            return Some(errors.join("; "));
        }
        if self.stopped() {
            return Some("stopped before any container was changed".into());
        }

        let resources = services
            .iter()
            .map(|(host, names)| async move { self.resources(host, names).await.err() });
        let errors: Vec<String> = join_all(resources).await.into_iter().flatten().collect();
        if !errors.is_empty() {
            return Some(errors.join("; "));
        }
        None
    }

    /// One image on one host. Registry errors are returned (they abort the run); host errors
    /// mark the host failed and are not.
    pub(super) async fn pull(
        &self,
        host: &str,
        image: &str,
        config: &DockerConfig,
    ) -> Result<(), String> {
        let Ok(engine) = self.engine(host) else {
            return Ok(());
        };
        if self.options.pull == PullPolicy::Missing {
            match self
                .call(host, self.options.call_timeout, engine.has_image(image))
                .await
            {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(OpError::Host(_)) => return Ok(()),
                Err(OpError::Replica(e)) => return Err(format!("{host}: {image}: {e}")),
            }
        }
        self.progress
            .step_started(host, &format!("pulling {image}"));
        let started = Instant::now();
        let credentials = config.credentials(&create::registry_of(image));
        let result = engine
            .pull(image, credentials, Duration::from_secs(120))
            .await;
        let (ok, detail) = match &result {
            Ok(()) => (true, "pulled".to_string()),
            Err(PullError::Registry(e)) => (false, e.clone()),
            Err(PullError::Engine(e)) => {
                let reason = crate::error::full_message(e);
                self.host_failed(host, &reason);
                (false, reason)
            }
        };
        self.record(StepRecord {
            host: host.to_string(),
            kind: StepKind::Pull,
            service: None,
            slot: None,
            container: Some(image.to_string()),
            ok,
            detail: detail.clone(),
            seconds: started.elapsed().as_secs_f64(),
        });
        match result {
            Err(PullError::Registry(_)) => {
                Err(format!("pulling {image} on {host} failed: {detail}"))
            }
            _ => Ok(()),
        }
    }

    pub(super) async fn resources(
        &self,
        host: &str,
        services: &BTreeSet<&str>,
    ) -> Result<(), String> {
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
                    Ok(false) => Err(OpError::Replica(format!(
                        "the external network `{name}` does not exist"
                    ))),
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
                Err(OpError::Replica(e)) => return Err(format!("{host}: network {name}: {e}")),
            }
        }
        for key in volumes {
            let declared = self.desired.volumes.get(&key).cloned().unwrap_or_default();
            let name = contract::volume_name(self.desired, &key);
            let result = if declared.external {
                match self
                    .call(host, self.options.call_timeout, engine.volume_labels(&name))
                    .await
                {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err(OpError::Replica(format!(
                        "the external volume `{name}` does not exist"
                    ))),
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
                Err(OpError::Replica(e)) => return Err(format!("{host}: volume {name}: {e}")),
            }
        }
        Ok(())
    }
}
