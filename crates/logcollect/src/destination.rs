//! Where collected lines go. [`Destination`] is what the tailer and the syslog targets need:
//! deliver a batch (with the file collector's checkpoint, its read positions after the batch),
//! and give back the last checkpoint delivered. [`LocalStore`] is the local log store, which
//! keeps the checkpoint in the same WAL frame as the lines: exactly once across crashes.
//! [`RemoteClients`] are a file's `clients`: every batch to each client, at least once, no
//! checkpoint (the positions file is then the truth).

use std::collections::HashMap;
use std::sync::Arc;

use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::Labels;
use bongsu_storage::logs::{CheckpointedLogAppendable, LogAppendReport, LogRejection};
use bongsu_storage::StorageError;

use crate::client::{Client, ClientError, TENANT_LABEL};
use crate::config::LimitsConfig;
use crate::metrics::METRICS;
use crate::Entry;

/// The consumer name the file collector's checkpoint has in the local store.
pub const LOCAL_CONSUMER: &str = "logcollect/files";

/// A destination for batches of collected lines.
pub trait Destination: Send + Sync {
    /// Delivers `streams`; on `Ok` the lines (those not refused) are durable at the
    /// destination, and so is `checkpoint` if given and the destination keeps checkpoints.
    fn deliver(
        &self,
        streams: &[LogStream],
        checkpoint: Option<&[u8]>,
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
        checkpoint: Option<&[u8]>,
    ) -> Result<LogAppendReport, StorageError> {
        // `__tenant_id__` (the `tenant` stage) routes entries between clients' tenants; the
        // local store has one tenant, so the label is not part of the stream.
        let stripped: Vec<LogStream>;
        let streams = if streams.iter().any(|s| s.labels.get(TENANT_LABEL).is_some()) {
            stripped = streams
                .iter()
                .map(|s| LogStream {
                    labels: s.labels.without(&[TENANT_LABEL]),
                    entries: s.entries.clone(),
                })
                .collect();
            &stripped
        } else {
            streams
        };
        match checkpoint {
            Some(c) => self
                .0
                .append_logs_with_checkpoint(streams, LOCAL_CONSUMER, c),
            None => self.0.append_logs(streams),
        }
    }

    fn checkpoint(&self) -> Option<Vec<u8>> {
        self.0.log_checkpoint(LOCAL_CONSUMER)
    }
}

/// A file's `clients`: a batch is delivered when every client acknowledged it or gave it up
/// (a 4xx, retries exhausted: counted in the clients' `promtail_dropped_entries_total`).
pub struct RemoteClients {
    pub clients: Vec<Client>,
    /// The runtime the clients' tasks run on; delivery blocks the caller's thread on it.
    pub runtime: tokio::runtime::Handle,
}

impl Destination for RemoteClients {
    fn deliver(
        &self,
        streams: &[LogStream],
        _checkpoint: Option<&[u8]>,
    ) -> Result<LogAppendReport, StorageError> {
        let entries: Vec<Entry> = streams
            .iter()
            .flat_map(|s| {
                s.entries.iter().map(|e| Entry {
                    labels: s.labels.clone(),
                    ts: e.ts,
                    line: e.line.clone(),
                    metadata: e.metadata.clone(),
                })
            })
            .collect();
        let sends: Vec<_> = self
            .clients
            .iter()
            .map(|c| c.send(entries.clone()))
            .collect();
        let results = self.runtime.block_on(async move {
            let mut results = Vec::with_capacity(sends.len());
            for send in sends {
                results.push(send.await);
            }
            results
        });
        for r in results {
            match r {
                Ok(()) | Err(ClientError::Dropped { .. }) => {}
                Err(e) => return Err(StorageError::new(e)),
            }
        }
        Ok(LogAppendReport {
            appended: entries.len() as u64,
            rejected: Vec::new(),
        })
    }

    fn checkpoint(&self) -> Option<Vec<u8>> {
        None
    }
}

/// `limits_config.max_line_size` on what the pipelines let through, then one stream per
/// label set.
pub(crate) fn limit_and_group(entries: Vec<Entry>, limits: &LimitsConfig) -> Vec<LogStream> {
    let max = usize::try_from(limits.max_line_size).unwrap_or(usize::MAX);
    let mut by_labels: HashMap<Labels, Vec<LogEntry>> = HashMap::new();
    for mut e in entries {
        if max > 0 && e.line.len() > max {
            if !limits.max_line_size_truncate {
                METRICS.dropped.with(&["line_too_long"]).inc();
                continue;
            }
            let mut cut = max;
            while !e.line.is_char_boundary(cut) {
                cut -= 1;
            }
            e.line.truncate(cut);
            METRICS.truncated.inc();
        }
        by_labels.entry(e.labels).or_default().push(LogEntry {
            ts: e.ts,
            line: e.line,
            metadata: e.metadata,
        });
    }
    by_labels
        .into_iter()
        .map(|(labels, entries)| LogStream { labels, entries })
        .collect()
}

/// The `reason` label a store refusal is counted under.
pub(crate) fn rejection_reason(why: &LogRejection) -> &'static str {
    match why {
        LogRejection::TooFarBehind { .. } => "too_far_behind",
        LogRejection::TooOld { .. } => "too_old",
        LogRejection::StreamLimit { .. } => "stream_limit",
        LogRejection::LineTooLong { .. } => "line_too_long",
    }
}
