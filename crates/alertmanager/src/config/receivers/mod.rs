//! `receivers`: named lists of notifiers. The kinds bongsu delivers to (email, Slack,
//! Discord, webhook, Microsoft Teams connectors and workflows, Webex, Mattermost,
//! Rocket.Chat, Jira, incident.io, Telegram, PagerDuty, Opsgenie, VictorOps, Pushover) are
//! parsed in full, with Alertmanager's checks and inheritance from `global`; the other kinds upstream knows are recognised and
//! refused at load time with "… is not supported by bongsu yet", never silently dropped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub use crate::notify::discord::DiscordConfig;
pub use crate::notify::email::{
    EmailConfig, ThreadingConfig, DEFAULT_EMAIL_HTML, DEFAULT_EMAIL_SUBJECT,
};
pub use crate::notify::incidentio::IncidentioConfig;
pub use crate::notify::jira::{JiraConfig, JiraField};
pub use crate::notify::mattermost::{
    MattermostAttachment, MattermostConfig, MattermostField, MattermostPriority, MattermostProps,
};
pub use crate::notify::msteams::MsTeamsConfig;
pub use crate::notify::msteamsv2::MsTeamsV2Config;
pub use crate::notify::opsgenie::{OpsgenieConfig, OpsgenieResponder};
pub use crate::notify::pagerduty::{
    PagerdutyConfig, PagerdutyImage, PagerdutyLink, DEFAULT_PAGERDUTY_DETAILS,
};
pub use crate::notify::pushover::PushoverConfig;
pub use crate::notify::rocketchat::{RocketchatAction, RocketchatConfig, RocketchatField};
pub use crate::notify::slack::{SlackAction, SlackConfig, SlackConfirmation, SlackField};
pub use crate::notify::telegram::TelegramConfig;
pub use crate::notify::victorops::VictoropsConfig;
pub use crate::notify::webex::WebexConfig;
pub use crate::notify::webhook::WebhookConfig;
use crate::notify::{opsgenie, rocketchat};

use super::common::{fail, Invalid};
use super::global::GlobalConfig;
use super::ConfigError;
use crate::matcher::go_quote;

/// A named receiver: every notifier in it gets each notification of the routes naming it.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawReceiver")]
pub struct Receiver {
    pub name: String,
    /// Labels for filtering receivers; always holds `name`.
    pub labels: BTreeMap<String, String>,
    pub email_configs: Vec<EmailConfig>,
    pub slack_configs: Vec<SlackConfig>,
    pub webhook_configs: Vec<WebhookConfig>,
    pub discord_configs: Vec<DiscordConfig>,
    pub msteams_configs: Vec<MsTeamsConfig>,
    pub telegram_configs: Vec<TelegramConfig>,
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    pub opsgenie_configs: Vec<OpsgenieConfig>,
    pub victorops_configs: Vec<VictoropsConfig>,
    pub pushover_configs: Vec<PushoverConfig>,
    pub msteamsv2_configs: Vec<MsTeamsV2Config>,
    pub webex_configs: Vec<WebexConfig>,
    pub mattermost_configs: Vec<MattermostConfig>,
    pub rocketchat_configs: Vec<RocketchatConfig>,
    pub jira_configs: Vec<JiraConfig>,
    pub incidentio_configs: Vec<IncidentioConfig>,
    /// The first notifier kind present that bongsu cannot deliver to yet.
    unsupported: Option<usize>,
    /// Where a notifier entry was null, Alertmanager's message for it.
    missing: Option<usize>,
}

/// Notifier kinds Alertmanager has and bongsu does not deliver to yet, in upstream's order.
pub const UNSUPPORTED_RECEIVERS: &[&str] = &["wechat", "sns"];

/// The kinds bongsu delivers to, in the order of `entries` indices.
const SUPPORTED: [&str; 16] = [
    "webhook",
    "email",
    "slack",
    "telegram",
    "discord",
    "msteams",
    "pagerduty",
    "opsgenie",
    "victorops",
    "pushover",
    "msteamsv2",
    "webex",
    "mattermost",
    "rocketchat",
    "jira",
    "incidentio",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceiver {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    email_configs: Vec<Option<EmailConfig>>,
    #[serde(default)]
    slack_configs: Vec<Option<SlackConfig>>,
    #[serde(default)]
    webhook_configs: Vec<Option<WebhookConfig>>,
    #[serde(default)]
    discord_configs: Vec<Option<DiscordConfig>>,
    #[serde(default)]
    msteams_configs: Vec<Option<MsTeamsConfig>>,
    #[serde(default)]
    telegram_configs: Vec<Option<TelegramConfig>>,
    #[serde(default)]
    pagerduty_configs: Vec<Option<PagerdutyConfig>>,
    #[serde(default)]
    opsgenie_configs: Vec<Option<OpsgenieConfig>>,
    #[serde(default)]
    victorops_configs: Vec<Option<VictoropsConfig>>,
    #[serde(default)]
    pushover_configs: Vec<Option<PushoverConfig>>,
    #[serde(default)]
    msteamsv2_configs: Vec<Option<MsTeamsV2Config>>,
    #[serde(default)]
    webex_configs: Vec<Option<WebexConfig>>,
    #[serde(default)]
    mattermost_configs: Vec<Option<MattermostConfig>>,
    #[serde(default)]
    rocketchat_configs: Vec<Option<RocketchatConfig>>,
    #[serde(default)]
    jira_configs: Vec<Option<JiraConfig>>,
    #[serde(default)]
    incidentio_configs: Vec<Option<IncidentioConfig>>,
    #[serde(default)]
    wechat_configs: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    sns_configs: Option<serde_yaml_ng::Value>,
}

/// A present, non-empty list.
fn listed(v: &Option<serde_yaml_ng::Value>) -> bool {
    match v {
        None | Some(serde_yaml_ng::Value::Null) => false,
        Some(serde_yaml_ng::Value::Sequence(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// The entries of a notifier list, remembering Alertmanager's message for a null entry.
fn entries<T>(list: Vec<Option<T>>, kind: usize, missing: &mut Option<usize>) -> Vec<T> {
    if list.iter().any(Option::is_none) && missing.is_none() {
        *missing = Some(kind);
    }
    list.into_iter().flatten().collect()
}

impl TryFrom<RawReceiver> for Receiver {
    type Error = Invalid;

    fn try_from(r: RawReceiver) -> Result<Receiver, Invalid> {
        if r.name.is_empty() {
            return fail("missing name in receiver");
        }
        let mut labels = r.labels.unwrap_or_default();
        if let Some(v) = labels.get("name") {
            if v != &r.name {
                return fail(format!(
                    "receiver label \"name\" must match receiver name {}, got {}",
                    go_quote(&r.name),
                    go_quote(v)
                ));
            }
        }
        labels.insert("name".to_string(), r.name.clone());
        let unsupported = [&r.wechat_configs, &r.sns_configs]
            .iter()
            .position(|v| listed(v));
        let mut missing = None;
        Ok(Receiver {
            name: r.name,
            labels,
            webhook_configs: entries(r.webhook_configs, 0, &mut missing),
            email_configs: entries(r.email_configs, 1, &mut missing),
            slack_configs: entries(r.slack_configs, 2, &mut missing),
            telegram_configs: entries(r.telegram_configs, 3, &mut missing),
            discord_configs: entries(r.discord_configs, 4, &mut missing),
            msteams_configs: entries(r.msteams_configs, 5, &mut missing),
            pagerduty_configs: entries(r.pagerduty_configs, 6, &mut missing),
            opsgenie_configs: entries(r.opsgenie_configs, 7, &mut missing),
            victorops_configs: entries(r.victorops_configs, 8, &mut missing),
            pushover_configs: entries(r.pushover_configs, 9, &mut missing),
            msteamsv2_configs: entries(r.msteamsv2_configs, 10, &mut missing),
            webex_configs: entries(r.webex_configs, 11, &mut missing),
            mattermost_configs: entries(r.mattermost_configs, 12, &mut missing),
            rocketchat_configs: entries(r.rocketchat_configs, 13, &mut missing),
            jira_configs: entries(r.jira_configs, 14, &mut missing),
            incidentio_configs: entries(r.incidentio_configs, 15, &mut missing),
            unsupported,
            missing,
        })
    }
}

impl Receiver {
    /// Inherits from `global` and applies Alertmanager's per-receiver checks, in its order.
    pub(crate) fn resolve(
        &mut self,
        g: &GlobalConfig,
        dir: Option<&Path>,
    ) -> Result<(), ConfigError> {
        // Upstream checks a null Opsgenie entry against the global key only.
        if self.missing == Some(7) {
            opsgenie::check_global_key(g)?;
        }
        // And a null Rocket.Chat entry against the global credentials.
        if self.missing == Some(13) {
            rocketchat::check_global_credentials(g)?;
        }
        if let Some(kind) = self.missing {
            return Err(ConfigError::Invalid(format!(
                "missing {} config",
                SUPPORTED[kind]
            )));
        }
        for c in &mut self.webhook_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.email_configs {
            c.resolve(g)?;
        }
        for c in &mut self.slack_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.pushover_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.pagerduty_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.incidentio_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.opsgenie_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.victorops_configs {
            c.resolve(g, dir)?;
        }
        if let Some(kind) = self.unsupported.map(|i| UNSUPPORTED_RECEIVERS[i]) {
            return Err(ConfigError::Unsupported(format!(
                "receiver type {kind:?} ({kind}_configs in receiver {:?}) is not supported by bongsu yet",
                self.name
            )));
        }
        for c in &mut self.telegram_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.discord_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.webex_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.msteams_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.msteamsv2_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.jira_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.rocketchat_configs {
            c.resolve(g, dir)?;
        }
        for c in &mut self.mattermost_configs {
            c.resolve(g, dir)?;
        }
        Ok(())
    }

    /// Whether the receiver has no notifier (alerts routed to it are dropped, as upstream).
    pub fn is_empty(&self) -> bool {
        self.email_configs.is_empty()
            && self.slack_configs.is_empty()
            && self.webhook_configs.is_empty()
            && self.discord_configs.is_empty()
            && self.msteams_configs.is_empty()
            && self.telegram_configs.is_empty()
            && self.pagerduty_configs.is_empty()
            && self.opsgenie_configs.is_empty()
            && self.victorops_configs.is_empty()
            && self.pushover_configs.is_empty()
            && self.msteamsv2_configs.is_empty()
            && self.webex_configs.is_empty()
            && self.mattermost_configs.is_empty()
            && self.rocketchat_configs.is_empty()
            && self.jira_configs.is_empty()
            && self.incidentio_configs.is_empty()
    }
}
