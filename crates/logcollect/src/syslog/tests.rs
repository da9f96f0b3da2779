//! The parser cases of `tests/data/syslog/parse.txt`, run through both parsers, and the
//! labeling of parsed messages.

use std::fmt::Write;
use std::sync::Arc;

use bongsu_relabel::RelabelConfig;

use super::config::SyslogConfig;
use super::labels::{connection_labels, Labeler};
use super::message::Message;
use super::metrics::SyslogMetrics;
use super::{rfc3164, rfc5424};

const CASES: &str = include_str!("../../tests/data/syslog/parse.txt");
/// 2026-12-07T12:00:00Z, the date RFC 3164 cases are read on.
const CASES_NOW: i64 = 1_796_644_800_000_000_000;

fn render(m: &Message) -> String {
    let mut s = format!("severity={} facility={}", m.severity(), m.facility());
    if let Some(ts) = m.timestamp {
        let ts = jiff::Timestamp::from_nanosecond(i128::from(ts)).unwrap();
        write!(s, " ts={ts}").unwrap();
    }
    let fields = [
        ("hostname", &m.hostname),
        ("app_name", &m.app_name),
        ("proc_id", &m.proc_id),
        ("msg_id", &m.msg_id),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            write!(s, " {k}={v}").unwrap();
        }
    }
    if !m.structured_data.is_empty() {
        s.push_str(" sd=");
        for (id, params) in &m.structured_data {
            write!(s, "[{id}").unwrap();
            for (k, v) in params {
                write!(s, " {k}={v}").unwrap();
            }
            s.push(']');
        }
    }
    if let Some(msg) = &m.message {
        write!(s, " msg={msg}").unwrap();
    }
    s
}

#[test]
fn parse_cases() {
    let mut ran = 0;
    for block in CASES.split("\n\n") {
        let field = |name: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(name)
                    .map(|v| v.strip_prefix(' ').unwrap_or(v))
            })
        };
        let (Some(format), Some(input), Some(want)) =
            (field("format:"), field("in:"), field("out:"))
        else {
            continue;
        };
        let got = match format {
            "rfc5424" => rfc5424::parse(input.as_bytes()),
            "rfc3164" => rfc3164::parse(input.as_bytes(), CASES_NOW),
            other => panic!("unknown format {other}"),
        };
        let got = match got {
            Ok(m) => render(&m),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, want, "input: {input}");
        ran += 1;
    }
    assert!(ran >= 20, "only {ran} cases ran");
}

fn relabel(yaml: &str) -> Vec<RelabelConfig> {
    let mut rules: Vec<RelabelConfig> = serde_yaml_ng::from_str(yaml).unwrap();
    for r in &mut rules {
        r.validate(bongsu_relabel::NameValidationScheme::Utf8)
            .unwrap();
    }
    rules
}

fn labeler(config: &str, rules: &str) -> Labeler {
    Labeler {
        config: serde_yaml_ng::from_str(config).unwrap(),
        relabel: relabel(rules),
        metrics: Arc::new(SyslogMetrics::default()),
        job: "test".into(),
    }
}

const PROMTAIL_RELABEL: &str = "
- {source_labels: ['__syslog_message_severity'], target_label: 'severity'}
- {source_labels: ['__syslog_message_facility'], target_label: 'facility'}
- {source_labels: ['__syslog_message_hostname'], target_label: 'hostname'}
- {source_labels: ['__syslog_message_app_name'], target_label: 'app_name'}
- {source_labels: ['__syslog_message_proc_id'], target_label: 'proc_id'}
- {source_labels: ['__syslog_message_msg_id'], target_label: 'msg_id'}
- {source_labels: ['__syslog_message_sd_custom_32473_exkey'], target_label: 'sd_custom_exkey'}
- {source_labels: ['__syslog_connection_ip_address'], target_label: 'ip'}
";

const MSG: &[u8] = br#"<165>1 2018-10-11T22:14:15.003Z host5 e - id1 [custom@32473 exkey="1"] An application event log entry..."#;

#[test]
fn labels_relabeled_as_promtail() {
    let l = labeler(
        "listen_address: x\nlabel_structured_data: true\nlabels: {test: syslog_target}",
        PROMTAIL_RELABEL,
    );
    let conn = connection_labels(&l.config, "127.0.0.1", "localhost");
    let e = l.entry(&conn, MSG, 42).unwrap();
    assert_eq!(
        e.labels.to_string(),
        r#"{app_name="e", facility="local4", hostname="host5", ip="127.0.0.1", msg_id="id1", sd_custom_exkey="1", severity="notice", test="syslog_target"}"#
    );
    assert_eq!(e.line, "An application event log entry...");
    assert_eq!(e.ts, 42);
}

#[test]
fn options_change_line_and_timestamp() {
    let l = labeler(
        "listen_address: x\nuse_rfc5424_message: true\nuse_incoming_timestamp: true",
        "[]",
    );
    let conn = connection_labels(&l.config, "127.0.0.1", "");
    let e = l.entry(&conn, MSG, 42).unwrap();
    assert_eq!(e.line.as_bytes(), MSG);
    assert_eq!(e.ts, 1_539_296_055_003_000_000);
    assert!(e.labels.is_empty(), "{}", e.labels);
}

#[test]
fn structured_data_only_when_asked() {
    let l = labeler(
        "listen_address: x",
        "- {action: labelmap, regex: '__syslog_message_sd_(.*)'}",
    );
    let conn = connection_labels(&l.config, "127.0.0.1", "");
    assert!(l.entry(&conn, MSG, 0).unwrap().labels.is_empty());
    let l = labeler(
        "listen_address: x\nlabel_structured_data: true",
        "- {action: labelmap, regex: '__syslog_message_sd_(.*)'}",
    );
    assert_eq!(
        l.entry(&conn, MSG, 0).unwrap().labels.to_string(),
        r#"{custom_32473_exkey="1"}"#
    );
}

#[test]
fn errors_empty_messages_and_drops_are_counted_apart() {
    let l = labeler(
        "listen_address: x",
        "- {source_labels: [__syslog_message_app_name], regex: drop, action: drop}",
    );
    let conn = connection_labels(&l.config, "127.0.0.1", "");
    assert!(l.entry(&conn, b"<13>1       First", 0).is_none());
    assert!(l.entry(&conn, b"<13>1 - - - - - -", 0).is_none());
    assert!(l.entry(&conn, b"<13>1 - - drop - - - gone", 0).is_none());
    assert!(l.entry(&conn, b"<13>1 - - keep - - - kept", 0).is_some());
    assert_eq!(l.metrics.parsing_errors(), 1);
    assert_eq!(l.metrics.empty_messages(), 1);
}

#[test]
fn rfc3164_format() {
    let l = labeler(
        "listen_address: x\nsyslog_format: rfc3164\nuse_rfc5424_message: true",
        "- {action: labelmap, regex: '__syslog_message_(.*)'}",
    );
    let conn = connection_labels(&l.config, "127.0.0.1", "");
    let e = l
        .entry(
            &conn,
            b"<13>Dec  7 11:40:20 myhost app[123]: hello world",
            CASES_NOW,
        )
        .unwrap();
    assert_eq!(e.line, "hello world");
    assert_eq!(
        e.labels.to_string(),
        r#"{app_name="app", facility="user", hostname="myhost", proc_id="123", severity="notice"}"#
    );
}

#[test]
fn config_defaults_reach_the_labeler() {
    let c: SyslogConfig = serde_yaml_ng::from_str("listen_address: x").unwrap();
    assert_eq!(c.max_message_length(), super::DEFAULT_MAX_MESSAGE_LENGTH);
}

#[test]
fn invalid_utf8_is_replaced() {
    let m = rfc5424::parse(b"<13>1 - - - - - - caf\xc3\xa9 \xff\xfe end").unwrap();
    assert_eq!(m.message.as_deref(), Some("café \u{fffd}\u{fffd} end"));
    let m = rfc5424::parse(b"<13>1 - - - - - - \xEF\xBB\xBFwith BOM").unwrap();
    assert_eq!(m.message.as_deref(), Some("with BOM"));
}

#[test]
fn repeated_structured_data_keeps_the_last_value() {
    let l = labeler(
        "listen_address: x\nlabel_structured_data: true\nlabels: {__syslog_message_app_name: cfg, env: prod}",
        "- {action: labelmap, regex: '__syslog_message_(.*)'}",
    );
    let conn = connection_labels(&l.config, "127.0.0.1", "");
    let e = l
        .entry(
            &conn,
            br#"<13>1 - - app - - [a@1 k="1" k="2"][a_1 k="3"] m"#,
            0,
        )
        .unwrap();
    assert_eq!(
        e.labels.to_string(),
        r#"{app_name="app", env="prod", facility="user", sd_a_1_k="3", severity="notice"}"#
    );
}
