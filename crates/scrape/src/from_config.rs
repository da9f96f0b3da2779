//! Turning the `scrape_configs` of a loaded configuration into scrape pools: targets, request
//! settings and the HTTP client of each job.

use std::sync::Arc;

use bongsu_config::{Config, ScrapeConfig};
use bongsu_discovery::static_groups;
use bongsu_httpclient::client;
use bongsu_model::Labels;
use bongsu_relabel::relabel;

use super::append::SampleRules;
use super::fetch::accept_header;
use super::histograms::{pick_schema, HistogramRules};
use super::manager::{FileSd, PoolSpec};
use super::scrape_loop::LoopSettings;

/// The pools of every job in `config`. Fails on the first job bongsu cannot scrape as
/// configured, naming it.
pub fn pool_specs(config: &Config) -> Result<Vec<PoolSpec>, String> {
    config
        .scrape_configs
        .iter()
        .map(|sc| {
            pool_spec(sc).map_err(|e| format!("scrape config with job name {:?}: {e}", sc.job_name))
        })
        .collect()
}

fn pool_spec(sc: &ScrapeConfig) -> Result<PoolSpec, String> {
    let metric_relabel = sc.metric_relabel_configs.clone();
    let settings = LoopSettings {
        interval: sc.scrape_interval,
        timeout: sc.scrape_timeout,
        rules: SampleRules {
            honor_labels: sc.honor_labels,
            honor_timestamps: sc.honor_timestamps,
            track_timestamps_staleness: sc.track_timestamps_staleness,
            sample_limit: to_usize(sc.sample_limit),
            label_limit: to_usize(sc.label_limit),
            label_name_length_limit: to_usize(sc.label_name_length_limit),
            label_value_length_limit: to_usize(sc.label_value_length_limit),
            histograms: HistogramRules {
                native: sc.scrape_native_histograms,
                keep_classic: sc.always_scrape_classic_histograms,
                convert_nhcb: sc.convert_classic_histograms_to_nhcb,
                bucket_limit: to_usize(sc.native_histogram_bucket_limit),
                max_schema: pick_schema(sc.native_histogram_min_bucket_factor),
            },
        },
        body_size_limit: sc.body_size_limit,
        metric_relabel: Box::new(move |l: Labels| {
            if metric_relabel.is_empty() {
                Some(l)
            } else {
                relabel(&l, &metric_relabel)
            }
        }),
        accept: accept_header(&sc.scrape_protocols, sc.metric_name_escaping_scheme),
        fallback: sc.fallback_scrape_protocol,
        http: sc.http.clone(),
    };
    let static_groups = static_groups(&sc.static_configs);
    let file_sd = sc
        .file_sd_configs
        .iter()
        .map(|f| FileSd {
            files: f.files.iter().map(|p| p.display().to_string()).collect(),
            refresh_interval: f.refresh_interval,
        })
        .collect();
    Ok(PoolSpec {
        job: sc.job_name.clone(),
        fingerprint: fingerprint(sc),
        client: client(&sc.http, sc.enable_compression)?,
        settings: Arc::new(settings),
        scheme: sc.scheme.clone(),
        metrics_path: sc.metrics_path.clone(),
        params: sc
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        relabel_configs: sc.relabel_configs.clone(),
        static_groups,
        file_sd,
        target_limit: to_usize(sc.target_limit),
        keep_dropped_targets: to_usize(sc.keep_dropped_targets),
    })
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Identifies everything about a job's scraping. Secrets print as `<secret>` in `Debug`, so
/// their values are hashed in too: a changed password restarts the job's loops.
fn fingerprint(sc: &ScrapeConfig) -> String {
    let h = &sc.http;
    let mut secrets = xxhash_rust::xxh3::Xxh3::new();
    if let Some(b) = &h.basic_auth {
        secrets.update(b.password.expose().as_bytes());
    }
    if let Some(a) = &h.authorization {
        secrets.update(a.credentials.expose().as_bytes());
    }
    secrets.update(h.tls_config.key.expose().as_bytes());
    for v in h.http_headers.values() {
        for s in &v.secrets {
            secrets.update(s.expose().as_bytes());
        }
    }
    format!("{sc:?}/{:x}", secrets.digest())
}
