//! Rule files, as `--config.file`'s `rule_files` and `bongsu check rules` read them: YAML,
//! PromQL expressions, durations and the alert templates' syntax.
#![no_main]

use bongsu_relabel::NameValidationScheme;
use bongsu_rules::template::PromTemplates;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = bongsu_rules::parse(text, NameValidationScheme::Utf8, &PromTemplates::default());
});
