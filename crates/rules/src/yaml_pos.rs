//! Where things are in a rule file: the line and column of each group and of each rule's
//! `record`, `alert` and `expr` values, for errors worded as Prometheus words them
//! ("5:15: group "g", rule 1, …").
//!
//! serde does not keep positions, so the text is read a second time with an event parser
//! that does. Only positions come from here; values come from the serde decode.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, Span};

/// A 1-based line and column, as Go's yaml.v3 reports them; `(0, 0)` for a node that is absent
/// (Go prints a missing node that way too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Positions of the nodes of one rule.
#[derive(Debug, Clone, Default)]
pub struct RulePos {
    pub record: Pos,
    pub alert: Pos,
    pub expr: Pos,
}

/// Positions of one group (its mapping) and of its rules, by index.
#[derive(Debug, Clone, Default)]
pub struct GroupPos {
    pub at: Pos,
    pub rules: Vec<RulePos>,
}

/// Most nesting levels read; rule files are four levels deep, so this only stops hostile input.
const MAX_DEPTH: usize = 64;

enum Node {
    Scalar(String, Pos),
    Seq(Vec<Node>, Pos),
    Map(Vec<(String, Pos, Node)>, Pos),
}

impl Node {
    fn pos(&self) -> Pos {
        match self {
            Node::Scalar(_, p) | Node::Seq(_, p) | Node::Map(_, p) => *p,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries, _) => entries.iter().find(|(k, ..)| k == key).map(|(.., v)| v),
            _ => None,
        }
    }

    fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items, _) => items,
            _ => &[],
        }
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// Reads the positions of the first document's groups; an empty list when the text does not
/// parse (the serde decode reports that error).
pub fn group_positions(text: &str) -> Vec<GroupPos> {
    let Some(root) = first_document(text) else {
        return Vec::new();
    };
    let Some(groups) = root.get("groups") else {
        return Vec::new();
    };
    groups
        .items()
        .iter()
        .map(|g| GroupPos {
            at: g.pos(),
            rules: g
                .get("rules")
                .map(|r| r.items())
                .unwrap_or_default()
                .iter()
                .map(|r| {
                    let at = |k: &str| r.get(k).map(Node::pos).unwrap_or_default();
                    RulePos {
                        record: at("record"),
                        alert: at("alert"),
                        expr: at("expr"),
                    }
                })
                .collect(),
        })
        .collect()
}

const FILE_KEYS: &[&str] = &["groups"];
const GROUP_KEYS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "rules",
    "labels",
];
const RULE_KEYS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// Every key Prometheus does not know, in document order, as yaml.v3 lists them
/// (`line N: field X not found in type T`). Merge keys (`<<`) are resolved by the decoder
/// and not reported.
pub fn unknown_fields(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(root) = first_document(text) else {
        return out;
    };
    let mut check = |node: &Node, known: &[&str], ty: &str| {
        if let Node::Map(entries, _) = node {
            for (k, pos, _) in entries {
                if k != "<<" && !known.contains(&k.as_str()) {
                    out.push(format!(
                        "line {}: field {k} not found in type {ty}",
                        pos.line
                    ));
                }
            }
        }
    };
    check(&root, FILE_KEYS, "rulefmt.RuleGroups");
    for g in root.get("groups").map(Node::items).unwrap_or_default() {
        check(g, GROUP_KEYS, "rulefmt.RuleGroup");
        for r in g.get("rules").map(Node::items).unwrap_or_default() {
            check(r, RULE_KEYS, "rulefmt.Rule");
        }
    }
    out
}

fn first_document(text: &str) -> Option<Node> {
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_event()? {
            Ok((Event::DocumentStart(_), _)) => break,
            Ok((Event::StreamEnd, _)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    let first = parser.next_event()?.ok()?;
    read_node(&mut parser, first, 0)
}

fn read_node<'a>(
    parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    (event, span): (Event<'a>, Span),
    depth: usize,
) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    let pos = pos_of(&span);
    match event {
        Event::Scalar(v, ..) => Some(Node::Scalar(Cow::into_owned(v), pos)),
        // An alias is reported where it is written, as yaml.v3 does.
        Event::Alias(_) => Some(Node::Scalar(String::new(), pos)),
        Event::SequenceStart(..) => {
            let mut items = Vec::new();
            loop {
                let next = parser.next_event()?.ok()?;
                if matches!(next.0, Event::SequenceEnd) {
                    return Some(Node::Seq(items, pos));
                }
                items.push(read_node(parser, next, depth + 1)?);
            }
        }
        Event::MappingStart(..) => {
            let mut entries = Vec::new();
            loop {
                let next = parser.next_event()?.ok()?;
                if matches!(next.0, Event::MappingEnd) {
                    return Some(Node::Map(entries, pos));
                }
                let (key, key_pos) = match read_node(parser, next, depth + 1)? {
                    Node::Scalar(k, p) => (k, p),
                    other => (String::new(), other.pos()),
                };
                let value_event = parser.next_event()?.ok()?;
                entries.push((key, key_pos, read_node(parser, value_event, depth + 1)?));
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_as_yaml_v3() {
        let text = "groups:\n  - name: a\n    rules:\n      - record: r\n        expr: rate(x)\n  - name: b\n    rules:\n      - expr: 1\n";
        let g = group_positions(text);
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].at.to_string(), "6:5");
        assert_eq!(g[0].rules[0].record.to_string(), "4:17");
        assert_eq!(g[0].rules[0].expr.to_string(), "5:15");
        assert_eq!(g[1].rules[0].record, Pos::default());
        assert!(group_positions("groups: [").is_empty());
        assert_eq!(
            unknown_fields("x: 1\ngroups:\n- name: a\n  y: 2\n  rules:\n  - expr: 1\n    z: 3\n"),
            [
                "line 1: field x not found in type rulefmt.RuleGroups",
                "line 4: field y not found in type rulefmt.RuleGroup",
                "line 7: field z not found in type rulefmt.Rule"
            ]
        );
    }
}
