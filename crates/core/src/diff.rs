//! Two reports side by side: before and after pruning, float against
//! quantized, two export settings. Totals, then one row per operator type
//! or per module, each with both sides and the change, largest change in
//! work first. Rows are matched by name; modules left over on both sides
//! are then matched by structure, in order, when they hold the same
//! operators (a renamed block: the row's key is `old → new`).

use crate::cost::Cost;
use crate::fxhash::{FxHashMap, FxHashSet};
use crate::poly::{Overflow, Poly};
use crate::report::{Report, Subtotal};

/// What to compare by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffBy {
    /// Operator types (`Conv`, `MatMul`).
    Operator,
    /// Modules at this depth (see [`Report::by_module`]).
    Module(usize),
}

/// One operator type or module in either report.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffRow {
    /// The operator type or module path.
    pub key: String,
    /// Its subtotal in the first report (zero when absent there).
    pub before: Subtotal,
    /// Its subtotal in the second (zero when absent there).
    pub after: Subtotal,
}

impl DiffRow {
    /// `after − before` of each count.
    pub fn delta(&self) -> Result<Cost, Overflow> {
        let neg = |p: &Poly| p.checked_neg();
        Ok(Cost {
            macs: self
                .after
                .cost
                .macs
                .checked_add(&neg(&self.before.cost.macs)?)?,
            flops: self
                .after
                .cost
                .flops
                .checked_add(&neg(&self.before.cost.flops)?)?,
            int_ops: self
                .after
                .cost
                .int_ops
                .checked_add(&neg(&self.before.cost.int_ops)?)?,
        })
    }

    /// `after − before` of the parameters.
    pub fn params_delta(&self) -> i128 {
        i128::from(self.after.params) - i128::from(self.before.params)
    }
}

/// Two reports compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Diff {
    pub by: DiffBy,
    /// The totals as rows keyed `total`.
    pub total: DiffRow,
    /// Rows in decreasing order of the change in work (FLOPs plus integer
    /// operations, symbols at 1), then by key.
    pub rows: Vec<DiffRow>,
    /// Memory measures of both models, when both reports have memory:
    /// weight bytes, peak activations (the file's order and the least
    /// order found) and bytes moved per run.
    pub memory: Vec<MeasureRow>,
}

/// One memory measure of both models, in bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureRow {
    pub key: &'static str,
    pub before: Poly,
    pub after: Poly,
}

impl MeasureRow {
    pub fn delta(&self) -> Result<Poly, Overflow> {
        self.after.checked_sub(&self.before)
    }
}

/// The memory measures compared (see [`Diff::memory`]).
fn memory_rows(before: &Report, after: &Report) -> Vec<MeasureRow> {
    let (Some(a), Some(b)) = (&before.memory, &after.memory) else {
        return Vec::new();
    };
    let moved =
        |m: &crate::memory::MemoryReport| m.traffic().and_then(|t| t.total()).unwrap_or(Poly::ZERO);
    vec![
        MeasureRow {
            key: "param bytes",
            before: Poly::constant(a.param_bytes.into()),
            after: Poly::constant(b.param_bytes.into()),
        },
        MeasureRow {
            key: "peak activations",
            before: a.file_order.peak.clone(),
            after: b.file_order.peak.clone(),
        },
        MeasureRow {
            key: "peak, least order",
            before: a.least_order.peak.clone(),
            after: b.least_order.peak.clone(),
        },
        MeasureRow {
            key: "bytes moved",
            before: moved(a),
            after: moved(b),
        },
    ]
}

/// Each module's operator types at `depth`, in node order: what a renamed
/// module keeps.
fn signatures(r: &Report, depth: usize) -> FxHashMap<String, Vec<&str>> {
    let mut out: FxHashMap<String, Vec<&str>> = FxHashMap::default();
    for n in &r.nodes {
        out.entry(n.module_at(depth))
            .or_default()
            .push(n.op_type.as_str());
    }
    out
}

/// Compares `before` with `after`.
pub fn diff(before: &Report, after: &Report, by: DiffBy) -> Diff {
    let groups = |r: &Report| -> Vec<(String, Subtotal)> {
        match by {
            DiffBy::Operator => r.by_op().into_iter().map(|g| (g.op_type, g.sum)).collect(),
            DiffBy::Module(d) => r
                .by_module(d)
                .into_iter()
                .map(|g| (g.path, g.sum))
                .collect(),
        }
    };
    let (a, b) = (groups(before), groups(after));
    let in_a: FxHashSet<String> = a.iter().map(|(k, _)| k.clone()).collect();
    let mut b_by_key: FxHashMap<String, Subtotal> = b
        .iter()
        .filter(|(k, _)| in_a.contains(k))
        .cloned()
        .collect();
    let mut rows: Vec<DiffRow> = Vec::new();
    let mut only_before: Vec<(String, Subtotal)> = Vec::new();
    for (k, s) in a {
        match b_by_key.remove(&k) {
            Some(t) => rows.push(DiffRow {
                key: k,
                before: s,
                after: t,
            }),
            None => only_before.push((k, s)),
        }
    }
    let mut only_after: Vec<(String, Subtotal)> =
        b.into_iter().filter(|(k, _)| !in_a.contains(k)).collect();
    // Renamed modules: the same operators, in the same order of appearance.
    if let DiffBy::Module(depth) = by {
        let (sig_a, sig_b) = (signatures(before, depth), signatures(after, depth));
        let mut unmatched = Vec::new();
        for (k, s) in only_before {
            let sig = sig_a.get(&k);
            let twin = only_after
                .iter()
                .position(|(k2, _)| sig.is_some() && sig_b.get(k2) == sig);
            match twin {
                Some(j) => {
                    let (k2, t) = only_after.remove(j);
                    rows.push(DiffRow {
                        key: format!("{k} → {k2}"),
                        before: s,
                        after: t,
                    });
                }
                None => unmatched.push((k, s)),
            }
        }
        only_before = unmatched;
    }
    for (k, s) in only_before {
        rows.push(DiffRow {
            key: k,
            before: s,
            after: Subtotal::default(),
        });
    }
    for (k, s) in only_after {
        rows.push(DiffRow {
            key: k,
            before: Subtotal::default(),
            after: s,
        });
    }
    let change = |r: &DiffRow| r.delta().map_or(0.0, |d| d.work_at_one().abs());
    rows.sort_by(|x, y| change(y).total_cmp(&change(x)).then(x.key.cmp(&y.key)));
    let total = |r: &Report| Subtotal {
        nodes: r.nodes.len(),
        uncounted: r.nodes.iter().filter(|n| n.cost.is_none()).count(),
        params: r.totals.params,
        buffers: r.totals.buffers,
        cost: r.totals.cost.clone(),
    };
    Diff {
        by,
        total: DiffRow {
            key: "total".into(),
            before: total(before),
            after: total(after),
        },
        rows,
        memory: memory_rows(before, after),
    }
}
