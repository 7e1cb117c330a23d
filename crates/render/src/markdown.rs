//! The report as Markdown, for a paper's appendix or a README: the model
//! line, the table (nodes, operators with `--by-op`, or modules with
//! `--depth N`) in human units, and the totals with the convention.

use std::fmt::Write;

use nncost_core::report::LEGEND;
use nncost_core::Report;

use crate::table::{extra_lines, is_numeric_column, rows, share_note, Row, TableWriter};
use crate::units::{grouped, human, poly};
use crate::{ModelInfo, TableOptions};

pub fn render(report: &Report, info: &ModelInfo, options: TableOptions) -> String {
    crate::in_memory(0, |sink| render_to(report, info, options, sink))
}

/// [`render`], written to `sink`. A table of every node in order goes
/// through [`TableWriter::markdown`], as a streamed one does.
pub fn render_to(
    report: &Report,
    info: &ModelInfo,
    options: TableOptions,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if let Some(written) = TableWriter::write_whole(options, true, report, info, sink) {
        return written;
    }
    write_markdown(report, info, options, sink, |sink| {
        write_rows(&rows(report, options), sink)
    })
}

/// `rows` (the header first) as a Markdown table.
pub(crate) fn write_rows(rows: &[Row], sink: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut line = String::new();
    for (k, row) in rows.iter().enumerate() {
        line.clear();
        push_row(&mut line, row.iter().map(|c| c.as_str()));
        if k == 0 {
            push_rule(&mut line, row.iter().map(|c| c.as_str()));
        }
        sink.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A row's line: `| a | b |`, each cell's Markdown syntax escaped.
pub(crate) fn push_row<'c>(out: &mut String, cells: impl Iterator<Item = &'c str>) {
    out.push('|');
    for cell in cells {
        out.push(' ');
        out.push_str(&escape(cell));
        out.push_str(" |");
    }
    out.push('\n');
}

/// The line under the header: numeric columns right-aligned.
pub(crate) fn push_rule<'c>(out: &mut String, headers: impl Iterator<Item = &'c str>) {
    out.push('|');
    for h in headers {
        out.push_str(if is_numeric_column(h) {
            "---:|"
        } else {
            "---|"
        });
    }
    out.push('\n');
}

/// Writes the Markdown report: the model line, then (unless
/// `options.summary`) the table `body` writes and the share note, then
/// the totals.
pub(crate) fn write_markdown(
    report: &Report,
    info: &ModelInfo,
    options: TableOptions,
    sink: &mut dyn std::io::Write,
    body: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", escape(&info.source));
    if !options.summary {
        sink.write_all(out.as_bytes())?;
        out.clear();
        body(sink)?;
        out.push('\n');
        if let Some(note) = share_note(report) {
            let _ = writeln!(out, "{}\n", escape(&note));
        }
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "Params {} ({}); MACs {}; FLOPs {}.",
        human(t.params as i128),
        grouped(t.params as i128),
        poly(&t.cost.macs, options.exact),
        poly(&t.cost.flops, options.exact)
    );
    if !report.is_complete() {
        let n = report.incomplete().count() + report.unsupported_count();
        let _ = writeln!(out, "Partial: {n} nodes are not counted.");
    }
    let mut memory: Vec<String> = info
        .facts
        .iter()
        .map(|f| format!("{}: {}", f.label, f.text(options.exact)))
        .collect();
    memory.extend(extra_lines(report, options.exact));
    if !memory.is_empty() {
        out.push('\n');
        for l in memory {
            let _ = writeln!(
                out,
                "- {}",
                escape(&l.split_whitespace().collect::<Vec<_>>().join(" "))
            );
        }
    }
    let _ = writeln!(out, "\n{LEGEND}; counted by nncost.");
    sink.write_all(out.as_bytes())
}

/// A cell's text with Markdown's table syntax escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('*', "\\*")
}
