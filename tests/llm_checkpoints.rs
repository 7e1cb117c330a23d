//! `nncost` on safetensors and GGUF files: headers only, checked against
//! the architecture when it is known, counted as parameters when not.
//! Figures from `tests/fixtures/llm/*/reference.json` and
//! `tests/fixtures/llm/gguf/reference.json` (written by transformers and
//! the gguf package, `scripts/make_llm_fixtures.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn nncost(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nncost"))
        .args(args)
        .output()
        .expect("run nncost");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (code, out, err) = nncost(&all);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn fixture(rel: &str) -> String {
    format!("tests/fixtures/llm/{rel}")
}

fn gguf_reference(file: &str) -> Value {
    let text = std::fs::read_to_string(fixture("gguf/reference.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["files"][file].clone()
}

/// A config-built report's totals at batch 2, seq 7.
fn macs_at(v: &Value) -> String {
    v["totals"]["macs"]["expression"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn safetensors_beside_its_config() {
    // Llama, float32: 78,144 parameters in 312,576 bytes; every tensor where
    // the config puts it.
    let v = json(&[&fixture("llama/model.safetensors")]);
    assert_eq!(v["totals"]["params"], 78_144);
    assert_eq!(
        v["model"]["facts"]["checkpoint_check"],
        "all 21 tensors match"
    );
    assert_eq!(v["model"]["facts"]["checkpoint_bytes"], 312_576);
    assert_eq!(v["model"]["format"], "safetensors");
    let config = json(&[&fixture("llama/config.json")]);
    assert_eq!(macs_at(&v), macs_at(&config));

    // The same weights in two shards through the index.
    let v = json(&[&fixture("llama_sharded/model.safetensors.index.json")]);
    assert_eq!(v["totals"]["params"], 78_144);
    assert_eq!(v["model"]["facts"]["checkpoint_tensors"], "21 in 2 files");
    assert_eq!(
        v["model"]["facts"]["checkpoint_check"],
        "all 21 tensors match"
    );

    // Mixtral as the hub stores it, expert by expert (w1, w2, w3 of each of
    // 4 experts), in float16: fused into the model's experts tensors.
    let v = json(&[&fixture("mixtral/model.safetensors")]);
    assert_eq!(v["totals"]["params"], 189_248);
    assert_eq!(v["model"]["facts"]["params_active"], 115_520);
    assert_eq!(
        v["model"]["facts"]["checkpoint_check"],
        "all 21 tensors match"
    );
    // The weights are counted at the file's float16: 2 bytes each.
    assert_eq!(v["model"]["facts"]["checkpoint_bytes"], 2 * 189_248);
}

#[test]
fn gguf_from_its_own_metadata() {
    for (file, model_type, active) in [
        ("tiny_llama.gguf", "llama", None),
        ("tiny_moe.gguf", "mixtral", Some(115_520)),
    ] {
        let r = gguf_reference(file);
        let v = json(&[&fixture(&format!("gguf/{file}"))]);
        assert_eq!(v["model"]["facts"]["model_type"], model_type);
        assert_eq!(v["totals"]["params"], r["total_params"], "{file}");
        // The graph's weights are stored as the file stores them: Q4_0,
        // Q8_0, F16 and F32 bytes exactly.
        assert_eq!(
            v["model"]["facts"]["checkpoint_bytes"], r["total_bytes"],
            "{file}"
        );
        assert_eq!(v["totals"]["param_bytes"], r["total_bytes"], "{file}");
        assert_eq!(
            v["model"]["facts"]["checkpoint_check"], "all 21 tensors match",
            "{file}"
        );
        if let Some(a) = active {
            assert_eq!(v["model"]["facts"]["params_active"], a);
        }
    }
    // The GGUF's Llama costs what its config costs.
    let gguf = json(&[&fixture("gguf/tiny_llama.gguf"), "--phase", "decode"]);
    let config = json(&[&fixture("llama/config.json"), "--phase", "decode"]);
    assert_eq!(macs_at(&gguf), macs_at(&config));
}

#[test]
fn without_an_architecture_the_tensors_alone() {
    let dir = tempdir();
    let file = dir.join("model.safetensors");
    std::fs::copy(fixture("gpt2/model.safetensors"), &file).unwrap();
    let v = json(&[file.to_str().unwrap(), "--depth", "2"]);
    // GPT-2's 112,384 parameters in bfloat16, lm_head tied (not stored).
    assert_eq!(v["totals"]["params"], 112_384);
    assert_eq!(v["totals"]["param_bytes"], 2 * 112_384);
    assert_eq!(
        v["model"]["facts"]["architecture"],
        "no config.json beside the file: parameters only"
    );
    assert_eq!(v["totals"]["macs"], 0);
}

#[test]
fn a_config_that_does_not_fit_its_checkpoint_is_named() {
    let dir = tempdir();
    std::fs::copy(
        fixture("llama/model.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("llama/config.json")).unwrap())
            .unwrap();
    config["intermediate_size"] = 128.into();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let path = dir.join("model.safetensors");
    let v = json(&[path.to_str().unwrap()]);
    let check = v["model"]["facts"]["checkpoint_check"].as_str().unwrap();
    // 3 MLP weights in each of 2 layers.
    assert!(
        check.starts_with(
            "15 of 21 tensors match; 6 differ, e.g. model.layers.0.mlp.gate_proj.weight is 96x64 \
             in the file, 128x64 by the config;"
        ),
        "{check}"
    );
}

#[test]
fn malformed_headers_are_one_line_errors() {
    let dir = tempdir();
    let cut = dir.join("cut.safetensors");
    let bytes = std::fs::read(fixture("llama/model.safetensors")).unwrap();
    std::fs::write(&cut, &bytes[..100]).unwrap();
    let huge = dir.join("huge.safetensors");
    std::fs::write(&huge, u64::MAX.to_le_bytes()).unwrap();
    let gguf = dir.join("bad.gguf");
    let mut g = std::fs::read(fixture("gguf/tiny_llama.gguf")).unwrap();
    g[4] = 9; // version 9
    std::fs::write(&gguf, &g).unwrap();
    for (path, needle) in [
        (&cut, "runs past the end"),
        (&huge, "exceeds safetensors' limit"),
        (&gguf, "version 9"),
    ] {
        let p = path.to_str().unwrap();
        let (code, _, err) = nncost(&[p]);
        assert_eq!(code, 2, "{p}: {err}");
        assert!(err.contains(needle), "{p}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "nncost-ck-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    let _ = Path::new(&d);
    d
}

/// A checkpoint or config on standard input is told apart by its first
/// bytes: the tiny GGUF Llama's 78,144 parameters in its 73,216 bytes.
#[test]
fn standard_input_of_any_format() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nncost"))
        .args(["-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(fixture("gguf/tiny_llama.gguf")).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["params"], 78_144);
    assert_eq!(v["totals"]["param_bytes"], 73_216);
    assert_eq!(v["model"]["format"], "gguf");
}
