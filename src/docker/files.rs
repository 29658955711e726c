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
        // The parent is bound and the directory itself comes in the archive: the engine then
        // makes it with the archive's mode (a bound directory keeps the 0755 it was made with).
        let (parent, leaf) = dir.rsplit_once('/').unwrap_or(("", dir));
        let parent = if parent.is_empty() { "/" } else { parent };
        let archive =
            tar_of(leaf, files).map_err(|e| EngineError::Unexpected(format!("tar: {e}")))?;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            // Never run; an image without a command still needs one to be created.
            cmd: Some(vec!["fleet-files".to_string()]),
            labels: Some(labels),
            host_config: Some(HostConfig {
                // The `Binds` form makes the directory on the host when it is missing.
                binds: Some(vec![format!("{parent}:{INSIDE}:rw")]),
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
        let bytes = bytes::Bytes::from(archive);
        let mut result = self
            .docker
            .upload_to_container(&id, Some(upload.clone()), bollard::body_full(bytes.clone()))
            .await;
        // Two writers of one directory (engines sharing a filesystem, as the testbed's do) race:
        // one's mkdir fails because the other made the directory, or a file it just wrote is
        // replaced by the other's before its chmod. The content is the same (the directory is
        // named by its digest), so a second extraction finishes the job.
        let raced = |e: &bollard::errors::Error| {
            let text = e.to_string();
            text.contains("file exists") || text.contains("no such file or directory")
        };
        if matches!(&result, Err(e) if raced(e)) {
            result = self
                .docker
                .upload_to_container(&id, Some(upload), bollard::body_full(bytes))
                .await;
        }
        let result = result.map_err(|e| self.down(e));
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

/// A tar archive of the directory `dir` (one name) and its files, each with its owner and
/// mode: only root may enter the directory on the host, while a replica reads its files
/// through the bind, whatever the directories above.
fn tar_of(dir: &str, files: &[HostFile]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o700);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    header.set_mtime(0);
    builder.append_data(&mut header, format!("{dir}/"), std::io::empty())?;
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.content.len() as u64);
        header.set_mode(file.mode);
        header.set_uid(u64::from(file.uid));
        header.set_gid(u64::from(file.gid));
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(0);
        builder.append_data(
            &mut header,
            format!("{dir}/{}", file.name),
            file.content.as_slice(),
        )?;
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
        let bytes = tar_of("set", &files).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut entries = archive.entries().unwrap();
        let dir = entries.next().unwrap().unwrap();
        assert_eq!(
            dir.header().mode().unwrap(),
            0o700,
            "the directory is root's alone"
        );
        let entry = entries.next().unwrap().unwrap();
        let header = entry.header();
        assert_eq!(header.mode().unwrap(), 0o440);
        assert_eq!(header.uid().unwrap(), 1000);
        assert_eq!(header.gid().unwrap(), 70);
        assert_eq!(entry.path().unwrap().to_str(), Some("set/0-db_password"));
    }
}
