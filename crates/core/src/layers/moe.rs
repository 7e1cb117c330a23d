//! A mixture of experts (Mixtral, Qwen-MoE, DeepSeek): a router scores the
//! experts for each token and only the best `top` of them run; each expert
//! is Llama's gated MLP. All experts' weights are parameters, but a token
//! costs `top` experts.

use super::builder::{int, string};
use super::conv::flatten;
use super::explain::{group, minus, num, plus, sum, times, Explanation, Expr, Section, Step};
use super::{node_counts, sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Mixtral's sparse MoE block on the last axis: a router `width → experts`
/// (no bias), then for each token the `top` experts of highest score, each
/// `down(silu(gate(x))·up(x))` with `hidden` features, their outputs
/// weighted by the routing weights (renormalised over the chosen, as
/// Mixtral, unless `normalize` is off, as Qwen-MoE). The experts are
/// onnxruntime's fused `MoE` operator (com.microsoft).
///
/// ```
/// use nncost_core::layers::{Layer, Moe};
///
/// // Mixtral 8x7B's block on one token: 8 experts of 14336, top 2.
/// let c = Moe::new(8, 2, 14_336).cost(&[1, 4096]).unwrap();
/// assert_eq!(c.params, 4096 * 8 + 8 * 3 * 4096 * 14_336); // PyTorch: 1,409,318,912
/// assert_eq!(c.macs, 4096 * 8 + 2 * 3 * 4096 * 14_336);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moe {
    pub experts: i64,
    pub top: i64,
    pub hidden: i64,
    /// Renormalise the chosen experts' weights to sum to 1 (Mixtral).
    pub normalize: bool,
}

impl Moe {
    pub fn new(experts: i64, top: i64, hidden: i64) -> Moe {
        Moe {
            experts,
            top,
            hidden,
            normalize: true,
        }
    }

    pub fn normalize(mut self, normalize: bool) -> Moe {
        self.normalize = normalize;
        self
    }

    /// Tokens (the product of all axes but the last) and width.
    fn sizes(&self, dims: &[i64]) -> Result<(Vec<i64>, i64), LayerError> {
        let Some((&width, rows)) = dims.split_last() else {
            return Err(LayerError::Invalid(
                "a mixture of experts needs at least one input axis (features)".into(),
            ));
        };
        if self.experts < 1 || self.hidden < 1 {
            return Err(LayerError::Invalid(format!(
                "experts and hidden must be positive, got {} and {}",
                self.experts, self.hidden
            )));
        }
        if !(1..=self.experts).contains(&self.top) {
            return Err(LayerError::Invalid(format!(
                "top = {} is not between 1 and the {} experts",
                self.top, self.experts
            )));
        }
        Ok((rows.to_vec(), width))
    }
}

impl Layer for Moe {
    fn kind(&self) -> &'static str {
        "moe"
    }

    fn describe(&self) -> String {
        format!(
            "{} experts of {} hidden features, the top {} per token{}",
            self.experts,
            self.hidden,
            self.top,
            if self.normalize {
                ", weights renormalised"
            } else {
                ""
            }
        )
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let (_, w) = self.sizes(&sample_dims(shape)?)?;
        let (e, h) = (self.experts, self.hidden);
        let router = b.weight(&format!("{name}/router.weight"), &[w, e]);
        let logits = b.node(
            "MatMul",
            &format!("{name}/router"),
            &[Some(x), Some(router)],
            vec![],
        );
        // onnxruntime's layout: fc1 (gate) and fc3 (up) [E, I, H], fc2
        // (down) [E, H, I].
        let gate = b.weight(&format!("{name}/experts.gate"), &[e, h, w]);
        let down = b.weight(&format!("{name}/experts.down"), &[e, w, h]);
        let up = b.weight(&format!("{name}/experts.up"), &[e, h, w]);
        let attrs = vec![
            int("k", self.top),
            string("activation_type", "silu"),
            int("normalize_routing_weights", i64::from(self.normalize)),
        ];
        Ok(b.node_in(
            "com.microsoft",
            "MoE",
            &format!("{name}/experts"),
            &[
                Some(x),
                Some(logits),
                Some(gate),
                None,
                Some(down),
                None,
                Some(up),
            ],
            attrs,
        ))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let (rows, w) = self.sizes(&cost.input_shape)?;
        let (e, k, h) = (self.experts, self.top, self.hidden);
        let tokens: i64 = rows.iter().product();
        let with_tokens = |x: Expr| {
            if rows.is_empty() {
                return x;
            }
            // A product reads on (`10·64·8`); a sum is bracketed.
            let x = if matches!(x, Expr::Product(_)) {
                x
            } else {
                group(x)
            };
            times(flatten(
                rows.iter()
                    .map(|&r| num(r))
                    .chain(std::iter::once(x))
                    .collect(),
            ))
        };
        let (mut router_macs, mut router_flops, mut moe_macs, mut moe_flops) = (0, 0, 0, 0);
        for n in &cost.report.nodes {
            let (m, f) = node_counts(n);
            if n.op_type == "MoE" {
                moe_macs += m;
                moe_flops += f;
            } else {
                router_macs += m;
                router_flops += f;
            }
        }
        let header = Section::new(format!(
            "Sizes: {tokens} token{} of width {w}; {e} experts, each a gated MLP of {h} hidden \
             features; each token runs the top {k}",
            if tokens == 1 { "" } else { "s" }
        ));
        let expert = || times(vec![num(3), num(w), num(h)]);
        let params = Section::new(
            "Params: the router width·experts, and every expert's three projections, \
             3·width·hidden each (no biases)",
        )
        .step(Step::new(
            "params",
            plus(times(vec![num(w), num(e)]), times(vec![num(e), expert()])),
            cost.params as i128,
        ))
        .note(format!(
            "a token uses the router and {k} experts: {} of them",
            super::explain::grouped(i128::from(w * e + k * 3 * w * h))
        ));
        let macs = Section::new(
            "MACs per token: the router width·experts, then top·3·width·hidden for the chosen \
             experts (every token sends its work to exactly top experts, whatever the routing)",
        )
        .step(Step::new(
            "router",
            with_tokens(times(vec![num(w), num(e)])),
            router_macs,
        ))
        .step(Step::new(
            "experts",
            with_tokens(times(vec![num(k), num(3), num(w), num(h)])),
            moe_macs,
        ))
        .step(Step::new(
            "MACs",
            plus(num(router_macs), num(moe_macs)),
            cost.macs as i128,
        ));
        let dot = |fan_in: i64| group(minus(times(vec![num(2), num(fan_in)]), num(1)));
        let mut per_token = vec![
            (
                false,
                times(vec![
                    num(k),
                    group(sum(vec![
                        (false, times(vec![num(2), num(h), dot(w)])),
                        (false, times(vec![num(w), dot(h)])),
                        (false, times(vec![num(6), num(h)])),
                    ])),
                ]),
            ),
            (false, minus(times(vec![num(5), num(e)]), num(2))),
        ];
        if self.normalize {
            per_token.push((false, dot(k)));
        }
        per_token.push((false, times(vec![dot(k), num(w)])));
        let flops = Section::new(format!(
            "FLOPs per token: the router (2·width − 1) per expert; for each of the top experts the \
             gate and up projections (2·width − 1) per hidden feature, the down projection \
             (2·hidden − 1) per output, silu and the gating product 6 per hidden feature; the \
             softmax over the experts 5·experts − 2{}; the weighted sum of the top outputs \
             (2·top − 1) per feature (the engine's rule for MoE)",
            if self.normalize {
                ", renormalising the top weights 2·top − 1"
            } else {
                ""
            }
        ))
        .step(Step::new(
            "router",
            with_tokens(times(vec![num(e), dot(w)])),
            router_flops,
        ))
        .step(Step::new("experts", with_tokens(sum(per_token)), moe_flops))
        .step(Step::new(
            "FLOPs",
            plus(num(router_flops), num(moe_flops)),
            cost.flops as i128,
        ));
        Ok(Explanation {
            sections: vec![header, params, macs, flops],
        })
    }
}
