//! PagerDuty (`pagerduty_configs`): Events API v2, or v1 with a service key.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{go_duration, http, Map};

pub use config::{PagerdutyConfig, PagerdutyImage, PagerdutyLink, DEFAULT_PAGERDUTY_DETAILS};
pub use notifier::Pagerduty;

pub(crate) fn print(c: &PagerdutyConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("service_key", &c.service_key)
        .path("service_key_file", &c.service_key_file)
        .secret("routing_key", &c.routing_key)
        .path("routing_key_file", &c.routing_key_file)
        .url("url", c.url.as_ref())
        .string("client", &c.client)
        .string("client_url", &c.client_url)
        .string("description", &c.description);
    let mut details = Map::default();
    for (k, v) in &c.details {
        details.put(k, v.clone());
    }
    m.map("details", details);
    let images = c
        .images
        .iter()
        .map(|i| {
            let mut im = Map::default();
            im.string("src", &i.src)
                .string("alt", &i.alt)
                .string("href", &i.href);
            im.done()
        })
        .collect();
    let links = c
        .links
        .iter()
        .map(|l| {
            let mut lm = Map::default();
            lm.string("href", &l.href).string("text", &l.text);
            lm.done()
        })
        .collect();
    m.list("images", images)
        .list("links", links)
        .string("source", &c.source)
        .string("severity", &c.severity)
        .string("class", &c.class)
        .string("component", &c.component)
        .string("group", &c.group)
        .put("timeout", go_duration(c.timeout));
    m.done()
}
