//! The scrape targets' metric metadata as the remote-write queues send it to 1.0 receivers
//! (Prometheus' metadata watcher reads the active targets the same way).

use std::collections::BTreeSet;

use bongsu_exposition::MetricType as Exposed;
use bongsu_remotewrite::{MetricMetadata, MetricType};
use bongsu_scrape::manager::ScrapeManager;

/// Every active target's metadata, one entry per distinct (family, type, help, unit).
pub fn active_targets_metadata(scrape: &ScrapeManager) -> Vec<MetricMetadata> {
    let mut out = BTreeSet::new();
    for pool in scrape.pools() {
        for target in pool.active() {
            for (family, m) in target.metadata().iter() {
                out.insert(MetricMetadata {
                    family: family.clone(),
                    kind: wire_type(m.kind),
                    help: m.help.clone(),
                    unit: m.unit.clone(),
                });
            }
        }
    }
    out.into_iter().collect()
}

fn wire_type(kind: Option<Exposed>) -> MetricType {
    match kind {
        Some(Exposed::Counter) => MetricType::Counter,
        Some(Exposed::Gauge) => MetricType::Gauge,
        Some(Exposed::Histogram) => MetricType::Histogram,
        Some(Exposed::GaugeHistogram) => MetricType::Gaugehistogram,
        Some(Exposed::Summary) => MetricType::Summary,
        Some(Exposed::Info) => MetricType::Info,
        Some(Exposed::StateSet) => MetricType::Stateset,
        Some(Exposed::Unknown) | None => MetricType::Unknown,
    }
}
