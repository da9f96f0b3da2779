//! `append_scrape` on bodies of each format, against the in-memory store.
use super::*;
use bongsu_exposition::Format;
use bongsu_model::{is_stale_nan, Matcher};
use bongsu_storage::memory::MemStorage;
use bongsu_storage::{Appendable, Queryable};

const BODY1: &str =
    "# TYPE up_ish gauge\n# HELP up_ish A gauge.\nup_ish{job=\"inner\"} 1\nother 2\n";
const BODY2: &str = "# TYPE up_ish gauge\nup_ish{job=\"inner\"} 3\n";

fn target() -> Labels {
    Labels::from_pairs(&[("job", "outer"), ("instance", "h:1")]).unwrap()
}

fn keep_all(l: Labels) -> Option<Labels> {
    Some(l)
}

fn opts<'a>(
    target: &'a Labels,
    relabel: &'a (dyn Fn(Labels) -> Option<Labels> + Sync),
) -> ScrapeOptions<'a> {
    ScrapeOptions {
        target_labels: target,
        rules: SampleRules {
            honor_timestamps: true,
            ..SampleRules::default()
        },
        metric_relabel: relabel,
    }
}

fn scrape(
    db: &MemStorage,
    cache: &mut SeriesCache,
    body: &str,
    t: i64,
    o: &ScrapeOptions<'_>,
) -> Result<ScrapeReport, ScrapeError> {
    let mut app = db.appender();
    let r = append_scrape(
        &mut *app,
        cache,
        body.as_bytes(),
        BodyFormat::Text(Format::PrometheusText),
        t,
        o,
    )?;
    app.commit().unwrap();
    Ok(r)
}

fn all(db: &MemStorage) -> Vec<(String, Vec<(i64, f64)>)> {
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::new(bongsu_model::MatchOp::Regex, "__name__", ".+").unwrap()])
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v)).collect(),
            )
        })
        .collect()
}

#[test]
fn target_labels_exported_prefix_and_staleness() {
    let db = MemStorage::new();
    let t = target();
    let o = opts(&t, &keep_all);
    let mut cache = SeriesCache::new();
    let r = scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
    assert_eq!(
        (r.scraped, r.post_relabel, r.series_added, r.stale),
        (2, 2, 2, 0)
    );
    assert_eq!(cache.metadata.get("up_ish").unwrap().help, "A gauge.");
    let r = scrape(&db, &mut cache, BODY2, 2000, &o).unwrap();
    assert_eq!((r.scraped, r.series_added, r.stale), (1, 0, 1));
    let got = all(&db);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "other{instance=\"h:1\", job=\"outer\"}");
    assert_eq!(got[0].1[0], (1000, 2.0));
    assert!(
        is_stale_nan(got[0].1[1].1),
        "the vanished series got a stale marker"
    );
    assert_eq!(
        got[1].0,
        "up_ish{exported_job=\"inner\", instance=\"h:1\", job=\"outer\"}"
    );
    assert_eq!(got[1].1, vec![(1000, 1.0), (2000, 3.0)]);
}

#[test]
fn rejected_samples_are_counted_by_reason() {
    let db = MemStorage::new();
    let t = target();
    let o = opts(&t, &keep_all);
    let mut cache = SeriesCache::new();
    scrape(&db, &mut cache, "a 1 2000\nb 1 2000\n", 3000, &o).unwrap();
    let r = scrape(&db, &mut cache, "a 1 1000\nb 2 2000\n", 4000, &o).unwrap();
    assert_eq!(
        (r.out_of_order, r.duplicate_timestamp, r.out_of_bounds),
        (1, 1, 0)
    );
}

#[test]
fn honor_labels_keeps_scraped_values() {
    let db = MemStorage::new();
    let t = target();
    let mut o = opts(&t, &keep_all);
    o.rules.honor_labels = true;
    scrape(&db, &mut SeriesCache::new(), BODY2, 1000, &o).unwrap();
    assert_eq!(all(&db)[0].0, "up_ish{instance=\"h:1\", job=\"inner\"}");
}

#[test]
fn limits_and_relabel_drops() {
    let db = MemStorage::new();
    let t = target();
    let mut o = opts(&t, &keep_all);
    o.rules.sample_limit = 1;
    let mut cache = SeriesCache::new();
    assert!(matches!(
        scrape(&db, &mut cache, BODY1, 1000, &o),
        Err(ScrapeError::SampleLimit { .. })
    ));
    assert!(cache.is_empty(), "a failed scrape leaves the cache alone");
    o.rules.sample_limit = 0;
    o.rules.label_limit = 2;
    assert!(matches!(
        scrape(&db, &mut cache, BODY1, 1000, &o),
        Err(ScrapeError::LabelLimit { .. })
    ));
    let drop_other = |l: Labels| (l.metric_name() != Some("other")).then_some(l);
    let o = opts(&t, &drop_other);
    let r = scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
    assert_eq!((r.scraped, r.post_relabel), (2, 1));
    assert_eq!(all(&db).len(), 1);
    assert!(matches!(
        scrape(&db, &mut cache, "bad line here\n", 2000, &o),
        Err(ScrapeError::Parse(_))
    ));
}

#[test]
fn a_failed_scrape_does_not_hide_a_vanished_series() {
    let db = MemStorage::new();
    let t = target();
    let o = opts(&t, &keep_all);
    let mut cache = SeriesCache::new();
    scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
    // `other` is seen by a scrape that then fails: that must not count as seen later.
    let mut app = db.appender();
    let failed = append_scrape(
        &mut *app,
        &mut cache,
        b"other 5\nbad line here\n",
        BodyFormat::Text(Format::PrometheusText),
        2000,
        &o,
    );
    assert!(matches!(failed, Err(ScrapeError::Parse(_))));
    drop(app);
    let r = scrape(&db, &mut cache, BODY2, 3000, &o).unwrap();
    assert_eq!((r.scraped, r.series_added, r.stale), (1, 0, 1));
    let got = all(&db);
    assert_eq!(got[0].0, "other{instance=\"h:1\", job=\"outer\"}");
    assert_eq!(got[0].1.len(), 2);
    assert!(is_stale_nan(got[0].1[1].1));
    assert_eq!(got[0].1[1].0, 3000);
}

#[test]
fn all_stale_when_the_target_fails() {
    let db = MemStorage::new();
    let t = target();
    let o = opts(&t, &keep_all);
    let mut cache = SeriesCache::new();
    scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
    let mut app = db.appender();
    assert_eq!(cache.mark_all_stale(&mut *app, 2000), 2);
    app.commit().unwrap();
    assert!(all(&db).iter().all(|(_, s)| is_stale_nan(s[1].1)));
}

// ---------------------------------------------------------------------------------------
// Protobuf bodies and native histograms
// ---------------------------------------------------------------------------------------

mod proto {
    use super::*;
    use bongsu_exposition::proto::{
        encode_delimited, Bucket, BucketSpan, Metric, MetricFamily, ProtoHistogram, ProtoMetricType,
    };
    use bongsu_model::HistogramValue;

    /// A body with one histogram family `h`: classic buckets, and native ones when
    /// `native` (schema 3, `n` buckets of 1 each).
    fn body(native: Option<usize>, float: bool) -> Vec<u8> {
        let mut h = ProtoHistogram {
            sample_count: 8,
            sample_sum: 4.0,
            bucket: vec![Bucket {
                cumulative_count: 3,
                upper_bound: 0.5,
                ..Default::default()
            }],
            ..Default::default()
        };
        if let Some(n) = native {
            h.schema = 3;
            h.sample_count = n as u64;
            h.positive_span = vec![BucketSpan {
                offset: 0,
                length: n as u32,
            }];
            if float {
                h.sample_count_float = n as f64;
                h.positive_count = vec![1.0; n];
            } else {
                h.positive_delta = vec![0; n];
                h.positive_delta[0] = 1;
            }
        }
        let mf = MetricFamily {
            name: "h".into(),
            help: "A histogram.".into(),
            r#type: ProtoMetricType::Histogram as i32,
            metric: vec![Metric {
                histogram: Some(h),
                ..Default::default()
            }],
            unit: String::new(),
        };
        let mut out = Vec::new();
        encode_delimited(&[mf], &mut out);
        out
    }

    fn scrape_proto(
        db: &MemStorage,
        cache: &mut SeriesCache,
        body: &[u8],
        t: i64,
        o: &ScrapeOptions<'_>,
    ) -> Result<ScrapeReport, ScrapeError> {
        let mut app = db.appender();
        let r = append_scrape(&mut *app, cache, body, BodyFormat::Proto, t, o)?;
        app.commit().unwrap();
        Ok(r)
    }

    /// Each series with its histogram samples.
    fn histograms(db: &MemStorage) -> Vec<(String, Vec<(i64, HistogramValue)>)> {
        db.querier(i64::MIN, i64::MAX)
            .unwrap()
            .select(&[Matcher::new(bongsu_model::MatchOp::Regex, "__name__", ".+").unwrap()])
            .unwrap()
            .into_iter()
            .filter(|s| !s.histograms.is_empty())
            .map(|s| {
                (
                    s.labels.to_string(),
                    s.histograms.iter().map(|x| (x.t, x.h.clone())).collect(),
                )
            })
            .collect()
    }

    fn native_opts<'a>(
        t: &'a Labels,
        relabel: &'a (dyn Fn(Labels) -> Option<Labels> + Sync),
    ) -> ScrapeOptions<'a> {
        let mut o = opts(t, relabel);
        o.rules.histograms.native = true;
        o
    }

    #[test]
    fn classic_series_without_native_histograms() {
        let db = MemStorage::new();
        let t = target();
        let o = opts(&t, &keep_all);
        let r = scrape_proto(
            &db,
            &mut SeriesCache::new(),
            &body(Some(4), false),
            1000,
            &o,
        )
        .unwrap();
        assert_eq!((r.scraped, r.series_added), (4, 4));
        let names: Vec<String> = all(&db).into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            names,
            [
                "h_bucket{instance=\"h:1\", job=\"outer\", le=\"+Inf\"}",
                "h_bucket{instance=\"h:1\", job=\"outer\", le=\"0.5\"}",
                "h_count{instance=\"h:1\", job=\"outer\"}",
                "h_sum{instance=\"h:1\", job=\"outer\"}",
            ]
        );
        assert!(histograms(&db).is_empty());
    }

    #[test]
    fn native_histograms_and_their_stale_markers() {
        for float in [false, true] {
            let db = MemStorage::new();
            let t = target();
            let o = native_opts(&t, &keep_all);
            let mut cache = SeriesCache::new();
            let r = scrape_proto(&db, &mut cache, &body(Some(4), float), 1000, &o).unwrap();
            assert_eq!((r.scraped, r.post_relabel, r.series_added), (1, 1, 1));
            assert_eq!(cache.metadata.get("h").unwrap().help, "A histogram.");
            // The family is gone from the next scrape: a histogram stale marker of its kind.
            let r = scrape_proto(&db, &mut cache, &[], 2000, &o).unwrap();
            assert_eq!(r.stale, 1);
            let got = histograms(&db);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, "h{instance=\"h:1\", job=\"outer\"}");
            let samples = &got[0].1;
            assert_eq!(samples.len(), 2);
            assert_eq!(samples[0].0, 1000);
            assert!(!samples[0].1.is_stale());
            assert!(samples[1].1.is_stale());
            assert_eq!(
                matches!(samples[1].1, HistogramValue::Float(_)),
                float,
                "the marker has the series' kind"
            );
        }
    }

    #[test]
    fn classic_series_kept_beside_native_ones() {
        let db = MemStorage::new();
        let t = target();
        let mut o = native_opts(&t, &keep_all);
        o.rules.histograms.keep_classic = true;
        let r = scrape_proto(
            &db,
            &mut SeriesCache::new(),
            &body(Some(2), false),
            1000,
            &o,
        )
        .unwrap();
        assert_eq!(r.scraped, 5);
        assert_eq!(histograms(&db).len(), 1);
        assert_eq!(all(&db).iter().filter(|(_, s)| !s.is_empty()).count(), 4);
    }

    #[test]
    fn bucket_limit_and_min_bucket_factor() {
        let db = MemStorage::new();
        let t = target();
        let mut o = native_opts(&t, &keep_all);
        o.rules.histograms.bucket_limit = 2;
        let mut cache = SeriesCache::new();
        scrape_proto(&db, &mut cache, &body(Some(8), false), 1000, &o).unwrap();
        let HistogramValue::Int(h) = &histograms(&db)[0].1[0].1 else {
            panic!("an integer histogram")
        };
        assert!(h.positive_buckets.len() <= 2, "{h:?}");
        assert!(h.schema < 3);

        o.rules.histograms.bucket_limit = 0;
        o.rules.histograms.max_schema = 1;
        let db = MemStorage::new();
        scrape_proto(&db, &mut SeriesCache::new(), &body(Some(8), true), 1000, &o).unwrap();
        let HistogramValue::Float(h) = &histograms(&db)[0].1[0].1 else {
            panic!("a float histogram")
        };
        assert_eq!(h.schema, 1);
        // Schema 3 buckets 0..=7 go to schema 1 buckets 0, 1 (1..=4) and 2 (5..=7).
        assert_eq!(h.positive_buckets, [1.0, 4.0, 3.0]);

        // Custom buckets cannot be merged: over the limit fails the scrape.
        let mut wide = body(Some(4), false);
        wide.clear();
        let nhcb = ProtoHistogram {
            schema: bongsu_model::histogram::CUSTOM_BUCKETS_SCHEMA,
            sample_count: 3,
            positive_span: vec![BucketSpan {
                offset: 0,
                length: 3,
            }],
            positive_delta: vec![1, 0, 0],
            ..Default::default()
        };
        encode_delimited(
            &[MetricFamily {
                name: "n".into(),
                help: String::new(),
                r#type: ProtoMetricType::Histogram as i32,
                metric: vec![Metric {
                    histogram: Some(nhcb),
                    ..Default::default()
                }],
                unit: String::new(),
            }],
            &mut wide,
        );
        o.rules.histograms.bucket_limit = 2;
        let err = scrape_proto(&db, &mut SeriesCache::new(), &wide, 3000, &o).unwrap_err();
        assert_eq!(err.to_string(), "histogram bucket limit exceeded");
    }
}

#[test]
fn text_classic_histograms_to_nhcb_and_their_stale_markers() {
    let db = MemStorage::new();
    let t = target();
    let mut o = opts(&t, &keep_all);
    o.rules.histograms.convert_nhcb = true;
    let mut cache = SeriesCache::new();
    let body =
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 3\n";
    let r = scrape(&db, &mut cache, body, 1000, &o).unwrap();
    assert_eq!((r.scraped, r.series_added), (1, 1));
    let r = scrape(&db, &mut cache, "", 2000, &o).unwrap();
    assert_eq!(r.stale, 1);
    let series = db
        .querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", "h")])
        .unwrap();
    assert_eq!(series.len(), 1);
    let h = &series[0].histograms;
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].h.to_float().custom_values, [1.0]);
    assert!(h[1].h.is_stale());
    assert!(all(&db).iter().all(|(l, _)| !l.starts_with("h_")));
}
