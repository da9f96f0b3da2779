//! Series labels from a request: 1.0 label pairs and the 2.0 symbol table, validated and
//! interned as Prometheus' receiver validates them, and shown in error messages.

use std::sync::Arc;

use bytes::Bytes;

use bongsu_model::{Label, Labels, MAX_LABELS};

use super::proto::v1;
use super::write::{MAX_ERROR_LINE_BYTES, MAX_LABEL_BYTES};

/// A validated series label set from 1.0 label pairs.
pub(super) fn labels_v1(pairs: &[v1::Label]) -> Result<Labels, String> {
    let shown = || show_raw(pairs.iter().map(|l| (&l.name[..], &l.value[..])));
    if pairs.len() > MAX_LABELS {
        return Err(format!(
            "series {} has {} labels, more than the limit of {MAX_LABELS}",
            shown(),
            pairs.len(),
        ));
    }
    let mut labels = Vec::with_capacity(pairs.len());
    for l in pairs {
        let name = label_str(&l.name).map_err(|why| format!("series {}: {why}", shown()))?;
        let value = label_str(&l.value).map_err(|why| format!("series {}: {why}", shown()))?;
        labels.push(Label::new(name, value));
    }
    series_labels(labels, shown)
}

/// Sorts and validates, as Prometheus' receiver: a metric name, no empty or duplicate names.
/// Empty values are dropped (an empty value is an absent label in Prometheus' model).
fn series_labels(labels: Vec<Label>, shown: impl Fn() -> String) -> Result<Labels, String> {
    let labels =
        Labels::new(labels).map_err(|e| format!("invalid labels for series {}: {e}", shown()))?;
    if labels.metric_name().is_none() {
        return Err(format!(
            "invalid labels for series {}: no metric name (label __name__)",
            shown()
        ));
    }
    Ok(labels)
}

fn label_str(b: &[u8]) -> Result<&str, String> {
    if b.len() > MAX_LABEL_BYTES {
        return Err(format!(
            "a label name or value has {} bytes, more than the limit of {MAX_LABEL_BYTES}",
            b.len()
        ));
    }
    std::str::from_utf8(b).map_err(|_| "a label name or value is not valid UTF-8".to_string())
}

/// `{a="b", …}` of unvalidated pairs, for error messages.
pub(super) fn show_raw<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> String {
    let mut out = String::from("{");
    for (i, (n, v)) in pairs.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&String::from_utf8_lossy(n));
        out.push('=');
        out.push_str(&format!("{:?}", String::from_utf8_lossy(v)));
        if out.len() > MAX_ERROR_LINE_BYTES {
            break;
        }
    }
    out.push('}');
    out
}

/// The 2.0 symbol table of one request. Each referenced symbol is checked and converted once,
/// so the label sets of all series share one `Arc<str>` per distinct string.
pub(super) struct Symbols<'a> {
    raw: &'a [Bytes],
    converted: Vec<Option<Arc<str>>>,
}

impl<'a> Symbols<'a> {
    pub(super) fn new(raw: &'a [Bytes]) -> Symbols<'a> {
        Symbols {
            raw,
            converted: vec![None; raw.len()],
        }
    }

    fn get(&mut self, r: u32) -> Result<Arc<str>, String> {
        let i = r as usize;
        let Some(slot) = self.converted.get_mut(i) else {
            return Err(format!(
                "symbol reference {r} is out of range: the request has {} symbols",
                self.raw.len()
            ));
        };
        if let Some(s) = slot {
            return Ok(s.clone());
        }
        let s: Arc<str> = label_str(&self.raw[i])
            .map_err(|why| format!("symbol {r}: {why}"))?
            .into();
        *slot = Some(s.clone());
        Ok(s)
    }

    pub(super) fn check_refs(&mut self, refs: &[u32]) -> Result<(), String> {
        if !refs.len().is_multiple_of(2) {
            return Err(format!(
                "labels_refs has {} elements, not name/value pairs",
                refs.len()
            ));
        }
        for &r in refs {
            self.get(r)?;
        }
        Ok(())
    }

    /// A validated series label set from `labels_refs`.
    pub(super) fn labels(&mut self, refs: &[u32]) -> Result<Labels, String> {
        let raw = self.raw;
        let shown = || show_refs(raw, refs);
        if refs.len() / 2 > MAX_LABELS {
            return Err(format!(
                "series has {} labels, more than the limit of {MAX_LABELS}",
                refs.len() / 2
            ));
        }
        self.check_refs(refs)
            .map_err(|why| format!("series {}: {why}", shown()))?;
        let mut labels = Vec::with_capacity(refs.len() / 2);
        for pair in refs.chunks_exact(2) {
            labels.push(Label {
                name: self.get(pair[0])?,
                value: self.get(pair[1])?,
            });
        }
        series_labels(labels, shown)
    }
}

/// `{a="b", …}` of unvalidated symbol references ("?" for a reference out of range).
pub(super) fn show_refs(raw: &[Bytes], refs: &[u32]) -> String {
    let sym = |r: u32| -> &[u8] { raw.get(r as usize).map_or(b"?", |b| &b[..]) };
    show_raw(
        refs.chunks(2)
            .map(|p| (sym(p[0]), p.get(1).map_or(&b"?"[..], |r| sym(*r)))),
    )
}
