//! The receivers' part of the printed configuration: each kind's entries under its key, in
//! upstream's order (how an entry prints is its kind's).

use serde_yaml_ng::Value;

use super::{string_map, Map};
use crate::config::receiver::Receiver;
use crate::notify::registry::PRINT_ORDER;

/// The receiver's labels, left out when only the `name` label every receiver gets is there.
fn own_labels(r: &Receiver) -> Map {
    if r.labels.len() == 1 && r.labels.get("name") == Some(&r.name) {
        return Map::default();
    }
    string_map(&r.labels)
}

pub(super) fn receiver(r: &Receiver) -> Value {
    let mut m = Map::default();
    m.put("name", r.name.as_str()).map("labels", own_labels(r));
    for kind in PRINT_ORDER {
        let entries = r.entries_of(kind).map(|c| c.print()).collect();
        m.list(&format!("{kind}_configs"), entries);
    }
    m.done()
}
