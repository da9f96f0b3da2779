//! The registry of receiver kinds: the one table of the kinds bongsu delivers to and of those
//! it refuses, from which a receiver's decoding, inheritance from `global`, printing,
//! integrations and metrics are loops. What a kind does is its folder's (`ReceiverKind`);
//! what a receiver does with its entries is `config::receiver`'s.
//!
//! Adding a kind: its folder (configuration with its `impl ReceiverKind`, notifier), its `mod`
//! line in `notify`, a row in the table below and its name in each order list (the lists'
//! lengths are the table's, so the compiler asks for it).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::kind::{IntegrationConfig, ReceiverKind};
use crate::config::{ConfigError, GlobalConfig};

/// A kind bongsu delivers to.
pub struct Kind {
    /// [`ReceiverKind::NAME`].
    pub name: &'static str,
    /// The receiver's key: `<name>_configs`.
    pub key: &'static str,
    /// [`ReceiverKind::GO_PACKAGE`].
    pub go_package: &'static str,
    /// [`ReceiverKind::check_null_entry`].
    pub check_null_entry: fn(&GlobalConfig) -> Result<(), ConfigError>,
}

impl Kind {
    const fn of<K: ReceiverKind>(key: &'static str) -> Kind {
        Kind {
            name: K::NAME,
            key,
            go_package: K::GO_PACKAGE,
            check_null_entry: K::check_null_entry,
        }
    }
}

/// A kind upstream has and bongsu refuses at load time ("… is not supported by bongsu yet").
pub struct RefusedKind {
    /// The receiver's key: `<name>_configs`.
    pub key: &'static str,
    /// The Go package upstream declares its configuration in.
    pub go_package: &'static str,
}

impl RefusedKind {
    pub fn name(&self) -> &'static str {
        self.key.strip_suffix("_configs").unwrap_or(self.key)
    }
}

/// A receiver's entries as decoded, before the receiver's own checks.
#[derive(Default)]
pub(crate) struct Entries {
    /// Grouped by kind in the table's order; each kind's in the order written.
    pub configs: Vec<Box<dyn IntegrationConfig>>,
    /// The kinds with an entry written as null, which upstream refuses.
    pub null_entries: Vec<&'static str>,
    /// The first refused kind listed, in the table's order.
    pub refused: Option<&'static str>,
}

impl Entries {
    fn add<K: ReceiverKind>(&mut self, list: Vec<Option<K>>) {
        if list.iter().any(Option::is_none) {
            self.null_entries.push(K::NAME);
        }
        for c in list.into_iter().flatten() {
            self.configs.push(Box::new(c));
        }
    }
}

/// A present, non-empty list.
fn listed(v: &Option<serde_yaml_ng::Value>) -> bool {
    match v {
        None | Some(serde_yaml_ng::Value::Null) => false,
        Some(serde_yaml_ng::Value::Sequence(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Declares the table: [`KINDS`], [`REFUSED`] and [`RawReceiver`], whose fields follow the
/// table's order (serde's unknown-key error lists them in it).
macro_rules! receiver_kinds {
    (
        delivered { $($key:ident: $config:ty,)* }
        refused { $($refused:ident in $package:literal,)* }
    ) => {
        /// The kinds bongsu delivers to.
        pub const KINDS: &[Kind] = &[$(Kind::of::<$config>(stringify!($key)),)*];

        /// The kinds upstream has that bongsu refuses, in upstream's order.
        pub const REFUSED: &[RefusedKind] = &[$(RefusedKind {
            key: stringify!($refused),
            go_package: $package,
        },)*];

        /// A receiver as written (`deny_unknown_fields`, as Go's strict decoder).
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct RawReceiver {
            #[serde(default)]
            pub name: String,
            #[serde(default)]
            pub labels: Option<BTreeMap<String, String>>,
            $(
                #[serde(default)]
                $key: Vec<Option<$config>>,
            )*
            $(
                #[serde(default)]
                $refused: Option<serde_yaml_ng::Value>,
            )*
        }

        impl RawReceiver {
            /// The entries of every kind, taking them out of `self`.
            pub(crate) fn take_entries(&mut self) -> Entries {
                let mut entries = Entries::default();
                $(entries.add(std::mem::take(&mut self.$key));)*
                entries.refused = [$(&self.$refused,)*]
                    .into_iter()
                    .zip(REFUSED)
                    .find(|(list, _)| listed(list))
                    .map(|(_, kind)| kind.name());
                entries
            }
        }
    };
}

// In the order serde's unknown-key error has always listed a receiver's keys in.
receiver_kinds! {
    delivered {
        email_configs: super::email::EmailConfig,
        slack_configs: super::slack::SlackConfig,
        webhook_configs: super::webhook::WebhookConfig,
        discord_configs: super::discord::DiscordConfig,
        msteams_configs: super::msteams::MsTeamsConfig,
        telegram_configs: super::telegram::TelegramConfig,
        pagerduty_configs: super::pagerduty::PagerdutyConfig,
        opsgenie_configs: super::opsgenie::OpsgenieConfig,
        victorops_configs: super::victorops::VictoropsConfig,
        pushover_configs: super::pushover::PushoverConfig,
        msteamsv2_configs: super::msteamsv2::MsTeamsV2Config,
        webex_configs: super::webex::WebexConfig,
        mattermost_configs: super::mattermost::MattermostConfig,
        rocketchat_configs: super::rocketchat::RocketchatConfig,
        jira_configs: super::jira::JiraConfig,
        incidentio_configs: super::incidentio::IncidentioConfig,
    }
    refused {
        wechat_configs in "config",
        sns_configs in "sns",
    }
}

/// The kind named `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The Go package upstream declares kind `name`'s configuration in, for a kind bongsu
/// delivers to or refuses.
pub fn go_package(name: &str) -> Option<&'static str> {
    kind(name).map(|k| k.go_package).or_else(|| {
        REFUSED
            .iter()
            .find(|r| r.name() == name)
            .map(|r| r.go_package)
    })
}

// Upstream walks the kinds in different orders in different places; these lists keep each,
// so that output and the first of several errors stay upstream's (or, where upstream has no
// say, what bongsu has always done).

/// The order kinds print in (`/api/v2/status`, amtool): upstream's `Receiver` fields.
pub const PRINT_ORDER: [&str; KINDS.len()] = [
    "discord",
    "email",
    "incidentio",
    "pagerduty",
    "slack",
    "webhook",
    "opsgenie",
    "pushover",
    "victorops",
    "telegram",
    "webex",
    "msteams",
    "msteamsv2",
    "jira",
    "rocketchat",
    "mattermost",
];

/// The order upstream's `Config.UnmarshalYAML` inherits from `global` and checks kinds in,
/// which decides the error of a receiver with several wrong entries.
pub const CHECK_ORDER: [&str; KINDS.len()] = [
    "webhook",
    "email",
    "slack",
    "pushover",
    "pagerduty",
    "incidentio",
    "opsgenie",
    "victorops",
    "telegram",
    "discord",
    "webex",
    "msteams",
    "msteamsv2",
    "jira",
    "rocketchat",
    "mattermost",
];

/// In [`CHECK_ORDER`], the refused kinds are refused right after this kind is checked.
pub const REFUSED_AFTER: &str = "victorops";

/// Which kind's null entry a receiver is refused for when several kinds have one.
pub const NULL_ENTRY_ORDER: [&str; KINDS.len()] = [
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

/// The order a receiver's integrations are built in (the first failure is reported) and
/// their deliveries started in.
pub const BUILD_ORDER: [&str; KINDS.len()] = [
    "webhook",
    "msteams",
    "msteamsv2",
    "webex",
    "mattermost",
    "rocketchat",
    "jira",
    "incidentio",
    "telegram",
    "slack",
    "discord",
    "email",
    "pagerduty",
    "opsgenie",
    "victorops",
    "pushover",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_names_with_configs() {
        for k in KINDS {
            assert_eq!(k.key, format!("{}_configs", k.name));
        }
    }

    #[test]
    fn every_order_lists_every_kind_once() {
        let mut all: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        all.sort_unstable();
        for order in [PRINT_ORDER, CHECK_ORDER, NULL_ENTRY_ORDER, BUILD_ORDER] {
            let mut sorted = order.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, all, "{order:?}");
        }
        assert!(CHECK_ORDER.contains(&REFUSED_AFTER));
    }

    /// Receiver `t` with `body` (its keys, indented by two spaces), loaded.
    fn load(body: &str) -> Result<crate::config::Config, String> {
        let yaml = format!("route: {{receiver: t}}\nreceivers:\n- name: t\n{body}");
        crate::config::Config::parse(&yaml, None).map_err(|e| e.to_string())
    }

    #[test]
    fn orders_decide_which_error_a_receiver_gets() {
        // Null entries: webhook's before slack's, though slack comes first in the table.
        let nulls = load("  slack_configs: [~]\n  webhook_configs: [~]\n");
        assert_eq!(nulls.unwrap_err(), "missing webhook config");
        // Upstream checks email before slack, whatever the order written.
        let both = load("  slack_configs: [{channel: c}]\n  email_configs: [{to: a@b}]\n");
        assert_eq!(both.unwrap_err(), "no global SMTP smarthost set");
        // A refused kind is refused after VictorOps is checked and before Telegram is.
        let before = load("  wechat_configs: [{}]\n  victorops_configs: [{routing_key: r}]\n");
        assert_eq!(before.unwrap_err(), "no global VictorOps API Key set");
        let after = load("  wechat_configs: [{}]\n  telegram_configs: [{chat_id: 1}]\n");
        assert!(after
            .unwrap_err()
            .ends_with("is not supported by bongsu yet"));
    }

    #[test]
    fn orders_decide_printing_and_building() {
        let cfg = load(
            "  webhook_configs: [{url: 'http://w.example/'}]\n  \
             email_configs: [{to: a@b, from: f@b, smarthost: 'h:25'}]\n  \
             discord_configs: [{webhook_url: 'http://d.example/'}]\n",
        )
        .unwrap();
        let printed = cfg.to_redacted_yaml();
        let at = |key: &str| printed.find(key).unwrap();
        assert!(at("discord_configs") < at("email_configs"));
        assert!(at("email_configs") < at("webhook_configs"));
        let templates = crate::notify::test_support::templates();
        let built = crate::notify::integrations(&cfg.receivers[0], &templates, false).unwrap();
        let kinds: Vec<&str> = built.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, ["webhook", "discord", "email"]);
    }
}
