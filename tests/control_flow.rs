//! Control flow end to end: an ONNX file with an If inside a Loop, read,
//! analysed and rendered by the command-line tool.

#[path = "../crates/onnx/tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::*;
use nncost_onnx::proto::GraphProto;
use serde_json::Value;

const BOOL: i32 = 9;

/// x (2×8) through `loop` (M = `trips`, or omitted): its body holds `if` on
/// the model input `flag`, whose then branch multiplies by the model's W
/// (8×8: 128 MACs, 2·8·15 = 240 FLOPs) and whose else branch is a Relu
/// (16 FLOPs). The then branch is larger: the loop costs M × 128 MACs.
fn model(trips: Option<i64>) -> GraphProto {
    let then_g = GraphProto {
        name: "then".into(),
        node: vec![node("MatMul", "mm", &["v_in", "W"], &["t"])],
        output: vec![vi("t", FLOAT, None)],
        ..Default::default()
    };
    let else_g = GraphProto {
        name: "else".into(),
        node: vec![node("Relu", "relu", &["v_in"], &["e"])],
        output: vec![vi("e", FLOAT, None)],
        ..Default::default()
    };
    let mut if_node = node("If", "if", &["flag"], &["v_out"]);
    if_node.attribute = vec![
        graph_attr("then_branch", then_g),
        graph_attr("else_branch", else_g),
    ];
    let body = GraphProto {
        name: "body".into(),
        node: vec![
            node("Identity", "keep", &["cond_in"], &["cond_out"]),
            if_node,
        ],
        input: vec![
            vi("i", INT64, Some(&[])),
            vi("cond_in", BOOL, Some(&[])),
            vi("v_in", FLOAT, None),
        ],
        output: vec![vi("cond_out", BOOL, Some(&[])), vi("v_out", FLOAT, None)],
        ..Default::default()
    };
    let m = if trips.is_some() { "M" } else { "" };
    let mut lp = node("Loop", "loop", &[m, "", "x"], &["v"]);
    lp.attribute = vec![graph_attr("body", body)];
    let mut initializer = vec![raw_tensor("W", FLOAT, &[8, 8], &[0; 256])];
    if let Some(t) = trips {
        initializer.push(raw_tensor("M", INT64, &[], &t.to_le_bytes()));
    }
    GraphProto {
        name: "looped".into(),
        node: vec![lp],
        initializer,
        input: vec![
            vi("x", FLOAT, Some(&[D::V(2), D::V(8)])),
            vi("flag", BOOL, Some(&[])),
        ],
        output: vec![vi("v", FLOAT, None)],
        ..Default::default()
    }
}

fn run(name: &str, graph: GraphProto, args: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("nncost-control-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("model.onnx");
    std::fs::write(&path, encode(&common::model(graph))).expect("write model");
    let out = Command::new(env!("CARGO_BIN_EXE_nncost"))
        .arg(&path)
        .args(args)
        .output()
        .expect("nncost runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn table_shows_bodies_under_their_node() {
    let table = run("table", model(Some(3)), &["--exact"]);
    assert!(table.contains("[body] × 3"), "{table}");
    assert!(table.contains("[then_branch] × 1"), "{table}");
    assert!(table.contains("[else_branch] not counted"), "{table}");
    assert!(table.contains("loop/body/if/then_branch/mm"), "{table}");
    assert!(table.contains("1.2"), "{table}");
    assert!(table.contains("MACs     384"), "{table}");
    assert!(table.contains("FLOPs    720"), "{table}");
}

#[test]
fn json_nests_bodies_and_the_trip_count_is_a_symbol_until_bound() {
    let doc: Value =
        serde_json::from_str(&run("json", model(Some(3)), &["--format", "json"])).unwrap();
    assert_eq!(doc["totals"]["macs"], 384);
    assert_eq!(doc["totals"]["params"], 64);
    let lp = &doc["nodes"][0];
    assert_eq!(
        (lp["macs"].as_u64(), lp["params"].as_u64()),
        (Some(384), Some(64))
    );
    let body = &lp["subgraphs"][0];
    assert_eq!(
        (body["attribute"].as_str(), body["runs"].as_u64()),
        (Some("body"), Some(3))
    );
    assert_eq!(body["macs"], 128);
    let inner = &body["nodes"][1];
    assert_eq!(inner["name"], "loop/body/if");
    assert_eq!(
        inner["subgraphs"][0]["nodes"][0]["name"],
        "loop/body/if/then_branch/mm"
    );
    assert_eq!(inner["subgraphs"][1]["runs"], 0);
    assert!(doc["nodes"][0]["subgraphs"][0]["nodes"][0]
        .get("subgraphs")
        .is_none());

    let free: Value =
        serde_json::from_str(&run("free", model(None), &["--format", "json"])).unwrap();
    assert_eq!(free["totals"]["macs"]["expression"], "128*loop_n");
    assert_eq!(
        free["nodes"][0]["subgraphs"][0]["runs"]["expression"],
        "loop_n"
    );
    let bound: Value = serde_json::from_str(&run(
        "bound",
        model(None),
        &["--format", "json", "--dim", "loop_n=4"],
    ))
    .unwrap();
    assert_eq!(bound["totals"]["macs"], 512);
    assert_eq!(bound["nodes"][0]["subgraphs"][0]["runs"], 4);
}
