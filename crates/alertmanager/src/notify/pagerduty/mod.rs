//! PagerDuty (`pagerduty_configs`): Events API v2, or v1 with a service key.
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod config;
mod notifier;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{go_duration, http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

pub use config::{PagerdutyConfig, PagerdutyImage, PagerdutyLink, DEFAULT_PAGERDUTY_DETAILS};
pub use notifier::Pagerduty;

impl ReceiverKind for PagerdutyConfig {
    const NAME: &'static str = "pagerduty";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.resolve(global, dir)
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret("service_key", &self.service_key)
            .path("service_key_file", &self.service_key_file)
            .secret("routing_key", &self.routing_key)
            .path("routing_key_file", &self.routing_key_file)
            .url("url", self.url.as_ref())
            .string("client", &self.client)
            .string("client_url", &self.client_url)
            .string("description", &self.description);
        let mut details = Map::default();
        for (k, v) in &self.details {
            details.put(k, v.clone());
        }
        m.map("details", details);
        let images = self
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
        let links = self
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
            .string("source", &self.source)
            .string("severity", &self.severity)
            .string("class", &self.class)
            .string("component", &self.component)
            .string("group", &self.group)
            .put("timeout", go_duration(self.timeout));
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Pagerduty::new(self.clone(), templates.clone())?))
    }
}
