//! Replay: a model over the rows of a `timestamp,value` CSV, as a live detector would see
//! them (one value per row, in order, no look-ahead), giving each row its score.
//!
//! Timestamps may be Unix seconds (with a fraction), or `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC,
//! as the NAB data). The step between values, which seasonal models need, is the median gap.

use std::time::Duration;

use thiserror::Error;

use crate::model::{ModelConfig, ModelError, Prediction};

/// Most rows one replay reads.
pub const MAX_ROWS: usize = 10_000_000;

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("line {line}: {msg}")]
    Row { line: usize, msg: String },
    #[error("fewer than two rows: no step between values")]
    TooShort,
    #[error("more than {MAX_ROWS} rows")]
    TooLong,
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// One input row: its timestamp as written, in Unix ms, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub timestamp: String,
    pub t: i64,
    pub value: f64,
}

/// Reads `timestamp,value` rows; a first line that does not parse is taken as a header.
pub fn read_csv(text: &str) -> Result<Vec<Row>, ReplayError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut cols = line.splitn(3, ',');
        let ts = cols.next().unwrap_or("").trim();
        let v = cols.next().unwrap_or("").trim();
        let parsed = parse_time(ts).and_then(|t| {
            v.parse::<f64>()
                .map(|value| (t, value))
                .map_err(|_| format!("bad value {v:?}"))
        });
        match parsed {
            Ok((t, value)) => rows.push(Row {
                timestamp: ts.to_string(),
                t,
                value,
            }),
            Err(_) if i == 0 => continue,
            Err(msg) => return Err(ReplayError::Row { line: i + 1, msg }),
        }
        if rows.len() > MAX_ROWS {
            return Err(ReplayError::TooLong);
        }
    }
    Ok(rows)
}

fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1000.0).round() as i64);
    }
    let dt: jiff::civil::DateTime = s.parse().map_err(|_| format!("bad timestamp {s:?}"))?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(dt)
        .map(|ts| ts.as_millisecond())
        .map_err(|e| format!("bad timestamp {s:?}: {e}"))
}

/// The median gap between consecutive rows.
pub fn step_of(rows: &[Row]) -> Result<Duration, ReplayError> {
    let mut gaps: Vec<i64> = rows.windows(2).map(|w| w[1].t - w[0].t).collect();
    if gaps.is_empty() {
        return Err(ReplayError::TooShort);
    }
    gaps.sort_unstable();
    let ms = gaps[gaps.len() / 2].max(1);
    Ok(Duration::from_millis(ms as u64))
}

/// Each row with the model's prediction for it (`None` while it warms up).
pub fn replay(model: &ModelConfig, rows: &[Row]) -> Result<Vec<Option<Prediction>>, ReplayError> {
    let mut m = model.build(step_of(rows)?)?;
    Ok(rows.iter().map(|r| m.observe(r.t, r.value)).collect())
}

/// `timestamp,value,anomaly_score` lines (score 0 while the model warms up).
pub fn to_csv(rows: &[Row], predictions: &[Option<Prediction>]) -> String {
    let mut out = String::from("timestamp,value,anomaly_score\n");
    for (r, p) in rows.iter().zip(predictions) {
        let score = p.map_or(0.0, |p| p.anomaly_score);
        out.push_str(&format!("{},{},{}\n", r.timestamp, r.value, score));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nab_rows_and_unix_seconds() {
        let rows =
            read_csv("timestamp,value\n2014-04-01 00:00:00,1.5\n2014-04-01 00:05:00,2\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].t - rows[0].t, 300_000);
        assert_eq!(step_of(&rows).unwrap(), Duration::from_secs(300));
        let rows = read_csv("10,1\n20.5,2\n").unwrap();
        assert_eq!(rows[1].t, 20_500);
        let err = read_csv("t,v\n10,1\n20,x\n").unwrap_err();
        assert_eq!(err.to_string(), "line 3: bad value \"x\"");
    }

    #[test]
    fn replay_scores_every_row() {
        let text: String = (0..100)
            .map(|i| format!("{},{}\n", i * 60, i % 3))
            .collect();
        let rows = read_csv(&text).unwrap();
        let model: ModelConfig = serde_yaml_ng::from_str("class: zscore\nwindow: 20").unwrap();
        let preds = replay(&model, &rows).unwrap();
        assert_eq!(preds.len(), 100);
        let csv = to_csv(&rows, &preds);
        assert_eq!(csv.lines().count(), 101);
        assert!(csv.starts_with("timestamp,value,anomaly_score\n0,0,0\n"));
    }
}
