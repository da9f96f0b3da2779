//! The limits of the log push endpoints: Loki's `limits_config` and distributor settings that
//! decide what a push may contain, with Loki's defaults, and the ingestion rate limiter.
//!
//! bongsu has one tenant. `X-Scope-OrgID` is ignored and messages name the tenant `fake`, as a
//! Loki with `auth_enabled: false` does; the rate limit is that tenant's.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The tenant named in messages: Loki's tenant when authentication is off.
pub const TENANT: &str = "fake";

const MIB: usize = 1 << 20;

/// Loki's `max_line_size` default (256KB as Loki's `flagext.ByteSize` reads it).
pub const DEFAULT_MAX_LINE_SIZE: usize = 256 << 10;
/// Loki's `max_label_names_per_series`.
pub const DEFAULT_MAX_LABEL_NAMES_PER_SERIES: usize = 15;
/// Loki's `max_label_name_length`.
pub const DEFAULT_MAX_LABEL_NAME_LENGTH: usize = 1024;
/// Loki's `max_label_value_length`.
pub const DEFAULT_MAX_LABEL_VALUE_LENGTH: usize = 2048;
/// Loki's `max_structured_metadata_size` (64KB).
pub const DEFAULT_MAX_STRUCTURED_METADATA_SIZE: usize = 64 << 10;
/// Loki's `max_structured_metadata_entries_count`.
pub const DEFAULT_MAX_STRUCTURED_METADATA_COUNT: usize = 128;
/// Loki's `reject_old_samples_max_age` (7d).
pub const DEFAULT_REJECT_OLD_SAMPLES_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Loki's `creation_grace_period` (10m): how far ahead of the clock a line may be.
pub const DEFAULT_CREATION_GRACE_PERIOD: Duration = Duration::from_secs(10 * 60);
/// Loki's `ingestion_rate_mb` (4), in bytes per second.
pub const DEFAULT_INGESTION_RATE_BYTES: usize = 4 * MIB;
/// Loki's `ingestion_burst_size_mb` (6), in bytes.
pub const DEFAULT_INGESTION_BURST_BYTES: usize = 6 * MIB;
/// Loki's `-distributor.max-recv-msg-size`: the largest body read.
pub const DEFAULT_MAX_BODY_BYTES: usize = 100 * MIB;
/// Largest decompressed body. Loki's default is 50 times the body limit (5000 MiB); bongsu
/// bounds it lower because decoding multiplies memory and the in-flight budget must hold one
/// request at the limit. Collectors send 1 MiB batches.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 256 * MIB;

/// Loki's default `discover_service_name`: labels copied to `service_name`, first found wins.
pub const DEFAULT_DISCOVER_SERVICE_NAME: &[&str] = &[
    "service",
    "app",
    "application",
    "app_name",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
    "k8s_job_name",
];

/// Loki's `distributor.otlp.default_resource_attributes_as_index_labels`.
pub const DEFAULT_OTLP_RESOURCE_ATTRIBUTES_AS_INDEX_LABELS: &[&str] = &[
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];

/// What a push may contain. `Default` is Loki's defaults (bounded sizes aside, see
/// [`DEFAULT_MAX_DECOMPRESSED_BYTES`]); a field at 0 turns its limit off, as in Loki.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLimits {
    pub max_line_size: usize,
    /// Cut longer lines to `max_line_size` (ending with `max_line_size_truncate_identifier`)
    /// instead of refusing them.
    pub max_line_size_truncate: bool,
    pub max_line_size_truncate_identifier: String,
    pub max_label_names_per_series: usize,
    pub max_label_name_length: usize,
    pub max_label_value_length: usize,
    pub allow_structured_metadata: bool,
    pub max_structured_metadata_size: usize,
    pub max_structured_metadata_count: usize,
    pub reject_old_samples: bool,
    pub reject_old_samples_max_age: Duration,
    pub creation_grace_period: Duration,
    /// Bytes per second of lines and structured metadata; 0 turns rate limiting off.
    pub ingestion_rate_bytes: usize,
    pub ingestion_burst_bytes: usize,
    /// Labels copied to `service_name` when a stream has none; empty turns it off.
    pub discover_service_name: Vec<String>,
    /// Add `detected_level` structured metadata to lines that do not carry a level.
    pub discover_log_levels: bool,
    /// OTLP resource attributes that become stream labels; the others are structured metadata.
    pub otlp_resource_attributes_as_index_labels: Vec<String>,
    /// Fields of Elasticsearch `_bulk` documents that become stream labels (dotted paths);
    /// a request's `_stream_fields` argument replaces them.
    pub elasticsearch_label_fields: Vec<String>,
    pub max_body_bytes: usize,
    pub max_decompressed_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> LogLimits {
        LogLimits {
            max_line_size: DEFAULT_MAX_LINE_SIZE,
            max_line_size_truncate: false,
            max_line_size_truncate_identifier: String::new(),
            max_label_names_per_series: DEFAULT_MAX_LABEL_NAMES_PER_SERIES,
            max_label_name_length: DEFAULT_MAX_LABEL_NAME_LENGTH,
            max_label_value_length: DEFAULT_MAX_LABEL_VALUE_LENGTH,
            allow_structured_metadata: true,
            max_structured_metadata_size: DEFAULT_MAX_STRUCTURED_METADATA_SIZE,
            max_structured_metadata_count: DEFAULT_MAX_STRUCTURED_METADATA_COUNT,
            reject_old_samples: true,
            reject_old_samples_max_age: DEFAULT_REJECT_OLD_SAMPLES_MAX_AGE,
            creation_grace_period: DEFAULT_CREATION_GRACE_PERIOD,
            ingestion_rate_bytes: DEFAULT_INGESTION_RATE_BYTES,
            ingestion_burst_bytes: DEFAULT_INGESTION_BURST_BYTES,
            discover_service_name: DEFAULT_DISCOVER_SERVICE_NAME
                .iter()
                .map(|s| s.to_string())
                .collect(),
            discover_log_levels: true,
            otlp_resource_attributes_as_index_labels:
                DEFAULT_OTLP_RESOURCE_ATTRIBUTES_AS_INDEX_LABELS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            elasticsearch_label_fields: super::elasticsearch::DEFAULT_LABEL_FIELDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// A token bucket of bytes, as Go's `rate.Limiter` used by Loki's distributor: a request
/// either fits entirely (and takes its bytes) or is refused without taking any.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(rate_bytes: usize, burst_bytes: usize) -> RateLimiter {
        RateLimiter {
            rate: rate_bytes as f64,
            burst: burst_bytes as f64,
            state: Mutex::new((burst_bytes as f64, Instant::now())),
        }
    }

    /// Takes `n` bytes at `now` if they fit; a rate of 0 allows everything.
    pub fn allow(&self, now: Instant, n: usize) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let mut state = self.state.lock();
        let (tokens, last) = *state;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let tokens = (tokens + elapsed * self.rate).min(self.burst);
        let last = last.max(now);
        if n as f64 <= tokens {
            *state = (tokens - n as f64, last);
            true
        } else {
            *state = (tokens, last);
            false
        }
    }

    /// The limit as Loki prints it (bytes per second).
    pub fn limit(&self) -> u64 {
        self.rate as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_is_a_token_bucket() {
        let rl = RateLimiter::new(100, 150);
        let t0 = Instant::now();
        assert!(rl.allow(t0, 150));
        assert!(!rl.allow(t0, 1));
        // Half a second refills 50 bytes; a refused request takes nothing.
        let t1 = t0 + Duration::from_millis(500);
        assert!(!rl.allow(t1, 60));
        assert!(rl.allow(t1, 50));
        // Never more than the burst.
        let t2 = t1 + Duration::from_secs(100);
        assert!(!rl.allow(t2, 151));
        assert!(rl.allow(t2, 150));
        assert!(RateLimiter::new(0, 0).allow(t2, usize::MAX));
    }
}
