//! Renderers for an nncost [`Report`]: a readable table for people and a
//! versioned JSON document for programs. Pure functions from a report to a
//! string; the CLI decides where it goes.

use nncost_core::Report;

pub mod csv;
pub mod diff;
mod groups;
pub mod html;
pub mod json;
pub mod layer;
pub mod markdown;
mod remembered;
pub mod svg;
pub mod table;
pub mod text;
pub mod units;

pub use csv::CsvWriter;
pub use json::JsonWriter;
pub use table::TableWriter;

/// Facts about the model file that the report itself does not carry.
#[derive(Clone, Debug, Default)]
pub struct ModelInfo {
    /// The path as the user gave it.
    pub source: String,
    /// `"onnx"`, later other formats.
    pub format: String,
    pub ir_version: Option<i64>,
    /// Producer name and version, e.g. `pytorch 2.5.0`.
    pub producer: Option<String>,
    /// Imported operator sets: `("", 17)` is the default ONNX domain.
    pub opsets: Vec<(String, i64)>,
    /// What the model's format states beyond the graph (a language model's
    /// embedding parameters, its KV cache per token), in the order shown.
    pub facts: Vec<Fact>,
}

/// One statement about the model beside the counts: `key` names it in
/// JSON, `label` in tables.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub key: String,
    pub label: String,
    pub value: FactValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FactValue {
    /// A number of things (parameters, elements), maybe symbolic.
    Count(nncost_core::Poly),
    /// A size in bytes, maybe symbolic.
    Bytes(nncost_core::Poly),
    Text(String),
}

impl Fact {
    /// The value as a table shows it: `1.24 G (1,235,814,400)`.
    pub fn text(&self, exact: bool) -> String {
        match &self.value {
            FactValue::Count(p) => match p.as_constant() {
                Some(c) if !exact && c.abs() >= 1000 => {
                    format!("{} ({})", units::human(c), units::grouped(c))
                }
                _ => units::poly(p, exact),
            },
            FactValue::Bytes(p) => units::bytes(p, exact),
            FactValue::Text(t) => t.clone(),
        }
    }
}

/// Output choices for the table renderer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableOptions {
    /// Print integers instead of `11.69 M`.
    pub exact: bool,
    /// One row per operator type instead of per node.
    pub by_op: bool,
    /// One row per module at this depth instead of per node (wins over
    /// `by_op`).
    pub depth: Option<usize>,
    /// Rows in decreasing order of this measure (instead of the model's
    /// order; operators are always heaviest first).
    pub sort: Option<SortKey>,
    /// Only the first K rows of that order (by FLOPs and integer
    /// operations unless `sort` says otherwise).
    pub top: Option<usize>,
    /// Totals only, no rows.
    pub summary: bool,
    /// The module tree (down to `depth`, when given) instead of nodes.
    pub tree: bool,
    /// Fit the table to this many columns (a terminal's width): long names
    /// are shortened in the middle, then columns left out in a stated
    /// order (see `table::FIT_DROP_ORDER`). `None`: full width (a pipe).
    pub width: Option<usize>,
}

impl TableOptions {
    /// Whether the rows are groups of nodes (by operator, or by module at
    /// `depth`) rather than nodes: every node's line is then added up
    /// before the first row.
    pub fn groups_nodes(&self) -> bool {
        self.by_op || self.depth.is_some()
    }

    /// Whether the rows are the model's nodes themselves: no `summary`,
    /// groups or module tree.
    fn rows_are_nodes(&self) -> bool {
        !self.summary && !self.groups_nodes() && !self.tree
    }

    /// Whether the table lists every node, in the model's order: no
    /// `sort`, `top`, `summary` or grouping. Such a table can be made as
    /// the analysis goes ([`TableWriter`]).
    pub fn lists_every_node(&self) -> bool {
        self.shows_every_node() && self.sort.is_none()
    }

    /// Whether the table lists every node ordered by `sort`'s measure
    /// (`--sort` without `--top`, no `summary` or grouping): the
    /// [`TableWriter`] holds its rows as it does the model's order's, and
    /// orders them at the end.
    pub fn sorts_every_node(&self) -> bool {
        self.shows_every_node() && self.sort.is_some()
    }

    /// Whether the table lists every node, in the model's order or sorted
    /// ([`TableOptions::lists_every_node`], [`TableOptions::sorts_every_node`]).
    pub fn shows_every_node(&self) -> bool {
        self.rows_are_nodes() && self.top.is_none()
    }

    /// Whether the table shows the `top` heaviest nodes (by `sort`'s
    /// measure, FLOPs by default) and nothing else: such a table keeps only
    /// those rows as the analysis goes ([`TableWriter`]).
    pub fn keeps_top_nodes(&self) -> bool {
        self.rows_are_nodes() && self.top.is_some()
    }

    /// Whether the table shows operators or modules at one depth (not the
    /// module tree): such a table keeps only their subtotals as the
    /// analysis goes ([`TableWriter`]).
    pub fn streams_groups(&self) -> bool {
        self.groups_nodes() && !self.tree
    }
}

/// What `--sort` orders rows by, largest first. A symbolic count is
/// compared at every symbol = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// FLOPs plus integer operations (the `share` column).
    Flops,
    Macs,
    Params,
}

/// What the JSON report adds on request.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonOptions {
    /// A `by_op` array of the per-operator groups.
    pub by_op: bool,
    /// A `by_module` array of the modules at this depth.
    pub depth: Option<usize>,
    /// A `module_tree` array: every module (down to `depth`, when given).
    pub tree: bool,
}

impl JsonOptions {
    /// Whether the module tree is asked for: it adds up every node's line
    /// by module at every depth, so the report must keep them all
    /// ([`nncost_core::Lines::All`]). `by_op` and `by_module` are added up
    /// as the lines are written ([`JsonWriter::adding_up`]).
    pub fn reads_node_lines(&self) -> bool {
        self.tree
    }
}

/// The text a streamed renderer writes, collected in memory: for the
/// formats written whole (`render_json`, `render_table`) from the same code
/// that streams them.
pub(crate) fn in_memory(
    capacity: usize,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> String {
    let mut out = Vec::with_capacity(capacity);
    write(&mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("renderers write UTF-8")
}

/// Renders the report as a table (see [`table`]).
pub fn render_table(report: &Report, info: &ModelInfo, options: TableOptions) -> String {
    table::render(report, info, options)
}

/// [`render_table`], written to `sink` line by line.
pub fn render_table_to(
    report: &Report,
    info: &ModelInfo,
    options: TableOptions,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    table::render_to(report, info, options, sink)
}

/// Renders the report as CSV (see [`csv`]).
pub fn render_csv(report: &Report, options: TableOptions) -> String {
    csv::render(report, options)
}

/// Renders the report as one self-contained HTML page (see [`html`]).
pub fn render_html(report: &Report, info: &ModelInfo) -> String {
    html::render(report, info)
}

/// Writes [`render_html`]'s page to `sink` as it is made.
pub fn render_html_to(
    report: &Report,
    info: &ModelInfo,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    html::render_to(report, info, sink)
}

/// Renders the report as Markdown (see [`markdown`]).
pub fn render_markdown(report: &Report, info: &ModelInfo, options: TableOptions) -> String {
    markdown::render(report, info, options)
}

/// Writes [`render_markdown`]'s text to `sink` as it is made.
pub fn render_markdown_to(
    report: &Report,
    info: &ModelInfo,
    options: TableOptions,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    markdown::render_to(report, info, options, sink)
}

/// Renders the report as JSON (see [`json`] for the schema).
pub fn render_json(report: &Report, info: &ModelInfo) -> String {
    json::render(report, info, JsonOptions::default())
}

/// JSON with the groupings asked for (`--by-op`, `--depth N`).
pub fn render_json_with(report: &Report, info: &ModelInfo, options: JsonOptions) -> String {
    json::render(report, info, options)
}

/// [`render_json_with`], written to `sink` node by node rather than built
/// whole in memory.
pub fn render_json_to(
    report: &Report,
    info: &ModelInfo,
    options: JsonOptions,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    json::render_to(report, info, options, sink)
}
