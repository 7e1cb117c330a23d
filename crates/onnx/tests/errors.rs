//! Malformed input is rejected with a specific one-line message, and no
//! input, however broken, makes the reader panic.

mod common;

use bytes::Bytes;
use common::*;
use nncost_onnx::proto::*;
use nncost_onnx::{read_bytes, OnnxError};

fn err(m: &ModelProto) -> String {
    let e = read_bytes(encode(m)).expect_err("model should be rejected");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line message: {msg}");
    msg
}

fn with_graph(f: impl FnOnce(&mut GraphProto)) -> ModelProto {
    let mut m = conv_model();
    f(m.graph.as_mut().unwrap());
    m
}

#[test]
fn undefined_input_names_node_and_value() {
    let m = with_graph(|g| g.node[0].input[2] = "bias_typo".into());
    assert_eq!(
        err(&m),
        "node 'conv1' (Conv) reads undefined value 'bias_typo'"
    );
    // Unnamed nodes are named by op type and position.
    let m = with_graph(|g| {
        g.node[0].name.clear();
        g.node[0].input[0] = "nope".into();
    });
    assert_eq!(err(&m), "node 'Conv#0' (Conv) reads undefined value 'nope'");
}

#[test]
fn undefined_value_inside_subgraph_is_rejected() {
    let body = GraphProto {
        node: vec![node("Relu", "inner", &["missing"], &["t"])],
        output: vec![vi("t", FLOAT, None)],
        ..Default::default()
    };
    let m = with_graph(|g| {
        let mut n = node("If", "if", &["x"], &["z"]);
        n.attribute = vec![graph_attr("then_branch", body)];
        g.node.push(n);
    });
    assert_eq!(
        err(&m),
        "node 'inner' (Relu) reads undefined value 'missing'"
    );
}

#[test]
fn undefined_graph_output() {
    let m = with_graph(|g| g.output.push(vi("ghost", FLOAT, None)));
    assert_eq!(
        err(&m),
        "graph output 'ghost' is not produced by any node, graph input or initializer"
    );
}

#[test]
fn duplicate_producer() {
    let m = with_graph(|g| g.node.push(node("Relu", "relu", &["x"], &["y"])));
    assert_eq!(
        err(&m),
        "value 'y' is produced by two nodes: 'conv1' (Conv) and 'relu' (Relu)"
    );
}

#[test]
fn initializer_or_input_that_is_also_a_node_output() {
    let m = with_graph(|g| g.node.push(node("Relu", "relu", &["x"], &["W"])));
    assert_eq!(
        err(&m),
        "value 'W' is both an initializer and an output of node 'relu' (Relu)"
    );
    let m = with_graph(|g| g.node.push(node("Relu", "relu", &["y"], &["x"])));
    assert_eq!(
        err(&m),
        "value 'x' is both a graph input and an output of node 'relu' (Relu)"
    );
}

#[test]
fn duplicate_initializer() {
    let m = with_graph(|g| {
        let w = g.initializer[0].clone();
        g.initializer.push(w);
    });
    assert_eq!(err(&m), "initializer 'W' is defined more than once");
}

#[test]
fn unknown_and_unsupported_data_types_are_named() {
    let m = with_graph(|g| g.initializer[0].data_type = 99);
    assert_eq!(err(&m), "initializer 'W' has unknown data type code 99");
    let m = with_graph(|g| g.initializer[1].data_type = 0);
    assert_eq!(
        err(&m),
        "initializer 'B' has an undefined data type (code 0)"
    );
    let m = with_graph(|g| g.input[0] = vi("x", 1234, None));
    assert_eq!(err(&m), "graph input 'x' has unknown data type code 1234");
}

#[test]
fn unknown_data_type_in_attribute_tensor_names_the_node() {
    let m = with_graph(|g| {
        let mut c = node("Constant", "k", &[], &["c"]);
        c.attribute = vec![AttributeProto {
            name: "value".into(),
            r#type: attribute_type::TENSOR,
            t: Some(Box::new(raw_tensor("", -3, &[1], &[0]))),
            ..Default::default()
        }];
        g.node.push(c);
    });
    assert_eq!(
        err(&m),
        "attribute 'value' of node 'k' (Constant) has unknown data type code -3"
    );
}

#[test]
fn negative_initializer_dims() {
    let m = with_graph(|g| g.initializer[0].dims = vec![4, -3, 3, 3]);
    assert_eq!(
        err(&m),
        "initializer 'W' has a negative dimension in shape [4, -3, 3, 3]"
    );
}

#[test]
fn garbage_is_not_an_onnx_model() {
    let e = read_bytes(Bytes::from_static(&[0xff; 16])).unwrap_err();
    assert!(matches!(e, OnnxError::Decode(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("not an ONNX model (protobuf decode failed: "),
        "{msg}"
    );
    assert!(!msg.contains("failed to decode Protobuf message"), "{msg}");
    // Text may happen to parse as protobuf but never contains a graph.
    for text in [
        &b"hello world, this is not a model"[..],
        b"PK\x03\x04 zip",
        b"{\"a\":1}",
    ] {
        assert!(read_bytes(Bytes::copy_from_slice(text)).is_err());
    }
}

#[test]
fn empty_input() {
    let e = read_bytes(Bytes::new()).unwrap_err();
    assert_eq!(e.to_string(), "empty input (0 bytes): not an ONNX model");
}

#[test]
fn model_without_graph() {
    let mut m = conv_model();
    m.graph = None;
    assert_eq!(err(&m), "not an ONNX model: it has no graph (ir_version 8)");
}

/// String fields are decoded as bytes and checked for UTF-8 when converted;
/// the error names the field.
#[test]
fn invalid_utf8_names_the_field() {
    let bad = || Bytes::from_static(b"conv\xff");
    type Set = fn(&mut GraphProto, Bytes);
    let cases: [(Set, &str); 7] = [
        (|g, b| g.node[0].op_type = b, "the op_type of node #0"),
        (|g, b| g.node[0].name = b, "the name of node #0"),
        (
            |g, b| g.node[0].input[1] = b,
            "input 1 of node 'conv1' (Conv)",
        ),
        (
            |g, b| g.node[0].output[0] = b,
            "output 0 of node 'conv1' (Conv)",
        ),
        (
            |g, b| g.node[0].attribute[1].name = b,
            "an attribute name of node 'conv1' (Conv)",
        ),
        (
            |g, b| g.initializer[1].name = b,
            "the name of initializer #1",
        ),
        (|g, b| g.input[0].name = b, "the name of graph input #0"),
    ];
    for (set, what) in cases {
        let m = with_graph(|g| set(g, bad()));
        assert_eq!(err(&m), format!("{what} is not valid UTF-8"));
    }
    let mut m = conv_model();
    m.producer_name = bad();
    assert_eq!(err(&m), "the producer name is not valid UTF-8");
}

/// Every prefix of a valid model either decodes or errors; none panics.
#[test]
fn truncation_at_every_length_never_panics() {
    let buf = encode(&conv_model());
    let mut decoded = 0;
    for n in 0..buf.len() {
        if read_bytes(buf.slice(..n)).is_ok() {
            decoded += 1;
        }
    }
    // Cutting inside the graph message always breaks its length prefix.
    assert!(
        decoded < buf.len() / 2,
        "{decoded} of {} prefixes decoded",
        buf.len()
    );
    assert!(read_bytes(buf).is_ok());
}

/// Single-byte corruptions of a valid model never panic either.
#[test]
fn byte_flips_never_panic() {
    let buf = encode(&conv_model()).to_vec();
    for i in 0..buf.len() {
        for v in [0x00, 0x7f, 0x80, 0xff] {
            let mut b = buf.clone();
            b[i] = v;
            let _ = read_bytes(Bytes::from(b));
        }
    }
}

/// Nesting deep enough to exhaust prost's recursion limit is an error, not
/// a stack overflow.
#[test]
fn deeply_nested_subgraphs_are_rejected() {
    let mut g = GraphProto {
        node: vec![node("Identity", "", &["x"], &["y"])],
        input: vec![vi("x", FLOAT, None)],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    for _ in 0..80 {
        let mut n = node("If", "", &["x"], &["y"]);
        n.attribute = vec![graph_attr("then_branch", g)];
        g = GraphProto {
            node: vec![n],
            input: vec![vi("x", FLOAT, None)],
            output: vec![vi("y", FLOAT, None)],
            ..Default::default()
        };
    }
    let msg = err(&model(g));
    assert!(
        msg.starts_with("not an ONNX model (protobuf decode failed:"),
        "{msg}"
    );
}

/// A name past the text limit is refused with its size, not copied around.
#[test]
fn overlong_names_are_refused() {
    let mut m = conv_model();
    m.graph.as_mut().unwrap().node[0].name = "n".repeat(nncost_onnx::MAX_TEXT_LEN + 1).into();
    let e = read_bytes(encode(&m)).unwrap_err().to_string();
    assert!(e.contains("the name of node #0 is 65537 bytes long"), "{e}");
}
