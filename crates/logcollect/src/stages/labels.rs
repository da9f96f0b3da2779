//! The stages that change an entry's label set: `labels` and `structured_metadata` (from
//! extracted values), `static_labels`, `labelallow`, `labeldrop`, and `tenant`.
//!
//! `tenant` sets Promtail's reserved label `__tenant_id__`, which a Loki-push client turns
//! into the `X-Scope-OrgID` header and removes. bongsu's own store has one tenant: a
//! destination writing there removes the label and ignores its value.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::pipeline::{decode, Built, Context, Each, Processor};

/// The label a `tenant` stage sets (Promtail's `ReservedLabelTenantID`).
pub const TENANT_LABEL: &str = "__tenant_id__";

/// Prometheus' legacy label-name rule (`[a-zA-Z_][a-zA-Z0-9_]*`), which Promtail's
/// `labels` and `structured_metadata` stages check.
fn is_legacy_name(n: &str) -> bool {
    let mut b = n.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A `labels`-style config: label name → extracted source (empty or null: the same name).
fn label_sources(v: &Yaml, empty: &str) -> Result<Vec<(String, String)>, String> {
    let cfg: BTreeMap<String, Option<String>> = decode(v, empty)?;
    let mut out = Vec::with_capacity(cfg.len());
    for (name, src) in cfg {
        if !is_legacy_name(&name) {
            return Err(format!("invalid label name: {name}"));
        }
        let src = src
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| name.clone());
        out.push((name, src));
    }
    Ok(out)
}

struct LabelsStage(Vec<(String, String)>);

pub(crate) fn labels(v: &Yaml, _: &Context) -> Built {
    Ok(Box::new(Each(LabelsStage(label_sources(
        v,
        "label stage config cannot be empty",
    )?))))
}

impl Processor for LabelsStage {
    fn apply(&mut self, item: &mut Item) {
        for (name, src) in &self.0 {
            if let Some(v) = item.extracted_string(src) {
                item.labels.insert(name.clone(), v);
            }
        }
    }
}

struct StructuredMetadataStage(Vec<(String, String)>);

pub(crate) fn structured_metadata(v: &Yaml, _: &Context) -> Built {
    Ok(Box::new(Each(StructuredMetadataStage(label_sources(
        v,
        "label stage config cannot be empty",
    )?))))
}

impl Processor for StructuredMetadataStage {
    fn apply(&mut self, item: &mut Item) {
        // Sources taken, with the value they gave: a label of that name and value moves
        // from the stream labels to the metadata.
        let mut taken: BTreeMap<&str, String> = BTreeMap::new();
        for (name, src) in &self.0 {
            if let Some(v) = item.extracted_string(src) {
                item.metadata.push((name.clone(), v.clone()));
                taken.insert(src, v);
            }
        }
        for (name, src) in &self.0 {
            if taken.contains_key(src.as_str()) {
                continue;
            }
            if let Some(v) = item.labels.get(src) {
                item.metadata.push((name.clone(), v.clone()));
                taken.insert(src, v.clone());
            }
        }
        for (src, v) in taken {
            if item.labels.get(src) == Some(&v) {
                item.labels.remove(src);
            }
        }
    }
}

struct StaticLabelsStage(Vec<(String, String)>);

pub(crate) fn static_labels(v: &Yaml, _: &Context) -> Built {
    let cfg: BTreeMap<String, Option<Yaml>> =
        decode(v, "static_labels stage config cannot be empty")?;
    let mut out = Vec::with_capacity(cfg.len());
    for (name, value) in cfg {
        if name.is_empty() {
            return Err(format!("invalid label name: {name}"));
        }
        // A null or empty value sets nothing, as in Promtail.
        if let Some(v) = value.map(|v| super::pipeline::yaml_text(&v)) {
            if !v.is_empty() {
                out.push((name, v));
            }
        }
    }
    Ok(Box::new(Each(StaticLabelsStage(out))))
}

impl Processor for StaticLabelsStage {
    fn apply(&mut self, item: &mut Item) {
        for (n, v) in &self.0 {
            item.labels.insert(n.clone(), v.clone());
        }
    }
}

struct LabelDropStage(Vec<String>);

pub(crate) fn labeldrop(v: &Yaml, _: &Context) -> Built {
    let names: Vec<String> = decode(v, "labeldrop stage config cannot be empty")?;
    if names.is_empty() {
        return Err("labeldrop stage config cannot be empty".into());
    }
    Ok(Box::new(Each(LabelDropStage(names))))
}

impl Processor for LabelDropStage {
    fn apply(&mut self, item: &mut Item) {
        for n in &self.0 {
            item.labels.remove(n);
        }
    }
}

struct LabelAllowStage(BTreeSet<String>);

pub(crate) fn labelallow(v: &Yaml, _: &Context) -> Built {
    let names: Vec<String> = decode(v, "labelallow stage config cannot be empty")?;
    if names.is_empty() {
        return Err("labelallow stage config cannot be empty".into());
    }
    Ok(Box::new(Each(LabelAllowStage(names.into_iter().collect()))))
}

impl Processor for LabelAllowStage {
    fn apply(&mut self, item: &mut Item) {
        item.labels.retain(|n, _| self.0.contains(n));
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TenantConfig {
    label: String,
    source: String,
    value: String,
}

enum TenantFrom {
    Label(String),
    Source(String),
    Value(String),
}

struct TenantStage(TenantFrom);

pub(crate) fn tenant(v: &Yaml, _: &Context) -> Built {
    let c: TenantConfig = if v.is_null() {
        TenantConfig::default()
    } else {
        decode(v, "")?
    };
    let set = [&c.label, &c.source, &c.value]
        .iter()
        .filter(|s| !s.is_empty())
        .count();
    if set == 0 {
        return Err("label, source or value config are required".into());
    }
    if set > 1 {
        return Err("label, source and value are mutually exclusive: you should set source, value or label but not all".into());
    }
    let from = if !c.source.is_empty() {
        TenantFrom::Source(c.source)
    } else if !c.label.is_empty() {
        TenantFrom::Label(c.label)
    } else {
        TenantFrom::Value(c.value)
    };
    Ok(Box::new(Each(TenantStage(from))))
}

impl Processor for TenantStage {
    fn apply(&mut self, item: &mut Item) {
        let id = match &self.0 {
            TenantFrom::Source(s) => item.extracted_string(s),
            TenantFrom::Label(l) => item.labels.get(l).cloned(),
            TenantFrom::Value(v) => Some(v.clone()),
        };
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            item.labels.insert(TENANT_LABEL.into(), id);
        }
    }
}
