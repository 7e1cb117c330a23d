//! Speed of the language-model front end, in process: a `config.json`
//! built into its graph (`nncost_llm::from_config_str`) and analysed
//! (`nncost_core::analyze`), for the real configurations in
//! `tests/fixtures/llm/real/`, prefill and decode; and a sharded
//! safetensors checkpoint of 100 shards read through its index (headers
//! only), generated in a temporary folder.
//!
//! ```text
//! cargo bench --bench llm
//! ```
//!
//! Prints the median of at least 20 runs and 0.5 s per case.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use nncost_core::{analyze, AnalysisOptions};
use nncost_llm::{from_config_str, Phase};

/// The allocator the `nncost` binary runs with, so that these figures are
/// the command line's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median_of(mut f: impl FnMut()) -> Duration {
    for _ in 0..3 {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 20 || start.elapsed() < Duration::from_millis(500) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/fixtures/llm/real");
    let mut configs: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/llm/real")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".config.json"))
        .collect();
    configs.sort();
    println!("| config | phase | nodes | build | analyse | total |");
    println!("|---|---|---:|---:|---:|---:|");
    for path in &configs {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".config.json", "");
        for phase in [Phase::Prefill, Phase::Decode] {
            let Ok(model) = from_config_str(&text, phase) else {
                continue; // encoders have no decoding step
            };
            let build = median_of(|| {
                black_box(from_config_str(&text, phase).unwrap());
            });
            let options = AnalysisOptions::default();
            let analyse = median_of(|| {
                black_box(analyze(&model.graph, &options).unwrap());
            });
            let total = median_of(|| {
                let m = from_config_str(&text, phase).unwrap();
                black_box(analyze(&m.graph, &options).unwrap());
            });
            println!(
                "| {name} | {phase:?} | {} | {} | {} | {} |",
                model.graph.nodes.len(),
                ms(build),
                ms(analyse),
                ms(total)
            );
        }
    }
    sharded_index();
}

/// 100 shards of 64 tensors each and their index, written as headers only
/// (a safetensors header may describe data the file does not hold: the
/// reader checks it, so each shard is padded to its stated size with a
/// sparse hole).
fn sharded_index() {
    let dir = std::env::temp_dir().join(format!("nncost-bench-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut weight_map = serde_json::Map::new();
    for s in 0..100 {
        let file = format!("model-{:05}-of-00100.safetensors", s + 1);
        let mut header = serde_json::Map::new();
        let mut offset = 0u64;
        for t in 0..64 {
            let name = format!("model.layers.{s}.t{t}.weight");
            let bytes = 4096 * 4096 * 2;
            header.insert(
                name.clone(),
                serde_json::json!({"dtype": "BF16", "shape": [4096, 4096], "data_offsets": [offset, offset + bytes]}),
            );
            offset += bytes;
            weight_map.insert(name, file.clone().into());
        }
        let text = serde_json::Value::Object(header).to_string();
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend(text.as_bytes());
        let f = std::fs::File::create(dir.join(&file)).unwrap();
        use std::io::Write;
        (&f).write_all(&out).unwrap();
        f.set_len(out.len() as u64 + offset).unwrap();
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": weight_map});
    let index_path = dir.join("model.safetensors.index.json");
    std::fs::write(&index_path, index.to_string()).unwrap();
    let t = median_of(|| {
        black_box(nncost_llm::safetensors::read_sharded(&index_path).unwrap());
    });
    println!(
        "\n100-shard index (6,400 tensors), headers read and checked: {}",
        ms(t)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
