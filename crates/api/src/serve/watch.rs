//! The web configuration as in force now: re-read when the file, or a certificate, key or CA
//! file it names, changes — checked at each new connection and request, as the toolkit
//! re-reads them (so rotated certificates and changed users apply without a restart). A
//! changed file that fails to load is logged and the last good configuration stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use rustls::ServerConfig;

use super::tls::server_config;
use super::web_config::{load, Pem, WebConfig, WebConfigError};

/// One loaded configuration and its TLS setup.
pub struct Loaded {
    pub config: WebConfig,
    pub tls: Option<Arc<ServerConfig>>,
}

pub struct WebConfigWatcher {
    path: PathBuf,
    state: Mutex<(Stamps, Arc<Loaded>)>,
}

/// Modification times of the files a configuration was built from.
type Stamps = Vec<(PathBuf, Option<SystemTime>)>;

fn stamps(path: &Path, config: &WebConfig) -> Stamps {
    let mut files = vec![path.to_path_buf()];
    if let Some(t) = &config.tls {
        for pem in [Some(&t.cert), Some(&t.key), t.client_ca.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Pem::File(f) = pem {
                files.push(f.clone());
            }
        }
    }
    files
        .into_iter()
        .map(|f| {
            let modified = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
            (f, modified)
        })
        .collect()
}

fn build(path: &Path) -> Result<(Stamps, Arc<Loaded>), WebConfigError> {
    let config = load(path)?;
    let tls = config.tls.as_ref().map(server_config).transpose()?;
    Ok((stamps(path, &config), Arc::new(Loaded { config, tls })))
}

impl WebConfigWatcher {
    /// Loads the file now; an error here stops the start-up, as the toolkit's.
    pub fn open(path: &Path) -> Result<WebConfigWatcher, WebConfigError> {
        Ok(WebConfigWatcher {
            path: path.to_path_buf(),
            state: Mutex::new(build(path)?),
        })
    }

    /// The configuration in force, re-read first if one of its files changed.
    pub fn current(&self) -> Arc<Loaded> {
        let mut state = self.state.lock();
        let now = stamps(&self.path, &state.1.config);
        if now != state.0 {
            match build(&self.path) {
                Ok(fresh) => {
                    tracing::info!(file = %self.path.display(), "web configuration reloaded");
                    *state = fresh;
                }
                Err(e) => {
                    tracing::error!(file = %self.path.display(), error = %e, "cannot reload the web configuration; keeping the last good one");
                    // Not again until a file changes once more.
                    state.0 = now;
                }
            }
        }
        state.1.clone()
    }
}
