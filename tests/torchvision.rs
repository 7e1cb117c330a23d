//! nncost against torchvision, model by model.
//!
//! `scripts/make_torchvision_fixtures.py` exported every torchvision
//! classification model with random weights, stripped the weight bytes, and
//! wrote independent reference figures to `reference.json`:
//! - `published_gmacs`: torchvision's own "GFLOPS" (`meta["_ops"]`), which are
//!   conv + linear + attention-matmul multiply–accumulates, rounded to three
//!   decimals of a billion;
//! - `onnx_initializer_elements_float`: the float elements the ONNX file holds,
//!   counted with the `onnx` Python package.

use std::path::{Path, PathBuf};

use nncost_core::report::NodeStatus;
use nncost_core::{analyze, AnalysisOptions, Report};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torchvision")
}

fn reference() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("reference.json")).expect("reference.json");
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    v.as_array().expect("a list of models").clone()
}

fn analyse(entry: &Value) -> Report {
    let file = fixtures().join(entry["file"].as_str().expect("file"));
    let model = nncost_onnx::read_file(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let options = AnalysisOptions {
        dims: vec![("batch".into(), 1)],
        ..AnalysisOptions::default()
    };
    analyze(&model.graph, &options).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn exported(entries: &[Value]) -> impl Iterator<Item = &Value> {
    entries.iter().filter(|e| e["file"].is_string())
}

/// torchvision rounds its figures to 0.001 G, so a tiny model is allowed the
/// rounding half-unit; everything else must agree within 0.5%.
fn tolerance(published: f64) -> f64 {
    (published * 0.005).max(0.0005e9)
}

#[test]
fn every_model_matches_torchvision_published_macs() {
    let entries = reference();
    let mut failures = Vec::new();
    let mut table =
        String::from("model                     nncost MACs   published    diff      params\n");
    for entry in exported(&entries) {
        let name = entry["name"].as_str().unwrap_or("?");
        let report = analyse(entry);
        let published = entry["published_gmacs"].as_f64().expect("published_gmacs") * 1e9;
        let problems: Vec<String> = report
            .nodes
            .iter()
            .filter(|n| n.status != NodeStatus::Counted)
            .map(|n| format!("{} ({}): {:?}", n.name, n.op_type, n.status))
            .collect();
        let Some(macs) = report.totals.macs.as_constant() else {
            failures.push(format!(
                "{name}: MACs still symbolic: {}",
                report.totals.macs
            ));
            continue;
        };
        let diff = macs as f64 - published;
        table.push_str(&format!(
            "{name:<24} {:>12.3} G {:>9.3} G {:>+7.3}% {:>12}\n",
            macs as f64 / 1e9,
            published / 1e9,
            100.0 * diff / published,
            report.totals.params
        ));
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: not every node counted: {}",
                problems.join("; ")
            ));
        }
        if diff.abs() > tolerance(published) {
            failures.push(format!(
                "{name}: nncost {macs} MACs vs published {published:.0} ({:+.3}%)",
                100.0 * diff / published
            ));
        }
    }
    println!("{table}");
    assert!(
        failures.is_empty(),
        "{} models disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every float element in the file is a parameter, a buffer (BatchNorm
/// running statistics) or a constant of a formula: nothing is missed or
/// counted twice.
#[test]
fn parameters_account_for_every_initializer_element() {
    let entries = reference();
    let mut failures = Vec::new();
    for entry in exported(&entries) {
        let name = entry["name"].as_str().unwrap_or("?");
        let t = analyse(entry).totals;
        let in_file = entry["onnx_initializer_elements_float"]
            .as_u64()
            .expect("element count");
        if t.params + t.buffers + t.constants != in_file {
            failures.push(format!(
                "{name}: params {} + buffers {} + constants {} != {in_file} float elements in the file",
                t.params, t.buffers, t.constants
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
