//! Every input that ever crashed a fuzz target (`scripts/fuzz.sh`) runs here
//! through the same path as the `analyze` target: read, analyse with and
//! without a binding, render both formats. Each must finish without a
//! panic; reading or analysis may reject it.

use std::path::Path;

use nncost_core::{analyze, AnalysisOptions};
use nncost_render::{ModelInfo, TableOptions};

#[test]
fn fuzz_crashes_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut ran = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/fuzz") {
        let path = entry.expect("directory entry").path();
        let bytes = std::fs::read(&path).expect("readable input");
        ran += 1;
        let Ok(model) = nncost_onnx::read_bytes(bytes::Bytes::from(bytes)) else {
            continue;
        };
        let bound = AnalysisOptions {
            dims: vec![("batch".into(), 2)],
            ..AnalysisOptions::default()
        };
        for options in [AnalysisOptions::default(), bound] {
            if let Ok(report) = analyze(&model.graph, &options) {
                let info = ModelInfo::default();
                assert!(!nncost_render::render_json(&report, &info).is_empty());
                let table = nncost_render::render_table(&report, &info, TableOptions::default());
                assert!(table.contains("MACs"), "{}", path.display());
            }
        }
    }
    assert!(ran > 0, "no regression inputs found in {}", dir.display());
}
