//! `docs/operators.md` is generated from the operator tables in the code,
//! so the documented formulas are the ones the engine uses. If this test
//! fails after changing a rule, regenerate with
//! `NNCOST_UPDATE_DOCS=1 cargo test --test docs`.

use std::path::Path;

use nncost_core::ops::{all_ops, Role};

fn roles_text(roles: &[Role]) -> String {
    let names: Vec<String> = roles
        .iter()
        .enumerate()
        .filter(|(_, r)| **r != Role::Data)
        .map(|(i, r)| format!("{i}: {}", format!("{r:?}").to_lowercase()))
        .collect();
    if names.is_empty() {
        "—".to_string()
    } else {
        names.join(", ")
    }
}

fn generate() -> String {
    let mut ops: Vec<_> = all_ops().collect();
    ops.sort_by(|a, b| (a.domain, a.op_type).cmp(&(b.domain, b.op_type)));
    let mut out = String::from(
        "# Operators\n\n\
         Generated from the operator tables in `crates/core/src/ops/` by `tests/docs.rs`; do not edit by hand.\n\
         The reasoning behind each count is in [conventions.md](conventions.md).\n\n\
         *Inputs* lists the input positions whose initializers are not plain operands: `weight` (always\n\
         parameters), `buffer` (non-trainable state), `config` (shapes, axes, scales, bounds: never parameters).\n\
         At any other position a float initializer with more than one element is a parameter.\n\n",
    );
    out.push_str(&format!("{} operators.\n\n", ops.len()));
    out.push_str("| operator | domain | inputs | cost |\n|---|---|---|---|\n");
    for d in ops {
        let domain = if d.domain.is_empty() {
            "ai.onnx"
        } else {
            d.domain
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            d.op_type,
            domain,
            roles_text(d.roles),
            d.cost_doc.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn operator_table_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operators.md");
    let fresh = generate();
    if std::env::var_os("NNCOST_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/operators.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "docs/operators.md is stale: run NNCOST_UPDATE_DOCS=1 cargo test --test docs"
    );
}

/// Every operator with a rule is explained in the conventions page too.
#[test]
fn conventions_mention_every_operator() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conventions.md"))
            .expect("docs/conventions.md");
    let missing: Vec<&str> = all_ops()
        .map(|d| d.op_type)
        .filter(|op| !text.contains(&format!("`{op}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/conventions.md: {missing:?}"
    );
}
