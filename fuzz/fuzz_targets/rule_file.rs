//! Rule files, as `--config.file`'s `rule_files` and `log_rule_files` and `bongsu check rules`
//! read them: YAML, PromQL or LogQL expressions, durations and the alert templates' syntax.
#![no_main]

use bongsu_relabel::NameValidationScheme;
use bongsu_rules::template::PromTemplates;
use bongsu_rules::QueryLang;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for lang in [QueryLang::Promql, QueryLang::Logql] {
        let _ = bongsu_rules::parse_as(
            text,
            lang,
            NameValidationScheme::Utf8,
            &PromTemplates::default(),
        );
    }
});
