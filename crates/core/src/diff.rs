//! Two reports side by side: before and after pruning, float against
//! quantized, two export settings. Totals, then one row per operator type
//! or per module, matched by name, each with both sides and the change,
//! largest change in work first.

use crate::cost::Cost;
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
    let mut rows: Vec<DiffRow> = a
        .iter()
        .map(|(k, s)| DiffRow {
            key: k.clone(),
            before: s.clone(),
            after: b
                .iter()
                .find(|(k2, _)| k2 == k)
                .map(|(_, s)| s.clone())
                .unwrap_or_default(),
        })
        .collect();
    for (k, s) in &b {
        if !a.iter().any(|(k2, _)| k2 == k) {
            rows.push(DiffRow {
                key: k.clone(),
                before: Subtotal::default(),
                after: s.clone(),
            });
        }
    }
    let change = |r: &DiffRow| {
        r.delta().map_or(0.0, |d| {
            let at_one = |p: &Poly| {
                p.substitute(&|_| Some(1))
                    .ok()
                    .and_then(|q| q.as_constant())
                    .map_or(0.0, |c| c as f64)
            };
            (at_one(&d.flops) + at_one(&d.int_ops)).abs()
        })
    };
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
    }
}
