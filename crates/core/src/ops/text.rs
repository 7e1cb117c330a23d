//! String and image-decoding operators: `StringSplit`, `StringNormalizer`
//! and `ImageDecoder`. Strings and decoded bytes are not floating point,
//! so they cost 0 FLOPs; their interest for nncost is the shapes they give
//! the operators after them, which often depend on the data.

use super::{NodeCtx, OpDef, OpError, RuleResult};
use crate::graph::DType;
use crate::poly::Poly;
use crate::shape::Dim;

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "StringSplit",
        domain: "",
        rule: string_split,
        roles: &[],
        cost_doc: "0 (string work, no arithmetic); the padded substring count is data-dependent",
    },
    OpDef {
        op_type: "StringNormalizer",
        domain: "",
        rule: string_normalizer,
        roles: &[],
        cost_doc:
            "0 (string work, no arithmetic); with stopwords the output length is data-dependent",
    },
    OpDef {
        op_type: "ImageDecoder",
        domain: "",
        rule: image_decoder,
        roles: &[],
        cost_doc: "0 (decoding is not counted); output [H, W, C], H and W from the encoded bytes",
    },
];

/// `StringSplit` (opset 20): X of any shape → Y `X.shape + [m]` (strings)
/// and Z `X.shape` (int64, the substring counts), where `m` is the largest
/// number of substrings of any element: Y is padded with empty strings to
/// it. `m` depends on the strings, and `maxsplit` does not fix it (it only
/// bounds it by `maxsplit + 1`: the padding is to the data's maximum), so
/// Y's last dim is unknown and the node is reported as data-dependent;
/// for an empty X it is 0. Splitting strings is not arithmetic: 0 FLOPs.
fn string_split(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    if let Some(m) = ctx.attr("maxsplit").map(|_| ctx.attr_int("maxsplit", 0)) {
        let m = m?;
        if m < 0 {
            return Err(OpError::Invalid(format!(
                "attribute 'maxsplit' must not be negative, got {m}"
            )));
        }
    }
    ctx.attr_str("delimiter")?;
    let empty = x.iter().any(|d| d.as_i64() == Some(0));
    let mut y = x.clone();
    y.push(if empty { Dim::int(0) } else { Dim::Unknown });
    ctx.set_output(0, Some(DType::String), y);
    ctx.set_output(1, Some(DType::I64), x);
    if empty {
        return Ok(());
    }
    Err(OpError::DataDependent(
        "StringSplit pads its substrings to the largest count in the data: the last dim of \
         output 0 depends on the strings (run-time values)"
            .into(),
    ))
}

/// `StringNormalizer` (opset 10): X `[C]` or `[1, C]` of strings → Y of the
/// same rank. The elements equal to a stop word are removed, so with
/// `stopwords` the length is data-dependent (and if every element is
/// removed Y holds one empty string); without stop words Y has X's shape
/// (the specification removes nothing else; onnx's reference also drops
/// empty strings, which nncost does not follow). Case changes are not
/// arithmetic: 0 FLOPs.
fn string_normalizer(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let ok_rank = match x.len() {
        1 => true,
        2 => !matches!(x[0].as_i64(), Some(n) if n != 1),
        _ => false,
    };
    if !ok_rank {
        return Err(OpError::Invalid(format!(
            "StringNormalizer takes [C] or [1, C] input, got rank {} ({})",
            x.len(),
            crate::shape::format_shape(&x)
        )));
    }
    match ctx.attr_str("case_change_action")?.unwrap_or("NONE") {
        "NONE" | "LOWER" | "UPPER" => {}
        other => {
            return Err(OpError::Invalid(format!(
                "case_change_action '{other}' is not NONE, LOWER or UPPER"
            )))
        }
    }
    let stopwords = match ctx.attr("stopwords") {
        None => false,
        Some(crate::graph::AttrValue::Strings(v)) => !v.is_empty(),
        Some(_) => {
            return Err(OpError::Invalid(
                "attribute 'stopwords' should be a list of strings".into(),
            ))
        }
    };
    if !stopwords {
        ctx.set_output(0, Some(DType::String), x);
        return Ok(());
    }
    let mut y = x;
    let last = y.len() - 1;
    y[last] = Dim::Unknown;
    ctx.set_output(0, Some(DType::String), y);
    Err(OpError::DataDependent(
        "StringNormalizer removes the elements equal to a stop word: its output length \
         depends on the strings (run-time values)"
            .into(),
    ))
}

/// `ImageDecoder` (opset 20): a 1-D uint8 encoded stream → the image `[H,
/// W, C]` (uint8), `C` = 3 for `RGB` (the default) and `BGR`, 1 for
/// `Grayscale`. H and W are written in the encoded file (run-time bytes),
/// so they are unknown and the node is reported as data-dependent.
/// Decoding (entropy decoding, inverse DCT, colour conversion, chroma
/// upsampling) is not counted: it is integer and format-specific work
/// outside nncost's floating-point convention, 0 FLOPs.
fn image_decoder(ctx: &mut NodeCtx) -> RuleResult {
    let r = ctx.rank(0)?;
    if r != 1 {
        return Err(OpError::Invalid(format!(
            "ImageDecoder's encoded_stream must be 1-D, got rank {r}"
        )));
    }
    let channels = match ctx.attr_str("pixel_format")?.unwrap_or("RGB") {
        "RGB" | "BGR" => 3,
        "Grayscale" => 1,
        other => {
            return Err(OpError::Invalid(format!(
                "pixel_format '{other}' is not RGB, BGR or Grayscale"
            )))
        }
    };
    ctx.set_output(
        0,
        Some(DType::U8),
        vec![Dim::Unknown, Dim::Unknown, Dim::Known(Poly::from(channels))],
    );
    Err(OpError::DataDependent(
        "ImageDecoder's height and width are read from the encoded image (run-time bytes)".into(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::graph::DType;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;
    use crate::shape::Dim;

    fn strings(dims: &[&str]) -> Vec<Dim> {
        dims.iter()
            .map(|d| {
                d.parse::<i64>()
                    .map(Dim::int)
                    .unwrap_or_else(|_| Dim::sym(d))
            })
            .collect()
    }

    /// StringSplit of [batch, 3] strings: substrings [batch, 3, ?] (padded
    /// to the data's largest count), counts [batch, 3]; 0 FLOPs but the
    /// node is data-dependent. An empty input gives [0, 0] and counts.
    #[test]
    fn string_split_shapes() {
        let r = NodeTest::new("StringSplit")
            .opset(20)
            .input_dims(strings(&["batch", "3"]), DType::String)
            .int("maxsplit", 2)
            .run_outputs(2);
        assert_eq!(r.shape(0), "batchx3x?");
        assert_eq!(r.shape(1), "batchx3");
        assert!(
            matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("largest count"))
        );
        let e = NodeTest::new("StringSplit")
            .opset(20)
            .input_dims(strings(&["0"]), DType::String)
            .run_outputs(2);
        assert_eq!(e.shape(0), "0x0");
        assert_eq!((e.macs(), e.flops()), (0, 0));
        let bad = NodeTest::new("StringSplit")
            .opset(20)
            .input_dims(strings(&["4"]), DType::String)
            .int("maxsplit", -1)
            .run_outputs(2);
        assert!(
            matches!(bad.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("maxsplit"))
        );
    }

    /// StringNormalizer without stop words keeps [1, n] (symbolic n), 0
    /// FLOPs; with stop words the length is unknown; rank 3 is an error.
    #[test]
    fn string_normalizer_shapes() {
        let r = NodeTest::new("StringNormalizer")
            .opset(10)
            .input_dims(strings(&["1", "n"]), DType::String)
            .string("case_change_action", "UPPER")
            .run();
        assert_eq!(r.shape(0), "1xn");
        assert_eq!((r.macs(), r.flops()), (0, 0));
        let s = NodeTest::new("StringNormalizer")
            .opset(10)
            .input_dims(strings(&["4"]), DType::String)
            .attr(
                "stopwords",
                crate::graph::AttrValue::Strings(vec!["monday".into()]),
            )
            .run();
        assert_eq!(s.shape(0), "?");
        assert!(
            matches!(s.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("stop word"))
        );
        let bad = NodeTest::new("StringNormalizer")
            .opset(10)
            .input_dims(strings(&["2", "2", "2"]), DType::String)
            .run();
        assert!(
            matches!(bad.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("[C] or [1, C]"))
        );
    }

    /// ImageDecoder: [?, ?, 3] for RGB, [?, ?, 1] for Grayscale; a bad
    /// pixel format is reported.
    #[test]
    fn image_decoder_channels() {
        let run = |fmt: &str| {
            NodeTest::new("ImageDecoder")
                .opset(20)
                .input_dims(strings(&["bytes"]), DType::U8)
                .string("pixel_format", fmt)
                .run()
        };
        let rgb = run("BGR");
        assert_eq!(rgb.shape(0), "?x?x3");
        assert!(
            matches!(rgb.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("encoded image"))
        );
        assert_eq!(run("Grayscale").shape(0), "?x?x1");
        let bad = run("CMYK");
        assert!(
            matches!(bad.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("pixel_format"))
        );
    }
}
