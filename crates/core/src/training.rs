//! Training: the backward pass's work, node by node, beside the forward's.
//!
//! A value needs a gradient when it is a trainable parameter or is computed
//! from one (graph inputs need none). Then:
//!
//! - a node whose MACs are the products of two inputs (a convolution, a
//!   matrix product: [`crate::ops::NodeCtx::products`]) costs, backward, the
//!   same MACs again for each of the two that needs a gradient: the
//!   gradient of the data input (`dY · Wᵀ`) and that of the weight (`Xᵀ ·
//!   dY`). The first convolution of an image model computes no input
//!   gradient; a frozen weight needs no weight gradient. This is what
//!   PyTorch's `FlopCounterMode` counts for a forward and backward pass;
//! - every other counted node whose inputs need a gradient costs, backward,
//!   its forward FLOPs again (its derivative applied to the incoming
//!   gradient: a ReLU's mask, a normalization's chain rule), an estimate
//!   kept apart from the products;
//! - a node none of whose inputs needs a gradient costs nothing backward.

use crate::cost::Cost;
use crate::fxhash::FxHashSet;
use crate::poly::{Overflow, Poly};
use crate::report::Report;

/// The backward pass of one node.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Backward {
    /// MACs of the gradient products (exact).
    pub macs: Poly,
    /// FLOPs: twice those MACs, plus `other_flops`.
    pub flops: Poly,
    /// The FLOPs of the other nodes' derivatives (the estimate).
    pub other_flops: Poly,
    /// How many of the product's two operands need a gradient (0 for a
    /// node without products).
    pub gradients: u8,
    /// Whether the second operand (a convolution's filter, a matrix
    /// product's right side) needs one.
    pub second_operand: bool,
}

/// The training step's work.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingReport {
    /// Per top-level node, parallel to `Report::nodes`; `None` for a node
    /// not counted.
    pub nodes: Vec<Option<Backward>>,
    /// The backward pass in all.
    pub backward: Backward,
    /// Forward plus backward: MACs, FLOPs and integer operations.
    pub total: Cost,
    /// Parameters left frozen (no weight gradient), as asked.
    pub frozen: Vec<String>,
}

/// The backward pass of `report`'s graph, with the parameters named in
/// `frozen` (initializer names) needing no gradient.
pub fn training(report: &Report, frozen: &[String]) -> Result<TrainingReport, Overflow> {
    let frozen_set: crate::fxhash::NameSet<&str> = frozen.iter().map(String::as_str).collect();
    let mut needs_grad: FxHashSet<&str> = FxHashSet::default();
    let mut nodes = Vec::with_capacity(report.nodes.len());
    let mut backward = Backward::default();
    for n in &report.nodes {
        let grad_of = |i: usize| -> bool {
            n.inputs.get(i).is_some_and(|input| {
                (input.param && !frozen_set.contains(input.name.as_str()))
                    || needs_grad.contains(input.name.as_str())
            })
        };
        let any = (0..n.inputs.len()).any(grad_of);
        let node = match &n.cost {
            None => None,
            Some(cost) => {
                let (gradients, second_operand) = match n.products {
                    Some((a, b)) => {
                        let (a, b) = (usize::from(a), usize::from(b));
                        (u8::from(grad_of(a)) + u8::from(grad_of(b)), grad_of(b))
                    }
                    None => (0, false),
                };
                let macs = cost.macs.checked_scale(i128::from(gradients))?;
                // What the forward does beyond its products (integer
                // products count no FLOPs: nothing beyond them).
                let product_flops = cost.macs.checked_scale(2)?;
                let other_flops = if any && cost.flops.dominates(&product_flops) {
                    cost.flops.checked_sub(&product_flops)?
                } else {
                    Poly::ZERO
                };
                let flops = macs.checked_scale(2)?.checked_add(&other_flops)?;
                Some(Backward {
                    macs,
                    flops,
                    other_flops,
                    gradients,
                    second_operand,
                })
            }
        };
        if let Some(b) = &node {
            backward.macs = backward.macs.checked_add(&b.macs)?;
            backward.flops = backward.flops.checked_add(&b.flops)?;
            backward.other_flops = backward.other_flops.checked_add(&b.other_flops)?;
        }
        if any {
            needs_grad.extend(n.outputs.iter().map(|o| o.name.as_str()));
        }
        nodes.push(node);
    }
    let t = &report.totals.cost;
    let total = Cost {
        macs: t.macs.checked_add(&backward.macs)?,
        flops: t.flops.checked_add(&backward.flops)?,
        int_ops: t.int_ops.clone(),
    };
    Ok(TrainingReport {
        nodes,
        backward,
        total,
        frozen: frozen.to_vec(),
    })
}
