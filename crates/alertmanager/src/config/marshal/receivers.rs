//! The receivers' part of the printed configuration.

use serde_yaml_ng::Value;

use super::{string_map, Map};
use crate::config::receivers::Receiver;
use crate::notify::{
    discord, email, incidentio, jira, mattermost, msteams, msteamsv2, opsgenie, pagerduty,
    pushover, rocketchat, slack, telegram, victorops, webex, webhook,
};

/// The receiver's labels, left out when only the `name` label every receiver gets is there.
fn own_labels(r: &Receiver) -> Map {
    if r.labels.len() == 1 && r.labels.get("name") == Some(&r.name) {
        return Map::default();
    }
    string_map(&r.labels)
}

pub(super) fn receiver(r: &Receiver) -> Value {
    let mut m = Map::default();
    m.put("name", r.name.as_str())
        .map("labels", own_labels(r))
        .list(
            "discord_configs",
            r.discord_configs.iter().map(discord::print).collect(),
        )
        .list(
            "email_configs",
            r.email_configs.iter().map(email::print).collect(),
        )
        .list(
            "incidentio_configs",
            r.incidentio_configs.iter().map(incidentio::print).collect(),
        )
        .list(
            "pagerduty_configs",
            r.pagerduty_configs.iter().map(pagerduty::print).collect(),
        )
        .list(
            "slack_configs",
            r.slack_configs.iter().map(slack::print).collect(),
        )
        .list(
            "webhook_configs",
            r.webhook_configs.iter().map(webhook::print).collect(),
        )
        .list(
            "opsgenie_configs",
            r.opsgenie_configs.iter().map(opsgenie::print).collect(),
        )
        .list(
            "pushover_configs",
            r.pushover_configs.iter().map(pushover::print).collect(),
        )
        .list(
            "victorops_configs",
            r.victorops_configs.iter().map(victorops::print).collect(),
        )
        .list(
            "telegram_configs",
            r.telegram_configs.iter().map(telegram::print).collect(),
        )
        .list(
            "webex_configs",
            r.webex_configs.iter().map(webex::print).collect(),
        )
        .list(
            "msteams_configs",
            r.msteams_configs.iter().map(msteams::print).collect(),
        )
        .list(
            "msteamsv2_configs",
            r.msteamsv2_configs.iter().map(msteamsv2::print).collect(),
        )
        .list(
            "jira_configs",
            r.jira_configs.iter().map(jira::print).collect(),
        )
        .list(
            "rocketchat_configs",
            r.rocketchat_configs.iter().map(rocketchat::print).collect(),
        )
        .list(
            "mattermost_configs",
            r.mattermost_configs.iter().map(mattermost::print).collect(),
        );
    m.done()
}
