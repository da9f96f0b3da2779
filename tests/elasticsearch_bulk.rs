//! The Elasticsearch ingest emulation end to end: `gen_logs.py --format es-bulk` bodies posted
//! to `/elasticsearch/_bulk` (plain and gzip) of a real server, every item answered `created`,
//! the lines read back through Loki's `query_range` with exact counts per stream, the probes
//! Filebeat and Logstash send first, and a kill -9 right after a 200 losing nothing. Skips
//! (saying so) without `../shared/bench/gen_logs.py`.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::server::Server;
use serde_json::Value;

const START: i64 = 1_700_000_000;
const END: i64 = START + 86_400;
/// Every label `gen_logs.py` gives a stream, as document fields.
const LABEL_FIELDS: &str = "job,host,app,env,level,filename";

/// `gen_logs.py --format es-bulk` bodies of 500 documents each, or `None` (skip).
fn bodies(lines: u32) -> Option<Vec<Vec<u8>>> {
    let Some(script) = common::gen_logs_script() else {
        eprintln!("skipped: ../shared/bench/gen_logs.py is absent");
        return None;
    };
    let out = Command::new("python3")
        .arg(script)
        .args(["--lines", &lines.to_string(), "--format", "es-bulk"])
        .args(["--batch", "500"])
        .output()
        .expect("run gen_logs.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&[u8]> = out.stdout.split(|&b| b == b'\n').collect();
    Some(
        lines
            .chunks(1000)
            .filter(|c| c.len() == 1000)
            .map(|c| {
                let mut body = c.join(&b'\n');
                body.push(b'\n');
                body
            })
            .collect(),
    )
}

fn server(tmp: &Path) -> Server {
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        tmp.join("data").into(),
        "--logs.retention.time=100y".into(),
        "--logs.ingestion-rate-mb=0".into(),
        format!("--logs.elasticsearch.label-fields={LABEL_FIELDS}").into(),
    ];
    Server::spawn(args, tmp.join("bongsu.log"))
}

/// Posts a bulk body: the status and the answer.
fn post_bulk(s: &Server, path: &str, body: Vec<u8>, gzip: bool) -> (u16, Value) {
    let mut req = s
        .http
        .post(s.url(path))
        .header("content-type", "application/x-ndjson");
    let body = if gzip {
        req = req.header("content-encoding", "gzip");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&body).unwrap();
        e.finish().unwrap()
    } else {
        body
    };
    let r = req.body(body).send().unwrap();
    let code = r.status().as_u16();
    (code, serde_json::from_str(&r.text().unwrap()).unwrap())
}

/// GETs `path` with `params`: the status and the answer's text.
fn get(s: &Server, path: &str, params: &[(&str, String)]) -> (u16, String) {
    let r = s.http.get(s.url(path)).query(params).send().unwrap();
    let code = r.status().as_u16();
    (code, r.text().unwrap())
}

/// Lines per `job` in a body's documents.
fn count_jobs(body: &[u8], into: &mut BTreeMap<String, u64>) {
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if i % 2 == 1 {
            let doc: Value = serde_json::from_slice(line).unwrap();
            *into.entry(doc["job"].as_str().unwrap().into()).or_default() += 1;
        }
    }
}

/// Lines `query` returns over the generator's day, summed over streams.
fn lines_back(s: &Server, query: &str) -> u64 {
    let (code, body) = get(
        s,
        "/loki/api/v1/query_range",
        &[
            ("query", query.into()),
            ("start", START.to_string()),
            ("end", END.to_string()),
            ("limit", "5000".into()),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["values"].as_array().unwrap().len() as u64)
        .sum()
}

#[test]
fn bulk_bodies_come_back_through_logql() {
    let Some(bodies) = bodies(2000) else {
        return;
    };
    assert_eq!(bodies.len(), 4);
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());

    // What Filebeat, Logstash and Fluent Bit ask before their first _bulk.
    let banner: Value = s
        .http
        .get(s.url("/elasticsearch/"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(banner["version"]["number"]
        .as_str()
        .unwrap()
        .starts_with("8."));
    assert_eq!(banner["tagline"], "You Know, for Search");
    let head = s.http.head(s.url("/elasticsearch")).send().unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["x-elastic-product"], "Elasticsearch");
    let license: Value = s
        .http
        .get(s.url("/elasticsearch/_license"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(license["license"]["status"], "active");
    let other = s
        .http
        .get(s.url("/elasticsearch/logs/_search"))
        .send()
        .unwrap();
    assert_eq!(other.status().as_u16(), 400);
    let other: Value = other.json().unwrap();
    assert!(other["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("not supported by bongsu"));

    let mut jobs = BTreeMap::new();
    for (i, body) in bodies.into_iter().enumerate() {
        count_jobs(&body, &mut jobs);
        // The path's index is used only by actions naming none; these name `logs`.
        let path = if i % 2 == 0 {
            "/elasticsearch/_bulk"
        } else {
            "/elasticsearch/other/_bulk"
        };
        let (code, answer) = post_bulk(&s, path, body, i == 1);
        assert_eq!(code, 200, "{answer}");
        assert_eq!(answer["errors"], false, "{answer}");
        let items = answer["items"].as_array().unwrap();
        assert_eq!(items.len(), 500);
        for item in items {
            assert_eq!(item["create"]["status"], 201, "{item}");
            assert_eq!(item["create"]["result"], "created");
            assert_eq!(item["create"]["_index"], "logs");
        }
    }

    assert_eq!(lines_back(&s, r#"{index="logs"}"#), 2000);
    for (job, n) in &jobs {
        assert_eq!(
            lines_back(&s, &format!(r#"{{index="logs", job="{job}"}}"#)),
            *n,
            "{job}"
        );
    }
    // Each document's labels made a stream of its own, as the Loki push of the same data does.
    let (code, body) = get(
        &s,
        "/loki/api/v1/series",
        &[
            ("match[]", r#"{index="logs"}"#.into()),
            ("start", START.to_string()),
            ("end", END.to_string()),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let series: Value = serde_json::from_str(&body).unwrap();
    for stream in series["data"].as_array().unwrap() {
        assert!(
            stream["job"].is_string() && stream["host"].is_string(),
            "{stream}"
        );
    }
}

/// kill -9 right after a 200: every document of the answered body comes back.
#[test]
fn kill9_after_an_answer_loses_nothing() {
    let Some(bodies) = bodies(500) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut s = server(tmp.path());
    let body = bodies.into_iter().next().unwrap();
    let (code, answer) = post_bulk(&s, "/elasticsearch/_bulk", body, false);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["errors"], false, "{answer}");
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    drop(s);
    let s = server(tmp.path());
    assert_eq!(lines_back(&s, r#"{index="logs"}"#), 500);
}
