//! Two models compared (`nncost diff A B`): a table or JSON of the totals
//! and of each operator type or module, both sides and the change.

use std::fmt::Write;

use nncost_core::diff::{Diff, DiffBy, DiffRow};
use nncost_core::report::Subtotal;
use nncost_core::Poly;
use serde_json::{json, Value};

use crate::html::esc;
use crate::json::{count, subtotal};
use crate::table::{cells, module_label, write_rows, Cell, Row};
use crate::units::{bytes, grouped, human, poly};

fn by_text(d: &Diff) -> String {
    match d.by {
        DiffBy::Operator => "operator".to_string(),
        DiffBy::Module(depth) => format!("module (depth {depth})"),
    }
}

/// The rows shown by the table, Markdown and HTML: header, total, groups.
fn rows(d: &Diff, exact: bool) -> Vec<Row> {
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
    .map(Cell::from)
    .to_vec()];
    for r in std::iter::once(&d.total).chain(&d.rows) {
        rows.push(row(r, exact));
    }
    rows
}

/// The table: a header naming both models, then one row per group.
pub fn render_table(d: &Diff, before: &str, after: &str, exact: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "nncost {} · diff", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "before: {before}");
    let _ = writeln!(out, "after:  {after}");
    let _ = writeln!(out, "by {}, largest change in FLOPs first\n", by_text(d));
    write_rows(&mut out, &rows(d, exact));
    let memory = memory_rows(d, exact);
    if memory.len() > 1 {
        out.push('\n');
        write_rows(&mut out, &memory);
    }
    out
}

/// The tables Markdown and HTML show, in human units: the counts, then
/// memory when both reports have it.
fn tables(d: &Diff) -> Vec<Vec<Row>> {
    let mut out = vec![rows(d, false)];
    let memory = memory_rows(d, false);
    if memory.len() > 1 {
        out.push(memory);
    }
    out
}

/// The memory comparison's rows (header first; only the header when the
/// reports have no memory).
fn memory_rows(d: &Diff, exact: bool) -> Vec<Row> {
    let mut rows: Vec<Row> = vec![["memory", "before", "after", "Δ"].map(Cell::from).to_vec()];
    for m in &d.memory {
        let delta = match m.delta() {
            Ok(p) if p.is_zero() => "0".to_string(),
            Ok(p) => {
                let text = bytes(&p, exact);
                match text.strip_prefix('-') {
                    Some(rest) => format!("−{rest}"),
                    None => format!("+{text}"),
                }
            }
            Err(_) => "?".into(),
        };
        rows.push(cells![
            m.key.to_string(),
            bytes(&m.before, exact),
            bytes(&m.after, exact),
            delta,
        ]);
    }
    rows
}

/// Markdown: the same rows as a table, the models named above it.
pub fn render_markdown(d: &Diff, before: &str, after: &str) -> String {
    let cell = |c: &str| c.replace('|', "\\|");
    let mut out = format!(
        "**{}** → **{}**, by {}\n\n",
        cell(before),
        cell(after),
        by_text(d)
    );
    for (k, table) in tables(d).iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        for (i, r) in table.iter().enumerate() {
            let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
            if i == 0 {
                let rule: Vec<&str> = (0..r.len())
                    .map(|c| if c == 0 { "---" } else { "---:" })
                    .collect();
                let _ = writeln!(out, "|{}|", rule.join("|"));
            }
        }
    }
    out
}

/// HTML: one self-contained page with the same rows.
pub fn render_html(d: &Diff, before: &str, after: &str) -> String {
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nncost diff</title>\
         <style>body{{font:14px/1.4 system-ui,sans-serif;margin:1.5em}}table{{border-collapse:collapse}}\
         th,td{{padding:.15em .6em;text-align:right;white-space:nowrap}}th:first-child,td:first-child{{text-align:left}}\
         tr:nth-child(even){{background:#fafafa}}</style></head><body><h1>nncost diff</h1>\
         <p>before: {}<br>after: {}<br>by {}, largest change in FLOPs first</p><table id=\"diff\">",
        esc(before),
        esc(after),
        esc(&by_text(d))
    );
    for (k, table) in tables(d).iter().enumerate() {
        if k > 0 {
            out.push_str("</table><table id=\"diff-memory\">");
        }
        for (i, r) in table.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            out.push_str("<tr>");
            for c in r {
                let _ = write!(out, "<{tag}>{}</{tag}>", esc(c));
            }
            out.push_str("</tr>");
        }
    }
    out.push_str("</table></body></html>\n");
    out
}

/// CSV: exact counts of both sides and the change, one record per group.
pub fn render_csv(d: &Diff) -> String {
    let mut out = String::from(
        "key,before_nodes,after_nodes,before_params,after_params,delta_params,\
         before_macs,after_macs,delta_macs,before_flops,after_flops,delta_flops\r\n",
    );
    let text = |p: Option<&Poly>| p.map_or(String::new(), Poly::to_string);
    for r in std::iter::once(&d.total).chain(&d.rows) {
        let delta = r.delta().ok();
        let fields = [
            r.key.clone(),
            r.before.nodes.to_string(),
            r.after.nodes.to_string(),
            r.before.params.to_string(),
            r.after.params.to_string(),
            r.params_delta().to_string(),
            r.before.cost.macs.to_string(),
            r.after.cost.macs.to_string(),
            text(delta.as_ref().map(|c| &c.macs)),
            r.before.cost.flops.to_string(),
            r.after.cost.flops.to_string(),
            text(delta.as_ref().map(|c| &c.flops)),
        ];
        let quoted: Vec<String> = fields
            .iter()
            .map(|f| {
                if f.contains([',', '"', '\n']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.clone()
                }
            })
            .collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
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
    let key = module_label(&r.key);
    let dp = r.params_delta();
    cells![
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
    let side = |s: &Subtotal| subtotal(&[], s);
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
        "memory": d.memory.iter().map(|m| json!({
            "key": m.key,
            "before": count(&m.before),
            "after": count(&m.after),
            "delta": m.delta().ok().as_ref().map_or(Value::Null, count),
        })).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
