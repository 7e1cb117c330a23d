//! Models written by the reference `onnx` Python package (see
//! `fixtures/make_fixtures.py`): checks the hand-declared field numbers
//! against bytes from the real schema.

use std::path::Path;

use bytes::Bytes;
use nncost_core::graph::{AttrValue, DType, Graph, TensorData};
use nncost_core::shape::Dim;
use nncost_onnx::{read_bytes, read_file, Model};

fn fixture(name: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    read_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn value<'g>(g: &'g Graph, name: &str) -> &'g nncost_core::graph::Value {
    g.values
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no value '{name}'"))
}

fn data(g: &Graph, name: &str) -> TensorData {
    value(g, name).initializer.clone().unwrap().data
}

#[test]
fn kitchen_sink_header_and_inputs() {
    let m = fixture("kitchen_sink.onnx");
    assert_eq!(m.ir_version, 10);
    assert_eq!(m.producer, "nncost-fixture 1.23.2");
    assert_eq!(m.opsets.version(""), Some(21));
    assert_eq!(m.opsets.version("com.example"), Some(1));
    let g = &m.graph;
    assert_eq!(g.name, "kitchen_sink");
    let inputs: Vec<_> = g.inputs.iter().map(|&i| g.value_name(i)).collect();
    assert_eq!(inputs, ["x", "z_in", "cond", "seq"]);
    let outputs: Vec<_> = g.outputs.iter().map(|&i| g.value_name(i)).collect();
    assert_eq!(outputs, ["branch", "mm", "k", "resized", "custom", "drop"]);

    let x = value(g, "x").declared.clone().unwrap();
    assert_eq!(x.dtype, Some(DType::F32));
    assert_eq!(
        x.shape.unwrap(),
        vec![Dim::sym("batch"), Dim::int(3), Dim::int(8), Dim::int(8)]
    );
    assert_eq!(
        value(g, "z_in").declared.clone().unwrap().shape.unwrap(),
        vec![Dim::Unknown, Dim::int(8)]
    );
    assert_eq!(
        value(g, "cond").declared.clone().unwrap().shape.unwrap(),
        vec![]
    );
    // A sequence declares its elements' type (float, rank not given).
    let seq = value(g, "seq").declared.clone().unwrap();
    assert_eq!((seq.dtype, seq.shape), (Some(DType::F32), None));
    let c = value(g, "c").declared.clone().unwrap();
    assert_eq!(c.dtype, Some(DType::F16), "value_info is read");
    assert_eq!(
        value(g, "custom").declared.clone().unwrap().dtype,
        Some(DType::F8E4M3FN)
    );
    assert_eq!(value(g, "branch").declared.clone().unwrap().shape, None);
}

#[test]
fn kitchen_sink_initializers() {
    let m = fixture("kitchen_sink.onnx");
    let g = &m.graph;
    let w = value(g, "W").initializer.clone().unwrap();
    assert_eq!((w.dtype, w.dims), (DType::F32, vec![4, 3, 3, 3]));
    // 108 floats in `raw_data`: a weight, whose elements nothing reads,
    // so the reader leaves them out.
    assert_eq!(w.data, TensorData::Absent);
    assert_eq!(data(g, "B"), TensorData::Floats(vec![0.5, 1.0, 1.5, 2.0]));
    assert_eq!(data(g, "shape"), TensorData::Ints(vec![0, -1]));
    // bfloat16 in int32_data: bit patterns, per the ONNX spec.
    assert_eq!(data(g, "half"), TensorData::Ints(vec![0x3f80, 0x4000]));
    assert_eq!(
        value(g, "half").initializer.as_ref().unwrap().dtype,
        DType::BF16
    );
    let i4 = value(g, "i4").initializer.clone().unwrap();
    assert_eq!((i4.dtype, i4.dims), (DType::I4, vec![3]));
    let ext = value(g, "ext").initializer.clone().unwrap();
    assert_eq!(ext.dims, vec![8, 16]);
    assert_eq!(
        ext.data,
        TensorData::External {
            location: "weights.bin".into(),
            offset: 0,
            length: Some(512),
        }
    );
    let s = value(g, "S").initializer.clone().unwrap();
    assert_eq!(
        (s.dtype, s.dims, s.data),
        (DType::F32, vec![4, 16], TensorData::Absent)
    );
    assert!(!g
        .inputs
        .contains(&g.values.iter().position(|v| v.name == "W").unwrap()));
}

#[test]
fn kitchen_sink_nodes_and_attributes() {
    let m = fixture("kitchen_sink.onnx");
    let g = &m.graph;
    let node = |name: &str| g.nodes.iter().find(|n| n.name == name).unwrap();
    let conv = node("conv");
    assert_eq!(conv.op_type, "Conv");
    assert_eq!(
        conv.attr("kernel_shape"),
        Some(&AttrValue::Ints(vec![3, 3]))
    );
    assert_eq!(
        conv.attr("auto_pad"),
        Some(&AttrValue::String(Bytes::from_static(b"NOTSET")))
    );
    let alpha = node("leaky").attr("alpha");
    assert_eq!(alpha, Some(&AttrValue::Float(0.1)));
    let Some(AttrValue::Tensor(k)) = node("const").attr("value") else {
        panic!("Constant value")
    };
    assert_eq!((k.dtype, &k.dims), (DType::F32, &vec![1]));
    assert!(matches!(&k.data, TensorData::Raw(b) if b[..] == 1.5f32.to_le_bytes()));
    let resize = node("resize");
    assert_eq!(resize.inputs[1..3], [None, None]);
    assert!(resize.inputs[3].is_some());
    assert_eq!(node("drop").outputs[1], None);
    let custom = node("custom");
    assert_eq!(custom.domain, "com.example");
    let names = vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")];
    assert_eq!(custom.attr("names"), Some(&AttrValue::Strings(names)));
    assert_eq!(
        custom.attr("weights"),
        Some(&AttrValue::Floats(vec![0.25, 0.5]))
    );
    assert_eq!(
        custom.attr("type"),
        Some(&AttrValue::Other),
        "TYPE_PROTO attribute"
    );

    let Some(AttrValue::Graph(then_g)) = node("if").attr("then_branch") else {
        panic!("then")
    };
    assert_eq!(then_g.name, "then");
    assert_eq!(then_g.nodes[0].name, "then_add");
    let flat = then_g.nodes[0].inputs[0].unwrap();
    assert_eq!(then_g.value_name(flat), "flat");
    assert_eq!(then_g.opsets, m.opsets);
}

#[test]
fn ir3_initializer_inputs_are_weights() {
    let m = fixture("ir3.onnx");
    assert_eq!((m.ir_version, m.opsets.version("")), (3, Some(7)));
    let g = &m.graph;
    let inputs: Vec<_> = g.inputs.iter().map(|&i| g.value_name(i)).collect();
    assert_eq!(inputs, ["x"]);
    let w = value(g, "W");
    assert!(w.initializer.is_some() && w.declared.is_some());
}

#[test]
fn fixture_prefixes_never_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kitchen_sink.onnx");
    let bytes = Bytes::from(std::fs::read(path).unwrap());
    for n in 0..bytes.len() {
        let _ = read_bytes(bytes.slice(..n));
    }
}
