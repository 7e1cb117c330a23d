//! The `Message` impls of [`GraphProto`] and [`NodeProto`], written out
//! instead of derived so that their lists are counted as they are decoded.
//!
//! Why: an empty node takes 2 bytes on the wire and about 200 bytes once
//! decoded, so a 20 MB file of empty nodes would claim 2 GB before any
//! check after decoding could refuse it. Counting each element before it
//! is decoded refuses the file at the first element too many, with no more
//! memory spent than the limits allow. The counts are over the whole model,
//! so that nesting cannot multiply them.
//!
//! The wire format is that of the derived impls (same tags, same encodings);
//! only the checks are added.
//!
//! prost's errors carry no payload of ours (and it is deprecating building
//! them by hand), so the limit that was hit is left in a thread-local for
//! the reader to report as a typed error, and decoding is stopped with an
//! ordinary wire-type error.

use std::cell::Cell;

use bytes::{Buf, BufMut};
use prost::encoding::{
    bytes as pb_bytes, check_wire_type, message, skip_field, DecodeContext, WireType,
};
use prost::{DecodeError, Message};

use crate::error::{OnnxError, MAX_ATTRIBUTES, MAX_ATTRIBUTES_PER_NODE, MAX_NODES, MAX_VALUES};
use crate::proto::{GraphProto, NodeProto};

/// What is counted, over the whole model (subgraphs and all).
#[derive(Clone, Copy)]
enum Counted {
    Nodes,
    Attributes,
    /// On the node being decoded (not counted in `COUNTS`).
    AttributesOnOneNode,
    /// Initializers, graph inputs and outputs, value descriptions, node
    /// metadata entries: the other messages an empty entry of costs far
    /// more decoded than on the wire.
    Values,
}

impl Counted {
    fn limit(self) -> usize {
        match self {
            Counted::Nodes => MAX_NODES,
            Counted::Attributes => MAX_ATTRIBUTES,
            Counted::AttributesOnOneNode => MAX_ATTRIBUTES_PER_NODE,
            Counted::Values => MAX_VALUES,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Counted::Nodes => "nodes in the model",
            Counted::Attributes => "attributes in the model",
            Counted::AttributesOnOneNode => "attributes on one node",
            Counted::Values => "initializers, value descriptions and metadata entries in the model",
        }
    }
}

thread_local! {
    /// Elements decoded so far, by `Counted` index; and the kind whose
    /// limit stopped the decode, if one did.
    static COUNTS: Cell<[usize; 4]> = const { Cell::new([0; 4]) };
    static LIMIT_HIT: Cell<Option<Counted>> = const { Cell::new(None) };
}

/// Starts the counts afresh; called before each decode.
pub(crate) fn reset_counts() {
    COUNTS.set([0; 4]);
    LIMIT_HIT.set(None);
}

/// What this thread's decode has counted so far, for a decode on another
/// thread to be added with [`add_counts`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts([usize; 4]);

pub(crate) fn counts() -> Counts {
    Counts(COUNTS.get())
}

/// Whether what another thread's decode counted (of a part of the same
/// model) can be added to this thread's counts within the limits (decoding
/// that part here instead stops at the element too many).
pub(crate) fn counts_fit(other: Counts) -> bool {
    let counts = COUNTS.get();
    [Counted::Nodes, Counted::Attributes, Counted::Values]
        .iter()
        .all(|&kind| counts[kind as usize] + other.0[kind as usize] <= kind.limit())
}

/// Adds what another thread's decode counted to this thread's counts, as
/// if this thread had decoded it (after [`counts_fit`]).
pub(crate) fn add_counts(other: Counts) {
    let mut counts = COUNTS.get();
    for (mine, theirs) in counts.iter_mut().zip(other.0) {
        *mine += theirs;
    }
    COUNTS.set(counts);
}

/// The limit the last decode on this thread stopped at, if it did.
pub(crate) fn take_limit_hit() -> Option<OnnxError> {
    LIMIT_HIT.take().map(|kind| OnnxError::TooMany {
        what: kind.noun(),
        limit: kind.limit(),
    })
}

/// Counts one more element of `kind`, refusing it (before it is decoded)
/// if the model already holds as many as the limit.
fn count_one(kind: Counted) -> Result<(), DecodeError> {
    let mut counts = COUNTS.get();
    let slot = &mut counts[kind as usize];
    if *slot < kind.limit() {
        *slot += 1;
        COUNTS.set(counts);
        return Ok(());
    }
    refuse(kind)
}

/// Records the limit hit and stops the decoder: any error does, and the
/// reader reports the hit instead.
fn refuse(kind: Counted) -> Result<(), DecodeError> {
    LIMIT_HIT.set(Some(kind));
    stop_decoding()
}

/// Counts a graph's field with tag `tag` against the limits, before it is
/// decoded: a node (1), or an initializer, input, output, value
/// description or sparse initializer (5, 11, 12, 13, 15).
pub(crate) fn count_graph_field(tag: u32) -> Result<(), DecodeError> {
    match tag {
        1 => count_one(Counted::Nodes),
        5 | 11..=13 | 15 => count_one(Counted::Values),
        _ => Ok(()),
    }
}

/// Counts the `attributes` and metadata `entries` of a node read in place
/// (see `in_place.rs`), all at once where decoding a `NodeProto` counts
/// them one by one. `false`, counting nothing, if that would pass a limit:
/// the node is then decoded by prost, which refuses it at the element the
/// file has too many of.
pub(crate) fn count_node_parts(attributes: usize, entries: usize) -> bool {
    let mut counts = COUNTS.get();
    let [a, v] = [
        (Counted::Attributes, attributes),
        (Counted::Values, entries),
    ]
    .map(|(kind, n)| counts[kind as usize] + n);
    if attributes > MAX_ATTRIBUTES_PER_NODE || a > MAX_ATTRIBUTES || v > MAX_VALUES {
        return false;
    }
    counts[Counted::Attributes as usize] = a;
    counts[Counted::Values as usize] = v;
    COUNTS.set(counts);
    true
}

/// An error that stops the decoder, for a reason kept elsewhere.
pub(crate) fn stop_decoding() -> Result<(), DecodeError> {
    check_wire_type(WireType::EndGroup, WireType::StartGroup)
}

/// Makes room for one more element of a node's list: exactly one while
/// the list is short, the usual doubling after. Most nodes have one to
/// three inputs, one output and a few attributes, and a `Vec`'s first
/// growth makes room for four: 128 bytes for a single input's name, 1 KB
/// for a single attribute, for each of a million nodes.
fn room_for_one<T>(list: &mut Vec<T>) {
    if list.len() == list.capacity() && list.len() < 4 {
        list.reserve_exact(1);
    }
}

impl Message for GraphProto {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        message::encode_repeated(1, &self.node, buf);
        if !self.name.is_empty() {
            pb_bytes::encode(2, &self.name, buf);
        }
        message::encode_repeated(5, &self.initializer, buf);
        message::encode_repeated(11, &self.input, buf);
        message::encode_repeated(12, &self.output, buf);
        message::encode_repeated(13, &self.value_info, buf);
        message::encode_repeated(15, &self.sparse_initializer, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        count_graph_field(tag)?;
        match tag {
            1 => message::merge_repeated(wire_type, &mut self.node, buf, ctx),
            2 => pb_bytes::merge(wire_type, &mut self.name, buf, ctx),
            5 => message::merge_repeated(wire_type, &mut self.initializer, buf, ctx),
            11 => message::merge_repeated(wire_type, &mut self.input, buf, ctx),
            12 => message::merge_repeated(wire_type, &mut self.output, buf, ctx),
            13 => message::merge_repeated(wire_type, &mut self.value_info, buf, ctx),
            15 => message::merge_repeated(wire_type, &mut self.sparse_initializer, buf, ctx),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let name = if self.name.is_empty() {
            0
        } else {
            pb_bytes::encoded_len(2, &self.name)
        };
        message::encoded_len_repeated(1, &self.node)
            + name
            + message::encoded_len_repeated(5, &self.initializer)
            + message::encoded_len_repeated(11, &self.input)
            + message::encoded_len_repeated(12, &self.output)
            + message::encoded_len_repeated(13, &self.value_info)
            + message::encoded_len_repeated(15, &self.sparse_initializer)
    }

    fn clear(&mut self) {
        *self = GraphProto::default();
    }
}

impl Message for NodeProto {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        pb_bytes::encode_repeated(1, &self.input, buf);
        pb_bytes::encode_repeated(2, &self.output, buf);
        for (tag, text) in [(3, &self.name), (4, &self.op_type)] {
            if !text.is_empty() {
                pb_bytes::encode(tag, text, buf);
            }
        }
        message::encode_repeated(5, &self.attribute, buf);
        if !self.domain.is_empty() {
            pb_bytes::encode(7, &self.domain, buf);
        }
        message::encode_repeated(9, &self.metadata_props, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            1 => {
                room_for_one(&mut self.input);
                pb_bytes::merge_repeated(wire_type, &mut self.input, buf, ctx)
            }
            2 => {
                room_for_one(&mut self.output);
                pb_bytes::merge_repeated(wire_type, &mut self.output, buf, ctx)
            }
            3 => pb_bytes::merge(wire_type, &mut self.name, buf, ctx),
            4 => pb_bytes::merge(wire_type, &mut self.op_type, buf, ctx),
            5 => {
                if self.attribute.len() >= MAX_ATTRIBUTES_PER_NODE {
                    refuse(Counted::AttributesOnOneNode)?;
                }
                count_one(Counted::Attributes)?;
                room_for_one(&mut self.attribute);
                message::merge_repeated(wire_type, &mut self.attribute, buf, ctx)
            }
            7 => pb_bytes::merge(wire_type, &mut self.domain, buf, ctx),
            9 => {
                count_one(Counted::Values)?;
                message::merge_repeated(wire_type, &mut self.metadata_props, buf, ctx)
            }
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let text = |tag, text: &bytes::Bytes| {
            if text.is_empty() {
                0
            } else {
                pb_bytes::encoded_len(tag, text)
            }
        };
        pb_bytes::encoded_len_repeated(1, &self.input)
            + pb_bytes::encoded_len_repeated(2, &self.output)
            + text(3, &self.name)
            + text(4, &self.op_type)
            + message::encoded_len_repeated(5, &self.attribute)
            + text(7, &self.domain)
            + message::encoded_len_repeated(9, &self.metadata_props)
    }

    fn clear(&mut self) {
        *self = NodeProto::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_made_elsewhere_are_added_within_the_limits() {
        reset_counts();
        for _ in 0..10 {
            count_graph_field(1).unwrap();
        }
        assert_eq!(counts().0, [10, 0, 0, 0]);
        // Another thread's decode counted nodes up to 10 short of the limit.
        let theirs = Counts([MAX_NODES - 20, 7, 0, 3]);
        assert!(counts_fit(theirs));
        add_counts(theirs);
        assert_eq!(counts().0, [MAX_NODES - 10, 7, 0, 3]);
        // Ten more fit, an eleventh does not, whichever way it comes.
        assert!(counts_fit(Counts([10, 0, 0, 0])));
        assert!(!counts_fit(Counts([11, 0, 0, 0])));
        assert!(!counts_fit(Counts([0, MAX_ATTRIBUTES - 6, 0, 0])));
        for _ in 0..10 {
            count_graph_field(1).unwrap();
        }
        assert!(count_graph_field(1).is_err());
        assert!(matches!(
            take_limit_hit(),
            Some(OnnxError::TooMany {
                limit: MAX_NODES,
                ..
            })
        ));
        reset_counts();
    }
}
