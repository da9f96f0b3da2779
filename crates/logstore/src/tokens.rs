//! What the per-chunk filters index, and what a searched substring may ask of them.
//!
//! A *token* is a maximal run of ASCII alphanumerics (as VictoriaLogs splits words; bytes ≥ 0x80
//! end a token too, so UTF-8 never splits inside a token differently on read and write). Tokens
//! are lowercased before hashing, so one filter serves case-sensitive and case-insensitive
//! searches. A chunk's filter holds three kinds of key, each sound for substring search
//! (a line containing the needle always passes):
//!
//! - **whole tokens** shorter than [`INFIX_MIN`], except numbers of fewer than
//!   [`MIN_NUMBER_KEY`] digits (latencies, sizes, ports: many distinct values, rarely searched
//!   alone; they cost a third of the filter and are still served by trigrams): a run inside
//!   the needle with a separator on both sides is a whole token of every line that contains
//!   the needle;
//! - **infix keys** of tokens of at least [`INFIX_MIN`] bytes: minimizers (the smallest hash of
//!   each window of [`WINDOW`] consecutive [`GRAM`]-byte grams). A run of the needle that is
//!   at least `INFIX_MIN` long lies inside some token of the line, its windows are that token's
//!   windows, so its minimizers are among the token's keys — whatever surrounds the run. This
//!   is what lets `|= "4bf92f3577b34da6a3ce929d0e0e4736"` skip chunks although the needle may sit
//!   inside a longer token;
//! - **trigrams** with a letter of every token (in a small bitmap, see `filter`): any run of at
//!   least 3 bytes, wherever it sits, has its trigrams in the line. This serves short needles
//!   (`error`).
//!
//! Not here: the filters themselves (`filter`), and deciding whether a line contains a needle
//! (`needle`).

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Gram length of the infix keys.
pub const GRAM: usize = 8;
/// Grams per minimizer window: a 32-digit trace id (the longest common token) is one window,
/// so it costs one key, like a whole token, and can still be found inside a longer token.
pub const WINDOW: usize = 25;
/// Shortest all-digit token with a whole-token key (ids, not measurements).
pub const MIN_NUMBER_KEY: usize = 6;
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

/// Whether a lowercased token shorter than [`INFIX_MIN`] gets a whole-token key.
fn keyed(lower: &[u8]) -> bool {
    lower.len() >= MIN_NUMBER_KEY || !lower.iter().all(u8::is_ascii_digit)
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

/// Number of distinct trigrams of lowercased alphanumerics (36 symbols).
pub const TRIGRAMS: usize = 36 * 36 * 36;

/// A trigram of lowercased alphanumerics as a number below [`TRIGRAMS`].
fn trigram_code(g: &[u8]) -> u32 {
    let v = |b: u8| -> u32 {
        match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            _ => u32::from(b.wrapping_sub(b'a')) % 26 + 10,
        }
    };
    (v(g[0]) * 36 + v(g[1])) * 36 + v(g[2])
}

/// Only trigrams with a letter are kept: the thousand all-digit ones (addresses, sizes,
/// latencies) fill any chunk's bitmap and would leave no room to tell words apart.
fn has_letter(g: &[u8]) -> bool {
    g.iter().any(u8::is_ascii_alphabetic)
}

/// Where a trigram lands in a bitmap of `2^(32 - shift)` bits: its code spread by a multiply.
pub fn trigram_bit(code: u32, shift: u32) -> usize {
    (code.wrapping_mul(0x9E37_79B1) >> shift) as usize
}

/// The set of trigrams of a chunk, one bit per possible trigram: no hashing, sorting or
/// allocation per line.
pub struct GramSet {
    words: Vec<u64>,
}

impl Default for GramSet {
    fn default() -> GramSet {
        GramSet {
            words: vec![0; TRIGRAMS.div_ceil(64)],
        }
    }
}

impl GramSet {
    pub fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    fn insert(&mut self, code: u32) {
        self.words[code as usize / 64] |= 1 << (code % 64);
    }

    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn codes(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            (0..64u32)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i as u32 * 64 + b)
        })
    }

    #[cfg(test)]
    pub fn contains(&self, code: u32) -> bool {
        self.words[code as usize / 64] & (1 << (code % 64)) != 0
    }
}

/// Lowercases `run` into `buf` (cleared first).
pub fn lower_into(run: &[u8], buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend(run.iter().map(u8::to_ascii_lowercase));
}

/// Everything a chunk's filter must hold for one line: whole-token keys and infix keys go to
/// `keys` (they may repeat; the filter builder deduplicates), trigrams to `grams`.
pub fn line_keys(line: &[u8], keys: &mut Vec<u64>, grams: &mut GramSet, buf: &mut Vec<u8>) {
    // One pass over the bytes (this runs on every line a block takes): the same tokens,
    // lowercasing and trigram codes as `runs`, `lower_into` and `trigram_code`, which the
    // tests compare it with.
    let mut i = 0;
    while i < line.len() {
        if SYMBOL[line[i] as usize] == NOT_ALNUM {
            i += 1;
            continue;
        }
        buf.clear();
        let (mut code, mut letters, mut digits_only) = (0u32, 0u32, true);
        while i < line.len() {
            let c = SYMBOL[line[i] as usize];
            if c == NOT_ALNUM {
                break;
            }
            let letter = c >= 10;
            buf.push(if letter { line[i] | 0x20 } else { line[i] });
            digits_only &= !letter;
            code = (code % (36 * 36)) * 36 + u32::from(c);
            letters = ((letters << 1) | u32::from(letter)) & 0b111;
            if buf.len() >= 3 && letters != 0 {
                grams.insert(code);
            }
            i += 1;
        }
        if buf.len() >= INFIX_MIN {
            infix_keys(buf, |k| keys.push(k));
        } else if !digits_only || buf.len() >= MIN_NUMBER_KEY {
            keys.push(token_key(buf));
        }
    }
}

/// Not an ASCII letter or digit, in [`SYMBOL`].
const NOT_ALNUM: u8 = 0xff;

/// Each byte's trigram symbol: digits 0–9, letters (either case) 10–35, others [`NOT_ALNUM`].
static SYMBOL: [u8; 256] = {
    let mut t = [NOT_ALNUM; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_digit() {
            t[b] = c - b'0';
        } else if c.is_ascii_alphabetic() {
            t[b] = (c | 0x20) - b'a' + 10;
        }
        b += 1;
    }
    t
};

/// What a chunk must contain (per its filter) for a line of it to contain a needle. Empty when
/// the needle allows no conclusion (e.g. it has no alphanumerics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub keys: Vec<u64>,
    /// Trigram codes.
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
            } else if !at_start && !at_end && keyed(&buf) {
                p.keys.push(token_key(&buf));
            }
            for g in buf.windows(3).filter(|g| has_letter(g)) {
                p.grams.push(trigram_code(g));
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

    fn collect(line: &str) -> (Vec<u64>, GramSet) {
        let (mut k, mut g, mut b) = (Vec::new(), GramSet::default(), Vec::new());
        line_keys(line.as_bytes(), &mut k, &mut g, &mut b);
        (k, g)
    }

    /// `line_keys` as the plain composition of `runs`, `lower_into` and `trigram_code`.
    fn slow_line_keys(line: &[u8], keys: &mut Vec<u64>, grams: &mut GramSet) {
        let mut buf = Vec::new();
        for (run, _, _) in runs(line) {
            lower_into(run, &mut buf);
            if buf.len() >= INFIX_MIN {
                infix_keys(&buf, |k| keys.push(k));
            } else if keyed(&buf) {
                keys.push(token_key(&buf));
            }
            for g in buf.windows(3).filter(|g| has_letter(g)) {
                grams.insert(trigram_code(g));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn one_pass_tokenizer_agrees(line in "[a-zA-Z0-9 ._:/µ-]{0,80}") {
            let (mut k1, mut g1, mut buf) = (Vec::new(), GramSet::default(), Vec::new());
            line_keys(line.as_bytes(), &mut k1, &mut g1, &mut buf);
            let (mut k2, mut g2) = (Vec::new(), GramSet::default());
            slow_line_keys(line.as_bytes(), &mut k2, &mut g2);
            proptest::prop_assert_eq!(k1, k2);
            proptest::prop_assert_eq!(g1.codes().collect::<Vec<_>>(), g2.codes().collect::<Vec<_>>());
        }
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
            "GET /api/v1/users/16898 trace_id=x4bf92f3577b34da6a3ce929d0e0e4736Z ERROR:Timeout id=1234567 ms=25";
        let (keys, grams) = collect(line);
        for needle in [
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "bf92f3577b34da6a3ce929d0e0e47",
            "users/16898 trace",
            "error",
            "Error:time",
            "/api/",
            "i/v1/u",
            " id=1234567 ",
            " ms=25",
            "=25",
        ] {
            assert!(line
                .to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase()));
            let p = Probe::for_needle(needle.as_bytes());
            for k in &p.keys {
                assert!(keys.contains(k), "{needle}: key missing");
            }
            for g in &p.grams {
                assert!(grams.contains(*g), "{needle}: gram missing");
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
