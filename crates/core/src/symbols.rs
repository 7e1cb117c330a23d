//! Named sizes: the symbols a model's inputs declare (`batch`, `seq`), and
//! the sizes that depend on data, which the analysis names itself.
//!
//! A size known only at run time (how many elements `NonZero` finds, how
//! many boxes `NonMaxSuppression` keeps, a `TopK` whose `k` is computed) is
//! never guessed: it becomes a symbol named after its node, with its origin
//! (node, output, axis) and an upper bound where ONNX's semantics give one.
//! Everything downstream is an expression in it; `--dim` binds it like an
//! input's symbol, and `--bound max` evaluates it at its bound.
//!
//! Names: the node's name (its path inside control-flow bodies) with every
//! run of characters other than ASCII letters and digits replaced by `_`
//! (`/roi_heads/NonZero` → `roi_heads_NonZero`; an unnamed node is
//! `<OpType>_<index>`), then `_<key>` when a node has several such sizes,
//! then `_2`, `_3`, … if the name is already taken by another origin or by
//! an input's symbol.

use std::cell::RefCell;
use std::sync::Arc;

use crate::fxhash::{NameMap, NameSet};
use crate::poly::{Poly, Symbol};

/// Where a symbol comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    /// Declared by the model (a `dim_param` of an input or a value).
    Input,
    /// A size the analysis could only name: it depends on run-time values.
    Data,
}

/// The node output axis whose length a data symbol is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolOrigin {
    /// The node's name as the report shows it.
    pub node: String,
    pub op_type: String,
    /// The output value's name.
    pub output: String,
    pub axis: usize,
}

/// One symbol of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolInfo {
    pub name: Symbol,
    pub kind: SymbolKind,
    /// For data symbols.
    pub origin: Option<SymbolOrigin>,
    /// The largest value ONNX's semantics allow, in the model's other
    /// symbols, when there is one.
    pub upper_bound: Option<Poly>,
    /// What the size counts, in words.
    pub meaning: String,
}

/// The data symbols of one analysis.
#[derive(Default)]
pub(crate) struct DataSymbols {
    by_origin: NameMap<(String, String), Symbol>,
    taken: NameSet<Symbol>,
    /// The data symbols' names: a Slice asks of every size it clamps.
    data: NameSet<Symbol>,
    /// The user's bindings (`--dim`), which data symbols take too.
    bound: NameMap<String, i128>,
    pub(crate) list: Vec<SymbolInfo>,
}

/// A request for a data symbol, as a rule states it.
pub struct DataSize<'r> {
    /// Distinguishes a node's several data sizes (`""` for the only one).
    pub key: &'r str,
    pub output: usize,
    pub axis: usize,
    pub upper_bound: Option<Poly>,
    pub meaning: &'r str,
}

impl DataSymbols {
    /// A table in which the model's own symbol names are taken.
    pub(crate) fn new(
        declared: impl IntoIterator<Item = Symbol>,
        bound: impl IntoIterator<Item = (String, i128)>,
    ) -> Self {
        DataSymbols {
            taken: declared.into_iter().collect(),
            bound: bound.into_iter().collect(),
            ..DataSymbols::default()
        }
    }

    /// Whether any of `names` is a data symbol.
    pub(crate) fn is_data(&self, names: &[Symbol]) -> bool {
        names.iter().any(|n| self.data.contains(n))
    }

    /// The size for `request` at `node`: its symbol, or the value the user
    /// bound it to.
    pub(crate) fn size(
        &mut self,
        node: &str,
        op_type: &str,
        output_name: &str,
        request: DataSize,
    ) -> Poly {
        let name = self.intern(node, op_type, output_name, request);
        match self.bound.get(&*name) {
            Some(&v) => Poly::constant(v),
            None => Poly::from_atom(crate::poly::Atom::Sym(name)),
        }
    }

    /// The symbol for `request` at `node` (the same one each time the same
    /// node asks, as a loop body's node does on every iteration).
    pub(crate) fn intern(
        &mut self,
        node: &str,
        op_type: &str,
        output_name: &str,
        request: DataSize,
    ) -> Symbol {
        let key = (node.to_string(), request.key.to_string());
        if let Some(s) = self.by_origin.get(&key) {
            return s.clone();
        }
        let base = symbol_base(node, request.key);
        let mut name: Symbol = Arc::from(base.as_str());
        let mut n = 2;
        while self.taken.contains(&name) {
            name = Arc::from(format!("{base}_{n}").as_str());
            n += 1;
        }
        self.taken.insert(name.clone());
        self.data.insert(name.clone());
        self.by_origin.insert(key, name.clone());
        self.list.push(SymbolInfo {
            name: name.clone(),
            kind: SymbolKind::Data,
            origin: Some(SymbolOrigin {
                node: node.to_string(),
                op_type: op_type.to_string(),
                output: output_name.to_string(),
                axis: request.axis,
            }),
            upper_bound: request.upper_bound,
            meaning: request.meaning.to_string(),
        });
        name
    }
}

/// What a rule needs to name a data symbol: the table, the node's report
/// name and the graph's values.
pub(crate) struct SymbolScope<'s> {
    pub table: &'s RefCell<DataSymbols>,
    pub node: &'s str,
    /// The graph's values, to name the node's outputs when a symbol is
    /// made (not before: most nodes make none).
    pub values: &'s [crate::graph::Value],
}

/// `node` (and `key`) as a symbol name: see the module docs.
pub fn symbol_base(node: &str, key: &str) -> String {
    let mut s = String::with_capacity(node.len() + key.len() + 1);
    for c in node.chars().chain(
        (!key.is_empty())
            .then(|| std::iter::once('_').chain(key.chars()))
            .into_iter()
            .flatten(),
    ) {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.is_empty() && !s.ends_with('_') {
            s.push('_');
        }
    }
    while s.ends_with('_') {
        s.pop();
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "n_");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_node() {
        assert_eq!(symbol_base("/roi_heads/NonZero", ""), "roi_heads_NonZero");
        assert_eq!(symbol_base("NonZero#12", ""), "NonZero_12");
        assert_eq!(symbol_base("Loop#3/body/TopK", "k"), "Loop_3_body_TopK_k");
        assert_eq!(symbol_base("7", ""), "n_7");
        assert_eq!(symbol_base("///", ""), "n_");
        let mut t = DataSymbols::new([Arc::from("roi_heads_NonZero")], []);
        let req = |key| DataSize {
            key,
            output: 0,
            axis: 1,
            upper_bound: None,
            meaning: "",
        };
        let a = t.intern("/roi_heads/NonZero", "NonZero", "idx", req(""));
        assert_eq!(&*a, "roi_heads_NonZero_2");
        let b = t.intern("/roi_heads/NonZero", "NonZero", "idx", req(""));
        assert_eq!(a, b, "the same origin gets the same symbol");
        let c = t.intern("roi_heads.NonZero", "NonZero", "idx", req(""));
        assert_eq!(&*c, "roi_heads_NonZero_3");
        assert_eq!(t.list.len(), 2);
    }
}
