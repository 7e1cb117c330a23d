//! The reader's own decoding of a model: the main graph is converted while
//! it is decoded, a node or an initializer at a time (see
//! [`GraphParts`]), so that the protobuf form of a graph of a million nodes
//! is never held whole: each part is dropped once converted.
//!
//! [`ModelReader`] and [`GraphReader`] are `prost` messages that only
//! decode: they read the fields of `ModelProto` and `GraphProto` that
//! nncost uses (the wire format is ONNX's) and skip the others. Subgraphs,
//! inside node attributes, are decoded whole and converted at the end of
//! their graph, as they may read any of its names.
//!
//! A conversion error stops the decoder (with an ordinary wire-type error,
//! as the limits in `limited.rs` do) and is kept here for the reader to
//! report instead.

use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{bytes as pb_bytes, int64, message, skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message};

use crate::convert::{GraphParts, Payloads};
use crate::error::OnnxError;
use crate::limited::{count_one, stop_decoding, Counted};
use crate::proto::{NodeProto, OperatorSetIdProto, SparseTensorProto, TensorProto, ValueInfoProto};

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
}

impl ModelReader {
    pub(crate) fn new(payloads: Payloads) -> ModelReader {
        ModelReader {
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
                    parts: self.graph.get_or_insert_with(|| GraphParts::new(0)),
                    payloads: &self.payloads,
                    error: &mut self.error,
                };
                message::merge(wire_type, &mut reader, buf, ctx)
            }
            8 => message::merge_repeated(wire_type, &mut self.opset_import, buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn clear(&mut self) {
        *self = ModelReader::new(Payloads::copy_up_to(self.payloads.copy_limit()));
    }
}

/// The main graph's fields, each part handed to [`GraphParts`] as soon as
/// it is decoded; counted against the limits first (see `limited.rs`).
struct GraphReader<'a> {
    parts: &'a mut GraphParts,
    payloads: &'a Payloads,
    error: &'a mut Option<OnnxError>,
}

impl std::fmt::Debug for GraphReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GraphReader")
    }
}

impl GraphReader<'_> {
    /// Keeps a conversion error and stops the decoder.
    fn kept(&mut self, converted: Result<(), OnnxError>) -> Result<(), DecodeError> {
        converted.or_else(|e| {
            *self.error = Some(e);
            stop_decoding()
        })
    }
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
        match tag {
            1 => count_one(Counted::Nodes)?,
            5 | 11..=13 | 15 => count_one(Counted::Values)?,
            _ => {}
        }
        match tag {
            1 => {
                let node: NodeProto = decode_one(wire_type, buf, ctx)?;
                let converted = self.parts.node(node, self.payloads);
                self.kept(converted)
            }
            2 => pb_bytes::merge(wire_type, &mut self.parts.name, buf, ctx),
            5 => {
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
