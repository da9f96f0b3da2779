//! Timestamps a line repeats: most log lines print their own time (`2023-11-14T22:13:20.022853Z`
//! in JSON and RFC 5424, `14/Nov/2023:22:13:20` in nginx, `Nov 14 22:13:20` in RFC 3164), which
//! the timestamp column already holds. zstd cannot predict those digits (a tenth of a line's
//! compressed size on `gen_logs.py`'s data), so a chunk's encoder replaces each occurrence of
//! the entry's own time in these formats by a two-byte marker and the decoder prints it back.
//!
//! A marker is `0x01` followed by a kind byte (1..=5, also a control character, so a needle
//! found in marked text never includes part of a marker). A chunk is marked only if none of its
//! lines contains `0x01`, so no escaping is needed. Bytes in `docs/format/logs-block.md`.
//!
//! Not here: where the flag lives (the lines column's trailer, `block::chunk`).

/// First byte of every marker.
pub const MARK: u8 = 0x01;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The time formats, in the order they are replaced (longer, more specific ones first, so a
/// fraction is only replaced after its date-time).
#[derive(Clone, Copy)]
enum Kind {
    /// `2023-11-14T22:13:20` (RFC 3339, ISO 8601).
    Iso = 1,
    /// `.022853`: microseconds.
    Micros = 2,
    /// `.022`: milliseconds (only where no microseconds matched).
    Millis = 3,
    /// `14/Nov/2023:22:13:20` (nginx, Apache).
    Clf = 4,
    /// `Nov 14 22:13:20` (RFC 3164 syslog; day padded with a space).
    Bsd = 5,
}

const KINDS: [Kind; 5] = [Kind::Iso, Kind::Clf, Kind::Bsd, Kind::Micros, Kind::Millis];

/// An entry's time in the formats, each printed when first asked for in a second.
#[derive(Default)]
pub struct Clock {
    sec: Option<i64>,
    /// Kinds printed for `sec` (bit = kind).
    ready: u8,
    /// The last day printed, kept across seconds.
    day: Option<Day>,
    iso: [u8; 19],
    clf: [u8; 20],
    bsd: [u8; 15],
    fraction: [u8; 7],
}

/// A day (since 1970-01-01) and its printed year, month, day of month and month name.
type Day = (i64, [u8; 4], [u8; 2], [u8; 2], &'static [u8]);

fn two(v: i64) -> [u8; 2] {
    [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
}

impl Clock {
    /// The text of `kind` for `ts`.
    fn text(&mut self, kind: Kind, ts: i64) -> &[u8] {
        let sec = ts.div_euclid(1_000_000_000);
        let frac = ts.rem_euclid(1_000_000_000);
        let (digits, mut v) = match kind {
            Kind::Micros => (6, frac / 1000),
            Kind::Millis => (3, frac / 1_000_000),
            _ => (0, 0),
        };
        if digits > 0 {
            self.fraction[0] = b'.';
            for i in (1..=digits).rev() {
                self.fraction[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            return &self.fraction[..=digits];
        }
        if self.sec != Some(sec) {
            self.sec = Some(sec);
            self.ready = 0;
        }
        if self.ready & (1 << kind as u8) == 0 {
            self.ready |= 1 << kind as u8;
            self.print(kind, sec);
        }
        match kind {
            Kind::Iso => &self.iso,
            Kind::Clf => &self.clf,
            _ => &self.bsd,
        }
    }

    fn print(&mut self, kind: Kind, sec: i64) {
        let days = sec.div_euclid(86_400);
        let sod = sec.rem_euclid(86_400);
        let (_, year, mo, d, mon) = match self.day {
            Some(day) if day.0 == days => day,
            _ => {
                let (y, m, d) = civil(days);
                let year = [
                    b'0' + (y / 1000 % 10) as u8,
                    b'0' + (y / 100 % 10) as u8,
                    b'0' + (y / 10 % 10) as u8,
                    b'0' + (y % 10) as u8,
                ];
                let day = (
                    days,
                    year,
                    two(m),
                    two(d),
                    MONTHS[(m - 1) as usize].as_bytes(),
                );
                self.day = Some(day);
                day
            }
        };
        let (h, mi, s) = (two(sod / 3600), two(sod / 60 % 60), two(sod % 60));
        let hms = [h[0], h[1], b':', mi[0], mi[1], b':', s[0], s[1]];
        let put = |out: &mut [u8], parts: &[&[u8]]| {
            let mut i = 0;
            for p in parts {
                out[i..i + p.len()].copy_from_slice(p);
                i += p.len();
            }
        };
        match kind {
            Kind::Iso => put(&mut self.iso, &[&year, b"-", &mo, b"-", &d, b"T", &hms]),
            Kind::Clf => put(&mut self.clf, &[&d, b"/", mon, b"/", &year, b":", &hms]),
            _ => {
                let dpad = if d[0] == b'0' { [b' ', d[1]] } else { d };
                put(&mut self.bsd, &[mon, b" ", &dpad, b" ", &hms]);
            }
        }
    }
}

/// Civil date (UTC) of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Where `pat` (non-empty, at most 20 bytes) occurs in `hay`, without overlaps. The patterns are
/// too short and too many (they change with every second) to be worth a `memmem` searcher.
fn find<'a>(hay: &'a [u8], pat: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut next = 0;
    memchr::memchr_iter(pat[0], hay).filter(move |&i| {
        let hit = i >= next && hay[i..].starts_with(pat);
        if hit {
            next = i + pat.len();
        }
        hit
    })
}

/// Appends `line` to `out` with each occurrence of its own time (`ts`) replaced by a marker.
/// The caller guarantees `line` has no [`MARK`] byte.
pub fn mark(ts: i64, line: &[u8], clock: &mut Clock, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
    // Cheap tests first, so that lines without their time cost two searches: every date-time
    // format ends in ":SS", every fraction starts with the milliseconds.
    let has_time = find(line, &clock.text(Kind::Iso, ts)[16..])
        .next()
        .is_some();
    let has_fraction = find(line, clock.text(Kind::Millis, ts)).next().is_some();
    if !has_time && !has_fraction {
        out.extend_from_slice(line);
        return;
    }
    scratch.clear();
    scratch.extend_from_slice(line);
    let mut next = Vec::with_capacity(line.len());
    let mut micros_found = false;
    for kind in KINDS {
        let fraction = matches!(kind, Kind::Micros | Kind::Millis);
        if (fraction && !has_fraction)
            || (!fraction && !has_time)
            || (matches!(kind, Kind::Millis) && micros_found)
        {
            continue;
        }
        let pat = clock.text(kind, ts);
        next.clear();
        let mut last = 0;
        for i in find(scratch, pat) {
            next.extend_from_slice(&scratch[last..i]);
            next.extend_from_slice(&[MARK, kind as u8]);
            last = i + pat.len();
        }
        if last == 0 {
            continue;
        }
        micros_found |= matches!(kind, Kind::Micros);
        next.extend_from_slice(&scratch[last..]);
        std::mem::swap(scratch, &mut next);
    }
    out.extend_from_slice(scratch);
}

/// Prints the markers of a marked text back: `text` holds lines ending at `ends` (each
/// followed by a separator of `sep` bytes, but the last), line `i` at time `ts[i]`. Appends the
/// result to `out` and moves `ends` to the new positions. `None` if a marker is malformed or
/// not inside a line (damage).
pub fn unmark(
    text: &str,
    ends: &mut [u32],
    sep: usize,
    ts: &[i64],
    clock: &mut Clock,
    out: &mut String,
) -> Option<()> {
    let bytes = text.as_bytes();
    // `start` is where the current line starts in `text`.
    let (mut line, mut start, mut last, mut grown) = (0, 0, 0, 0usize);
    for pos in memchr::memchr_iter(MARK, bytes) {
        if pos < last {
            continue; // the kind byte of the previous marker (kind 1 is the MARK byte)
        }
        while line < ends.len() && ends[line] as usize <= pos {
            start = ends[line] as usize + sep;
            ends[line] += grown as u32;
            line += 1;
        }
        if line >= ends.len() || pos < start || pos + 2 > ends[line] as usize {
            return None;
        }
        let kind = match bytes[pos + 1] {
            1 => Kind::Iso,
            2 => Kind::Micros,
            3 => Kind::Millis,
            4 => Kind::Clf,
            5 => Kind::Bsd,
            _ => return None,
        };
        out.push_str(text.get(last..pos)?);
        // The formats are ASCII.
        let t = std::str::from_utf8(clock.text(kind, *ts.get(line)?)).ok()?;
        out.push_str(t);
        grown += t.len() - 2;
        last = pos + 2;
    }
    out.push_str(text.get(last..)?);
    for e in &mut ends[line..] {
        *e += grown as u32;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Lines made of pieces of their own time in every format, other times and noise
        /// come back byte for byte.
        #[test]
        fn any_line_round_trips(ts in -4_000_000_000_000_000_000i64..4_000_000_000_000_000_000, other in any::<i64>(), pieces in proptest::collection::vec((0u8..8, "[ -~µ]{0,6}"), 0..8)) {
            let (mut c, mut o) = (Clock::default(), Clock::default());
            let mut line = String::new();
            for (k, noise) in &pieces {
                let kinds = [Kind::Iso, Kind::Micros, Kind::Millis, Kind::Clf, Kind::Bsd];
                match k {
                    0..=4 => line.push_str(std::str::from_utf8(c.text(kinds[*k as usize], ts)).unwrap()),
                    5 => line.push_str(std::str::from_utf8(o.text(Kind::Iso, other)).unwrap()),
                    _ => {}
                }
                line.push_str(noise);
            }
            round_trip(ts, &line);
        }
    }

    fn round_trip(ts: i64, line: &str) -> (Vec<u8>, String) {
        let (mut c, mut s, mut marked) = (Clock::default(), Vec::new(), Vec::new());
        mark(ts, line.as_bytes(), &mut c, &mut s, &mut marked);
        let mut back = String::new();
        let text = std::str::from_utf8(&marked).unwrap();
        let mut ends = [text.len() as u32];
        unmark(text, &mut ends, 0, &[ts], &mut Clock::default(), &mut back).unwrap();
        assert_eq!(ends[0] as usize, back.len());
        assert_eq!(back, line);
        (marked, back)
    }

    #[test]
    fn formats_are_marked_and_printed_back() {
        let ts = 1_700_000_000_022_853_351;
        let cases = [
            (r#"{"ts":"2023-11-14T22:13:20.022853Z","level":"info"}"#, 7),
            (
                "<4>1 2023-11-14T22:13:20.022853+00:00 web-01 kernel - - - [2816464.022853] x",
                7,
            ),
            (
                "1.2.3.4 - - [14/Nov/2023:22:13:20 +0000] \"GET / HTTP/1.1\" 200",
                7,
            ),
            ("<38>Nov 14 22:13:20 bastion-01 sshd[4242]: Accepted", 7),
            ("time=2023-11-14T22:13:20.022Z level=INFO", 7),
            ("no time here 22:13:21", 0),
        ];
        for (line, min_saved) in cases {
            let (marked, _) = round_trip(ts, line);
            assert!(line.len() - marked.len() >= min_saved, "{line}: {marked:?}");
        }
        let early = 1_700_000_000 - 13 * 86_400;
        round_trip(early * 1_000_000_000, "<38>Nov  1 22:13:20 h x");
        round_trip(-1, "1969-12-31T23:59:59.999999 before the epoch");
        let bad = |t: &str, ends: &mut [u32]| {
            unmark(
                t,
                ends,
                1,
                &[0, 0],
                &mut Clock::default(),
                &mut String::new(),
            )
        };
        assert!(bad("\u{1}\u{9}", &mut [2]).is_none());
        assert!(bad("\u{1}", &mut [1]).is_none());
        assert!(
            bad("a\u{1}\n\u{1}\u{1}", &mut [2, 5]).is_none(),
            "a marker across lines"
        );
        assert!(bad("ab\n\u{1}\u{1}", &mut [2, 5]).is_some());
    }
}
