//! Networks, volumes and the engine's clock: the objects besides containers that fleet creates
//! (a project's networks and named volumes, lock terms) and reads.

use std::collections::HashMap;

use super::{DockerEngine, status};
use crate::engine::{EngineError, VolumeInfo};

impl DockerEngine {
    /// Creates the network unless one of that name exists. Engines accept duplicate network
    /// names, so the check comes first (concurrent fleet runs are serialised by the lock).
    pub(super) async fn ensure_network(
        &self,
        name: &str,
        declared: &crate::spec::model::Network,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        if self.network_exists(name).await? {
            return Ok(());
        }
        let request = bollard::models::NetworkCreateRequest {
            name: name.to_string(),
            driver: declared.driver.clone(),
            internal: Some(declared.internal),
            options: Some(declared.driver_opts.clone().into_iter().collect()),
            labels: Some(labels),
            ipam: declared.ipam.as_ref().map(|ipam| bollard::models::Ipam {
                driver: ipam.driver.clone(),
                config: Some(
                    ipam.config
                        .iter()
                        .map(|pool| bollard::models::IpamConfig {
                            subnet: pool.subnet.clone(),
                            ip_range: pool.ip_range.clone(),
                            gateway: pool.gateway.clone(),
                            auxiliary_addresses: (!pool.aux_addresses.is_empty())
                                .then(|| pool.aux_addresses.clone().into_iter().collect()),
                        })
                        .collect(),
                ),
                options: (!ipam.options.is_empty())
                    .then(|| ipam.options.clone().into_iter().collect()),
            }),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map(|_| ())
            .map_err(|e| self.down(e))
    }

    pub(super) async fn network_exists(&self, name: &str) -> Result<bool, EngineError> {
        let filters = HashMap::from([("name".to_string(), vec![format!("^{name}$")])]);
        let options = bollard::query_parameters::ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.down(e))?;
        Ok(list.iter().any(|n| n.name.as_deref() == Some(name)))
    }

    /// Creates a volume, or returns the existing one of that name untouched (the engine does
    /// this atomically, which is what the project lock relies on). Returns its labels.
    async fn create_volume(
        &self,
        request: bollard::models::VolumeCreateRequest,
    ) -> Result<HashMap<String, String>, EngineError> {
        self.docker
            .create_volume(request)
            .await
            .map(|v| v.labels)
            .map_err(|e| self.down(e))
    }

    /// Creates a project's named volume as declared, or leaves the existing one of that name.
    pub(super) async fn ensure_volume(
        &self,
        name: &str,
        declared: &crate::spec::model::Volume,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.create_volume(bollard::models::VolumeCreateRequest {
            name: Some(name.to_string()),
            driver: declared.driver.clone(),
            driver_opts: Some(declared.driver_opts.clone().into_iter().collect()),
            labels: Some(labels),
            ..Default::default()
        })
        .await
        .map(|_| ())
    }

    /// Volumes whose name contains `part` (the engine's substring filter): name, creation time
    /// as the engine reports it (RFC 3339, the engine's clock) and labels.
    pub(super) async fn volumes_named(&self, part: &str) -> Result<Vec<VolumeInfo>, EngineError> {
        let filters = HashMap::from([("name".to_string(), vec![part.to_string()])]);
        let options = bollard::query_parameters::ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| self.down(e))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeInfo {
                name: v.name,
                created_at: v.created_at,
                labels: v.labels,
            })
            .collect())
    }

    /// The engine's clock (`SystemTime` of `GET /info`), RFC 3339.
    pub(super) async fn system_time(&self) -> Result<String, EngineError> {
        let info = self.docker.info().await.map_err(|e| self.down(e))?;
        info.system_time
            .ok_or_else(|| EngineError::Unexpected("no SystemTime in /info".into()))
    }

    /// Creates a volume with these labels, or returns the existing one's labels untouched.
    pub(super) async fn create_labelled_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        self.create_volume(bollard::models::VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        })
        .await
    }

    /// Labels of a volume, `None` when there is no such volume.
    pub(super) async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<HashMap<String, String>>, EngineError> {
        match self.docker.inspect_volume(name).await {
            Ok(v) => Ok(Some(v.labels)),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.down(e)),
        }
    }

    /// Removes a volume; an absent one is fine.
    pub(super) async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.down(e)),
        }
    }
}
