//! The layers of large language models and other modern networks, in the
//! calculator and in network descriptions: hand-worked counts, and PyTorch's
//! own figure where it has one.
//!
//! The PyTorch figures were computed with torch 2.15 and transformers 5.24
//! (`/work/pyenv`): parameters as `sum(p.numel() for p in m.parameters())`,
//! matrix-product FLOPs with `torch.utils.flop_counter.FlopCounterMode`
//! (2 per MAC).

use nncost_core::layers::{GroupNorm, Layer, LayerCost, RmsNorm};

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
