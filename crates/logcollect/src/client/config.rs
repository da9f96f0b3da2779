//! One entry of `clients:` in `promtail.yml`, with Promtail's keys and defaults. The HTTP
//! client keys (`basic_auth`, `bearer_token`, `tls_config`, `proxy_url`, …) are inline, as in
//! Promtail, and validated with Prometheus' words by `bongsu-httpclient`.

use std::collections::BTreeMap;
use std::time::Duration;

use bongsu_httpclient::{inline_http_client, HttpClientConfig};
use serde::Deserialize;

use super::ClientError;

/// Promtail's defaults.
pub const DEFAULT_BATCH_WAIT: Duration = Duration::from_secs(1);
pub const DEFAULT_BATCH_SIZE: usize = 1 << 20;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(500);
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(300);
pub const DEFAULT_MAX_RETRIES: u32 = 10;
/// The largest `batchsize` bongsu accepts: a bound on the memory of each tenant's batch.
pub const MAX_BATCH_SIZE: usize = 64 << 20;

/// `backoff_config`: the waits between retries of a batch, doubling from `min_period` up to
/// `max_period`, for at most `max_retries` attempts (0: retry until stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffConfig {
    #[serde(
        default = "min_period",
        deserialize_with = "bongsu_model::units::duration"
    )]
    pub min_period: Duration,
    #[serde(
        default = "max_period",
        deserialize_with = "bongsu_model::units::duration"
    )]
    pub max_period: Duration,
    #[serde(default = "max_retries")]
    pub max_retries: u32,
}

fn min_period() -> Duration {
    DEFAULT_MIN_BACKOFF
}
fn max_period() -> Duration {
    DEFAULT_MAX_BACKOFF
}
fn max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

impl Default for BackoffConfig {
    fn default() -> BackoffConfig {
        BackoffConfig {
            min_period: DEFAULT_MIN_BACKOFF,
            max_period: DEFAULT_MAX_BACKOFF,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

inline_http_client! {
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawClientConfig {
        #[serde(default)]
        name: String,
        #[serde(default)]
        url: String,
        #[serde(default, deserialize_with = "bongsu_model::units::opt_duration")]
        batchwait: Option<Duration>,
        #[serde(default)]
        batchsize: Option<usize>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        backoff_config: BackoffConfig,
        #[serde(default)]
        external_labels: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "bongsu_model::units::opt_duration")]
        timeout: Option<Duration>,
        #[serde(default)]
        tenant_id: String,
        #[serde(default)]
        drop_rate_limited_batches: bool,
    }
}

/// A Loki-push client's settings, defaults applied.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub name: String,
    pub url: String,
    pub batch_wait: Duration,
    pub batch_size: usize,
    /// Extra request headers; a header the client sets itself is not overridden.
    pub headers: BTreeMap<String, String>,
    pub backoff: BackoffConfig,
    /// Added to every stream; a stream's own label of the same name wins.
    pub external_labels: BTreeMap<String, String>,
    pub timeout: Duration,
    /// `X-Scope-OrgID` of streams without a `__tenant_id__` label; empty: no header.
    pub tenant_id: String,
    /// Drop a batch answered 429 at once instead of retrying it.
    pub drop_rate_limited_batches: bool,
    pub http: HttpClientConfig,
}

impl<'de> Deserialize<'de> for ClientConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ClientConfig, D::Error> {
        let raw = RawClientConfig::deserialize(d)?;
        ClientConfig::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

impl ClientConfig {
    /// A client of `url` with every other setting at Promtail's default.
    pub fn new(url: impl Into<String>) -> ClientConfig {
        let mut http = HttpClientConfig::default();
        http.follow_redirects = true;
        http.enable_http2 = true;
        ClientConfig {
            name: String::new(),
            url: url.into(),
            batch_wait: DEFAULT_BATCH_WAIT,
            batch_size: DEFAULT_BATCH_SIZE,
            headers: BTreeMap::new(),
            backoff: BackoffConfig::default(),
            external_labels: BTreeMap::new(),
            timeout: DEFAULT_TIMEOUT,
            tenant_id: String::new(),
            drop_rate_limited_batches: false,
            http,
        }
    }

    fn from_raw(mut raw: RawClientConfig) -> Result<ClientConfig, ClientError> {
        let http = raw
            .take_http(true)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        if let Some(key) = http.unsupported() {
            return Err(ClientError::Config(format!(
                "clients: {key} is not supported by bongsu yet"
            )));
        }
        let c = ClientConfig {
            name: raw.name,
            url: raw.url,
            batch_wait: raw
                .batchwait
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_BATCH_WAIT),
            batch_size: raw
                .batchsize
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_BATCH_SIZE),
            headers: raw.headers,
            backoff: raw.backoff_config,
            external_labels: raw.external_labels,
            timeout: raw
                .timeout
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_TIMEOUT),
            tenant_id: raw.tenant_id,
            drop_rate_limited_batches: raw.drop_rate_limited_batches,
            http,
        };
        c.validate()?;
        Ok(c)
    }

    /// Promtail's checks when a client starts, and bongsu's bounds.
    pub fn validate(&self) -> Result<(), ClientError> {
        if self.url.is_empty() {
            return Err(ClientError::Config("client needs target URL".into()));
        }
        reqwest::Url::parse(&self.url)
            .map_err(|e| ClientError::Config(format!("parse {:?}: {e}", self.url)))?;
        if self.batch_size > MAX_BATCH_SIZE {
            return Err(ClientError::Config(format!(
                "clients: batchsize {} is above bongsu's limit of {MAX_BATCH_SIZE}",
                self.batch_size
            )));
        }
        if self.backoff.min_period > self.backoff.max_period {
            return Err(ClientError::Config(
                "clients: backoff_config min_period must not be above max_period".into(),
            ));
        }
        Ok(())
    }

    /// The URL's host (with port), the `host` label of the client's metrics.
    pub fn host(&self) -> String {
        reqwest::Url::parse(&self.url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_promtails() {
        let c: ClientConfig =
            serde_yaml_ng::from_str("url: http://loki:3100/loki/api/v1/push").unwrap();
        assert_eq!(c.batch_wait, Duration::from_secs(1));
        assert_eq!(c.batch_size, 1 << 20);
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.backoff, BackoffConfig::default());
        assert_eq!(c.host(), "loki:3100");
        assert!(c.http.follow_redirects && c.http.enable_http2);
    }

    #[test]
    fn every_key_reads() {
        let c: ClientConfig = serde_yaml_ng::from_str(
            "url: https://logs.example/loki/api/v1/push\nname: remote\nbatchwait: 5s\n\
             batchsize: 2048\ntimeout: 3s\ntenant_id: t1\nheaders: {X-A: b}\n\
             external_labels: {host: h1}\ndrop_rate_limited_batches: true\n\
             backoff_config: {min_period: 1s, max_period: 10s, max_retries: 3}\n\
             basic_auth: {username: u, password: p}\ntls_config: {insecure_skip_verify: true}\n",
        )
        .unwrap();
        assert_eq!(c.batch_wait, Duration::from_secs(5));
        assert_eq!(c.batch_size, 2048);
        assert_eq!(c.backoff.max_retries, 3);
        assert_eq!(c.tenant_id, "t1");
        assert!(c.drop_rate_limited_batches && c.http.basic_auth.is_some());
        assert!(c.http.tls_config.insecure_skip_verify);
    }

    #[test]
    fn errors() {
        let err = |y: &str| {
            serde_yaml_ng::from_str::<ClientConfig>(y)
                .unwrap_err()
                .to_string()
        };
        assert!(err("batchwait: 1s").contains("client needs target URL"));
        assert!(err("url: http://x\nbogus: 1").contains("unknown field"));
        assert!(
            err("url: http://x\nbearer_token: a\nbasic_auth: {username: u}")
                .contains("at most one of basic_auth")
        );
        assert!(
            err("url: http://x\noauth2: {client_id: a}").contains("not supported by bongsu yet")
        );
    }
}
