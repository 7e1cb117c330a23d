//! The node table made as the analysis makes its lines
//! ([`nncost_core::analyze_streaming`]). A column is as wide as its widest
//! cell and the share column needs the total, so nothing can be written
//! before the last line: the rows are held, but compactly (their text in
//! one buffer, each cell's length a byte or two), instead of as a
//! report's lines or a string per cell: under 60 bytes a row for a chain
//! of a million nodes (280 MB at the peak, against 245 MB for its summary).

use std::borrow::Cow;

use nncost_core::report::NodeReport;
use nncost_core::Report;

use super::{
    body_rows, extra_columns, group_table_rows, has_int_ops, largest_first, left_out, node_cells,
    push_extra_cells, rank_value, share, texts::CellTexts, tidy, width, work, write_laid_out,
    write_table, Cell, Layout, Row, INT_OPS, SHARE,
};
use crate::groups::GroupSums;
use crate::text::printable;
use crate::{ModelInfo, SortKey, TableOptions};

/// The node table's columns, in order. Memory and time columns follow
/// them when asked for (see `extra_columns`): a table with those is made
/// from the whole report, which the memory analysis and the times need.
pub(super) const COLUMNS: [&str; 9] = [
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

/// Where [`SHARE`] is in [`COLUMNS`]: last.
const SHARE_COLUMN: usize = COLUMNS.len() - 1;

/// The node table written in steps: [`TableWriter::line`] takes each
/// top-level node (and its bodies' nodes, indented under it), and
/// [`TableWriter::finish`] writes the whole table. The text is
/// `table::render_to`'s for the same report; that function goes through
/// this writer when its table lists every node, in the model's order or
/// sorted.
pub struct TableWriter {
    options: TableOptions,
    /// [`COLUMNS`], then the memory and time columns of a whole report
    /// that has them (see [`TableWriter::write_whole`]).
    columns: Vec<&'static str>,
    rows: CompactRows,
    /// Each row's work (see `work`), whose share of the total the share
    /// column shows; NaN in a body's rows, which show none.
    work: Vec<f64>,
    /// Whether a node counted integer operations (the column is left out
    /// otherwise).
    int_ops: bool,
    nodes: usize,
    /// A Markdown table (`markdown::render`'s) instead of an aligned one.
    markdown: bool,
    /// With `top`: only the heaviest rows are kept.
    top: Option<TopRows>,
    /// Grouped by operator or module: only their subtotals are kept.
    groups: Option<GroupSums>,
    /// With `sort` (and no `top`): each node's measure, to order the rows
    /// by at the end.
    sorted: Option<(SortKey, Vec<f64>)>,
    texts: CellTexts,
}

impl TableWriter {
    /// The table of nodes under `options`: in the model's order, every
    /// node (no `sort`, `top`, `summary` or grouping; see
    /// [`TableOptions::lists_every_node`]).
    /// With `top` (and no group or `summary`,
    /// [`TableOptions::keeps_top_nodes`]), only the `top` heaviest nodes by
    /// `sort`'s measure: as many rows are held. Grouped by operator or by
    /// module at one depth ([`TableOptions::streams_groups`]), a subtotal
    /// per group. With `sort` alone ([`TableOptions::sorts_every_node`]),
    /// every node, ordered by its measure at the end.
    pub fn new(options: TableOptions) -> TableWriter {
        debug_assert!(
            options.shows_every_node() || options.keeps_top_nodes() || options.streams_groups()
        );
        let mut rows = CompactRows::for_table(COLUMNS.len(), options);
        rows.push(&COLUMNS);
        TableWriter {
            options,
            columns: COLUMNS.to_vec(),
            rows,
            work: vec![f64::NAN],
            int_ops: false,
            nodes: 0,
            markdown: false,
            top: options
                .top
                .filter(|_| options.keeps_top_nodes())
                .map(|keep| TopRows {
                    key: options.sort.unwrap_or(SortKey::Flops),
                    keep,
                    rows: Vec::new(),
                    least: None,
                }),
            groups: options
                .streams_groups()
                .then(|| GroupSums::for_rows(options.by_op, options.depth)),
            sorted: options
                .sort
                .filter(|_| options.sorts_every_node())
                .map(|key| (key, Vec::new())),
            texts: CellTexts::default(),
        }
    }

    /// The same table in Markdown: the text is `markdown::render`'s.
    pub fn markdown(options: TableOptions) -> TableWriter {
        TableWriter {
            markdown: true,
            ..TableWriter::new(TableOptions {
                width: None,
                ..options
            })
        }
    }

    /// Writes the whole `report`'s table through the writer when it lists
    /// every node, in order or sorted (see [`TableWriter::new`]), with its
    /// memory and time columns if it has them; `None` otherwise. A million
    /// rows are held compactly here, where as cells they took 460 bytes
    /// each.
    pub(crate) fn write_whole(
        options: TableOptions,
        markdown: bool,
        report: &Report,
        info: &ModelInfo,
        sink: &mut dyn std::io::Write,
    ) -> Option<std::io::Result<()>> {
        if !options.shows_every_node() {
            return None;
        }
        let mut writer = match markdown {
            true => TableWriter::markdown(options),
            false => TableWriter::new(options),
        };
        writer.columns.extend(extra_columns(report));
        writer.rows = CompactRows::for_table(writer.columns.len(), options);
        writer.rows.push(&writer.columns);
        let mut extra = Vec::new();
        for (i, n) in report.nodes.iter().enumerate() {
            extra.clear();
            push_extra_cells(&mut extra, report, i, options, &mut writer.texts);
            writer.line_with(n, &extra);
        }
        Some(writer.finish(report, info, sink))
    }

    /// Adds a top-level node's row, and its bodies' rows.
    pub fn line(&mut self, n: &NodeReport) {
        self.line_with(n, &[]);
    }

    /// [`TableWriter::line`] with the cells of the columns after
    /// [`COLUMNS`] (empty in a body's rows).
    fn line_with(&mut self, n: &NodeReport, extra: &[Cell]) {
        self.nodes += 1;
        self.int_ops = self.int_ops || has_int_ops(std::slice::from_ref(n));
        if let Some(groups) = &mut self.groups {
            groups.add(n);
            return;
        }
        if let Some(top) = &mut self.top {
            top.offer(self.nodes, n, self.options, &mut self.texts);
            return;
        }
        let number = self.nodes.to_string();
        let mut row = node_cells(
            number.as_str(),
            &*n.name,
            n,
            "",
            self.options,
            &mut self.texts,
        );
        row.extend_from_slice(extra);
        self.rows.push(&row);
        self.work.push(work(n.flops(), n.int_ops()));
        if let Some((key, measures)) = &mut self.sorted {
            // Sorted rows show no bodies (see `node_rows`).
            measures.push(rank_value(
                *key,
                (n.flops(), n.int_ops(), n.macs(), n.params),
            ));
            return;
        }
        if !n.subgraphs.is_empty() {
            let mut bodies = Vec::new();
            body_rows(&mut bodies, n, &number, 1, self.options, &mut self.texts);
            for mut row in bodies {
                row.resize(self.columns.len(), Cell::default());
                self.rows.push(&row);
                self.work.push(f64::NAN);
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
        if let Some(groups) = self.groups.take() {
            let mut rows = group_table_rows(report, groups.finish(), options);
            tidy(&mut rows, report, int_ops);
            if self.markdown {
                return crate::markdown::write_markdown(report, info, options, sink, |sink| {
                    crate::markdown::write_rows(&rows, sink)
                });
            }
            return write_table(report, info, options, sink, |sink| {
                write_laid_out(&rows, options.width, sink)
            });
        }
        let total = work(
            Some(&report.totals.cost.flops),
            Some(&report.totals.cost.int_ops),
        );
        if let Some(top) = self.top.take() {
            let mut rows = top.into_rows(total);
            tidy(&mut rows, report, int_ops);
            return write_table(report, info, options, sink, |sink| {
                write_laid_out(&rows, options.width, sink)
            });
        }
        let columns = std::mem::take(&mut self.columns);
        let rows = std::mem::replace(&mut self.rows, CompactRows::new(columns.len()));
        let shares = std::mem::take(&mut self.work);
        // The header, then the rows by measure, largest first, the earlier
        // node first among equals (as `ranked` orders them).
        let order: Option<Vec<usize>> = self.sorted.take().map(|(_, measures)| {
            std::iter::once(0)
                .chain(largest_first(&measures).into_iter().map(|i| i + 1))
                .collect()
        });
        let shown: Vec<usize> = (0..columns.len())
            .filter(|&c| !left_out(columns[c], report, int_ops))
            .collect();
        // Each row's cells, its share filled in, to `line` (which writes it).
        let each_row = |line: &mut dyn FnMut(&[Cow<'_, str>]) -> std::io::Result<()>| {
            let mut written = Ok(());
            rows.for_each_row(order.as_deref(), |r, cells| {
                if let Some(part) = shares.get(r).filter(|p| !p.is_nan()) {
                    cells[SHARE_COLUMN] = share(*part, total).into();
                }
                if written.is_ok() {
                    written = line(cells);
                }
            });
            written
        };
        if self.markdown {
            return crate::markdown::write_markdown(report, info, options, sink, |sink| {
                let (mut line, mut header) = (String::new(), true);
                each_row(&mut |cells| {
                    line.clear();
                    crate::markdown::push_row(&mut line, shown.iter().map(|&c| &*cells[c]));
                    if std::mem::take(&mut header) {
                        crate::markdown::push_rule(&mut line, shown.iter().map(|&c| columns[c]));
                    }
                    sink.write_all(line.as_bytes())
                })
            });
        }
        let mut widths = rows.widths.clone();
        // Shares grow with the work they are of, and their text with them.
        let largest = shares.iter().copied().fold(0.0, f64::max);
        widths[SHARE_COLUMN] = widths[SHARE_COLUMN].max(width(&share(largest, total)));
        let layout = Layout::new(&columns, shown, widths, options.width);
        write_table(report, info, options, sink, |sink| {
            let mut line = String::new();
            each_row(&mut |cells| {
                layout.write_line(&mut line, cells);
                sink.write_all(line.as_bytes())
            })?;
            Ok(layout.dropped.clone())
        })
    }
}

/// The heaviest nodes' rows so far, as `--top` shows them: largest
/// measure first, the earlier node first among equals (as `ranked`
/// orders them). Up to twice `keep` rows are held, then cut back to `keep`.
struct TopRows {
    key: SortKey,
    keep: usize,
    /// (measure, node number, row, work for the share column).
    rows: Vec<(f64, usize, Row, f64)>,
    /// The measure of the last row kept at the last cut, once `keep` rows
    /// were: a later node must measure more to be among them.
    least: Option<f64>,
}

impl TopRows {
    /// Keeps node `number`'s row if it may be among the heaviest.
    fn offer(
        &mut self,
        number: usize,
        n: &NodeReport,
        options: TableOptions,
        texts: &mut CellTexts,
    ) {
        let value = rank_value(self.key, (n.flops(), n.int_ops(), n.macs(), n.params));
        let beaten = self
            .least
            .is_some_and(|least| value.total_cmp(&least).is_le());
        if self.keep == 0 || beaten {
            return;
        }
        let row = node_cells(number.to_string(), &*n.name, n, "", options, texts);
        self.rows
            .push((value, number, row, work(n.flops(), n.int_ops())));
        if self.rows.len() >= self.keep.saturating_mul(2) {
            self.cut();
        }
    }

    fn cut(&mut self) {
        self.rows
            .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        self.rows.truncate(self.keep);
        if self.rows.len() == self.keep {
            self.least = self.rows.last().map(|r| r.0);
        }
    }

    /// The rows kept, header first, their shares of `total` filled in.
    fn into_rows(mut self, total: f64) -> Vec<Row> {
        self.cut();
        let mut rows = vec![COLUMNS.map(Cell::from).to_vec()];
        for (_, _, mut row, part) in self.rows {
            row[SHARE_COLUMN] = share(part, total).into();
            rows.push(row);
        }
        rows
    }
}

/// Rows of cells held as one text and each cell's length in bytes (LEB128:
/// a byte below 128, two below 16,384), with each column's width (in
/// characters) kept as rows come. Cells are made printable as they come in
/// (a name's control characters escaped).
struct CompactRows {
    columns: usize,
    text: String,
    lengths: Vec<u8>,
    widths: Vec<usize>,
    /// Where each row starts in `text` and in `lengths`, for rows read in
    /// another order than their own; kept only for that.
    starts: Option<Vec<(usize, usize)>>,
}

impl CompactRows {
    fn new(columns: usize) -> CompactRows {
        CompactRows {
            columns,
            text: String::new(),
            lengths: Vec::new(),
            widths: vec![0; columns],
            starts: None,
        }
    }

    /// Rows that will be read in another order (see
    /// [`CompactRows::for_each_row`]).
    fn reordered(columns: usize) -> CompactRows {
        CompactRows {
            starts: Some(Vec::new()),
            ..CompactRows::new(columns)
        }
    }

    /// The rows of a table under `options`: reordered when sorted.
    fn for_table(columns: usize, options: TableOptions) -> CompactRows {
        match options.sorts_every_node() {
            true => CompactRows::reordered(columns),
            false => CompactRows::new(columns),
        }
    }

    fn push<S: AsRef<str>>(&mut self, row: &[S]) {
        debug_assert_eq!(row.len(), self.columns);
        if let Some(starts) = &mut self.starts {
            starts.push((self.text.len(), self.lengths.len()));
        }
        for (cell, w) in row.iter().zip(&mut self.widths) {
            let cell = printable(cell.as_ref());
            self.text.push_str(&cell);
            let mut length = cell.len();
            while length >= 0x80 {
                self.lengths.push((length & 0x7f) as u8 | 0x80);
                length >>= 7;
            }
            self.lengths.push(length as u8);
            *w = (*w).max(width(&cell));
        }
    }

    /// Each row's number and cells into `each` (the cells cleared first),
    /// one row at a time: in the order pushed, or in `order` (row numbers,
    /// of rows made [`CompactRows::reordered`]).
    fn for_each_row(
        &self,
        order: Option<&[usize]>,
        mut each: impl FnMut(usize, &mut Vec<Cow<'_, str>>),
    ) {
        let mut cells = Vec::with_capacity(self.columns);
        let mut row_at = |r: usize, (mut at, mut k): (usize, usize)| {
            cells.clear();
            for _ in 0..self.columns {
                let (mut length, mut shift) = (0, 0);
                loop {
                    let byte = self.lengths[k];
                    k += 1;
                    length |= usize::from(byte & 0x7f) << shift;
                    shift += 7;
                    if byte < 0x80 {
                        break;
                    }
                }
                cells.push(Cow::Borrowed(&self.text[at..at + length]));
                at += length;
            }
            each(r, &mut cells);
            (at, k)
        };
        match (order, &self.starts) {
            (Some(order), Some(starts)) => {
                for &r in order {
                    row_at(r, starts[r]);
                }
            }
            _ => {
                let (mut r, mut next) = (0, (0, 0));
                while next.1 < self.lengths.len() {
                    next = row_at(r, next);
                    r += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_column_is_last() {
        assert_eq!(COLUMNS[SHARE_COLUMN], SHARE);
    }

    #[test]
    fn rows_come_back_as_pushed() {
        // Lengths on each side of one and two bytes of LEB128, and a cell
        // made printable on the way in.
        let long = |n: usize| "x".repeat(n);
        let rows = [
            vec![String::new(), long(127), "a\nb".to_string()],
            vec![long(128), long(16_383), long(16_384)],
            vec!["1 × batch".to_string(), long(300), String::new()],
        ];
        let mut compact = CompactRows::new(3);
        let mut reordered = CompactRows::reordered(3);
        for row in &rows {
            compact.push(row);
            reordered.push(row);
        }
        let read = |compact: &CompactRows, order: Option<&[usize]>| {
            let mut back = Vec::new();
            compact.for_each_row(order, |r, cells| {
                back.push((r, cells.iter().map(|c| c.to_string()).collect::<Vec<_>>()))
            });
            back
        };
        let mut expected: Vec<(usize, Vec<String>)> = rows.iter().cloned().enumerate().collect();
        expected[0].1[2] = "a\\nb".to_string();
        assert_eq!(read(&compact, None), expected);
        assert_eq!(read(&reordered, None), expected);
        // Read in another order, each row whole.
        let order = [2, 0, 1, 2];
        let moved: Vec<_> = order.iter().map(|&r| expected[r].clone()).collect();
        assert_eq!(read(&reordered, Some(&order)), moved);
        assert_eq!(compact.widths, [128, 16_383, 16_384]);
        // One byte per length below 128, two below 16,384, three above.
        assert_eq!(compact.lengths.len(), 1 + 1 + 1 + 2 + 2 + 3 + 1 + 2 + 1);
    }
}
