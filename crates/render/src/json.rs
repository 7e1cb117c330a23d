//! The JSON report, schema `nncost.report` version 1 (documented in
//! `docs/json-schema.md`). Counts are JSON integers when every symbol is
//! bound; otherwise an object `{"expression": "4089184256*batch",
//! "symbols": ["batch"]}`. Additions that keep old fields are compatible;
//! anything else bumps the version.

use nncost_core::report::{NodeStatus, ValueReport, CONVENTION};
use nncost_core::{Dim, Poly, Report};
use serde_json::{json, Map, Value};

use crate::ModelInfo;

pub const SCHEMA: &str = "nncost.report";
pub const SCHEMA_VERSION: u32 = 1;

pub fn render(report: &Report, info: &ModelInfo) -> String {
    let t = &report.totals;
    let doc = json!({
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "nncost", "version": env!("CARGO_PKG_VERSION")},
        "model": {
            "source": info.source,
            "format": info.format,
            "ir_version": info.ir_version,
            "producer": info.producer,
            "opsets": info.opsets.iter().map(|(d, v)| json!({"domain": d, "version": v})).collect::<Vec<_>>(),
            "graph": report.graph_name,
        },
        "convention": CONVENTION,
        "bindings": report.bindings.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        "inputs": report.inputs.iter().map(value).collect::<Vec<_>>(),
        "outputs": report.outputs.iter().map(value).collect::<Vec<_>>(),
        "totals": {
            "params": t.params,
            "param_bytes": t.param_bytes,
            "buffers": t.buffers,
            "constants": t.constants,
            "macs": count(&t.macs),
            "flops": count(&t.flops),
        },
        "nodes": report.nodes.iter().map(|n| {
            let (status, reason) = match &n.status {
                NodeStatus::Counted => ("counted", None),
                NodeStatus::Unsupported => ("unsupported", None),
                NodeStatus::Incomplete(r) => ("incomplete", Some(r.as_str())),
            };
            json!({
                "name": n.name,
                "op_type": n.op_type,
                "domain": n.domain,
                "params": n.params,
                "buffers": n.buffers,
                "macs": n.macs.as_ref().map(count),
                "flops": n.flops.as_ref().map(count),
                "status": status,
                "reason": reason,
                "outputs": n.outputs.iter().map(value).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "unsupported": report.unsupported.iter().map(|u| json!({
            "op_type": u.op_type,
            "domain": u.domain,
            "count": u.nodes.len(),
            "nodes": u.nodes,
        })).collect::<Vec<_>>(),
        "incomplete": report.incomplete().map(|(n, reason)| json!({
            "node": n.name,
            "op_type": n.op_type,
            "reason": reason,
        })).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn value(v: &ValueReport) -> Value {
    json!({
        "name": v.name,
        "dtype": v.dtype.map(|d| d.name()),
        "shape": v.shape.as_ref().map(|s| s.iter().map(dim).collect::<Vec<_>>()),
    })
}

/// A dimension: a number, a string for symbolic ones (`"batch"`,
/// `"2*seq"`), or null when unknown.
fn dim(d: &Dim) -> Value {
    match d {
        Dim::Known(p) => match p.as_constant() {
            Some(c) => integer(c),
            None => Value::String(p.to_string()),
        },
        Dim::Unknown => Value::Null,
    }
}

fn count(p: &Poly) -> Value {
    match p.as_constant() {
        Some(c) => integer(c),
        None => json!({
            "expression": p.to_string(),
            "symbols": p.symbols().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        }),
    }
}

/// JSON numbers are 64-bit here; a count beyond that is written as a
/// decimal string rather than rounded.
fn integer(c: i128) -> Value {
    match (i64::try_from(c), u64::try_from(c)) {
        (Ok(v), _) => json!(v),
        (_, Ok(v)) => json!(v),
        _ => Value::String(c.to_string()),
    }
}
