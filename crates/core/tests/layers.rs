//! The layer calculator, kind by kind, against numbers worked by hand from
//! the article's formulas; and, over sweeps of settings, the explanation's
//! arithmetic against the engine's numbers.

use nncost_core::layers::GlobalPool;
use nncost_core::layers::{
    Activation, AdaptiveAvgPool, BatchNorm, Conv, ConvTranspose, Layer, LayerCost, LayerNorm,
    Linear, MultiHeadAttention, Padding, Pool, PoolKind, Round,
};

fn cost(layer: &dyn Layer, input: &[i64]) -> LayerCost {
    let c = layer
        .cost(input)
        .unwrap_or_else(|e| panic!("{} on {input:?}: {e}", layer.describe()));
    let e = layer.explain(&c).expect("explains");
    assert!(
        e.disagreements().is_empty(),
        "{} on {input:?}: {:?}",
        layer.describe(),
        e.disagreements()
    );
    c
}

/// The article's convolution: params (k_w·k_h·C_in + 1)·C_out; MACs
/// k_w·k_h·C_in·W_out·H_out·C_out; FLOPs [(k·C_in) + (k·C_in − 1) + 1] per
/// output with a bias, one fewer without.
#[test]
fn conv_article_example() {
    let c = cost(&Conv::new(64, &[3]).padding(1), &[3, 224, 224]);
    assert_eq!(c.output_shape, [64, 224, 224]);
    assert_eq!(c.params, (3 * 3 * 3 + 1) * 64);
    assert_eq!(c.macs, 3 * 3 * 3 * 224 * 224 * 64);
    let outputs = 224 * 224 * 64;
    let b = c.bias.unwrap();
    assert!(b.enabled);
    assert_eq!(b.params_without, 3 * 3 * 3 * 64);
    // The "−1 … +1": k·C_in products, k·C_in − 1 additions, + 1 for the bias.
    let k = 3 * 3 * 3;
    assert_eq!(b.flops_with, (k + (k - 1) + 1) * outputs);
    assert_eq!(b.flops_without, (k + (k - 1)) * outputs);
    assert_eq!(b.flops_with, 173_408_256);
    assert_eq!(b.flops_without, 170_196_992);
    assert_eq!(c.flops, b.flops_with);
    let no_bias = cost(&Conv::new(64, &[3]).padding(1).bias(false), &[3, 224, 224]);
    assert_eq!(no_bias.params, 1_728);
    assert_eq!(no_bias.flops, 170_196_992);
    assert!(!no_bias.bias.unwrap().enabled);
}

#[test]
fn conv_one_and_three_dimensional_grouped_dilated() {
    // 1-D, dilation 2: extent 5, ⌊(100 − 5)/1⌋ + 1 = 96.
    let c = cost(&Conv::new(8, &[3]).dilation(&[2]), &[4, 100]);
    assert_eq!(c.output_shape, [8, 96]);
    assert_eq!(c.macs, 8 * 96 * 4 * 3);
    assert_eq!(c.params, 8 * 4 * 3 + 8);
    // 3-D: 2x8x8x8 → 4x6x6x6.
    let c = cost(&Conv::new(4, &[3]), &[2, 8, 8, 8]);
    assert_eq!(c.output_shape, [4, 6, 6, 6]);
    assert_eq!(c.macs, 4 * 216 * 2 * 27);
    // Grouped: 64 → 128 in 4 groups: each filter sees 16 channels.
    let c = cost(&Conv::new(128, &[3]).padding(1).groups(4), &[64, 56, 56]);
    assert_eq!(c.params, 128 * 16 * 9 + 128);
    assert_eq!(c.macs, 56 * 56 * 128 * 16 * 9);
    // Depthwise, stride 2, "same": ⌈112/2⌉ = 56; no bias: 2·9 − 1 per output.
    let c = cost(
        &Conv::new(32, &[3])
            .stride(&[2])
            .padding(Padding::Same)
            .groups(32)
            .bias(false),
        &[32, 112, 112],
    );
    assert_eq!(c.output_shape, [32, 56, 56]);
    assert_eq!(c.macs, 56 * 56 * 32 * 9);
    assert_eq!(c.flops, (2 * 9 - 1) * 56 * 56 * 32);
    // Per-axis kernel and padding: 1x7 with padding 0x3 keeps the size.
    let c = cost(&Conv::new(8, &[1, 7]).padding(&[0, 3][..]), &[8, 17, 17]);
    assert_eq!(c.output_shape, [8, 17, 17]);
    assert_eq!(c.macs, 17 * 17 * 8 * 8 * 7);
}

#[test]
fn conv_rounding_follows_the_chosen_convention() {
    // (224 − 3)/2 = 110.5: PyTorch and ONNX 111, the article 112.
    let down = cost(&Conv::new(8, &[3]).stride(&[2]), &[3, 224, 224]);
    assert_eq!(down.output_shape, [8, 111, 111]);
    let up = cost(
        &Conv::new(8, &[3]).stride(&[2]).round(Round::Up),
        &[3, 224, 224],
    );
    assert_eq!(up.output_shape, [8, 112, 112]);
    assert_eq!(up.macs, 112 * 112 * 8 * 27);
    // An exact division is the same either way.
    let exact = cost(
        &Conv::new(8, &[3]).padding(1).round(Round::Up),
        &[3, 32, 32],
    );
    assert_eq!(exact.output_shape, [8, 32, 32]);
    // "same" with an even kernel: total padding 3, 1 before and 2 after.
    let same = Conv::new(2, &[4]).padding(Padding::Same);
    let c = cost(&same, &[1, 10]);
    assert_eq!(c.output_shape, [2, 10]);
    let e = same.explain(&c).unwrap().to_string();
    assert!(e.contains("1 before and 2 after"), "{e}");
}

#[test]
fn conv_errors() {
    let e = |l: &dyn Layer, input: &[i64]| l.cost(input).unwrap_err().to_string();
    assert_eq!(
        e(&Conv::new(8, &[3]).groups(2), &[3, 8, 8]),
        "input channels (3) must be divisible by groups (2)"
    );
    assert!(e(&Conv::new(8, &[9]), &[3, 8, 8]).contains("does not fit"));
    assert!(e(&Conv::new(8, &[3, 3]), &[3, 8]).contains("kernel has 2 values for 1 spatial axis"));
    assert!(e(&Conv::new(8, &[3]), &[3]).contains("[C, L], [C, H, W] or [C, D, H, W]"));
    assert_eq!(
        e(&Conv::new(0, &[3]), &[3, 8, 8]),
        "out_channels must be positive, got 0"
    );
    assert_eq!(
        e(&Conv::new(8, &[3]), &[3, 0, 8]),
        "input dimensions must be positive, got 0"
    );
}

/// Transposed convolution works on the input grid: C_in·H_in·W_in·C_out·k.
#[test]
fn conv_transpose() {
    let c = cost(
        &ConvTranspose::new(32, &[4]).stride(&[2]).padding(&[1]),
        &[64, 28, 28],
    );
    assert_eq!(c.output_shape, [32, 56, 56]); // 2·(28 − 1) + 4 − 2·1
    assert_eq!(c.macs, 64 * 28 * 28 * 32 * 16);
    assert_eq!(c.flops, 2 * 25_690_112 + 32 * 56 * 56);
    assert_eq!(c.bias.unwrap().flops_without, 2 * 25_690_112);
    assert_eq!(c.params, 64 * 32 * 16 + 32);
    // Groups and output padding: 2·(5 − 1) + 3 + 1 = 12; C_out/g = 4.
    let c = cost(
        &ConvTranspose::new(8, &[3])
            .stride(&[2])
            .output_padding(&[1])
            .groups(2)
            .bias(false),
        &[4, 5, 5],
    );
    assert_eq!(c.output_shape, [8, 12, 12]);
    assert_eq!(c.macs, 4 * 25 * 4 * 9);
    assert_eq!(c.params, 4 * 4 * 9);
}

/// The article's fully connected layer: (d_in + 1)·d_out params,
/// [d_in + (d_in − 1) + 1]·d_out FLOPs; rows multiply through.
#[test]
fn linear() {
    let c = cost(&Linear::new(1000), &[512]);
    assert_eq!(c.output_shape, [1000]);
    assert_eq!(c.params, 513_000);
    assert_eq!(c.macs, 512_000);
    assert_eq!(c.flops, (512 + 511 + 1) * 1000);
    assert_eq!(c.bias.unwrap().flops_without, (512 + 511) * 1000);
    assert_eq!(c.bias.unwrap().params_without, 512_000);
    let tokens = cost(&Linear::new(3072), &[197, 768]);
    assert_eq!(tokens.output_shape, [197, 3072]);
    assert_eq!(tokens.macs, 197 * 768 * 3072);
    assert_eq!(tokens.flops, 197 * (768 + 767 + 1) * 3072);
    assert_eq!(tokens.params, 768 * 3072 + 3072);
    let no_bias = cost(&Linear::new(10).bias(false), &[4, 3, 20]);
    assert_eq!(no_bias.flops, 12 * (20 + 19) * 10);
}

#[test]
fn pooling() {
    // k − 1 comparisons per output.
    let c = cost(
        &Pool::new(PoolKind::Max, &[3]).stride(&[2]).padding(&[1]),
        &[64, 112, 112],
    );
    assert_eq!(c.output_shape, [64, 56, 56]);
    assert_eq!(c.flops, (9 - 1) * 64 * 56 * 56);
    assert_eq!((c.params, c.macs), (0, 0));
    // k − 1 additions and a division: k per output; stride defaults to k.
    let c = cost(&Pool::new(PoolKind::Avg, &[2]), &[16, 10, 10]);
    assert_eq!(c.output_shape, [16, 5, 5]);
    assert_eq!(c.flops, 4 * 16 * 25);
    // ceil_mode: (14 − 3)/2 = 5.5 → 7 instead of 6.
    let ceil = cost(
        &Pool::new(PoolKind::Max, &[3]).stride(&[2]).round(Round::Up),
        &[8, 14, 14],
    );
    assert_eq!(ceil.output_shape, [8, 7, 7]);
    let floor = cost(&Pool::new(PoolKind::Max, &[3]).stride(&[2]), &[8, 14, 14]);
    assert_eq!(floor.output_shape, [8, 6, 6]);
    // A last window that would start in the right padding is dropped:
    // ⌈(5 − 2 + 2)/2⌉ + 1 = 4, but the 4th window starts at 6 ≥ 5 + 1.
    let dropped = Pool::new(PoolKind::Max, &[2])
        .stride(&[2])
        .padding(&[1])
        .round(Round::Up);
    let c = cost(&dropped, &[1, 5, 5]);
    assert_eq!(c.output_shape, [1, 3, 3]);
    assert!(dropped.explain(&c).unwrap().to_string().contains("dropped"));
    assert!(Pool::new(PoolKind::Avg, &[2])
        .dilation(&[2])
        .cost(&[1, 8, 8])
        .is_err());
    assert!(Pool::new(PoolKind::Max, &[2])
        .padding(&[2])
        .cost(&[1, 8, 8])
        .is_err());
}

#[test]
fn global_and_adaptive_pooling() {
    let avg = cost(&GlobalPool::new(PoolKind::Avg), &[512, 7, 7]);
    assert_eq!(avg.output_shape, [512, 1, 1]);
    assert_eq!(avg.flops, 512 * 49);
    let max = cost(&GlobalPool::new(PoolKind::Max), &[512, 7, 7]);
    assert_eq!(max.flops, 512 * 48);
    let same = cost(&AdaptiveAvgPool::new(&[6]), &[256, 6, 6]);
    assert_eq!(same.output_shape, [256, 6, 6]);
    assert_eq!(same.flops, 256 * 36);
    let half = cost(&AdaptiveAvgPool::new(&[7]), &[512, 14, 14]);
    assert_eq!(half.output_shape, [512, 7, 7]);
    assert_eq!(half.flops, 4 * 512 * 49);
    // 13 → 6: PyTorch's windows are 3 wide at stride 2, 9 per output cell.
    let uneven = cost(&AdaptiveAvgPool::new(&[6]), &[256, 13, 13]);
    assert_eq!(uneven.flops, 256 * 36 * 9);
}

/// The article: BN adds 2n parameters for n channels.
#[test]
fn normalisation() {
    let c = cost(&BatchNorm, &[64, 112, 112]);
    assert_eq!(c.output_shape, [64, 112, 112]);
    assert_eq!(c.params, 2 * 64);
    assert_eq!(c.buffers, 2 * 64);
    assert_eq!(c.flops, 2 * 64 * 112 * 112 + 5 * 64);
    let vector = cost(&BatchNorm, &[100]);
    assert_eq!(vector.params, 200);
    let ln = cost(&LayerNorm::new(), &[197, 768]);
    assert_eq!(ln.params, 2 * 768);
    assert_eq!(ln.flops, 197 * (7 * 768 + 3));
    assert_eq!(ln.bias.unwrap().flops_without, 197 * (6 * 768 + 3));
    assert_eq!(ln.bias.unwrap().params_without, 768);
    // Over C, H and W (GroupNorm with one group, without its grouping).
    let whole = cost(&LayerNorm::new().axis(0), &[64, 7, 7]);
    assert_eq!(whole.params, 2 * 64 * 49);
    assert_eq!(whole.flops, 7 * 64 * 49 + 3);
    assert!(LayerNorm::new().axis(3).cost(&[64, 7, 7]).is_err());
}

#[test]
fn activations() {
    let n = 64 * 56 * 56;
    let per = |name: &str| {
        let c = cost(&Activation::new(name).unwrap(), &[64, 56, 56]);
        assert_eq!(c.output_shape, [64, 56, 56]);
        assert_eq!(c.macs, 0);
        c.flops / n
    };
    assert_eq!(per("relu"), 1);
    assert_eq!(per("ReLU"), 1);
    assert_eq!(per("relu6"), 2);
    assert_eq!(per("hardtanh"), 2);
    assert_eq!(per("LeakyRelu"), 2);
    assert_eq!(per("sigmoid"), 4);
    assert_eq!(per("tanh"), 1);
    assert_eq!(per("hardswish"), 5);
    assert_eq!(per("silu"), 5);
    assert_eq!(per("swish"), 5);
    assert_eq!(per("gelu"), 5);
    assert_eq!(per("gelu-tanh"), 9);
    assert_eq!(per("mish"), 5);
    assert_eq!(per("elu"), 4);
    let shared = cost(&Activation::new("prelu").unwrap(), &[64, 56, 56]);
    assert_eq!(shared.params, 1);
    let per_channel = cost(
        &Activation::new("prelu").unwrap().per_channel(true),
        &[64, 56, 56],
    );
    assert_eq!(per_channel.params, 64);
    assert_eq!(per_channel.flops, 2 * n);
    let softmax = cost(&Activation::new("softmax").unwrap(), &[1000]);
    assert_eq!(softmax.flops, 5 * 1000 - 2);
    let rows = cost(&Activation::new("log-softmax").unwrap().axis(0), &[10, 4]);
    assert_eq!(rows.flops, 4 * (5 * 10 - 1));
    assert!(Activation::new("frobnicate").is_err());
}

/// ViT-B/16's attention: PyTorch's MultiheadAttention(768, 12) has
/// 4·(768² + 768) = 2,362,368 parameters.
#[test]
fn attention() {
    let c = cost(&MultiHeadAttention::new(12), &[197, 768]);
    assert_eq!(c.output_shape, [197, 768]);
    assert_eq!(c.params, 2_362_368);
    let projections = 4 * 197 * 768 * 768;
    let scores_and_context = 2 * 12 * 197 * 197 * 64;
    assert_eq!(c.macs, projections + scores_and_context);
    // Per head and query: 197·(2·64 − 1) scores, 197 scalings, 5·197 − 2
    // softmax, 64·(2·197 − 1) for P·V.
    let per_query = 197 * 127 + 197 + (5 * 197 - 2) + 64 * (2 * 197 - 1);
    assert_eq!(c.flops, 2 * projections + 12 * 197 * per_query);
    // Grouped-query: 32 heads sharing 8 key/value heads of 128.
    let gqa = cost(
        &MultiHeadAttention::new(32).kv_heads(8).bias(false),
        &[128, 4096],
    );
    assert_eq!(gqa.params, 4096 * (4096 + 1024 + 1024 + 4096));
    assert_eq!(
        gqa.macs,
        128 * 4096 * (4096 + 1024 + 1024 + 4096) + 2 * 32 * 128 * 128 * 128
    );
    assert!(MultiHeadAttention::new(5).cost(&[10, 768]).is_err());
    assert!(MultiHeadAttention::new(12)
        .kv_heads(5)
        .cost(&[10, 768])
        .is_err());
    assert!(MultiHeadAttention::new(12).cost(&[768]).is_err());
}

/// Every explanation's arithmetic gives the engine's numbers, over a sweep
/// of settings that covers exact and inexact divisions, both roundings,
/// padding, dilation, "same", and the dropped last window of ceil_mode.
#[test]
fn explanations_agree_with_the_engine() {
    let mut checked = 0;
    for input in 5..=13 {
        for k in 1..=4 {
            for s in 1..=3 {
                for p in 0..=2 {
                    for d in 1..=2 {
                        for round in [Round::Down, Round::Up] {
                            let conv = Conv::new(2, &[k])
                                .stride(&[s])
                                .padding(p)
                                .dilation(&[d])
                                .round(round);
                            if conv.cost(&[1, input, input + 1]).is_ok() {
                                cost(&conv, &[1, input, input + 1]);
                                checked += 1;
                            }
                            let pool = Pool::new(PoolKind::Max, &[k])
                                .stride(&[s])
                                .padding(&[p])
                                .round(round);
                            if pool.cost(&[1, input]).is_ok() {
                                cost(&pool, &[1, input]);
                                checked += 1;
                            }
                        }
                    }
                    let same = Conv::new(3, &[k])
                        .stride(&[s])
                        .padding(Padding::Same)
                        .groups(3);
                    cost(&same, &[3, input]);
                    let t = ConvTranspose::new(2, &[k])
                        .stride(&[s])
                        .padding(&[p.min(k - 1)]);
                    if t.cost(&[2, input]).is_ok() {
                        cost(&t, &[2, input]);
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    for bias in [true, false] {
        cost(&Linear::new(7).bias(bias), &[3, 5]);
        cost(&LayerNorm::new().bias(bias), &[3, 5]);
        cost(&MultiHeadAttention::new(4).kv_heads(2).bias(bias), &[9, 16]);
        cost(&Conv::new(4, &[3]).bias(bias).groups(2), &[2, 6, 6, 6]);
    }
    for a in nncost_core::layers::ACTIVATIONS {
        cost(&Activation::new(a.name).unwrap(), &[3, 4, 5]);
    }
    cost(&GlobalPool::new(PoolKind::Max), &[3, 4, 5, 6]);
    cost(&Pool::new(PoolKind::Avg, &[2, 3]).padding(&[1]), &[3, 9, 9]);
}
