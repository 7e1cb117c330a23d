//! A graph written the way a Hugging Face model computes: every weight
//! under the name and shape its checkpoint uses, every node under the
//! module path it belongs to, so the report's hierarchy is the model's and
//! a safetensors header can be checked name by name.

use nncost_core::graph::{Attribute, DType, Origin, ValueId};
use nncost_core::ops::checkpoint;
use std::sync::Arc;

use crate::checkpoint::{Storage, Stored};
use nncost_core::layers::builder::{self, GraphBuilder};
use nncost_core::shape::Shape;
use nncost_core::Graph;

/// What a checkpoint tensor is, for the parameter split a report gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorRole {
    /// A lookup table (`nn.Embedding`): token, position or token-type
    /// embeddings, which `num_parameters(exclude_embeddings=True)` leaves out.
    Embedding,
    /// Any other learned tensor.
    Weight,
    /// Experts' weights of a mixture, of which each token uses `k` of `E`.
    Experts { experts: i64, active: i64 },
    /// Non-trainable state saved with the model (a router's score bias).
    Buffer,
}

/// One tensor of the checkpoint: its name and shape as the model's own
/// code stores it (a `Linear` weight is `[out, in]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<i64>,
    pub role: TensorRole,
    /// For a matrix a product reads (a linear layer's weight, an expert's):
    /// the axis its dot products run along, which a quantizer groups.
    pub fan_in: Option<usize>,
}

impl TensorSpec {
    /// The number of elements. Configs bound every size by 2^31 and a
    /// tensor has at most 4 axes, so this never overflows.
    pub fn elements(&self) -> u128 {
        self.shape.iter().map(|&d| d.max(0) as u128).product()
    }
}

/// How a norm layer computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// RMSNorm with a scale.
    Rms,
    /// LayerNorm with a scale and, if `bias`, a shift.
    Layer { bias: bool },
    /// LayerNorm without learned parameters (OLMo 1).
    LayerPlain,
}

/// Activation functions of the MLPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Silu,
    Gelu,
    GeluTanh,
    QuickGelu,
    Relu,
}

impl Act {
    pub fn parse(name: &str) -> Option<Act> {
        Some(match name {
            "silu" | "swish" => Act::Silu,
            "gelu" => Act::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" | "gelu_approx" => Act::GeluTanh,
            "quick_gelu" => Act::QuickGelu,
            "relu" => Act::Relu,
            _ => return None,
        })
    }
}

pub(crate) struct Net<'s> {
    b: GraphBuilder,
    pub tensors: Vec<TensorSpec>,
    /// The module path the next nodes belong to, outermost first, with each
    /// module's class.
    modules: Vec<(String, &'static str)>,
    /// `modules` as nodes hold it, one entry per module entered (every node
    /// of a module shares it; leaving restores the parent's).
    shared: Vec<Arc<Origin>>,
    /// How a checkpoint stores each tensor, when one was read.
    storage: Option<&'s Storage>,
}

impl<'s> Net<'s> {
    pub fn new(name: &str, storage: Option<&'s Storage>) -> Net<'s> {
        Net {
            b: GraphBuilder::new(name),
            tensors: Vec::new(),
            modules: Vec::new(),
            shared: Vec::new(),
            storage,
        }
    }

    /// The module path of `child` under the current module.
    pub fn path(&self, child: &str) -> String {
        match self.modules.last() {
            Some((p, _)) if !p.is_empty() => format!("{p}.{child}"),
            _ => child.to_string(),
        }
    }

    /// Nodes added until [`Net::leave`] belong to module `child`.
    pub fn enter(&mut self, child: &str, class: &'static str) {
        let path = self.path(child);
        let (mut scopes, mut classes) = match self.shared.last() {
            Some(o) => (o.scopes.to_vec(), o.module_classes.to_vec()),
            None => (Vec::new(), Vec::new()),
        };
        scopes.push(Arc::from(path.as_str()));
        classes.push(Arc::from(class));
        self.shared.push(Arc::new(Origin {
            scopes: scopes.into(),
            module_classes: classes.into(),
            source_op: String::new(),
        }));
        self.modules.push((path, class));
    }

    pub fn leave(&mut self) {
        self.modules.pop();
        self.shared.pop();
    }

    pub fn input(&mut self, name: &str, shape: Shape) -> ValueId {
        self.b.input(name, shape)
    }

    pub fn int_input(&mut self, name: &str, shape: Shape) -> ValueId {
        self.b.int_input(name, shape)
    }

    pub fn output(&mut self, v: ValueId) {
        self.b.output(v);
    }

    pub fn finish(self) -> (Graph, Vec<TensorSpec>) {
        (self.b.finish(), self.tensors)
    }

    /// A node of the default domain in the current module.
    pub fn op(&mut self, op: &str, inputs: &[Option<ValueId>], attrs: Vec<Attribute>) -> ValueId {
        self.op_in("", op, inputs, attrs)
    }

    /// A node of `domain` in the current module.
    pub fn op_in(
        &mut self,
        domain: &str,
        op: &str,
        inputs: &[Option<ValueId>],
        attrs: Vec<Attribute>,
    ) -> ValueId {
        let name = match self.modules.last() {
            Some((p, _)) => format!("{p}/{op}"),
            None => op.to_string(),
        };
        let out = self.b.node_in(domain, op, &name, inputs, attrs);
        let origin = self.shared.last().cloned();
        if let Some(n) = self.b.last_node_mut() {
            n.origin = origin;
        }
        out
    }

    /// One more output of the node added last.
    pub fn extra_output(&mut self, name: &str) -> ValueId {
        self.b
            .extra_output(name)
            .expect("extra_output follows a node")
    }

    /// A checkpoint tensor named `child` of the current module, held in the
    /// graph with dims `graph_dims` (a `MatMul` operand is `[in, out]`).
    pub fn tensor(
        &mut self,
        child: &str,
        shape: &[i64],
        graph_dims: &[i64],
        role: TensorRole,
    ) -> ValueId {
        let name = self.path(child);
        self.tensors.push(TensorSpec {
            name: name.clone(),
            shape: shape.to_vec(),
            role,
            fan_in: None,
        });
        match self.storage.and_then(|s| s.get(&name)) {
            None => self.b.weight(&name, graph_dims),
            Some(Stored::Typed(dtype)) => self.b.weight_typed(&name, graph_dims, *dtype),
            Some(Stored::Blocks { bytes, format }) => {
                // The file's bytes, given their logical shape by a node.
                let (bytes, format) = (*bytes as i64, format.clone());
                let raw = self.b.weight_typed(&name, &[bytes], DType::U8);
                self.op_in(
                    checkpoint::DOMAIN,
                    "DequantizeGgml",
                    &[Some(raw)],
                    vec![
                        builder::ints("shape", graph_dims),
                        builder::string("format", &format),
                    ],
                )
            }
        }
    }

    /// The tensor recorded last is a matrix whose dot products run along
    /// `axis`.
    pub fn mark_fan_in(&mut self, axis: usize) {
        if let Some(t) = self.tensors.last_mut() {
            t.fan_in = Some(axis);
        }
    }

    /// A tensor the checkpoint holds that the computation counted here
    /// does not use (a router's score-correction buffer).
    pub fn record(&mut self, child: &str, shape: &[i64], role: TensorRole) {
        let name = self.path(child);
        self.tensors.push(TensorSpec {
            name,
            shape: shape.to_vec(),
            role,
            fan_in: None,
        });
    }

    pub fn ints(&mut self, values: &[i64]) -> ValueId {
        self.b.ints("const", values)
    }

    /// A one-element float constant (a scale, a cap): never a parameter.
    pub fn scalar(&mut self, v: f64) -> ValueId {
        self.b.floats("scalar", &[], &[v])
    }

    /// `nn.Linear(fan_in, fan_out)` as module `child`: `MatMul` with the
    /// weight `[out, in]` stored transposed as exporters do, `Add` for the
    /// bias. `conv1d` is GPT-2's `Conv1D`, whose weight is stored `[in, out]`.
    pub fn linear(
        &mut self,
        x: ValueId,
        child: &str,
        fan_in: i64,
        fan_out: i64,
        bias: bool,
    ) -> ValueId {
        self.linear_as(x, child, fan_in, fan_out, bias, false)
    }

    pub fn linear_as(
        &mut self,
        x: ValueId,
        child: &str,
        fan_in: i64,
        fan_out: i64,
        bias: bool,
        conv1d: bool,
    ) -> ValueId {
        self.enter(child, if conv1d { "Conv1D" } else { "Linear" });
        let shape = if conv1d {
            [fan_in, fan_out]
        } else {
            [fan_out, fan_in]
        };
        let w = self.tensor("weight", &shape, &[fan_in, fan_out], TensorRole::Weight);
        self.mark_fan_in(if conv1d { 0 } else { 1 });
        let mut y = self.op("MatMul", &[Some(x), Some(w)], vec![]);
        if bias {
            let b = self.tensor("bias", &[fan_out], &[fan_out], TensorRole::Weight);
            y = self.op("Add", &[Some(y), Some(b)], vec![]);
        }
        self.leave();
        y
    }

    /// A norm layer `child` over the last axis of width `width`.
    pub fn norm(&mut self, x: ValueId, child: &str, width: i64, norm: Norm) -> ValueId {
        let class = match norm {
            Norm::Rms => "RMSNorm",
            _ => "LayerNorm",
        };
        self.enter(child, class);
        let y = match norm {
            Norm::Rms => {
                let w = self.tensor("weight", &[width], &[width], TensorRole::Weight);
                self.op("RMSNormalization", &[Some(x), Some(w)], vec![])
            }
            Norm::Layer { bias } => {
                let w = self.tensor("weight", &[width], &[width], TensorRole::Weight);
                let b = bias.then(|| self.tensor("bias", &[width], &[width], TensorRole::Weight));
                self.op("LayerNormalization", &[Some(x), Some(w), b], vec![])
            }
            Norm::LayerPlain => {
                // A scale of 1 computed by a node, not stored: no parameter,
                // the arithmetic of a LayerNorm.
                let one = self.op("Constant", &[], vec![builder::float("value_float", 1.0)]);
                self.op("LayerNormalization", &[Some(x), Some(one)], vec![])
            }
        };
        self.leave();
        y
    }

    /// `nn.Embedding(rows, width)` as module `child`, looked up by `ids`;
    /// returns the table too (a tied LM head reads it again).
    pub fn embedding(
        &mut self,
        ids: ValueId,
        child: &str,
        rows: i64,
        width: i64,
    ) -> (ValueId, ValueId) {
        self.enter(child, "Embedding");
        let table = self.tensor(
            "weight",
            &[rows, width],
            &[rows, width],
            TensorRole::Embedding,
        );
        let y = self.op("Gather", &[Some(table), Some(ids)], vec![]);
        self.leave();
        (y, table)
    }

    /// Rotary cos and sin caches `[positions, half]`: constants of the
    /// formula (roles that never count as parameters).
    pub fn rotary_tables(&mut self, positions: i64, half: i64) -> (ValueId, ValueId) {
        (
            self.b.weight("cos_cache", &[positions, half]),
            self.b.weight("sin_cache", &[positions, half]),
        )
    }

    pub fn activation(&mut self, x: ValueId, act: Act) -> ValueId {
        match act {
            Act::Silu => {
                let s = self.op("Sigmoid", &[Some(x)], vec![]);
                self.op("Mul", &[Some(x), Some(s)], vec![])
            }
            Act::Gelu => self.op("Gelu", &[Some(x)], vec![]),
            Act::GeluTanh => self.op(
                "Gelu",
                &[Some(x)],
                vec![builder::string("approximate", "tanh")],
            ),
            Act::QuickGelu => {
                let k = self.scalar(1.702);
                let kx = self.op("Mul", &[Some(x), Some(k)], vec![]);
                let s = self.op("Sigmoid", &[Some(kx)], vec![]);
                self.op("Mul", &[Some(x), Some(s)], vec![])
            }
            Act::Relu => self.op("Relu", &[Some(x)], vec![]),
        }
    }

    pub fn add(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.op("Add", &[Some(a), Some(b)], vec![])
    }

    pub fn mul(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.op("Mul", &[Some(a), Some(b)], vec![])
    }

    /// `c·tanh(x/c)`: Gemma 2's soft cap on scores or logits.
    pub fn softcap(&mut self, x: ValueId, cap: f64) -> ValueId {
        let c = self.scalar(cap);
        let d = self.op("Div", &[Some(x), Some(c)], vec![]);
        let t = self.op("Tanh", &[Some(d)], vec![]);
        self.op("Mul", &[Some(t), Some(c)], vec![])
    }

    /// Reshape to `dims` (0 keeps an axis, as ONNX's `Reshape`).
    pub fn reshape(&mut self, x: ValueId, dims: &[i64]) -> ValueId {
        let s = self.ints(dims);
        self.op("Reshape", &[Some(x), Some(s)], vec![])
    }

    /// Splits the last axis into parts of the given sizes.
    pub fn split(&mut self, x: ValueId, sizes: &[i64]) -> Vec<ValueId> {
        let s = self.ints(sizes);
        let first = self.op("Split", &[Some(x), Some(s)], vec![builder::int("axis", -1)]);
        let mut outs = vec![first];
        for i in 1..sizes.len() {
            outs.push(self.extra_output(&format!("split{i}")));
        }
        outs
    }

    pub fn concat_last(&mut self, parts: &[ValueId]) -> ValueId {
        let inputs: Vec<Option<ValueId>> = parts.iter().map(|&p| Some(p)).collect();
        self.op("Concat", &inputs, vec![builder::int("axis", -1)])
    }
}
