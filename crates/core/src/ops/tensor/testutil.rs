//! Test helpers for this family: running one rule on hand-made facts (to
//! see tracked values, which reports do not carry), and a small builder
//! for multi-node graphs.

use std::collections::HashMap;

use bytes::Bytes;

use crate::analysis::{analyze, AnalysisOptions};
use crate::graph::{
    AttrValue, Attribute, DType, DeclaredType, Graph, Node, OpsetImports, Tensor, TensorData,
    Value, ValueId,
};
use crate::ops::{lookup, NodeCtx, OpError};
use crate::report::{NodeStatus, Report};
use crate::shape::{format_shape, Dim};
use crate::value::{ConstValue, ValueFacts};

/// Parses `"batch"`, `"3"` or `"?"` into a dim.
pub fn dim(s: &str) -> Dim {
    match s {
        "?" => Dim::Unknown,
        _ => s
            .parse::<i64>()
            .map(Dim::int)
            .unwrap_or_else(|_| Dim::sym(s)),
    }
}

pub fn dims(s: &[&str]) -> Vec<Dim> {
    s.iter().map(|d| dim(d)).collect()
}

/// A float32 activation of the given shape.
pub fn act(shape: &[&str]) -> ValueFacts {
    ValueFacts::new(Some(DType::F32), Some(dims(shape)))
}

/// An int64 tensor of the given shape with known (possibly symbolic)
/// elements.
pub fn ints_nd(shape: &[i64], elems: &[&str]) -> ValueFacts {
    ValueFacts {
        dtype: Some(DType::I64),
        shape: Some(shape.iter().map(|&d| Dim::int(d)).collect()),
        value: Some(ConstValue::Ints(dims(elems))),
        sequence: None,
        pattern: None,
    }
}

/// A 1-D int64 tensor with known (possibly symbolic) elements.
pub fn ints(elems: &[&str]) -> ValueFacts {
    ints_nd(&[elems.len() as i64], elems)
}

/// An int64 scalar.
pub fn scalar(v: &str) -> ValueFacts {
    ints_nd(&[], &[v])
}

/// A float32 tensor with known elements.
pub fn floats_nd(shape: &[i64], elems: &[f64]) -> ValueFacts {
    ValueFacts {
        dtype: Some(DType::F32),
        shape: Some(shape.iter().map(|&d| Dim::int(d)).collect()),
        value: Some(ConstValue::Floats(elems.to_vec())),
        sequence: None,
        pattern: None,
    }
}

/// An int64 1-D input of known length whose elements are not known.
pub fn unknown_ints(len: i64) -> ValueFacts {
    ValueFacts::new(Some(DType::I64), Some(vec![Dim::int(len)]))
}

pub fn ints_attr(v: &[i64]) -> AttrValue {
    AttrValue::Ints(v.to_vec())
}

pub fn tensor_attr(dtype: DType, dims: &[i64], data: TensorData) -> AttrValue {
    AttrValue::Tensor(Box::new(Tensor {
        dtype,
        dims: dims.to_vec(),
        data,
    }))
}

/// What one rule produced.
pub struct Run {
    pub result: Result<(), OpError>,
    pub outputs: Vec<ValueFacts>,
}

impl Run {
    pub fn shape(&self, i: usize) -> String {
        match &self.outputs[i].shape {
            Some(s) => format_shape(s),
            None => "?".into(),
        }
    }

    pub fn dtype(&self, i: usize) -> Option<DType> {
        self.outputs[i].dtype
    }

    /// Output `i`'s tracked elements as `[batch, 3, 224]`, or `none`.
    pub fn value(&self, i: usize) -> String {
        match &self.outputs[i].value {
            None => "none".into(),
            Some(ConstValue::Ints(v)) => {
                format!(
                    "[{}]",
                    v.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Some(ConstValue::Floats(v)) => {
                format!(
                    "[{}]",
                    v.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
    }

    pub fn ok(&self) -> bool {
        self.result.is_ok()
    }

    pub fn data_dependent(&self) -> bool {
        matches!(self.result, Err(OpError::DataDependent(_)))
    }

    pub fn invalid(&self) -> bool {
        matches!(self.result, Err(OpError::Invalid(_)))
    }
}

/// Runs the rule of `op` (default domain) on the given input facts (`None`
/// for an omitted input) with `n_out` outputs.
pub fn run_rule(
    op: &str,
    opset: i64,
    inputs: &[Option<ValueFacts>],
    attrs: &[(&str, AttrValue)],
    n_out: usize,
) -> Run {
    let node = Node {
        name: "n".into(),
        op_type: op.into(),
        domain: Default::default(),
        inputs: (0..inputs.len())
            .map(|i| inputs[i].as_ref().map(|_| i))
            .collect(),
        outputs: (0..n_out).map(|i| Some(100 + i)).collect(),
        attributes: attrs
            .iter()
            .map(|(n, v)| Attribute {
                name: n.to_string().into(),
                value: v.clone(),
            })
            .collect(),
        origin: None,
    };
    let def = lookup("", op).expect("op is registered");
    let names: Vec<String> = (0..inputs.len()).map(|i| format!("in{i}")).collect();
    let mut ctx = NodeCtx::new(
        &node,
        opset,
        inputs.iter().map(|f| f.as_ref()).collect(),
        names.iter().map(String::as_str).collect(),
    );
    let result = (def.rule)(&mut ctx);
    Run {
        result,
        outputs: ctx.outputs.clone(),
    }
}

/// A multi-node graph built by value names.
#[derive(Default)]
pub struct GraphBuilder {
    graph: Graph,
    ids: HashMap<String, ValueId>,
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn id(&mut self, name: &str) -> ValueId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.graph.add_value(Value {
            name: name.into(),
            ..Value::default()
        });
        self.ids.insert(name.into(), id);
        id
    }

    /// A float32 graph input with dims like `["batch", "3", "224"]`.
    pub fn input(&mut self, name: &str, shape: &[&str]) -> &mut Self {
        let id = self.id(name);
        self.graph.values[id].declared = Some(Box::new(DeclaredType {
            dtype: Some(DType::F32),
            shape: Some(dims(shape)),
        }));
        self.graph.inputs.push(id);
        self
    }

    /// An int64 initializer with known elements.
    pub fn ints(&mut self, name: &str, shape: &[i64], values: &[i64]) -> &mut Self {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.init(name, DType::I64, shape, TensorData::Raw(Bytes::from(raw)))
    }

    /// A float32 initializer whose elements are not stored.
    pub fn weight(&mut self, name: &str, shape: &[i64]) -> &mut Self {
        self.init(name, DType::F32, shape, TensorData::Absent)
    }

    /// An initializer of any dtype with the given storage.
    pub fn init(&mut self, name: &str, dtype: DType, shape: &[i64], data: TensorData) -> &mut Self {
        let id = self.id(name);
        self.graph.values[id].initializer = Some(Box::new(Tensor {
            dtype,
            dims: shape.to_vec(),
            data,
        }));
        self
    }

    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: &[(&str, AttrValue)],
    ) -> &mut Self {
        let node = Node {
            name: outputs
                .first()
                .map_or(String::new(), |o| format!("{op}:{o}"))
                .into(),
            op_type: op.into(),
            domain: Default::default(),
            inputs: inputs
                .iter()
                .map(|i| (!i.is_empty()).then(|| self.id(i)))
                .collect(),
            outputs: outputs.iter().map(|o| Some(self.id(o))).collect(),
            attributes: attrs
                .iter()
                .map(|(n, v)| Attribute {
                    name: n.to_string().into(),
                    value: v.clone(),
                })
                .collect(),
            origin: None,
        };
        self.graph.nodes.push(node);
        self
    }

    pub fn run(&mut self, opset: i64) -> GraphRun {
        self.run_bound(opset, &[])
    }

    /// Runs with symbols bound (`--dim`).
    pub fn run_bound(&mut self, opset: i64, dims: &[(&str, i64)]) -> GraphRun {
        self.graph.opsets = OpsetImports(vec![(String::new(), opset)]);
        let options = AnalysisOptions {
            dims: dims.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..AnalysisOptions::default()
        };
        let report = analyze(&self.graph, &options).expect("analysis runs");
        GraphRun { report }
    }
}

pub struct GraphRun {
    pub report: Report,
}

impl GraphRun {
    /// Shape of the value named `name`, as produced by its node.
    pub fn shape(&self, name: &str) -> String {
        for n in &self.report.nodes {
            for o in &n.outputs {
                if o.name == name {
                    return o.shape.as_ref().map_or("?".into(), |s| format_shape(s));
                }
            }
        }
        panic!("no node produces '{name}'")
    }

    /// Whether every node was counted.
    pub fn all_counted(&self) -> bool {
        self.report
            .nodes
            .iter()
            .all(|n| n.status == NodeStatus::Counted)
    }

    pub fn statuses(&self) -> Vec<(String, NodeStatus)> {
        self.report
            .nodes
            .iter()
            .map(|n| (n.name.to_string(), n.status.clone()))
            .collect()
    }
}
