//! The report as Markdown, for a paper's appendix or a README: the model
//! line, the table (nodes, operators with `--by-op`, or modules with
//! `--depth N`) in human units, and the totals with the convention.

use std::fmt::Write;

use nncost_core::report::LEGEND;
use nncost_core::Report;

use crate::table::{extra_lines, is_numeric_column, rows, share_note};
use crate::units::{grouped, human, poly};
use crate::{ModelInfo, TableOptions};

pub fn render(report: &Report, info: &ModelInfo, options: TableOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", escape(&info.source));
    if !options.summary {
        let rows = rows(report, options);
        if let Some(header) = rows.first() {
            let line = |cells: &[crate::table::Cell]| {
                let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
                format!("| {} |", cells.join(" | "))
            };
            let _ = writeln!(out, "{}", line(header));
            let rule: Vec<&str> = header
                .iter()
                .map(|h| if is_numeric_column(h) { "---:" } else { "---" })
                .collect();
            let _ = writeln!(out, "|{}|", rule.join("|"));
            for r in rows.iter().skip(1) {
                let _ = writeln!(out, "{}", line(r));
            }
            out.push('\n');
            if let Some(note) = share_note(report) {
                let _ = writeln!(out, "{}\n", escape(&note));
            }
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
    out
}

/// A cell's text with Markdown's table syntax escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('*', "\\*")
}
