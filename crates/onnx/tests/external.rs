//! Small external tensors: read when shape inference needs them, from inside
//! the model's folder only. Everything else about external data is refused
//! with a clear error (CVE-2022-25882, CVE-2024-27318 class), or — for an
//! absent file — left unknown, as for a stripped model.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use nncost_core::graph::TensorData;
use nncost_core::{analyze, AnalysisOptions};
use nncost_onnx::proto::{data_location, GraphProto, StringStringEntryProto, TensorProto};
use nncost_onnx::{read_file, OnnxError};

/// x[2,12] → Reshape(shape) → y, with the int64 shape stored externally.
fn reshape_model(location: &str, offset: Option<u64>, length: Option<u64>) -> Vec<u8> {
    let mut entries = vec![StringStringEntryProto {
        key: "location".into(),
        value: text(location),
    }];
    if let Some(o) = offset {
        entries.push(StringStringEntryProto {
            key: "offset".into(),
            value: text(&o.to_string()),
        });
    }
    if let Some(l) = length {
        entries.push(StringStringEntryProto {
            key: "length".into(),
            value: text(&l.to_string()),
        });
    }
    let shape = TensorProto {
        name: "shape".into(),
        data_type: INT64,
        dims: vec![2],
        data_location: data_location::EXTERNAL,
        external_data: entries,
        ..Default::default()
    };
    encode(&model(GraphProto {
        name: "g".into(),
        node: vec![node("Reshape", "reshape", &["x", "shape"], &["y"])],
        initializer: vec![shape],
        input: vec![vi("x", FLOAT, Some(&[D::V(2), D::V(12)]))],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    }))
    .to_vec()
}

fn shape_bytes() -> Vec<u8> {
    [4i64, 6].iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nncost-external-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("model")).unwrap();
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn refusal(dir: &Path, location: &str) -> String {
    let path = dir.join("model/m.onnx");
    write(&path, &reshape_model(location, None, None));
    match read_file(&path) {
        Err(e @ OnnxError::ExternalData { .. }) => e.to_string(),
        other => panic!("{location}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_small_tensor_inside_the_folder_is_read() {
    let dir = scratch("inside");
    write(
        &dir.join("model/shape.bin"),
        &[[0u8; 16].as_slice(), &shape_bytes()].concat(),
    );
    let path = dir.join("model/m.onnx");
    write(&path, &reshape_model("shape.bin", Some(16), Some(16)));
    let m = read_file(&path).unwrap();
    let report = analyze(&m.graph, &AnalysisOptions::default()).unwrap();
    let y = report.outputs[0].shape.as_ref().expect("shape inferred");
    assert_eq!(nncost_core::shape::format_shape(y), "4x6");
}

#[test]
fn an_absent_file_leaves_the_tensor_unknown() {
    let dir = scratch("absent");
    let path = dir.join("model/m.onnx");
    write(&path, &reshape_model("shape.bin", None, None));
    let m = read_file(&path).unwrap();
    let shape = m.graph.values.iter().find(|v| v.name == "shape").unwrap();
    assert!(matches!(
        shape.initializer.as_ref().unwrap().data,
        TensorData::External { .. }
    ));
}

#[test]
fn locations_outside_the_folder_are_refused() {
    let dir = scratch("outside");
    write(&dir.join("secret.bin"), &shape_bytes());
    let e = refusal(&dir, "../secret.bin");
    assert!(
        e.contains("initializer 'shape'") && e.contains("'..'"),
        "{e}"
    );
    let absolute = dir.join("secret.bin").display().to_string();
    let e = refusal(&dir, &absolute);
    assert!(e.contains("absolute"), "{e}");
    let e = refusal(&dir, "sub\\..\\..\\secret.bin");
    assert!(e.contains("refused"), "{e}");
}

#[cfg(unix)]
#[test]
fn links_out_of_the_folder_are_refused() {
    let dir = scratch("links");
    write(&dir.join("secret.bin"), &shape_bytes());
    std::os::unix::fs::symlink(dir.join("secret.bin"), dir.join("model/link.bin")).unwrap();
    let e = refusal(&dir, "link.bin");
    assert!(e.contains("symbolic link"), "{e}");
    // A symlinked directory on the way is refused too.
    std::os::unix::fs::symlink(&dir, dir.join("model/up")).unwrap();
    let e = refusal(&dir, "up/secret.bin");
    assert!(e.contains("symbolic link"), "{e}");
    std::fs::hard_link(dir.join("secret.bin"), dir.join("model/hard.bin")).unwrap();
    let e = refusal(&dir, "hard.bin");
    assert!(e.contains("hard links"), "{e}");
}

/// A FIFO named as external data is refused at once: opened without
/// blocking, it is no regular file (a blocking open would wait forever for a
/// writer).
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting() {
    let dir = scratch("fifo");
    let fifo = dir.join("model/pipe.bin");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let started = std::time::Instant::now();
    let e = refusal(&dir, "pipe.bin");
    assert!(e.contains("not a regular file"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn ranges_are_checked_before_reading() {
    let dir = scratch("ranges");
    write(&dir.join("model/shape.bin"), &shape_bytes());
    let path = dir.join("model/m.onnx");
    write(&path, &reshape_model("shape.bin", Some(8), None));
    let e = read_file(&path).unwrap_err().to_string();
    assert!(e.contains("past the end of the 16-byte file"), "{e}");
    write(&path, &reshape_model("shape.bin", Some(u64::MAX), None));
    assert!(read_file(&path).is_err());
    write(&path, &reshape_model("shape.bin", None, Some(8)));
    let e = read_file(&path).unwrap_err().to_string();
    assert!(e.contains("does not match the 16 bytes"), "{e}");
}

/// The race probe: while one thread keeps replacing the external file by a
/// link to a file outside the folder and back, 3,000 reads never return the
/// outside file's bytes (each read either gets the file inside, or refuses
/// the link, or finds no file for a moment).
#[cfg(unix)]
#[test]
fn swapping_the_file_for_a_link_never_reads_outside() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = scratch("race");
    let secret: Vec<u8> = [7i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
    write(&dir.join("secret.bin"), &secret);
    write(&dir.join("model/shape.bin"), &shape_bytes());
    let path = dir.join("model/m.onnx");
    write(&path, &reshape_model("shape.bin", None, None));
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, dir) = (Arc::clone(&stop), dir.clone());
        std::thread::spawn(move || {
            let target = dir.join("model/shape.bin");
            let (link, file) = (dir.join("model/link.tmp"), dir.join("model/file.tmp"));
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(dir.join("secret.bin"), &link).unwrap();
                std::fs::rename(&link, &target).unwrap();
                std::fs::write(&file, shape_bytes()).unwrap();
                std::fs::rename(&file, &target).unwrap();
            }
        })
    };
    let (mut read, mut refused) = (0, 0);
    for _ in 0..3000 {
        match read_file(&path) {
            Ok(m) => {
                let shape = m.graph.values.iter().find(|v| v.name == "shape").unwrap();
                if let TensorData::Raw(bytes) = &shape.initializer.as_ref().unwrap().data {
                    assert_eq!(bytes.as_ref(), shape_bytes().as_slice());
                    read += 1;
                }
            }
            Err(e) => {
                assert!(e.to_string().contains("symbolic link"), "{e}");
                refused += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    // Both sides of the race were met.
    assert!(read > 0 && refused > 0, "read {read}, refused {refused}");
}
