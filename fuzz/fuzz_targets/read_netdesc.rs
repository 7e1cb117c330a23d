//! Network descriptions (`.nn`) from arbitrary text: parsed, built,
//! analysed and rendered. Nesting, repetition and definitions are where a
//! small text can ask for much work; any input may be rejected, none may
//! crash, hang or exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nncost_core::{analyze, AnalysisOptions};
use nncost_render::{ModelInfo, TableOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(graph) = nncost_netdesc::read_str(text, "fuzz.nn") else {
        return;
    };
    let options = AnalysisOptions {
        dims: vec![("batch".into(), 2)],
        ..AnalysisOptions::default()
    };
    if let Ok(report) = analyze(&graph, &options) {
        let info = ModelInfo::default();
        let _ = nncost_render::render_json(&report, &info);
        let _ = nncost_render::render_table(&report, &info, TableOptions::default());
    }
});
