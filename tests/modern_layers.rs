//! The layers of large language models and other modern networks, in the
//! calculator and in network descriptions: hand-worked counts, and PyTorch's
//! own figure where it has one.
//!
//! The PyTorch figures were computed with torch 2.15 and transformers 5.24
//! (`/work/pyenv`): parameters as `sum(p.numel() for p in m.parameters())`,
//! matrix-product FLOPs with `torch.utils.flop_counter.FlopCounterMode`
//! (2 per MAC).

use nncost_core::layers::{Embedding, Gate, GatedMlp, GroupNorm, Layer, LayerCost, RmsNorm};
use nncost_core::{analyze, AnalysisOptions, Report};

/// A network description counted at batch 1.
fn network(text: &str) -> Report {
    let graph = nncost_netdesc::read_str(text, "t.nn").unwrap_or_else(|e| panic!("{e}"));
    let options = AnalysisOptions {
        dims: vec![("batch".into(), 1)],
        ..AnalysisOptions::default()
    };
    analyze(&graph, &options).expect("analysed")
}

fn network_error(text: &str) -> String {
    nncost_netdesc::read_str(text, "t.nn")
        .expect_err("refused")
        .to_string()
}

/// Counts a layer and requires its working to give the engine's numbers.
fn counted(layer: &dyn Layer, input: &[i64]) -> LayerCost {
    let cost = layer
        .cost(input)
        .unwrap_or_else(|e| panic!("{} on {input:?}: {e}", layer.kind()));
    let e = layer.explain(&cost).expect("an explanation");
    assert!(
        e.disagreements().is_empty(),
        "{}: {:?}",
        layer.kind(),
        e.disagreements()
    );
    cost
}

#[test]
fn rmsnorm_llama() {
    // PyTorch: sum(p.numel()) of nn.RMSNorm(4096) = 4,096.
    let c = counted(&RmsNorm::new(), &[128, 4096]);
    assert_eq!(c.params, 4_096);
    assert_eq!(c.macs, 0);
    // 4n + 3 per row: 128·(4·4096 + 3).
    assert_eq!(c.flops, 2_097_536);
    // Over the last two axes: one row of n = 4·8.
    let c = counted(&RmsNorm::new().axis(-2), &[4, 8]);
    assert_eq!((c.params, c.flops), (32, 4 * 32 + 3));
}

#[test]
fn groupnorm() {
    // PyTorch: sum(p.numel()) of nn.GroupNorm(32, 256) = 512.
    let c = counted(&GroupNorm::new(32), &[256, 56, 56]);
    assert_eq!(c.params, 512);
    // n = 8·56·56 = 25,088 per group: 32·(5n + 3) + 2·256·56·56.
    assert_eq!(c.flops, 32 * (5 * 25_088 + 3) + 2 * 802_816);
    assert_eq!(c.flops, 5_619_808);
    let e = GroupNorm::new(3).cost(&[256, 4, 4]).unwrap_err();
    assert_eq!(e.to_string(), "256 channels do not divide into 3 groups");
}

#[test]
fn embedding_reads_token_ids() {
    // PyTorch: sum(p.numel()) of nn.Embedding(32000, 4096) = 131,072,000.
    let c = counted(&Embedding::new(32_000, 4_096), &[128]);
    assert_eq!(c.output_shape, [128, 4_096]);
    assert_eq!((c.params, c.macs, c.flops), (131_072_000, 0, 0));
    assert_eq!(
        c.report.inputs[0].dtype,
        Some(nncost_core::graph::DType::I64)
    );

    // In a description the input says it holds ids.
    let r = network("input 128 ids\nembedding 32000 4096\nrmsnorm\n");
    assert_eq!(r.totals.params, 131_072_000 + 4_096);
    assert_eq!(r.inputs[0].dtype, Some(nncost_core::graph::DType::I64));
    assert_eq!(
        network_error("input 128\nembedding 32000 4096\n"),
        "t.nn:2:1: embedding on 128: it reads token ids: declare the input as ids, e.g. 'input 128 ids'"
    );
    assert_eq!(
        network_error("input 128 ids\nlinear 8\n"),
        "t.nn:2:1: linear on 128: token ids (the input is declared 'ids') feed an 'embedding' first"
    );
    assert_eq!(
        network_error("input 128 idz\n"),
        "t.nn:1:11: 'input' takes a shape and then any of ids, e.g. 'input 128 ids'"
    );
}

#[test]
fn swiglu_is_llamas_mlp() {
    // transformers' LlamaMLP(hidden_size=4096, intermediate_size=11008):
    // sum(p.numel()) = 135,266,304; FlopCounterMode on [1, 128, 4096]:
    // 34,628,173,824 FLOPs = 2·MACs.
    let c = counted(&GatedMlp::new(11_008, Gate::Silu), &[128, 4096]);
    assert_eq!(c.params, 135_266_304);
    assert_eq!(c.macs, 34_628_173_824 / 2);
    // Projections without bias 2·MACs − rows·(2·hidden + width), silu 5 and
    // the product 1 per hidden element.
    let rows = 128u128;
    let projections = 2 * c.macs - rows * (2 * 11_008 + 4096);
    assert_eq!(c.flops, projections + rows * 11_008 * (5 + 1));
    let bias = c.bias.unwrap();
    assert_eq!(bias.params_with, 135_266_304 + 2 * 11_008 + 4096);

    // GeGLU with GELU's tanh form, 9 FLOPs per element: on one vector of 8,
    // hidden 12, with biases, projections 2·MACs.
    let c = counted(&GatedMlp::new(12, Gate::GeluTanh).bias(true), &[8]);
    assert_eq!((c.params, c.macs), (3 * 8 * 12 + 2 * 12 + 8, 3 * 8 * 12));
    assert_eq!(c.flops, 2 * 3 * 8 * 12 + 12 * (9 + 1));
}
