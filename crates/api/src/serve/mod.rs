//! How the server meets its clients, below the routes: the listening socket with its
//! connection cap and TLS (`listener`), the exporter-toolkit web configuration
//! (`web_config`, `tls` with the client certificate policies of `client_cert`, re-read on
//! change by `watch`) and the rate limit, basic authentication and response headers it sets
//! (`auth`).

mod auth;
mod client_cert;
mod listener;
mod tls;
mod watch;
mod web_config;

pub use auth::{middleware as auth_middleware, Auth};
pub use listener::{ServerListener, DEFAULT_MAX_CONNECTIONS};
pub use watch::WebConfigWatcher;
pub use web_config::{load as load_web_config, WebConfigError};
