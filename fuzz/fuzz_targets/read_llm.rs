//! Language-model front ends from arbitrary bytes: the input as a
//! config.json (both passes), and as a GGUF file whose metadata is read as
//! a config; each model built is analysed. Any input may be refused; none
//! may crash, hang or exhaust memory, and every error is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nncost_core::{analyze, AnalysisOptions};
use nncost_llm::{from_config_str, from_config_value, Phase};

fn count(model: &nncost_llm::Model) {
    // The graph has at most MAX_LAYERS blocks; a fuzzed config may still
    // state sizes whose products overflow: an error, never a panic.
    if let Err(e) = analyze(&model.graph, &AnalysisOptions::default()) {
        assert!(!e.to_string().contains('\n'), "{e}");
    }
    let _ = (
        model.params(),
        model.embedding_params(),
        model.active_params(),
        model.kv_cache(),
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for phase in [Phase::Prefill, Phase::Decode] {
            match from_config_str(text, phase) {
                Ok(m) => count(&m),
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
    }
    if let Ok(file) = nncost_llm::gguf::parse_bytes(data, data.len() as u64) {
        match nncost_llm::gguf_arch::config(&file) {
            Ok(config) => match from_config_value(&config, Phase::Prefill, None) {
                Ok(m) => count(&m),
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            },
            Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
        }
    }
});
