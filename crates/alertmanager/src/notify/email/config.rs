//! `email_configs`: SMTP delivery settings, with the `smtp_*` globals as defaults.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{Secret, TlsConfig};

use super::notifier::Email;
use crate::config::common::{fail, file_path, HostPort, Invalid};
use crate::config::marshal::{self, host_port, string_map, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// The default HTML body and subject templates (Alertmanager's `email.tmpl`).
pub const DEFAULT_EMAIL_HTML: &str = r#"{{ template "email.default.html" . }}"#;
pub const DEFAULT_EMAIL_SUBJECT: &str = r#"{{ template "email.default.subject" . }}"#;

/// One email notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawEmail")]
pub struct EmailConfig {
    pub send_resolved: bool,
    pub to: String,
    pub from: String,
    pub hello: String,
    pub smarthost: HostPort,
    pub auth_username: String,
    pub auth_password: Secret,
    pub auth_password_file: Option<PathBuf>,
    pub auth_secret: Secret,
    pub auth_secret_file: Option<PathBuf>,
    pub auth_identity: String,
    /// Canonical MIME header names (`X-Foo`) → value templates.
    pub headers: BTreeMap<String, String>,
    pub html: String,
    pub text: String,
    pub require_tls: Option<bool>,
    pub tls_config: Option<TlsConfig>,
    pub force_implicit_tls: Option<bool>,
    pub threading: ThreadingConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadingConfig {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub thread_by_date: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    to: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    hello: String,
    #[serde(default)]
    smarthost: HostPort,
    #[serde(default)]
    auth_username: String,
    #[serde(default)]
    auth_password: Secret,
    #[serde(default, deserialize_with = "file_path")]
    auth_password_file: Option<PathBuf>,
    #[serde(default)]
    auth_secret: Secret,
    #[serde(default, deserialize_with = "file_path")]
    auth_secret_file: Option<PathBuf>,
    #[serde(default)]
    auth_identity: String,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    require_tls: Option<bool>,
    #[serde(default)]
    tls_config: Option<TlsConfig>,
    #[serde(default)]
    force_implicit_tls: Option<bool>,
    #[serde(default)]
    threading: ThreadingConfig,
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `x-foo-bar` → `X-Foo-Bar`; keys with bytes that
/// cannot be in a header name stay as written.
pub(crate) fn canonical_header(key: &str) -> String {
    let valid = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return key.to_string();
    }
    let mut upper = true;
    key.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

impl TryFrom<RawEmail> for EmailConfig {
    type Error = Invalid;

    fn try_from(raw: RawEmail) -> Result<EmailConfig, Invalid> {
        if raw.to.is_empty() {
            return fail("missing to address in email config");
        }
        let mut headers = BTreeMap::new();
        for (k, v) in raw.headers.unwrap_or_default() {
            let key = canonical_header(&k);
            if headers.insert(key.clone(), v).is_some() {
                return fail(format!("duplicate header {key:?} in email config"));
            }
        }
        if raw.threading.enabled {
            for h in ["References", "In-Reply-To"] {
                if headers.contains_key(h) {
                    return fail(format!(
                        "conflicting configuration: threading.enabled conflicts with custom {h} header"
                    ));
                }
            }
            if !["none", "daily"].contains(&raw.threading.thread_by_date.as_str()) {
                return fail("threading.thread_by_date must be either 'none' or 'daily'");
            }
        }
        if let Some(tls) = &raw.tls_config {
            tls.validate().map_err(|e| Invalid(e.to_string()))?;
        }
        Ok(EmailConfig {
            send_resolved: raw.send_resolved.unwrap_or(false),
            to: raw.to,
            from: raw.from,
            hello: raw.hello,
            smarthost: raw.smarthost,
            auth_username: raw.auth_username,
            auth_password: raw.auth_password,
            auth_password_file: raw.auth_password_file,
            auth_secret: raw.auth_secret,
            auth_secret_file: raw.auth_secret_file,
            auth_identity: raw.auth_identity,
            headers,
            html: raw.html.unwrap_or_else(|| DEFAULT_EMAIL_HTML.to_string()),
            text: raw.text.unwrap_or_default(),
            require_tls: raw.require_tls,
            tls_config: raw.tls_config,
            force_implicit_tls: raw.force_implicit_tls,
            threading: raw.threading,
        })
    }
}

impl ReceiverKind for EmailConfig {
    const NAME: &'static str = "email";
    const GO_PACKAGE: &'static str = "config";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    /// Fills what is unset from the `smtp_*` globals; a smarthost and a sender must result.
    fn inherit(&mut self, g: &GlobalConfig, _dir: Option<&Path>) -> Result<(), ConfigError> {
        let or = |own: &mut String, global: &str| {
            if own.is_empty() {
                *own = global.to_string();
            }
        };
        if self.tls_config.is_none() {
            self.tls_config = Some(g.smtp_tls_config.clone());
        }
        if self.smarthost.is_empty() {
            self.smarthost = g.smtp_smarthost.clone();
        }
        if self.smarthost.is_empty() {
            return Err(ConfigError::Invalid("no global SMTP smarthost set".into()));
        }
        or(&mut self.from, &g.smtp_from);
        if self.from.is_empty() {
            return Err(ConfigError::Invalid("no global SMTP from set".into()));
        }
        or(&mut self.hello, &g.smtp_hello);
        or(&mut self.auth_username, &g.smtp_auth_username);
        if self.auth_password.expose().is_empty() && self.auth_password_file.is_none() {
            self.auth_password = g.smtp_auth_password.clone();
            self.auth_password_file = g.smtp_auth_password_file.clone();
        }
        if self.auth_secret.expose().is_empty() && self.auth_secret_file.is_none() {
            self.auth_secret = g.smtp_auth_secret.clone();
            self.auth_secret_file = g.smtp_auth_secret_file.clone();
        }
        or(&mut self.auth_identity, &g.smtp_auth_identity);
        if self.require_tls.is_none() {
            self.require_tls = Some(g.smtp_require_tls);
        }
        if self.force_implicit_tls.is_none() {
            self.force_implicit_tls = g.smtp_force_implicit_tls;
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .string("to", &self.to)
            .string("from", &self.from)
            .string("hello", &self.hello);
        host_port(&mut m, "smarthost", &self.smarthost);
        m.string("auth_username", &self.auth_username)
            .secret("auth_password", &self.auth_password)
            .path("auth_password_file", &self.auth_password_file)
            .secret("auth_secret", &self.auth_secret)
            .path("auth_secret_file", &self.auth_secret_file)
            .string("auth_identity", &self.auth_identity)
            .map("headers", string_map(&self.headers))
            .string("html", &self.html)
            .string("text", &self.text);
        if let Some(v) = self.require_tls {
            m.put("require_tls", v);
        }
        if let Some(t) = &self.tls_config {
            m.put("tls_config", marshal::tls(t).done());
        }
        if let Some(v) = self.force_implicit_tls {
            m.put("force_implicit_tls", v);
        }
        if self.threading.enabled {
            let mut t = Map::default();
            t.put("enabled", true)
                .string("thread_by_date", &self.threading.thread_by_date);
            m.map("threading", t);
        }
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Email::new(self.clone(), templates.clone())))
    }
}
