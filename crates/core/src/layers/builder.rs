//! Building a [`Graph`] by hand: what a model file would hold, written by
//! the layer calculator and by readers of hand-written network descriptions.
//! Weights are described by their dims only; their values are never needed.

use bytes::Bytes;

use crate::analysis::LATEST_OPSET;
use crate::graph::{
    AttrValue, Attribute, DType, DeclaredType, Graph, Node, OpsetImports, Tensor, TensorData,
    Value, ValueId,
};
use crate::shape::Shape;

/// Appends values and nodes to a graph, keeping value names unique.
#[derive(Clone, Debug)]
pub struct GraphBuilder {
    graph: Graph,
    names: crate::fxhash::NameSet<String>,
    /// The next suffix to try for each name asked more than once, so that
    /// the n-th `const` costs one probe, not n.
    next_suffix: crate::fxhash::NameMap<String, usize>,
}

impl GraphBuilder {
    /// An empty graph at the newest default-domain opset nncost knows.
    pub fn new(name: &str) -> GraphBuilder {
        GraphBuilder {
            graph: Graph {
                name: name.to_string(),
                opsets: OpsetImports(vec![(String::new(), LATEST_OPSET)]),
                ..Graph::default()
            },
            names: Default::default(),
            next_suffix: Default::default(),
        }
    }

    /// A name not used yet: `name`, else `name#2`, `name#3`, …
    fn unique(&mut self, name: &str) -> String {
        let mut candidate = name.to_string();
        if self.names.contains(name) {
            let k = self.next_suffix.entry(name.to_string()).or_insert(2);
            loop {
                candidate = format!("{name}#{k}");
                *k += 1;
                if !self.names.contains(&candidate) {
                    break;
                }
            }
        }
        self.names.insert(candidate.clone());
        candidate
    }

    fn value(
        &mut self,
        name: &str,
        declared: Option<DeclaredType>,
        init: Option<Tensor>,
    ) -> ValueId {
        let name = self.unique(name);
        self.graph.add_value(Value {
            name: name.into(),
            declared: declared.map(Box::new),
            initializer: init.map(Box::new),
        })
    }

    /// A float32 graph input of the given shape.
    pub fn input(&mut self, name: &str, shape: Shape) -> ValueId {
        self.typed_input(name, DType::F32, shape)
    }

    /// A graph input of the given type and shape (int64 token ids).
    pub fn typed_input(&mut self, name: &str, dtype: DType, shape: Shape) -> ValueId {
        let id = self.value(
            name,
            Some(DeclaredType {
                dtype: Some(dtype),
                shape: Some(shape),
            }),
            None,
        );
        self.graph.inputs.push(id);
        id
    }

    /// A float32 weight of the given dims (its elements are not stored).
    pub fn weight(&mut self, name: &str, dims: &[i64]) -> ValueId {
        self.value(
            name,
            None,
            Some(Tensor {
                dtype: DType::F32,
                dims: dims.to_vec(),
                data: TensorData::Absent,
            }),
        )
    }

    /// A weight of the given dims stored as `dtype` (a checkpoint's own
    /// dtype; its elements are not stored).
    pub fn weight_typed(&mut self, name: &str, dims: &[i64], dtype: DType) -> ValueId {
        self.value(
            name,
            None,
            Some(Tensor {
                dtype,
                dims: dims.to_vec(),
                data: TensorData::Absent,
            }),
        )
    }

    /// A float32 constant with known elements (Clip bounds).
    pub fn floats(&mut self, name: &str, dims: &[i64], values: &[f64]) -> ValueId {
        self.value(
            name,
            None,
            Some(Tensor {
                dtype: DType::F32,
                dims: dims.to_vec(),
                data: TensorData::Floats(values.to_vec()),
            }),
        )
    }

    /// A 1-D int64 constant (shapes, axes).
    pub fn ints(&mut self, name: &str, values: &[i64]) -> ValueId {
        self.int_tensor(name, &[values.len() as i64], values)
    }

    /// An int64 constant of the given dims (position ids), `values` in
    /// row-major order.
    pub fn int_tensor(&mut self, name: &str, dims: &[i64], values: &[i64]) -> ValueId {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.value(
            name,
            None,
            Some(Tensor {
                dtype: DType::I64,
                dims: dims.to_vec(),
                data: TensorData::Raw(Bytes::from(raw)),
            }),
        )
    }

    /// Appends a node with one output, named after the node, and returns
    /// that output.
    pub fn node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[Option<ValueId>],
        attributes: Vec<Attribute>,
    ) -> ValueId {
        self.node_in("", op_type, name, inputs, attributes)
    }

    /// [`GraphBuilder::node`] of another operator domain (onnxruntime's
    /// `com.microsoft`), imported at version 1 when first used.
    pub fn node_in(
        &mut self,
        domain: &str,
        op_type: &str,
        name: &str,
        inputs: &[Option<ValueId>],
        attributes: Vec<Attribute>,
    ) -> ValueId {
        if self.graph.opsets.version(domain).is_none() {
            self.graph.opsets.0.push((domain.to_string(), 1));
        }
        let out = self.value(name, None, None);
        self.graph.nodes.push(Node {
            name: self.graph.values[out].name.clone(),
            op_type: op_type.into(),
            domain: domain.into(),
            inputs: inputs.to_vec().into(),
            outputs: vec![Some(out)].into(),
            attributes: attributes.into(),
            origin: None,
        });
        out
    }

    /// The node appended last, to set what [`GraphBuilder::node`] leaves
    /// default: its domain (`com.microsoft`), module path and classes.
    pub fn last_node_mut(&mut self) -> Option<&mut Node> {
        self.graph.nodes.last_mut()
    }

    /// Gives the node appended last one more output, named `name`.
    pub fn extra_output(&mut self, name: &str) -> Option<ValueId> {
        self.graph.nodes.last()?;
        let out = self.value(name, None, None);
        crate::graph::appended(&mut self.graph.nodes.last_mut()?.outputs, Some(out));
        Some(out)
    }

    /// An int64 graph input (token ids, positions) of the given shape.
    pub fn int_input(&mut self, name: &str, shape: Shape) -> ValueId {
        let id = self.value(
            name,
            Some(DeclaredType {
                dtype: Some(DType::I64),
                shape: Some(shape),
            }),
            None,
        );
        self.graph.inputs.push(id);
        id
    }

    /// Marks a value as a graph output.
    pub fn output(&mut self, id: ValueId) {
        self.graph.outputs.push(id);
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn finish(self) -> Graph {
        self.graph
    }
}

/// An integer attribute.
pub fn int(name: &str, v: i64) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Int(v),
    }
}

/// A list-of-integers attribute.
pub fn ints(name: &str, v: &[i64]) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Ints(v.to_vec()),
    }
}

/// A float attribute.
pub fn float(name: &str, v: f32) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Float(v),
    }
}

/// A string attribute.
pub fn string(name: &str, v: &str) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::String(Bytes::from(v.to_string())),
    }
}
