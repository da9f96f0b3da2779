//! Alertmanager's notification-template data model and template set.
//!
//! [`Data`] and [`Alert`] are what the notification pipeline fills in; [`Data::to_value`]
//! turns them into the dot templates see, with upstream's types and methods
//! (`.Alerts.Firing`, `.CommonLabels.SortedPairs`, `.GroupLabels.Names`, `KV.Remove`, …).
//! [`NotificationTemplates`] holds the parsed template files and executes the per-receiver
//! strings as upstream's `ExecuteTextString` does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::funcs::alertmanager::funcs;
use super::time::Time;
use super::value::{ListKind, MapKind, Struct, Value};
use super::{Error, MissingKey, Template};

/// bongsu's default notification templates.
pub const DEFAULT_TEMPLATES: &str = include_str!("default.tmpl");
/// bongsu's default email templates (`email.default.subject`, `email.default.html`).
pub const EMAIL_TEMPLATES: &str = include_str!("email.tmpl");

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Time,
    pub ends_at: Time,
    pub generator_url: String,
    pub fingerprint: String,
    /// bongsu's addition: the alert's link into the `/logs` explorer
    /// (`bongsu_model::logs_link`), `.LogsURL` in templates. Not part of `toJson`'s output,
    /// which stays upstream's.
    pub logs_url: String,
}

/// The data of one notification (upstream's `template.Data`).
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub receiver: String,
    /// `firing` when any alert fires, else `resolved`.
    pub status: String,
    pub alerts: Vec<Alert>,
    /// Why the notification is sent (Alertmanager 0.32+); empty until the notifier sets it.
    pub notification_reason: String,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    pub external_url: String,
}

impl Data {
    /// Builds the data as upstream's `Template.Data`: the receiver name regex-quoted, the
    /// status from the alerts, the labels and annotations every alert shares.
    pub fn new(
        receiver: &str,
        group_labels: BTreeMap<String, String>,
        alerts: Vec<Alert>,
        external_url: &str,
    ) -> Data {
        let status = if alerts.iter().any(|a| a.status == "firing") {
            "firing"
        } else {
            "resolved"
        };
        let common = |get: fn(&Alert) -> &BTreeMap<String, String>| -> BTreeMap<String, String> {
            let Some(first) = alerts.first() else {
                return BTreeMap::new();
            };
            get(first)
                .iter()
                .filter(|(k, v)| alerts[1..].iter().all(|a| get(a).get(*k) == Some(*v)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Data {
            receiver: quote_meta(receiver),
            status: status.to_string(),
            common_labels: common(|a| &a.labels),
            common_annotations: common(|a| &a.annotations),
            alerts,
            notification_reason: String::new(),
            group_labels,
            external_url: external_url.to_string(),
        }
    }

    /// The template dot.
    pub fn to_value(&self) -> Value {
        let alerts = self.alerts.iter().map(Alert::to_value).collect();
        Value::Struct(
            Struct::new(
                "*template.Data",
                vec![
                    ("Receiver", Value::str(&self.receiver)),
                    ("Status", Value::str(&self.status)),
                    ("Alerts", Value::list(ListKind::Alerts, alerts)),
                    ("NotificationReason", Value::str(&self.notification_reason)),
                    ("GroupLabels", kv(&self.group_labels)),
                    ("CommonLabels", kv(&self.common_labels)),
                    ("CommonAnnotations", kv(&self.common_annotations)),
                    ("ExternalURL", Value::str(&self.external_url)),
                ],
            )
            .with_json_names(&[
                "receiver",
                "status",
                "alerts",
                "notification_reason",
                "groupLabels",
                "commonLabels",
                "commonAnnotations",
                "externalURL",
            ]),
        )
    }
}

impl Alert {
    pub fn to_value(&self) -> Value {
        Value::Struct(
            Struct::new(
                "template.Alert",
                vec![
                    ("Status", Value::str(&self.status)),
                    ("Labels", kv(&self.labels)),
                    ("Annotations", kv(&self.annotations)),
                    ("StartsAt", Value::Time(self.starts_at.clone())),
                    ("EndsAt", Value::Time(self.ends_at.clone())),
                    ("GeneratorURL", Value::str(&self.generator_url)),
                    ("Fingerprint", Value::str(&self.fingerprint)),
                    ("LogsURL", Value::str(&self.logs_url)),
                ],
            )
            .with_json_names(&[
                "status",
                "labels",
                "annotations",
                "startsAt",
                "endsAt",
                "generatorURL",
                "fingerprint",
                "-",
            ]),
        )
    }
}

/// Go's `regexp.QuoteMeta` (which, unlike `regex::escape`, leaves `-`, `#`, `&` and `~`).
pub(crate) fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A `template.KV` from a label map.
pub fn kv(m: &BTreeMap<String, String>) -> Value {
    Value::string_map(MapKind::Kv, m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Most configuration strings kept parsed; a configuration has a few dozen, so the bound only
/// matters if strings are made up at run time.
const MAX_PREPARED_TEXTS: usize = 4096;

/// The parsed notification templates of a configuration.
#[derive(Clone)]
pub struct NotificationTemplates {
    set: Template,
    /// Each configuration string (a Slack `title`, …) parsed once into a copy of `set`, as
    /// upstream's `ExecuteTextString` does on every call.
    prepared: Arc<Mutex<HashMap<String, Arc<Template>>>>,
}

impl Default for NotificationTemplates {
    fn default() -> Self {
        Self::new()
    }
}

impl NotificationTemplates {
    /// An empty set with Alertmanager's functions and `missingkey=zero`.
    pub fn new() -> Self {
        NotificationTemplates {
            set: Template::new("")
                .funcs(&funcs())
                .missing_key(MissingKey::Zero),
            prepared: Arc::default(),
        }
    }

    /// A set with bongsu's default notification templates (`src/template/default.tmpl`: the
    /// names and output of Alertmanager's `default.tmpl`; `src/template/email.tmpl`: the names
    /// of its `email.tmpl`), as upstream always loads its own.
    pub fn with_defaults() -> Self {
        let mut set = Self::new();
        set.parse_file("default.tmpl", DEFAULT_TEMPLATES)
            .expect("the embedded default templates parse");
        set.parse_file("email.tmpl", EMAIL_TEMPLATES)
            .expect("the embedded email templates parse");
        set
    }

    /// Adds the definitions of one template file (`name` is used in error locations).
    pub fn parse_file(&mut self, name: &str, text: &str) -> Result<(), Error> {
        self.prepared = Arc::default();
        self.set.parse_as(name, text)
    }

    /// The set with `text` parsed as its template `""`, parsed once per distinct text.
    fn prepare(&self, text: &str) -> Result<Arc<Template>, Error> {
        if let Some(t) = self.prepared.lock().get(text) {
            return Ok(t.clone());
        }
        let mut t = self.set.clone();
        t.parse_as("", text)?;
        let t = Arc::new(t);
        let mut prepared = self.prepared.lock();
        if prepared.len() < MAX_PREPARED_TEXTS {
            prepared.insert(text.to_string(), t.clone());
        }
        Ok(t)
    }

    /// Executes a defined template by name.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        self.set.execute_template(name, data)
    }

    /// Renders a configuration string (e.g. a Slack `title`) that may call the defined
    /// templates, as upstream's `ExecuteTextString`; an empty string renders empty.
    pub fn execute_text(&self, text: &str, data: &Value) -> Result<String, Error> {
        if text.is_empty() {
            return Ok(String::new());
        }
        self.prepare(text)?.execute_template("", data)
    }

    /// Renders a configuration string as HTML (upstream's `ExecuteHTMLString`): as
    /// [`execute_text`](Self::execute_text), but what actions print is HTML-escaped (see
    /// [`Template::execute_template_html`] for how far that goes).
    pub fn execute_html(&self, text: &str, data: &Value) -> Result<String, Error> {
        if text.is_empty() {
            return Ok(String::new());
        }
        self.prepare(text)?.execute_template_html("", data)
    }
}
