//! The parsed form of a template: trees of nodes, pipelines, commands and operands, and how
//! Go prints them in error contexts (`<.Labels.foo>`, `<humanize $value>`).

use std::sync::Arc;

/// One named template.
#[derive(Debug)]
pub struct Tree {
    pub name: String,
    /// The name of the text this tree was parsed from (for error locations).
    pub parse_name: Arc<str>,
    pub source: Arc<str>,
    pub root: Vec<Node>,
}

#[derive(Debug)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Operand>,
}

#[derive(Debug)]
pub struct Operand {
    pub pos: usize,
    pub kind: Arg,
}

#[derive(Debug)]
pub enum Arg {
    Dot,
    Nil,
    Bool(bool),
    /// A number literal: its text and value.
    Number(String, Number),
    /// A string literal: its quoted source and value.
    Str(String, String),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B` (the first element is the variable).
    Variable(Vec<String>),
    /// A function name.
    Ident(String),
    /// `(pipeline).A.B` or `fn.A`.
    Chain(Box<Operand>, Vec<String>),
    Pipe(Box<Pipe>),
}

#[derive(Clone, Copy, Debug)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl std::fmt::Display for Operand {
    /// The operand as Go prints a node in error contexts (`<.Labels.foo>`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Arg::Dot => f.write_str("."),
            Arg::Nil => f.write_str("nil"),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Number(t, _) | Arg::Str(t, _) => f.write_str(t),
            Arg::Field(parts) => parts.iter().try_for_each(|p| write!(f, ".{p}")),
            Arg::Variable(parts) => {
                f.write_str(&parts[0])?;
                parts[1..].iter().try_for_each(|p| write!(f, ".{p}"))
            }
            Arg::Ident(name) => f.write_str(name),
            Arg::Chain(base, fields) => {
                if matches!(base.kind, Arg::Pipe(_)) {
                    write!(f, "({base})")?;
                } else {
                    write!(f, "{base}")?;
                }
                fields.iter().try_for_each(|p| write!(f, ".{p}"))
            }
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(_) = a.kind {
                write!(f, "({a})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            write!(
                f,
                "{} {} ",
                self.decl.join(", "),
                if self.is_assign { "=" } else { ":=" }
            )?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}
