//! VictorOps / Splunk On-Call (`victorops_configs`): one event per notification to the REST
//! endpoint.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, string_map, Map};

pub use config::VictoropsConfig;
pub use notifier::Victorops;

pub(crate) fn print(c: &VictoropsConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("api_key", &c.api_key)
        .path("api_key_file", &c.api_key_file)
        .put(
            "api_url",
            c.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default(),
        )
        .put("routing_key", c.routing_key.as_str())
        .put("message_type", c.message_type.as_str())
        .put("state_message", c.state_message.as_str())
        .put("entity_display_name", c.entity_display_name.as_str())
        .put("monitoring_tool", c.monitoring_tool.as_str())
        .map("custom_fields", string_map(&c.custom_fields));
    m.done()
}
