#!/usr/bin/env bash
# Builds the web page: crates/web compiled to wasm32, its bindings made by
# wasm-bindgen, and one self-contained target/web/index.html (style,
# script and the module inlined, the module as base64) that works opened
# from disk, with no server and no network.
#
#     scripts/build_web.sh           then open target/web/index.html
#
# Needs rustup's wasm32-unknown-unknown target (added if missing) and
# wasm-bindgen-cli at the version of the wasm-bindgen crate, installed
# once from crates.io (cargo install --locked) into a cache outside the
# checkout, so that CI, which builds in a fresh clone, installs it once
# per machine: $NNCOST_WEB_TOOLS, else ~/.cache/nncost/web-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
out="$target_dir/web"
tools="${NNCOST_WEB_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/nncost/web-tools}"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi

# The CLI must be the crate's version exactly: the bindings' format
# changes between versions.
version="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' crates/web/Cargo.toml)"
if [ -z "$version" ]; then
    echo "build_web: no pinned wasm-bindgen version in crates/web/Cargo.toml" >&2
    exit 1
fi
bindgen="$tools/bin/wasm-bindgen"
if ! "$bindgen" --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
    cargo install --quiet --locked --root "$tools" wasm-bindgen-cli --version "$version"
fi

# A cdylib only here: native builds of the workspace keep the plain rlib.
cargo rustc --quiet -p nncost-web --target wasm32-unknown-unknown --profile web --crate-type cdylib
wasm="$target_dir/wasm32-unknown-unknown/web/nncost_web.wasm"

rm -rf "$out"
mkdir -p "$out/pkg"
# no-modules: a classic script defining `wasm_bindgen`, which a page opened
# from disk can run inline (module scripts are refused on file://).
"$bindgen" --target no-modules --no-typescript --out-dir "$out/pkg" "$wasm"

glue="$out/pkg/nncost_web.js"
module="$out/pkg/nncost_web_bg.wasm"
for f in "$glue" web/app.js web/style.css; do
    if grep -qi '</script\|</style' "$f"; then
        echo "build_web: $f would end its inline element early" >&2
        exit 1
    fi
done
template=web/index.html
for marker in '<!-- nncost:style -->' '<!-- nncost:script -->'; do
    if [ "$(grep -cxF "$marker" "$template")" != 1 ]; then
        echo "build_web: $template must have the line $marker once" >&2
        exit 1
    fi
done
{
    sed '/^<!-- nncost:style -->$/,$d' "$template"
    printf '<style>\n'
    cat web/style.css
    printf '</style>\n'
    sed -n '/^<!-- nncost:style -->$/,/^<!-- nncost:script -->$/p' "$template" | sed '1d;$d'
    printf '<script>\n'
    cat "$glue"
    printf '\nvar NNCOST_WASM = "'
    base64 -w0 "$module"
    printf '";\n'
    cat web/app.js
    printf '</script>\n'
    sed '1,/^<!-- nncost:script -->$/d' "$template"
} > "$out/index.html.tmp"
mv "$out/index.html.tmp" "$out/index.html"

raw=$(wc -c < "$module")
gz=$(gzip -9 -c "$module" | wc -c)
page=$(wc -c < "$out/index.html")
echo "build_web: $out/index.html ($page bytes); wasm $raw bytes, $gz gzipped"
