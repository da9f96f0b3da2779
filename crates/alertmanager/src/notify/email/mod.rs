//! Email (`email_configs`): SMTP delivery, with the `smtp_*` globals as defaults; the SMTP
//! client, its TLS and the MIME message are this kind's own.
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod address;
mod config;
mod message;
mod notifier;
mod smtp;
mod tls;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{self, host_port, string_map, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

pub use config::{EmailConfig, ThreadingConfig, DEFAULT_EMAIL_HTML, DEFAULT_EMAIL_SUBJECT};
pub use notifier::Email;

impl ReceiverKind for EmailConfig {
    const NAME: &'static str = "email";
    const GO_PACKAGE: &'static str = "config";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, global: &GlobalConfig, _dir: Option<&Path>) -> Result<(), ConfigError> {
        self.resolve(global)
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
