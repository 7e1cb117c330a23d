//! The result of an analysis: per-node and total counts, with the facts a
//! renderer needs. Renderers (table, JSON) live in their own crate.

pub use crate::cost::Cost;
use crate::graph::DType;
pub use crate::name::Name;
pub use crate::ops::Access;
use crate::poly::Poly;
use crate::shape::SharedShape;

/// The one-line statement of what the numbers mean, shown in every report.
pub const CONVENTION: &str = "params = weight+bias elements (BN running stats are buffers); \
MACs = multiply-accumulates of conv/gemm/matmul/einsum; \
FLOPs = every scalar add, mul, div, sqrt, exp, compare counts 1 (a MAC is 2 FLOPs)";

/// The convention in one short line, for tables (the docs and the JSON's
/// `convention` say it in full).
pub const LEGEND: &str = "MACs = multiply-adds; FLOPs = every scalar op (1 MAC = 2 FLOPs)";

/// A value's dtype and shape as inferred.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueReport {
    pub name: Name,
    pub dtype: Option<DType>,
    /// `None` when the rank is unknown. For an ONNX sequence, the shape
    /// its elements share (unknown dims where they differ), as ONNX's
    /// `seq(tensor(...))` type says.
    pub shape: Option<SharedShape>,
    /// For an ONNX sequence whose length and elements are known: each
    /// element, in order (named `name[i]`); `None` for tensors and for
    /// sequences not known. (An optional value is reported as the value it
    /// holds; nncost does not tell an empty optional from an unknown one.)
    pub elements: Option<Box<[ValueReport]>>,
}

impl ValueReport {
    /// The report of a value named `name` with these facts.
    pub fn of_facts(name: &Name, facts: &crate::value::ValueFacts) -> Self {
        ValueReport {
            name: name.clone(),
            dtype: facts.dtype,
            shape: facts.shape.clone(),
            elements: Self::elements_of(name, facts),
        }
    }

    /// Makes this the report of `name` with these facts, as
    /// [`ValueReport::of_facts`] would, keeping the name and the shape it
    /// already holds where they are the same ones (their `clone_from`
    /// changes no reference count then).
    pub(crate) fn refill(&mut self, name: &Name, facts: &crate::value::ValueFacts) {
        self.name.clone_from(name);
        self.dtype = facts.dtype;
        self.shape.clone_from(&facts.shape);
        if self.elements.is_some() || facts.sequence.is_some() {
            self.elements = Self::elements_of(name, facts);
        }
    }

    /// Each element of a sequence whose elements are known, named
    /// `name[i]`; `None` for anything else.
    fn elements_of(name: &Name, facts: &crate::value::ValueFacts) -> Option<Box<[ValueReport]>> {
        facts.sequence.as_ref().map(|elements| {
            elements
                .iter()
                .enumerate()
                .map(|(i, f)| ValueReport::of_facts(&format!("{name}[{i}]").into(), f))
                .collect()
        })
    }
}

/// One input of a node: the value it reads and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct InputReport {
    /// The value's name; `""` for an optional input left out.
    pub name: Name,
    pub dtype: Option<DType>,
    pub shape: Option<SharedShape>,
    /// A weight or constant, known before the model runs: an initializer,
    /// a `Constant` node's tensor, or a pure transform of them (see
    /// `WeightSources` in the analysis). Not an activation.
    pub constant: bool,
    /// Of the constants, a trainable parameter (a weight or bias, not a
    /// buffer or a constant of a formula).
    pub param: bool,
}

/// Whether and how a node was counted.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeStatus {
    /// Shapes inferred and cost counted.
    Counted,
    /// No rule for this operator: nothing counted but its parameters.
    Unsupported,
    /// A rule exists but could not run to the end; `kind` says which way,
    /// the reason says why in words.
    Incomplete {
        kind: IncompleteKind,
        /// A [`Name`] (a thin pointer), not a `String`: 16 bytes less on
        /// every report line.
        reason: Name,
    },
}

/// Why a node is not fully counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncompleteKind {
    /// A size or value the node needs depends on run-time data (the boxes
    /// NonMaxSuppression keeps, Resize sizes computed from the input), or
    /// on a value nncost could not follow.
    DataDependent,
    /// An input's shape, or a dimension of it, is unknown (a consequence
    /// of an earlier node).
    UnknownInput,
    /// A required input is absent.
    MissingInput,
    /// The model is inconsistent for this operator (shapes that cannot
    /// meet, an attribute out of range).
    Invalid,
}

impl IncompleteKind {
    /// The name the JSON report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            IncompleteKind::DataDependent => "data_dependent",
            IncompleteKind::UnknownInput => "unknown_input",
            IncompleteKind::MissingInput => "missing_input",
            IncompleteKind::Invalid => "invalid",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeReport {
    pub name: Name,
    pub op_type: Name,
    pub domain: Name,
    /// Parameter elements first consumed by this node.
    pub params: u64,
    /// Buffer elements (non-trainable state) first consumed by this node.
    pub buffers: u64,
    /// MACs, FLOPs and integer operations (see [`Cost`]); `None` when the
    /// node is not counted (see `status`).
    pub cost: Option<Cost>,
    /// What the node reads, by input position.
    pub inputs: Box<[InputReport]>,
    /// How it touches input 0's storage (a view, a selection, its shape
    /// only); see [`Access`].
    pub access: Access,
    /// The two inputs whose products its MACs are, for the backward pass
    /// (see [`crate::ops::NodeCtx::products`]).
    pub products: Option<(u8, u8)>,
    pub outputs: Box<[ValueReport]>,
    pub status: NodeStatus,
    /// Where the node came from, when the file records it: the graph
    /// node's own record, shared. Read through [`NodeReport::origin`].
    pub origin: Option<std::sync::Arc<crate::graph::Origin>>,
    /// Bodies of a control-flow node (If's branches, Loop's and Scan's
    /// body), each with its own nodes; empty for other nodes. The node's
    /// own `macs`/`flops` already include its bodies' cost (times the trip
    /// count), and its `params` their parameters.
    pub subgraphs: Box<[SubgraphReport]>,
}

impl NodeReport {
    /// Where the node came from ([`Origin::NONE`](crate::graph::Origin::NONE)
    /// when unrecorded): its module path, module classes, framework op.
    pub fn origin(&self) -> &crate::graph::Origin {
        crate::graph::Origin::of(&self.origin)
    }

    /// The module levels of the node: the scopes the file records, else
    /// those its name states ([`module_levels`]).
    pub fn module_levels(&self) -> Vec<String> {
        let scopes = &self.origin().scopes;
        if scopes.is_empty() {
            module_levels(&self.name)
        } else {
            scopes.iter().map(|s| s.to_string()).collect()
        }
    }

    /// The deepest module holding the node (`""` for none): the last of
    /// [`NodeReport::module_levels`], borrowed from the file's scopes when
    /// it records them.
    pub fn module(&self) -> std::borrow::Cow<'_, str> {
        deepest_module(&self.name, self.origin())
    }

    /// The module holding the node at `depth` (its deepest one if it is
    /// nested less deeply; `""` for none).
    pub fn module_at(&self, depth: usize) -> String {
        let levels = self.module_levels();
        match depth.min(levels.len()) {
            0 => String::new(),
            d => levels[d - 1].clone(),
        }
    }

    /// The class of the module at `path` among the node's scopes
    /// (`Conv2d` for `layer1.0.conv1`), when the file records it.
    pub fn module_class(&self, path: &str) -> Option<&str> {
        module_class(self.origin(), path)
    }

    /// MACs, when the node is counted.
    pub fn macs(&self) -> Option<&Poly> {
        self.cost.as_ref().map(|c| &c.macs)
    }

    /// FLOPs, when the node is counted.
    pub fn flops(&self) -> Option<&Poly> {
        self.cost.as_ref().map(|c| &c.flops)
    }

    /// Integer operations, when the node is counted.
    pub fn int_ops(&self) -> Option<&Poly> {
        self.cost.as_ref().map(|c| &c.int_ops)
    }
}

/// One body of a control-flow node.
#[derive(Clone, Debug, PartialEq)]
pub struct SubgraphReport {
    /// The attribute holding the body: `then_branch`, `else_branch`, `body`.
    pub attribute: String,
    /// The body's nodes, in topological order; their names are paths
    /// (`loop/body/mm`). Their costs are per run of the body.
    pub nodes: Vec<NodeReport>,
    /// Cost of one run of the body (one branch taken, one iteration):
    /// the sum over its nodes whose cost is known.
    pub cost: Cost,
    /// Parameter elements first read inside the body (its own
    /// initializers, and outer ones no earlier node read); counted once,
    /// however often the body runs.
    pub params: u64,
    /// Buffer elements first read inside the body.
    pub buffers: u64,
    /// How many times the node's count includes this body: `1` for the If
    /// branch counted, `0` for the branch not taken or the smaller one, the
    /// trip count for Loop (`M`, or a symbol such as `loop_n`) and Scan (the
    /// scanned axis' length). `None` when the body is shown but not part of
    /// the count by a factor: both If branches when neither is larger for
    /// every value of the symbols (the node then counts the per-term
    /// maximum, an upper bound), and the bodies of other operators.
    pub runs: Option<Poly>,
}

/// Model-wide sums.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Totals {
    /// Parameter elements; each initializer counts once however many nodes
    /// read it.
    pub params: u64,
    /// Storage of those parameters in bytes, by their dtype.
    pub param_bytes: u64,
    /// `params` and `param_bytes` split by the dtype they are stored in,
    /// in order of first appearance (packed 4-bit weights count their
    /// logical elements and their stored bytes).
    pub params_by_dtype: Vec<DtypeShare>,
    /// Of `params`, the elements held in `Constant` nodes rather than
    /// initializers (paddle2onnx, spox and older PyTorch exports).
    pub params_in_constant_nodes: u64,
    /// Non-trainable state elements (BatchNormalization running mean/var).
    pub buffers: u64,
    /// `buffers` by the dtype they are stored in, with their bytes.
    pub buffers_by_dtype: Vec<DtypeShare>,
    /// Float initializer elements that are neither parameters nor buffers:
    /// scalars of formulas, scales, bounds.
    pub constants: u64,
    /// Sums over the nodes whose cost is known.
    pub cost: Cost,
}

/// The parameters (or buffers) stored in one dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct DtypeShare {
    pub dtype: DType,
    /// Elements.
    pub params: u64,
    pub bytes: u64,
}

impl Totals {
    /// Adds `params` elements and `bytes` stored in `dtype` to the
    /// parameter totals and to their dtype's share.
    pub(crate) fn add_params(&mut self, dtype: DType, params: u64, bytes: u64) {
        self.param_bytes += bytes;
        add_share(&mut self.params_by_dtype, dtype, params, bytes);
    }
}

/// Adds `elements` and `bytes` of `dtype` to its share in `shares`.
pub(crate) fn add_share(shares: &mut Vec<DtypeShare>, dtype: DType, elements: u64, bytes: u64) {
    match shares.iter_mut().find(|s| s.dtype == dtype) {
        Some(share) => {
            share.params += elements;
            share.bytes += bytes;
        }
        None => shares.push(DtypeShare {
            dtype,
            params: elements,
            bytes,
        }),
    }
}

/// An operator nncost has no rule for.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsupported {
    pub op_type: String,
    pub domain: String,
    pub nodes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub graph_name: String,
    pub inputs: Vec<ValueReport>,
    pub outputs: Vec<ValueReport>,
    /// The elements of each graph output (parallel to `outputs`) when the
    /// analysis computed them: a graph of constants, or a shape
    /// computation.
    pub output_values: Vec<Option<crate::value::ConstValue>>,
    /// In topological order; the lines `lines` says were kept.
    pub nodes: Vec<NodeReport>,
    /// Which node lines `nodes` holds: all of them, unless the analysis
    /// was asked to keep only those of nodes it could not count.
    pub lines: Lines,
    pub totals: Totals,
    /// Grouped by operator, most frequent first.
    pub unsupported: Vec<Unsupported>,
    /// Symbol bindings applied (from options).
    pub bindings: Vec<(String, i64)>,
    /// Every symbol: the model's own (its declared dims), then the sizes
    /// that depend on data, in the order the analysis met them.
    pub symbols: Vec<SymbolInfo>,
    /// Data symbols bound at their upper bounds (`--bound max`), among
    /// `bindings`: the counts are then a worst case.
    pub at_upper_bound: Vec<String>,
    /// Memory, when asked for ([`crate::memory::analyze_memory`]).
    pub memory: Option<crate::memory::MemoryReport>,
    /// Least times on a device, when asked for
    /// ([`crate::roofline::roofline`]).
    pub roofline: Option<crate::roofline::Roofline>,
    /// The backward pass, when asked for ([`crate::training::training`]).
    pub training: Option<crate::training::TrainingReport>,
    /// The count by another tool's convention, when asked for
    /// ([`crate::convention::apply`]).
    pub convention: Option<crate::convention::ConventionReport>,
}

pub use crate::symbols::{SymbolInfo, SymbolKind, SymbolOrigin};

/// Which node lines a report keeps (see [`crate::analyze_keeping`]). The
/// totals, symbols and the list of unsupported operators are the same
/// either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lines {
    /// A line per node: what every table, format and analysis of the
    /// report's lines (memory, training, time) reads.
    #[default]
    All,
    /// Only the top-level nodes not fully counted (unsupported or
    /// incomplete), with any node that has bodies: what a summary prints
    /// besides the totals. A graph of a million counted nodes then holds
    /// no report line per node, about half its analysis' memory.
    Uncounted,
}

impl Lines {
    /// Whether a top-level node's line is kept: its status, and whether it
    /// has bodies (a control-flow node's line holds its bodies' lines).
    pub fn keeps(self, status: &NodeStatus, has_bodies: bool) -> bool {
        self == Lines::All || *status != NodeStatus::Counted || has_bodies
    }
}

/// What a group of top-level nodes adds up to.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Subtotal {
    /// Top-level nodes in the group.
    pub nodes: usize,
    /// Of them, those not counted (unsupported or incomplete): their cost
    /// is not in `cost`.
    pub uncounted: usize,
    pub params: u64,
    pub buffers: u64,
    /// The sum over the counted nodes (a control-flow node's includes its
    /// bodies).
    pub cost: Cost,
}

impl Subtotal {
    fn add(&mut self, n: &NodeReport) {
        self.nodes += 1;
        self.params += n.params;
        self.buffers += n.buffers;
        match &n.cost {
            // The totals were summed without overflow: so are these.
            Some(c) => {
                self.cost = self
                    .cost
                    .checked_add(c)
                    .unwrap_or_else(|_| self.cost.clone())
            }
            None => self.uncounted += 1,
        }
    }
}

/// Subtotals of top-level nodes by a key, in the order the keys first
/// appear, a line at a time.
#[derive(Debug)]
struct Grouping<K> {
    groups: Vec<(K, Subtotal)>,
    index: crate::fxhash::FxHashMap<K, usize>,
}

impl<K> Default for Grouping<K> {
    fn default() -> Self {
        Grouping {
            groups: Vec::new(),
            index: Default::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Grouping<K> {
    fn add(&mut self, key: K, n: &NodeReport) {
        let groups = &mut self.groups;
        let i = *self.index.entry(key).or_insert_with_key(|key| {
            groups.push((key.clone(), Subtotal::default()));
            groups.len() - 1
        });
        groups[i].1.add(n);
    }
}

/// The top-level nodes' subtotals by operator, added a line at a time:
/// what [`Report::by_op`] adds up from a report's lines, for a renderer
/// handed them one by one instead ([`crate::analyze_streaming`]).
#[derive(Debug, Default)]
pub struct OpSums(Grouping<(Name, Name)>);

impl OpSums {
    pub fn add(&mut self, n: &NodeReport) {
        self.0.add((n.domain.clone(), n.op_type.clone()), n);
    }

    /// The groups, in order of first appearance.
    pub fn finish(self) -> Vec<OpGroup> {
        self.0
            .groups
            .into_iter()
            .map(|((domain, op_type), sum)| OpGroup {
                op_type: op_type.into(),
                domain: domain.into(),
                sum,
            })
            .collect()
    }
}

/// The top-level nodes' subtotals by module at one depth, added a line at
/// a time: what [`Report::by_module`] adds up from a report's lines (see
/// [`OpSums`]).
#[derive(Debug)]
pub struct ModuleSums {
    depth: usize,
    groups: Grouping<String>,
    /// Of any depth: a group is named by its path's class.
    classes: ModuleClasses,
}

/// The class of every module path the nodes' origins record, the first
/// recorded for each path.
#[derive(Debug, Default)]
struct ModuleClasses(crate::fxhash::FxHashMap<std::sync::Arc<str>, std::sync::Arc<str>>);

impl ModuleClasses {
    fn record(&mut self, n: &NodeReport) {
        let origin = n.origin();
        for (path, class) in origin.scopes.iter().zip(&origin.module_classes) {
            if !self.0.contains_key(&**path) {
                self.0.insert(path.clone(), class.clone());
            }
        }
    }

    /// The class of the module at `path`, if recorded.
    fn of(&self, path: &str) -> Option<String> {
        self.0.get(path).map(|c| c.to_string())
    }
}

impl ModuleSums {
    pub fn new(depth: usize) -> ModuleSums {
        ModuleSums {
            depth,
            groups: Grouping::default(),
            classes: ModuleClasses::default(),
        }
    }

    /// The depth whose modules these are.
    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn add(&mut self, n: &NodeReport) {
        self.classes.record(n);
        self.groups.add(n.module_at(self.depth), n);
    }

    /// The groups, in order of first appearance.
    pub fn finish(self) -> Vec<ModuleGroup> {
        let classes = self.classes;
        self.groups
            .groups
            .into_iter()
            .map(|(path, sum)| ModuleGroup {
                class: classes.of(&path),
                path,
                sum,
            })
            .collect()
    }
}

/// The nodes of one operator type (see [`Report::by_op`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OpGroup {
    pub op_type: String,
    pub domain: String,
    pub sum: Subtotal,
}

/// The nodes of one module (see [`Report::by_module`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleGroup {
    /// The module's dotted path (`layer1.0`), as PyTorch names it; `""`
    /// for nodes outside any module (the graph's own glue).
    pub path: String,
    /// Its class (`BasicBlock`), when the file records it.
    pub class: Option<String>,
    pub sum: Subtotal,
}

/// One module of the tree (see [`Report::module_tree`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleNode {
    /// The dotted path; `""` for the nodes in no module.
    pub path: String,
    /// 1 for a top-level module, 2 for its children, …
    pub depth: usize,
    /// Its class (`BasicBlock`), when the file records it.
    pub class: Option<String>,
    pub sum: Subtotal,
}

/// The module levels a node name states, outermost first, as dotted
/// paths: TorchScript's `/layer1/layer1.0/conv1/Conv` gives `layer1`,
/// `layer1.0`, `layer1.0.conv1` (a segment that already starts with its
/// parent's path is that path; any other is appended to it), and a
/// network description's `basic1/conv1` gives `basic1`. The last segment
/// names the node itself, not a module. A name without `/` has no module.
pub fn module_levels(node_name: &str) -> Vec<String> {
    let segments: Vec<&str> = node_name.split('/').filter(|s| !s.is_empty()).collect();
    let Some((_, modules)) = segments.split_last() else {
        return Vec::new();
    };
    let mut levels: Vec<String> = Vec::with_capacity(modules.len());
    for s in modules {
        let next = match levels.last() {
            Some(parent) if names_its_path(s, parent) => s.to_string(),
            Some(parent) => format!("{parent}.{s}"),
            None => s.to_string(),
        };
        levels.push(next);
    }
    levels
}

/// Whether a name's `segment` already is a module path under `parent`
/// (TorchScript's `layer1.0` under `layer1`), not a name to append to it.
fn names_its_path(segment: &str, parent: &str) -> bool {
    segment.starts_with(parent) && segment[parent.len()..].starts_with('.')
}

/// The deepest module holding a node named `node_name` from `origin`
/// (`""` for none): the last scope the file records, else the last level
/// the name states ([`deepest_module_level`]).
pub fn deepest_module<'a>(
    node_name: &'a str,
    origin: &'a crate::graph::Origin,
) -> std::borrow::Cow<'a, str> {
    match origin.scopes.last() {
        Some(deepest) => std::borrow::Cow::Borrowed(&**deepest),
        None if !node_name.contains('/') => std::borrow::Cow::Borrowed(""),
        None => std::borrow::Cow::Owned(deepest_module_level(node_name)),
    }
}

/// The class of the module at `path` among `origin`'s scopes (`Conv2d`
/// for `layer1.0.conv1`), when the file records it.
pub fn module_class<'a>(origin: &'a crate::graph::Origin, path: &str) -> Option<&'a str> {
    let k = origin.scopes.iter().position(|s| &**s == path)?;
    origin.module_classes.get(k).map(|c| &**c)
}

/// The last of [`module_levels`] (`""` for none), made without the others.
pub fn deepest_module_level(node_name: &str) -> String {
    let mut segments = node_name.split('/').filter(|s| !s.is_empty());
    let mut deepest = String::new();
    // The last segment names the node: a segment is a level only when
    // another follows it.
    let Some(mut segment) = segments.next() else {
        return deepest;
    };
    for next in segments {
        if deepest.is_empty() || names_its_path(segment, &deepest) {
            deepest.clear();
            deepest.push_str(segment);
        } else {
            deepest.push('.');
            deepest.push_str(segment);
        }
        segment = next;
    }
    deepest
}

impl Report {
    /// The top-level nodes grouped by module at `depth` (1: `layer1`; 2:
    /// `layer1.0`), from the module path the file records (dynamo's name
    /// scopes) or else their names state ([`module_levels`]); a node nested less deeply counts in its deepest
    /// module, one in no module in the group `""`. In order of first
    /// appearance; the groups add up to the totals.
    pub fn by_module(&self, depth: usize) -> Vec<ModuleGroup> {
        let mut sums = ModuleSums::new(depth);
        self.nodes.iter().for_each(|n| sums.add(n));
        sums.finish()
    }

    /// The class of every module path the file records one for.
    fn module_classes(&self) -> ModuleClasses {
        let mut classes = ModuleClasses::default();
        self.nodes.iter().for_each(|n| classes.record(n));
        classes
    }

    /// Every module down to `max_depth`, each with the subtotal of all the
    /// nodes in it (its submodules included), in tree order: a module
    /// right before its children, modules in the order their first node
    /// appears. Nodes in no module form one group `""` at depth 1.
    pub fn module_tree(&self, max_depth: usize) -> Vec<ModuleNode> {
        let classes = self.module_classes();
        // (first node index, depth, path) → subtotal.
        let mut index: crate::fxhash::FxHashMap<String, usize> = Default::default();
        let mut nodes: Vec<(usize, ModuleNode)> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let levels = n.module_levels();
            let paths: Vec<String> = if levels.is_empty() {
                vec![String::new()]
            } else {
                levels.into_iter().take(max_depth).collect()
            };
            for (d, path) in paths.into_iter().enumerate() {
                let slot = *index.entry(path.clone()).or_insert_with(|| {
                    nodes.push((
                        i,
                        ModuleNode {
                            class: classes.of(&path),
                            path,
                            depth: d + 1,
                            sum: Subtotal::default(),
                        },
                    ));
                    nodes.len() - 1
                });
                nodes[slot].1.sum.add(n);
            }
        }
        // Pre-order: by the path of first appearances from the root.
        let first: crate::fxhash::FxHashMap<String, usize> =
            nodes.iter().map(|(i, m)| (m.path.clone(), *i)).collect();
        let key = |m: &ModuleNode| -> Vec<(usize, String)> {
            let mut chain = Vec::new();
            let mut p = m.path.as_str();
            loop {
                chain.push((first.get(p).copied().unwrap_or(0), p.to_string()));
                match p.rfind('.') {
                    Some(dot) if first.contains_key(&p[..dot]) => p = &p[..dot],
                    _ => break,
                }
            }
            chain.reverse();
            chain
        };
        let mut out: Vec<ModuleNode> = nodes.into_iter().map(|(_, m)| m).collect();
        out.sort_by_cached_key(|m| key(m));
        out
    }

    /// The top-level nodes grouped by operator (domain and type), in order
    /// of first appearance; the groups' costs add up to the totals.
    pub fn by_op(&self) -> Vec<OpGroup> {
        let mut sums = OpSums::default();
        self.nodes.iter().for_each(|n| sums.add(n));
        sums.finish()
    }

    /// Nodes whose outputs or cost could not be fully determined.
    /// Includes nodes inside control-flow bodies (named by their path).
    pub fn incomplete(&self) -> impl Iterator<Item = (&NodeReport, &str)> {
        let mut out = Vec::new();
        collect_incomplete(&self.nodes, &mut out);
        out.into_iter()
    }

    /// Whether every node was counted: no node unsupported or incomplete
    /// (else the totals are partial).
    pub fn is_complete(&self) -> bool {
        self.unsupported.is_empty() && self.incomplete().next().is_none()
    }

    /// Number of nodes without a rule.
    pub fn unsupported_count(&self) -> usize {
        self.unsupported.iter().map(|u| u.nodes.len()).sum()
    }

    /// Symbols the totals still depend on.
    pub fn free_symbols(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .totals
            .cost
            .macs
            .symbols()
            .into_iter()
            .chain(self.totals.cost.flops.symbols())
            .chain(self.totals.cost.int_ops.symbols())
            .map(|s| s.to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

fn collect_incomplete<'r>(nodes: &'r [NodeReport], out: &mut Vec<(&'r NodeReport, &'r str)>) {
    for n in nodes {
        if let NodeStatus::Incomplete { reason: r, .. } = &n.status {
            out.push((n, &**r));
        }
        for s in &n.subgraphs {
            collect_incomplete(&s.nodes, out);
        }
    }
}

#[cfg(test)]
mod module_tests {
    use super::module_levels;

    /// The deepest level alone is the last of all the levels.
    #[test]
    fn deepest_module_level_is_the_last_level() {
        for name in [
            "/layer1/layer1.0/conv1/Conv",
            "/conv1/Conv",
            "basic1/conv1",
            "model/dense/MatMul",
            "/Flatten",
            "node_MatMul_48",
            "/layer1/layer10/x",
            "//a//b/c",
            "",
            "/",
            "a/",
            "/features/features.1/features.1.0/attn/MatMul",
        ] {
            assert_eq!(
                super::deepest_module_level(name),
                module_levels(name).pop().unwrap_or_default(),
                "{name}"
            );
        }
    }

    /// TorchScript paths repeat their parent's name; network descriptions
    /// and tf2onnx nest plain names; the last segment is the node.
    #[test]
    fn module_paths_from_node_names() {
        assert_eq!(
            module_levels("/layer1/layer1.0/conv1/Conv"),
            ["layer1", "layer1.0", "layer1.0.conv1"]
        );
        assert_eq!(module_levels("/conv1/Conv"), ["conv1"]);
        assert_eq!(module_levels("basic1/conv1"), ["basic1"]);
        assert_eq!(
            module_levels("model/dense/MatMul"),
            ["model", "model.dense"]
        );
        assert!(module_levels("/Flatten").is_empty());
        assert!(module_levels("node_MatMul_48").is_empty());
        // A segment that merely shares a prefix is still a child.
        assert_eq!(
            module_levels("/layer1/layer10/x"),
            ["layer1", "layer1.layer10"]
        );
    }
}

#[cfg(test)]
mod size_tests {
    use std::mem::size_of;

    /// A graph of a million nodes holds about one of each of these per
    /// node (docs/benchmarks.md, "Large graphs"): a field added inline
    /// costs megabytes, so growth here should be a decision. Rare parts
    /// (a node's origin, a value's declared type and initializer, a
    /// sequence's elements) sit behind a pointer.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn per_node_records_stay_small() {
        use crate::graph::{AttrValue, Attribute, Node, Tensor, Value};
        use crate::value::ValueFacts;
        assert_eq!(size_of::<Node>(), 80);
        assert_eq!(size_of::<Value>(), 24);
        assert_eq!(size_of::<Attribute>(), 48);
        assert_eq!(size_of::<AttrValue>(), 40);
        assert_eq!(size_of::<Tensor>(), 80);
        assert_eq!(size_of::<super::NodeReport>(), 168);
        assert_eq!(size_of::<super::InputReport>(), 24);
        assert_eq!(size_of::<super::ValueReport>(), 40);
        assert_eq!(size_of::<ValueFacts>(), 72);
    }
}
