//! The reader's own decoding of a model: the main graph is converted while
//! it is decoded, a node or an initializer at a time (see
//! [`GraphParts`]), so that the protobuf form of a graph of a million nodes
//! is never held whole: each part is dropped once converted.
//!
//! [`ModelReader`] and [`GraphReader`] are `prost` messages that only
//! decode: they read the fields of `ModelProto` and `GraphProto` that
//! nncost uses (the wire format is ONNX's) and skip the others. A plain
//! node or initializer is read in place, where it lies in the buffer (see
//! `in_place.rs`); any other is decoded by prost first. Subgraphs, inside
//! node attributes, are decoded whole and converted at the end of their
//! graph, as they may read any of its names.
//!
//! A conversion error stops the decoder (with an ordinary wire-type error,
//! as the limits in `limited.rs` do) and is kept here for the reader to
//! report instead.
//!
//! A large graph's nodes are read in two stretches (`reader::read_file`):
//! the counting pass notes where they lie ([`PartCounts::second_stretch`]),
//! a second thread converts the second stretch ([`convert_stretch`]), and
//! the decoder takes its parts in when it reaches it
//! (`GraphReader::take_stretch`), or reads it itself if they cannot be
//! added as they are.

use bytes::{Buf, BufMut, Bytes};
use nncost_core::fxhash::NameHasher;
use nncost_core::graph::Node;
use prost::encoding::{bytes as pb_bytes, int64, message, skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message};

use crate::convert::{attr_kind, GraphParts, Payloads};
use crate::error::OnnxError;
use crate::in_place::{self, NodeFields, TensorFields};
use crate::limited::{count_graph_field, count_node_parts, stop_decoding, Counts};
use crate::proto::attribute_type::{GRAPH, GRAPHS};
use crate::proto::{
    AttributeProto, NodeProto, OperatorSetIdProto, SparseTensorProto, TensorProto, ValueInfoProto,
};
use crate::shared_list::Part;
use crate::tensor::tensor_in_place;

/// A model file's fields, the main graph converted as it is read.
pub(crate) struct ModelReader<'s> {
    pub(crate) ir_version: i64,
    pub(crate) producer_name: Bytes,
    pub(crate) producer_version: Bytes,
    pub(crate) opset_import: Vec<OperatorSetIdProto>,
    pub(crate) graph: Option<GraphParts>,
    pub(crate) payloads: Payloads,
    /// The conversion error that stopped decoding, if one did.
    pub(crate) error: Option<OnnxError>,
    /// How many parts the main graph has, to size its tables once.
    expected: PartCounts,
    /// The second stretch of the main graph's nodes, being converted on
    /// another thread, if it is.
    pending: Option<Pending<'s>>,
}

impl<'s> ModelReader<'s> {
    pub(crate) fn new(
        payloads: Payloads,
        expected: PartCounts,
        pending: Option<Pending<'s>>,
    ) -> ModelReader<'s> {
        ModelReader {
            expected,
            pending,
            ir_version: 0,
            producer_name: Bytes::new(),
            producer_version: Bytes::new(),
            opset_import: Vec::new(),
            graph: None,
            payloads,
            error: None,
        }
    }
}

impl std::fmt::Debug for ModelReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ModelReader")
    }
}

/// Readers only decode: nothing encodes them.
macro_rules! decode_only {
    () => {
        fn encode_raw(&self, _: &mut impl BufMut) {}

        fn encoded_len(&self) -> usize {
            0
        }
    };
}

impl Message for ModelReader<'_> {
    decode_only!();

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            1 => int64::merge(wire_type, &mut self.ir_version, buf, ctx),
            2 => pb_bytes::merge(wire_type, &mut self.producer_name, buf, ctx),
            3 => pb_bytes::merge(wire_type, &mut self.producer_version, buf, ctx),
            7 => {
                // A repeated `graph` field merges into the one graph, as
                // protobuf specifies for a singular message.
                let mut reader = GraphReader {
                    parts: self.graph.get_or_insert_with(|| {
                        let (nodes, values) = self.expected.sizes();
                        let first_part = self.pending.as_mut().and_then(|p| {
                            let part = p.first_part.take()?;
                            Some((part, p.values, p.hasher.clone()))
                        });
                        match first_part {
                            Some((part, stretch_values, hasher)) => {
                                GraphParts::before_stretch(values, part, stretch_values, hasher)
                            }
                            None => GraphParts::with_capacity(0, values, nodes),
                        }
                    }),
                    payloads: &self.payloads,
                    error: &mut self.error,
                    fields: NodeFields::default(),
                    attributes: Vec::new(),
                    pending: &mut self.pending,
                };
                message::merge(wire_type, &mut reader, buf, ctx)
            }
            8 => message::merge_repeated(wire_type, &mut self.opset_import, buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn clear(&mut self) {
        let payloads = Payloads::copy_up_to(self.payloads.copy_limit());
        *self = ModelReader::new(payloads, PartCounts::default(), None);
    }
}

/// The main graph's fields, each part handed to [`GraphParts`] as soon as
/// it is decoded; counted against the limits first (see `limited.rs`).
struct GraphReader<'a, 's> {
    parts: &'a mut GraphParts,
    payloads: &'a Payloads,
    error: &'a mut Option<OnnxError>,
    /// Where the fields of the node being read in place lie, and its
    /// attributes: kept from node to node, so that reading one allocates
    /// nothing but the attributes' values.
    fields: NodeFields,
    attributes: Vec<AttributeProto>,
    /// The stretch of nodes another thread converts, taken in where it
    /// starts (see [`GraphReader::take_stretch`]).
    pending: &'a mut Option<Pending<'s>>,
}

#[cfg(test)]
thread_local! {
    /// Stretches added by this thread's reads: for tests to know that the
    /// nodes were read in two.
    pub(crate) static STRETCHES_ADDED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A stretch of the main graph's nodes being converted on another thread
/// (see `reader::read_file`), and what that thread gives back: the
/// stretch's parts and what it counted against the limits, or `None` if
/// anything in it was not as the counting pass saw or failed to convert.
pub(crate) struct Pending<'s> {
    pub(crate) stretch: SecondStretch,
    /// The name hasher the stretch's index was made with, for the graph's.
    pub(crate) hasher: NameHasher,
    /// Room the stretch's index was made with: its share of the values.
    pub(crate) values: usize,
    /// The first part of the graph's list of nodes, whose second the
    /// stretch's nodes are written to (see `shared_list.rs`): taken by the
    /// graph's parts when they are made.
    pub(crate) first_part: Option<Part<Node>>,
    pub(crate) converted: std::thread::ScopedJoinHandle<'s, Option<(GraphParts, Counts)>>,
}

/// Converts the nodes of `stretch` from `buf`, which holds exactly their
/// fields, as the main thread would (see `reader::read_file`); `None` at
/// anything else or any error, and as soon as `stop` is set: the main
/// thread then converts them itself, and reports what it finds.
pub(crate) fn convert_stretch(
    mut buf: impl Buf,
    stretch: SecondStretch,
    nodes: Part<Node>,
    values: usize,
    hasher: NameHasher,
    payloads: &Payloads,
    stop: &std::sync::atomic::AtomicBool,
) -> Option<(GraphParts, Counts)> {
    crate::limited::reset_counts();
    let mut parts = GraphParts::stretch(nodes, values, hasher);
    let (mut error, mut pending) = (None, None);
    let mut reader = GraphReader {
        parts: &mut parts,
        payloads,
        error: &mut error,
        fields: NodeFields::default(),
        attributes: Vec::new(),
        pending: &mut pending,
    };
    let mut converted = 0;
    while buf.has_remaining() {
        if stop.load(std::sync::atomic::Ordering::Relaxed) || converted == stretch.nodes {
            return None;
        }
        let (tag, wire_type) = prost::encoding::decode_key(&mut buf).ok()?;
        if tag != 1 {
            return None;
        }
        reader
            .merge_field(tag, wire_type, &mut buf, DecodeContext::default())
            .ok()?;
        converted += 1;
    }
    (converted == stretch.nodes).then(|| (parts, crate::limited::counts()))
}

impl std::fmt::Debug for GraphReader<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GraphReader")
    }
}

impl GraphReader<'_, '_> {
    /// Where the stretch of nodes another thread converts starts (`buf` is
    /// then past its first node's key): adds its parts, counts and all, and
    /// moves `buf` past it; `true` if done. `false` anywhere else, or if
    /// the other thread gave up or its parts cannot be added as they are:
    /// the nodes are then read here as any other.
    fn take_stretch(&mut self, buf: &mut impl Buf) -> bool {
        let left = buf.remaining();
        let Some(pending) = self.pending.take_if(|p| p.stretch.start_left == left) else {
            return false;
        };
        let Ok(Some((parts, counts))) = pending.converted.join() else {
            return false;
        };
        let end_left = pending.stretch.end_left;
        if end_left > left || !crate::limited::counts_fit(counts) || !self.parts.append(parts) {
            return false;
        }
        crate::limited::add_counts(counts);
        buf.advance(left - end_left);
        #[cfg(test)]
        STRETCHES_ADDED.set(STRETCHES_ADDED.get() + 1);
        true
    }

    /// Reads the node at the start of `buf` in place and converts it, if
    /// its encoding is plain and whole in `buf`'s current chunk and its
    /// attributes hold no subgraph or tensor (see `in_place.rs`). `None` if not,
    /// with nothing read or counted: the caller decodes it with prost.
    fn node_in_place(
        &mut self,
        wire_type: WireType,
        buf: &mut impl Buf,
    ) -> Option<Result<(), DecodeError>> {
        let (node, framed) = whole_message(wire_type, buf.chunk())?;
        if !self.fields.read(node) {
            return None;
        }
        self.attributes.clear();
        for a in &self.fields.attributes {
            let a = AttributeProto::decode(&node[a.clone()]).ok()?;
            // Subgraphs wait for the end of the graph in their node's
            // protobuf; a tensor's payload must be a slice of the buffer,
            // not the copy decoding from bytes makes.
            if a.t.is_some() || matches!(attr_kind(&a), Some(GRAPH | GRAPHS)) {
                return None;
            }
            self.attributes.push(a);
        }
        if !count_node_parts(self.attributes.len(), self.fields.metadata.len()) {
            return None;
        }
        let text = self.fields.text(node);
        let converted = self
            .parts
            .node_in_place(&text, &mut self.attributes, self.payloads);
        buf.advance(framed);
        Some(self.kept(converted))
    }

    /// Reads the initializer at the start of `buf` in place and converts
    /// it, if its encoding is plain and whole in `buf`'s current chunk, its
    /// elements (if any) in `raw_data`, and nothing about it an error (see
    /// `in_place.rs`). `None` if not, with nothing read: the caller decodes
    /// it with prost.
    fn initializer_in_place(
        &mut self,
        wire_type: WireType,
        buf: &mut impl Buf,
    ) -> Option<Result<(), DecodeError>> {
        let (bytes, framed) = whole_message(wire_type, buf.chunk())?;
        let TensorFields {
            dims,
            data_type,
            name,
            raw_data,
        } = TensorFields::read(bytes)?;
        let raw = raw_data.map(|r| &bytes[r]);
        let tensor = tensor_in_place(dims, data_type, raw, self.payloads)?;
        let converted = self.parts.dense_initializer(&bytes[name], tensor);
        buf.advance(framed);
        Some(self.kept(converted))
    }

    /// Keeps a conversion error and stops the decoder.
    fn kept(&mut self, converted: Result<(), OnnxError>) -> Result<(), DecodeError> {
        converted.or_else(|e| {
            *self.error = Some(e);
            stop_decoding()
        })
    }
}

/// The contents of the message field at the start of `chunk`, if it is
/// length-delimited and all in `chunk`, and how many bytes it takes there
/// with its length.
fn whole_message(wire_type: WireType, chunk: &[u8]) -> Option<(&[u8], usize)> {
    if wire_type != WireType::LengthDelimited {
        return None;
    }
    let (header, len) = in_place::length_prefix(chunk)?;
    let framed = header.checked_add(len)?;
    Some((chunk.get(header..framed)?, framed))
}

/// One message of type `M`, decoded on its own.
fn decode_one<M: Message + Default>(
    wire_type: WireType,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<M, DecodeError> {
    let mut m = M::default();
    message::merge(wire_type, &mut m, buf, ctx)?;
    Ok(m)
}

impl Message for GraphReader<'_, '_> {
    decode_only!();

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if tag == 1 && self.pending.is_some() && self.take_stretch(buf) {
            return Ok(());
        }
        count_graph_field(tag)?;
        match tag {
            1 => {
                if let Some(read) = self.node_in_place(wire_type, buf) {
                    return read;
                }
                let node: NodeProto = decode_one(wire_type, buf, ctx)?;
                let converted = self.parts.node(node, self.payloads);
                self.kept(converted)
            }
            2 => pb_bytes::merge(wire_type, &mut self.parts.name, buf, ctx),
            5 => {
                if let Some(read) = self.initializer_in_place(wire_type, buf) {
                    return read;
                }
                let tensor: TensorProto = decode_one(wire_type, buf, ctx)?;
                let converted = self.parts.initializer(tensor, self.payloads);
                self.kept(converted)
            }
            11 => {
                let input: ValueInfoProto = decode_one(wire_type, buf, ctx)?;
                let converted = self.parts.input(input);
                self.kept(converted)
            }
            12 => message::merge_repeated(wire_type, &mut self.parts.outputs, buf, ctx),
            13 => message::merge_repeated(wire_type, &mut self.parts.value_info, buf, ctx),
            15 => {
                let sparse: SparseTensorProto = decode_one(wire_type, buf, ctx)?;
                let converted = self.parts.sparse_initializer(sparse);
                self.kept(converted)
            }
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn clear(&mut self) {
        *self.parts = GraphParts::new(0);
    }
}

/// How many nodes, and values (initializers, inputs, and one output per
/// node), the main graph will have: counted in a pass over the file's
/// structure before it is read, so that the graph's lists and name index
/// are sized once. Growing them by doubling instead took 9% of reading a
/// million-node graph (every name rehashed at each doubling), and left up
/// to half of the node list spare. The pass also notes where the nodes lie
/// ([`NodeLayout`]), for a large graph's nodes to be read on two threads.
///
/// The pass reads the top-level fields of the model and the graph only,
/// skipping every field's contents (weights are not read), and allocates
/// little (a place every 1,024 nodes). Counts past the limits reserve
/// nothing: decoding refuses such a file anyway.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartCounts {
    nodes: usize,
    values: usize,
    layout: NodeLayout,
    /// The bytes left in the buffer where the graph being counted ends.
    graph_end_left: usize,
}

/// Where the main graph's node fields lie, as the counting pass met them.
/// Places are told as the bytes left in the buffer after a field's key,
/// which the decoder sees too.
#[derive(Clone, Debug, Default)]
struct NodeLayout {
    /// Every [`CHECKPOINT_EVERY`]th node: its index and place.
    checkpoints: Vec<(usize, usize)>,
    /// Stretches of node fields with no other field between them (at most
    /// [`MAX_RUNS`]; exporters write one).
    runs: Vec<NodeRun>,
    /// Whether the field just counted was a node that extends the last run.
    in_run: bool,
}

#[derive(Clone, Copy, Debug)]
struct NodeRun {
    first: usize,
    last: usize,
    /// The bytes left after the last node's contents.
    end_left: usize,
}

const CHECKPOINT_EVERY: usize = 1024;
const MAX_RUNS: usize = 64;

/// Which graphs have their nodes read on two threads (see
/// `reader::read_file`): those with at least `nodes` nodes, whose second
/// stretch (see [`PartCounts::second_stretch`]) holds at least
/// `stretch_bytes` bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SplitFrom {
    pub(crate) nodes: usize,
    pub(crate) stretch_bytes: usize,
}

impl SplitFrom {
    /// Graphs of at least `nodes` nodes, whatever their bytes (for tests).
    #[cfg(test)]
    pub(crate) const fn nodes(nodes: usize) -> SplitFrom {
        SplitFrom {
            nodes,
            stretch_bytes: 0,
        }
    }
}

/// The second thread's values and name index are added to the first's at
/// the end, so that both exist for a moment (its nodes are written where
/// they stay, see `shared_list.rs`). What
/// the split saves grows with the bytes each node takes to convert (its
/// inputs, outputs and attributes), so both are asked for:
/// - a chain of 10^5 one-input nodes (a stretch of 1.5 MB) read in two
///   took 4.5 ms more and 6.8 MB more of peak memory (58.4 against
///   62.9 ms, 35.5 against 42.3 MB);
/// - the synthetic graph of 10^5 nodes (convolutions, norms, matrix
///   products; a stretch of 2.7 MB) took 3 ms less, for 0.9 MB more (130.0
///   against 127.1 ms, medians of 31 alternating runs);
/// - at 10^6 nodes both gain (see docs/benchmarks.md).
pub(crate) const SPLIT_FROM: SplitFrom = SplitFrom {
    nodes: 1 << 16,
    stretch_bytes: 2 << 20,
};

/// The nodes a second thread reads (see `reader::read_file`): a stretch of
/// node fields with no other field between them, from the key of node
/// `first_node` (whose contents start where `start_left` bytes are left)
/// to where `end_left` bytes are left.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SecondStretch {
    pub(crate) first_node: usize,
    pub(crate) nodes: usize,
    pub(crate) start_left: usize,
    pub(crate) end_left: usize,
}

impl PartCounts {
    /// The counts of the model in `buf`; zero where it cannot be read
    /// (decoding reports why).
    pub(crate) fn of(buf: impl Buf) -> PartCounts {
        let mut counter = ModelCounter::default();
        if counter.merge(buf).is_err() {
            return PartCounts::default();
        }
        let PartCounts {
            nodes,
            values,
            layout,
            ..
        } = counter.graph;
        if nodes > crate::error::MAX_NODES || values > crate::error::MAX_VALUES {
            return PartCounts::default();
        }
        PartCounts {
            nodes,
            values: values + nodes,
            layout,
            graph_end_left: 0,
        }
    }

    /// About the second half of the nodes, to be read on a second thread
    /// while the first half is read as usual: from a node near the middle
    /// to the end of the stretch of nodes it is in. `None` for a graph
    /// `split` leaves to one thread, or whose middle node is not in a
    /// stretch.
    pub(crate) fn second_stretch(&self, split: SplitFrom) -> Option<SecondStretch> {
        let min_nodes = split.nodes;
        if self.nodes < min_nodes {
            return None;
        }
        let middle = self.nodes / 2;
        let layout = &self.layout;
        let run = layout
            .runs
            .iter()
            .find(|r| r.first <= middle && middle <= r.last)?;
        let &(first_node, start_left) = layout
            .checkpoints
            .iter()
            .filter(|(node, _)| (run.first..=run.last).contains(node))
            .min_by_key(|(node, _)| node.abs_diff(middle))?;
        let nodes = run.last + 1 - first_node;
        let bytes = start_left.saturating_sub(run.end_left);
        (nodes >= min_nodes / 4 && bytes >= split.stretch_bytes).then_some(SecondStretch {
            first_node,
            nodes,
            start_left,
            end_left: run.end_left,
        })
    }

    /// How many nodes and values to make room for.
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.nodes, self.values)
    }

    /// Counts the node fields that follow in `buf`'s current chunk within
    /// the graph, each whole there ([`PartCounts::count_node`], as
    /// [`Message::merge_field`] counts one), and moves past them; stops
    /// at anything else, which the decoder's loop then reads. Nodes are
    /// most of a large graph, and decoding each key and length through
    /// `Buf` took most of the counting pass.
    fn count_following_nodes(&mut self, buf: &mut impl Buf) {
        /// Field 1 (`node`), length-delimited.
        const NODE_KEY: u8 = 1 << 3 | 2;
        let left = buf.remaining();
        let in_graph = left.saturating_sub(self.graph_end_left);
        let chunk = buf.chunk();
        let chunk = &chunk[..chunk.len().min(in_graph)];
        let mut at = 0;
        while chunk.get(at) == Some(&NODE_KEY) {
            let Some((header, len)) = in_place::length_prefix(&chunk[at + 1..]) else {
                break;
            };
            let Some(next) = (at + 1 + header)
                .checked_add(len)
                .filter(|&next| next <= chunk.len())
            else {
                break;
            };
            self.count_node(left - (at + 1), left - next);
            at = next;
        }
        buf.advance(at);
    }

    /// Counts a node field whose contents start where `start_left` bytes
    /// are left (after its key) and end where `end_left` are: a checkpoint
    /// every [`CHECKPOINT_EVERY`] nodes, and the run it extends or starts.
    fn count_node(&mut self, start_left: usize, end_left: usize) {
        let index = self.nodes;
        self.nodes += 1;
        let layout = &mut self.layout;
        if index.is_multiple_of(CHECKPOINT_EVERY) && index <= crate::error::MAX_NODES {
            layout.checkpoints.push((index, start_left));
        }
        if !layout.in_run && layout.runs.len() < MAX_RUNS {
            layout.runs.push(NodeRun {
                first: index,
                last: index,
                end_left,
            });
            layout.in_run = true;
        } else if let (true, Some(run)) = (layout.in_run, layout.runs.last_mut()) {
            run.last = index;
            run.end_left = end_left;
        }
    }
}

/// Counts a model's graph parts, skipping everything.
#[derive(Debug, Default)]
struct ModelCounter {
    graph: PartCounts,
}

impl Message for ModelCounter {
    decode_only!();

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            7 => {
                // A second graph field merges into the first: its nodes do
                // not continue the first's stretch.
                self.graph.layout.in_run = false;
                // Where the graph ends, for `count_following_nodes`: past
                // the end of the buffer (no node counted there) if its
                // length is not whole in this chunk.
                self.graph.graph_end_left = in_place::length_prefix(buf.chunk())
                    .and_then(|(header, len)| buf.remaining().checked_sub(header.checked_add(len)?))
                    .unwrap_or(usize::MAX);
                message::merge(wire_type, &mut self.graph, buf, ctx)
            }
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn clear(&mut self) {
        *self = ModelCounter::default();
    }
}

impl Message for PartCounts {
    decode_only!();

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if tag != 1 {
            self.layout.in_run = false;
            if matches!(tag, 5 | 11 | 15) {
                self.values += 1;
            }
            return skip_field(wire_type, tag, buf, ctx);
        }
        let start_left = buf.remaining();
        skip_field(wire_type, tag, buf, ctx)?;
        self.count_node(start_left, buf.remaining());
        self.count_following_nodes(buf);
        Ok(())
    }

    fn clear(&mut self) {
        *self = PartCounts::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{GraphProto, ModelProto};

    fn counts_of(graph: GraphProto) -> (usize, usize) {
        let model = ModelProto {
            ir_version: 8,
            graph: Some(graph),
            ..ModelProto::default()
        };
        let c = PartCounts::of(Bytes::from(model.encode_to_vec()));
        (c.nodes, c.values)
    }

    #[test]
    fn parts_are_counted_without_being_read() {
        let graph = GraphProto {
            node: vec![NodeProto::default(); 3],
            initializer: vec![TensorProto::default(); 2],
            input: vec![ValueInfoProto::default()],
            output: vec![ValueInfoProto::default(); 4],
            ..GraphProto::default()
        };
        // Values: 2 initializers, 1 input, and one output per node.
        assert_eq!(counts_of(graph), (3, 6));
        assert_eq!(counts_of(GraphProto::default()), (0, 0));
        // Past the limit: nothing reserved (decoding refuses the file).
        let many = GraphProto {
            node: vec![NodeProto::default(); crate::error::MAX_NODES + 1],
            ..GraphProto::default()
        };
        assert_eq!(counts_of(many), (0, 0));
        // Not a model: nothing.
        assert_eq!(PartCounts::of(Bytes::from_static(&[0xff; 3])).nodes, 0);
    }

    /// A buffer handing out one byte at a time: no node is whole in a
    /// chunk, so each is counted field by field.
    struct ByteByByte(Bytes);

    impl Buf for ByteByByte {
        fn remaining(&self) -> usize {
            self.0.remaining()
        }

        fn chunk(&self) -> &[u8] {
            &self.0.chunk()[..self.0.remaining().min(1)]
        }

        fn advance(&mut self, n: usize) {
            self.0.advance(n)
        }
    }

    /// Nodes counted a run at a time out of a chunk (see
    /// `PartCounts::count_following_nodes`) are counted as one at a time:
    /// the same places, checkpoints and runs, with other fields between
    /// the nodes and after the graph.
    #[test]
    fn nodes_counted_in_runs_are_counted_as_one_by_one() {
        use prost::encoding::{encode_key, encode_varint, message};
        let mut graph = Vec::new();
        for i in 0..5000 {
            let node = NodeProto {
                name: format!("n{i}").into(),
                op_type: "Relu".into(),
                ..NodeProto::default()
            };
            message::encode(1, &node, &mut graph);
            if i % 1500 == 1499 {
                message::encode(5, &TensorProto::default(), &mut graph);
            }
        }
        let mut model = Vec::new();
        encode_key(7, WireType::LengthDelimited, &mut model);
        encode_varint(graph.len() as u64, &mut model);
        model.extend_from_slice(&graph);
        // A field after the graph that reads as a node's key.
        encode_key(1, WireType::LengthDelimited, &mut model);
        encode_varint(0, &mut model);
        let model = Bytes::from(model);
        let whole = PartCounts::of(model.clone());
        let by_byte = PartCounts::of(ByteByByte(model));
        let shown = |c: &PartCounts| format!("{} {} {:?}", c.nodes, c.values, c.layout);
        assert_eq!(whole.nodes, 5000);
        assert_eq!(whole.layout.runs.len(), 4);
        assert_eq!(shown(&whole), shown(&by_byte));
    }
}
