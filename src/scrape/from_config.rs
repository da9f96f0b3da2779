//! Turning the `scrape_configs` of a loaded configuration into scrape pools: targets, request
//! settings and the HTTP client of each job.

use std::sync::Arc;

use crate::config::{Config, HttpClientConfig, ScrapeConfig, ScrapeProtocol, TlsVersion};
use crate::model::Labels;
use crate::relabel::relabel;

use super::append::SampleRules;
use super::discovery::static_groups;
use super::fetch::accept_header;
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
    let mut media = Vec::with_capacity(sc.scrape_protocols.len());
    for p in &sc.scrape_protocols {
        if *p == ScrapeProtocol::PrometheusProto {
            return Err("scrape protocol PrometheusProto is not supported by bongsu yet".into());
        }
        media.push(p.header());
    }
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
        },
        body_size_limit: sc.body_size_limit,
        metric_relabel: Box::new(move |l: Labels| {
            if metric_relabel.is_empty() {
                Some(l)
            } else {
                relabel(&l, &metric_relabel)
            }
        }),
        accept: accept_header(&media),
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

/// The HTTP client of a job (or an Alertmanager notifier), from its TLS, proxy and redirect
/// settings.
pub fn client(http: &HttpClientConfig, compression: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder();
    if !http.follow_redirects {
        b = b.redirect(reqwest::redirect::Policy::none());
    }
    if !compression {
        b = b.no_gzip();
    }
    if !http.enable_http2 {
        b = b.http1_only();
    }
    let tls = &http.tls_config;
    if !tls.server_name.is_empty() {
        return Err("tls_config.server_name is not supported by bongsu yet".into());
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    let pem = |inline: &str,
               file: &Option<std::path::PathBuf>,
               what: &str|
     -> Result<Option<Vec<u8>>, String> {
        match file {
            Some(f) => std::fs::read(f)
                .map(Some)
                .map_err(|e| format!("cannot read {what} {}: {e}", f.display())),
            None if inline.is_empty() => Ok(None),
            None => Ok(Some(inline.as_bytes().to_vec())),
        }
    };
    if let Some(ca) = pem(&tls.ca, &tls.ca_file, "ca_file")? {
        for cert in reqwest::Certificate::from_pem_bundle(&ca)
            .map_err(|e| format!("bad CA certificate: {e}"))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    let cert = pem(&tls.cert, &tls.cert_file, "cert_file")?;
    let key = pem(tls.key.expose(), &tls.key_file, "key_file")?;
    match (cert, key) {
        (Some(mut cert), Some(key)) => {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let id = reqwest::Identity::from_pem(&cert)
                .map_err(|e| format!("bad client certificate or key: {e}"))?;
            b = b.identity(id);
        }
        (None, None) => {}
        _ => return Err("tls_config needs both a client certificate and its key".into()),
    }
    let version = |v: TlsVersion| match v {
        TlsVersion::Tls10 => reqwest::tls::Version::TLS_1_0,
        TlsVersion::Tls11 => reqwest::tls::Version::TLS_1_1,
        TlsVersion::Tls12 => reqwest::tls::Version::TLS_1_2,
        TlsVersion::Tls13 => reqwest::tls::Version::TLS_1_3,
    };
    if let Some(v) = tls.min_version {
        b = b.min_tls_version(version(v));
    }
    if let Some(v) = tls.max_version {
        b = b.max_tls_version(version(v));
    }
    match &http.proxy_url {
        Some(url) => {
            let mut proxy =
                reqwest::Proxy::all(url.as_str()).map_err(|e| format!("bad proxy_url: {e}"))?;
            if let Some(np) = &http.no_proxy {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(np));
            }
            b = b.proxy(proxy);
        }
        None if !http.proxy_from_environment => b = b.no_proxy(),
        None => {}
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}
