//! Pushover (`pushover_configs`): the messages API, with priorities and emergency retries.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{go_duration, http, Map};

pub use config::PushoverConfig;
pub use notifier::Pushover;

pub(crate) fn print(c: &PushoverConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("user_key", &c.user_key)
        .path("user_key_file", &c.user_key_file)
        .secret("token", &c.token)
        .path("token_file", &c.token_file)
        .string("title", &c.title)
        .string("message", &c.message)
        .string("url", &c.url)
        .string("url_title", &c.url_title)
        .string("device", &c.device)
        .string("sound", &c.sound)
        .string("priority", &c.priority);
    for (key, d) in [("retry", c.retry), ("expire", c.expire), ("ttl", c.ttl)] {
        if !d.is_zero() {
            m.put(key, go_duration(d));
        }
    }
    m.flag("html", c.html).flag("monospace", c.monospace);
    m.done()
}
