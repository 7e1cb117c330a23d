//! Two models compared (`nncost diff A B`): a table or JSON of the totals
//! and of each operator type or module, both sides and the change.

use std::fmt::Write;

use nncost_core::diff::{Diff, DiffBy, DiffRow};
use nncost_core::report::Subtotal;
use nncost_core::Poly;
use serde_json::{json, Value};

use crate::json::count;
use crate::table::{write_rows, Row};
use crate::units::{grouped, human, poly};

/// The table: a header naming both models, then one row per group.
pub fn render_table(d: &Diff, before: &str, after: &str, exact: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "nncost {} · diff", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "before: {before}");
    let _ = writeln!(out, "after:  {after}");
    let by = match d.by {
        DiffBy::Operator => "operator".to_string(),
        DiffBy::Module(depth) => format!("module (depth {depth})"),
    };
    let _ = writeln!(out, "by {by}, largest change in FLOPs first\n");
    let label = match d.by {
        DiffBy::Operator => "op",
        DiffBy::Module(_) => "module",
    };
    let mut rows: Vec<Row> = vec![[
        label,
        "nodes",
        "params",
        "Δ params",
        "MACs",
        "Δ MACs",
        "FLOPs",
        "Δ FLOPs",
    ]
    .map(String::from)
    .to_vec()];
    for r in std::iter::once(&d.total).chain(&d.rows) {
        rows.push(row(r, exact));
    }
    write_rows(&mut out, &rows);
    out
}

fn row(r: &DiffRow, exact: bool) -> Row {
    let number = |n: i128| if exact { grouped(n) } else { human(n) };
    let both = |a: &Poly, b: &Poly| format!("{} → {}", poly(a, exact), poly(b, exact));
    let delta = r.delta().ok();
    let signed = |p: Option<&Poly>| match p {
        None => "?".to_string(),
        Some(p) if p.is_zero() => "0".to_string(),
        Some(p) => {
            let text = poly(p, exact);
            if text.starts_with('-') {
                text.replacen('-', "−", 1)
            } else {
                format!("+{text}")
            }
        }
    };
    let key = if r.key.is_empty() {
        "(top level)".to_string()
    } else {
        r.key.clone()
    };
    let dp = r.params_delta();
    vec![
        key,
        format!("{} → {}", r.before.nodes, r.after.nodes),
        format!(
            "{} → {}",
            number(r.before.params.into()),
            number(r.after.params.into())
        ),
        if dp == 0 {
            "0".into()
        } else if dp > 0 {
            format!("+{}", number(dp))
        } else {
            format!("−{}", number(-dp))
        },
        both(&r.before.cost.macs, &r.after.cost.macs),
        signed(delta.as_ref().map(|c| &c.macs)),
        both(&r.before.cost.flops, &r.after.cost.flops),
        signed(delta.as_ref().map(|c| &c.flops)),
    ]
}

/// The JSON: schema `nncost.diff` version 1.
pub fn render_json(d: &Diff, before: &str, after: &str) -> String {
    let side = |s: &Subtotal| {
        json!({
            "nodes": s.nodes,
            "uncounted": s.uncounted,
            "params": s.params,
            "buffers": s.buffers,
            "macs": count(&s.cost.macs),
            "flops": count(&s.cost.flops),
            "int_ops": count(&s.cost.int_ops),
        })
    };
    let row = |r: &DiffRow| {
        let delta = r.delta().ok();
        json!({
            "key": r.key,
            "before": side(&r.before),
            "after": side(&r.after),
            "delta": {
                "params": i64::try_from(r.params_delta()).map_or(Value::Null, Value::from),
                "macs": delta.as_ref().map_or(Value::Null, |c| count(&c.macs)),
                "flops": delta.as_ref().map_or(Value::Null, |c| count(&c.flops)),
                "int_ops": delta.as_ref().map_or(Value::Null, |c| count(&c.int_ops)),
            },
        })
    };
    let by = match d.by {
        DiffBy::Operator => json!({"kind": "operator"}),
        DiffBy::Module(depth) => json!({"kind": "module", "depth": depth}),
    };
    let v = json!({
        "schema": "nncost.diff",
        "schema_version": 1,
        "tool": {"name": "nncost", "version": env!("CARGO_PKG_VERSION")},
        "before": before,
        "after": after,
        "by": by,
        "total": row(&d.total),
        "rows": d.rows.iter().map(row).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
