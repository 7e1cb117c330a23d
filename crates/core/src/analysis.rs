//! The analysis: validate the graph, sort it, infer every value's facts node
//! by node, and count parameters, MACs and FLOPs.

use std::collections::HashMap;

use crate::graph::{Graph, NodeId, ValueId};
use crate::ops::{self, NodeCtx, OpDef, OpError, Role};
use crate::poly::{Overflow, Poly};
use crate::report::{NodeReport, NodeStatus, Report, Totals, Unsupported, ValueReport};
use crate::shape::{Dim, Shape};
use crate::value::ValueFacts;

/// The newest default-domain opset nncost knows; used when a model does not
/// declare one.
pub const LATEST_OPSET: i64 = 23;

/// What the user tells the analysis beyond the model.
#[derive(Clone, Debug, Default)]
pub struct AnalysisOptions {
    /// Symbol bindings such as `batch = 8`.
    pub dims: Vec<(String, i64)>,
    /// Whole-shape overrides for graph inputs, by input name.
    pub input_shapes: Vec<(String, Vec<i64>)>,
}

/// Why a graph cannot be analysed at all. Problems confined to one node
/// (an unknown shape, an inconsistent attribute) are not errors: they are
/// reported on that node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("graph has a cycle through node '{node}'")]
    Cycle { node: String },
    #[error("node '{node}' ({op_type}) reads undefined value '{value}'")]
    UndefinedValue {
        node: String,
        op_type: String,
        value: String,
    },
    #[error("value '{value}' is produced twice (by '{first}' and '{second}')")]
    DuplicateProducer {
        value: String,
        first: String,
        second: String,
    },
    #[error("node '{node}' ({op_type}): a dimension or count is too large to represent (past 128 bits, or a symbolic expression past degree 64 or 256 terms)")]
    Overflow { node: String, op_type: String },
    #[error("--input names '{name}', but the model's inputs are: {available}")]
    NoSuchInput { name: String, available: String },
    #[error("dimension {name}={value} is invalid: dimensions are non-negative")]
    NegativeDim { name: String, value: i64 },
}

/// Analyses a graph: shapes, parameters, MACs and FLOPs of every node.
pub fn analyze(graph: &Graph, options: &AnalysisOptions) -> Result<Report, AnalysisError> {
    for (name, value) in &options.dims {
        if *value < 0 {
            return Err(AnalysisError::NegativeDim {
                name: name.clone(),
                value: *value,
            });
        }
    }
    let producers = find_producers(graph)?;
    check_inputs_defined(graph, &producers)?;
    let order = topological_order(graph, &producers)?;

    let bindings: HashMap<&str, i64> = options.dims.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let bind = |name: &str| bindings.get(name).map(|&v| v as i128);

    let mut facts = initial_facts(graph, options, &bind)?;
    let defs: Vec<Option<&OpDef>> = graph
        .nodes
        .iter()
        .map(|n| ops::lookup(&n.domain, &n.op_type))
        .collect();
    let classes = classify_initializers(graph, &defs);
    let mut counted = vec![false; graph.values.len()];
    let mut totals = Totals::default();
    let mut nodes = Vec::with_capacity(graph.nodes.len());
    let mut unsupported: Vec<Unsupported> = Vec::new();

    for &nid in &order {
        let node = &graph.nodes[nid];
        let name = node.display_name(nid);
        let overflow = |_: Overflow| AnalysisError::Overflow {
            node: name.clone(),
            op_type: node.op_type.clone(),
        };
        let def = defs[nid];
        let opset = graph.opsets.version(&node.domain).unwrap_or(LATEST_OPSET);

        // Parameters come from the initializers the node reads; each is
        // attributed to its first reader, classified over all its readers.
        let (mut params, mut buffers) = (0u64, 0u64);
        for &vid in node.inputs.iter().flatten() {
            let Some(init) = &graph.values[vid].initializer else {
                continue;
            };
            if std::mem::replace(&mut counted[vid], true) {
                continue;
            }
            let n = init.numel().ok_or_else(|| overflow(Overflow))?;
            match classes[vid] {
                InitClass::Param => {
                    params += n;
                    totals.param_bytes += init.nbytes().ok_or_else(|| overflow(Overflow))?;
                }
                InitClass::Buffer => buffers += n,
                InitClass::Constant if init.dtype.is_float() => totals.constants += n,
                InitClass::Constant => {}
            }
        }
        totals.params += params;
        totals.buffers += buffers;

        let mut ctx = NodeCtx::new(
            node,
            opset,
            node.inputs.iter().map(|i| i.map(|v| &facts[v])).collect(),
            node.inputs
                .iter()
                .map(|i| i.map_or("", |v| graph.values[v].name.as_str()))
                .collect(),
        );
        let outcome = match def {
            Some(def) => (def.rule)(&mut ctx),
            None => Err(OpError::Invalid(String::new())),
        };
        let status = match (&outcome, def) {
            (_, None) => NodeStatus::Unsupported,
            (Ok(()), _) => NodeStatus::Counted,
            (Err(OpError::Overflow(o)), _) => return Err(overflow(*o)),
            (Err(e), _) => NodeStatus::Incomplete(e.to_string()),
        };
        let (macs, flops) = match status {
            NodeStatus::Counted => {
                let macs = ctx.macs.substitute(&bind).map_err(overflow)?;
                let flops = ctx.flops.substitute(&bind).map_err(overflow)?;
                totals.macs = totals.macs.checked_add(&macs).map_err(overflow)?;
                totals.flops = totals.flops.checked_add(&flops).map_err(overflow)?;
                (Some(macs), Some(flops))
            }
            _ => (None, None),
        };
        if status == NodeStatus::Unsupported {
            record_unsupported(&mut unsupported, &node.domain, &node.op_type, &name);
        }

        // Store output facts, falling back to the file's declarations.
        let mut out_reports = Vec::with_capacity(node.outputs.len());
        let inferred = std::mem::take(&mut ctx.outputs);
        drop(ctx);
        for (pos, out) in node.outputs.iter().enumerate() {
            let Some(vid) = *out else { continue };
            let mut f = inferred.get(pos).cloned().unwrap_or_default();
            merge_declared(&mut f, graph, vid, &bind).map_err(overflow)?;
            out_reports.push(ValueReport {
                name: graph.values[vid].name.clone(),
                dtype: f.dtype,
                shape: f.shape.clone(),
            });
            facts[vid] = f;
        }

        nodes.push(NodeReport {
            name,
            op_type: node.op_type.clone(),
            domain: node.domain.clone(),
            params,
            buffers,
            macs,
            flops,
            outputs: out_reports,
            status,
        });
    }

    unsupported.sort_by(|a, b| {
        b.nodes
            .len()
            .cmp(&a.nodes.len())
            .then(a.op_type.cmp(&b.op_type))
    });
    let value_report = |vid: ValueId| ValueReport {
        name: graph.values[vid].name.clone(),
        dtype: facts[vid].dtype,
        shape: facts[vid].shape.clone(),
    };
    Ok(Report {
        graph_name: graph.name.clone(),
        inputs: graph.inputs.iter().map(|&v| value_report(v)).collect(),
        outputs: graph.outputs.iter().map(|&v| value_report(v)).collect(),
        nodes,
        totals,
        unsupported,
        bindings: options.dims.clone(),
    })
}

/// What an initializer is, decided over every node that reads it, so that
/// a weight read first by a `Shape` (a configuration position) is still a
/// weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum InitClass {
    Constant,
    Buffer,
    Param,
}

fn classify_initializers(graph: &Graph, defs: &[Option<&OpDef>]) -> Vec<InitClass> {
    let mut classes = vec![InitClass::Constant; graph.values.len()];
    for (node, def) in graph.nodes.iter().zip(defs) {
        for (pos, input) in node.inputs.iter().enumerate() {
            let Some(vid) = *input else { continue };
            let Some(init) = &graph.values[vid].initializer else {
                continue;
            };
            let class = match def.map_or(Role::Data, |d| d.role(pos)) {
                Role::Weight => InitClass::Param,
                Role::Data if init.dtype.is_float() && init.numel().unwrap_or(0) > 1 => {
                    InitClass::Param
                }
                Role::Buffer => InitClass::Buffer,
                Role::Data | Role::Config => InitClass::Constant,
            };
            classes[vid] = classes[vid].max(class);
        }
    }
    classes
}

fn record_unsupported(list: &mut Vec<Unsupported>, domain: &str, op_type: &str, node: &str) {
    match list
        .iter_mut()
        .find(|u| u.op_type == op_type && u.domain == domain)
    {
        Some(u) => u.nodes.push(node.to_string()),
        None => list.push(Unsupported {
            op_type: op_type.to_string(),
            domain: domain.to_string(),
            nodes: vec![node.to_string()],
        }),
    }
}

/// Maps each produced value to its producing node; a value produced twice,
/// or both produced and an initializer or input, is an error.
fn find_producers(graph: &Graph) -> Result<Vec<Option<NodeId>>, AnalysisError> {
    let mut producers: Vec<Option<NodeId>> = vec![None; graph.values.len()];
    for (nid, node) in graph.nodes.iter().enumerate() {
        for &vid in node.outputs.iter().flatten() {
            if let Some(first) = producers[vid] {
                return Err(AnalysisError::DuplicateProducer {
                    value: graph.values[vid].name.clone(),
                    first: graph.nodes[first].display_name(first),
                    second: node.display_name(nid),
                });
            }
            producers[vid] = Some(nid);
        }
    }
    Ok(producers)
}

fn check_inputs_defined(graph: &Graph, producers: &[Option<NodeId>]) -> Result<(), AnalysisError> {
    let mut is_input = vec![false; graph.values.len()];
    for &v in &graph.inputs {
        is_input[v] = true;
    }
    for (nid, node) in graph.nodes.iter().enumerate() {
        for &vid in node.inputs.iter().flatten() {
            let defined = producers[vid].is_some()
                || is_input[vid]
                || graph.values[vid].initializer.is_some();
            if !defined {
                return Err(AnalysisError::UndefinedValue {
                    node: node.display_name(nid),
                    op_type: node.op_type.clone(),
                    value: graph.values[vid].name.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Kahn's algorithm, stable: nodes keep file order where dependencies allow.
fn topological_order(
    graph: &Graph,
    producers: &[Option<NodeId>],
) -> Result<Vec<NodeId>, AnalysisError> {
    let n = graph.nodes.len();
    let mut pending = vec![0usize; n];
    let mut consumers: Vec<Vec<NodeId>> = vec![Vec::new(); n];
    for (nid, node) in graph.nodes.iter().enumerate() {
        for &vid in node.inputs.iter().flatten() {
            if let Some(p) = producers[vid] {
                pending[nid] += 1;
                consumers[p].push(nid);
            }
        }
    }
    // A min-heap on node index keeps the original order when it is valid.
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<NodeId>> = (0..n)
        .filter(|&i| pending[i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(std::cmp::Reverse(nid)) = ready.pop() {
        order.push(nid);
        for &c in &consumers[nid] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(std::cmp::Reverse(c));
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
        return Err(AnalysisError::Cycle {
            node: graph.nodes[stuck].display_name(stuck),
        });
    }
    Ok(order)
}

/// Facts before any node runs: graph inputs (bound or overridden as the user
/// asked) and initializers.
fn initial_facts(
    graph: &Graph,
    options: &AnalysisOptions,
    bind: &dyn Fn(&str) -> Option<i128>,
) -> Result<Vec<ValueFacts>, AnalysisError> {
    let mut facts = vec![ValueFacts::default(); graph.values.len()];
    for (vid, value) in graph.values.iter().enumerate() {
        if let Some(t) = &value.initializer {
            facts[vid] = ValueFacts::of_tensor(t);
        }
    }
    for &vid in &graph.inputs {
        let mut f = ValueFacts::default();
        merge_declared(&mut f, graph, vid, bind).map_err(|_| AnalysisError::Overflow {
            node: graph.values[vid].name.clone(),
            op_type: "input".into(),
        })?;
        facts[vid] = f;
    }
    for (name, dims) in &options.input_shapes {
        let vid = graph
            .inputs
            .iter()
            .copied()
            .find(|&v| graph.values[v].name == *name)
            .ok_or_else(|| AnalysisError::NoSuchInput {
                name: name.clone(),
                available: graph
                    .inputs
                    .iter()
                    .map(|&v| graph.values[v].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if let Some(&d) = dims.iter().find(|&&d| d < 0) {
            return Err(AnalysisError::NegativeDim {
                name: name.clone(),
                value: d,
            });
        }
        facts[vid].shape = Some(dims.iter().map(|&d| Dim::int(d)).collect());
    }
    Ok(facts)
}

/// Completes inferred facts with the file's declared type: the declared
/// dtype and shape fill what inference left unknown, dimension by dimension.
fn merge_declared(
    f: &mut ValueFacts,
    graph: &Graph,
    vid: ValueId,
    bind: &dyn Fn(&str) -> Option<i128>,
) -> Result<(), Overflow> {
    if let Some(shape) = &mut f.shape {
        bind_shape(shape, bind)?;
    }
    let Some(decl) = &graph.values[vid].declared else {
        return Ok(());
    };
    if f.dtype.is_none() {
        f.dtype = decl.dtype;
    }
    let Some(declared) = &decl.shape else {
        return Ok(());
    };
    let mut declared = declared.clone();
    bind_shape(&mut declared, bind)?;
    match &mut f.shape {
        None => f.shape = Some(declared),
        Some(inferred) if inferred.len() == declared.len() => {
            for (d, decl_d) in inferred.iter_mut().zip(declared) {
                if !d.is_known() {
                    *d = decl_d;
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

fn bind_shape(shape: &mut Shape, bind: &dyn Fn(&str) -> Option<i128>) -> Result<(), Overflow> {
    for d in shape.iter_mut() {
        if let Dim::Known(p) = d {
            if p.as_constant().is_none() {
                *p = p.substitute(bind)?;
            }
        }
    }
    Ok(())
}

/// Sums a list of optional counts, for callers that aggregate.
pub fn sum_known<'a>(items: impl IntoIterator<Item = &'a Option<Poly>>) -> Result<Poly, Overflow> {
    items
        .into_iter()
        .flatten()
        .try_fold(Poly::ZERO, |acc, p| acc.checked_add(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{DType, DeclaredType, Node, OpsetImports, Tensor, TensorData, Value};
    use crate::report::NodeStatus;
    use crate::shape::shape_of;

    /// A graph built by value names; inputs are float32 with the given shape.
    struct G(Graph);

    impl G {
        fn new() -> Self {
            G(Graph {
                opsets: OpsetImports(vec![(String::new(), 17)]),
                ..Graph::default()
            })
        }

        fn id(&mut self, name: &str) -> ValueId {
            match self.0.values.iter().position(|v| v.name == name) {
                Some(i) => i,
                None => self.0.add_value(Value {
                    name: name.into(),
                    ..Value::default()
                }),
            }
        }

        fn input(mut self, name: &str, shape: Shape) -> Self {
            let id = self.id(name);
            self.0.values[id].declared = Some(DeclaredType {
                dtype: Some(DType::F32),
                shape: Some(shape),
            });
            self.0.inputs.push(id);
            self
        }

        fn weight(mut self, name: &str, dims: &[i64]) -> Self {
            let id = self.id(name);
            self.0.values[id].initializer = Some(Tensor {
                dtype: DType::F32,
                dims: dims.to_vec(),
                data: TensorData::Absent,
            });
            self
        }

        fn declare(mut self, name: &str, shape: Shape) -> Self {
            let id = self.id(name);
            self.0.values[id].declared = Some(DeclaredType {
                dtype: Some(DType::F32),
                shape: Some(shape),
            });
            self
        }

        fn node(mut self, op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Self {
            let inputs = inputs.iter().map(|i| Some(self.id(i))).collect();
            let outputs = outputs.iter().map(|o| Some(self.id(o))).collect();
            self.0.nodes.push(Node {
                name: name.into(),
                op_type: op.into(),
                inputs,
                outputs,
                ..Node::default()
            });
            self
        }

        fn run(self) -> Result<Report, AnalysisError> {
            analyze(&self.0, &AnalysisOptions::default())
        }
    }

    #[test]
    fn declared_shapes_stand_in_for_unsupported_ops() {
        let g = || {
            G::new()
                .input("x", shape_of(&[1, 8]))
                .node("Mystery", "m", &["x"], &["y"])
                .node("Relu", "r", &["y"], &["z"])
        };
        let with_decl = g().declare("y", shape_of(&[1, 16])).run().unwrap();
        assert_eq!(with_decl.nodes[0].status, NodeStatus::Unsupported);
        assert_eq!(with_decl.nodes[1].status, NodeStatus::Counted);
        assert_eq!(with_decl.totals.flops.as_constant(), Some(16));
        assert_eq!(with_decl.unsupported[0].nodes, vec!["m".to_string()]);

        let without = g().run().unwrap();
        let incomplete: Vec<_> = without.incomplete().collect();
        assert_eq!(incomplete.len(), 1);
        assert_eq!(incomplete[0].0.name, "r");
        assert!(incomplete[0].1.contains("'y'"), "{}", incomplete[0].1);
        assert!(without.totals.flops.is_zero());
    }

    #[test]
    fn shared_initializer_counts_once_and_by_its_strongest_use() {
        // W is read first by Shape (a configuration use), then as MatMul's
        // weight by two nodes: 64 parameters, counted once, on Shape's row.
        let r = G::new()
            .input("x", shape_of(&[2, 8]))
            .weight("W", &[8, 8])
            .node("Shape", "s", &["W"], &["ws"])
            .node("MatMul", "a", &["x", "W"], &["y"])
            .node("MatMul", "b", &["y", "W"], &["z"])
            .run()
            .unwrap();
        assert_eq!(r.totals.params, 64);
        let per_node: Vec<u64> = r.nodes.iter().map(|n| n.params).collect();
        assert_eq!(per_node, vec![64, 0, 0]);
        assert_eq!(r.totals.macs.as_constant(), Some(2 * 2 * 8 * 8));
    }

    #[test]
    fn scalar_float_constants_are_not_parameters() {
        let r = G::new()
            .input("x", shape_of(&[4]))
            .weight("s", &[])
            .weight("b", &[4])
            .node("Mul", "scale", &["x", "s"], &["y"])
            .node("Add", "bias", &["y", "b"], &["z"])
            .run()
            .unwrap();
        assert_eq!(r.totals.params, 4);
        assert_eq!(r.totals.constants, 1);
    }

    #[test]
    fn structural_errors_name_the_node() {
        let cycle = G::new()
            .input("x", shape_of(&[4]))
            .node("Add", "a", &["x", "bo"], &["ao"])
            .node("Relu", "b", &["ao"], &["bo"])
            .run();
        assert_eq!(cycle, Err(AnalysisError::Cycle { node: "a".into() }));
        let undefined = G::new().node("Relu", "r", &["ghost"], &["y"]).run();
        assert!(
            matches!(undefined, Err(AnalysisError::UndefinedValue { ref node, ref value, .. }) if node == "r" && value == "ghost")
        );
        let twice = G::new()
            .input("x", shape_of(&[4]))
            .node("Relu", "p", &["x"], &["y"])
            .node("Relu", "q", &["x"], &["y"])
            .run();
        assert!(matches!(
            twice,
            Err(AnalysisError::DuplicateProducer { .. })
        ));
    }

    #[test]
    fn nodes_out_of_order_are_sorted() {
        let r = G::new()
            .input("x", shape_of(&[1, 4]))
            .node("Relu", "second", &["y"], &["z"])
            .node("Relu", "first", &["x"], &["y"])
            .run()
            .unwrap();
        let names: Vec<&str> = r.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
    }

    #[test]
    fn bindings_and_input_overrides() {
        let g = || {
            G::new()
                .input("x", vec![Dim::sym("batch"), Dim::int(8)])
                .node("Relu", "r", &["x"], &["y"])
        };
        let free = g().run().unwrap();
        assert_eq!(free.totals.flops.to_string(), "8*batch");
        let bound = analyze(
            &g().0,
            &AnalysisOptions {
                dims: vec![("batch".into(), 3)],
                ..AnalysisOptions::default()
            },
        )
        .unwrap();
        assert_eq!(bound.totals.flops.as_constant(), Some(24));
        let overridden = analyze(
            &g().0,
            &AnalysisOptions {
                input_shapes: vec![("x".into(), vec![5, 10])],
                ..AnalysisOptions::default()
            },
        )
        .unwrap();
        assert_eq!(overridden.totals.flops.as_constant(), Some(50));
        let wrong = analyze(
            &g().0,
            &AnalysisOptions {
                input_shapes: vec![("nope".into(), vec![1])],
                ..AnalysisOptions::default()
            },
        );
        assert!(
            matches!(wrong, Err(AnalysisError::NoSuchInput { ref available, .. }) if available == "x")
        );
    }

    #[test]
    fn overflow_is_an_error_naming_the_node() {
        let huge = 1i64 << 62;
        let r = G::new()
            .input("x", shape_of(&[huge, huge, huge]))
            .node("Relu", "big", &["x"], &["y"])
            .run();
        assert_eq!(
            r,
            Err(AnalysisError::Overflow {
                node: "big".into(),
                op_type: "Relu".into()
            })
        );
    }
}
