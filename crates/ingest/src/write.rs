//! From a decoded request to appended samples: label validation, the 2.0 symbol table, and
//! the append/commit through one `Appender` per request. No HTTP types: `handler` maps the
//! [`Report`] to a response.
//!
//! What happens to a request, as in Prometheus' `storage/remote/write_handler.go`:
//!
//! - 1.0: the first out-of-order, duplicate or out-of-bounds sample rejects the whole request
//!   (nothing is committed) with 400 and that error (`writeHandler.write` returns the append
//!   error and its deferred `Rollback` runs). Series with invalid labels are skipped and the
//!   rest is written; unlike Prometheus (which answers 204 there, with a TODO saying it should
//!   be 400) bongsu answers 400, as the 1.0 spec requires for any invalid sample.
//! - 2.0: a partial write (`writeHandler.appendV2`): every rejected sample or series is
//!   skipped, the rest is committed, and the answer is 400 listing the errors; the `Written`
//!   counts say what was kept.
//! - Samples more than [`MAX_AHEAD_MS`] ahead of the receiver's clock are out of bounds
//!   (`timeLimitAppender`, `maxAheadTime`).
//! - A storage failure (WAL write) rolls everything back: 500, which senders retry.
//! - Native histograms (integer or float, exponential or custom buckets) are appended as
//!   sent, after the float samples of their series, under the same rules; one the storage
//!   finds invalid (Prometheus' `histogram.Error`) is a bad request like an out-of-order
//!   sample: 1.0 rolls the request back, 2.0 skips it. Schemas 9 to 52 are first reduced to
//!   8 (`remoteWriteAppender.AppendHistogram`). They are counted in the `Histograms-Written`
//!   header, not in `Samples-Written`.
//! - Exemplars are accepted and dropped, as Prometheus does with exemplar storage disabled
//!   (its default), and counted as written. Metadata and start timestamps are ignored.

use bytes::Bytes;

use bongsu_model::Labels;
use bongsu_storage::{AppendError, Appender, SeriesRef, Storage};

use super::histogram;
use super::labels::{labels_v1, Symbols};
use super::proto::{self, v1, v2};
use super::request::{decode_v1, decode_v2, Proto, WriteError};
use super::stats::Reason;

/// How far ahead of the receiver's clock a sample may be (Prometheus' `maxAheadTime`).
pub const MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// Longest label name or value, in bytes. Prometheus has no default limit; this one keeps a
/// single hostile series from pinning megabytes of interned strings, far above real labels.
pub const MAX_LABEL_BYTES: usize = 64 << 10;

/// Error lines listed in a 400 answer; the rest are counted. Bounds the answer's size.
pub const MAX_REPORTED_ERRORS: usize = 10;

/// Longest single error line in an answer; longer ones are cut (a label value may be 64 KiB).
pub(super) const MAX_ERROR_LINE_BYTES: usize = 512;

/// What a request wrote: the values of the `X-Prometheus-Remote-Write-*-Written` headers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub samples: u64,
    pub histograms: u64,
    /// Accepted exemplars; bongsu drops them (no exemplar storage yet), as Prometheus does
    /// with exemplar storage disabled.
    pub exemplars: u64,
}

/// The result of one request: counts for the response headers and `/metrics`, and the error
/// to answer with, if any.
#[derive(Debug, Default)]
pub struct Report {
    /// Float and histogram samples decoded from the request.
    pub received: u64,
    pub written: Written,
    /// Samples not written, by [`Reason`] (indexed by `Reason::index`).
    pub rejected: [u64; Reason::ALL.len()],
    pub error: Option<WriteError>,
    /// Error lines for a 400 answer (at most [`MAX_REPORTED_ERRORS`]).
    details: Vec<String>,
    /// All errors, listed or not.
    errors: u64,
}

impl Report {
    pub(super) fn failed_with(error: WriteError) -> Report {
        Report {
            error: Some(error),
            ..Report::default()
        }
    }

    pub fn rejected(&self, reason: Reason) -> u64 {
        self.rejected[reason.index()]
    }

    fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// Counts `n` samples as rejected for `reason` and notes the error line.
    fn reject(&mut self, reason: Reason, n: u64, line: impl FnOnce() -> String) {
        self.rejected[reason.index()] += n;
        self.note(line);
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        self.errors += 1;
        if self.details.len() < MAX_REPORTED_ERRORS {
            self.details.push(clip(line()));
        }
    }

    /// Nothing of the request is written: everything not already rejected is rolled back.
    fn roll_back(&mut self) {
        let rest = self.received - self.rejected_total();
        self.rejected[Reason::RolledBack.index()] += rest;
        self.written = Written::default();
    }

    /// The 400 message: a summary line with counts by reason (the spec asks for the amount
    /// and the reasons), then the first error lines.
    fn bad_request_message(&self) -> String {
        let mut msg = format!(
            "{} of {} samples rejected",
            self.rejected_total(),
            self.received
        );
        let reasons: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| self.rejected(**r) > 0)
            .map(|r| format!("{}: {}", r.describe(), self.rejected(*r)))
            .collect();
        if !reasons.is_empty() {
            msg.push_str(" (");
            msg.push_str(&reasons.join(", "));
            msg.push(')');
        }
        for line in &self.details {
            msg.push('\n');
            msg.push_str(line);
        }
        let unlisted = self.errors - self.details.len() as u64;
        if unlisted > 0 {
            msg.push_str(&format!("\n… and {unlisted} more errors"));
        }
        msg
    }

    /// Sets the 400 error when anything was rejected.
    fn finish(mut self) -> Report {
        if self.error.is_none() && self.errors > 0 {
            self.error = Some(WriteError::BadRequest(self.bad_request_message()));
        }
        debug_assert_eq!(
            self.received,
            self.written.samples + self.written.histograms + self.rejected_total()
        );
        self
    }
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_ERROR_LINE_BYTES {
        let mut end = MAX_ERROR_LINE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// Decodes a decompressed body of message `proto` and writes it to `db`. Samples newer than
/// `max_time` (ms) are out of bounds.
pub fn write(db: &dyn Storage, proto: Proto, body: Bytes, max_time: i64) -> Report {
    match proto {
        Proto::V1 => match decode_v1(body) {
            Ok(req) => write_v1(db, &req, max_time),
            Err(e) => Report::failed_with(e),
        },
        Proto::V2 => match decode_v2(body) {
            Ok(req) => write_v2(db, &req, max_time),
            Err(e) => Report::failed_with(e),
        },
    }
}

/// Writes a 1.0 request (see the module docs for the rules).
pub fn write_v1(db: &dyn Storage, req: &v1::WriteRequest, max_time: i64) -> Report {
    let mut report = Report {
        received: req
            .timeseries
            .iter()
            .map(|ts| (ts.samples.len() + ts.histograms.len()) as u64)
            .sum(),
        ..Report::default()
    };
    let mut app = db.appender();
    app.reserve(report.received as usize);
    let mut scratch = Vec::new();
    for ts in &req.timeseries {
        let raw = ts.labels.iter().map(|l| (&l.name[..], &l.value[..]));
        let known = known_series(&*app, raw, &mut scratch);
        let n = ts.samples.len() + ts.histograms.len();
        let Some(mut series) = resolve(known, || labels_v1(&ts.labels), &mut report, n) else {
            continue;
        };
        let samples = ts
            .samples
            .iter()
            .map(|s| (s.timestamp, Point::Float(s.value)));
        // Prometheus appends a series' samples, then its exemplars, then its histograms.
        let histograms = ts
            .histograms
            .iter()
            .map(|h| (h.timestamp, Point::Histogram(h)));
        if let Err(rejection) = append_series(
            &mut *app,
            &mut series,
            samples.chain(histograms),
            max_time,
            &mut report,
        ) {
            // Prometheus' receiver returns the first append error and rolls the request back.
            app.rollback();
            report.rejected[rejection.reason.index()] += 1;
            report.roll_back();
            report.error = Some(WriteError::BadRequest(format!(
                "{}; nothing of this request was written ({} samples)",
                rejection.message, report.received
            )));
            return report;
        }
        report.written.exemplars += ts.exemplars.len() as u64;
    }
    commit(app, report).finish()
}

/// Writes a 2.0 request (see the module docs for the rules).
pub fn write_v2(db: &dyn Storage, req: &v2::Request, max_time: i64) -> Report {
    let mut report = Report {
        received: req
            .timeseries
            .iter()
            .map(|ts| (ts.samples.len() + ts.histograms.len()) as u64)
            .sum(),
        ..Report::default()
    };
    let symbols = std::cell::RefCell::new(Symbols::new(&req.symbols));
    let mut app = db.appender();
    app.reserve(report.received as usize);
    let mut scratch = Vec::new();
    for ts in &req.timeseries {
        let refs = &ts.labels_refs;
        let raw = refs.chunks(2).map(|p| {
            let sym = |r: Option<&u32>| {
                r.and_then(|r| req.symbols.get(*r as usize))
                    .map_or(&b""[..], |b| &b[..])
            };
            (sym(p.first()), sym(p.get(1)))
        });
        let known = if refs.len() % 2 == 0 {
            known_series(&*app, raw, &mut scratch)
        } else {
            None
        };
        let n = ts.samples.len() + ts.histograms.len();
        let build = || symbols.borrow_mut().labels(refs);
        let Some(mut series) = resolve(known, build, &mut report, n) else {
            continue;
        };
        let samples = ts
            .samples
            .iter()
            .map(|s| (s.timestamp, Point::Float(s.value)));
        let histograms = ts
            .histograms
            .iter()
            .map(|h| (h.timestamp, Point::Histogram(h)));
        // Partial write: a rejected sample is counted and noted; keep going.
        append_series_partial(
            &mut *app,
            &mut series,
            samples.chain(histograms),
            max_time,
            &mut report,
        );
        for ex in &ts.exemplars {
            // Borrowed apart from the message, which may build the series' labels from it too.
            let checked = symbols.borrow_mut().check_refs(&ex.labels_refs);
            match checked {
                Ok(()) => report.written.exemplars += 1,
                Err(why) => {
                    report.note(|| format!("exemplar of series {}: {why}", series.describe()))
                }
            }
        }
    }
    commit(app, report).finish()
}

/// The ref of a series the store already holds with exactly these label pairs, found without
/// building a label set: senders resend the same series every interval, and for them this
/// skips the allocations of a label set per series per request. `None` sends the caller
/// down the validating path (new series, or pairs that are not already in canonical form).
fn known_series<'a>(
    app: &dyn Appender,
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    scratch: &mut Vec<(&'a str, &'a str)>,
) -> Option<SeriesRef> {
    scratch.clear();
    for (n, v) in pairs {
        let (n, v) = (std::str::from_utf8(n).ok()?, std::str::from_utf8(v).ok()?);
        if v.is_empty() || scratch.last().is_some_and(|(prev, _)| *prev >= n) {
            return None;
        }
        scratch.push((n, v));
    }
    app.get_ref(scratch)
}

/// The series of one request entry: by ref when the head knows it, else from its validated
/// labels; `None` (its `samples` counted as rejected) when the labels are invalid.
fn resolve<'a>(
    known: Option<SeriesRef>,
    mut build: impl FnMut() -> Result<Labels, String> + 'a,
    report: &mut Report,
    samples: usize,
) -> Option<Series<'a>> {
    if let Some(r) = known {
        return Some(Series::known(r, build));
    }
    match build() {
        Ok(labels) => Some(Series::new(labels)),
        Err(why) => {
            report.reject(Reason::InvalidLabels, samples as u64, || why);
            None
        }
    }
}

/// One request series: its head ref once known, its label set once built. A series the
/// head already has is appended by ref and its label set is only built if needed after all
/// (an error message, or the head dropped the series since).
struct Series<'a> {
    sref: Option<SeriesRef>,
    labels: Option<Labels>,
    build: Option<Box<dyn FnMut() -> Result<Labels, String> + 'a>>,
}

impl<'a> Series<'a> {
    fn new(labels: Labels) -> Series<'a> {
        Series {
            sref: None,
            labels: Some(labels),
            build: None,
        }
    }

    fn known(sref: SeriesRef, build: impl FnMut() -> Result<Labels, String> + 'a) -> Series<'a> {
        Series {
            sref: Some(sref),
            labels: None,
            build: Some(Box::new(build)),
        }
    }

    fn labels(&mut self) -> Result<&Labels, String> {
        if self.labels.is_none() {
            let build = self.build.as_mut().ok_or("no label set")?;
            self.labels = Some(build()?);
        }
        self.labels
            .as_ref()
            .ok_or_else(|| "no label set".to_string())
    }

    /// The label set for messages.
    fn describe(&mut self) -> String {
        match self.labels() {
            Ok(l) => l.to_string(),
            Err(e) => format!("(invalid: {e})"),
        }
    }
}

/// Commits the batch; a storage failure rolls the request back (500, retried by senders).
fn commit(mut app: Box<dyn Appender + '_>, mut report: Report) -> Report {
    match app.commit() {
        Ok(stats) => {
            if stats.dropped > 0 {
                // Another writer appended newer samples to these series between our append
                // and commit; the head dropped ours. The commit does not say of which kind:
                // floats are counted first.
                let written = &mut report.written;
                let n = stats.dropped.min(written.samples + written.histograms);
                let floats = n.min(written.samples);
                written.samples -= floats;
                written.histograms -= n - floats;
                report.reject(Reason::OutOfOrder, n, || {
                    format!("{n} samples became out of order while being written (a concurrent writer to the same series)")
                });
            }
            report
        }
        Err(e) => {
            report.roll_back();
            report.error = Some(WriteError::Storage(e));
            report
        }
    }
}

/// A sample the head would not take, and why.
struct Rejection {
    reason: Reason,
    message: String,
}

/// One value of a request series: a float sample or a native histogram as sent.
#[derive(Clone, Copy)]
enum Point<'m> {
    Float(f64),
    Histogram(&'m proto::Histogram),
}

impl Written {
    fn count(&mut self, p: Point<'_>) {
        match p {
            Point::Float(_) => self.samples += 1,
            Point::Histogram(_) => self.histograms += 1,
        }
    }
}

/// Appends one series' samples, stopping at the first rejection (1.0). Appended samples are
/// counted in `report.written`; the rejected one is not counted, the caller decides.
fn append_series<'m>(
    app: &mut dyn Appender,
    series: &mut Series<'_>,
    samples: impl Iterator<Item = (i64, Point<'m>)>,
    max_time: i64,
    report: &mut Report,
) -> Result<(), Rejection> {
    for (t, p) in samples {
        append_one(app, series, t, p, max_time)?;
        report.written.count(p);
    }
    Ok(())
}

/// Appends one series' samples, skipping and noting rejected ones (2.0).
fn append_series_partial<'m>(
    app: &mut dyn Appender,
    series: &mut Series<'_>,
    samples: impl Iterator<Item = (i64, Point<'m>)>,
    max_time: i64,
    report: &mut Report,
) {
    for (t, p) in samples {
        match append_one(app, series, t, p, max_time) {
            Ok(()) => report.written.count(p),
            Err(r) => report.reject(r.reason, 1, || r.message),
        }
    }
}

/// Appends one value to the series with `labels`: a float or a histogram (kept as sent).
fn append_by_labels(
    app: &mut dyn Appender,
    labels: &Labels,
    t: i64,
    v: &Value,
) -> Result<SeriesRef, AppendError> {
    match v {
        Value::Float(v) => app.append(labels, t, *v),
        Value::Histogram(h) => app.append_histogram(labels, t, h.clone()),
    }
}

/// Appends one value to the series `sref`.
fn append_by_ref(
    app: &mut dyn Appender,
    sref: SeriesRef,
    t: i64,
    v: &Value,
) -> Result<(), AppendError> {
    match v {
        Value::Float(v) => app.append_ref(sref, t, *v),
        Value::Histogram(h) => app.append_histogram_ref(sref, t, h.clone()),
    }
}

/// A value ready for the appender.
enum Value {
    Float(f64),
    Histogram(bongsu_model::HistogramValue),
}

/// Appends one sample, by the series' ref when it is known.
fn append_one(
    app: &mut dyn Appender,
    series: &mut Series<'_>,
    t: i64,
    p: Point<'_>,
    max_time: i64,
) -> Result<(), Rejection> {
    if t > max_time {
        return Err(Rejection {
            reason: Reason::OutOfBounds,
            message: format!(
                "out of bounds: timestamp {t} is too far in the future for series {}",
                series.describe()
            ),
        });
    }
    let value = match p {
        Point::Float(v) => Value::Float(v),
        Point::Histogram(h) => match histogram::reduce_reserved_schema(histogram::to_model(h)) {
            Ok(h) => Value::Histogram(h),
            Err(e) => {
                return Err(Rejection {
                    reason: Reason::InvalidHistogram,
                    message: format!("{e} for series {} at timestamp {t}", series.describe()),
                })
            }
        },
    };
    let invalid = |why: String| Rejection {
        reason: Reason::InvalidLabels,
        message: why,
    };
    let result = match series.sref {
        Some(r) => match append_by_ref(app, r, t, &value) {
            // The head dropped the series since (garbage collection): look it up again.
            Err(AppendError::UnknownSeries(_)) => {
                let labels = series.labels().map_err(invalid)?.clone();
                append_by_labels(app, &labels, t, &value).map(|r| series.sref = Some(r))
            }
            other => other,
        },
        None => {
            let labels = series.labels().map_err(invalid)?.clone();
            append_by_labels(app, &labels, t, &value).map(|r| series.sref = Some(r))
        }
    };
    result.map_err(|e| {
        let reason = match e {
            AppendError::OutOfOrder => Reason::OutOfOrder,
            AppendError::DuplicateTimestamp => Reason::Duplicate,
            AppendError::OutOfBounds => Reason::OutOfBounds,
            AppendError::InvalidLabels(_) | AppendError::UnknownSeries(_) => Reason::InvalidLabels,
            AppendError::TooManySeries => Reason::TooManySeries,
            AppendError::InvalidHistogram(_) => Reason::InvalidHistogram,
        };
        Rejection {
            reason,
            message: format!("{e} for series {} at timestamp {t}", series.describe()),
        }
    })
}
