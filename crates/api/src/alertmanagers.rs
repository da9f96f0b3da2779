//! `/api/v1/alertmanagers`: the Alertmanagers alerts are sent to and those relabeling
//! dropped, in Prometheus' shape.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::{ok_json, ApiState};

pub(super) async fn alertmanagers(State(s): State<ApiState>) -> Response {
    let (active, dropped) = s.notifier().map(|n| n.alertmanagers()).unwrap_or_default();
    let urls = |v: Vec<String>| {
        v.into_iter()
            .map(|u| json!({ "url": u }))
            .collect::<Vec<_>>()
    };
    ok_json(
        json!({
            "activeAlertmanagers": urls(active),
            "droppedAlertmanagers": urls(dropped),
        })
        .to_string(),
    )
}
