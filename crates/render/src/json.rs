//! The JSON report, schema `nncost.report` version 1 (documented in
//! `docs/json-schema.md`). Counts are JSON integers when every symbol is
//! bound; otherwise an object `{"expression": "4089184256*batch",
//! "symbols": ["batch"]}`. Additions that keep old fields are compatible;
//! anything else bumps the version.

use nncost_core::report::{NodeReport, NodeStatus, ValueReport, CONVENTION};
use nncost_core::{Dim, Poly, Report};
use serde_json::{json, Map, Value};

use crate::ModelInfo;

pub const SCHEMA: &str = "nncost.report";
pub const SCHEMA_VERSION: u32 = 1;

pub fn render(report: &Report, info: &ModelInfo) -> String {
    let t = &report.totals;
    let head: Vec<(&str, Value)> = vec![
        ("schema", json!(SCHEMA)),
        ("schema_version", json!(SCHEMA_VERSION)),
        (
            "tool",
            json!({"name": "nncost", "version": env!("CARGO_PKG_VERSION")}),
        ),
        (
            "model",
            json!({
                "source": info.source,
                "format": info.format,
                "ir_version": info.ir_version,
                "producer": info.producer,
                "opsets": info.opsets.iter().map(|(d, v)| json!({"domain": d, "version": v})).collect::<Vec<_>>(),
                "graph": report.graph_name,
            }),
        ),
        ("convention", json!(CONVENTION)),
        (
            "bindings",
            Value::Object(
                report
                    .bindings
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect::<Map<_, _>>(),
            ),
        ),
        (
            "inputs",
            Value::Array(report.inputs.iter().map(value).collect()),
        ),
        (
            "outputs",
            Value::Array(report.outputs.iter().map(value).collect()),
        ),
        (
            "totals",
            json!({
                "params": t.params,
                "param_bytes": t.param_bytes,
                "buffers": t.buffers,
                "constants": t.constants,
                "macs": count(&t.macs),
                "flops": count(&t.flops),
            }),
        ),
    ];
    let tail: Vec<(&str, Value)> = vec![
        (
            "unsupported",
            Value::Array(
                report
                    .unsupported
                    .iter()
                    .map(|u| json!({"op_type": u.op_type, "domain": u.domain, "count": u.nodes.len(), "nodes": u.nodes}))
                    .collect(),
            ),
        ),
        (
            "incomplete",
            Value::Array(
                report
                    .incomplete()
                    .map(|(n, reason)| json!({"node": n.name, "op_type": n.op_type, "reason": reason}))
                    .collect(),
            ),
        ),
    ];

    // Top-level fields are pretty-printed; each node is one compact line,
    // written as it is built, so a graph of 100,000 nodes never holds more
    // than one node's JSON tree in memory.
    let mut out = String::with_capacity(256 * (report.nodes.len() + 16));
    out.push_str("{\n");
    for (key, v) in &head {
        field(&mut out, key, v);
        out.push_str(",\n");
    }
    out.push_str("  \"nodes\": [");
    for (i, n) in report.nodes.iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&node(n).to_string());
    }
    out.push_str(if report.nodes.is_empty() {
        "]"
    } else {
        "\n  ]"
    });
    for (key, v) in &tail {
        out.push_str(",\n");
        field(&mut out, key, v);
    }
    out.push_str("\n}\n");
    out
}

/// Writes `  "key": value` with the value pretty-printed one level in.
fn field(out: &mut String, key: &str, v: &Value) {
    out.push_str("  ");
    out.push_str(&Value::String(key.to_string()).to_string());
    out.push_str(": ");
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    out.push_str(&pretty.replace('\n', "\n  "));
}

fn node(n: &NodeReport) -> Value {
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
