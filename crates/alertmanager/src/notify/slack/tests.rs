use serde_json::{json, Value};

use super::*;
use crate::notify::test_support::{entry, templates};

fn slack(receiver: &str) -> Result<Slack, String> {
    Slack::new(entry("{}", receiver), templates())
}

fn ctx() -> NotifyContext {
    NotifyContext {
        receiver: "team-x".into(),
        group_key: "{}:{alertname=\"Disk\"}".into(),
        group_labels: [("alertname".to_string(), "Disk".to_string())].into(),
        external_url: "http://am.example".into(),
        now: jiff::Timestamp::from_second(2_000).unwrap(),
        notification_reason: "first notification",
    }
}

fn alert(instance: &str, ends: i64) -> Alert {
    Alert {
        labels: [
            ("alertname".to_string(), "Disk".to_string()),
            ("instance".to_string(), instance.to_string()),
            ("severity".to_string(), "page".to_string()),
        ]
        .into(),
        annotations: [("summary".to_string(), "disk full".to_string())].into(),
        starts_at: jiff::Timestamp::from_second(1_000).unwrap(),
        ends_at: jiff::Timestamp::from_second(ends).unwrap(),
        generator_url: "http://prom.example/graph".into(),
        updated_at: jiff::Timestamp::from_second(1_000).unwrap(),
        timeout: false,
    }
}

fn payload(s: &Slack, alerts: &[Alert]) -> Result<Value, NotifyError> {
    let ctx = ctx();
    let data = notification_data(&ctx, alerts);
    let req = s.request(&ctx, &Render::new(&s.templates, &data))?;
    Ok(serde_json::to_value(&req).unwrap())
}

#[test]
fn defaults_render_upstreams_message() {
    let s = slack("api_url: http://127.0.0.1:1/hook\n").unwrap();
    let got = payload(&s, &[alert("a", 9_000), alert("b", 9_000)]).unwrap();
    let link = "http://am.example/#/alerts?receiver=team-x";
    assert_eq!(
        got,
        json!({
            "username": "Alertmanager",
            "attachments": [{
                "title": "[FIRING:2] Disk (page)",
                "title_link": link,
                "text": "",
                "fallback": format!("[FIRING:2] Disk (page) | {link}"),
                "callback_id": "",
                "footer": "",
                "color": "danger",
                "mrkdwn_in": ["fallback", "pretext", "text"],
            }],
        })
    );
    let resolved = payload(&s, &[alert("a", 1_500)]).unwrap();
    assert_eq!(resolved["attachments"][0]["color"], "good");
    assert_eq!(
        resolved["attachments"][0]["title"],
        "[RESOLVED] Disk (a page)"
    );
}

#[test]
fn every_field_is_templated() {
    let s = slack(
        r##"api_url: http://127.0.0.1:1/hook
    channel: '#{{ .CommonLabels.severity }}'
    username: bot
    icon_emoji: ':fire:'
    icon_url: http://icons.example/{{ .Status }}.png
    link_names: true
    message_text: '{{ len .Alerts }} alerts'
    color: '#ff0000'
    title: 'T {{ .GroupLabels.alertname }}'
    title_link: http://x.example
    pretext: pre
    text: '{{ range .Alerts }}{{ .Labels.instance }} {{ end }}'
    footer: foot
    fallback: fb
    callback_id: cb-{{ .Receiver }}
    image_url: http://img.example/i.png
    thumb_url: http://img.example/t.png
    short_fields: true
    mrkdwn_in: [text]
    fields:
    - title: Severity
      value: '{{ .CommonLabels.severity }}'
    - title: Count
      value: '{{ len .Alerts }}'
      short: false
    actions:
    - type: button
      text: Runbook
      url: http://runbook.example/{{ .GroupLabels.alertname }}
      style: primary
    - type: button
      text: Ack
      name: ack
      value: '{{ .CommonLabels.instance }}'
      confirm:
        text: Sure?
        title: Ack {{ .GroupLabels.alertname }}
        ok_text: Yes
"##,
    )
    .unwrap();
    let got = payload(&s, &[alert("a", 9_000)]).unwrap();
    assert_eq!(
        got,
        json!({
            "channel": "#page",
            "username": "bot",
            "icon_emoji": ":fire:",
            "icon_url": "http://icons.example/firing.png",
            "link_names": true,
            "text": "1 alerts",
            "attachments": [{
                "title": "T Disk",
                "title_link": "http://x.example",
                "pretext": "pre",
                "text": "a ",
                "fallback": "fb",
                "callback_id": "cb-team-x",
                "fields": [
                    {"title": "Severity", "value": "page", "short": true},
                    {"title": "Count", "value": "1", "short": false},
                ],
                "actions": [
                    {"type": "button", "text": "Runbook", "url": "http://runbook.example/Disk", "style": "primary"},
                    {"type": "button", "text": "Ack", "name": "ack", "value": "a",
                     "confirm": {"text": "Sure?", "title": "Ack Disk", "ok_text": "Yes"}},
                ],
                "image_url": "http://img.example/i.png",
                "thumb_url": "http://img.example/t.png",
                "footer": "foot",
                "color": "#ff0000",
                "mrkdwn_in": ["text"],
            }],
        })
    );
}

#[test]
fn long_titles_are_cut_to_slacks_limit() {
    let long = "é".repeat(1100);
    let s = slack(&format!(
        "api_url: http://127.0.0.1:1/hook\n    title: '{long}'\n"
    ))
    .unwrap();
    let got = payload(&s, &[alert("a", 9_000)]).unwrap();
    let title = got["attachments"][0]["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 1024);
    assert!(title.ends_with("é…"));
}

#[test]
fn template_errors_fail_without_retry() {
    let s =
        slack("api_url: http://127.0.0.1:1/hook\n    text: '{{ template \"nope\" . }}'\n").unwrap();
    let e = payload(&s, &[alert("a", 9_000)]).unwrap_err();
    assert!(!e.retry);
    assert!(e.message.contains("nope"), "{}", e.message);
}

#[test]
fn slack_answers_with_200_may_still_fail() {
    assert_eq!(answer(false, b"ok").unwrap(), None);
    let e = answer(false, b"invalid_payload").unwrap_err();
    assert!(!e.retry);
    assert_eq!(
        e.message,
        "received an error response from Slack: invalid_payload"
    );
    assert_eq!(
        answer(true, br#"{"ok":true,"channel":"C1","ts":"1.2"}"#).unwrap(),
        Some(Posted {
            channel: "C1".into(),
            ts: "1.2".into()
        })
    );
    let e = answer(true, br#"{"ok":false,"error":"channel_not_found"}"#).unwrap_err();
    assert!(!e.retry);
    assert_eq!(e.message, "error response from Slack: channel_not_found");
    let e = answer(true, b"<html>").unwrap_err();
    assert!(e.retry, "an unreadable answer is retried");
    assert!(e
        .message
        .starts_with("could not unmarshal JSON response \"<html>\""));
}

#[test]
fn update_message_edits_the_posted_message() {
    let yaml = "api_url: https://slack.com/api/chat.postMessage\n    channel: '#ops'\n    update_message: true\n";
    let s = slack(yaml).unwrap();
    let ctx = ctx();
    let data = notification_data(&ctx, &[alert("a", 9_000)]);
    let render = Render::new(&s.templates, &data);
    let target = |kept: &ReceiverData| {
        let mut req = s.request(&ctx, &render).unwrap();
        let mut url = s.url().unwrap();
        s.target_posted(kept, &mut url, &mut req);
        let body = serde_json::to_value(&req).unwrap();
        (url, body["channel"].clone(), body.get("ts").cloned())
    };
    assert_eq!(
        target(&ReceiverData::new()),
        (
            "https://slack.com/api/chat.postMessage".to_string(),
            json!("#ops"),
            None
        ),
        "nothing posted yet"
    );
    let kept: ReceiverData = [
        (THREAD_TS.to_string(), "1700.01".to_string()),
        (CHANNEL_ID.to_string(), "C42".to_string()),
    ]
    .into();
    assert_eq!(
        target(&kept),
        (
            "https://slack.com/api/chat.update".to_string(),
            json!("C42"),
            Some(json!("1700.01"))
        )
    );
    let plain = slack("api_url: https://slack.com/api/chat.postMessage\n").unwrap();
    let mut req = plain.request(&ctx, &render).unwrap();
    let mut url = plain.url().unwrap();
    plain.target_posted(&kept, &mut url, &mut req);
    assert_eq!(
        url, "https://slack.com/api/chat.postMessage",
        "only with update_message"
    );
    assert!(req.ts.is_empty());
}

#[test]
fn templates_link_each_alert_to_its_logs() {
    let s = slack(
        "api_url: http://127.0.0.1:1/hook\n    text: '{{ range .Alerts }}<{{ .LogsURL }}|logs {{ .Status }}> {{ end }}'\n",
    )
    .unwrap();
    let got = payload(&s, &[alert("a", 9_000), alert("b", 1_500)]).unwrap();
    // Firing: from 10 minutes before the start (1000 s), open-ended; resolved: to 5 minutes
    // after the end (1500 s).
    assert_eq!(
        got["attachments"][0]["text"],
        "<http://am.example/logs?query=%7Binstance%3D%22a%22%7D&from=400000|logs firing> \
         <http://am.example/logs?query=%7Binstance%3D%22b%22%7D&from=400000&to=1800000|logs resolved> "
    );
}
