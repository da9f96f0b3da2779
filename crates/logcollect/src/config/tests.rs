//! Data-driven: every `testdata/config/good/*.yml` loads, every `bad/*.yml` fails with a
//! message containing its `.err` file's text.

use std::path::{Path, PathBuf};

use super::*;

fn cases(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/config")
        .join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no cases in {}", dir.display());
    out
}

#[test]
fn good_files_load() {
    for p in cases("good") {
        if let Err(e) = LogConfig::load(&p, false) {
            panic!("{}: {e}", p.display());
        }
    }
}

#[test]
fn bad_files_fail_with_their_message() {
    for p in cases("bad") {
        let want = std::fs::read_to_string(p.with_extension("err")).unwrap();
        match LogConfig::load(&p, false) {
            Ok(_) => panic!("{} loaded", p.display()),
            Err(e) => assert!(
                e.to_string().contains(want.trim()),
                "{}: {e:?} lacks {want:?}",
                p.display()
            ),
        }
    }
}

#[test]
fn defaults_and_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/config/good");
    let empty = LogConfig::load(&dir.join("empty.yml"), false).unwrap();
    assert_eq!(empty.positions.filename, Path::new(DEFAULT_POSITIONS_FILE));
    assert_eq!(empty.positions.sync_period, DEFAULT_SYNC_PERIOD);
    assert_eq!(empty.target_sync_period, DEFAULT_SYNC_PERIOD);
    assert_eq!(
        (empty.min_poll, empty.max_poll),
        (DEFAULT_POLL, DEFAULT_POLL)
    );
    assert!(empty.clients.is_empty() && empty.scrape_configs.is_empty());

    let full = LogConfig::load(&dir.join("full.yml"), false).unwrap();
    assert_eq!(full.positions.sync_period, Duration::from_secs(5));
    assert!(full.positions.ignore_invalid_yaml);
    assert_eq!(full.clients.len(), 1);
    assert_eq!(full.target_sync_period, Duration::from_secs(30));
    assert_eq!(full.min_poll, Duration::from_millis(100));
    assert_eq!(full.limits.max_line_size, 256 * 1024);
    let sc = &full.scrape_configs[0];
    assert_eq!(sc.job_name, "system");
    assert_eq!(sc.pipeline_stages.len(), 2);
    assert_eq!(sc.relabel_configs.len(), 1);
    assert!(full.scrape_configs[1].syslog.is_some());
    assert_eq!(
        full.scrape_configs[2].decompression,
        Some(Decompression {
            initial_delay: Duration::from_secs(10)
        })
    );
}

#[test]
fn parse_errors_suggest_expand_env_and_name_the_line() {
    let e = LogConfig::parse("positions:\n  filename: [a\n", "p.yml", false).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("p.yml: yaml: "), "{msg}");
    assert!(msg.contains("line 2: "), "{msg}");
    assert!(msg.contains("--logs.config.expand-env=true"), "{msg}");
    let e = LogConfig::parse("x: 1\n", "p.yml", true).unwrap_err();
    assert!(!e.to_string().contains("expand-env"), "{e}");
}
