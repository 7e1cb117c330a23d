//! nncost's shapes against onnxruntime's, value by value, on real models.
//!
//! Two fixture folders hold weight-stripped ONNX files, each with an
//! `.oracle.json` that onnxruntime wrote from the full model: the shape of
//! every node output of the top-level graph on one input.
//! - `tests/fixtures/pypi_corpus/`: ONNX files that PyPI packages ship (OCR,
//!   speech, detection, quantized NLP; paddle2onnx, tf2onnx, keras2onnx,
//!   spox, onnxruntime's quantizer, PyTorch 1.x and 2.x), gathered by
//!   `scripts/make_pypi_corpus.py`;
//! - `tests/fixtures/torchvision_oracle/`: torchvision detection models at a
//!   fixed size, and classification, segmentation and detection models
//!   exported with dynamic batch, height and width, by
//!   `scripts/make_torchvision_oracle_fixtures.py`.
//!
//! Each model is analysed with its inputs set to the oracle's shapes, and
//! every size that depends on data (a named symbol with its origin) bound
//! to the size onnxruntime observed at that origin. Then no shape may be
//! wrong, and every shape must be exact.

use std::path::{Path, PathBuf};

use nncost_core::report::{IncompleteKind, NodeReport, NodeStatus, SymbolKind};
use nncost_core::{analyze, AnalysisOptions, Report};
use serde_json::Value;

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn oracles(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out: Vec<(PathBuf, Value)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".oracle.json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("oracle");
            let v: Value = serde_json::from_str(&text).expect("oracle JSON");
            (dir.join(v["file"].as_str().expect("file")), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn oracle_shape(oracle: &Value, name: &str) -> Option<Vec<i64>> {
    oracle["shapes"][name]
        .as_array()
        .map(|a| a.iter().map(|d| d.as_i64().expect("integer dim")).collect())
}

/// The analysis options the oracle's run implies: every input's whole
/// shape.
fn options(oracle: &Value) -> AnalysisOptions {
    let inputs = oracle["inputs"].as_object().expect("inputs");
    AnalysisOptions {
        input_shapes: inputs
            .iter()
            .map(|(name, v)| {
                let shape = v["shape"].as_array().expect("shape");
                (
                    name.clone(),
                    shape.iter().map(|d| d.as_i64().expect("dim")).collect(),
                )
            })
            .collect(),
        ..AnalysisOptions::default()
    }
}

/// Analyses with data symbols bound to what onnxruntime observed at their
/// origin, repeating until the set of data symbols settles (binding one can
/// decide an If, which then names no symbol of its own).
fn analyse_bound(file: &Path, oracle: &Value) -> (Report, Vec<(String, i64)>) {
    let model = nncost_onnx::read_file(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut opts = options(oracle);
    for _ in 0..64 {
        let report = match analyze(&model.graph, &opts) {
            // A bound size decided an If: its own symbol is gone.
            Err(nncost_core::AnalysisError::NoSuchDim { name, .. }) => {
                opts.dims.retain(|(n, _)| *n != name);
                continue;
            }
            r => r.unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        };
        let observed: Vec<(String, i64)> = report
            .symbols
            .iter()
            .filter(|s| s.kind == SymbolKind::Data)
            .filter_map(|s| {
                let origin = s.origin.as_ref()?;
                let v = oracle_shape(oracle, &origin.output)?
                    .get(origin.axis)
                    .copied()?;
                Some((s.name.to_string(), v))
            })
            .collect();
        let mut observed = observed;
        // Keep what unification bound before (the value is constant now).
        for (n, v) in &opts.dims {
            let present = report.symbols.iter().any(|s| *s.name == **n);
            if present && !observed.iter().any(|(m, _)| m == n) {
                observed.push((n.clone(), *v));
            }
        }
        // A symbol named inside a body (an If branch's NonMaxSuppression)
        // has no top-level origin: bind it where a top-level value's axis
        // is exactly that symbol.
        for s in report.symbols.iter().filter(|s| s.kind == SymbolKind::Data) {
            if observed.iter().any(|(n, _)| *n == *s.name) {
                continue;
            }
            let found = report.nodes.iter().flat_map(|n| &n.outputs).find_map(|o| {
                let shape = o.shape.as_ref()?;
                let axis = shape.iter().position(|d| {
                    d.poly()
                        .and_then(|p| p.as_atom())
                        .is_some_and(|a| a.to_string() == *s.name)
                })?;
                oracle_shape(oracle, &o.name)?.get(axis).copied()
            });
            if let Some(v) = found {
                observed.push((s.name.to_string(), v));
            }
        }
        if observed == opts.dims {
            return (report, opts.dims);
        }
        opts.dims = observed;
    }
    panic!("{}: data symbols did not settle", file.display());
}

#[derive(Default, Debug)]
struct Tally {
    exact: usize,
    unknown: usize,
    wrong: Vec<String>,
    unknown_examples: Vec<String>,
}

fn compare(nodes: &[NodeReport], oracle: &Value, tally: &mut Tally) {
    for node in nodes {
        for out in &node.outputs {
            let Some(expected) = oracle_shape(oracle, &out.name) else {
                continue;
            };
            let got: Option<Vec<Option<i128>>> = out.shape.as_ref().map(|s| {
                s.iter()
                    .map(|d| d.poly().and_then(|p| p.as_constant()))
                    .collect()
            });
            let shown = out
                .shape
                .as_ref()
                .map_or("?".to_string(), |s| nncost_core::shape::format_shape(s));
            let describe = || {
                format!(
                    "{} ({}) output {}: nncost {shown}, onnxruntime {expected:?}",
                    node.name, node.op_type, out.name
                )
            };
            match got {
                Some(g) if g.len() != expected.len() => tally.wrong.push(describe()),
                Some(g) => {
                    let clash = g
                        .iter()
                        .zip(&expected)
                        .any(|(a, &b)| a.is_some_and(|a| a != b as i128));
                    if clash {
                        tally.wrong.push(describe());
                    } else if g.iter().all(Option::is_some) {
                        tally.exact += 1;
                    } else {
                        tally.unknown += 1;
                        tally.unknown_examples.push(describe());
                    }
                }
                None => {
                    tally.unknown += 1;
                    tally.unknown_examples.push(describe());
                }
            }
        }
    }
}

/// Per model: values compared, exact, unknown; wrong shapes fail.
fn check_folder(name: &str) -> (String, Vec<String>, usize, usize) {
    let mut table = String::new();
    let mut failures = Vec::new();
    let mut unknown = Vec::new();
    let (mut all, mut all_exact) = (0, 0);
    for (file, oracle) in oracles(&folder(name)) {
        let (report, bound) = analyse_bound(&file, &oracle);
        let mut tally = Tally::default();
        compare(&report.nodes, &oracle, &mut tally);
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let incomplete = report
            .nodes
            .iter()
            .filter(|n| !matches!(n.status, NodeStatus::Counted))
            .count();
        let total = tally.exact + tally.unknown + tally.wrong.len();
        all += total;
        all_exact += tally.exact;
        table.push_str(&format!(
            "{stem:<40} {total:>5} values {:>5} exact {:>3} unknown {:>2} wrong {:>3} incomplete nodes {:>3} data symbols bound\n",
            tally.exact,
            tally.unknown,
            tally.wrong.len(),
            incomplete,
            bound.len(),
        ));
        for w in &tally.wrong {
            failures.push(format!("{stem}: WRONG {w}"));
        }
        // Every top-level node of a torchvision model counted. Inside
        // bodies, what depends on data stays uncounted and says so: the
        // comparisons of NonMaxSuppression (If branches), and the per-box
        // Resize and Slice of Mask and Keypoint R-CNN's paste loops (each
        // detection's box gives its own sizes).
        if name == "torchvision_oracle" {
            for n in report
                .nodes
                .iter()
                .filter(|n| n.status != NodeStatus::Counted)
            {
                failures.push(format!("{stem}: {} ({}) {:?}", n.name, n.op_type, n.status));
            }
            // Nothing in a body is inconsistent: what is left depends on data.
            for (n, reason) in report.incomplete() {
                let invalid = matches!(
                    n.status,
                    NodeStatus::Incomplete {
                        kind: IncompleteKind::Invalid,
                        ..
                    }
                );
                if invalid {
                    failures.push(format!(
                        "{stem}: {} ({}) invalid: {reason}",
                        n.name, n.op_type
                    ));
                }
            }
        }
        for u in &tally.unknown_examples {
            unknown.push(format!("{stem}: unknown {u}"));
        }
    }
    table.push_str(&format!("all: {all_exact} of {all} exact\n"));
    table.push_str(&unknown.join("\n"));
    (table, failures, all_exact, all)
}

/// No shape wrong, and at least 99% of all values exact.
fn assert_folder(name: &str) {
    let (table, failures, exact, all) = check_folder(name);
    println!("{table}");
    assert!(failures.is_empty(), "{table}\n{}", failures.join("\n"));
    assert!(all > 0, "no oracle in {name}");
    assert!(exact * 100 >= all * 99, "{exact} of {all} exact\n{table}");
}

#[test]
fn pypi_corpus_shapes_match_onnxruntime() {
    assert_folder("pypi_corpus");
}

#[test]
fn torchvision_shapes_match_onnxruntime() {
    assert_folder("torchvision_oracle");
}

/// Weight elements the file holds, from the oracle's census of
/// initializers and `Constant` node tensors: float and 8-bit or smaller
/// integer dtypes (int32/int64 hold shapes, indices and biases of quantized
/// kernels' accumulators only in small numbers, and are left out).
fn weights_held(oracle: &Value) -> u64 {
    let weight_dtype = |d: &str| {
        d.starts_with("float")
            || d.starts_with("bfloat")
            || matches!(d, "int8" | "uint8" | "int4" | "uint4")
    };
    [
        "initializer_elements",
        "constant_node_elements",
        "subgraph_initializer_elements",
    ]
    .iter()
    .filter_map(|k| oracle[*k].as_object())
    .flat_map(|m| m.iter())
    .filter(|(d, _)| weight_dtype(d))
    .map(|(_, n)| n.as_u64().expect("element count"))
    .sum()
}

/// Parameters wherever the weights live (initializers, `Constant` nodes,
/// int8 weights behind `Cast → Mul`): within 1% of the weight elements the
/// file holds.
#[test]
fn parameters_match_the_weights_the_files_hold() {
    let mut table = String::new();
    let mut failures = Vec::new();
    for (file, oracle) in oracles(&folder("pypi_corpus")) {
        let model = nncost_onnx::read_file(&file).unwrap();
        let report = analyze(&model.graph, &options(&oracle)).unwrap();
        // The file's weights are parameters and buffers (BatchNorm
        // statistics) alike.
        let params = report.totals.params + report.totals.buffers;
        let held = weights_held(&oracle);
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        table.push_str(&format!(
            "{stem:<32} params+buffers {params:>10} ({:>9} in Constant nodes)  held {held:>10}\n",
            report.totals.params_in_constant_nodes
        ));
        if (params as f64 - held as f64).abs() > 0.01 * held as f64 {
            failures.push(stem);
        }
    }
    println!("{table}");
    assert!(
        failures.is_empty(),
        "{table}\noff by more than 1%: {failures:?}"
    );
}

/// MACs against PyTorch's own count: torch's `FlopCounterMode` on the same
/// weights and input, halved (it counts a multiply–add as 2), recorded by
/// the fixtures script. With every data symbol bound to what onnxruntime
/// observed (how many proposals and detections these random weights gave),
/// nncost's MACs must be within 0.5%.
#[test]
fn torchvision_macs_match_torch_flop_counter() {
    let mut table = String::new();
    let mut failures = Vec::new();
    for (file, oracle) in oracles(&folder("torchvision_oracle")) {
        let Some(torch) = oracle["torch_flop_counter_macs"].as_f64() else {
            continue;
        };
        let (report, _) = analyse_bound(&file, &oracle);
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let Some(macs) = report.totals.cost.macs.as_constant() else {
            failures.push(format!(
                "{stem}: MACs still symbolic: {}",
                report.totals.cost.macs
            ));
            continue;
        };
        let diff = 100.0 * (macs as f64 - torch) / torch;
        table.push_str(&format!(
            "{stem:<40} nncost {macs:>16} torch {torch:>16} {diff:+.3}%\n"
        ));
        if diff.abs() > 0.5 {
            failures.push(stem);
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{table}\n{failures:?}");
}

/// ResNet-18 exported with dynamic height and width: every stride-2 stage is
/// an exact floor division, so the MACs are one expression for every input
/// size. Per output position: conv1 64·3·7·7 = 9,408 at ⌈h/2⌉; layer1
/// 4·64·64·9 = 147,456 at ⌈h/4⌉; layer2 128·64·9 + 3·128·128·9 + 128·64 =
/// 524,288 at ⌈h/8⌉; layer3 and layer4 likewise ×4 each; fc 512·1000.
/// Bound to the odd 481×353 it equals the fixed-size export's count and
/// torch's (6,534,835,392), and at 224×224 torchvision's 1.814 G.
#[test]
fn dynamic_resnet18_is_one_exact_expression() {
    let model = nncost_onnx::read_file(&folder("torchvision_oracle").join("resnet18_dyn.onnx"))
        .expect("fixture");
    let report = analyze(&model.graph, &AnalysisOptions::default()).expect("analysis");
    assert_eq!(
        report.totals.cost.macs.to_string(),
        "9408*batch*ceil(height/2)*ceil(width/2) + 147456*batch*ceil(height/4)*ceil(width/4) \
         + 524288*batch*ceil(height/8)*ceil(width/8) + 2097152*batch*ceil(height/16)*ceil(width/16) \
         + 8388608*batch*ceil(height/32)*ceil(width/32) + 512000*batch"
    );
    let at = |h: i128, w: i128| {
        report
            .totals
            .cost
            .macs
            .substitute(&|s| match s {
                "batch" => Some(1),
                "height" => Some(h),
                "width" => Some(w),
                _ => None,
            })
            .unwrap()
            .as_constant()
            .unwrap()
    };
    assert_eq!(at(481, 353), 6_534_835_392);
    assert_eq!(at(224, 224), 1_814_073_344);
    // Every symbol the report lists is the model's own.
    let names: Vec<&str> = report.symbols.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["batch", "height", "width"]);
}
