//! Where collected lines go. [`Destination`] is what the tailer needs: deliver a batch with the
//! collector's checkpoint (its read positions after the batch), and give back the last
//! checkpoint delivered. [`LocalStore`] is the local log store, which keeps the checkpoint in
//! the same WAL frame as the lines: exactly once across crashes.
//!
//! Not here: remote Loki-push clients (the `client` module), which deliver at least once and
//! keep no checkpoint (the positions file is then the truth).

use std::sync::Arc;

use bongsu_model::log::LogStream;
use bongsu_storage::logs::{CheckpointedLogAppendable, LogAppendReport};
use bongsu_storage::StorageError;

/// The consumer name the file collector's checkpoint has in the local store.
pub const LOCAL_CONSUMER: &str = "logcollect/files";

/// A destination for batches of collected lines.
pub trait Destination: Send + Sync {
    /// Delivers `streams`; on `Ok` the lines (those not refused) are durable at the
    /// destination, and so is `checkpoint` if the destination keeps checkpoints.
    fn deliver(
        &self,
        streams: &[LogStream],
        checkpoint: &[u8],
    ) -> Result<LogAppendReport, StorageError>;

    /// The checkpoint of the last delivery (also after a restart), if the destination keeps
    /// checkpoints; then it, not the positions file, says where reading resumes.
    fn checkpoint(&self) -> Option<Vec<u8>>;
}

/// The local log store.
pub struct LocalStore(pub Arc<dyn CheckpointedLogAppendable>);

impl Destination for LocalStore {
    fn deliver(
        &self,
        streams: &[LogStream],
        checkpoint: &[u8],
    ) -> Result<LogAppendReport, StorageError> {
        self.0
            .append_logs_with_checkpoint(streams, LOCAL_CONSUMER, checkpoint)
    }

    fn checkpoint(&self) -> Option<Vec<u8>> {
        self.0.log_checkpoint(LOCAL_CONSUMER)
    }
}
