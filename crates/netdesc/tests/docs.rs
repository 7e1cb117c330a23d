//! The descriptions shown in `docs/netdesc.md` are valid: every `text`
//! block that is a description (not a shell session, an error list or the
//! grammar) builds, with `input 64x56x56` put in front of fragments.

use std::path::Path;

fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start().starts_with("```")) {
            (None, true) if line.trim() == "```text" => current = Some(String::new()),
            (Some(_), true) => out.push(current.take().unwrap_or_default()),
            (Some(b), false) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn documented_descriptions_build() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/netdesc.md");
    let text = std::fs::read_to_string(&path).expect("docs/netdesc.md");
    let mut built = 0;
    for block in blocks(&text) {
        let first = block.split_whitespace().next().unwrap_or("");
        if first == "$" || first == "file" || first.ends_with(".nn:3:11:") {
            continue;
        }
        let source = if block.lines().any(|l| l.trim_start().starts_with("input ")) {
            block.clone()
        } else {
            format!("input 64x56x56\n{block}")
        };
        let graph = nncost_netdesc::read_str(&source, "docs.nn")
            .unwrap_or_else(|e| panic!("{e}\n{source}"));
        nncost_core::analyze(&graph, &Default::default()).expect("analyses");
        built += 1;
    }
    assert_eq!(built, 3, "the first file, the blocks and the definitions");
}
