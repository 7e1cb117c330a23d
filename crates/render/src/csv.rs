//! The report as CSV (RFC 4180): one row per top-level node, or per
//! operator (`by_op`) or module (`depth`), with exact counts: an integer,
//! or a symbolic expression (`1814073344*batch`) as a quoted string.

use std::fmt::Write;

use nncost_core::report::{NodeReport, NodeStatus, Subtotal, ValueReport};
use nncost_core::shape::SharedShape;
use nncost_core::{Poly, Report};

use crate::groups::{GroupSums, Groups};
use crate::remembered::Remembered;
use crate::table::shape_text;
use crate::TableOptions;

pub fn render(report: &Report, options: TableOptions) -> String {
    if options.groups_nodes() {
        return group_csv(GroupSums::for_rows(options.by_op, options.depth).over(&report.nodes));
    }
    let mut out = String::new();
    let mut header: Vec<String> = NODE_COLUMNS.map(String::from).to_vec();
    if report.memory.is_some() {
        header.extend(
            [
                "output_bytes",
                "activations_read",
                "weights_read",
                "written",
            ]
            .map(String::from),
        );
    }
    if report.roofline.is_some() {
        header.extend(["seconds", "bound", "intensity"].map(String::from));
    }
    line(&mut out, &header);
    let text = |p: Option<&Poly>| p.map_or(String::new(), Poly::to_string);
    let mut texts = CsvTexts::default();
    for (i, n) in report.nodes.iter().enumerate() {
        let mut fields = node_fields(i, n, &mut texts);
        if let Some(m) = report.memory.as_ref().map(|m| &m.nodes[i]) {
            fields.extend([
                text(m.output_bytes.as_ref()),
                m.traffic.activations_read.to_string(),
                m.traffic.weights_read.to_string(),
                m.traffic.written.to_string(),
            ]);
        }
        if let Some(t) = report.roofline.as_ref().map(|r| &r.nodes[i]) {
            fields.extend([
                format!("{:e}", t.seconds),
                t.bound.as_str().to_string(),
                t.intensity.map_or(String::new(), |x| format!("{x}")),
            ]);
        }
        line(&mut out, &fields);
    }
    out
}

/// The CSV of operator or module subtotals: by module when a depth is
/// given, else by operator (see [`GroupSums::for_rows`]).
fn group_csv(groups: Groups) -> String {
    let (label, groups): (&str, Vec<(String, Subtotal)>) = match (groups.modules, groups.ops) {
        (Some((_, modules)), _) => (
            "module",
            modules.into_iter().map(|g| (g.path, g.sum)).collect(),
        ),
        (None, ops) => (
            "op_type",
            ops.unwrap_or_default()
                .into_iter()
                .map(|g| (g.op_type, g.sum))
                .collect(),
        ),
    };
    let mut out = String::new();
    line(
        &mut out,
        &[
            label,
            "nodes",
            "uncounted",
            "params",
            "buffers",
            "macs",
            "flops",
            "int_ops",
        ]
        .map(String::from),
    );
    for (name, g) in groups {
        line(
            &mut out,
            &[
                name,
                g.nodes.to_string(),
                g.uncounted.to_string(),
                g.params.to_string(),
                g.buffers.to_string(),
                g.cost.macs.to_string(),
                g.cost.flops.to_string(),
                g.cost.int_ops.to_string(),
            ],
        );
    }
    out
}

/// The columns of a node's row, before any of memory and time.
const NODE_COLUMNS: [&str; 12] = [
    "index",
    "node",
    "op_type",
    "domain",
    "output_shapes",
    "params",
    "buffers",
    "macs",
    "flops",
    "int_ops",
    "status",
    "reason",
];

/// The [`NODE_COLUMNS`] of the `i`-th top-level node (0-based).
fn node_fields(i: usize, n: &NodeReport, texts: &mut CsvTexts) -> Vec<String> {
    let mut text = |p: Option<&Poly>| p.map_or(String::new(), |p| texts.count(p));
    let (macs, flops, int_ops) = (text(n.macs()), text(n.flops()), text(n.int_ops()));
    let shapes: Vec<String> = n.outputs.iter().map(|o| texts.shape(o)).collect();
    let (status, reason) = match &n.status {
        NodeStatus::Counted => ("counted", ""),
        NodeStatus::Unsupported => ("unsupported", ""),
        NodeStatus::Incomplete { kind, reason } => (kind.as_str(), &**reason),
    };
    vec![
        (i + 1).to_string(),
        n.name.to_string(),
        n.op_type.to_string(),
        n.domain.to_string(),
        shapes.join(" "),
        n.params.to_string(),
        n.buffers.to_string(),
        macs,
        flops,
        int_ops,
        status.to_string(),
        reason.to_string(),
    ]
}

/// The texts of the counts and shapes that rows repeat, made once each
/// (see `remembered.rs`).
#[derive(Default)]
struct CsvTexts {
    counts: Remembered<Poly, String>,
    shapes: Remembered<Option<SharedShape>, String>,
}

impl CsvTexts {
    fn count(&mut self, p: &Poly) -> String {
        self.counts.text(p, || p.to_string())
    }

    /// An output's shape (`?` when its rank is unknown).
    fn shape(&mut self, o: &ValueReport) -> String {
        self.shapes
            .text(&o.shape, || shape_text(o.shape.as_deref()))
    }
}

/// The per-node CSV written a row at a time, as an analysis makes each
/// line ([`nncost_core::analyze_streaming`]): the same text as [`render`]'s
/// for a report with no groups, memory or time, without holding it. Or
/// the CSV of operator or module subtotals, added up as the lines come.
#[derive(Default)]
pub struct CsvWriter {
    header_written: bool,
    rows: usize,
    /// One row's text, reused.
    out: String,
    /// Grouped: the subtotals so far, written at the end.
    groups: Option<GroupSums>,
    texts: CsvTexts,
}

impl CsvWriter {
    pub fn new() -> CsvWriter {
        CsvWriter::default()
    }

    /// The CSV [`render`] makes with `options`' groups (`by_op`, `depth`:
    /// [`TableOptions::groups_nodes`]), written by [`CsvWriter::finish`].
    pub fn grouped(options: TableOptions) -> CsvWriter {
        CsvWriter {
            groups: Some(GroupSums::for_rows(options.by_op, options.depth)),
            ..CsvWriter::default()
        }
    }

    /// Writes the header, once.
    fn begin(&mut self, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        if std::mem::replace(&mut self.header_written, true) {
            return Ok(());
        }
        self.out.clear();
        line(&mut self.out, &NODE_COLUMNS.map(String::from));
        sink.write_all(self.out.as_bytes())
    }

    /// Writes the next top-level node's row (the header first).
    pub fn line(&mut self, n: &NodeReport, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        if let Some(groups) = &mut self.groups {
            groups.add(n);
            return Ok(());
        }
        self.begin(sink)?;
        self.out.clear();
        line(&mut self.out, &node_fields(self.rows, n, &mut self.texts));
        self.rows += 1;
        sink.write_all(self.out.as_bytes())
    }

    /// Ends the text: the header alone when no row was written; grouped,
    /// the whole text.
    pub fn finish(&mut self, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self.groups.take() {
            Some(groups) => sink.write_all(group_csv(groups.finish()).as_bytes()),
            None => self.begin(sink),
        }
    }
}

/// One record, each field quoted when it holds a comma, a quote or a line
/// break (quotes doubled).
fn line(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            let _ = write!(out, "\"{}\"", f.replace('"', "\"\""));
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use nncost_core::Dim;

    /// Remembered texts are the texts made afresh, for counts and for
    /// shapes known, symbolic and of unknown rank.
    #[test]
    fn remembered_texts_read_as_made() {
        let batch = Poly::symbol("batch");
        let mut texts = CsvTexts::default();
        for _ in 0..3 {
            assert_eq!(texts.count(&batch.checked_scale(64).unwrap()), "64*batch");
            assert_eq!(texts.count(&Poly::constant(12)), "12");
            let output = |shape: Option<SharedShape>| ValueReport {
                name: "y".into(),
                dtype: None,
                shape,
                elements: None,
            };
            let symbolic: SharedShape = vec![Dim::Known(batch.clone()), Dim::int(64)].into();
            assert_eq!(texts.shape(&output(Some(symbolic))), "batchx64");
            assert_eq!(texts.shape(&output(Some(Vec::new().into()))), "scalar");
            assert_eq!(texts.shape(&output(None)), "?");
        }
        assert_eq!((texts.counts.len(), texts.shapes.len()), (2, 3));
    }
}
