//! Builders for small ONNX models, written with the crate's own prost
//! structs and encoded to bytes as a real exporter would.

#![allow(dead_code)] // each test binary uses a different subset

use bytes::Bytes;
use nncost_onnx::proto::tensor_shape_proto::{dimension, Dimension};
use nncost_onnx::proto::*;
use prost::Message;

pub const FLOAT: i32 = 1;
pub const INT64: i32 = 7;

/// String fields are `Bytes` in the prost structs (see `proto.rs`); this
/// makes one from any `&str`, not only literals.
pub fn text(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

pub fn encode(m: &ModelProto) -> Bytes {
    Bytes::from(m.encode_to_vec())
}

pub fn model(graph: GraphProto) -> ModelProto {
    ModelProto {
        ir_version: 8,
        producer_name: "nncost-tests".into(),
        producer_version: "1.0".into(),
        opset_import: vec![OperatorSetIdProto {
            domain: Bytes::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    }
}

pub enum D {
    V(i64),
    P(&'static str),
    None,
}

/// A tensor value declaration; `dims: None` declares no shape at all.
pub fn vi(name: &str, elem_type: i32, dims: Option<&[D]>) -> ValueInfoProto {
    let shape = dims.map(|ds| TensorShapeProto {
        dim: ds
            .iter()
            .map(|d| Dimension {
                value: match d {
                    D::V(v) => Some(dimension::Value::DimValue(*v)),
                    D::P(p) => Some(dimension::Value::DimParam((*p).into())),
                    D::None => None,
                },
            })
            .collect(),
    });
    ValueInfoProto {
        name: text(name),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape,
            })),
        }),
    }
}

pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| text(s)).collect(),
        output: outputs.iter().map(|s| text(s)).collect(),
        name: text(name),
        op_type: text(op),
        ..Default::default()
    }
}

pub fn raw_tensor(name: &str, data_type: i32, dims: &[i64], raw: &[u8]) -> TensorProto {
    TensorProto {
        name: text(name),
        data_type,
        dims: dims.to_vec(),
        raw_data: Some(Bytes::copy_from_slice(raw)),
        ..Default::default()
    }
}

pub fn ints_attr(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: text(name),
        r#type: attribute_type::INTS,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

/// x[4] reshaped by `target`, an int64 tensor of 2 elements held in
/// external data at `location`: a small tensor shape inference must read.
pub fn reshape_by_external_target(location: &str) -> GraphProto {
    let target = TensorProto {
        name: "target".into(),
        data_type: INT64,
        dims: vec![2],
        data_location: data_location::EXTERNAL,
        external_data: vec![StringStringEntryProto {
            key: "location".into(),
            value: text(location),
        }],
        ..Default::default()
    };
    GraphProto {
        name: "g".into(),
        node: vec![node("Reshape", "r", &["x", "target"], &["y"])],
        initializer: vec![target],
        input: vec![vi("x", FLOAT, Some(&[D::V(4)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    }
}

pub fn graph_attr(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        name: text(name),
        r#type: attribute_type::GRAPH,
        g: Some(Box::new(g)),
        ..Default::default()
    }
}

/// x[N,3,8,8] -> Conv(W[4,3,3,3] raw, B[4] float_data) -> y[N,4,6,6].
pub fn conv_model() -> ModelProto {
    let w_raw: Vec<u8> = (0..4 * 3 * 3 * 3 * 4).map(|i| i as u8).collect();
    let mut conv = node("Conv", "conv1", &["x", "W", "B"], &["y"]);
    conv.attribute = vec![
        ints_attr("kernel_shape", &[3, 3]),
        ints_attr("pads", &[0, 0, 0, 0]),
    ];
    model(GraphProto {
        name: "convnet".into(),
        node: vec![conv],
        initializer: vec![
            raw_tensor("W", FLOAT, &[4, 3, 3, 3], &w_raw),
            TensorProto {
                name: "B".into(),
                data_type: FLOAT,
                dims: vec![4],
                float_data: vec![0.5, 1.0, 1.5, 2.0],
                ..Default::default()
            },
        ],
        input: vec![vi(
            "x",
            FLOAT,
            Some(&[D::P("N"), D::V(3), D::V(8), D::V(8)]),
        )],
        output: vec![vi(
            "y",
            FLOAT,
            Some(&[D::P("N"), D::V(4), D::V(6), D::V(6)]),
        )],
        ..Default::default()
    })
}
