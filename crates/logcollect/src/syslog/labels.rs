//! From a framed message to an [`Entry`], as Promtail's syslog target does it: the config's
//! `labels` and the connection's labels, then the message's `__syslog_message_*` labels, then
//! `relabel_configs`, then every `__` label dropped.

use std::sync::Arc;

use bongsu_model::{Labels, LabelsBuilder};
use bongsu_relabel::RelabelConfig;

use super::config::{SyslogConfig, SyslogFormat};
use super::message::{utf8_lossy, Message};
use super::metrics::SyslogMetrics;
use super::{rfc3164, rfc5424};
use crate::Entry;

/// What turns frames of one target into entries; shared by its connections.
pub(crate) struct Labeler {
    pub(crate) config: SyslogConfig,
    pub(crate) relabel: Vec<RelabelConfig>,
    pub(crate) metrics: Arc<SyslogMetrics>,
    pub(crate) job: String,
}

/// The labels of one connection (or UDP sender): the config's labels, its address and name.
pub(crate) fn connection_labels(config: &SyslogConfig, ip: &str, hostname: &str) -> LabelsBuilder {
    let mut b = LabelsBuilder::new();
    for (k, v) in &config.labels {
        b.set(k.as_str(), v.as_str());
    }
    b.set("__syslog_connection_ip_address", ip);
    b.set("__syslog_connection_hostname", hostname);
    b
}

impl Labeler {
    /// The entry for one framed message, or `None` when it fails to parse (counted and
    /// logged), has no text (counted), or is dropped by relabeling. `now` is Unix nanoseconds.
    pub(crate) fn entry(&self, conn: &LabelsBuilder, frame: &[u8], now: i64) -> Option<Entry> {
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

    fn labels(&self, conn: &LabelsBuilder, msg: &Message) -> Option<Labels> {
        let mut b = conn.clone();
        b.set("__syslog_message_severity", msg.severity());
        b.set("__syslog_message_facility", msg.facility());
        let fields = [
            ("__syslog_message_hostname", &msg.hostname),
            ("__syslog_message_app_name", &msg.app_name),
            ("__syslog_message_proc_id", &msg.proc_id),
            ("__syslog_message_msg_id", &msg.msg_id),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                b.set(name, v.as_str());
            }
        }
        if self.config.label_structured_data {
            for (id, params) in &msg.structured_data {
                let id = id.replace('@', "_");
                for (name, value) in params {
                    b.set(format!("__syslog_message_sd_{id}_{name}"), value.as_str());
                }
            }
        }
        let labels = match b.build() {
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
