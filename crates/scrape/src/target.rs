//! A scrape target: where to scrape, the labels its series get, and its health for the API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use bongsu_model::Labels;

use super::append::Metadata;
use super::histograms::HistogramRules;

/// The last scrape's outcome, as `/api/v1/targets` shows it.
#[derive(Debug, Clone)]
pub struct Health {
    /// `"up"`, `"down"` or `"unknown"` (not scraped yet).
    pub state: &'static str,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: Duration,
    pub last_samples: u64,
}

impl Default for Health {
    fn default() -> Health {
        Health {
            state: "unknown",
            last_error: String::new(),
            last_scrape: None,
            last_duration: Duration::ZERO,
            last_samples: 0,
        }
    }
}

/// One target of a scrape pool.
#[derive(Debug)]
pub struct Target {
    /// The scrape pool (job name) it belongs to.
    pub pool: String,
    /// Labels before relabeling (`__address__`, `__meta_*`, …).
    pub discovered: Labels,
    /// Labels its series get (after relabeling, without `__` labels).
    pub labels: Labels,
    pub url: String,
    /// The job's histogram settings as this target's labels override them (`None`: the
    /// job's, unchanged).
    pub histograms: Option<HistogramRules>,
    health: Mutex<Health>,
    /// HELP/TYPE/UNIT per metric family from the last successful scrape.
    metadata: Mutex<Arc<HashMap<String, Metadata>>>,
}

impl Target {
    pub fn new(pool: String, discovered: Labels, labels: Labels, url: String) -> Target {
        Target {
            pool,
            discovered,
            labels,
            url,
            histograms: None,
            health: Mutex::new(Health::default()),
            metadata: Mutex::default(),
        }
    }

    /// This target with its own histogram settings (from `__scrape_native_histograms__` and
    /// the other override labels).
    pub fn with_histograms(mut self, h: HistogramRules) -> Target {
        self.histograms = Some(h);
        self
    }

    pub fn metadata(&self) -> Arc<HashMap<String, Metadata>> {
        self.metadata.lock().clone()
    }

    pub(super) fn set_metadata(&self, m: Arc<HashMap<String, Metadata>>) {
        *self.metadata.lock() = m;
    }

    pub fn health(&self) -> Health {
        self.health.lock().clone()
    }

    pub(super) fn set_health(&self, h: Health) {
        *self.health.lock() = h;
    }

    /// Identity of the target within its pool: a reload keeps the loop of a target whose
    /// URL and labels did not change.
    pub fn key(&self) -> (String, Labels) {
        (self.url.clone(), self.labels.clone())
    }
}
