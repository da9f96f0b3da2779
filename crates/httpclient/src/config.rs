//! The HTTP client settings shared by scrape jobs, Alertmanagers and remote endpoints
//! (Prometheus' `http_config`): authentication, TLS, proxy, headers, redirects.
//!
//! Secrets are [`Secret`]s, which never print. Secrets given as files are not read here: the
//! user of the settings reads them on each use (as Prometheus does, so rotated files apply).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ConfigError;

/// A secret from the configuration: `Debug`, `Display` and `Serialize` show `<secret>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; for building requests only, never for logs or errors.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        Ok(Secret(
            Option::<String>::deserialize(d)?.unwrap_or_default(),
        ))
    }
}

/// Reads a secret file as Prometheus does: the whole file, surrounding whitespace trimmed.
pub fn read_secret_file(path: &Path) -> std::io::Result<Secret> {
    Ok(Secret(std::fs::read_to_string(path)?.trim().to_string()))
}

/// A secret given inline or as a file, read when used.
fn inline_or_file(inline: &Secret, file: &Option<PathBuf>) -> std::io::Result<Secret> {
    match file {
        Some(path) => read_secret_file(path),
        None => Ok(inline.clone()),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub username_file: Option<PathBuf>,
    #[serde(default)]
    pub password: Secret,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl BasicAuth {
    /// The user name, reading `username_file` now if it is set.
    pub fn username(&self) -> std::io::Result<String> {
        match &self.username_file {
            Some(path) => Ok(read_secret_file(path)?.0),
            None => Ok(self.username.clone()),
        }
    }

    /// The password, reading `password_file` now if it is set.
    pub fn password(&self) -> std::io::Result<Secret> {
        inline_or_file(&self.password, &self.password_file)
    }
}

/// The `Authorization` header: `<type> <credentials>`. The legacy `bearer_token` and
/// `bearer_token_file` keys load as this with type `Bearer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// `Bearer` unless set.
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub credentials: Secret,
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
}

impl Authorization {
    /// The credentials, reading `credentials_file` now if it is set.
    pub fn credentials(&self) -> std::io::Result<Secret> {
        inline_or_file(&self.credentials, &self.credentials_file)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// A PEM CA bundle given inline.
    #[serde(default)]
    pub ca: String,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub cert: String,
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key: Secret,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub server_name: String,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default)]
    pub min_version: Option<TlsVersion>,
    #[serde(default)]
    pub max_version: Option<TlsVersion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "TLS10")]
    Tls10,
    #[serde(rename = "TLS11")]
    Tls11,
    #[serde(rename = "TLS12")]
    Tls12,
    #[serde(rename = "TLS13")]
    Tls13,
}

impl TlsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError::new(m));
        if !self.ca.is_empty() && self.ca_file.is_some() {
            return err("at most one of ca and ca_file must be configured");
        }
        if !self.cert.is_empty() && self.cert_file.is_some() {
            return err("at most one of cert and cert_file must be configured");
        }
        if !self.key.is_empty() && self.key_file.is_some() {
            return err("at most one of key and key_file must be configured");
        }
        let has_cert = !self.cert.is_empty() || self.cert_file.is_some();
        let has_key = !self.key.is_empty() || self.key_file.is_some();
        if has_cert && !has_key {
            return err(
                "exactly one of key or key_file must be configured when a client certificate is configured",
            );
        }
        if has_key && !has_cert {
            return err(
                "exactly one of cert or cert_file must be configured when a client key is configured",
            );
        }
        Ok(())
    }

    pub fn set_directory(&mut self, dir: &Path) {
        for p in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file] {
            join_dir(dir, p);
        }
    }
}

/// Extra request headers (`http_headers`): each with plain values, secret values, or files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValues {
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<Secret>,
    #[serde(default)]
    pub files: Vec<PathBuf>,
}

/// Settings of an HTTP client, resolved: `follow_redirects` and `enable_http2` default to
/// true (remote write turns HTTP/2 off by default); `bearer_token(_file)` became
/// `authorization`.
#[derive(Debug, Clone, Default)]
pub struct HttpClientConfig {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls_config: TlsConfig,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    pub proxy_url: Option<String>,
    pub no_proxy: Option<String>,
    pub proxy_from_environment: bool,
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    pub http_headers: BTreeMap<String, HeaderValues>,
    /// Not supported yet: a config using it fails to load.
    oauth2: Option<serde_yaml_ng::Value>,
    bearer_token: Option<Secret>,
    bearer_token_file: Option<PathBuf>,
}

/// Declares a YAML struct that carries, after its own fields, the HTTP client keys Prometheus
/// inlines into scrape, Alertmanager and remote configs, and `take_http` to move them out.
/// (serde's `flatten` would do this but turns off `deny_unknown_fields` and Go-style scalar
/// coercion, both of which users' files rely on.)
#[macro_export]
macro_rules! inline_http_client {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$m])*
        $vis struct $name {
            $($body)*
            #[serde(default)]
            basic_auth: Option<$crate::BasicAuth>,
            #[serde(default)]
            authorization: Option<$crate::Authorization>,
            #[serde(default)]
            oauth2: Option<serde_yaml_ng::Value>,
            #[serde(default)]
            bearer_token: Option<$crate::Secret>,
            #[serde(default)]
            bearer_token_file: Option<std::path::PathBuf>,
            #[serde(default)]
            tls_config: $crate::TlsConfig,
            #[serde(default)]
            follow_redirects: Option<bool>,
            #[serde(default)]
            enable_http2: Option<bool>,
            #[serde(default)]
            proxy_url: Option<String>,
            #[serde(default)]
            no_proxy: Option<String>,
            #[serde(default)]
            proxy_from_environment: bool,
            #[serde(default)]
            proxy_connect_header:
                std::collections::BTreeMap<String, Vec<$crate::Secret>>,
            #[serde(default)]
            http_headers:
                std::collections::BTreeMap<String, $crate::HeaderValues>,
        }

        impl $name {
            /// Moves the HTTP client keys out, validated, with Prometheus' defaults.
            fn take_http(
                &mut self,
                enable_http2_default: bool,
            ) -> Result<$crate::HttpClientConfig, $crate::ConfigError> {
                $crate::HttpClientConfig::from_parts(
                    $crate::HttpParts {
                        basic_auth: self.basic_auth.take(),
                        authorization: self.authorization.take(),
                        oauth2: self.oauth2.take(),
                        bearer_token: self.bearer_token.take(),
                        bearer_token_file: self.bearer_token_file.take(),
                        tls_config: std::mem::take(&mut self.tls_config),
                        follow_redirects: self.follow_redirects.unwrap_or(true),
                        enable_http2: self.enable_http2.unwrap_or(enable_http2_default),
                        proxy_url: self.proxy_url.take(),
                        no_proxy: self.no_proxy.take(),
                        proxy_from_environment: self.proxy_from_environment,
                        proxy_connect_header: std::mem::take(&mut self.proxy_connect_header),
                        http_headers: std::mem::take(&mut self.http_headers),
                    },
                )
            }
        }
    };
}

inline_http_client! {
    /// The HTTP client keys as a section of their own (Alertmanager's `http_config`), rather
    /// than inlined into their parent.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HttpClientSection {}
}

impl HttpClientSection {
    /// Whether `authorization` (or a legacy bearer token) is set.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
            || self.bearer_token.is_some()
            || self.bearer_token_file.is_some()
    }

    /// Validates the section, with Prometheus' defaults (HTTP/2 on, redirects followed).
    pub fn into_config(mut self) -> Result<HttpClientConfig, ConfigError> {
        self.take_http(true)
    }
}

/// The HTTP client keys as read, before validation (see `inline_http_client!`).
pub struct HttpParts {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub oauth2: Option<serde_yaml_ng::Value>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<PathBuf>,
    pub tls_config: TlsConfig,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    pub proxy_url: Option<String>,
    pub no_proxy: Option<String>,
    pub proxy_from_environment: bool,
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    pub http_headers: BTreeMap<String, HeaderValues>,
}

impl HttpClientConfig {
    pub fn from_parts(p: HttpParts) -> Result<HttpClientConfig, ConfigError> {
        let mut c = HttpClientConfig {
            basic_auth: p.basic_auth,
            authorization: p.authorization,
            tls_config: p.tls_config,
            follow_redirects: p.follow_redirects,
            enable_http2: p.enable_http2,
            proxy_url: p.proxy_url,
            no_proxy: p.no_proxy,
            proxy_from_environment: p.proxy_from_environment,
            proxy_connect_header: p.proxy_connect_header,
            http_headers: p.http_headers,
            oauth2: p.oauth2,
            bearer_token: p.bearer_token,
            bearer_token_file: p.bearer_token_file,
        };
        c.validate()?;
        Ok(c)
    }

    /// Prometheus' checks, in its order; folds `bearer_token(_file)` into `authorization`.
    fn validate(&mut self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError::new(m));
        let token = self.bearer_token.as_ref().is_some_and(|t| !t.is_empty());
        let token_file = self.bearer_token_file.is_some();
        if token && token_file {
            return err("at most one of bearer_token & bearer_token_file must be configured");
        }
        let basic_or_oauth = self.basic_auth.is_some() || self.oauth2.is_some();
        if basic_or_oauth && (token || token_file) {
            return err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            );
        }
        if let Some(b) = &self.basic_auth {
            if !b.username.is_empty() && b.username_file.is_some() {
                return err(
                    "at most one of basic_auth username & username_file must be configured",
                );
            }
            if !b.password.is_empty() && b.password_file.is_some() {
                return err(
                    "at most one of basic_auth password & password_file must be configured",
                );
            }
        }
        if let Some(a) = &mut self.authorization {
            if token || token_file {
                return err(
                    "authorization is not compatible with bearer_token & bearer_token_file",
                );
            }
            if !a.credentials.is_empty() && a.credentials_file.is_some() {
                return err(
                    "at most one of authorization credentials & credentials_file must be configured",
                );
            }
            a.kind = a.kind.trim().to_string();
            if a.kind.is_empty() {
                a.kind = "Bearer".to_string();
            }
            if a.kind.eq_ignore_ascii_case("basic") {
                return err(
                    r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
                );
            }
            if basic_or_oauth {
                return err("at most one of basic_auth, oauth2 & authorization must be configured");
            }
        } else if token || token_file {
            self.authorization = Some(Authorization {
                kind: "Bearer".to_string(),
                credentials: self.bearer_token.take().unwrap_or_default(),
                credentials_file: self.bearer_token_file.take(),
            });
        }
        if self.basic_auth.is_some() && self.oauth2.is_some() {
            return err("at most one of basic_auth, oauth2 & authorization must be configured");
        }
        self.tls_config.validate()?;
        self.validate_proxy()
    }

    fn validate_proxy(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError::new(m));
        if self.proxy_from_environment && self.proxy_url.is_some() {
            return err(
                "if proxy_from_environment is configured, proxy_url must not be configured",
            );
        }
        if self.proxy_from_environment && self.no_proxy.is_some() {
            return err("if proxy_from_environment is configured, no_proxy must not be configured");
        }
        if self.proxy_url.is_none() && self.no_proxy.is_some() {
            return err("if no_proxy is configured, proxy_url must also be configured");
        }
        if let Some(url) = &self.proxy_url {
            crate::check_url(url)?;
        }
        if !self.proxy_connect_header.is_empty()
            && self.proxy_url.is_none()
            && !self.proxy_from_environment
        {
            return err(
                "if proxy_connect_header is configured, proxy_url or proxy_from_environment must be configured",
            );
        }
        Ok(())
    }

    /// The first key set that bongsu cannot act on yet.
    pub fn unsupported(&self) -> Option<&'static str> {
        self.oauth2.as_ref().map(|_| "oauth2")
    }

    /// Resolves relative file paths against the config file's directory.
    pub fn set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
        if let Some(b) = &mut self.basic_auth {
            join_dir(dir, &mut b.username_file);
            join_dir(dir, &mut b.password_file);
        }
        if let Some(a) = &mut self.authorization {
            join_dir(dir, &mut a.credentials_file);
        }
        for h in self.http_headers.values_mut() {
            for f in &mut h.files {
                *f = dir.join(&*f);
            }
        }
    }
}

/// Makes a relative path relative to `dir` (absolute paths stay as they are).
pub fn join_dir(dir: &Path, path: &mut Option<PathBuf>) {
    if let Some(p) = path {
        *p = dir.join(&*p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let a = Authorization {
            kind: "Bearer".into(),
            credentials: Secret::new("hunter2"),
            credentials_file: None,
        };
        assert!(!format!("{a:?}").contains("hunter2"));
        assert_eq!(Secret::new("x").to_string(), "<secret>");
        assert_eq!(
            serde_json::to_string(&Secret::new("hunter2")).unwrap(),
            "\"<secret>\""
        );
    }

    #[test]
    fn secret_files_are_read_when_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let auth = Authorization {
            kind: "Bearer".into(),
            credentials: Secret::default(),
            credentials_file: Some(path.clone()),
        };
        assert!(auth.credentials().is_err(), "file does not exist yet");
        std::fs::write(&path, "  s3cret\n").unwrap();
        assert_eq!(auth.credentials().unwrap().expose(), "s3cret");
    }
}
