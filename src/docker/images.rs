//! Images moved without a registry: `GET /images/{name}/get` (the `docker save` archive,
//! streamed) and `POST /images/load` (the archive streamed in, never written to a file by
//! fleet on either side).

use futures_util::StreamExt;

use super::{DockerEngine, api, status};
use crate::engine::{ArchiveStream, EngineError, ImageFacts};

impl DockerEngine {
    pub(super) async fn image_facts(
        &self,
        reference: &str,
    ) -> Result<Option<ImageFacts>, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some(ImageFacts {
                id: image.id.ok_or_else(|| {
                    EngineError::Unexpected(format!("image {reference} without an id"))
                })?,
                size: image.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            })),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.down(e)),
        }
    }

    pub(super) fn save(&self, reference: &str) -> ArchiveStream<'_> {
        self.docker
            .export_image(reference)
            .map(|chunk| chunk.map_err(|e| self.down(e)))
            .boxed()
    }

    pub(super) async fn load(&self, archive: ArchiveStream<'static>) -> Result<(), EngineError> {
        let options = bollard::query_parameters::ImportImageOptions {
            quiet: true,
            platform: None,
        };
        let mut answers = self.docker.import_image_stream(options, archive, None);
        while let Some(answer) = answers.next().await {
            match answer {
                Ok(info) => {
                    if let Some(message) = info.error_detail.and_then(|d| d.message) {
                        return Err(EngineError::Api {
                            message: Some(message.clone()),
                            source: message.into(),
                        });
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(EngineError::Api {
                        message: Some(error.clone()),
                        source: error.into(),
                    });
                }
                Err(e @ bollard::errors::Error::DockerResponseServerError { .. }) => {
                    return Err(api(e));
                }
                Err(e) => return Err(self.down(e)),
            }
        }
        Ok(())
    }
}
