//! Memory and the roofline on real graphs, against values worked by hand:
//! a small residual network's live bytes step by step, the precision
//! change of `--dtype`, an embedding lookup's traffic, and ResNet-50's
//! least time on an H100.

use std::path::Path;

use nncost_core::hardware::{builtin_profiles, Precision};
use nncost_core::memory::{analyze_memory, MemoryOptions};
use nncost_core::roofline::{roofline, Bound};
use nncost_core::{analyze, AnalysisOptions, DType, Poly, Report};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn options(dims: &[(&str, i64)]) -> AnalysisOptions {
    AnalysisOptions {
        dims: dims.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        ..AnalysisOptions::default()
    }
}

fn netdesc(text: &str, dims: &[(&str, i64)]) -> Report {
    let graph = nncost_netdesc::read_str(text, "residual.nn").expect("a valid description");
    analyze(&graph, &options(dims)).expect("analysed")
}

fn onnx(path: &str, dims: &[(&str, i64)]) -> Report {
    let model = nncost_onnx::read_file(&root().join(path)).expect("readable");
    analyze(&model.graph, &options(dims)).expect("analysed")
}

fn constant(p: &Poly) -> i128 {
    p.as_constant()
        .unwrap_or_else(|| panic!("{p} is not a number"))
}

/// conv, then a residual block (conv, relu, conv, + the block's input),
/// relu and flatten, on 4×8×8 float32 activations: 1,024 bytes each at
/// batch 1.
const RESIDUAL: &str = "input 4x8x8
conv 4 k=3 p=1 bias=false
residual
  conv 4 k=3 p=1 bias=false; relu
  conv 4 k=3 p=1 bias=false
end
relu
flatten
";

/// Step by step, in the file's order (x the input, each value 1,024 B):
/// conv1 x→a: x + a = 2,048, then x is freed; conv2 a→b: a + b = 2,048 (a
/// is still read by the add); relu1 b→c: a + b + c = 3,072, then b is
/// freed; conv3 c→d: a + c + d = 3,072, then c; add a, d→e: a + d + e =
/// 3,072, then a and d; relu2 e→f: 2,048, then e; flatten is a view of f,
/// the output, held: 1,024. The peak, 3,072 B, is first reached at relu1.
#[test]
fn residual_network_peak_by_hand() {
    let r = netdesc(RESIDUAL, &[("batch", 1)]);
    let m = analyze_memory(&r, &MemoryOptions::default()).unwrap();
    let names: Vec<&str> = r.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["conv1", "conv2", "relu1", "conv3", "add1", "relu2", "flatten1"]
    );
    assert_eq!(
        m.file_order.live_at_one,
        [1024.0, 2048.0, 2048.0, 3072.0, 3072.0, 3072.0, 2048.0, 1024.0]
    );
    assert_eq!(constant(&m.file_order.peak), 3072);
    let at: Vec<Option<usize>> = m.file_order.peak_at.iter().map(|(i, _)| *i).collect();
    assert_eq!(at, [Some(2)], "the peak is first reached at relu1");
    // A chain with one skip has no better order, and the search proves it.
    assert_eq!(constant(&m.least_order.peak), 3072);
    assert!(m.least_order.proven_least);
    // Traffic: a conv reads its input (1,024 B) and weights (4·4·3·3·4 =
    // 576 B) and writes 1,024 B; the add reads two and writes one; the
    // flatten moves nothing and allocates nothing.
    let moved: Vec<i128> = m
        .nodes
        .iter()
        .map(|n| constant(&n.traffic.total().unwrap()))
        .collect();
    assert_eq!(moved, [2624, 2624, 2048, 2624, 3072, 2048, 0]);
    assert_eq!(constant(m.nodes[6].output_bytes.as_ref().unwrap()), 0);
    assert_eq!(m.param_bytes, 3 * 576);
    assert_eq!(
        (constant(&m.input_bytes), constant(&m.output_bytes)),
        (1024, 1024)
    );
}

/// Unbound, the peak is the same expression in the batch; stored in
/// float16, every activation and weight takes half.
#[test]
fn peak_is_symbolic_and_follows_the_dtype() {
    let r = netdesc(RESIDUAL, &[]);
    let m = analyze_memory(&r, &MemoryOptions::default()).unwrap();
    assert_eq!(m.file_order.peak.to_string(), "3072*batch");
    let half = analyze_memory(
        &r,
        &MemoryOptions {
            float_dtype: Some(DType::F16),
            ..MemoryOptions::default()
        },
    )
    .unwrap();
    assert_eq!(half.file_order.peak.to_string(), "1536*batch");
    assert_eq!(half.param_bytes, 3 * 288);
    assert_eq!(half.params_by_dtype[0].dtype, DType::F16);
}

/// An embedding lookup reads the rows it gathers, not the table: the
/// word embedding of this small BERT (1,000 × 64) read for 128 tokens
/// moves 64 × 4 bytes of weights and 8 bytes of token id per token.
#[test]
fn gather_reads_the_rows_it_takes() {
    let r = onnx(
        "tests/fixtures/models/bert_tiny_classic_op17.onnx",
        &[("batch", 1), ("seq", 128)],
    );
    let m = analyze_memory(&r, &MemoryOptions::default()).unwrap();
    let (i, n) = r
        .nodes
        .iter()
        .enumerate()
        .find(|(_, n)| n.op_type == "Gather" && n.inputs[0].constant && n.params > 0)
        .expect("an embedding lookup");
    let table = n.inputs[0].shape.as_ref().unwrap();
    assert_eq!(table.len(), 2);
    let width = table[1].poly().and_then(Poly::as_constant).unwrap();
    assert_eq!(width, 64);
    let rows = table[0].poly().and_then(Poly::as_constant).unwrap();
    assert_eq!(rows, 1000, "the vocabulary of this small BERT");
    let t = &m.nodes[i].traffic;
    assert_eq!(constant(&t.weights_read), 128 * 64 * 4);
    assert_eq!(constant(&t.activations_read), 128 * 8);
    assert_eq!(constant(&t.written), 128 * 64 * 4);
}

/// ResNet-50 at batch 1 on an H100 SXM at bf16: each node's least time is
/// max(FLOPs / 989.4 T, bytes / 3.35 TB/s), checked by hand for the stem
/// convolution; the total is their sum.
#[test]
fn resnet50_on_h100_bf16() {
    let r = onnx("tests/fixtures/torchvision/resnet50.onnx", &[("batch", 1)]);
    let m = analyze_memory(
        &r,
        &MemoryOptions {
            float_dtype: Some(DType::BF16),
            ..MemoryOptions::default()
        },
    )
    .unwrap();
    let h100 = builtin_profiles()
        .into_iter()
        .find(|p| p.id == "h100-sxm")
        .unwrap();
    let rl = roofline(&r, &m, &h100, Precision::Bf16).unwrap();
    // The stem: 3→64 channels, 7×7, stride 2, on 224×224: 118,013,952 MACs
    // and, with its bias, 236,027,904 FLOPs. It reads the input (3·224·224
    // ·2 B = 301,056) and its weights (64·3·7·7 + 64 = 9,472 values, 18,944
    // B) and writes 64·112·112·2 = 1,605,632 B: 1,925,632 B in all.
    let stem = &r.nodes[0];
    assert_eq!(stem.op_type, "Conv");
    assert_eq!(constant(stem.flops().unwrap()), 236_027_904);
    assert_eq!(constant(&m.nodes[0].traffic.total().unwrap()), 1_925_632);
    let compute: f64 = 236_027_904.0 / 989.4e12;
    let memory = 1_925_632.0 / 3.35e12;
    let t = &rl.nodes[0];
    assert!((t.seconds - compute.max(memory)).abs() < 1e-15);
    assert_eq!(
        t.bound,
        Bound::Memory,
        "{compute} s of compute, {memory} s of memory"
    );
    let sum: f64 = rl.nodes.iter().map(|t| t.seconds).sum();
    assert!((rl.seconds - sum).abs() < 1e-12);
    assert!((rl.compute_bound_seconds + rl.memory_bound_seconds - rl.seconds).abs() < 1e-12);
    // The weights at bf16: 2 bytes for each of the 25,530,472 params of
    // this export (BatchNorm folded into the convolutions).
    assert_eq!(r.totals.params, 25_530_472);
    assert_eq!(m.param_bytes, 2 * 25_530_472);
}

/// One decode step of GPT-2 small (124,439,808 parameters, random weights,
/// `scripts/make_gpt2_decode_fixture.py`) at batch 1 with one cached
/// token, on an H100 SXM at fp32: every node is memory-bound, so the least
/// time is the bytes moved over the bandwidth, and those are the weights
/// (each read once; the embeddings only the rows looked up) plus a little
/// over 5 MB of activations and cache.
#[test]
fn gpt2_decode_is_memory_bound_at_the_weights_over_bandwidth() {
    let r = onnx(
        "tests/fixtures/models/gpt2_decode.onnx",
        &[("batch", 1), ("past", 1)],
    );
    assert!(r.is_complete());
    let m = analyze_memory(&r, &MemoryOptions::default()).unwrap();
    let h100 = builtin_profiles()
        .into_iter()
        .find(|p| p.id == "h100-sxm")
        .unwrap();
    let rl = roofline(&r, &m, &h100, Precision::Fp32).unwrap();
    assert!(rl.nodes.iter().all(|t| t.bound == Bound::Memory));
    assert_eq!(rl.compute_bound_seconds, 0.0);
    let t = m.traffic().unwrap();
    let moved = constant(&t.total().unwrap()) as f64;
    assert!((rl.seconds - moved / 3.35e12).abs() < 1e-12);
    // The weights read: all but the position table (1,024 × 768, of which
    // one row is read) and the token table (50,257 × 768, one row), whose
    // transposed copy feeds the output layer: 124,439,808 − 786,432 + 2 ×
    // 768 elements of 4 bytes; and the graph's scalars and shape
    // constants (GELU's 0.044715, the mask's −3.4e38, Reshape targets),
    // a few kilobytes.
    let weights = 4 * (124_439_808 - 786_432 + 2 * 768);
    let constants = constant(&t.weights_read) - weights;
    assert!(
        (0..10_000).contains(&constants),
        "{constants} bytes of constants"
    );
    // Within 1% of the model's weight bytes over the bandwidth.
    let weight_time = 4.0 * 124_439_808.0 / 3.35e12;
    let excess = rl.seconds / weight_time - 1.0;
    assert!(
        excess.abs() < 0.01,
        "{:.2} µs against {:.2} µs",
        rl.seconds * 1e6,
        weight_time * 1e6
    );
}

/// The ResNet-50 table of `docs/memory.md` is the tool's own output
/// (`NNCOST_UPDATE_DOCS=1` rewrites it).
#[test]
fn docs_resnet50_table_is_current() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nncost"))
        .current_dir(root())
        .args([
            "tests/fixtures/torchvision/resnet50.onnx",
            "--dim",
            "batch=1",
            "--hardware",
            "h100",
            "--dtype",
            "bf16",
            "--format",
            "markdown",
        ])
        .output()
        .expect("nncost runs");
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let path = root().join("docs/memory.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (open, close) = ("<!-- resnet50-h100 -->\n", "<!-- /resnet50-h100 -->");
    let start = doc.find(open).expect("start marker") + open.len();
    let end = doc.find(close).expect("end marker");
    let fresh = format!("{}{table}\n{}", &doc[..start], &doc[end..]);
    if std::env::var_os("NNCOST_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    } else {
        assert!(
            doc == fresh,
            "docs/memory.md is stale: run NNCOST_UPDATE_DOCS=1 cargo test --test memory"
        );
    }
}
