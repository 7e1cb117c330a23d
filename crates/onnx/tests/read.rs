//! Well-formed models convert into the expected core graph.

mod common;

use bytes::Bytes;
use common::*;
use nncost_core::graph::{AttrValue, DType, Graph, TensorData};
use nncost_core::shape::Dim;
use nncost_onnx::proto::*;
use nncost_onnx::read_bytes;

fn id(g: &Graph, name: &str) -> usize {
    g.values
        .iter()
        .position(|v| v.name == name)
        .unwrap_or_else(|| panic!("no value '{name}'"))
}

#[test]
fn conv_graph_converts() {
    let m = read_bytes(encode(&conv_model())).unwrap();
    assert_eq!(m.ir_version, 8);
    assert_eq!(m.producer, "nncost-tests 1.0");
    assert_eq!(m.opsets.version(""), Some(17));
    assert_eq!(m.opsets.version("ai.onnx"), Some(17));
    let g = &m.graph;
    assert_eq!(g.opsets, m.opsets);
    assert_eq!(g.name, "convnet");
    assert_eq!(g.values.len(), 4);
    assert_eq!(g.inputs, vec![id(g, "x")]);
    assert_eq!(g.outputs, vec![id(g, "y")]);

    let node = &g.nodes[0];
    assert_eq!(
        (
            node.name.as_str(),
            node.op_type.as_str(),
            node.domain.as_str()
        ),
        ("conv1", "Conv", "")
    );
    let want: Vec<_> = ["x", "W", "B"].iter().map(|n| Some(id(g, n))).collect();
    assert_eq!(node.inputs.to_vec(), want);
    assert_eq!(node.outputs.to_vec(), vec![Some(id(g, "y"))]);
    assert_eq!(
        node.attr("kernel_shape"),
        Some(&AttrValue::Ints(vec![3, 3]))
    );

    let w = g.values[id(g, "W")].initializer.as_ref().unwrap();
    assert_eq!(
        (w.dtype, w.dims.as_slice()),
        (DType::F32, &[4, 3, 3, 3][..])
    );
    // 108 floats: a weight, whose elements nothing reads, left out.
    assert_eq!(w.data, TensorData::Absent);
    let b = g.values[id(g, "B")].initializer.as_ref().unwrap();
    assert_eq!(b.data, TensorData::Floats(vec![0.5, 1.0, 1.5, 2.0]));

    let x = g.values[id(g, "x")].declared.as_ref().unwrap();
    assert_eq!(x.dtype, Some(DType::F32));
    let shape = x.shape.as_ref().unwrap();
    assert_eq!(
        shape,
        &vec![Dim::sym("N"), Dim::int(3), Dim::int(8), Dim::int(8)]
    );
    assert!(g.values[id(g, "y")].declared.is_some());
}

#[test]
fn raw_data_is_a_slice_of_the_input_buffer() {
    // A shape tensor, whose elements shape inference reads.
    let mut m = conv_model();
    let raw: Vec<u8> = [2i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let g = m.graph.as_mut().unwrap();
    g.initializer.push(raw_tensor("target", INT64, &[2], &raw));
    let buf = encode(&m);
    let range = buf.as_ptr_range();
    let m = read_bytes(buf.clone()).unwrap();
    let w = &m.graph.values[id(&m.graph, "target")]
        .initializer
        .as_ref()
        .unwrap()
        .data;
    let TensorData::Raw(raw) = w else {
        panic!("the target is not raw: {w:?}")
    };
    assert_eq!(raw.len(), 16);
    let r = raw.as_ptr_range();
    assert!(
        range.start <= r.start && r.end <= range.end,
        "raw_data was copied"
    );
}

#[test]
fn ir3_initializers_listed_as_inputs_are_not_user_inputs() {
    let mut m = conv_model();
    m.ir_version = 3;
    let g = m.graph.as_mut().unwrap();
    g.input
        .push(vi("W", FLOAT, Some(&[D::V(4), D::V(3), D::V(3), D::V(3)])));
    g.input.push(vi("B", FLOAT, Some(&[D::V(4)])));
    let m = read_bytes(encode(&m)).unwrap();
    let g = &m.graph;
    assert_eq!(g.inputs, vec![id(g, "x")]);
    assert!(g.values[id(g, "W")].initializer.is_some());
    assert!(g.values[id(g, "W")].declared.is_some());
}

#[test]
fn omitted_optional_inputs_and_outputs_are_none() {
    let g = GraphProto {
        node: vec![
            node("Resize", "r", &["x", "", "", "sizes"], &["y"]),
            node("Dropout", "d", &["y"], &["z", ""]),
        ],
        initializer: vec![TensorProto {
            name: "sizes".into(),
            data_type: INT64,
            dims: vec![4],
            int64_data: vec![1, 3, 16, 16],
            ..Default::default()
        }],
        input: vec![vi("x", FLOAT, Some(&[D::V(1), D::V(3), D::V(8), D::V(8)]))],
        output: vec![vi("z", FLOAT, None)],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let g = &m.graph;
    assert_eq!(
        g.nodes[0].inputs.to_vec(),
        vec![Some(id(g, "x")), None, None, Some(id(g, "sizes"))]
    );
    assert_eq!(g.nodes[1].outputs.to_vec(), vec![Some(id(g, "z")), None]);
    let sizes = g.values[id(g, "sizes")].initializer.as_ref().unwrap();
    assert_eq!(sizes.data, TensorData::Ints(vec![1, 3, 16, 16]));
    // Declared without a shape: rank unknown.
    let z = g.values[id(g, "z")].declared.as_ref().unwrap();
    assert_eq!((z.dtype, z.shape.as_ref()), (Some(DType::F32), None));
}

#[test]
fn external_data_is_described_not_opened() {
    let mut m = conv_model();
    let w = &mut m.graph.as_mut().unwrap().initializer[0];
    w.raw_data = None;
    w.data_location = data_location::EXTERNAL;
    w.external_data = vec![
        StringStringEntryProto {
            key: "location".into(),
            value: "does-not-exist.bin".into(),
        },
        StringStringEntryProto {
            key: "offset".into(),
            value: "4096".into(),
        },
    ];
    let m = read_bytes(encode(&m)).unwrap();
    let w = m.graph.values[id(&m.graph, "W")]
        .initializer
        .as_ref()
        .unwrap();
    let want = TensorData::External {
        location: "does-not-exist.bin".into(),
        offset: 4096,
        length: None,
    };
    assert_eq!(w.data, want);
    assert_eq!(w.dims, vec![4, 3, 3, 3]);
}

#[test]
fn tensor_without_payload_is_absent_and_typed_fields_widen() {
    let t = |name: &str, data_type: i32, f: fn(&mut TensorProto)| {
        let mut t = TensorProto {
            name: text(name),
            data_type,
            dims: vec![2],
            ..Default::default()
        };
        f(&mut t);
        t
    };
    let g = GraphProto {
        node: vec![node("Sum", "s", &["a", "b", "c", "d", "e"], &["y"])],
        initializer: vec![
            t("a", FLOAT, |_| {}),
            t("b", 6, |t| t.int32_data = vec![-1, 2]),
            t("c", 11, |t| t.double_data = vec![0.25, 4.0]),
            t("d", 13, |t| t.uint64_data = vec![7, u64::MAX]),
            t("e", 12, |t| t.uint64_data = vec![7, 8]),
        ],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let data = |n: &str| {
        m.graph.values[id(&m.graph, n)]
            .initializer
            .clone()
            .unwrap()
            .data
    };
    assert_eq!(data("a"), TensorData::Absent);
    assert_eq!(data("b"), TensorData::Ints(vec![-1, 2]));
    assert_eq!(data("c"), TensorData::Floats(vec![0.25, 4.0]));
    assert_eq!(
        data("d"),
        TensorData::Absent,
        "u64 above i64::MAX must not wrap"
    );
    assert_eq!(data("e"), TensorData::Ints(vec![7, 8]));
}

#[test]
fn declared_dims_cover_value_param_and_unknown() {
    let dims = [D::P("batch"), D::V(-1), D::None, D::P(""), D::V(0), D::V(7)];
    let g = GraphProto {
        node: vec![
            node("Relu", "", &["x"], &["h"]),
            node("Relu", "", &["h"], &["y"]),
        ],
        input: vec![vi("x", FLOAT, Some(&dims))],
        output: vec![vi("y", FLOAT, Some(&[]))],
        value_info: vec![
            vi("h", 10, Some(&[D::P("batch")])),
            vi("unused", FLOAT, None),
        ],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let g = &m.graph;
    let x = g.values[id(g, "x")]
        .declared
        .clone()
        .unwrap()
        .shape
        .unwrap();
    let want = vec![
        Dim::sym("batch"),
        Dim::Unknown,
        Dim::Unknown,
        Dim::Unknown,
        Dim::int(0),
        Dim::int(7),
    ];
    assert_eq!(x, want);
    let h = g.values[id(g, "h")].declared.clone().unwrap();
    assert_eq!(
        (h.dtype, h.shape),
        (Some(DType::F16), Some(vec![Dim::sym("batch")]))
    );
    // A scalar output: declared rank 0.
    assert_eq!(
        g.values[id(g, "y")].declared.clone().unwrap().shape,
        Some(vec![])
    );
    // value_info for a name nothing uses adds no value.
    assert!(g.values.iter().all(|v| v.name != "unused"));
    assert_eq!(g.values.len(), 3);
}

#[test]
fn non_tensor_types_declare_nothing() {
    let mut seq = vi("s", FLOAT, None);
    seq.r#type = Some(TypeProto {
        value: Some(type_proto::Value::SequenceType(type_proto::Container {
            elem_type: None,
        })),
    });
    let mut map = vi("m", FLOAT, None);
    map.r#type = Some(TypeProto {
        value: Some(type_proto::Value::MapType(type_proto::NonTensor {})),
    });
    let g = GraphProto {
        node: vec![node("SequenceLength", "", &["s"], &["n"])],
        input: vec![seq, map],
        output: vec![vi("n", INT64, Some(&[]))],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    assert_eq!(m.graph.values[0].declared, None);
    assert_eq!(m.graph.values[id(&m.graph, "m")].declared, None);
    assert_eq!(m.graph.inputs, vec![0, id(&m.graph, "m")]);
}

#[test]
fn sequences_and_optionals_declare_the_tensors_they_hold() {
    // seq(float[N]) and optional(seq(int32[4])), optional(float[2, 3]): the
    // element type, as a sequence's facts describe their elements.
    let wrap = |inner: TypeProto, optional: bool| TypeProto {
        value: Some(if optional {
            type_proto::Value::OptionalType(type_proto::Container {
                elem_type: Some(Box::new(inner)),
            })
        } else {
            type_proto::Value::SequenceType(type_proto::Container {
                elem_type: Some(Box::new(inner)),
            })
        }),
    };
    let tensor = |v: ValueInfoProto| v.r#type.unwrap();
    let mut s = vi("s", FLOAT, Some(&[D::P("N")]));
    s.r#type = Some(wrap(tensor(vi("", FLOAT, Some(&[D::P("N")]))), false));
    let mut o = vi("o", 6, None);
    o.r#type = Some(wrap(wrap(tensor(vi("", 6, Some(&[D::V(4)]))), false), true));
    let mut t = vi("t", FLOAT, None);
    t.r#type = Some(wrap(tensor(vi("", FLOAT, Some(&[D::V(2), D::V(3)]))), true));
    // A sequence of sequences is not a tensor's type.
    let mut ss = vi("ss", FLOAT, None);
    ss.r#type = Some(wrap(wrap(tensor(vi("", FLOAT, None)), false), false));
    let g = GraphProto {
        node: vec![node("SequenceLength", "", &["s"], &["n"])],
        input: vec![s, o, t, ss],
        output: vec![vi("n", INT64, Some(&[]))],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let declared = |name: &str| m.graph.values[id(&m.graph, name)].declared.clone();
    let s = declared("s").unwrap();
    assert_eq!(
        (s.dtype, s.shape),
        (Some(DType::F32), Some(vec![Dim::sym("N")]))
    );
    let o = declared("o").unwrap();
    assert_eq!(
        (o.dtype, o.shape),
        (Some(DType::I32), Some(vec![Dim::int(4)]))
    );
    let t = declared("t").unwrap();
    assert_eq!(t.shape, Some(vec![Dim::int(2), Dim::int(3)]));
    assert_eq!(declared("ss"), None);
}

#[test]
fn constant_node_tensor_attribute_is_converted() {
    let mut c = node("Constant", "k", &[], &["shape"]);
    c.attribute = vec![AttributeProto {
        name: "value".into(),
        r#type: attribute_type::TENSOR,
        t: Some(Box::new(raw_tensor(
            "",
            INT64,
            &[2],
            &[
                1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255,
            ],
        ))),
        ..Default::default()
    }];
    let g = GraphProto {
        node: vec![c, node("Reshape", "r", &["x", "shape"], &["y"])],
        input: vec![vi("x", FLOAT, Some(&[D::V(2), D::V(3)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let buf = encode(&model(g));
    let m = read_bytes(buf.clone()).unwrap();
    let Some(AttrValue::Tensor(t)) = m.graph.nodes[0].attr("value") else {
        panic!("no tensor attribute")
    };
    assert_eq!((t.dtype, t.dims.as_slice()), (DType::I64, &[2][..]));
    let TensorData::Raw(raw) = &t.data else {
        panic!()
    };
    assert_eq!(raw.len(), 16);
    assert!(buf.as_ptr_range().contains(&raw.as_ptr()));
}

#[test]
fn scalar_attributes_with_and_without_type_field() {
    let typed = AttributeProto {
        name: "alpha".into(),
        r#type: attribute_type::FLOAT,
        f: Some(0.25),
        ..Default::default()
    };
    // IR 1 files have no discriminator; the set field decides.
    let untyped_i = AttributeProto {
        name: "axis".into(),
        i: Some(-1),
        ..Default::default()
    };
    let untyped_s = AttributeProto {
        name: "mode".into(),
        s: Some(Bytes::from_static(b"nearest")),
        ..Default::default()
    };
    // `AttributeProto` does not declare `tensors` (10): write one with a
    // message that does, as an exporter would, and decode it.
    #[derive(Clone, PartialEq, prost::Message)]
    struct TensorsAttribute {
        #[prost(bytes = "bytes", tag = "1")]
        name: Bytes,
        #[prost(message, repeated, tag = "10")]
        tensors: Vec<TensorProto>,
        #[prost(int32, tag = "20")]
        r#type: i32,
    }
    let list = TensorsAttribute {
        name: "tensors".into(),
        tensors: vec![raw_tensor("", FLOAT, &[1], &[0; 4])],
        r#type: attribute_type::TENSORS,
    };
    let list =
        <AttributeProto as prost::Message>::decode(prost::Message::encode_to_vec(&list).as_slice())
            .unwrap();
    let reference = AttributeProto {
        name: "ref".into(),
        r#type: attribute_type::INT,
        ref_attr_name: "outer".into(),
        ..Default::default()
    };
    let mut n = node("Custom", "c", &["x"], &["y"]);
    n.domain = "com.example".into();
    n.attribute = vec![typed, untyped_i, untyped_s, list, reference];
    let g = GraphProto {
        node: vec![n],
        input: vec![vi("x", FLOAT, None)],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let n = &m.graph.nodes[0];
    assert_eq!(n.domain, "com.example");
    assert_eq!(n.attr("alpha"), Some(&AttrValue::Float(0.25)));
    assert_eq!(n.attr("axis"), Some(&AttrValue::Int(-1)));
    assert_eq!(
        n.attr("mode"),
        Some(&AttrValue::String(Bytes::from_static(b"nearest")))
    );
    assert_eq!(n.attr("tensors"), Some(&AttrValue::Other));
    assert_eq!(n.attr("ref"), Some(&AttrValue::Other));
}

#[test]
fn sparse_initializer_gives_dense_shape() {
    let values = TensorProto {
        name: "S".into(),
        data_type: FLOAT,
        dims: vec![3],
        float_data: vec![1.0, 2.0, 3.0],
        ..Default::default()
    };
    let g = GraphProto {
        node: vec![node("MatMul", "mm", &["x", "S"], &["y"])],
        sparse_initializer: vec![SparseTensorProto {
            values: Some(values),
            indices: None,
            dims: vec![100, 50],
        }],
        input: vec![vi("x", FLOAT, Some(&[D::V(1), D::V(100)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let s = m.graph.values[id(&m.graph, "S")]
        .initializer
        .clone()
        .unwrap();
    assert_eq!(
        (s.dtype, s.dims, s.data),
        (DType::F32, vec![100, 50], TensorData::Absent)
    );
    assert_eq!(m.graph.inputs, vec![id(&m.graph, "x")]);
}

#[test]
fn if_branches_become_subgraphs_that_may_read_outer_values() {
    let then_g = GraphProto {
        name: "then".into(),
        node: vec![node("Add", "inner_add", &["x", "bias"], &["t"])],
        output: vec![vi("t", FLOAT, None)],
        ..Default::default()
    };
    // An else branch may return an outer value directly.
    let else_g = GraphProto {
        name: "else".into(),
        output: vec![vi("x", FLOAT, None)],
        ..Default::default()
    };
    let mut if_node = node("If", "branch", &["cond"], &["y"]);
    if_node.attribute = vec![
        graph_attr("then_branch", then_g),
        graph_attr("else_branch", else_g),
    ];
    let g = GraphProto {
        // Consumer listed before producer: order must not matter.
        node: vec![if_node, node("Relu", "r", &["x0"], &["x"])],
        initializer: vec![raw_tensor("bias", FLOAT, &[1], &[0; 4])],
        input: vec![vi("x0", FLOAT, None), vi("cond", 9, Some(&[]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let Some(AttrValue::Graph(then_g)) = m.graph.nodes[0].attr("then_branch") else {
        panic!("then_branch")
    };
    assert_eq!(then_g.name, "then");
    assert_eq!(then_g.opsets, m.opsets);
    let add = &then_g.nodes[0];
    let names: Vec<_> = add
        .inputs
        .iter()
        .map(|i| then_g.value_name(i.unwrap()))
        .collect();
    assert_eq!(names, ["x", "bias"]);
    // Outer values are plain values of the subgraph, not its inputs, and
    // carry no copy of the outer initializer.
    assert!(then_g.inputs.is_empty());
    assert!(then_g.values.iter().all(|v| v.initializer.is_none()));
    let Some(AttrValue::Graph(else_g)) = m.graph.nodes[0].attr("else_branch") else {
        panic!("else_branch")
    };
    assert_eq!(else_g.value_name(else_g.outputs[0]), "x");
}

#[test]
fn loop_body_inputs_are_subgraph_inputs() {
    let body = GraphProto {
        node: vec![
            node("Identity", "", &["cond_in"], &["cond_out"]),
            node("Mul", "", &["v_in", "scale"], &["v_out"]),
        ],
        input: vec![
            vi("i", INT64, Some(&[])),
            vi("cond_in", 9, Some(&[])),
            vi("v_in", FLOAT, None),
        ],
        output: vec![vi("cond_out", 9, Some(&[])), vi("v_out", FLOAT, None)],
        ..Default::default()
    };
    let mut lp = node("Loop", "loop", &["trip", "", "v0"], &["v"]);
    lp.attribute = vec![graph_attr("body", body)];
    let g = GraphProto {
        node: vec![lp],
        initializer: vec![
            raw_tensor("scale", FLOAT, &[], &[0; 4]),
            raw_tensor("trip", INT64, &[], &[3, 0, 0, 0, 0, 0, 0, 0]),
        ],
        input: vec![vi("v0", FLOAT, None)],
        output: vec![vi("v", FLOAT, None)],
        ..Default::default()
    };
    let m = read_bytes(encode(&model(g))).unwrap();
    let Some(AttrValue::Graph(body)) = m.graph.nodes[0].attr("body") else {
        panic!("body")
    };
    let ins: Vec<_> = body.inputs.iter().map(|&i| body.value_name(i)).collect();
    assert_eq!(ins, ["i", "cond_in", "v_in"]);
    assert_eq!(m.graph.nodes[0].inputs[1], None);
}

#[test]
fn model_without_opsets_or_producer() {
    let mut m = conv_model();
    m.opset_import.clear();
    m.producer_name.clear();
    m.producer_version.clear();
    let m = read_bytes(encode(&m)).unwrap();
    assert_eq!(m.producer, "");
    assert!(m.opsets.0.is_empty());
}

/// The hand-written `Message` impls of graphs and nodes (`limited.rs`)
/// write every field and read it back as written.
#[test]
fn graphs_and_nodes_round_trip_through_the_wire() {
    use prost::Message;
    let mut n = node("Conv", "conv1", &["x", "", "W"], &["y", "z"]);
    n.domain = "com.example".into();
    n.attribute = vec![ints_attr("strides", &[2, 2])];
    n.metadata_props = vec![StringStringEntryProto {
        key: "pkg.torch.onnx.name_scopes".into(),
        value: "['', 'conv1']".into(),
    }];
    let g = GraphProto {
        node: vec![n.clone(), NodeProto::default()],
        name: "g".into(),
        initializer: vec![raw_tensor("W", FLOAT, &[1], &[0, 0, 128, 63])],
        input: vec![vi("x", FLOAT, Some(&[D::P("batch"), D::V(3)]))],
        output: vec![vi("y", FLOAT, None)],
        value_info: vec![vi("z", FLOAT, None)],
        sparse_initializer: vec![SparseTensorProto::default()],
    };
    let bytes = g.encode_to_vec();
    assert_eq!(bytes.len(), g.encoded_len());
    assert_eq!(GraphProto::decode(bytes.as_slice()).unwrap(), g);
    assert_eq!(NodeProto::decode(n.encode_to_vec().as_slice()).unwrap(), n);
}

/// Lists are counted as they are decoded: the 4,097th attribute of a node
/// is refused by name, before it is stored.
#[test]
fn too_many_attributes_are_refused_while_decoding() {
    let mut n = node("Relu", "r", &["x"], &["y"]);
    n.attribute = (0..4_097)
        .map(|i| ints_attr(&format!("a{i}"), &[]))
        .collect();
    let g = GraphProto {
        node: vec![n],
        input: vec![vi("x", FLOAT, Some(&[D::V(4)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let e = read_bytes(encode(&model(g))).unwrap_err().to_string();
    assert_eq!(
        e,
        "more than 4,096 attributes on one node: nncost accepts at most 4,096"
    );
}

/// The fields of a graph may come in any order, and a `graph` field may
/// come in pieces (protobuf merges them): the graph read is the same, with
/// the same value numbers, as from the usual order (nodes, initializers,
/// inputs, outputs, value descriptions).
#[test]
fn the_order_of_a_graphs_fields_does_not_change_the_graph() {
    let mut m = conv_model();
    let g = m.graph.as_mut().unwrap();
    g.node.push(node("Relu", "relu1", &["y"], &["z"]));
    g.output = vec![vi("z", FLOAT, None)];
    g.value_info = vec![vi(
        "y",
        FLOAT,
        Some(&[D::P("N"), D::V(4), D::V(6), D::V(6)]),
    )];
    let whole = read_bytes(encode(&m)).unwrap();
    assert_eq!(whole.graph.nodes.len(), 2);
    let g = m.graph.take().unwrap();
    let piece = |fill: &dyn Fn(&mut GraphProto)| {
        let mut p = GraphProto::default();
        fill(&mut p);
        encode(&ModelProto {
            graph: Some(p),
            ..Default::default()
        })
    };
    let conv = || {
        piece(&|p| {
            p.node = g.node[..1].to_vec();
            p.name = g.name.clone();
        })
    };
    let relu = || piece(&|p| p.node = g.node[1..].to_vec());
    let initializers = || piece(&|p| p.initializer = g.initializer.clone());
    let inputs = || piece(&|p| p.input = g.input.clone());
    let outputs = || piece(&|p| p.output = g.output.clone());
    let value_info = || piece(&|p| p.value_info = g.value_info.clone());
    let orders = [
        [
            value_info(),
            outputs(),
            inputs(),
            initializers(),
            conv(),
            relu(),
        ],
        [
            conv(),
            inputs(),
            relu(),
            value_info(),
            initializers(),
            outputs(),
        ],
    ];
    for pieces in orders {
        let mut bytes = encode(&m).to_vec();
        for p in &pieces {
            bytes.extend_from_slice(p);
        }
        assert_eq!(read_bytes(Bytes::from(bytes)).unwrap(), whole);
    }
}
