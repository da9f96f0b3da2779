//! The alert as it leaves bongsu: what the rules hand over, turned into Alertmanager's v2
//! `postableAlert` JSON.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::model::Labels;
use crate::rules::alerting::Alert as RuleAlert;

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

impl Alert {
    /// As Prometheus' `sendAlerts`: a resolved alert ends when it resolved, a firing one when
    /// its validity (set by the rule from the resend delay and interval) runs out.
    pub fn from_rule(a: RuleAlert, generator_url: &str) -> Alert {
        Alert {
            ends_at: a.resolved_at.or(a.valid_until),
            starts_at: a.fired_at.unwrap_or(a.active_at),
            labels: a.labels,
            annotations: a.annotations,
            generator_url: generator_url.to_string(),
        }
    }
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
