//! Tensors read from a checkpoint rather than from a graph (domain
//! `ai.nncost`, written only by nncost's own readers).
//!
//! - `Parameter` holds one tensor of a safetensors or GGUF file read without
//!   the model's code: its elements are parameters, and there is no
//!   computation to count.
//! - `DequantizeGgml` gives a GGUF tensor stored in one of ggml's block
//!   formats (Q4_K, Q8_0, …) its logical shape: the stored bytes are
//!   exactly the file's, the parameters the logical elements.

use super::{NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::shape::Dim;

/// The domain of nncost's own operators.
pub const DOMAIN: &str = "ai.nncost";

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "Parameter",
        domain: DOMAIN,
        rule: parameter,
        roles: &[Role::Weight],
        cost_doc: "0: a checkpoint tensor read without the model's computation; its elements are parameters",
    },
    OpDef {
        op_type: "DequantizeGgml",
        domain: DOMAIN,
        rule: dequantize_ggml,
        roles: &[Role::Packed],
        cost_doc: "0: a ggml block format (llama.cpp multiplies the blocks directly); \
                   params: the logical elements of `shape`, bytes as stored",
    },
];

/// `Parameter`: the output is the tensor.
fn parameter(ctx: &mut NodeCtx) -> RuleResult {
    ctx.pass_through(0, 0)
}

/// `DequantizeGgml`: input 0 holds the stored bytes (`uint8`), attribute
/// `shape` the logical dims; the output is float32 of that shape.
fn dequantize_ggml(ctx: &mut NodeCtx) -> RuleResult {
    let shape = ctx
        .attr_ints("shape")?
        .ok_or_else(|| OpError::Invalid("attribute 'shape' is required".into()))?
        .to_vec();
    if shape.iter().any(|&d| d < 0) {
        return Err(OpError::Invalid(format!(
            "shape {shape:?} has a negative dim"
        )));
    }
    let elements = shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .ok_or_else(|| OpError::Invalid(format!("shape {shape:?} has too many elements")))?;
    ctx.set_logical_elements(0, elements);
    ctx.set_output(
        0,
        Some(DType::F32),
        shape.into_iter().map(Dim::int).collect(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::graph::DType;
    use crate::ops::testing::NodeTest;

    /// A Q4_0 tensor of 4096×4096 weights is stored in 32-weight blocks of
    /// 18 bytes: 9,437,184 bytes, 16,777,216 parameters.
    #[test]
    fn ggml_blocks_count_logical_elements_and_stored_bytes() {
        let r = NodeTest::new("DequantizeGgml")
            .domain("ai.nncost")
            .weight_typed(&[9_437_184], DType::U8)
            .ints_attr("shape", &[4096, 4096])
            .run();
        assert_eq!(r.shape(0), "4096x4096");
        assert_eq!(r.params(), 16_777_216);
        assert_eq!(r.param_bytes(), 9_437_184);
        assert_eq!(r.flops(), 0);
    }

    #[test]
    fn parameters_are_counted_without_cost() {
        let r = NodeTest::new("Parameter")
            .domain("ai.nncost")
            .weight_typed(&[128, 64], DType::BF16)
            .run();
        assert_eq!(r.params(), 8192);
        assert_eq!(r.param_bytes(), 16_384);
        assert_eq!(r.macs(), 0);
    }
}
