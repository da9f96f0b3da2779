//! The runner's store: a TSDB in a temporary directory (or `MemStorage` for scripts with
//! histograms while the TSDB does not store them), and loading a script's series into it.

use std::sync::Arc;

use bongsu_model::{FloatHistogram, HistogramValue, Label, Labels, STALE_NAN};
use bongsu_storage::memory::MemStorage;
use bongsu_storage::{Appendable, Storage};
use bongsu_tsdb::{Db, DbOptions};

use super::nhcb;
use super::script::{SeriesLabels, Step};

/// Whether the TSDB stores native histograms (issue #18: its histogram chunks land on their
/// own branch), asked once of a scratch database. Until it does, scripts that load
/// histograms run on `MemStorage`.
fn tsdb_stores_histograms() -> bool {
    static STORES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STORES.get_or_init(|| {
        let Ok(dir) = tempfile::tempdir() else {
            return false;
        };
        let Ok(db) = Db::open(dir.path(), DbOptions::default()) else {
            return false;
        };
        let labels = Labels::new(vec![Label::new("__name__", "probe")]).expect("labels");
        let h = HistogramValue::Float(Arc::new(FloatHistogram::default()));
        let mut app = db.appender();
        app.append_histogram(&labels, 0, h).is_ok() && app.commit().is_ok()
    })
}

pub struct State {
    pub dir: tempfile::TempDir,
    pub db: Box<dyn Storage>,
    pub unsupported: Vec<(SeriesLabels, &'static str)>,
}

impl State {
    pub fn new(histograms: bool) -> State {
        let dir = tempfile::tempdir().expect("temp dir");
        if histograms && !tsdb_stores_histograms() {
            return State {
                dir,
                db: Box::new(MemStorage::new()),
                unsupported: Vec::new(),
            };
        }
        // A block range far beyond any script's span keeps every load in the head, whatever
        // the order of its samples' times.
        let opts = DbOptions {
            block_range_ms: 1 << 50,
            ..DbOptions::default()
        };
        let db = Db::open(dir.path(), opts).expect("open db");
        State {
            dir,
            db: Box::new(db),
            unsupported: Vec::new(),
        }
    }
}

pub fn to_labels(l: &SeriesLabels) -> Labels {
    Labels::new(
        l.iter()
            .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
            .collect(),
    )
    .expect("valid labels")
}

/// Loads `series`; returns the classic histograms `load_with_nhcb` could not convert.
pub fn load(
    db: &dyn Storage,
    step: i64,
    series: &[(SeriesLabels, Vec<Step>)],
    nhcb: bool,
) -> Vec<SeriesLabels> {
    let mut app = db.appender();
    for (labels, values) in series {
        let labels = to_labels(labels);
        for (i, v) in values.iter().enumerate() {
            let t = i as i64 * step;
            let v = match v {
                Step::Value(v) => *v,
                Step::Stale => STALE_NAN,
                Step::Missing => continue,
                Step::Histogram { h, .. } => {
                    let h = HistogramValue::Float(Arc::new((**h).clone()));
                    let _ = app.append_histogram(&labels, t, h);
                    continue;
                }
            };
            // Scripts may load a sample twice (e.g. the same series in two loads); the first
            // one stands, as upstream's storage keeps it.
            let _ = app.append(&labels, t, v);
        }
    }
    let mut failed = Vec::new();
    if nhcb {
        let (converted, f) = nhcb::convert(series, step);
        for (labels, t, h) in converted {
            let _ = app.append_histogram(&labels, t, HistogramValue::Float(Arc::new(h)));
        }
        failed = f;
    }
    app.commit().expect("commit");
    failed
}
