//! A bongsu server for the Loki API tests (logs kept a century, no ingestion rate limit) and
//! the requests they make: JSON pushes and GETs with query parameters.

// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::Path;

use crate::common::server::Server;

pub fn server(tmp: &Path) -> Server {
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        tmp.join("data").into(),
        "--logs.retention.time=100y".into(),
        "--logs.ingestion-rate-mb=0".into(),
    ];
    Server::spawn(args, tmp.join("bongsu.log"))
}

/// Posts a Loki JSON push body: the status and the answer's text.
pub fn push_json(s: &Server, body: &[u8]) -> (u16, String) {
    let r = s
        .http
        .post(format!("{}/loki/api/v1/push", s.base))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .unwrap();
    let code = r.status().as_u16();
    (code, r.text().unwrap())
}

/// GETs `path` with `params`: the status and the answer's text.
pub fn get(s: &Server, path: &str, params: &[(&str, String)]) -> (u16, String) {
    let r = s
        .http
        .get(format!("{}{path}", s.base))
        .query(params)
        .send()
        .unwrap();
    let code = r.status().as_u16();
    (code, r.text().unwrap())
}
