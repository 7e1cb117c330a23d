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

use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{bytes as pb_bytes, int64, message, skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message};

use crate::convert::{attr_kind, GraphParts, Payloads};
use crate::error::OnnxError;
use crate::in_place::{self, NodeFields, TensorFields};
use crate::limited::{count_graph_field, count_node_parts, stop_decoding};
use crate::proto::attribute_type::{GRAPH, GRAPHS};
use crate::proto::{
    AttributeProto, NodeProto, OperatorSetIdProto, SparseTensorProto, TensorProto, ValueInfoProto,
};
use crate::tensor::tensor_in_place;

/// A model file's fields, the main graph converted as it is read.
pub(crate) struct ModelReader {
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
}

impl ModelReader {
    pub(crate) fn new(payloads: Payloads, expected: PartCounts) -> ModelReader {
        ModelReader {
            expected,
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

impl std::fmt::Debug for ModelReader {
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

impl Message for ModelReader {
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
                        let PartCounts { nodes, values } = self.expected;
                        GraphParts::with_capacity(0, values, nodes)
                    }),
                    payloads: &self.payloads,
                    error: &mut self.error,
                    fields: NodeFields::default(),
                    attributes: Vec::new(),
                };
                message::merge(wire_type, &mut reader, buf, ctx)
            }
            8 => message::merge_repeated(wire_type, &mut self.opset_import, buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn clear(&mut self) {
        let payloads = Payloads::copy_up_to(self.payloads.copy_limit());
        *self = ModelReader::new(payloads, PartCounts::default());
    }
}

/// The main graph's fields, each part handed to [`GraphParts`] as soon as
/// it is decoded; counted against the limits first (see `limited.rs`).
struct GraphReader<'a> {
    parts: &'a mut GraphParts,
    payloads: &'a Payloads,
    error: &'a mut Option<OnnxError>,
    /// Where the fields of the node being read in place lie, and its
    /// attributes: kept from node to node, so that reading one allocates
    /// nothing but the attributes' values.
    fields: NodeFields,
    attributes: Vec<AttributeProto>,
}

impl std::fmt::Debug for GraphReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GraphReader")
    }
}

impl GraphReader<'_> {
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

impl Message for GraphReader<'_> {
    decode_only!();

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
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
/// to half of the node list spare.
///
/// The pass reads the top-level fields of the model and the graph only,
/// skipping every field's contents (weights are not read), and allocates
/// nothing. Counts past the limits reserve nothing: decoding refuses such
/// a file anyway.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PartCounts {
    nodes: usize,
    values: usize,
}

impl PartCounts {
    /// The counts of the model in `buf`; zero where it cannot be read
    /// (decoding reports why).
    pub(crate) fn of(buf: impl Buf) -> PartCounts {
        let mut counter = ModelCounter::default();
        if counter.merge(buf).is_err() {
            return PartCounts::default();
        }
        let PartCounts { nodes, values } = counter.graph;
        if nodes > crate::error::MAX_NODES || values > crate::error::MAX_VALUES {
            return PartCounts::default();
        }
        PartCounts {
            nodes,
            values: values + nodes,
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
            7 => message::merge(wire_type, &mut self.graph, buf, ctx),
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
        match tag {
            1 => self.nodes += 1,
            5 | 11 | 15 => self.values += 1,
            _ => {}
        }
        skip_field(wire_type, tag, buf, ctx)
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
}
