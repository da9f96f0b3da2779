//! `receivers`: named lists of notifiers. An entry of a kind bongsu delivers to is parsed in
//! full, with Alertmanager's checks and inheritance from `global` (each kind's own, in its
//! folder under `notify`); the kinds upstream has that bongsu lacks are recognised and refused
//! at load time with "… is not supported by bongsu yet", never silently dropped. Which kinds
//! exist, and the orders upstream walks them in, is the registry's (`notify::registry`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer};

use super::common::{fail, Invalid};
use super::global::GlobalConfig;
use super::ConfigError;
use crate::matcher::go_quote;
use crate::notify::registry::{self, RawReceiver, CHECK_ORDER, NULL_ENTRY_ORDER, REFUSED_AFTER};
use crate::notify::{IntegrationConfig, ReceiverKind};

/// A named receiver: every notifier in it gets each notification of the routes naming it.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub name: String,
    /// Labels for filtering receivers; always holds `name`.
    pub labels: BTreeMap<String, String>,
    /// The notifier entries, grouped by kind; each kind's in the order written.
    entries: Vec<Box<dyn IntegrationConfig>>,
    /// The kinds with an entry written as null, which upstream refuses.
    null_entries: Vec<&'static str>,
    /// The first kind present that bongsu cannot deliver to yet.
    refused: Option<&'static str>,
}

// By hand, not `#[serde(try_from)]`: the derive would demand `'de: 'static` for the
// `&'static str` fields.
impl<'de> Deserialize<'de> for Receiver {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Receiver, D::Error> {
        Receiver::try_from(RawReceiver::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RawReceiver> for Receiver {
    type Error = Invalid;

    fn try_from(mut r: RawReceiver) -> Result<Receiver, Invalid> {
        if r.name.is_empty() {
            return fail("missing name in receiver");
        }
        let mut labels = r.labels.take().unwrap_or_default();
        if let Some(v) = labels.get("name") {
            if v != &r.name {
                return fail(format!(
                    "receiver label \"name\" must match receiver name {}, got {}",
                    go_quote(&r.name),
                    go_quote(v)
                ));
            }
        }
        labels.insert("name".to_string(), r.name.clone());
        let entries = r.take_entries();
        Ok(Receiver {
            name: r.name,
            labels,
            entries: entries.configs,
            null_entries: entries.null_entries,
            refused: entries.refused,
        })
    }
}

impl Receiver {
    /// Inherits from `global` and applies Alertmanager's per-receiver checks, in its order.
    pub(crate) fn resolve(
        &mut self,
        g: &GlobalConfig,
        dir: Option<&Path>,
    ) -> Result<(), ConfigError> {
        // A null entry is refused before anything inherits (some kinds first check what it
        // would have inherited).
        if let Some(kind) = NULL_ENTRY_ORDER
            .into_iter()
            .find(|k| self.null_entries.contains(k))
        {
            if let Some(k) = registry::kind(kind) {
                (k.check_null_entry)(g)?;
            }
            return Err(ConfigError::Invalid(format!("missing {kind} config")));
        }
        for kind in CHECK_ORDER {
            for c in self.entries.iter_mut().filter(|c| c.kind() == kind) {
                c.inherit(g, dir)?;
            }
            if kind == REFUSED_AFTER {
                if let Some(refused) = self.refused {
                    return Err(ConfigError::Unsupported(format!(
                        "receiver type {refused:?} ({refused}_configs in receiver {:?}) is not supported by bongsu yet",
                        self.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether the receiver has no notifier (alerts routed to it are dropped, as upstream).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries of kind `kind`, in the order written.
    pub fn entries_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a dyn IntegrationConfig> {
        self.entries
            .iter()
            .filter(move |c| c.kind() == kind)
            .map(|c| c.as_ref())
    }

    /// The entries of kind `K`, in the order written.
    pub fn configs<K: ReceiverKind>(&self) -> Vec<&K> {
        self.entries
            .iter()
            .filter_map(|c| c.as_any().downcast_ref())
            .collect()
    }

    /// The entries of kind `K`, in the order written, to change.
    pub fn configs_mut<K: ReceiverKind>(&mut self) -> Vec<&mut K> {
        self.entries
            .iter_mut()
            .filter_map(|c| c.as_any_mut().downcast_mut())
            .collect()
    }
}
