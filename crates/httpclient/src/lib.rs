//! HTTP client settings and clients, shared by scrape jobs, the notifier's Alertmanagers,
//! remote endpoints and the Alertmanager's receivers (Prometheus' `common/config`).
//!
//! This crate owns the `http_config` model ([`HttpClientConfig`]: authentication, TLS, proxy,
//! headers, redirects) with Prometheus' validation messages, the [`inline_http_client!`] macro
//! that lets a YAML section carry those keys inline, [`Secret`]s that never print, building a
//! `reqwest` client from the settings, and adding credentials to a request. It knows nothing of
//! what is fetched or sent: scraping, notifying and writing belong to their crates.

mod client;
mod config;
mod redact;

use thiserror::Error;

pub use client::{client, with_auth, CredentialError};
pub use config::{
    join_dir, read_secret_file, Authorization, BasicAuth, HeaderValues, HttpClientConfig,
    HttpClientSection, HttpParts, Secret, TlsConfig, TlsVersion,
};
pub use redact::{redact_url, URL_PASSWORD_MASK};

/// A semantic error in HTTP client settings, with Prometheus' wording.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> ConfigError {
        ConfigError(message.into())
    }
}

/// Go's URL parser accepts nearly anything; refuse only what no URL can contain.
pub fn check_url(url: &str) -> Result<(), ConfigError> {
    if url.is_empty() || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ConfigError::new(format!("parse {url:?}: invalid URL")));
    }
    Ok(())
}
