//! `rate_limit`, `basic_auth_users` and `http_server_config.headers` of the web
//! configuration, as a middleware in front of every route, in the toolkit's order: a request
//! over the rate gets 429, one without valid credentials the toolkit's 401, and every other
//! response carries the configured headers.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parking_lot::Mutex;

use super::watch::WebConfigWatcher;
use super::web_config::RateLimit;

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
    limiter: Option<Arc<RateLimiter>>,
}

impl Auth {
    /// The rate limit is the one configured now: the toolkit reads it once, at start-up.
    pub fn new(web: Arc<WebConfigWatcher>) -> Auth {
        let limiter = web
            .current()
            .config
            .rate_limit
            .map(|limit| Arc::new(RateLimiter::new(limit)));
        Auth {
            web,
            verified: Arc::default(),
            keys: RandomState::new(),
            limiter,
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

/// A token bucket over all requests, as Go's `rate.Limiter` with `rate.Every(interval)`:
/// it starts full (`burst` tokens) and gains one token per `interval`, up to `burst`.
struct RateLimiter {
    limit: RateLimit,
    /// Tokens (fractional while refilling) as of the instant.
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            state: Mutex::new((f64::from(limit.burst), Instant::now())),
        }
    }

    fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock();
        let gained = now.saturating_duration_since(state.1).as_secs_f64()
            / self.limit.interval.as_secs_f64();
        let tokens = (state.0 + gained).min(f64::from(self.limit.burst));
        *state = (tokens, now.max(state.1));
        if tokens >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

pub async fn middleware(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    if auth.limiter.as_ref().is_some_and(|l| !l.allow()) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            "Too Many Requests\n",
        )
            .into_response();
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_bucket_starts_full_and_refills_one_token_per_interval() {
        let l = RateLimiter::new(RateLimit {
            interval: Duration::from_millis(100),
            burst: 3,
        });
        let t0 = l.state.lock().1;
        assert!((0..3).all(|_| l.allow_at(t0)));
        assert!(!l.allow_at(t0));
        assert!(!l.allow_at(t0 + Duration::from_millis(50)));
        assert!(l.allow_at(t0 + Duration::from_millis(100)));
        assert!(!l.allow_at(t0 + Duration::from_millis(100)));
        // Never more than the burst, however long it was idle.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| l.allow_at(later)));
        assert!(!l.allow_at(later));
        let none = RateLimiter::new(RateLimit {
            interval: Duration::from_secs(1),
            burst: 0,
        });
        assert!(!none.allow_at(t0 + Duration::from_secs(10)));
    }
}
