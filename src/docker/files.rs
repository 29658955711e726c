//! Files written on a host through the engine alone: a container of the service's image is
//! created (never started) with the host directory bound into it, a tar archive is extracted
//! into that directory by the engine (which keeps each entry's owner and mode), and the
//! container is removed. No shell, agent or SSH command runs on the host.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};

use super::DockerEngine;
use crate::engine::{EngineError, HostFile};

/// Where the directory appears inside the helper container.
const INSIDE: &str = "/fleet-files";

impl DockerEngine {
    pub(super) async fn put_files(
        &self,
        dir: &str,
        image: &str,
        files: &[HostFile],
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        let archive = tar_of(files).map_err(|e| EngineError::Unexpected(format!("tar: {e}")))?;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            // Never run; an image without a command still needs one to be created.
            cmd: Some(vec!["fleet-files".to_string()]),
            labels: Some(labels),
            host_config: Some(HostConfig {
                // The `Binds` form makes the directory on the host when it is missing.
                binds: Some(vec![format!("{dir}:{INSIDE}:rw")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!(
            "fleet-files-{:016x}",
            rand_suffix(dir.len() as u64 ^ files.len() as u64)
        );
        let options = bollard::query_parameters::CreateContainerOptionsBuilder::default()
            .name(&name)
            .build();
        let id = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.down(e))?
            .id;
        let upload = bollard::query_parameters::UploadToContainerOptionsBuilder::default()
            .path(INSIDE)
            .build();
        let result = self
            .docker
            .upload_to_container(&id, Some(upload), bollard::body_full(archive.into()))
            .await
            .map_err(|e| self.down(e));
        let removed = self.remove_helper(&id).await;
        result.and(removed)
    }

    async fn remove_helper(&self, id: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
            .force(true)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if super::status(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.down(e)),
        }
    }
}

/// A tar archive of the files, each with its owner and mode.
fn tar_of(files: &[HostFile]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.content.len() as u64);
        header.set_mode(file.mode);
        header.set_uid(u64::from(file.uid));
        header.set_gid(u64::from(file.gid));
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(0);
        builder.append_data(&mut header, &file.name, file.content.as_slice())?;
    }
    builder.into_inner()
}

/// A name suffix unlikely to clash between two runs writing at once.
fn rand_suffix(salt: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ (u64::from(std::process::id()) << 32) ^ salt.rotate_left(17)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_keeps_each_files_owner_and_mode() {
        let files = [HostFile {
            name: "0-db_password".into(),
            content: b"s3cret".to_vec(),
            mode: 0o440,
            uid: 1000,
            gid: 70,
        }];
        let bytes = tar_of(&files).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entry = archive.entries().unwrap().next().unwrap().unwrap();
        let header = entry.header();
        assert_eq!(header.mode().unwrap(), 0o440);
        assert_eq!(header.uid().unwrap(), 1000);
        assert_eq!(header.gid().unwrap(), 70);
        assert_eq!(entry.path().unwrap().to_str(), Some("0-db_password"));
    }
}
