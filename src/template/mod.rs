//! Go `text/template`, for rule labels and annotations and for Alertmanager notifications.
//!
//! One engine serves both: `prometheus` gives the alerting-rule expander (`$labels`, `$value`,
//! `humanize`, `query`, …) and `alertmanager` gives the notification data model (`Data`,
//! `.Alerts.Firing`, `.CommonLabels.SortedPairs`, …) and its functions. The engine itself is
//! `lexer` → `parse` (trees) → `exec` over the dynamic [`Value`] model, with Go's `fmt` in
//! `fmt`, `time.Time`/`Duration` in `time` and the methods of upstream's types in `methods`.
//!
//! Why our own engine: the crates that exist do not fit. `gtmpl` has had no release since
//! 2021, its `printf` is incomplete and it lacks `break`/`continue` and `missingkey`;
//! `gotmpl` is young, and its value model has no typed maps (which `missingkey=zero` needs to
//! give `""` for `map[string]string`) and no way to give data values methods with arguments
//! (`.CommonLabels.Remove .GroupLabels.Names`). Compatibility here is byte-exact output and
//! Go's error text, which we can only guarantee over code we control.
//!
//! This module knows nothing of PromQL, storage or HTTP: `query` reaches the query engine
//! through the [`prometheus::QueryFn`] trait that the rules layer implements. Bad templates
//! are errors, never panics; execution is bounded (`exec::MAX_EXEC_DEPTH`,
//! `exec::MAX_OUTPUT_BYTES`, `parse::MAX_NESTING`).

pub mod alertmanager;
mod ast;
mod exec;
pub mod fmt;
pub mod funcs;
mod lexer;
mod methods;
mod parse;
pub mod prometheus;
mod strconv;
pub mod time;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use funcs::{FuncError, FuncMap};
pub use value::{ListKind, MapKind, Struct, Value};

use ast::Tree;

/// A template error, in Go's words (`template: NAME:LINE: …`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Exec(String),
}

/// Go's `missingkey` option: what `.key` on a map without that key gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `<no value>` when printed (Go's default).
    #[default]
    Default,
    /// The map element type's zero value (`""` for `map[string]string`).
    Zero,
    /// An error.
    Error,
}

/// A set of named templates sharing functions and options, like Go's `*template.Template`.
#[derive(Clone)]
pub struct Template {
    name: String,
    trees: HashMap<String, Arc<Tree>>,
    funcs: Arc<FuncMap>,
    missing_key: MissingKey,
}

impl Template {
    /// An empty set whose main template is `name`.
    pub fn new(name: &str) -> Self {
        Template {
            name: name.to_string(),
            trees: HashMap::new(),
            funcs: Arc::new(FuncMap::new()),
            missing_key: MissingKey::Default,
        }
    }

    /// Adds functions (Go's `Funcs`); must come before `parse`, which checks names.
    pub fn funcs(mut self, funcs: &FuncMap) -> Self {
        Arc::make_mut(&mut self.funcs).extend(funcs);
        self
    }

    /// Sets the `missingkey` option.
    pub fn missing_key(mut self, mk: MissingKey) -> Self {
        self.missing_key = mk;
        self
    }

    /// The main template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text` as the main template (Go's `Parse`), adding its `define`s.
    pub fn parse(&mut self, text: &str) -> Result<(), Error> {
        let name = self.name.clone();
        self.parse_as(&name, text)
    }

    /// Parses `text` as template `name` (Go's `t.New(name).Parse(text)`), adding its
    /// `define`s. A template defined again replaces the old one unless the new body is empty.
    pub fn parse_as(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let funcs = self.funcs.clone();
        let has_func = |f: &str| funcs.contains(f) || funcs::builtins::NAMES.contains(&f);
        let trees = parse::parse(name, text, &has_func).map_err(Error::Parse)?;
        for tree in trees {
            if parse::is_empty(&tree.root) && self.trees.contains_key(&tree.name) {
                continue;
            }
            self.trees.insert(tree.name.clone(), Arc::new(tree));
        }
        Ok(())
    }

    /// Whether a template of that name is defined.
    pub fn lookup(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Executes the main template with `data` as dot.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        match self.trees.get(&self.name) {
            Some(tree) => self.run(tree.clone(), data),
            None => Err(Error::Exec(format!(
                "template: {:?} is an incomplete or empty template",
                self.name
            ))),
        }
    }

    /// Executes template `name` with `data` as dot (Go's `ExecuteTemplate`).
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, Error> {
        match self.trees.get(name) {
            Some(tree) => self.run(tree.clone(), data),
            None => Err(Error::Exec(format!(
                "template: no template {name:?} associated with template {:?}",
                self.name
            ))),
        }
    }

    fn run(&self, tree: Arc<Tree>, data: &Value) -> Result<String, Error> {
        let mut state = exec::State::new(self, tree, data);
        state.run(data)?;
        Ok(state.out)
    }
}

#[cfg(test)]
mod tests;
