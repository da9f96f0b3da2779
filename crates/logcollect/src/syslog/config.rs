//! A scrape config's `syslog` block, with Promtail's keys and defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::SyslogError;

/// Promtail's default idle timeout of a TCP connection.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Promtail's default `max_message_length`, in bytes.
pub const DEFAULT_MAX_MESSAGE_LENGTH: usize = 8192;
/// The largest `max_message_length` bongsu accepts: a bound on the buffer of each connection.
pub const MAX_MESSAGE_LENGTH_LIMIT: usize = 16 << 20;

/// Transport of a syslog listener (`listen_protocol`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

/// Message format (`syslog_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    #[default]
    Rfc5424,
    Rfc3164,
}

/// The listener's TLS files. Promtail reads only these three of Prometheus' `tls_config`; the
/// other keys are accepted, as Promtail accepts them, and have no effect (bongsu logs them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogTlsConfig {
    /// The server certificate (PEM).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    ca: Option<String>,
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    insecure_skip_verify: Option<bool>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
}

impl SyslogTlsConfig {
    /// Whether TLS is on: Promtail turns it on when any of the three files is named.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some() || self.ca_file.is_some()
    }

    /// The keys that were set but that a syslog listener does not use (as in Promtail).
    pub fn ignored_keys(&self) -> Vec<&'static str> {
        let set = [
            ("ca", self.ca.is_some()),
            ("cert", self.cert.is_some()),
            ("key", self.key.is_some()),
            ("server_name", self.server_name.is_some()),
            ("insecure_skip_verify", self.insecure_skip_verify.is_some()),
            ("min_version", self.min_version.is_some()),
            ("max_version", self.max_version.is_some()),
        ];
        set.into_iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| k)
            .collect()
    }
}

/// `syslog:` of a scrape config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    pub listen_address: String,
    #[serde(default)]
    pub listen_protocol: Protocol,
    /// Zero (or absent) means Promtail's default, [`DEFAULT_IDLE_TIMEOUT`].
    #[serde(default, deserialize_with = "bongsu_model::units::duration")]
    pub idle_timeout: Duration,
    /// `[example@99999 test="yes"]` becomes `__syslog_message_sd_example_99999_test="yes"`.
    #[serde(default)]
    pub label_structured_data: bool,
    /// Added to every line before relabeling.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub use_incoming_timestamp: bool,
    /// Send the whole RFC 5424 message as the line, not only its MSG part.
    #[serde(default)]
    pub use_rfc5424_message: bool,
    #[serde(default)]
    pub syslog_format: SyslogFormat,
    /// Zero (or absent) means Promtail's default, [`DEFAULT_MAX_MESSAGE_LENGTH`].
    #[serde(default)]
    pub max_message_length: usize,
    #[serde(default)]
    pub tls_config: SyslogTlsConfig,
}

impl SyslogConfig {
    /// The idle timeout in force.
    pub fn idle_timeout(&self) -> Duration {
        if self.idle_timeout.is_zero() {
            DEFAULT_IDLE_TIMEOUT
        } else {
            self.idle_timeout
        }
    }

    /// The message length limit in force.
    pub fn max_message_length(&self) -> usize {
        if self.max_message_length == 0 {
            DEFAULT_MAX_MESSAGE_LENGTH
        } else {
            self.max_message_length
        }
    }

    /// Checks what Promtail checks when the target starts, with its words, and bongsu's bounds.
    pub fn validate(&self) -> Result<(), SyslogError> {
        if self.listen_address.is_empty() {
            return Err(SyslogError::Config(
                "syslog listen_address must be set".into(),
            ));
        }
        if self.labels.keys().any(String::is_empty) {
            return Err(SyslogError::Config(
                "syslog labels: a label name must not be empty".into(),
            ));
        }
        if self.max_message_length() > MAX_MESSAGE_LENGTH_LIMIT {
            return Err(SyslogError::Config(format!(
                "syslog max_message_length {} is above bongsu's limit of {MAX_MESSAGE_LENGTH_LIMIT}",
                self.max_message_length
            )));
        }
        let tls = &self.tls_config;
        if tls.enabled() {
            if self.listen_protocol == Protocol::Udp {
                return Err(SyslogError::Config(
                    "syslog tls_config is for TCP listeners; UDP has no TLS".into(),
                ));
            }
            if tls.cert_file.is_none() || tls.key_file.is_none() {
                return Err(SyslogError::Config(
                    "error setting up syslog target: certificate and key files are required".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_promtails() {
        let c: SyslogConfig = serde_yaml_ng::from_str("listen_address: 0.0.0.0:1514").unwrap();
        assert_eq!(c.listen_protocol, Protocol::Tcp);
        assert_eq!(c.syslog_format, SyslogFormat::Rfc5424);
        assert_eq!(c.idle_timeout(), DEFAULT_IDLE_TIMEOUT);
        assert_eq!(c.max_message_length(), DEFAULT_MAX_MESSAGE_LENGTH);
        assert!(!c.tls_config.enabled());
        c.validate().unwrap();
    }

    #[test]
    fn every_key_reads() {
        let c: SyslogConfig = serde_yaml_ng::from_str(
            "listen_address: 127.0.0.1:0\nlisten_protocol: udp\nidle_timeout: 5m\n\
             label_structured_data: true\nlabels: {job: sys}\nuse_incoming_timestamp: true\n\
             use_rfc5424_message: true\nsyslog_format: rfc3164\nmax_message_length: 100\n",
        )
        .unwrap();
        assert_eq!(c.listen_protocol, Protocol::Udp);
        assert_eq!(c.idle_timeout(), Duration::from_secs(300));
        assert_eq!(c.syslog_format, SyslogFormat::Rfc3164);
        assert_eq!(c.max_message_length(), 100);
        assert_eq!(c.labels.get("job").map(String::as_str), Some("sys"));
        assert!(c.label_structured_data && c.use_incoming_timestamp && c.use_rfc5424_message);
    }

    #[test]
    fn tls_needs_cert_and_key() {
        let c: SyslogConfig =
            serde_yaml_ng::from_str("listen_address: x:1\ntls_config: {key_file: foo}").unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("certificate and key files are required"),
            "{err}"
        );
    }

    #[test]
    fn prometheus_tls_keys_are_accepted_and_named() {
        let c: SyslogConfig = serde_yaml_ng::from_str(
            "listen_address: x:1\ntls_config: {cert_file: c, key_file: k, min_version: TLS12}",
        )
        .unwrap();
        assert_eq!(c.tls_config.ignored_keys(), ["min_version"]);
        c.validate().unwrap();
    }

    #[test]
    fn bad_protocol_and_unknown_keys_fail() {
        assert!(serde_yaml_ng::from_str::<SyslogConfig>(
            "listen_address: x\nlisten_protocol: sctp"
        )
        .is_err());
        assert!(serde_yaml_ng::from_str::<SyslogConfig>("listen_address: x\nbogus: 1").is_err());
    }
}
