//! The HTML report without a browser (`scripts/browser_test.sh` runs it in
//! Chromium): one file that fetches nothing, with the totals of the JSON
//! report, a row per node, and a collapsible block per module.

use std::path::Path;
use std::process::Command;

fn nncost(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_nncost"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .output()
        .expect("nncost runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8")
}

#[test]
fn html_report_is_self_contained_and_complete() {
    let page = nncost(&[
        "examples/resnet18.onnx",
        "--dim",
        "batch=1",
        "--format",
        "html",
    ]);
    let json: serde_json::Value = serde_json::from_str(&nncost(&[
        "examples/resnet18.onnx",
        "--dim",
        "batch=1",
        "--format",
        "json",
    ]))
    .expect("JSON");
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Nothing fetched: no URL but the SVG namespace, no external script or style.
    let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    assert!(!page.contains("<script src") && !page.contains("<link"));
    for (id, key) in [
        ("total-params", "params"),
        ("total-macs", "macs"),
        ("total-flops", "flops"),
    ] {
        let want = json["totals"][key].to_string();
        assert!(
            page.contains(&format!("id=\"{id}\" data-exact=\"{want}\"")),
            "{id} = {want}"
        );
    }
    assert_eq!(page.matches("<tr><td data-sort=").count(), 49);
    // One block per module of the tree (ResNet-18: 56 down to the leaves).
    assert_eq!(page.matches("<details>").count(), 56);
    assert!(page.contains("Share of FLOPs by module"));
}
