//! `nncost layer …` and `nncost NETWORK.nn` as a user meets them: the JSON
//! object, the explanation's numbers against the engine's, dispatch of
//! network descriptions by extension or content, and errors that point at
//! a line and column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn json(args: &[&str]) -> Value {
    let o = nncost(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("valid JSON")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nncost-calc-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
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
fn layer_json_has_shape_params_macs_flops() {
    let doc = json(&[
        "layer",
        "conv",
        "--input",
        "3x224x224",
        "--out-channels",
        "64",
        "--kernel",
        "3",
        "--padding",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(doc["schema"], "nncost.layer");
    assert_eq!(doc["output_shape"], serde_json::json!([64, 224, 224]));
    assert_eq!(doc["params"], 1_792);
    assert_eq!(doc["macs"], 86_704_128u64);
    assert_eq!(doc["flops"], 173_408_256u64);
    assert_eq!(doc["bias"]["params_without"], 1_728);
    assert_eq!(doc["bias"]["flops_without"], 170_196_992u64);
    assert!(doc.get("explanation").is_none());
    assert_eq!(doc["nodes"][0]["op_type"], "Conv");
}

/// Every step of the working ends in the engine's number; the params, MACs
/// and FLOPs steps are the report's.
#[test]
fn explanation_numbers_are_the_engine_numbers() {
    let cases: &[&[&str]] = &[
        &[
            "conv",
            "--input",
            "3x224x224",
            "--out-channels",
            "64",
            "--kernel",
            "3",
            "--stride",
            "2",
            "--round",
            "up",
        ],
        &[
            "linear",
            "--input",
            "197x768",
            "--out-features",
            "3072",
            "--no-bias",
        ],
        &["attention", "--input", "197x768", "--heads", "12"],
        &[
            "attention",
            "--input",
            "7x8",
            "--heads",
            "2",
            "--window",
            "4",
            "--rotary",
        ],
        &["batchnorm", "--input", "64x56x56"],
        &[
            "maxpool",
            "--input",
            "8x5x5",
            "--kernel",
            "2",
            "--stride",
            "2",
            "--padding",
            "1",
            "--ceil-mode",
        ],
    ];
    for case in cases {
        let mut args = vec!["layer"];
        args.extend_from_slice(case);
        args.extend(["--format", "json", "--explain"]);
        let doc = json(&args);
        let mut steps = 0;
        for section in doc["explanation"].as_array().expect("explanation") {
            for step in section["steps"].as_array().unwrap() {
                let value = step["value"].as_u64().unwrap();
                let working = step["working"].as_str().unwrap();
                let shown: String = working.rsplit(" = ").next().unwrap().replace(',', "");
                assert_eq!(shown, value.to_string(), "{working}");
                let label = step["label"].as_str().unwrap();
                let expected = match label {
                    "params" => doc["params"].as_u64(),
                    "MACs" => doc["macs"].as_u64(),
                    "FLOPs" => doc["flops"].as_u64(),
                    "buffers" => doc["buffers"].as_u64(),
                    _ => None,
                };
                if let Some(e) = expected {
                    assert_eq!(value, e, "{case:?}: {label}");
                }
                steps += 1;
            }
        }
        assert!(steps >= 3, "{case:?}");
    }
}

#[test]
fn layer_text_states_both_article_formulas() {
    let o = nncost(&[
        "layer",
        "linear",
        "--input",
        "512",
        "--out-features",
        "1000",
    ]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("params   513,000    512,000 without bias"),
        "{text}"
    );
    assert!(
        text.contains(
            "MACs     512,000    512.00 K · the article's FLOPs counting multiplications only"
        ),
        "{text}"
    );
    assert!(text.contains("1,024,000  1.02 M · the article's FLOPs with additions and bias (1,023,000 without bias)"), "{text}");
}

#[test]
fn activations_by_name_and_onnx_name() {
    for name in ["relu", "Relu", "ReLU"] {
        let doc = json(&["layer", name, "--input", "10x10", "--format", "json"]);
        assert_eq!(doc["flops"], 100);
    }
    let doc = json(&[
        "layer", "softmax", "--input", "4x10", "--axis", "0", "--format", "json",
    ]);
    assert_eq!(doc["flops"], 10 * (5 * 4 - 2));
}

#[test]
fn layer_errors_exit_2_with_one_line() {
    assert_bad_input(
        &nncost(&[
            "layer",
            "conv",
            "--input",
            "3x4x4",
            "--out-channels",
            "8",
            "--kernel",
            "7",
        ]),
        "layer conv on 3x4x4: window of extent 7 does not fit input size 4",
    );
    assert_bad_input(
        &nncost(&[
            "layer",
            "conv",
            "--input",
            "3x8x8",
            "--out-channels",
            "8",
            "--kernel",
            "3",
            "--groups",
            "2",
        ]),
        "input channels (3) must be divisible by groups (2)",
    );
    assert_bad_input(
        &nncost(&["layer", "frobnicate", "--input", "3"]),
        "unknown layer kind; kinds: conv",
    );
    assert_bad_input(
        &nncost(&["layer", "attention", "--input", "10x768", "--heads", "5"]),
        "width 768 is not divisible by 5 heads",
    );
    // Usage errors come from the argument parser, also with exit code 2.
    assert_eq!(
        nncost(&["layer", "conv", "--input", "3x8x8"]).status.code(),
        Some(2)
    );
    assert_eq!(
        nncost(&["layer", "relu", "--input", "3x"]).status.code(),
        Some(2)
    );
    assert_eq!(
        nncost(&["layer", "relu", "--input", "3", "--bogus"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn network_description_gives_the_same_report_as_onnx() {
    let nn = root().join("examples/resnet18.nn");
    let doc = json(&[nn.to_str().unwrap(), "--format", "json", "--dim", "batch=1"]);
    assert_eq!(doc["schema"], "nncost.report");
    assert_eq!(doc["model"]["format"], "nn");
    assert_eq!(doc["totals"]["params"], 11_689_512);
    assert_eq!(doc["totals"]["buffers"], 9_600);
    assert_eq!(doc["totals"]["macs"], 1_814_073_344u64);
    assert_eq!(
        doc["inputs"][0]["shape"],
        serde_json::json!([1, 3, 224, 224])
    );
    let free = json(&[nn.to_str().unwrap(), "--format", "json"]);
    assert_eq!(free["totals"]["macs"]["expression"], "1814073344*batch");
    let table = stdout(&nncost(&[
        nn.to_str().unwrap(),
        "--by-op",
        "--exact",
        "--dim",
        "batch=1",
    ]));
    let conv = table
        .lines()
        .find(|l| l.starts_with("Conv "))
        .expect("a Conv row");
    assert!(
        conv.contains(" 20 "),
        "ResNet-18 has 20 convolutions: {conv}"
    );
    // A whole-input override reshapes every layer, as for the ONNX export.
    let onnx = root().join("tests/fixtures/torchvision/resnet18.onnx");
    let at_112 = |path: &Path| {
        json(&[
            path.to_str().unwrap(),
            "--format",
            "json",
            "--input",
            "input=1x3x112x112",
        ])["totals"]["macs"]
            .clone()
    };
    assert_eq!(at_112(&nn), at_112(&onnx));
    assert_eq!(at_112(&nn), 485_359_616u64);
}

#[test]
fn network_descriptions_are_recognised_by_content_too() {
    let dir = scratch("sniff");
    let text = "# tiny\ninput 3x8x8\nconv 4 k=3; relu\n";
    for name in ["tiny.txt", "tiny"] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let doc = json(&[
            path.to_str().unwrap(),
            "--format",
            "json",
            "--dim",
            "batch=1",
        ]);
        assert_eq!(doc["totals"]["params"], 4 * 27 + 4);
    }
    // An .onnx file that is text stays an ONNX error.
    let onnx = dir.join("tiny.onnx");
    std::fs::write(&onnx, text).unwrap();
    assert_bad_input(&nncost(&[onnx.to_str().unwrap()]), "tiny.onnx");
}

#[test]
fn network_errors_point_at_line_and_column() {
    let dir = scratch("errors");
    let write = |name: &str, text: &str| -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let bad_option = write("a.nn", "input 3x32x32\nconv 8 k=3\nmaxpool 2 stide=2\n");
    assert_bad_input(
        &nncost(&[&bad_option]),
        &format!("{bad_option}:3:11: maxpool: unknown option 'stide'"),
    );
    let misfit = write("b.nn", "input 3x8x8\nconv 8 k=3\nconv 8 k=7\n");
    assert_bad_input(
        &nncost(&[&misfit]),
        &format!("{misfit}:3:1: conv on 8x6x6:"),
    );
    let unclosed = write("c.nn", "input 3x8x8\nresidual\n  conv 3 k=1\n");
    assert_bad_input(
        &nncost(&[&unclosed]),
        &format!("{unclosed}:2:1: 'residual' is not closed"),
    );
    let in_def = write(
        "d.nn",
        "input 3x8x8\ndef b c\n  conv $c k=3 g=2\nend\nb 8\n",
    );
    assert_bad_input(
        &nncost(&[&in_def]),
        &format!("{in_def}:3:3: conv on 3x8x8: input channels (3) must be divisible by groups (2) (in 'b' called at 5:1)"),
    );
    let missing = dir.join("none.nn");
    assert_bad_input(
        &nncost(&[missing.to_str().unwrap()]),
        "none.nn: cannot read",
    );
    let binary = write("e.nn", "");
    std::fs::write(&binary, b"\xff\xfe\x00input").unwrap();
    assert_bad_input(&nncost(&[&binary]), "not UTF-8");
}

/// The README's session with `examples/resnet18.nn` is real output: every
/// line it shows (rows elided with `…`) is a line of the report, in order.
#[test]
fn readme_network_session_is_real() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let command = "$ nncost examples/resnet18.nn --dim batch=1\n";
    let start = readme.find(command).expect("the session in README.md") + command.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    let o = nncost(&[
        root().join("examples/resnet18.nn").to_str().unwrap(),
        "--dim",
        "batch=1",
    ]);
    let actual = stdout(&o).replace(
        root().join("examples/resnet18.nn").to_str().unwrap(),
        "examples/resnet18.nn",
    );
    let mut lines = actual.lines();
    for line in shown.lines().filter(|l| *l != "…") {
        assert!(
            lines.any(|a| a == line),
            "not in the report (in order): {line}"
        );
    }
}

/// The README's network example is a real file that counts.
#[test]
fn readme_examples_exist() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for example in ["examples/resnet18.nn", "docs/netdesc.md"] {
        assert!(readme.contains(example), "README mentions {example}");
        assert!(Path::new(&root().join(example)).exists(), "{example}");
    }
}

/// A shape of 32,769 axes is one long line, not a crash in the renderer
/// (whose padding once went through `format!`'s 16-bit width).
#[test]
fn very_long_shapes_render() {
    let shape = vec!["1"; 32_769].join("x");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_nncost"))
        .args(["layer", "relu", "--input", &shape])
        .output()
        .expect("nncost runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out
        .lines()
        .any(|l| l.starts_with("output   ") && l.len() > 65_536));
}
