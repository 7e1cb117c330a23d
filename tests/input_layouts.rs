//! Input shapes written with PyTorch's batch axis or channels last: refused
//! with a one-line hint where they would count another layer, accepted when
//! said (`--batch`, `--channels-last`; `input … batch channels-last`).

use std::process::{Command, Output};

fn nncost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nncost"))
        .args(args)
        .output()
        .expect("nncost runs")
}

fn conv(input: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "layer",
        "conv",
        "--input",
        input,
        "--out-channels",
        "64",
        "--kernel",
        "3",
        "--padding",
        "1",
    ];
    args.extend_from_slice(extra);
    nncost(&args)
}

fn refused(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err.trim_end().to_string()
}

fn macs(o: &Output) -> u64 {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    doc["macs"].as_u64().expect("macs")
}

#[test]
fn the_calculator_asks_about_a_batch_axis_or_channels_last() {
    assert_eq!(
        refused(&conv("1x3x224x224", &[])),
        "nncost: error: layer conv on 1x3x224x224: the input has 4 axes; inputs are written \
         without the batch axis (write 3x224x224) — or pass --batch"
    );
    assert_eq!(
        refused(&conv("224x224x3", &[])),
        "nncost: error: layer conv on 224x224x3: this reads 224 channels of 224x3; inputs are \
         written channels first (write 3x224x224) — or pass --channels-last"
    );
    assert!(refused(&conv("1x224x224x3", &[])).ends_with("— or pass --batch --channels-last"));
    // Said so, each is the article's convolution: 3·3·3·224·224·64 MACs.
    let article = 3 * 3 * 3 * 224 * 224 * 64;
    for (input, flags) in [
        ("3x224x224", &[][..]),
        ("1x3x224x224", &["--batch"][..]),
        ("224x224x3", &["--channels-last"][..]),
        ("1x224x224x3", &["--batch", "--channels-last"][..]),
    ] {
        let mut args = flags.to_vec();
        args.extend(["--format", "json"]);
        assert_eq!(macs(&conv(input, &args)), article, "{input} {flags:?}");
    }
    let text = String::from_utf8(conv("1x3x224x224", &["--batch"]).stdout).unwrap();
    assert!(
        text.contains("\n         given as 1x3x224x224: the first axis is the batch (--batch)\n"),
        "{text}"
    );
    // Layers that do not read channels take any shape; a feature map and a
    // one-channel volume are what they say.
    assert!(nncost(&["layer", "relu", "--input", "224x224x3"])
        .status
        .success());
    assert!(conv("64x56x56", &[]).status.success());
    assert!(conv("1x64x64x64", &[]).status.success());
}

fn network(text: &str) -> Result<nncost_core::Report, String> {
    let graph = nncost_netdesc::read_str(text, "t.nn").map_err(|e| e.to_string())?;
    Ok(nncost_core::analyze(&graph, &Default::default()).expect("analysed"))
}

#[test]
fn descriptions_say_their_layout_on_the_input_line() {
    assert_eq!(
        network("input 1x3x224x224\nconv 64 k=3 p=1\n").unwrap_err(),
        "t.nn:2:1: conv on 1x3x224x224: the input has 4 axes; inputs are written without the \
         batch axis (write 3x224x224, or 'input 1x3x224x224 batch')"
    );
    // Through layers that keep the shape and read no channels.
    assert_eq!(
        network("input 224x224x3\nrelu\ndropout\nconv 64 k=3\n").unwrap_err(),
        "t.nn:4:1: conv on 224x224x3: this reads 224 channels of 224x3; inputs are written \
         channels first (write 3x224x224, or 'input 224x224x3 channels-last')"
    );
    // Accepted when said: the batch axis of the given size, channels moved
    // first by a Transpose (0 FLOPs).
    let r = network("input 2x224x224x3 batch channels-last\nconv 64 k=3 p=1\n").unwrap();
    assert_eq!(r.nodes[0].op_type, "Transpose");
    assert_eq!(
        r.totals.cost.macs.as_constant(),
        Some(2 * 3 * 3 * 3 * 224 * 224 * 64)
    );
    let r = network("input 28x28x1 channels-last\nconv 6 k=5\n").unwrap();
    assert_eq!(r.totals.cost.macs.to_string(), "86400*batch"); // 24·24·6·25
                                                               // A ranked name says the shape is meant: a 3-D convolution on one channel.
    assert!(network("input 1x3x32x32\nconv3d 4 k=1\n").is_ok());
    assert_eq!(
        network("input 3 channels-last\nrelu\n").unwrap_err(),
        "t.nn:1:1: input: 3: channels last needs channels and at least one spatial axis"
    );
}
