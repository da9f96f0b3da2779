//! Prometheus' `model/histogram` table tests, run against our histograms. The cases live in
//! `tests/data/histogram/*.json`, converted from upstream's Go test files by
//! `tests/data/histogram/golit.py` (numbers as strings, exact as Go's constants).

mod data;
mod float;
mod int;
