//! The email receiver end to end: alerts posted to `/api/v2/alerts` reach the SMTP server of
//! this test (`common/smtp.rs`) with upstream's envelope, headers and multipart body, over
//! STARTTLS or implicit TLS with the mechanism upstream would pick; failures are retried and
//! counted. The error paths run the notifier directly to check upstream's error texts and
//! which errors are retried.

#[path = "common/smtp.rs"]
mod smtp;

#[path = "common/alertmanager.rs"]
mod am;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use am::{Server, LIMIT};
use serde_json::{json, Value};
use smtp::{Fault, SmtpOptions, SmtpServer, Step};

use bongsu_alertmanager::config::Config;
use bongsu_alertmanager::notify::email::{Email, EmailConfig};
use bongsu_alertmanager::notify::{Notifier, NotifyContext};
use bongsu_alertmanager::types::Alert;
use bongsu_gotmpl::alertmanager::NotificationTemplates;

async fn start(config: &str) -> Server {
    let cfg = Config::parse(config, None).expect("valid config");
    am::start(cfg, am::options("http://bongsu.example:9093")).await
}

/// A configuration routing everything to one email receiver with `settings` (YAML lines
/// indented for the list item).
fn config(settings: &str) -> String {
    format!(
        "
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: mail
  email_configs:
  - {}
",
        settings.trim()
    )
}

fn disk_alerts() -> Value {
    // Fresh start times: a group whose first alert is older than group_wait is flushed at
    // once (as upstream), which would race the second alert of the post.
    let now = jiff::Timestamp::now();
    json!([
        {"labels": {"alertname": "Disk", "instance": "a:9100", "job": "node", "team": "ops"},
         "annotations": {"summary": "disk <a> full & +1"},
         "startsAt": now.to_string(),
         "generatorURL": "http://prom/graph?g0.expr=up&x=1"},
        {"labels": {"alertname": "Disk", "instance": "b:9100", "job": "node", "team": "ops"},
         "annotations": {"summary": "disk b full"},
         "startsAt": now.to_string()}
    ])
}

/// A received message taken apart: its headers in order and its parts decoded.
struct Mail {
    headers: Vec<(String, String)>,
    parts: Vec<(String, String)>,
}

impl Mail {
    fn parse(data: &str) -> Mail {
        let (head, body) = data.split_once("\r\n\r\n").expect("header block");
        let headers: Vec<(String, String)> = head
            .split("\r\n")
            .map(|l| {
                let (k, v) = l.split_once(": ").expect("header line");
                (k.to_string(), v.to_string())
            })
            .collect();
        let ct = &headers.iter().find(|(k, _)| k == "Content-Type").unwrap().1;
        let boundary = ct
            .strip_prefix("multipart/alternative;  boundary=")
            .expect("upstream's Content-Type");
        assert_eq!(boundary.len(), 60);
        let sep = format!("--{boundary}");
        let sections: Vec<&str> = body.split(sep.as_str()).collect();
        assert_eq!(sections[0], "", "the body starts with the first boundary");
        assert_eq!(
            sections[sections.len() - 1],
            "--\r\n",
            "the body ends with the closing boundary"
        );
        let parts = sections[1..sections.len() - 1]
            .iter()
            .map(|s| {
                let s = s.strip_prefix("\r\n").unwrap();
                let s = s.strip_suffix("\r\n").unwrap_or(s);
                let (h, content) = s.split_once("\r\n\r\n").unwrap();
                assert_eq!(
                    h.split("\r\n").next(),
                    Some("Content-Transfer-Encoding: quoted-printable")
                );
                let ct = h.split("\r\n").nth(1).unwrap();
                (ct.to_string(), qp_decode(content))
            })
            .collect();
        Mail { headers, parts }
    }

    fn header(&self, name: &str) -> &str {
        &self
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .1
    }

    fn names(&self) -> Vec<&str> {
        self.headers.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// Quoted-printable decoding, with CRLF read as `\n`.
fn qp_decode(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() + 1 {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap().replace("\r\n", "\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_plain_auth_headers_and_both_parts() {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = SmtpServer::start(
        SmtpOptions {
            starttls: true,
            auth: vec!["CRAM-MD5", "PLAIN", "LOGIN"],
            user: "user",
            password: "pw",
            ..SmtpOptions::default()
        },
        vec![],
    )
    .await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &srv.cert_pem).unwrap();
    let s = start(&config(&format!(
        r#"
    to: 'ops@example.com, "Team B" <b@example.com>'
    from: 'Alertmanager <am@example.com>'
    smarthost: {}
    hello: bongsu.test
    auth_username: user
    auth_password: pw
    headers:
      x-team: '{{{{ .CommonLabels.team }}}} ü'
    text: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}}: {{{{ .Annotations.summary }}}}{{{{ "\n" }}}}{{{{ end }}}}'
    tls_config:
      ca_file: {}
"#,
        srv.addr,
        ca.display()
    )))
    .await;
    s.post_alerts(disk_alerts()).await;
    let got = srv.next(LIMIT).await;
    assert_eq!(got.hello, "bongsu.test");
    assert!(got.tls, "STARTTLS was used");
    // CRAM-MD5 comes first but there is no secret: upstream takes PLAIN.
    assert_eq!(got.auth, Some(("PLAIN".into(), "user".into())));
    assert_eq!(got.mail_from, "am@example.com");
    assert_eq!(got.rcpt_to, ["ops@example.com", "b@example.com"]);

    let mail = Mail::parse(&got.data);
    assert_eq!(
        mail.names(),
        [
            "From",
            "Subject",
            "To",
            "X-Team",
            "Message-Id",
            "Date",
            "Content-Type",
            "MIME-Version"
        ]
    );
    assert_eq!(mail.header("From"), "Alertmanager <am@example.com>");
    assert_eq!(
        mail.header("To"),
        r#"ops@example.com, "Team B" <b@example.com>"#
    );
    assert_eq!(mail.header("Subject"), "[FIRING:2] Disk (node ops)");
    assert_eq!(mail.header("X-Team"), "=?utf-8?q?ops_=C3=BC?=");
    assert_eq!(mail.header("MIME-Version"), "1.0");
    let id = mail.header("Message-Id");
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "{id}"
    );
    jiff::fmt::rfc2822::parse(mail.header("Date")).expect("an RFC 1123Z date");

    assert_eq!(mail.parts.len(), 2);
    assert_eq!(mail.parts[0].0, "Content-Type: text/plain; charset=UTF-8");
    assert_eq!(
        mail.parts[0].1,
        "a:9100: disk <a> full & +1\nb:9100: disk b full\n"
    );
    assert_eq!(mail.parts[1].0, "Content-Type: text/html; charset=UTF-8");
    let html = &mail.parts[1].1;
    for want in [
        "<title>[FIRING:2] Disk (node ops)</title>",
        "2 alerts for alertname=Disk \n",
        r#"<a href="http://bongsu.example:9093/#/alerts?receiver=mail""#,
        "[2] Firing",
        "summary = disk &lt;a&gt; full &amp; &#43;1<br>",
        r#"<a href="http://prom/graph?g0.expr=up&amp;x=1""#,
    ] {
        assert!(html.contains(want), "missing {want:?} in\n{html}");
    }
    assert!(!html.contains("Resolved"), "{html}");
    s.wait_for(
        "alertmanager_notifications_total{integration=\"email\"} ",
        1.0,
    )
    .await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_cram_md5_text_only_and_threading() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    let mut srv = SmtpServer::start(
        SmtpOptions {
            implicit_tls: true,
            auth: vec!["LOGIN", "CRAM-MD5"],
            user: "robot",
            password: "s3cret",
            ..SmtpOptions::default()
        },
        vec![],
    )
    .await;
    let s = start(&config(&format!(
        r#"
    to: ops@example.com
    from: am@example.com
    smarthost: {}
    force_implicit_tls: true
    auth_username: robot
    auth_secret_file: {}
    html: ''
    text: 'plain {{{{ .Status }}}}'
    threading:
      enabled: true
      thread_by_date: none
    tls_config:
      insecure_skip_verify: true
"#,
        srv.addr,
        secret.display()
    )))
    .await;
    s.post_alerts(disk_alerts()).await;
    let got = srv.next(LIMIT).await;
    assert!(got.tls);
    assert_eq!(got.hello, "localhost", "Go's default EHLO name");
    // LOGIN comes first but has no password: upstream takes CRAM-MD5.
    assert_eq!(got.auth, Some(("CRAM-MD5".into(), "robot".into())));
    let mail = Mail::parse(&got.data);
    let hash = ring::digest::digest(&ring::digest::SHA256, br#"{}:{alertname="Disk"}"#);
    let hex: String = hash.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let root = format!("<alert-{hex}-@alertmanager>");
    assert_eq!(mail.header("References"), root);
    assert_eq!(mail.header("In-Reply-To"), root);
    assert_eq!(
        mail.parts,
        [(
            "Content-Type: text/plain; charset=UTF-8".to_string(),
            "plain firing".to_string()
        )]
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failures_are_retried_and_permanent_ones_counted() {
    let mut srv = SmtpServer::start(
        SmtpOptions::default(),
        vec![
            Some(Fault {
                step: Step::Mail,
                reply: Some("451 4.3.0 try again later"),
            }),
            Some(Fault {
                step: Step::Greeting,
                reply: None,
            }),
        ],
    )
    .await;
    let s = start(&config(&format!(
        "
    to: ops@example.com
    from: am@example.com
    smarthost: {}
    require_tls: false
",
        srv.addr
    )))
    .await;
    s.post_alerts(disk_alerts()).await;
    let got = srv.next(LIMIT).await;
    assert!(!got.tls);
    assert_eq!(got.auth, None);
    assert_eq!(
        srv.sessions.load(Ordering::SeqCst),
        3,
        "two failed sessions, then success"
    );
    s.wait_for(
        "alertmanager_notifications_total{integration=\"email\"} ",
        1.0,
    )
    .await;
    s.wait_for(
        "alertmanager_notification_requests_failed_total{integration=\"email\"} ",
        2.0,
    )
    .await;
    assert_eq!(
        s.metric(
            "alertmanager_notifications_failed_total{integration=\"email\",reason=\"other\"} "
        ),
        0.0
    );
    s.am.shutdown();

    // A refused connection is retried until the notification times out, then counted.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let s = start(&config(&format!(
        "
    to: ops@example.com
    from: am@example.com
    smarthost: {addr}
"
    )))
    .await;
    s.post_alerts(disk_alerts()).await;
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"email\",reason=\"other\"} ",
        1.0,
    )
    .await;
    assert!(
        s.metric("alertmanager_notification_requests_failed_total{integration=\"email\"} ") >= 2.0
    );
    s.am.shutdown();
}

/// The notifier of the first email config of `settings`, and one firing alert to send.
fn notifier(settings: &str) -> (Email, NotifyContext, Vec<Alert>) {
    let cfg = Config::parse(&config(settings), None).expect("valid config");
    let conf = cfg.receivers[0].configs::<EmailConfig>()[0].clone();
    let email = Email::new(conf, Arc::new(NotificationTemplates::with_defaults()));
    let labels: BTreeMap<String, String> = [("alertname".to_string(), "Disk".to_string())].into();
    let now = jiff::Timestamp::now();
    let ctx = NotifyContext {
        receiver: "mail".into(),
        group_key: "{}:{alertname=\"Disk\"}".into(),
        group_labels: labels.clone(),
        external_url: "http://am".into(),
        now,
        notification_reason: "first notification",
    };
    let alert = Alert {
        labels,
        annotations: BTreeMap::new(),
        starts_at: now,
        ends_at: now + jiff::SignedDuration::from_secs(3600),
        generator_url: String::new(),
        updated_at: now,
        timeout: false,
    };
    (email, ctx, vec![alert])
}

/// Sends once; the error's retry flag and message.
async fn fails(settings: &str) -> (bool, String) {
    let (email, ctx, alerts) = notifier(settings);
    let e = tokio::time::timeout(LIMIT, email.notify(&ctx, &alerts))
        .await
        .expect("in time")
        .expect_err("the notification fails");
    (e.retry, e.message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_read_as_upstream() {
    let plain = SmtpServer::start(
        SmtpOptions {
            auth: vec!["PLAIN", "XOAUTH2"],
            user: "user",
            password: "pw",
            ..SmtpOptions::default()
        },
        vec![
            None,
            None,
            None,
            None,
            Some(Fault {
                step: Step::Rcpt,
                reply: Some("550 5.1.1 no such user"),
            }),
            Some(Fault {
                step: Step::End,
                reply: Some("554 5.6.0 rejected"),
            }),
        ],
    )
    .await;
    let with_from = |from: &str, extra: &str| {
        format!(
            "to: ops@example.com\n    from: '{from}'\n    smarthost: {}\n    {extra}",
            plain.addr
        )
    };
    let base = |extra: &str| with_from("am@example.com", extra);
    // Session 1: require_tls without STARTTLS.
    let (retry, msg) = fails(&base("")).await;
    assert!(retry);
    assert_eq!(
        msg,
        format!(
            "'require_tls' is true (default) but \"{}\" does not advertise the STARTTLS extension",
            plain.addr
        )
    );
    // Session 2: wrong password.
    let (retry, msg) = fails(&base(
        "require_tls: false\n    auth_username: user\n    auth_password: nope",
    ))
    .await;
    assert!(retry);
    assert_eq!(
        msg,
        "*smtp.plainAuth auth: 535 5.7.8 Authentication credentials invalid"
    );
    // Session 3: a username but no usable credentials for any offered mechanism.
    let (retry, msg) = fails(&base("require_tls: false\n    auth_username: user")).await;
    assert!(retry);
    assert_eq!(
        msg,
        "find auth mechanism: missing password for PLAIN auth mechanism\nunknown auth mechanism: XOAUTH2"
    );
    // Session 4: two from addresses (permanent).
    let (retry, msg) = fails(&with_from("a@x, b@x", "require_tls: false")).await;
    assert!(!retry);
    assert_eq!(msg, "must be exactly one 'from' address (got: 2)");
    // Session 5: recipient refused.
    let (retry, msg) = fails(&base("require_tls: false")).await;
    assert!(retry);
    assert_eq!(msg, "send RCPT command: 550 5.1.1 no such user");
    // Session 6: message refused at its end.
    let (retry, msg) = fails(&base("require_tls: false")).await;
    assert!(retry);
    assert_eq!(msg, "delivery failure: 554 5.6.0 rejected");
    // A template error is permanent.
    let (retry, msg) = fails(&base(
        "require_tls: false\n    headers:\n      Subject: '{{ template \"nope\" . }}'",
    ))
    .await;
    assert!(!retry);
    assert!(
        msg.starts_with("execute \"Subject\" header template: template: "),
        "{msg}"
    );
    assert!(msg.ends_with("template \"nope\" not defined"), "{msg}");

    // A refused connection is retried.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let (retry, msg) = fails(&format!("to: a@x\n    from: b@x\n    smarthost: {addr}")).await;
    assert!(retry);
    assert!(
        msg.starts_with(&format!(
            "establish connection to server: dial tcp {addr}: "
        )),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_password_file_and_helo_name() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pa ss\n").unwrap();
    let mut srv = SmtpServer::start(
        SmtpOptions {
            auth: vec!["LOGIN"],
            user: "robot",
            password: "pa ss",
            ..SmtpOptions::default()
        },
        vec![],
    )
    .await;
    let (email, ctx, alerts) = notifier(&format!(
        "to: ops@example.com\n    from: am@example.com\n    smarthost: {}\n    require_tls: false\n    hello: mx.bongsu.test\n    auth_username: robot\n    auth_password_file: {}",
        srv.addr,
        pw.display()
    ));
    tokio::time::timeout(LIMIT, email.notify(&ctx, &alerts))
        .await
        .expect("in time")
        .expect("delivered");
    let got = srv.next(LIMIT).await;
    assert_eq!(got.hello, "mx.bongsu.test");
    assert_eq!(got.auth, Some(("LOGIN".into(), "robot".into())));
    let mail = Mail::parse(&got.data);
    assert_eq!(mail.header("Subject"), "[FIRING:1] Disk ");
    assert_eq!(mail.parts.len(), 1, "HTML only by default");
    assert_eq!(mail.parts[0].0, "Content-Type: text/html; charset=UTF-8");
}
