//! The media type the state-changing endpoints accept. Alertmanager's API (go-swagger) takes
//! only `application/json` on `POST /api/v2/alerts` and `/api/v2/silences` and answers 415
//! otherwise. That is also what keeps a web page from posting to them: a browser sends
//! `text/plain` or form bodies cross-site without asking, never `application/json`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The body of a request whose `Content-Type` is `application/json` (parameters allowed).
pub(super) struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<JsonBody, Response> {
        let header = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = header.split(';').next().unwrap_or("").trim();
        // Go's net/http takes a request without a type for an octet stream.
        let media = if media.is_empty() {
            "application/octet-stream"
        } else {
            media
        };
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(unsupported(media));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(JsonBody(body))
    }
}

/// Alertmanager's 415 answer, word for word.
fn unsupported(media: &str) -> Response {
    let message = format!(
        "unsupported media type {}, only [application/json] are allowed",
        serde_json::Value::from(media)
    );
    let body = serde_json::json!({"code": 415, "message": message});
    (StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(body)).into_response()
}
