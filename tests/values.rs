//! nncost's evaluator of small known tensors against ONNX's own reference
//! implementation.
//!
//! While it analyses a graph, nncost computes the elements of small tensors
//! whose inputs are known (shape arithmetic: `Shape → Gather → Concat →
//! Reshape`, torchvision's resize `ReduceMin → Cast → Reciprocal → Mul →
//! Floor`). `scripts/make_value_corpus.py` wrote 395 random cases of one to
//! three nodes over constant inputs, and what
//! `onnx.reference.ReferenceEvaluator` computes for them
//! (`tests/fixtures/values/expected.json`). Every case must come out known
//! and equal: integers and booleans exactly, floats within one unit in the
//! last place of their dtype (the transcendental functions: numpy computes
//! them in float32, nncost in f64 rounded once; sums and products round at
//! every step as a float32 runtime does), and float reductions within four
//! (their summation order is each implementation's own).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nncost_core::value::ConstValue;
use nncost_core::{analyze, AnalysisOptions, DType};
use serde_json::Value;

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/values")
}

/// One unit in the last place of `x` in `dtype`.
fn ulp(x: f64, dtype: &str) -> f64 {
    let bits = match dtype {
        "float16" => 10,
        "bfloat16" => 7,
        "float32" => 23,
        _ => 52,
    };
    let e = if x == 0.0 {
        -126
    } else {
        x.abs().log2().floor() as i32
    };
    2f64.powi(e - bits)
}

fn dtype_name(d: Option<DType>) -> String {
    d.map_or("?".into(), |d| d.name().to_string())
}

#[test]
fn known_tensors_match_the_onnx_reference() {
    let text = std::fs::read_to_string(folder().join("expected.json")).expect("expected.json");
    let expected: BTreeMap<String, Value> = serde_json::from_str(&text).expect("JSON");
    assert!(
        expected.len() >= 300,
        "the corpus has {} cases",
        expected.len()
    );
    let mut failures = Vec::new();
    // Per operator family (the case name before its number): cases, equal.
    let mut by_op: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (case, want) in &expected {
        let op = case.rsplit_once('_').map_or(case.as_str(), |(op, _)| op);
        let file = folder().join(format!("{case}.onnx"));
        let model = nncost_onnx::read_file(&file).unwrap_or_else(|e| panic!("{case}: {e}"));
        let report = analyze(&model.graph, &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        // A float reduction's summation order is the runtime's own (numpy
        // sums pairwise, nncost in order): a few units in the last place.
        let ulps = if op.starts_with("reduce") { 4.0 } else { 1.0 };
        let tally = by_op.entry(op.to_string()).or_default();
        tally.0 += 1;
        let mut ok = true;
        for (name, out) in want["outputs"].as_object().expect("outputs") {
            let i = report
                .outputs
                .iter()
                .position(|o| o.name == *name)
                .unwrap_or_else(|| panic!("{case}: no output {name}"));
            let dtype = out["dtype"].as_str().expect("dtype");
            let values = out["values"].as_array().expect("values");
            let shape: Vec<i64> = out["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_i64().expect("dim"))
                .collect();
            let got_shape = report.outputs[i]
                .shape
                .as_ref()
                .map(|s| s.iter().map(|d| d.as_i64()).collect::<Vec<_>>());
            if got_shape != Some(shape.iter().map(|&d| Some(d)).collect()) {
                failures.push(format!(
                    "{case}: {name} shape {got_shape:?}, reference {shape:?}"
                ));
                ok = false;
                continue;
            }
            let got_dtype = dtype_name(report.outputs[i].dtype);
            if got_dtype != dtype && !(dtype == "bool" && got_dtype == "bool") {
                failures.push(format!(
                    "{case}: {name} dtype {got_dtype}, reference {dtype}"
                ));
                ok = false;
                continue;
            }
            let Some(value) = &report.output_values[i] else {
                failures.push(format!("{case}: {name} elements not computed"));
                ok = false;
                continue;
            };
            let equal = match value {
                ConstValue::Ints(v) => {
                    v.len() == values.len()
                        && v.iter().zip(values).all(|(a, b)| {
                            a.as_i64() == b.as_i64().or_else(|| b.as_f64().map(|f| f as i64))
                        })
                }
                ConstValue::Floats(v) => {
                    v.len() == values.len()
                        && v.iter().zip(values).all(|(a, b)| {
                            let b = b.as_f64().expect("number");
                            (a - b).abs() <= 1.0001 * ulps * ulp(b, dtype)
                        })
                }
            };
            if !equal {
                failures.push(format!("{case}: {name} = {value:?}, reference {values:?}"));
                ok = false;
            }
        }
        if ok {
            tally.1 += 1;
        }
    }
    let table: Vec<String> = by_op
        .iter()
        .map(|(op, (n, eq))| format!("{op:<16} {eq:>3} of {n:>3}"))
        .collect();
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "{}\n{}",
        table.join("\n"),
        failures.join("\n")
    );
}
