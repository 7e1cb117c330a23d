//! The page's reading and analysis, natively: what a browser reads through
//! byte ranges gives the report the command line gives for the whole file.

use std::path::{Path, PathBuf};

use nncost_core::AnalysisOptions;
use nncost_onnx::proto::{attribute_type, ModelProto, TensorProto};
use nncost_render::ModelInfo;
use nncost_web::page::{Choices, Model};
use nncost_web::read::{Reading, Source};
use nncost_web::scan::{scan_bytes, ScanStats, DROP_ABOVE};
use prost::Message;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bytes_of(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Bytes per element of an ONNX data type, for the ones weights use.
fn width(code: i32) -> Option<usize> {
    Some(match code {
        2 | 3 | 9 => 1,
        4 | 5 | 10 | 16 => 2,
        1 | 6 | 12 => 4,
        7 | 11 | 13 => 8,
        _ => return None,
    })
}

/// Whether a tensor's elements are in the file.
fn has_data(t: &TensorProto) -> bool {
    t.raw_data.is_some()
        || !t.float_data.is_empty()
        || !t.int32_data.is_empty()
        || !t.int64_data.is_empty()
        || !t.double_data.is_empty()
        || !t.uint64_data.is_empty()
}

/// Embeds every initializer a fixture strips (their data points to an
/// external file that is not there), in every graph and subgraph: floats
/// alternately as `raw_data` and as packed `float_data`, so that both
/// forms of a payload are walked.
fn fill(graph: &mut nncost_onnx::proto::GraphProto, turn: &mut usize) {
    for t in &mut graph.initializer {
        if has_data(t) {
            continue;
        }
        t.data_location = 0;
        t.external_data.clear();
        let Some(w) = width(t.data_type) else {
            continue;
        };
        let n: usize = t.dims.iter().map(|&d| d as usize).product();
        *turn += 1;
        if t.data_type == 1 && turn.is_multiple_of(2) {
            t.float_data = vec![0.25; n];
        } else {
            t.raw_data = Some(vec![0x3c; n * w].into());
        }
    }
    for node in &mut graph.node {
        for a in &mut node.attribute {
            if let Some(g) = a.g.as_deref_mut() {
                fill(g, turn);
            }
            for g in &mut a.graphs {
                fill(g, turn);
            }
        }
    }
}

/// A stripped fixture with its weights put back.
fn with_weights(rel: &str) -> Vec<u8> {
    let mut m = ModelProto::decode(&bytes_of(rel)[..]).unwrap();
    let mut turn = 0;
    fill(m.graph.as_mut().unwrap(), &mut turn);
    assert!(turn > 0, "{rel}: nothing to fill");
    m.encode_to_vec()
}

/// The JSON report of a model in memory, with memory (weight bytes by
/// dtype) so that a lost dtype or dim would show.
fn json_report(bytes: Vec<u8>, name: &str) -> String {
    let (graph, info) = nncost_load::read_bytes(bytes, name).unwrap();
    let mut report = nncost_core::analyze(&graph, &AnalysisOptions::default()).unwrap();
    let memory = nncost_load::Request {
        memory: true,
        ..Default::default()
    };
    nncost_load::attach(&mut report, &memory).unwrap();
    nncost_render::render_json(&report, &info)
}

#[test]
fn models_without_their_large_payloads_give_the_same_report() {
    for rel in [
        "examples/resnet18.onnx",
        "tests/fixtures/models/bert_tiny_classic_op17.onnx",
        "tests/fixtures/models/gpt2_tiny_dynamo_op18.onnx",
        // Loops and Ifs with initializers in their bodies.
        "tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx",
    ] {
        let full = with_weights(rel);
        let (
            compact,
            ScanStats {
                read,
                reads,
                dropped,
            },
        ) = scan_bytes(&full).unwrap();
        assert_eq!(
            json_report(compact.clone(), "m.onnx"),
            json_report(full.clone(), "m.onnx"),
            "{rel}"
        );
        // What was read plus what was jumped over is the file, and the
        // rebuilt model is the file without what was dropped (lengths of
        // enclosing messages shrink by a few bytes more).
        assert!(read <= full.len() as u64, "{rel}");
        assert!(
            dropped > 0 && read + dropped >= full.len() as u64 / 2,
            "{rel}"
        );
        assert!(compact.len() as u64 <= full.len() as u64 - dropped, "{rel}");
        eprintln!(
            "{rel}: {} bytes, {read} read in {reads} reads, {dropped} left out, {} rebuilt",
            full.len(),
            compact.len()
        );
    }
}

#[test]
fn resnet18_with_weights_is_read_in_a_few_small_reads() {
    let full = with_weights("examples/resnet18.onnx");
    let (
        compact,
        ScanStats {
            read,
            reads,
            dropped,
        },
    ) = scan_bytes(&full).unwrap();
    // 46.7 MB of weights: every conv and linear weight and batch-norm
    // vector above DROP_ABOVE bytes is jumped over.
    assert!(full.len() > 46_000_000, "{}", full.len());
    assert!(read < 2_000_000, "read {read}");
    assert!(reads < 100, "{reads} reads");
    assert!(dropped > 45_000_000);
    assert!(compact.len() < 200_000, "{}", compact.len());
}

#[test]
fn a_model_without_large_payloads_comes_back_byte_for_byte() {
    for rel in [
        "examples/resnet18.onnx",
        "tests/fixtures/models/llama_1b_dynamo.onnx",
        "tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx",
    ] {
        let file = bytes_of(rel);
        let (compact, stats) = scan_bytes(&file).unwrap();
        assert_eq!(stats.dropped, 0, "{rel}");
        assert!(compact == file, "{rel}: the walk changed the file");
        assert_eq!(stats.read, file.len() as u64, "{rel}: each byte read once");
    }
}

#[test]
fn damaged_files_are_refused_or_read_never_a_panic() {
    let file = bytes_of("examples/resnet18.onnx");
    // A small deterministic generator: the same damage on every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..3000 {
        let mut damaged = file.clone();
        for _ in 0..1 + next(4) {
            let at = next(damaged.len());
            damaged[at] = next(256) as u8;
        }
        damaged.truncate(damaged.len() - next(64));
        if let Ok((compact, _)) = scan_bytes(&damaged) {
            // What was walked is read as ONNX, to a model or an error.
            let _ = nncost_load::read_bytes(compact, "damaged.onnx");
        }
    }
}

#[test]
fn small_payloads_and_attribute_tensors_are_kept_whole() {
    use nncost_onnx::proto::{AttributeProto, GraphProto, NodeProto};
    // A Constant holding a large tensor (tree ensembles read attribute
    // tensors of any size) and a large and a small initializer.
    let big = DROP_ABOVE as usize + 1;
    let tensor = |name: &str, n: usize| TensorProto {
        dims: vec![n as i64],
        data_type: 2,
        name: name.to_string().into_bytes().into(),
        raw_data: Some(vec![7; n].into()),
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        graph: Some(GraphProto {
            node: vec![NodeProto {
                output: vec!["c".into()],
                op_type: "Constant".into(),
                attribute: vec![AttributeProto {
                    name: "value".into(),
                    r#type: attribute_type::TENSOR,
                    t: Some(Box::new(tensor("c", big))),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            initializer: vec![tensor("large", big), tensor("small", DROP_ABOVE as usize)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let full = model.encode_to_vec();
    let (compact, stats) = scan_bytes(&full).unwrap();
    let dropped = stats.dropped;
    assert_eq!(dropped, big as u64);
    let back = ModelProto::decode(&compact[..]).unwrap();
    let g = back.graph.unwrap();
    assert_eq!(g.initializer[0].raw_data, None);
    assert_eq!(g.initializer[0].dims, vec![big as i64]);
    assert_eq!(
        g.initializer[1].raw_data.as_ref().map(|b| b.len()),
        Some(DROP_ABOVE as usize)
    );
    let t = g.node[0].attribute[0].t.as_ref().unwrap();
    assert_eq!(t.raw_data.as_ref().map(|b| b.len()), Some(big));
}

#[test]
fn broken_files_are_refused_in_one_line() {
    let full = bytes_of("examples/resnet18.onnx");
    let cut = &full[..full.len() - 100];
    let e = scan_bytes(cut).unwrap_err().to_string();
    assert!(e.starts_with("not an ONNX model: "), "{e}");
    let e = scan_bytes(&[0x0f, 1, 2, 3]).unwrap_err().to_string();
    assert_eq!(e, "not an ONNX model: invalid wire type 7 at byte 0");
    assert!(scan_bytes(&[]).is_err());
    // Through the page's reading: the message names the file.
    let e = read_files(&[("cut.onnx", cut.to_vec())], None)
        .err()
        .unwrap();
    assert!(e.starts_with("cut.onnx: not an ONNX model"), "{e}");
    assert!(!e.contains('\n'));
}

/// Reads dropped files as the page does, feeding each range asked for.
fn read_files(
    files: &[(&str, Vec<u8>)],
    gguf_prefix: Option<u64>,
) -> Result<(Source, (u64, u64)), String> {
    let names = files.iter().map(|(n, _)| n.to_string()).collect();
    let sizes = files.iter().map(|(_, b)| b.len() as u64).collect();
    let mut r = match gguf_prefix {
        Some(p) => Reading::with_first_prefix(names, sizes, p),
        None => Reading::new(names, sizes),
    }
    .map_err(|e| e.to_string())?;
    while let Some(&need) = r.need().first() {
        let bytes = &files[need.file].1;
        let range = need.offset as usize..(need.offset + need.len) as usize;
        r.feed(need, bytes[range].to_vec())
            .map_err(|e| e.to_string())?;
    }
    let stats = r.stats();
    Ok((r.finish().map_err(|e| e.to_string())?, stats))
}

/// The page's HTML report against the command line's for the same model
/// (read whole by `nncost_load`, named as the page names it).
fn same_report(page: Source, expected: (nncost_core::Graph, ModelInfo), choices: &Choices) {
    let mut model = Model::new(page);
    let got = model.analyse(choices).unwrap();
    let (graph, info) = expected;
    let options = AnalysisOptions {
        dims: choices.dims.clone(),
        ..Default::default()
    };
    let mut report = nncost_core::analyze(&graph, &options).unwrap();
    let request = nncost_load::Request {
        memory: choices.memory,
        dtype: choices.dtype.clone(),
        hardware: choices.hardware.clone(),
        training: choices.training,
        frozen: Vec::new(),
        convention: choices.convention.clone(),
    };
    nncost_load::attach(&mut report, &request).unwrap();
    assert_eq!(got.html, nncost_render::render_html(&report, &info));
    assert_eq!(
        got.summary["totals"]["macs"],
        report.totals.cost.macs.to_string()
    );
}

fn choices(dims: &[(&str, i64)], convention: Option<&str>, decode: bool) -> Choices {
    Choices {
        dims: dims.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        convention: convention.map(String::from),
        decode,
        ..Choices::default()
    }
}

#[test]
fn an_onnx_file_gives_the_command_lines_report() {
    let bytes = bytes_of("examples/resnet18.onnx");
    let on_h100 = Choices {
        hardware: Some("h100".into()),
        dtype: Some("bf16".into()),
        training: true,
        ..choices(&[("batch", 1)], Some("torch"), false)
    };
    for c in [
        choices(&[], None, false),
        choices(&[("batch", 8)], Some("fvcore"), false),
        on_h100,
    ] {
        let (source, _) = read_files(&[("resnet18.onnx", bytes.clone())], None).unwrap();
        let expected = nncost_load::read_bytes(bytes.clone(), "resnet18.onnx").unwrap();
        same_report(source, expected, &c);
    }
    // The symbols the page offers to bind, from the model with nothing bound.
    let (source, _) = read_files(&[("resnet18.onnx", bytes)], None).unwrap();
    let got = Model::new(source)
        .analyse(&choices(&[("batch", 1)], None, false))
        .unwrap();
    assert_eq!(got.summary["symbols"][0]["name"], "batch");
    assert_eq!(got.summary["totals"]["macs"], "1814073344");
    assert_eq!(got.summary["totals"]["params"], 11_684_712);
}

#[test]
fn a_network_description_gives_the_command_lines_report() {
    let bytes = bytes_of("examples/resnet18.nn");
    let (source, _) = read_files(&[("resnet18.nn", bytes.clone())], None).unwrap();
    let expected = nncost_load::read_bytes(bytes, "resnet18.nn").unwrap();
    same_report(
        source,
        expected,
        &choices(&[("batch", 1)], Some("torch"), false),
    );
}

#[test]
fn a_config_gives_both_passes() {
    let path = root().join("tests/fixtures/llm/llama/config.json");
    for decode in [false, true] {
        let phase = if decode {
            nncost_llm::Phase::Decode
        } else {
            nncost_llm::Phase::Prefill
        };
        let (source, _) =
            read_files(&[("config.json", std::fs::read(&path).unwrap())], None).unwrap();
        let (graph, mut info) = nncost_load::read_path_with(
            &path,
            &nncost_load::ReadOptions {
                phase,
                ..Default::default()
            },
        )
        .unwrap();
        info.source = "config.json".into();
        same_report(source, (graph, info), &choices(&[], None, decode));
    }
}

#[test]
fn a_safetensors_file_with_its_config_reads_the_header_only() {
    let dir = root().join("tests/fixtures/llm/llama");
    let st = std::fs::read(dir.join("model.safetensors")).unwrap();
    let config = std::fs::read(dir.join("config.json")).unwrap();
    let header_len = 8 + u64::from_le_bytes(st[..8].try_into().unwrap());
    let (source, (read, _)) = read_files(
        &[
            ("model.safetensors", st.clone()),
            ("config.json", config.clone()),
        ],
        None,
    )
    .unwrap();
    assert_eq!(read, header_len + config.len() as u64);
    let (graph, mut info) = nncost_load::read_path(&dir.join("model.safetensors")).unwrap();
    info.source = "model.safetensors".into();
    assert!(info.facts.iter().any(|f| f.key == "checkpoint_check"));
    same_report(
        source,
        (graph, info),
        &choices(&[("batch", 1)], None, false),
    );
    // Without the config: the tensors alone, as the command line says.
    let (source, _) = read_files(&[("model.safetensors", st)], None).unwrap();
    let html = Model::new(source)
        .analyse(&Choices::default())
        .unwrap()
        .html;
    assert!(html.contains("no config.json beside the file: parameters only"));
}

#[test]
fn a_sharded_checkpoint_is_read_from_its_index_and_shards() {
    let dir = root().join("tests/fixtures/llm/llama_sharded");
    let names = [
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "config.json",
    ];
    // In any order: the index is what the report is about.
    let files: Vec<(&str, Vec<u8>)> = names
        .iter()
        .rev()
        .map(|n| (*n, std::fs::read(dir.join(n)).unwrap()))
        .collect();
    let (source, (read, _)) = read_files(&files, None).unwrap();
    let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    assert!(read * 10 < total, "read {read} of {total}");
    let (graph, mut info) = nncost_load::read_path(&dir.join(names[0])).unwrap();
    info.source = names[0].into();
    same_report(
        source,
        (graph, info),
        &choices(&[("batch", 1)], None, false),
    );
    // A shard missing: said, in one line.
    let without: Vec<_> = files
        .iter()
        .filter(|(n, _)| !n.starts_with("model-00002"))
        .cloned()
        .collect();
    let e = read_files(&without, None).err().unwrap();
    assert_eq!(
        e,
        "model.safetensors.index.json: shard 'model-00002-of-00002.safetensors' was not given: \
         drop the index with its shards (and config.json)"
    );
}

#[test]
fn a_gguf_header_is_read_in_growing_prefixes() {
    let path = root().join("tests/fixtures/llm/gguf/tiny_llama.gguf");
    let bytes = std::fs::read(&path).unwrap();
    let (source, (read, reads)) =
        read_files(&[("tiny_llama.gguf", bytes.clone())], Some(1000)).unwrap();
    assert!(reads >= 3, "{reads} reads");
    assert!(read < bytes.len() as u64, "read {read} of {}", bytes.len());
    let (graph, mut info) = nncost_load::read_path(&path).unwrap();
    info.source = "tiny_llama.gguf".into();
    same_report(source, (graph, info), &choices(&[("seq", 16)], None, false));
}

#[test]
fn small_external_tensors_are_read_from_the_data_file_dropped_with_the_model() {
    use nncost_onnx::proto::tensor_shape_proto::{dimension, Dimension};
    use nncost_onnx::proto::{
        type_proto, GraphProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
        TensorShapeProto, TypeProto, ValueInfoProto,
    };
    let dim = |v: dimension::Value| Dimension { value: Some(v) };
    let info = |name: &str, dims: Vec<Dimension>| ValueInfoProto {
        name: name.to_string().into_bytes().into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto { dim: dims }),
            })),
        }),
    };
    let entry = |k: &str, v: &str| StringStringEntryProto {
        key: k.to_string().into_bytes().into(),
        value: v.to_string().into_bytes().into(),
    };
    // Y = Reshape(X, shape) with the target shape [3, 4] held outside.
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: "".into(),
            version: 17,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                input: vec!["X".into(), "shape".into()],
                output: vec!["Y".into()],
                name: "reshape".into(),
                op_type: "Reshape".into(),
                ..Default::default()
            }],
            initializer: vec![TensorProto {
                dims: vec![2],
                data_type: 7,
                name: "shape".into(),
                data_location: 1,
                external_data: vec![entry("location", "m.data"), entry("offset", "8")],
                ..Default::default()
            }],
            input: vec![info("X", vec![dim(dimension::Value::DimValue(12))])],
            output: vec![info("Y", vec![])],
            ..Default::default()
        }),
        ..Default::default()
    };
    let onnx = model.encode_to_vec();
    let mut data = vec![0u8; 8];
    data.extend(3i64.to_le_bytes());
    data.extend(4i64.to_le_bytes());
    let dir = std::env::temp_dir().join(format!("nncost-web-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.onnx"), &onnx).unwrap();
    std::fs::write(dir.join("m.data"), &data).unwrap();
    let cli = nncost_onnx::read_file(&dir.join("m.onnx")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let shape = |g: &nncost_core::Graph| {
        let report = nncost_core::analyze(g, &AnalysisOptions::default()).unwrap();
        format!("{:?}", report.nodes[0].outputs[0].shape)
    };
    let with = |files: &[(&str, Vec<u8>)]| match read_files(files, None).unwrap().0 {
        Source::Graph(g) => shape(&g.0),
        _ => unreachable!(),
    };
    let known = with(&[("m.onnx", onnx.clone()), ("m.data", data)]);
    assert_eq!(known, shape(&cli.graph));
    assert!(known.contains('3') && known.contains('4'), "{known}");
    // Without the data file the target is unknown, as for a stripped model.
    assert_ne!(with(&[("m.onnx", onnx)]), known);
}

#[test]
fn the_calculator_prints_what_nncost_layer_prints() {
    use nncost_web::calc::{calculate, Form};
    let form = |statement: &str, input: &str| Form {
        statement: statement.into(),
        input: input.into(),
        ..Form::default()
    };
    // The snapshot of `nncost layer conv … --stride 2 --round up --no-bias --explain`.
    let snapshot =
        std::fs::read_to_string(root().join("tests/snapshots/conv_round_up.txt")).unwrap();
    let (command, want) = snapshot.split_once('\n').unwrap();
    assert!(command.contains("--round up --no-bias --explain"));
    let got = calculate(&form("conv 64 k=3 s=2 round=up bias=false", "3x224x224")).unwrap();
    assert_eq!(got, want);
    let got = calculate(&form("conv 64 k=3 p=1", "3x224x224")).unwrap();
    assert!(got.contains("params   1,792"), "{got}");
    assert!(got.contains("MACs     86,704,128"), "{got}");
    // Errors are one line: a rank, a misread layout, a bad option.
    let e = calculate(&form("conv2d 8 k=3", "3x224"))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "conv2d takes 2 spatial axes, but its input 3x224 has 1");
    let e = calculate(&form("conv 8 k=3", "1x3x224x224"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("layer conv on 1x3x224x224: ") && e.ends_with("or pass --batch"),
        "{e}"
    );
    let e = calculate(&form("conv 8 k=3 q=1", "3x8x8"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown option 'q'"), "{e}");
    let batch = Form {
        batch: true,
        ..form("conv 8 k=3", "1x3x8x8")
    };
    assert!(calculate(&batch).unwrap().contains("given as 1x3x8x8"));
}

#[test]
fn choices_arrive_as_json() {
    let c = Choices::from_json(
        r#"{"dims": {"batch": "8", "seq": 128}, "convention": "", "phase": "decode",
            "bound": "max", "memory": true, "hardware": "h100", "dtype": "bf16", "training": false}"#,
    )
    .unwrap();
    assert_eq!(c.dims, vec![("batch".into(), 8), ("seq".into(), 128)]);
    assert_eq!(c.convention, None);
    assert!(c.decode && c.bound_max && c.memory && !c.training);
    assert_eq!(c.hardware.as_deref(), Some("h100"));
    let e = Choices::from_json(r#"{"dims": {"batch": "x"}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "batch = \"x\": the value must be a non-negative integer"
    );
    let devices = nncost_web::page::devices();
    assert!(devices
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == "h100-sxm"));
}

#[test]
fn the_forms_kinds_come_from_the_description_table() {
    let kinds = nncost_web::calc::kinds();
    let conv = kinds
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "conv")
        .unwrap();
    assert_eq!(conv["positional"][0], "out_channels");
    assert!(conv["options"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == "round"));
    let softmax = kinds
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "softmax")
        .unwrap();
    assert_eq!(softmax["options"][0], "axis");
}
