//! Elasticsearch's JSON answers, in the shapes its clients parse: the `_bulk` result, the
//! error object, the version banner of `GET /` and the license of `GET /_license` (Filebeat
//! refuses a server without an active license, Logstash and Fluent Bit read the version to
//! choose what they send). No HTTP types: the caller adds the status and headers.

use serde_json::{json, Value};

use super::{Item, ItemError};

/// The Elasticsearch version bongsu answers as: clients of 8.x send 8.x requests (no
/// `_type`), and older ones accept it too.
pub const VERSION: &str = "8.15.0";
/// The Lucene version Elasticsearch 8.15 ships, which the banner names.
const LUCENE_VERSION: &str = "9.11.1";

/// Elasticsearch's error answer: `{"error":{"root_cause":[…],"type":…,"reason":…},"status":…}`.
pub fn error(status: u16, kind: &str, reason: &str) -> Value {
    let cause = json!({"type": kind, "reason": reason});
    json!({
        "error": {"root_cause": [cause], "type": kind, "reason": reason},
        "status": status,
    })
}

/// The `_bulk` answer for `items` in order, with `ids` (each item's `_id`, given or made up).
pub fn bulk(items: &[Item], ids: &[String], took_ms: u64) -> Value {
    let mut errors = false;
    let mut seq_no = 0u64;
    let results: Vec<Value> = items
        .iter()
        .zip(ids)
        .map(|(item, id)| {
            let result = match &item.result {
                Ok(()) => {
                    seq_no += 1;
                    json!({
                        "_index": item.index,
                        "_id": id,
                        "_version": 1,
                        "result": "created",
                        "_shards": {"total": 1, "successful": 1, "failed": 0},
                        "_seq_no": seq_no - 1,
                        "_primary_term": 1,
                        "status": 201,
                    })
                }
                Err(ItemError {
                    status,
                    kind,
                    reason,
                }) => {
                    errors = true;
                    json!({
                        "_index": item.index,
                        "_id": id,
                        "status": status,
                        "error": {"type": kind, "reason": reason, "index": item.index},
                    })
                }
            };
            json!({ item.action.name(): result })
        })
        .collect();
    json!({"errors": errors, "took": took_ms, "items": results})
}

/// The banner of `GET /`: Elasticsearch's, naming bongsu as node and cluster.
pub fn banner() -> Value {
    json!({
        "name": "bongsu",
        "cluster_name": "bongsu",
        "cluster_uuid": "Ym9uZ3N1LWxvZ3MtZXM",
        "version": {
            "number": VERSION,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": "bongsu",
            "build_date": "2024-08-05T10:05:34.233336849Z",
            "build_snapshot": false,
            "lucene_version": LUCENE_VERSION,
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    })
}

/// `GET /_license`: an active basic license without expiry, what Filebeat checks for.
pub fn license() -> Value {
    json!({
        "license": {
            "status": "active",
            "uid": "00000000-0000-0000-0000-000000000000",
            "type": "basic",
            "issue_date": "1970-01-01T00:00:00.000Z",
            "issue_date_in_millis": 0,
            "max_nodes": 1000,
            "max_resource_units": null,
            "issued_to": "bongsu",
            "issuer": "elasticsearch",
            "start_date_in_millis": -1,
        }
    })
}

/// `GET /_xpack`, where older Beats and Logstash's ILM check read the license.
pub fn xpack() -> Value {
    json!({
        "build": {"hash": "bongsu", "date": "2024-08-05T10:05:34.233336849Z"},
        "license": {
            "uid": "00000000-0000-0000-0000-000000000000",
            "type": "basic",
            "mode": "basic",
            "status": "active",
        },
        "features": {},
    })
}
