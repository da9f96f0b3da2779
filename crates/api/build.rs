//! Rebuilds the crate when the UI bundle (`web/dist`, embedded by `ui.rs`) or the shipped
//! dashboards (`web/dashboards`, embedded by `dashboards.rs`) change, including
//! files added or removed there, which the embedding macro alone would not notice.

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
    println!("cargo:rerun-if-changed=../../web/dashboards");
}
