//! The Alertmanager's metric families on `/metrics`, with Alertmanager's names: alerts and
//! silences by state, received alerts, configuration reloads and the build; the store, the
//! dispatcher and the notification pipeline add theirs.

use std::sync::atomic::Ordering;

use jiff::Timestamp;
use md5::{Digest, Md5};

use bongsu_telemetry::{build_info, BuildInfo, Encoder, Family, Gauge, BUILD_INFO_LABELS};

use super::Alertmanager;

static ALERTS: Family = Family::gauge(
    "alertmanager_alerts",
    "How many alerts by state.",
    &["state"],
);
static RECEIVED: Family = Family::counter(
    "alertmanager_alerts_received_total",
    "The total number of received alerts.",
    &["status", "version"],
);
static INVALID: Family = Family::counter(
    "alertmanager_alerts_invalid_total",
    "The total number of received alerts that were invalid.",
    &["version"],
);
static SILENCES: Family = Family::gauge(
    "alertmanager_silences",
    "How many silences by state.",
    &["state"],
);
static CONFIG_HASH: Family = Family::gauge(
    "alertmanager_config_hash",
    "Hash of the currently loaded alertmanager configuration. Note that this is not a cryptographically strong hash.",
    &[],
);
static RELOAD_SUCCESSFUL: Family = Family::gauge(
    "alertmanager_config_last_reload_successful",
    "Whether the last configuration reload attempt was successful.",
    &[],
);
static RELOAD_SUCCESS_TIME: Family = Family::gauge(
    "alertmanager_config_last_reload_success_timestamp_seconds",
    "Timestamp of the last successful configuration reload.",
    &[],
);
static BUILD_INFO: Family = Family::gauge(
    "alertmanager_build_info",
    "A metric with a constant '1' value labeled by version, revision, branch, goversion from which alertmanager was built, and the goos and goarch for the build.",
    BUILD_INFO_LABELS,
);

/// What `/api/v2/status` reports as `versionInfo`.
pub(crate) const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    revision: "",
    branch: "",
    goversion: "",
};

/// The outcome of the latest configuration load.
#[derive(Default)]
pub(super) struct Reloads {
    successful: Gauge,
    success_time: Gauge,
}

impl Reloads {
    pub(super) fn record(&self, ok: bool, now: Timestamp) {
        self.successful.set(if ok { 1.0 } else { 0.0 });
        if ok {
            self.success_time.set(now.as_nanosecond() as f64 / 1e9);
        }
    }
}

/// Alertmanager's hash of a configuration's text: the first 48 bits of its MD5 (a float
/// holds them exactly), read little-endian.
fn config_hash(text: &str) -> f64 {
    let sum = Md5::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes[..6].copy_from_slice(&sum[..6]);
    u64::from_le_bytes(bytes) as f64
}

impl Alertmanager {
    /// Writes the Alertmanager's metric families.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        let now = self.clock.now();
        let (mut active, mut suppressed, mut unprocessed) = (0, 0, 0);
        let running = self.running();
        if let Some(run) = &running {
            for a in self.store.list() {
                if a.resolved_at(now) {
                    continue;
                }
                if !self.store.is_processed(a.fingerprint()) {
                    unprocessed += 1;
                } else if !self.silences.mutes(&a.labels).is_empty()
                    || run.inhibitor.inhibited_by(&a.labels).is_some()
                {
                    suppressed += 1;
                } else {
                    active += 1;
                }
            }
        }
        enc.family(&ALERTS)
            .sample(&["active"], active as f64)
            .sample(&["suppressed"], suppressed as f64)
            .sample(&["unprocessed"], unprocessed as f64);
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed) as f64;
        enc.family(&RECEIVED)
            .sample(&["firing", "v2"], load(&self.received_firing))
            .sample(&["resolved", "v2"], load(&self.received_resolved));
        enc.family(&INVALID)
            .sample(&["v2"], load(&self.received_invalid));
        let mut silences = enc.family(&SILENCES);
        for (state, n) in self.silences.count_by_state() {
            silences.sample(&[state.as_str()], n as f64);
        }
        if let Some(run) = &running {
            enc.single(&CONFIG_HASH, config_hash(&run.config.original));
        }
        enc.single(&RELOAD_SUCCESSFUL, self.reloads.successful.get());
        enc.single(&RELOAD_SUCCESS_TIME, self.reloads.success_time.get());
        build_info(enc, &BUILD_INFO, &BUILD);
        self.store.write_metrics(enc);
        if let Some(run) = &running {
            run.dispatcher.write_metrics(enc);
        }
        crate::notify::write_metrics(&self.metrics, enc);
    }
}
