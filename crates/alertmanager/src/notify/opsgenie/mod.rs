//! Opsgenie (`opsgenie_configs`): the Alert API v2, alerts created, updated and closed per
//! group.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, string_map, Map};

pub(crate) use config::check_global_key;
pub use config::{OpsgenieConfig, OpsgenieResponder};
pub use notifier::Opsgenie;

pub(crate) fn print(c: &OpsgenieConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("api_key", &c.api_key)
        .path("api_key_file", &c.api_key_file)
        .url("api_url", c.api_url.as_ref())
        .string("message", &c.message)
        .string("description", &c.description)
        .string("source", &c.source)
        .map("details", string_map(&c.details))
        .string("entity", &c.entity);
    let responders = c
        .responders
        .iter()
        .map(|r| {
            let mut rm = Map::default();
            rm.string("id", &r.id)
                .string("name", &r.name)
                .string("username", &r.username)
                .string("type", &r.kind);
            rm.done()
        })
        .collect();
    m.list("responders", responders)
        .string("actions", &c.actions)
        .string("tags", &c.tags)
        .string("note", &c.note)
        .string("priority", &c.priority)
        .flag("update_alerts", c.update_alerts);
    m.done()
}
