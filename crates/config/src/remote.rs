//! `remote_write` and `remote_read`: where samples are sent and read from, and how.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use bongsu_httpclient::HttpClientConfig;
use bongsu_model::units;
use bongsu_relabel::{NameValidationScheme, RelabelConfig};

use super::{check_url, non_null_list, ValidationError};

/// Headers only bongsu may set on remote requests (Prometheus' list; `authorization` is
/// refused separately with a message pointing at the auth keys).
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Checks user headers; `authorization` gets `auth_message` (which differs by section).
pub(crate) fn validate_headers(
    headers: &BTreeMap<String, String>,
    auth_message: &str,
) -> Result<(), ValidationError> {
    for name in headers.keys() {
        let lower = name.to_ascii_lowercase();
        if lower == "authorization" {
            return Err(ValidationError::new(auth_message));
        }
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(ValidationError::new(format!(
                "{name} is a reserved header. It must not be changed"
            )));
        }
    }
    Ok(())
}

const REMOTE_AUTH_HEADER: &str = "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter";

/// The remote-write protobuf message (`protobuf_message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtobufMessage {
    /// Remote write 1.0: `prometheus.WriteRequest`.
    V1,
    /// Remote write 2.0: `io.prometheus.write.v2.Request`.
    V2,
}

impl ProtobufMessage {
    fn parse(s: &str) -> Result<ProtobufMessage, ValidationError> {
        match s {
            "prometheus.WriteRequest" => Ok(ProtobufMessage::V1),
            "io.prometheus.write.v2.Request" => Ok(ProtobufMessage::V2),
            _ => Err(ValidationError::new(format!(
                "invalid protobuf_message value: unknown type for remote write protobuf message {s}, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"
            ))),
        }
    }
}

/// `queue_config`, with Prometheus' defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    pub capacity: i64,
    pub max_shards: i64,
    pub min_shards: i64,
    pub max_samples_per_send: i64,
    #[serde(deserialize_with = "units::duration")]
    pub batch_send_deadline: Duration,
    #[serde(deserialize_with = "units::duration")]
    pub min_backoff: Duration,
    #[serde(deserialize_with = "units::duration")]
    pub max_backoff: Duration,
    #[serde(rename = "retry_on_http_429")]
    pub retry_on_rate_limit: bool,
    #[serde(deserialize_with = "units::duration")]
    pub sample_age_limit: Duration,
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_rate_limit: false,
            sample_age_limit: Duration::ZERO,
        }
    }
}

impl QueueConfig {
    fn validate(&self) -> Result<(), ValidationError> {
        let checks = [
            (
                self.max_samples_per_send <= 0,
                "remote write queue max_samples_per_send must be positive",
            ),
            (
                self.max_shards <= 0,
                "remote write queue max_shards must be positive",
            ),
            (
                self.min_shards <= 0,
                "remote write queue min_shards must be positive",
            ),
            (
                self.capacity <= 0,
                "remote write queue capacity must be positive",
            ),
            (
                self.min_shards > self.max_shards,
                "remote write queue min_shards must not be greater than max_shards",
            ),
            (
                self.max_backoff < self.min_backoff,
                "remote write queue max_backoff must not be less than min_backoff",
            ),
        ];
        match checks.iter().find(|(failed, _)| *failed) {
            Some((_, message)) => Err(ValidationError::new(*message)),
            None => Ok(()),
        }
    }
}

/// `metadata_config`, with Prometheus' defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    pub send: bool,
    #[serde(deserialize_with = "units::duration")]
    pub send_interval: Duration,
    pub max_samples_per_send: i64,
}

impl Default for MetadataConfig {
    fn default() -> MetadataConfig {
        MetadataConfig {
            send: true,
            send_interval: Duration::from_secs(60),
            max_samples_per_send: 2000,
        }
    }
}

bongsu_httpclient::inline_http_client! {
    /// A `remote_write` entry as written.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct RawRemoteWrite {
        #[serde(default)]
        url: Option<String>,
        #[serde(default, deserialize_with = "units::opt_duration")]
        remote_timeout: Option<Duration>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "write_rules")]
        write_relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        name: String,
        #[serde(default)]
        send_exemplars: bool,
        #[serde(default)]
        send_native_histograms: bool,
        #[serde(default)]
        round_robin_dns: bool,
        #[serde(default)]
        protobuf_message: Option<String>,
        #[serde(default)]
        queue_config: QueueConfig,
        #[serde(default)]
        metadata_config: MetadataConfig,
        #[serde(default)]
        sigv4: Option<serde_yaml_ng::Value>,
        #[serde(default)]
        azuread: Option<serde_yaml_ng::Value>,
        #[serde(default)]
        google_iam: Option<serde_yaml_ng::Value>,
    }
}

fn write_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_list(d, "empty or null relabeling rule in remote write config")
}

/// A `remote_write` endpoint, resolved.
#[derive(Debug, Clone)]
pub struct RemoteWriteConfig {
    pub url: String,
    pub remote_timeout: Duration,
    pub headers: BTreeMap<String, String>,
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// May be empty (then an endpoint is named by a hash of its config, as in Prometheus).
    pub name: String,
    pub send_exemplars: bool,
    pub send_native_histograms: bool,
    pub round_robin_dns: bool,
    pub protobuf_message: ProtobufMessage,
    pub queue_config: QueueConfig,
    pub metadata_config: MetadataConfig,
    pub http: HttpClientConfig,
}

impl RemoteWriteConfig {
    pub(crate) fn resolve(
        mut raw: RawRemoteWrite,
        scheme: NameValidationScheme,
        dir: Option<&Path>,
    ) -> Result<RemoteWriteConfig, ValidationError> {
        let url = raw
            .url
            .take()
            .ok_or_else(|| ValidationError::new("url for remote_write is empty"))?;
        check_url(&url)?;
        validate_headers(&raw.headers, REMOTE_AUTH_HEADER)?;
        let protobuf_message = match &raw.protobuf_message {
            Some(m) => ProtobufMessage::parse(m)?,
            None => ProtobufMessage::V1,
        };
        // Remote write turns HTTP/2 off unless asked, as Prometheus does.
        let mut http = raw.take_http(false)?;
        let mut auth: Vec<&str> = Vec::new();
        if http.basic_auth.is_some() {
            auth.push("basic_auth");
        }
        if http.authorization.is_some() {
            auth.push("authorization");
        }
        for (key, set) in [
            ("oauth2", http.unsupported().is_some()),
            ("sigv4", raw.sigv4.is_some()),
            ("azuread", raw.azuread.is_some()),
            ("google_iam", raw.google_iam.is_some()),
        ] {
            if set {
                auth.push(key);
            }
        }
        if auth.len() > 1 {
            return Err(ValidationError::new(format!(
                "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [{}]",
                auth.join(" ")
            )));
        }
        raw.queue_config.validate()?;
        for rule in &mut raw.write_relabel_configs {
            rule.validate(scheme)?;
        }
        if let Some(key) = auth
            .iter()
            .find(|k| !matches!(**k, "basic_auth" | "authorization"))
        {
            return Err(ValidationError::unsupported(key).in_remote("remote_write", &raw.name));
        }
        if let Some(d) = dir {
            http.set_directory(d);
        }
        Ok(RemoteWriteConfig {
            url,
            remote_timeout: raw.remote_timeout.unwrap_or(Duration::from_secs(30)),
            headers: raw.headers,
            write_relabel_configs: raw.write_relabel_configs,
            name: raw.name,
            send_exemplars: raw.send_exemplars,
            send_native_histograms: raw.send_native_histograms,
            round_robin_dns: raw.round_robin_dns,
            protobuf_message,
            queue_config: raw.queue_config,
            metadata_config: raw.metadata_config,
            http,
        })
    }
}

bongsu_httpclient::inline_http_client! {
    /// A `remote_read` entry as written.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct RawRemoteRead {
        #[serde(default)]
        url: Option<String>,
        #[serde(default, deserialize_with = "units::opt_duration")]
        remote_timeout: Option<Duration>,
        #[serde(default)]
        chunked_read_limit: Option<u64>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        read_recent: bool,
        #[serde(default)]
        name: String,
        #[serde(default)]
        required_matchers: BTreeMap<String, String>,
        #[serde(default)]
        filter_external_labels: Option<bool>,
    }
}

impl RawRemoteRead {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// Prometheus' `DefaultChunkedReadLimit`: the largest frame of a streamed answer, in bytes.
pub const DEFAULT_CHUNKED_READ_LIMIT: u64 = 50_000_000;

/// A `remote_read` endpoint, resolved with Prometheus' defaults.
#[derive(Debug, Clone)]
pub struct RemoteReadConfig {
    pub url: String,
    pub remote_timeout: Duration,
    /// Largest frame of a streamed (`STREAMED_XOR_CHUNKS`) answer, in bytes; 0: no limit.
    pub chunked_read_limit: u64,
    pub headers: BTreeMap<String, String>,
    /// Also ask this remote for ranges the local storage covers.
    pub read_recent: bool,
    /// May be empty (then the endpoint is named by its URL in metrics).
    pub name: String,
    /// Only selectors with all these equality matchers are sent to this remote.
    pub required_matchers: BTreeMap<String, String>,
    /// Add the external labels as matchers and remove them from the answer.
    pub filter_external_labels: bool,
    pub http: HttpClientConfig,
}

impl RemoteReadConfig {
    pub(crate) fn resolve(
        mut raw: RawRemoteRead,
        dir: Option<&Path>,
    ) -> Result<RemoteReadConfig, ValidationError> {
        let url = raw
            .url
            .take()
            .ok_or_else(|| ValidationError::new("url for remote_read is empty"))?;
        check_url(&url)?;
        validate_headers(&raw.headers, REMOTE_AUTH_HEADER)?;
        // Remote read keeps HTTP/2 on by default, as Prometheus' common defaults.
        let mut http = raw.take_http(true)?;
        if let Some(key) = http.unsupported() {
            return Err(ValidationError::unsupported(key).in_remote("remote_read", &raw.name));
        }
        if let Some(d) = dir {
            http.set_directory(d);
        }
        Ok(RemoteReadConfig {
            url,
            remote_timeout: raw.remote_timeout.unwrap_or(Duration::from_secs(60)),
            chunked_read_limit: raw.chunked_read_limit.unwrap_or(DEFAULT_CHUNKED_READ_LIMIT),
            headers: raw.headers,
            read_recent: raw.read_recent,
            name: raw.name,
            required_matchers: raw.required_matchers,
            filter_external_labels: raw.filter_external_labels.unwrap_or(true),
            http,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_read_fields_resolve_with_defaults() {
        let raw: RawRemoteRead = serde_yaml_ng::from_str(
            "{url: 'http://r/read', chunked_read_limit: 5, read_recent: true, required_matchers: {job: x}}",
        )
        .unwrap();
        let rr = RemoteReadConfig::resolve(raw, None).unwrap();
        assert_eq!(rr.remote_timeout, Duration::from_secs(60));
        assert_eq!(rr.chunked_read_limit, 5);
        assert!(rr.read_recent && rr.filter_external_labels && rr.http.enable_http2);
        assert_eq!(
            rr.required_matchers.get("job").map(String::as_str),
            Some("x")
        );
        let raw: RawRemoteRead = serde_yaml_ng::from_str(
            "{url: 'http://r/read', filter_external_labels: false, oauth2: {client_id: a, token_url: 'http://t'}}",
        )
        .unwrap();
        let err = RemoteReadConfig::resolve(raw, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("oauth2 is not supported by bongsu yet"),
            "{err}"
        );
    }
}
