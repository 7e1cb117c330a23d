//! The file path of the reader: the bytes are written to a model file in a
//! scratch folder and read back with `read_file` (buffered structure reads,
//! the memory map, small external tensors resolved inside the folder), then
//! analysed. Any input may be rejected; none may crash.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nncost_core::{analyze, AnalysisOptions};

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("nncost-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        // A small external data file the inputs can point at.
        std::fs::write(dir.join("data.bin"), (0u8..=255).collect::<Vec<u8>>()).expect("data file");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch().join("model.onnx");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(model) = nncost_onnx::read_file(&path) {
        let _ = analyze(&model.graph, &AnalysisOptions::default());
    }
});
