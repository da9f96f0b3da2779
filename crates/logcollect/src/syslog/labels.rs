//! From a framed message to an [`Entry`], as Promtail's syslog target does it: the config's
//! `labels` and the connection's labels, then the message's `__syslog_message_*` labels, then
//! `relabel_configs`, then every `__` label dropped.

use std::sync::{Arc, LazyLock};

use bongsu_model::{Label, Labels, LabelsBuilder};
use bongsu_relabel::RelabelConfig;

use super::config::{SyslogConfig, SyslogFormat};
use super::message::{utf8_lossy, Message};
use super::metrics::SyslogMetrics;
use super::{rfc3164, rfc5424};
use crate::Entry;

/// The prefix of the labels a message sets.
const MESSAGE_PREFIX: &str = "__syslog_message_";

/// The names of the labels every message may set, allocated once: severity, facility,
/// hostname, app name, proc id, msg id.
static MESSAGE_NAMES: LazyLock<[Arc<str>; 6]> = LazyLock::new(|| {
    [
        "severity", "facility", "hostname", "app_name", "proc_id", "msg_id",
    ]
    .map(|n| Arc::from(format!("{MESSAGE_PREFIX}{n}")))
});

/// What turns frames of one target into entries; shared by its connections.
pub(crate) struct Labeler {
    pub(crate) config: SyslogConfig,
    pub(crate) relabel: Vec<RelabelConfig>,
    pub(crate) metrics: Arc<SyslogMetrics>,
    pub(crate) job: String,
}

/// The labels of one connection (or UDP sender): the config's labels, its address and name.
/// (The config's label names were checked non-empty, so the set is valid.)
pub(crate) fn connection_labels(config: &SyslogConfig, ip: &str, hostname: &str) -> Labels {
    let mut b = LabelsBuilder::new();
    for (k, v) in &config.labels {
        b.set(k.as_str(), v.as_str());
    }
    b.set("__syslog_connection_ip_address", ip);
    b.set("__syslog_connection_hostname", hostname);
    b.build().unwrap_or_default()
}

impl Labeler {
    /// The entry for one framed message, or `None` when it fails to parse (counted and
    /// logged), has no text (counted), or is dropped by relabeling. `now` is Unix nanoseconds.
    pub(crate) fn entry(&self, conn: &Labels, frame: &[u8], now: i64) -> Option<Entry> {
        let parsed = match self.config.syslog_format {
            SyslogFormat::Rfc5424 => rfc5424::parse(frame),
            SyslogFormat::Rfc3164 => rfc3164::parse(frame, now),
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.metrics.parsing_errors.inc();
                tracing::warn!(job = %self.job, err = %e, "error parsing syslog stream");
                return None;
            }
        };
        let Some(text) = &msg.message else {
            self.metrics.empty_messages.inc();
            return None;
        };
        let labels = self.labels(conn, &msg)?;
        let line = if self.config.use_rfc5424_message
            && self.config.syslog_format == SyslogFormat::Rfc5424
        {
            utf8_lossy(frame)
        } else {
            text.clone()
        };
        let ts = match msg.timestamp {
            Some(ts) if self.config.use_incoming_timestamp => ts,
            _ => now,
        };
        Some(Entry {
            labels,
            ts,
            line,
            metadata: Vec::new(),
        })
    }

    fn labels(&self, conn: &Labels, msg: &Message) -> Option<Labels> {
        // The message's labels win over configured labels of the same names.
        let mut v: Vec<Label> = Vec::with_capacity(conn.len() + 8);
        v.extend(
            conn.iter()
                .filter(|l| !l.name.starts_with(MESSAGE_PREFIX))
                .cloned(),
        );
        let names = &*MESSAGE_NAMES;
        let values = [
            Some(msg.severity()),
            Some(msg.facility()),
            msg.hostname.as_deref(),
            msg.app_name.as_deref(),
            msg.proc_id.as_deref(),
            msg.msg_id.as_deref(),
        ];
        for (name, value) in names.iter().zip(values) {
            if let Some(value) = value {
                v.push(Label::new(name.clone(), value));
            }
        }
        if self.config.label_structured_data {
            for (id, params) in &msg.structured_data {
                let id = id.replace('@', "_");
                for (name, value) in params {
                    let name = format!("{MESSAGE_PREFIX}sd_{id}_{name}");
                    // A repeated parameter keeps its last value, as Promtail's label builder.
                    match v.iter_mut().find(|l| *l.name == *name) {
                        Some(l) => l.value = value.as_str().into(),
                        None => v.push(Label::new(name, value.as_str())),
                    }
                }
            }
        }
        let labels = match Labels::new(v) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(job = %self.job, err = %e, "dropping syslog message: bad labels");
                return None;
            }
        };
        let relabeled = bongsu_relabel::relabel(&labels, &self.relabel)?;
        if relabeled.iter().any(|l| l.name.starts_with("__")) {
            let kept = relabeled
                .iter()
                .filter(|l| !l.name.starts_with("__"))
                .cloned()
                .collect();
            return Labels::new(kept).ok();
        }
        Some(relabeled)
    }
}
