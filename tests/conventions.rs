//! The presets of other tools, on a network counted by hand. Their
//! agreement with the tools themselves, on every torchvision
//! classification model, is checked by `python/tests/test_conventions.py`
//! against the figures `scripts/make_convention_reference.py` recorded.

use nncost_core::convention::{apply, Convention};
use nncost_core::{analyze, AnalysisOptions, Poly};

/// conv 3→8 (3×3, padding 1, bias) on 3×8×8, BatchNorm, ReLU, global
/// average pooling, linear 8→10 with bias; batch 1. A file without module
/// records: a ReLU or a pooling counts as its module would.
///
/// - MACs: conv 8·8·8 outputs × 27 = 13,824; linear 80.
/// - torch: 2 × (13,824 + 80) = 27,808. torchvision: 13,904.
/// - fvcore: 13,904 + BatchNorm 2 × 512 + the pooling's 512 inputs = 15,440.
/// - thop: 13,904 + BatchNorm 4 × 512 + pooling (64 + 1) × 8 = 16,472.
/// - ptflops: 13,904 + the biases' 512 + 10 + BatchNorm 2 × 512 + ReLU
///   2 × 512 + pooling 2 × 512 = 17,498.
#[test]
fn presets_count_a_small_network_by_hand() {
    let text = "input 3x8x8\nconv 8 k=3 p=1\nbatchnorm\nrelu\nglobal-avgpool\nflatten\nlinear 10\n";
    let graph = nncost_netdesc::read_str(text, "small.nn").unwrap();
    let options = AnalysisOptions {
        dims: vec![("batch".into(), 1)],
        ..Default::default()
    };
    let report = analyze(&graph, &options).unwrap();
    let total = |c| apply(&report, c).unwrap().total;
    assert_eq!(total(Convention::Torch), Poly::constant(27_808));
    assert_eq!(total(Convention::Torchvision), Poly::constant(13_904));
    assert_eq!(total(Convention::Fvcore), Poly::constant(15_440));
    assert_eq!(total(Convention::Thop), Poly::constant(16_472));
    assert_eq!(total(Convention::Ptflops), Poly::constant(17_498));
    assert_eq!(total(Convention::Nncost), report.totals.cost.flops);
    assert_eq!(Convention::parse("FVCORE"), Some(Convention::Fvcore));
    assert_eq!(Convention::parse("flopco"), None);
}

/// With the backward pass, `torch` counts as FlopCounterMode does: each
/// operand gradient of a product again, except the first layer's input's.
#[test]
fn torch_preset_counts_the_training_step() {
    let text = "input 3x8x8\nconv 8 k=3 p=1\nrelu\nglobal-avgpool\nflatten\nlinear 10\n";
    let graph = nncost_netdesc::read_str(text, "small.nn").unwrap();
    let options = AnalysisOptions {
        dims: vec![("batch".into(), 1)],
        ..Default::default()
    };
    let mut report = analyze(&graph, &options).unwrap();
    report.training = Some(nncost_core::training::training(&report, &[]).unwrap());
    // Forward 27,808; backward: conv's filter gradient 27,648 (its input,
    // the image, needs none); linear's input and weight gradients 2 × 160.
    let c = apply(&report, Convention::Torch).unwrap();
    assert_eq!(c.total, Poly::constant(27_808 + 27_648 + 320));
}
