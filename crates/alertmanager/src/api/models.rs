//! The JSON shapes of Alertmanager's v2 API and their conversion from bongsu's types.
//! Timestamps are written as go-openapi's `strfmt.DateTime`: RFC 3339 with milliseconds.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::matcher::LabelSet;
use crate::silence::{Silence, SilenceMatcher};

pub fn date_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[derive(Debug, Deserialize)]
pub struct PostableAlert {
    pub labels: Option<LabelSet>,
    #[serde(default)]
    pub annotations: Option<LabelSet>,
    #[serde(rename = "startsAt", default, deserialize_with = "go_time")]
    pub starts_at: Option<Timestamp>,
    #[serde(rename = "endsAt", default, deserialize_with = "go_time")]
    pub ends_at: Option<Timestamp>,
    #[serde(rename = "generatorURL", default)]
    pub generator_url: Option<String>,
}

/// A time where Go's zero time (`0001-01-01T00:00:00Z`, what Go clients such as `amtool`
/// send for "unset") means absent, as Alertmanager's `IsZero` checks treat it.
fn go_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let t: Option<Timestamp> = Option::deserialize(d)?;
    Ok(t.filter(|t| t.as_second() != GO_ZERO_SECONDS))
}

/// Go's zero time in Unix seconds.
const GO_ZERO_SECONDS: i64 = -62_135_596_800;

#[derive(Debug, Serialize)]
pub struct ReceiverRef {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct AlertStatus {
    pub state: &'static str,
    #[serde(rename = "silencedBy")]
    pub silenced_by: Vec<String>,
    #[serde(rename = "inhibitedBy")]
    pub inhibited_by: Vec<String>,
    #[serde(rename = "mutedBy")]
    pub muted_by: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct GettableAlert {
    pub annotations: LabelSet,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    pub fingerprint: String,
    pub receivers: Vec<ReceiverRef>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    pub status: AlertStatus,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "String::is_empty")]
    pub generator_url: String,
    pub labels: LabelSet,
}

#[derive(Debug, Serialize)]
pub struct AlertGroup {
    pub alerts: Vec<GettableAlert>,
    pub labels: LabelSet,
    #[serde(rename = "routeLabels")]
    pub route_labels: LabelSet,
    pub receiver: ReceiverRef,
}

#[derive(Debug, Deserialize)]
pub struct PostableSilence {
    #[serde(default)]
    pub id: Option<String>,
    pub matchers: Option<Vec<PostableMatcher>>,
    #[serde(rename = "startsAt")]
    pub starts_at: Option<Timestamp>,
    #[serde(rename = "endsAt")]
    pub ends_at: Option<Timestamp>,
    #[serde(rename = "createdBy")]
    pub created_by: Option<String>,
    pub comment: Option<String>,
    #[serde(default)]
    pub annotations: Option<LabelSet>,
}

#[derive(Debug, Deserialize)]
pub struct PostableMatcher {
    pub name: Option<String>,
    pub value: Option<String>,
    #[serde(rename = "isRegex")]
    pub is_regex: Option<bool>,
    #[serde(rename = "isEqual", default)]
    pub is_equal: Option<bool>,
}

impl PostableSilence {
    /// The silence, or go-swagger's message for the first missing required field.
    pub fn into_silence(self) -> Result<Silence, String> {
        let missing = |f: &str| format!("{f} in body is required");
        let matchers = self.matchers.ok_or_else(|| missing("matchers"))?;
        if matchers.is_empty() {
            return Err("matchers in body should have at least 1 items".into());
        }
        let mut ms = Vec::with_capacity(matchers.len());
        for (i, m) in matchers.into_iter().enumerate() {
            ms.push(SilenceMatcher {
                name: m
                    .name
                    .ok_or_else(|| missing(&format!("matchers.{i}.name")))?,
                value: m
                    .value
                    .ok_or_else(|| missing(&format!("matchers.{i}.value")))?,
                is_regex: m
                    .is_regex
                    .ok_or_else(|| missing(&format!("matchers.{i}.isRegex")))?,
                is_equal: m.is_equal.unwrap_or(true),
            });
        }
        Ok(Silence {
            id: self.id.unwrap_or_default(),
            matchers: ms,
            starts_at: self.starts_at.ok_or_else(|| missing("startsAt"))?,
            ends_at: self.ends_at.ok_or_else(|| missing("endsAt"))?,
            updated_at: Timestamp::UNIX_EPOCH,
            created_by: self.created_by.ok_or_else(|| missing("createdBy"))?,
            comment: self.comment.ok_or_else(|| missing("comment"))?,
            annotations: self.annotations.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct SilenceStatus {
    pub state: &'static str,
}

#[derive(Debug, Serialize)]
pub struct GettableSilence {
    pub id: String,
    pub status: SilenceStatus,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    pub comment: String,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    pub matchers: Vec<SilenceMatcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    pub annotations: LabelSet,
}

impl GettableSilence {
    pub fn new(s: &Silence, now: Timestamp) -> GettableSilence {
        GettableSilence {
            id: s.id.clone(),
            status: SilenceStatus {
                state: s.state(now).as_str(),
            },
            updated_at: date_time(s.updated_at),
            comment: s.comment.clone(),
            created_by: s.created_by.clone(),
            ends_at: date_time(s.ends_at),
            matchers: s.matchers.clone(),
            starts_at: date_time(s.starts_at),
            annotations: s.annotations.clone(),
        }
    }
}
