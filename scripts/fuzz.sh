#!/usr/bin/env bash
# Fuzz nncost with libFuzzer (cargo-fuzz), seeded with the repository's models.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); targets: read_onnx (the ONNX reader from
# memory), read_file (the reader from a file, external data included),
# analyze (reader, shape inference, costs, memory, roofline, training, the
# presets and every renderer), read_netdesc (network descriptions),
# read_safetensors and read_gguf (checkpoint headers), read_llm
# (config.json and GGUF metadata built into models), web_read (the web
# page's reading through byte ranges, its ONNX walk checked against the
# reader), netdesc_structured (network descriptions generated from the
# input's structure: nesting, repetition, definitions calling each other,
# texts up to a few MB) and layer_args (the layer calculator on generated
# kinds, options and input shapes); default all. The two generating
# targets start from an empty corpus.
# Needs `cargo install cargo-fuzz`. The stable toolchain builds the
# instrumented binaries with RUSTC_BOOTSTRAP=1; no sanitizer is needed for
# safe Rust, and debug assertions (-a) turn any integer overflow into a crash.
# Crashing inputs land in fuzz/artifacts/TARGET/; each one found becomes a
# regression test in tests/fuzz_regressions.rs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(read_onnx read_file analyze read_netdesc read_safetensors read_gguf read_llm web_read
    netdesc_structured layer_args)
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
    corpus=corpus/$target
    mkdir -p "$corpus"
    # Seeds: every model in the repository small enough to mutate quickly
    # (the network descriptions for read_netdesc); none for the targets
    # that generate their inputs.
    options=(-max_len=131072)
    if [ "$target" = netdesc_structured ]; then
        # Inputs of up to 4 MiB from the start (no slow growth of the
        # length limit): the generator needs bytes to build deep structures.
        options=(-max_len=$((4 << 20)) -len_control=0)
    elif [ "$target" = layer_args ]; then
        :
    elif [ "$target" = read_netdesc ]; then
        find ../examples ../tests ../crates/netdesc -name '*.nn' -size -128k -exec cp -n {} "$corpus"/ \;
    elif [ "$target" = read_llm ]; then
        find ../tests/fixtures/llm \( -name 'config.json' -o -name '*.config.json' -o -name '*.gguf' \) \
            -size -128k -exec sh -c 'cp -n "$1" "$2/$(echo "$1" | tr / _)"' _ {} "$corpus" \;
    elif [ "$target" = read_safetensors ] || [ "$target" = read_gguf ]; then
        find ../tests/fixtures/llm \( -name '*.safetensors' -o -name '*.gguf' \) -size -1024k \
            -exec sh -c 'cp -n "$1" "$2/$(echo "$1" | tr / _)"' _ {} "$corpus" \;
    else
        find ../examples ../tests/fixtures ../crates/onnx/tests/fixtures -name '*.onnx' -size -128k \
            -exec cp -n {} "$corpus"/ \;
    fi
    echo "== $target: $seconds s, $(ls "$corpus" | wc -l) inputs in the corpus"
    cargo fuzz run -s none -O -a "$target" "$corpus" -- \
        -max_total_time="$seconds" "${options[@]}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1
done
