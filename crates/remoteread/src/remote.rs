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
        let mut maxt = maxt;
        if !self.read_recent {
            if mint > local_start {
                return Ok(Vec::new());
            }
            maxt = maxt.min(local_start);
        }
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
                samples: s.samples,
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(fanout::merge(out, Vec::new()))
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
