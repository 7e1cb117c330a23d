//! The layers of large language models and other modern networks, in the
//! calculator and in network descriptions: hand-worked counts, and PyTorch's
//! own figure where it has one.
//!
//! The PyTorch figures were computed with torch 2.15 and transformers 5.24
//! (`/work/pyenv`): parameters as `sum(p.numel() for p in m.parameters())`,
//! matrix-product FLOPs with `torch.utils.flop_counter.FlopCounterMode`
//! (2 per MAC).

use nncost_core::layers::{
    AdaptiveAvgPool, Cell, Embedding, Gate, GatedMlp, GroupNorm, Layer, LayerCost, Moe,
    MultiHeadAttention, Recurrent, RmsNorm, Rotary, Upsample, UpsampleMode,
};
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
        "t.nn:1:11: 'input' takes a shape and then any of ids, batch, channels-last, e.g. 'input 128 ids'"
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

#[test]
fn rotary_counts_three_per_rotated_element() {
    let c = counted(&Rotary::new(32), &[128, 4096]);
    assert_eq!((c.params, c.macs), (0, 0));
    // Per pair (x1, x2): x1·cos − x2·sin and x2·cos + x1·sin, 6 FLOPs.
    assert_eq!(c.flops, 3 * 128 * 4096);
    let c = counted(&Rotary::new(32).rotary_dim(32), &[128, 4096]);
    assert_eq!(c.flops, 3 * 128 * 32 * 32);
    assert!(Rotary::new(32).rotary_dim(129).cost(&[128, 4096]).is_err());
}

/// Attention's MACs apart from its four projections.
fn core_macs(c: &LayerCost) -> u128 {
    c.report
        .nodes
        .iter()
        .filter(|n| n.op_type.contains("Attention"))
        .map(|n| n.macs().and_then(|m| m.as_constant()).unwrap_or(0) as u128)
        .sum()
}

#[test]
fn attention_of_decoders() {
    // transformers' LlamaAttention(hidden 4096, 32 heads): sum(p.numel()) =
    // 67,108,864; with 8 key/value heads 41,943,040.
    let llama = MultiHeadAttention::new(32).bias(false);
    assert_eq!(counted(&llama, &[128, 4096]).params, 67_108_864);
    let gqa = llama.clone().kv_heads(8).causal(true).rotary(true);
    let c = counted(&gqa, &[128, 4096]);
    assert_eq!(c.params, 41_943_040);
    // Causal: 1 + 2 + … + 128 = 8,256 scores per head, Q·Kᵀ and P·V 128 each.
    assert_eq!(core_macs(&c), 32 * 8_256 * 256);
    // FlopCounterMode counts F.scaled_dot_product_attention(is_causal=True)
    // on [1, 32, 128, 128] as 268,435,456 FLOPs: the full score matrix, as
    // nncost counts the same attention without the causal mask.
    let full = counted(&llama, &[128, 4096]);
    assert_eq!(2 * core_macs(&full), 268_435_456);
    // Rotary on Q (32 heads) and K (8 heads): 3 FLOPs per element.
    let plain = counted(&llama.clone().kv_heads(8).causal(true), &[128, 4096]);
    assert_eq!(c.flops - plain.flops, 3 * 128 * (32 + 8) * 128);

    // Gemma-7B: 16 heads of 256 on width 3072 (not 3072/16 = 192).
    // transformers' GemmaAttention: sum(p.numel()) = 50,331,648.
    let gemma = MultiHeadAttention::new(16).head_dim(256).bias(false);
    let c = counted(&gemma, &[16, 3072]);
    assert_eq!(c.params, 50_331_648);
    assert_eq!(c.macs, 4 * 16 * 3072 * 4096 + 16 * 16 * 16 * 512);
}

#[test]
fn sliding_window_counts_the_keys_each_row_sees() {
    // seq 7, window 4: rows see 1, 2, 3, 4, 4, 4, 4 keys, 22 per head.
    let m = MultiHeadAttention::new(2).bias(false).window(4);
    let c = counted(&m, &[7, 8]);
    assert_eq!(core_macs(&c), 2 * 22 * (4 + 4));
    assert_eq!(
        c.report
            .nodes
            .iter()
            .filter(|n| n.op_type == "GroupQueryAttention")
            .count(),
        1
    );
    // FLOPs per head: 22 scores of 2d − 1 + 1 + 5 + 2d = 21, less 2 + d per row.
    let att: i128 = c
        .report
        .nodes
        .iter()
        .filter(|n| n.op_type == "GroupQueryAttention")
        .map(|n| n.flops().and_then(|f| f.as_constant()).unwrap())
        .sum();
    assert_eq!(att, 2 * (22 * 21 - 7 * 6));
    // Causal without a window: 28 per head; a window as wide as the
    // sequence changes nothing.
    let causal = counted(
        &MultiHeadAttention::new(2).bias(false).causal(true),
        &[7, 8],
    );
    assert_eq!(core_macs(&causal), 2 * 28 * 8);
    let wide = counted(&MultiHeadAttention::new(2).bias(false).window(7), &[7, 8]);
    assert_eq!(core_macs(&wide), core_macs(&causal));
    // Mistral 7B: window 4096 on 8,192 tokens, 32 heads of 128, 8 KV heads:
    // 4096·4097/2 + (8192 − 4096)·4096 = 25,167,872 scores per head.
    let mistral = MultiHeadAttention::new(32)
        .kv_heads(8)
        .bias(false)
        .window(4096);
    let c = counted(&mistral, &[8192, 4096]);
    assert_eq!(core_macs(&c), 32 * 25_167_872 * 256);
    let e = MultiHeadAttention::new(2)
        .window(4)
        .causal(false)
        .cost(&[7, 8]);
    assert_eq!(
        e.unwrap_err().to_string(),
        "a sliding window is causal: leave causal=false out"
    );
}

/// A two-layer Llama written by hand against transformers' own model:
/// LlamaForCausalLM(vocab 1000, width 256, MLP 688, 2 layers, 8 heads, 2
/// key/value heads, untied) has 1,897,728 parameters, and FlopCounterMode
/// counts 218,365,952 FLOPs on 64 tokens, 2 per MAC with the full score
/// matrix of its causal attention (it does not look at the mask).
#[test]
fn small_llama_against_transformers() {
    let llama = |causal: bool| {
        format!(
            "input 64 ids\n\
             def decoder\n\
             residual; rmsnorm; attention 8 kv_heads=2 causal={causal} rotary=true bias=false; end\n\
             residual; rmsnorm; swiglu 688; end\n\
             end\n\
             embedding 1000 256\n\
             repeat 2; decoder; end\n\
             rmsnorm\n\
             linear 1000 bias=false\n"
        )
    };
    let macs = |r: &Report| r.totals.cost.macs.as_constant().unwrap();
    let full = network(&llama(false));
    assert_eq!(full.totals.params, 1_897_728);
    assert_eq!(2 * macs(&full), 218_365_952);
    // Causal: per layer and head 64·65/2 = 2,080 of the 64² scores.
    let causal = network(&llama(true));
    assert_eq!(macs(&full) - macs(&causal), 2 * 8 * (64 * 64 - 2_080) * 64);
}

#[test]
fn upsample_by_whole_factors() {
    // nn.Upsample(scale_factor=2) on 256×13×13: no parameters; torch's
    // FlopCounterMode counts 0 FLOPs for both modes, fvcore 173,056 for
    // nearest (1 per output) and 692,224 for bilinear (4 per output).
    let c = counted(&Upsample::new(&[2], UpsampleMode::Nearest), &[256, 13, 13]);
    assert_eq!(c.output_shape, [256, 26, 26]);
    assert_eq!((c.params, c.macs, c.flops), (0, 0, 0));
    // Bilinear: two interpolations along W, one along H, 3 FLOPs each.
    let c = counted(&Upsample::new(&[2], UpsampleMode::Linear), &[256, 13, 13]);
    assert_eq!(c.flops, 9 * 256 * 26 * 26);
    assert_eq!(c.flops, 1_557_504);
    // One factor per axis; an axis left at 1 is not interpolated: linear
    // along one axis, 3 per output.
    let c = counted(&Upsample::new(&[1, 2], UpsampleMode::Linear), &[8, 5, 5]);
    assert_eq!(
        (c.output_shape.clone(), c.flops),
        (vec![8, 5, 10], 3 * 8 * 50)
    );
    // Trilinear cubic: 7·(1 + 4 + 16) per output.
    let c = counted(&Upsample::new(&[2], UpsampleMode::Cubic), &[4, 8, 8, 8]);
    assert_eq!(c.flops, 147 * 4 * 16 * 16 * 16);
}

#[test]
fn lstm_and_gru_have_pytorchs_parameters() {
    // sum(p.numel()) of PyTorch's modules, torch 2.15.
    let cases = [
        (Recurrent::new(Cell::Lstm, 512), 1_576_960),
        (
            Recurrent::new(Cell::Lstm, 512).bidirectional(true),
            3_153_920,
        ),
        (
            Recurrent::new(Cell::Lstm, 512)
                .bidirectional(true)
                .layers(2),
            9_453_568,
        ),
        (Recurrent::new(Cell::Gru, 512), 1_182_720),
        (
            Recurrent::new(Cell::Gru, 512).bidirectional(true),
            2_365_440,
        ),
    ];
    for (layer, params) in cases {
        let c = counted(&layer, &[100, 256]);
        assert_eq!(c.params, params, "{}", layer.describe());
    }
    // nn.LSTM(256, 512) on 100 steps: 4 gates of 512, each a dot product of
    // the input (256) and of the state (512) per step. FlopCounterMode
    // counts 0 for an LSTM (it sees one aten::lstm call).
    let c = counted(&Recurrent::new(Cell::Lstm, 512), &[100, 256]);
    assert_eq!(c.output_shape, [100, 512]);
    assert_eq!(c.macs, 100 * 4 * 512 * (256 + 512));
    // Per step and gate output 2·768 − 1 + 2 bias additions; 18·512 for the
    // gates' element-wise work, the engine's rule for LSTM.
    assert_eq!(c.flops, 100 * (4 * 512 * (2 * 768 + 1) + 18 * 512));
    let c = counted(
        &Recurrent::new(Cell::Gru, 64).bidirectional(true).layers(2),
        &[10, 32],
    );
    assert_eq!(c.output_shape, [10, 128]);
    assert_eq!(c.macs, 10 * 2 * 3 * 64 * ((32 + 64) + (128 + 64)));
}

#[test]
fn adaptive_pooling_with_uneven_windows() {
    // PyTorch's windows ⌊i·in/out⌋ .. ⌈(i + 1)·in/out⌉, checked against
    // F.adaptive_avg_pool1d in torch 2.15: 7 → 5 averages windows of 2, 2,
    // 3, 2, 2; 13 → 6 windows of 3 at stride 2.
    let c = counted(&AdaptiveAvgPool::new(&[5]), &[4, 7, 7]);
    assert_eq!(c.output_shape, [4, 5, 5]);
    assert_eq!(c.flops, 4 * 11 * 11);
    let pools = c
        .report
        .nodes
        .iter()
        .filter(|n| n.op_type == "AveragePool")
        .count();
    assert_eq!(pools, 9, "three runs of equal windows per axis");
    // AlexNet's AdaptiveAvgPool2d(6) on 256×13×13: one AveragePool, 9 per
    // output cell: 82,944, as nncost counts torch's own ONNX export of the
    // module (torch.onnx.export(dynamo=True): GatherND, then ReduceMean).
    // fvcore counts 43,264 (the input's elements), ptflops 86,528, thop 52,479.
    let c = counted(&AdaptiveAvgPool::new(&[6]), &[256, 13, 13]);
    assert_eq!(c.flops, 82_944);
    assert_eq!(c.report.nodes.len(), 1);
    // Growing (3 → 5) and per-axis sizes: windows 1, 2, 1, 2, 1 and 3, 3.
    let c = counted(&AdaptiveAvgPool::new(&[5, 2]), &[2, 3, 5]);
    assert_eq!(
        (c.output_shape.clone(), c.flops),
        (vec![2, 5, 2], 2 * 7 * 6)
    );
    // 1-D and 3-D.
    assert_eq!(counted(&AdaptiveAvgPool::new(&[5]), &[3, 7]).flops, 3 * 11);
    let c = counted(&AdaptiveAvgPool::new(&[5]), &[1, 7, 7, 7]);
    assert_eq!(c.flops, 11 * 11 * 11);
    // In a description, as PyTorch's name.
    let r = network("input 3x7x7\nAdaptiveAvgPool2d 5\nflatten\n");
    assert_eq!(r.totals.cost.flops.as_constant(), Some(3 * 121));
}

#[test]
fn mixture_of_experts_runs_the_top_experts() {
    // transformers' MixtralSparseMoeBlock(hidden 64, intermediate 128, 8
    // experts, top 2): sum(p.numel()) = 197,120; FlopCounterMode on 10
    // tokens: 993,280 FLOPs, 2 per MAC of the router and the 2 experts each
    // token runs.
    let c = counted(&Moe::new(8, 2, 128), &[10, 64]);
    assert_eq!(c.params, 197_120);
    assert_eq!(2 * c.macs, 993_280);
    assert_eq!(c.macs, 10 * (64 * 8 + 2 * 3 * 64 * 128));
    // Per token: the router 8·127; per expert 2·128·127 + 64·255 + 6·128;
    // the softmax 5·8 − 2, renormalising 3, the weighted sum 3·64.
    let expert = 2 * 128 * 127 + 64 * 255 + 6 * 128;
    assert_eq!(c.flops, 10 * (8 * 127 + 2 * expert + 38 + 3 + 3 * 64));
    let qwen = counted(&Moe::new(8, 2, 128).normalize(false), &[10, 64]);
    assert_eq!(c.flops - qwen.flops, 10 * 3);
    // Mixtral 8x7B's block: transformers' MixtralSparseMoeBlock(4096, 14336,
    // 8 experts) has 1,409,318,912 parameters.
    assert_eq!(
        counted(&Moe::new(8, 2, 14_336), &[1, 4096]).params,
        1_409_318_912
    );
    assert!(Moe::new(8, 9, 16).cost(&[2, 8]).is_err());
}

/// Sizes from a hostile description are refused or counted without being
/// spelled out: nothing is built per position, per window or per layer
/// beyond a bound.
#[test]
fn huge_sizes_stay_cheap() {
    let e = AdaptiveAvgPool::new(&[1_000_000_000_000])
        .cost(&[3, 7, 7])
        .unwrap_err();
    assert!(e.to_string().contains("at most 1048576 windows"), "{e}");
    let e = AdaptiveAvgPool::new(&[100_000]).cost(&[3, 7]).unwrap_err();
    assert!(
        e.to_string().contains("more than 4096 AveragePool blocks"),
        "{e}"
    );
    let c = AdaptiveAvgPool::new(&[1000])
        .cost(&[3, 1_000_000_000_000])
        .unwrap();
    assert_eq!(c.flops, 3_000_000_000_000);
    assert!(Recurrent::new(Cell::Lstm, 4)
        .layers(1_000_000_000)
        .cost(&[10, 8])
        .is_err());
    let c = counted(&MultiHeadAttention::new(2).window(7), &[1_000_000_000, 8]);
    assert_eq!(core_macs(&c), 2 * (28 + (1_000_000_000 - 7) * 7) * 8);
    let c = counted(&Rotary::new(2), &[1_000_000_000, 64]);
    assert_eq!(c.flops, 3 * 1_000_000_000 * 64);
}
