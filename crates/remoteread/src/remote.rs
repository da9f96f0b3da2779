//! Which part of a query one remote answers (`storage/remote/read.go`): `read_recent`,
//! `required_matchers`, and the external labels added as matchers and removed from the
//! answer (`filter_external_labels`).
//!
//! Not here: HTTP (the client), merging with the local answer (the fanout).

use bongsu_config::RemoteReadConfig;
use bongsu_model::{Labels, MatchOp, Matcher};
use bongsu_storage::Series;

use crate::client::Client;
use crate::{codec, fanout, ReadError};

/// A remote and the rules of what it is asked.
pub struct Remote {
    client: Client,
    /// Empty when `filter_external_labels` is off.
    external: Labels,
    required: Vec<(String, String)>,
    read_recent: bool,
}

impl Remote {
    pub fn new(cfg: &RemoteReadConfig, client: Client, external: &Labels) -> Remote {
        Remote {
            client,
            external: if cfg.filter_external_labels {
                external.clone()
            } else {
                Labels::default()
            },
            required: cfg
                .required_matchers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            read_recent: cfg.read_recent,
        }
    }

    /// The series of `[mint, maxt]` matching `matchers` this remote should answer for, given
    /// that local storage holds everything from `local_start` on. Without `read_recent`, a
    /// range starting after `local_start` is not asked for, and a range ending after it is cut
    /// there (Prometheus' `preferLocalStorage`).
    pub fn select(
        &self,
        mint: i64,
        maxt: i64,
        local_start: i64,
        matchers: &[Matcher],
    ) -> Result<Vec<Series>, ReadError> {
        if !self.covers(mint, local_start) {
            return Ok(Vec::new());
        }
        let maxt = match self.read_recent {
            true => maxt,
            false => maxt.min(local_start),
        };
        let has_all_required = self.required.iter().all(|(name, value)| {
            matchers
                .iter()
                .any(|m| m.op == MatchOp::Equal && m.name == *name && m.value == *value)
        });
        if !has_all_required {
            return Ok(Vec::new());
        }
        let (matchers, added) = self.with_external(matchers)?;
        let series = self.client.read(codec::to_query(mint, maxt, &matchers))?;
        if added.is_empty() {
            return Ok(series);
        }
        let names: Vec<&str> = added.iter().map(String::as_str).collect();
        let mut out: Vec<Series> = series
            .into_iter()
            .map(|s| Series {
                labels: s.labels.without(&names),
                ..s
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(fanout::merge(out, Vec::new()))
    }

    /// Whether a range starting at `mint` goes to this remote at all.
    pub fn covers(&self, mint: i64, local_start: i64) -> bool {
        self.read_recent || mint <= local_start
    }

    /// `matchers` plus an equality matcher for each external label no matcher names, and the
    /// names added.
    fn with_external(
        &self,
        matchers: &[Matcher],
    ) -> Result<(Vec<Matcher>, Vec<String>), ReadError> {
        let mut out = matchers.to_vec();
        let mut added = Vec::new();
        for l in self.external.iter() {
            if matchers.iter().any(|m| *m.name == *l.name) {
                continue;
            }
            out.push(
                Matcher::new(MatchOp::Equal, &l.name, &l.value)
                    .map_err(|e| ReadError::Request(e.to_string()))?,
            );
            added.push(l.name.to_string());
        }
        Ok((out, added))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use bongsu_ingest::proto::v1::{Label, Sample, TimeSeries};
    use bongsu_ingest::read_proto::{Query, QueryResult, ReadRequest, ReadResponse};
    use prost::Message;

    use super::*;

    type Seen = Arc<Mutex<Vec<Query>>>;

    /// A remote-read server answering every query with `x{dc="eu",job="j"}`, recording the
    /// queries it got; returns its URL.
    fn stub(rt: &tokio::runtime::Runtime, seen: Seen) -> String {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/read", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/read",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    for (name, want) in [
                        ("content-encoding", "snappy"),
                        ("accept-encoding", "snappy"),
                        ("content-type", "application/x-protobuf"),
                        ("x-prometheus-remote-read-version", "0.1.0"),
                        ("x-tenant", "t1"),
                    ] {
                        assert_eq!(headers[name], want, "{name}");
                    }
                    assert!(headers["user-agent"]
                        .to_str()
                        .unwrap()
                        .starts_with("bongsu/"));
                    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                    let req = ReadRequest::decode(raw.as_slice()).unwrap();
                    seen.lock().unwrap().extend(req.queries);
                    let label = |n: &str, v: &str| Label {
                        name: n.as_bytes().to_vec().into(),
                        value: v.as_bytes().to_vec().into(),
                    };
                    let resp = ReadResponse {
                        results: vec![QueryResult {
                            timeseries: vec![TimeSeries {
                                labels: vec![
                                    label("__name__", "x"),
                                    label("dc", "eu"),
                                    label("job", "j"),
                                ],
                                samples: vec![Sample {
                                    value: 1.0,
                                    timestamp: 1,
                                }],
                                exemplars: vec![],
                                histograms: vec![],
                            }],
                        }],
                    };
                    let body = snap::raw::Encoder::new()
                        .compress_vec(&resp.encode_to_vec())
                        .unwrap();
                    ([("content-type", "application/x-protobuf")], body)
                }
            }),
        );
        rt.spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn remote(rt: &tokio::runtime::Runtime, url: &str, yaml: &str) -> Remote {
        let cfg = bongsu_config::Config::parse(
            &format!("remote_read:\n- url: {url}\n  name: t\n  headers: {{X-Tenant: t1}}\n{yaml}"),
            "t.yml",
        )
        .unwrap()
        .remote_read
        .remove(0);
        let client = Client::new(&cfg, "t", rt.handle().clone()).unwrap();
        Remote::new(&cfg, client, &Labels::from_pairs(&[("dc", "eu")]).unwrap())
    }

    fn eq(name: &str, value: &str) -> Matcher {
        Matcher::new(MatchOp::Equal, name, value).unwrap()
    }

    fn asked(seen: &Seen) -> Vec<(i64, i64, Vec<String>)> {
        seen.lock()
            .unwrap()
            .drain(..)
            .map(|q| {
                let ms = q
                    .matchers
                    .iter()
                    .map(|m| format!("{}:{}={}", m.r#type, m.name, m.value))
                    .collect();
                (q.start_timestamp_ms, q.end_timestamp_ms, ms)
            })
            .collect()
    }

    #[test]
    fn required_matchers_read_recent_and_external_labels() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let seen = Seen::default();
        let url = stub(&rt, seen.clone());

        // Without read_recent: nothing after local storage's start, and cut there.
        let r = remote(&rt, &url, "  required_matchers: {job: j}\n");
        assert!(r
            .select(200, 300, 100, &[eq("__name__", "x")])
            .unwrap()
            .is_empty());
        assert!(asked(&seen).is_empty(), "no required matcher: not asked");
        let got = r
            .select(0, 500, 100, &[eq("__name__", "x"), eq("job", "j")])
            .unwrap();
        assert_eq!(
            asked(&seen),
            vec![(
                0,
                100,
                vec!["0:__name__=x".into(), "0:job=j".into(), "0:dc=eu".into()]
            )]
        );
        // The external label added as a matcher is removed from the answer.
        assert_eq!(
            got[0].labels,
            Labels::from_pairs(&[("__name__", "x"), ("job", "j")]).unwrap()
        );
        assert!(r
            .select(200, 300, 100, &[eq("__name__", "x"), eq("job", "j")])
            .unwrap()
            .is_empty());
        assert!(asked(&seen).is_empty(), "after the local start: not asked");

        // read_recent asks for the whole range; a matcher naming `dc` keeps it in the answer.
        let r = remote(&rt, &url, "  read_recent: true\n");
        let dc = Matcher::new(MatchOp::Regex, "dc", ".+").unwrap();
        let got = r.select(200, 300, 100, &[eq("__name__", "x"), dc]).unwrap();
        assert_eq!(
            asked(&seen),
            vec![(200, 300, vec!["0:__name__=x".into(), "2:dc=.+".into()])]
        );
        assert_eq!(got[0].labels.get("dc"), Some("eu"));

        // filter_external_labels: false adds no matcher and removes nothing.
        let r = remote(
            &rt,
            &url,
            "  read_recent: true\n  filter_external_labels: false\n",
        );
        let got = r.select(0, 10, 100, &[eq("__name__", "x")]).unwrap();
        assert_eq!(asked(&seen), vec![(0, 10, vec!["0:__name__=x".into()])]);
        assert_eq!(got[0].labels.get("dc"), Some("eu"));
    }
}
