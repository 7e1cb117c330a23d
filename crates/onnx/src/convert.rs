//! ONNX `GraphProto` to core [`Graph`]: a value table by name, nodes wired
//! to value ids, and subgraphs (If/Loop/Scan bodies) converted recursively.
//!
//! ONNX does not require nodes to be sorted, so node outputs are registered
//! in a first pass and inputs resolved in a second; core sorts later.

use std::collections::{HashMap, HashSet};

use nncost_core::graph::{AttrValue, Attribute, Graph, Node, NodeId, OpsetImports, Value, ValueId};

use crate::error::OnnxError;
use crate::proto::{attribute_type as at, AttributeProto, GraphProto, NodeProto};
use crate::tensor::{convert_sparse, convert_tensor, convert_type};

/// Deepest subgraph nesting accepted. prost's own recursion limit stops
/// deeper files earlier; this guards graphs built in memory and keeps the
/// recursion here bounded whatever the decoder allows.
pub const MAX_SUBGRAPH_DEPTH: usize = 64;

/// Names defined in one graph, chained to the enclosing graphs', so that a
/// subgraph may read outer values (as ONNX allows) while a typo still fails.
struct Scope<'a> {
    names: HashSet<&'a str>,
    parent: Option<&'a Scope<'a>>,
}

impl Scope<'_> {
    fn defines(&self, name: &str) -> bool {
        self.names.contains(name) || self.parent.is_some_and(|p| p.defines(name))
    }
}

/// Converts the top-level graph.
pub(crate) fn convert_main_graph(
    g: &GraphProto,
    opsets: &OpsetImports,
) -> Result<Graph, OnnxError> {
    convert_graph(g, opsets, 0, None)
}

/// The graph under construction plus its name index.
struct Builder {
    graph: Graph,
    ids: HashMap<String, ValueId>,
}

impl Builder {
    fn intern(&mut self, name: &str) -> ValueId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.graph.add_value(Value {
            name: name.to_string(),
            ..Value::default()
        });
        self.ids.insert(name.to_string(), id);
        id
    }

    fn is_initializer(&self, name: &str) -> bool {
        self.ids
            .get(name)
            .is_some_and(|&id| self.graph.values[id].initializer.is_some())
    }
}

fn display(n: &NodeProto, index: NodeId) -> String {
    if n.name.is_empty() {
        format!("{}#{index}", n.op_type)
    } else {
        n.name.clone()
    }
}

fn convert_graph(
    g: &GraphProto,
    opsets: &OpsetImports,
    depth: usize,
    parent: Option<&Scope<'_>>,
) -> Result<Graph, OnnxError> {
    let mut b = Builder {
        graph: Graph {
            name: g.name.clone(),
            opsets: opsets.clone(),
            ..Graph::default()
        },
        ids: HashMap::new(),
    };
    add_initializers(&mut b, g)?;
    add_inputs(&mut b, g)?;
    register_node_outputs(&mut b, g)?;

    // Everything this graph defines is now in `ids`; subgraphs see it.
    let scope = Scope {
        names: b.ids.keys().map(String::as_str).collect(),
        parent,
    };
    let mut nodes = Vec::with_capacity(g.node.len());
    let mut outer_refs = Vec::new();
    for (index, n) in g.node.iter().enumerate() {
        nodes.push(convert_node(
            n,
            index,
            &b,
            &scope,
            opsets,
            depth,
            &mut outer_refs,
        )?);
    }
    for o in &g.output {
        if !scope.defines(&o.name) {
            return Err(OnnxError::UndefinedOutput {
                value: o.name.clone(),
            });
        }
    }
    // Outer-scope names become producer-less values of this graph. Interned
    // only now because `scope` borrows the name index.
    drop(scope);
    for (node, slot, name) in outer_refs {
        let id = b.intern(&name);
        nodes[node].inputs[slot] = Some(id);
    }
    let mut outputs = Vec::with_capacity(g.output.len());
    for o in &g.output {
        let id = b.intern(&o.name);
        // An output's own declaration is the most authoritative one.
        if let Some(t) = convert_type(o.r#type.as_ref(), || format!("graph output '{}'", o.name))? {
            b.graph.values[id].declared = Some(t);
        }
        outputs.push(id);
    }
    for vi in &g.value_info {
        if let Some(&id) = b.ids.get(&vi.name) {
            let t = convert_type(vi.r#type.as_ref(), || format!("value_info '{}'", vi.name))?;
            let v = &mut b.graph.values[id];
            if v.declared.is_none() {
                v.declared = t;
            }
        }
    }
    b.graph.nodes = nodes;
    b.graph.outputs = outputs;
    Ok(b.graph)
}

fn add_initializers(b: &mut Builder, g: &GraphProto) -> Result<(), OnnxError> {
    let dense = g.initializer.iter().map(|t| {
        let tensor = convert_tensor(t, || format!("initializer '{}'", t.name));
        (t.name.as_str(), tensor)
    });
    let sparse = g.sparse_initializer.iter().map(|s| {
        let name = s.values.as_ref().map_or("", |v| v.name.as_str());
        (
            name,
            convert_sparse(s, || format!("sparse initializer '{name}'")),
        )
    });
    for (name, tensor) in dense.chain(sparse) {
        let tensor = tensor?;
        if b.ids.contains_key(name) {
            return Err(OnnxError::DuplicateInitializer(name.to_string()));
        }
        let id = b.intern(name);
        b.graph.values[id].initializer = Some(tensor);
    }
    Ok(())
}

/// Graph inputs. Those that are also initializers (always so before IR 4;
/// overridable defaults after) are weights, not something the user feeds.
fn add_inputs(b: &mut Builder, g: &GraphProto) -> Result<(), OnnxError> {
    for vi in &g.input {
        let declared = convert_type(vi.r#type.as_ref(), || format!("graph input '{}'", vi.name))?;
        let is_weight = b.is_initializer(&vi.name);
        let id = b.intern(&vi.name);
        b.graph.values[id].declared = declared;
        if !is_weight && !b.graph.inputs.contains(&id) {
            b.graph.inputs.push(id);
        }
    }
    Ok(())
}

/// First pass over nodes: every output name gets a value and exactly one
/// producer (ONNX graphs are in single-assignment form).
fn register_node_outputs(b: &mut Builder, g: &GraphProto) -> Result<(), OnnxError> {
    let mut producer: HashMap<&str, NodeId> = HashMap::new();
    for (index, n) in g.node.iter().enumerate() {
        for out in n.output.iter().filter(|o| !o.is_empty()) {
            if let Some(&first) = producer.get(out.as_str()) {
                let f = &g.node[first];
                return Err(OnnxError::DuplicateProducer {
                    value: out.clone(),
                    first: display(f, first),
                    first_op: f.op_type.clone(),
                    second: display(n, index),
                    second_op: n.op_type.clone(),
                });
            }
            if b.is_initializer(out) {
                return Err(OnnxError::InitializerIsNodeOutput {
                    value: out.clone(),
                    node: display(n, index),
                    op: n.op_type.clone(),
                });
            }
            if b.ids.contains_key(out.as_str()) {
                return Err(OnnxError::InputIsNodeOutput {
                    value: out.clone(),
                    node: display(n, index),
                    op: n.op_type.clone(),
                });
            }
            producer.insert(out, index);
            b.intern(out);
        }
    }
    Ok(())
}

/// Second pass for one node. Inputs naming an enclosing graph's value are
/// left `None` and recorded in `outer_refs` as (node, slot, name) for the
/// caller to intern.
fn convert_node(
    n: &NodeProto,
    index: NodeId,
    b: &Builder,
    scope: &Scope<'_>,
    opsets: &OpsetImports,
    depth: usize,
    outer_refs: &mut Vec<(NodeId, usize, String)>,
) -> Result<Node, OnnxError> {
    let mut inputs = Vec::with_capacity(n.input.len());
    for (slot, name) in n.input.iter().enumerate() {
        if name.is_empty() {
            inputs.push(None);
        } else if let Some(&id) = b.ids.get(name) {
            inputs.push(Some(id));
        } else if scope.defines(name) {
            inputs.push(None);
            outer_refs.push((index, slot, name.clone()));
        } else {
            return Err(OnnxError::UndefinedValue {
                node: display(n, index),
                op: n.op_type.clone(),
                value: name.clone(),
            });
        }
    }
    let outputs = n
        .output
        .iter()
        .map(|o| {
            if o.is_empty() {
                None
            } else {
                b.ids.get(o).copied()
            }
        })
        .collect();
    let mut attributes = Vec::with_capacity(n.attribute.len());
    for a in &n.attribute {
        let ctx = AttrCtx {
            node: n,
            index,
            scope,
            opsets,
            depth,
        };
        attributes.push(Attribute {
            name: a.name.clone(),
            value: convert_attr(a, &ctx)?,
        });
    }
    Ok(Node {
        name: n.name.clone(),
        op_type: n.op_type.clone(),
        domain: n.domain.clone(),
        inputs,
        outputs,
        attributes,
    })
}

/// What attribute conversion needs to know about the node it belongs to.
struct AttrCtx<'a, 's> {
    node: &'a NodeProto,
    index: NodeId,
    scope: &'a Scope<'s>,
    opsets: &'a OpsetImports,
    depth: usize,
}

impl AttrCtx<'_, '_> {
    fn subgraph(&self, g: &GraphProto) -> Result<Graph, OnnxError> {
        if self.depth + 1 > MAX_SUBGRAPH_DEPTH {
            return Err(OnnxError::NestingTooDeep {
                node: display(self.node, self.index),
                op: self.node.op_type.clone(),
                limit: MAX_SUBGRAPH_DEPTH,
            });
        }
        convert_graph(g, self.opsets, self.depth + 1, Some(self.scope))
    }

    fn what(&self, attr: &str) -> String {
        format!(
            "attribute '{attr}' of node '{}' ({})",
            display(self.node, self.index),
            self.node.op_type
        )
    }
}

fn convert_attr(a: &AttributeProto, ctx: &AttrCtx<'_, '_>) -> Result<AttrValue, OnnxError> {
    // A reference to a function's attribute carries no value of its own.
    if !a.ref_attr_name.is_empty() {
        return Ok(AttrValue::Other);
    }
    let kind = if a.r#type == at::UNDEFINED {
        infer_kind(a)
    } else {
        a.r#type
    };
    Ok(match kind {
        at::FLOAT => AttrValue::Float(a.f.unwrap_or_default()),
        at::INT => AttrValue::Int(a.i.unwrap_or_default()),
        at::STRING => AttrValue::String(a.s.clone().unwrap_or_default()),
        at::FLOATS => AttrValue::Floats(a.floats.clone()),
        at::INTS => AttrValue::Ints(a.ints.clone()),
        at::STRINGS => AttrValue::Strings(a.strings.clone()),
        at::TENSOR => match &a.t {
            Some(t) => AttrValue::Tensor(convert_tensor(t, || ctx.what(&a.name))?),
            None => AttrValue::Other,
        },
        at::GRAPH => match &a.g {
            Some(g) => AttrValue::Graph(Box::new(ctx.subgraph(g)?)),
            None => AttrValue::Other,
        },
        at::GRAPHS => AttrValue::Graphs(
            a.graphs
                .iter()
                .map(|g| ctx.subgraph(g))
                .collect::<Result<_, _>>()?,
        ),
        // TENSORS, SPARSE_TENSOR(S), TYPE_PROTO(S) and unknown kinds: core
        // has no form for them and no operator nncost counts needs them.
        _ => AttrValue::Other,
    })
}

/// Files from before IR 2 have no `type` discriminator: guess from which
/// field is set, as the ONNX checker did for them.
fn infer_kind(a: &AttributeProto) -> i32 {
    if a.f.is_some() {
        at::FLOAT
    } else if a.i.is_some() {
        at::INT
    } else if a.s.is_some() {
        at::STRING
    } else if a.t.is_some() {
        at::TENSOR
    } else if a.g.is_some() {
        at::GRAPH
    } else if !a.floats.is_empty() {
        at::FLOATS
    } else if !a.ints.is_empty() {
        at::INTS
    } else if !a.strings.is_empty() {
        at::STRINGS
    } else if !a.graphs.is_empty() {
        at::GRAPHS
    } else {
        at::UNDEFINED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{AttributeProto, ValueInfoProto};

    /// `levels` If nodes, each holding the next graph as `then_branch`.
    fn nested(levels: usize) -> GraphProto {
        let leaf = |node: NodeProto, attr: Vec<AttributeProto>| GraphProto {
            node: vec![NodeProto {
                attribute: attr,
                ..node
            }],
            input: vec![ValueInfoProto {
                name: "x".into(),
                r#type: None,
            }],
            output: vec![ValueInfoProto {
                name: "y".into(),
                r#type: None,
            }],
            ..GraphProto::default()
        };
        let node = |op: &str| NodeProto {
            input: vec!["x".into()],
            output: vec!["y".into()],
            op_type: op.into(),
            ..NodeProto::default()
        };
        let mut g = leaf(node("Identity"), vec![]);
        for _ in 0..levels {
            let attr = AttributeProto {
                name: "then_branch".into(),
                r#type: at::GRAPH,
                g: Some(g),
                ..AttributeProto::default()
            };
            g = leaf(node("If"), vec![attr]);
        }
        g
    }

    #[test]
    fn nesting_is_limited() {
        let ok = convert_main_graph(&nested(MAX_SUBGRAPH_DEPTH), &OpsetImports::default());
        assert!(ok.is_ok(), "{ok:?}");
        let e = convert_main_graph(&nested(MAX_SUBGRAPH_DEPTH + 1), &OpsetImports::default())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "subgraphs nested deeper than 64 levels (at node 'If#0' (If))"
        );
    }
}
