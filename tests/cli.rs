//! The command-line tool as a user meets it: output formats, bindings,
//! exit codes, and one clear line for every kind of bad input.

#[path = "../crates/onnx/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use nncost_onnx::proto::GraphProto;
use serde_json::Value;

fn nncost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nncost"))
        .args(args)
        .output()
        .expect("nncost runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh scratch folder per test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nncost-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write_model(dir: &Path, name: &str, graph: GraphProto) -> String {
    let path = dir.join(name);
    std::fs::write(&path, encode(&model(graph))).expect("write model");
    path.display().to_string()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/resnet18.onnx")
        .display()
        .to_string()
}

/// Bad input: exit code 2 and exactly one line on stderr containing `needle`.
fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn json_report_is_integer_when_bound_and_an_expression_when_not() {
    let bound = nncost(&[&example(), "--format", "json", "--dim", "batch=1"]);
    assert!(bound.status.success(), "{}", stderr(&bound));
    let doc: Value = serde_json::from_str(&stdout(&bound)).expect("valid JSON");
    assert_eq!(doc["schema"], "nncost.report");
    assert_eq!(doc["schema_version"], 1);
    let macs = doc["totals"]["macs"].as_u64().expect("integer MACs");
    let free = nncost(&[&example(), "--format", "json"]);
    let doc_free: Value = serde_json::from_str(&stdout(&free)).expect("valid JSON");
    let expr = &doc_free["totals"]["macs"];
    assert_eq!(expr["expression"], format!("{macs}*batch"));
    assert_eq!(expr["symbols"], serde_json::json!(["batch"]));
    assert_eq!(
        doc_free["inputs"][0]["shape"],
        serde_json::json!(["batch", 3, 224, 224])
    );
    // Binding batch=8 multiplies every count by 8.
    let eight = nncost(&[&example(), "--format", "json", "--dim", "batch=8"]);
    let doc8: Value = serde_json::from_str(&stdout(&eight)).expect("valid JSON");
    assert_eq!(doc8["totals"]["macs"].as_u64(), Some(8 * macs));
    let node = &doc["nodes"][0];
    for field in ["name", "op_type", "params", "macs", "flops", "outputs"] {
        assert!(!node[field].is_null(), "node field {field}");
    }
    assert!(doc["unsupported"].as_array().is_some_and(|a| a.is_empty()));
}

#[test]
fn input_override_sets_the_whole_shape() {
    let o = nncost(&[
        &example(),
        "--format",
        "json",
        "--input",
        "input=2x3x112x112",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    assert_eq!(doc["outputs"][0]["shape"], serde_json::json!([2, 1000]));
    let bad = nncost(&[&example(), "--input", "nosuch=1x3x2x2"]);
    assert_bad_input(&bad, "nosuch");
}

#[test]
fn table_states_the_convention_and_totals() {
    let o = nncost(&[&example(), "--dim", "batch=1"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("convention: "), "{text}");
    assert!(text.contains("MACs     1.81 G"), "{text}");
    let by_op = stdout(&nncost(&[
        &example(),
        "--by-op",
        "--exact",
        "--dim",
        "batch=1",
    ]));
    let conv_row = by_op
        .lines()
        .find(|l| l.starts_with("Conv "))
        .expect("a Conv row");
    assert!(
        conv_row.contains(" 20 "),
        "ResNet-18 has 20 convolutions: {conv_row}"
    );
}

#[test]
fn output_file_is_written_whole() {
    let dir = scratch("output");
    let out = dir.join("report.json");
    let o = nncost(&[&example(), "--format", "json", "-o", out.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(stdout(&o).is_empty());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["schema"], "nncost.report");
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
}

fn custom_op_graph() -> GraphProto {
    let mut custom = node("FancyOp", "fancy", &["x"], &["y"]);
    custom.domain = "com.example".into();
    GraphProto {
        name: "g".into(),
        node: vec![node("Relu", "relu", &["x"], &["r"]), {
            custom.input = vec!["r".into()];
            custom
        }],
        input: vec![vi("x", FLOAT, Some(&[D::V(1), D::V(8)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    }
}

#[test]
fn unsupported_ops_are_listed_and_strict_fails() {
    let dir = scratch("strict");
    let path = write_model(&dir, "custom.onnx", custom_op_graph());
    let o = nncost(&[&path]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("not counted: 1 node — com.example:FancyOp ×1"),
        "{}",
        stdout(&o)
    );
    let strict = nncost(&[&path, "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(stderr(&strict).contains("FancyOp ×1"));
    let json: Value = serde_json::from_str(&stdout(&nncost(&[&path, "--format", "json"]))).unwrap();
    assert_eq!(json["unsupported"][0]["op_type"], "FancyOp");
    assert_eq!(
        json["unsupported"][0]["nodes"],
        serde_json::json!(["fancy"])
    );
}

#[test]
fn missing_file_directory_empty_and_text_files() {
    let dir = scratch("notonnx");
    let missing = dir.join("nope.onnx");
    assert_bad_input(&nncost(&[missing.to_str().unwrap()]), "nope.onnx");
    assert_bad_input(&nncost(&[dir.to_str().unwrap()]), "directory");
    let empty = dir.join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    assert_bad_input(&nncost(&[empty.to_str().unwrap()]), "empty");
    let text = dir.join("notes.onnx");
    std::fs::write(&text, "this is not a model\n").unwrap();
    assert_bad_input(&nncost(&[text.to_str().unwrap()]), "not an ONNX model");
    let png = dir.join("image.onnx");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01").unwrap();
    assert_bad_input(&nncost(&[png.to_str().unwrap()]), "image.onnx");
}

#[test]
fn truncated_model_is_a_clear_error() {
    let dir = scratch("truncated");
    let bytes = std::fs::read(example()).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 1, 7] {
        let path = dir.join(format!("cut{cut}.onnx"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let o = nncost(&[path.to_str().unwrap()]);
        assert_bad_input(&o, &format!("cut{cut}.onnx"));
    }
}

#[test]
fn cycle_and_undefined_value_name_the_node() {
    let dir = scratch("graph");
    let cycle = GraphProto {
        name: "g".into(),
        node: vec![
            node("Relu", "a", &["x", "b_out"], &["a_out"]),
            node("Relu", "b", &["a_out"], &["b_out"]),
        ],
        input: vec![vi("x", FLOAT, Some(&[D::V(4)]))],
        output: vec![vi("b_out", FLOAT, None)],
        ..Default::default()
    };
    let path = write_model(&dir, "cycle.onnx", cycle);
    assert_bad_input(&nncost(&[&path]), "cycle");
    let undefined = GraphProto {
        name: "g".into(),
        node: vec![node("Relu", "r", &["ghost"], &["y"])],
        input: vec![vi("x", FLOAT, Some(&[D::V(4)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let path = write_model(&dir, "undefined.onnx", undefined);
    assert_bad_input(
        &nncost(&[&path]),
        "node 'r' (Relu) reads undefined value 'ghost'",
    );
}

#[test]
fn overflowing_dimensions_are_reported_not_wrapped() {
    let dir = scratch("overflow");
    let huge = 1i64 << 62;
    let g = GraphProto {
        name: "g".into(),
        node: vec![node("Relu", "big_relu", &["x"], &["y"])],
        input: vec![vi("x", FLOAT, Some(&[D::V(huge), D::V(huge), D::V(huge)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let path = write_model(&dir, "huge.onnx", g);
    assert_bad_input(&nncost(&[&path]), "big_relu");
}

#[test]
fn usage_errors_exit_2() {
    // One line, as every error, with clap's tip when it has one.
    assert_bad_input(&nncost(&[]), "give a model file");
    assert_bad_input(&nncost(&["--bogus"]), "unexpected argument '--bogus'");
    assert_bad_input(
        &nncost(&[&example(), "--format", "xml"]),
        "invalid value 'xml'",
    );
    assert_bad_input(
        &nncost(&["layer", "conv", "--kernel", "x"]),
        "see nncost --help",
    );
    assert!(stdout(&nncost(&["--help"])).contains("Usage:"));
    assert_bad_input(&nncost(&[&example(), "--dim", "batch"]), "NAME=VALUE");
    assert_bad_input(&nncost(&[&example(), "--dim", "batch=-3"]), "non-negative");
    assert_eq!(nncost(&["--version"]).status.code(), Some(0));
}

/// The same model with its weights embedded and with them moved to an
/// external file that is not there: the reports are identical, because the
/// weights are never read.
#[test]
fn stripped_weights_give_the_same_report() {
    use nncost_onnx::proto::{data_location, StringStringEntryProto};
    let dir = scratch("stripped");
    let full = model(conv_model().graph.unwrap());
    let mut stripped = full.clone();
    for t in &mut stripped.graph.as_mut().unwrap().initializer {
        t.raw_data = None;
        t.float_data.clear();
        t.data_location = data_location::EXTERNAL;
        t.external_data = vec![StringStringEntryProto {
            key: "location".into(),
            value: "weights.bin".into(),
        }];
    }
    let a = dir.join("m.onnx");
    std::fs::write(&a, encode(&full)).unwrap();
    let sub = dir.join("stripped");
    std::fs::create_dir_all(&sub).unwrap();
    let b = sub.join("m.onnx");
    std::fs::write(&b, encode(&stripped)).unwrap();
    let run = |p: &Path| {
        let o = nncost(&[p.to_str().unwrap(), "--format", "json", "--dim", "N=2"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
        doc["model"]["source"] = Value::Null;
        doc
    };
    let (ra, rb) = (run(&a), run(&b));
    assert_eq!(ra, rb);
    // Conv 3→4, 3×3 on 8×8 → 6×6, batch 2: 2·4·36·27 MACs, 112 params.
    assert_eq!(ra["totals"]["macs"], 2 * 4 * 36 * 27);
    assert_eq!(ra["totals"]["params"], 4 * 27 + 4);
}

/// A model whose small external tensor points outside its folder is
/// refused, naming the tensor and the reason.
#[test]
fn external_data_outside_the_folder_is_refused() {
    let dir = scratch("external");
    std::fs::create_dir_all(dir.join("model")).unwrap();
    std::fs::write(dir.join("secret.bin"), [0u8; 16]).unwrap();
    let g = reshape_by_external_target("../secret.bin");
    let path = write_model(&dir.join("model"), "m.onnx", g);
    assert_bad_input(
        &nncost(&[&path]),
        "initializer 'target': external data '../secret.bin' refused",
    );
}

/// The malformed-input suite: each is one line naming the problem, exit 2.
#[test]
fn malformed_models_are_clear_errors() {
    use nncost_onnx::proto::TensorProto;
    let dir = scratch("malformed");
    let input = || vec![vi("x", FLOAT, Some(&[D::V(4)]))];
    let output = || vec![vi("y", FLOAT, None)];
    let cases: Vec<(&str, GraphProto, &str)> = vec![
        (
            "negative-dim",
            GraphProto {
                name: "g".into(),
                node: vec![node("Add", "add", &["x", "w"], &["y"])],
                initializer: vec![TensorProto {
                    name: "w".into(),
                    data_type: FLOAT,
                    dims: vec![-4],
                    ..Default::default()
                }],
                input: input(),
                output: output(),
                ..Default::default()
            },
            "negative dimension",
        ),
        (
            "duplicate-producer",
            GraphProto {
                name: "g".into(),
                node: vec![
                    node("Relu", "first", &["x"], &["y"]),
                    node("Relu", "second", &["x"], &["y"]),
                ],
                input: input(),
                output: output(),
                ..Default::default()
            },
            "produced by two nodes",
        ),
        (
            "missing-input",
            GraphProto {
                name: "g".into(),
                node: vec![node("Add", "add", &["x", "nowhere"], &["y"])],
                input: input(),
                output: output(),
                ..Default::default()
            },
            "reads undefined value 'nowhere'",
        ),
        (
            "empty-graph",
            GraphProto {
                name: "g".into(),
                input: input(),
                ..Default::default()
            },
            "no nodes",
        ),
        (
            "huge-dims",
            GraphProto {
                name: "g".into(),
                node: vec![node("MatMul", "mm", &["a", "a"], &["y"])],
                input: vec![vi(
                    "a",
                    FLOAT,
                    Some(&[D::V(i64::MAX), D::V(i64::MAX), D::V(i64::MAX)]),
                )],
                output: output(),
                ..Default::default()
            },
            "node 'mm' (MatMul)",
        ),
    ];
    for (name, graph, needle) in cases {
        let path = write_model(&dir, &format!("{name}.onnx"), graph);
        assert_bad_input(&nncost(&[&path]), needle);
    }
    // A wrong wire type: field 7 (graph) encoded as a varint.
    let path = dir.join("wire-type.onnx");
    std::fs::write(&path, [0x08, 0x08, 0x38, 0x01]).unwrap();
    assert_bad_input(&nncost(&[path.to_str().unwrap()]), "not an ONNX model");
}

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

/// `--input` is checked: a wrong rank against the declaration, and a
/// channel count the first convolution's weights cannot take, are exit 2
/// naming the input (and the node); a shape binds the model's own dim
/// names (`batch` here), so a `--dim` that disagrees is an error; a `--dim`
/// the model lacks lists the names it has.
#[test]
fn inputs_and_dims_are_validated() {
    let m = example();
    assert_bad_input(
        &nncost(&[&m, "--input", "input=1x3x224"]),
        "--input input=1x3x224: the model declares input as batchx3x224x224",
    );
    assert_bad_input(
        &nncost(&[&m, "--input", "input=1x4x224x224"]),
        "node '/conv1/Conv' (Conv) cannot take it: input has 4 channels but weight expects 3",
    );
    assert_bad_input(
        &nncost(&[&m, "--input", "input=2x3x224x224", "--dim", "batch=3"]),
        "batch is bound to 3 and to 2",
    );
    assert_bad_input(
        &nncost(&[&m, "--dim", "Batch=3"]),
        "--dim names 'Batch', but the model's symbols are: batch",
    );
    let o = nncost(&[&m, "--input", "input=2x3x224x224", "--exact"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("bound:  batch=2"), "{out}");
    assert!(out.contains("MACs     3,628,146,688\n"), "{out}");
}

/// A detection model: data-dependent sizes are named symbols listed in the
/// JSON with origin and bound; `--strict` fails on its data-dependent
/// NonMaxSuppression cost and the totals say they are partial; `--bound
/// max` evaluates every data symbol at its bound and says so.
#[test]
fn data_symbols_strict_and_worst_case() {
    let m = fixture("torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx");
    let o = nncost(&[&m, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let symbols = v["symbols"].as_array().expect("symbols");
    let nonzero = symbols
        .iter()
        .find(|s| s["name"] == "rpn_NonZero")
        .expect("the RPN's NonZero names a symbol");
    assert_eq!(nonzero["kind"], "data");
    assert_eq!(nonzero["origin"]["node"], "/rpn/NonZero");
    assert_eq!(nonzero["origin"]["axis"], 1);
    assert_eq!(nonzero["upper_bound"], 450);
    assert_eq!(v["totals"]["complete"], false);

    let strict = nncost(&[&m, "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        stderr(&strict).contains("not fully counted"),
        "{}",
        stderr(&strict)
    );
    assert!(stdout(&strict).contains("(partial: 2 nodes not counted"));

    let worst = nncost(&[&m, "--bound", "max", "--exact"]);
    assert_eq!(worst.status.code(), Some(0), "{}", stderr(&worst));
    let out = stdout(&worst);
    assert!(out.contains("worst case: rpn_NonZero, "), "{out}");
    assert!(out.contains("bound:  rpn_NonZero=450"), "{out}");
    assert!(out.contains("FLOPs    6,509,953,108"), "{out}");
}

/// `--by-op` reaches the JSON too: one group per operator, summing to the
/// totals (ResNet-18: 20 Conv nodes, the Gemm's 512,000 MACs).
#[test]
fn json_by_op_groups_add_up_to_the_totals() {
    let o = nncost(&[
        &example(),
        "--by-op",
        "--format",
        "json",
        "--dim",
        "batch=1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let groups = v["by_op"].as_array().expect("by_op");
    let conv = groups
        .iter()
        .find(|g| g["op_type"] == "Conv")
        .expect("Conv");
    assert_eq!(conv["nodes"], 20);
    let gemm = groups
        .iter()
        .find(|g| g["op_type"] == "Gemm")
        .expect("Gemm");
    assert_eq!(gemm["macs"], 512_000);
    let sum = |k: &str| groups.iter().map(|g| g[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("macs"), v["totals"]["macs"].as_i64().unwrap());
    assert_eq!(sum("flops"), v["totals"]["flops"].as_i64().unwrap());
    assert_eq!(
        sum("params") as u64,
        v["totals"]["params"].as_u64().unwrap()
    );
    // Without --by-op the array is absent.
    let plain = nncost(&[&example(), "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&plain)).expect("JSON");
    assert!(v.get("by_op").is_none());
}

/// CLI manners: two models are one line with a hint, `-o` never replaces
/// the model it reads, and `-` reads the model from standard input with
/// the same numbers as the file.
#[test]
fn two_models_output_over_input_and_stdin() {
    let m = example();
    assert_bad_input(&nncost(&[&m, &m]), "two models given");
    let dir = scratch("manners");
    let copy = dir.join("m.onnx");
    std::fs::copy(&m, &copy).expect("copy");
    let before = std::fs::read(&copy).expect("read");
    let copy = copy.display().to_string();
    assert_bad_input(
        &nncost(&[&copy, "-o", &copy]),
        "that is the model being read",
    );
    assert_eq!(
        std::fs::read(&copy).expect("read"),
        before,
        "the model is untouched"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_nncost"))
        .args(["-", "--exact", "--dim", "batch=1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("nncost runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&before).expect("write");
    }
    let o = child.wait_with_output().expect("output");
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("· <stdin> (ONNX IR 8"), "{out}");
    assert!(out.contains("MACs     1,814,073,344"), "{out}");
}

/// `--depth N`: a row per module (the example ResNet-18: `layer1` holds 4
/// convolutions of 64·64·9 MACs at 56×56 per sample), and in the JSON a
/// `by_module` array that adds up to the totals.
#[test]
fn depth_gives_module_subtotals() {
    let o = nncost(&[&example(), "--depth", "1", "--dim", "batch=1", "--exact"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let layer1 = out
        .lines()
        .find(|l| l.starts_with("layer1 "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(layer1.contains("462,422,016"), "{layer1}");
    let o = nncost(&[
        &example(),
        "--depth",
        "2",
        "--format",
        "json",
        "--dim",
        "batch=1",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let modules = v["by_module"].as_array().expect("by_module");
    assert!(modules.iter().any(|m| m["module"] == "layer2.0"));
    let macs: i64 = modules.iter().map(|m| m["macs"].as_i64().unwrap()).sum();
    assert_eq!(macs, v["totals"]["macs"].as_i64().unwrap());
    assert_bad_input_usage(&nncost(&[&example(), "--depth", "0"]));
}

fn assert_bad_input_usage(o: &Output) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
}

/// PyTorch's dynamo exporter names nodes `node_Conv_292` but records each
/// node's module path as metadata (`pkg.torch.onnx.name_scopes`, kept in
/// `scripts/make_dynamo_scope_fixture.py`'s ResNet-18 at 64×64): `--depth`
/// follows it. layer1 is 4 convolutions of 64·64·9 MACs at 16×16 =
/// 37,748,736; layer1.0 half of it. (The exporter folds each BatchNorm
/// into its convolution and records the result under the BatchNorm's
/// module, so the stem's convolution is counted under `bn1`.)
#[test]
fn dynamo_name_scopes_give_the_module_hierarchy() {
    let m = fixture("models/resnet18_dynamo_scopes.onnx");
    let o = nncost(&[&m, "--depth", "2", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let modules = v["by_module"].as_array().expect("by_module");
    let macs = |name: &str| {
        modules
            .iter()
            .find(|m| m["module"] == name)
            .unwrap_or_else(|| panic!("no module {name}"))["macs"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(macs("layer1.0") + macs("layer1.1"), 37_748_736);
    assert_eq!(macs("layer1.0"), 18_874_368);
    assert_eq!(macs("bn1"), 64 * 3 * 49 * 32 * 32);
    assert_eq!(macs("fc"), 512_000);
}

/// `--top K` lists the K heaviest rows, heaviest first, keeping their
/// numbers; `--sort params` orders by parameters; `--summary` prints the
/// totals alone.
#[test]
fn top_sort_and_summary() {
    let m = example();
    let o = nncost(&[&m, "--top", "2", "--dim", "batch=1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with('#'))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    // ResNet-18's stem convolution (118 M MACs) is its heaviest node.
    assert!(rows[0].trim_start().starts_with("1  /conv1/Conv"), "{out}");
    let o = nncost(&[&m, "--depth", "1", "--sort", "params", "--top", "1"]);
    let out = stdout(&o);
    assert!(out.lines().any(|l| l.starts_with("layer4 ")), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("layer3 ")), "{out}");
    let o = nncost(&[&m, "--summary", "--dim", "batch=1", "--exact"]);
    let out = stdout(&o);
    assert!(!out.contains("/conv1/Conv"), "{out}");
    assert!(out.contains("MACs     1,814,073,344"), "{out}");
}

/// A table at 80 columns, as a person sees it: with `--width 80` (and on a
/// real terminal of 80 columns, through `script`, where it is installed)
/// no line is wider than 80 characters; long names keep their distinctive
/// end, and the columns left out are named. A pipe gets the full table.
#[test]
fn tables_fit_eighty_columns() {
    let fits = |out: &str| {
        for line in out.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} chars: {line}",
                line.chars().count()
            );
        }
    };
    let m = example();
    let o = nncost(&[&m, "--width", "80", "--dim", "batch=1"]);
    let out = stdout(&o);
    fits(&out);
    assert!(out.contains("/layer4/layer4.1/conv2/Conv"), "{out}");
    assert!(
        out.contains("(not shown to fit 80 columns: output shape, params)"),
        "{out}"
    );
    assert!(out.contains("% FLOPs"), "{out}");
    let deep = fixture("torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx");
    let o = nncost(&[&deep, "--width", "80", "--bound", "max"]);
    let out = stdout(&o);
    fits(&out);
    assert!(
        out.contains("…"),
        "long names are shortened in the middle: {out}"
    );
    // Piped (as here, without --width): the full table, every column.
    let full = stdout(&nncost(&[&m, "--dim", "batch=1"]));
    assert!(full.contains("output shape") && full.lines().any(|l| l.chars().count() > 80));
    // On a real 80-column terminal, when `script` can give one.
    let tty = Command::new("script")
        .args([
            "-qc",
            &format!(
                "stty cols 80; {} {m} --dim batch=1",
                env!("CARGO_BIN_EXE_nncost")
            ),
            "/dev/null",
        ])
        .output();
    if let Ok(o) = tty {
        if o.status.success() && !o.stdout.is_empty() {
            fits(&stdout(&o).replace('\r', ""));
        }
    }
}

/// `--format csv`: one record per node with exact counts (ResNet-18's
/// nodes add up to 1,814,073,344 MACs), per operator with `--by-op` (a
/// symbolic count is a field of its own); `--format markdown`: a module
/// table with units and the totals under it.
#[test]
fn csv_and_markdown() {
    let m = example();
    let o = nncost(&[&m, "--format", "csv", "--dim", "batch=1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let macs_col = header
        .iter()
        .position(|h| *h == "macs")
        .expect("macs column");
    let records: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(records.len(), 49);
    let macs: i64 = records
        .iter()
        .map(|r| r[macs_col].parse::<i64>().unwrap())
        .sum();
    assert_eq!(macs, 1_814_073_344);
    let o = nncost(&[&m, "--format", "csv", "--by-op"]);
    let out = stdout(&o);
    assert!(
        out.contains("Conv,20,0,11171712,0,1813561344*batch,3627122688*batch,0\r\n"),
        "{out}"
    );

    let o = nncost(&[
        &m, "--format", "markdown", "--depth", "1", "--dim", "batch=1",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains("| module | nodes | params | % params | MACs | % MACs | FLOPs | % FLOPs |"),
        "{out}"
    );
    assert!(
        out.contains("|---|---:|---:|---:|---:|---:|---:|---:|"),
        "{out}"
    );
    // layer1: 147,712 of 11,684,712 params (1.3%), 462,422,016 of
    // 1,814,073,344 MACs (25.5%).
    assert!(
        out.contains("| layer1 | 10 | 147.71 K | 1.3% | 462.42 M | 25.5% | 926.05 M | 25.5% |"),
        "{out}"
    );
    assert!(
        out.contains("Params 11.68 M (11,684,712); MACs 1.81 G; FLOPs 3.63 G."),
        "{out}"
    );
}

/// A share is only a number when the total is one term: a Llama counted
/// over a symbolic `seq` (`a·seq² + b·seq`) leaves the column out and says
/// why; bound, the column is back. ResNet's `× batch` keeps it.
#[test]
fn shares_only_where_they_are_numbers() {
    let m = fixture("models/llama_tiny_sdpa_dynamo_op23.onnx");
    let out = stdout(&nncost(&[&m]));
    assert!(!out.contains("% FLOPs  "), "{out}");
    assert!(
        out.contains("(% FLOPs left out: the total depends on batch, seq in more than one term"),
        "{out}"
    );
    let out = stdout(&nncost(&[&m, "--dim", "batch=1", "--dim", "seq=8192"]));
    assert!(out.contains("% FLOPs"), "{out}");
    assert!(!out.contains("left out"), "{out}");
    let out = stdout(&nncost(&[&example()]));
    assert!(out.contains("% FLOPs"), "{out}");
}

/// `nncost diff`: a QDQ model against its QOperator form: the same 1.62 M
/// MACs in total (Δ 0), the float Conv gone and QLinearConv come, FLOPs
/// down by the quantize/dequantize pairs; the JSON carries both sides and
/// the deltas.
#[test]
fn diff_compares_two_models() {
    let a = fixture("quantized/cnn_qdq.onnx");
    let b = fixture("quantized/cnn_qoperator.onnx");
    let o = nncost(&["diff", &a, &b, "--dim", "batch=1", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["schema"], "nncost.diff");
    assert_eq!(v["total"]["delta"]["macs"], 0);
    assert_eq!(v["total"]["before"]["macs"], v["total"]["after"]["macs"]);
    let row = |k: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == k)
            .unwrap_or_else(|| panic!("no row {k}"))
            .clone()
    };
    assert_eq!(row("Conv")["after"]["nodes"], 0);
    assert_eq!(row("QLinearConv")["before"]["nodes"], 0);
    // Memory too: the same int8 weights (5,592 bytes), but the QDQ form
    // holds float activations between its quantize pairs: its peak is
    // conv2's float input and output (16·32·32·4 + 32·16·16·4 = 98,304 B)
    // where the QOperator form holds them in int8 (24,576 B).
    let memory: Vec<(String, Value, Value)> = v["memory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_string(),
                m["before"].clone(),
                m["after"].clone(),
            )
        })
        .collect();
    assert_eq!(memory[0], ("param bytes".into(), 5592.into(), 5592.into()));
    assert_eq!(
        memory[1],
        ("peak activations".into(), 98304.into(), 24576.into())
    );
    assert_eq!(
        row("QLinearConv")["after"]["macs"],
        row("Conv")["before"]["macs"]
    );
    let table = stdout(&nncost(&["diff", &a, &b, "--dim", "batch=1"]));
    assert!(
        table.contains("before: ") && table.contains("Δ FLOPs"),
        "{table}"
    );
    // Every format: CSV with exact counts, Markdown and one HTML page.
    let csv = stdout(&nncost(&[
        "diff", &a, &b, "--dim", "batch=1", "--format", "csv",
    ]));
    assert!(
        csv.contains("\r\ntotal,23,7,5418,5418,0,1622336,1622336,0,3457754,163046,-3294708\r\n"),
        "{csv}"
    );
    let md = stdout(&nncost(&[
        "diff", &a, &b, "--dim", "batch=1", "--format", "markdown",
    ]));
    assert!(
        md.contains("| op | nodes | params | Δ params | MACs | Δ MACs | FLOPs | Δ FLOPs |"),
        "{md}"
    );
    let html = stdout(&nncost(&[
        "diff", &a, &b, "--dim", "batch=1", "--format", "html",
    ]));
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<td>QLinearConv</td>"),
        "{html}"
    );
    assert!(!html.contains("http"), "self-contained");
    assert_bad_input(
        &nncost(&["diff", &a, &b, "--dim", "nope=1"]),
        "neither model has",
    );
    assert_bad_input(&nncost(&[&a, &b]), "nncost diff BEFORE AFTER");
}

/// `--tree`: every module with its subtotal, children indented under their
/// parent and adding up to it (ResNet-18's layer1 = layer1.0 + layer1.1);
/// with `--format json`, a `module_tree` array.
#[test]
fn tree_of_modules() {
    let m = example();
    let out = stdout(&nncost(&[
        &m, "--tree", "--depth", "2", "--dim", "batch=1", "--exact",
    ]));
    let row = |name: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name}: {out}"))
            .to_string()
    };
    assert!(row("layer1").starts_with("layer1 "));
    assert!(row("layer1.0").starts_with("  layer1.0 "));
    let v: Value = serde_json::from_str(&stdout(&nncost(&[
        &m, "--tree", "--format", "json", "--dim", "batch=1",
    ])))
    .expect("JSON");
    let tree = v["module_tree"].as_array().expect("module_tree");
    let macs = |p: &str| {
        tree.iter().find(|n| n["module"] == p).unwrap()["macs"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(macs("layer1"), macs("layer1.0") + macs("layer1.1"));
    assert_eq!(
        macs("layer1.0"),
        macs("layer1.0.conv1") + macs("layer1.0.conv2")
    );
    let depth3 = tree.iter().filter(|n| n["depth"] == 3).count();
    assert!(depth3 > 10, "leaves at depth 3: {depth3}");
}

/// A chain of Relu, Sigmoid and Tanh, with the first two in a module named
/// `block` and the last in `head`.
fn blocks_graph(block: &str) -> GraphProto {
    GraphProto {
        name: "g".into(),
        node: vec![
            node("Relu", &format!("/{block}/Relu"), &["x"], &["a"]),
            node("Sigmoid", &format!("/{block}/Sigmoid"), &["a"], &["b"]),
            node("Tanh", "/head/Tanh", &["b"], &["y"]),
        ],
        input: vec![vi("x", FLOAT, Some(&[D::V(1), D::V(8)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    }
}

/// `diff --depth 1` matches modules by name, then a renamed module by its
/// operators: `stem` and `body` hold the same Relu and Sigmoid, so they are
/// one row `stem → body` with no change; `head` matches by name.
#[test]
fn diff_matches_renamed_modules_by_structure() {
    let dir = scratch("diff-structure");
    let a = write_model(&dir, "a.onnx", blocks_graph("stem"));
    let b = write_model(&dir, "b.onnx", blocks_graph("body"));
    let o = nncost(&["diff", &a, &b, "--depth", "1", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let keys: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"stem → body"), "{keys:?}");
    assert!(keys.contains(&"head"), "{keys:?}");
    assert_eq!(keys.len(), 2, "{keys:?}");
    let renamed = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "stem → body")
        .unwrap();
    assert_eq!(renamed["before"]["flops"], renamed["after"]["flops"]);
    assert_eq!(renamed["delta"]["flops"], 0);
}

/// A Llama-3.2-1B-shaped model exported by PyTorch's dynamo exporter
/// (`scripts/make_llama_1b_fixture.py`, random weights, stripped): its
/// 1,207 nodes are grouped by the module scopes the exporter records. Each
/// decoder layer holds 2048·(2048 + 512 + 512 + 2048) attention weights,
/// 3·2048·8192 MLP weights and two RMSNorm scales of 2048: 60,821,504
/// parameters; the whole model PyTorch's 1,235,814,400 plus the 32 floats
/// of the rotary `inv_freq` buffer, which the file holds as a weight.
#[test]
fn llama_1b_by_module() {
    let m = fixture("models/llama_1b_dynamo.onnx");
    let o = nncost(&[
        &m, "--depth", "2", "--format", "json", "--dim", "batch=1", "--dim", "seq=2048",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["totals"]["params"], 1_235_814_400u64 + 32);
    let modules = v["by_module"].as_array().expect("by_module");
    let layers: Vec<&Value> = modules
        .iter()
        .filter(|m| {
            m["module"]
                .as_str()
                .is_some_and(|p| p.starts_with("model.layers."))
        })
        .collect();
    assert_eq!(layers.len(), 16);
    for l in layers {
        assert_eq!(l["params"], 60_821_504, "{}", l["module"]);
    }
}

/// `--hardware` takes a built-in profile, an alias, or a profile file in
/// TOML or JSON. On a device of 1 TFLOPS and 1 GB/s the arithmetic is
/// plain: ResNet-18's stem takes the larger of its FLOPs / 10^12 and its
/// bytes moved / 10^9.
#[test]
fn hardware_profiles_from_files_and_errors() {
    let dir = scratch("hardware");
    let toml = dir.join("unit.toml");
    std::fs::write(
        &toml,
        "id = \"unit\"\nname = \"Unit device\"\nbandwidth_gbs = 1\n\n[peak_tflops]\nfp32 = 1\n",
    )
    .unwrap();
    let json = dir.join("unit.json");
    std::fs::write(
        &json,
        r#"{"id": "unit", "name": "Unit device", "bandwidth_gbs": 1, "peak_tflops": {"fp32": 1}}"#,
    )
    .unwrap();
    let ex = example();
    let mut seconds = Vec::new();
    for profile in [&toml, &json] {
        let o = nncost(&[
            &ex,
            "--dim",
            "batch=1",
            "--hardware",
            profile.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["roofline"]["hardware"]["name"], "Unit device");
        let stem = &v["nodes"][0];
        // Reads 1x3x224x224 floats (602,112 B) and 9,472 weights (37,888
        // B), writes 1x64x112x112 floats (3,211,264 B).
        let moved = 602_112 + 37_888 + 3_211_264;
        let expected = (236_027_904.0 / 1e12f64).max(moved as f64 / 1e9);
        let got = stem["time"]["seconds"].as_f64().unwrap();
        assert!((got - expected).abs() < 1e-15, "{got} vs {expected}");
        assert_eq!(stem["time"]["bound"], "memory");
        seconds.push(v["roofline"]["seconds"].as_f64().unwrap());
    }
    assert_eq!(seconds[0], seconds[1]);

    // The alias and the built-in id give the same device.
    let o = nncost(&[&ex, "--dim", "batch=1", "--hardware", "h100", "--summary"]);
    assert!(stdout(&o).contains("NVIDIA H100 SXM5"), "{}", stdout(&o));

    // Errors: one line, exit 2.
    assert_bad_input(
        &nncost(&[&ex, "--dim", "batch=1", "--hardware", "tpu9"]),
        "not a built-in profile nor a file; built-in: a100-40gb",
    );
    assert_bad_input(
        &nncost(&[
            &ex,
            "--dim",
            "batch=1",
            "--hardware",
            "a100",
            "--dtype",
            "fp8",
        ]),
        "states no fp8 peak; it has: fp64, fp32, tf32, fp16, bf16, int8, int4",
    );
    assert_bad_input(
        &nncost(&[&ex, "--hardware", "h100"]),
        "the time needs numbers, but the counts still depend on batch",
    );
    assert_bad_input(
        &nncost(&[&ex, "--dtype", "fp12"]),
        "--dtype fp12: expected one of",
    );
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        "id = \"x\"\nbandwidth_gbs = -3\n[peak_tflops]\nfp32 = 1\n",
    )
    .unwrap();
    assert_bad_input(
        &nncost(&[
            &ex,
            "--dim",
            "batch=1",
            "--hardware",
            broken.to_str().unwrap(),
        ]),
        "`bandwidth_gbs`, a positive number",
    );
    std::fs::write(
        &broken,
        "id = \"x\"\nbandwidth_gbs = 3\n[peak_tflops]\nfp31 = 1\n",
    )
    .unwrap();
    assert_bad_input(
        &nncost(&[
            &ex,
            "--dim",
            "batch=1",
            "--hardware",
            broken.to_str().unwrap(),
        ]),
        "peak_tflops.fp31: not a precision",
    );
    std::fs::write(&broken, "{ not json").unwrap();
    assert_bad_input(
        &nncost(&[
            &ex,
            "--dim",
            "batch=1",
            "--hardware",
            broken.to_str().unwrap(),
        ]),
        "not valid JSON",
    );
}

/// `--memory` in the table: the columns and the totals' lines.
#[test]
fn memory_columns_and_totals() {
    let o = nncost(&[&example(), "--dim", "batch=1", "--memory", "--exact"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("out bytes") && out.contains("moved"), "{out}");
    assert!(
        out.contains("weights  46,738,848 B (float32 46,738,848 B)"),
        "{out}"
    );
    assert!(
        out.contains("peak     6,422,528 B of activations at /relu/Relu in the file's order"),
        "{out}"
    );
}

/// Names from the file reach the terminal escaped: a newline cannot forge a
/// line, an escape sequence cannot drive the terminal; an error stays one
/// line.
#[test]
fn control_characters_in_names_are_escaped() {
    let dir = scratch("escapes");
    let evil = "relu\nnncost: error: forged\x1b[2J";
    let graph = GraphProto {
        name: "g".into(),
        node: vec![node("Relu", evil, &["x"], &["y"])],
        input: vec![vi("x", FLOAT, Some(&[D::P("bat\x1bch"), D::V(8)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let path = write_model(&dir, "evil.onnx", graph);
    for args in [
        vec![path.as_str()],
        vec![path.as_str(), "--format", "markdown"],
    ] {
        let o = nncost(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(!out.contains('\x1b'), "{out:?}");
        assert!(!out.contains("\nnncost: error"), "{out:?}");
    }
    let table = stdout(&nncost(&[&path]));
    assert!(
        table.contains("relu\\nnncost: error: forged\\x1b[2J"),
        "{table}"
    );
    // A symbol with an unusual name is quoted and escaped as expressions
    // write it.
    assert!(table.contains("\"bat\\u{1b}ch\"x8"), "{table}");
    // An error naming the symbol: one line, escaped.
    let o = nncost(&[&path, "--dim", "nothing=1"]);
    assert_bad_input(&o, "bat\\x1bch");
    assert!(!stderr(&o).contains('\x1b'));
}

/// `-o` writes through nothing but a file of its own: a device, a link or
/// a folder as the target is refused; an existing file keeps its mode; no
/// temporary file is left behind, whatever happens.
#[cfg(unix)]
#[test]
fn output_file_is_private_until_renamed_and_never_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("output-hardening");
    let ex = example();
    assert_bad_input(&nncost(&[&ex, "-o", "/dev/null"]), "not a regular file");
    let link = dir.join("link.txt");
    std::os::unix::fs::symlink(dir.join("elsewhere.txt"), &link).unwrap();
    assert_bad_input(
        &nncost(&[&ex, "-o", link.to_str().unwrap()]),
        "is a symbolic link",
    );
    assert!(!dir.join("elsewhere.txt").exists());
    assert_bad_input(
        &nncost(&[&ex, "-o", dir.to_str().unwrap()]),
        "not a regular file",
    );
    let keep = dir.join("keep.txt");
    std::fs::write(&keep, "old").unwrap();
    std::fs::set_permissions(&keep, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = nncost(&[&ex, "-o", keep.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = std::fs::metadata(&keep).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert!(std::fs::read_to_string(&keep).unwrap().contains("params"));
    let missing = dir.join("no/such/folder/out.txt");
    assert_bad_input(
        &nncost(&[&ex, "-o", missing.to_str().unwrap()]),
        "cannot create a file beside it",
    );
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nncost"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A control-flow node's body rows have the table's columns when
/// `--memory` and `--hardware` add theirs (they had nine cells, and the
/// table stopped with an internal error).
#[test]
fn body_rows_take_the_memory_and_time_columns() {
    let out = nncost(&[
        "crates/onnx/tests/fixtures/kitchen_sink.onnx",
        "--dim",
        "batch=2",
        "--dim",
        "N=3",
        "--memory",
        "--hardware",
        "h100-sxm",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = text
        .lines()
        .find(|l| l.trim_start().starts_with('#'))
        .unwrap();
    assert!(
        header.contains("out bytes") && header.contains("bound"),
        "{header}"
    );
    let body = text
        .lines()
        .find(|l| l.contains("if/then_branch/then_add"))
        .unwrap();
    assert!(body.contains("Add") && body.contains("512"), "{body}");
}

/// A detector whose live bytes depend on 90 data-dependent sizes: its
/// memory's peak is the maximum of hundreds of expressions none of which
/// bounds another. The analysis says it cannot state it (it spent minutes
/// comparing them before), and with each size at its upper bound it can.
#[test]
fn a_peak_of_too_many_incomparable_steps_is_refused_with_a_way_out() {
    let model = "tests/fixtures/torchvision_oracle/ssdlite320_mobilenet_v3_large.onnx";
    let out = nncost(&[model, "--summary", "--memory"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the memory's peak cannot be stated") && err.contains("--bound max"),
        "{err}"
    );
    let out = nncost(&[model, "--summary", "--memory", "--bound", "max"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("peak") && l.contains("13.11 MB of activations")),
        "{text}"
    );
}
