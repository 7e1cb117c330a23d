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
        let Some(macs) = report.totals.cost.macs.as_constant() else {
            failures.push(format!(
                "{name}: MACs still symbolic: {}",
                report.totals.cost.macs
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
        // torchvision publishes three decimals of a billion: nncost's exact
        // count, rounded the same way, must give the same digits.
        let published_milli = (published / 1e6).round() as i128;
        let ours_milli = (macs + 500_000) / 1_000_000;
        if ours_milli != published_milli {
            failures.push(format!(
                "{name}: nncost {macs} MACs rounds to {:.3} G, torchvision publishes {:.3} G",
                ours_milli as f64 / 1000.0,
                published / 1e9
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

/// ResNet-18 by hand (MACs = H_out·W_out·C_out·C_in·k² per convolution):
/// stem 112²·64·3·49 = 118,013,952; layer1, four 3×3 64→64 at 56²:
/// 4 · 115,605,504 = 462,422,016; layers 2–4 each: a strided 3×3 conv
/// (57,802,752), three 3×3 convs (3 · 115,605,504) and a 1×1 downsample
/// (6,422,528) = 411,041,792; fc 512·1000 = 512,000.
/// Total 118,013,952 + 462,422,016 + 3 · 411,041,792 + 512,000 = 1,814,073,344.
#[test]
fn resnet18_matches_the_hand_count() {
    let entries = reference();
    let entry = entries
        .iter()
        .find(|e| e["name"] == "resnet18")
        .expect("resnet18");
    let report = analyse(entry);
    assert_eq!(report.totals.cost.macs.as_constant(), Some(1_814_073_344));
    // BatchNorm folded into the convolutions: PyTorch's 11,689,512 minus the
    // 9,600 BN scales and shifts, plus 4,800 conv biases.
    assert_eq!(report.totals.params, 11_684_712);
    assert_eq!(report.totals.buffers, 0);
}

/// Module subtotals against fvcore's `by_module()` on the same
/// architecture (`scripts/make_fvcore_reference.py`, recorded in
/// `fvcore_reference.json`). fvcore also counts BatchNorm (2 per element)
/// and average pooling (1 per input element) in its "flops"; the export
/// folds BatchNorm into the convolutions, and MACs are the products of
/// convolutions and fully connected layers only, so fvcore's figure for a
/// module is taken over its convolution and linear leaves. At depths 1
/// and 2 every module of ResNet-18 and ResNet-50 has exactly fvcore's MACs
/// (ResNet-50's layer1: 667,942,912, fvcore's 676,773,888 less its
/// BatchNorms' 8,830,976).
#[test]
fn module_subtotals_match_fvcore() {
    let text = std::fs::read_to_string(fixtures().join("fvcore_reference.json"))
        .expect("fvcore_reference.json");
    let fvcore: Value = serde_json::from_str(&text).expect("JSON");
    let entries = reference();
    for model in ["resnet18", "resnet50"] {
        let by_module = fvcore["models"][model]["by_module"]
            .as_object()
            .expect("by_module");
        // A leaf that multiplies: a convolution or the classifier.
        let is_product = |name: &str| {
            let leaf = !by_module.keys().any(|k| {
                k.len() > name.len() && k.starts_with(name) && k[name.len()..].starts_with('.')
            });
            let last = name.rsplit('.').next().unwrap_or(name);
            leaf && (last.starts_with("conv") || last == "fc" || name.ends_with("downsample.0"))
        };
        let fvcore_macs = |module: &str| -> i64 {
            by_module
                .iter()
                .filter(|(k, _)| *k == module || k.starts_with(&format!("{module}.")))
                .filter(|(k, _)| is_product(k))
                .map(|(_, v)| v.as_i64().expect("count"))
                .sum()
        };
        let entry = entries.iter().find(|e| e["name"] == model).expect("model");
        let report = analyse(entry);
        for depth in [1, 2] {
            let groups = report.by_module(depth);
            assert!(groups.len() > 4, "{model}: modules at depth {depth}");
            for g in groups.iter().filter(|g| !g.path.is_empty()) {
                let ours = g.sum.cost.macs.as_constant().expect("constant MACs") as i64;
                assert_eq!(
                    ours,
                    fvcore_macs(&g.path),
                    "{model} {} (depth {depth})",
                    g.path
                );
            }
        }
    }
}
