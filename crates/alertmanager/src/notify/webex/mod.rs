//! Webex (`webex_configs`): a room's messages API, authorized by the receiver's own bot token.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub use config::WebexConfig;
pub use notifier::Webex;

pub(crate) fn print(c: &WebexConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .url("api_url", c.api_url.as_ref())
        .string("message", &c.message)
        .put("room_id", c.room_id.as_str());
    m.done()
}
