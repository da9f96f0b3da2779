//! The syslog targets' metric families, with Promtail's names. One [`SyslogMetrics`] is shared
//! by every syslog target of a process, as Promtail's are; the server writes it into
//! `/metrics`.

use bongsu_telemetry::{Counter, Encoder, Family};

static ENTRIES: Family = Family::counter(
    "promtail_syslog_target_entries_total",
    "Total number of successful entries sent to the syslog target",
    &[],
);
static PARSING_ERRORS: Family = Family::counter(
    "promtail_syslog_target_parsing_errors_total",
    "Total number of parsing errors while receiving syslog messages",
    &[],
);
static EMPTY_MESSAGES: Family = Family::counter(
    "promtail_syslog_empty_messages_total",
    "Total number of empty messages receiving from syslog",
    &[],
);

/// Counters of all syslog targets.
#[derive(Debug, Default)]
pub struct SyslogMetrics {
    pub(crate) entries: Counter,
    pub(crate) parsing_errors: Counter,
    pub(crate) empty_messages: Counter,
}

impl SyslogMetrics {
    pub fn entries(&self) -> u64 {
        self.entries.get()
    }

    pub fn parsing_errors(&self) -> u64 {
        self.parsing_errors.get()
    }

    pub fn empty_messages(&self) -> u64 {
        self.empty_messages.get()
    }

    /// Writes the families in the text exposition format.
    pub fn encode(&self, enc: &mut Encoder<'_>) {
        enc.single(&ENTRIES, self.entries.get() as f64);
        enc.single(&PARSING_ERRORS, self.parsing_errors.get() as f64);
        enc.single(&EMPTY_MESSAGES, self.empty_messages.get() as f64);
    }
}
