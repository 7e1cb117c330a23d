#!/usr/bin/env python3
"""Writes the operator schemas of the pinned `onnx` package as a small TSV.

Usage: make_onnx_schemas.py OUT_FILE

Written with onnx 1.23.2 (pinned in `.ci/run`); the committed output is
`tests/fixtures/conformance/onnx_schemas.tsv`, which `tests/docs.rs` reads to
generate `docs/coverage.md` without Python.

One line per operator of every domain onnx ships ('', ai.onnx.ml,
ai.onnx.preview, ai.onnx.preview.training):

    op <TAB> domain <TAB> since_versions <TAB> deprecated

- `domain` is `ai.onnx` for the default domain, so no field is empty;
- `since_versions` lists every version that changed the operator, ascending,
  comma-separated (Reshape: `1,5,13,14,19,21,23,24,25`);
- `deprecated` is `yes` when the operator's latest version is deprecated
  (Upsample, Scatter), else `no`.
"""

import sys
from collections import defaultdict

import onnx
from onnx import defs

EXPECTED_ONNX = "1.23.2"


def schema_table():
    """{(domain, op): [(since_version, deprecated), ...]} over all versions."""
    table = defaultdict(list)
    for s in defs.get_all_schemas_with_history():
        table[(s.domain or "ai.onnx", s.name)].append((s.since_version, s.deprecated))
    return table


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_onnx_schemas.py OUT_FILE")
    if onnx.__version__ != EXPECTED_ONNX:
        sys.exit(f"onnx {onnx.__version__} installed; this file is pinned to onnx {EXPECTED_ONNX}")
    rows = []
    for (domain, op), versions in schema_table().items():
        versions.sort()
        since = ",".join(str(v) for v, _ in versions)
        deprecated = "yes" if versions[-1][1] else "no"
        rows.append((op, domain, since, deprecated))
    rows.sort(key=lambda r: (r[1], r[0]))
    with open(sys.argv[1], "w", newline="\n") as f:
        f.write(
            f"# Operator schemas of onnx {onnx.__version__} (default opset {defs.onnx_opset_version()}), "
            "written by scripts/make_onnx_schemas.py; do not edit by hand.\n"
        )
        f.write("# op\tdomain\tsince_versions\tdeprecated\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    print(f"wrote {len(rows)} operators to {sys.argv[1]}")


if __name__ == "__main__":
    main()
