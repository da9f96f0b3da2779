//! Discord (`discord_configs`): a webhook execution with one embed.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub use config::DiscordConfig;
pub use notifier::Discord;

pub(crate) fn print(c: &DiscordConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret_url("webhook_url", &c.webhook_url)
        .path("webhook_url_file", &c.webhook_url_file)
        .string("content", &c.content)
        .string("title", &c.title)
        .string("message", &c.message)
        .string("username", &c.username)
        .string("avatar_url", &c.avatar_url);
    m.done()
}
