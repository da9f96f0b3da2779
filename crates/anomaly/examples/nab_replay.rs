//! Replays one model over every NAB data file and writes the scores in NAB's results layout
//! (`OUT/<detector>/<category>/<detector>_<file>.csv`), for `benches/anomaly/nab_score.py`.
//! The model is given as YAML (a detector's `model:`). Used by `benches/anomaly/nab.sh`.
//!
//! ```sh
//! cargo run --release -p bongsu-anomaly --example nab_replay -- \
//!     ../shared/anomaly/nab /tmp/nab-results zscore 'class: zscore'
//! ```

use std::path::Path;
use std::{env, fs, process};

use bongsu_anomaly::replay::{read_csv, replay, to_csv};
use bongsu_anomaly::ModelConfig;

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let [nab, out, name, model] = args.as_slice() else {
        eprintln!("usage: nab_replay NAB_DIR OUT_DIR DETECTOR_NAME MODEL_YAML");
        process::exit(2);
    };
    let model: ModelConfig = serde_yaml_ng::from_str(model).unwrap_or_else(|e| {
        eprintln!("model: {e}");
        process::exit(2)
    });
    let data = Path::new(nab).join("data");
    let mut files = 0;
    let mut categories: Vec<_> = fs::read_dir(&data)
        .and_then(|d| d.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| fail(&data, e));
    categories.sort_by_key(|e| e.file_name());
    for cat in categories {
        let mut entries: Vec<_> = fs::read_dir(cat.path())
            .and_then(|d| d.collect::<Result<Vec<_>, _>>())
            .unwrap_or_else(|e| fail(&cat.path(), e));
        entries.sort_by_key(|e| e.file_name());
        let dir = Path::new(out).join(name).join(cat.file_name());
        fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&dir, e));
        for f in entries {
            let path = f.path();
            let text = fs::read_to_string(&path).unwrap_or_else(|e| fail(&path, e));
            let rows = read_csv(&text).unwrap_or_else(|e| fail(&path, e));
            let preds = replay(&model, &rows).unwrap_or_else(|e| fail(&path, e));
            let target = dir.join(format!("{name}_{}", f.file_name().to_string_lossy()));
            fs::write(&target, to_csv(&rows, &preds)).unwrap_or_else(|e| fail(&target, e));
            files += 1;
        }
    }
    eprintln!("{files} files replayed with {name}");
}

fn fail(path: &Path, e: impl std::fmt::Display) -> ! {
    eprintln!("{}: {e}", path.display());
    process::exit(1)
}
