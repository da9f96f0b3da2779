//! `--logs.config.file` end to end: lines from `gen_logs.py --format raw` appended (in pieces
//! that split lines) to two tailed files while bongsu runs, one file rotated by rename and the
//! other by copytruncate, bongsu killed with SIGKILL mid-way and restarted — every line must be
//! stored exactly once, with the `job` and `filename` labels, as `query_range` shows.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::server::{Server, BIN};
use loki::get;
use serde_json::Value;

#[path = "common/loki.rs"]
mod loki;

/// Lines written in all (kept under the query's entry limit so one answer holds them all).
const LINES: usize = 4000;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Every line of the raw files `gen_logs.py` writes, in file-name order.
fn generated_lines(tmp: &Path) -> Option<Vec<String>> {
    let script = common::gen_logs_script()?;
    let out = tmp.join("gen");
    let status = Command::new("python3")
        .arg(script)
        .args(["--format", "raw", "--lines", &LINES.to_string(), "--out"])
        .arg(&out)
        .status()
        .ok()?;
    assert!(status.success());
    let mut files: Vec<PathBuf> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let lines: Vec<String> = files
        .iter()
        .flat_map(|f| {
            fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(lines.len(), LINES);
    Some(lines)
}

/// Appends `lines` to `path` in uneven pieces (so lines are split across writes), pausing
/// between pieces so that the tailer reads while they are written.
fn write_slowly(path: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let bytes = text.as_bytes();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut at = 0;
    let mut piece = 997;
    while at < bytes.len() {
        let end = (at + piece).min(bytes.len());
        f.write_all(&bytes[at..end]).unwrap();
        at = end;
        piece = piece * 7 % 4093 + 512;
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn start(tmp: &Path, log: &str) -> Server {
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        tmp.join("data").into(),
        "--config.file".into(),
        common::server::quiet_config(tmp).into(),
        "--logs.config.file".into(),
        tmp.join("promtail.yml").into(),
        "--logs.ingestion-rate-mb=0".into(),
    ];
    Server::spawn(args, tmp.join(log))
}

/// Stored lines by `filename`, in time order, over the test's span.
fn stored(s: &Server, since: u128) -> BTreeMap<String, Vec<String>> {
    let (code, body) = get(
        s,
        "/loki/api/v1/query_range",
        &[
            ("query", r#"{job="varlogs"}"#.to_string()),
            ("start", since.to_string()),
            ("end", (now_ns() + 60_000_000_000).to_string()),
            ("limit", "5000".into()),
            ("direction", "forward".into()),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for stream in v["data"]["result"].as_array().unwrap() {
        let labels = stream["stream"].as_object().unwrap();
        assert_eq!(labels["job"], "varlogs", "{labels:?}");
        let file = labels["filename"].as_str().unwrap().to_string();
        let lines = out.entry(file).or_default();
        for pair in stream["values"].as_array().unwrap() {
            lines.push(pair[1].as_str().unwrap().to_string());
        }
    }
    out
}

fn wait_for_count(s: &Server, since: u128, want: usize) {
    s.wait_up_to(
        Duration::from_secs(60),
        &format!("{want} stored lines"),
        || {
            let n: usize = stored(s, since).values().map(Vec::len).sum();
            assert!(n <= want, "more lines stored ({n}) than written ({want})");
            (n == want).then_some(())
        },
    );
}

#[test]
fn tailed_lines_are_stored_exactly_once_across_rotation_and_kill9() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let Some(lines) = generated_lines(tmp) else {
        eprintln!("skipping: gen_logs.py not found");
        return;
    };
    let since = now_ns() - 60_000_000_000;
    let logs = tmp.join("logs");
    fs::create_dir_all(&logs).unwrap();
    let (a, b) = (logs.join("a.log"), logs.join("b.log"));
    fs::write(
        tmp.join("promtail.yml"),
        format!(
            "positions:\n  filename: {pos}\n  sync_period: 1s\ntarget_config:\n  sync_period: 1s\n\
             scrape_configs:\n  - job_name: files\n    static_configs:\n      - targets: [localhost]\n\
             \x20       labels:\n          job: varlogs\n          __path__: {dir}/*.log\n",
            pos = tmp.join("positions.yaml").display(),
            dir = logs.display()
        ),
    )
    .unwrap();
    let check = Command::new(BIN)
        .args(["check", "log-config"])
        .arg(tmp.join("promtail.yml"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).starts_with("SUCCESS"));

    // Eight chunks of lines, each written half to a.log, half to b.log.
    let chunks: Vec<&[String]> = lines.chunks(LINES / 8).collect();
    let (mut to_a, mut to_b): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let write = |i: usize, to_a: &mut Vec<String>, to_b: &mut Vec<String>| {
        let (x, y) = chunks[i].split_at(chunks[i].len() / 2);
        write_slowly(&a, x);
        write_slowly(&b, y);
        to_a.extend_from_slice(x);
        to_b.extend_from_slice(y);
    };
    write(0, &mut to_a, &mut to_b);
    let mut s = start(tmp, "bongsu-1.log");
    write(1, &mut to_a, &mut to_b);
    wait_for_count(&s, since, to_a.len() + to_b.len());

    // Rename rotation of a.log, written on at once.
    fs::rename(&a, logs.join("a.log.1")).unwrap();
    write(2, &mut to_a, &mut to_b);
    write(3, &mut to_a, &mut to_b);

    // SIGKILL while lines are being read; more is written while bongsu is down.
    let at_kill: usize = stored(&s, since).values().map(Vec::len).sum();
    s.child.kill().unwrap();
    eprintln!(
        "killed with {at_kill} of {} written lines stored",
        to_a.len() + to_b.len()
    );
    s.child.wait().unwrap();
    write(4, &mut to_a, &mut to_b);
    s = start(tmp, "bongsu-2.log");
    write(5, &mut to_a, &mut to_b);
    wait_for_count(&s, since, to_a.len() + to_b.len());

    // Copytruncate rotation of b.log (after it was read: lines written between the copy and
    // the truncation are lost by design of copytruncate, for Promtail too).
    fs::copy(&b, logs.join("b.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&b)
        .unwrap()
        .set_len(0)
        .unwrap();
    write(6, &mut to_a, &mut to_b);
    write(7, &mut to_a, &mut to_b);
    wait_for_count(&s, since, to_a.len() + to_b.len());

    let got = stored(&s, since);
    assert_eq!(got.len(), 2, "{:?}", got.keys());
    for (path, want) in [(&a, &to_a), (&b, &to_b)] {
        // Each line once, in the order written (a file's lines get increasing timestamps; a
        // renamed file is finished before its successor is read).
        let have = &got[path.to_str().unwrap()];
        assert_eq!(have.len(), want.len(), "{}", path.display());
        assert!(
            have == want,
            "{}: stored lines differ from the written ones",
            path.display()
        );
    }
    for (labels, _) in streams(&s, since) {
        assert_eq!(labels.len(), 2, "only job and filename: {labels:?}");
    }
    let positions = fs::read_to_string(tmp.join("positions.yaml")).unwrap();
    assert!(positions.starts_with("positions:"), "{positions}");
    let (code, metrics) = get(&s, "/metrics", &[]);
    assert_eq!(code, 200);
    assert!(
        metrics.contains("promtail_read_lines_total{path=")
            && metrics.contains("promtail_files_active_total 2"),
        "{metrics}"
    );
}

/// Each stored stream's labels and line count.
fn streams(s: &Server, since: u128) -> Vec<(BTreeMap<String, String>, usize)> {
    let (code, body) = get(
        s,
        "/loki/api/v1/query_range",
        &[
            ("query", r#"{job="varlogs"}"#.to_string()),
            ("start", since.to_string()),
            ("end", (now_ns() + 60_000_000_000).to_string()),
            ("limit", "5000".into()),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let mut out: Vec<(BTreeMap<String, String>, usize)> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            let labels = st["stream"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            (labels, st["values"].as_array().unwrap().len())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn sighup_reloads_the_log_config_and_a_bad_one_keeps_the_old() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let since = now_ns() - 60_000_000_000;
    let logs = tmp.join("logs");
    fs::create_dir_all(&logs).unwrap();
    let file = logs.join("x.log");
    let config = |extra: &str| {
        format!(
            "positions: {{filename: {}}}\nscrape_configs:\n  - job_name: files\n    \
             static_configs:\n      - targets: [localhost]\n        labels: {{job: varlogs, \
             __path__: '{}/*.log'{extra}}}\n",
            tmp.join("positions.yaml").display(),
            logs.display()
        )
    };
    fs::write(tmp.join("promtail.yml"), config("")).unwrap();
    let lines: Vec<String> = (0..30).map(|i| format!("line {i}")).collect();
    write_slowly(&file, &lines[..10]);
    let s = start(tmp, "bongsu.log");
    wait_for_count(&s, since, 10);

    let hup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &s.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    fs::write(tmp.join("promtail.yml"), config(", env: reloaded")).unwrap();
    hup();
    s.wait_for("the reload", || {
        s.log()
            .contains("completed loading of configuration file")
            .then_some(())
    });
    write_slowly(&file, &lines[10..20]);
    wait_for_count(&s, since, 20);

    fs::write(tmp.join("promtail.yml"), "scrape_configs: [oops\n").unwrap();
    hup();
    s.wait_for("the failed reload", || {
        s.log()
            .contains("error reloading the configuration")
            .then_some(())
    });
    write_slowly(&file, &lines[20..]);
    wait_for_count(&s, since, 30);

    let got = streams(&s, since);
    let with_env: Vec<usize> = got
        .iter()
        .map(|(l, n)| if l.contains_key("env") { *n } else { 0 })
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(with_env.iter().sum::<usize>(), 20, "{got:?}");
}
