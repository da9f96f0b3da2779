//! `basic_auth_users` and `http_server_config.headers` of the web configuration, as a
//! middleware in front of every route: a request without valid credentials gets the toolkit's
//! 401, and every response carries the configured headers.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parking_lot::Mutex;

use super::watch::WebConfigWatcher;

/// Verified credentials remembered, so a client does not pay bcrypt's cost on every request
/// (as the toolkit caches them). Past this many the memory is cleared.
const MAX_REMEMBERED: usize = 1024;

/// The middleware's state: the configuration and the credentials verified so far, kept as
/// keyed hashes of (user, stored hash, password), never the passwords.
#[derive(Clone)]
pub struct Auth {
    web: Arc<WebConfigWatcher>,
    verified: Arc<Mutex<HashSet<u64>>>,
    keys: RandomState,
}

impl Auth {
    pub fn new(web: Arc<WebConfigWatcher>) -> Auth {
        Auth {
            web,
            verified: Arc::default(),
            keys: RandomState::new(),
        }
    }

    /// Whether `authorization` holds a user's valid password.
    fn allows(
        &self,
        users: &std::collections::BTreeMap<String, String>,
        authorization: Option<&HeaderValue>,
    ) -> bool {
        let Some((user, password)) = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b64| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
            })
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|text| {
                text.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            })
        else {
            return false;
        };
        let Some(hash) = users.get(&user) else {
            return false;
        };
        let key = self.keys.hash_one((&user, hash, &password));
        if self.verified.lock().contains(&key) {
            return true;
        }
        if !bcrypt::verify(&password, hash).unwrap_or(false) {
            return false;
        }
        let mut verified = self.verified.lock();
        if verified.len() >= MAX_REMEMBERED {
            verified.clear();
        }
        verified.insert(key);
        true
    }
}

pub async fn middleware(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    let loaded = auth.web.current();
    let config = &loaded.config;
    let mut response = if config.users.is_empty() {
        next.run(request).await
    } else {
        let header = request.headers().get(header::AUTHORIZATION).cloned();
        let users = config.users.clone();
        let check = auth.clone();
        // bcrypt is deliberately slow: verify off the async workers.
        let allowed = tokio::task::spawn_blocking(move || check.allows(&users, header.as_ref()))
            .await
            .unwrap_or(false);
        if allowed {
            next.run(request).await
        } else {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic")],
                "Unauthorized\n",
            )
                .into_response()
        }
    };
    for (name, value) in &config.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}
