//! Snapshots of `nncost layer … --explain`: the working as a user reads it,
//! compared exactly with the files in `tests/snapshots/`. After a deliberate
//! change, rewrite them with `NNCOST_UPDATE_SNAPSHOTS=1 cargo test --test
//! explain` and review the diff.

use std::path::PathBuf;
use std::process::Command;

/// (snapshot name, arguments after `nncost layer`).
const CASES: &[(&str, &str)] = &[
    ("conv_article", "conv --input 3x224x224 --out-channels 64 --kernel 3 --padding 1"),
    ("conv_round_down", "conv --input 3x224x224 --out-channels 64 --kernel 3 --stride 2"),
    ("conv_round_up", "conv --input 3x224x224 --out-channels 64 --kernel 3 --stride 2 --round up --no-bias"),
    ("conv_depthwise_same", "conv --input 32x112x112 --out-channels 32 --kernel 3 --stride 2 --padding same --groups 32 --no-bias"),
    ("conv1d_dilated", "conv --input 4x100 --out-channels 8 --kernel 3 --dilation 2"),
    ("conv3d", "conv --input 2x8x8x8 --out-channels 4 --kernel 3 --padding 1x0x0"),
    ("conv_transpose", "conv-transpose --input 64x28x28 --out-channels 32 --kernel 4 --stride 2 --padding 1"),
    ("embedding", "embedding --input 128 --vocab 32000 --width 4096"),
    ("linear", "linear --input 512 --out-features 1000"),
    ("linear_tokens", "fc --input 197x768 --out-features 3072 --no-bias"),
    ("maxpool", "maxpool --input 64x112x112 --kernel 3 --stride 2 --padding 1"),
    ("maxpool_ceil_dropped", "maxpool --input 8x5x5 --kernel 2 --stride 2 --padding 1 --ceil-mode"),
    ("avgpool", "avgpool --input 16x10x10 --kernel 3 --stride 3 --round up"),
    ("global_avgpool", "global-avgpool --input 512x7x7"),
    ("adaptive_avgpool", "adaptive-avgpool --input 512x14x14 --output-size 7"),
    ("adaptive_avgpool_uneven", "adaptive-avgpool --input 4x7x7 --output-size 5"),
    ("batchnorm", "batchnorm --input 64x112x112"),
    ("layernorm", "layernorm --input 197x768"),
    ("rmsnorm", "rmsnorm --input 128x4096"),
    ("groupnorm", "groupnorm --input 256x56x56 --groups 32"),
    ("upsample_bilinear", "upsample --input 256x13x13 --scale 2 --mode linear"),
    ("lstm_stacked", "lstm --input 100x256 --hidden 512 --layers 2 --bidirectional"),
    ("gru", "gru --input 100x256 --hidden 512 --no-bias"),
    ("relu", "relu --input 64x112x112"),
    ("silu", "silu --input 64x56x56"),
    ("softmax", "softmax --input 1000"),
    ("prelu", "prelu --input 64x56x56 --per-channel"),
    ("swiglu", "swiglu --input 128x4096 --hidden 11008"),
    ("moe", "moe --input 10x64 --experts 8 --top 2 --hidden 128"),
    ("geglu_bias", "geglu --input 8 --hidden 12 --bias --approximate tanh"),
    ("attention", "attention --input 197x768 --heads 12"),
    ("attention_gqa", "attention --input 128x4096 --heads 32 --kv-heads 8 --no-bias"),
    ("attention_llama", "attention --input 128x4096 --heads 32 --kv-heads 8 --no-bias --causal --rotary"),
    ("attention_window", "attention --input 7x8 --heads 2 --no-bias --window 4"),
    ("attention_gemma", "attention --input 16x3072 --heads 16 --head-dim 256 --no-bias"),
    ("rotary_partial", "rotary --input 128x4096 --heads 32 --rotary-dim 32"),
];

fn snapshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

fn run(args: &str) -> String {
    let mut argv = vec!["layer"];
    argv.extend(args.split_whitespace());
    argv.push("--explain");
    let out = Command::new(env!("CARGO_BIN_EXE_nncost"))
        .args(&argv)
        .output()
        .expect("nncost runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nncost {args}: {stderr}");
    assert!(stderr.is_empty(), "nncost {args}: {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn explanations_match_their_snapshots() {
    let update = std::env::var_os("NNCOST_UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    for (name, args) in CASES {
        let path = snapshots().join(format!("{name}.txt"));
        let fresh = format!("$ nncost layer {args} --explain\n{}", run(args));
        if update {
            std::fs::write(&path, &fresh).expect("write snapshot");
            continue;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            stale.push(format!("{name}:\n--- {}\n+++ now\n{fresh}", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "stale snapshots (NNCOST_UPDATE_SNAPSHOTS=1 cargo test --test explain rewrites them):\n{}",
        stale.join("\n")
    );
}

/// No snapshot file without a case, so a removed case leaves nothing behind.
#[test]
fn every_snapshot_has_a_case() {
    for entry in std::fs::read_dir(snapshots()).expect("tests/snapshots") {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            CASES.iter().any(|(n, _)| *n == name),
            "{} has no case in tests/explain.rs",
            path.display()
        );
    }
}

/// The README's session is the real output.
#[test]
fn readme_session_is_current() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README.md");
    let snapshot = std::fs::read_to_string(snapshots().join("conv_article.txt")).expect("snapshot");
    assert!(
        readme.contains(&snapshot),
        "README.md should show tests/snapshots/conv_article.txt verbatim"
    );
}
