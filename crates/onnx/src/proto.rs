//! The subset of the ONNX protobuf schema that nncost reads, declared by hand
//! with `prost` derives (no protoc, no build script).
//!
//! Field numbers are those of the ONNX format (IR versions 3 to 11). Fields
//! nncost has no use for (doc strings, metadata, functions, training info,
//! quantization annotations, ...) are simply not declared: protobuf decoding
//! skips unknown fields, so leaving them out costs nothing and keeps this file
//! short.
//!
//! Every `bytes` field is `bytes::Bytes`: decoding from a `Bytes` slices
//! the buffer instead of copying, so a tensor's `raw_data` costs a reference
//! count, not a read of the weights.
//!
//! Every ONNX `string` field is declared `bytes` too, also as `Bytes`. Both
//! are length-delimited on the wire, so the encoding is identical; what
//! changes is that decoding neither allocates a `String` per name (a
//! 100,000-node graph has several hundred thousand) nor checks UTF-8. The
//! conversion to nncost's graph checks UTF-8 once for each field it uses and
//! names the field when the check fails; fields it does not use are never
//! checked (prost would reject invalid UTF-8 in any of them). `Bytes`
//! converts from string literals (`"x".into()`), so building messages by
//! hand reads as before.
//!
//! Scalars that ONNX declares `optional` (proto2) and whose presence matters
//! to us are `Option`s here; the rest use proto3 defaults (0, "").

use bytes::Bytes;

/// The top-level message of a `.onnx` file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(bytes = "bytes", tag = "2")]
    pub producer_name: Bytes,
    #[prost(bytes = "bytes", tag = "3")]
    pub producer_version: Bytes,
    #[prost(bytes = "bytes", tag = "4")]
    pub domain: Bytes,
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// Empty (or `ai.onnx`) for the default ONNX operator set.
    #[prost(bytes = "bytes", tag = "1")]
    pub domain: Bytes,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// A graph. Its `Message` impl is written out (see `limited.rs`) so that the
/// number of nodes and of other values is checked as they are decoded.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct GraphProto {
    /// Tag 1.
    pub node: Vec<NodeProto>,
    /// Tag 2.
    pub name: Bytes,
    /// Tag 5.
    pub initializer: Vec<TensorProto>,
    /// Tag 11.
    pub input: Vec<ValueInfoProto>,
    /// Tag 12.
    pub output: Vec<ValueInfoProto>,
    /// Tag 13.
    pub value_info: Vec<ValueInfoProto>,
    /// Tag 15, IR >= 6.
    pub sparse_initializer: Vec<SparseTensorProto>,
}

/// A node. Its `Message` impl is written out (see `limited.rs`) so that the
/// number of attributes is checked as they are decoded.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct NodeProto {
    /// Tag 1. Positional inputs; `""` marks an omitted optional input.
    pub input: Vec<Bytes>,
    /// Tag 2.
    pub output: Vec<Bytes>,
    /// Tag 3.
    pub name: Bytes,
    /// Tag 4.
    pub op_type: Bytes,
    /// Tag 5.
    pub attribute: Vec<AttributeProto>,
    /// Tag 7.
    pub domain: Bytes,
    /// Tag 9. Exporters' notes on the node (onnx ≥ 1.16): PyTorch's dynamo
    /// exporter writes the module path as `pkg.torch.onnx.name_scopes`.
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// Discriminator values of `AttributeProto.type`.
pub mod attribute_type {
    pub const UNDEFINED: i32 = 0;
    pub const FLOAT: i32 = 1;
    pub const INT: i32 = 2;
    pub const STRING: i32 = 3;
    pub const TENSOR: i32 = 4;
    pub const GRAPH: i32 = 5;
    pub const FLOATS: i32 = 6;
    pub const INTS: i32 = 7;
    pub const STRINGS: i32 = 8;
    pub const TENSORS: i32 = 9;
    pub const GRAPHS: i32 = 10;
    pub const SPARSE_TENSOR: i32 = 11;
    pub const SPARSE_TENSORS: i32 = 12;
    pub const TYPE_PROTO: i32 = 13;
    pub const TYPE_PROTOS: i32 = 14;
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    #[prost(bytes = "bytes", tag = "1")]
    pub name: Bytes,
    /// Kept optional so that files older than IR 2, which lack the `type`
    /// discriminator, can still be read by looking at which field is set.
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    #[prost(bytes = "bytes", optional, tag = "4")]
    pub s: Option<Bytes>,
    // The single-message fields are boxed: inline they made this struct
    // over 1 KB, allocated (and moved as the list grows) for every
    // attribute of every node, while almost all attributes are ints.
    #[prost(message, optional, boxed, tag = "5")]
    pub t: Option<Box<TensorProto>>,
    #[prost(message, optional, boxed, tag = "6")]
    pub g: Option<Box<GraphProto>>,
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    #[prost(bytes = "bytes", repeated, tag = "9")]
    pub strings: Vec<Bytes>,
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    // `tensors` (10), `tp` (14), `type_protos` (15), `sparse_tensor` (22)
    // and `sparse_tensors` (23) are left undeclared: nncost does not
    // interpret those kinds, and every attribute of every node pays for
    // each declared field (prost allocates room for four attributes at a
    // time); dropping three of them made reading a 100,000-node graph 7%
    // faster.
    /// An `attribute_type` code.
    #[prost(int32, tag = "20")]
    pub r#type: i32,
    /// Set only inside functions: the value comes from the caller.
    #[prost(bytes = "bytes", tag = "21")]
    pub ref_attr_name: Bytes,
}

/// `TensorProto.data_location` values.
pub mod data_location {
    pub const DEFAULT: i32 = 0;
    pub const EXTERNAL: i32 = 1;
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// A `TensorProto.DataType` code; see `dtype.rs`.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    // `segment` (3) is not declared: chunked tensors are not supported by
    // any current ONNX tooling.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// Also carries bit patterns of 8- and 16-bit types (FLOAT16 etc.).
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    // `string_data` (6) is not declared: string tensors carry no weights
    // nncost counts, and core has no form for their elements.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    #[prost(bytes = "bytes", tag = "8")]
    pub name: Bytes,
    /// Optional so that an empty-but-present payload (a tensor with zero
    /// elements) differs from "no payload here".
    #[prost(bytes = "bytes", optional, tag = "9")]
    pub raw_data: Option<Bytes>,
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    #[prost(uint64, repeated, tag = "11")]
    pub uint64_data: Vec<u64>,
    /// Keys `location`, `offset`, `length`, `checksum` (IR >= 5).
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    #[prost(bytes = "bytes", tag = "1")]
    pub key: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

/// A sparse tensor (IR >= 6). `values.name` names it; `dims` is the dense
/// shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SparseTensorProto {
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
    #[prost(int64, repeated, tag = "3")]
    pub dims: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    #[prost(bytes = "bytes", tag = "1")]
    pub name: Bytes,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    #[prost(oneof = "type_proto::Value", tags = "1, 4, 5, 7, 8, 9")]
    pub value: Option<type_proto::Value>,
}

pub mod type_proto {
    /// Tensor and sparse-tensor types share this layout.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// Absent when not even the rank is known.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// Stands for the map and opaque types. Their contents are not
    /// declared, so they are skipped during decoding.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NonTensor {}

    /// A sequence type (the type of its elements) or an optional type (the
    /// type of the value it holds).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Container {
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<super::TypeProto>>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(message, tag = "1")]
        TensorType(Tensor),
        #[prost(message, tag = "4")]
        SequenceType(Container),
        #[prost(message, tag = "5")]
        MapType(NonTensor),
        #[prost(message, tag = "7")]
        OpaqueType(NonTensor),
        /// IR >= 6.
        #[prost(message, tag = "8")]
        SparseTensorType(Tensor),
        /// IR >= 8.
        #[prost(message, tag = "9")]
        OptionalType(Container),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

pub mod tensor_shape_proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
    }

    pub mod dimension {
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// A symbolic dimension such as `batch`.
            #[prost(bytes = "bytes", tag = "2")]
            DimParam(bytes::Bytes),
        }
    }
}
