//! [`Detector`]: one configured detector's state — a model per result series of its query —
//! fitted from history when it starts, then fed one value per series per round; each round
//! writes the output series through an `Appender`.
//!
//! Output series (vmanomaly's names, so its dashboards carry over): `anomaly_score`, `yhat`,
//! `yhat_lower`, `yhat_upper` and `y`, with the input series' labels (its metric name
//! dropped), `for="<detector>"` and the detector's extra labels.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::time::Instant;

use bongsu_model::{Labels, LabelsBuilder};
use bongsu_promql::{Engine, PromqlError, QueryValue};
use bongsu_storage::{Storage, StorageError};
use thiserror::Error;

use super::config::DetectorConfig;
use crate::model::{Model, ModelError, Prediction};

/// The output series' names, in the order [`outputs`] yields their values.
pub const OUTPUT_NAMES: [&str; 5] = ["anomaly_score", "yhat", "yhat_lower", "yhat_upper", "y"];

#[derive(Debug, Error)]
pub enum DetectorError {
    #[error("query: {0}")]
    Query(#[from] PromqlError),
    #[error("query returned {got} series, more than max_series {max}")]
    TooManySeries { got: usize, max: usize },
    #[error("query must return an instant vector or a scalar, not a {0}")]
    WrongType(&'static str),
    #[error("model: {0}")]
    Model(#[from] ModelError),
    #[error("writing the results: {0}")]
    Storage(#[from] StorageError),
}

struct Modelled {
    model: Box<dyn Model>,
    /// The output series' labels, built once.
    outputs: [Labels; 5],
    last_seen: i64,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Round {
    pub series: usize,
    pub scored: usize,
    pub anomalies: usize,
    pub seconds: f64,
}

pub struct Detector {
    pub config: DetectorConfig,
    series: HashMap<Labels, Modelled>,
}

impl Detector {
    pub fn new(config: DetectorConfig) -> Detector {
        Detector {
            config,
            series: HashMap::new(),
        }
    }

    /// Series modelled now.
    pub fn series(&self) -> usize {
        self.series.len()
    }

    /// Bytes of model state over all series.
    pub fn state_bytes(&self) -> usize {
        self.series.values().map(|m| m.model.state_bytes()).sum()
    }

    fn modelled(&mut self, labels: &Labels, t: i64) -> Result<&mut Modelled, DetectorError> {
        let config = &self.config;
        Ok(match self.series.entry(labels.clone()) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(Modelled {
                model: config.model.build(config.interval)?,
                outputs: output_labels(config, labels),
                last_seen: t,
            }),
        })
    }

    /// Fits the models from the history before `now`: the query as a range query over
    /// `history` at the detector's interval, every value fed in order; nothing is written.
    pub fn fit_history(
        &mut self,
        db: &dyn Storage,
        engine: &Engine,
        now: i64,
    ) -> Result<usize, DetectorError> {
        let step = self.config.interval;
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
        // On the rounds' grid (multiples of the interval), so that seasonal phases learnt
        // from history line up with the live rounds after it.
        let end = (now - 1).div_euclid(step_ms) * step_ms;
        let start = end - i64::try_from(self.config.history.as_millis()).unwrap_or(0);
        if end <= start {
            return Ok(0);
        }
        let out = engine.range_query(db, &self.config.query, start, end, step)?;
        let matrix = match out.value {
            QueryValue::Matrix(m) => m,
            other => return Err(DetectorError::WrongType(other.result_type())),
        };
        if matrix.len() > self.config.max_series {
            return Err(DetectorError::TooManySeries {
                got: matrix.len(),
                max: self.config.max_series,
            });
        }
        let mut values = 0;
        for s in matrix {
            let Some(last) = s.points.last().map(|p| p.t) else {
                continue;
            };
            let m = self.modelled(&s.labels, last)?;
            for p in &s.points {
                m.model.observe(p.t, p.v);
            }
            values += s.points.len();
        }
        Ok(values)
    }

    /// One round at `t`: the query's value per series scored, learnt and written.
    pub fn evaluate(
        &mut self,
        db: &dyn Storage,
        engine: &Engine,
        t: i64,
    ) -> Result<Round, DetectorError> {
        let began = Instant::now();
        let out = engine.instant_query(db, &self.config.query, t)?;
        let values: Vec<(Labels, f64)> = match out.value {
            // Native histograms have no single value to model: their series are skipped
            // (model a float of them, e.g. `histogram_quantile(0.99, ...)`, instead).
            QueryValue::Vector(v) => v
                .into_iter()
                .filter(|s| s.h.is_none())
                .map(|s| (s.labels, s.v))
                .collect(),
            QueryValue::Scalar(p) => vec![(Labels::empty(), p.v)],
            other => return Err(DetectorError::WrongType(other.result_type())),
        };
        if values.len() > self.config.max_series {
            return Err(DetectorError::TooManySeries {
                got: values.len(),
                max: self.config.max_series,
            });
        }
        let mut round = Round {
            series: values.len(),
            ..Round::default()
        };
        let mut app = db.appender();
        for (labels, v) in &values {
            let m = self.modelled(labels, t)?;
            m.last_seen = t;
            let Some(p) = m.model.observe(t, *v) else {
                continue;
            };
            round.scored += 1;
            if p.anomaly_score > 1.0 {
                round.anomalies += 1;
            }
            for (l, value) in m.outputs.iter().zip(outputs(&p)) {
                // A rejected sample (out of order after a clock step back) is not worth
                // failing the round for; the next round writes again.
                let _ = app.append(l, t, value);
            }
        }
        app.commit()?;
        // Series gone for longer than the history the models were fitted on start over.
        let horizon = i64::try_from(self.config.history.as_millis()).unwrap_or(i64::MAX);
        self.series
            .retain(|_, m| t.saturating_sub(m.last_seen) <= horizon);
        round.seconds = began.elapsed().as_secs_f64();
        Ok(round)
    }
}

/// A prediction's values in [`OUTPUT_NAMES`] order.
pub fn outputs(p: &Prediction) -> [f64; 5] {
    [p.anomaly_score, p.yhat, p.yhat_lower, p.yhat_upper, p.y]
}

fn output_labels(config: &DetectorConfig, input: &Labels) -> [Labels; 5] {
    OUTPUT_NAMES.map(|name| {
        let mut b = LabelsBuilder::new();
        for l in input
            .iter()
            .filter(|l| &*l.name != bongsu_model::METRIC_NAME)
        {
            b.set(l.name.clone(), l.value.clone());
        }
        for (k, v) in &config.labels {
            b.set(k.as_str(), v.as_str());
        }
        b.set("for", config.name.as_str());
        b.set(bongsu_model::METRIC_NAME, name);
        // Valid by construction: names from a valid label set, validated extra labels.
        b.build().unwrap_or_else(|_| Labels::empty())
    })
}

#[cfg(test)]
mod tests {
    use bongsu_storage::memory::MemStorage;
    use bongsu_storage::{Appendable, Queryable};

    use super::*;

    const STEP: i64 = 60_000;

    fn wave(i: i64) -> f64 {
        100.0 + 40.0 * (i as f64 * std::f64::consts::TAU / 60.0).sin()
    }

    fn detector() -> Detector {
        let config: super::super::DetectorFile = serde_yaml_ng::from_str(
            "detectors: [{name: synth, query: 'load', interval: 1m, history: 4h, labels: {team: a},
               model: {class: holt_winters, seasons: [1h]}}]",
        )
        .unwrap();
        Detector::new(config.detectors[0].clone())
    }

    fn store(until: i64) -> MemStorage {
        let db = MemStorage::new();
        {
            let mut app = db.appender();
            let l = Labels::from_pairs(&[("__name__", "load"), ("host", "h1")]).unwrap();
            for i in 0..until {
                app.append(&l, i * STEP, wave(i)).unwrap();
            }
            app.commit().unwrap();
        }
        db
    }

    fn score_at(db: &MemStorage, t: i64) -> f64 {
        let q = db.querier(t, t).unwrap();
        let m =
            bongsu_model::Matcher::new(bongsu_model::MatchOp::Equal, "__name__", "anomaly_score")
                .unwrap();
        let s = q.select(&[m]).unwrap();
        assert_eq!(
            s[0].labels,
            Labels::from_pairs(&[
                ("__name__", "anomaly_score"),
                ("for", "synth"),
                ("host", "h1"),
                ("team", "a")
            ])
            .unwrap()
        );
        s[0].samples.last().unwrap().v
    }

    #[test]
    fn fitted_from_history_it_flags_a_spike_and_not_the_wave() {
        let engine = Engine::default();
        let db = store(240);
        let mut d = detector();
        let now = 240 * STEP;
        assert!(d.fit_history(&db, &engine, now).unwrap() > 200);
        // The next value, normal: written, not anomalous.
        let l = Labels::from_pairs(&[("__name__", "load"), ("host", "h1")]).unwrap();
        let push = |t: i64, v: f64| {
            let mut app = db.appender();
            app.append(&l, t, v).unwrap();
            app.commit().unwrap();
        };
        push(now, wave(240));
        let r = d.evaluate(&db, &engine, now).unwrap();
        assert_eq!((r.series, r.scored, r.anomalies), (1, 1, 0));
        assert!(score_at(&db, now) < 1.0);
        // A spike at the wave's trough, well inside its daily range.
        let t = now + STEP;
        push(t, wave(241) + 60.0);
        let r = d.evaluate(&db, &engine, t).unwrap();
        assert_eq!(r.anomalies, 1);
        assert!(score_at(&db, t) > 1.0);
        assert!(d.state_bytes() > 60 * 8);
    }

    #[test]
    fn too_many_series_is_an_error() {
        let engine = Engine::default();
        let db = store(10);
        let mut d = detector();
        d.config.max_series = 1;
        d.config.query = "load or vector(1)".into();
        let e = d.evaluate(&db, &engine, 9 * STEP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "query returned 2 series, more than max_series 1"
        );
    }
}
