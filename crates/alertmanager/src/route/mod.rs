//! The routing tree: route nodes with their options resolved by inheritance, matching an
//! alert's labels to the routes that take it, and the keys that identify routes and groups.
//!
//! Inheritance follows Alertmanager: receiver, `group_by`, `group_by: ['...']`, the three
//! timers and route labels pass from parent to child unless the child sets them; time
//! interval names do not. Matching is depth-first in file order: the first matching child
//! takes the alert unless it has `continue: true`; a node none of whose children match takes
//! the alert itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use crate::config::RouteConfig;
use crate::matcher::{go_quote, LabelSet, Matchers};

/// Alertmanager's timer defaults for a root route that sets none.
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 60 * 60);

/// A node's options after inheritance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOpts {
    pub receiver: String,
    pub group_by: BTreeSet<String>,
    pub group_by_all: bool,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// A node of the routing tree.
#[derive(Debug, Clone)]
pub struct Route {
    pub opts: RouteOpts,
    pub matchers: Matchers,
    pub continue_matching: bool,
    pub routes: Vec<Route>,
    /// Position in a post-order walk of the tree (children before parents), as upstream.
    pub idx: usize,
    /// `parent key/{matchers}`, computed once.
    key: String,
    /// `parent id/{matchers}/position among siblings`, unique even for twin siblings.
    id: String,
}

impl Route {
    /// Builds the tree from a validated root.
    pub fn new(root: &RouteConfig) -> Route {
        let defaults = RouteOpts {
            receiver: String::new(),
            group_by: BTreeSet::new(),
            group_by_all: false,
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            labels: BTreeMap::new(),
        };
        let mut counter = 0;
        build(root, &defaults, None, &mut counter)
    }

    /// The routes that take an alert with `labels`, in order; empty if this node does not
    /// match. For the root, which matches everything, never empty.
    pub fn match_labels(&self, labels: &LabelSet) -> Vec<&Route> {
        if !self.matchers.matches(labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let matched = child.match_labels(labels);
            let took = !matched.is_empty();
            all.extend(matched);
            if took && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// The route's key, `{}/{a="b"}` for a child of the root: it names aggregation groups.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Like `key`, with each node's position among its siblings.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The labels an alert is grouped by on this route.
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        labels
            .iter()
            .filter(|(n, _)| self.opts.group_by_all || self.opts.group_by.contains(*n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    /// The aggregation group key for `group_labels` on this route, as Alertmanager writes it:
    /// `{}/{a="b"}:{cluster="x", service="y"}`.
    pub fn group_key(&self, group_labels: &LabelSet) -> String {
        format!("{}:{}", self.key, label_set_string(group_labels))
    }

    /// Every node, parents before children.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Route)) {
        visit(self);
        for child in &self.routes {
            child.walk(visit);
        }
    }
}

fn build(
    cr: &RouteConfig,
    parent: &RouteOpts,
    keys: Option<(&str, &str, usize)>,
    counter: &mut usize,
) -> Route {
    let mut opts = parent.clone();
    opts.labels.extend(cr.labels.clone());
    if !cr.receiver.is_empty() {
        opts.receiver = cr.receiver.clone();
    }
    match &cr.group_by {
        Some(names) => {
            opts.group_by = names.iter().cloned().collect();
            opts.group_by_all = false;
        }
        None if cr.group_by_all => opts.group_by_all = true,
        None => {}
    }
    opts.group_wait = cr.group_wait.unwrap_or(opts.group_wait);
    opts.group_interval = cr.group_interval.unwrap_or(opts.group_interval);
    opts.repeat_interval = cr.repeat_interval.unwrap_or(opts.repeat_interval);
    opts.mute_time_intervals = cr.mute_time_intervals.clone();
    opts.active_time_intervals = cr.active_time_intervals.clone();
    let own = cr.matchers.to_string();
    let (key, id) = match keys {
        None => (own.clone(), own),
        Some((pkey, pid, pos)) => (format!("{pkey}/{own}"), format!("{pid}/{own}/{pos}")),
    };
    let routes = cr
        .routes
        .iter()
        .enumerate()
        .map(|(i, child)| build(child, &opts, Some((&key, &id, i)), counter))
        .collect();
    let idx = *counter;
    *counter += 1;
    Route {
        opts,
        matchers: cr.matchers.clone(),
        continue_matching: cr.continue_matching,
        routes,
        idx,
        key,
        id,
    }
}

/// Prometheus' `LabelSet.String()`: `{a="b", c="d"}`, sorted, values Go-quoted.
pub fn label_set_string(labels: &LabelSet) -> String {
    let mut out = String::from("{");
    for (i, (n, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{n}={}", go_quote(v));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests;
