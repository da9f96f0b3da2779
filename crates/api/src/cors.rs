//! Cross-origin requests to `/api/v1/*`, as Prometheus' `--web.cors.origin`: every API answer
//! varies by `Origin`; a request with an `Origin` gets the allowed headers and methods, and
//! `Access-Control-Allow-Origin` (`*` for the default `.*`, else the origin when the fully
//! anchored regex matches it). `OPTIONS` on any API path answers 204 (preflight).

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regex::Regex;

/// Prometheus' default `--web.cors.origin`.
pub const DEFAULT_CORS_ORIGIN: &str = ".*";

/// The allowed origins (`--web.cors.origin`), anchored; `None` allows any (`*`).
#[derive(Debug, Clone, Default)]
pub struct CorsOrigin(Option<Regex>);

impl CorsOrigin {
    pub fn new(pattern: &str) -> Result<CorsOrigin, regex::Error> {
        if pattern == DEFAULT_CORS_ORIGIN {
            return Ok(CorsOrigin(None));
        }
        Ok(CorsOrigin(Some(Regex::new(&format!("^(?:{pattern})$"))?)))
    }

    fn apply(&self, origin: Option<&HeaderValue>, resp: &mut Response) {
        let h = resp.headers_mut();
        h.append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = origin else { return };
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Date"),
        );
        match &self.0 {
            None => {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
            }
            Some(re) if origin.to_str().is_ok_and(|o| re.is_match(o)) => {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            }
            Some(_) => {}
        }
    }
}

/// The middleware: only API paths get CORS treatment.
pub(super) async fn layer(cors: CorsOrigin, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut resp = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    cors.apply(origin.as_ref(), &mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let c = CorsOrigin::new("https?://(a|b)\\.com").unwrap();
        let mut r = Response::new(axum::body::Body::empty());
        c.apply(Some(&HeaderValue::from_static("https://a.com")), &mut r);
        assert_eq!(
            r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://a.com"
        );
        let mut r = Response::new(axum::body::Body::empty());
        c.apply(
            Some(&HeaderValue::from_static("https://a.com.evil")),
            &mut r,
        );
        assert!(r
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        assert_eq!(r.headers()[header::VARY], "Origin");
        let mut r = Response::new(axum::body::Body::empty());
        CorsOrigin::default().apply(Some(&HeaderValue::from_static("x")), &mut r);
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
}
