//! Where shipped images are read from: the engine of the machine running fleet, or a
//! `docker save` archive in the working tree. Both give the image's id and size before
//! planning, and a stream of the archive's bytes when shipping (read as sent: an archive is
//! never copied, a local image never written to a file).

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use thiserror::Error;

use crate::engine::{ArchiveStream, EngineError, ImageFacts, SharedEngine};
use crate::plan::ship::ShipFrom;
use crate::spec::model::SourceAt;

/// The sources of a run's shipped images.
pub struct Sources {
    /// The engine of the machine running fleet, when connected (`DOCKER_HOST`, or
    /// /var/run/docker.sock): `Err` says why not, for the images that need it.
    pub local: Result<SharedEngine, String>,
    /// The project's directory on disk: archive paths are relative to it.
    pub root: PathBuf,
    /// Where each archive was written (by its path), for errors.
    pub written: Vec<(String, String, SourceAt)>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("local", &self.local.is_ok())
            .field("root", &self.root)
            .finish()
    }
}

/// Why a source cannot give an image.
#[derive(Debug, Error)]
pub enum SourceError {
    #[error("image {image} is not in the local engine")]
    NotLocal { image: String },
    #[error("the local engine is needed for image {image}, and {why}")]
    NoLocal { image: String, why: String },
    #[error("the local engine failed for image {image}")]
    Local {
        image: String,
        #[source]
        source: EngineError,
    },
    /// An archive that is missing or does not hold the image; `at` is where it was written.
    #[error("{path}: {why}")]
    Archive {
        path: String,
        why: String,
        service: String,
        at: SourceAt,
    },
    #[error("image {image} changed on this machine since the plan was made (now {now})")]
    Changed { image: String, now: String },
}

impl SourceError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SourceError::NotLocal { image } => Some(format!(
                "build it on this machine (`docker build -t {image} .`), or `docker pull` it, then run again"
            )),
            SourceError::NoLocal { .. } => Some(
                "start the local engine, or set DOCKER_HOST to a unix:// socket of one".into(),
            ),
            SourceError::Archive { .. } => Some(
                "write it with `docker save -o PATH IMAGE` (the archive must hold the service's image tag)".into(),
            ),
            SourceError::Changed { .. } => Some("run `fleet plan` again and review it".into()),
            SourceError::Local { source, .. } => source.hint(),
        }
    }
}

impl Sources {
    /// The id and size of `image` at `from`.
    pub async fn facts(&self, image: &str, from: &ShipFrom) -> Result<ImageFacts, SourceError> {
        match from {
            ShipFrom::Local => {
                let engine = self.local.as_ref().map_err(|why| SourceError::NoLocal {
                    image: image.to_string(),
                    why: why.clone(),
                })?;
                match engine.inspect_image(image).await {
                    Ok(Some(facts)) => Ok(facts),
                    Ok(None) => Err(SourceError::NotLocal {
                        image: image.to_string(),
                    }),
                    Err(source) => Err(SourceError::Local {
                        image: image.to_string(),
                        source,
                    }),
                }
            }
            ShipFrom::Archive { path } => {
                let file = self.root.join(path);
                let wanted = image.to_string();
                let read = tokio::task::spawn_blocking(move || archive_facts(&file, &wanted))
                    .await
                    .unwrap_or_else(|e| Err(format!("internal error: {e}")));
                read.map_err(|why| self.archive_error(path, why))
            }
        }
    }

    fn archive_error(&self, path: &str, why: String) -> SourceError {
        let (service, at) = self
            .written
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, s, at)| (s.clone(), at.clone()))
            .unwrap_or_default();
        SourceError::Archive {
            path: path.to_string(),
            why,
            service,
            at,
        }
    }

    /// The bytes of the archive of `image` at `from`, as they are read.
    pub fn open<'a>(&'a self, image: &str, from: &ShipFrom) -> ArchiveStream<'a> {
        match from {
            ShipFrom::Local => match &self.local {
                Ok(engine) => engine.save_image(image),
                Err(why) => {
                    let e = EngineError::Unexpected(why.clone());
                    futures_util::stream::once(async { Err(e) }).boxed()
                }
            },
            ShipFrom::Archive { path } => file_stream(self.root.join(path)),
        }
    }
}

/// Bytes of a file read in chunks, as the reader takes them (a blocking reader a few chunks
/// ahead; it stops when the reader goes away).
fn file_stream(path: PathBuf) -> ArchiveStream<'static> {
    const CHUNK: usize = 256 * 1024;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, EngineError>>(4);
    tokio::task::spawn_blocking(move || {
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) => {
                let _ = tx.blocking_send(Err(io_error(e)));
                return;
            }
        };
        loop {
            let mut buf = vec![0; CHUNK];
            let chunk = match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(Bytes::from(buf))
                }
                Err(e) => Err(io_error(e)),
            };
            let last = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || last {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
    .boxed()
}

fn io_error(e: std::io::Error) -> EngineError {
    EngineError::Unexpected(format!("reading the archive: {e}"))
}

/// The id and size of `image` in a `docker save` archive: its `manifest.json` names the image's
/// config file, whose digest is the image id the engine reports once it is loaded.
pub fn archive_facts(path: &Path, image: &str) -> Result<ImageFacts, String> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file (archives are read from the working tree, \
                                         relative to the project)"
            .to_string(),
        _ => format!("cannot read it: {e}"),
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let is_manifest = entry.path().is_ok_and(|p| p.as_os_str() == "manifest.json");
        if !is_manifest {
            continue;
        }
        let mut text = String::new();
        entry
            .by_ref()
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|e| format!("manifest.json cannot be read: {e}"))?;
        let id = manifest_id(&text, image)?;
        return Ok(ImageFacts { id, size });
    }
    Err("not a `docker save` archive (it has no manifest.json)".into())
}

/// The image id of `image` in a `docker save` manifest.
fn manifest_id(manifest: &str, image: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Config")]
        config: String,
        #[serde(rename = "RepoTags", default)]
        repo_tags: Option<Vec<String>>,
    }
    let entries: Vec<Entry> =
        serde_json::from_str(manifest).map_err(|e| format!("manifest.json is not valid: {e}"))?;
    let wanted = short_name(image);
    let mut tags = Vec::new();
    for entry in &entries {
        let names = entry.repo_tags.as_deref().unwrap_or_default();
        if names.iter().any(|t| short_name(t) == wanted) {
            let digest = entry
                .config
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".json");
            let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid {
                return Err(format!("manifest.json names a config `{}`", entry.config));
            }
            return Ok(format!("sha256:{digest}"));
        }
        tags.extend(names.iter().cloned());
    }
    Err(if tags.is_empty() {
        format!("it does not hold {image} (its images have no tags)")
    } else {
        format!("it does not hold {image} (it holds {})", tags.join(", "))
    })
}

/// An image reference as `docker save` writes it: without `docker.io/` and `library/`, and
/// with `:latest` when no tag or digest is given.
fn short_name(reference: &str) -> String {
    let name = reference.strip_prefix("docker.io/").unwrap_or(reference);
    let name = name.strip_prefix("library/").unwrap_or(name);
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f7a7cbd2a0b5c1c8e5b1d5a5fa2f4c3b8d3a0b6a0f0e6a9c6b1e2d3c4b5a697";

    #[test]
    fn the_id_of_an_image_is_its_config_digest_in_either_manifest_form() {
        let old = format!(r#"[{{"Config":"{ID}.json","RepoTags":["app:1.4"],"Layers":[]}}]"#);
        assert_eq!(manifest_id(&old, "app:1.4"), Ok(format!("sha256:{ID}")));
        let new = format!(
            r#"[{{"Config":"blobs/sha256/{ID}","RepoTags":["nginx:latest"],"Layers":[]}}]"#
        );
        assert_eq!(
            manifest_id(&new, "docker.io/library/nginx"),
            Ok(format!("sha256:{ID}"))
        );
    }

    #[test]
    fn an_archive_without_the_image_says_what_it_holds() {
        let other = format!(r#"[{{"Config":"{ID}.json","RepoTags":["app:1.3"]}}]"#);
        let e = manifest_id(&other, "app:1.4").unwrap_err();
        assert!(
            e.contains("does not hold app:1.4 (it holds app:1.3)"),
            "{e}"
        );
        assert!(manifest_id("{", "app:1").is_err());
        let bad = r#"[{"Config":"../../etc/passwd","RepoTags":["app:1"]}]"#;
        assert!(manifest_id(bad, "app:1").is_err());
    }

    #[test]
    fn a_missing_file_or_a_file_that_is_not_an_archive_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = archive_facts(&dir.path().join("none.tar"), "app:1").unwrap_err();
        assert!(e.contains("no such file"), "{e}");
        let junk = dir.path().join("junk.tar");
        std::fs::write(&junk, b"not a tar at all, just text").unwrap();
        assert!(archive_facts(&junk, "app:1").is_err());
    }

    #[test]
    fn a_docker_save_archive_gives_its_id_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.tar");
        let mut builder = tar::Builder::new(Vec::new());
        let manifest = format!(r#"[{{"Config":"{ID}.json","RepoTags":["app:1.4"]}}]"#);
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "manifest.json", manifest.as_bytes())
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let facts = archive_facts(&path, "app:1.4").unwrap();
        assert_eq!(facts.id, format!("sha256:{ID}"));
        assert_eq!(facts.size, bytes.len() as u64);
    }
}
