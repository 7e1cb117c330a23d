//! `nncost` on Hugging Face configs and model folders, as a user runs it.

use std::process::Command;

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

/// Mixtral-8x7B's published config: 46,702,792,704 parameters (PyTorch's
/// `num_parameters()` on the meta device), of which a token uses
/// 12,879,925,248 (2 of 8 experts); one decoding step after `ctx` tokens.
#[test]
fn mixtral_decode_from_its_config() {
    let (code, out, err) = nncost(&[
        "tests/fixtures/llm/real/mixtral_8x7b.config.json",
        "--phase",
        "decode",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["totals"]["params"], 46_702_792_704u64);
    let facts = &v["model"]["facts"];
    assert_eq!(facts["params_active"], 12_879_925_248u64);
    // 32 layers × 8 KV heads × 128 × (K and V); Mixtral's window is off.
    assert_eq!(facts["kv_cache_elements_per_token"], 32 * 8 * 128 * 2);
    assert_eq!(facts["kv_cache_elements"]["expression"], "65536*ctx");
    assert_eq!(v["model"]["format"], "config");
}

/// A model folder is read through its config.json; the table states the
/// embedding split (GPT-2: 50,257·768 + 1,024·768 = 39,383,808 of
/// 124,439,808).
#[test]
fn folder_and_table() {
    let dir = tempdir();
    std::fs::copy(
        "tests/fixtures/llm/real/gpt2.config.json",
        dir.join("config.json"),
    )
    .unwrap();
    let (code, out, err) = nncost(&[dir.to_str().unwrap(), "--summary", "--exact"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("params in embeddings: 39.38 M (39,383,808)"),
        "{out}"
    );
    assert!(
        out.contains("params   124,439,808") || out.contains("params   124439808"),
        "{out}"
    );
}

#[test]
fn unknown_model_types_and_bad_configs_are_one_line_errors() {
    let dir = tempdir();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cases = [
        (
            write("a.json", r#"{"model_type": "mamba"}"#),
            "is not supported; supported: llama, mistral",
        ),
        (
            write("b.json", r#"{"hidden_size": 8}"#),
            "no \"model_type\" field",
        ),
        (write("c.json", "{"), "not JSON"),
        (
            write(
                "d.json",
                r#"{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 5, "vocab_size": 10}"#,
            ),
            "not divisible by 5 heads",
        ),
        (
            write("e.json", r#"{"model_type": "llama", "hidden_size": -1}"#),
            "\"hidden_size\" must be an integer from 1",
        ),
        // Every size at its largest (2^31): totals past 64 bits are an
        // error naming the node, never a wrapped number or a panic.
        (
            write(
                "f.json",
                r#"{"model_type": "llama", "hidden_size": 2147483648, "num_hidden_layers": 2,
                    "num_attention_heads": 1, "vocab_size": 2147483648,
                    "intermediate_size": 2147483648}"#,
            ),
            "too large to represent",
        ),
    ];
    for (path, needle) in cases {
        let (code, out, err) = nncost(&[&path]);
        assert_eq!(code, 2, "{path}: {out}{err}");
        assert!(err.contains(needle), "{path}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&path), "{err}");
    }
    let (code, _, err) = nncost(&["tests/fixtures/llm/bert/config.json", "--phase", "decode"]);
    assert_eq!(code, 2);
    assert!(err.contains("is an encoder"), "{err}");
}

/// Llama-3.1-8B's weights at int4 in groups of 128 along each row, one
/// 16-bit scale per group, embeddings and norms at 16 bits, by hand:
/// its 7,504,658,432 matrix weights (the non-embedding parameters less the
/// 65 norms of 4,096) take 3,752,329,216 bytes and 7,504,658,432/128·2 =
/// 117,260,288 of scales; 525,336,576 embedding and 266,240 norm weights
/// take 2 bytes each: 4,920,795,136 bytes.
#[test]
fn quantized_weight_bytes() {
    let (code, out, err) = nncost(&[
        "tests/fixtures/llm/real/llama_3_1_8b.config.json",
        "--dtype",
        "int4",
        "--group-size",
        "128",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["model"]["facts"]["weights_quantized_bytes"],
        4_920_795_136u64
    );
    let (code, _, err) = nncost(&[
        "examples/resnet18.onnx",
        "--dtype",
        "int4",
        "--group-size",
        "128",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("use --dtype alone"), "{err}");
    let (code, _, err) = nncost(&[
        "tests/fixtures/llm/real/llama_3_1_8b.config.json",
        "--dtype",
        "bf16",
        "--group-size",
        "128",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--group-size applies to --dtype int4, int8 or fp8, not bf16"),
        "{err}"
    );
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "nncost-llm-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
