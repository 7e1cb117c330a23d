//! The node table made as the analysis makes its lines
//! ([`nncost_core::analyze_streaming`]). A column is as wide as its widest
//! cell and the share column needs the total, so nothing can be written
//! before the last line: the rows are held, but compactly (their text in
//! one buffer, each cell a length), instead of as a report's lines or a
//! cell per string. A table of a million nodes then holds about 80 bytes
//! a row.

use nncost_core::report::NodeReport;
use nncost_core::Report;

use super::{
    body_rows, has_int_ops, node_cells, share, share_note, width, work, write_table, Layout,
    INT_OPS, SHARE,
};
use crate::text::printable;
use crate::{ModelInfo, TableOptions};

/// The node table's columns, in order. Memory and time columns are not
/// among them: a table with those is made from the whole report.
const COLUMNS: [&str; 9] = [
    "#",
    "node",
    "op",
    "output shape",
    "params",
    "MACs",
    "FLOPs",
    INT_OPS,
    SHARE,
];

/// The node table written in steps: [`TableWriter::line`] takes each
/// top-level node (and its bodies' nodes, indented under it), and
/// [`TableWriter::finish`] writes the whole table. The text is
/// `table::render_to`'s for the same report; that function goes through
/// this writer when its table lists every node in the model's order.
pub struct TableWriter {
    options: TableOptions,
    rows: CompactRows,
    /// Each row's work (see `work`), whose share of the total the share
    /// column shows; `None` in a body's rows, which show none.
    work: Vec<Option<f64>>,
    /// Whether a node counted integer operations (the column is left out
    /// otherwise).
    int_ops: bool,
    nodes: usize,
}

impl TableWriter {
    /// The table of nodes under `options`: in the model's order, every
    /// node (no `sort`, `top`, `summary` or grouping; see
    /// [`TableOptions::lists_every_node`]).
    pub fn new(options: TableOptions) -> TableWriter {
        debug_assert!(options.lists_every_node());
        let mut rows = CompactRows::new(COLUMNS.len());
        rows.push(&COLUMNS);
        TableWriter {
            options,
            rows,
            work: vec![None],
            int_ops: false,
            nodes: 0,
        }
    }

    /// Adds a top-level node's row, and its bodies' rows.
    pub fn line(&mut self, n: &NodeReport) {
        self.nodes += 1;
        let number = self.nodes.to_string();
        let row = node_cells(
            number.clone(),
            n.name.to_string(),
            n,
            String::new(),
            self.options,
        );
        self.rows.push(&row);
        self.work.push(Some(work(n.flops(), n.int_ops())));
        self.int_ops = self.int_ops || has_int_ops(std::slice::from_ref(n));
        if !n.subgraphs.is_empty() {
            let mut bodies = Vec::new();
            body_rows(&mut bodies, n, &number, 1, self.options);
            for row in &bodies {
                self.rows.push(row);
                self.work.push(None);
            }
        }
    }

    /// Writes the table of `report`, whose every line went through
    /// [`TableWriter::line`]: the header, the rows, the totals.
    /// The rows are let go once written.
    pub fn finish(
        &mut self,
        report: &Report,
        info: &ModelInfo,
        sink: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let (options, int_ops) = (self.options, self.int_ops);
        let rows = std::mem::replace(&mut self.rows, CompactRows::new(COLUMNS.len()));
        let shares = std::mem::take(&mut self.work);
        let total = work(
            Some(&report.totals.cost.flops),
            Some(&report.totals.cost.int_ops),
        );
        let share_column = COLUMNS.iter().position(|c| *c == SHARE).unwrap_or(0);
        let mut widths = rows.widths.clone();
        // Shares grow with the work they are of, and their text with them.
        let largest = shares.iter().flatten().copied().fold(0.0, f64::max);
        widths[share_column] = widths[share_column].max(width(&share(largest, total)));
        let hidden =
            |c: &&str| (*c == INT_OPS && !int_ops) || (*c == SHARE && share_note(report).is_some());
        let shown: Vec<usize> = (0..COLUMNS.len())
            .filter(|&c| !hidden(&COLUMNS[c]))
            .collect();
        let layout = Layout::new(&COLUMNS, shown, widths, options.width);
        write_table(report, info, options, sink, |sink| {
            let mut line = String::new();
            let mut cells: Vec<std::borrow::Cow<str>> = Vec::with_capacity(COLUMNS.len());
            for (r, row) in rows.iter().enumerate() {
                cells.clear();
                cells.extend(row.map(std::borrow::Cow::Borrowed));
                if let (Some(Some(part)), false) = (shares.get(r), r == 0) {
                    cells[share_column] = share(*part, total).into();
                }
                layout.write_line(&mut line, &cells);
                sink.write_all(line.as_bytes())?;
            }
            Ok(layout.dropped.clone())
        })
    }
}

/// Rows of cells held as one text and each cell's length in bytes, with
/// each column's width (in characters) kept as rows come. Cells are made
/// printable as they come in (a name's control characters escaped).
struct CompactRows {
    columns: usize,
    text: String,
    /// A row's text is at most the names in one protobuf message (under
    /// 2 GiB) and a few capped cells: a `u32` holds every cell's length.
    lengths: Vec<u32>,
    widths: Vec<usize>,
}

impl CompactRows {
    fn new(columns: usize) -> CompactRows {
        CompactRows {
            columns,
            text: String::new(),
            lengths: Vec::new(),
            widths: vec![0; columns],
        }
    }

    fn push<S: AsRef<str>>(&mut self, row: &[S]) {
        debug_assert_eq!(row.len(), self.columns);
        for (cell, w) in row.iter().zip(&mut self.widths) {
            let cell = printable(cell.as_ref());
            self.text.push_str(&cell);
            self.lengths.push(cell.len() as u32);
            *w = (*w).max(width(&cell));
        }
    }

    /// Each row's cells, in order.
    fn iter(&self) -> impl Iterator<Item = impl Iterator<Item = &str>> {
        let mut start = 0;
        self.lengths.chunks(self.columns).map(move |lengths| {
            let row_start = start;
            start += lengths.iter().map(|&l| l as usize).sum::<usize>();
            let mut at = row_start;
            lengths.iter().map(move |&l| {
                let cell = &self.text[at..at + l as usize];
                at += l as usize;
                cell
            })
        })
    }
}
