//! The human-readable report: a header stating the model and the counting
//! convention, one row per node (or per operator type), then totals.

use std::fmt::Write;

use nncost_core::report::{NodeReport, NodeStatus, Subtotal, ValueReport, CONVENTION};
use nncost_core::shape::format_shape;
use nncost_core::{Poly, Report};

use crate::units::{grouped, human, poly};
use crate::{ModelInfo, SortKey, TableOptions};

/// Longest node name shown in full; longer names keep their tail, which
/// carries the layer name in exported graphs (`…/layer4/layer4.1/conv2/Conv`).
const MAX_NAME: usize = 44;

pub fn render(report: &Report, info: &ModelInfo, options: TableOptions) -> String {
    let mut out = String::new();
    header(&mut out, report, info);
    if !options.summary {
        let mut rows = match (options.depth, options.by_op) {
            (Some(depth), _) => by_module_rows(report, depth, options),
            (None, true) => by_op_rows(report, options),
            (None, false) => node_rows(report, options),
        };
        if !has_int_ops(&report.nodes) {
            drop_column(&mut rows, INT_OPS);
        }
        write_rows(&mut out, &rows);
    }
    totals(&mut out, report, options);
    out
}

fn header(out: &mut String, report: &Report, info: &ModelInfo) {
    let mut line = format!("nncost {} · {}", env!("CARGO_PKG_VERSION"), info.source);
    let mut facts = Vec::new();
    if let Some(ir) = info.ir_version {
        facts.push(format!("{} IR {ir}", info.format.to_uppercase()));
    }
    if let Some((_, v)) = info
        .opsets
        .iter()
        .find(|(d, _)| d.is_empty() || d == "ai.onnx")
    {
        facts.push(format!("opset {v}"));
    }
    if let Some(p) = info.producer.as_deref().filter(|p| !p.is_empty()) {
        facts.push(format!("from {p}"));
    }
    if !facts.is_empty() {
        let _ = write!(line, " ({})", facts.join(", "));
    }
    let _ = writeln!(out, "{line}");
    let _ = writeln!(out, "convention: {CONVENTION}");
    for v in &report.inputs {
        let _ = writeln!(out, "input:  {}", describe_value(v));
    }
    for v in &report.outputs {
        let _ = writeln!(out, "output: {}", describe_value(v));
    }
    if !report.bindings.is_empty() {
        let b: Vec<String> = report
            .bindings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "bound:  {}", b.join(", "));
    }
    if !report.at_upper_bound.is_empty() {
        let _ = writeln!(
            out,
            "worst case: {} at their upper bounds (--bound max), not measured sizes",
            report.at_upper_bound.join(", ")
        );
    }
    out.push('\n');
}

fn describe_value(v: &ValueReport) -> String {
    format!(
        "{} {} {}",
        v.name,
        v.dtype.map_or("?", |d| d.name()),
        shape_text(v.shape.as_deref())
    )
}

fn shape_text(shape: Option<&[nncost_core::Dim]>) -> String {
    shape.map_or("?".to_string(), format_shape)
}

type Row = Vec<String>;

/// Header of the integer-operations column, shown only for models with
/// quantized kernels so that float models' tables stay as they are.
const INT_OPS: &str = "int ops";

/// Whether any node, at any depth, counts integer operations.
fn has_int_ops(nodes: &[NodeReport]) -> bool {
    nodes.iter().any(|n| {
        n.int_ops().is_some_and(|p| !p.is_zero())
            || n.subgraphs.iter().any(|s| has_int_ops(&s.nodes))
    })
}

fn drop_column(rows: &mut [Row], header: &str) {
    let Some(c) = rows
        .first()
        .and_then(|h| h.iter().position(|x| x == header))
    else {
        return;
    };
    for row in rows {
        row.remove(c);
    }
}

/// The arithmetic a share is taken of: FLOPs plus integer operations (a
/// quantized model's work is mostly the latter).
fn work(flops: Option<&Poly>, int_ops: Option<&Poly>) -> f64 {
    flops.map_or(0.0, at_one) + int_ops.map_or(0.0, at_one)
}

fn node_rows(report: &Report, options: TableOptions) -> Vec<Row> {
    let total = work(
        Some(&report.totals.cost.flops),
        Some(&report.totals.cost.int_ops),
    );
    let mut rows = vec![[
        "#",
        "node",
        "op",
        "output shape",
        "params",
        "MACs",
        "FLOPs",
        INT_OPS,
        "share",
    ]
    .map(String::from)
    .to_vec()];
    let order = ranked(&report.nodes, options, |n| {
        (n.flops(), n.int_ops(), n.macs(), n.params)
    });
    let show_bodies = options.sort.is_none() && options.top.is_none();
    for i in order {
        let n = &report.nodes[i];
        rows.push(vec![
            (i + 1).to_string(),
            shorten(&n.name),
            n.op_type.clone(),
            output_text(n),
            count(n.params as i128, options),
            cost_text(n.macs(), &n.status, options),
            cost_text(n.flops(), &n.status, options),
            cost_text(n.int_ops(), &n.status, options),
            share(work(n.flops(), n.int_ops()), total),
        ]);
        if show_bodies {
            body_rows(&mut rows, n, &(i + 1).to_string(), 1, options);
        }
    }
    rows
}

/// The indices of `items` to show, in order: all of them in the model's
/// order, or sorted by `options.sort` (FLOPs and integer operations for
/// `--top` alone), largest first, then cut to `options.top`. `measure`
/// gives an item's (FLOPs, integer operations, MACs, params).
fn ranked<T>(
    items: &[T],
    options: TableOptions,
    measure: impl Fn(&T) -> (Option<&Poly>, Option<&Poly>, Option<&Poly>, u64),
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    let key = match (options.sort, options.top) {
        (Some(k), _) => k,
        (None, Some(_)) => SortKey::Flops,
        (None, None) => return order,
    };
    let value = |i: &usize| {
        let (flops, int_ops, macs, params) = measure(&items[*i]);
        match key {
            SortKey::Flops => work(flops, int_ops),
            SortKey::Macs => macs.map_or(0.0, at_one),
            SortKey::Params => params as f64,
        }
    };
    order.sort_by(|a, b| value(b).total_cmp(&value(a)).then(a.cmp(b)));
    order.truncate(options.top.unwrap_or(usize::MAX));
    order
}

/// Rows for a control-flow node's bodies: one per body (its cost per run
/// and how many runs the node counts), then the body's nodes, indented and
/// numbered under the node (`3.1`, `3.2`, …).
fn body_rows(
    rows: &mut Vec<Row>,
    n: &NodeReport,
    number: &str,
    depth: usize,
    options: TableOptions,
) {
    let indent = "  ".repeat(depth);
    let mut k = 0;
    for s in &n.subgraphs {
        let runs = match &s.runs {
            Some(r) if r.is_zero() => "not counted".to_string(),
            Some(r) => format!("× {}", poly(r, options.exact)),
            None => "shown".to_string(),
        };
        rows.push(vec![
            String::new(),
            format!("{indent}[{}] {runs}", s.attribute),
            String::new(),
            String::new(),
            count(s.params as i128, options),
            cost_text(Some(&s.cost.macs), &NodeStatus::Counted, options),
            cost_text(Some(&s.cost.flops), &NodeStatus::Counted, options),
            cost_text(Some(&s.cost.int_ops), &NodeStatus::Counted, options),
            String::new(),
        ]);
        for c in &s.nodes {
            k += 1;
            let num = format!("{number}.{k}");
            let name: String = shorten(&c.name);
            rows.push(vec![
                num.clone(),
                format!("{indent}{name}"),
                c.op_type.clone(),
                output_text(c),
                count(c.params as i128, options),
                cost_text(c.macs(), &c.status, options),
                cost_text(c.flops(), &c.status, options),
                cost_text(c.int_ops(), &c.status, options),
                String::new(),
            ]);
            body_rows(rows, c, &num, depth + 1, options);
        }
    }
}

fn output_text(n: &NodeReport) -> String {
    match n.outputs.first() {
        None => String::new(),
        Some(o) if n.outputs.len() > 1 => {
            format!(
                "{} (+{})",
                shape_text(o.shape.as_deref()),
                n.outputs.len() - 1
            )
        }
        Some(o) => shape_text(o.shape.as_deref()),
    }
}

/// One row per operator type, heaviest first.
fn by_op_rows(report: &Report, options: TableOptions) -> Vec<Row> {
    let groups = report
        .by_op()
        .into_iter()
        .map(|g| (g.op_type, g.sum))
        .collect();
    group_rows(report, "op", groups, true, options)
}

/// One row per module at `depth`, in the model's order (a module tree
/// reads top to bottom); nodes outside any module are `(top level)`.
fn by_module_rows(report: &Report, depth: usize, options: TableOptions) -> Vec<Row> {
    let groups = report
        .by_module(depth)
        .into_iter()
        .map(|g| {
            let name = if g.path.is_empty() {
                "(top level)".to_string()
            } else {
                g.path
            };
            (name, g.sum)
        })
        .collect();
    group_rows(report, "module", groups, false, options)
}

/// Rows of named subtotals; `heaviest_first` sorts by work.
fn group_rows(
    report: &Report,
    label: &str,
    mut groups: Vec<(String, Subtotal)>,
    heaviest_first: bool,
    options: TableOptions,
) -> Vec<Row> {
    let group_work = |g: &Subtotal| work(Some(&g.cost.flops), Some(&g.cost.int_ops));
    if heaviest_first {
        groups.sort_by(|a, b| {
            group_work(&b.1)
                .total_cmp(&group_work(&a.1))
                .then(a.0.cmp(&b.0))
        });
    }
    let order = ranked(&groups, options, |(_, g)| {
        (
            Some(&g.cost.flops),
            Some(&g.cost.int_ops),
            Some(&g.cost.macs),
            g.params,
        )
    });
    let mut slots: Vec<Option<(String, Subtotal)>> = groups.into_iter().map(Some).collect();
    let groups: Vec<(String, Subtotal)> =
        order.into_iter().filter_map(|i| slots[i].take()).collect();
    let total = work(
        Some(&report.totals.cost.flops),
        Some(&report.totals.cost.int_ops),
    );
    let mut rows = vec![
        [label, "nodes", "params", "MACs", "FLOPs", INT_OPS, "share"]
            .map(String::from)
            .to_vec(),
    ];
    for (name, g) in groups {
        let nodes = if g.uncounted > 0 {
            format!("{} ({} not counted)", g.nodes, g.uncounted)
        } else {
            g.nodes.to_string()
        };
        let share = share(group_work(&g), total);
        rows.push(vec![
            name,
            nodes,
            count(g.params as i128, options),
            poly(&g.cost.macs, options.exact),
            poly(&g.cost.flops, options.exact),
            poly(&g.cost.int_ops, options.exact),
            share,
        ]);
    }
    rows
}

/// Left-aligns text columns and right-aligns numeric ones, writing
/// straight into `out` (a large graph has hundreds of thousands of cells).
fn write_rows(out: &mut String, rows: &[Row]) {
    let Some(first) = rows.first() else { return };
    let ncol = first.len();
    let widths: Vec<usize> = (0..ncol)
        .map(|c| rows.iter().map(|r| width(&r[c])).max().unwrap_or(0))
        .collect();
    let numeric: Vec<bool> = first
        .iter()
        .map(|h| {
            matches!(
                h.as_str(),
                "#" | "params" | "MACs" | "FLOPs" | INT_OPS | "share" | "nodes"
            )
        })
        .collect();
    out.reserve(rows.len() * (widths.iter().sum::<usize>() + 2 * ncol));
    for row in rows {
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                out.push_str("  ");
            }
            let pad = widths[c] - width(cell);
            if numeric[c] {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
}

fn totals(out: &mut String, report: &Report, options: TableOptions) {
    let t = &report.totals;
    let both = |n: i128| {
        if options.exact {
            grouped(n)
        } else {
            format!("{} ({})", human(n), grouped(n))
        }
    };
    if !options.summary {
        let _ = writeln!(out);
    }
    // Say where the weights came from when not all are initializers.
    let held_in_nodes = if t.params_in_constant_nodes > 0 {
        format!(
            "; {} held in Constant nodes",
            both(t.params_in_constant_nodes as i128)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "params   {}  ({} bytes{held_in_nodes})",
        both(t.params as i128),
        grouped(t.param_bytes as i128)
    );
    if t.buffers > 0 {
        let _ = writeln!(
            out,
            "buffers  {}  (BatchNormalization running statistics, not trainable)",
            both(t.buffers as i128)
        );
    }
    // A total that leaves nodes out says so next to the number.
    let partial = if report.is_complete() {
        String::new()
    } else {
        let n = report.incomplete().count() + report.unsupported_count();
        format!(
            "  (partial: {n} {} not counted, see below)",
            if n == 1 { "node" } else { "nodes" }
        )
    };
    let _ = writeln!(
        out,
        "MACs     {}{partial}",
        total_text(&t.cost.macs, options)
    );
    let _ = writeln!(
        out,
        "FLOPs    {}{partial}",
        total_text(&t.cost.flops, options)
    );
    if !t.cost.int_ops.is_zero() {
        let _ = writeln!(
            out,
            "int ops  {}  (integer arithmetic of quantized kernels, not in FLOPs)",
            total_text(&t.cost.int_ops, options)
        );
    }
    let free = report.free_symbols();
    if !free.is_empty() {
        let _ = writeln!(
            out,
            "symbolic: counts depend on {}; bind with --dim NAME=VALUE",
            free.join(", ")
        );
    }
    let incomplete: Vec<_> = report.incomplete().collect();
    if !incomplete.is_empty() {
        let _ = writeln!(
            out,
            "not fully inferred: {} {} (their cost is not in the totals)",
            incomplete.len(),
            if incomplete.len() == 1 {
                "node"
            } else {
                "nodes"
            }
        );
        for (n, reason) in incomplete.iter().take(10) {
            let _ = writeln!(out, "  {} ({}): {reason}", n.name, n.op_type);
        }
        if incomplete.len() > 10 {
            let _ = writeln!(
                out,
                "  … and {} more (see --format json)",
                incomplete.len() - 10
            );
        }
    }
    if !report.unsupported.is_empty() {
        let list: Vec<String> = report
            .unsupported
            .iter()
            .map(|u| {
                let op = if u.domain.is_empty() {
                    u.op_type.clone()
                } else {
                    format!("{}:{}", u.domain, u.op_type)
                };
                format!("{op} ×{}", u.nodes.len())
            })
            .collect();
        let n = report.unsupported_count();
        let _ = writeln!(
            out,
            "not counted: {n} {} — {}",
            if n == 1 { "node" } else { "nodes" },
            list.join(", ")
        );
    }
}

fn total_text(p: &Poly, options: TableOptions) -> String {
    match p.as_constant() {
        Some(c) if !options.exact => format!("{} ({})", human(c), grouped(c)),
        _ => poly(p, options.exact),
    }
}

fn count(n: i128, options: TableOptions) -> String {
    if n == 0 {
        "-".to_string()
    } else if options.exact {
        grouped(n)
    } else {
        human(n)
    }
}

fn cost_text(p: Option<&Poly>, status: &NodeStatus, options: TableOptions) -> String {
    match (p, status) {
        (Some(p), _) if p.is_zero() => "-".to_string(),
        (Some(p), _) => poly(p, options.exact),
        (None, NodeStatus::Unsupported) => "not counted".to_string(),
        (None, _) => "?".to_string(),
    }
}

/// Share of the total [`work`]. Symbolic counts are compared with every
/// symbol at 1, which is exact when all terms share the same symbols (the
/// usual `× batch`).
fn share(part: f64, total: f64) -> String {
    if total > 0.0 && part > 0.0 {
        format!("{:.1}%", 100.0 * part / total)
    } else {
        String::new()
    }
}

/// Display width in characters (cells hold `×`, `·` and `…`).
fn width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

fn at_one(p: &Poly) -> f64 {
    if let Some(c) = p.as_constant() {
        return c as f64;
    }
    p.substitute(&|_| Some(1))
        .ok()
        .and_then(|q| q.as_constant())
        .map_or(0.0, |c| c as f64)
}

fn shorten(name: &str) -> String {
    let n = name.chars().count();
    if n <= MAX_NAME {
        return name.to_string();
    }
    let tail: String = name.chars().skip(n - (MAX_NAME - 1)).collect();
    format!("…{tail}")
}
