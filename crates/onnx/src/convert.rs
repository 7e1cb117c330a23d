//! ONNX `GraphProto` to core [`Graph`]: a value table by name, nodes wired
//! to value ids, and subgraphs (If/Loop/Scan bodies) converted recursively.
//!
//! Cost matters here (a graph may have a million nodes), and most of it is
//! memory traffic and allocation:
//!
//! - The main graph is converted while it is decoded, one part at a time
//!   (see [`GraphParts`] and `streamed.rs`): its protobuf form is never
//!   held whole. Each node is converted while its message is in cache:
//!   its inputs resolved, then the outputs registered. ONNX does not
//!   require nodes to be sorted (core sorts later), and files list the
//!   weights and graph inputs after the nodes, so an input not defined yet
//!   gets its value at once, defined when its definition comes; subgraphs
//!   (which may read any name of the graph) wait for the end. Which error
//!   is reported when a file has several can depend on the order of its
//!   fields.
//! - The conversion takes from the protobuf what it keeps: element lists
//!   (`ints`, `dims`, ...) are moved into the core graph rather than cloned,
//!   and each name is checked for UTF-8 and made a [`Name`] once, when its
//!   value is created, which the name index shares.
//! - Each value name is hashed once when defined and once per use.

use std::hash::BuildHasher;
use std::mem;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use hashbrown::{hash_table, HashTable};
use nncost_core::fxhash::NameHasher;
use nncost_core::graph::{
    AttrValue, Attribute, DeclaredType, Graph, Node, NodeId, OpsetImports, Origin, Tensor, Value,
    ValueId,
};
use nncost_core::name::{Interner, Name};
use nncost_core::shape::Dim;
use nncost_core::shared::Shared;

use crate::error::{utf8, OnnxError};
use crate::proto::{
    attribute_type as at, AttributeProto, GraphProto, NodeProto, SparseTensorProto, TensorProto,
    ValueInfoProto,
};
use crate::shared_list::Part;
use crate::tensor::{convert_sparse, convert_tensor, convert_type, DimNames};

/// `name` as text, if it is: a name that is not UTF-8 names no value.
fn text(name: &[u8]) -> Option<&str> {
    std::str::from_utf8(name).ok()
}

/// Deepest subgraph nesting accepted. prost's own recursion limit stops
/// deeper files earlier; this guards graphs built in memory and keeps the
/// recursion here bounded whatever the decoder allows.
pub const MAX_SUBGRAPH_DEPTH: usize = 64;

/// How the byte payloads that end up in the model (raw tensor data, string
/// attributes) are taken from the protobuf.
pub(crate) struct Payloads {
    /// Payloads of at most this many bytes are copied; longer ones shared.
    copy_up_to: usize,
    /// Where copies go: blocks shared by many payloads, so that 90,000 small
    /// initializers cost a few hundred allocations, not 90,000.
    arena: Mutex<BytesMut>,
}

/// Size of an arena block (more when a payload needs more).
const ARENA_BLOCK: usize = 64 * 1024;

impl Payloads {
    /// Share every payload: the model keeps slices of the caller's buffer.
    pub(crate) fn shared() -> Payloads {
        Payloads::copy_up_to(0)
    }

    /// Copy payloads of at most `n` bytes and share longer ones. For a
    /// buffer whose short fields live in blocks that should not outlive the
    /// conversion (see `file_buf.rs`): a 16-byte shape constant must not
    /// keep a 256 KiB block of names alive.
    pub(crate) fn copy_up_to(n: usize) -> Payloads {
        Payloads {
            copy_up_to: n,
            arena: Mutex::new(BytesMut::new()),
        }
    }

    /// The longest payload copied.
    pub(crate) fn copy_limit(&self) -> usize {
        self.copy_up_to
    }

    pub(crate) fn take(&self, b: Bytes) -> Bytes {
        if b.is_empty() || b.len() > self.copy_up_to {
            return b;
        }
        self.copy(&b)
    }

    /// A copy of `b`, in the arena.
    pub(crate) fn copy(&self, b: &[u8]) -> Bytes {
        if b.is_empty() {
            return Bytes::new();
        }
        // A lock (`Payloads` is shared with the decoder, which must be
        // `Sync`), never contended: the reader has one thread.
        let mut arena = self.arena.lock().unwrap_or_else(|e| e.into_inner());
        // `split` below leaves the arena empty with the block's unused
        // capacity; start a new block when that is too small.
        if arena.capacity() < b.len() {
            *arena = BytesMut::with_capacity(ARENA_BLOCK.max(b.len()));
        }
        arena.extend_from_slice(b);
        arena.split().freeze()
    }
}

/// What all graphs of a model share during conversion.
#[derive(Clone, Copy)]
struct Ctx<'o> {
    opsets: &'o OpsetImports,
    payloads: &'o Payloads,
}

/// Names defined in one graph, chained to the enclosing graphs', so that a
/// subgraph may read outer values (as ONNX allows) while a typo still fails.
struct Scope<'s> {
    names: &'s Builder,
    /// By value: whether this graph defines it (a value that only names
    /// an enclosing graph's does not).
    defined: &'s [bool],
    parent: Option<&'s Scope<'s>>,
}

impl Scope<'_> {
    fn defines(&self, name: &[u8]) -> bool {
        self.names.get(name).is_some_and(|id| self.defined[id])
            || self.parent.is_some_and(|p| p.defines(name))
    }
}

/// Converts a decoded top-level graph, taking from `g` what the result
/// keeps. (Files are converted while decoded instead, see `streamed.rs`.)
#[cfg(test)]
fn convert_main_graph(
    g: &mut GraphProto,
    opsets: &OpsetImports,
    payloads: &Payloads,
) -> Result<Graph, OnnxError> {
    convert_graph(g, Ctx { opsets, payloads }, 0, None)
}

/// The graph under construction plus its name index.
struct Builder {
    graph: Graph,
    /// The values by name: value ids, hashed by the values' own names with
    /// core's keyed hash for names from files (see `nncost_core::fxhash`:
    /// model files come from untrusted sources, and names that collide
    /// under an unkeyed hash would make reading quadratic). 8 bytes a slot:
    /// inserting a million names touches a third of the memory that a map
    /// holding the names as well did; 4 bytes a slot, as a table half the
    /// size takes fewer cache and TLB misses to probe.
    ids: HashTable<u32>,
    /// The names of a stretch of nodes converted on another thread (see
    /// [`GraphParts::append`]), by their ids here: that thread's index
    /// kept as it made it, not inserted into `ids` (which cost more than
    /// the rest of adding the stretch). Empty otherwise.
    stretch_ids: HashTable<u32>,
    hasher: NameHasher,
    /// While a stretch is converted on another thread: a bit for each name
    /// made here, so that most of the stretch's names are known new
    /// without probing `ids` (see [`NameFilter`]).
    made: NameFilter,
    /// Operator types and domains: one allocation each per graph.
    repeated: Interner,
    /// Declared dims by name.
    dims: DimNames,
}

/// The id `table` holds for the value named `text` (whose hash is `hash`).
fn find_in(table: &HashTable<u32>, values: &[Value], hash: u64, text: &str) -> Option<ValueId> {
    if table.is_empty() {
        return None;
    }
    let found = table.find(hash, |&id| values[id as usize].name == text);
    found.map(|&id| id as ValueId)
}

/// A bit for each name hash seen (Bloom's filter, one bit a name): a clear
/// bit says a name was not seen. Sixteen bits a name expected, so that at
/// most about one name in sixteen not seen reads as maybe seen. Empty:
/// says "maybe" for every name.
#[derive(Default)]
struct NameFilter(Vec<u64>);

impl NameFilter {
    fn for_names(names: usize) -> NameFilter {
        NameFilter(vec![0; (names * 16).next_power_of_two().div_ceil(64)])
    }

    /// The bit of `hash`: from bits the index's own places do not use
    /// (hashbrown takes the low bits for the place, the top 7 as a tag).
    fn bit(&self, hash: u64) -> (usize, u64) {
        let at = (hash >> 24) as usize & (self.0.len() * 64 - 1);
        (at / 64, 1 << (at % 64))
    }

    fn note(&mut self, hash: u64) {
        if !self.0.is_empty() {
            let (word, bit) = self.bit(hash);
            self.0[word] |= bit;
        }
    }

    fn may_hold(&self, hash: u64) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let (word, bit) = self.bit(hash);
        self.0[word] & bit != 0
    }
}

impl Builder {
    /// A graph with room for `values` values, which must count items present
    /// in the file (decoded, or counted by `PartCounts`), never a size the
    /// file merely states.
    fn with_capacity(values: usize) -> Builder {
        Builder {
            graph: Graph {
                values: Vec::with_capacity(values),
                ..Graph::default()
            },
            ids: HashTable::with_capacity(values),
            stretch_ids: HashTable::new(),
            hasher: NameHasher::default(),
            made: NameFilter::default(),
            repeated: Interner::default(),
            dims: DimNames::default(),
        }
    }

    /// The id of the value named `text` in the stretch's index.
    fn in_stretch(&self, hash: u64, text: &str) -> Option<ValueId> {
        find_in(&self.stretch_ids, &self.graph.values, hash, text)
    }

    /// The id of the value named `name`, created if new (`true` if it was).
    /// `what` names the field in a UTF-8 error.
    fn intern(
        &mut self,
        name: &[u8],
        what: impl FnOnce() -> String,
    ) -> Result<(ValueId, bool), OnnxError> {
        let text = utf8(name, what)?;
        let hash = self.hasher.hash_one(text);
        let values = &self.graph.values;
        let hasher = &self.hasher;
        let entry = self.ids.entry(
            hash,
            |&id| values[id as usize].name == text,
            |&id| hasher.hash_one(values[id as usize].name.as_str()),
        );
        match entry {
            hash_table::Entry::Occupied(e) => Ok((*e.get() as ValueId, false)),
            hash_table::Entry::Vacant(e) => {
                if let Some(id) = find_in(&self.stretch_ids, values, hash, text) {
                    return Ok((id, false));
                }
                let id = self.graph.values.len();
                let slot = u32::try_from(id).map_err(|_| OnnxError::TooMany {
                    what: "values in one graph",
                    limit: u32::MAX as usize,
                })?;
                e.insert(slot);
                self.made.note(hash);
                self.graph.add_value(Value {
                    name: text.into(),
                    ..Value::default()
                });
                Ok((id, true))
            }
        }
    }

    fn get(&self, name: &[u8]) -> Option<ValueId> {
        let text = text(name)?;
        let hash = self.hasher.hash_one(text);
        let values = &self.graph.values;
        self.ids
            .find(hash, |&id| values[id as usize].name == text)
            .map(|&id| id as ValueId)
            .or_else(|| self.in_stretch(hash, text))
    }
}

/// The text fields of a node, whether decoded by prost ([`NodeProto`]) or
/// read in place (`in_place.rs`): what its conversion reads besides the
/// attributes.
pub(crate) trait NodeText {
    fn name(&self) -> &[u8];
    fn op_type(&self) -> &[u8];
    fn domain(&self) -> &[u8];
    fn inputs(&self) -> impl ExactSizeIterator<Item = &[u8]>;
    fn outputs(&self) -> impl ExactSizeIterator<Item = &[u8]>;
    /// The value of the first `metadata_props` entry with this key.
    fn metadata(&self, key: &[u8]) -> Option<&[u8]>;
}

impl NodeText for NodeProto {
    fn name(&self) -> &[u8] {
        &self.name
    }
    fn op_type(&self) -> &[u8] {
        &self.op_type
    }
    fn domain(&self) -> &[u8] {
        &self.domain
    }
    fn inputs(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.input.iter().map(|b| b.as_ref())
    }
    fn outputs(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.output.iter().map(|b| b.as_ref())
    }
    fn metadata(&self, key: &[u8]) -> Option<&[u8]> {
        self.metadata_props
            .iter()
            .find(|p| p.key.as_ref() == key)
            .map(|p| p.value.as_ref())
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A node's name for messages, or `op_type#index` if unnamed. Lossy: it
/// must work before (or instead of) the UTF-8 checks.
fn display(name: &[u8], op_type: &[u8], index: NodeId) -> String {
    if name.is_empty() {
        format!("{}#{index}", String::from_utf8_lossy(op_type))
    } else {
        lossy(name)
    }
}

/// "node 'conv1' (Conv)", for UTF-8 errors in a node's fields.
fn node_what(name: &[u8], op_type: &[u8], index: NodeId) -> String {
    format!(
        "node '{}' ({})",
        display(name, op_type, index),
        String::from_utf8_lossy(op_type)
    )
}

/// Converts a decoded graph (a subgraph, or a main graph built in memory),
/// taking from `g` what the result keeps.
fn convert_graph(
    g: &mut GraphProto,
    cx: Ctx<'_>,
    depth: usize,
    parent: Option<&Scope<'_>>,
) -> Result<Graph, OnnxError> {
    let GraphProto {
        node,
        name,
        initializer,
        input,
        output,
        value_info,
        sparse_initializer,
    } = g;
    // Every value this graph defines is an initializer, an input or a node
    // output, so this sizes the tables from items actually decoded (names
    // read from enclosing graphs come on top; they are rare).
    let defined = initializer.len()
        + sparse_initializer.len()
        + input.len()
        + node.iter().map(|n| n.output.len()).sum::<usize>();
    let mut parts = GraphParts::with_capacity(depth, defined, node.len());
    parts.name = mem::take(name);
    for t in initializer.iter_mut() {
        parts.initializer(mem::take(t), cx.payloads)?;
    }
    for s in sparse_initializer.iter_mut() {
        parts.sparse_initializer(mem::take(s))?;
    }
    for vi in input.iter_mut() {
        parts.input(mem::take(vi))?;
    }
    for n in node.iter_mut() {
        parts.node(mem::take(n), cx.payloads)?;
    }
    parts.outputs = mem::take(output);
    parts.value_info = mem::take(value_info);
    parts.finish(cx, parent)
}

/// One graph as its parts are read, in whatever order the file lists them,
/// and the graph they make.
///
/// Each part is converted as it arrives and its protobuf dropped, so that
/// no graph is ever held twice: the main graph is fed straight from the
/// decoder, a node or an initializer at a time (`streamed.rs`), a subgraph
/// from its decoded lists. Exporters write nodes first, then initializers,
/// then inputs, but any order is valid protobuf, so nothing here depends on
/// it:
///
/// - A value is made when it is defined (by an initializer, a graph input
///   or a node output), and single assignment is checked then, against
///   what defined it before.
/// - A node input names a value defined so far (in sorted files, nearly
///   always an earlier node's output: a hash-table slot still in cache), or
///   one defined later (a weight, an unsorted node's output) or never (an
///   enclosing graph's value, or a mistake): its value is made then, and
///   defined when its definition comes. Subgraphs, which may read any name
///   of the graph, wait for the end (`later`).
/// - At the end the values are numbered where the nodes first name them,
///   then the initializers and inputs no node names, so the graph is the
///   same whatever the file's order.
pub(crate) struct GraphParts {
    depth: usize,
    pub(crate) name: Bytes,
    b: Builder,
    nodes: NodeList,
    /// What defines each value, by id.
    defs: Vec<Defs>,
    /// Values defined by dense and by sparse initializers, and listed as
    /// graph inputs, in the order read.
    dense: Vec<ValueId>,
    sparse: Vec<ValueId>,
    listed_inputs: Vec<ValueId>,
    inputs_read: usize,
    /// Subgraph attributes, left for when every name of the graph is
    /// known, in node order.
    later: Vec<Later>,
    /// Nodes with subgraph attributes, kept whole until then.
    bodies: Vec<NodeProto>,
    pub(crate) outputs: Vec<ValueInfoProto>,
    pub(crate) value_info: Vec<ValueInfoProto>,
    /// The module path and classes of the last node that recorded them.
    last_scopes: Shared<Arc<str>>,
    last_classes: Shared<Arc<str>>,
    /// The values the last few nodes made, the most recent last: where a
    /// node's inputs are found first (see [`GraphParts::input_value`]).
    recent: [ValueId; RECENT_OUTPUTS],
    /// Where the value of the next initializer is looked for first (see
    /// [`GraphParts::initializer_value`]).
    weights_from: ValueId,
    /// How many values nodes made before any other part made one, and
    /// whether a node was read after another part made a value: while
    /// not, the first `made_by_nodes` values are in the order
    /// [`GraphParts::renumber`] gives (see [`GraphParts::numbered_as_read`]).
    made_by_nodes: usize,
    node_after_others: bool,
    /// The index of the first node converted here: 0, but for a stretch of
    /// a graph's nodes converted on its own (see [`GraphParts::stretch`]),
    /// whose `nodes` start with as many placeholders.
    first_node: NodeId,
}

/// A graph's nodes as they are converted: a list of their own, or a part
/// of the list of a graph whose nodes two threads convert (see
/// `shared_list.rs`): the first stretch's, or the second's, whose indices
/// continue the first's.
enum NodeList {
    Own(Vec<Node>),
    Part(Part<Node>),
}

impl NodeList {
    /// The index the next node gets.
    fn len(&self) -> usize {
        match self {
            NodeList::Own(list) => list.len(),
            NodeList::Part(part) => part.end(),
        }
    }

    /// Adds `node`, or gives it back where the second stretch's part is
    /// full. The first stretch's part, when full, becomes a list of its
    /// own: its thread is then converting the second stretch itself.
    fn push(&mut self, node: Node) -> Result<(), Node> {
        if matches!(self, NodeList::Part(part) if part.is_head() && part.is_full()) {
            let full = mem::replace(self, NodeList::Own(Vec::new()));
            let len = full.len();
            *self = NodeList::Own(full.into_vec(len));
        }
        match self {
            NodeList::Own(list) => {
                list.push(node);
                Ok(())
            }
            NodeList::Part(part) => part.push(node),
        }
    }

    /// Node `index` of the graph, if this holds it.
    fn get(&self, index: NodeId) -> Option<&Node> {
        match self {
            NodeList::Own(list) => list.get(index),
            NodeList::Part(part) => index
                .checked_sub(part.start())
                .and_then(|at| part.as_slice().get(at)),
        }
    }

    /// The nodes held (a second stretch's alone, for its part).
    fn as_slice(&self) -> &[Node] {
        match self {
            NodeList::Own(list) => list,
            NodeList::Part(part) => part.as_slice(),
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Node] {
        match self {
            NodeList::Own(list) => list,
            NodeList::Part(part) => part.as_mut_slice(),
        }
    }

    /// This first stretch's part then `tail`, the second's, as one list
    /// (see `shared_list.rs`); `tail` given back, and nothing changed,
    /// where the two are not the parts of one list, this one full.
    fn join(&mut self, tail: NodeList) -> Result<(), NodeList> {
        match (mem::replace(self, NodeList::Own(Vec::new())), tail) {
            (NodeList::Part(head), NodeList::Part(tail)) => match Part::join(head, tail) {
                Ok(list) => {
                    *self = NodeList::Own(list);
                    Ok(())
                }
                Err((head, tail)) => {
                    *self = NodeList::Part(head);
                    Err(NodeList::Part(tail))
                }
            },
            (head, tail) => {
                *self = head;
                Err(tail)
            }
        }
    }

    /// The nodes as a list of their own, with room for `more`: the whole
    /// graph's, for the first stretch's part, when all were converted
    /// here.
    fn into_vec(self, more: usize) -> Vec<Node> {
        match self {
            NodeList::Own(mut list) => {
                list.reserve(more);
                list
            }
            NodeList::Part(part) => part.into_vec(more),
        }
    }
}

/// How many node outputs are compared by name before the name index is
/// probed: a residual block reads a value made up to a handful of nodes
/// before.
const RECENT_OUTPUTS: usize = 8;

/// What defines a value; for the single-assignment checks. One `u32`, 4
/// bytes a value (there is one for each of a million values, twice while
/// a stretch of nodes converted on another thread is added): the
/// producing node's index plus one in the low 30 bits (0: none; the
/// reader accepts at most `MAX_NODES` nodes), and a bit each for an
/// initializer and a graph input of that name.
#[derive(Clone, Copy, Default)]
struct Defs(u32);

const PRODUCER_BITS: u32 = (1 << 30) - 1;
const INITIALIZER_BIT: u32 = 1 << 30;
const INPUT_BIT: u32 = 1 << 31;
const _: () = assert!(crate::error::MAX_NODES < PRODUCER_BITS as usize);

impl Defs {
    fn is_defined(self) -> bool {
        self.0 != 0
    }

    fn producer(self) -> Option<u32> {
        (self.0 & PRODUCER_BITS).checked_sub(1)
    }

    /// Node `index` (below `MAX_NODES`) as the producer.
    fn set_producer(&mut self, index: u32) {
        self.0 = self.0 & !PRODUCER_BITS | (index + 1);
    }

    fn initializer(self) -> bool {
        self.0 & INITIALIZER_BIT != 0
    }

    fn set_initializer(&mut self) {
        self.0 |= INITIALIZER_BIT;
    }

    fn input(self) -> bool {
        self.0 & INPUT_BIT != 0
    }

    fn set_input(&mut self) {
        self.0 |= INPUT_BIT;
    }
}

/// What a node's conversion leaves for the end of the graph: attribute
/// `attr` of `bodies[body]` (node `node`) holds subgraphs.
struct Later {
    node: NodeId,
    body: usize,
    attr: usize,
}

impl GraphParts {
    pub(crate) fn new(depth: usize) -> GraphParts {
        GraphParts::with_capacity(depth, 0, 0)
    }

    /// Room for `values` values and `nodes` nodes; both must count parts
    /// present in the file (decoded, or counted by `PartCounts`), never a
    /// size the file merely states.
    pub(crate) fn with_capacity(depth: usize, values: usize, nodes: usize) -> GraphParts {
        GraphParts {
            depth,
            name: Bytes::new(),
            b: Builder::with_capacity(values),
            nodes: NodeList::Own(Vec::with_capacity(nodes)),
            defs: Vec::with_capacity(values),
            dense: Vec::new(),
            sparse: Vec::new(),
            listed_inputs: Vec::new(),
            inputs_read: 0,
            later: Vec::new(),
            bodies: Vec::new(),
            outputs: Vec::new(),
            value_info: Vec::new(),
            last_scopes: Shared::EMPTY,
            last_classes: Shared::EMPTY,
            recent: [ValueId::MAX; RECENT_OUTPUTS],
            weights_from: 0,
            made_by_nodes: 0,
            node_after_others: false,
            first_node: 0,
        }
    }

    /// Parts for the nodes of a graph's main level that `nodes` has room
    /// for (the second part of the graph's list, see `shared_list.rs`),
    /// converted apart from the nodes before (on another thread) and then
    /// added to those by [`GraphParts::append`]. `values` sizes the name
    /// index: room for the values they will name, estimated. `hasher` must
    /// be the one the graph's parts were given
    /// ([`GraphParts::before_stretch`]): the index made here is kept.
    pub(crate) fn stretch(nodes: Part<Node>, values: usize, hasher: NameHasher) -> GraphParts {
        let mut parts = GraphParts {
            first_node: nodes.start(),
            ..GraphParts::with_capacity(0, values, 0)
        };
        parts.nodes = NodeList::Part(nodes);
        parts.b.hasher = hasher;
        parts
    }

    /// Parts as [`GraphParts::with_capacity`] makes them, for a graph a
    /// stretch of whose nodes is converted elsewhere with a copy of
    /// `hasher` ([`GraphParts::stretch`]): their nodes go to `nodes`, the
    /// first part of the graph's list, whose second the stretch fills;
    /// their name index, which the stretch's joins rather than enters, has
    /// room for `values` less the stretch's (`stretch_values`, estimated);
    /// the names made here are noted, for the stretch's to be told apart
    /// from them quickly.
    pub(crate) fn before_stretch(
        values: usize,
        nodes: Part<Node>,
        stretch_values: usize,
        hasher: NameHasher,
    ) -> GraphParts {
        let mut parts = GraphParts::with_capacity(0, 0, 0);
        parts.nodes = NodeList::Part(nodes);
        parts.b.graph.values.reserve_exact(values);
        parts.defs.reserve_exact(values);
        let own = values.saturating_sub(stretch_values);
        parts.b.ids = HashTable::with_capacity(own);
        parts.b.hasher = hasher;
        parts.b.made = NameFilter::for_names(own);
        parts
    }

    /// Adds the nodes of `stretch` (see [`GraphParts::stretch`]), which
    /// must directly follow those converted here, as converting them here
    /// would have: the same values, numbered the same, the same
    /// definitions. `false`, changing nothing, where converting them here
    /// would have been an error or may not give the same (a value they
    /// define defined here already; a node with subgraphs; too many
    /// values): they are then converted here instead, which reports the
    /// error.
    pub(crate) fn append(&mut self, stretch: GraphParts) -> bool {
        if self.first_node != 0
            || stretch.first_node != self.nodes.len()
            || !stretch.bodies.is_empty()
            || !stretch.later.is_empty()
            || !self.b.stretch_ids.is_empty()
            || stretch.nodes.len() > crate::error::MAX_NODES
        {
            return false;
        }
        // Each of the stretch's values becomes the value of that name here
        // or a new one, numbered in the stretch's order after those here.
        // All are looked up first, changing nothing, so that a clash
        // leaves things as they were; only names the filter says may have
        // been made here are looked up in the index.
        const NEW: u32 = u32::MAX;
        let values = &self.b.graph.values;
        let mut id_of: Vec<u32> = Vec::with_capacity(stretch.b.graph.values.len());
        let mut new_values = 0usize;
        for (value, defs) in stretch.b.graph.values.iter().zip(&stretch.defs) {
            let name = value.name.as_str();
            let hash = self.b.hasher.hash_one(name);
            let here = if self.b.made.may_hold(hash) {
                find_in(&self.b.ids, values, hash, name)
            } else {
                None
            };
            match here {
                Some(id) => {
                    if defs.producer().is_some() && self.defs[id].is_defined() {
                        return false;
                    }
                    id_of.push(id as u32);
                }
                None => {
                    id_of.push(NEW);
                    new_values += 1;
                }
            }
        }
        if values.len() + new_values >= u32::MAX as usize {
            return false;
        }
        let stretch_first = stretch.first_node;
        let GraphParts {
            b,
            nodes,
            defs,
            recent,
            last_scopes,
            last_classes,
            ..
        } = stretch;
        if self.nodes.join(nodes).is_err() {
            return false;
        }
        // As converting the stretch's first node here would note.
        self.node_after_others |= self.b.graph.values.len() != self.made_by_nodes;
        for ((value, defs), id) in b.graph.values.into_iter().zip(defs).zip(&mut id_of) {
            if *id == NEW {
                *id = self.b.graph.values.len() as u32;
                self.b.graph.values.push(value);
                self.defs.push(defs);
            } else if let Some(producer) = defs.producer() {
                self.defs[*id as usize].set_producer(producer);
            }
        }
        let mut stretch_ids = b.ids;
        for id in stretch_ids.iter_mut() {
            *id = id_of[*id as usize];
        }
        self.b.stretch_ids = stretch_ids;
        self.b.made = NameFilter::default();
        for node in &mut self.nodes.as_mut_slice()[stretch_first..] {
            for v in node.inputs.iter_mut().chain(&mut node.outputs).flatten() {
                *v = id_of[*v] as ValueId;
            }
        }
        for (mine, theirs) in self.recent.iter_mut().zip(recent) {
            if theirs != ValueId::MAX {
                *mine = id_of[theirs] as ValueId;
            }
        }
        self.last_scopes = last_scopes;
        self.last_classes = last_classes;
        if !self.node_after_others {
            self.made_by_nodes = self.b.graph.values.len();
        }
        true
    }

    /// The value named `name`, made if new; `what` names the field in a
    /// UTF-8 error.
    fn define(
        &mut self,
        name: &[u8],
        what: impl FnOnce() -> String,
    ) -> Result<(ValueId, bool), OnnxError> {
        let id = self.value(name, what)?;
        Ok((id, !self.defs[id].is_defined()))
    }

    /// The value named `name`, made (not yet defined) if new.
    fn value(&mut self, name: &[u8], what: impl FnOnce() -> String) -> Result<ValueId, OnnxError> {
        let (id, new) = self.b.intern(name, what)?;
        if new {
            self.defs.push(Defs::default());
        }
        Ok(id)
    }

    /// The value a node reads as `name`: [`GraphParts::value`], looked for
    /// first among the last nodes' outputs. In a file whose nodes are in
    /// order (as exporters write them) nearly every input is one of those,
    /// and comparing a few names in cache is cheaper than probing an index
    /// of a million (the same answer: names are unique).
    fn input_value(
        &mut self,
        name: &[u8],
        what: impl FnOnce() -> String,
    ) -> Result<ValueId, OnnxError> {
        let values = &self.b.graph.values;
        let made_lately =
            |&&id: &&ValueId| id != ValueId::MAX && values[id].name.as_bytes() == name;
        match self.recent.iter().rev().find(made_lately) {
            Some(&id) => Ok(id),
            None => self.value(name, what),
        }
    }

    /// The value an initializer named `name` defines: [`GraphParts::value`],
    /// tried first on the first value read so far and not yet defined.
    /// Exporters write the initializers after the nodes, in the order the
    /// nodes first read them, so that is nearly always the one, found
    /// without probing the name index at a place long out of cache (the
    /// same answer: names are unique). The place only moves forwards, so
    /// the values are passed over once in all, whatever the file's order.
    fn initializer_value(
        &mut self,
        name: &[u8],
        what: impl FnOnce() -> String,
    ) -> Result<ValueId, OnnxError> {
        let values = &self.b.graph.values;
        let mut next = self.weights_from;
        while next < values.len() && self.defs[next].is_defined() {
            next += 1;
        }
        let id = if next < values.len() && values[next].name.as_bytes() == name {
            next
        } else {
            self.value(name, what)?
        };
        self.weights_from = self.weights_from.max(next).max(id + 1);
        Ok(id)
    }

    fn value_name(&self, id: ValueId) -> String {
        self.b.graph.values[id].name.to_string()
    }

    /// Node `f`'s name and operator, for messages.
    fn node_and_op(&self, f: NodeId) -> (String, String) {
        match self.nodes.get(f) {
            Some(n) => (n.display_name(f), n.op_type.to_string()),
            // Producers are nodes converted here, which it holds.
            None => (format!("node #{f}"), String::new()),
        }
    }

    pub(crate) fn initializer(
        &mut self,
        mut t: TensorProto,
        payloads: &Payloads,
    ) -> Result<(), OnnxError> {
        let name = mem::take(&mut t.name);
        leave_out_unread_elements(&mut t);
        let tensor = convert_tensor(&mut t, payloads, || {
            format!("initializer '{}'", lossy(&name))
        })?;
        self.dense_initializer(&name, tensor)
    }

    /// Adds a converted initializer named `name`: read in place (see
    /// `in_place.rs`), or decoded.
    pub(crate) fn dense_initializer(
        &mut self,
        name: &[u8],
        tensor: Tensor,
    ) -> Result<(), OnnxError> {
        let index = self.dense.len();
        let what = || format!("the name of initializer #{index}");
        let id = self.initializer_value(name, what)?;
        let id = self.add_initializer(id, tensor)?;
        self.dense.push(id);
        Ok(())
    }

    pub(crate) fn sparse_initializer(&mut self, mut s: SparseTensorProto) -> Result<(), OnnxError> {
        let index = self.sparse.len();
        let name = s.values.as_mut().map(|v| mem::take(&mut v.name));
        let name = name.unwrap_or_default();
        let tensor = convert_sparse(&mut s, || format!("sparse initializer '{}'", lossy(&name)))?;
        let (id, _) = self.define(&name, || format!("the name of sparse initializer #{index}"))?;
        let id = self.add_initializer(id, tensor)?;
        self.sparse.push(id);
        Ok(())
    }

    fn add_initializer(&mut self, id: ValueId, tensor: Tensor) -> Result<ValueId, OnnxError> {
        let d = self.defs[id];
        if let Some(f) = d.producer() {
            let (node, op) = self.node_and_op(f as NodeId);
            let value = self.value_name(id);
            return Err(OnnxError::InitializerIsNodeOutput { value, node, op });
        }
        if d.initializer() {
            return Err(OnnxError::DuplicateInitializer(self.value_name(id)));
        }
        // A graph input of the same name (always so before IR 4,
        // overridable defaults after) is a weight, not something fed.
        self.defs[id].set_initializer();
        self.b.graph.values[id].initializer = Some(Box::new(tensor));
        Ok(id)
    }

    pub(crate) fn input(&mut self, mut vi: ValueInfoProto) -> Result<(), OnnxError> {
        let index = self.inputs_read;
        self.inputs_read += 1;
        let name = mem::take(&mut vi.name);
        let mut declared = convert_type(vi.r#type.as_ref(), &mut self.b.dims, || {
            format!("graph input '{}'", lossy(&name))
        })?;
        // paddle2onnx names every dynamic dim `?`: each of an input's is
        // its own size, `<input>_<axis>` (`x_2`, `x_3`), not one shared one.
        let base = nncost_core::symbols::symbol_base(&lossy(&name), "");
        rename_placeholders(&mut declared, |axis| Dim::sym(&format!("{base}_{axis}")));
        let (id, _) = self.define(&name, || format!("the name of graph input #{index}"))?;
        if let Some(f) = self.defs[id].producer() {
            let (node, op) = self.node_and_op(f as NodeId);
            let value = self.value_name(id);
            return Err(OnnxError::InputIsNodeOutput { value, node, op });
        }
        self.b.graph.values[id].declared = declared.map(Box::new);
        // An input listed twice is fed once.
        if !self.defs[id].input() {
            self.defs[id].set_input();
            self.listed_inputs.push(id);
        }
        Ok(())
    }

    /// Converts a node: resolves the inputs defined so far, converts the
    /// attributes (but subgraphs), then gives every output name a value with
    /// this node as its only producer (ONNX graphs are in single-assignment
    /// form). The output names move into the name index.
    /// Converts a node decoded by prost, keeping it whole for the end of
    /// the graph if it has subgraphs.
    pub(crate) fn node(&mut self, mut n: NodeProto, payloads: &Payloads) -> Result<(), OnnxError> {
        let mut attributes = mem::take(&mut n.attribute);
        let has_bodies = self.add_node(&n, &mut attributes, payloads)?;
        if has_bodies {
            n.attribute = attributes;
            self.bodies.push(n);
        }
        Ok(())
    }

    /// Converts a node read in place (see `in_place.rs`), whose
    /// attributes, decoded, have no subgraphs.
    pub(crate) fn node_in_place(
        &mut self,
        node: &impl NodeText,
        attributes: &mut [AttributeProto],
        payloads: &Payloads,
    ) -> Result<(), OnnxError> {
        let has_bodies = self.add_node(node, attributes, payloads)?;
        debug_assert!(!has_bodies, "a node with subgraphs was read in place");
        Ok(())
    }

    /// Adds node `n` with its `attributes`, taking their values; `true` if
    /// some hold subgraphs, left for the end of the graph (the caller keeps
    /// the node's protobuf for them).
    fn add_node(
        &mut self,
        n: &impl NodeText,
        attribute: &mut [AttributeProto],
        payloads: &Payloads,
    ) -> Result<bool, OnnxError> {
        let index = self.nodes.len();
        self.node_after_others |= self.b.graph.values.len() != self.made_by_nodes;
        let (name, op_type) = (n.name(), n.op_type());
        let what = || node_what(name, op_type, index);
        let name_text = utf8(name, || format!("the name of node #{index}"))?;
        let repeated = &mut self.b.repeated;
        let op_type_name = repeated_name(repeated, op_type, || {
            format!("the op_type of node #{index}")
        })?;
        let domain = repeated_name(repeated, n.domain(), || format!("the domain of {}", what()))?;
        let input = n.inputs();
        let mut inputs = Vec::with_capacity(input.len());
        for (slot, value) in input.enumerate() {
            let id = if value.is_empty() {
                None
            } else {
                Some(self.input_value(value, || format!("input {slot} of {}", what()))?)
            };
            inputs.push(id);
        }
        let mut attributes = Vec::with_capacity(attribute.len());
        let mut has_bodies = false;
        for (i, a) in attribute.iter_mut().enumerate() {
            let attr = repeated_name(&mut self.b.repeated, &a.name, || {
                format!("an attribute name of {}", what())
            })?;
            let value = match attr_kind(a) {
                Some(at::GRAPH | at::GRAPHS) => {
                    let body = self.bodies.len();
                    self.later.push(Later {
                        node: index,
                        body,
                        attr: i,
                    });
                    has_bodies = true;
                    AttrValue::Other
                }
                kind => {
                    let what = || format!("attribute '{attr}' of {}", what());
                    convert_attr(a, kind, payloads, what)?
                }
            };
            attributes.push(Attribute { name: attr, value });
        }
        let output = n.outputs();
        let mut outputs = Vec::with_capacity(output.len());
        for (slot, out) in output.enumerate() {
            if out.is_empty() {
                outputs.push(None);
                continue;
            }
            let (id, new) = self.define(out, || format!("output {slot} of {}", what()))?;
            if !new {
                let value = self.value_name(id);
                let (node, op) = (display(name, op_type, index), lossy(op_type));
                let d = self.defs[id];
                return Err(if let Some(f) = d.producer() {
                    let (first, first_op) = self.node_and_op(f as NodeId);
                    OnnxError::DuplicateProducer {
                        value,
                        first,
                        first_op,
                        second: node,
                        second_op: op,
                    }
                } else if d.initializer() {
                    OnnxError::InitializerIsNodeOutput { value, node, op }
                } else {
                    OnnxError::InputIsNodeOutput { value, node, op }
                });
            }
            self.defs[id].set_producer(index as u32);
            self.recent.copy_within(1.., 0);
            self.recent[RECENT_OUTPUTS - 1] = id;
            outputs.push(Some(id));
        }
        let (scopes, module_classes, source_op) = torch_modules(n);
        let origin = Origin {
            scopes: shared_like(&mut self.last_scopes, &scopes),
            module_classes: shared_like(&mut self.last_classes, &module_classes),
            source_op: source_op.to_string(),
        };
        let node = Node {
            name: name_text.into(),
            op_type: op_type_name,
            domain,
            inputs: inputs.into(),
            outputs: outputs.into(),
            attributes: attributes.into(),
            origin: origin.shared(),
        };
        // Only a second stretch's part can be full: its thread then gives
        // up, and the nodes are converted on the first.
        self.nodes.push(node).map_err(|_| OnnxError::TooMany {
            what: "nodes in a stretch converted on its own",
            limit: index,
        })?;
        if !self.node_after_others {
            self.made_by_nodes = self.b.graph.values.len();
        }
        Ok(has_bodies)
    }

    /// Keeps, of the graph inputs listed, those that are not also
    /// initializers (those are weights, not fed), and returns which values
    /// have a definition here (the others name an enclosing graph's value,
    /// or nothing). `defs`, read for the last time, is freed.
    fn keep_fed_inputs(&mut self) -> Vec<bool> {
        let defs = mem::take(&mut self.defs);
        self.listed_inputs.retain(|&v| !defs[v].initializer());
        defs.iter().map(|d| d.is_defined()).collect()
    }

    /// Numbers the values in an order that does not depend on how the
    /// file interleaves its parts: each value where the nodes first name
    /// it (node by node, inputs then outputs), then the initializers
    /// (dense, then sparse) and graph inputs that no node names. That is
    /// the order a file with its nodes first (as exporters write them)
    /// makes its values in, so nearly every graph keeps its numbers; any
    /// other is renumbered in place, with one table of new ids as the only
    /// extra memory. `defined` (by value) moves with the values.
    fn renumber(&mut self, defined: &mut [bool]) {
        const UNNUMBERED: ValueId = ValueId::MAX;
        if self.numbered_as_read() {
            return;
        }
        let n = self.b.graph.values.len();
        let mut new_id: Vec<ValueId> = vec![UNNUMBERED; n];
        let (mut next, mut unchanged) = (0, true);
        let named_by_nodes = self
            .nodes
            .as_slice()
            .iter()
            .flat_map(|node| node.inputs.iter().chain(node.outputs.iter()).flatten());
        for &old in named_by_nodes
            .chain(&self.dense)
            .chain(&self.sparse)
            .chain(&self.listed_inputs)
        {
            if new_id[old] == UNNUMBERED {
                new_id[old] = next;
                unchanged &= old == next;
                next += 1;
            }
        }
        if next != n || unchanged {
            return;
        }
        for id in self.b.ids.iter_mut().chain(self.b.stretch_ids.iter_mut()) {
            // Every id is below the number of values, itself below
            // `u32::MAX` (checked as each was made).
            *id = new_id[*id as usize] as u32;
        }
        for v in &mut self.listed_inputs {
            *v = new_id[*v];
        }
        for node in self.nodes.as_mut_slice() {
            for v in node.inputs.iter_mut().chain(&mut node.outputs).flatten() {
                *v = new_id[*v];
            }
        }
        // Each value moves to its new place along the cycle it is on;
        // `new_id` follows, so that a place is final once it names itself.
        let values = &mut self.b.graph.values;
        for place in 0..n {
            while new_id[place] != place {
                let target = new_id[place];
                values.swap(place, target);
                defined.swap(place, target);
                new_id.swap(place, target);
            }
        }
    }

    /// Whether the values are numbered as [`GraphParts::renumber`] would
    /// number them, told without walking the nodes' lists when the nodes
    /// came before every other part that made a value (as exporters write
    /// files): the values the nodes made are then numbered in the order
    /// the nodes name them, and each value made after them must come in
    /// the order initializers, sparse initializers and inputs list them.
    /// `false` when that cannot be told so (renumbering finds out).
    fn numbered_as_read(&self) -> bool {
        if self.node_after_others {
            return false;
        }
        let mut next = self.made_by_nodes;
        for &id in self
            .dense
            .iter()
            .chain(&self.sparse)
            .chain(&self.listed_inputs)
        {
            // Below `next`: numbered already, by a node or earlier here.
            if id == next {
                next += 1;
            } else if id > next {
                return false;
            }
        }
        true
    }

    /// Finishes the top-level graph (see [`GraphParts::finish`]).
    pub(crate) fn finish_main(
        self,
        opsets: &OpsetImports,
        payloads: &Payloads,
    ) -> Result<Graph, OnnxError> {
        self.finish(Ctx { opsets, payloads }, None)
    }

    /// Resolves what waited, converts the subgraphs, and applies the
    /// declarations of the graph's outputs and `value_info`.
    fn finish(mut self, cx: Ctx<'_>, parent: Option<&Scope<'_>>) -> Result<Graph, OnnxError> {
        let mut defined = self.keep_fed_inputs();
        self.renumber(&mut defined);
        let GraphParts {
            depth,
            name,
            mut b,
            nodes,
            listed_inputs,
            later,
            mut bodies,
            mut outputs,
            value_info,
            ..
        } = self;
        let mut nodes = nodes.into_vec(0);
        b.graph.name = utf8(&name, || "a graph name".to_string())?.to_string();
        b.graph.opsets = cx.opsets.clone();
        // A name read but never defined here must be an enclosing graph's
        // value; it stays a value of this graph without a producer.
        for (id, _) in defined.iter().enumerate().filter(|(_, d)| !**d) {
            let value = &b.graph.values[id].name;
            if !parent.is_some_and(|p| p.defines(value.as_bytes())) {
                let first_reader = nodes
                    .iter()
                    .position(|n| n.inputs.contains(&Some(id)))
                    .unwrap_or(0);
                return Err(OnnxError::UndefinedValue {
                    node: nodes[first_reader].display_name(first_reader),
                    op: nodes[first_reader].op_type.to_string(),
                    value: value.to_string(),
                });
            }
        }
        // Everything this graph defines is now in `ids`; subgraphs see it.
        let scope = Scope {
            names: &b,
            defined: &defined,
            parent,
        };
        for Later { node, body, attr } in later {
            let n = &mut bodies[body];
            let ctx = AttrCtx {
                node: &n.name,
                op_type: &n.op_type,
                index: node,
                scope: &scope,
                cx,
                depth,
            };
            let value = convert_graph_attr(&mut n.attribute[attr], &ctx)?;
            nodes[node].attributes[attr].value = value;
        }
        for o in outputs.iter() {
            if !scope.defines(&o.name) {
                return Err(OnnxError::UndefinedOutput {
                    value: lossy(&o.name),
                });
            }
        }
        let mut graph_outputs = Vec::with_capacity(outputs.len());
        for (i, o) in outputs.iter_mut().enumerate() {
            let name = mem::take(&mut o.name);
            let (id, _) = b.intern(&name, || format!("the name of graph output #{i}"))?;
            let value = &b.graph.values[id].name;
            let mut declared = convert_type(o.r#type.as_ref(), &mut b.dims, || {
                format!("graph output '{value}'")
            })?;
            rename_placeholders(&mut declared, |_| Dim::Unknown);
            // An output's own declaration is the most authoritative one.
            if let Some(t) = declared {
                b.graph.values[id].declared = Some(Box::new(t));
            }
            graph_outputs.push(id);
        }
        for vi in value_info.iter() {
            // A name that matches was checked for UTF-8; one that does not is
            // not used.
            if let Some(id) = b.get(&vi.name) {
                let value = &b.graph.values[id].name;
                let mut t = convert_type(vi.r#type.as_ref(), &mut b.dims, || {
                    format!("value_info '{value}'")
                })?;
                rename_placeholders(&mut t, |_| Dim::Unknown);
                let v = &mut b.graph.values[id];
                if v.declared.is_none() {
                    v.declared = t.map(Box::new);
                }
            }
        }
        b.graph.inputs = listed_inputs;
        // A graph whose lists grew by doubling has up to half of them
        // spare, through the whole analysis; one sized by `PartCounts` has
        // a few, not worth a copy of the list.
        shrink_if_spare(&mut nodes);
        shrink_if_spare(&mut b.graph.values);
        b.graph.nodes = nodes;
        b.graph.outputs = graph_outputs;
        Ok(b.graph)
    }
}

/// The interned name whose text is `bytes`, checked as [`utf8`] checks
/// only when met for the first time (an operator's type and attribute
/// names are on every node of their kind).
fn repeated_name(
    repeated: &mut Interner,
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Name, OnnxError> {
    match repeated.get(bytes) {
        Some(name) => Ok(name),
        None => Ok(repeated.name(utf8(bytes, what)?)),
    }
}

/// Gives back a list's spare room when it is more than an eighth of the
/// list (a copy of the whole list otherwise saves a few slots).
fn shrink_if_spare<T>(list: &mut Vec<T>) {
    if list.capacity() - list.len() > list.len() / 8 {
        list.shrink_to_fit();
    }
}

/// Leaves out the elements of an initializer that core never reads (a
/// float weight of more than a few elements, see `constant_elements_read`).
/// Whether read from a file or from memory, a model's graph is the same,
/// and holds no weight bytes: a model of many small weights would
/// otherwise hold them twice, in the file and copied on the heap (the
/// large ones are slices of the file and would cost nothing, but nothing
/// reads them either). Attribute tensors are kept whole: the `ai.onnx.ml`
/// tree ensembles read them at any size.
fn leave_out_unread_elements(t: &mut TensorProto) {
    if crate::tensor::elements_read(t.data_type, &t.dims) {
        return;
    }
    t.raw_data = None;
    t.float_data = Vec::new();
    t.double_data = Vec::new();
    t.int32_data = Vec::new();
    t.int64_data = Vec::new();
    t.uint64_data = Vec::new();
}

/// The dim name `?`, which paddle2onnx writes for every dynamic dim of
/// every value, stands for no particular size: each is replaced by
/// `fresh(axis)`.
fn rename_placeholders(declared: &mut Option<DeclaredType>, fresh: impl Fn(usize) -> Dim) {
    let Some(shape) = declared.as_mut().and_then(|d| d.shape.as_mut()) else {
        return;
    };
    for (axis, d) in shape.iter_mut().enumerate() {
        if d.is_symbol("?") {
            *d = fresh(axis);
        }
    }
}

/// `names` as a shared list: `last`'s when equal (a module's nodes come
/// one after another, each recording the same module path and classes),
/// else a new list, which becomes `last`.
fn shared_like(last: &mut Shared<Arc<str>>, names: &[&str]) -> Shared<Arc<str>> {
    let same = last.len() == names.len() && last.iter().zip(names).all(|(a, b)| **a == **b);
    if !same {
        *last = names.iter().map(|&n| Arc::from(n)).collect();
    }
    last.clone()
}

/// The module path of PyTorch's dynamo exporter and the class of each of
/// its modules: `pkg.torch.onnx.name_scopes` = `['', 'layer1',
/// 'layer1.0', 'layer1.0.conv1', 'convolution']`, a Python list whose
/// first item is the root module and whose last is the operation (the
/// modules between are already dotted paths), and, item for item,
/// `pkg.torch.onnx.class_hierarchy` = `['torchvision.models.resnet.ResNet',
/// 'torch.nn.modules.container.Sequential', …, 'aten.convolution.default']`,
/// of which the class names are kept (`Sequential`), and the operation
/// (`aten.convolution.default`). Empty when absent or not in that form; no
/// classes when they do not pair with the modules.
fn torch_modules(node: &impl NodeText) -> (Vec<&str>, Vec<&str>, &str) {
    let list = |key: &[u8]| -> Option<Vec<&str>> {
        let value = node
            .metadata(key)
            .and_then(|v| std::str::from_utf8(v).ok())?;
        let inner = value.trim().strip_prefix('[')?.strip_suffix(']')?;
        Some(
            inner
                .split(',')
                .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"'))
                .collect(),
        )
    };
    let Some(scopes) = list(b"pkg.torch.onnx.name_scopes") else {
        return (Vec::new(), Vec::new(), "");
    };
    let [_root, modules @ .., _op] = scopes.as_slice() else {
        return (Vec::new(), Vec::new(), "");
    };
    let classes = list(b"pkg.torch.onnx.class_hierarchy").filter(|c| c.len() == scopes.len());
    let mut paths = Vec::with_capacity(modules.len());
    let mut names = Vec::with_capacity(modules.len());
    for (k, &m) in modules.iter().enumerate() {
        if m.is_empty() {
            continue;
        }
        paths.push(m);
        if let Some(c) = &classes {
            let class = c[k + 1];
            names.push(class.rsplit('.').next().unwrap_or(class));
        }
    }
    // The operation the node comes from: the hierarchy's last item.
    let source = classes.as_ref().and_then(|c| c.last()).map_or("", |op| op);
    (paths, names, source)
}

/// What subgraph conversion needs to know about the node it belongs to.
struct AttrCtx<'a, 's> {
    node: &'a [u8],
    op_type: &'a [u8],
    index: NodeId,
    scope: &'a Scope<'s>,
    cx: Ctx<'a>,
    depth: usize,
}

impl AttrCtx<'_, '_> {
    fn subgraph(&self, g: &mut GraphProto) -> Result<Graph, OnnxError> {
        if self.depth + 1 > MAX_SUBGRAPH_DEPTH {
            return Err(OnnxError::NestingTooDeep {
                node: display(self.node, self.op_type, self.index),
                op: lossy(self.op_type),
                limit: MAX_SUBGRAPH_DEPTH,
            });
        }
        convert_graph(g, self.cx, self.depth + 1, Some(self.scope))
    }
}

/// An attribute's kind (an `attribute_type` code), or `None` for a
/// reference to a function's attribute, which carries no value of its own.
pub(crate) fn attr_kind(a: &AttributeProto) -> Option<i32> {
    if !a.ref_attr_name.is_empty() {
        None
    } else if a.r#type == at::UNDEFINED {
        Some(infer_kind(a))
    } else {
        Some(a.r#type)
    }
}

/// Converts an attribute other than a graph, taking its value lists.
/// `what` names it in errors.
fn convert_attr(
    a: &mut AttributeProto,
    kind: Option<i32>,
    payloads: &Payloads,
    what: impl Fn() -> String,
) -> Result<AttrValue, OnnxError> {
    let Some(kind) = kind else {
        return Ok(AttrValue::Other);
    };
    Ok(match kind {
        at::FLOAT => AttrValue::Float(a.f.unwrap_or_default()),
        at::INT => AttrValue::Int(a.i.unwrap_or_default()),
        at::STRING => AttrValue::String(payloads.take(a.s.take().unwrap_or_default())),
        at::FLOATS => AttrValue::Floats(mem::take(&mut a.floats)),
        at::INTS => AttrValue::Ints(mem::take(&mut a.ints)),
        at::STRINGS => AttrValue::Strings(
            a.strings
                .iter_mut()
                .map(|s| payloads.take(mem::take(s)))
                .collect(),
        ),
        at::TENSOR => match &mut a.t {
            Some(t) => AttrValue::Tensor(Box::new(convert_tensor(t, payloads, what)?)),
            None => AttrValue::Other,
        },
        // TENSORS, SPARSE_TENSOR(S), TYPE_PROTO(S) and unknown kinds: core
        // has no form for them and no operator nncost counts needs them.
        _ => AttrValue::Other,
    })
}

/// Converts a GRAPH or GRAPHS attribute.
fn convert_graph_attr(
    a: &mut AttributeProto,
    ctx: &AttrCtx<'_, '_>,
) -> Result<AttrValue, OnnxError> {
    Ok(match attr_kind(a) {
        Some(at::GRAPH) => match &mut a.g {
            Some(g) => AttrValue::Graph(Box::new(ctx.subgraph(g)?)),
            None => AttrValue::Other,
        },
        Some(at::GRAPHS) => AttrValue::Graphs(
            a.graphs
                .iter_mut()
                .map(|g| ctx.subgraph(g))
                .collect::<Result<_, _>>()?,
        ),
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
    use crate::proto::{AttributeProto, StringStringEntryProto, ValueInfoProto};
    use nncost_core::graph::TensorData;
    use prost::Message;

    /// A graph input or output without a declared type.
    fn untyped(name: &'static str) -> ValueInfoProto {
        ValueInfoProto {
            name: name.into(),
            r#type: None,
        }
    }

    /// `levels` If nodes, each holding the next graph as `then_branch`.
    fn nested(levels: usize) -> GraphProto {
        let leaf = |node: NodeProto, attr: Vec<AttributeProto>| GraphProto {
            node: vec![NodeProto {
                attribute: attr,
                ..node
            }],
            input: vec![untyped("x")],
            output: vec![untyped("y")],
            ..GraphProto::default()
        };
        let node = |op: &'static str| NodeProto {
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
                g: Some(Box::new(g)),
                ..AttributeProto::default()
            };
            g = leaf(node("If"), vec![attr]);
        }
        g
    }

    /// A graph with what a node or an initializer can hold: the plain ones
    /// are read in place, the others (a tensor or a subgraph attribute,
    /// typed elements) decoded by prost.
    fn every_kind_of_part() -> GraphProto {
        let attr = |name: &'static str, r#type: i32, fill: AttributeProto| AttributeProto {
            name: name.into(),
            r#type,
            ..fill
        };
        let entry = |key: &'static str, value: &'static str| StringStringEntryProto {
            key: key.into(),
            value: value.into(),
        };
        let conv = NodeProto {
            input: vec!["x".into(), "w".into(), "".into()],
            output: vec!["c".into()],
            name: "conv".into(),
            op_type: "Conv".into(),
            domain: "".into(),
            attribute: vec![
                attr(
                    "pads",
                    at::INTS,
                    AttributeProto {
                        ints: vec![1, 1, 1, 1],
                        ..Default::default()
                    },
                ),
                attr(
                    "group",
                    at::INT,
                    AttributeProto {
                        i: Some(1),
                        ..Default::default()
                    },
                ),
                // No type: read from which field is set (IR < 2).
                attr(
                    "alpha",
                    at::UNDEFINED,
                    AttributeProto {
                        f: Some(0.5),
                        ..Default::default()
                    },
                ),
                attr(
                    "auto_pad",
                    at::STRING,
                    AttributeProto {
                        s: Some("NOTSET".into()),
                        ..Default::default()
                    },
                ),
                attr(
                    "names",
                    at::STRINGS,
                    AttributeProto {
                        strings: vec!["a".into()],
                        ..Default::default()
                    },
                ),
                attr(
                    "scales",
                    at::FLOATS,
                    AttributeProto {
                        floats: vec![2.0],
                        ..Default::default()
                    },
                ),
            ],
            metadata_props: vec![
                entry("pkg.torch.onnx.name_scopes", "['', 'block', 'conv']"),
                entry(
                    "pkg.torch.onnx.class_hierarchy",
                    "['M', 'm.Block', 'torch.nn.Conv2d']",
                ),
            ],
        };
        let constant = NodeProto {
            output: vec!["k".into()],
            op_type: "Constant".into(),
            attribute: vec![attr(
                "value",
                at::TENSOR,
                AttributeProto {
                    t: Some(Box::new(TensorProto {
                        dims: vec![1],
                        data_type: 7,
                        int64_data: vec![4],
                        ..Default::default()
                    })),
                    ..Default::default()
                },
            )],
            ..NodeProto::default()
        };
        let branch = GraphProto {
            node: vec![NodeProto {
                input: vec!["c".into()],
                output: vec!["b".into()],
                op_type: "Relu".into(),
                ..NodeProto::default()
            }],
            output: vec![untyped("b")],
            ..GraphProto::default()
        };
        let branching = NodeProto {
            input: vec!["cond".into()],
            output: vec!["y".into()],
            op_type: "If".into(),
            attribute: vec![
                attr(
                    "then_branch",
                    at::GRAPH,
                    AttributeProto {
                        g: Some(Box::new(branch.clone())),
                        ..Default::default()
                    },
                ),
                attr(
                    "else_branch",
                    at::GRAPH,
                    AttributeProto {
                        g: Some(Box::new(branch)),
                        ..Default::default()
                    },
                ),
            ],
            ..NodeProto::default()
        };
        let raw =
            |name: &'static str, dims: Vec<i64>, data_type: i32, raw: &'static [u8]| TensorProto {
                name: name.into(),
                dims,
                data_type,
                raw_data: Some(Bytes::from_static(raw)),
                ..TensorProto::default()
            };
        GraphProto {
            node: vec![conv, constant, branching],
            initializer: vec![
                // Float weights: elements not read.
                raw("w", vec![1, 1, 65, 1], 1, &[0; 260]),
                // A shape: elements read.
                raw(
                    "shape",
                    vec![2],
                    7,
                    &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
                ),
                raw("empty", vec![0], 7, &[]),
                TensorProto {
                    name: "typed".into(),
                    dims: vec![1],
                    data_type: 7,
                    int64_data: vec![3],
                    ..Default::default()
                },
                TensorProto {
                    name: "cond".into(),
                    data_type: 9,
                    ..Default::default()
                },
            ],
            input: vec![untyped("x")],
            output: vec![untyped("y")],
            ..GraphProto::default()
        }
    }

    #[test]
    fn parts_read_in_place_convert_as_decoded_ones() {
        let graph = every_kind_of_part();
        let model = crate::proto::ModelProto {
            ir_version: 8,
            graph: Some(graph.clone()),
            ..crate::proto::ModelProto::default()
        };
        let read = crate::reader::read_bytes(Bytes::from(model.encode_to_vec())).unwrap();
        let decoded = convert_main_graph(
            &mut graph.clone(),
            &OpsetImports::default(),
            &Payloads::shared(),
        )
        .unwrap();
        assert_eq!(read.graph, decoded);
        // The conversion kept what each part holds.
        let conv = &read.graph.nodes[0];
        assert_eq!(conv.attributes.len(), 6);
        let origin = conv.origin();
        let texts = |list: &[Arc<str>]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(texts(&origin.scopes), ["block"]);
        assert_eq!(texts(&origin.module_classes), ["Block"]);
        assert_eq!(origin.source_op, "torch.nn.Conv2d");
        let shape = read
            .graph
            .values
            .iter()
            .find(|v| &*v.name == "shape")
            .unwrap();
        let TensorData::Raw(elements) = &shape.initializer.as_ref().unwrap().data else {
            panic!("the shape's elements are kept")
        };
        assert_eq!(elements.len(), 16);
    }

    #[test]
    fn names_resolve_whatever_the_order_of_nodes_and_initializers() {
        // 40 nodes; node i reads the output of node i-1 and of node i-13
        // (past the recent outputs compared first) and its own weight.
        let node = |i: usize| NodeProto {
            input: vec![
                format!("v{}", i.saturating_sub(1)).into(),
                format!("v{}", i.saturating_sub(13)).into(),
                format!("w{i}").into(),
            ],
            output: vec![format!("v{}", i + 1).into()],
            op_type: "Sum".into(),
            ..NodeProto::default()
        };
        let weight = |i: usize| TensorProto {
            name: format!("w{i}").into(),
            dims: vec![i as i64],
            data_type: 1,
            ..TensorProto::default()
        };
        let in_order: Vec<usize> = (0..40).collect();
        let reversed: Vec<usize> = (0..40).rev().collect();
        let odd_then_even: Vec<usize> = (1..40).step_by(2).chain((0..40).step_by(2)).collect();
        for order in [in_order, reversed, odd_then_even] {
            let mut g = GraphProto {
                node: (0..40).map(node).collect(),
                initializer: order.iter().map(|&i| weight(i)).collect(),
                input: vec![untyped("v0")],
                output: vec![untyped("v40")],
                ..GraphProto::default()
            };
            // Read as a file lists them: the nodes first, then the weights.
            let read = |g: &GraphProto| {
                let model = crate::proto::ModelProto {
                    ir_version: 8,
                    graph: Some(g.clone()),
                    ..crate::proto::ModelProto::default()
                };
                crate::reader::read_bytes(Bytes::from(model.encode_to_vec())).map(|m| m.graph)
            };
            let graph = read(&g).unwrap();
            for (n, proto) in graph.nodes.iter().zip(&g.node) {
                let names: Vec<&[u8]> = n
                    .inputs
                    .iter()
                    .map(|v| graph.values[v.unwrap()].name.as_bytes())
                    .collect();
                assert_eq!(
                    names,
                    proto.input.iter().map(|b| &b[..]).collect::<Vec<_>>()
                );
            }
            for w in &mut g.initializer {
                let v = graph
                    .values
                    .iter()
                    .find(|v| v.name.as_bytes() == w.name)
                    .unwrap();
                assert_eq!(v.initializer.as_ref().unwrap().dims, w.dims);
            }
            // A weight listed twice is refused, wherever it comes.
            g.initializer.push(weight(order[0]));
            let e = read(&g);
            assert!(
                matches!(e, Err(OnnxError::DuplicateInitializer(_))),
                "{e:?}"
            );
        }
    }

    #[test]
    fn values_are_numbered_where_nodes_first_name_them_whatever_the_order() {
        // Nodes reading weights and each other, initializers and inputs
        // some nodes name and some not, met in 300 interleavings (the nodes
        // in their own order), among them the exporters' (nodes first).
        enum Part {
            Node(usize),
            Weight(&'static str),
            Input(&'static str),
        }
        let node = |i: usize| NodeProto {
            input: vec![
                if i == 0 {
                    "x".into()
                } else {
                    format!("v{i}").into()
                },
                format!("w{}", i % 3).into(),
            ],
            output: vec![format!("v{}", i + 1).into()],
            op_type: "Add".into(),
            ..NodeProto::default()
        };
        let weights = ["w0", "w1", "w2", "u0", "u1"];
        let inputs = ["x", "z", "w1"];
        // Where the nodes first name a value, inputs then outputs; then the
        // initializers and the inputs no node names, each in its list's order.
        let expected = |weights_read: &[&str], inputs_read: &[&str]| {
            let mut names: Vec<String> = Vec::new();
            let named = (0..6).flat_map(|i| {
                let n = node(i);
                n.input.into_iter().chain(n.output)
            });
            let rest = weights_read
                .iter()
                .chain(inputs_read)
                .map(|s| s.as_bytes().to_vec());
            for name in named.map(|b| b.to_vec()).chain(rest) {
                let name = String::from_utf8(name).unwrap();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            names
        };
        let mut seed = 7u64;
        for round in 0..300 {
            let parts: Vec<Part> = (0..6)
                .map(Part::Node)
                .chain(weights.iter().map(|&w| Part::Weight(w)))
                .chain(inputs.iter().map(|&i| Part::Input(i)))
                .collect();
            // Round 0 keeps the exporters' order; later ones shuffle all but
            // the nodes' relative order.
            let mut order: Vec<usize> = (0..parts.len()).collect();
            if round > 0 {
                for k in (1..order.len()).rev() {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    order.swap(k, (seed >> 33) as usize % (k + 1));
                }
                let mut nodes_at: Vec<usize> = order.iter().copied().filter(|&p| p < 6).collect();
                nodes_at.sort();
                let mut next_node = nodes_at.into_iter();
                for p in order.iter_mut().filter(|p| **p < 6) {
                    *p = next_node.next().unwrap();
                }
            }
            let payloads = Payloads::shared();
            let mut g = GraphParts::new(0);
            let (mut weights_read, mut inputs_read) = (Vec::new(), Vec::new());
            for &p in &order {
                match &parts[p] {
                    Part::Node(i) => g.node(node(*i), &payloads).unwrap(),
                    Part::Weight(w) => {
                        weights_read.push(*w);
                        let t = TensorProto {
                            name: w.as_bytes().to_vec().into(),
                            dims: vec![2],
                            data_type: 1,
                            ..TensorProto::default()
                        };
                        g.initializer(t, &payloads).unwrap()
                    }
                    Part::Input(i) => {
                        inputs_read.push(*i);
                        g.input(untyped(i)).unwrap()
                    }
                }
            }
            g.outputs.push(untyped("v6"));
            let graph = g.finish_main(&OpsetImports::default(), &payloads).unwrap();
            let names: Vec<&str> = graph.values.iter().map(|v| &*v.name).collect();
            // Inputs that are initializers are weights, not listed inputs.
            inputs_read.retain(|i| !weights_read.contains(i));
            assert_eq!(
                names,
                expected(&weights_read, &inputs_read),
                "round {round}"
            );
        }
    }

    #[test]
    fn repeated_names_are_checked_as_text_even_after_valid_ones() {
        // The first node's operator, domain and attribute name are valid and
        // remembered; the second node's differ by a byte that is not UTF-8.
        let node = |op_type: &[u8], domain: &[u8], attr: &[u8]| NodeProto {
            input: vec!["x".into()],
            output: vec![[b"y", attr].concat().into()],
            op_type: op_type.to_vec().into(),
            domain: domain.to_vec().into(),
            attribute: vec![AttributeProto {
                name: attr.to_vec().into(),
                r#type: 2,
                i: Some(1),
                ..AttributeProto::default()
            }],
            ..NodeProto::default()
        };
        let read = |second: NodeProto| {
            let model = crate::proto::ModelProto {
                ir_version: 8,
                graph: Some(GraphProto {
                    node: vec![node(b"Relu", b"ai.x", b"beta"), second],
                    input: vec![untyped("x")],
                    output: vec![untyped("ybeta")],
                    ..GraphProto::default()
                }),
                ..crate::proto::ModelProto::default()
            };
            crate::reader::read_bytes(Bytes::from(model.encode_to_vec())).map(|_| ())
        };
        let message = |second| read(second).unwrap_err().to_string();
        assert_eq!(
            message(node(b"Relu\xff", b"ai.x", b"alpha")),
            "the op_type of node #1 is not valid UTF-8"
        );
        assert_eq!(
            message(node(b"Relu", b"ai.x\xff", b"alpha")),
            "the domain of node 'Relu#1' (Relu) is not valid UTF-8"
        );
        assert_eq!(
            message(node(b"Relu", b"ai.x", b"alpha\xff")),
            "an attribute name of node 'Relu#1' (Relu) is not valid UTF-8"
        );
        assert!(read(node(b"Relu", b"ai.x", b"alpha")).is_ok());
    }

    #[test]
    fn a_values_definitions_share_one_word() {
        let mut d = Defs::default();
        assert!(!d.is_defined() && d.producer().is_none() && !d.initializer() && !d.input());
        d.set_producer(0);
        assert_eq!(d.producer(), Some(0));
        d.set_input();
        d.set_producer(crate::error::MAX_NODES as u32);
        assert_eq!(d.producer(), Some(crate::error::MAX_NODES as u32));
        assert!(d.input() && !d.initializer());
        let mut w = Defs::default();
        w.set_initializer();
        assert!(w.is_defined() && w.initializer() && !w.input() && w.producer().is_none());
        assert_eq!(std::mem::size_of::<Defs>(), 4);
    }

    #[test]
    fn short_payloads_share_arena_blocks_and_long_ones_are_not_copied() {
        let p = Payloads::copy_up_to(8);
        let src = Bytes::from_static(b"0123456789abcdef");
        let a = p.take(src.slice(0..4));
        let b = p.take(src.slice(4..8));
        assert_eq!((&a[..], &b[..]), (&b"0123"[..], &b"4567"[..]));
        // Copied, next to each other in one block.
        assert!(!src.as_ptr_range().contains(&a.as_ptr()));
        assert_eq!(a.as_ptr_range().end, b.as_ptr());
        let long = p.take(src.clone());
        assert_eq!(long.as_ptr(), src.as_ptr(), "shared, not copied");
        let shared = Payloads::shared().take(src.slice(0..4));
        assert_eq!(shared.as_ptr(), src.as_ptr());
    }

    #[test]
    fn nesting_is_limited() {
        let ok = convert_main_graph(
            &mut nested(MAX_SUBGRAPH_DEPTH),
            &OpsetImports::default(),
            &Payloads::shared(),
        );
        assert!(ok.is_ok(), "{ok:?}");
        let e = convert_main_graph(
            &mut nested(MAX_SUBGRAPH_DEPTH + 1),
            &OpsetImports::default(),
            &Payloads::shared(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "subgraphs nested deeper than 64 levels (at node 'If#0' (If))"
        );
    }
}
