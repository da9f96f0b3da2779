//! `--web.config.file`: the exporter-toolkit web configuration, as the server and
//! `bongsu check web-config` load it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let file = dir.path().join("web.yml");
    if std::fs::write(&file, data).is_ok() {
        let _ = bongsu_api::load_web_config(&file);
    }
});
