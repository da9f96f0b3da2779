//! The labels a log line carries through a pipeline, in Loki's model (`LabelsBuilder`).
//!
//! A line starts with its stream's labels (the *base*) and its structured metadata; parsers
//! and `label_format` add *parsed* labels, `drop`/`keep` delete, and stages may set the error
//! pair `__error__`/`__error_details__`. Precedence is Loki's: a parsed label hides a
//! structured-metadata label of the same name, which hides a stream label. Parsers never
//! overwrite a stream or metadata label: they add `name_extracted` instead (see
//! [`LabelsBuilder::parsed_name`]); metadata named like a stream label also gets the suffix.
//!
//! Loki also remembers, per line, every name set as parsed, even if later dropped: a parser
//! skips a key that an earlier parser (or `label_format`) already set, so the first
//! extraction wins. We keep that set as the parsed slots themselves (a dropped one stays as a
//! dead slot).
//!
//! Per line nothing is allocated in the steady state: slots keep their `String`s between
//! lines, and the final [`LabelsResult`] is shared — the stream's own when nothing changed,
//! else one from a per-builder cache keyed by the labels' hash (compared in full on a hit).
//! Unlike [`bongsu_model::Labels`], a result keeps labels with empty values: Loki returns
//! `foo=""` for a key parsed with an empty value.
//!
//! Submodules: `result` (the final set), `slots` (where names and values live between
//! lines, and the signature of the stream's names).
//!
//! Not here: grouping (`by`/`without`) and the parser hints of metric queries, which the
//! evaluator applies to results.

mod result;
mod slots;

use std::collections::HashMap;
use std::sync::Arc;

use bongsu_model::{stable_hash_of, Labels};

pub use result::{Category, LabelRef, LabelsResult};
use slots::{NameSignature, Slots};

/// The label carrying the error a stage hit on this line.
pub const ERROR_LABEL: &str = "__error__";
/// The label carrying the error's message.
pub const ERROR_DETAILS_LABEL: &str = "__error_details__";
/// What a parsed name that collides with a stream or metadata label gets appended.
pub const DUPLICATE_SUFFIX: &str = "_extracted";

/// Most distinct results one builder caches before it starts over.
pub const MAX_CACHED_RESULTS: usize = 4096;

/// Where a label of the line's current set lives, for sorting without copying.
#[derive(Debug, Clone, Copy)]
enum Src {
    Base(usize),
    Meta(usize),
    Parsed(usize),
    Err,
    ErrDetails,
}

/// The labels of the line being processed (Loki's `LabelsBuilder`). One per stream; reset
/// per line by the pipeline.
#[derive(Debug)]
pub struct LabelsBuilder {
    base: Labels,
    base_names: NameSignature,
    base_result: Arc<LabelsResult>,
    metadata: Slots,
    parsed: Slots,
    deleted: Slots,
    err: String,
    err_details: String,
    cache: HashMap<u64, Arc<LabelsResult>>,
    scratch: Vec<Src>,
    /// The metadata pairs [`start_line`](Self::start_line) last filled slots from, and how
    /// many slots they filled (`None` if they cannot simply be revived).
    meta_seen: Vec<(String, String)>,
    meta_filled: Option<usize>,
}

impl LabelsBuilder {
    /// A builder for lines of the stream with labels `base`.
    pub fn new(base: Labels) -> LabelsBuilder {
        LabelsBuilder {
            base_result: Arc::new(LabelsResult::from_base(&base)),
            base_names: NameSignature::of(base.iter().map(|l| &*l.name)),
            base,
            metadata: Slots::default(),
            parsed: Slots::default(),
            deleted: Slots::default(),
            err: String::new(),
            err_details: String::new(),
            cache: HashMap::new(),
            scratch: Vec::new(),
            meta_seen: Vec::new(),
            meta_filled: None,
        }
    }

    /// The stream's labels.
    pub fn base(&self) -> &Labels {
        &self.base
    }

    /// The stream's labels as a result (what an unchanged line gets).
    pub fn base_result(&self) -> &Arc<LabelsResult> {
        &self.base_result
    }

    /// Forgets everything of the previous line.
    pub fn reset(&mut self) {
        self.meta_filled = None;
        self.metadata.clear();
        self.clear_all_but_metadata();
    }

    fn clear_all_but_metadata(&mut self) {
        self.parsed.clear();
        self.deleted.clear();
        self.err.clear();
        self.err_details.clear();
    }

    /// Starts a line: [`reset`](Self::reset), then [`add_metadata`](Self::add_metadata) for
    /// each pair. Lines of a stream mostly carry the same metadata; then the slots the
    /// previous line's pairs filled are revived instead of filled again (stages only hide
    /// metadata slots, never change them).
    pub fn start_line<N: AsRef<str>, V: AsRef<str>>(&mut self, metadata: &[(N, V)]) {
        if let Some(filled) = self.meta_filled {
            let seen =
                self.meta_seen.len() == metadata.len()
                    && self.meta_seen.iter().zip(metadata).all(|((n, v), (m, w))| {
                        same_text(n, m.as_ref()) && same_text(v, w.as_ref())
                    });
            if seen {
                self.clear_all_but_metadata();
                self.metadata.revive(filled);
                return;
            }
        }
        self.reset();
        for (n, v) in metadata {
            self.add_metadata(n.as_ref(), v.as_ref());
        }
        self.meta_seen.resize_with(metadata.len(), Default::default);
        for ((n, v), (m, w)) in self.meta_seen.iter_mut().zip(metadata) {
            n.clear();
            n.push_str(m.as_ref());
            v.clear();
            v.push_str(w.as_ref());
        }
        // Pairs that set the error would need it restored too: fill those lines afresh.
        let clean = self.err.is_empty() && self.err_details.is_empty();
        self.meta_filled = clean.then_some(self.metadata.len);
    }

    /// Adds a line's structured metadata as Loki does: a name that is a stream label gets
    /// `_extracted`, and `__error__`/`__error_details__` set the error instead.
    pub fn add_metadata(&mut self, name: &str, value: &str) {
        if self.base_has(name) {
            let mut renamed = String::with_capacity(name.len() + DUPLICATE_SUFFIX.len());
            renamed.push_str(name);
            renamed.push_str(DUPLICATE_SUFFIX);
            return self.set_metadata(&renamed, value);
        }
        match name {
            ERROR_LABEL => self.set_err(value),
            ERROR_DETAILS_LABEL => self.set_err_details(value),
            _ => self.set_metadata(name, value),
        }
    }

    /// Sets a structured-metadata label; a parsed label of that name wins, so this is then
    /// a no-op.
    pub fn set_metadata(&mut self, name: &str, value: &str) {
        self.meta_filled = None;
        if !self.parsed.has_live(name) {
            self.metadata.set(name, value);
        }
    }

    /// Sets a parsed label, hiding any metadata or stream label of that name.
    pub fn set_parsed(&mut self, name: &str, value: &str) {
        self.metadata.kill(name);
        self.parsed.set(name, value);
    }

    /// The name a parser must use for key `name`: `name_extracted` if a stream or metadata
    /// label has that name.
    pub fn parsed_name<'a>(&self, name: &'a str, buf: &'a mut String) -> &'a str {
        if self.base_has(name) || self.metadata.has_live(name) {
            buf.clear();
            buf.push_str(name);
            buf.push_str(DUPLICATE_SUFFIX);
            buf
        } else {
            name
        }
    }

    /// Whether `name` was set as a parsed label on this line, even if since deleted: Loki's
    /// parsers skip such keys.
    pub fn extracted(&self, name: &str) -> bool {
        self.parsed.position(name).is_some()
    }

    /// Whether the stream labels have `name`.
    pub fn base_has(&self, name: &str) -> bool {
        self.base_names.may_contain(name) && self.base.get(name).is_some()
    }

    /// Whether a (live) structured-metadata label is named `name`.
    pub fn has_metadata(&self, name: &str) -> bool {
        self.metadata.has_live(name)
    }

    /// The value of label `name` (not the error labels), as Loki's `Get`: parsed, then
    /// metadata, then the stream's unless deleted.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_with_category(name).map(|(v, _)| v)
    }

    /// [`get`](Self::get) for a name whose stream label the caller looked up once per stream
    /// (`base`): the same answer without searching the stream's labels on every line.
    pub fn get_over_base<'a>(&'a self, name: &str, base: Option<&'a str>) -> Option<&'a str> {
        if let Some(v) = self.metadata.live(name) {
            return Some(v);
        }
        if let Some(v) = self.parsed.live(name) {
            return Some(v);
        }
        if self.deleted.position(name).is_some() {
            return None;
        }
        base
    }

    /// Like [`get`](Self::get), with where the value comes from.
    pub fn get_with_category(&self, name: &str) -> Option<(&str, Category)> {
        if let Some(v) = self.metadata.live(name) {
            return Some((v, Category::StructuredMetadata));
        }
        if let Some(v) = self.parsed.live(name) {
            return Some((v, Category::Parsed));
        }
        if self.deleted.position(name).is_some() || !self.base_names.may_contain(name) {
            return None;
        }
        self.base.get(name).map(|v| (v, Category::Stream))
    }

    /// Deletes label `name` from every category.
    pub fn del(&mut self, name: &str) {
        self.parsed.kill(name);
        self.metadata.kill(name);
        self.deleted.set(name, "");
    }

    pub fn set_err(&mut self, err: &str) {
        self.err.clear();
        self.err.push_str(err);
    }

    pub fn set_err_details(&mut self, details: &str) {
        self.err_details.clear();
        self.err_details.push_str(details);
    }

    /// Sets `__error__` and `__error_details__` together.
    pub fn set_error(&mut self, err: &str, details: &str) {
        self.set_err(err);
        self.set_err_details(details);
    }

    pub fn err(&self) -> &str {
        &self.err
    }

    pub fn err_details(&self) -> &str {
        &self.err_details
    }

    pub fn has_err(&self) -> bool {
        !self.err.is_empty()
    }

    pub fn reset_err(&mut self) {
        self.err.clear();
    }

    pub fn reset_err_details(&mut self) {
        self.err_details.clear();
    }

    /// Whether the line's labels are still exactly the stream's.
    pub fn unchanged(&self) -> bool {
        self.err.is_empty()
            && self.err_details.is_empty()
            && self.deleted.len == 0
            && !self.metadata.any_live()
            && !self.parsed.any_live()
    }

    /// Calls `f` with every label of the line's current set, unsorted, error labels last.
    pub fn for_each(&self, mut f: impl FnMut(&str, &str)) {
        let mut scratch = Vec::new();
        self.collect(&mut scratch);
        for src in scratch {
            let (n, v, _) = self.resolve(src);
            f(n, v);
        }
    }

    /// The line's final labels. Allocation-free when they are the stream's or equal to a
    /// result this builder made before.
    pub fn result(&mut self) -> Arc<LabelsResult> {
        if self.unchanged() {
            return self.base_result.clone();
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        self.collect(&mut scratch);
        scratch.sort_by(|a, b| self.resolve(*a).0.cmp(self.resolve(*b).0));
        let hash = stable_hash_of(scratch.iter().map(|s| {
            let (n, v, _) = self.resolve(*s);
            (n, v)
        }));
        let hit = self.cache.get(&hash).filter(|cached| {
            cached.len() == scratch.len()
                && cached.labels().zip(&scratch).all(|(l, s)| {
                    let (n, v, c) = self.resolve(*s);
                    l.name == n && l.value == v && l.category == c
                })
        });
        let result = match hit {
            Some(cached) => cached.clone(),
            None => {
                let labels = scratch.iter().map(|s| {
                    let (name, value, category) = self.resolve(*s);
                    LabelRef {
                        name,
                        value,
                        category,
                    }
                });
                let result = Arc::new(LabelsResult::build(labels, hash));
                if self.cache.len() >= MAX_CACHED_RESULTS {
                    self.cache.clear();
                }
                self.cache.insert(hash, result.clone());
                result
            }
        };
        self.scratch = scratch;
        result
    }

    /// The current set, as in Loki's `UnsortedLabels`: stream labels not deleted or hidden,
    /// metadata not hidden by parsed labels, parsed labels, then the error labels.
    fn collect(&self, out: &mut Vec<Src>) {
        out.clear();
        for (i, l) in self.base.iter().enumerate() {
            let hidden = self.deleted.position(&l.name).is_some()
                || self.metadata.has_live(&l.name)
                || self.parsed.has_live(&l.name);
            if !hidden {
                out.push(Src::Base(i));
            }
        }
        for (i, s) in self.metadata.used().iter().enumerate() {
            if s.live && !self.parsed.has_live(&s.name) {
                out.push(Src::Meta(i));
            }
        }
        for (i, s) in self.parsed.used().iter().enumerate() {
            if s.live {
                out.push(Src::Parsed(i));
            }
        }
        if !self.err.is_empty() {
            out.push(Src::Err);
        }
        if !self.err_details.is_empty() {
            out.push(Src::ErrDetails);
        }
    }

    fn resolve(&self, src: Src) -> (&str, &str, Category) {
        match src {
            Src::Base(i) => {
                let l = &self.base.as_slice()[i];
                (&l.name, &l.value, Category::Stream)
            }
            Src::Meta(i) => {
                let s = &self.metadata.slots[i];
                (&s.name, &s.value, Category::StructuredMetadata)
            }
            Src::Parsed(i) => {
                let s = &self.parsed.slots[i];
                (&s.name, &s.value, Category::Parsed)
            }
            Src::Err => (ERROR_LABEL, &self.err, Category::Parsed),
            Src::ErrDetails => (ERROR_DETAILS_LABEL, &self.err_details, Category::Parsed),
        }
    }
}

/// `a == b`, but an empty `a` never reaches memcmp: a `String` that never held text has a
/// dangling pointer, and glibc's AVX-512 memcmp then costs some 100 ns even for zero bytes.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(pairs: &[(&str, &str)]) -> LabelsBuilder {
        LabelsBuilder::new(Labels::from_pairs(pairs).unwrap())
    }

    #[test]
    fn base_has_answers_exactly_despite_the_signature() {
        let names = ["job", "host", "filename", "a", "service_name", "pod"];
        let b = builder(&names.map(|n| (n, "v")));
        assert!(names.iter().all(|n| b.base_has(n)));
        for absent in [
            "", "jab", "method", "path", "status", "b", "pods", "hostname",
        ] {
            assert!(!b.base_has(absent), "{absent}");
        }
    }

    /// Not a matter of correctness: the keys parsed from every line of issue #14's queries
    /// should not reach the search of their streams' labels.
    #[test]
    fn signature_tells_common_keys_from_stream_labels() {
        let stream = ["app", "env", "filename", "host", "job", "level"];
        let sig = NameSignature::of(stream.into_iter());
        for key in [
            "path",
            "method",
            "status",
            "duration_ms",
            "msg",
            "ts",
            "trace_id",
        ] {
            assert!(!sig.may_contain(key), "{key}");
        }
        assert!(stream.iter().all(|n| sig.may_contain(n)));
    }

    /// Lines whose metadata repeats, changes, collides with a stream label or sets the
    /// error, some then altered by stages: revived slots must give what filling them afresh
    /// gives.
    #[test]
    fn start_line_revives_as_a_fresh_fill() {
        let pairs = |p: &[(&'static str, &'static str)]| p.to_vec();
        let lines = [
            pairs(&[("detected_level", "info")]),
            pairs(&[("detected_level", "info")]),
            pairs(&[("detected_level", "info"), ("job", "m")]),
            pairs(&[("detected_level", "info"), ("job", "m")]),
            pairs(&[("__error__", "e"), ("pod", "")]),
            pairs(&[("__error__", "e"), ("pod", "")]),
            pairs(&[]),
            pairs(&[("pod", ""), ("pod", "p")]),
            pairs(&[("pod", ""), ("pod", "p")]),
        ];
        type Stage = fn(&mut LabelsBuilder);
        let stages: [Stage; 4] = [
            |_| {},
            |lb| lb.set_parsed("detected_level", "parsed"),
            |lb| lb.del("pod"),
            |lb| {
                lb.set_parsed("job_extracted", "x");
                lb.reset_err();
            },
        ];
        let base = Labels::from_pairs(&[("job", "j")]).unwrap();
        for stage in stages {
            let mut revived = LabelsBuilder::new(base.clone());
            for (k, line) in lines.iter().enumerate() {
                let mut fresh = LabelsBuilder::new(base.clone());
                fresh.reset();
                for (n, v) in line {
                    fresh.add_metadata(n, v);
                }
                revived.start_line(line);
                // Every other line, so that a line after an altered one is left as it came.
                if k % 2 == 0 {
                    stage(&mut fresh);
                    stage(&mut revived);
                }
                assert_eq!(revived.result(), fresh.result(), "line {k}");
                assert_eq!(revived.get("pod"), fresh.get("pod"), "line {k}");
            }
        }
    }

    #[test]
    fn unchanged_line_shares_the_stream_result() {
        let mut b = builder(&[("job", "app")]);
        let r1 = b.result();
        b.reset();
        assert!(Arc::ptr_eq(&r1, &b.result()));
        assert_eq!(r1.to_string(), "{job=\"app\"}");
    }

    #[test]
    fn equal_results_come_from_the_cache() {
        let mut b = builder(&[("job", "app")]);
        b.set_parsed("level", "info");
        let r1 = b.result();
        b.reset();
        b.set_parsed("level", "info");
        let r2 = b.result();
        assert!(Arc::ptr_eq(&r1, &r2));
        b.reset();
        b.set_parsed("level", "warn");
        assert_eq!(b.result().get("level"), Some("warn"));
    }

    #[test]
    fn precedence_parsed_over_metadata_over_stream() {
        let mut b = builder(&[("app", "s"), ("job", "j")]);
        b.add_metadata("app", "m");
        b.add_metadata("pod", "m");
        b.set_parsed("pod", "p");
        b.set_metadata("pod", "ignored");
        let r = b.result();
        assert_eq!(
            r.pairs().collect::<Vec<_>>(),
            vec![
                ("app", "s"),
                ("app_extracted", "m"),
                ("job", "j"),
                ("pod", "p")
            ]
        );
        assert_eq!(r.get("pod"), Some("p"));
    }

    #[test]
    fn deleted_stays_extracted() {
        let mut b = builder(&[("job", "j")]);
        b.set_parsed("a", "1");
        b.del("a");
        b.del("job");
        assert!(b.extracted("a"));
        assert_eq!(b.get("a"), None);
        assert_eq!(b.get("job"), None);
        assert_eq!(b.result().to_string(), "{}");
        b.set_err("JSONParserErr");
        assert_eq!(b.result().to_string(), "{__error__=\"JSONParserErr\"}");
    }

    #[test]
    fn empty_values_are_kept() {
        let mut b = builder(&[]);
        b.set_parsed("a", "");
        assert_eq!(b.result().to_string(), "{a=\"\"}");
        assert_eq!(b.get("a"), Some(""));
    }
}
