use std::path::Path;
use std::time::Duration;

use super::*;
use crate::notify::discord::DiscordConfig;
use crate::notify::email::{EmailConfig, DEFAULT_EMAIL_HTML};
use crate::notify::incidentio::IncidentioConfig;
use crate::notify::jira::JiraConfig;
use crate::notify::mattermost::MattermostConfig;
use crate::notify::msteams::MsTeamsConfig;
use crate::notify::msteamsv2::MsTeamsV2Config;
use crate::notify::rocketchat::RocketchatConfig;
use crate::notify::slack::SlackConfig;
use crate::notify::telegram::TelegramConfig;
use crate::notify::webex::WebexConfig;
use crate::notify::webhook::WebhookConfig;

const MINIMAL: &str = "route: {receiver: r}\nreceivers: [{name: r}]\n";

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, None)
}

fn err(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("loads:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.global.resolve_timeout, Duration::from_secs(300));
    assert_eq!(c.global.smtp_hello, "localhost");
    assert!(c.global.smtp_require_tls);
    assert_eq!(
        c.global.telegram_api_url.as_str(),
        "https://api.telegram.org/"
    );
    assert_eq!(c.global.slack_app_url.as_str(), DEFAULT_SLACK_APP_URL);
    assert!(c.global.http_config.follow_redirects);
    assert!(c.inhibit_rules.is_empty() && c.templates.is_empty());
    assert_eq!(
        c.receivers[0].labels.get("name").map(String::as_str),
        Some("r")
    );
}

#[test]
fn whole_file_checks() {
    assert_eq!(err(""), "no route provided in config");
    assert_eq!(err("receivers: [{name: r}]"), "no routes provided");
    assert_eq!(
        err("route: {}\nreceivers: [{name: r}]"),
        "root route must specify a default receiver"
    );
    assert_eq!(
        err("route: {receiver: r, matchers: ['a=b']}\nreceivers: [{name: r}]"),
        "root route must not have any matchers"
    );
    assert_eq!(
        err("route: {receiver: r, continue: true}\nreceivers: [{name: r}]"),
        "cannot have continue in root route"
    );
    assert_eq!(
        err("route: {receiver: r, routes: [{receiver: x}]}\nreceivers: [{name: r}]"),
        r#"undefined receiver "x" used in route"#
    );
    assert_eq!(
        err("route: {receiver: r}\nreceivers: [{name: r}, {name: r}]"),
        r#"notification config name "r" is not unique"#
    );
    assert_eq!(
        err("route: {receiver: r, routes: [{mute_time_intervals: [night]}]}\nreceivers: [{name: r}]"),
        r#"undefined time interval "night" used in route"#
    );
    assert_eq!(
        err("route: {receiver: r, active_time_intervals: [x]}\nreceivers: [{name: r}]\ntime_intervals: [{name: x}]"),
        "root route must not have any active time intervals"
    );
    assert_eq!(
        err(&format!(
            "{MINIMAL}time_intervals: [{{name: x}}]\nmute_time_intervals: [{{name: x}}]"
        )),
        r#"time interval "x" is not unique"#
    );
    assert_eq!(
        err(&format!(
            "{MINIMAL}time_intervals: [{{time_intervals: []}}]"
        )),
        "missing name in time interval"
    );
    assert_eq!(
        err("route: {receiver: r}\nreceivers: [{}]"),
        "missing name in receiver"
    );
}

#[test]
fn route_node_checks() {
    let route = |body: &str| {
        err(&format!(
            "route: {{receiver: r, routes: [{body}]}}\nreceivers: [{{name: r}}]"
        ))
    };
    assert_eq!(
        route("{group_by: ['...', a]}"),
        "cannot have wildcard group_by (`...`) and other labels at the same time"
    );
    assert_eq!(
        route("{group_by: [a, a]}"),
        r#"duplicated label "a" in group_by"#
    );
    assert_eq!(
        route("{group_interval: 0s}"),
        "group_interval cannot be zero"
    );
    assert_eq!(
        route("{repeat_interval: 0s}"),
        "repeat_interval cannot be zero"
    );
    assert_eq!(route("{match: {1a: x}}"), r#"invalid label name "1a""#);
    assert_eq!(route("{matchers: ['a']}"), "bad matcher format: a");
    assert!(route("{match_re: {a: '('}}").contains("error parsing regexp"));
    assert_eq!(
        route("{group_wait: 5x}"),
        r#"not a valid duration string: "5x""#
    );
    assert!(
        route("{recevier: x}")
            .starts_with("yaml: unmarshal errors:\n  line 1: field recevier not found"),
        "{}",
        route("{recevier: x}")
    );
}

#[test]
fn inhibit_rules() {
    let c = load(&format!(
        "{MINIMAL}inhibit_rules:\n- source_matchers: ['severity=\"critical\"']\n  target_match: {{severity: warning}}\n  target_match_re: {{alertname: 'Disk.*'}}\n  equal: [cluster, 'service.name']\n"
    ))
    .unwrap();
    let rule = &c.inhibit_rules[0];
    assert_eq!(rule.source_matchers.to_string(), r#"{severity="critical"}"#);
    assert_eq!(
        rule.target_matchers.to_string(),
        r#"{severity="warning",alertname=~"^(?:Disk.*)$"}"#
    );
    assert_eq!(rule.equal, ["cluster", "service.name"]);
    assert_eq!(
        err(&format!("{MINIMAL}inhibit_rules: [{{equal: ['']}}]")),
        r#"invalid label name "" in equal list"#
    );
}

#[test]
fn email_inherits_smtp_globals() {
    let c = load(
        "global: {smtp_smarthost: 'mail:25', smtp_from: am@x, smtp_auth_username: u, smtp_auth_password: pw, smtp_require_tls: false}\n\
         route: {receiver: r}\n\
         receivers: [{name: r, email_configs: [{to: a@x, headers: {subject: S, x-team-id: '1'}}, {to: b@x, from: me@x, smarthost: '[::1]:587', require_tls: true}]}]\n",
    )
    .unwrap();
    let [a, b] = &c.receivers[0].configs::<EmailConfig>()[..] else {
        panic!("two email configs")
    };
    assert_eq!(
        (a.smarthost.to_string(), a.from.as_str()),
        ("mail:25".into(), "am@x")
    );
    assert_eq!(
        (a.auth_username.as_str(), a.auth_password.expose()),
        ("u", "pw")
    );
    assert_eq!(a.require_tls, Some(false));
    assert_eq!(a.hello, "localhost");
    assert!(!a.send_resolved);
    assert_eq!(a.html, DEFAULT_EMAIL_HTML);
    assert_eq!(
        a.headers.keys().collect::<Vec<_>>(),
        ["Subject", "X-Team-Id"]
    );
    assert_eq!(
        (b.smarthost.host.as_str(), b.smarthost.port.as_str()),
        ("::1", "587")
    );
    assert_eq!((b.from.as_str(), b.require_tls), ("me@x", Some(true)));

    let rcv = |body: &str| {
        format!("route: {{receiver: r}}\nreceivers: [{{name: r, email_configs: [{body}]}}]\n")
    };
    assert_eq!(
        err(&rcv("{from: a@x}")),
        "missing to address in email config"
    );
    assert_eq!(err(&rcv("{to: a@x}")), "no global SMTP smarthost set");
    assert_eq!(
        err(&rcv("{to: a@x, smarthost: 'h:25'}")),
        "no global SMTP from set"
    );
    assert_eq!(
        err(&rcv("{to: a@x, smarthost: 'h'}")),
        "address h: missing port in address"
    );
    assert_eq!(
        err(&rcv("{to: a@x, headers: {subject: a, Subject: b}}")),
        r#"duplicate header "Subject" in email config"#
    );
    assert_eq!(err(&rcv("~")), "missing email config");
}

#[test]
fn slack_tokens_and_urls() {
    let c = load(
        "global: {slack_app_token: xoxb-1}\n\
         route: {receiver: r}\n\
         receivers: [{name: r, slack_configs: [{channel: '#a'}, {api_url: 'https://hooks.slack.com/x', channel: '#b'}]}]\n",
    )
    .unwrap();
    let [bot, hook] = &c.receivers[0].configs::<SlackConfig>()[..] else {
        panic!("two slack configs")
    };
    let auth = bot.http_config.authorization.as_ref().unwrap();
    assert_eq!(
        (auth.kind.as_str(), auth.credentials.expose()),
        ("Bearer", "xoxb-1")
    );
    assert_eq!(
        bot.api_url
            .as_ref()
            .and_then(SecretUrl::expose)
            .map(Url::as_str),
        Some(DEFAULT_SLACK_APP_URL)
    );
    assert_eq!(bot.title, r#"{{ template "slack.default.title" . }}"#);
    assert!(
        hook.http_config.authorization.is_none(),
        "a webhook URL keeps no global token"
    );
    assert_eq!(
        err("route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{actions: [{type: button, text: t}]}]}]"),
        "missing name or url in Slack action configuration"
    );
    assert_eq!(
        err(
            "route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{api_url: 'ftp://x/y'}]}]"
        ),
        r#"unsupported scheme "ftp" for URL"#
    );
}

#[test]
fn chat_and_webhook_receivers() {
    let c = load(
        "global: {telegram_bot_token: t0k3n}\n\
         route: {receiver: r}\n\
         receivers:\n- name: r\n  webhook_configs: [{url: 'http://h/{{ .GroupLabels.team }}', max_alerts: 5, timeout: 10s}]\n  discord_configs: [{webhook_url: 'https://discord.com/api/webhooks/1/x', send_resolved: false}]\n  msteams_configs: [{webhook_url_file: /run/teams}]\n  telegram_configs: [{chat_id: -100}]\n",
    )
    .unwrap();
    let r = &c.receivers[0];
    let w = &r.configs::<WebhookConfig>()[0];
    assert!(w.send_resolved);
    assert_eq!((w.max_alerts, w.timeout), (5, Duration::from_secs(10)));
    assert!(!r.configs::<DiscordConfig>()[0].send_resolved);
    assert_eq!(
        r.configs::<MsTeamsConfig>()[0].text,
        r#"{{ template "msteams.default.text" . }}"#
    );
    let t = &r.configs::<TelegramConfig>()[0];
    assert_eq!(
        (t.chat_id, t.bot_token.expose(), t.parse_mode.as_str()),
        (-100, "t0k3n", "HTML")
    );
    assert_eq!(
        t.api_url.as_ref().map(Url::as_str),
        Some("https://api.telegram.org/")
    );

    let rcv = |body: &str| {
        err(&format!(
            "route: {{receiver: r}}\nreceivers: [{{name: r, {body}}}]\n"
        ))
    };
    assert_eq!(
        rcv("webhook_configs: [{}]"),
        "one of url or url_file must be configured"
    );
    assert_eq!(
        rcv("webhook_configs: [{url: 'http://a', url_file: f}]"),
        "at most one of url & url_file must be configured"
    );
    assert_eq!(
        rcv("webhook_configs: [{url: 'example.com/hook'}]"),
        r#"invalid URL: unsupported scheme "" for URL"#
    );
    assert_eq!(
        rcv("webhook_configs: [{url: 'http://example.com/{{ .Invalid'}]"),
        "invalid template syntax: template: :1: unclosed action"
    );
    assert!(load("route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'not-a-url-{{ .GroupLabels.x }}'}]}]").is_ok());
    assert_eq!(
        rcv("discord_configs: [{}]"),
        "one of webhook_url or webhook_url_file must be configured"
    );
    assert_eq!(
        rcv("telegram_configs: [{bot_token: x}]"),
        "missing chat_id or chat_id_file on telegram_config"
    );
    assert_eq!(
        rcv("telegram_configs: [{chat_id: 1, parse_mode: BBCode, bot_token: x}]"),
        "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string"
    );
    assert_eq!(
        rcv("telegram_configs: [{chat_id: 1}]"),
        "missing bot_token or bot_token_file on telegram_config"
    );
}

#[test]
fn unsupported_features_are_refused() {
    let e = load("route: {receiver: r}\nreceivers: [{name: r, wechat_configs: [{corp_id: k}]}]")
        .unwrap_err();
    assert!(e.is_unsupported());
    assert_eq!(
        e.to_string(),
        r#"receiver type "wechat" (wechat_configs in receiver "r") is not supported by bongsu yet"#
    );
    let e = load("route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://a', http_config: {oauth2: {client_id: x}}}]}]")
        .unwrap_err();
    assert_eq!(e.to_string(), "oauth2 is not supported by bongsu yet");
    // An empty list of an unsupported kind is harmless.
    assert!(load("route: {receiver: r}\nreceivers: [{name: r, opsgenie_configs: []}]").is_ok());
}

#[test]
fn secrets_never_print() {
    let c = load(
        "global: {smtp_smarthost: 'h:25', smtp_from: a@x, smtp_auth_password: hunter2, slack_api_url: 'https://hooks.slack.com/services/T0/B0/hunter3', http_config: {basic_auth: {username: u, password: hunter4}}}\n\
         route: {receiver: r}\n\
         receivers: [{name: r, email_configs: [{to: b@x}], slack_configs: [{}], webhook_configs: [{url: 'http://u:hunter5@h/'}], telegram_configs: [{chat_id: 1, bot_token: hunter6}], discord_configs: [{webhook_url: 'https://d/hunter7'}]}]\n",
    )
    .unwrap();
    let debug = format!("{c:?}");
    for secret in [
        "hunter2", "hunter3", "hunter4", "hunter5", "hunter6", "hunter7",
    ] {
        assert!(!debug.contains(secret), "{secret} printed");
    }
    assert!(debug.contains("<secret>"));
    for bad in [
        "webhook_configs: [{url: 'http://[hunter8'}]",
        "discord_configs: [{webhook_url: 'http://[hunter9'}]",
    ] {
        let e = err(&format!(
            "route: {{receiver: r}}\nreceivers: [{{name: r, {bad}}}]"
        ));
        assert!(!e.contains("hunter") && e.contains("[REDACTED]"), "{e}");
    }
}

#[test]
fn relative_paths_follow_the_file() {
    let c = Config::parse(
        &format!("{MINIMAL}templates: ['t/*.tmpl', '/abs/x.tmpl']\nglobal: {{http_config: {{tls_config: {{ca_file: ca.pem}}}}}}\n"),
        Some(Path::new("/etc/am")),
    )
    .unwrap();
    assert_eq!(c.templates, ["/etc/am/t/*.tmpl", "/abs/x.tmpl"]);
    assert_eq!(
        c.global.http_config.tls_config.ca_file.as_deref(),
        Some(Path::new("/etc/am/ca.pem"))
    );
}

#[test]
fn time_intervals_by_name() {
    let c = load(&format!(
        "{MINIMAL}time_intervals:\n- name: weekends\n  time_intervals: [{{weekdays: ['saturday', 'sunday']}}]\nmute_time_intervals:\n- name: old\n  time_intervals: [{{months: ['december']}}]\n"
    ))
    .unwrap();
    assert_eq!(
        c.time_intervals.keys().collect::<Vec<_>>(),
        ["old", "weekends"]
    );
    assert_eq!(
        err(&format!(
            "{MINIMAL}time_intervals: [{{name: x, time_intervals: [{{weekdays: [someday]}}]}}]"
        )),
        "someday is not a valid weekday"
    );
}

#[test]
fn printed_configuration_hides_secrets_and_loads_again() {
    let text = "global: {smtp_smarthost: 'h:25', smtp_from: a@x, smtp_auth_password: hunter2, slack_api_url: 'https://hooks.slack.com/hunter3', resolve_timeout: 90s}\n\
         route:\n  receiver: r\n  group_by: ['...']\n  routes:\n  - {match: {a: b}, match_re: {c: 'd|e'}, receiver: s, group_wait: 1h30m, continue: true, labels: {x: y}}\n  - {matchers: ['\"service.name\"=\"api\"'], group_by: [], mute_time_intervals: [night]}\n\
         inhibit_rules: [{source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: [cluster]}]\n\
         receivers:\n- name: r\n  email_configs: [{to: b@x, headers: {X-A: b}}]\n  slack_configs: [{channel: '#c', fields: [{title: t, value: v}], actions: [{type: button, text: t, url: 'http://x'}]}, {app_token: hunter4}]\n  webhook_configs: [{url: 'http://u:hunter5@h/', timeout: 1m30s}]\n  telegram_configs: [{chat_id: 1, bot_token: hunter6}]\n  discord_configs: [{webhook_url: 'https://d/hunter7'}]\n  msteams_configs: [{webhook_url: 'https://t/hunter8', http_config: {proxy_url: 'http://p:hunter9@proxy:3128'}}]\n\
         - name: s\n\
         time_intervals: [{name: night, time_intervals: [{times: [{start_time: '22:00', end_time: '24:00'}], weekdays: ['monday:friday', saturday], days_of_month: ['-3:-1'], months: ['1:3'], years: ['2024'], location: Europe/Berlin}]}]\n";
    let c = load(text).unwrap();
    let printed = c.to_redacted_yaml();
    for secret in [
        "hunter2", "hunter3", "hunter4", "hunter5", "hunter6", "hunter7", "hunter8", "hunter9",
    ] {
        assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
    }
    assert!(
        printed.contains("proxy_url: http://p:xxxxx@proxy:3128"),
        "{printed}"
    );
    assert!(printed.contains("resolve_timeout: 1m30s"), "{printed}");
    assert!(printed.contains("group_wait: 1h30m"), "{printed}");
    let again = load(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(again.to_redacted_yaml(), printed, "printing is idempotent");
    assert_eq!(again.route.routes[0].matchers, c.route.routes[0].matchers);
    assert_eq!(again.route.routes[1].group_by, Some(vec![]));
    assert!(again.route.group_by_all);
    let (a, b) = (
        &c.time_intervals["night"][0],
        &again.time_intervals["night"][0],
    );
    assert_eq!(
        (&a.weekdays, &a.days_of_month, &a.months),
        (&b.weekdays, &b.days_of_month, &b.months)
    );
}

#[test]
fn printed_defaults_newer_than_alertmanager_0_25_are_left_out() {
    let plain = load(
        "route: {receiver: w}\nreceivers:\n- name: w\n  webhook_configs: [{url: 'http://h/'}]\n",
    )
    .unwrap()
    .to_redacted_yaml();
    for key in [
        " smtp_tls_config:",
        " slack_app_url:",
        " rocketchat_api_url:",
        " labels:",
        " url_file:",
        " timeout:",
    ] {
        assert!(!plain.contains(key), "{key} printed:\n{plain}");
    }
    let set = load(
        "global: {smtp_tls_config: {server_name: s}, slack_app_url: 'http://s/', rocketchat_api_url: 'http://r/'}\n\
         route: {receiver: w}\nreceivers:\n- name: w\n  labels: {team: a}\n  webhook_configs: [{url_file: /u, timeout: 5s}]\n",
    )
    .unwrap()
    .to_redacted_yaml();
    for line in [
        "server_name: s",
        "slack_app_url: http://s/",
        "rocketchat_api_url: http://r/",
        "team: a",
        "url_file: /u",
        "timeout: 5s",
    ] {
        assert!(set.contains(line), "{line} missing:\n{set}");
    }
}

#[test]
fn team_chat_receivers_print_redacted_and_load_again() {
    let text = "route: {receiver: c}\nreceivers:\n- name: c\n  \
        msteamsv2_configs: [{webhook_url: 'http://t.example/w?sig=SECRET1', title: T}]\n  \
        webex_configs: [{room_id: r, http_config: {authorization: {credentials: SECRET2}}}]\n  \
        mattermost_configs: [{webhook_url: 'http://m.example/hooks/SECRET3', fields: [{title: a, value: b, short: true}], props: {card: k}, priority: {priority: urgent}}]\n  \
        rocketchat_configs: [{token_id: SECRET4, token: SECRET5, fields: [{title: a}], actions: [{text: go, url: 'http://x'}]}]\n";
    let printed = load(text).unwrap().to_redacted_yaml();
    assert!(!printed.contains("SECRET"), "{printed}");
    for want in [
        "msteamsv2_configs:",
        "  webhook_url: <secret>",
        "  title: T",
        "webex_configs:",
        "  api_url: https://webexapis.com/v1/messages",
        "  room_id: r",
        "rocketchat_configs:",
        "  token_id: <secret>",
        "  token: <secret>",
        "- short: null",
        "    iswebview: false",
        "  short_fields: false",
        "mattermost_configs:",
        "    card: k",
        "    priority: urgent",
    ] {
        assert!(printed.contains(want), "{want:?} not in\n{printed}");
    }
    let again = load(&printed).unwrap();
    let r = &again.receivers[0];
    assert_eq!(
        (
            r.configs::<MsTeamsV2Config>().len(),
            r.configs::<WebexConfig>().len(),
            r.configs::<MattermostConfig>().len(),
            r.configs::<RocketchatConfig>().len()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        r.configs::<MattermostConfig>()[0].fields[0].short,
        Some(true)
    );
}

#[test]
fn jira_prints_and_loads_again() {
    let text = "global: {jira_api_url: 'https://x.atlassian.net/rest/api/2/'}\nroute: {receiver: j}\nreceivers:\n- name: j\n  \
        jira_configs: [{project: OPS, issue_type: Bug, summary: {enable_update: false}, reopen_duration: 90m, \
        http_config: {basic_auth: {username: u, password: SECRET}}, fields: {customfield_1: {value: '{{ .Status }}'}}}]\n";
    let printed = load(text).unwrap().to_redacted_yaml();
    assert!(!printed.contains("SECRET"), "{printed}");
    for want in [
        "  api_url: https://x.atlassian.net/rest/api/2/",
        "  api_type: auto",
        "    enable_update: false",
        "  reopen_duration: 1h30m",
        "      value: '{{ .Status }}'",
    ] {
        assert!(printed.contains(want), "{want:?} not in\n{printed}");
    }
    let again = load(&printed).unwrap();
    let c = &again.receivers[0].configs::<JiraConfig>()[0];
    assert!(!c.summary.update());
    assert_eq!(c.reopen_duration.as_secs(), 5400);
}

#[test]
fn incidentio_prints_its_fields_and_loads_again() {
    let text = "route: {receiver: i}\nreceivers:\n- name: i\n  \
        incidentio_configs: [{url: 'http://i.example/a', alert_source_token: SECRET, timeout: 5s}]\n";
    let printed = load(text).unwrap().to_redacted_yaml();
    assert!(!printed.contains("SECRET"), "{printed}");
    for want in [
        "  url: http://i.example/a",
        "  url_file: ''",
        "  alert_source_token: <secret>",
        "  max_alerts: 0",
        "  timeout: 5s",
    ] {
        assert!(printed.contains(want), "{want:?} not in\n{printed}");
    }
    let again = load(&printed).unwrap();
    assert_eq!(
        again.receivers[0].configs::<IncidentioConfig>()[0]
            .timeout
            .as_secs(),
        5
    );
}
