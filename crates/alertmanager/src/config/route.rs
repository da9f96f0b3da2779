//! `route` nodes and `inhibit_rules` as configured: the matcher forms (`matchers`, legacy
//! `match` and `match_re`), `group_by` with `...`, timers, time-interval names, and their
//! per-node checks. The routing tree with inheritance is `crate::route`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::common::{fail, is_legacy_label_name, is_valid_label_name, model_duration, Invalid};
use crate::matcher::{go_quote, MatchOp, Matcher, Matchers};

/// One route node as validated; defaults are applied when the tree is built.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "RawRoute")]
pub struct RouteConfig {
    /// Empty: inherit the parent's.
    pub receiver: String,
    /// `None`: inherit; `Some(empty)` with `group_by_all` unset: group everything together.
    pub group_by: Option<Vec<String>>,
    /// `group_by: ['...']`: group by every label.
    pub group_by_all: bool,
    /// `match`, `match_re` and `matchers` together, in Alertmanager's order.
    pub matchers: Matchers,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    pub continue_matching: bool,
    pub routes: Vec<RouteConfig>,
    pub group_wait: Option<Duration>,
    pub group_interval: Option<Duration>,
    pub repeat_interval: Option<Duration>,
    /// Labels attached to the route and inherited by its children.
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    receiver: Option<String>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default, rename = "match")]
    match_eq: Option<BTreeMap<String, String>>,
    #[serde(default)]
    match_re: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    matchers: Option<Vec<String>>,
    #[serde(default)]
    mute_time_intervals: Option<Vec<String>>,
    #[serde(default)]
    active_time_intervals: Option<Vec<String>>,
    #[serde(default, rename = "continue")]
    continue_matching: Option<bool>,
    #[serde(default)]
    routes: Option<Vec<RouteConfig>>,
    #[serde(default, deserialize_with = "model_duration")]
    group_wait: Option<Duration>,
    #[serde(default, deserialize_with = "model_duration")]
    group_interval: Option<Duration>,
    #[serde(default, deserialize_with = "model_duration")]
    repeat_interval: Option<Duration>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Legacy `match`: equality matchers on legacy label names.
fn equality_matchers(m: Option<BTreeMap<String, String>>) -> Result<Vec<Matcher>, Invalid> {
    let mut out = Vec::new();
    for (name, value) in m.unwrap_or_default() {
        if !is_legacy_label_name(&name) {
            return fail(format!("invalid label name {}", go_quote(&name)));
        }
        out.push(Matcher::new(MatchOp::Equal, &name, &value).map_err(|e| Invalid(e.0))?);
    }
    Ok(out)
}

/// Legacy `match_re`. Alertmanager builds the matcher from the already anchored pattern, so
/// its value (and the route key) reads `^(?:pattern)$`.
fn regex_matchers(m: Option<BTreeMap<String, Option<String>>>) -> Result<Vec<Matcher>, Invalid> {
    let mut out = Vec::new();
    for (name, value) in m.unwrap_or_default() {
        if !is_legacy_label_name(&name) {
            return fail(format!("invalid label name {}", go_quote(&name)));
        }
        let Some(value) = value else {
            return fail(format!("invalid regexp value for {}", go_quote(&name)));
        };
        let anchored = format!("^(?:{value})$");
        out.push(Matcher::new(MatchOp::Regex, &name, &anchored).map_err(|e| Invalid(e.0))?);
    }
    Ok(out)
}

/// `matchers`: each line a list in the matcher syntax.
fn parsed_matchers(lines: Option<Vec<String>>) -> Result<Vec<Matcher>, Invalid> {
    let mut out = Vec::new();
    for line in lines.unwrap_or_default() {
        out.extend(Matchers::parse(&line).map_err(|e| Invalid(e.0))?.0);
    }
    Ok(out)
}

impl TryFrom<RawRoute> for RouteConfig {
    type Error = Invalid;

    fn try_from(raw: RawRoute) -> Result<RouteConfig, Invalid> {
        let mut matchers = equality_matchers(raw.match_eq)?;
        matchers.extend(regex_matchers(raw.match_re)?);
        matchers.extend(parsed_matchers(raw.matchers)?);
        let mut matchers = Matchers(matchers);
        matchers.sort();
        let labels = raw.labels.unwrap_or_default();
        if let Some(name) = labels.keys().find(|n| !is_valid_label_name(n)) {
            return fail(format!(
                "invalid label name {} in route labels",
                go_quote(name)
            ));
        }
        let mut group_by_all = false;
        let group_by = match raw.group_by {
            None => None,
            Some(names) => {
                let mut list: Vec<String> = Vec::new();
                for name in names {
                    if name == "..." {
                        group_by_all = true;
                    } else if !is_valid_label_name(&name) {
                        return fail(format!(
                            "invalid label name {} in group_by list",
                            go_quote(&name)
                        ));
                    } else {
                        list.push(name);
                    }
                }
                if !list.is_empty() && group_by_all {
                    return fail(
                        "cannot have wildcard group_by (`...`) and other labels at the same time",
                    );
                }
                let mut seen = std::collections::HashSet::new();
                if let Some(dup) = list.iter().find(|n| !seen.insert(n.as_str())) {
                    return fail(format!("duplicated label {} in group_by", go_quote(dup)));
                }
                // `['...']` alone leaves the list unset (inherit), as upstream's nil slice.
                if group_by_all {
                    None
                } else {
                    Some(list)
                }
            }
        };
        if raw.group_interval == Some(Duration::ZERO) {
            return fail("group_interval cannot be zero");
        }
        if raw.repeat_interval == Some(Duration::ZERO) {
            return fail("repeat_interval cannot be zero");
        }
        Ok(RouteConfig {
            receiver: raw.receiver.unwrap_or_default(),
            group_by,
            group_by_all,
            matchers,
            mute_time_intervals: raw.mute_time_intervals.unwrap_or_default(),
            active_time_intervals: raw.active_time_intervals.unwrap_or_default(),
            continue_matching: raw.continue_matching.unwrap_or(false),
            routes: raw.routes.unwrap_or_default(),
            group_wait: raw.group_wait,
            group_interval: raw.group_interval,
            repeat_interval: raw.repeat_interval,
            labels,
        })
    }
}

/// An inhibition rule: alerts matching `target` are muted while an alert matching `source`
/// fires with the same values of the `equal` labels.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "RawInhibitRule")]
pub struct InhibitRule {
    pub name: String,
    pub source_matchers: Matchers,
    pub target_matchers: Matchers,
    pub equal: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInhibitRule {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    source_match: Option<BTreeMap<String, String>>,
    #[serde(default)]
    source_match_re: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    source_matchers: Option<Vec<String>>,
    #[serde(default)]
    target_match: Option<BTreeMap<String, String>>,
    #[serde(default)]
    target_match_re: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    target_matchers: Option<Vec<String>>,
    #[serde(default)]
    equal: Option<Vec<String>>,
}

impl TryFrom<RawInhibitRule> for InhibitRule {
    type Error = Invalid;

    fn try_from(raw: RawInhibitRule) -> Result<InhibitRule, Invalid> {
        // Upstream checks the regex maps while decoding them, before the rule's own checks.
        let source_re = regex_matchers(raw.source_match_re)?;
        let target_re = regex_matchers(raw.target_match_re)?;
        let mut source = equality_matchers(raw.source_match)?;
        let mut target = equality_matchers(raw.target_match)?;
        source.extend(source_re);
        source.extend(parsed_matchers(raw.source_matchers)?);
        target.extend(target_re);
        target.extend(parsed_matchers(raw.target_matchers)?);
        let equal = raw.equal.unwrap_or_default();
        if let Some(name) = equal.iter().find(|n| !is_valid_label_name(n)) {
            return fail(format!(
                "invalid label name {} in equal list",
                go_quote(name)
            ));
        }
        Ok(InhibitRule {
            name: raw.name.unwrap_or_default(),
            source_matchers: Matchers(source),
            target_matchers: Matchers(target),
            equal,
        })
    }
}
