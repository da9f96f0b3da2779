//! A line's final label set ([`LabelsResult`]) as the builder hands it out: sorted, hashed,
//! with each label's category, in one buffer.

use std::fmt;

use bongsu_model::Labels;

/// Where a label of a result comes from (Loki's categories, for `categorize_labels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Stream,
    StructuredMetadata,
    /// Added by a parser or a formatter, and the error labels.
    Parsed,
}

/// One label of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelRef<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub category: Category,
}

/// Where a label's name and value are in a result's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
    category: Category,
}

/// A line's final labels: sorted by name, with their hash. The strings live in one buffer,
/// so a new result costs two allocations whatever its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelsResult {
    text: Box<str>,
    spans: Box<[Span]>,
    hash: u64,
}

impl LabelsResult {
    /// Builds a result from labels sorted by name.
    pub(super) fn build<'a>(
        labels: impl Iterator<Item = LabelRef<'a>> + Clone,
        hash: u64,
    ) -> LabelsResult {
        let len = labels.clone().map(|l| l.name.len() + l.value.len()).sum();
        let mut text = String::with_capacity(len);
        let spans = labels
            .map(|l| {
                let mut push = |s: &str| {
                    let start = text.len() as u32;
                    text.push_str(s);
                    (start, text.len() as u32)
                };
                Span {
                    name: push(l.name),
                    value: push(l.value),
                    category: l.category,
                }
            })
            .collect();
        LabelsResult {
            text: text.into_boxed_str(),
            spans,
            hash,
        }
    }

    fn label(&self, s: &Span) -> LabelRef<'_> {
        let at = |(a, b): (u32, u32)| &self.text[a as usize..b as usize];
        LabelRef {
            name: at(s.name),
            value: at(s.value),
            category: s.category,
        }
    }

    /// The labels, sorted by name.
    pub fn labels(&self) -> impl Iterator<Item = LabelRef<'_>> + '_ {
        self.spans.iter().map(|s| self.label(s))
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// [`bongsu_model::Labels::stable_hash`] of the same pairs (empty values included).
    pub fn hash(&self) -> u64 {
        self.hash
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.spans
            .binary_search_by(|s| self.label(s).name.cmp(name))
            .ok()
            .map(|i| self.label(&self.spans[i]).value)
    }

    /// The labels of one category, in name order.
    pub fn of(&self, category: Category) -> impl Iterator<Item = LabelRef<'_>> + '_ {
        self.labels().filter(move |l| l.category == category)
    }

    /// Name/value pairs, in name order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.labels().map(|l| (l.name, l.value))
    }

    pub(super) fn from_base(base: &Labels) -> LabelsResult {
        LabelsResult::build(
            base.iter().map(|l| LabelRef {
                name: &l.name,
                value: &l.value,
                category: Category::Stream,
            }),
            base.stable_hash(),
        )
    }
}

/// Prometheus' notation, as Loki prints a stream: `{a="b", c="d"}`.
impl fmt::Display for LabelsResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", l.name, bongsu_gotmpl::fmt::quote(l.value))?;
        }
        f.write_str("}")
    }
}
