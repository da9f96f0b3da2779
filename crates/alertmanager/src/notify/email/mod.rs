//! Email (`email_configs`): SMTP delivery, with the `smtp_*` globals as defaults; the SMTP
//! client, its TLS and the MIME message are this kind's own.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod address;
mod config;
mod message;
mod notifier;
mod smtp;
mod tls;

use serde_yaml_ng::Value;

use crate::config::marshal::{host_port, string_map, tls, Map};

pub use config::{EmailConfig, ThreadingConfig, DEFAULT_EMAIL_HTML, DEFAULT_EMAIL_SUBJECT};
pub use notifier::Email;

pub(crate) fn print(c: &EmailConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .string("to", &c.to)
        .string("from", &c.from)
        .string("hello", &c.hello);
    host_port(&mut m, "smarthost", &c.smarthost);
    m.string("auth_username", &c.auth_username)
        .secret("auth_password", &c.auth_password)
        .path("auth_password_file", &c.auth_password_file)
        .secret("auth_secret", &c.auth_secret)
        .path("auth_secret_file", &c.auth_secret_file)
        .string("auth_identity", &c.auth_identity)
        .map("headers", string_map(&c.headers))
        .string("html", &c.html)
        .string("text", &c.text);
    if let Some(v) = c.require_tls {
        m.put("require_tls", v);
    }
    if let Some(t) = &c.tls_config {
        m.put("tls_config", tls(t).done());
    }
    if let Some(v) = c.force_implicit_tls {
        m.put("force_implicit_tls", v);
    }
    if c.threading.enabled {
        let mut t = Map::default();
        t.put("enabled", true)
            .string("thread_by_date", &c.threading.thread_by_date);
        m.map("threading", t);
    }
    m.done()
}
