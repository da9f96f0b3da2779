//! The web configuration file (`--web.config.file`) in the exporter-toolkit format Prometheus
//! and Alertmanager read: `tls_server_config`, `http_server_config`, `basic_auth_users`,
//! `rate_limit`. This module parses and checks it, with the toolkit's defaults and error
//! messages; building the TLS acceptor and checking passwords and the rate is `tls` and
//! `auth`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

/// A web configuration file that cannot be used; the messages are the toolkit's where it
/// has one.
#[derive(Debug, Error)]
pub enum WebConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> WebConfigError {
    WebConfigError::Invalid(msg.into())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    tls_server_config: RawTls,
    http_server_config: RawHttp,
    basic_auth_users: BTreeMap<String, String>,
    rate_limit: RawRateLimit,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTls {
    cert: String,
    key: String,
    client_ca: String,
    cert_file: String,
    key_file: String,
    client_auth_type: String,
    client_ca_file: String,
    cipher_suites: Vec<String>,
    curve_preferences: Vec<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    prefer_server_cipher_suites: Option<bool>,
    client_allowed_sans: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawHttp {
    http2: bool,
    headers: BTreeMap<String, String>,
}

impl Default for RawHttp {
    fn default() -> RawHttp {
        RawHttp {
            http2: true,
            headers: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRateLimit {
    burst: i64,
    interval: Option<GoDuration>,
}

/// A Go `time.Duration` in YAML: a duration string, or a number of nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GoDuration {
    Nanos(i64),
    Text(String),
}

/// Where a PEM comes from: a file (re-read when it changes) or the configuration itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Pem {
    File(PathBuf),
    Inline(String),
}

/// Who must show a certificate, and whether it is verified against `client_ca` (Go's
/// `tls.ClientAuthType`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientAuth {
    NoClientCert,
    /// Asked for, taken unverified if given.
    RequestClientCert,
    /// Required, taken unverified.
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    /// Whether a given certificate is checked against `client_ca`.
    pub fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        )
    }
}

/// TLS versions the toolkit names; rustls speaks only 1.2 and 1.3.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsSettings {
    pub cert: Pem,
    pub key: Pem,
    pub client_auth: ClientAuth,
    pub client_ca: Option<Pem>,
    /// Go names of TLS 1.2 suites, checked against what rustls offers; empty: the defaults.
    pub cipher_suites: Vec<String>,
    /// Go names of key exchange groups; empty: the defaults.
    pub curves: Vec<String>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// `client_allowed_sans`: a client certificate must name one of these (DNS name, e-mail,
    /// IP address or URI, compared exactly).
    pub allowed_sans: Option<Vec<String>>,
    /// `http_server_config.http2`: offer HTTP/2 in the handshake.
    pub http2: bool,
}

/// `rate_limit`: a token bucket over all requests, `burst` deep, one token back per
/// `interval`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// A checked web configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebConfig {
    /// `None`: plain HTTP (the file only sets users or headers).
    pub tls: Option<TlsSettings>,
    /// User name to bcrypt hash; empty: no authentication.
    pub users: BTreeMap<String, String>,
    /// Headers added to every response.
    pub headers: BTreeMap<String, String>,
    /// `None`: no limit (no `rate_limit`, or an interval of 0).
    pub rate_limit: Option<RateLimit>,
}

/// Response headers the toolkit lets a configuration set, with the values it accepts
/// (`None`: any).
const ALLOWED_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

/// Reads and checks the file at `path`; relative certificate paths are taken from its
/// directory, as the toolkit does.
pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path.parent().unwrap_or(Path::new(".")))
}

/// Parses and checks a web configuration whose relative paths are under `dir`.
pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, WebConfigError> {
    let raw: RawConfig = if text.trim().is_empty() {
        RawConfig::default()
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string()))?
    };
    for (user, hash) in &raw.basic_auth_users {
        hash.parse::<bcrypt::HashParts>()
            .map_err(|e| invalid(format!("invalid bcrypt hash for user {user:?}: {e}")))?;
    }
    for (name, value) in &raw.http_server_config.headers {
        check_header(name, value)?;
    }
    let interval = match raw.rate_limit.interval {
        None => 0,
        Some(GoDuration::Nanos(ns)) => ns,
        Some(GoDuration::Text(text)) => bongsu_model::units::parse_go_duration(&text)
            .ok_or_else(|| invalid(format!("time: invalid duration {text:?}")))?,
    };
    // As `rate.Every`: a negative interval is no limit as well; a burst of 0 or less lets
    // nothing through.
    let rate_limit = (interval > 0).then(|| RateLimit {
        interval: Duration::from_nanos(interval as u64),
        burst: u32::try_from(raw.rate_limit.burst.max(0)).unwrap_or(u32::MAX),
    });
    Ok(WebConfig {
        tls: tls_settings(raw.tls_server_config, raw.http_server_config.http2, dir)?,
        users: raw.basic_auth_users,
        headers: raw.http_server_config.headers,
        rate_limit,
    })
}

fn check_header(name: &str, value: &str) -> Result<(), WebConfigError> {
    let Some((_, allowed)) = ALLOWED_HEADERS
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(name))
    else {
        return Err(invalid(format!(
            "HTTP header {name:?} can not be configured"
        )));
    };
    match allowed {
        Some(values) if !values.iter().any(|v| v.eq_ignore_ascii_case(value)) => Err(invalid(
            format!("invalid value for {name}. Expected one of: {values:?}, but got: {value:?}"),
        )),
        _ => Ok(()),
    }
}

fn tls_settings(
    raw: RawTls,
    http2: bool,
    dir: &Path,
) -> Result<Option<TlsSettings>, WebConfigError> {
    let enabled = !raw.cert_file.is_empty()
        || !raw.cert.is_empty()
        || !raw.key_file.is_empty()
        || !raw.key.is_empty()
        || !raw.client_ca_file.is_empty()
        || !raw.client_ca.is_empty()
        || !raw.client_auth_type.is_empty();
    if !enabled {
        return Ok(None);
    }
    let pem = |file: &str, inline: &str| -> Option<Pem> {
        if !file.is_empty() {
            Some(Pem::File(dir.join(file)))
        } else if !inline.is_empty() {
            Some(Pem::Inline(inline.to_string()))
        } else {
            None
        }
    };
    let cert = pem(&raw.cert_file, &raw.cert)
        .ok_or_else(|| invalid("missing one of cert or cert_file"))?;
    let key =
        pem(&raw.key_file, &raw.key).ok_or_else(|| invalid("missing one of key or key_file"))?;
    let client_auth = match raw.client_auth_type.as_str() {
        "" | "NoClientCert" => ClientAuth::NoClientCert,
        "RequestClientCert" => ClientAuth::RequestClientCert,
        // The toolkit keeps the old name `RequireClientCert` working.
        "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
        other => return Err(invalid(format!("invalid ClientAuth: {other}"))),
    };
    let client_ca = pem(&raw.client_ca_file, &raw.client_ca);
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        return Err(invalid(
            "client CA's have been configured without a Client Auth Policy",
        ));
    }
    if client_ca.is_none() && client_auth.verifies() {
        return Err(invalid(format!(
            "client_auth_type {} needs client_ca_file or client_ca to verify certificates with",
            raw.client_auth_type
        )));
    }
    let version = |v: Option<String>, default| match v.as_deref() {
        None => Ok(default),
        Some("TLS10") => Ok(TlsVersion::Tls10),
        Some("TLS11") => Ok(TlsVersion::Tls11),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(other) => Err(invalid(format!("unknown TLS version: {other}"))),
    };
    let min_version = version(raw.min_version, TlsVersion::Tls12)?;
    let max_version = version(raw.max_version, TlsVersion::Tls13)?;
    if max_version < TlsVersion::Tls12 {
        return Err(invalid(
            "max_version below TLS12 is not supported: bongsu speaks TLS 1.2 and 1.3",
        ));
    }
    for suite in &raw.cipher_suites {
        super::tls::check_cipher_suite(suite)?;
    }
    for curve in &raw.curve_preferences {
        super::tls::check_curve(curve)?;
    }
    // `prefer_server_cipher_suites` is accepted: Go ignores it since 1.17, and rustls
    // always follows the server's order.
    let _ = raw.prefer_server_cipher_suites;
    Ok(Some(TlsSettings {
        cert,
        key,
        client_auth,
        client_ca,
        cipher_suites: raw.cipher_suites,
        curves: raw.curve_preferences,
        min_version,
        max_version,
        allowed_sans: raw.client_allowed_sans,
        http2,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("/etc/bongsu"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_toolkits_defaults_and_paths() {
        let c = parse(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: /k/a.key\n",
            Path::new("/etc/bongsu"),
        )
        .unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, Pem::File("/etc/bongsu/a.crt".into()));
        assert_eq!(tls.key, Pem::File("/k/a.key".into()));
        assert_eq!(
            (tls.min_version, tls.max_version, tls.client_auth),
            (
                TlsVersion::Tls12,
                TlsVersion::Tls13,
                ClientAuth::NoClientCert
            )
        );
        assert_eq!(parse("", Path::new("/")).unwrap(), WebConfig::default());
        let users = parse(
            "basic_auth_users:\n  alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n",
            Path::new("/"),
        )
        .unwrap();
        assert!(users.tls.is_none());
        assert_eq!(users.users.len(), 1);
    }

    #[test]
    fn client_certificates_unverified_sans_and_the_rate_limit() {
        let tls = |extra: &str| {
            parse(
                &format!("tls_server_config:\n  cert_file: c\n  key_file: k\n{extra}"),
                Path::new("/"),
            )
            .unwrap()
            .tls
            .unwrap()
        };
        assert_eq!(
            tls("  client_auth_type: RequireClientCert\n").client_auth,
            ClientAuth::RequireAnyClientCert
        );
        let t = tls(
            "  client_auth_type: RequestClientCert\n  client_allowed_sans: [a.example, 10.0.0.1]\n",
        );
        assert_eq!(t.client_auth, ClientAuth::RequestClientCert);
        assert_eq!(
            t.allowed_sans.unwrap(),
            ["a.example".to_string(), "10.0.0.1".to_string()]
        );
        assert!(t.http2);
        let plain_http1 = parse(
            "tls_server_config:\n  cert_file: c\n  key_file: k\nhttp_server_config:\n  http2: false\n",
            Path::new("/"),
        )
        .unwrap();
        assert!(!plain_http1.tls.unwrap().http2);
        let limit = |text: &str| parse(text, Path::new("/")).unwrap().rate_limit;
        assert_eq!(
            limit("rate_limit:\n  interval: 1.5s\n  burst: 20\n"),
            Some(RateLimit {
                interval: Duration::from_millis(1500),
                burst: 20
            })
        );
        assert_eq!(
            limit("rate_limit:\n  interval: 1000000\n"),
            Some(RateLimit {
                interval: Duration::from_millis(1),
                burst: 0
            })
        );
        assert_eq!(limit("rate_limit:\n  interval: 0s\n  burst: 5\n"), None);
        assert_eq!(limit("rate_limit:\n  burst: 5\n"), None);
        assert_eq!(
            err("rate_limit:\n  interval: 5 seconds\n"),
            "time: invalid duration \"5 seconds\""
        );
    }

    #[test]
    fn errors_as_the_toolkits() {
        assert_eq!(
            err("tls_server_config:\n  key_file: k\n"),
            "missing one of cert or cert_file"
        );
        assert_eq!(
            err("tls_server_config:\n  cert_file: c\n"),
            "missing one of key or key_file"
        );
        assert_eq!(
            err("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Maybe\n"),
            "invalid ClientAuth: Maybe"
        );
        assert_eq!(
            err("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n"),
            "client CA's have been configured without a Client Auth Policy"
        );
        assert_eq!(
            err("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS14\n"),
            "unknown TLS version: TLS14"
        );
        assert_eq!(
            err("http_server_config:\n  headers:\n    Server: x\n"),
            "HTTP header \"Server\" can not be configured"
        );
        assert!(err("basic_auth_users:\n  bob: plain\n")
            .starts_with("invalid bcrypt hash for user \"bob\""));
        assert!(err("tls_server_config:\n  certfile: c\n").contains("unknown field `certfile`"));
    }
}
