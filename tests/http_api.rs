//! The `bongsu` binary end to end: `import openmetrics` writes blocks, the server serves them
//! over Prometheus' HTTP API (checked against the documented JSON shapes and a model of the
//! imported data), and SIGTERM shuts it down cleanly.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::server::{quiet_config, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_bongsu");
/// First sample time (ms): a multiple of the 2 h block range.
const T0: i64 = 1_699_999_200_000;
const SCRAPE_MS: i64 = 15_000;
/// 5 hours of samples: three 2 h block windows.
const N: i64 = 1200;
/// Last sample time (ms).
const TLAST: i64 = T0 + (N - 1) * SCRAPE_MS;
const LOOKBACK_MS: i64 = 5 * 60_000;
const HOUR_MS: i64 = 3_600_000;
const WAIT: Duration = Duration::from_secs(10);

/// One imported series: labels (with `__name__`) and samples (ms, value).
struct ModelSeries {
    labels: BTreeMap<String, String>,
    samples: Vec<(i64, f64)>,
}

type Metric = BTreeMap<String, String>;

/// A metric: name, type, label name, and per label value the value of sample `i`.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, fn(i64) -> f64)>,
);

/// Request parameters.
type Params = Vec<(&'static str, String)>;

fn families() -> Vec<Family> {
    vec![
        (
            "http_requests_total",
            "counter",
            "code",
            vec![("200", |i| i as f64), ("500", |i| (i / 10) as f64)],
        ),
        (
            "temperature",
            "gauge",
            "room",
            vec![
                ("a", |_| 0.1),
                ("b", |i| {
                    if i == N - 1 {
                        f64::NAN
                    } else {
                        i as f64 * 0.25 - 50.0
                    }
                }),
                ("c", |i| if i == N - 1 { f64::INFINITY } else { i as f64 }),
            ],
        ),
        (
            // Sums that only compensated (Kahan) summation, as Prometheus does, gets right.
            "balance",
            "gauge",
            "account",
            vec![("x", |_| 1e100), ("y", |_| 1.0), ("z", |_| -1e100)],
        ),
    ]
}

fn model() -> Vec<ModelSeries> {
    let mut out = Vec::new();
    for (name, _, label, values) in families() {
        for (lv, f) in values {
            let labels = [("__name__", name), (label, lv)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let samples = (0..N).map(|i| (T0 + i * SCRAPE_MS, f(i))).collect();
            out.push(ModelSeries { labels, samples });
        }
    }
    out
}

/// A value as Prometheus writes it (Go's `FormatFloat(v, 'f', -1, 64)`).
fn prom(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v != 0.0 && !(1e-6..1e21).contains(&v.abs()) {
        // Prometheus' JSON switches to Go's exponent form here: 1e+100, 1e-07.
        let sci = format!("{v:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap();
        let exp: i32 = exp.parse().unwrap();
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        format!("{v}")
    }
}

/// The OpenMetrics text of the model (timestamps in seconds).
fn openmetrics() -> String {
    let mut out = String::new();
    for (name, kind, label, values) in families() {
        let family = name.strip_suffix("_total").unwrap_or(name);
        writeln!(out, "# TYPE {family} {kind}").unwrap();
        for (lv, f) in values {
            for i in 0..N {
                let t = T0 + i * SCRAPE_MS;
                writeln!(
                    out,
                    "{name}{{{label}=\"{lv}\"}} {} {}",
                    prom(f(i)),
                    t / 1000
                )
                .unwrap();
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

fn run_import(file: &Path, dir: &Path) -> Output {
    Command::new(BIN)
        .args(["import", "openmetrics"])
        .arg(file)
        .arg("--storage.tsdb.path")
        .arg(dir)
        .output()
        .expect("run bongsu import")
}

fn entries(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A temp dir with the model imported into `data/`.
fn imported() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("good.om");
    fs::write(&file, openmetrics()).unwrap();
    let dir = tmp.path().join("data");
    let out = run_import(&file, &dir);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let blocks = entries(&dir).len();
    assert!(
        blocks >= 3,
        "5 h of data makes 3 two-hour blocks, got {blocks}"
    );
    (tmp, dir)
}

#[test]
fn import_of_a_malformed_file_names_the_line_and_writes_nothing() {
    let (tmp, dir) = imported();
    let before = entries(&dir);
    // Valid samples across three block windows, then a malformed line.
    let mut text = String::from("# TYPE other gauge\n");
    for i in 0..20 {
        writeln!(text, "other{{k=\"v\"}} {i} {}", T0 / 1000 + i * 900).unwrap();
    }
    let bad_line = text.lines().count() + 1;
    text.push_str("other{k=\"v\" 21 1700017200\n# EOF\n");
    let file = tmp.path().join("bad.om");
    fs::write(&file, text).unwrap();

    let out = run_import(&file, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a malformed file imported: {stderr}");
    assert!(
        stderr.contains(&format!("bad.om:{bad_line}:")),
        "stderr does not name line {bad_line}: {stderr}"
    );
    assert_eq!(
        entries(&dir),
        before,
        "a failed import changed the data directory"
    );

    // A missing file fails too, without touching the directory.
    let out = run_import(&tmp.path().join("missing.om"), &dir);
    assert!(!out.status.success());
    assert_eq!(entries(&dir), before);
}

impl Server {
    fn start(dir: &Path, log: PathBuf) -> Server {
        let config = quiet_config(log.parent().unwrap());
        let args = vec![
            "--config.file".into(),
            config.into(),
            "--storage.tsdb.path".into(),
            dir.into(),
            "--storage.tsdb.retention.time".into(),
            "0".into(),
        ];
        Server::spawn(args, log)
    }

    fn get(&self, path: &str, params: &[(&str, String)]) -> (StatusCode, Value) {
        let r = self.http.get(self.url(path)).query(params).send().unwrap();
        decode(r)
    }

    fn post(&self, path: &str, params: &[(&str, String)]) -> (StatusCode, Value) {
        let r = self.http.post(self.url(path)).form(params).send().unwrap();
        decode(r)
    }

    /// `data` of a successful response (checking the envelope).
    fn ok(&self, path: &str, params: &[(&str, String)]) -> Value {
        let (status, body) = self.get(path, params);
        assert_eq!(status, StatusCode::OK, "{path} {params:?}: {body}");
        assert_eq!(body["status"], "success", "{body}");
        let keys: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, BTreeSet::from(["data", "status"]), "{body}");
        body["data"].clone()
    }

    fn query(&self, query: &str, t_ms: i64) -> Value {
        self.ok(
            "/api/v1/query",
            &[("query", query.to_string()), ("time", secs(t_ms))],
        )
    }

    fn query_range(&self, query: &str, start: i64, end: i64, step_s: i64) -> Value {
        self.ok(
            "/api/v1/query_range",
            &[
                ("query", query.to_string()),
                ("start", secs(start)),
                ("end", secs(end)),
                ("step", step_s.to_string()),
            ],
        )
    }

    /// SIGTERM, then the exit status within `WAIT`.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(kill.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < WAIT,
                "still running {WAIT:?} after SIGTERM: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn decode(r: reqwest::blocking::Response) -> (StatusCode, Value) {
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().unwrap();
    assert_eq!(ct.as_deref(), Some("application/json"), "{text}");
    (status, serde_json::from_str(&text).expect("JSON body"))
}

/// Milliseconds as the API's seconds parameter.
fn secs(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

fn metric(v: &Value) -> Metric {
    serde_json::from_value(v.clone()).expect("labels as a string map")
}

fn m(pairs: &[(&str, &str)]) -> Metric {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A `[timestamp, "value"]` pair: timestamp a JSON number of seconds, value a string.
fn point(p: &Value) -> (i64, String) {
    let a = p.as_array().expect("a [t, v] pair");
    assert_eq!(a.len(), 2, "{p}");
    assert!(a[0].is_number(), "timestamp is a number: {p}");
    let t = (a[0].as_f64().unwrap() * 1000.0).round() as i64;
    (t, a[1].as_str().expect("value is a string").to_string())
}

/// An instant vector result as metric → (time, value).
fn vector(data: &Value) -> BTreeMap<Metric, (i64, String)> {
    assert_eq!(data["resultType"], "vector", "{data}");
    let mut out = BTreeMap::new();
    for s in data["result"].as_array().unwrap() {
        assert_eq!(
            s.as_object().unwrap().len(),
            2,
            "metric and value only: {s}"
        );
        let dup = out.insert(metric(&s["metric"]), point(&s["value"]));
        assert!(dup.is_none(), "duplicate series in {data}");
    }
    out
}

/// A matrix result as metric → points.
fn matrix(data: &Value) -> BTreeMap<Metric, Vec<(i64, String)>> {
    assert_eq!(data["resultType"], "matrix", "{data}");
    let mut out = BTreeMap::new();
    for s in data["result"].as_array().unwrap() {
        assert_eq!(
            s.as_object().unwrap().len(),
            2,
            "metric and values only: {s}"
        );
        let points = s["values"].as_array().unwrap().iter().map(point).collect();
        assert!(out.insert(metric(&s["metric"]), points).is_none());
    }
    out
}

/// The model's series matching `name`, and their value at `t` under the 5 m lookback
/// (the newest sample in `(t - 5m, t]`).
fn model_at(model: &[ModelSeries], name: &str, t: i64) -> BTreeMap<Metric, f64> {
    model
        .iter()
        .filter(|s| s.labels["__name__"] == name)
        .filter_map(|s| {
            let last = s.samples.iter().rev().find(|(st, _)| *st <= t)?;
            (last.0 > t - LOOKBACK_MS).then(|| (s.labels.clone(), last.1))
        })
        .collect()
}

/// Prometheus' compensated sum (`kahanSumInc` with Neumaier's improvement).
fn kahan_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        if t.is_infinite() {
            c = 0.0;
        } else if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    if sum.is_infinite() {
        sum
    } else {
        sum + c
    }
}

fn strip_name(mut labels: Metric) -> Metric {
    labels.remove("__name__");
    labels
}

#[test]
fn serves_the_prometheus_api_over_imported_blocks() {
    let (tmp, dir) = imported();
    let server = Server::start(&dir, tmp.path().join("server.log"));
    let model = model();

    // Instant vector selectors: exact values as strings, times as numbers of seconds, at the
    // last sample, between samples (fractional time) and in each block.
    assert_eq!(
        vector(&server.query("temperature", TLAST)),
        BTreeMap::from([
            (
                m(&[("__name__", "temperature"), ("room", "a")]),
                (TLAST, "0.1".into())
            ),
            (
                m(&[("__name__", "temperature"), ("room", "b")]),
                (TLAST, "NaN".into())
            ),
            (
                m(&[("__name__", "temperature"), ("room", "c")]),
                (TLAST, "+Inf".into())
            ),
        ])
    );
    for t in [
        T0,
        T0 + 2 * HOUR_MS + 7_500,
        T0 + 4 * HOUR_MS - 1,
        TLAST + LOOKBACK_MS - 1,
    ] {
        for name in ["http_requests_total", "temperature", "balance"] {
            let want: BTreeMap<Metric, (i64, String)> = model_at(&model, name, t)
                .into_iter()
                .map(|(k, v)| (k, (t, prom(v))))
                .collect();
            assert_eq!(
                want.len(),
                if name == "http_requests_total" { 2 } else { 3 }
            );
            assert_eq!(vector(&server.query(name, t)), want, "{name} at {t}");
        }
    }
    // The lookback is left-open: exactly 5 m after the last sample there is nothing.
    assert_eq!(
        vector(&server.query("temperature", TLAST + LOOKBACK_MS)),
        BTreeMap::new()
    );
    assert_eq!(
        vector(&server.query("temperature", T0 - 1)),
        BTreeMap::new()
    );

    // Aggregations and functions, checked against the model.
    let t = TLAST;
    let cases: Vec<(&str, BTreeMap<Metric, String>)> = vec![
        ("count(temperature)", BTreeMap::from([(m(&[]), "3".into())])),
        (
            "count by (room) (temperature{room=~\"a|b\"})",
            BTreeMap::from([
                (m(&[("room", "a")]), "1".into()),
                (m(&[("room", "b")]), "1".into()),
            ]),
        ),
        ("sum(temperature)", BTreeMap::from([(m(&[]), "NaN".into())])),
        (
            "sum by (code) (http_requests_total)",
            BTreeMap::from([
                (m(&[("code", "200")]), prom((N - 1) as f64)),
                (m(&[("code", "500")]), prom(((N - 1) / 10) as f64)),
            ]),
        ),
        (
            "sum without (code) (http_requests_total)",
            BTreeMap::from([(m(&[]), prom(((N - 1) + (N - 1) / 10) as f64))]),
        ),
        // 1e100 + 1 - 1e100: Prometheus' compensated sum gives 1, a naive one 0.
        ("sum(balance)", BTreeMap::from([(m(&[]), "1".into())])),
        (
            "count_over_time(temperature[1h])",
            BTreeMap::from([
                (m(&[("room", "a")]), "240".into()),
                (m(&[("room", "b")]), "240".into()),
                (m(&[("room", "c")]), "240".into()),
            ]),
        ),
        // 240 × 0.1: Prometheus' compensated sum gives exactly 24.
        (
            "sum_over_time(temperature{room=\"a\"}[1h])",
            BTreeMap::from([(m(&[("room", "a")]), "24".into())]),
        ),
    ];
    for (q, want) in cases {
        let got: BTreeMap<Metric, String> = vector(&server.query(q, t))
            .into_iter()
            .map(|(k, (pt, v))| {
                assert_eq!(pt, t, "{q}");
                (k, v)
            })
            .collect();
        assert_eq!(got, want, "{q}");
    }
    // Range functions against the model at a time inside the middle block.
    let t = T0 + 3 * HOUR_MS + 1_000;
    for (q, f) in [
        (
            "count_over_time",
            (|w: &[f64]| w.len() as f64) as fn(&[f64]) -> f64,
        ),
        ("sum_over_time", |w: &[f64]| kahan_sum(w.iter().copied())),
    ] {
        for range in ["1m", "1h", "90m"] {
            let range_ms = bongsu_model::parse_prometheus_duration(range)
                .unwrap()
                .as_millis() as i64;
            let want: BTreeMap<Metric, (i64, String)> = model
                .iter()
                .filter_map(|s| {
                    let w: Vec<f64> = s
                        .samples
                        .iter()
                        .filter(|(st, _)| *st > t - range_ms && *st <= t)
                        .map(|x| x.1)
                        .collect();
                    (!w.is_empty()).then(|| (strip_name(s.labels.clone()), (t, prom(f(&w)))))
                })
                .collect();
            assert_eq!(want.len(), 8);
            let got = vector(&server.query(&format!("{q}({{__name__=~\".+\"}}[{range}])"), t));
            assert_eq!(got, want, "{q}[{range}]");
        }
    }

    // A range selector in an instant query is a matrix of the raw samples in (t - 1m, t].
    let got = matrix(&server.query("http_requests_total{code=\"200\"}[1m]", TLAST));
    let want: Vec<(i64, String)> = (N - 4..N)
        .map(|i| (T0 + i * SCRAPE_MS, prom(i as f64)))
        .collect();
    assert_eq!(
        got,
        BTreeMap::from([(
            m(&[("__name__", "http_requests_total"), ("code", "200")]),
            want
        )])
    );

    // A scalar literal.
    let data = server.query("42.5", T0);
    assert_eq!(
        data,
        json!({"resultType": "scalar", "result": [T0 / 1000, "42.5"]})
    );

    // POST with a form body answers as GET does.
    let params = [
        ("query", "sum by (room) (temperature)".to_string()),
        ("time", secs(TLAST)),
    ];
    let (status, posted) = server.post("/api/v1/query", &params);
    assert_eq!(status, StatusCode::OK, "{posted}");
    assert_eq!(posted["data"], server.ok("/api/v1/query", &params));
    assert_eq!(vector(&posted["data"]).len(), 3);

    // Range queries: every step's value is the model's under the lookback, across all blocks.
    for (q, start, end, step) in [
        ("temperature", T0, TLAST, 420),
        ("http_requests_total", T0 - 600_000, TLAST + 600_000, 900),
        ("balance", T0 + 7_000, T0 + 7_000 + 2 * HOUR_MS, 3600),
    ] {
        let mut want: BTreeMap<Metric, Vec<(i64, String)>> = BTreeMap::new();
        let mut st = start;
        while st <= end {
            for (k, v) in model_at(&model, q, st) {
                want.entry(k).or_default().push((st, prom(v)));
            }
            st += step * 1000;
        }
        assert!(!want.is_empty());
        assert_eq!(
            matrix(&server.query_range(q, start, end, step)),
            want,
            "{q}"
        );
    }
    // Steps around the end of the data: 4 m after the last sample it is still seen, 5 m and
    // 10 m after it is not.
    let got = matrix(&server.query_range(
        "http_requests_total{code=\"200\"}",
        TLAST - 120_000,
        TLAST + 600_000,
        60,
    ));
    let last = prom((N - 1) as f64);
    let want: Vec<(i64, String)> = vec![
        (TLAST - 120_000, prom((N - 9) as f64)),
        (TLAST - 60_000, prom((N - 5) as f64)),
        (TLAST, last.clone()),
        (TLAST + 60_000, last.clone()),
        (TLAST + 120_000, last.clone()),
        (TLAST + 180_000, last.clone()),
        (TLAST + 240_000, last),
    ];
    assert_eq!(
        got,
        BTreeMap::from([(
            m(&[("__name__", "http_requests_total"), ("code", "200")]),
            want
        )])
    );
    // Aggregations over a range, and a scalar over a range.
    let got = matrix(&server.query_range("count(temperature)", T0, T0 + 6 * HOUR_MS, 3600));
    let want: Vec<(i64, String)> = (0..=5).map(|h| (T0 + h * HOUR_MS, "3".into())).collect();
    assert_eq!(got, BTreeMap::from([(m(&[]), want)]));
    let got = matrix(&server.query_range("7", T0, T0 + 60_000, 30));
    let want: Vec<(i64, String)> = (0..3).map(|i| (T0 + i * 30_000, "7".into())).collect();
    assert_eq!(got, BTreeMap::from([(m(&[]), want)]));

    // Metadata.
    let strings = |data: Value| -> Vec<String> { serde_json::from_value(data).unwrap() };
    let labels = strings(server.ok("/api/v1/labels", &[]));
    assert_eq!(labels, ["__name__", "account", "code", "room"]);
    let values = strings(server.ok("/api/v1/label/room/values", &[]));
    assert_eq!(values, ["a", "b", "c"]);
    let values = strings(server.ok("/api/v1/label/__name__/values", &[]));
    assert_eq!(values, ["balance", "http_requests_total", "temperature"]);
    let values = strings(server.ok(
        "/api/v1/label/code/values",
        &[("match[]", "http_requests_total{code=\"500\"}".into())],
    ));
    assert_eq!(values, ["500"]);
    let labels = strings(server.ok("/api/v1/labels", &[("match[]", "temperature".into())]));
    assert_eq!(labels, ["__name__", "room"]);

    let series = |params: &[(&str, String)]| -> Vec<Metric> {
        let (status, body) = server.get("/api/v1/series", params);
        assert_eq!(status, StatusCode::OK, "{body}");
        let post = server.post("/api/v1/series", params);
        assert_eq!(post, (StatusCode::OK, body.clone()), "POST answers as GET");
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(metric)
            .collect()
    };
    let rooms: Vec<Metric> = ["a", "b", "c"]
        .iter()
        .map(|r| m(&[("__name__", "temperature"), ("room", r)]))
        .collect();
    assert_eq!(series(&[("match[]", "temperature".into())]), rooms);
    let mid = [
        ("start", secs(T0 + HOUR_MS)),
        ("end", secs(T0 + 3 * HOUR_MS)),
    ];
    let mut p = vec![("match[]", "temperature".to_string())];
    p.extend(mid.iter().cloned());
    assert_eq!(series(&p), rooms);
    p.push(("match[]", "http_requests_total{code=\"500\"}".into()));
    assert_eq!(series(&p).len(), 4);
    let after = [
        ("match[]", "temperature".to_string()),
        ("start", secs(TLAST + HOUR_MS)),
        ("end", secs(TLAST + 2 * HOUR_MS)),
    ];
    assert_eq!(series(&after), Vec::<Metric>::new());
    let before = [
        ("match[]", "{room=\"a\"}".to_string()),
        ("start", "2000-01-01T00:00:00Z".to_string()),
        ("end", "2000-01-02T00:00:00Z".to_string()),
    ];
    assert_eq!(series(&before), Vec::<Metric>::new());

    // Errors: Prometheus' envelope, error types and status codes.
    let q = |s: &str| vec![("query", s.to_string())];
    let errors: Vec<(&str, Params, &str)> = vec![
        ("/api/v1/query", q("sum(temperature"), ""),
        ("/api/v1/query", q(""), ""),
        (
            "/api/v1/query",
            q("max_over_time(http_requests_total[step()])"),
            "not supported",
        ),
        (
            "/api/v1/query",
            vec![
                ("query", "temperature".into()),
                ("time", "yesterday".into()),
            ],
            "time",
        ),
        ("/api/v1/query_range", q("temperature"), "start"),
        (
            "/api/v1/query_range",
            vec![
                ("query", "temperature".into()),
                ("start", secs(T0)),
                ("end", secs(TLAST)),
            ],
            "step",
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "temperature".into()),
                ("start", secs(TLAST)),
                ("end", secs(T0)),
                ("step", "60".into()),
            ],
            "end",
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "temperature".into()),
                ("start", secs(T0)),
                ("end", secs(TLAST)),
                ("step", "0".into()),
            ],
            "step",
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "temperature".into()),
                ("start", "0".into()),
                ("end", secs(TLAST)),
                ("step", "1".into()),
            ],
            "11,000",
        ),
        ("/api/v1/series", vec![], "match[]"),
        (
            "/api/v1/series",
            vec![("match[]", "temperature{".into())],
            "match[]",
        ),
        (
            "/api/v1/series",
            vec![("match[]", "temperature".into()), ("start", "soon".into())],
            "start",
        ),
        ("/api/v1/labels", vec![("end", "later".into())], "end"),
    ];
    for (path, params, needle) in errors {
        for (method, (status, body)) in [
            ("GET", server.get(path, &params)),
            ("POST", server.post(path, &params)),
        ] {
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{method} {path} {params:?}: {body}"
            );
            let keys: BTreeSet<&str> = body
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(
                keys,
                BTreeSet::from(["error", "errorType", "status"]),
                "{body}"
            );
            assert_eq!(body["status"], "error");
            assert_eq!(body["errorType"], "bad_data", "{path} {params:?}: {body}");
            let msg = body["error"].as_str().unwrap();
            assert!(
                !msg.is_empty() && msg.contains(needle),
                "{path} {params:?}: {msg:?} lacks {needle:?}"
            );
        }
    }

    // limitk keeps the first series of the input (sorted by labels).
    assert_eq!(
        vector(&server.query("limitk(1, temperature)", TLAST)),
        BTreeMap::from([(
            m(&[("__name__", "temperature"), ("room", "a")]),
            (TLAST, "0.1".into())
        )])
    );

    // Annotations: `infos` / `warnings` next to `data` with the node's position, only when
    // there are any.
    let (status, body) = server.get(
        "/api/v1/query",
        &[
            ("query", "rate(temperature[10m])".into()),
            ("time", secs(TLAST)),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["infos"],
        json!(["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temperature\" (1:6)"]),
        "{body}"
    );
    assert!(body.get("warnings").is_none(), "{body}");
    let (status, body) = server.get(
        "/api/v1/query_range",
        &[
            ("query", "sort(temperature)".into()),
            ("start", secs(TLAST - 60_000)),
            ("end", secs(TLAST)),
            ("step", "15".into()),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["warnings"],
        json!(["PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:1)"]),
        "{body}"
    );
    assert!(body.get("infos").is_none(), "{body}");

    // Health, readiness and the server's own metrics.
    let r = server.http.get(server.url("/-/healthy")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = server.http.get(server.url("/metrics")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().unwrap();
    assert!(text.contains("\nprometheus_tsdb_head_series "), "{text}");
}

#[test]
fn sigterm_shuts_the_server_down_with_status_0() {
    let (tmp, dir) = imported();
    let mut server = Server::start(&dir, tmp.path().join("server.log"));
    assert_eq!(vector(&server.query("count(temperature)", TLAST)).len(), 1);
    let status = server.terminate();
    assert!(status.success(), "exit status {status}: {}", server.log());
    // The data directory is released: a new server opens it and serves the same data.
    drop(server);
    let server = Server::start(&dir, tmp.path().join("server2.log"));
    assert_eq!(
        vector(&server.query("count(temperature)", TLAST)),
        BTreeMap::from([(m(&[]), (TLAST, "3".to_string()))])
    );
}

/// Logs written to a file are logfmt (the default) or JSON lines, as Prometheus', with no
/// terminal colour escapes.
#[test]
fn logs_are_logfmt_or_json_without_terminal_escapes() {
    let tmp = tempfile::tempdir().unwrap();
    let config = quiet_config(tmp.path());
    for format in ["logfmt", "json"] {
        let log = tmp.path().join(format!("{format}.log"));
        let args = vec![
            "--config.file".into(),
            config.clone().into(),
            "--storage.tsdb.path".into(),
            tmp.path().join(format).into(),
            format!("--log.format={format}").into(),
        ];
        let server = Server::spawn(args, log);
        let text = server.log();
        assert!(!text.contains('\x1b'), "{text}");
        // Logged before the listener answers `/-/ready`.
        let ready = text
            .lines()
            .find(|l| l.contains("listening"))
            .unwrap_or_else(|| panic!("no listening line in {text}"));
        if format == "json" {
            let line: Value = serde_json::from_str(ready).unwrap();
            assert_eq!(line["level"], "INFO");
            assert_eq!(line["message"], "listening");
        } else {
            assert!(ready.starts_with("ts="), "{ready}");
            assert!(ready.contains(" level=info "), "{ready}");
        }
    }
}

/// A block whose index is missing or damaged stops the server at start-up with a message
/// naming it, as Prometheus does, instead of serving its range as a silent hole.
#[test]
fn a_block_with_a_damaged_index_stops_the_start() {
    let (tmp, dir) = imported();
    let block = entries(&dir)
        .into_iter()
        .find(|n| n.len() == 26)
        .expect("a block directory");
    let index = dir.join(&block).join("index");
    let bytes = fs::read(&index).unwrap();
    fs::write(&index, &bytes[..bytes.len() / 2]).unwrap();
    let config = quiet_config(tmp.path());
    let mut child = Command::new(BIN)
        .arg("--config.file")
        .arg(&config)
        .arg("--storage.tsdb.path")
        .arg(&dir)
        .arg("--web.listen-address=127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the server started over a damaged block");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains(&format!(
            "block {} cannot be opened",
            dir.join(&block).display()
        )),
        "{stderr}"
    );
}
