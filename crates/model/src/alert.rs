//! The alert as it leaves rule evaluation for Alertmanagers (Prometheus' `notifier.Alert`),
//! its Alertmanager v2 `postableAlert` JSON, and the in-process hand-off to the built-in
//! Alertmanager. Rule evaluation builds these; the notifier and the Alertmanager only read them.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::Labels;

/// One alert to notify about. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    /// When the alert stops being valid: its resolve time, or the end of its resend window.
    pub ends_at: Option<i64>,
    pub generator_url: String,
}

/// Receives every alert sent, in process (the built-in Alertmanager). Called on the rule
/// evaluation path: implementations must hand the alerts over without blocking.
pub trait AlertReceiver: Send + Sync {
    fn receive(&self, alerts: &[Alert]);
}

/// `{external_url}/graph?g0.expr=…&g0.tab=1`, Prometheus' link to an expression's table view.
pub fn generator_url(external_url: &str, expr: &str) -> String {
    let escaped: String = url::form_urlencoded::byte_serialize(expr.as_bytes()).collect();
    format!(
        "{}/graph?g0.expr={escaped}&g0.tab=1",
        external_url.trim_end_matches('/')
    )
}

/// RFC 3339 in UTC with as many fractional digits as needed, as Go marshals `time.Time`.
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_string(),
        Err(_) => "0001-01-01T00:00:00Z".to_string(),
    }
}

struct LabelsJson<'a>(&'a Labels);

impl Serialize for LabelsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for l in self.0.iter() {
            m.serialize_entry(&*l.name, &*l.value)?;
        }
        m.end()
    }
}

impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Alert", 5)?;
        st.serialize_field("labels", &LabelsJson(&self.labels))?;
        st.serialize_field("annotations", &self.annotations)?;
        st.serialize_field("startsAt", &rfc3339(self.starts_at))?;
        st.serialize_field(
            "endsAt",
            &self
                .ends_at
                .map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339),
        )?;
        st.serialize_field("generatorURL", &self.generator_url)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_alertmanager_v2() {
        let a = Alert {
            labels: Labels::from_pairs(&[("alertname", "Up"), ("job", "x")]).unwrap(),
            annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
            starts_at: 1_700_000_000_123,
            ends_at: Some(1_700_000_240_000),
            generator_url: generator_url("http://h:9090/", "up == 0"),
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({
                "labels": {"alertname": "Up", "job": "x"},
                "annotations": {"summary": "s"},
                "startsAt": "2023-11-14T22:13:20.123Z",
                "endsAt": "2023-11-14T22:17:20Z",
                "generatorURL": "http://h:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
            })
        );
    }
}
