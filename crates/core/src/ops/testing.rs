//! A small builder for one-node graphs, so each rule's tests state inputs,
//! attributes and hand-worked expectations in a few lines.

use bytes::Bytes;

use crate::analysis::{analyze, AnalysisOptions};
use crate::graph::{
    AttrValue, Attribute, DType, DeclaredType, Graph, Node, OpsetImports, Tensor, TensorData, Value,
};
use crate::report::{NodeReport, NodeStatus, Report};
use crate::shape::{format_shape, Dim};

pub struct NodeTest {
    graph: Graph,
    node: Node,
    opset: i64,
}

impl NodeTest {
    pub fn new(op_type: &str) -> Self {
        NodeTest {
            graph: Graph::default(),
            node: Node {
                name: "n".into(),
                op_type: op_type.into(),
                ..Node::default()
            },
            opset: 17,
        }
    }

    pub fn opset(mut self, v: i64) -> Self {
        self.opset = v;
        self
    }

    pub fn domain(mut self, d: &str) -> Self {
        self.node.domain = d.into();
        self
    }

    fn push_input(&mut self, value: Value, graph_input: bool) {
        let id = self.graph.add_value(value);
        if graph_input {
            self.graph.inputs.push(id);
        }
        crate::graph::appended(&mut self.node.inputs, Some(id));
    }

    fn next_name(&self) -> String {
        format!("in{}", self.node.inputs.len())
    }

    /// A float32 graph input of the given concrete shape.
    pub fn input(self, dims: &[i64]) -> Self {
        self.input_dims(dims.iter().map(|&d| Dim::int(d)).collect(), DType::F32)
    }

    /// A graph input with symbolic dims, e.g. `&["batch", "3", "224"]`.
    pub fn input_sym(self, dims: &[&str]) -> Self {
        let shape = dims
            .iter()
            .map(|d| {
                d.parse::<i64>()
                    .map(Dim::int)
                    .unwrap_or_else(|_| Dim::sym(d))
            })
            .collect();
        self.input_dims(shape, DType::F32)
    }

    pub fn input_dims(mut self, shape: Vec<Dim>, dtype: DType) -> Self {
        let name = self.next_name();
        self.push_input(
            Value {
                name: name.into(),
                declared: Some(Box::new(DeclaredType {
                    dtype: Some(dtype),
                    shape: Some(shape),
                })),
                initializer: None,
            },
            true,
        );
        self
    }

    /// A graph input whose shape is not declared.
    pub fn input_unknown(mut self) -> Self {
        let name = self.next_name();
        self.push_input(
            Value {
                name: name.into(),
                ..Value::default()
            },
            true,
        );
        self
    }

    /// A float32 initializer with dims only (weights stripped).
    pub fn weight(self, dims: &[i64]) -> Self {
        self.weight_typed(dims, DType::F32)
    }

    /// An initializer of `dtype` with dims only (weights stripped).
    pub fn weight_typed(mut self, dims: &[i64], dtype: DType) -> Self {
        let name = self.next_name();
        self.push_input(
            Value {
                name: name.into(),
                declared: None,
                initializer: Some(Box::new(Tensor {
                    dtype,
                    dims: dims.to_vec(),
                    data: TensorData::Absent,
                })),
            },
            false,
        );
        self
    }

    /// An int64 initializer with known elements (a shape, axes, pads).
    pub fn ints(mut self, values: &[i64]) -> Self {
        let name = self.next_name();
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push_input(
            Value {
                name: name.into(),
                declared: None,
                initializer: Some(Box::new(Tensor {
                    dtype: DType::I64,
                    dims: vec![values.len() as i64],
                    data: TensorData::Raw(Bytes::from(raw)),
                })),
            },
            false,
        );
        self
    }

    /// A float32 initializer with known elements (scales, bounds).
    pub fn floats(mut self, dims: &[i64], values: &[f64]) -> Self {
        let name = self.next_name();
        self.push_input(
            Value {
                name: name.into(),
                declared: None,
                initializer: Some(Box::new(Tensor {
                    dtype: DType::F32,
                    dims: dims.to_vec(),
                    data: TensorData::Floats(values.to_vec()),
                })),
            },
            false,
        );
        self
    }

    /// An omitted optional input.
    pub fn none(mut self) -> Self {
        crate::graph::appended(&mut self.node.inputs, None);
        self
    }

    pub fn attr(mut self, name: &str, value: AttrValue) -> Self {
        crate::graph::appended(
            &mut self.node.attributes,
            Attribute {
                name: name.into(),
                value,
            },
        );
        self
    }

    pub fn int(self, name: &str, v: i64) -> Self {
        self.attr(name, AttrValue::Int(v))
    }

    pub fn ints_attr(self, name: &str, v: &[i64]) -> Self {
        self.attr(name, AttrValue::Ints(v.to_vec()))
    }

    pub fn float(self, name: &str, v: f32) -> Self {
        self.attr(name, AttrValue::Float(v))
    }

    pub fn string(self, name: &str, v: &str) -> Self {
        self.attr(name, AttrValue::String(Bytes::from(v.to_string())))
    }

    /// Runs the analysis with `n_outputs` outputs.
    pub fn run_outputs(mut self, n_outputs: usize) -> Outcome {
        for k in 0..n_outputs {
            let id = self.graph.add_value(Value {
                name: format!("out{k}").into(),
                ..Value::default()
            });
            crate::graph::appended(&mut self.node.outputs, Some(id));
            self.graph.outputs.push(id);
        }
        self.graph.nodes.push(self.node);
        self.graph.opsets = OpsetImports(vec![(String::new(), self.opset)]);
        let report = analyze(&self.graph, &AnalysisOptions::default()).expect("analysis runs");
        Outcome { report }
    }

    pub fn run(self) -> Outcome {
        self.run_outputs(1)
    }
}

pub struct Outcome {
    pub report: Report,
}

impl Outcome {
    pub fn node(&self) -> &NodeReport {
        &self.report.nodes[0]
    }

    /// Output `i`'s shape as `1x64x112x112`, or `?` if unknown.
    pub fn shape(&self, i: usize) -> String {
        match &self.node().outputs[i].shape {
            Some(s) => format_shape(s),
            None => "?".into(),
        }
    }

    pub fn macs(&self) -> i128 {
        self.counted();
        self.node()
            .macs()
            .and_then(|p| p.as_constant())
            .expect("constant MACs")
    }

    pub fn flops(&self) -> i128 {
        self.counted();
        self.node()
            .flops()
            .and_then(|p| p.as_constant())
            .expect("constant FLOPs")
    }

    pub fn macs_expr(&self) -> String {
        self.node().macs().map_or("?".into(), |p| p.to_string())
    }

    pub fn flops_expr(&self) -> String {
        self.node().flops().map_or("?".into(), |p| p.to_string())
    }

    pub fn int_ops_expr(&self) -> String {
        self.node().int_ops().map_or("?".into(), |p| p.to_string())
    }

    pub fn params(&self) -> u64 {
        self.node().params
    }

    /// Bytes of the parameters, by their stored dtype.
    pub fn param_bytes(&self) -> u64 {
        self.report.totals.param_bytes
    }

    pub fn int_ops(&self) -> i128 {
        self.counted();
        self.node()
            .int_ops()
            .and_then(|p| p.as_constant())
            .expect("constant integer ops")
    }

    pub fn buffers(&self) -> u64 {
        self.node().buffers
    }

    pub fn status(&self) -> &NodeStatus {
        &self.node().status
    }

    fn counted(&self) {
        assert_eq!(self.status(), &NodeStatus::Counted, "node was not counted");
    }
}

/// A one-node test of an onnxruntime contrib operator (`com.microsoft`).
pub fn ms(op: &str) -> NodeTest {
    NodeTest::new(op).domain("com.microsoft")
}

/// Whether the node was reported incomplete with a reason containing
/// `needle`.
pub fn incomplete(r: &Outcome, needle: &str) -> bool {
    status_incomplete(r.status(), needle)
}

/// Whether `status` is incomplete with a reason containing `needle`.
pub fn status_incomplete(status: &NodeStatus, needle: &str) -> bool {
    matches!(status, NodeStatus::Incomplete { reason: m, .. } if m.contains(needle))
}
