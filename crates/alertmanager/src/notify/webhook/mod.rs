//! Webhook: Alertmanager's JSON payload POSTed to a URL (`webhook_configs`).
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub use config::WebhookConfig;
pub use notifier::Webhook;

pub(crate) fn print(c: &WebhookConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("url", &c.url)
        .path("url_file", &c.url_file)
        .put("max_alerts", c.max_alerts)
        .duration("timeout", c.timeout);
    if let Some(p) = &c.payload {
        m.put("payload", p.clone());
    }
    m.done()
}
