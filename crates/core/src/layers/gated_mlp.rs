//! The gated MLP of Llama, Mistral and Gemma (SwiGLU, GeGLU): two
//! projections up to a hidden width, one of them through an activation, their
//! product, and a projection back down.

use super::conv::{bias_steps, flatten};
use super::explain::{group, minus, num, plus, sum, times, Explanation, Expr, Section, Step};
use super::{
    node_counts, prod, sample_dims, Activation, GraphBuilder, Layer, LayerCost, LayerError, Linear,
};
use crate::graph::ValueId;
use crate::shape::Dim;

/// The activation on the gate projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// SiLU: SwiGLU (Llama, Mistral, Qwen).
    Silu,
    /// GELU: GeGLU.
    Gelu,
    /// GELU's tanh approximation: Gemma's GeGLU.
    GeluTanh,
}

impl Gate {
    /// The name of the activation in the calculator's table.
    fn activation(self) -> &'static str {
        match self {
            Gate::Silu => "silu",
            Gate::Gelu => "gelu",
            Gate::GeluTanh => "gelu-tanh",
        }
    }
}

/// `down(act(gate(x)) · up(x))` on the last axis, as Llama's `LlamaMLP`:
/// the gate and up projections width → hidden, the activation on the gate,
/// the element-wise product, the down projection hidden → width. Without
/// biases by default, as Llama has none.
///
/// ```
/// use nncost_core::layers::{GatedMlp, Gate, Layer};
///
/// // Llama-7B's MLP on 128 tokens: width 4096, hidden 11008.
/// let c = GatedMlp::new(11_008, Gate::Silu).cost(&[128, 4096]).unwrap();
/// assert_eq!(c.params, 3 * 4096 * 11_008); // PyTorch LlamaMLP: 135,266,304
/// assert_eq!(c.macs, 128 * 3 * 4096 * 11_008);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatedMlp {
    pub hidden: i64,
    pub gate: Gate,
    pub bias: bool,
}

impl GatedMlp {
    pub fn new(hidden: i64, gate: Gate) -> GatedMlp {
        GatedMlp {
            hidden,
            gate,
            bias: false,
        }
    }

    pub fn bias(mut self, bias: bool) -> GatedMlp {
        self.bias = bias;
        self
    }
}

impl Layer for GatedMlp {
    fn kind(&self) -> &'static str {
        match self.gate {
            Gate::Silu => "swiglu",
            Gate::Gelu | Gate::GeluTanh => "geglu",
        }
    }

    fn describe(&self) -> String {
        format!(
            "gated MLP to {} hidden features through {}, {}",
            self.hidden,
            self.gate.activation(),
            if self.bias { "bias" } else { "no bias" }
        )
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let dims = sample_dims(shape)?;
        let &width = dims.last().ok_or_else(|| {
            LayerError::Invalid("a gated MLP needs at least one input axis (features)".into())
        })?;
        let proj = |out: i64| Linear::new(out).bias(self.bias);
        let gate = proj(self.hidden).build(b, &format!("{name}/gate_proj"), x, shape)?;
        let up = proj(self.hidden).build(b, &format!("{name}/up_proj"), x, shape)?;
        // The hidden activations have the input's shape with `hidden` last.
        let mut inner = shape.to_vec();
        if let Some(last) = inner.last_mut() {
            *last = Dim::int(self.hidden);
        }
        let act = Activation::new(self.gate.activation())?.build(
            b,
            &format!("{name}/act"),
            gate,
            &inner,
        )?;
        let gated = b.node(
            "Mul",
            &format!("{name}/mul"),
            &[Some(act), Some(up)],
            vec![],
        );
        proj(width).build(b, &format!("{name}/down_proj"), gated, &inner)
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let dims = &cost.input_shape;
        let (rows, last) = dims.split_at(dims.len() - 1);
        let (w, h) = (last[0], self.hidden);
        let bias = cost
            .bias
            .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
        let with_rows = |e: Expr| {
            if rows.is_empty() {
                e
            } else {
                times(flatten(rows.iter().map(|&r| num(r)).chain([e]).collect()))
            }
        };
        // Which node does what, by the engine's counts.
        let (mut proj_flops, mut act_flops, mut mul_flops) = (0, 0, 0);
        for n in &cost.report.nodes {
            let f = node_counts(n).1;
            if n.name.contains("_proj") {
                proj_flops += f;
            } else if n.name.ends_with("/mul") {
                mul_flops += f;
            } else {
                act_flops += f;
            }
        }
        let n_rows = prod(rows);
        let header = Section::new(format!(
            "Sizes: {}width = {w}, hidden = {h}; gate and up project width → hidden, down \
             hidden → width",
            if rows.is_empty() {
                String::new()
            } else {
                format!("rows = {}, ", super::dims_text(rows))
            }
        ));
        let params = bias_steps(
            Section::new(
                "Params: three linear layers, (width + 1)·hidden twice and (hidden + 1)·width \
                 with biases, 3·width·hidden without",
            ),
            &bias,
            sum(vec![
                (false, times(vec![num(2), plus(num(w), num(1)), num(h)])),
                (false, times(vec![plus(num(h), num(1)), num(w)])),
            ]),
            times(vec![num(3), num(w), num(h)]),
            true,
        );
        let macs =
            Section::new("MACs: the three projections, rows·3·width·hidden").step(Step::new(
                "MACs",
                with_rows(times(vec![num(3), num(w), num(h)])),
                cost.macs as i128,
            ));
        let projections = |with_bias: bool| {
            let per = |fan_in: i64| {
                let dot = group(minus(times(vec![num(2), num(fan_in)]), num(1)));
                if with_bias {
                    group(plus(dot, num(1)))
                } else {
                    dot
                }
            };
            let both = sum(vec![
                (false, times(vec![num(2), per(w), num(h)])),
                (false, times(vec![per(h), num(w)])),
            ]);
            if rows.is_empty() {
                both
            } else {
                with_rows(group(both))
            }
        };
        let per_act = if n_rows * i128::from(h) == 0 {
            0
        } else {
            act_flops / (n_rows * i128::from(h))
        };
        let (other, other_value) = if bias.enabled {
            ("without bias", bias.flops_without as i128)
        } else {
            ("with bias", bias.flops_with as i128)
        };
        let elementwise = act_flops + mul_flops;
        let flops = Section::new(format!(
            "FLOPs: each projection (2·fan-in − 1) per output, + 1 with a bias; {} on the \
             gate, {per_act} per hidden element (the engine's rule); the product, 1 per hidden \
             element",
            self.gate.activation()
        ))
        .step(Step::new("projections", projections(self.bias), proj_flops))
        .step(Step::new(
            "activation",
            with_rows(times(vec![num(per_act), num(h)])),
            act_flops,
        ))
        .step(Step::new("product", with_rows(num(h)), mul_flops))
        .step(Step::new(
            "FLOPs",
            sum(vec![
                (false, num(proj_flops)),
                (false, num(act_flops)),
                (false, num(mul_flops)),
            ]),
            cost.flops as i128,
        ))
        .step(Step::new(
            format!("projections {other}"),
            projections(!self.bias),
            other_value - elementwise,
        ))
        .step(Step::new(
            other,
            plus(num(other_value - elementwise), num(elementwise)),
            other_value,
        ));
        Ok(Explanation {
            sections: vec![header, params, macs, flops],
        })
    }
}
