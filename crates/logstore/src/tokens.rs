//! What the per-chunk filters index, and what a searched substring may ask of them.
//!
//! A *token* is a maximal run of ASCII alphanumerics (as VictoriaLogs splits words; bytes ≥ 0x80
//! end a token too, so UTF-8 never splits inside a token differently on read and write). Tokens
//! are lowercased before hashing, so one filter serves case-sensitive and case-insensitive
//! searches. A chunk's filter holds three kinds of key, each sound for substring search
//! (a line containing the needle always passes):
//!
//! - **whole tokens** shorter than [`INFIX_MIN`]: a run inside the needle with a separator on
//!   both sides is a whole token of every line that contains the needle;
//! - **infix keys** of tokens of at least [`INFIX_MIN`] bytes: minimizers (the smallest hash of
//!   each window of [`WINDOW`] consecutive [`GRAM`]-byte grams). A run of the needle that is
//!   at least `INFIX_MIN` long lies inside some token of the line, its windows are that token's
//!   windows, so its minimizers are among the token's keys — whatever surrounds the run. This
//!   is what lets `|= "4bf92f3577b34da6a3ce929d0e0e4736"` skip chunks although the needle may sit
//!   inside a longer token;
//! - **trigrams** of every token (in a small bitmap, see `filter`): any run of at least 3 bytes,
//!   wherever it sits, has its trigrams in the line. This serves short needles (`error`).
//!
//! Not here: the filters themselves (`filter`), and deciding whether a line contains a needle
//! (`needle`).

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Gram length of the infix keys.
pub const GRAM: usize = 8;
/// Grams per minimizer window.
pub const WINDOW: usize = 9;
/// Tokens (and needle runs) of at least this many bytes get infix keys instead of a whole-token
/// key: the shortest string that holds one full window.
pub const INFIX_MIN: usize = GRAM + WINDOW - 1;
// Seeds keep the key kinds apart: a token never collides with a gram by construction.
const SEED_TOKEN: u64 = 0x746f_6b65_6e00_0001;
const SEED_GRAM: u64 = 0x6772_616d_0000_0002;

/// The maximal alphanumeric runs of `s`, each with whether it touches the start and the end of
/// `s` (a run touching an edge may continue outside a needle).
pub fn runs(s: &[u8]) -> impl Iterator<Item = (&[u8], bool, bool)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < s.len() && !s[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i >= s.len() {
            return None;
        }
        let start = i;
        while i < s.len() && s[i].is_ascii_alphanumeric() {
            i += 1;
        }
        Some((&s[start..i], start == 0, i == s.len()))
    })
}

/// Key of a whole (lowercased) token.
pub fn token_key(lower: &[u8]) -> u64 {
    xxh3_64_with_seed(lower, SEED_TOKEN)
}

/// Calls `f` with the infix keys of a lowercased run of at least [`INFIX_MIN`] bytes (the same
/// key may come more than once).
pub fn infix_keys(lower: &[u8], mut f: impl FnMut(u64)) {
    if lower.len() < INFIX_MIN {
        return;
    }
    let grams: Vec<u64> = lower
        .windows(GRAM)
        .map(|g| xxh3_64_with_seed(g, SEED_GRAM))
        .collect();
    let mut last = None;
    for w in grams.windows(WINDOW) {
        // `grams.windows(WINDOW)` is never empty here, so `min` exists.
        if let Some(&m) = w.iter().min() {
            if last != Some(m) {
                f(m);
                last = Some(m);
            }
        }
    }
}

/// Index of a trigram (lowercased alphanumerics) for the trigram bitmap.
pub fn trigram_hash(g: &[u8]) -> u32 {
    // Alphanumerics map to 36 values; the product is below 36^3 = 46656, spread by a multiply.
    let v = |b: u8| -> u32 {
        match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            _ => u32::from(b.wrapping_sub(b'a')) + 10,
        }
    };
    let x = (v(g[0]) * 36 + v(g[1])) * 36 + v(g[2]);
    x.wrapping_mul(0x9E37_79B1)
}

/// Lowercases `run` into `buf` (cleared first).
pub fn lower_into(run: &[u8], buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend(run.iter().map(u8::to_ascii_lowercase));
}

/// Everything a chunk's filter must hold for one line: whole-token keys and infix keys go to
/// `keys`, trigram hashes to `grams` (both may repeat; the filter builder deduplicates).
pub fn line_keys(line: &[u8], keys: &mut Vec<u64>, grams: &mut Vec<u32>, buf: &mut Vec<u8>) {
    for (run, _, _) in runs(line) {
        lower_into(run, buf);
        if buf.len() >= INFIX_MIN {
            infix_keys(buf, |k| keys.push(k));
        } else {
            keys.push(token_key(buf));
        }
        for g in buf.windows(3) {
            grams.push(trigram_hash(g));
        }
    }
}

/// What a chunk must contain (per its filter) for a line of it to contain a needle. Empty when
/// the needle allows no conclusion (e.g. it has no alphanumerics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub keys: Vec<u64>,
    pub grams: Vec<u32>,
}

impl Probe {
    /// The probe for a needle; `needle` may be in any case (keys are lowercase).
    pub fn for_needle(needle: &[u8]) -> Probe {
        let mut p = Probe::default();
        let mut buf = Vec::new();
        for (run, at_start, at_end) in runs(needle) {
            lower_into(run, &mut buf);
            if buf.len() >= INFIX_MIN {
                infix_keys(&buf, |k| p.keys.push(k));
            } else if !at_start && !at_end {
                p.keys.push(token_key(&buf));
            }
            for g in buf.windows(3) {
                p.grams.push(trigram_hash(g));
            }
        }
        p.keys.sort_unstable();
        p.keys.dedup();
        p.grams.sort_unstable();
        p.grams.dedup();
        p
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.grams.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(line: &str) -> (Vec<u64>, Vec<u32>) {
        let (mut k, mut g, mut b) = (Vec::new(), Vec::new(), Vec::new());
        line_keys(line.as_bytes(), &mut k, &mut g, &mut b);
        (k, g)
    }

    #[test]
    fn runs_mark_edges() {
        let r: Vec<_> = runs(b"ab, c-d9 ").collect();
        assert_eq!(
            r,
            vec![
                (&b"ab"[..], true, false),
                (&b"c"[..], false, false),
                (&b"d9"[..], false, false)
            ]
        );
        assert_eq!(runs(b"x\xc2\xb5y").count(), 2);
    }

    /// Every needle found in a line has its probe inside the line's keys: the soundness the
    /// store relies on to skip chunks.
    #[test]
    fn probes_of_contained_needles_are_in_the_line() {
        let line =
            "GET /api/v1/users/16898 trace_id=x4bf92f3577b34da6a3ce929d0e0e4736Z ERROR:Timeout";
        let (keys, grams) = collect(line);
        for needle in [
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "bf92f3577b34da6a3ce929d0e0e47",
            "users/16898 trace",
            "error",
            "Error:time",
            "/api/",
            "i/v1/u",
        ] {
            assert!(line
                .to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase()));
            let p = Probe::for_needle(needle.as_bytes());
            for k in &p.keys {
                assert!(keys.contains(k), "{needle}: key missing");
            }
            for g in &p.grams {
                assert!(grams.contains(g), "{needle}: gram missing");
            }
        }
    }

    #[test]
    fn edge_runs_give_no_whole_token_key() {
        // "abc" may end a longer token of the line, "def" start one.
        let p = Probe::for_needle(b"abc def");
        assert_eq!(p.keys, Vec::<u64>::new());
        let p = Probe::for_needle(b"abc def-");
        assert_eq!(p.keys, vec![token_key(b"def")]);
        let p = Probe::for_needle(b"-abc-");
        assert_eq!(p.keys, vec![token_key(b"abc")]);
        assert!(Probe::for_needle(b"--").is_empty());
    }
}
