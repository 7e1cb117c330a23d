//! Mixture of experts: onnxruntime's `MoE` (domain `com.microsoft`), the
//! fused block that Mixtral-, Qwen-MoE- and DeepSeek-style exports use, and
//! that nncost's own LLM front-ends build.
//!
//! Every expert's weights are parameters, but each token passes through
//! only `k` of the `E` experts, so the work is that of `k` experts per
//! token: the count is exact for any routing, since every token is sent to
//! exactly `k` distinct experts (a top-k of a softmax).

use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::poly::Poly;

const D: Role = Role::Data;
const W: Role = Role::Weight;

pub const OPS: &[OpDef] = &[OpDef {
    op_type: "MoE",
    domain: "com.microsoft",
    rule: moe,
    roles: &[D, D, W, W, W, W, W, W],
    cost_doc: "T tokens of width H, E experts of inner size I, top k: MACs = T·k·H·I·(2, or 3 gated); \
               FLOPs per token: router softmax 5E − 2 (+ 2k − 1 normalising), per chosen expert \
               each product's (2·fan-in − 1) per output (+1 with bias) and the activation on I elements \
               (relu 1, gelu 5, silu 5, gated 1 more, swiglu 6 [+1 alpha ≠ 1] [+1 beta] [+3 limit]); combining k outputs (2k − 1)·H",
}];

/// The expert network's shape and activation, read from the weights and
/// attributes.
struct Experts {
    experts: Poly,
    /// Width of the expert's first product (the gate and up halves together
    /// for fused SwiGLU).
    fc1_out: Poly,
    inner: Poly,
    /// A third product (the "up" half of a gated MLP kept apart).
    fc3: bool,
    /// FLOPs per inner element of the activation (and gating product).
    activation: i128,
}

/// FLOPs of one inner element's activation.
fn activation_flops(ctx: &NodeCtx, name: &str, gated: bool) -> Result<i128, OpError> {
    let per = match name {
        "identity" => 0,
        "relu" => 1,
        // x·Φ(x) as the engine's `Gelu`; SiLU x·σ(x): σ's 4 and the product.
        "gelu" | "silu" => 5,
        "swiglu" => {
            // g·σ(α·g)·(l + β): σ (4) and two products, + α·g when α ≠ 1,
            // the β add when β ≠ 0 and the three clamps of a limit.
            let mut f = 6;
            if ctx.attr_float("activation_alpha", 1.0)? != 1.0 {
                f += 1;
            }
            if ctx.attr_float("activation_beta", 0.0)? != 0.0 {
                f += 1;
            }
            if ctx.attr("swiglu_limit").is_some() {
                f += 3;
            }
            return Ok(f);
        }
        other => {
            return Err(OpError::Invalid(format!(
                "activation_type '{other}' is not one of relu, gelu, silu, swiglu, identity"
            )))
        }
    };
    // A gate kept in a separate product multiplies the activation.
    Ok(per + i128::from(gated))
}

/// Reads the expert weights. `fc1_experts_weights` is `[E, fusion·I, H]`
/// (onnxruntime ≥ 1.22) or `[E, H, I]` (earlier exports); which one is told
/// by where `H` sits.
fn experts(ctx: &NodeCtx, hidden: &Poly) -> Result<Experts, OpError> {
    let fc1 = ctx.known_shape(2)?;
    let [e, a, b] = fc1.as_slice() else {
        return Err(OpError::Invalid(format!(
            "fc1_experts_weights must be 3-D, got rank {}",
            fc1.len()
        )));
    };
    let fc1_out = if b == hidden {
        a.clone()
    } else if a == hidden {
        b.clone()
    } else {
        return Err(OpError::Invalid(format!(
            "fc1_experts_weights {e}x{a}x{b} does not take the hidden size {hidden}"
        )));
    };
    let activation_type = ctx.attr_str("activation_type")?.unwrap_or("relu");
    let fused = activation_type == "swiglu" && ctx.attr_int("swiglu_fusion", 0)? != 0;
    let inner = if fused {
        fc1_out.div_exact(2).ok_or_else(|| {
            OpError::Invalid(format!(
                "fused SwiGLU needs an even fc1 width, got {fc1_out}"
            ))
        })?
    } else {
        fc1_out.clone()
    };
    let fc3 = ctx.has_input(6);
    if activation_type == "swiglu" && !fused && !fc3 {
        return Err(OpError::Invalid(
            "swiglu without fusion needs fc3_experts_weights (input 6)".into(),
        ));
    }
    let fc2 = ctx.known_shape(4)?;
    let fits = |d: &[Poly]| {
        d.len() == 3 && &d[0] == e && d[1..].contains(hidden) && d[1..].contains(&inner)
    };
    if !fits(&fc2) {
        return Err(OpError::Invalid(format!(
            "fc2_experts_weights must be {e} experts of {hidden}x{inner}"
        )));
    }
    let gated = fc3 && activation_type != "swiglu";
    Ok(Experts {
        experts: e.clone(),
        fc1_out,
        inner,
        fc3,
        activation: activation_flops(ctx, activation_type, gated)?,
    })
}

/// `MoE`: output = input's shape. With `T` tokens (all input axes but the
/// last), width `H`, `E` experts of inner size `I` and `k` chosen per token:
/// - router: softmax over the `E` logits, `5E − 2` per token (the top-k
///   selection compares, 0 FLOPs), and with `normalize_routing_weights` the
///   `k` weights are renormalised, `2k − 1`;
/// - each chosen expert: `fc1` (`H` → `fusion·I`), `fc3` when given (`H` →
///   `I`), the activation on `I` elements, `fc2` (`I` → `H`); each product
///   `(2·fan-in − 1)` FLOPs per output and 1 more per bias element;
/// - combining: `k` scalings and `k − 1` additions per output element.
fn moe(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let Some((hidden_dim, token_dims)) = x.split_last() else {
        return Err(OpError::Invalid("input must have rank ≥ 1".into()));
    };
    let dtype = ctx.dtype(0);
    ctx.set_output(0, dtype, x.clone());

    let hidden = ctx.known_dim(0, hidden_dim)?;
    let tokens = product(
        &token_dims
            .iter()
            .map(|d| ctx.known_dim(0, d))
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    let ex = experts(ctx, &hidden)?;
    let router = ctx.known_shape(1)?;
    if router.last() != Some(&ex.experts) {
        return Err(OpError::Invalid(format!(
            "router_probs must end in the {} experts",
            ex.experts
        )));
    }
    let k = ctx.attr_int("k", 1)?;
    if k < 1 || ex.experts.as_constant().is_some_and(|e| i128::from(k) > e) {
        return Err(OpError::Invalid(format!(
            "k = {k} is not between 1 and the {} experts",
            ex.experts
        )));
    }
    let k = Poly::from(k);
    let one = Poly::constant(1);

    // One expert on one token.
    let product_flops = |fan_in: &Poly, outputs: &Poly, bias: bool| -> Result<Poly, OpError> {
        let mut per = fan_in.checked_scale(2)?;
        if !bias {
            per = per.checked_sub(&one)?;
        }
        Ok(outputs.checked_mul(&per)?)
    };
    let mut macs = hidden.checked_mul(&ex.fc1_out)?;
    let mut flops = product_flops(&hidden, &ex.fc1_out, ctx.has_input(3))?;
    if ex.fc3 {
        macs = macs.checked_add(&hidden.checked_mul(&ex.inner)?)?;
        flops = flops.checked_add(&product_flops(&hidden, &ex.inner, ctx.has_input(7))?)?;
    }
    macs = macs.checked_add(&ex.inner.checked_mul(&hidden)?)?;
    flops = flops.checked_add(&product_flops(&ex.inner, &hidden, ctx.has_input(5))?)?;
    flops = flops.checked_add(&ex.inner.checked_scale(ex.activation)?)?;

    // Per token: k experts, the router and the weighted sum.
    let two_k_less_one = k.checked_scale(2)?.checked_sub(&one)?;
    let mut per_token = flops.checked_mul(&k)?;
    per_token = per_token.checked_add(
        &ex.experts
            .checked_scale(5)?
            .checked_sub(&Poly::constant(2))?,
    )?;
    if ctx.attr_int("normalize_routing_weights", 0)? != 0 {
        per_token = per_token.checked_add(&two_k_less_one)?;
    }
    per_token = per_token.checked_add(&two_k_less_one.checked_mul(&hidden)?)?;

    ctx.add_macs(&tokens.checked_mul(&k)?.checked_mul(&macs)?)?;
    ctx.add_flops(&tokens.checked_mul(&per_token)?)
}

#[cfg(test)]
mod tests {
    use crate::ops::testing::{incomplete, ms};

    /// Mixtral's block at width 8, 4 experts of 16, top 2, SwiGLU kept in
    /// fc1 (gate) and fc3 (up) with silu, no biases, 3 tokens:
    /// per expert MACs 8·16 + 8·16 + 16·8 = 384 → 3·2·384 = 2,304;
    /// FLOPs per expert 16·15 + 16·15 + 8·31 + 16·6 = 824, per token
    /// 2·824 + (5·4 − 2) + (2·2 − 1) + 3·8 = 1,693 → 5,079.
    #[test]
    fn gated_experts_top_two() {
        let r = ms("MoE")
            .input(&[3, 8])
            .input(&[3, 4])
            .weight(&[4, 16, 8])
            .none()
            .weight(&[4, 8, 16])
            .none()
            .weight(&[4, 16, 8])
            .string("activation_type", "silu")
            .int("k", 2)
            .int("normalize_routing_weights", 1)
            .run();
        assert_eq!(r.shape(0), "3x8");
        assert_eq!(r.params(), 3 * 4 * 16 * 8);
        assert_eq!(r.macs(), 2_304);
        assert_eq!(r.flops(), 5_079);
    }

    /// Fused SwiGLU (fc1 = 2·I) with biases on a symbolic batch of tokens:
    /// per expert MACs 8·32 + 16·8 = 384; FLOPs 32·16 + 8·32 + 16·6 = 864;
    /// per token 864 + (5·4 − 2) + 8 = 890 (k = 1, no normalising).
    #[test]
    fn fused_swiglu_with_bias_symbolic_tokens() {
        let r = ms("MoE")
            .input_sym(&["batch", "8"])
            .input_sym(&["batch", "4"])
            .weight(&[4, 32, 8])
            .weight(&[4, 32])
            .weight(&[4, 8, 16])
            .weight(&[4, 8])
            .string("activation_type", "swiglu")
            .int("swiglu_fusion", 1)
            .run();
        assert_eq!(r.params(), 4 * (32 * 8 + 32 + 8 * 16 + 8));
        assert_eq!(r.macs_expr(), "384*batch");
        assert_eq!(r.flops_expr(), "890*batch");
    }

    /// The layout of onnxruntime before 1.22: fc1 `[E, H, I]`, fc2 `[E, I, H]`.
    #[test]
    fn earlier_layout() {
        let r = ms("MoE")
            .input(&[2, 8])
            .input(&[2, 4])
            .weight(&[4, 8, 16])
            .none()
            .weight(&[4, 16, 8])
            .run();
        assert_eq!(r.macs(), 2 * (8 * 16 + 16 * 8));
    }

    #[test]
    fn inconsistent_weights_are_reported() {
        let r = ms("MoE")
            .input(&[2, 8])
            .input(&[2, 4])
            .weight(&[4, 16, 7])
            .none()
            .weight(&[4, 8, 16])
            .run();
        assert!(incomplete(&r, "does not take the hidden size 8"));
        let r = ms("MoE")
            .input(&[2, 8])
            .input(&[2, 4])
            .weight(&[4, 16, 8])
            .none()
            .weight(&[4, 8, 16])
            .int("k", 5)
            .run();
        assert!(incomplete(&r, "k = 5"));
    }
}
