//! Activation functions and softmax, by name: the ONNX operator a PyTorch
//! module exports to (`relu` → `Relu`, `relu6` → `Clip(0, 6)`, `silu` →
//! `Sigmoid` then `Mul`). Their cost per element is the engine's rule for
//! those operators.

use super::builder::{float, int, string};
use super::explain::{minus, num, sum, times, Explanation, Expr, Section, Step};
use super::pool::no_weights;
use super::{node_counts, prod, sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::ops;
use crate::shape::Dim;

/// One activation the calculator knows by name.
pub struct ActivationDef {
    /// The name on the command line and in network descriptions.
    pub name: &'static str,
    /// Other accepted names.
    pub aliases: &'static [&'static str],
    /// The PyTorch module it stands for.
    pub pytorch: &'static str,
    build: fn(&Activation, &mut GraphBuilder, &str, ValueId, &[i64]) -> ValueId,
}

fn single(op: &'static str) -> impl Fn(&mut GraphBuilder, &str, ValueId) -> ValueId {
    move |b, name, x| b.node(op, name, &[Some(x)], vec![])
}

/// Every activation the calculator knows, in the order `--help` lists them.
pub const ACTIVATIONS: &[ActivationDef] = &[
    ActivationDef {
        name: "relu",
        aliases: &[],
        pytorch: "ReLU",
        build: |_, b, n, x, _| single("Relu")(b, n, x),
    },
    ActivationDef {
        name: "relu6",
        aliases: &[],
        pytorch: "ReLU6",
        build: |_, b, n, x, _| clip(b, n, x, 0.0, 6.0),
    },
    ActivationDef {
        name: "hardtanh",
        aliases: &[],
        pytorch: "Hardtanh",
        build: |_, b, n, x, _| clip(b, n, x, -1.0, 1.0),
    },
    ActivationDef {
        name: "leaky-relu",
        aliases: &[],
        pytorch: "LeakyReLU",
        build: |_, b, n, x, _| b.node("LeakyRelu", n, &[Some(x)], vec![float("alpha", 0.01)]),
    },
    ActivationDef {
        name: "prelu",
        aliases: &[],
        pytorch: "PReLU",
        build: |a, b, n, x, dims| {
            // One slope shared by all channels (PyTorch's default), or one
            // per channel, broadcast over the spatial axes.
            let slope: Vec<i64> = if a.per_channel {
                std::iter::once(dims[0])
                    .chain(std::iter::repeat_n(1, dims.len() - 1))
                    .collect()
            } else {
                vec![1]
            };
            let w = b.weight(&format!("{n}.weight"), &slope);
            b.node("PRelu", n, &[Some(x), Some(w)], vec![])
        },
    },
    ActivationDef {
        name: "elu",
        aliases: &[],
        pytorch: "ELU",
        build: |_, b, n, x, _| single("Elu")(b, n, x),
    },
    ActivationDef {
        name: "selu",
        aliases: &[],
        pytorch: "SELU",
        build: |_, b, n, x, _| single("Selu")(b, n, x),
    },
    ActivationDef {
        name: "celu",
        aliases: &[],
        pytorch: "CELU",
        build: |_, b, n, x, _| single("Celu")(b, n, x),
    },
    ActivationDef {
        name: "sigmoid",
        aliases: &[],
        pytorch: "Sigmoid",
        build: |_, b, n, x, _| single("Sigmoid")(b, n, x),
    },
    ActivationDef {
        name: "tanh",
        aliases: &[],
        pytorch: "Tanh",
        build: |_, b, n, x, _| single("Tanh")(b, n, x),
    },
    ActivationDef {
        name: "hardsigmoid",
        aliases: &[],
        pytorch: "Hardsigmoid",
        build: |_, b, n, x, _| {
            let attrs = vec![float("alpha", 1.0 / 6.0), float("beta", 0.5)];
            b.node("HardSigmoid", n, &[Some(x)], attrs)
        },
    },
    ActivationDef {
        name: "hardswish",
        aliases: &[],
        pytorch: "Hardswish",
        build: |_, b, n, x, _| single("HardSwish")(b, n, x),
    },
    ActivationDef {
        name: "silu",
        aliases: &["swish"],
        pytorch: "SiLU",
        build: |_, b, n, x, _| {
            let s = b.node("Sigmoid", &format!("{n}/sigmoid"), &[Some(x)], vec![]);
            b.node("Mul", n, &[Some(x), Some(s)], vec![])
        },
    },
    ActivationDef {
        name: "gelu",
        aliases: &[],
        pytorch: "GELU",
        build: |_, b, n, x, _| single("Gelu")(b, n, x),
    },
    ActivationDef {
        name: "gelu-tanh",
        aliases: &[],
        pytorch: "GELU(approximate='tanh')",
        build: |_, b, n, x, _| b.node("Gelu", n, &[Some(x)], vec![string("approximate", "tanh")]),
    },
    ActivationDef {
        name: "mish",
        aliases: &[],
        pytorch: "Mish",
        build: |_, b, n, x, _| single("Mish")(b, n, x),
    },
    ActivationDef {
        name: "softplus",
        aliases: &[],
        pytorch: "Softplus",
        build: |_, b, n, x, _| single("Softplus")(b, n, x),
    },
    ActivationDef {
        name: "softsign",
        aliases: &[],
        pytorch: "Softsign",
        build: |_, b, n, x, _| single("Softsign")(b, n, x),
    },
    ActivationDef {
        name: "softmax",
        aliases: &[],
        pytorch: "Softmax",
        build: |a, b, n, x, dims| {
            b.node(
                "Softmax",
                n,
                &[Some(x)],
                vec![int("axis", a.graph_axis(dims))],
            )
        },
    },
    ActivationDef {
        name: "log-softmax",
        aliases: &[],
        pytorch: "LogSoftmax",
        build: |a, b, n, x, dims| {
            b.node(
                "LogSoftmax",
                n,
                &[Some(x)],
                vec![int("axis", a.graph_axis(dims))],
            )
        },
    },
];

fn clip(b: &mut GraphBuilder, name: &str, x: ValueId, lo: f64, hi: f64) -> ValueId {
    let min = b.floats(&format!("{name}.min"), &[], &[lo]);
    let max = b.floats(&format!("{name}.max"), &[], &[hi]);
    b.node("Clip", name, &[Some(x), Some(min), Some(max)], vec![])
}

/// `relu`, `LeakyReLU`, `leaky_relu` and `LeakyRelu` are one name.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Finds an activation by its name, an alias, or its ONNX operator or
/// PyTorch module name, ignoring case, `-` and `_`.
pub fn find_activation(name: &str) -> Option<&'static ActivationDef> {
    let want = normalise(name);
    ACTIVATIONS.iter().find(|d| {
        normalise(d.name) == want
            || normalise(d.pytorch) == want
            || d.aliases.iter().any(|a| normalise(a) == want)
    })
}

/// An activation layer.
///
/// ```
/// use nncost_core::layers::{Activation, Layer};
///
/// let relu = Activation::new("relu").unwrap().cost(&[64, 112, 112]).unwrap();
/// assert_eq!(relu.flops, 64 * 112 * 112); // one comparison per element
/// let silu = Activation::new("SiLU").unwrap().cost(&[64, 112, 112]).unwrap();
/// assert_eq!(silu.flops, 5 * 64 * 112 * 112); // sigmoid 4, then a multiply
/// let softmax = Activation::new("softmax").unwrap().cost(&[1000]).unwrap();
/// assert_eq!(softmax.flops, 5 * 1000 - 2);
/// ```
#[derive(Clone, Copy)]
pub struct Activation {
    pub def: &'static ActivationDef,
    /// Softmax's axis within the sample (negative from the end).
    pub axis: i64,
    /// PReLU: one slope per channel instead of one shared slope.
    pub per_channel: bool,
}

impl std::fmt::Debug for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activation")
            .field("name", &self.def.name)
            .field("axis", &self.axis)
            .field("per_channel", &self.per_channel)
            .finish()
    }
}

impl Activation {
    /// The activation of that name (see [`find_activation`]).
    pub fn new(name: &str) -> Result<Activation, LayerError> {
        let def = find_activation(name).ok_or_else(|| {
            LayerError::Invalid(format!(
                "unknown activation '{name}'; known: {}",
                ACTIVATIONS
                    .iter()
                    .map(|d| d.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        Ok(Activation {
            def,
            axis: -1,
            per_channel: false,
        })
    }

    pub fn axis(mut self, axis: i64) -> Activation {
        self.axis = axis;
        self
    }

    pub fn per_channel(mut self, per_channel: bool) -> Activation {
        self.per_channel = per_channel;
        self
    }

    fn is_softmax(&self) -> bool {
        matches!(self.def.name, "softmax" | "log-softmax")
    }

    /// The sample's axis, checked and made non-negative.
    fn sample_axis(&self, rank: usize) -> Result<usize, LayerError> {
        let r = rank as i64;
        let a = if self.axis < 0 {
            self.axis + r
        } else {
            self.axis
        };
        if (0..r).contains(&a) {
            Ok(a as usize)
        } else {
            Err(LayerError::Invalid(format!(
                "axis {} is out of range for a sample of {r} axes",
                self.axis
            )))
        }
    }

    /// The graph's axis (the batch axis comes first).
    fn graph_axis(&self, dims: &[i64]) -> i64 {
        self.sample_axis(dims.len()).map_or(-1, |a| a as i64 + 1)
    }
}

impl Layer for Activation {
    fn kind(&self) -> &'static str {
        self.def.name
    }

    fn describe(&self) -> String {
        let mut d = format!("{} (PyTorch {})", self.def.name, self.def.pytorch);
        if self.is_softmax() {
            d.push_str(&format!(", axis {}", self.axis));
        }
        if self.def.name == "prelu" {
            d.push_str(if self.per_channel {
                ", one slope per channel"
            } else {
                ", one shared slope"
            });
        }
        d
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let dims = sample_dims(shape)?;
        if dims.is_empty() && (self.is_softmax() || self.per_channel) {
            return Err(LayerError::Invalid(format!(
                "{} needs at least one axis",
                self.def.name
            )));
        }
        if self.is_softmax() {
            self.sample_axis(dims.len())?;
        } else if self.axis != -1 {
            return Err(LayerError::Invalid(format!(
                "{} has no axis: only softmax and log-softmax do",
                self.def.name
            )));
        }
        if self.per_channel && self.def.name != "prelu" {
            return Err(LayerError::Invalid(format!(
                "{} has no slope: only prelu has one per channel",
                self.def.name
            )));
        }
        Ok((self.def.build)(self, b, name, x, &dims))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let dims = &cost.input_shape;
        let numel = prod(dims);
        let docs: Vec<String> = cost
            .report
            .nodes
            .iter()
            .map(|n| {
                let doc = ops::lookup(&n.domain, &n.op_type).map_or("", |d| d.cost_doc);
                format!("{}: {doc}", n.op_type)
            })
            .collect();
        let flops = if self.is_softmax() {
            let a = self.sample_axis(dims.len())?;
            let n = dims[a];
            let rows: Vec<Expr> = dims
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != a)
                .map(|(_, &d)| num(d))
                .collect();
            let per_row = minus(
                times(vec![num(5), num(n)]),
                num(if self.def.name == "softmax" { 2 } else { 1 }),
            );
            let form = if rows.is_empty() {
                per_row
            } else {
                times(rows.into_iter().chain(std::iter::once(per_row)).collect())
            };
            Section::new(format!(
                "FLOPs per row of n = {n} along axis {}, the engine's rule ({})",
                self.axis,
                docs.join("; ")
            ))
            .step(Step::new("FLOPs", form, cost.flops as i128))
        } else {
            // Elementwise: the engine's FLOPs per element for each operator.
            let per: Vec<Expr> = cost
                .report
                .nodes
                .iter()
                .map(|n| {
                    num(if numel == 0 {
                        0
                    } else {
                        node_counts(n).1 / numel
                    })
                })
                .collect();
            let per = if per.len() == 1 {
                per.into_iter().next().unwrap_or(num(0))
            } else {
                sum(per.into_iter().map(|e| (false, e)).collect())
            };
            let mut factors = vec![per];
            factors.extend(dims.iter().map(|&d| num(d)));
            Section::new(format!(
                "FLOPs: a fixed number per element, by the engine's rule for {} ({})",
                if docs.len() == 1 {
                    "the operator"
                } else {
                    "each operator"
                },
                docs.join("; ")
            ))
            .step(Step::new("FLOPs", times(factors), cost.flops as i128))
        };
        let params = if cost.params > 0 {
            Section::new("Params: the slope of PReLU, one shared or one per channel").step(
                Step::new(
                    "params",
                    if self.per_channel {
                        num(dims[0])
                    } else {
                        num(1)
                    },
                    cost.params as i128,
                ),
            )
        } else {
            no_weights()
        };
        Ok(Explanation {
            sections: vec![params, flops],
        })
    }
}
