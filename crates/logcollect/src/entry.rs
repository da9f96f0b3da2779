//! One collected line as targets produce it and pipeline stages change it.

use bongsu_model::Labels;

/// One line on its way from a target (a tailed file, a syslog connection) through a scrape
/// config's pipeline to a destination. Targets fill `labels` with the target's labels after
/// relabeling; stages may change every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub labels: Labels,
    /// Unix nanoseconds: the read time unless a stage (`timestamp`) or the source (syslog's
    /// `use_incoming_timestamp`) sets it.
    pub ts: i64,
    pub line: String,
    /// Structured metadata (`structured_metadata` stage), in the order set.
    pub metadata: Vec<(String, String)>,
}
