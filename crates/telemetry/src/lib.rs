//! bongsu's own metrics and their Prometheus text exposition.
//!
//! A metric family (name, HELP, type, label names) is declared once, as a `static`
//! [`Family`] in the crate that owns what it counts, next to the counting. Values live in the
//! types here — [`Counter`], [`Gauge`], [`Histogram`], [`Summary`], and [`Labeled`] for one
//! of them per label set — or are read from the owner's state when `/metrics` is rendered.
//! [`Encoder`] writes families in the text format; [`process`] adds the `process_*` families
//! every Prometheus client exports, [`build_info`] the `*_build_info` gauge.
//!
//! Not here: what is counted (each crate's `metrics` module), serving the text (`api`), and a
//! global registry: the server asks each owner in turn, so a test sees only its own objects.

mod encode;
mod histogram;
mod labeled;
pub mod process;
mod scalar;
mod summary;

pub use encode::{Encode, Encoder, Family, FamilyEncoder, Kind};
pub use histogram::{Histogram, LATENCY_BUCKETS};
pub use labeled::Labeled;
pub use scalar::{Counter, Gauge};
pub use summary::{Summary, ENGINE_QUANTILES, TARGET_QUANTILES};

/// What a binary knows of its build, for a `*_build_info` gauge.
#[derive(Debug, Clone, Copy)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
    pub branch: &'static str,
    /// Prometheus reports the Go toolchain here; bongsu names its own.
    pub goversion: &'static str,
}

/// The label names of every `*_build_info` gauge, as Prometheus' version collector has them.
pub const BUILD_INFO_LABELS: &[&str] = &[
    "branch",
    "goarch",
    "goos",
    "goversion",
    "revision",
    "tags",
    "version",
];

/// Writes `family` (declared with [`BUILD_INFO_LABELS`]) as the constant 1 labelled by `info`
/// and the platform in Go's words, so dashboards grouping by `goarch` read as for Prometheus.
pub fn build_info(enc: &mut Encoder<'_>, family: &Family, info: &BuildInfo) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        other => other,
    };
    enc.family(family).sample(
        &[
            info.branch,
            arch,
            std::env::consts::OS,
            info.goversion,
            info.revision,
            "",
            info.version,
        ],
        1.0,
    );
}
