//! incident.io (`incidentio_configs`): the webhook-style payload POSTed to an HTTP alert
//! source.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{go_duration, http, Map};

pub use config::IncidentioConfig;
pub use notifier::Incidentio;

/// `url`, `url_file`, `max_alerts` and `timeout` have no omit-empty rule upstream.
pub(crate) fn print(c: &IncidentioConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .put(
            "url",
            c.url
                .as_ref()
                .map_or(Value::Null, |u| Value::from(u.as_str())),
        )
        .put(
            "url_file",
            c.url_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        )
        .secret("alert_source_token", &c.alert_source_token)
        .path("alert_source_token_file", &c.alert_source_token_file)
        .put("max_alerts", c.max_alerts)
        .put("timeout", go_duration(c.timeout));
    m.done()
}
