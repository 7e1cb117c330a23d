//! Reading from the file system: memory-mapped files and the errors for
//! paths that are not model files.

mod common;

use std::path::PathBuf;

use common::*;
use nncost_core::graph::TensorData;
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
    assert!(matches!(&w.initializer.as_ref().unwrap().data, TensorData::Raw(b) if b.len() == 432));
    // The model outlives the file: the map stays valid through the Bytes.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(from_file.graph.nodes.len(), 1);
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
