//! Scraping: targets from the configuration, a loop per target that fetches its `/metrics`,
//! and the translation of each body into samples (with relabeling, limits and staleness).

pub mod append;
pub mod discovery;
pub mod fetch;
pub mod from_config;
pub mod manager;
mod metrics;
pub mod scrape_loop;
pub mod target;
