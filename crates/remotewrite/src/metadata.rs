//! Metric metadata for Remote-Write 1.0 receivers: Prometheus' metadata watcher. Every
//! `metadata_config.send_interval` the queue asks its [`MetadataSource`] (the binary gives the
//! metadata of the active scrape targets: type, help and unit per metric family) and sends it
//! in requests of at most `max_samples_per_send` entries, retried on recoverable errors like
//! samples. 2.0 receivers get no periodic metadata (Prometheus attaches 2.0 metadata to the
//! series instead).

use std::sync::Arc;
use std::time::Duration;

use bongsu_config::MetadataConfig;
use bongsu_ingest::proto::v1;
pub use bongsu_ingest::proto::v1::MetricType;
use bytes::Bytes;
use prost::Message;
use tokio::sync::watch;
use tracing::{error, warn};

use crate::client::{Endpoint, SendError};
use crate::metrics::QueueMetrics;
use crate::shard::until_stopped;

/// One metric family's metadata.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricMetadata {
    pub family: String,
    pub kind: MetricType,
    pub help: String,
    pub unit: String,
}

/// Where a queue gets the metadata to send: called once per send interval.
pub type MetadataSource = Arc<dyn Fn() -> Vec<MetricMetadata> + Send + Sync>;

/// What the metadata task needs.
pub(crate) struct MetadataTask {
    pub endpoint: Endpoint,
    pub config: MetadataConfig,
    pub source: MetadataSource,
    pub metrics: Arc<QueueMetrics>,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

/// Sends the source's metadata every interval until `stop`.
pub(crate) async fn run(task: MetadataTask, mut stop: watch::Receiver<bool>) {
    let per_request = usize::try_from(task.config.max_samples_per_send)
        .unwrap_or(1)
        .max(1);
    let interval = task.config.send_interval.max(Duration::from_millis(1));
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = until_stopped(&mut stop) => return,
        }
        let all = (task.source)();
        for chunk in all.chunks(per_request) {
            if !send(&task, chunk, &mut stop).await {
                return;
            }
        }
    }
}

/// The snappy-compressed 1.0 request carrying `entries`.
pub(crate) fn encode(entries: &[MetricMetadata]) -> Result<Bytes, snap::Error> {
    let req = v1::WriteRequest {
        metadata: entries
            .iter()
            .map(|m| v1::MetricMetadata {
                r#type: m.kind as i32,
                metric_family_name: Bytes::from(m.family.clone()),
                help: Bytes::from(m.help.clone()),
                unit: Bytes::from(m.unit.clone()),
            })
            .collect(),
        ..v1::WriteRequest::default()
    };
    let raw = req.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map(Bytes::from)
}

/// Sends one request, retrying recoverable errors with backoff. `false` when stopped.
async fn send(
    task: &MetadataTask,
    entries: &[MetricMetadata],
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let n = entries.len() as u64;
    let m = &task.metrics;
    let body = match encode(entries) {
        Ok(b) => b,
        Err(e) => {
            error!(error = %e, "remote write: cannot encode metadata");
            m.metadata_failed.add(n);
            return true;
        }
    };
    let mut backoff = task.min_backoff;
    loop {
        let result = tokio::select! {
            r = task.endpoint.send(body.clone()) => r,
            () = until_stopped(stop) => return false,
        };
        match result {
            Ok(_) => {
                m.metadata_sent.add(n);
                m.metadata_bytes.add(body.len() as u64);
                return true;
            }
            Err(SendError::Permanent(reason)) => {
                error!(url = %m.url, entries = n, error = %reason, "remote write: non-recoverable error sending metadata");
                m.metadata_failed.add(n);
                return true;
            }
            Err(SendError::Recoverable {
                reason,
                retry_after,
            }) => {
                m.metadata_retried.add(n);
                let wait = retry_after.unwrap_or(backoff);
                warn!(url = %m.url, entries = n, error = %reason, retry_in = ?wait, "remote write: failed to send metadata, retrying");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = until_stopped(stop) => return false,
                }
                backoff = (backoff * 2).min(task.max_backoff);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_1_0_metadata_request() {
        let body = encode(&[MetricMetadata {
            family: "http_requests".into(),
            kind: MetricType::Counter,
            help: "Requests.".into(),
            unit: String::new(),
        }])
        .unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let req = v1::WriteRequest::decode(raw.as_slice()).unwrap();
        assert!(req.timeseries.is_empty());
        assert_eq!(req.metadata.len(), 1);
        assert_eq!(req.metadata[0].r#type, MetricType::Counter as i32);
        assert_eq!(&req.metadata[0].metric_family_name[..], b"http_requests");
        assert_eq!(&req.metadata[0].help[..], b"Requests.");
    }
}
