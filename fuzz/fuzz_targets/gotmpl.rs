//! Go templates (alert annotations, notification templates): parsed, then executed on a
//! small value.
#![no_main]

use bongsu_gotmpl::{Template, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mut t = Template::new("fuzz");
    if t.parse(text).is_ok() {
        let _ = t.execute(&Value::Int(7));
    }
});
