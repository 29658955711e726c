//! Images on a simulated host: built locally (an id and a size), saved as an archive stream
//! and loaded from one, as `docker save` / `docker load` do. The archive is fleet's own small
//! format (a header naming the image and its id, then filler up to the image's size): what
//! matters above the seam is that bytes flow, can be cut, and that the id survives the trip.

use bytes::Bytes;
use futures_util::StreamExt;

use super::{MemoryEngine, lock, refused};
use crate::engine::{ArchiveStream, EngineError, ImageFacts};

const MAGIC: &str = "fleet-memory-image";
const CHUNK: usize = 64 * 1024;

impl MemoryEngine {
    /// Makes an image present as if built on this engine: `reference` with this id and size.
    pub fn build_image(&self, reference: &str, id: &str, size: u64) {
        let mut state = lock(&self.state);
        state.images.insert(reference.to_string());
        let facts = ImageFacts {
            id: id.to_string(),
            size,
        };
        state.image_facts.insert(reference.to_string(), facts);
    }

    /// The link is cut once `bytes` bytes of an image load have arrived: the load fails and
    /// the host answers nothing more (as a cable pulled during the stream).
    pub fn cut_loads_after(&self, bytes: u64) {
        lock(&self.state).load_cut_after = Some(bytes);
    }

    pub fn image_facts(&self, reference: &str) -> Option<ImageFacts> {
        let state = lock(&self.state);
        if !state.images.contains(reference) {
            return None;
        }
        Some(
            state
                .image_facts
                .get(reference)
                .cloned()
                .unwrap_or(ImageFacts {
                    id: format!("sha256:{reference}"),
                    size: 0,
                }),
        )
    }

    pub(super) fn save(&self, reference: &str) -> ArchiveStream<'_> {
        let reference = reference.to_string();
        let stream = futures_util::stream::once(async move {
            self.enter("save_image").await?;
            let facts = self
                .image_facts(&reference)
                .ok_or_else(|| refused(&format!("reference does not exist: {reference}")))?;
            let mut archive = format!("{MAGIC}\n{reference}\n{}\n", facts.id).into_bytes();
            let size = usize::try_from(facts.size).unwrap_or(usize::MAX);
            archive.resize(archive.len().max(size), 0);
            let chunks: Vec<Result<Bytes, EngineError>> = archive
                .chunks(CHUNK)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            Ok::<_, EngineError>(futures_util::stream::iter(chunks))
        });
        stream
            .flat_map(|result| match result {
                Ok(chunks) => chunks.boxed(),
                Err(e) => futures_util::stream::once(async { Err(e) }).boxed(),
            })
            .boxed()
    }

    pub(super) async fn load(
        &self,
        mut archive: ArchiveStream<'static>,
    ) -> Result<(), EngineError> {
        let mut received = Vec::new();
        while let Some(chunk) = archive.next().await {
            let chunk = chunk?;
            received.extend_from_slice(&chunk);
            let cut = lock(&self.state).load_cut_after;
            if cut.is_some_and(|after| received.len() as u64 >= after) {
                self.go_down();
                return Err(EngineError::EngineDown {
                    socket: format!("memory://{}", self.name),
                    source: "connection reset during an image load (simulated)".into(),
                });
            }
            // The engine reads as the bytes come; so does a slow link.
            tokio::task::yield_now().await;
        }
        let text = String::from_utf8_lossy(&received[..received.len().min(4096)]).into_owned();
        let mut lines = text.lines();
        let (Some(MAGIC), Some(reference), Some(id)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(refused("invalid tar header (simulated)"));
        };
        self.build_image(reference, id, received.len() as u64);
        Ok(())
    }
}
