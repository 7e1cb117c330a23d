//! Reading from the file system: memory-mapped files and the errors for
//! paths that are not model files.

mod common;

use std::path::PathBuf;

use bytes::Bytes;
use common::*;
use nncost_core::graph::{AttrValue, TensorData};
use nncost_onnx::proto::*;
use nncost_onnx::{read_bytes, read_file, OnnxError};

/// A fresh directory per test, so parallel tests never collide.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nncost-onnx-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn reads_a_mapped_file_like_the_same_bytes() {
    let dir = scratch("mapped");
    let path = dir.join("conv.onnx");
    let bytes = encode(&conv_model());
    std::fs::write(&path, &bytes).unwrap();
    let from_file = read_file(&path).unwrap();
    assert_eq!(from_file, read_bytes(bytes).unwrap());
    let w = from_file
        .graph
        .values
        .iter()
        .find(|v| v.name == "W")
        .unwrap();
    // A float weight of 108 elements: nothing reads them, so the reader
    // leaves them out, from a file as from memory.
    assert_eq!(w.initializer.as_ref().unwrap().data, TensorData::Absent);
    // The model outlives the file: the map stays valid through the Bytes.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(from_file.graph.nodes.len(), 1);
}

/// A file big enough for the reader's window to be refilled many times,
/// with names straddling window ends, payloads on both sides of the size at
/// which they stop being copied and start being slices of the map, and a
/// string attribute: the file reads exactly like the same bytes in memory.
#[test]
fn large_mapped_file_reads_like_the_same_bytes() {
    let dir = scratch("large");
    let path = dir.join("chain.onnx");
    let mut g = GraphProto {
        name: "chain".into(),
        input: vec![vi("x0", FLOAT, Some(&[D::V(1), D::V(8)]))],
        ..Default::default()
    };
    for i in 0..1500 {
        // Long, varied names so that they often cross window boundaries.
        let (x, w, y) = (
            format!("x{i}"),
            format!("weights/of/layer/{i:06}/{}", "w".repeat(i % 97)),
            format!("x{}", i + 1),
        );
        let mut n = node("Add", &format!("add_{i}"), &[&x, &w], &[&y]);
        n.attribute = vec![AttributeProto {
            name: "note".into(),
            r#type: attribute_type::STRING,
            s: Some(text(&format!("layer {i}"))),
            ..Default::default()
        }];
        g.node.push(n);
        // Mostly small, with a few either side of 64 KiB (6.6 MB in all).
        let len = match i % 50 {
            0 => 64 * 1024,
            1 => 64 * 1024 + 1,
            2 => 90_000,
            _ => i % 7 * 3,
        };
        let raw: Vec<u8> = (0..len).map(|k| (k + i) as u8).collect();
        // As an initializer its elements are left out (more than core
        // reads) but must be skipped right; as an attribute tensor they
        // are kept, copied or a slice of the map by their size.
        g.initializer.push(raw_tensor(&w, 2, &[len as i64], &raw));
        let tensor = raw_tensor("", 2, &[len as i64], &raw);
        g.node.last_mut().unwrap().attribute.push(AttributeProto {
            name: "blob".into(),
            r#type: attribute_type::TENSOR,
            t: Some(Box::new(tensor)),
            ..Default::default()
        });
    }
    g.output = vec![vi("x1500", FLOAT, None)];
    let bytes = encode(&model(g));
    std::fs::write(&path, &bytes).unwrap();
    let from_file = read_file(&path).unwrap();
    assert_eq!(from_file, read_bytes(bytes).unwrap());
    let blob = |i: usize| match from_file.graph.nodes[i].attr("blob") {
        Some(AttrValue::Tensor(t)) => match &t.data {
            TensorData::Raw(b) => b.clone(),
            other => panic!("node {i}'s blob reads as {other:?}"),
        },
        other => panic!("node {i}'s blob reads as {other:?}"),
    };
    // 64 KiB copied, one byte more a slice of the map: both read whole.
    assert_eq!(blob(1000).len(), 64 * 1024);
    assert_eq!(
        blob(1001)[..3],
        [1001u32 as u8, 1002u32 as u8, 1003u32 as u8]
    );
    assert_eq!(blob(1002).len(), 90_000);
    let last = &from_file.graph.nodes[1499];
    assert_eq!(
        last.attr("note"),
        Some(&AttrValue::String("layer 1499".into()))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Damaged files (cut short, or with a byte changed) read exactly like the
/// same bytes in memory: the same model or the same error, never a panic.
/// The file reader has its own bookkeeping (windows, skips, map slices),
/// which this exercises on malformed input.
#[test]
fn damaged_files_read_like_the_same_bytes() {
    let dir = scratch("damaged");
    let path = dir.join("m.onnx");
    let mut m = conv_model();
    // A payload large enough to be a slice of the map.
    let big: Vec<u8> = (0..70_000).map(|i| i as u8).collect();
    let g = m.graph.as_mut().unwrap();
    g.initializer
        .push(raw_tensor("big", 2, &[big.len() as i64], &big));
    let buf = encode(&m).to_vec();
    // Compared as text: a flipped byte may make a float NaN, and NaN != NaN.
    let read = |r: Result<_, OnnxError>| match r {
        Ok(m) => format!("{m:?}"),
        Err(e) => e.to_string(),
    };
    let check = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        let from_file = read(read_file(&path));
        let in_memory = read(read_bytes(Bytes::copy_from_slice(bytes)));
        if bytes.is_empty() {
            // An empty file and an empty buffer are named differently.
            assert!(from_file.contains("empty") && in_memory.contains("empty"));
        } else {
            let same = from_file == in_memory;
            assert!(
                same,
                "{} bytes: {:.200} vs {:.200}",
                bytes.len(),
                from_file,
                in_memory
            );
        }
    };
    let n = buf.len();
    // Every cut near either end, and a sample in between.
    for cut in (0..150)
        .chain((150..n - 150).step_by(4999))
        .chain(n - 150..=n)
    {
        check(&buf[..cut]);
    }
    for i in (0..n).filter(|&i| i < 200 || i >= n - 200 || i % 9973 == 0) {
        for v in [0x00, 0xff] {
            let mut b = buf.clone();
            b[i] = v;
            check(&b);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_file() {
    let dir = scratch("empty");
    let path = dir.join("empty.onnx");
    std::fs::write(&path, b"").unwrap();
    let e = read_file(&path).unwrap_err();
    assert!(matches!(e, OnnxError::EmptyFile(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("'{}' is empty (0 bytes): not an ONNX model", path.display())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn directory() {
    let dir = scratch("dir");
    let e = read_file(&dir).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("'{}' is a directory, not an ONNX model file", dir.display())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file() {
    let dir = scratch("missing");
    let path = dir.join("nope.onnx");
    let e = read_file(&path).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("cannot read '{}': ", path.display())),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn garbage_file() {
    let dir = scratch("garbage");
    let path = dir.join("model.onnx");
    std::fs::write(&path, [0xffu8; 64]).unwrap();
    let e = read_file(&path).unwrap_err();
    assert!(matches!(e, OnnxError::Decode(_)), "{e:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
