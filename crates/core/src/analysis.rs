//! The analysis: validate the graph, sort it, infer every value's facts node
//! by node, and count parameters, MACs and FLOPs. Control-flow bodies (If,
//! Loop, Scan) are analysed recursively, seeing their enclosing graphs'
//! values by name (see [`crate::control`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::rc::Rc;

use crate::control;
use crate::cost::Cost;
use crate::fxhash::{FxHashMap, NameMap, NameSet};
use crate::graph::{AttrValue, DType, Graph, NodeId, Tensor, ValueId};
use crate::live_facts::LiveFacts;
use crate::ops::{self, Access, NodeCtx, OpDef, OpError, Role};
use crate::poly::{Atom, Overflow, Poly};
use crate::report::{
    InputReport, Lines, NodeReport, NodeStatus, Report, SubgraphReport, Totals, Unsupported,
    ValueReport,
};
use crate::shape::Dim;
use crate::symbols::{DataSymbols, SymbolInfo, SymbolKind, SymbolScope};
use crate::value::ValueFacts;
use crate::Name;
use crate::{mask, memo};

/// The newest default-domain opset nncost knows; used when a model does not
/// declare one.
pub const LATEST_OPSET: i64 = 23;

/// Deepest nesting of control-flow bodies analysed: a graph whose bodies
/// nest deeper is rejected with [`AnalysisError::NestingTooDeep`].
pub const MAX_NESTING: usize = 32;

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
    #[error("--input {inputs}: node '{node}' ({op_type}) cannot take it: {reason}")]
    InputClash {
        inputs: String,
        node: String,
        op_type: String,
        reason: String,
    },
    #[error("--input {input}={given}: the model declares {input} as {declared}")]
    InputMismatch {
        input: String,
        given: String,
        declared: String,
    },
    #[error("{name} is bound to {first} and to {second} (by --dim or an --input shape)")]
    ConflictingDim {
        name: String,
        first: i64,
        second: i64,
    },
    #[error("--dim names '{name}', but the model's symbols are: {available}")]
    NoSuchDim { name: String, available: String },
    #[error("dimension {name}={value} is invalid: dimensions are non-negative")]
    NegativeDim { name: String, value: i64 },
    #[error("node '{node}' ({op_type}): control-flow bodies nested deeper than {limit} levels")]
    NestingTooDeep {
        node: String,
        op_type: String,
        limit: usize,
    },
    /// The caller of [`analyze_streaming`] asked to stop (it could not
    /// take a line: a full disk, a closed pipe); it knows why.
    #[error("the analysis was stopped by the reader of its lines")]
    Stopped,
}

/// Analyses with every data symbol at its upper bound (`--bound max`): a
/// worst case, never a measurement. Binding one bound can reveal the next
/// (a bound in terms of an earlier data symbol), so the analysis repeats
/// until every data symbol whose bound is a number is bound; a symbol whose
/// `If` a binding decided disappears and is dropped. The report lists the
/// symbols so bound in [`Report::at_upper_bound`].
pub fn analyze_at_upper_bounds(
    graph: &Graph,
    options: &AnalysisOptions,
    lines: Lines,
) -> Result<Report, AnalysisError> {
    let mut opts = options.clone();
    let mut at_bound: Vec<String> = Vec::new();
    for _ in 0..64 {
        let mut report = match analyze_keeping(graph, &opts, lines) {
            Err(AnalysisError::NoSuchDim { name, .. }) if at_bound.contains(&name) => {
                opts.dims.retain(|(n, _)| *n != name);
                at_bound.retain(|n| *n != name);
                continue;
            }
            r => r?,
        };
        let fresh: Vec<(String, i64)> = report
            .symbols
            .iter()
            .filter(|s| s.kind == SymbolKind::Data)
            .filter(|s| !opts.dims.iter().any(|(n, _)| **n == *s.name))
            .filter_map(|s| {
                let v = s.upper_bound.as_ref()?.as_i64()?;
                Some((s.name.to_string(), v))
            })
            .collect();
        if fresh.is_empty() {
            report.at_upper_bound = at_bound;
            return Ok(report);
        }
        at_bound.extend(fresh.iter().map(|(n, _)| n.clone()));
        opts.dims.extend(fresh);
    }
    analyze_keeping(graph, &opts, lines)
}

/// Analyses a graph: shapes, parameters, MACs and FLOPs of every node.
pub fn analyze(graph: &Graph, options: &AnalysisOptions) -> Result<Report, AnalysisError> {
    analyze_keeping(graph, options, Lines::All)
}

/// [`analyze`], keeping the node lines `lines` asks for; the totals are
/// the same whichever it keeps.
pub fn analyze_keeping(
    graph: &Graph,
    options: &AnalysisOptions,
    lines: Lines,
) -> Result<Report, AnalysisError> {
    analyze_with(graph, options, lines, None)
}

/// What receives each top-level line as the analysis makes it; `Break`
/// stops the analysis ([`AnalysisError::Stopped`]).
pub type LineSink<'s> = dyn FnMut(Line<'_>) -> ControlFlow<()> + 's;

/// A top-level line as [`analyze_streaming`] hands it over.
#[derive(Clone, Copy, Debug)]
pub enum Line<'a> {
    /// A line as [`Report::nodes`] holds it.
    Report(&'a NodeReport),
    /// A counted line the report does not keep, with no report line made
    /// for it ([`LineDetail::Borrowed`]).
    Borrowed(LineView<'a>),
}

/// A counted top-level line as the walk holds it: graph node `node`,
/// whose name ([`crate::graph::Node::shown_name`]), operator, domain and
/// origin are the report line's, what it counts, and its outputs' facts.
/// The report line it stands for has no inputs and no bodies.
#[derive(Clone, Copy, Debug)]
pub struct LineView<'a> {
    pub node: NodeId,
    pub params: u64,
    pub buffers: u64,
    pub cost: &'a Cost,
    /// The outputs present, in order: each value and its facts.
    pub outputs: &'a [(ValueId, ValueFacts)],
}

/// What the lines [`analyze_streaming`] hands over describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineDetail {
    /// Everything, as [`analyze`]'s lines do.
    Whole,
    /// The node and its outputs, with no [`NodeReport::inputs`] (an empty
    /// list) on the lines the report does not keep: what the formats that
    /// describe a node by its outputs read (JSON, CSV, the tables), for
    /// less work per node (a list, and two shared records per input).
    WithoutInputs,
    /// As `WithoutInputs`, and the lines the report does not keep (counted
    /// ones) handed over as [`Line::Borrowed`], with no report line made:
    /// for a reader that takes a line's names from the graph (a JSON line
    /// made on another thread).
    Borrowed,
}

/// [`analyze_keeping`] with [`Lines::Uncounted`], every top-level line
/// handed to `on_line` first, in the order of [`Report::nodes`]: a report
/// written as it is made (JSON) need not hold a line per node, only the
/// graph and the values live at each step.
///
/// The lines are the same as [`analyze`]'s (but for their inputs where
/// `detail` leaves them out), and so are the report's other fields. Two
/// checks can only be made once every node is seen: that each `--dim`
/// names a symbol (one not declared by the model may be a size that
/// depends on data), and that `--input` shapes suit every node. When
/// `options` needs either, the lines are made whole first and handed over
/// after those checks, so that an error never follows lines already taken.
/// An error within the walk (a count past 128 bits) can follow some.
pub fn analyze_streaming(
    graph: &Graph,
    options: &AnalysisOptions,
    detail: LineDetail,
    on_line: &mut LineSink<'_>,
) -> Result<Report, AnalysisError> {
    analyze_with(graph, options, Lines::Uncounted, Some((on_line, detail)))
}

fn analyze_with<'s>(
    graph: &Graph,
    options: &AnalysisOptions,
    lines: Lines,
    on_line: Option<(&'s mut LineSink<'s>, LineDetail)>,
) -> Result<Report, AnalysisError> {
    for (name, value) in &options.dims {
        if *value < 0 {
            return Err(AnalysisError::NegativeDim {
                name: name.clone(),
                value: *value,
            });
        }
    }
    // `--input` binds the names its declared shape gives its dims.
    let dims = bindings_with_inputs(graph, options)?;
    let options = &AnalysisOptions {
        dims,
        input_shapes: options.input_shapes.clone(),
    };
    let bindings: HashMap<&str, i64> = options.dims.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let bind = |name: &str| bindings.get(name).map(|&v| v as i128);

    let mut inits = Inits::default();
    let mut plan = Plan::build(graph, 0, &[], &mut inits)?;
    let reads = plan.take_expected_reads();
    let facts = initial_facts(graph, options, &bind, live_facts(&plan, reads)?)?;
    let declared = declared_symbols(graph);
    // Two checks can only be made once every node is seen: a `--dim` the
    // model does not declare (it may name a size that depends on data) and
    // `--input` shapes. A sink then takes the lines after them, from lines
    // kept whole (see `analyze_streaming`).
    let requested = lines;
    let line_detail = on_line.as_ref().map_or(LineDetail::Whole, |&(_, d)| d);
    let (lines, on_line, after_checks) = match on_line {
        Some((sink, _))
            if !options.input_shapes.is_empty()
                || !options
                    .dims
                    .iter()
                    .all(|(name, _)| declared.iter().any(|s| **s == **name)) =>
        {
            (Lines::All, None, Some(sink))
        }
        sink => (lines, sink.map(|(sink, _)| sink), None),
    };
    let mut walk = Walk {
        bind: &bind,
        binds_nothing: bindings.is_empty(),
        data_symbols: Rc::new(RefCell::new(DataSymbols::new(
            declared.iter().cloned(),
            options.dims.iter().map(|(k, v)| (k.clone(), *v as i128)),
        ))),
        inits,
        invalid: None,
        totals: Totals::default(),
        unsupported: UnsupportedList::default(),
        memo: memo::Memo::default(),
        lines,
        on_line,
        line_detail,
        spare_line: None,
        view_outputs: Vec::new(),
    };
    let run = walk.run(&plan, facts, &[], "")?;
    // A node the given input shape makes inconsistent: the input is wrong.
    if let (Some((node, op_type, reason)), false) = (&walk.invalid, options.input_shapes.is_empty())
    {
        return Err(AnalysisError::InputClash {
            inputs: options
                .input_shapes
                .iter()
                .map(|(n, d)| {
                    format!(
                        "{n}={}",
                        crate::shape::format_shape(&crate::shape::shape_of(d))
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            node: node.clone(),
            op_type: op_type.clone(),
            reason: reason.clone(),
        });
    }
    let facts = run.facts;
    let mut totals = walk.totals;
    totals.cost = run.cost;
    let mut unsupported = walk.unsupported.list;

    unsupported.sort_by(|a, b| {
        b.nodes
            .len()
            .cmp(&a.nodes.len())
            .then(a.op_type.cmp(&b.op_type))
    });
    let value_report = |vid: ValueId| ValueReport::of_facts(&graph.values[vid].name, &facts[vid]);
    let mut symbols: Vec<SymbolInfo> = declared
        .into_iter()
        .map(|name| SymbolInfo {
            name,
            kind: SymbolKind::Input,
            origin: None,
            upper_bound: None,
            meaning: "declared by the model".into(),
        })
        .collect();
    symbols.extend(walk.data_symbols.take().list);
    // A binding must name a symbol the model has: a misspelt name would
    // otherwise be echoed as bound while changing nothing.
    for (name, _) in &options.dims {
        if !symbols.iter().any(|s| *s.name == **name) {
            return Err(AnalysisError::NoSuchDim {
                name: name.clone(),
                available: if symbols.is_empty() {
                    "none (every size is fixed)".into()
                } else {
                    symbols
                        .iter()
                        .map(|s| &*s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        }
    }
    let mut nodes = run.nodes;
    let mut lines = lines;
    if let Some(sink) = after_checks {
        for line in &nodes {
            if sink(Line::Report(line)).is_break() {
                return Err(AnalysisError::Stopped);
            }
        }
        nodes.retain(|n| requested.keeps(&n.status, !n.subgraphs.is_empty()));
        lines = requested;
    }
    Ok(Report {
        graph_name: graph.name.clone(),
        inputs: graph.inputs.iter().map(|&v| value_report(v)).collect(),
        outputs: graph.outputs.iter().map(|&v| value_report(v)).collect(),
        output_values: graph
            .outputs
            .iter()
            .map(|&v| facts[v].value.clone())
            .collect(),
        nodes,
        lines,
        totals,
        unsupported,
        bindings: options.dims.clone(),
        symbols,
        at_upper_bound: Vec::new(),
        memory: None,
        roofline: None,
        training: None,
        convention: None,
    })
}

/// The user's `--dim` bindings, plus those an `--input` shape implies: an
/// input declared `[batch, seq]` given `1x128` binds `batch = 1` and `seq =
/// 128`, so the model's other inputs and every size named after them agree.
/// The shape must have the declared rank; a declared number may be
/// overridden (a fully convolutional model at another resolution), and a
/// value the weights cannot take is caught where they clash
/// ([`AnalysisError::InputClash`]); a name bound twice to different values
/// is an error.
fn bindings_with_inputs(
    graph: &Graph,
    options: &AnalysisOptions,
) -> Result<Vec<(String, i64)>, AnalysisError> {
    let mut dims = options.dims.clone();
    for (name, given) in &options.input_shapes {
        let Some(&vid) = graph
            .inputs
            .iter()
            .find(|&&v| graph.values[v].name == *name)
        else {
            continue; // initial_facts names the missing input
        };
        let Some(declared) = graph.values[vid]
            .declared
            .as_ref()
            .and_then(|d| d.shape.as_ref())
        else {
            continue;
        };
        let mismatch = || AnalysisError::InputMismatch {
            input: name.clone(),
            given: given
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join("x"),
            declared: crate::shape::format_shape(declared),
        };
        if declared.len() != given.len() {
            return Err(mismatch());
        }
        for (d, &g) in declared.iter().zip(given) {
            let Some(p) = d.poly() else { continue };
            if let Some(Atom::Sym(s)) = p.as_atom() {
                match dims.iter().find(|(n, _)| **n == **s) {
                    Some(&(_, v)) if v != g => {
                        return Err(AnalysisError::ConflictingDim {
                            name: s.to_string(),
                            first: v,
                            second: g,
                        })
                    }
                    Some(_) => {}
                    None => dims.push((s.to_string(), g)),
                }
            }
        }
    }
    Ok(dims)
}

/// The symbols the model's declared shapes name (inputs, outputs, value
/// infos of the top-level graph), inside expressions too, sorted.
fn declared_symbols(graph: &Graph) -> Vec<crate::poly::Symbol> {
    // Exports declare the same few sizes (`batch`, `s0 + 1`) on thousands
    // of values: each distinct one is looked into once.
    let distinct: NameSet<&Poly> = graph
        .values
        .iter()
        .filter_map(|v| v.declared.as_ref()?.shape.as_ref())
        .flatten()
        .filter_map(Dim::poly)
        .filter(|p| p.as_constant().is_none())
        .collect();
    let mut out: Vec<crate::poly::Symbol> = distinct.into_iter().flat_map(Poly::symbols).collect();
    out.sort();
    out.dedup();
    out
}

/// Every initializer of the model and of its bodies, with one index each,
/// so that an initializer read in several scopes counts once.
#[derive(Default)]
struct Inits<'g> {
    tensors: Vec<&'g Tensor>,
    classes: Vec<InitClass>,
    counted: Vec<bool>,
    /// Whether the tensor is a `Constant` node's rather than an
    /// initializer.
    in_node: Vec<bool>,
    /// Whether some reader may see the tensor's elements: one that takes
    /// it as data rather than as a weight (see `inputs_without_elements`),
    /// forwards it, or returns it as a graph output. The elements of any
    /// other are never decoded.
    elements_shown: Vec<bool>,
}

impl<'g> Inits<'g> {
    fn push(&mut self, t: &'g Tensor, in_node: bool) -> InitId {
        let id = InitId::at(self.tensors.len());
        self.tensors.push(t);
        self.classes.push(InitClass::Constant);
        self.counted.push(false);
        self.in_node.push(in_node);
        self.elements_shown.push(false);
        id
    }
}

/// Operator rules looked up once per distinct operator: readers give a
/// graph's equal operator names one allocation, so its address stands for
/// them. The last operators met are kept by address first: a graph cycles
/// through a few, and the map's hash and probe cost more than comparing
/// two words.
struct OpDefs {
    by_name: FxHashMap<(usize, usize), Option<&'static OpDef>>,
    recent: [((usize, usize), Option<&'static OpDef>); 16],
}

impl Default for OpDefs {
    fn default() -> OpDefs {
        const NONE_MET: (usize, usize) = (usize::MAX, usize::MAX);
        OpDefs {
            by_name: FxHashMap::default(),
            recent: [(NONE_MET, None); 16],
        }
    }
}

impl OpDefs {
    fn of(&mut self, node: &crate::graph::Node) -> Option<&'static OpDef> {
        let key = (node.domain.id(), node.op_type.id());
        let slot = &mut self.recent[((key.0 ^ key.1) >> 4) & 15];
        if slot.0 != key {
            let def = *self
                .by_name
                .entry(key)
                .or_insert_with(|| ops::lookup(&node.domain, &node.op_type));
            *slot = (key, def);
        }
        slot.1
    }
}

/// The index of a tensor in [`Inits`], in 4 bytes (and `Option<InitId>`
/// in 4 too): a plan holds one per value of its graph. [`Plan::build`]
/// refuses a graph whose values could number past `u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InitId(std::num::NonZeroU32);

impl InitId {
    fn at(index: usize) -> InitId {
        // Below u32::MAX by Plan::build's check; saturating, never wrapping.
        InitId(std::num::NonZeroU32::MIN.saturating_add(index as u32))
    }

    fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// What a graph's enclosed bodies see of it when resolving outer names.
struct Outer<'p, 'g> {
    names: &'p NameMap<&'g str, ValueId>,
    /// For each value: its definition, `(depth, value id)` at the depth that
    /// defines it (this graph's own depth for its own values), or `None`
    /// when undefined here.
    def: &'p [Option<(usize, ValueId)>],
    init: &'p [Option<InitId>],
}

/// A graph prepared for analysis: operator rules, initializer indices,
/// outer-scope references resolved, nodes sorted, bodies prepared.
pub(crate) struct Plan<'g> {
    graph: &'g Graph,
    defs: Vec<Option<&'static OpDef>>,
    /// Global initializer index of each value: its own initializer, or the
    /// outer one it names.
    init: Vec<Option<InitId>>,
    /// The values naming an enclosing graph's value, each with that value:
    /// `(value, depth, value id there)`. Only bodies have any, so a list
    /// rather than an entry per value (24 bytes each, a million times over
    /// for a large graph).
    outer: Vec<(ValueId, usize, ValueId)>,
    /// The order the nodes run in; `None` when it is the file's, as ONNX
    /// requires and exporters write: a large graph then holds no list of
    /// its own order, and no consumer lists are built to find one.
    order: Option<Vec<NodeId>>,
    /// Per node, the input position whose weight it forwards (see
    /// [`WeightSources`]).
    forwards: Vec<(NodeId, usize)>,
    /// Per value, the reads of it that the nodes make (their inputs, and
    /// the values their bodies name; see [`Plan::reads`]): when the walk
    /// may let its facts go (see [`LiveFacts`]). Counted in the pass that
    /// plans the nodes; the main graph's walk takes it (see
    /// [`Plan::take_expected_reads`]).
    expected_reads: Vec<u32>,
    /// Bodies of the nodes that have graph attributes.
    subs: FxHashMap<NodeId, Vec<(&'g str, Plan<'g>)>>,
    /// Enclosing graphs' values this graph or its bodies read.
    captures: Vec<(usize, ValueId)>,
}

impl<'g> Plan<'g> {
    /// The nodes in the order they run.
    fn order(&self) -> impl Iterator<Item = NodeId> + '_ {
        let (listed, in_file) = match &self.order {
            Some(order) => (Some(order.iter().copied()), None),
            None => (None, Some(0..self.graph.nodes.len())),
        };
        listed
            .into_iter()
            .flatten()
            .chain(in_file.into_iter().flatten())
    }

    /// The input position whose weight node `nid` forwards, if any (see
    /// [`WeightSources`]).
    fn forwarded_input(&self, nid: NodeId) -> Option<usize> {
        let at = self.forwards.binary_search_by_key(&nid, |&(n, _)| n).ok()?;
        Some(self.forwards[at].1)
    }

    /// How many times the nodes read each value, for a walk of this plan
    /// (a body's, walked once per run, keeps its count).
    fn expected_reads(&self) -> Vec<u32> {
        self.expected_reads.clone()
    }

    /// [`Plan::expected_reads`], taken: for a plan walked once.
    fn take_expected_reads(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.expected_reads)
    }

    /// The values of this graph (at `depth`) that node `nid` reads: its
    /// inputs, and the values its bodies name.
    fn reads(&self, nid: NodeId, depth: usize) -> impl Iterator<Item = ValueId> + '_ {
        let named_by_bodies =
            self.subs
                .get(&nid)
                .into_iter()
                .flatten()
                .flat_map(move |(_, body)| {
                    body.captures
                        .iter()
                        .filter(move |&&(d, _)| d == depth)
                        .map(|&(_, vid)| vid)
                });
        self.graph.nodes[nid]
            .inputs
            .iter()
            .flatten()
            .copied()
            .chain(named_by_bodies)
    }

    fn build(
        graph: &'g Graph,
        depth: usize,
        ancestors: &[Outer<'_, 'g>],
        inits: &mut Inits<'g>,
    ) -> Result<Plan<'g>, AnalysisError> {
        // A body resolves the names of enclosing graphs' values by what its
        // own nodes make, so its producers are found first. A top-level
        // graph's are noted in the pass over its nodes below, as their
        // outputs come: a pass of their own over a million nodes' lists
        // took a quarter of planning.
        let producers_first = !ancestors.is_empty() || !inits.tensors.is_empty();
        Plan::build_with(graph, depth, ancestors, inits, producers_first)
    }

    fn build_with(
        graph: &'g Graph,
        depth: usize,
        ancestors: &[Outer<'_, 'g>],
        inits: &mut Inits<'g>,
        producers_first: bool,
    ) -> Result<Plan<'g>, AnalysisError> {
        let mut producers = if producers_first {
            find_producers(graph)?
        } else {
            Producers::none_yet(graph)?
        };
        let n = graph.values.len();
        let mut is_input = vec![false; n];
        for &v in &graph.inputs {
            is_input[v] = true;
        }
        // Each graph adds at most one tensor per value to `inits`.
        if inits.tensors.len().saturating_add(n) >= u32::MAX as usize {
            return Err(AnalysisError::Overflow {
                node: graph.name.to_string(),
                op_type: "graph".into(),
            });
        }
        let mut init = vec![None; n];
        // Only bodies name enclosing values: a list in value order, not an
        // entry per value.
        let mut outer: Vec<(ValueId, usize, ValueId)> = Vec::new();
        let mut captures = Vec::new();
        for (vid, value) in graph.values.iter().enumerate() {
            if let Some(t) = &value.initializer {
                init[vid] = Some(inits.push(t, false));
            } else if !producers.is_made(vid) && !is_input[vid] && !ancestors.is_empty() {
                if let Some((d, ovid, oinit)) = resolve(ancestors, &value.name) {
                    outer.push((vid, d, ovid));
                    init[vid] = oinit;
                    captures.push((d, ovid));
                }
            }
        }
        let outer_of = |vid: ValueId| {
            let at = outer.binary_search_by_key(&vid, |&(v, _, _)| v).ok()?;
            let (_, d, ovid) = outer[at];
            Some((d, ovid))
        };
        // One pass over the nodes answers every question asked of each
        // (a million nodes and their lists are over 100 MB, read once
        // rather than once per question): whether its inputs are defined
        // here or in an enclosing graph, and made by earlier nodes (for
        // `topological_order`, which checks what bodies read once they are
        // planned); its operator's rule; whether it holds a body; the
        // weight it forwards, if any (see `WeightSources`), before the
        // bodies are planned, as they may read these weights; and what
        // the initializers it reads are (see `classify_reads`).
        let mut made_earlier = true;
        let mut has_bodies = false;
        let mut op_defs = OpDefs::default();
        let mut defs = Vec::with_capacity(graph.nodes.len());
        let mut sources = WeightSources::new(graph.nodes.len(), n);
        let mut classified = 0;
        let mut expected_reads = vec![0u32; n];
        // Inputs no earlier node made, nor anything else, while producers
        // are noted as the nodes come: made by a later node, or by none.
        let mut made_later_or_never: Vec<(NodeId, ValueId)> = Vec::new();
        for (nid, node) in graph.nodes.iter().enumerate() {
            for &vid in node.inputs.iter().flatten() {
                expected_reads[vid] = expected_reads[vid].saturating_add(1);
                made_earlier &= producers.made_before(vid, nid);
                // `init` has an entry for each initializer (and for some
                // enclosing values, which `outer_of` finds anyway): a third
                // the size of the values, whose records this pass would
                // otherwise read one cache miss at a time. (A value a
                // transform forwarded a weight to is made by a node.)
                let defined = producers.is_made(vid)
                    || is_input[vid]
                    || init[vid].is_some()
                    || outer_of(vid).is_some();
                if !defined {
                    if producers_first {
                        return Err(undefined_value(graph, nid, vid));
                    }
                    made_earlier = false;
                    made_later_or_never.push((nid, vid));
                }
            }
            if !producers_first {
                producers.note_outputs(graph, nid)?;
            }
            let def = op_defs.of(node);
            defs.push(def);
            has_bodies |= bodies(node).next().is_some();
            sources.visit(node, nid, &mut init, inits);
            // Up to the first node out of order, every weight a node reads
            // has reached it through the transforms before it: the node's
            // reads are classified here, sparing a second pass over them.
            if made_earlier {
                let known = (&init[..], &sources);
                classify_reads(graph, &producers, node, nid, def, known, inits);
                classified = nid + 1;
            }
        }
        if !producers_first {
            // The first node reading what no node makes, as a pass with
            // the producers found first would have stopped at.
            if let Some(&(nid, vid)) = made_later_or_never
                .iter()
                .find(|&&(_, vid)| !producers.is_made(vid))
            {
                return Err(undefined_value(graph, nid, vid));
            }
            // A value made by a node and also fed or stored (readers refuse
            // such a graph): whether a node read it before it was made was
            // decided above as if it never were. Planned again, with the
            // producers found first.
            let made_and_given = graph.values.iter().enumerate().any(|(vid, value)| {
                producers.is_made(vid) && (is_input[vid] || value.initializer.is_some())
            });
            if made_and_given {
                *inits = Inits::default();
                return Plan::build_with(graph, depth, ancestors, inits, true);
            }
        }
        // Nodes in file order see their inputs' sources final; a file out
        // of order may need more passes.
        if !made_earlier {
            sources.repeat(graph, &mut init, inits);
        }
        // Bodies, which may read any value of this graph by name.
        let mut subs: FxHashMap<NodeId, Vec<(&'g str, Plan<'g>)>> = FxHashMap::default();
        let mut extra_deps: FxHashMap<NodeId, Vec<ValueId>> = FxHashMap::default();
        if has_bodies {
            let names: NameMap<&'g str, ValueId> = graph
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| (v.name.as_str(), i))
                .collect();
            let def: Vec<Option<(usize, ValueId)>> = (0..n)
                .map(|vid| {
                    let own = producers.is_made(vid)
                        || is_input[vid]
                        || graph.values[vid].initializer.is_some();
                    if own {
                        Some((depth, vid))
                    } else {
                        outer_of(vid)
                    }
                })
                .collect();
            let mut chain: Vec<Outer<'_, 'g>> = Vec::with_capacity(ancestors.len() + 1);
            chain.extend(ancestors.iter().map(|a| Outer {
                names: a.names,
                def: a.def,
                init: a.init,
            }));
            chain.push(Outer {
                names: &names,
                def: &def,
                init: &init,
            });
            for (nid, node) in graph.nodes.iter().enumerate() {
                let mut plans = Vec::new();
                for (attr, body) in bodies(node) {
                    if depth + 1 > MAX_NESTING {
                        return Err(AnalysisError::NestingTooDeep {
                            node: node.display_name(nid),
                            op_type: node.op_type.to_string(),
                            limit: MAX_NESTING,
                        });
                    }
                    let p = Plan::build(body, depth + 1, &chain, inits)?;
                    for &(d, vid) in &p.captures {
                        if d == depth {
                            extra_deps.entry(nid).or_default().push(vid);
                        } else {
                            captures.push((d, vid));
                        }
                    }
                    plans.push((attr, p));
                }
                if !plans.is_empty() {
                    subs.insert(nid, plans);
                }
            }
            captures.sort_unstable();
            captures.dedup();
            for &vid in extra_deps.values().flatten() {
                expected_reads[vid] = expected_reads[vid].saturating_add(1);
            }
        }

        let order = topological_order(graph, &producers, &extra_deps, made_earlier)?;

        // The nodes from the first out of order on were not classified in
        // the pass above: the weights they read are known now.
        for (nid, node) in graph.nodes.iter().enumerate().skip(classified) {
            let known = (&init[..], &sources);
            classify_reads(graph, &producers, node, nid, defs[nid], known, inits);
        }
        // A body's output is its control operator's to compute with.
        for &vid in &graph.outputs {
            if let Some(i) = init[vid] {
                inits.elements_shown[i.index()] = true;
            }
        }
        Ok(Plan {
            graph,
            defs,
            init,
            // Few nodes forward a weight: a list, not an entry per node.
            forwards: (0..graph.nodes.len())
                .filter_map(|nid| Some((nid, sources.forwarded_input(nid)?)))
                .collect(),
            outer,
            order,
            expected_reads,
            subs,
            captures,
        })
    }
}

/// Whether a one-element float initializer read at `pos` is a weight
/// rather than a scalar constant: a `[1, 1]` matrix a `MatMul` multiplies
/// by (a linear layer of one input or output feature), or a `[1]` bias
/// added to the output of a product (`MatMul`, `Gemm`, `Conv`). Exporters
/// write constants such as `x / 8` as rank-0 scalars or multiply by them;
/// neither is taken for a weight.
fn single_weight(
    graph: &Graph,
    producers: &Producers,
    node: &crate::graph::Node,
    pos: usize,
    t: &Tensor,
) -> bool {
    if t.dims.is_empty() || t.numel() != Some(1) || !matches!(node.domain.as_str(), "" | "ai.onnx")
    {
        return false;
    }
    match node.op_type.as_str() {
        "MatMul" => true,
        "Add" => node
            .inputs
            .iter()
            .enumerate()
            .filter(|&(other, _)| other != pos)
            .filter_map(|(_, v)| producers.of((*v)?))
            .any(|p| {
                let producer = &graph.nodes[p];
                matches!(producer.domain.as_str(), "" | "ai.onnx")
                    && matches!(producer.op_type.as_str(), "MatMul" | "Gemm" | "Conv")
            }),
        _ => false,
    }
}

/// Classifies the initializers node `nid` reads (see [`InitClass`]), over
/// all readers in every scope: `known` holds, for each value, its source
/// tensor, and what the transforms forward (see [`WeightSources`]). A
/// tensor reached through a transform (an int8 weight after Cast and Mul)
/// is as float as what reads it.
fn classify_reads<'g>(
    graph: &'g Graph,
    producers: &Producers,
    node: &'g crate::graph::Node,
    nid: NodeId,
    def: Option<&'static OpDef>,
    known: (&[Option<InitId>], &WeightSources),
    inits: &mut Inits<'g>,
) {
    let (init, sources) = known;
    for (pos, input) in node.inputs.iter().enumerate() {
        let Some(vid) = *input else { continue };
        let Some(i) = init[vid] else { continue };
        if sources.forwarded_input(nid) == Some(pos) {
            inits.elements_shown[i.index()] = true;
            continue;
        }
        let i = i.index();
        let role = def.map_or(Role::Data, |d| d.role(pos));
        if !role.shape_only() {
            inits.elements_shown[i] = true;
        }
        // Only data needs the tensor itself: reading it is a cache
        // miss per weight at a million nodes.
        let class = match role {
            Role::Weight | Role::Packed => InitClass::Param,
            Role::Buffer => InitClass::Buffer,
            Role::Config => InitClass::Constant,
            Role::Data | Role::Operand => {
                let t = inits.tensors[i];
                // A quantized weight dequantized by a transform.
                let dequantized = sources.forwarded_values[vid]
                    && matches!(t.dtype, DType::I8 | DType::U8 | DType::I4 | DType::U4);
                let learned = (t.dtype.is_float() || dequantized)
                    && (t.numel().unwrap_or(0) > 1
                        || single_weight(graph, producers, node, pos, t));
                if learned {
                    InitClass::Param
                } else {
                    InitClass::Constant
                }
            }
        };
        inits.classes[i] = inits.classes[i].max(class);
    }
}

/// Weights that are not initializers: a `Constant` node's tensor is a
/// source like an initializer, and so is what a pure transform of one
/// computes (Cast, Transpose, Reshape, Flatten, Identity, Squeeze,
/// Unsqueeze, or Mul/Div/Add/Sub by other constants: the int8 weight behind
/// `Cast → Mul(scale)`). `DequantizeLinear` reads its input as a weight
/// already, and counts it. The transform's output is mapped to
/// its source (`init`), so the node that finally reads it (a MatMul, a
/// Conv) counts the source once, by its role there; the transform itself
/// forwards it without counting. Nodes are visited in file order, in
/// `Plan::build`'s pass over them; a file whose nodes are not in run order
/// is passed over again while a pass finds a new transform.
struct WeightSources {
    /// Per node, the input position whose weight it forwards, plus one
    /// (4 bytes a node).
    forwards: Vec<Option<std::num::NonZeroU32>>,
    /// Per value, whether a transform forwarded a weight to it.
    forwarded_values: Vec<bool>,
    /// Whether the last pass forwarded anything.
    changed: bool,
}

impl WeightSources {
    fn new(nodes: usize, values: usize) -> WeightSources {
        WeightSources {
            forwards: vec![None; nodes],
            forwarded_values: vec![false; values],
            changed: false,
        }
    }

    /// The input position whose weight node `nid` forwards, if any.
    fn forwarded_input(&self, nid: NodeId) -> Option<usize> {
        self.forwards[nid].map(|p| p.get() as usize - 1)
    }

    /// Node `nid`'s part of a pass in file order. (A position past
    /// `u32::MAX - 1`, which no file has, forwards nothing.)
    fn visit<'g>(
        &mut self,
        node: &'g crate::graph::Node,
        nid: NodeId,
        init: &mut [Option<InitId>],
        inits: &mut Inits<'g>,
    ) {
        if self.forwards[nid].is_some() {
            return;
        }
        let Some((pos, out, weight)) = weight_source(node, init, inits) else {
            return;
        };
        let Some(pos) = u32::try_from(pos + 1)
            .ok()
            .and_then(std::num::NonZeroU32::new)
        else {
            return;
        };
        init[out] = Some(weight);
        self.forwards[nid] = Some(pos);
        self.forwarded_values[out] = true;
        self.changed = true;
    }

    /// Passes after the first, while one finds a new transform (at most
    /// eight in all).
    fn repeat<'g>(&mut self, graph: &'g Graph, init: &mut [Option<InitId>], inits: &mut Inits<'g>) {
        let mut passes = 1;
        while self.changed && passes < 8 {
            self.changed = false;
            passes += 1;
            for (nid, node) in graph.nodes.iter().enumerate() {
                self.visit(node, nid, init, inits);
            }
        }
    }
}

/// One node's part of [`WeightSources`]: if it forwards a weight, the
/// input position it reads it at, the value it forwards it to and the
/// weight. A `Constant` node's tensor is made a source here.
fn weight_source<'g>(
    node: &'g crate::graph::Node,
    init: &mut [Option<InitId>],
    inits: &mut Inits<'g>,
) -> Option<(usize, ValueId, InitId)> {
    if !matches!(node.domain.as_str(), "" | "ai.onnx") {
        return None;
    }
    let Some(Some(out)) = node.outputs.first().copied() else {
        return None;
    };
    if init[out].is_some() {
        return None;
    }
    if node.op_type == "Constant" {
        if let Some(AttrValue::Tensor(t)) = node.attr("value") {
            init[out] = Some(inits.push(t, true));
        }
        return None;
    }
    let source = |pos: usize| {
        node.inputs
            .get(pos)
            .copied()
            .flatten()
            .and_then(|v| init[v])
    };
    let big = |i: InitId| inits.tensors[i.index()].numel().unwrap_or(0) > 1;
    let forwarded = match node.op_type.as_str() {
        "Cast" | "Transpose" | "Reshape" | "Flatten" | "Identity" | "Squeeze" | "Unsqueeze" => {
            Some(0)
        }
        // The other operands (scale, zero point) must be constants too.
        "Mul" | "Div" | "Add" | "Sub" => {
            let all_constant = node.inputs.iter().flatten().all(|&v| init[v].is_some());
            let weight = (0..node.inputs.len())
                .filter(|&p| source(p).is_some_and(big))
                .collect::<Vec<_>>();
            match (all_constant, weight.as_slice()) {
                (true, [p]) => Some(*p),
                _ => None,
            }
        }
        _ => None,
    };
    let pos = forwarded?;
    Some((pos, out, source(pos)?))
}

/// The graph attributes of a node, by attribute name.
fn bodies(node: &crate::graph::Node) -> impl Iterator<Item = (&str, &Graph)> {
    node.attributes.iter().flat_map(|a| {
        let gs: Vec<&Graph> = match &a.value {
            AttrValue::Graph(g) => vec![g.as_ref()],
            AttrValue::Graphs(gs) => gs.iter().collect(),
            _ => Vec::new(),
        };
        gs.into_iter().map(move |g| (a.name.as_str(), g))
    })
}

/// Finds an outer name, innermost scope first: its defining `(depth, id)`
/// and initializer index.
fn resolve(ancestors: &[Outer<'_, '_>], name: &str) -> Option<(usize, ValueId, Option<InitId>)> {
    ancestors.iter().rev().find_map(|a| {
        let &vid = a.names.get(name)?;
        let (d, dv) = a.def[vid]?;
        Some((d, dv, a.init[vid]))
    })
}

/// The result of analysing one graph.
pub(crate) struct GraphRun {
    pub nodes: Vec<NodeReport>,
    /// Sum over the nodes whose cost is known.
    pub cost: Cost,
    pub params: u64,
    pub buffers: u64,
    /// Facts of the graph's outputs, in order.
    pub outputs: Vec<ValueFacts>,
    /// Facts of the graph's inputs and outputs, after the analysis (the
    /// other values' went after their last reader).
    pub facts: LiveFacts,
}

/// Inputs whose facts a node's walk gathers without a list of its own.
const INPUTS_ON_STACK: usize = 8;

/// State shared by the analysis of a graph and all its bodies.
struct Walk<'a, 'g, 's> {
    bind: &'a dyn Fn(&str) -> Option<i128>,
    /// No symbol is bound: counts are kept as the rules give them, without
    /// a substitution that would change nothing.
    binds_nothing: bool,
    /// The first node whose rule found the model inconsistent: (name,
    /// operator, reason).
    invalid: Option<(String, String, String)>,
    /// Sizes that depend on data, named as the rules meet them.
    data_symbols: Rc<RefCell<DataSymbols>>,
    inits: Inits<'g>,
    /// Parameters, buffers and constants; MACs and FLOPs are the root
    /// graph's sums.
    totals: Totals,
    unsupported: UnsupportedList,
    /// Rule results by what the rules read (see [`crate::memo`]).
    memo: memo::Memo,
    /// Which of the root graph's node lines to keep.
    lines: Lines,
    /// Where each of the root graph's lines goes first, kept or not.
    on_line: Option<&'s mut LineSink<'s>>,
    /// What the streamed lines describe.
    line_detail: LineDetail,
    /// The last line streamed and not kept, refilled for the next such
    /// node (see [`refill_line`]).
    spare_line: Option<NodeReport>,
    /// A borrowed line's outputs, held until it is taken.
    view_outputs: Vec<(ValueId, ValueFacts)>,
}

impl<'g> Walk<'_, 'g, '_> {
    /// Analyses `plan`'s graph from `facts` (made by [`live_facts`], inputs
    /// set; initializers' facts are made as nodes read them, and outer names
    /// are filled from `outer`, the facts of the enclosing graphs by depth).
    /// `prefix` starts the names of its nodes.
    fn run(
        &mut self,
        plan: &Plan<'g>,
        mut facts: LiveFacts,
        outer: &[&LiveFacts],
        prefix: &str,
    ) -> Result<GraphRun, AnalysisError> {
        let graph = plan.graph;
        let bind = self.bind;
        let depth = outer.len();
        for &(vid, d, ovid) in &plan.outer {
            if let Some(f) = outer.get(d).and_then(|fs| fs.get(ovid)) {
                facts.set(vid, f.clone());
            }
        }
        // Bodies keep every line: their node's line holds them.
        let lines = if depth > 0 { Lines::All } else { self.lines };
        // Every root line is made when a sink takes them all.
        let streamed = depth == 0 && self.on_line.is_some();
        let mut run = GraphRun {
            nodes: if lines == Lines::All {
                Vec::with_capacity(graph.nodes.len())
            } else {
                Vec::new()
            },
            cost: Cost::ZERO,
            params: 0,
            buffers: 0,
            outputs: Vec::new(),
            facts: LiveFacts::default(),
        };
        // The opset of the previous node's domain (almost every node of a
        // graph is in the same one), keyed by the domain name's id.
        let mut opset_of: Option<(usize, i64)> = None;
        for nid in plan.order() {
            let node = &graph.nodes[nid];
            // An initializer's facts are made when a node first reads it,
            // so that only the live ones are held.
            for vid in plan.reads(nid, depth) {
                if !facts.contains(vid) {
                    if let Some(t) = &graph.values[vid].initializer {
                        let shown =
                            plan.init[vid].is_some_and(|i| self.inits.elements_shown[i.index()]);
                        facts.set(
                            vid,
                            if shown {
                                ValueFacts::of_tensor(t)
                            } else {
                                ValueFacts::of_weight(t)
                            },
                        );
                    }
                }
            }
            // The report shares the graph's name where it is the same
            // (copied only for a report line).
            let name: Cow<'_, Name> = if prefix.is_empty() && !node.name.is_empty() {
                Cow::Borrowed(&node.name)
            } else {
                Cow::Owned(Name::from(format!("{prefix}{}", node.display_name(nid))))
            };
            let overflow = |_: Overflow| AnalysisError::Overflow {
                node: name.to_string(),
                op_type: node.op_type.to_string(),
            };
            let def = plan.defs[nid];
            let opset = match opset_of {
                Some((domain, version)) if domain == node.domain.id() => version,
                _ => {
                    let version = graph.opsets.version(&node.domain).unwrap_or(LATEST_OPSET);
                    opset_of = Some((node.domain.id(), version));
                    version
                }
            };

            // Parameters come from the initializers the node reads; each is
            // attributed to its first reader, classified over all its readers.
            let (mut params, mut buffers) = (0u64, 0u64);
            // Packed weights count the logical elements the rule states.
            let mut packed: Vec<(usize, u64, DType)> = Vec::new();
            for (pos, input) in node.inputs.iter().enumerate() {
                let Some(vid) = *input else { continue };
                let Some(i) = plan.init[vid] else { continue };
                if plan.forwarded_input(nid) == Some(pos) {
                    continue;
                }
                let i = i.index();
                if std::mem::replace(&mut self.inits.counted[i], true) {
                    continue;
                }
                let init = self.inits.tensors[i];
                let n = init.numel().ok_or_else(|| overflow(Overflow))?;
                match self.inits.classes[i] {
                    InitClass::Param if def.is_some_and(|d| d.role(pos) == Role::Packed) => {
                        packed.push((pos, n, init.dtype));
                        let bytes = init.nbytes().ok_or_else(|| overflow(Overflow))?;
                        self.totals.add_params(init.dtype, 0, bytes);
                    }
                    InitClass::Param => {
                        params += n;
                        if self.inits.in_node[i] {
                            self.totals.params_in_constant_nodes += n;
                        }
                        let bytes = init.nbytes().ok_or_else(|| overflow(Overflow))?;
                        self.totals.add_params(init.dtype, n, bytes);
                    }
                    InitClass::Buffer => {
                        buffers += n;
                        let bytes = init.nbytes().ok_or_else(|| overflow(Overflow))?;
                        crate::report::add_share(
                            &mut self.totals.buffers_by_dtype,
                            init.dtype,
                            n,
                            bytes,
                        );
                    }
                    // Float initializers that are no weight (a Constant
                    // node's scalar is the node's own business).
                    InitClass::Constant if init.dtype.is_float() && !self.inits.in_node[i] => {
                        self.totals.constants += n
                    }
                    InitClass::Constant => {}
                }
            }
            self.totals.params += params;
            self.totals.buffers += buffers;

            // A weight's elements are no rule's business: its shape is. A
            // small weight computed by folding has its elements known, and
            // with them in view every bias would make its node's rule run
            // again instead of taking a result remembered for equal inputs.
            // So are an operand's beside an operand wholly unknown.
            let shown_without_elements: Vec<(usize, ValueFacts)> = match def {
                Some(def) => inputs_without_elements(node, def, &facts),
                None => Vec::new(),
            };
            let fact_of = |(pos, i): (usize, &Option<ValueId>)| {
                i.map(
                    |v| match shown_without_elements.iter().find(|(p, _)| *p == pos) {
                        Some((_, shown)) => shown,
                        None => &facts[v],
                    },
                )
            };
            // Gathered on the stack for the few inputs nearly every node
            // has: a list is made only for a rule that runs, and most
            // nodes take a remembered result instead.
            let mut on_stack = [None; INPUTS_ON_STACK];
            let listed: Vec<Option<&ValueFacts>>;
            let input_facts: &[Option<&ValueFacts>] = if node.inputs.len() <= INPUTS_ON_STACK {
                for (slot, input) in on_stack.iter_mut().zip(node.inputs.iter().enumerate()) {
                    *slot = fact_of(input);
                }
                &on_stack[..node.inputs.len()]
            } else {
                listed = node.inputs.iter().enumerate().map(fact_of).collect();
                &listed
            };
            // Only a rule that runs reads them (not a remembered result).
            let input_names = || -> Vec<&str> {
                node.inputs
                    .iter()
                    .map(|i| i.map_or("", |v| graph.values[v].name.as_str()))
                    .collect()
            };
            let mut access = Access::Full;
            let mut products = None;
            let (outcome, mut inferred, node_cost, mut subgraphs) = match plan.subs.get(&nid) {
                Some(subs) => {
                    let table = Rc::clone(&self.data_symbols);
                    let mut scope: Vec<&LiveFacts> = outer.to_vec();
                    scope.push(&facts);
                    let mut body = |k: usize, inputs: Vec<ValueFacts>| {
                        let (attr, sub) = &subs[k];
                        let fs = initial_body_facts(sub, inputs, bind)?;
                        let r = self.run(sub, fs, &scope, &format!("{name}/{attr}/"))?;
                        Ok(r)
                    };
                    let c = control::run(control::Ctl {
                        node,
                        name: &name,
                        opset,
                        def,
                        attrs: subs.iter().map(|(a, _)| *a).collect(),
                        inputs: input_facts.to_vec(),
                        input_names: input_names(),
                        body: &mut body,
                        symbols: &table,
                        output_names: node
                            .outputs
                            .iter()
                            .map(|o| o.map_or("", |v| graph.values[v].name.as_str()))
                            .collect(),
                    })?;
                    (
                        c.outcome,
                        Cow::Owned(c.outputs),
                        Cow::Owned(c.cost),
                        c.subgraphs,
                    )
                }
                None => {
                    // A remembered result is read where the memo keeps it:
                    // its outputs' facts are copied into the graph's one by
                    // one, with no list of their own.
                    let remembered = match def {
                        Some(_) => self.memo.find(node, opset, input_facts),
                        None => Err(None),
                    };
                    let result = match remembered {
                        Ok(r) => Ok(Cow::Borrowed(r)),
                        Err(key) => {
                            let mut ctx =
                                NodeCtx::new(node, opset, input_facts.to_vec(), input_names());
                            ctx.symbols = Some(SymbolScope {
                                table: &self.data_symbols,
                                node: &name,
                                values: &graph.values,
                            });
                            let outcome = match def {
                                Some(def) => (def.rule)(&mut ctx),
                                None => Err(OpError::Invalid(String::new())),
                            };
                            let mut outputs = std::mem::take(&mut ctx.outputs);
                            if let Some(first) = outputs.first() {
                                if first.pattern.is_none() {
                                    let p = mask::derive(node, opset, &ctx.input_facts, &outputs);
                                    outputs[0].pattern = p.map(Box::new);
                                }
                            }
                            let result = memo::RuleResult {
                                outputs,
                                cost: ctx.take_cost(),
                                access: ctx.access,
                                products: ctx.products,
                                logical_elements: std::mem::take(&mut ctx.logical_elements),
                            };
                            // A result that names a size after this node, or
                            // a failure (its message names inputs), is this
                            // node's own.
                            match outcome {
                                Ok(()) if !ctx.named_data => {
                                    if let Some(k) = key {
                                        self.memo.put(k, node, opset, &ctx.input_facts, &result);
                                    }
                                    Ok(Cow::Owned(result))
                                }
                                Ok(()) => Ok(Cow::Owned(result)),
                                Err(e) => Err((e, Cow::Owned(result))),
                            }
                        }
                    };
                    let (outcome, result) = match result {
                        Ok(r) => (Ok(()), r),
                        Err((e, r)) => (Err(e), r),
                    };
                    for (pos, stored, _) in &mut packed {
                        if let Some(&(_, n)) =
                            result.logical_elements.iter().find(|(p, _)| p == pos)
                        {
                            *stored = n;
                        }
                    }
                    access = result.access;
                    products = result.products;
                    let (outputs, cost) = match result {
                        Cow::Borrowed(r) => (Cow::Borrowed(&r.outputs[..]), Cow::Borrowed(&r.cost)),
                        Cow::Owned(r) => (Cow::Owned(r.outputs), Cow::Owned(r.cost)),
                    };
                    (outcome, outputs, cost, Vec::new())
                }
            };
            // Top-level nodes only: a branch that does not run may not fit
            // the input (silero-vad's 8 kHz path at 16 kHz).
            let top = prefix.is_empty();
            if let (Err(OpError::Invalid(reason)), Some(_), None, true) =
                (&outcome, def, &self.invalid, top)
            {
                self.invalid = Some((name.to_string(), node.op_type.to_string(), reason.clone()));
            }
            let status = match (&outcome, def) {
                (_, None) => NodeStatus::Unsupported,
                (Ok(()), _) => NodeStatus::Counted,
                (Err(OpError::Overflow(o)), _) => return Err(overflow(*o)),
                (Err(e), _) => NodeStatus::Incomplete {
                    kind: e.kind(),
                    reason: e.to_string().into(),
                },
            };
            // A rule that could not state them leaves the stored count.
            let logical: u64 = packed.iter().map(|&(_, n, _)| n).sum();
            for &(_, n, dtype) in &packed {
                self.totals.add_params(dtype, n, 0);
            }
            params += logical;
            self.totals.params += logical;
            for s in &mut subgraphs {
                params += s.params;
                buffers += s.buffers;
                if let Some(r) = &mut s.runs {
                    *r = r.substitute(&bind).map_err(overflow)?;
                }
            }
            let cost = match status {
                NodeStatus::Counted => {
                    let cost = if self.binds_nothing {
                        node_cost.into_owned()
                    } else {
                        node_cost.substitute(&bind).map_err(overflow)?
                    };
                    run.cost.checked_add_assign(&cost).map_err(overflow)?;
                    Some(cost)
                }
                _ => None,
            };
            if status == NodeStatus::Unsupported {
                self.unsupported.record(&node.domain, &node.op_type, &name);
            }

            // Whether the node's line is kept (see `lines`) or streamed:
            // only such a line describes the node's inputs and outputs.
            let keep_line = lines.keeps(&status, !subgraphs.is_empty());
            let make_line = keep_line || streamed;
            // A line only streamed is handed over borrowed where its reader
            // asks (its outputs' facts held until it is taken), else made
            // by refilling the last such.
            let borrowed = streamed
                && !keep_line
                && self.line_detail == LineDetail::Borrowed
                && cost.is_some();
            let make_report = make_line && !borrowed;
            let mut out_reports = match &mut self.spare_line {
                Some(spare) if !keep_line && make_report => {
                    std::mem::take(&mut spare.outputs).into()
                }
                _ => Vec::with_capacity(if make_report { node.outputs.len() } else { 0 }),
            };
            let mut reported = 0;
            // Store output facts, falling back to the file's declarations.
            for (pos, out) in node.outputs.iter().enumerate() {
                let Some(vid) = *out else { continue };
                let mut f = match &mut inferred {
                    Cow::Owned(made) => made.get_mut(pos).map(std::mem::take),
                    Cow::Borrowed(remembered) => remembered.get(pos).cloned(),
                }
                .unwrap_or_default();
                merge_declared(&mut f, graph, vid, &bind).map_err(overflow)?;
                if borrowed {
                    self.view_outputs.push((vid, f));
                    continue;
                }
                if make_report {
                    let name = &graph.values[vid].name;
                    match out_reports.get_mut(reported) {
                        Some(spare) => spare.refill(name, &f),
                        None => out_reports.push(ValueReport::of_facts(name, &f)),
                    }
                    reported += 1;
                }
                facts.set(vid, f);
            }
            out_reports.truncate(reported);
            // A streamed line leaves its inputs out where its reader asks.
            let describe_inputs = keep_line || self.line_detail == LineDetail::Whole;
            let inputs: Vec<InputReport> = if !(make_line && describe_inputs) {
                Vec::new()
            } else {
                node.inputs
                    .iter()
                    .map(|i| {
                        let f = i.map(|v| &facts[v]);
                        InputReport {
                            name: i.map_or(Name::EMPTY, |v| graph.values[v].name.clone()),
                            dtype: f.and_then(|f| f.dtype),
                            shape: f.and_then(|f| f.shape.clone()),
                            constant: i.is_some_and(|v| plan.init[v].is_some()),
                            param: i
                                .and_then(|v| plan.init[v])
                                .is_some_and(|k| self.inits.classes[k.index()] == InitClass::Param),
                        }
                    })
                    .collect()
            };
            for vid in plan.reads(nid, depth) {
                facts.done_reading(vid);
            }

            run.params += params;
            run.buffers += buffers;
            if let (true, Some(cost)) = (borrowed, &cost) {
                if let Some(on_line) = self.on_line.as_mut() {
                    let view = LineView {
                        node: nid,
                        params,
                        buffers,
                        cost,
                        outputs: &self.view_outputs,
                    };
                    if on_line(Line::Borrowed(view)).is_break() {
                        return Err(AnalysisError::Stopped);
                    }
                }
                for (vid, f) in self.view_outputs.drain(..) {
                    facts.set(vid, f);
                }
                continue;
            }
            if !make_line {
                continue;
            }
            let mut line = NodeReport {
                name: name.into_owned(),
                op_type: Name::EMPTY,
                domain: Name::EMPTY,
                params,
                buffers,
                cost,
                inputs: inputs.into(),
                access,
                products,
                outputs: out_reports.into(),
                status,
                origin: None,
                subgraphs: subgraphs.into(),
            };
            let line = if keep_line {
                run.nodes.push(line);
                run.nodes.last_mut().expect("just pushed")
            } else {
                if let Some(spare) = &mut self.spare_line {
                    std::mem::swap(&mut line.op_type, &mut spare.op_type);
                    std::mem::swap(&mut line.domain, &mut spare.domain);
                    std::mem::swap(&mut line.origin, &mut spare.origin);
                }
                self.spare_line.insert(line)
            };
            refill_line(line, node);
            if let (true, Some(on_line)) = (streamed, self.on_line.as_mut()) {
                if on_line(Line::Report(line)).is_break() {
                    return Err(AnalysisError::Stopped);
                }
            }
        }
        run.outputs = graph.outputs.iter().map(|&v| facts[v].clone()).collect();
        run.facts = facts;
        Ok(run)
    }
}

/// Sets the line's operator, domain and origin to the node's, keeping
/// those it holds where they are the same ones. A line only streamed is
/// refilled node after node (`Walk::spare_line`, which also keeps its
/// outputs' list, names and shapes; see [`ValueReport::refill`]): an
/// elementwise chain's lines then allocate nothing and change few
/// reference counts.
fn refill_line(line: &mut NodeReport, node: &crate::graph::Node) {
    line.op_type.clone_from(&node.op_type);
    line.domain.clone_from(&node.domain);
    let same_origin = match (&line.origin, &node.origin) {
        (Some(held), Some(new)) => std::sync::Arc::ptr_eq(held, new),
        (None, None) => true,
        _ => false,
    };
    if !same_origin {
        line.origin = node.origin.clone();
    }
}

/// The facts the rule of `node` sees without their known elements (by
/// input position): of its weights, biases and buffers (see
/// [`Role::shape_only`]; an initializer there has none decoded), and of its
/// operands when another operand is wholly unknown (see [`Role::Operand`]).
/// Rules size and count from a weight's shape, and an operator of operands
/// uses their elements only when it knows them all: leaving those values
/// out of what the rules see makes that so by construction.
fn inputs_without_elements(
    node: &crate::graph::Node,
    def: &OpDef,
    facts: &LiveFacts,
) -> Vec<(usize, ValueFacts)> {
    let present = || {
        node.inputs
            .iter()
            .enumerate()
            .filter_map(|(pos, input)| Some((pos, &facts[(*input)?])))
    };
    let operand_unknown = present()
        .any(|(pos, f)| def.role(pos) == Role::Operand && f.value.is_none() && f.pattern.is_none());
    present()
        .filter(|(pos, f)| match def.role(*pos) {
            role if role.shape_only() => f.value.is_some(),
            Role::Operand => operand_unknown && f.value.is_some(),
            _ => false,
        })
        .map(|(pos, f)| {
            let shown = ValueFacts {
                value: None,
                ..f.clone()
            };
            (pos, shown)
        })
        .collect()
}

/// Facts of a body's values before it runs: its inputs as the control
/// operator gives them, completed by their declarations.
fn initial_body_facts(
    plan: &Plan,
    inputs: Vec<ValueFacts>,
    bind: &dyn Fn(&str) -> Option<i128>,
) -> Result<LiveFacts, AnalysisError> {
    let graph = plan.graph;
    let overflow = |_: Overflow| AnalysisError::Overflow {
        node: graph.name.to_string(),
        op_type: "body".into(),
    };
    let mut facts = live_facts(plan, plan.expected_reads())?;
    let mut given = inputs.into_iter();
    for &vid in &graph.inputs {
        let mut f = given.next().unwrap_or_default();
        merge_declared(&mut f, graph, vid, bind).map_err(overflow)?;
        // A body input that is also an initializer is the initializer.
        if let Some(t) = &graph.values[vid].initializer {
            f = ValueFacts::of_tensor(t);
        }
        facts.set(vid, f);
    }
    Ok(facts)
}

/// The store for a graph's facts as `plan` walks it: each value is held
/// from its producer to its last reader (of `expected_reads`, see
/// [`Plan::expected_reads`]), the graph's inputs and outputs to the end.
fn live_facts(plan: &Plan, expected_reads: Vec<u32>) -> Result<LiveFacts, AnalysisError> {
    let graph = plan.graph;
    let mut facts = LiveFacts::new(expected_reads).map_err(|_| AnalysisError::Overflow {
        node: graph.name.to_string(),
        op_type: "graph".into(),
    })?;
    for &vid in graph.inputs.iter().chain(&graph.outputs) {
        facts.keep(vid);
    }
    Ok(facts)
}

/// A body's report from its analysis.
pub(crate) fn subgraph_report(attr: &str, run: GraphRun, runs: Option<Poly>) -> SubgraphReport {
    SubgraphReport {
        attribute: attr.to_string(),
        nodes: run.nodes,
        cost: run.cost,
        params: run.params,
        buffers: run.buffers,
        runs,
    }
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

/// The operators without a rule, each with the nodes that use it, recorded
/// in constant time per node (a file of 100,000 unknown nodes, or of
/// 100,000 distinct unknown operators, stays linear).
#[derive(Default)]
struct UnsupportedList {
    list: Vec<Unsupported>,
    by_op: NameMap<(String, String), usize>,
    /// Node names already listed: a body analysed more than once
    /// (SequenceMap's variants) lists its nodes once.
    seen: NameSet<String>,
}

impl UnsupportedList {
    fn record(&mut self, domain: &str, op_type: &str, node: &str) {
        if !self.seen.insert(node.to_string()) {
            return;
        }
        let key = (domain.to_string(), op_type.to_string());
        let i = *self.by_op.entry(key).or_insert_with(|| {
            self.list.push(Unsupported {
                op_type: op_type.to_string(),
                domain: domain.to_string(),
                nodes: Vec::new(),
            });
            self.list.len() - 1
        });
        self.list[i].nodes.push(node.to_string());
    }
}

/// The node that makes each value, by value: 4 bytes a value, where an
/// `Option<NodeId>` takes 16. The passes over every node's inputs read it
/// at random (a weight, a skip connection), and at 10^5 nodes and more a
/// smaller table misses the cache less.
struct Producers(Vec<u32>);

impl Producers {
    /// What no node makes (a graph input, a weight, an outer value).
    const NONE: u32 = u32::MAX;

    fn of(&self, vid: ValueId) -> Option<NodeId> {
        let p = self.0[vid];
        (p != Self::NONE).then_some(p as NodeId)
    }

    fn is_made(&self, vid: ValueId) -> bool {
        self.0[vid] != Self::NONE
    }

    /// Whether `vid` is ready for node `nid`: made by an earlier node, or
    /// by none (strictly earlier: a node reading its own output is a
    /// cycle).
    fn made_before(&self, vid: ValueId, nid: NodeId) -> bool {
        self.of(vid).is_none_or(|p| p < nid)
    }
}

/// Maps each produced value to its producing node; a value produced twice
/// is an error.
fn find_producers(graph: &Graph) -> Result<Producers, AnalysisError> {
    let mut producers = Producers::none_yet(graph)?;
    for nid in 0..graph.nodes.len() {
        producers.note_outputs(graph, nid)?;
    }
    Ok(producers)
}

impl Producers {
    /// No value made yet, for `graph`'s nodes to note theirs.
    fn none_yet(graph: &Graph) -> Result<Producers, AnalysisError> {
        // Node numbers must fit below `Producers::NONE`.
        if graph.nodes.len() >= Producers::NONE as usize {
            return Err(AnalysisError::Overflow {
                node: graph.name.to_string(),
                op_type: "graph".into(),
            });
        }
        Ok(Producers(vec![Producers::NONE; graph.values.len()]))
    }

    /// Notes node `nid`'s outputs as made by it; a value made before is an
    /// error.
    fn note_outputs(&mut self, graph: &Graph, nid: NodeId) -> Result<(), AnalysisError> {
        let node = &graph.nodes[nid];
        for &vid in node.outputs.iter().flatten() {
            if let Some(first) = self.of(vid) {
                return Err(AnalysisError::DuplicateProducer {
                    value: graph.values[vid].name.to_string(),
                    first: graph.nodes[first].display_name(first),
                    second: node.display_name(nid),
                });
            }
            self.0[vid] = nid as u32;
        }
        Ok(())
    }
}

/// Node `nid` reads `vid`, which nothing defines.
fn undefined_value(graph: &Graph, nid: NodeId, vid: ValueId) -> AnalysisError {
    let node = &graph.nodes[nid];
    AnalysisError::UndefinedValue {
        node: node.display_name(nid),
        op_type: node.op_type.to_string(),
        value: graph.values[vid].name.to_string(),
    }
}

/// Kahn's algorithm, stable: nodes keep file order where dependencies allow;
/// `None` when the file's order is already valid (what Kahn's would give).
/// `extra` adds the values a node's bodies read from this graph.
/// `inputs_in_order`: every node's inputs are made by earlier nodes (the
/// caller's pass over them has seen it), so only `extra` is checked.
fn topological_order(
    graph: &Graph,
    producers: &Producers,
    extra: &FxHashMap<NodeId, Vec<ValueId>>,
    inputs_in_order: bool,
) -> Result<Option<Vec<NodeId>>, AnalysisError> {
    let reads = |nid: NodeId| {
        let node = &graph.nodes[nid];
        node.inputs
            .iter()
            .flatten()
            .chain(extra.get(&nid).into_iter().flatten())
    };
    let n = graph.nodes.len();
    let extra_in_order = || {
        extra
            .iter()
            .all(|(&nid, vids)| vids.iter().all(|&vid| producers.made_before(vid, nid)))
    };
    if inputs_in_order && extra_in_order() {
        return Ok(None);
    }
    let mut pending = vec![0usize; n];
    let mut consumers: Vec<Vec<NodeId>> = vec![Vec::new(); n];
    for (nid, waiting) in pending.iter_mut().enumerate() {
        for &vid in reads(nid) {
            if let Some(p) = producers.of(vid) {
                *waiting += 1;
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
    Ok(Some(order))
}

/// Facts before any node runs: graph inputs (bound or overridden as the user
/// asked) and initializers.
fn initial_facts(
    graph: &Graph,
    options: &AnalysisOptions,
    bind: &dyn Fn(&str) -> Option<i128>,
    mut facts: LiveFacts,
) -> Result<LiveFacts, AnalysisError> {
    for &vid in &graph.inputs {
        let mut f = ValueFacts::default();
        merge_declared(&mut f, graph, vid, bind).map_err(|_| AnalysisError::Overflow {
            node: graph.values[vid].name.to_string(),
            op_type: "input".into(),
        })?;
        facts.set(vid, f);
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
        let mut f = facts[vid].clone();
        f.shape = Some(dims.iter().map(|&d| Dim::int(d)).collect());
        facts.set(vid, f);
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
        // Only a shape that changes is copied out of the values sharing it.
        if shape
            .iter()
            .any(|d| d.poly().is_some_and(|p| p.binds_any(bind)))
        {
            bind_shape(shape.make_mut(), bind)?;
        }
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
    // The declaration only fills what inference left open.
    let fills = match &f.shape {
        None => true,
        Some(inferred) => {
            inferred.len() == declared.len() && inferred.iter().any(|d| !d.is_known())
        }
    };
    if !fills {
        return Ok(());
    }
    let mut declared = declared.clone();
    bind_shape(&mut declared, bind)?;
    match &mut f.shape {
        None => f.shape = Some(declared.into()),
        Some(inferred) if inferred.len() == declared.len() => {
            for (d, decl_d) in inferred.make_mut().iter_mut().zip(declared) {
                if !d.is_known() {
                    *d = decl_d;
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

fn bind_shape(shape: &mut [Dim], bind: &dyn Fn(&str) -> Option<i128>) -> Result<(), Overflow> {
    for d in shape.iter_mut() {
        if let Dim::Known(p) = d {
            if p.binds_any(bind) {
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
pub(crate) mod tests {
    use super::*;
    use crate::graph::{
        Attribute, DType, DeclaredType, Node, OpsetImports, Tensor, TensorData, Value,
    };
    use crate::report::NodeStatus;
    use crate::shape::{shape_of, Shape};

    /// A graph built by value names; inputs are float32 with the given shape.
    pub(crate) struct G(pub(crate) Graph);

    /// A rule sees its weights' shapes, not their elements, so that nodes
    /// differing only in weights share one remembered result; a constant
    /// operand of an elementwise op stays in view where it may be folded.
    #[test]
    fn rules_see_a_weights_shape_not_its_elements() {
        let floats = |dims: Vec<i64>, values: Vec<f64>| {
            ValueFacts::of_tensor(&Tensor {
                dtype: DType::F32,
                dims,
                data: TensorData::Floats(values),
            })
        };
        let mut facts = LiveFacts::new(vec![0; 5]).unwrap();
        (0..5).for_each(|v| facts.keep(v));
        facts.set(
            0,
            ValueFacts::new(Some(DType::F32), Some(shape_of(&[1, 2, 4, 4]))),
        );
        facts.set(1, floats(vec![2, 2, 1, 1], vec![0.5; 4]));
        facts.set(2, floats(vec![2], vec![1.0, 2.0]));
        assert!(facts[2].value.is_some(), "two float elements are read");
        let node = Node {
            op_type: "Conv".into(),
            inputs: vec![Some(0), Some(1), Some(2)].into(),
            ..Node::default()
        };
        let conv = ops::lookup("", "Conv").unwrap();
        let shown = inputs_without_elements(&node, conv, &facts);
        assert_eq!(
            shown.iter().map(|(pos, _)| *pos).collect::<Vec<_>>(),
            [1, 2]
        );
        for (pos, f) in &shown {
            assert_eq!(f.value, None);
            assert_eq!(f.shape, facts[node.inputs[*pos].unwrap()].shape);
        }
        // Integer elements at a weight's position are hidden as well.
        facts.set(
            4,
            ValueFacts::of_tensor(&Tensor {
                dtype: DType::I64,
                dims: vec![2],
                data: TensorData::Ints(vec![1, 2]),
            }),
        );
        assert!(facts[4].value.is_some(), "two integer elements are read");
        let int_bias = Node {
            inputs: vec![Some(0), Some(1), Some(4)].into(),
            ..node.clone()
        };
        let shown = inputs_without_elements(&int_bias, conv, &facts);
        assert_eq!(
            shown.iter().map(|(pos, _)| *pos).collect::<Vec<_>>(),
            [1, 2]
        );
        // Positions: beside another known operand (the sum may be folded)
        // or one with a pattern (a mask's offset) a constant operand stays
        // in view; beside an activation, whose sum it cannot tell, not.
        facts.set(
            3,
            ValueFacts {
                pattern: Some(Box::new(crate::value::Pattern::Index {
                    from_end: 0,
                    start: Poly::ZERO,
                })),
                ..ValueFacts::new(Some(DType::I64), Some(shape_of(&[2])))
            },
        );
        let add = ops::lookup("", "Add").unwrap();
        let hidden = |a: ValueId, b: ValueId| -> Vec<usize> {
            let sum = Node {
                op_type: "Add".into(),
                inputs: vec![Some(a), Some(b)].into(),
                ..Node::default()
            };
            let shown = inputs_without_elements(&sum, add, &facts);
            assert!(shown.iter().all(|(_, f)| f.value.is_none()));
            shown.iter().map(|(pos, _)| *pos).collect()
        };
        assert_eq!(hidden(1, 2), [0usize; 0]);
        assert_eq!(hidden(3, 2), [0usize; 0]);
        assert_eq!(hidden(0, 2), [1]);
        assert_eq!(hidden(2, 0), [0]);
        assert_eq!(hidden(0, 0), [0usize; 0], "nothing known, nothing to hide");
    }

    impl G {
        pub(crate) fn new() -> Self {
            G(Graph {
                opsets: OpsetImports(vec![(String::new(), 17)]),
                ..Graph::default()
            })
        }

        pub(crate) fn id(&mut self, name: &str) -> ValueId {
            match self.0.values.iter().position(|v| v.name == name) {
                Some(i) => i,
                None => self.0.add_value(Value {
                    name: name.into(),
                    ..Value::default()
                }),
            }
        }

        pub(crate) fn input(mut self, name: &str, shape: Shape) -> Self {
            let id = self.id(name);
            self.0.values[id].declared = Some(Box::new(DeclaredType {
                dtype: Some(DType::F32),
                shape: Some(shape),
            }));
            self.0.inputs.push(id);
            self
        }

        pub(crate) fn weight(mut self, name: &str, dims: &[i64]) -> Self {
            let id = self.id(name);
            self.0.values[id].initializer = Some(Box::new(Tensor {
                dtype: DType::F32,
                dims: dims.to_vec(),
                data: TensorData::Absent,
            }));
            self
        }

        pub(crate) fn declare(mut self, name: &str, shape: Shape) -> Self {
            let id = self.id(name);
            self.0.values[id].declared = Some(Box::new(DeclaredType {
                dtype: Some(DType::F32),
                shape: Some(shape),
            }));
            self
        }

        pub(crate) fn node(self, op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Self {
            self.with_attrs(op, name, inputs, outputs, Vec::new())
        }

        /// A node with attributes; an empty input name is an omitted input.
        pub(crate) fn with_attrs(
            mut self,
            op: &str,
            name: &str,
            inputs: &[&str],
            outputs: &[&str],
            attributes: Vec<Attribute>,
        ) -> Self {
            let inputs = inputs
                .iter()
                .map(|i| (!i.is_empty()).then(|| self.id(i)))
                .collect();
            let outputs = outputs.iter().map(|o| Some(self.id(o))).collect();
            self.0.nodes.push(Node {
                name: name.into(),
                op_type: op.into(),
                inputs,
                outputs,
                attributes: attributes.into(),
                ..Node::default()
            });
            self
        }

        /// A graph input of any dtype.
        pub(crate) fn typed_input(
            mut self,
            name: &str,
            dtype: DType,
            shape: Option<Shape>,
        ) -> Self {
            let id = self.id(name);
            self.0.values[id].declared = Some(Box::new(DeclaredType {
                dtype: Some(dtype),
                shape,
            }));
            self.0.inputs.push(id);
            self
        }

        /// An integer (or boolean) initializer with its elements.
        pub(crate) fn ints(mut self, name: &str, dtype: DType, dims: &[i64], v: &[i64]) -> Self {
            let id = self.id(name);
            self.0.values[id].initializer = Some(Box::new(Tensor {
                dtype,
                dims: dims.to_vec(),
                data: TensorData::Ints(v.to_vec()),
            }));
            self
        }

        pub(crate) fn output(mut self, name: &str) -> Self {
            let id = self.id(name);
            self.0.outputs.push(id);
            self
        }

        pub(crate) fn graph(self) -> Graph {
            self.0
        }

        pub(crate) fn run(self) -> Result<Report, AnalysisError> {
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
        assert_eq!(with_decl.totals.cost.flops.as_constant(), Some(16));
        assert_eq!(with_decl.unsupported[0].nodes, vec!["m".to_string()]);

        let without = g().run().unwrap();
        let incomplete: Vec<_> = without.incomplete().collect();
        assert_eq!(incomplete.len(), 1);
        assert_eq!(incomplete[0].0.name, "r");
        assert!(incomplete[0].1.contains("'y'"), "{}", incomplete[0].1);
        assert!(without.totals.cost.flops.is_zero());
    }

    /// What a streamed line shows, whichever way it is handed over (a
    /// borrowed line's names are its graph node's): name, operator,
    /// domain, parameters, buffers, cost, status, and each output's name,
    /// type and shape.
    type Shown = (
        String,
        String,
        String,
        u64,
        u64,
        Option<Cost>,
        NodeStatus,
        Vec<String>,
    );

    fn shown(graph: &Graph, line: Line<'_>) -> Shown {
        let outputs = |o: &mut dyn Iterator<
            Item = (&str, Option<DType>, Option<&crate::shape::SharedShape>),
        >| {
            o.map(|(n, d, s)| format!("{n} {d:?} {:?}", s.map(|s| s.to_vec())))
                .collect()
        };
        match line {
            Line::Report(n) => (
                n.name.to_string(),
                n.op_type.to_string(),
                n.domain.to_string(),
                n.params,
                n.buffers,
                n.cost.clone(),
                n.status.clone(),
                outputs(
                    &mut n
                        .outputs
                        .iter()
                        .map(|o| (o.name.as_str(), o.dtype, o.shape.as_ref())),
                ),
            ),
            Line::Borrowed(v) => {
                let node = &graph.nodes[v.node];
                let name = |vid: ValueId| graph.values[vid].name.as_str();
                (
                    node.shown_name(v.node).to_string(),
                    node.op_type.to_string(),
                    node.domain.to_string(),
                    v.params,
                    v.buffers,
                    Some(v.cost.clone()),
                    NodeStatus::Counted,
                    outputs(
                        &mut v
                            .outputs
                            .iter()
                            .map(|(vid, f)| (name(*vid), f.dtype, f.shape.as_ref())),
                    ),
                )
            }
        }
    }

    /// Each line [`LineDetail::Borrowed`] streams: whether it came
    /// borrowed, and what it shows.
    fn stream_borrowed(graph: &Graph) -> Vec<(bool, Shown)> {
        let mut lines = Vec::new();
        let options = AnalysisOptions::default();
        analyze_streaming(graph, &options, LineDetail::Borrowed, &mut |line| {
            lines.push((matches!(line, Line::Borrowed(_)), shown(graph, line)));
            ControlFlow::Continue(())
        })
        .unwrap();
        lines
    }

    #[test]
    fn a_report_of_uncounted_lines_keeps_those_and_the_same_totals() {
        // m has no rule; r reads what m leaves unknown (incomplete); w and
        // t are counted: 8*16 weights and MACs; FLOPs 128 products, 16*7
        // sums and 16 Tanh.
        let g = G::new()
            .input("x", shape_of(&[1, 8]))
            .input("v", shape_of(&[1, 8]))
            .weight("W", &[8, 16])
            .node("Mystery", "m", &["x"], &["y"])
            .node("Relu", "r", &["y"], &["z"])
            .node("MatMul", "w", &["v", "W"], &["p"])
            .node("Tanh", "t", &["p"], &["q"]);
        let all = analyze_keeping(&g.0, &AnalysisOptions::default(), Lines::All).unwrap();
        let few = analyze_keeping(&g.0, &AnalysisOptions::default(), Lines::Uncounted).unwrap();
        let names = |r: &Report| {
            r.nodes
                .iter()
                .map(|n| n.name.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&all), ["m", "r", "w", "t"]);
        assert_eq!(names(&few), ["m", "r"]);
        assert_eq!((all.lines, few.lines), (Lines::All, Lines::Uncounted));
        assert_eq!(few.totals, all.totals);
        assert_eq!(few.totals.params, 128);
        assert_eq!(few.totals.cost.macs.as_constant(), Some(128));
        assert_eq!(few.totals.cost.flops.as_constant(), Some(128 + 16 * 7 + 16));
        assert_eq!(few.unsupported, all.unsupported);
        assert_eq!(few.incomplete().count(), 1);
        assert!(!few.is_complete());

        // Streamed: every line handed over in order, the uncounted kept.
        let stream = |detail: LineDetail| {
            let (mut taken, mut borrowed) = (Vec::new(), Vec::new());
            let options = AnalysisOptions::default();
            let streamed = analyze_streaming(&g.0, &options, detail, &mut |line| {
                match line {
                    Line::Report(n) => taken.push(n.clone()),
                    Line::Borrowed(_) => borrowed.push(shown(&g.0, line)),
                }
                ControlFlow::Continue(())
            });
            assert!(borrowed.is_empty() || detail == LineDetail::Borrowed);
            (streamed.unwrap(), taken)
        };
        let (streamed, taken) = stream(LineDetail::Whole);
        assert_eq!(taken, all.nodes);
        // Without inputs: the lines not kept (the counted ones) have none.
        let (_, taken) = stream(LineDetail::WithoutInputs);
        let mut outputs_only = all.nodes.clone();
        for line in &mut outputs_only {
            if line.status == NodeStatus::Counted {
                line.inputs = Box::default();
            }
        }
        assert_eq!(
            outputs_only
                .iter()
                .map(|n| n.inputs.len())
                .collect::<Vec<_>>(),
            [1, 1, 0, 0],
            "m and r are kept, not counted"
        );
        assert_eq!(taken, outputs_only);
        // Borrowed: the counted lines have no report line, and show what
        // the whole report's do.
        let shown_lines = stream_borrowed(&g.0);
        let expected: Vec<_> = all
            .nodes
            .iter()
            .map(|n| {
                (
                    n.status == NodeStatus::Counted,
                    shown(&g.0, Line::Report(n)),
                )
            })
            .collect();
        assert_eq!(shown_lines, expected);
        assert_eq!(expected.iter().filter(|(b, _)| *b).count(), 2);
        assert_eq!(streamed.nodes, few.nodes);
        assert_eq!(streamed.lines, Lines::Uncounted);
        assert_eq!(streamed.totals, all.totals);
        assert_eq!(streamed.unsupported, all.unsupported);
        assert_eq!(
            (&streamed.inputs, &streamed.outputs),
            (&all.inputs, &all.outputs)
        );
    }

    /// A line only streamed is the previous one refilled: each must still
    /// be its own node's, whatever the previous held (more or fewer
    /// outputs, other shapes and types, another operator or the same one).
    #[test]
    fn each_streamed_line_is_its_own_node_whatever_the_previous_held() {
        let mut g = G::new()
            .input("x", vec![Dim::sym("batch"), Dim::int(12)])
            .with_attrs(
                "Split",
                "s2",
                &["x"],
                &["a", "b"],
                vec![int_attr("axis", 1)],
            )
            .node("Relu", "r", &["a"], &["c"])
            .with_attrs(
                "Split",
                "s3",
                &["x"],
                &["d", "e", "f"],
                vec![int_attr("axis", 1)],
            )
            .node("Relu", "r2", &["b"], &["h"])
            .node("Shape", "sh", &["d"], &["k"])
            .node("Add", "add", &["c", "h"], &["i"])
            .node("Relu", "r3", &["i"], &["j"]);
        // r2 and r3 share r's operator name, as a file's interned names do.
        let relu = g.0.nodes[1].op_type.clone();
        g.0.nodes[3].op_type = relu.clone();
        g.0.nodes[6].op_type = relu;
        let g = g.output("j").output("k").output("e").output("f");
        let whole = analyze(&g.0, &AnalysisOptions::default()).unwrap();
        for detail in [LineDetail::Whole, LineDetail::WithoutInputs] {
            let mut taken: Vec<NodeReport> = Vec::new();
            analyze_streaming(&g.0, &AnalysisOptions::default(), detail, &mut |line| {
                if let Line::Report(n) = line {
                    taken.push(n.clone());
                }
                ControlFlow::Continue(())
            })
            .unwrap();
            let mut expected = whole.nodes.clone();
            if detail == LineDetail::WithoutInputs {
                expected.iter_mut().for_each(|n| n.inputs = Box::default());
            }
            assert_eq!(taken, expected);
        }
        // Borrowed, each line's outputs held only until it is taken.
        let shown_lines = stream_borrowed(&g.0);
        let expected: Vec<_> = whole
            .nodes
            .iter()
            .map(|n| (true, shown(&g.0, Line::Report(n))))
            .collect();
        assert_eq!(shown_lines, expected);
        type Output = (String, Option<DType>, Option<Shape>);
        let outputs = |n: &NodeReport| -> Vec<Output> {
            let shape = |o: &ValueReport| o.shape.as_ref().map(|s| s.to_vec());
            n.outputs
                .iter()
                .map(|o| (o.name.to_string(), o.dtype, shape(o)))
                .collect()
        };
        let lines: Vec<Vec<Output>> = whole.nodes.iter().map(outputs).collect();
        let f32_of = |name: &str, cols: i64| -> Output {
            let dims = vec![Dim::sym("batch"), Dim::int(cols)];
            (name.to_string(), Some(DType::F32), Some(dims))
        };
        assert_eq!(lines[0], [f32_of("a", 6), f32_of("b", 6)]);
        assert_eq!(lines[1], [f32_of("c", 6)]);
        assert_eq!(lines[2], [f32_of("d", 4), f32_of("e", 4), f32_of("f", 4)]);
        let k = ("k".to_string(), Some(DType::I64), Some(vec![Dim::int(2)]));
        assert_eq!(lines[4], [k]);
        assert_eq!(lines[6], [f32_of("j", 6)]);
    }

    #[test]
    fn streamed_lines_follow_the_checks_made_once_every_node_is_seen() {
        // v·W: v must have 8 columns.
        let g = G::new()
            .input("v", vec![Dim::sym("batch"), Dim::int(8)])
            .weight("W", &[8, 16])
            .node("MatMul", "w", &["v", "W"], &["p"])
            .node("Tanh", "t", &["p"], &["q"]);
        let given = |cols: i64| AnalysisOptions {
            input_shapes: vec![("v".into(), vec![2, cols])],
            ..AnalysisOptions::default()
        };
        let stream = |options: &AnalysisOptions| {
            let mut taken = Vec::new();
            let report = analyze_streaming(&g.0, options, LineDetail::Whole, &mut |line| {
                taken.push(shown(&g.0, line).0);
                ControlFlow::Continue(())
            });
            (report, taken)
        };
        // A clash is found after the walk: no line was handed over before.
        let (clash, taken) = stream(&given(9));
        assert!(
            matches!(clash, Err(AnalysisError::InputClash { .. })),
            "{clash:?}"
        );
        assert!(taken.is_empty());
        let (fits, taken) = stream(&given(8));
        let fits = fits.unwrap();
        assert_eq!(taken, ["w", "t"]);
        assert!(fits.nodes.is_empty());
        assert_eq!(fits.totals.cost.macs.as_constant(), Some(2 * 8 * 16));
        // A sink that stops stops the analysis.
        let mut seen = 0;
        let options = AnalysisOptions::default();
        let stopped = analyze_streaming(&g.0, &options, LineDetail::WithoutInputs, &mut |_| {
            seen += 1;
            ControlFlow::Break(())
        });
        assert_eq!((stopped.unwrap_err(), seen), (AnalysisError::Stopped, 1));
    }

    /// Only the initializers some reader may see the elements of have them
    /// decoded: not one every reader takes as a weight, whatever their
    /// number, but one read as data, one forwarded by a transform, and one
    /// that is also a graph output.
    #[test]
    fn elements_are_decoded_only_where_a_reader_may_see_them() {
        let graph = G::new()
            .input("x", shape_of(&[1, 2, 4, 4]))
            .weight("w", &[2, 2, 1, 1])
            .weight("b", &[2])
            .weight("shared", &[2])
            .weight("offset", &[4])
            .weight("half", &[2, 2, 1, 1])
            .node("Conv", "c1", &["x", "w", "b"], &["y1"])
            .node("Conv", "c2", &["y1", "w", "shared"], &["y2"])
            .node("Add", "a", &["y2", "offset"], &["y3"])
            .node("Mul", "m", &["y3", "shared"], &["y4"])
            .node("Cast", "cast", &["half"], &["half32"])
            .node("Conv", "c3", &["y4", "half32"], &["y5"])
            .output("y5")
            .output("b")
            .graph();
        let mut inits = Inits::default();
        let plan = Plan::build(&graph, 0, &[], &mut inits).unwrap();
        let shown = |name: &str| {
            let vid = graph.values.iter().position(|v| v.name == name).unwrap();
            inits.elements_shown[plan.init[vid].unwrap().index()]
        };
        assert!(!shown("w"), "read twice, as a weight both times");
        assert!(shown("b"), "a graph output");
        assert!(shown("shared"), "Mul reads it as data");
        assert!(shown("offset"), "Add reads it as data");
        assert!(shown("half"), "Cast forwards it");
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
        assert_eq!(r.totals.cost.macs.as_constant(), Some(2 * 2 * 8 * 8));
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

    /// A one-element weight is a parameter where a layer of one feature
    /// puts it (a `[1, 1]` MatMul matrix, a `[1]` bias after a product),
    /// and a constant elsewhere (PyTorch's `nn.Linear(1, 1)` has 2).
    #[test]
    fn one_element_weights_of_one_feature_layers_are_parameters() {
        let r = G::new()
            .input("x", shape_of(&[3, 1]))
            .weight("w", &[1, 1])
            .weight("b", &[1])
            .weight("c", &[1])
            .weight("s", &[])
            .node("MatMul", "fc", &["x", "w"], &["y"])
            .node("Add", "fc_bias", &["y", "b"], &["z"])
            .node("Add", "shift", &["z", "c"], &["u"])
            .node("Add", "fc_scalar", &["y", "s"], &["v"])
            .run()
            .unwrap();
        assert_eq!(r.totals.params, 2);
        assert_eq!(r.totals.constants, 2);
    }

    #[test]
    fn structural_errors_name_the_node() {
        let cycle = G::new()
            .input("x", shape_of(&[4]))
            .node("Add", "a", &["x", "bo"], &["ao"])
            .node("Relu", "b", &["ao"], &["bo"])
            .run();
        assert_eq!(cycle, Err(AnalysisError::Cycle { node: "a".into() }));
        // A node that reads its own output is a cycle of one, not a graph
        // already in order.
        let own = G::new()
            .input("x", shape_of(&[4]))
            .node("Add", "s", &["x", "so"], &["so"])
            .run();
        assert_eq!(own, Err(AnalysisError::Cycle { node: "s".into() }));
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
        // A value made twice is told before one never made, read earlier.
        let both = G::new()
            .input("x", shape_of(&[4]))
            .node("Relu", "r", &["ghost"], &["y"])
            .node("Relu", "p", &["x"], &["z"])
            .node("Relu", "q", &["x"], &["z"])
            .run();
        assert!(matches!(
            both,
            Err(AnalysisError::DuplicateProducer { ref second, .. }) if second == "q"
        ));
        // A graph input that a later node makes too, read before it: the
        // order follows the node that makes it.
        let fed_and_made = G::new()
            .input("x", shape_of(&[4]))
            .node("Relu", "a", &["x"], &["y"])
            .node("Relu", "b", &["y"], &["x"])
            .run();
        assert_eq!(fed_and_made, Err(AnalysisError::Cycle { node: "a".into() }));
    }

    /// A weight reaches its reader through transforms whatever the order
    /// the file lists them in: met before the transform that feeds it, a
    /// transform forwards the weight on a later pass over the nodes.
    #[test]
    fn weights_are_forwarded_through_transforms_listed_out_of_order() {
        let params_by_node = |order: &[usize]| {
            let nodes = [
                ("Transpose", "t", ["w", ""], "wt"),
                ("Mul", "m", ["wt", "s"], "ws"),
                ("MatMul", "mm", ["x", "ws"], "y"),
            ];
            let mut g = G::new()
                .input("x", shape_of(&[2, 3]))
                .weight("w", &[4, 3])
                .weight("s", &[1]);
            for &i in order {
                let (op, name, inputs, output) = nodes[i];
                let inputs: Vec<&str> = inputs.into_iter().filter(|i| !i.is_empty()).collect();
                g = g.node(op, name, &inputs, &[output]);
            }
            let r = g.output("y").run().unwrap();
            let mut params: Vec<(String, u64)> = r
                .nodes
                .iter()
                .map(|n| (n.name.to_string(), n.params))
                .collect();
            params.sort();
            (params, r.totals.params)
        };
        let expected = (
            vec![("m".into(), 0), ("mm".into(), 12), ("t".into(), 0)],
            12,
        );
        assert_eq!(params_by_node(&[0, 1, 2]), expected);
        // Mul before the Transpose it reads: forwarded on the second pass.
        assert_eq!(params_by_node(&[1, 0, 2]), expected);
        assert_eq!(params_by_node(&[2, 1, 0]), expected);
        // In order up to the MatMul: the Transpose's reads are classified
        // in the first pass, the others' after it.
        assert_eq!(params_by_node(&[0, 2, 1]), expected);
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
        assert_eq!(free.totals.cost.flops.to_string(), "8*batch");
        let bound = analyze(
            &g().0,
            &AnalysisOptions {
                dims: vec![("batch".into(), 3)],
                ..AnalysisOptions::default()
            },
        )
        .unwrap();
        assert_eq!(bound.totals.cost.flops.as_constant(), Some(24));
        let overridden = analyze(
            &g().0,
            &AnalysisOptions {
                input_shapes: vec![("x".into(), vec![5, 10])],
                ..AnalysisOptions::default()
            },
        )
        .unwrap();
        assert_eq!(overridden.totals.cost.flops.as_constant(), Some(50));
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

    /// A node that reads the very shape an earlier node of its operator
    /// read takes that node's remembered result only when the rest of what
    /// it reads is the same too: here a Neg of integers after two Negs of
    /// floats of one shape (their operator names shared, as a reader gives
    /// them), which a Cast passed on.
    #[test]
    fn a_remembered_result_is_found_by_its_shape_only_with_the_same_type() {
        let mut graph = G::new()
            .input("x", shape_of(&[2, 3]))
            .node("Relu", "r", &["x"], &["y"])
            .with_attrs("Cast", "c", &["y"], &["z"], vec![int_attr("to", 7)])
            .node("Neg", "n1", &["y"], &["p"])
            .node("Neg", "n2", &["y"], &["q"])
            .node("Neg", "n3", &["z"], &["s"])
            .graph();
        let neg = Name::from("Neg");
        for node in graph.nodes.iter_mut().filter(|n| n.op_type == "Neg") {
            node.op_type = neg.clone();
        }
        let r = analyze(&graph, &AnalysisOptions::default()).unwrap();
        let negs: Vec<(Option<DType>, Option<i128>, Option<i128>)> = r.nodes[2..]
            .iter()
            .map(|n| {
                let cost = n.cost.as_ref().unwrap();
                let counts = (cost.flops.as_constant(), cost.int_ops.as_constant());
                (n.outputs[0].dtype, counts.0, counts.1)
            })
            .collect();
        let float = (Some(DType::F32), Some(6), Some(0));
        assert_eq!(negs, [float, float, (Some(DType::I64), Some(6), Some(0))]);
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

    // ----- control flow ------------------------------------------------

    pub(crate) fn gattr(name: &str, g: Graph) -> Attribute {
        Attribute {
            name: name.into(),
            value: AttrValue::Graph(Box::new(g)),
        }
    }

    pub(crate) fn int_attr(name: &str, v: i64) -> Attribute {
        Attribute {
            name: name.into(),
            value: AttrValue::Int(v),
        }
    }

    fn c(p: Option<&Poly>) -> Option<i128> {
        p.and_then(Poly::as_constant)
    }

    /// `if` on `cond` over x (2×8): the then branch multiplies by the outer
    /// W1 (8×16: 256 MACs, 2·16·15 = 480 FLOPs); the else branch by its
    /// own W2 (8×32: 512 MACs, 960 FLOPs) then a Relu (64): 1,024 FLOPs.
    fn if_model(cond: Option<bool>) -> G {
        let then_g = G::new()
            .node("MatMul", "mm", &["x", "W1"], &["t"])
            .output("t")
            .graph();
        let else_g = G::new()
            .weight("W2", &[8, 32])
            .node("MatMul", "mm", &["x", "W2"], &["e"])
            .node("Relu", "relu", &["e"], &["e2"])
            .output("e2")
            .graph();
        let g = G::new()
            .input("x", shape_of(&[2, 8]))
            .weight("W1", &[8, 16]);
        let g = match cond {
            Some(v) => g.ints("cond", DType::Bool, &[], &[v as i64]),
            None => g.typed_input("cond", DType::Bool, Some(vec![])),
        };
        g.with_attrs(
            "If",
            "if",
            &["cond"],
            &["y"],
            vec![gattr("then_branch", then_g), gattr("else_branch", else_g)],
        )
        .output("y")
    }

    #[test]
    fn if_with_a_constant_condition_counts_the_taken_branch() {
        let r = if_model(Some(true)).run().unwrap();
        let n = &r.nodes[0];
        assert_eq!((c(n.macs()), c(n.flops())), (Some(256), Some(480)));
        assert_eq!(r.totals.cost.macs.as_constant(), Some(256));
        assert_eq!(r.totals.cost.flops.as_constant(), Some(480));
        assert_eq!(
            crate::shape::format_shape(r.outputs[0].shape.as_ref().unwrap()),
            "2x16"
        );
        // Both branches are shown, with their own cost; the file holds both
        // branches' weights: 128 + 256, on the If's row.
        assert_eq!(n.subgraphs.len(), 2);
        let (t, e) = (&n.subgraphs[0], &n.subgraphs[1]);
        assert_eq!(t.attribute, "then_branch");
        assert_eq!(t.runs, Some(Poly::constant(1)));
        assert_eq!(e.runs, Some(Poly::ZERO));
        assert_eq!(
            (t.cost.macs.as_constant(), e.cost.flops.as_constant()),
            (Some(256), Some(1024))
        );
        assert_eq!(t.nodes[0].name, "if/then_branch/mm");
        assert_eq!((t.params, e.params, n.params), (128, 256, 384));
        assert_eq!(r.totals.params, 384);

        let r = if_model(Some(false)).run().unwrap();
        assert_eq!(r.totals.cost.macs.as_constant(), Some(512));
        assert_eq!(r.totals.cost.flops.as_constant(), Some(1024));
        assert_eq!(
            crate::shape::format_shape(r.outputs[0].shape.as_ref().unwrap()),
            "2x32"
        );
    }

    #[test]
    fn if_with_an_unknown_condition_counts_the_larger_branch() {
        let r = if_model(None).run().unwrap();
        let n = &r.nodes[0];
        assert_eq!(n.status, NodeStatus::Counted);
        assert_eq!((c(n.macs()), c(n.flops())), (Some(512), Some(1024)));
        assert_eq!(n.subgraphs[0].runs, Some(Poly::ZERO));
        assert_eq!(n.subgraphs[1].runs, Some(Poly::constant(1)));
        assert_eq!(n.subgraphs[0].cost.flops.as_constant(), Some(480));
        // The branches disagree on the second axis: the node's data
        // symbol there, at most the larger branch's 32.
        assert_eq!(
            crate::shape::format_shape(r.outputs[0].shape.as_ref().unwrap()),
            "2xif_o0_1"
        );
        assert_eq!(r.symbols[0].upper_bound, Some(Poly::constant(32)));
        assert_eq!(r.totals.params, 384);
    }

    #[test]
    fn if_whose_branch_costs_cross_counts_the_per_term_maximum() {
        // then: x (n×8) · W (8×16): 128n MACs, 240n FLOPs; else: Relu of
        // an outer 1000-vector, 1000 FLOPs. Neither is larger for every n.
        let then_g = G::new()
            .node("MatMul", "mm", &["x", "W"], &["t"])
            .output("t")
            .graph();
        let else_g = G::new()
            .node("Relu", "relu", &["z"], &["e"])
            .output("e")
            .graph();
        let r = G::new()
            .input("x", vec![Dim::sym("n"), Dim::int(8)])
            .input("z", shape_of(&[1000]))
            .typed_input("cond", DType::Bool, Some(vec![]))
            .weight("W", &[8, 16])
            .with_attrs(
                "If",
                "if",
                &["cond"],
                &["y"],
                vec![gattr("then_branch", then_g), gattr("else_branch", else_g)],
            )
            .run()
            .unwrap();
        let n = Poly::symbol("n");
        assert_eq!(r.totals.cost.macs, n.checked_scale(128).unwrap());
        let flops = n
            .checked_scale(240)
            .unwrap()
            .checked_add(&Poly::constant(1000));
        assert_eq!(r.totals.cost.flops, flops.unwrap());
        assert!(r.nodes[0].subgraphs.iter().all(|s| s.runs.is_none()));
    }

    /// `loop` over v (4×8), M given or not: the body multiplies by the
    /// outer W (8×8: 256 MACs, 480 FLOPs) and emits a Relu of the result
    /// as a scan output (32 FLOPs). After the loop, one more v · W.
    fn loop_model(m: Option<i64>) -> G {
        let body = G::new()
            .typed_input("i", DType::I64, Some(vec![]))
            .typed_input("cond_in", DType::Bool, Some(vec![]))
            .typed_input("v_in", DType::F32, None)
            .node("Identity", "keep", &["cond_in"], &["cond_out"])
            .node("MatMul", "mm", &["v_in", "W"], &["v_out"])
            .node("Relu", "relu", &["v_out"], &["s"])
            .output("cond_out")
            .output("v_out")
            .output("s")
            .graph();
        let g = G::new().input("v0", shape_of(&[4, 8])).weight("W", &[8, 8]);
        let g = match m {
            Some(m) => g.ints("M", DType::I64, &[], &[m]),
            None => g.typed_input("M", DType::I64, Some(vec![])),
        };
        g.with_attrs(
            "Loop",
            "loop",
            &["M", "", "v0"],
            &["v", "scans"],
            vec![gattr("body", body)],
        )
        .node("MatMul", "after", &["v", "W"], &["z"])
        .output("z")
        .output("scans")
    }

    #[test]
    fn loop_with_a_known_trip_count_multiplies_its_body() {
        let r = loop_model(Some(5)).run().unwrap();
        let n = &r.nodes[0];
        assert_eq!((c(n.macs()), c(n.flops())), (Some(5 * 256), Some(5 * 512)));
        let body = &n.subgraphs[0];
        assert_eq!(body.runs, Some(Poly::constant(5)));
        assert_eq!(
            (body.cost.macs.as_constant(), body.cost.flops.as_constant()),
            (Some(256), Some(512))
        );
        assert_eq!(r.totals.cost.macs.as_constant(), Some(5 * 256 + 256));
        assert_eq!(r.totals.cost.flops.as_constant(), Some(5 * 512 + 480));
        // W is read in the body and after the loop: 64 parameters, once,
        // on the loop's row.
        assert_eq!(r.totals.params, 64);
        assert_eq!((n.params, r.nodes[1].params), (64, 0));
        let shapes: Vec<String> = n
            .outputs
            .iter()
            .map(|o| crate::shape::format_shape(o.shape.as_ref().unwrap()))
            .collect();
        assert_eq!(shapes, ["4x8", "5x4x8"]);
    }

    #[test]
    fn loop_with_an_unknown_trip_count_is_a_polynomial_in_a_symbol() {
        let r = loop_model(None).run().unwrap();
        let trips = Poly::symbol("loop_n");
        assert_eq!(
            r.nodes[0].macs().cloned(),
            Some(trips.checked_scale(256).unwrap())
        );
        assert_eq!(
            r.nodes[0].flops().cloned(),
            Some(trips.checked_scale(512).unwrap())
        );
        assert_eq!(r.free_symbols(), ["loop_n"]);
        assert_eq!(
            crate::shape::format_shape(r.outputs[1].shape.as_ref().unwrap()),
            "loop_nx4x8"
        );
        let bound = analyze(
            &loop_model(None).0,
            &AnalysisOptions {
                dims: vec![("loop_n".into(), 3)],
                ..AnalysisOptions::default()
            },
        )
        .unwrap();
        assert_eq!(bound.totals.cost.macs.as_constant(), Some(3 * 256 + 256));
    }

    /// Unsupported operators: one entry per (domain, operator), each node
    /// listed once however often its body is analysed.
    #[test]
    fn unsupported_nodes_are_listed_once_per_operator() {
        let mut u = UnsupportedList::default();
        for (op, node) in [("Foo", "a"), ("Bar", "b"), ("Foo", "c"), ("Foo", "a")] {
            u.record("com.example", op, node);
        }
        let listed: Vec<(&str, Vec<&str>)> = u
            .list
            .iter()
            .map(|x| {
                (
                    x.op_type.as_str(),
                    x.nodes.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(listed, [("Foo", vec!["a", "c"]), ("Bar", vec!["b"])]);
    }

    /// Mask R-CNN's paste loop: a carried `[0, 4]` tensor gains a `[1, 4]`
    /// row per iteration (Concat on axis 0). After M = 7 iterations it is
    /// `[7, 4]`; with M unknown, `[loop_n, 4]`; started at `[2, 4]` with two
    /// rows per iteration, `[2 + 2·M, 4]`.
    #[test]
    fn loop_carried_tensors_that_grow_by_a_fixed_step() {
        let model = |m: Option<i64>, start: i64, step: i64| {
            let body = G::new()
                .typed_input("i", DType::I64, Some(vec![]))
                .typed_input("cond_in", DType::Bool, Some(vec![]))
                .typed_input("acc_in", DType::F32, None)
                .node("Identity", "keep", &["cond_in"], &["cond_out"])
                .with_attrs(
                    "Concat",
                    "grow",
                    &["acc_in", "row"],
                    &["acc_out"],
                    vec![int_attr("axis", 0)],
                )
                .output("cond_out")
                .output("acc_out")
                .graph();
            let g = G::new().input("acc0", shape_of(&[start, 4]));
            let g = g.input("row", shape_of(&[step, 4]));
            let g = match m {
                Some(m) => g.ints("M", DType::I64, &[], &[m]),
                None => g.typed_input("M", DType::I64, Some(vec![])),
            };
            g.with_attrs(
                "Loop",
                "loop",
                &["M", "", "acc0"],
                &["acc"],
                vec![gattr("body", body)],
            )
            .output("acc")
        };
        let shape = |r: &Report| crate::shape::format_shape(r.outputs[0].shape.as_ref().unwrap());
        assert_eq!(shape(&model(Some(7), 0, 1).run().unwrap()), "7x4");
        assert_eq!(shape(&model(None, 0, 1).run().unwrap()), "loop_nx4");
        assert_eq!(shape(&model(None, 2, 2).run().unwrap()), "(2*loop_n + 2)x4");
    }

    #[test]
    fn scan_multiplies_its_body_by_the_scanned_length() {
        // The body sees one step x_t (1×16): x_t · W (16×4) is 64 MACs and
        // 4·31 = 124 FLOPs, adding it to the state 4 more: 128 per step.
        let body = || {
            G::new()
                .typed_input("s_in", DType::F32, None)
                .typed_input("x_t", DType::F32, None)
                .node("MatMul", "mm", &["x_t", "W"], &["y_t"])
                .node("Add", "acc", &["s_in", "y_t"], &["s_out"])
                .output("s_out")
                .output("y_t")
                .graph()
        };
        let seq = || Dim::sym("seq");
        for (x_shape, axes) in [
            (vec![seq(), Dim::int(1), Dim::int(16)], None),
            (vec![Dim::int(1), seq(), Dim::int(16)], Some(vec![1i64])),
        ] {
            let mut attrs = vec![gattr("body", body()), int_attr("num_scan_inputs", 1)];
            if let Some(a) = axes {
                attrs.push(Attribute {
                    name: "scan_input_axes".into(),
                    value: AttrValue::Ints(a),
                });
            }
            let r = G::new()
                .input("s0", shape_of(&[1, 4]))
                .input("x", x_shape)
                .weight("W", &[16, 4])
                .with_attrs("Scan", "scan", &["s0", "x"], &["s", "ys"], attrs)
                .run()
                .unwrap();
            let seq = Poly::symbol("seq");
            assert_eq!(r.totals.cost.macs, seq.checked_scale(64).unwrap());
            assert_eq!(r.totals.cost.flops, seq.checked_scale(128).unwrap());
            assert_eq!(r.totals.params, 64);
            let n = &r.nodes[0];
            assert_eq!(n.subgraphs[0].runs, Some(seq));
            let shapes: Vec<String> = n
                .outputs
                .iter()
                .map(|o| crate::shape::format_shape(o.shape.as_ref().unwrap()))
                .collect();
            assert_eq!(shapes, ["1x4", "seqx1x4"]);
        }
    }

    #[test]
    fn if_nested_in_a_loop_reads_values_two_scopes_out() {
        // The If's then branch reads the loop body's v_in and the model's W,
        // which the loop body itself never names; its condition is a model
        // input. then: 256 MACs, 480 FLOPs; else: nothing. Three trips.
        let then_g = G::new()
            .node("MatMul", "mm", &["v_in", "W"], &["t"])
            .output("t")
            .graph();
        let else_g = G::new()
            .node("Identity", "same", &["v_in"], &["e"])
            .output("e")
            .graph();
        let body = G::new()
            .typed_input("i", DType::I64, Some(vec![]))
            .typed_input("cond_in", DType::Bool, Some(vec![]))
            .typed_input("v_in", DType::F32, None)
            .node("Identity", "keep", &["cond_in"], &["cond_out"])
            .with_attrs(
                "If",
                "if",
                &["flag"],
                &["v_out"],
                vec![gattr("then_branch", then_g), gattr("else_branch", else_g)],
            )
            .output("cond_out")
            .output("v_out")
            .graph();
        let r = G::new()
            .input("v0", shape_of(&[4, 8]))
            .typed_input("flag", DType::Bool, Some(vec![]))
            .weight("W", &[8, 8])
            .ints("M", DType::I64, &[], &[3])
            .with_attrs(
                "Loop",
                "loop",
                &["M", "", "v0"],
                &["v"],
                vec![gattr("body", body)],
            )
            .output("v")
            .run()
            .unwrap();
        assert_eq!(r.totals.cost.macs.as_constant(), Some(3 * 256));
        assert_eq!(r.totals.cost.flops.as_constant(), Some(3 * 480));
        assert_eq!(r.totals.params, 64);
        let body = &r.nodes[0].subgraphs[0];
        let inner_if = body.nodes.iter().find(|n| n.op_type == "If").unwrap();
        assert_eq!(inner_if.name, "loop/body/if");
        assert_eq!(c(inner_if.macs()), Some(256));
        assert_eq!(
            inner_if.subgraphs[0].nodes[0].name,
            "loop/body/if/then_branch/mm"
        );
        assert_eq!(inner_if.params, 64);
        assert_eq!(r.nodes[0].params, 64);
        assert_eq!(
            crate::shape::format_shape(r.outputs[0].shape.as_ref().unwrap()),
            "4x8"
        );
    }

    /// An If whose then branch holds an If, `levels` deep.
    fn nested_ifs(levels: usize) -> Graph {
        let leaf = || G::new().output("x").graph();
        let mut g = leaf();
        for k in 1..=levels {
            let out = format!("y{k}");
            g = G::new()
                .with_attrs(
                    "If",
                    &format!("if{k}"),
                    &["c"],
                    &[&out],
                    vec![gattr("then_branch", g), gattr("else_branch", leaf())],
                )
                .output(&out)
                .graph();
        }
        g
    }

    #[test]
    fn bodies_nested_past_the_limit_are_an_error() {
        let with_inputs = |levels| {
            let mut g = G(nested_ifs(levels))
                .input("x", shape_of(&[4]))
                .typed_input("c", DType::Bool, Some(vec![]));
            g.0.opsets = OpsetImports(vec![(String::new(), 17)]);
            g
        };
        let ok = with_inputs(MAX_NESTING).run().unwrap();
        assert_eq!(
            crate::shape::format_shape(ok.outputs[0].shape.as_ref().unwrap()),
            "4"
        );
        let deep = with_inputs(MAX_NESTING + 1).run();
        assert_eq!(
            deep,
            Err(AnalysisError::NestingTooDeep {
                node: "if1".into(),
                op_type: "If".into(),
                limit: MAX_NESTING
            })
        );
        assert!(deep
            .unwrap_err()
            .to_string()
            .contains("deeper than 32 levels"));
    }

    #[test]
    fn outer_values_read_by_bodies_order_the_outer_graph() {
        // The If is listed before the Relu whose output its branches read.
        let then_g = G::new()
            .node("Relu", "again", &["r"], &["t"])
            .output("t")
            .graph();
        let else_g = G::new()
            .node("Identity", "same", &["r"], &["e"])
            .output("e")
            .graph();
        let r = G::new()
            .input("x", shape_of(&[4]))
            .ints("cond", DType::Bool, &[], &[1])
            .with_attrs(
                "If",
                "if",
                &["cond"],
                &["y"],
                vec![gattr("then_branch", then_g), gattr("else_branch", else_g)],
            )
            .node("Relu", "relu", &["x"], &["r"])
            .output("y")
            .run()
            .unwrap();
        let names: Vec<&str> = r.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["relu", "if"]);
        assert_eq!(r.totals.cost.flops.as_constant(), Some(8));
        // An undefined name inside a body is still an error.
        let bad = G::new()
            .node("Relu", "ghostly", &["nowhere"], &["t"])
            .output("t")
            .graph();
        let r = G::new()
            .input("x", shape_of(&[4]))
            .ints("cond", DType::Bool, &[], &[1])
            .with_attrs(
                "If",
                "if",
                &["cond"],
                &["y"],
                vec![
                    gattr("then_branch", bad),
                    gattr("else_branch", G::new().output("x").graph()),
                ],
            )
            .run();
        assert!(
            matches!(r, Err(AnalysisError::UndefinedValue { ref node, ref value, .. }) if node == "ghostly" && value == "nowhere")
        );
    }

    #[test]
    fn unsupported_nodes_inside_bodies_are_listed_by_path() {
        let body = G::new()
            .typed_input("i", DType::I64, Some(vec![]))
            .typed_input("cond_in", DType::Bool, Some(vec![]))
            .node("Identity", "keep", &["cond_in"], &["cond_out"])
            .node("Mystery", "m", &["x"], &["s"])
            .output("cond_out")
            .output("s")
            .graph();
        let r = G::new()
            .input("x", shape_of(&[4]))
            .ints("M", DType::I64, &[], &[2])
            .with_attrs(
                "Loop",
                "loop",
                &["M", ""],
                &["ss"],
                vec![gattr("body", body)],
            )
            .node("Relu", "after", &["ss"], &["z"])
            .run()
            .unwrap();
        assert_eq!(r.unsupported[0].nodes, ["loop/body/m"]);
        let incomplete: Vec<_> = r.incomplete().map(|(n, _)| n.name.as_str()).collect();
        assert_eq!(incomplete, ["after"]);
    }

    #[test]
    fn scan_8_runs_its_body_per_batch_entry_and_step() {
        // Batch 2, state 4 wide: the body adds one step to the state (4
        // FLOPs) and emits it; 2 · seq runs.
        let body = G::new()
            .typed_input("s_in", DType::F32, None)
            .typed_input("x_t", DType::F32, None)
            .node("Add", "acc", &["s_in", "x_t"], &["s_out"])
            .node("Identity", "emit", &["s_out"], &["y_t"])
            .output("s_out")
            .output("y_t")
            .graph();
        let mut g = G::new()
            .input("s0", shape_of(&[2, 4]))
            .input("x", vec![Dim::int(2), Dim::sym("seq"), Dim::int(4)])
            .with_attrs(
                "Scan",
                "scan",
                &["", "s0", "x"],
                &["s", "ys"],
                vec![gattr("body", body), int_attr("num_scan_inputs", 1)],
            );
        g.0.opsets = OpsetImports(vec![(String::new(), 8)]);
        let r = g.run().unwrap();
        assert_eq!(
            r.totals.cost.flops,
            Poly::symbol("seq").checked_scale(8).unwrap()
        );
        let shapes: Vec<String> = r.nodes[0]
            .outputs
            .iter()
            .map(|o| crate::shape::format_shape(o.shape.as_ref().unwrap()))
            .collect();
        assert_eq!(shapes, ["2x4", "2xseqx4"]);
    }

    #[test]
    fn bodies_of_other_operators_are_shown_and_their_weights_counted() {
        // An operator without a rule holding a graph: nothing is counted
        // for it, but its body's 8×8 weight is in the file and counts.
        let body = G::new()
            .weight("Wb", &[8, 8])
            .node("MatMul", "mm", &["x", "Wb"], &["t"])
            .output("t")
            .graph();
        let r = G::new()
            .input("x", shape_of(&[2, 8]))
            .with_attrs("Mystery", "m", &["x"], &["y"], vec![gattr("body", body)])
            .run()
            .unwrap();
        assert_eq!(r.nodes[0].status, NodeStatus::Unsupported);
        assert_eq!(r.totals.params, 64);
        assert_eq!(r.nodes[0].params, 64);
        assert!(r.totals.cost.macs.is_zero());
        let sub = &r.nodes[0].subgraphs[0];
        assert_eq!(
            (sub.runs.clone(), sub.cost.macs.as_constant()),
            (None, Some(128))
        );
        // A Loop without its body is inconsistent, not a crash.
        let r = G::new()
            .input("x", shape_of(&[2, 8]))
            .node("Loop", "bare", &["", "", "x"], &["y"])
            .run()
            .unwrap();
        assert!(
            matches!(&r.nodes[0].status, NodeStatus::Incomplete { reason: m, .. } if m.contains("graph attributes"))
        );
    }
}
