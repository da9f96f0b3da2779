//! Scraping: targets from the configuration, a loop per target that fetches its `/metrics`,
//! and the translation of each body into samples (with relabeling, limits and staleness).

pub mod append;
mod cache;
pub mod discovery;
pub mod fetch;
pub mod format;
pub mod from_config;
pub mod histograms;
pub mod manager;
mod metrics;
pub mod scrape_loop;
pub mod target;
