//! Elasticsearch's `_bulk` API as a log push (`POST /elasticsearch/_bulk`,
//! `/elasticsearch/<index>/_bulk`), so that Filebeat, Logstash's `elasticsearch` output and
//! Fluent Bit's `es` output ship to bongsu unchanged: the NDJSON body read as Elasticsearch 8
//! reads it (an action line, then the document for `index` and `create`), each document made
//! one log line, and Elasticsearch's answers (a per-item result in order with the `errors`
//! flag; the whole body refused with Elasticsearch's error object).
//!
//! A document becomes a line as VictoriaLogs' Elasticsearch emulation maps it, with its
//! `_msg_field`, `_time_field` and `_stream_fields` query arguments: the time from
//! `@timestamp`, the line from `message` (else `log`, Fluent Bit's field for a tailed line;
//! else the whole document as sent), stream labels `index` and the configured label fields,
//! and the other scalar fields as structured metadata (nested objects flattened with dots).
//!
//! Only `index` and `create` write: bongsu's log store is append-only, so `delete` and
//! `update` are answered per item as errors (400), never silently dropped.
//!
//! - `document`: one document → labels and a log line.
//! - `answer`: Elasticsearch's JSON answers (bulk results, errors, the version banner).
//! - `handler`: [`LogReceiver::handle_es_bulk`](super::LogReceiver::handle_es_bulk), the
//!   per-item limits and the append.
//!
//! Not here: the routes and the other probes clients send (`api`), reading the body
//! (`body`), Loki's limits themselves (`distributor`).

pub mod answer;
mod document;
mod handler;

use bongsu_model::log::LogEntry;

pub use handler::respond;

/// Fields whose value is the line, the first one present winning (`_msg_field`).
pub const DEFAULT_MSG_FIELDS: &[&str] = &["message", "log"];
/// The field holding the line's time (`_time_field`).
pub const DEFAULT_TIME_FIELD: &str = "@timestamp";
/// Document fields that become stream labels by default (`--logs.elasticsearch.label-fields`):
/// the host and service in Elastic's Common Schema, which Filebeat and Logstash fill in. The
/// stream label `index` comes on top.
pub const DEFAULT_LABEL_FIELDS: &[&str] = &["host.name", "service.name"];
/// The stream label holding the document's index.
pub const INDEX_LABEL: &str = "index";

/// How documents of one request are mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOptions {
    /// The index of actions that name none (`/<index>/_bulk`).
    pub index: Option<String>,
    pub msg_fields: Vec<String>,
    pub time_field: String,
    /// Dotted paths of fields that become stream labels (dots made underscores).
    pub label_fields: Vec<String>,
}

impl BulkOptions {
    /// The defaults with `label_fields` (the server's flag).
    pub fn new(label_fields: &[String]) -> BulkOptions {
        BulkOptions {
            index: None,
            msg_fields: DEFAULT_MSG_FIELDS.iter().map(|s| s.to_string()).collect(),
            time_field: DEFAULT_TIME_FIELD.to_string(),
            label_fields: label_fields.to_vec(),
        }
    }

    /// The query arguments VictoriaLogs takes on its `_bulk`, each a comma-separated list:
    /// `_msg_field`, `_time_field` (its first item), `_stream_fields`. Others are ignored, as
    /// Elasticsearch's own (`filter_path`, `refresh`, `pipeline`) change nothing here.
    pub fn with_query<'a>(mut self, args: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        for (name, value) in args {
            match name {
                "_msg_field" => self.msg_fields = list(value),
                "_time_field" => {
                    if let Some(first) = list(value).into_iter().next() {
                        self.time_field = first;
                    }
                }
                "_stream_fields" => self.label_fields = list(value),
                _ => {}
            }
        }
        self
    }
}

/// A bulk action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Index,
    Create,
    Delete,
    Update,
}

impl Action {
    /// Its name, the key of its action line and of its result.
    pub fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::Create => "create",
            Action::Delete => "delete",
            Action::Update => "update",
        }
    }

    fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "index" => Action::Index,
            "create" => Action::Create,
            "delete" => Action::Delete,
            "update" => Action::Update,
            _ => return None,
        })
    }

    /// Whether a document line follows the action line.
    fn has_source(self) -> bool {
        !matches!(self, Action::Delete)
    }
}

/// Why one item was not written: its status and Elasticsearch's error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub status: u16,
    /// Elasticsearch's exception name (`document_parsing_exception`, …).
    pub kind: &'static str,
    pub reason: String,
}

impl ItemError {
    pub fn bad(kind: &'static str, reason: impl Into<String>) -> ItemError {
        ItemError {
            status: 400,
            kind,
            reason: reason.into(),
        }
    }
}

/// One action of a bulk body, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub action: Action,
    pub index: String,
    /// The action's `_id`, if it gave one.
    pub id: Option<String>,
    /// `Ok` while the item may still be written.
    pub result: Result<(), ItemError>,
}

/// A document made a line, waiting for the limits and the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its position in [`Decoded::items`].
    pub item: usize,
    /// Sorted by name, empty values dropped.
    pub labels: Vec<(String, String)>,
    pub entry: LogEntry,
}

/// A decoded bulk body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub items: Vec<Item>,
    pub lines: Vec<Line>,
}

/// The whole body refused (400, Elasticsearch's error object): nothing of it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct BulkError {
    pub kind: &'static str,
    pub reason: String,
}

impl BulkError {
    fn illegal(reason: String) -> BulkError {
        BulkError {
            kind: "illegal_argument_exception",
            reason,
        }
    }
}

/// Reads a decompressed bulk body as Elasticsearch's `BulkRequestParser`: the body ends with a
/// newline; each action line is an object with one key naming the action, whose object may give
/// `_index` and `_id`; `index`, `create` and `update` are followed by a document line. A
/// malformed action line refuses the whole body; a malformed document fails its item only.
/// `discover` is Loki's `service_name` discovery list; lines without a time take `now_ns`.
pub fn decode(
    raw: &[u8],
    opts: &BulkOptions,
    discover: &[String],
    now_ns: i64,
) -> Result<Decoded, BulkError> {
    if !raw.is_empty() && raw.last() != Some(&b'\n') {
        return Err(BulkError::illegal(
            "The bulk request must be terminated by a newline [\\n]".into(),
        ));
    }
    let mut out = Decoded::default();
    // Blank lines between items are skipped, as Elasticsearch skips them.
    let mut lines = raw
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
    while let Some((number, line)) = lines.next() {
        let (action, index, id) = action_line(number, line, opts)?;
        let item = out.items.len();
        let mut result = Ok(());
        if action.has_source() {
            let Some((_, source)) = lines.next() else {
                return Err(BulkError::illegal(format!(
                    "Malformed action/metadata line [{number}]: the {} action is not followed \
                     by a document",
                    action.name()
                )));
            };
            match action {
                Action::Index | Action::Create => {
                    match document::map(source, &index, opts, discover, now_ns) {
                        Ok((labels, entry)) => out.lines.push(Line {
                            item,
                            labels,
                            entry,
                        }),
                        Err(e) => result = Err(e),
                    }
                }
                _ => result = Err(unsupported(action)),
            }
        } else {
            result = Err(unsupported(action));
        }
        out.items.push(Item {
            action,
            index,
            id,
            result,
        });
    }
    if out.items.is_empty() {
        return Err(BulkError {
            kind: "action_request_validation_exception",
            reason: "Validation Failed: 1: no requests added;".into(),
        });
    }
    Ok(out)
}

fn unsupported(action: Action) -> ItemError {
    ItemError::bad(
        "illegal_argument_exception",
        format!(
            "the {} action is not supported by bongsu: its log store is append-only, only \
             index and create write",
            action.name()
        ),
    )
}

/// An action line: the action, its index (the line's `_index`, else the path's) and `_id`.
fn action_line(
    number: usize,
    line: &[u8],
    opts: &BulkOptions,
) -> Result<(Action, String, Option<String>), BulkError> {
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| BulkError {
        kind: "x_content_parse_exception",
        reason: format!("[{number}:{}] {e}", e.column()),
    })?;
    let malformed = |what: &str| {
        BulkError::illegal(format!("Malformed action/metadata line [{number}], {what}"))
    };
    let serde_json::Value::Object(map) = value else {
        return Err(malformed("expected START_OBJECT"));
    };
    let mut fields = map.into_iter();
    let (Some((name, params)), None) = (fields.next(), fields.next()) else {
        return Err(malformed("expected exactly one action"));
    };
    let action = Action::parse(&name).ok_or_else(|| {
        malformed(&format!(
            "expected field [create], [delete], [index] or [update] but found [{name}]"
        ))
    })?;
    let serde_json::Value::Object(params) = params else {
        return Err(malformed("expected START_OBJECT after the action name"));
    };
    let text = |key: &str| -> Result<Option<String>, BulkError> {
        match params.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(BulkError::illegal(format!(
                "Action/metadata line [{number}]: [{key}] must be a string, got {other}"
            ))),
        }
    };
    let index = match text("_index")?.or_else(|| opts.index.clone()) {
        Some(i) if !i.is_empty() => i,
        _ => {
            return Err(BulkError {
                kind: "action_request_validation_exception",
                reason: "Validation Failed: 1: index is missing;".into(),
            })
        }
    };
    Ok((action, index, text("_id")?))
}
