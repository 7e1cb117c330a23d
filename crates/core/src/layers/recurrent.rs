//! Recurrent layers over a sequence: LSTM and GRU, one ONNX node per layer
//! as PyTorch exports them, stacked and bidirectional.

use super::builder::{int, string};
use super::explain::{group, minus, num, plus, sum, times, Explanation, Expr, Section, Step};
use super::{node_counts, sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Most stacked layers one statement builds (one node each); PyTorch's
/// models stack a handful.
const MAX_LAYERS: i64 = 1000;

/// Which cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Four gates: input, forget, cell, output.
    Lstm,
    /// Three gates: reset, update, new.
    Gru,
}

impl Cell {
    fn gates(self) -> i64 {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    fn op_type(self) -> &'static str {
        match self {
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }
}

/// `LSTM(input, hidden)` or `GRU(input, hidden)` of PyTorch on a `[seq,
/// input]` sample (its `batch_first` layout), with `layers` stacked and
/// optionally bidirectional; the output is `[seq, directions·hidden]`.
///
/// PyTorch keeps two bias vectors per gate set (`b_ih` and `b_hh`); ONNX's
/// `B` input holds both, `[directions, 2·gates·hidden]`, so the parameters
/// are PyTorch's.
///
/// ```
/// use nncost_core::layers::{Cell, Layer, Recurrent};
///
/// let c = Recurrent::new(Cell::Lstm, 512).cost(&[100, 256]).unwrap();
/// assert_eq!(c.output_shape, [100, 512]);
/// assert_eq!(c.params, 4 * 512 * (256 + 512 + 2)); // PyTorch nn.LSTM(256, 512): 1,576,960
/// assert_eq!(c.macs, 100 * 4 * 512 * (256 + 512));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrent {
    pub cell: Cell,
    pub hidden: i64,
    pub layers: i64,
    pub bidirectional: bool,
    pub bias: bool,
}

impl Recurrent {
    /// One layer, one direction, with biases (PyTorch's defaults).
    pub fn new(cell: Cell, hidden: i64) -> Recurrent {
        Recurrent {
            cell,
            hidden,
            layers: 1,
            bidirectional: false,
            bias: true,
        }
    }

    pub fn layers(mut self, layers: i64) -> Recurrent {
        self.layers = layers;
        self
    }

    pub fn bidirectional(mut self, bidirectional: bool) -> Recurrent {
        self.bidirectional = bidirectional;
        self
    }

    pub fn bias(mut self, bias: bool) -> Recurrent {
        self.bias = bias;
        self
    }

    fn directions(&self) -> i64 {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Sequence length and input features, checked.
    fn sizes(&self, dims: &[i64]) -> Result<(i64, i64), LayerError> {
        let &[seq, input] = dims else {
            return Err(LayerError::Invalid(format!(
                "{} takes a [seq, input] sample, got {} axes",
                self.cell.op_type(),
                dims.len()
            )));
        };
        if self.hidden < 1 || !(1..=MAX_LAYERS).contains(&self.layers) {
            return Err(LayerError::Invalid(format!(
                "hidden size and layers must be positive (layers at most {MAX_LAYERS}), got {} \
                 and {}",
                self.hidden, self.layers
            )));
        }
        Ok((seq, input))
    }

    /// The input features of each layer: the sample's, then the previous
    /// layer's directions·hidden.
    fn inputs(&self, input: i64) -> Vec<i64> {
        (0..self.layers)
            .map(|l| {
                if l == 0 {
                    input
                } else {
                    self.directions() * self.hidden
                }
            })
            .collect()
    }
}

impl Layer for Recurrent {
    fn kind(&self) -> &'static str {
        match self.cell {
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
        }
    }

    fn describe(&self) -> String {
        let mut d = format!("{} hidden features", self.hidden);
        if self.layers != 1 {
            d.push_str(&format!(", {} layers", self.layers));
        }
        if self.bidirectional {
            d.push_str(", bidirectional");
        }
        d.push_str(if self.bias { ", bias" } else { ", no bias" });
        d
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let (_, input) = self.sizes(&sample_dims(shape)?)?;
        let (d, h, gh) = (
            self.directions(),
            self.hidden,
            self.cell.gates() * self.hidden,
        );
        let mut y = x;
        for (l, &i) in self.inputs(input).iter().enumerate() {
            let layer = if self.layers == 1 {
                name.to_string()
            } else {
                format!("{name}/layer{}", l + 1)
            };
            let w = b.weight(&format!("{layer}.W"), &[d, gh, i]);
            let r = b.weight(&format!("{layer}.R"), &[d, gh, h]);
            let bias = self
                .bias
                .then(|| b.weight(&format!("{layer}.B"), &[d, 2 * gh]));
            let mut attrs = vec![
                int("hidden_size", h),
                // Batch first, as the sample's [seq, input] under the batch axis.
                int("layout", 1),
            ];
            if self.bidirectional {
                attrs.push(string("direction", "bidirectional"));
            }
            if self.cell == Cell::Gru {
                // PyTorch applies the reset gate after the recurrent product.
                attrs.push(int("linear_before_reset", 1));
            }
            let out = b.node(
                self.cell.op_type(),
                &layer,
                &[Some(y), Some(w), Some(r), bias],
                attrs,
            );
            // [batch, seq, directions, hidden] → [batch, seq, directions·hidden].
            let target = b.ints(&format!("{layer}/flatten.shape"), &[0, 0, -1]);
            y = b.node(
                "Reshape",
                &format!("{layer}/flatten"),
                &[Some(out), Some(target)],
                vec![],
            );
        }
        Ok(y)
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let (seq, input) = self.sizes(&cost.input_shape)?;
        let bias = cost
            .bias
            .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
        let (g, h, d) = (self.cell.gates(), self.hidden, self.directions());
        let inputs = self.inputs(input);
        let cells: Vec<(i128, i128)> = cost
            .report
            .nodes
            .iter()
            .filter(|n| n.op_type == self.cell.op_type())
            .map(node_counts)
            .collect();
        let gate_work = match self.cell {
            Cell::Lstm => 18,
            Cell::Gru => 14,
        };
        let dirs = |e: Vec<Expr>| {
            if d == 1 {
                times(e)
            } else {
                times(std::iter::once(num(d)).chain(e).collect())
            }
        };
        let header = Section::new(format!(
            "Sizes: seq = {seq}, input = {input}, hidden = {h}, {g} gates ({}), {d} direction{}, \
             {} layer{}{}",
            match self.cell {
                Cell::Lstm => "input, forget, cell, output",
                Cell::Gru => "reset, update, new",
            },
            if d == 1 { "" } else { "s" },
            self.layers,
            if self.layers == 1 { "" } else { "s" },
            if self.layers > 1 {
                format!("; layers after the first read {d}·{h} features")
            } else {
                String::new()
            }
        ));
        let per_layer_params = |i: i64, with_bias: bool| {
            let mut terms = vec![(false, num(i)), (false, num(h))];
            if with_bias {
                terms.push((false, num(2)));
            }
            dirs(vec![num(g), num(h), group(sum(terms))])
        };
        let all_layers = |f: &dyn Fn(i64) -> Expr| {
            if inputs.len() == 1 {
                f(inputs[0])
            } else {
                sum(inputs.iter().map(|&i| (false, f(i))).collect())
            }
        };
        let params = super::conv::bias_steps(
            Section::new(
                "Params per layer and direction: gates·hidden·(input + hidden + 2): the input \
                 weights, the recurrent weights and PyTorch's two bias vectors b_ih and b_hh (ONNX's \
                 B holds both); gates·hidden·(input + hidden) without bias",
            ),
            &bias,
            all_layers(&|i| per_layer_params(i, true)),
            all_layers(&|i| per_layer_params(i, false)),
            true,
        );
        let mut macs = Section::new(
            "MACs per layer: every step and direction, gates·hidden dot products of the input \
             (input) and of the previous state (hidden): seq·directions·gates·hidden·(input + hidden)",
        );
        let mut flops = Section::new(format!(
            "FLOPs per layer and step: each gate output 2·(input + hidden) − 1 for its two dot \
             products and + 2 for the two biases; then {gate_work}·hidden for the gates' \
             element-wise work (the engine's rule for {})",
            self.cell.op_type()
        ));
        for (l, (&i, &(m, f))) in inputs.iter().zip(&cells).enumerate() {
            let label = |what: &str| {
                if inputs.len() == 1 {
                    what.to_string()
                } else {
                    format!("{what}, layer {}", l + 1)
                }
            };
            macs = macs.step(Step::new(
                label("MACs"),
                times(
                    std::iter::once(num(seq))
                        .chain([dirs(vec![num(g), num(h), group(plus(num(i), num(h)))])])
                        .collect(),
                ),
                m,
            ));
            let mut per_gate = vec![
                (false, times(vec![num(2), group(plus(num(i), num(h)))])),
                (true, num(1)),
            ];
            if self.bias {
                per_gate.push((false, num(2)));
            }
            flops = flops.step(Step::new(
                label("FLOPs"),
                times(vec![
                    num(seq),
                    dirs(vec![group(sum(vec![
                        (false, times(vec![num(g), num(h), group(sum(per_gate))])),
                        (false, times(vec![num(gate_work), num(h)])),
                    ]))]),
                ]),
                f,
            ));
        }
        if inputs.len() > 1 {
            let total = |v: Vec<i128>| sum(v.into_iter().map(|x| (false, num(x))).collect());
            macs = macs.step(Step::new(
                "MACs",
                total(cells.iter().map(|c| c.0).collect()),
                cost.macs as i128,
            ));
            flops = flops.step(Step::new(
                "FLOPs",
                total(cells.iter().map(|c| c.1).collect()),
                cost.flops as i128,
            ));
        }
        let (other, other_value) = if bias.enabled {
            ("without bias", bias.flops_without as i128)
        } else {
            ("with bias", bias.flops_with as i128)
        };
        // In i128 and checked: seq and hidden may each be near i64::MAX
        // while the engine's count, in u128, still fits.
        let steps_all = [seq, d, g, h, self.layers]
            .into_iter()
            .try_fold(1i128, |acc, x| acc.checked_mul(i128::from(x)))
            .ok_or_else(|| LayerError::Invalid("the number of gate outputs overflows".into()))?;
        let flops = flops.step(
            Step::new(
                other,
                if bias.enabled {
                    minus(num(cost.flops as i128), times(vec![num(2), num(steps_all)]))
                } else {
                    plus(num(cost.flops as i128), times(vec![num(2), num(steps_all)]))
                },
                other_value,
            )
            .note("two bias additions per gate output at every step, in every layer and direction"),
        );
        Ok(Explanation {
            sections: vec![header, params, macs, flops],
        })
    }
}
