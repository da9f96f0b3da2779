use super::*;
use crate::notify::test_support::paging::{alert, ctx};

fn notifier(yaml: &str) -> Pagerduty {
    let conf: PagerdutyConfig = serde_yaml_ng::from_str(yaml).unwrap();
    Pagerduty::new(conf, Arc::new(NotificationTemplates::with_defaults())).unwrap()
}

fn body(n: &Pagerduty, alerts: &[Alert]) -> String {
    String::from_utf8(n.event(&ctx(), alerts).unwrap()).unwrap()
}

#[test]
fn v2_event_with_templated_fields() {
    let n = notifier(
        r#"
routing_key: 'rk-{{ .CommonLabels.alertname }}'
description: '{{ .Status }} {{ len .Alerts }}'
client: c
client_url: 'http://c/{{ .Receiver }}'
severity: '{{ .CommonLabels.alertname | toLower }}'
class: cl
component: co
group: gr
details:
  firing: '{{ len .Alerts.Firing }}'
  note: 'plain text'
  nested: {'k-{{ .Receiver }}': ['{{ .Status }}', 3]}
images: [{src: 'http://img/{{ .Receiver }}', alt: a, href: h}, {src: '', alt: dropped}]
links: [{href: 'http://l', text: t}, {text: dropped}]
"#,
    );
    let key = retrier::key_hash(&ctx().group_key);
    let want = format!(
        concat!(
            r#"{{"routing_key":"rk-Down","dedup_key":"{key}","event_action":"trigger","#,
            r#""payload":{{"summary":"firing 1","source":"c","severity":"down","class":"cl","#,
            r#""component":"co","group":"gr","custom_details":{{"firing":1,"#,
            r#""nested":{{"k-pager":["firing",3]}},"note":"plain text","num_firing":1,"#,
            r#""num_resolved":0,"resolved":[]}}}},"client":"c","client_url":"http://c/pager","#,
            r#""images":[{{"src":"http://img/pager","alt":"a","href":"h"}}],"#,
            r#""links":[{{"href":"http://l","text":"t"}}]}}"#,
            "\n"
        ),
        key = key
    );
    assert_eq!(body(&n, &[alert("a", false)]), want);
}

#[test]
fn resolve_when_every_alert_resolved() {
    let n = notifier("routing_key: k\ndescription: d\nclient: c\nclient_url: u\ndetails: {}");
    let b = body(&n, &[alert("a", true), alert("b", true)]);
    assert!(b.contains(r#""event_action":"resolve""#), "{b}");
    let b = body(&n, &[alert("a", true), alert("b", false)]);
    assert!(b.contains(r#""event_action":"trigger""#), "{b}");
    assert!(b.contains(r#""severity":"error""#), "{b}");
}

#[test]
fn default_details_carry_alerts_as_json() {
    let n = notifier("routing_key: k");
    let b: serde_json::Value =
        serde_json::from_str(&body(&n, &[alert("a", false), alert("b", true)])).unwrap();
    let d = &b["payload"]["custom_details"];
    assert_eq!(d["num_firing"], 1);
    assert_eq!(d["num_resolved"], 1);
    assert_eq!(d["firing"][0]["labels"]["instance"], "a");
    assert_eq!(d["firing"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(d["resolved"][0]["status"], "resolved");
    assert_eq!(b["payload"]["summary"], "[FIRING:1] Down ");
    assert_eq!(b["client"], "Alertmanager");
    assert_eq!(b["payload"]["source"], "Alertmanager");
    assert_eq!(
        b["client_url"],
        "http://am.example:9093/#/alerts?receiver=pager"
    );
}

#[test]
fn v1_event() {
    let n = notifier("service_key: sk\ndescription: d\nclient: c\nclient_url: u\ndetails: {}");
    let key = retrier::key_hash(&ctx().group_key);
    let details = r#""details":{"firing":[{"annotations":{"summary":"it \u003cbroke\u003e \u0026 stayed"},"endsAt":"0001-01-01T00:00:00Z","#;
    let b = body(&n, &[alert("a", false)]);
    assert!(
        b.starts_with(&format!(
            r#"{{"service_key":"sk","incident_key":"{key}","event_type":"trigger","description":"d","event_action":"","payload":null,"client":"c","client_url":"u",{details}"#
        )),
        "{b}"
    );
    let b = body(&n, &[alert("a", true)]);
    assert!(
        b.starts_with(&format!(
            r#"{{"service_key":"sk","incident_key":"{key}","event_type":"resolve","description":"d","event_action":"","payload":null,"details":"#
        )),
        "{b}"
    );
}

#[test]
fn long_summary_truncated_and_huge_details_dropped() {
    let n = notifier(&format!(
        "routing_key: k\ndescription: '{}'\ndetails: {{big: '{}'}}",
        "é".repeat(1100),
        "x".repeat(600_000)
    ));
    let b: serde_json::Value = serde_json::from_str(&body(&n, &[alert("a", false)])).unwrap();
    let summary = b["payload"]["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), 1024);
    assert!(summary.ends_with('…'));
    assert_eq!(
        b["payload"]["custom_details"],
        serde_json::json!({ "error": TOO_LARGE })
    );
}

#[test]
fn empty_key_after_templating_and_bad_templates_fail() {
    let n = notifier("routing_key: '{{ if false }}x{{ end }}'");
    let e = n.event(&ctx(), &[alert("a", false)]).unwrap_err();
    assert_eq!(e.message, "routing key cannot be empty");
    assert!(!e.retry);
    let n = notifier("routing_key: k\nclass: '{{ .Nope.Nope }}'");
    let e = n.event(&ctx(), &[alert("a", false)]).unwrap_err();
    assert!(
        e.message
            .starts_with("failed to template PagerDuty v2 message:"),
        "{}",
        e.message
    );
}

#[test]
fn structured_details_as_yaml_v2_decodes_them() {
    assert_eq!(structured("").unwrap(), Json::Null);
    assert_eq!(structured("12").unwrap(), Json::from(12));
    assert_eq!(structured("1.0").unwrap(), Json::from(1));
    assert_eq!(structured("yes").unwrap(), Json::Bool(true));
    assert_eq!(structured("a: b").unwrap(), serde_json::json!({"a": "b"}));
    assert_eq!(structured("just text").unwrap(), Json::from("just text"));
    assert_eq!(structured("'quoted'").unwrap(), Json::from("'quoted'"));
    assert_eq!(structured("{unclosed").unwrap(), Json::from("{unclosed"));
}

#[test]
fn refusal_details() {
    assert_eq!(
        error_details(
            400,
            r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect","x"]}"#
        ),
        "Event object is invalid: Length of 'routing_key' is incorrect,x"
    );
    assert_eq!(error_details(500, "{}"), "");
    assert_eq!(error_details(400, "not json"), "");
}

#[tokio::test]
async fn v1_posts_to_its_endpoint_and_retries_403() {
    use axum::http::StatusCode;
    let answers = Arc::new(parking_lot::Mutex::new(vec![
        (
            StatusCode::BAD_REQUEST,
            r#"{"status":"invalid event","message":"Event object is invalid","errors":["x"]}"#,
        ),
        (StatusCode::FORBIDDEN, "slow down"),
    ]));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (tx, answers) = (tx.clone(), answers.clone());
        async move {
            let _ = tx.send(req.uri().path().to_string());
            answers.lock().pop().unwrap_or((StatusCode::OK, "{}"))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut n = notifier("service_key: sk");
    n.v1_url = format!("http://{addr}/generic/2010-04-15/create_event.json");
    let (c, alerts) = (ctx(), [alert("a", false)]);
    let send = || tokio::time::timeout(std::time::Duration::from_secs(10), n.send(&c, &alerts));
    let e = send().await.unwrap().unwrap_err();
    assert_eq!(
        (e.retry, e.reason, e.message.as_str()),
        (true, "other", "unexpected status code 403")
    );
    let e = send().await.unwrap().unwrap_err();
    assert_eq!(
        (e.retry, e.reason, e.message.as_str()),
        (
            false,
            "other",
            "unexpected status code 400: Event object is invalid: x"
        )
    );
    assert!(send().await.unwrap().is_ok());
    assert_eq!(
        rx.recv().await.unwrap(),
        "/generic/2010-04-15/create_event.json"
    );
}
