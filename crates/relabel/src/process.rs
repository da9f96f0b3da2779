//! Applying relabel rules to a label set, with Prometheus' semantics.

use std::sync::Arc;

use md5::{Digest, Md5};

use bongsu_model::{Label, Labels};

use super::expand::expand;
use super::{Action, RelabelConfig};

/// Applies `configs` in order; `None` when a rule drops the label set.
///
/// A label a rule reads but the set lacks reads as the empty string; setting a label to the
/// empty string removes it. The result is a valid [`Labels`]; a set that grows past
/// [`bongsu_model::MAX_LABELS`] labels cannot be one and is dropped.
pub fn relabel(labels: &Labels, configs: &[RelabelConfig]) -> Option<Labels> {
    if configs.is_empty() {
        return Some(labels.clone());
    }
    let mut b = Builder {
        labels: labels.as_slice().to_vec(),
    };
    // One buffer for every rule's joined source values and expansions.
    let mut scratch = Scratch::default();
    for cfg in configs {
        if !apply(cfg, &mut b, &mut scratch) {
            return None;
        }
    }
    Labels::new(b.labels).ok()
}

#[derive(Default)]
struct Scratch {
    value: String,
    target: String,
    result: String,
}

/// A label list kept sorted by name, so lookups are binary searches.
struct Builder {
    labels: Vec<Label>,
}

impl Builder {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.labels.binary_search_by(|l| (*l.name).cmp(name))
    }

    fn get(&self, name: &str) -> &str {
        self.find(name).map_or("", |i| &self.labels[i].value)
    }

    fn set(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.del(name);
            return;
        }
        match self.find(name) {
            Ok(i) => {
                if &*self.labels[i].value != value {
                    self.labels[i].value = Arc::from(value);
                }
            }
            Err(i) => self.labels.insert(i, Label::new(name, value)),
        }
    }

    fn del(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.labels.remove(i);
        }
    }
}

fn apply(cfg: &RelabelConfig, b: &mut Builder, s: &mut Scratch) -> bool {
    s.value.clear();
    for (i, name) in cfg.source_labels.iter().enumerate() {
        if i > 0 {
            s.value.push_str(&cfg.separator);
        }
        s.value.push_str(b.get(name));
    }
    let val = s.value.as_str();
    match cfg.action {
        Action::Drop => return !cfg.regex.is_match(val),
        Action::Keep => return cfg.regex.is_match(val),
        Action::DropEqual => return b.get(&cfg.target_label) != val,
        Action::KeepEqual => return b.get(&cfg.target_label) == val,
        Action::Replace => replace(cfg, b, s),
        Action::Lowercase => {
            let v = val.to_lowercase();
            b.set(&cfg.target_label, &v);
        }
        Action::Uppercase => {
            let v = val.to_uppercase();
            b.set(&cfg.target_label, &v);
        }
        Action::HashMod => {
            let v = hash_mod(val, cfg.modulus).to_string();
            b.set(&cfg.target_label, &v);
        }
        Action::LabelMap => {
            // Rules see the labels as they were before this rule, as Prometheus' builder does.
            let before = b.labels.clone();
            for l in &before {
                if let Some(caps) = cfg.regex.compiled().captures(&l.name) {
                    s.result.clear();
                    expand(&caps, &cfg.replacement, &mut s.result);
                    b.set(&s.result, &l.value);
                }
            }
        }
        Action::LabelDrop => b.labels.retain(|l| !cfg.regex.is_match(&l.name)),
        Action::LabelKeep => b.labels.retain(|l| cfg.regex.is_match(&l.name)),
    }
    true
}

fn replace(cfg: &RelabelConfig, b: &mut Builder, s: &mut Scratch) {
    let val = s.value.as_str();
    // Prometheus' fast path: with the default regex and no references, an empty input sets
    // the target to the replacement verbatim (the general path would give the same result).
    if val.is_empty()
        && cfg.regex_is_default()
        && !cfg.target_label.contains('$')
        && !cfg.replacement.contains('$')
    {
        b.set(&cfg.target_label, &cfg.replacement);
        return;
    }
    let Some(caps) = cfg.regex.compiled().captures(val) else {
        return;
    };
    s.target.clear();
    expand(&caps, &cfg.target_label, &mut s.target);
    if !cfg.scheme().is_valid_label_name(&s.target) {
        return;
    }
    s.result.clear();
    expand(&caps, &cfg.replacement, &mut s.result);
    b.set(&s.target, &s.result);
}

/// Prometheus' `hashmod`: the MD5 digest of the input, its last 8 bytes read as a big-endian
/// integer, modulo `modulus` (which validation keeps non-zero).
pub(crate) fn hash_mod(input: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(input.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail) % modulus.max(1)
}
