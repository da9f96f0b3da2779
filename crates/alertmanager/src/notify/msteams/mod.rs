//! Microsoft Teams connectors (`msteams_configs`): a `MessageCard` POSTed to an incoming
//! webhook.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub use config::MsTeamsConfig;
pub use notifier::MsTeams;

pub(crate) fn print(c: &MsTeamsConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret_url("webhook_url", &c.webhook_url)
        .path("webhook_url_file", &c.webhook_url_file)
        .string("title", &c.title)
        .string("summary", &c.summary)
        .string("text", &c.text);
    m.done()
}
