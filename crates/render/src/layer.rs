//! The layer calculator's report: one layer's shapes and counts, with the
//! article's two FLOPs formulas side by side, and optionally the working.
//! Text for people; JSON (schema `nncost.layer`, version 1) for programs.

use std::fmt::Write;

use nncost_core::layers::explain::Explanation;
use nncost_core::layers::{Layer, LayerCost};
use serde_json::{json, Value};

use crate::units::{grouped, human};

pub const SCHEMA: &str = "nncost.layer";
pub const SCHEMA_VERSION: u32 = 1;

fn dims(v: &[i64]) -> String {
    if v.is_empty() {
        return "scalar".into();
    }
    v.iter().map(i64::to_string).collect::<Vec<_>>().join("x")
}

/// The text report: settings and shapes, then params, MACs and FLOPs as
/// exact integers with their meaning; the working follows when given.
pub fn render_text(
    layer: &dyn Layer,
    cost: &LayerCost,
    explanation: Option<&Explanation>,
) -> String {
    let n = |v: u128| grouped(v as i128);
    let unit = |v: u128| {
        let h = human(v as i128);
        if h == n(v) {
            String::new()
        } else {
            format!("{h} · ")
        }
    };
    let mut rows: Vec<(&str, String, String)> = Vec::new();
    rows.push((
        "input",
        dims(&cost.input_shape),
        "without the batch axis: counts are per sample".into(),
    ));
    rows.push(("output", dims(&cost.output_shape), String::new()));
    let (params, other) = match cost.bias {
        Some(b) if b.enabled => (
            b.params_with,
            format!("{} without bias", n(b.params_without as u128)),
        ),
        Some(b) => (
            b.params_without,
            format!("no bias; {} with one", n(b.params_with as u128)),
        ),
        None => (cost.params, String::new()),
    };
    rows.push(("params", n(params as u128), other));
    if cost.buffers > 0 {
        rows.push((
            "buffers",
            n(cost.buffers as u128),
            "running statistics: state, not trained".into(),
        ));
    }
    rows.push((
        "MACs",
        n(cost.macs),
        format!(
            "{}the article's FLOPs counting multiplications only",
            unit(cost.macs)
        ),
    ));
    let flops = match cost.bias {
        Some(b) if b.enabled => format!(
            "{}the article's FLOPs with additions and bias ({} without bias)",
            unit(b.flops_with),
            n(b.flops_without)
        ),
        Some(b) => format!(
            "{}the article's FLOPs with additions, no bias ({} with one)",
            unit(b.flops_without),
            n(b.flops_with)
        ),
        None => format!(
            "{}every scalar operation: additions, multiplications, comparisons, …",
            unit(cost.flops)
        ),
    };
    rows.push(("FLOPs", n(cost.flops), flops));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "nncost {} · layer {}: {}",
        env!("CARGO_PKG_VERSION"),
        layer.kind(),
        layer.describe()
    );
    let value_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (i, (label, value, about)) in rows.iter().enumerate() {
        if i == 2 {
            out.push('\n');
        }
        // Padded by hand: `format!`'s width stops at 65,535, and a value
        // (a shape of many axes) may be longer.
        let pad = value_width - value.chars().count();
        let line = format!("{label:<8} {value}{}  {about}", " ".repeat(pad));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if let Some(e) = explanation {
        out.push('\n');
        let _ = write!(out, "{e}");
    }
    out
}

/// A count as a JSON integer (a decimal string past 64 bits).
fn integer(n: u128) -> Value {
    match u64::try_from(n) {
        Ok(v) => json!(v),
        Err(_) => Value::String(n.to_string()),
    }
}

/// The JSON report (see `docs/json-schema.md`, *Layer report*).
pub fn render_json(
    layer: &dyn Layer,
    cost: &LayerCost,
    explanation: Option<&Explanation>,
) -> String {
    let bias = cost.bias.map(|b| {
        json!({
            "enabled": b.enabled,
            "params_with": b.params_with,
            "params_without": b.params_without,
            "flops_with": integer(b.flops_with),
            "flops_without": integer(b.flops_without),
        })
    });
    let nodes: Vec<Value> = cost
        .report
        .nodes
        .iter()
        .map(|n| {
            let count = |p: Option<&nncost_core::Poly>| {
                p.and_then(|p| p.as_constant())
                    .map_or(Value::Null, |c| integer(c.max(0) as u128))
            };
            json!({
                "name": n.name.as_str(),
                "op_type": n.op_type.as_str(),
                "params": n.params,
                "buffers": n.buffers,
                "macs": count(n.macs()),
                "flops": count(n.flops()),
            })
        })
        .collect();
    let mut fields: Vec<(&str, Value)> = vec![
        ("schema", json!(SCHEMA)),
        ("schema_version", json!(SCHEMA_VERSION)),
        (
            "tool",
            json!({"name": "nncost", "version": env!("CARGO_PKG_VERSION")}),
        ),
        (
            "layer",
            json!({"kind": layer.kind(), "settings": layer.describe()}),
        ),
        ("input_shape", json!(cost.input_shape)),
        ("output_shape", json!(cost.output_shape)),
        ("params", json!(cost.params)),
        ("buffers", json!(cost.buffers)),
        ("macs", integer(cost.macs)),
        ("flops", integer(cost.flops)),
        ("bias", bias.unwrap_or(Value::Null)),
        ("nodes", Value::Array(nodes)),
    ];
    if let Some(e) = explanation {
        fields.push((
            "explanation",
            Value::Array(
                e.sections
                    .iter()
                    .map(|s| {
                        json!({
                            "title": s.title,
                            "steps": s.steps.iter().map(|st| json!({
                                "label": st.label,
                                "working": st.to_string(),
                                "value": integer(st.value.max(0) as u128),
                                "note": st.note,
                            })).collect::<Vec<_>>(),
                            "notes": s.notes,
                        })
                    })
                    .collect(),
            ),
        ));
    }
    // Fields in this order (serde_json's maps would sort them).
    let mut text = String::from("{\n");
    for (i, (key, value)) in fields.iter().enumerate() {
        let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
        let _ = writeln!(
            text,
            "  {}: {}{}",
            Value::String(key.to_string()),
            pretty.replace('\n', "\n  "),
            if i + 1 < fields.len() { "," } else { "" }
        );
    }
    text.push_str("}\n");
    text
}
