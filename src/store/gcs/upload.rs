//! Uploads from a caller's stream. The storage client wants a `'static` source, so the
//! stream is pumped through a small channel instead; the pump holds back one piece and
//! releases the last only once the stream has ended with exactly the promised size.
//! The client therefore cannot finish an upload that the stream then fails or overruns:
//! an unfinished resumable upload is never committed, so nothing appears under the key.

use super::watchdog::Progress;
use crate::store::{PartStream, StoreError, StoreResult};
use bytes::Bytes;
use futures::StreamExt;
use google_cloud_storage::streaming_source::{SizeHint, StreamingSource};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Why the source stopped early; the real error is returned by the pump.
#[derive(Debug, thiserror::Error)]
#[error("the object's data source failed: {0}")]
pub(super) struct SourceFailed(String);

type Piece = Result<Bytes, SourceFailed>;

pub(super) struct ChannelSource {
    pieces: mpsc::Receiver<Piece>,
    size: u64,
    delivered: u64,
    progress: Arc<Progress>,
}

impl StreamingSource for ChannelSource {
    type Error = SourceFailed;

    async fn next(&mut self) -> Option<Piece> {
        self.progress.set_waiting_on_caller(true);
        let piece = self.pieces.recv().await;
        self.progress.set_waiting_on_caller(false);
        match piece {
            Some(Ok(bytes)) => {
                self.delivered += bytes.len() as u64;
                Some(Ok(bytes))
            }
            Some(Err(e)) => Some(Err(e)),
            // The pump only ends early when it is being torn down; never let that pass
            // for the object's end.
            None if self.delivered != self.size => Some(Err(SourceFailed(format!(
                "ended after {} of {} bytes",
                self.delivered, self.size
            )))),
            None => None,
        }
    }

    async fn size_hint(&self) -> Result<SizeHint, SourceFailed> {
        Ok(SizeHint::with_exact(self.size))
    }
}

/// A source for the client and the pump that feeds it.
pub(super) fn channel(size: u64, progress: Arc<Progress>) -> (ChannelSource, mpsc::Sender<Piece>) {
    let (tx, rx) = mpsc::channel(2);
    let source = ChannelSource {
        pieces: rx,
        size,
        delivered: 0,
        progress,
    };
    (source, tx)
}

/// Moves `body` into `tx`, checking that it holds exactly `size` bytes. Returns the
/// stream's own error, or a size mismatch; either way the source has been told to fail.
pub(super) async fn pump(
    mut body: PartStream<'_>,
    size: u64,
    tx: mpsc::Sender<Piece>,
    mismatch: impl Fn(String) -> StoreError,
) -> StoreResult<()> {
    let mut seen = 0u64;
    let mut held: Option<Bytes> = None;
    let failure = loop {
        match body.next().await {
            Some(Ok(piece)) if piece.is_empty() => {}
            Some(Ok(piece)) => {
                seen += piece.len() as u64;
                if seen > size {
                    break mismatch(format!(
                        "the data is longer than the {size} bytes announced"
                    ));
                }
                if let Some(previous) = held.replace(piece)
                    && tx.send(Ok(previous)).await.is_err()
                {
                    // The upload has already failed; its error is the one to report.
                    return Ok(());
                }
            }
            Some(Err(e)) => break e,
            None if seen < size => {
                break mismatch(format!(
                    "the data ended after {seen} of the {size} bytes announced"
                ));
            }
            None => {
                if let Some(last) = held {
                    let _ = tx.send(Ok(last)).await;
                }
                return Ok(());
            }
        }
    };
    let _ = tx.send(Err(SourceFailed(failure.to_string()))).await;
    Err(failure)
}
