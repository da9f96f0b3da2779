//! HTTP request metrics with Prometheus' names: requests by route and status code, and their
//! latency by route. The `handler` label is the route as Prometheus' router spells it
//! (`/api/v1/query`, `/api/v1/label/:name/values`), so its dashboards' selectors match.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use bongsu_telemetry::{Counter, Encoder, Family, Histogram, Labeled, LATENCY_BUCKETS};

static REQUESTS: Family = Family::counter(
    "prometheus_http_requests_total",
    "Counter of HTTP requests.",
    &["code", "handler"],
);
static DURATION: Family = Family::histogram(
    "prometheus_http_request_duration_seconds",
    "Histogram of latencies for HTTP requests.",
    &["handler"],
);

/// Process-wide, as the server has one listener.
static REQUEST_COUNTS: Labeled<Counter> = Labeled::new(Counter::new);
static DURATIONS: Labeled<Histogram> = Labeled::new(|| Histogram::new(LATENCY_BUCKETS));

/// An axum route pattern in the router syntax Prometheus labels handlers with:
/// `{name}` becomes `:name`, `{*rest}` becomes `*rest`.
fn handler_label(route: &str) -> String {
    route.replace("{*", "*").replace('{', ":").replace('}', "")
}

/// Makes a route's `code="200"` series exist before its first request, as Prometheus does
/// for every handler it registers, so `rate()` over a fresh server sees it start at zero.
pub(crate) fn declare(route: &str) {
    REQUEST_COUNTS.with(&["200", &handler_label(route)]);
}

/// Middleware: counts and times every request that matched a route. Others (404s) are not
/// counted, as Prometheus counts only its registered handlers.
pub(crate) async fn record(req: Request, next: Next) -> Response {
    let Some(route) = req.extensions().get::<MatchedPath>() else {
        return next.run(req).await;
    };
    let handler = handler_label(route.as_str());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    DURATIONS.with(&[&handler]).observe(started.elapsed());
    REQUEST_COUNTS
        .with(&[resp.status().as_str(), &handler])
        .inc();
    resp
}

/// Writes the HTTP families.
pub(crate) fn write_metrics(enc: &mut Encoder<'_>) {
    REQUEST_COUNTS.encode(&mut enc.family(&REQUESTS));
    DURATIONS.encode(&mut enc.family(&DURATION));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_as_prometheus_router_spells_them() {
        assert_eq!(handler_label("/api/v1/query"), "/api/v1/query");
        assert_eq!(
            handler_label("/api/v1/label/{name}/values"),
            "/api/v1/label/:name/values"
        );
        assert_eq!(handler_label("/static/{*path}"), "/static/*path");
    }
}
