//! Microsoft Teams workflows (`msteamsv2_configs`): an Adaptive Card POSTed to a Power
//! Automate workflow.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub use config::MsTeamsV2Config;
pub use notifier::MsTeamsV2;

pub(crate) fn print(c: &MsTeamsV2Config) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret_url("webhook_url", &c.webhook_url)
        .path("webhook_url_file", &c.webhook_url_file)
        .string("title", &c.title)
        .string("text", &c.text);
    m.done()
}
