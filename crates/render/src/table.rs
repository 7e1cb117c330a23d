//! The human-readable report: a header stating the model and the counting
//! convention, one row per node (or per operator type), then totals.

use std::fmt::Write;

use nncost_core::report::{
    ModuleGroup, NodeReport, NodeStatus, OpGroup, Subtotal, ValueReport, LEGEND,
};
use nncost_core::shape::format_shape;
use nncost_core::{Poly, Report};

use crate::groups::{GroupSums, Groups};
use crate::text::printable;
use crate::units::{bytes, grouped, human, poly, seconds};
use crate::{ModelInfo, SortKey, TableOptions};
use std::borrow::Cow;
use texts::CellTexts;

mod texts;
mod writer;
pub use writer::TableWriter;

/// The table: header, rows (nodes, operators or modules; fitted to
/// `options.width` when given) and totals.
pub fn render(report: &Report, info: &ModelInfo, options: TableOptions) -> String {
    crate::in_memory(0, |out| render_to(report, info, options, out))
}

/// [`render`], written to `sink` as it is made: the rows' cells are held
/// (their widths set the columns'), the table's text is not. A table of
/// every node in order goes through [`TableWriter`], as a streamed one does.
pub fn render_to(
    report: &Report,
    info: &ModelInfo,
    options: TableOptions,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if let Some(written) = TableWriter::write_whole(options, false, report, info, sink) {
        return written;
    }
    write_table(report, info, options, sink, |sink| {
        write_laid_out(&rows(report, options), options.width, sink)
    })
}

/// Writes `rows` (the header first) laid out to `width`; returns the
/// columns left out to fit it.
fn write_laid_out(
    rows: &[Row],
    width: Option<usize>,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<Vec<String>> {
    let layout = Layout::of_rows(rows, width);
    let mut line = String::new();
    for row in rows {
        layout.write_line(&mut line, row);
        sink.write_all(line.as_bytes())?;
    }
    Ok(layout.dropped)
}

/// Writes a table: the header, then (unless `options.summary`) the rows
/// `body` writes, which returns the columns it left out to fit the width,
/// then the notes and the totals.
fn write_table(
    report: &Report,
    info: &ModelInfo,
    options: TableOptions,
    sink: &mut dyn std::io::Write,
    body: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<Vec<String>>,
) -> std::io::Result<()> {
    let mut out = String::new();
    let mut head = String::new();
    header(&mut head, report, info, options.width);
    wrap_into(&mut out, &head, options.width);
    sink.write_all(out.as_bytes())?;
    out.clear();
    if !options.summary {
        let dropped = body(sink)?;
        if let (Some(w), false) = (options.width, dropped.is_empty()) {
            let _ = writeln!(
                out,
                "(not shown to fit {w} columns: {})",
                dropped.join(", ")
            );
        }
        if let Some(note) = share_note(report) {
            let mut line = String::new();
            let _ = writeln!(line, "{note}");
            wrap_into(&mut out, &line, options.width);
        }
    }
    let mut tail = String::new();
    totals(&mut tail, report, options);
    wrap_into(&mut out, &tail, options.width);
    sink.write_all(out.as_bytes())
}

/// What the report says of the file: `ONNX IR 8`, `opset 17`, `from
/// pytorch 2.15.0`, each when known.
pub(crate) fn model_facts(info: &ModelInfo) -> Vec<String> {
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
    facts
}

/// The bindings applied, `batch=1, seq=128`; `None` when there are none.
pub(crate) fn bindings_text(report: &Report) -> Option<String> {
    (!report.bindings.is_empty()).then(|| {
        report
            .bindings
            .iter()
            .map(|(k, v)| format!("{}={v}", printable(k)))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The table's rows, header first: nodes, operators (`by_op`) or modules
/// (`depth`), without the `int ops` column for a float model. Shared with
/// the Markdown renderer.
pub(crate) fn rows(report: &Report, options: TableOptions) -> Vec<Row> {
    let mut rows = if options.streams_groups() {
        let groups = GroupSums::for_rows(options.by_op, options.depth).over(&report.nodes);
        group_table_rows(report, groups, options)
    } else if options.tree {
        tree_rows(report, options.depth.unwrap_or(usize::MAX), options)
    } else {
        node_rows(report, options)
    };
    tidy(&mut rows, report, has_int_ops(&report.nodes));
    rows
}

/// The rows of a table of operators or modules (header first), from their
/// subtotals (see [`GroupSums::for_rows`]); untidied (see [`tidy`]).
pub(crate) fn group_table_rows(report: &Report, groups: Groups, options: TableOptions) -> Vec<Row> {
    match (groups.modules, groups.ops) {
        (Some((_, modules)), _) => module_rows(report, modules, options),
        (None, ops) => op_rows(report, ops.unwrap_or_default(), options),
    }
}

/// Whether a table of `report` leaves `column` out: `int ops` when no node
/// counts any (`int_ops`), a share column when its total is more than one
/// term (a share of FLOPs see [`share_note`]; of MACs likewise).
fn left_out(column: &str, report: &Report, int_ops: bool) -> bool {
    match column {
        INT_OPS => !int_ops,
        SHARE => share_note(report).is_some(),
        MACS_SHARE => report.totals.cost.macs.terms().count() > 1,
        _ => false,
    }
}

/// What [`rows`] does to the rows it made: the columns [`left_out`] dropped
/// and every cell made printable.
fn tidy(rows: &mut [Row], report: &Report, int_ops: bool) {
    for column in [INT_OPS, SHARE, MACS_SHARE] {
        if left_out(column, report, int_ops) {
            drop_column(rows, column);
        }
    }
    // Names come from the file: shown with their control characters
    // escaped (a newline must not forge a row).
    for row in rows.iter_mut() {
        for cell in row.iter_mut() {
            if let Cow::Owned(clean) = printable(cell) {
                *cell = clean.into();
            }
        }
    }
}

/// Why the share column is left out, when it is: a share is a ratio of
/// numbers only when the total work is one term (`3.63 G × batch`); a total
/// such as `a·seq² + b·seq` has no share until `seq` is bound.
pub(crate) fn share_note(report: &Report) -> Option<String> {
    let t = &report.totals.cost;
    let total = t.flops.checked_add(&t.int_ops).ok()?;
    if total.terms().count() <= 1 {
        return None;
    }
    Some(format!(
        "({SHARE} left out: the total depends on {} in more than one term; bind with --dim)",
        total
            .symbols()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Whether a column holds numbers (right-aligned).
pub(crate) fn is_numeric_column(header: &str) -> bool {
    matches!(
        header,
        "#" | "params"
            | "MACs"
            | "FLOPs"
            | INT_OPS
            | SHARE
            | MACS_SHARE
            | PARAMS_SHARE
            | "nodes"
            | OUT_BYTES
            | MOVED
            | TIME
            | "before"
            | "after"
            | "Δ"
            | "Δ params"
            | "Δ MACs"
            | "Δ FLOPs"
    )
}

/// Appends `text` to `out`, each line longer than `width` broken at spaces
/// (continuations indented by 4), and a word longer than a line (a file
/// path) shortened in the middle.
fn wrap_into(out: &mut String, text: &str, width: Option<usize>) {
    let Some(w) = width else {
        out.push_str(text);
        return;
    };
    for line in text.lines() {
        if self::width(line) <= w {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut current = String::new();
        // Right after a break, the indent stands for the space.
        let mut continued = false;
        for (k, word) in line.split(' ').enumerate() {
            let room = if current.is_empty() { w } else { w - 4 };
            let word = shorten_middle(word, room.max(MIN_NAME));
            let needed = self::width(&current) + 1 + self::width(&word);
            if !current.is_empty() && !word.is_empty() && needed > w {
                out.push_str(current.trim_end());
                out.push('\n');
                current = "    ".to_string();
                continued = true;
            } else if k > 0 && !continued {
                current.push(' ');
            }
            if !word.is_empty() {
                continued = false;
            }
            current.push_str(&word);
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
}

fn header(out: &mut String, report: &Report, info: &ModelInfo, width: Option<usize>) {
    let mut line = format!(
        "nncost {} · {}",
        env!("CARGO_PKG_VERSION"),
        printable(&info.source)
    );
    let facts = model_facts(info);
    if !facts.is_empty() {
        let facts = format!("({})", facts.join(", "));
        // On a narrow terminal the file's facts take a line of their own.
        if width.is_some_and(|w| self::width(&line) + 1 + self::width(&facts) > w) {
            let _ = write!(line, "\n{facts}");
        } else {
            let _ = write!(line, " {facts}");
        }
    }
    let _ = writeln!(out, "{line}");
    // The short legend; the full statement is in the JSON and the docs.
    let _ = writeln!(out, "convention: {LEGEND}");
    for v in &report.inputs {
        let _ = writeln!(out, "input:  {}", describe_value(v));
    }
    for v in &report.outputs {
        let _ = writeln!(out, "output: {}", describe_value(v));
    }
    for f in &info.facts {
        let _ = writeln!(out, "{}: {}", f.label, printable(&f.text(false)));
    }
    if let Some(b) = bindings_text(report) {
        let _ = writeln!(out, "bound:  {b}");
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
        printable(&v.name),
        v.dtype.map_or("?", |d| d.name()),
        printable(&shape_text(v.shape.as_deref()))
    )
}

/// A shape's text: `?` when its rank is unknown.
pub(crate) fn shape_text(shape: Option<&[nncost_core::Dim]>) -> String {
    shape.map_or("?".to_string(), format_shape)
}

/// A row's cells. A cell of up to 24 bytes (a count, a shape, most names)
/// is held inline: a table of a million nodes was otherwise nine million
/// small allocations, 300 MB held until the widths were known.
pub(crate) type Row = Vec<Cell>;
pub(crate) type Cell = compact_str::CompactString;

/// A [`Row`] from cells of any string type.
macro_rules! cells {
    ($($cell:expr),* $(,)?) => {
        vec![$($crate::table::Cell::from($cell)),*]
    };
}
pub(crate) use cells;

/// Header of the integer-operations column, shown only for models with
/// quantized kernels so that float models' tables stay as they are.
const INT_OPS: &str = "int ops";
/// The share column: a row's part of the FLOPs (with integer operations,
/// for quantized models), at every symbol = 1 when the model is symbolic.
const SHARE: &str = "% FLOPs";
/// Group tables' shares of the MACs and of the parameters.
const MACS_SHARE: &str = "% MACs";
const PARAMS_SHARE: &str = "% params";
/// With `--memory`: the new storage a node's outputs take, and the bytes
/// it reads and writes.
const OUT_BYTES: &str = "out bytes";
const MOVED: &str = "moved";
/// With `--hardware`: the node's least time, and which limit sets it.
const TIME: &str = "time ≥";
const BOUND: &str = "bound";

/// Whether any node, at any depth, counts integer operations.
pub(crate) fn has_int_ops(nodes: &[NodeReport]) -> bool {
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
    flops.map_or(0.0, Poly::at_one) + int_ops.map_or(0.0, Poly::at_one)
}

/// The rows of the `top` heaviest nodes of a whole report (header first).
/// Every other table of nodes, in the model's order or sorted, goes
/// through the [`TableWriter`]; so do the top nodes of a streamed report.
/// Ranked rows show no bodies: a body's row under a node that moved would
/// read as another's.
fn node_rows(report: &Report, options: TableOptions) -> Vec<Row> {
    debug_assert!(options.top.is_some());
    let total = work(
        Some(&report.totals.cost.flops),
        Some(&report.totals.cost.int_ops),
    );
    let mut rows = vec![writer::COLUMNS.map(Cell::from).to_vec()];
    rows[0].extend(extra_columns(report).map(Cell::from));
    let order = ranked(&report.nodes, options, |n| {
        (n.flops(), n.int_ops(), n.macs(), n.params)
    });
    let mut texts = CellTexts::default();
    for i in order {
        let n = &report.nodes[i];
        let mut row = node_cells(
            (i + 1).to_string(),
            &*n.name,
            n,
            share(work(n.flops(), n.int_ops()), total),
            options,
            &mut texts,
        );
        push_extra_cells(&mut row, report, i, options, &mut texts);
        rows.push(row);
    }
    rows
}

/// The columns after [`writer::COLUMNS`]: the memory columns when the
/// report has memory, then the time columns when it has times.
pub(crate) fn extra_columns(report: &Report) -> impl Iterator<Item = &'static str> {
    let memory = report.memory.is_some().then_some([OUT_BYTES, MOVED]);
    let time = report.roofline.is_some().then_some([TIME, BOUND]);
    memory.into_iter().chain(time).flatten()
}

/// Appends top-level node `i`'s cells of the [`extra_columns`] to `row`.
pub(crate) fn push_extra_cells(
    row: &mut Row,
    report: &Report,
    i: usize,
    options: TableOptions,
    texts: &mut CellTexts,
) {
    if let Some(m) = report.memory.as_ref().map(|m| &m.nodes[i]) {
        row.push(
            m.output_bytes
                .as_ref()
                .map_or("?".into(), |b| texts.bytes(b, options)),
        );
        row.push(match m.traffic.total() {
            Ok(t) if m.traffic.complete => texts.bytes(&t, options),
            // At least nothing known: unknown.
            Ok(t) if t.is_zero() => "?".into(),
            Ok(t) => compact_str::format_compact!("≥ {}", texts.bytes(&t, options)),
            Err(_) => "?".into(),
        });
    }
    if let Some(t) = report.roofline.as_ref().map(|r| &r.nodes[i]) {
        row.push(if t.seconds > 0.0 {
            seconds(t.seconds).into()
        } else {
            "-".into()
        });
        row.push(if t.seconds > 0.0 {
            t.bound.as_str().into()
        } else {
            Cell::default()
        });
    }
}

/// A node's row as shown under `number` and `name`: its operator, output
/// shape, parameters, MACs, FLOPs and integer operations, then `share`.
fn node_cells(
    number: impl Into<Cell>,
    name: impl Into<Cell>,
    n: &NodeReport,
    share: impl Into<Cell>,
    options: TableOptions,
    texts: &mut CellTexts,
) -> Row {
    vec![
        number.into(),
        name.into(),
        Cell::from(&*n.op_type),
        output_text(n, texts),
        count(n.params as i128, options).into(),
        texts.cost(n.macs(), &n.status, options),
        texts.cost(n.flops(), &n.status, options),
        texts.cost(n.int_ops(), &n.status, options),
        share.into(),
    ]
}

/// A byte count in a cell: `-` for none.
fn bytes_cell(p: &Poly, options: TableOptions) -> String {
    if p.is_zero() {
        "-".into()
    } else {
        bytes(p, options.exact)
    }
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
    let key = match (options.sort, options.top) {
        (Some(k), _) => k,
        (None, Some(_)) => SortKey::Flops,
        (None, None) => return (0..items.len()).collect(),
    };
    let values: Vec<f64> = items.iter().map(|i| rank_value(key, measure(i))).collect();
    let mut order = largest_first(&values);
    order.truncate(options.top.unwrap_or(usize::MAX));
    order
}

/// The indices of `values`, largest value first, the earlier index first
/// among equals.
pub(crate) fn largest_first(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order
}

/// The key to order a row by `--sort`'s measure: its (FLOPs, integer
/// operations, MACs, params), compared at every symbol = 1.
fn rank_value(key: SortKey, measure: (Option<&Poly>, Option<&Poly>, Option<&Poly>, u64)) -> f64 {
    let (flops, int_ops, macs, params) = measure;
    match key {
        SortKey::Flops => work(flops, int_ops),
        SortKey::Macs => macs.map_or(0.0, Poly::at_one),
        SortKey::Params => params as f64,
    }
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
    texts: &mut CellTexts,
) {
    let indent = "  ".repeat(depth);
    let mut k = 0;
    for s in &n.subgraphs {
        let runs = match &s.runs {
            Some(r) if r.is_zero() => "not counted".to_string(),
            Some(r) => format!("× {}", poly(r, options.exact)),
            None => "shown".to_string(),
        };
        push_body_row(
            rows,
            cells![
                String::new(),
                format!("{indent}[{}] {runs}", s.attribute),
                String::new(),
                String::new(),
                count(s.params as i128, options),
                cost_text(Some(&s.cost.macs), &NodeStatus::Counted, options),
                cost_text(Some(&s.cost.flops), &NodeStatus::Counted, options),
                cost_text(Some(&s.cost.int_ops), &NodeStatus::Counted, options),
                String::new(),
            ],
        );
        for c in &s.nodes {
            k += 1;
            let num = format!("{number}.{k}");
            let name = &c.name;
            let row = node_cells(
                num.as_str(),
                format!("{indent}{name}"),
                c,
                "",
                options,
                texts,
            );
            push_body_row(rows, row);
            body_rows(rows, c, &num, depth + 1, options, texts);
        }
    }
}

/// Adds a row of a body, its cells past the share column empty: a body's
/// memory and time (`--memory`, `--hardware`) are its node's.
fn push_body_row(rows: &mut Vec<Row>, mut row: Row) {
    let columns = rows.first().map_or(row.len(), Vec::len);
    row.resize(columns, Cell::default());
    rows.push(row);
}

/// Longest output shape a row shows, in characters; longer ones are
/// shortened in the middle. A shape is shared by every node it flows
/// through, so one of long symbol names (a 480 KB file's 8 names of 60,000
/// characters) printed whole on each of 200 rows made a 195 MB table; the
/// header shows the input and output shapes whole, and the JSON every one.
const MAX_SHAPE_CELL: usize = 120;

/// Longest symbolic count a row shows, for the same reason: the totals
/// below the table show them whole.
const MAX_COUNT_CELL: usize = 160;

fn output_text(n: &NodeReport, texts: &mut CellTexts) -> Cell {
    match n.outputs.first() {
        None => Cell::default(),
        Some(o) if n.outputs.len() > 1 => {
            compact_str::format_compact!("{} (+{})", texts.shape(o), n.outputs.len() - 1)
        }
        Some(o) => texts.shape(o),
    }
}

/// One row per operator type, heaviest first.
fn op_rows(report: &Report, groups: Vec<OpGroup>, options: TableOptions) -> Vec<Row> {
    let groups = groups.into_iter().map(|g| (g.op_type, g.sum)).collect();
    group_rows(report, "op", groups, true, options)
}

/// One row per module (at the depth asked for), in the model's order (a
/// module tree reads top to bottom); nodes outside any module are
/// `(top level)`.
fn module_rows(report: &Report, groups: Vec<ModuleGroup>, options: TableOptions) -> Vec<Row> {
    let groups = groups
        .into_iter()
        .map(|g| (module_title(&g.path, g.class.as_deref()), g.sum))
        .collect();
    group_rows(report, "module", groups, false, options)
}

/// The module tree, each module indented under its parent.
fn tree_rows(report: &Report, max_depth: usize, options: TableOptions) -> Vec<Row> {
    let groups = report
        .module_tree(max_depth)
        .into_iter()
        .map(|m| {
            let indent = "  ".repeat(m.depth - 1);
            (
                format!("{indent}{}", module_title(&m.path, m.class.as_deref())),
                m.sum,
            )
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
    let total_macs = report.totals.cost.macs.at_one();
    let total_params = report.totals.params as f64;
    let mut rows = vec![[
        label,
        "nodes",
        "params",
        PARAMS_SHARE,
        "MACs",
        MACS_SHARE,
        "FLOPs",
        INT_OPS,
        SHARE,
    ]
    .map(Cell::from)
    .to_vec()];
    for (name, g) in groups {
        let nodes = if g.uncounted > 0 {
            format!("{} ({} not counted)", g.nodes, g.uncounted)
        } else {
            g.nodes.to_string()
        };
        let share_of_work = share(group_work(&g), total);
        rows.push(cells![
            name,
            nodes,
            count(g.params as i128, options),
            share(g.params as f64, total_params),
            poly(&g.cost.macs, options.exact),
            share(g.cost.macs.at_one(), total_macs),
            poly(&g.cost.flops, options.exact),
            poly(&g.cost.int_ops, options.exact),
            share_of_work,
        ]);
    }
    rows
}

/// Left-aligns text columns and right-aligns numeric ones, writing
/// straight into `out` (a large graph has hundreds of thousands of cells).
pub(crate) fn write_rows(out: &mut String, rows: &[Row]) {
    out.push_str(&crate::in_memory(0, |sink| {
        write_laid_out(rows, None, sink).map(drop)
    }));
}

fn totals(out: &mut String, report: &Report, options: TableOptions) {
    let t = &report.totals;
    let both = |n: i128| {
        // Below a thousand the human form is the exact one: say it once.
        if options.exact || n.abs() < 1000 {
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
    for line in extra_lines(report, options.exact) {
        let _ = writeln!(out, "{line}");
    }
    let free = report.free_symbols();
    if !free.is_empty() {
        let _ = writeln!(
            out,
            "symbolic: counts depend on {}; bind with --dim NAME=VALUE",
            printable(&free.join(", "))
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
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                printable(&n.name),
                printable(&n.op_type),
                printable(reason)
            );
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
        // The kinds with most nodes first; a hostile or exotic file can
        // hold thousands of kinds, which the JSON lists in full.
        let mut kinds: Vec<_> = report.unsupported.iter().collect();
        kinds.sort_by_key(|u| std::cmp::Reverse(u.nodes.len()));
        let mut list: Vec<String> = kinds
            .iter()
            .take(MAX_KINDS_LISTED)
            .map(|u| {
                let op = if u.domain.is_empty() {
                    u.op_type.clone()
                } else {
                    format!("{}:{}", u.domain, u.op_type)
                };
                format!("{} ×{}", printable(&op), u.nodes.len())
            })
            .collect();
        if kinds.len() > MAX_KINDS_LISTED {
            list.push(format!(
                "… and {} more operator types (see --format json)",
                grouped((kinds.len() - MAX_KINDS_LISTED) as i128)
            ));
        }
        let n = report.unsupported_count();
        let _ = writeln!(
            out,
            "not counted: {} {} — {}",
            grouped(n as i128),
            if n == 1 { "node" } else { "nodes" },
            list.join(", ")
        );
    }
}

/// Operator types named on the "not counted" line; the rest are counted.
const MAX_KINDS_LISTED: usize = 12;

/// The lines of the totals beyond the counts, when asked for: the preset's
/// count and training, then memory and the roofline (shared with
/// Markdown).
pub(crate) fn extra_lines(report: &Report, exact: bool) -> Vec<String> {
    let mut lines = training_lines(report, exact);
    lines.extend(memory_lines(report, exact));
    lines
}

/// The training step's lines (shared with Markdown and HTML): forward plus
/// backward MACs and FLOPs, and what the backward adds.
pub(crate) fn training_lines(report: &Report, exact: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(c) = &report.convention {
        lines.push(format!(
            "{:<9}{} {} (its own convention: docs/conventions.md, \"Presets\")",
            c.convention.name(),
            poly(&c.total, exact),
            c.convention.unit()
        ));
    }
    let Some(t) = &report.training else {
        return lines;
    };
    let p = |x: &Poly| poly(x, exact);
    let frozen = if t.frozen.is_empty() {
        String::new()
    } else {
        format!("; frozen: {}", printable(&t.frozen.join(", ")))
    };
    lines.extend([
        format!(
            "training MACs {} (backward {}: a gradient product for each operand that needs one){frozen}",
            p(&t.total.macs),
            p(&t.backward.macs)
        ),
        format!(
            "training FLOPs {} (backward {}, of which {} estimated: other nodes' derivatives taken as their forward FLOPs)",
            p(&t.total.flops),
            p(&t.backward.flops),
            p(&t.backward.other_flops)
        ),
    ]);
    lines
}

/// The memory and time summary in lines (shared with the Markdown
/// renderer): weights by dtype, inputs and outputs, the peak in the file's
/// order and in the least order found, traffic, and the roofline's total.
pub(crate) fn memory_lines(report: &Report, exact: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(m) = &report.memory else {
        return lines;
    };
    let b = |p: &Poly| bytes(p, exact);
    let dtypes: Vec<String> = m
        .params_by_dtype
        .iter()
        .map(|s| format!("{} {}", s.dtype.name(), b(&Poly::constant(s.bytes as i128))))
        .collect();
    let stored = match &m.float_dtype {
        Some(d) => format!(", floats stored as {}", d.name()),
        None => String::new(),
    };
    let buffers = if m.buffer_bytes > 0 {
        format!("; buffers {}", b(&Poly::constant(m.buffer_bytes as i128)))
    } else {
        String::new()
    };
    lines.push(format!(
        "weights  {}{}{buffers}{stored}",
        b(&Poly::constant(m.param_bytes as i128)),
        if dtypes.is_empty() {
            String::new()
        } else {
            format!(" ({})", dtypes.join(", "))
        }
    ));
    lines.push(format!(
        "inputs   {}; outputs {}",
        b(&m.input_bytes),
        b(&m.output_bytes)
    ));
    let describe = |s: &nncost_core::memory::Schedule| -> String {
        let at = |node: &Option<usize>| match node {
            Some(i) => format!(" at {}", printable(&report.nodes[*i].name)),
            None => " (the inputs, before any node)".to_string(),
        };
        match (s.peak_at.as_slice(), s.peak_for_large_sizes()) {
            ([(node, p)], _) => format!("{} of activations{}", b(p), at(node)),
            (many, Some((node, p))) => format!(
                "{} of activations{} for large sizes (exactly, the largest of {} expressions: bind the dims or see the JSON)",
                b(p),
                at(node),
                many.len()
            ),
            _ => format!("{} of activations", b(&s.peak)),
        }
    };
    let (file, least) = (&m.file_order, &m.least_order);
    // The search compares sizes with every remaining symbol at 1.
    let searched_at = if file.peak.symbols().is_empty() {
        ""
    } else {
        " with every symbol at 1"
    };
    let proven = if least.proven_least {
        format!("proven{searched_at}")
    } else {
        "search budget spent: not proven least".to_string()
    };
    let least_text = if least.order == file.order {
        format!("no order is lower ({proven})")
    } else {
        format!("{} in the least order found ({proven})", describe(least))
    };
    lines.push(format!(
        "peak     {} in the file's order; {least_text}",
        describe(file)
    ));
    if let Ok(t) = m.traffic() {
        let partial = if t.complete {
            ""
        } else {
            " (at least: some sizes unknown)"
        };
        if let Ok(total) = t.total() {
            lines.push(format!(
                "moved    {} per run{partial}: activations read {}, weights read {}, written {}",
                b(&total),
                b(&t.activations_read),
                b(&t.weights_read),
                b(&t.written)
            ));
        }
    }
    if !m.unknown_values.is_empty() {
        lines.push(format!(
            "unknown  {} values of unknown size are in no sum (first: {})",
            m.unknown_values.len(),
            m.unknown_values[0]
        ));
    }
    if let Some(r) = &report.roofline {
        let share = if r.seconds > 0.0 {
            100.0 * r.memory_bound_seconds / r.seconds
        } else {
            0.0
        };
        lines.push(format!(
            "time     ≥ {} on {} at {} ({} TFLOPS, {} GB/s), {share:.0}% in memory-bound nodes: a roofline lower bound, not a measurement",
            seconds(r.seconds),
            r.hardware.name,
            r.precision.name(),
            trim_float(r.peak / 1e12),
            trim_float(r.bandwidth / 1e9),
        ));
    }
    lines
}

/// `989.4`, `3350`, `0.5`: a figure without trailing zeros.
fn trim_float(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
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
        (Some(p), _) => cut_middle(poly(p, options.exact), MAX_COUNT_CELL),
        (None, NodeStatus::Unsupported) => "not counted".to_string(),
        (None, _) => "?".to_string(),
    }
}

/// Share of the total [`work`]. Shown only when the total is one term (see
/// [`share_note`]): then every row's work is a multiple of the same
/// product of symbols, and comparing at every symbol = 1 is exact.
fn share(part: f64, total: f64) -> String {
    if total > 0.0 && part > 0.0 {
        format!("{:.1}%", 100.0 * part / total)
    } else {
        String::new()
    }
}

/// Display width in characters (cells hold `×`, `·` and `…`).
/// Each column's widest cell, in one pass over the rows (a million rows
/// are not read once per column).
fn column_widths(rows: &[Row]) -> Vec<usize> {
    let mut widths = vec![0; rows.first().map_or(0, Vec::len)];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    widths
}

fn width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// A module's name in tables: its path, `(top level)` for the nodes in
/// no module.
pub(crate) fn module_label(path: &str) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.to_string()
    }
}

/// A module's name with its class when the file records it:
/// `layer1.0.conv1 (Conv2d)`.
pub(crate) fn module_title(path: &str, class: Option<&str>) -> String {
    match class {
        Some(c) if !path.is_empty() => format!("{path} ({c})"),
        _ => module_label(path),
    }
}

/// [`shorten_middle`] of a string made for the cell: kept as it is when
/// short (a character is at least a byte).
fn cut_middle(text: String, max: usize) -> String {
    if text.len() <= max {
        text
    } else {
        shorten_middle(&text, max)
    }
}

/// `name` in at most `max` characters: the start and, longer, the
/// distinctive end (`/layer1/…/conv1/Conv`), joined by `…`.
fn shorten_middle(name: &str, max: usize) -> String {
    let n = name.chars().count();
    if n <= max || max < 5 {
        return name.to_string();
    }
    let head = (max - 1) / 3;
    let tail = max - 1 - head;
    let start: String = name.chars().take(head).collect();
    let end: String = name.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

fn push_spaces(line: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        line.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// The columns a [`Layout`] leaves out, first to last, when shortening names is
/// not enough.
pub const FIT_DROP_ORDER: [&str; 11] = [
    "output shape",
    INT_OPS,
    PARAMS_SHARE,
    MACS_SHARE,
    OUT_BYTES,
    "params",
    SHARE,
    BOUND,
    MOVED,
    "op",
    "MACs",
];

/// Narrowest a name column is shortened to before columns are dropped,
/// and after.
const READABLE_NAME: usize = 28;
const MIN_NAME: usize = 16;

/// Which columns a table shows, how wide each is, and how short its names
/// are cut, to fit a width: the name column (the second, or the first of
/// a grouped table) is shortened in the middle, down to [`READABLE_NAME`],
/// then columns are left out in [`FIT_DROP_ORDER`], then names are
/// shortened down to [`MIN_NAME`]. Worked out from the columns' widths
/// alone, so that rows held compactly ([`TableWriter`]) and rows of cells
/// are laid out alike.
pub(crate) struct Layout {
    /// The columns shown, as indices into a row's cells.
    shown: Vec<usize>,
    /// Every column's width, in characters.
    widths: Vec<usize>,
    numeric: Vec<bool>,
    /// The name column, and the length its longer names are cut to.
    names_cut: Option<(usize, usize)>,
    /// The columns left out, by header.
    pub dropped: Vec<String>,
}

impl Layout {
    /// The layout of `rows`, whose first row is the header, every column
    /// shown unless `width` leaves it out.
    fn of_rows(rows: &[Row], width: Option<usize>) -> Layout {
        let headers: Vec<&str> = rows
            .first()
            .map_or(Vec::new(), |h| h.iter().map(|c| c.as_str()).collect());
        let shown = (0..headers.len()).collect();
        Layout::new(&headers, shown, column_widths(rows), width)
    }

    /// The layout of columns titled `headers`, of which `shown` are shown
    /// and `widths` wide, fitted to `width` when given.
    fn new(
        headers: &[&str],
        shown: Vec<usize>,
        widths: Vec<usize>,
        width: Option<usize>,
    ) -> Layout {
        let mut layout = Layout {
            shown,
            widths,
            numeric: headers.iter().map(|h| is_numeric_column(h)).collect(),
            names_cut: None,
            dropped: Vec::new(),
        };
        let (Some(width), Some(first)) = (width, headers.first()) else {
            return layout;
        };
        let name_col = usize::from(*first == "#");
        layout.cut_names(name_col, width, READABLE_NAME);
        for column in FIT_DROP_ORDER {
            if layout.total() <= width {
                break;
            }
            if let Some(at) = layout.shown.iter().position(|&c| headers[c] == column) {
                layout.shown.remove(at);
                layout.dropped.push(column.to_string());
            }
        }
        layout.cut_names(name_col, width, MIN_NAME);
        layout
    }

    /// The width of a line: the columns shown and two spaces between each.
    fn total(&self) -> usize {
        let cells: usize = self.shown.iter().map(|&c| self.widths[c]).sum();
        cells + 2 * self.shown.len().saturating_sub(1)
    }

    /// Cuts the names by what the line is over `width`, to no shorter than
    /// `floor` (a cut shorter than 5 characters leaves them whole, as
    /// [`shorten_middle`] does).
    fn cut_names(&mut self, name_col: usize, width: usize, floor: usize) {
        let over = self.total().saturating_sub(width);
        let longest = self.widths[name_col];
        let target = longest.saturating_sub(over).max(floor);
        if over > 0 && target < longest && target >= 5 {
            self.widths[name_col] = target;
            self.names_cut = Some((name_col, target));
        }
    }

    /// One row's line into `line` (cleared first), newline included: the
    /// columns shown, text left-aligned and numbers right-aligned, a name
    /// cut to fit.
    fn write_line<S: AsRef<str>>(&self, line: &mut String, cells: &[S]) {
        line.clear();
        for (k, &c) in self.shown.iter().enumerate() {
            if k > 0 {
                line.push_str("  ");
            }
            let cell = match self.names_cut {
                Some((col, cut)) if col == c && width(cells[c].as_ref()) > cut => {
                    shorten_middle(cells[c].as_ref(), cut).into()
                }
                _ => Cow::Borrowed(cells[c].as_ref()),
            };
            let pad = self.widths[c].saturating_sub(width(&cell));
            if self.numeric[c] {
                push_spaces(line, pad);
                line.push_str(&cell);
            } else {
                line.push_str(&cell);
                push_spaces(line, pad);
            }
        }
        let trimmed = line.trim_end_matches(' ').len();
        line.truncate(trimmed);
        line.push('\n');
    }
}
