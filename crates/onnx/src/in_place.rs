//! A node read in place: where each field of an encoded `NodeProto` lies in
//! the reader's buffer, found without decoding it into owned lists.
//!
//! Why: decoding a node with prost makes a `Vec` for its inputs, another
//! for its outputs and one for its attributes, and a reference-counted
//! slice for every name in them; the conversion then reads each name once
//! and drops it all. For a graph of a million nodes that was a third of
//! reading it (the reference counts alone a tenth). The conversion only
//! needs the names' bytes for as long as it runs, and those are in the
//! buffer already.
//!
//! Only plain nodes are read here: every field well formed and of the wire
//! type ONNX gives it. Anything else (a malformed field, a group, a field
//! split across the reader's window) makes [`NodeFields::read`] answer
//! `false`, and the caller decodes the node with prost as before, which
//! then reports the error exactly as it always did. Attributes are decoded
//! with prost from their own bytes (they are few, and their kinds many);
//! a node with a tensor or a subgraph among them is decoded by prost whole
//! (see `GraphReader::node_in_place`).

use std::ops::Range;

use crate::convert::NodeText;

/// Where the fields of one node lie in its encoding. Kept and reused from
/// node to node: reading a node allocates nothing once the lists have
/// grown to the longest node's.
#[derive(Debug, Default)]
pub(crate) struct NodeFields {
    name: Range<usize>,
    op_type: Range<usize>,
    domain: Range<usize>,
    inputs: Vec<Range<usize>>,
    outputs: Vec<Range<usize>>,
    pub(crate) attributes: Vec<Range<usize>>,
    /// `metadata_props` entries: key and value.
    pub(crate) metadata: Vec<(Range<usize>, Range<usize>)>,
}

impl NodeFields {
    /// Finds the fields of the `NodeProto` encoded in `node` (its contents,
    /// without the tag and length that frame it). `false` if the encoding
    /// is anything but plain (see the module documentation); the fields are
    /// then meaningless.
    pub(crate) fn read(&mut self, node: &[u8]) -> bool {
        (self.name, self.op_type, self.domain) = (0..0, 0..0, 0..0);
        self.inputs.clear();
        self.outputs.clear();
        self.attributes.clear();
        self.metadata.clear();
        self.read_fields(node).is_some()
    }

    fn read_fields(&mut self, node: &[u8]) -> Option<()> {
        let mut wire = Wire { bytes: node, at: 0 };
        while !wire.at_end() {
            let (field, wire_type) = wire.key()?;
            // The fields ONNX declares are all length-delimited; a
            // singular one given twice keeps the last, as protobuf says.
            match (field, wire_type) {
                (1, LEN) => self.inputs.push(wire.delimited()?),
                (2, LEN) => self.outputs.push(wire.delimited()?),
                (3, LEN) => self.name = wire.delimited()?,
                (4, LEN) => self.op_type = wire.delimited()?,
                (5, LEN) => self.attributes.push(wire.delimited()?),
                (7, LEN) => self.domain = wire.delimited()?,
                (9, LEN) => {
                    let entry = wire.delimited()?;
                    self.metadata.push(entry_fields(node, entry)?);
                }
                (1..=5 | 7 | 9, _) => return None,
                (_, wire_type) => wire.skip(wire_type)?,
            }
        }
        Some(())
    }

    /// The fields' bytes in `node`, the buffer they were read from.
    pub(crate) fn text<'n>(&'n self, node: &'n [u8]) -> InPlace<'n> {
        InPlace { fields: self, node }
    }
}

/// A node's fields with the bytes they lie in.
pub(crate) struct InPlace<'n> {
    fields: &'n NodeFields,
    node: &'n [u8],
}

impl NodeText for InPlace<'_> {
    fn name(&self) -> &[u8] {
        &self.node[self.fields.name.clone()]
    }
    fn op_type(&self) -> &[u8] {
        &self.node[self.fields.op_type.clone()]
    }
    fn domain(&self) -> &[u8] {
        &self.node[self.fields.domain.clone()]
    }
    fn inputs(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.fields.inputs.iter().map(|r| &self.node[r.clone()])
    }
    fn outputs(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.fields.outputs.iter().map(|r| &self.node[r.clone()])
    }
    fn metadata(&self, key: &[u8]) -> Option<&[u8]> {
        self.fields
            .metadata
            .iter()
            .find(|(k, _)| &self.node[k.clone()] == key)
            .map(|(_, v)| &self.node[v.clone()])
    }
}

/// The fields of an encoded `TensorProto` (an initializer) that a plain
/// one has: its dims, data type, name and raw data. Fields nncost does not
/// declare are skipped, as prost does.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct TensorFields {
    pub(crate) dims: Vec<i64>,
    pub(crate) data_type: i32,
    pub(crate) name: Range<usize>,
    pub(crate) raw_data: Option<Range<usize>>,
}

impl TensorFields {
    /// Reads the `TensorProto` encoded in `tensor`; `None` if it is not
    /// plain, or holds its elements anywhere but `raw_data` (typed lists,
    /// external data): prost decodes those.
    pub(crate) fn read(tensor: &[u8]) -> Option<TensorFields> {
        let mut t = TensorFields::default();
        let mut wire = Wire {
            bytes: tensor,
            at: 0,
        };
        while !wire.at_end() {
            match wire.key()? {
                // Dims come one varint each, or packed in one field.
                (1, VARINT) => t.dims.push(wire.varint()? as i64),
                (1, LEN) => {
                    let packed = wire.delimited()?;
                    let mut dims = Wire {
                        bytes: &tensor[..packed.end],
                        at: packed.start,
                    };
                    while !dims.at_end() {
                        t.dims.push(dims.varint()? as i64);
                    }
                }
                // An `int32` is the varint's low 32 bits, as prost reads it.
                (2, VARINT) => t.data_type = wire.varint()? as i32,
                (8, LEN) => t.name = wire.delimited()?,
                (9, LEN) => t.raw_data = Some(wire.delimited()?),
                (1 | 2 | 4 | 5 | 7..=11 | 13 | 14, _) => return None,
                (_, wire_type) => wire.skip(wire_type)?,
            }
        }
        Some(t)
    }
}

/// The key and value of a `StringStringEntryProto` at `entry` in `node`
/// (fields 1 and 2; others skipped; the last of each kept).
fn entry_fields(node: &[u8], entry: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
    let mut wire = Wire {
        bytes: &node[..entry.end],
        at: entry.start,
    };
    let (mut key, mut value) = (entry.start..entry.start, entry.start..entry.start);
    while !wire.at_end() {
        match wire.key()? {
            (1, LEN) => key = wire.delimited()?,
            (2, LEN) => value = wire.delimited()?,
            (1 | 2, _) => return None,
            (_, wire_type) => wire.skip(wire_type)?,
        }
    }
    Some((key, value))
}

/// How many bytes the varint at the start of `bytes` takes, and its value:
/// for the length that frames a node. `None` if it is not all there.
pub(crate) fn length_prefix(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut wire = Wire { bytes, at: 0 };
    let len = usize::try_from(wire.varint()?).ok()?;
    Some((wire.at, len))
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A cursor over protobuf wire format. Every read answers `None` where
/// prost would fail, or might (it is then left to prost to say why).
struct Wire<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Wire<'_> {
    fn at_end(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// A varint of at most 9 bytes (63 bits). A tenth byte is valid
    /// protobuf only in a few forms; those are left to prost.
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0;
        for shift in (0..63).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    /// A field's number and wire type. Field 0 and the wire types that
    /// protobuf does not define, or that need a group, are not plain.
    fn key(&mut self) -> Option<(u32, u8)> {
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).ok().filter(|&f| f != 0)?;
        Some((field, (key & 7) as u8))
    }

    /// A length-delimited field's contents.
    fn delimited(&mut self) -> Option<Range<usize>> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }

    fn take(&mut self, len: usize) -> Option<Range<usize>> {
        let start = self.at;
        let end = start.checked_add(len).filter(|&e| e <= self.bytes.len())?;
        self.at = end;
        Some(start..end)
    }

    fn skip(&mut self, wire_type: u8) -> Option<()> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.delimited().map(drop),
            FIXED32 => self.take(4).map(drop),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{AttributeProto, NodeProto, StringStringEntryProto, TensorProto};
    use bytes::Bytes;
    use prost::Message;

    fn fields_of(bytes: &[u8]) -> Option<NodeFields> {
        let mut f = NodeFields::default();
        f.read(bytes).then_some(f)
    }

    #[test]
    fn a_node_reads_as_prost_decodes_it() {
        let node = NodeProto {
            input: vec!["x".into(), "".into(), "w".into()],
            output: vec!["y".into()],
            name: "conv1".into(),
            op_type: "Conv".into(),
            domain: "ai.onnx".into(),
            attribute: vec![AttributeProto {
                name: "pads".into(),
                ints: vec![1, 1, 1, 1],
                r#type: 7,
                ..AttributeProto::default()
            }],
            metadata_props: vec![StringStringEntryProto {
                key: "k".into(),
                value: "v".into(),
            }],
        };
        let bytes = node.encode_to_vec();
        let fields = fields_of(&bytes).expect("plain");
        let text = fields.text(&bytes);
        assert_eq!(text.name(), b"conv1");
        assert_eq!(text.op_type(), b"Conv");
        assert_eq!(text.domain(), b"ai.onnx");
        assert_eq!(text.inputs().collect::<Vec<_>>(), [&b"x"[..], b"", b"w"]);
        assert_eq!(text.outputs().collect::<Vec<_>>(), [&b"y"[..]]);
        assert_eq!(text.metadata(b"k"), Some(&b"v"[..]));
        assert_eq!(text.metadata(b"v"), None);
        let attr = AttributeProto::decode(&bytes[fields.attributes[0].clone()]).unwrap();
        assert_eq!(attr, node.attribute[0]);
    }

    #[test]
    fn unknown_fields_are_skipped_and_the_last_name_kept() {
        // name "a", an unknown varint field 6 (1), an unknown fixed32 field
        // 8, name "b", an unknown fixed64 field 10.
        let bytes = [
            0x1a, 1, b'a', 0x30, 1, 0x45, 0, 0, 0, 0, 0x1a, 1, b'b', 0x51, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let fields = fields_of(&bytes).expect("plain");
        assert_eq!(fields.text(&bytes).name(), b"b");
        assert_eq!(NodeProto::decode(&bytes[..]).unwrap().name, "b");
    }

    #[test]
    fn what_is_not_plain_is_left_to_prost() {
        for bytes in [
            &[0x1a, 5, b'a'][..], // a name longer than the node
            &[0x18, 1],           // the name as a varint
            &[0x0b, 0x0c],        // a group
            &[0x02, 0],           // field 0
            &[0x37],              // wire type 7
            &[0x30, 0x80],        // a varint cut short
            &[0x4a, 2, 0x08, 1],  // a metadata key as a varint
            &[
                0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ], // 10 bytes
        ] {
            assert!(fields_of(bytes).is_none(), "{bytes:?}");
        }
        // Each of those but the last is one prost refuses too.
        for bytes in [
            &[0x1a, 5, b'a'][..],
            &[0x18, 1],
            &[0x02, 0],
            &[0x37],
            &[0x30, 0x80],
        ] {
            assert!(NodeProto::decode(bytes).is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn a_tensor_reads_as_prost_decodes_it() {
        let tensor = |dims: Vec<i64>, raw: Option<&'static [u8]>| TensorProto {
            dims,
            data_type: 7,
            name: "w".into(),
            raw_data: raw.map(Bytes::from_static),
            ..TensorProto::default()
        };
        for t in [
            tensor(vec![2, 3], Some(&[1, 2, 3])),
            tensor(vec![], None),
            tensor(vec![300, 1], Some(&[])),
        ] {
            let bytes = t.encode_to_vec();
            let f = TensorFields::read(&bytes).expect("plain");
            assert_eq!(f.dims, t.dims);
            assert_eq!(f.data_type, t.data_type);
            assert_eq!(&bytes[f.name], b"w");
            assert_eq!(f.raw_data.map(|r| &bytes[r]), t.raw_data.as_deref());
        }
        // Dims one varint each (unpacked), then packed: prost reads both.
        let bytes = [0x08, 2, 0x0a, 2, 3, 4];
        assert_eq!(TensorFields::read(&bytes).unwrap().dims, [2, 3, 4]);
        assert_eq!(TensorProto::decode(&bytes[..]).unwrap().dims, [2, 3, 4]);
        // Elements in a typed list, or external: left to prost.
        let typed = TensorProto {
            int64_data: vec![1],
            ..tensor(vec![1], None)
        };
        assert!(TensorFields::read(&typed.encode_to_vec()).is_none());
        let external = TensorProto {
            data_location: 1,
            ..tensor(vec![1], None)
        };
        assert!(TensorFields::read(&external.encode_to_vec()).is_none());
    }

    #[test]
    fn the_frame_length_is_read_when_whole() {
        assert_eq!(length_prefix(&[0x05, 1, 2]), Some((1, 5)));
        assert_eq!(length_prefix(&[0x96, 0x01]), Some((2, 150)));
        assert_eq!(length_prefix(&[0x96]), None);
        assert_eq!(length_prefix(&[]), None);
    }
}
