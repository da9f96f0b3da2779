//! Turning label matchers into the set of series that satisfy them, over any index.
//!
//! The head and each block expose their inverted index through [`PostingsSource`]; the one
//! function [`postings_for_matchers`] applies Prometheus' matcher semantics to either, so both
//! select exactly the same series for the same matchers.
//!
//! Public (with [`MemPostings`], the head's in-memory index) because the log store indexes its
//! streams the same way: one matcher semantics for series and streams.

use std::sync::Arc;

use roaring::RoaringBitmap;

use bongsu_model::{MatchOp, Matcher};

pub use crate::head::postings::MemPostings;

/// An inverted index: label pair → series ids (u32, local to the index).
pub trait PostingsSource {
    type Error;
    /// Every series id.
    fn all_postings(&self) -> Result<RoaringBitmap, Self::Error>;
    /// Series having label `name` with exactly `value` (empty if none).
    fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap, Self::Error>;
    /// The distinct values of label `name`, sorted.
    fn label_values(&self, name: &str) -> Result<Vec<Arc<str>>, Self::Error>;
}

/// Union of the postings of every value of `m.name` that `m` accepts (`matching`) or rejects.
fn union_of<S: PostingsSource>(
    src: &S,
    m: &Matcher,
    matching: bool,
) -> Result<RoaringBitmap, S::Error> {
    let mut out = RoaringBitmap::new();
    if matching {
        if m.op == MatchOp::Equal {
            return src.postings(&m.name, &m.value);
        }
        if let Some(values) = m.set_matches() {
            for v in &values {
                out |= src.postings(&m.name, v)?;
            }
            return Ok(out);
        }
    }
    for v in src.label_values(&m.name)? {
        if m.matches(&v) == matching {
            out |= src.postings(&m.name, &v)?;
        }
    }
    Ok(out)
}

/// The ids of the series that satisfy every matcher, with Prometheus' semantics: a missing label
/// is the empty string, so a matcher that accepts `""` also selects series without the label.
pub fn postings_for_matchers<S: PostingsSource>(
    src: &S,
    matchers: &[Matcher],
) -> Result<RoaringBitmap, S::Error> {
    // Matchers that cannot match "" restrict the result directly; evaluate them first (the
    // cheapest, equality, first) so the running intersection shrinks early.
    let mut order: Vec<&Matcher> = matchers.iter().collect();
    order.sort_by_key(|m| (m.matches_empty(), m.op != MatchOp::Equal));

    let mut result: Option<RoaringBitmap> = None;
    for m in order {
        if result.as_ref().is_some_and(RoaringBitmap::is_empty) {
            break;
        }
        if !m.matches_empty() {
            let selected = union_of(src, m, true)?;
            result = Some(match result {
                Some(r) => r & selected,
                None => selected,
            });
        } else {
            // Accepting "" means: keep every series except those whose value of the label is
            // present and rejected.
            let rejected = union_of(src, m, false)?;
            let base = match result {
                Some(r) => r,
                None => src.all_postings()?,
            };
            result = Some(base - rejected);
        }
    }
    match result {
        Some(r) => Ok(r),
        None => src.all_postings(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A tiny in-memory index: series id → labels.
    struct Fake(Vec<Vec<(&'static str, &'static str)>>);

    impl PostingsSource for Fake {
        type Error = ();
        fn all_postings(&self) -> Result<RoaringBitmap, ()> {
            Ok((0..self.0.len() as u32).collect())
        }
        fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap, ()> {
            Ok(self
                .0
                .iter()
                .enumerate()
                .filter(|(_, ls)| ls.contains(&(name, value)))
                .map(|(i, _)| i as u32)
                .collect())
        }
        fn label_values(&self, name: &str) -> Result<Vec<Arc<str>>, ()> {
            let mut vals = BTreeMap::new();
            for ls in &self.0 {
                for (n, v) in ls {
                    if *n == name {
                        vals.insert(*v, ());
                    }
                }
            }
            Ok(vals.keys().map(|v| Arc::from(*v)).collect())
        }
    }

    fn select(f: &Fake, ms: &[Matcher]) -> Vec<u32> {
        postings_for_matchers(f, ms).unwrap().iter().collect()
    }

    #[test]
    fn prometheus_matcher_semantics() {
        let f = Fake(vec![
            vec![("__name__", "up"), ("job", "a")],
            vec![("__name__", "up"), ("job", "b"), ("env", "prod")],
            vec![("__name__", "down"), ("job", "a")],
        ]);
        let re = |op, n, v| Matcher::new(op, n, v).unwrap();
        assert_eq!(select(&f, &[Matcher::equal("__name__", "up")]), vec![0, 1]);
        assert_eq!(select(&f, &[re(MatchOp::NotEqual, "job", "a")]), vec![1]);
        assert_eq!(select(&f, &[Matcher::equal("env", "")]), vec![0, 2]);
        assert_eq!(
            select(&f, &[re(MatchOp::Regex, "env", ".*")]),
            vec![0, 1, 2]
        );
        assert_eq!(select(&f, &[re(MatchOp::Regex, "env", ".+")]), vec![1]);
        assert_eq!(select(&f, &[re(MatchOp::NotRegex, "job", "a|c")]), vec![1]);
        assert_eq!(
            select(&f, &[re(MatchOp::Regex, "job", "a|b")]),
            vec![0, 1, 2]
        );
        assert_eq!(
            select(
                &f,
                &[
                    Matcher::equal("__name__", "up"),
                    re(MatchOp::NotEqual, "env", "prod")
                ]
            ),
            vec![0]
        );
        assert_eq!(select(&f, &[re(MatchOp::NotRegex, "env", "")]), vec![1]);
        assert!(select(&f, &[Matcher::equal("job", "zzz")]).is_empty());
        assert_eq!(
            select(&f, &[re(MatchOp::Regex, "env", "prod|")]),
            vec![0, 1, 2]
        );
        assert_eq!(select(&f, &[re(MatchOp::Regex, "env", "dev|")]), vec![0, 2]);
    }
}
