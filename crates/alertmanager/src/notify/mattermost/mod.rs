//! Mattermost (`mattermost_configs`): an incoming webhook with attachments, props and
//! priority.
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod config;
mod notifier;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

pub use config::{
    MattermostAttachment, MattermostConfig, MattermostField, MattermostPriority, MattermostProps,
};
pub use notifier::Mattermost;

fn mattermost_fields(fields: &[MattermostField]) -> Vec<Value> {
    fields
        .iter()
        .map(|f| {
            let mut fm = Map::default();
            fm.string("title", &f.title).string("value", &f.value);
            if let Some(s) = f.short {
                fm.put("short", s);
            }
            fm.done()
        })
        .collect()
}

impl ReceiverKind for MattermostConfig {
    const NAME: &'static str = "mattermost";

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
            .secret_url("webhook_url", &self.webhook_url)
            .path("webhook_url_file", &self.webhook_url_file)
            .string("channel", &self.channel)
            .string("username", &self.username)
            .string("text", &self.text)
            .string("fallback", &self.fallback)
            .string("color", &self.color)
            .string("pretext", &self.pretext)
            .string("author_name", &self.author_name)
            .string("author_link", &self.author_link)
            .string("author_icon", &self.author_icon)
            .string("title", &self.title)
            .string("title_link", &self.title_link)
            .list("fields", mattermost_fields(&self.fields))
            .string("thumb_url", &self.thumb_url)
            .string("footer", &self.footer)
            .string("footer_icon", &self.footer_icon)
            .string("image_url", &self.image_url)
            .string("icon_url", &self.icon_url)
            .string("icon_emoji", &self.icon_emoji);
        let attachments = self
            .attachments
            .iter()
            .map(|a| {
                let mut am = Map::default();
                am.string("fallback", &a.fallback)
                    .string("color", &a.color)
                    .string("pretext", &a.pretext)
                    .string("text", &a.text)
                    .string("author_name", &a.author_name)
                    .string("author_link", &a.author_link)
                    .string("author_icon", &a.author_icon)
                    .string("title", &a.title)
                    .string("title_link", &a.title_link)
                    .list("fields", mattermost_fields(&a.fields))
                    .string("thumb_url", &a.thumb_url)
                    .string("footer", &a.footer)
                    .string("footer_icon", &a.footer_icon)
                    .string("image_url", &a.image_url);
                am.done()
            })
            .collect();
        m.list("attachments", attachments)
            .string("type", &self.kind);
        // Present sections print even when empty, as upstream's pointers do.
        if let Some(p) = &self.props {
            let mut pm = Map::default();
            pm.string("card", &p.card);
            m.put("props", pm.done());
        }
        if let Some(p) = &self.priority {
            let mut pm = Map::default();
            pm.string("priority", &p.priority)
                .flag("requested_ack", p.requested_ack)
                .flag("persistent_notifications", p.persistent_notifications);
            m.put("priority", pm.done());
        }
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Mattermost::new(self.clone(), templates.clone())?))
    }
}
