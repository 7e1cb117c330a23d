//! The whole analysis on arbitrary bytes: read, infer shapes, count, add
//! memory, the roofline, training and the presets, and render every format. Any input may be rejected; none may crash,
//! hang or exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nncost_core::convention::{apply, Convention};
use nncost_core::hardware::{builtin_profiles, Precision};
use nncost_core::memory::{analyze_memory, MemoryOptions};
use nncost_core::roofline::roofline;
use nncost_core::{analyze, AnalysisOptions};
use nncost_render::{ModelInfo, TableOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(model) = nncost_onnx::read_bytes(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    let options = AnalysisOptions {
        dims: vec![("batch".into(), 2)],
        ..AnalysisOptions::default()
    };
    for opts in [AnalysisOptions::default(), options] {
        if let Ok(report) = analyze(&model.graph, &opts) {
            let info = ModelInfo::default();
            let _ = nncost_render::render_json(&report, &info);
            let _ = nncost_render::render_table(&report, &info, TableOptions::default());
            // Every other format, and the groupings, on the same report.
            let fitted = TableOptions {
                width: Some(80),
                tree: true,
                ..TableOptions::default()
            };
            let _ = nncost_render::render_table(&report, &info, fitted);
            let _ = nncost_render::render_csv(&report, fitted);
            let _ = nncost_render::render_markdown(&report, &info, fitted);
            let _ = nncost_render::render_html(&report, &info);
            // Memory, the order search, the roofline, training and every
            // preset, rendered too.
            let mut report = report;
            if let Ok(m) = analyze_memory(&report, &MemoryOptions::default()) {
                let h100 = &builtin_profiles()[2];
                if let Ok(r) = roofline(&report, &m, h100, Precision::Fp32) {
                    report.roofline = Some(r);
                }
                report.memory = Some(m);
            }
            if let Ok(t) = nncost_core::training::training(&report, &[]) {
                report.training = Some(t);
            }
            for c in Convention::ALL {
                if let Ok(c) = apply(&report, c) {
                    report.convention = Some(c);
                }
            }
            let _ = nncost_render::render_json(&report, &info);
            let _ = nncost_render::render_table(&report, &info, fitted);
            let _ = nncost_render::render_csv(&report, fitted);
            let _ = nncost_render::render_html(&report, &info);
        }
    }
});
