//! Every input that ever crashed a fuzz target (`scripts/fuzz.sh`) runs here
//! through the same path as that target: a model as the `analyze` target
//! runs it (read, analyse with and without a binding, render both
//! formats), a network description or a layer request as
//! `netdesc_structured` and `layer_args` do. Each must finish without a
//! panic; reading or analysis may reject it.

use std::path::Path;

use nncost_core::{analyze, AnalysisOptions};
use nncost_render::{ModelInfo, TableOptions};

/// Analyses `graph` as the targets do and, if the analysis succeeds,
/// renders the report as JSON and as a table, which must both be made.
fn analyse_and_render(graph: &nncost_core::Graph, options: &AnalysisOptions, path: &Path) {
    if let Ok(report) = analyze(graph, options) {
        let info = ModelInfo::default();
        assert!(!nncost_render::render_json(&report, &info).is_empty());
        let table = nncost_render::render_table(&report, &info, TableOptions::default());
        assert!(table.contains("MACs"), "{}", path.display());
    }
}

#[test]
fn fuzz_crashes_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut ran = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/fuzz") {
        let path = entry.expect("directory entry").path();
        let bytes = std::fs::read(&path).expect("readable input");
        ran += 1;
        let Ok(model) = nncost_onnx::read_bytes(bytes::Bytes::from(bytes)) else {
            continue;
        };
        let bound = AnalysisOptions {
            dims: vec![("batch".into(), 2)],
            ..AnalysisOptions::default()
        };
        for options in [AnalysisOptions::default(), bound] {
            analyse_and_render(&model.graph, &options, &path);
        }
    }
    assert!(ran > 0, "no regression inputs found in {}", dir.display());
}

/// Every network description that ever crashed, hung or exhausted memory
/// under `netdesc_structured` (the text its generator printed) runs here
/// as that target runs it: read, analysed with a binding, rendered in both
/// formats. Any may be refused, with an error of one line.
#[test]
fn generated_descriptions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz_netdesc");
    let mut ran = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/fuzz_netdesc") {
        let path = entry.expect("directory entry").path();
        let text = std::fs::read_to_string(&path).expect("readable text");
        ran += 1;
        let graph = match nncost_netdesc::read_str(&text, "fuzz.nn") {
            Ok(graph) => graph,
            Err(e) => {
                assert!(!e.to_string().contains('\n'), "{}: {e}", path.display());
                continue;
            }
        };
        let bound = AnalysisOptions {
            dims: vec![("batch".into(), 2)],
            ..AnalysisOptions::default()
        };
        analyse_and_render(&graph, &bound, &path);
    }
    assert!(ran > 0, "no regression inputs found in {}", dir.display());
}

/// Every layer request that ever crashed `layer_args` runs here as that
/// target runs it: the layer made from its statement, counted on the
/// input, explained and rendered as text and as JSON. A request is a file
/// of three lines: the statement (`gru 10`), the input shape, and the
/// flags among `batch` and `channels-last`. Two inputs of hundreds of
/// thousands of axes, and two convolutions with the pooling's overflow,
/// are generated here rather than stored.
#[test]
fn generated_layer_requests_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz_layer");
    let mut requests = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/fuzz_layer") {
        let path = entry.expect("directory entry").path();
        let text = std::fs::read_to_string(&path).expect("readable text");
        let lines: Vec<&str> = text.lines().collect();
        let [statement, input, flags] = lines[..] else {
            panic!("{}: not three lines", path.display());
        };
        requests.push((statement.to_string(), input.to_string(), flags.to_string()));
    }
    assert!(
        !requests.is_empty(),
        "no regression inputs found in {}",
        dir.display()
    );
    // 768 windows on each of 190,688 axes, once all worked out before
    // their combinations were counted: gigabytes.
    let flags = "batch channels-last".to_string();
    requests.push((
        "adaptive-avgpool 768".into(),
        format!("3{}", "x1".repeat(190_688)),
        flags.clone(),
    ));
    // The same overflow as the pooling's padding, in the extent and the
    // padded size a convolution rounding up works out before the engine.
    for statement in [
        "conv 1 k=4611686018427387904 d=4 round=up",
        "conv 1 k=3 p=4611686018427387904 round=up",
    ] {
        requests.push((statement.into(), "3x8x8".into(), String::new()));
    }
    // A Resize's scales past what the engine reads: each of 256,045 axes a
    // symbol of its own, minutes.
    requests.push((
        "upsample 2".into(),
        format!("3{}", "x2".repeat(256_045)),
        flags,
    ));
    for (statement, input, flags) in requests {
        let one_line = |e: &dyn std::fmt::Display| {
            let message = e.to_string();
            assert!(!message.contains('\n'), "{statement}: {message}");
        };
        let made = match nncost_netdesc::layer(&statement) {
            Ok(made) => made,
            Err(e) => {
                one_line(&e);
                continue;
            }
        };
        let input = match nncost_load::layer::parse_dims(&input) {
            Ok(input) => input,
            Err(e) => {
                one_line(&e);
                continue;
            }
        };
        let flags: Vec<&str> = flags.split_whitespace().collect();
        for json in [false, true] {
            let request = nncost_load::layer::LayerRequest {
                input: input.clone(),
                batch: flags.contains(&"batch"),
                channels_last: flags.contains(&"channels-last"),
                explain: true,
                json,
            };
            if let Err(e) = nncost_load::layer::run(made.layer.as_ref(), &request) {
                one_line(&e);
            }
        }
    }
}
