//! `load_with_nhcb`: the classic histograms of a load (`_bucket` series with `le`, `_count`,
//! `_sum`) also stored as native histograms with custom buckets, one per time, as upstream's
//! promqltest does with `convertnhcb`.

use std::collections::BTreeMap;

use bongsu_model::histogram::{ClassicHistogramBuilder, HistogramError};
use bongsu_model::{FloatHistogram, Label, Labels};

use super::script::{SeriesLabels, Step};

/// One classic histogram at one time.
#[derive(Default)]
struct Temp {
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
}

/// The native histograms of the classic ones in `series` (sorted by time per series), and the
/// series that could not be converted.
pub fn convert(
    series: &[(SeriesLabels, Vec<Step>)],
    step: i64,
) -> (Vec<(Labels, i64, FloatHistogram)>, Vec<SeriesLabels>) {
    let mut by_series: BTreeMap<SeriesLabels, BTreeMap<i64, Temp>> = BTreeMap::new();
    for (labels, values) in series {
        let Some(name) = labels.iter().find(|(n, _)| n == "__name__").map(|l| &l.1) else {
            continue;
        };
        let (kind, base) = if let Some(b) = name.strip_suffix("_bucket") {
            (0, b)
        } else if let Some(b) = name.strip_suffix("_count") {
            (1, b)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (2, b)
        } else {
            continue;
        };
        let le = if kind == 0 {
            let le = labels.iter().find(|(n, _)| n == "le").map(|l| l.1.as_str());
            match le
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| !v.is_nan())
            {
                Some(le) => Some(le),
                None => continue,
            }
        } else {
            None
        };
        let key: SeriesLabels = labels
            .iter()
            .filter(|(n, _)| n != "le")
            .map(|(n, v)| {
                let v = if n == "__name__" {
                    base.to_string()
                } else {
                    v.clone()
                };
                (n.clone(), v)
            })
            .collect();
        let temps = by_series.entry(key).or_default();
        for (i, v) in values.iter().enumerate() {
            let v = match v {
                Step::Value(v) => *v,
                Step::Stale => bongsu_model::STALE_NAN,
                Step::Missing | Step::Histogram { .. } => continue,
            };
            let temp = temps.entry(i as i64 * step).or_default();
            match le {
                Some(le) => temp.buckets.push((le, v)),
                None if kind == 1 => temp.count = Some(v),
                None => temp.sum = v,
            }
        }
    }
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for (key, temps) in by_series {
        let labels = Labels::new(
            key.iter()
                .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
                .collect(),
        );
        let Ok(labels) = labels else { continue };
        for (t, temp) in temps {
            match from_classic(&temp) {
                Ok(h) => out.push((labels.clone(), t, h)),
                Err(_) => {
                    failed.push(key.clone());
                    break;
                }
            }
        }
    }
    (out, failed)
}

/// Upstream's `TempHistogram.Convert`: buckets in load order, the count when given.
fn from_classic(temp: &Temp) -> Result<FloatHistogram, HistogramError> {
    let mut b = ClassicHistogramBuilder::new();
    for &(le, c) in &temp.buckets {
        b.set_bucket_count(le, c)?;
    }
    if let Some(c) = temp.count {
        b.set_count(c)?;
    }
    b.set_sum(temp.sum)?;
    let h = b.convert()?;
    let fh = h.to_float();
    fh.validate()?;
    Ok(fh)
}
