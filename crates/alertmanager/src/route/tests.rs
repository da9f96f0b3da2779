use super::*;
use crate::config::Config;

fn tree(yaml: &str) -> Route {
    Route::new(&Config::parse(yaml, None).unwrap().route)
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const TWINS: &str = "route:\n  receiver: r\n  routes:\n  - {matchers: ['a=\"1\"'], receiver: x, continue: true}\n  - {matchers: ['a=\"1\"'], receiver: y}\n  - {matchers: ['b=\"2\"'], receiver: x, routes: [{matchers: ['c=\"3\"']}]}\nreceivers: [{name: r}, {name: x}, {name: y}]\n";

#[test]
fn ids_tell_twin_siblings_apart() {
    let t = tree(TWINS);
    let ids: Vec<&str> = t.routes.iter().map(Route::id).collect();
    assert_eq!(
        ids,
        [r#"{}/{a="1"}/0"#, r#"{}/{a="1"}/1"#, r#"{}/{b="2"}/2"#]
    );
    assert_eq!(t.routes[0].key(), t.routes[1].key());
    assert_eq!(t.routes[2].routes[0].id(), r#"{}/{b="2"}/2/{c="3"}/0"#);
    assert_eq!(t.id(), "{}");
}

#[test]
fn post_order_indices_and_walk() {
    let t = tree(TWINS);
    let mut seen = Vec::new();
    t.walk(&mut |r| seen.push(r.idx));
    // Parents first in the walk; indices count children before their parent.
    assert_eq!(seen, [4, 0, 1, 3, 2]);
}

#[test]
fn continue_fans_out_and_children_inherit() {
    let t = tree(TWINS);
    let got: Vec<&str> = t
        .match_labels(&labels(&[("a", "1")]))
        .iter()
        .map(|r| r.opts.receiver.as_str())
        .collect();
    assert_eq!(got, ["x", "y"]);
    let deep = t.match_labels(&labels(&[("b", "2"), ("c", "3")]));
    assert_eq!(deep.len(), 1);
    assert_eq!(
        deep[0].opts.receiver, "x",
        "receiver inherited from the parent"
    );
    assert!(t.routes[2].match_labels(&labels(&[("a", "1")])).is_empty());
}

#[test]
fn time_interval_names_are_not_inherited() {
    let t = tree(
        "route:\n  receiver: r\n  routes:\n  - matchers: ['a=\"1\"']\n    mute_time_intervals: [night]\n    routes: [{matchers: ['b=\"2\"']}]\nreceivers: [{name: r}]\ntime_intervals: [{name: night}]\n",
    );
    assert_eq!(t.routes[0].opts.mute_time_intervals, ["night"]);
    assert!(t.routes[0].routes[0].opts.mute_time_intervals.is_empty());
}

#[test]
fn label_sets_print_as_prometheus_does() {
    assert_eq!(label_set_string(&LabelSet::new()), "{}");
    assert_eq!(
        label_set_string(&labels(&[("b", "x\ny"), ("a", "\"q\"")])),
        r#"{a="\"q\"", b="x\ny"}"#
    );
}
