//! onnxruntime contrib operators (domain `com.microsoft`) that exported
//! transformers and LLMs use: fused attention (`Attention`,
//! `MultiHeadAttention`, `GroupQueryAttention`), fused normalizations,
//! GELU variants, `FusedMatMul`, `RotaryEmbedding`,
//! `EmbedLayerNormalization` and the 4-bit `MatMulNBits`.
//!
//! Attention follows the accounting of the opset-23 `Attention` (see
//! `ops/attention.rs`): per score `2d − 1` (Q·Kᵀ) + 1 (scale) [+ 1 float
//! bias] [+ 3 softcap] + 5 (softmax), − 2 per row, and `d_v·(2·keys − 1)`
//! per row for P·V. With the causal flag (`unidirectional`, and always for
//! `GroupQueryAttention`) only the scores a causal kernel computes count:
//! query row `i` of `S_q` sees `S_t − S_q + i + 1` of `S_t` keys, in total
//! `S_q·(S_t − S_q) + S_q·(S_q + 1)/2` scores per head.

use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::poly::{Overflow, Poly};
use crate::shape::{self, format_shape, Dim, Shape};

const D: Role = Role::Data;
const W: Role = Role::Weight;
const C: Role = Role::Config;
const MS: &str = "com.microsoft";

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "Attention",
        domain: MS,
        rule: attention,
        roles: &[D, W, W, C, D, D, C],
        cost_doc: "QKV projection MACs = B·S·D_in·(D_q + D_k + D_v), FLOPs 2·MACs (− B·S·D_tot without bias); \
                   then per head as opset-23 Attention with S_t = past + S; unidirectional counts only causal scores",
    },
    OpDef {
        op_type: "QAttention",
        domain: MS,
        rule: qattention,
        roles: &[D, W, W, C, C, D, C, C, D],
        cost_doc: "as Attention, the projection an integer product: MACs B·S·D_in·D_tot, int ops B·S·D_tot·(2D_in − 1), \
                   FLOPs 2·B·S·D_tot (scale to float, bias); the core in float",
    },
    OpDef {
        op_type: "MultiHeadAttention",
        domain: MS,
        rule: multi_head_attention,
        roles: &[D, D, D, W, C, D, D, D],
        cost_doc: "as opset-23 Attention with S_t = past + S_kv, + 1 FLOP per Q/K/V element for the bias; \
                   unidirectional counts only causal scores",
    },
    OpDef {
        op_type: "GroupQueryAttention",
        domain: MS,
        rule: group_query_attention,
        roles: &[D, D, D, D, D, C, C, C, C, C, D],
        cost_doc: "causal attention over S_t = total_sequence_length (else past + S) keys for H query heads: \
                   MACs = B·H·2d·K, K = S·(S_t − S) + S·(S + 1)/2; + 3 FLOPs per rotated Q/K element with do_rotary",
    },
    OpDef {
        op_type: "SkipLayerNormalization",
        domain: MS,
        rule: skip_layer_norm,
        roles: &[D, D, W, W, W],
        cost_doc: "FLOPs = rows·(n skip add [+ n bias] + LayerNorm 7n + 3 (6n + 3 without beta))",
    },
    OpDef {
        op_type: "SkipSimplifiedLayerNormalization",
        domain: MS,
        rule: skip_simplified_layer_norm,
        roles: &[D, D, W, W],
        cost_doc: "FLOPs = rows·(n skip add [+ n bias] + RMSNorm 4n + 3)",
    },
    OpDef {
        op_type: "SimplifiedLayerNormalization",
        domain: MS,
        rule: simplified_layer_norm,
        roles: &[D, W],
        cost_doc: "FLOPs = rows·(4n + 3) (RMSNorm), n = product of the dims from axis",
    },
    OpDef {
        op_type: "BiasGelu",
        domain: MS,
        rule: bias_gelu,
        roles: &[D, W],
        cost_doc: "FLOPs = 6 per output element (bias add + erf GELU 5)",
    },
    OpDef {
        op_type: "FastGelu",
        domain: MS,
        rule: fast_gelu,
        roles: &[D, W],
        cost_doc: "FLOPs = 9 per element (tanh GELU), 10 with bias",
    },
    OpDef {
        op_type: "QuickGelu",
        domain: MS,
        rule: quick_gelu,
        roles: &[],
        cost_doc: "FLOPs = 6 per element (x·sigmoid(alpha·x): multiply, sigmoid 4, multiply)",
    },
    OpDef {
        op_type: "Gelu",
        domain: MS,
        rule: gelu,
        roles: &[],
        cost_doc: "FLOPs = 5 per element (0.5·x·(1 + erf(x/√2)))",
    },
    OpDef {
        op_type: "FusedMatMul",
        domain: MS,
        rule: fused_matmul,
        roles: &[],
        cost_doc: "MACs = ∏batch·M·N·K; FLOPs = ∏batch·M·N·(2K − 1), + ∏batch·M·N if alpha ≠ 1; transBatchA/B move axis 0 behind the batch axes",
    },
    OpDef {
        op_type: "RotaryEmbedding",
        domain: MS,
        rule: rotary_embedding,
        roles: &[D, C, C, C],
        cost_doc: "FLOPs = 3 per rotated element (each pair: 4 multiplies, 2 adds); the cos/sin caches are constants",
    },
    OpDef {
        op_type: "EmbedLayerNormalization",
        domain: MS,
        rule: embed_layer_norm,
        roles: &[D, D, W, W, W, W, W, D, D],
        cost_doc: "FLOPs = B·S·(H per embedding add (1 or 2 adds) + LayerNorm 7H + 3); lookups are data movement",
    },
    OpDef {
        op_type: "MatMulNBits",
        domain: MS,
        rule: matmul_nbits,
        roles: &[D, Role::Packed, C, C, C, W],
        cost_doc: "MACs = M·N·K; FLOPs = M·N·(2K − 1) (+ M·N bias) + 2·N·K dequantization; \
                   params: the packed B counts N·K weights, its bytes as stored (K·N·bits/8 plus block padding)",
    },
];

// ----- shared helpers ------------------------------------------------------

/// `x / by`, exact, or an error naming what was divided.
fn divide(x: &Poly, by: &Poly, what: &str) -> Result<Poly, OpError> {
    x.div_poly_exact(by)
        .ok_or_else(|| OpError::Invalid(format!("{what} ({x}) is not divisible by {by}")))
}

/// A positive integer attribute that must be present.
fn positive_attr(ctx: &NodeCtx, name: &str) -> Result<i64, OpError> {
    match ctx.attr_int(name, 0)? {
        v if v > 0 => Ok(v),
        v => Err(OpError::Invalid(format!(
            "attribute '{name}' must be a positive integer, got {v}"
        ))),
    }
}

/// Input `i` with rank `rank`, or an error naming it.
fn ranked<'a>(ctx: &NodeCtx<'a>, i: usize, rank: usize, what: &str) -> Result<&'a [Dim], OpError> {
    let s = ctx.shape(i)?;
    if s.len() == rank {
        Ok(s)
    } else {
        Err(OpError::Invalid(format!(
            "{what} (input {i}) must be {rank}-D, got shape {}",
            format_shape(s)
        )))
    }
}

/// Geometry of one attention: batch, query heads, query rows, key
/// positions (past + new), query/key head size and value head size.
pub(crate) struct AttentionCore {
    pub batch: Poly,
    pub heads: Poly,
    pub q_len: Poly,
    pub total: Poly,
    pub d: Poly,
    pub dv: Poly,
    /// A float mask or bias added to each score (+1 per score).
    pub float_bias: bool,
    /// Soft-capping `c·tanh(x/c)` (+3 per score).
    pub softcap: bool,
    /// Causal masking: `Some(offset)` when query row `i` sees only
    /// `min(S_t, offset + i + 1)` keys and only those scores are counted
    /// (bottom-right alignment, the KV-cache convention: `offset = S_t −
    /// S_q`; the opset-23 `Attention` without a past: 0).
    pub causal_offset: Option<Poly>,
    /// A causal sliding window: each query row sees at most this many of
    /// its causal keys (`GroupQueryAttention`'s `local_window_size`).
    /// Exact for symbolic sizes too, through `min`/`max` (see
    /// [`twice_windowed_scores`]).
    pub window: Option<i64>,
}

impl AttentionCore {
    /// The bottom-right causal offset `S_t − S_q` (the queries are the
    /// newest positions), as onnxruntime's contrib kernels use.
    pub fn bottom_right(total: &Poly, q_len: &Poly) -> Result<Poly, OpError> {
        if let (Some(sq), Some(st)) = (q_len.as_constant(), total.as_constant()) {
            if st < sq {
                return Err(OpError::Invalid(format!(
                    "causal attention with {st} key positions for {sq} queries"
                )));
            }
        }
        Ok(total.checked_sub(q_len)?)
    }
}

/// Twice the causal scores per head, `2·Σᵢ min(S_t, off + i + 1)` over the
/// `S_q` rows, when it is a polynomial: `2·S_q·off + S_q·(S_q + 1)` when no
/// row is capped (`S_t ≥ off + S_q` for every value of the symbols), or
/// the exact sum for concrete sizes; `None` otherwise.
fn twice_causal_scores(q: &Poly, total: &Poly, off: &Poly) -> Result<Option<Poly>, OpError> {
    if let (Some(sq), Some(st), Some(o)) = (q.as_constant(), total.as_constant(), off.as_constant())
    {
        if o < 0 || sq < 0 || st < 0 {
            return Err(OpError::Invalid(format!(
                "causal attention with offset {o}, {sq} queries and {st} keys"
            )));
        }
        // Rows 0..n1 see off + i + 1 keys; the rest see all S_t.
        let n1 = st.checked_sub(o).ok_or(Overflow)?.clamp(0, sq);
        let c = Poly::constant;
        let twice = c(n1)
            .checked_mul(&c(o))?
            .checked_scale(2)?
            .checked_add(&c(n1).checked_mul(&c(n1).checked_add(&c(1))?)?)?
            .checked_add(&c(sq - n1).checked_mul(&c(st))?.checked_scale(2)?)?;
        return Ok(Some(twice));
    }
    let slack = total.checked_sub(off)?.checked_sub(q)?;
    if !slack.terms().all(|(_, c)| c >= 0) {
        return Ok(None);
    }
    let one = Poly::constant(1);
    Ok(Some(
        q.checked_mul(off)?
            .checked_scale(2)?
            .checked_add(&q.checked_mul(&q.checked_add(&one)?)?)?,
    ))
}

/// Twice the causal scores per head when row `i` sees `min(cap, off + i +
/// 1)` keys and the sizes are symbolic: the first `n₁ = min(S_q, max(0, cap
/// − off))` rows are not capped, so `2·Σ = 2·n₁·off + n₁·(n₁ + 1) + 2·(S_q −
/// n₁)·cap`. A prompt of `seq` tokens under a window `w` (off = 0) gives
/// `m·(m + 1) + 2·(seq − m)·m` with `m = min(seq, w)`; one decoding step
/// after `ctx` tokens, `2·min(ctx + 1, w)`.
fn twice_windowed_scores(q: &Poly, cap: &Poly, off: &Poly) -> Result<Poly, Overflow> {
    let one = Poly::constant(1);
    if q.as_constant() == Some(1) {
        return cap.minimum(&off.checked_add(&one)?)?.checked_scale(2);
    }
    let n1 = q.minimum(&cap.checked_sub(off)?.maximum(&Poly::ZERO)?)?;
    n1.checked_mul(off)?
        .checked_scale(2)?
        .checked_add(&n1.checked_mul(&n1.checked_add(&one)?)?)?
        .checked_add(&q.checked_sub(&n1)?.checked_mul(cap)?.checked_scale(2)?)
}

/// Adds the MACs and FLOPs of an attention core.
///
/// With `K` scores counted per head (`S_q·S_t`, or causal `Σᵢ min(S_t,
/// off + i + 1)`, bottom-right `S_q·(S_t − S_q) + S_q·(S_q + 1)/2`) and
/// `rows = B·H·S_q`:
/// MACs = `B·H·K·(d + d_v)`; FLOPs = `B·H·K·(2d + 5 [+1] [+3] + 2d_v) −
/// rows·(2 + d_v)` — per score `2d − 1` (Q·Kᵀ), 1 (scale), 5 (softmax), and
/// `2d_v` for P·V; per row −2 (softmax) and −d_v (P·V's first product has
/// no add). The causal half is exact; it is built as `2K` and halved,
/// keeping a denominator of 2 when a symbolic coefficient is odd (an odd
/// head count times an odd per-score cost: `(783·seq² + 783·seq)/2`, whole
/// for every `seq`). When symbolic sizes leave open whether some rows see
/// every key, the full score matrix is counted, as for a non-causal
/// kernel.
pub(crate) fn attention_core_cost(ctx: &mut NodeCtx, a: &AttentionCore) -> RuleResult {
    let one = Poly::constant(1);
    let rows = product([&a.batch, &a.heads, &a.q_len])?;
    let mut per_score =
        a.d.checked_scale(2)?
            .checked_add(&Poly::constant(5))?
            .checked_add(&a.dv.checked_scale(2)?)?;
    if a.float_bias {
        per_score = per_score.checked_add(&one)?;
    }
    if a.softcap {
        per_score = per_score.checked_add(&Poly::constant(3))?;
    }
    let macs_per_score = a.d.checked_add(&a.dv)?;
    let row_correction = rows.checked_mul(&a.dv.checked_add(&Poly::constant(2))?)?;

    let mut counted = None;
    if let Some(off) = &a.causal_offset {
        // Under a window of w keys, row i sees min(S_t, off + i + 1, w):
        // the causal count with S_t capped at w.
        let twice_k = match a.window {
            Some(w) => {
                let cap = a.total.minimum(&Poly::from(w))?;
                match (cap.as_constant(), a.q_len.as_constant(), off.as_constant()) {
                    (Some(_), Some(_), Some(_)) => twice_causal_scores(&a.q_len, &cap, off)?,
                    _ => Some(twice_windowed_scores(&a.q_len, &cap, off)?),
                }
            }
            None => twice_causal_scores(&a.q_len, &a.total, off)?,
        };
        if let Some(twice_k) = twice_k {
            let twice_scores = product([&a.batch, &a.heads, &twice_k])?;
            let macs = twice_scores.checked_mul(&macs_per_score)?.checked_div(2)?;
            let flops = twice_scores.checked_mul(&per_score)?.checked_div(2)?;
            counted = Some((macs, flops));
        }
    }
    let (macs, flops) = match counted {
        Some(c) => c,
        None => {
            let scores = rows.checked_mul(&a.total)?;
            (
                scores.checked_mul(&macs_per_score)?,
                scores.checked_mul(&per_score)?,
            )
        }
    };
    ctx.add_macs(&macs)?;
    ctx.add_flops(&flops.checked_sub(&row_correction)?)
}

/// Whether optional input `i` is given with a float type.
fn float_input(ctx: &NodeCtx, i: usize) -> bool {
    ctx.has_input(i) && ctx.dtype(i).is_some_and(|t| t.is_float())
}

/// Batched matrix product shape with optional transposes of the last two
/// axes: returns the output shape, the number of outputs and `K`.
pub(crate) fn matmul_geometry(
    ctx: &NodeCtx,
    a_idx: usize,
    b_idx: usize,
    trans_a: bool,
    trans_b: bool,
) -> Result<(Shape, Poly, Poly), OpError> {
    let a = ctx.shape(a_idx)?.to_vec();
    let b = ctx.shape(b_idx)?.to_vec();
    product_geometry(ctx, (a_idx, a), (b_idx, b), trans_a, trans_b)
}

/// [`matmul_geometry`] of operand shapes given (with their input indices,
/// for errors).
fn product_geometry(
    ctx: &NodeCtx,
    (a_idx, a): (usize, Shape),
    (b_idx, b): (usize, Shape),
    trans_a: bool,
    trans_b: bool,
) -> Result<(Shape, Poly, Poly), OpError> {
    let one = Dim::int(1);
    let split = |s: &[Dim], trans: bool, is_a: bool| -> Result<(Shape, Dim, Dim), OpError> {
        match s {
            [] => Err(OpError::Invalid(
                "matrix operands must have rank ≥ 1".into(),
            )),
            [k] if is_a => Ok((vec![], one.clone(), k.clone())),
            [k] => Ok((vec![], k.clone(), one.clone())),
            [batch @ .., x, y] => {
                let (x, y) = if trans { (y, x) } else { (x, y) };
                Ok((batch.to_vec(), x.clone(), y.clone()))
            }
        }
    };
    let (a_batch, m, ka) = split(&a, trans_a, true)?;
    let (b_batch, kb, n) = split(&b, trans_b, false)?;
    let k = match (ka.as_i64(), kb.as_i64()) {
        (Some(x), Some(y)) if x != y => {
            return Err(OpError::Invalid(format!(
                "inner dimensions differ ({x} vs {y})"
            )))
        }
        (None, Some(_)) => kb,
        _ if !ka.is_known() => kb,
        _ => ka,
    };
    let batch = shape::broadcast(&a_batch, &b_batch)?;
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(m.clone());
    }
    if b.len() > 1 {
        out.push(n.clone());
    }
    let batch_count = shape::numel(&batch)?.ok_or_else(|| ctx.unknown_input(a_idx))?;
    let outputs = product([
        &batch_count,
        &ctx.known_dim(a_idx, &m)?,
        &ctx.known_dim(b_idx, &n)?,
    ])?;
    Ok((out, outputs, ctx.known_dim(a_idx, &k)?))
}

/// FLOPs of `outputs` dot products of length `k`: `outputs·(2k − 1)`.
pub(crate) fn dot_flops(outputs: &Poly, k: &Poly) -> Result<Poly, OpError> {
    if k.as_constant() == Some(0) {
        return Ok(Poly::ZERO);
    }
    Ok(outputs
        .checked_mul(k)?
        .checked_scale(2)?
        .checked_sub(outputs)?)
}

// ----- attention -------------------------------------------------------------

/// `Attention` (com.microsoft): packed QKV projection `X·W + bias` with `W`
/// `[D_in, D_q + D_k + D_v]` (sizes from `qkv_hidden_sizes`, else equal
/// thirds), `num_heads` heads, optional `past` `[2, B, H, P, d]` in front
/// of the new keys, `present` `[2, B, H, P + S, d]`.
///
/// The projection is a dense product: MACs = `B·S·D_in·D_tot`, FLOPs `2·MACs`
/// with the bias (`D_in` multiplies, `D_in − 1` adds, one bias add per
/// output), `B·S·D_tot` fewer without. The attention core is counted as in
/// [`attention_core_cost`]; `mask_index` is integer (a selection: 0 FLOPs),
/// a float `attention_bias` (input 5) adds 1 per score, `unidirectional = 1`
/// counts only causal scores.
fn attention(ctx: &mut NodeCtx) -> RuleResult {
    packed_attention(ctx, &FLOAT_ATTENTION)
}

/// `QAttention` (com.microsoft), what onnxruntime's quantizer makes of
/// `Attention`: the projection of a uint8 input by int8 weights is an
/// integer product (MACs; integer ops `2·MACs − outputs`), scaled back to
/// float (1 FLOP per output) and biased (1); the core is float, as for
/// `Attention`. Inputs: input, weight, bias, input_scale, weight_scale,
/// mask_index, input_zero_point, weight_zero_point, past.
fn qattention(ctx: &mut NodeCtx) -> RuleResult {
    packed_attention(ctx, &QUANTIZED_ATTENTION)
}

/// Where the packed-projection attention operators keep their inputs.
struct PackedAttention {
    bias: usize,
    mask: usize,
    past: usize,
    /// A float bias added to the scores (`Attention`'s input 5).
    score_bias: Option<usize>,
    /// The projection is an integer product (`QAttention`).
    quantized: bool,
}

const FLOAT_ATTENTION: PackedAttention = PackedAttention {
    bias: 2,
    mask: 3,
    past: 4,
    score_bias: Some(5),
    quantized: false,
};

const QUANTIZED_ATTENTION: PackedAttention = PackedAttention {
    bias: 2,
    mask: 5,
    past: 8,
    score_bias: None,
    quantized: true,
};

fn packed_attention(ctx: &mut NodeCtx, at: &PackedAttention) -> RuleResult {
    let x = ranked(ctx, 0, 3, "input")?.to_vec();
    let w = ranked(ctx, 1, 2, "weights")?.to_vec();
    let heads = positive_attr(ctx, "num_heads")?;
    let h = Poly::from(heads);
    let d_in = ctx.known_dim(1, &w[0])?;
    let d_tot = ctx.known_dim(1, &w[1])?;
    if let (Some(a), Some(b)) = (x[2].as_i64(), w[0].as_i64()) {
        if a != b {
            return Err(OpError::Invalid(format!(
                "input hidden size {a} does not match weights' first dim {b}"
            )));
        }
    }
    let (dq, dk, dv) = match ctx.attr_ints("qkv_hidden_sizes")? {
        Some([q, k, v]) => {
            if d_tot
                .as_constant()
                .is_some_and(|t| t != (*q as i128) + (*k as i128) + (*v as i128))
            {
                return Err(OpError::Invalid(format!(
                    "qkv_hidden_sizes {q}+{k}+{v} do not add up to the weights' {d_tot} columns"
                )));
            }
            (Poly::from(*q), Poly::from(*k), Poly::from(*v))
        }
        Some(other) => {
            return Err(OpError::Invalid(format!(
                "attribute 'qkv_hidden_sizes' needs 3 values, got {}",
                other.len()
            )))
        }
        None => {
            let third = divide(&d_tot, &Poly::constant(3), "weights' column count")?;
            (third.clone(), third.clone(), third)
        }
    };
    if dq != dk {
        return Err(OpError::Invalid(format!(
            "query and key hidden sizes differ ({dq} vs {dk})"
        )));
    }
    let d = divide(&dq, &h, "query hidden size")?;
    let dv_head = divide(&dv, &h, "value hidden size")?;
    let past = if ctx.has_input(at.past) {
        let p = ranked(ctx, at.past, 5, "past")?;
        ctx.known_dim(at.past, &p[3])?
    } else {
        Poly::ZERO
    };
    let (b, s) = (ctx.known_dim(0, &x[0])?, ctx.known_dim(0, &x[1])?);
    let total = past.checked_add(&s)?;
    let dtype = ctx.dtype(0);
    ctx.set_output(0, dtype, vec![x[0].clone(), x[1].clone(), Dim::Known(dv)]);
    ctx.set_output(
        1,
        dtype,
        vec![
            Dim::int(2),
            x[0].clone(),
            Dim::Known(h.clone()),
            Dim::Known(total.clone()),
            Dim::Known(d.clone()),
        ],
    );

    let proj_outputs = product([&b, &s, &d_tot])?;
    let proj_macs = proj_outputs.checked_mul(&d_in)?;
    ctx.add_macs(&proj_macs)?;
    let bias_adds = if ctx.has_input(at.bias) {
        proj_outputs.clone()
    } else {
        Poly::ZERO
    };
    if at.quantized {
        ctx.add_int_ops(&dot_flops(&proj_outputs, &d_in)?)?;
        ctx.add_flops(&proj_outputs.checked_add(&bias_adds)?)?;
    } else {
        ctx.add_flops(&dot_flops(&proj_outputs, &d_in)?.checked_add(&bias_adds)?)?;
    }
    let causal_offset = if ctx.attr_int("unidirectional", 0)? != 0 {
        Some(AttentionCore::bottom_right(&total, &s)?)
    } else {
        // A score bias nncost proves causal (see `crate::mask`).
        at.score_bias
            .and_then(|i| super::attention::causal_mask(ctx, i))
    };
    let core = AttentionCore {
        batch: b,
        heads: h,
        q_len: s,
        total,
        d,
        dv: dv_head,
        float_bias: at.score_bias.is_some_and(|i| float_input(ctx, i)) || float_input(ctx, at.mask),
        softcap: false,
        causal_offset,
        window: None,
    };
    attention_core_cost(ctx, &core)
}

/// `MultiHeadAttention` (com.microsoft): query `[B, S_q, D_q]`; key and
/// value `[B, S_kv, D]` (new positions, concatenated after `past_key` /
/// `past_value` `[B, H, P, d]`) or `[B, H, S_kv, d]` (cross-attention keys
/// used as they are). Packed QKV `[B, S, H, 3, d]` in the query (no key)
/// and packed KV `[B, S_kv, H, 2, d]` in the key are read too.
///
/// The optional `bias` `[D_q + D_k + D_v]` costs one add per Q (and per
/// new K and V) element. A float `key_padding_mask` or `attention_bias`
/// adds 1 per score; `unidirectional = 1`, or an `attention_bias` nncost
/// proves causal (`crate::mask`), counts only causal scores.
fn multi_head_attention(ctx: &mut NodeCtx) -> RuleResult {
    let heads = positive_attr(ctx, "num_heads")?;
    let h = Poly::from(heads);
    let q = ctx.shape(0)?.to_vec();
    let dtype = ctx.dtype(0);
    let mut bias_elems;
    // (batch dim, query len, d, key len (new), dv, keys are new positions)
    let (batch, sq, d, skv, dv, new_keys) = match q.len() {
        5 if !ctx.has_input(1) => {
            let d = ctx.known_dim(0, &q[4])?;
            bias_elems = ctx.numel(0)?;
            let s = ctx.known_dim(0, &q[1])?;
            (q[0].clone(), s.clone(), d.clone(), s, d, true)
        }
        3 => {
            let d = divide(&ctx.known_dim(0, &q[2])?, &h, "query hidden size")?;
            bias_elems = ctx.numel(0)?;
            let sq = ctx.known_dim(0, &q[1])?;
            let k = ctx.shape(1)?;
            match k.len() {
                3 => {
                    let skv = ctx.known_dim(1, &k[1])?;
                    let v = ranked(ctx, 2, 3, "value")?;
                    let dv = divide(&ctx.known_dim(2, &v[2])?, &h, "value hidden size")?;
                    bias_elems = bias_elems
                        .checked_add(&ctx.numel(1)?)?
                        .checked_add(&ctx.numel(2)?)?;
                    (q[0].clone(), sq, d, skv, dv, true)
                }
                4 => {
                    let skv = ctx.known_dim(1, &k[2])?;
                    let v = ranked(ctx, 2, 4, "value")?;
                    let dv = ctx.known_dim(2, &v[3])?;
                    (q[0].clone(), sq, d, skv, dv, false)
                }
                5 => {
                    let skv = ctx.known_dim(1, &k[1])?;
                    bias_elems = bias_elems.checked_add(&ctx.numel(1)?)?;
                    (q[0].clone(), sq, d.clone(), skv, d, true)
                }
                r => {
                    return Err(OpError::Invalid(format!(
                        "key has rank {r}; MultiHeadAttention takes 3-D, 4-D or packed 5-D keys"
                    )))
                }
            }
        }
        r => {
            return Err(OpError::Invalid(format!(
                "query has rank {r}; MultiHeadAttention takes 3-D or packed 5-D queries"
            )))
        }
    };
    let past = if new_keys && ctx.has_input(6) {
        let p = ranked(ctx, 6, 4, "past_key")?;
        ctx.known_dim(6, &p[2])?
    } else {
        Poly::ZERO
    };
    let total = past.checked_add(&skv)?;
    ctx.set_output(
        0,
        dtype,
        vec![
            batch.clone(),
            Dim::Known(sq.clone()),
            Dim::Known(h.checked_mul(&dv)?),
        ],
    );
    let present = |size: &Poly| {
        vec![
            batch.clone(),
            Dim::Known(h.clone()),
            Dim::Known(total.clone()),
            Dim::Known(size.clone()),
        ]
    };
    let (pk, pv) = (present(&d), present(&dv));
    ctx.set_output(1, dtype, pk);
    ctx.set_output(2, dtype, pv);
    if ctx.has_input(3) {
        ctx.add_flops(&bias_elems)?;
    }
    let causal_offset = if ctx.attr_int("unidirectional", 0)? != 0 {
        Some(AttentionCore::bottom_right(&total, &sq)?)
    } else {
        // An attention_bias nncost proves causal (see `crate::mask`).
        super::attention::causal_mask(ctx, 5)
    };
    let core = AttentionCore {
        batch: ctx.known_dim(0, &batch)?,
        heads: h,
        q_len: sq,
        total,
        d,
        dv,
        float_bias: float_input(ctx, 4) || float_input(ctx, 5),
        softcap: false,
        causal_offset,
        window: None,
    };
    attention_core_cost(ctx, &core)
}

/// `GroupQueryAttention` (com.microsoft): query `[B, S, H·d]` (or packed
/// QKV `[B, S, (H + 2·H_kv)·d]` with no key), key and value `[B, S,
/// H_kv·d]`, KV cache `past_key`/`past_value` `[B, H_kv, P, d]`,
/// `seqlens_k` and `total_sequence_length` (a scalar: the key positions
/// attended, `S_t`).
///
/// Output `[B, S, H·d]`; `present_key`/`present_value` `[B, H_kv, L, d]`
/// with `L = max(P, S_t)` (the buffer may be shared with `past`) when both
/// are known, `S_t` when only it is, else `P + S`. Attention is always
/// causal (the last `S` of `S_t` positions are the queries) and counted as
/// in [`attention_core_cost`] with `S_t` = `total_sequence_length`, else
/// `P + S`; `softcap` adds 3 per score, a float `attention_bias` (input 10) 1.
/// `do_rotary = 1` rotates Q and K first: 3 FLOPs per rotated element
/// (`B·S·(H + H_kv)·r`, r = 2·cos_cache's last dim, else d). A sliding
/// window (`local_window_size = w`, as Mistral's and Gemma's local layers)
/// lets each query see at most its last `w + 1` causal keys (itself and
/// the `w` before it), as onnxruntime's kernels apply it (a model whose
/// window is `W` keys, as transformers counts it, is exported with `w = W −
/// 1`); only those scores count, exactly for symbolic lengths too (through
/// `min`).
fn group_query_attention(ctx: &mut NodeCtx) -> RuleResult {
    let heads = positive_attr(ctx, "num_heads")?;
    let kv_heads = positive_attr(ctx, "kv_num_heads")?;
    if heads % kv_heads != 0 {
        return Err(OpError::Invalid(format!(
            "num_heads {heads} is not a multiple of kv_num_heads {kv_heads}"
        )));
    }
    let (h, hkv) = (Poly::from(heads), Poly::from(kv_heads));
    let q = ranked(ctx, 0, 3, "query")?.to_vec();
    let hidden = ctx.known_dim(0, &q[2])?;
    let d = if ctx.has_input(1) {
        divide(&hidden, &h, "query hidden size")?
    } else {
        divide(
            &hidden,
            &Poly::constant(i128::from(heads) + 2 * i128::from(kv_heads)),
            "packed QKV hidden size",
        )?
    };
    let (b, s) = (ctx.known_dim(0, &q[0])?, ctx.known_dim(0, &q[1])?);
    let past = if ctx.has_input(3) {
        let p = ranked(ctx, 3, 4, "past_key")?;
        Some(ctx.known_dim(3, &p[2])?)
    } else {
        None
    };
    let total_value = ctx
        .ints_value(6)
        .and_then(|v| v.first().copied())
        .map(Poly::from);
    let fallback_total = past.clone().unwrap_or(Poly::ZERO).checked_add(&s)?;
    let present_len = match (&past, &total_value) {
        (Some(p), Some(t)) => match (p.as_constant(), t.as_constant()) {
            (Some(pc), Some(tc)) => Poly::constant(pc.max(tc)),
            _ => t.clone(),
        },
        (None, Some(t)) => t.clone(),
        (_, None) => fallback_total.clone(),
    };
    let total = total_value.unwrap_or(fallback_total);
    let dtype = ctx.dtype(0);
    ctx.set_output(
        0,
        dtype,
        vec![q[0].clone(), q[1].clone(), Dim::Known(h.checked_mul(&d)?)],
    );
    let present = vec![
        q[0].clone(),
        Dim::Known(hkv.clone()),
        Dim::Known(present_len),
        Dim::Known(d.clone()),
    ];
    ctx.set_output(1, dtype, present.clone());
    ctx.set_output(2, dtype, present);

    if ctx.attr_int("do_rotary", 0)? != 0 {
        let rotated = match ctx.shape(7).ok().and_then(|c| c.last().cloned()) {
            Some(half) => ctx.known_dim(7, &half)?.checked_scale(2)?,
            None => d.clone(),
        };
        let vectors = product([&b, &s, &h.checked_add(&hkv)?])?;
        ctx.add_flops(&vectors.checked_mul(&rotated)?.checked_scale(3)?)?;
    }
    let causal_offset = Some(AttentionCore::bottom_right(&total, &s)?);
    // `w` keys before the query, and the query's own.
    let window = match ctx.attr_int("local_window_size", -1)? {
        w if w < 0 => None,
        w => Some(w + 1),
    };
    let core = AttentionCore {
        batch: b,
        heads: h,
        q_len: s,
        total,
        d: d.clone(),
        dv: d,
        float_bias: float_input(ctx, 10),
        softcap: ctx.attr_float("softcap", 0.0)? > 0.0,
        causal_offset,
        window,
    };
    attention_core_cost(ctx, &core)
}

// ----- normalizations ----------------------------------------------------------

/// Rows and row length `n` of input 0 normalised over its last axis.
fn last_axis_rows(ctx: &NodeCtx) -> Result<(Shape, Poly, Poly), OpError> {
    let x = ctx.shape(0)?.to_vec();
    let dims = ctx.known_shape(0)?;
    let Some((n, lead)) = dims.split_last() else {
        return Err(OpError::Invalid("input must have rank ≥ 1".into()));
    };
    Ok((x, product(lead)?, n.clone()))
}

/// The skip (input 1) must have the input's last dim.
fn check_skip(ctx: &NodeCtx, x: &[Dim]) -> RuleResult {
    let skip = ctx.shape(1)?;
    match (
        skip.last().and_then(Dim::as_i64),
        x.last().and_then(Dim::as_i64),
    ) {
        (Some(a), Some(b)) if a != b => Err(OpError::Invalid(format!(
            "skip hidden size {a} differs from the input's {b}"
        ))),
        _ if skip.len() > x.len() || skip.is_empty() => Err(OpError::Invalid(format!(
            "skip shape {} does not fit input {}",
            format_shape(skip),
            format_shape(x)
        ))),
        _ => Ok(()),
    }
}

/// Outputs of the skip normalizations: Y, mean, inv_std_var (`[..., 1]`,
/// float) and the input + skip (+ bias) sum (input's shape).
fn skip_outputs(ctx: &mut NodeCtx, x: &Shape) {
    let dtype = ctx.dtype(0);
    let mut stats = x.clone();
    if let Some(l) = stats.last_mut() {
        *l = Dim::int(1);
    }
    ctx.set_output(0, dtype, x.clone());
    ctx.set_output(1, Some(DType::F32), stats.clone());
    ctx.set_output(2, Some(DType::F32), stats);
    ctx.set_output(3, dtype, x.clone());
}

/// `SkipLayerNormalization`: LayerNorm(input + skip [+ bias]) · gamma
/// [+ beta] over the last axis of n. Per row: n adds for the skip, n for the
/// bias (input 4), then LayerNormalization's 7n + 3 (6n + 3 without beta).
fn skip_layer_norm(ctx: &mut NodeCtx) -> RuleResult {
    let (x, rows, n) = last_axis_rows(ctx)?;
    check_skip(ctx, &x)?;
    skip_outputs(ctx, &x);
    let mut per = if ctx.has_input(3) { 8 } else { 7 };
    if ctx.has_input(4) {
        per += 1;
    }
    let flops = rows.checked_mul(&n.checked_scale(per)?.checked_add(&Poly::constant(3))?)?;
    ctx.add_flops(&flops)
}

/// `SkipSimplifiedLayerNormalization`: RMSNorm(input + skip [+ bias]) ·
/// gamma: per row n skip adds, n bias adds (input 3), RMSNorm's 4n + 3.
fn skip_simplified_layer_norm(ctx: &mut NodeCtx) -> RuleResult {
    let (x, rows, n) = last_axis_rows(ctx)?;
    check_skip(ctx, &x)?;
    skip_outputs(ctx, &x);
    let per = if ctx.has_input(3) { 6 } else { 5 };
    let flops = rows.checked_mul(&n.checked_scale(per)?.checked_add(&Poly::constant(3))?)?;
    ctx.add_flops(&flops)
}

/// `SimplifiedLayerNormalization` (RMSNorm) over the dims from `axis`
/// (default −1): per row of n, 4n + 3 as `RMSNormalization`. Output 1 is
/// `inv_std_var` with 1s from `axis` (float).
fn simplified_layer_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    let axis = ctx.attr_int("axis", -1)?;
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    let stats: Shape = x
        .iter()
        .enumerate()
        .map(|(i, d)| if i < a { d.clone() } else { Dim::int(1) })
        .collect();
    ctx.set_output(0, ctx.dtype(0), x);
    ctx.set_output(1, Some(DType::F32), stats);
    let dims = ctx.known_shape(0)?;
    let rows = product(&dims[..a])?;
    let n = product(&dims[a..])?;
    ctx.add_flops(&rows.checked_mul(&n.checked_scale(4)?.checked_add(&Poly::constant(3))?)?)
}

// ----- activations -------------------------------------------------------------

/// Output 0 takes input 0's shape; `per` FLOPs per element.
fn unary(ctx: &mut NodeCtx, per: i128) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, ctx.dtype(0), x);
    let n = ctx.numel(0)?;
    ctx.add_flops_per(&n, per)
}

/// `BiasGelu`: Gelu(A + bias), bias broadcast over A's last axis: 1 add
/// and the erf GELU's 5 = 6 FLOPs per output element.
fn bias_gelu(ctx: &mut NodeCtx) -> RuleResult {
    let out = shape::broadcast(ctx.shape(0)?, ctx.shape(1)?)?;
    let n = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(0))?;
    ctx.set_output(0, ctx.dtype(0), out);
    ctx.add_flops_per(&n, 6)
}

/// `FastGelu`: the tanh approximation of GELU, 9 FLOPs per element as
/// `Gelu(approximate="tanh")`, plus 1 for the optional bias add.
fn fast_gelu(ctx: &mut NodeCtx) -> RuleResult {
    let per = if ctx.has_input(1) { 10 } else { 9 };
    unary(ctx, per)
}

/// `QuickGelu`: x·sigmoid(alpha·x): 1 multiply by alpha, sigmoid's 4
/// (negate, exp, add, divide), 1 multiply by x = 6 per element.
fn quick_gelu(ctx: &mut NodeCtx) -> RuleResult {
    unary(ctx, 6)
}

/// `Gelu` (com.microsoft): 0.5·x·(1 + erf(x/√2)) = 5 per element.
fn gelu(ctx: &mut NodeCtx) -> RuleResult {
    unary(ctx, 5)
}

/// `FusedMatMul`: alpha·A'·B' with `transA`/`transB` transposing the last
/// two axes. `transBatchA`/`transBatchB` (onnxruntime fuses a Transpose
/// that moves the batch axis) first move an operand's axis 0 behind its
/// other batch axes: `[d0, d1, …, d(r−2), d(r−1)]` is read as `[d1, …,
/// d(r−2), d0, d(r−1)]` (rank ≥ 3), then the last two axes follow
/// `transA`/`transB`. MACs = ∏batch·M·N·K; FLOPs as MatMul, `∏batch·M·N·(2K
/// − 1)`, plus one multiply per output when `alpha ≠ 1`.
fn fused_matmul(ctx: &mut NodeCtx) -> RuleResult {
    let (ta, tb) = (
        ctx.attr_flag("transA", false)?,
        ctx.attr_flag("transB", false)?,
    );
    let operand = |i: usize, moved: bool| -> Result<(usize, Shape), OpError> {
        let mut s = ctx.shape(i)?.to_vec();
        if moved {
            if s.len() < 3 {
                return Err(OpError::Invalid(format!(
                    "transBatch{} needs an operand of rank ≥ 3, input {i} has rank {}",
                    if i == 0 { 'A' } else { 'B' },
                    s.len()
                )));
            }
            let first = s.remove(0);
            s.insert(s.len() - 1, first);
        }
        Ok((i, s))
    };
    let a = operand(0, ctx.attr_flag("transBatchA", false)?)?;
    let b = operand(1, ctx.attr_flag("transBatchB", false)?)?;
    let (out, outputs, k) = product_geometry(ctx, a, b, ta, tb)?;
    ctx.set_output(0, ctx.dtype(0).or(ctx.dtype(1)), out);
    ctx.add_macs(&outputs.checked_mul(&k)?)?;
    ctx.add_flops(&dot_flops(&outputs, &k)?)?;
    if ctx.attr_float("alpha", 1.0)? != 1.0 {
        ctx.add_flops(&outputs)?;
    }
    Ok(())
}

/// `RotaryEmbedding` (com.microsoft): input `[B, S, N·h]` or `[B, N, S,
/// h]`, position_ids, cos_cache and sin_cache `[max_pos, r/2]`. The head
/// size `h` is the last dim (4-D), hidden / `num_heads`, or, with
/// `num_heads = 0`, the rotary dim. The rotated features `r` come from
/// `rotary_embedding_dim`, else 2 × cos_cache's last dim, else `h`. Each
/// rotated pair costs 4 multiplies and 2 adds: 3 FLOPs per rotated element.
fn rotary_embedding(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, ctx.dtype(0), x.clone());
    let cache_rot = match ctx.shape(2).ok().and_then(|c| c.last().cloned()) {
        Some(half) => Some(ctx.known_dim(2, &half)?.checked_scale(2)?),
        None => None,
    };
    let rot_attr = ctx.attr_int("rotary_embedding_dim", 0)?;
    if rot_attr < 0 || rot_attr % 2 != 0 {
        return Err(OpError::Invalid(format!(
            "rotary_embedding_dim = {rot_attr} must be a non-negative even number"
        )));
    }
    let head_size = match x.len() {
        4 => ctx.known_dim(0, &x[3])?,
        3 => match ctx.attr_int("num_heads", 0)? {
            n if n > 0 => divide(&ctx.known_dim(0, &x[2])?, &Poly::from(n), "hidden size")?,
            0 => match (rot_attr, &cache_rot) {
                (r, _) if r > 0 => Poly::from(r),
                (_, Some(c)) => c.clone(),
                _ => return Err(ctx.unknown_input(2)),
            },
            n => {
                return Err(OpError::Invalid(format!(
                    "attribute 'num_heads' = {n} must not be negative"
                )))
            }
        },
        r => {
            return Err(OpError::Invalid(format!(
                "input has rank {r}; RotaryEmbedding takes 3-D or 4-D input"
            )))
        }
    };
    let rotated = match (rot_attr, cache_rot) {
        (r, _) if r > 0 => Poly::from(r),
        (_, Some(c)) => c,
        _ => head_size.clone(),
    };
    let vectors = divide(&ctx.numel(0)?, &head_size, "input size")?;
    ctx.add_flops(&vectors.checked_mul(&rotated)?.checked_scale(3)?)
}

/// `EmbedLayerNormalization`: word (+ position) (+ segment) embedding
/// lookups summed, then LayerNorm · gamma + beta over the hidden size H.
/// Per token: one add per extra embedding (H each; the position embedding
/// always, the segment embedding when given), then 7H + 3. Outputs: `[B, S,
/// H]` (the word embedding's dtype), `mask_index` `[B]` int32, and the
/// optional embedding sum `[B, S, H]`. Lookups are data movement; the
/// mask reduction is integer and not counted.
fn embed_layer_norm(ctx: &mut NodeCtx) -> RuleResult {
    let ids = ranked(ctx, 0, 2, "input_ids")?.to_vec();
    let word = ranked(ctx, 2, 2, "word_embedding")?.to_vec();
    let hidden = word[1].clone();
    if ctx.has_input(3) {
        let pos = ranked(ctx, 3, 2, "position_embedding")?;
        if let (Some(a), Some(b)) = (pos[1].as_i64(), hidden.as_i64()) {
            if a != b {
                return Err(OpError::Invalid(format!(
                    "position embedding width {a} differs from word embedding width {b}"
                )));
            }
        }
    }
    let dtype = ctx.dtype(2);
    let out = vec![ids[0].clone(), ids[1].clone(), hidden.clone()];
    ctx.set_output(0, dtype, out.clone());
    ctx.set_output(1, Some(DType::I32), vec![ids[0].clone()]);
    ctx.set_output(2, dtype, out);
    let tokens = product([&ctx.known_dim(0, &ids[0])?, &ctx.known_dim(0, &ids[1])?])?;
    let h = ctx.known_dim(2, &hidden)?;
    let adds = i128::from(ctx.has_input(3)) + i128::from(ctx.has_input(1) && ctx.has_input(4));
    let per = h.checked_scale(7 + adds)?.checked_add(&Poly::constant(3))?;
    ctx.add_flops(&tokens.checked_mul(&per)?)
}

/// `MatMulNBits`: A `[..., K]` times a block-quantized B (`bits`-bit
/// weights packed as uint8 `[N, ⌈K/block_size⌉, block_size·bits/8]`, one
/// scale (and zero point) per block), optional bias `[N]`. Output `[...,
/// N]`. With M = ∏ of A's leading dims: MACs = M·N·K, FLOPs = M·N·(2K − 1)
/// (+ M·N with bias) + 2·N·K to dequantize B (subtract the zero point,
/// multiply by the scale). B is a [`Role::Packed`] weight: N·K parameters,
/// and the bytes it stores (`N·⌈K/block⌉·⌈block·bits/8⌉`), so a 4-bit
/// model's parameters match its float original while its bytes are about an
/// eighth. Scales and zero points are configuration, as for
/// `DequantizeLinear`.
fn matmul_nbits(ctx: &mut NodeCtx) -> RuleResult {
    let k = positive_attr(ctx, "K")?;
    let n = positive_attr(ctx, "N")?;
    let bits = ctx.attr_int("bits", 4)?;
    if !(1..=8).contains(&bits) {
        return Err(OpError::Invalid(format!(
            "attribute 'bits' = {bits} must be between 1 and 8"
        )));
    }
    let block = positive_attr(ctx, "block_size")?;
    let a = ctx.shape(0)?.to_vec();
    let Some((last, lead)) = a.split_last() else {
        return Err(OpError::Invalid("A must have rank ≥ 1".into()));
    };
    if last.as_i64().is_some_and(|v| v != k) {
        return Err(OpError::Invalid(format!(
            "A's last dim {last} differs from attribute K = {k}"
        )));
    }
    if let Ok(b) = ctx.shape(1) {
        let (k128, block128) = (i128::from(k), i128::from(block));
        let blocks = (k128 + block128 - 1) / block128;
        let blob = (block128 * i128::from(bits) + 7) / 8;
        let expect = [i128::from(n), blocks, blob];
        let fits = b.len() == 3
            && b.iter()
                .zip(expect)
                .all(|(d, e)| d.as_i64().is_none_or(|v| i128::from(v) == e));
        // Older exporters store B flattened; accept any 2-D or 1-D packing.
        if b.len() == 3 && !fits {
            return Err(OpError::Invalid(format!(
                "B has shape {}, expected {n}x{blocks}x{blob} for K = {k}, N = {n}, bits = {bits}, block_size = {block}",
                format_shape(b)
            )));
        }
    }
    // Validated positive above, so the product is the weight count.
    ctx.set_logical_elements(1, (n as u64).saturating_mul(k as u64));
    let mut out: Shape = lead.to_vec();
    out.push(Dim::int(n));
    ctx.set_output(0, ctx.dtype(0), out);
    let m = shape::numel(lead)?.ok_or_else(|| ctx.unknown_input(0))?;
    let outputs = m.checked_mul(&Poly::from(n))?;
    let kp = Poly::from(k);
    ctx.add_macs(&outputs.checked_mul(&kp)?)?;
    let mut flops = dot_flops(&outputs, &kp)?;
    if ctx.has_input(5) {
        flops = flops.checked_add(&outputs)?;
    }
    let dequant = Poly::from(n).checked_mul(&kp)?.checked_scale(2)?;
    flops = flops.checked_add(&dequant)?;
    ctx.add_flops(&flops)
}

#[cfg(test)]
mod tests {
    use crate::graph::DType;
    use crate::ops::testing::NodeTest;
    use crate::ops::testing::{incomplete, ms};
    use crate::report::NodeStatus;
    use crate::shape::Dim;

    /// BERT-base Attention: X [batch, seq, 768], W [768, 2304], bias [2304],
    /// 12 heads of 64. Projection MACs = 768·2304 = 1,769,472 per token;
    /// FLOPs 2× = 3,538,944 per token (with bias).
    /// Core: scores = 12·seq² per batch; MACs 12·seq²·128 = 1536·seq².
    /// FLOPs per score 2·64 + 5 + 2·64 = 261 → 3132·seq², minus rows·(2 + 64)
    /// = 12·seq·66 = 792·seq.
    #[test]
    fn attention_bert_symbolic() {
        let r = ms("Attention")
            .input_sym(&["batch", "seq", "768"])
            .weight(&[768, 2304])
            .weight(&[2304])
            .int("num_heads", 12)
            .run_outputs(2);
        assert_eq!(r.shape(0), "batchxseqx768");
        assert_eq!(r.macs_expr(), "1536*batch*seq^2 + 1769472*batch*seq");
        assert_eq!(r.flops_expr(), "3132*batch*seq^2 + 3538152*batch*seq");
        assert_eq!(r.params(), 768 * 2304 + 2304);
    }

    /// BERT-base QAttention (onnxruntime's quantizer): the same shapes with
    /// X uint8 and W int8. The projection is integer: MACs 1,769,472 per
    /// token, int ops 2304·(2·768 − 1) = 3,536,640, and back to float 2·2304
    /// = 4608 FLOPs (scale, bias). The core as Attention: 3132·seq² −
    /// 792·seq. W is 1,769,472 parameters in as many bytes; the float bias
    /// 2304 more in 9216 bytes.
    #[test]
    fn qattention_bert_symbolic() {
        let r = ms("QAttention")
            .input_dims(
                vec![Dim::sym("batch"), Dim::sym("seq"), Dim::int(768)],
                DType::U8,
            )
            .weight_typed(&[768, 2304], DType::I8)
            .weight(&[2304])
            .weight(&[])
            .weight(&[])
            .none()
            .input_dims(vec![], DType::U8)
            .input_dims(vec![], DType::I8)
            .int("num_heads", 12)
            .run_outputs(2);
        assert_eq!(r.shape(0), "batchxseqx768");
        assert_eq!(r.macs_expr(), "1536*batch*seq^2 + 1769472*batch*seq");
        assert_eq!(r.int_ops_expr(), "3536640*batch*seq");
        assert_eq!(r.flops_expr(), "3132*batch*seq^2 + 3816*batch*seq");
        assert_eq!((r.params(), r.param_bytes()), (1_771_776, 1_778_688));
    }

    /// Causal (unidirectional) GPT-2-like Attention with a past: X [1, 4, 8],
    /// W [8, 24] (no bias), 2 heads of 4, past [2, 1, 2, 6, 4] → S_t = 10.
    /// Projection: MACs 4·24·8 = 768; FLOPs 2·768 − 96 = 1440.
    /// Causal scores per head: 4·(10 − 4) + 4·5/2 = 34; 2 heads → 68.
    /// Core MACs = 68·(4 + 4) = 544; FLOPs = 68·(8 + 5 + 8) − 8·(2 + 4)
    /// = 1428 − 48 = 1380. Totals: MACs 1312, FLOPs 2820.
    /// Present [2, 1, 2, 10, 4].
    #[test]
    fn attention_unidirectional_with_past() {
        let r = ms("Attention")
            .input(&[1, 4, 8])
            .weight(&[8, 24])
            .none()
            .none()
            .input(&[2, 1, 2, 6, 4])
            .int("num_heads", 2)
            .int("unidirectional", 1)
            .run_outputs(2);
        assert_eq!(r.shape(0), "1x4x8");
        assert_eq!(r.shape(1), "2x1x2x10x4");
        assert_eq!(r.macs(), 1312);
        assert_eq!(r.flops(), 2820);
        // The full matrix would be 2·4·10 = 80 scores: 80·8 + 768 = 1408 MACs.
        let full = ms("Attention")
            .input(&[1, 4, 8])
            .weight(&[8, 24])
            .none()
            .none()
            .input(&[2, 1, 2, 6, 4])
            .int("num_heads", 2)
            .run_outputs(2);
        assert_eq!(full.macs(), 1408);
    }

    /// qkv_hidden_sizes [8, 8, 16] with 2 heads: d = 4, d_v = 8, output
    /// [1, 3, 16]. Projection 3·32·8 = 768 MACs, with bias 1536 FLOPs.
    /// Core: 2·3·3 = 18 scores · (4 + 8) = 216 MACs; FLOPs
    /// 18·(8 + 5 + 16) − 6·(2 + 8) = 522 − 60 = 462.
    #[test]
    fn attention_qkv_hidden_sizes_and_errors() {
        let r = ms("Attention")
            .input(&[1, 3, 8])
            .weight(&[8, 32])
            .weight(&[32])
            .int("num_heads", 2)
            .ints_attr("qkv_hidden_sizes", &[8, 8, 16])
            .run();
        assert_eq!(r.shape(0), "1x3x16");
        assert_eq!(r.macs(), 768 + 216);
        assert_eq!(r.flops(), 1536 + 462);
        let bad = ms("Attention")
            .input(&[1, 3, 8])
            .weight(&[8, 32])
            .int("num_heads", 2)
            .ints_attr("qkv_hidden_sizes", &[8, 8, 8])
            .run();
        assert!(incomplete(&bad, "add up"));
        let no_heads = ms("Attention").input(&[1, 3, 8]).weight(&[8, 24]).run();
        assert!(incomplete(&no_heads, "num_heads"));
        let wrong_in = ms("Attention")
            .input(&[1, 3, 9])
            .weight(&[8, 24])
            .int("num_heads", 2)
            .run();
        assert!(incomplete(&wrong_in, "does not match"));
    }

    /// Causal with symbolic seq and no past: K = seq·(seq + 1)/2 per head.
    /// 12 heads, d = 64: MACs = 12·128·(seq² + seq)/2 = 768·seq² + 768·seq
    /// per batch; FLOPs = 12·261·(seq² + seq)/2 − 12·seq·66
    /// = 1566·seq² + 1566·seq − 792·seq = 1566·seq² + 774·seq.
    /// (Projection as in the BERT test.)
    #[test]
    fn attention_causal_symbolic_halves_exactly() {
        let r = ms("Attention")
            .input_sym(&["batch", "seq", "768"])
            .weight(&[768, 2304])
            .weight(&[2304])
            .int("num_heads", 12)
            .int("unidirectional", 1)
            .run();
        assert_eq!(r.macs_expr(), "768*batch*seq^2 + 1770240*batch*seq");
        assert_eq!(r.flops_expr(), "1566*batch*seq^2 + 3539718*batch*seq");
    }

    /// Causal with symbolic seq and an odd per-score cost times heads: 3
    /// heads of 4, per score 8 + 5 + 8 = 21, 3·21 = 63 is odd, so the half
    /// `63·(seq² + seq)/2` keeps a denominator: FLOPs (63·seq² + 63·seq)/2 −
    /// 18·seq = (63·seq² + 27·seq)/2 per batch; MACs 3·8·(seq² + seq)/2 =
    /// 12·seq² + 12·seq. With seq = 5 that is the concrete count: 3·15 = 45
    /// scores, MACs 360, FLOPs 45·21 − 15·6 = 855 = (63·25 + 27·5)/2.
    #[test]
    fn causal_count_with_an_odd_coefficient_is_exact() {
        let r = ms("MultiHeadAttention")
            .input_sym(&["batch", "seq", "12"])
            .input_sym(&["batch", "seq", "12"])
            .input_sym(&["batch", "seq", "12"])
            .int("num_heads", 3)
            .int("unidirectional", 1)
            .run();
        assert_eq!(r.macs_expr(), "12*batch*seq^2 + 12*batch*seq");
        assert_eq!(r.flops_expr(), "(63*batch*seq^2 + 27*batch*seq)/2");
        let at_5 = r.node().flops().unwrap();
        let at_5 = at_5
            .substitute(&|s| Some(if s == "seq" { 5 } else { 1 }))
            .unwrap();
        assert_eq!(at_5.as_constant(), Some(855));
        let c = ms("MultiHeadAttention")
            .input(&[1, 5, 12])
            .input(&[1, 5, 12])
            .input(&[1, 5, 12])
            .int("num_heads", 3)
            .int("unidirectional", 1)
            .run();
        assert_eq!(c.macs(), 360);
        assert_eq!(c.flops(), 855);
    }

    /// Non-causal MultiHeadAttention and the opset-23 Attention agree on
    /// the same geometry: Q/K/V [2, 5, 64], 8 heads of 8: scores 2·8·25 =
    /// 400, MACs 400·16 = 6400; FLOPs 400·(16 + 5 + 16) − 80·10 = 14,000.
    #[test]
    fn mha_matches_opset23_attention() {
        let mha = ms("MultiHeadAttention")
            .input(&[2, 5, 64])
            .input(&[2, 5, 64])
            .input(&[2, 5, 64])
            .int("num_heads", 8)
            .run();
        let onnx = NodeTest::new("Attention")
            .opset(23)
            .input(&[2, 5, 64])
            .input(&[2, 5, 64])
            .input(&[2, 5, 64])
            .int("q_num_heads", 8)
            .int("kv_num_heads", 8)
            .run();
        assert_eq!(mha.macs(), 6400);
        assert_eq!(mha.flops(), 14_000);
        assert_eq!((onnx.macs(), onnx.flops()), (mha.macs(), mha.flops()));
    }

    /// MultiHeadAttention with separate Q/K/V [batch, seq, 64], bias [192],
    /// 4 heads of 16, past_key/past_value [batch, 4, past, 16]:
    /// S_t = past + seq. Scores 4·seq·(past + seq) per batch.
    /// MACs = 32·4·seq·(past + seq) = 128·past·seq + 128·seq².
    /// FLOPs per score 32 + 5 + 32 = 69 → 276·seq·(past + seq), minus
    /// rows·18 = 72·seq; bias: 3·64·seq = 192·seq → + 120·seq net.
    #[test]
    fn mha_with_bias_and_past() {
        let qkv = ["batch", "seq", "64"];
        let past = ["batch", "4", "past", "16"];
        let r = ms("MultiHeadAttention")
            .input_sym(&qkv)
            .input_sym(&qkv)
            .input_sym(&qkv)
            .weight(&[192])
            .none()
            .none()
            .input_sym(&past)
            .input_sym(&past)
            .int("num_heads", 4)
            .run_outputs(3);
        assert_eq!(r.shape(0), "batchxseqx64");
        assert_eq!(r.shape(1), "batchx4x(past + seq)x16");
        assert_eq!(r.macs_expr(), "128*batch*past*seq + 128*batch*seq^2");
        assert_eq!(
            r.flops_expr(),
            "276*batch*past*seq + 276*batch*seq^2 + 120*batch*seq"
        );
        assert_eq!(r.params(), 192);
    }

    /// Cross-attention with 4-D keys [2, 2, 5, 4] (no past concat), query
    /// [2, 3, 8], 2 heads, causal: 5 keys, 3 queries, offset 2: per head
    /// 3·2 + 6 = 12 scores; 2·2 heads → 48 scores. MACs 48·8 = 384;
    /// FLOPs 48·21 − 12·6 = 1008 − 72 = 936. A float attention_bias adds
    /// one per score (causal kept): 936 + 48 = 984.
    #[test]
    fn mha_cross_attention_causal() {
        let r = ms("MultiHeadAttention")
            .input(&[2, 3, 8])
            .input(&[2, 2, 5, 4])
            .input(&[2, 2, 5, 4])
            .int("num_heads", 2)
            .int("unidirectional", 1)
            .run_outputs(3);
        assert_eq!(r.shape(0), "2x3x8");
        assert_eq!(r.shape(1), "2x2x5x4");
        assert_eq!(r.macs(), 384);
        assert_eq!(r.flops(), 936);
        let biased = ms("MultiHeadAttention")
            .input(&[2, 3, 8])
            .input(&[2, 2, 5, 4])
            .input(&[2, 2, 5, 4])
            .none()
            .none()
            .input(&[2, 2, 3, 5])
            .int("num_heads", 2)
            .int("unidirectional", 1)
            .run();
        assert_eq!(biased.flops(), 984);
        let bad = ms("MultiHeadAttention")
            .input(&[2, 3, 8])
            .input(&[2, 5])
            .input(&[2, 5])
            .int("num_heads", 2)
            .run();
        assert!(incomplete(&bad, "rank 2"));
    }

    /// GQA decoding: query [1, 1, 64] (8 heads of 8), key/value [1, 1, 16]
    /// (2 KV heads), past [1, 2, 7, 8], total_sequence_length = 8: one query
    /// sees 8 keys (causal offset 7): 8 scores per head, 64 in all.
    /// MACs = 64·16 = 1024; FLOPs = 64·(16 + 5 + 16) − 8·(2 + 8)
    /// = 2368 − 80 = 2288. Present [1, 2, 8, 8].
    #[test]
    fn gqa_decoding_step() {
        let r = gqa_decoding(None);
        assert_eq!(r.shape(0), "1x1x64");
        assert_eq!(r.shape(1), "1x2x8x8");
        assert_eq!(r.macs(), 1024);
        assert_eq!(r.flops(), 2288);
    }

    /// local_window_size 3: each query sees itself and the 3 keys before
    /// it, as onnxruntime's kernels. A 6-token prompt's rows see min(i + 1,
    /// 4) keys, 1 + 2 + 3 + 4 + 4 + 4 = 18 per head (21 causal), 144 for 8
    /// heads: MACs 144·16 = 2304, FLOPs 144·37 − 48·10 = 4848. The decoding
    /// step above sees 4 of its 8 keys: 32 scores, MACs 512, FLOPs 32·37 −
    /// 8·10 = 1104. local_window_size 0: each query sees itself only, 6
    /// scores per head.
    #[test]
    fn gqa_sliding_window() {
        let prompt = |window: i64| {
            ms("GroupQueryAttention")
                .input(&[1, 6, 64])
                .input(&[1, 6, 16])
                .input(&[1, 6, 16])
                .none()
                .none()
                .input_dims(vec![Dim::int(1)], DType::I32)
                .input_unknown()
                .int("num_heads", 8)
                .int("kv_num_heads", 2)
                .int("local_window_size", window)
                .run_outputs(3)
        };
        let r = prompt(3);
        assert_eq!((r.macs(), r.flops()), (2304, 4848));
        // A window wider than the prompt changes nothing: 21 per head.
        let wide = prompt(16);
        assert_eq!(wide.macs(), 8 * 21 * 16);
        assert_eq!(prompt(0).macs(), 8 * 6 * 16);
        let decode = gqa_decoding(Some(3));
        assert_eq!((decode.macs(), decode.flops()), (512, 1104));
    }

    /// A symbolic prompt under a window of 4: with m = min(seq, 4), per
    /// head m·(m + 1)/2 + (seq − m)·m scores; at seq = 6 that is 10 + 8 =
    /// 18, as the concrete count above (144 for 8 heads). One decoding
    /// step after `ctx` cached tokens sees min(ctx + 1, 4) keys.
    #[test]
    fn gqa_sliding_window_symbolic() {
        let r = ms("GroupQueryAttention")
            .input_sym(&["1", "seq", "64"])
            .input_sym(&["1", "seq", "16"])
            .input_sym(&["1", "seq", "16"])
            .none()
            .none()
            .input_dims(vec![Dim::int(1)], DType::I32)
            .input_unknown()
            .int("num_heads", 8)
            .int("kv_num_heads", 2)
            .int("local_window_size", 3)
            .run_outputs(3);
        let macs = r.node().cost.clone().unwrap().macs;
        let at = |seq: i128| {
            macs.substitute(&|s: &str| (s == "seq").then_some(seq))
                .unwrap()
                .as_constant()
                .unwrap()
        };
        assert_eq!(at(6), 2304);
        assert_eq!(at(3), 8 * 6 * 16); // 1 + 2 + 3 keys
        assert_eq!(at(100), 8 * (10 + 96 * 4) * 16);
        let decode = ms("GroupQueryAttention")
            .input(&[1, 1, 64])
            .input(&[1, 1, 16])
            .input(&[1, 1, 16])
            .input_sym(&["1", "2", "ctx", "8"])
            .input_sym(&["1", "2", "ctx", "8"])
            .input_dims(vec![Dim::int(1)], DType::I32)
            .input_unknown()
            .int("num_heads", 8)
            .int("kv_num_heads", 2)
            .int("local_window_size", 3)
            .run_outputs(3);
        assert_eq!(decode.macs_expr(), "128*min(ctx + 1, 4)");
    }

    /// One decoding step of 8 query heads of 8 over 2 KV heads, 7 cached
    /// positions, total_sequence_length 8; optionally a sliding window.
    fn gqa_decoding(window: Option<i64>) -> crate::ops::testing::Outcome {
        let mut t = ms("GroupQueryAttention")
            .input(&[1, 1, 64])
            .input(&[1, 1, 16])
            .input(&[1, 1, 16])
            .input(&[1, 2, 7, 8])
            .input(&[1, 2, 7, 8])
            .input_dims(vec![Dim::int(1)], DType::I32)
            .ints(&[8])
            .int("num_heads", 8)
            .int("kv_num_heads", 2);
        if let Some(w) = window {
            t = t.int("local_window_size", w);
        }
        t.run_outputs(3)
    }

    /// GQA prompt with symbolic seq, no past, total unknown → S_t = seq:
    /// K = seq·(seq + 1)/2 per head; 8 heads, d = 8:
    /// MACs = 8·16·(seq² + seq)/2 = 64·seq² + 64·seq per batch.
    /// FLOPs = 8·37·(seq² + seq)/2 − 8·seq·10 = 148·seq² + 68·seq.
    /// do_rotary with cos_cache [max, 4] → r = 8: 3·8·(8 + 2)·seq = 240·seq.
    #[test]
    fn gqa_prompt_symbolic_with_rotary() {
        let r = ms("GroupQueryAttention")
            .input_sym(&["batch", "seq", "64"])
            .input_sym(&["batch", "seq", "16"])
            .input_sym(&["batch", "seq", "16"])
            .none()
            .none()
            .input_sym(&["batch"])
            .input_unknown()
            .weight(&[128, 4])
            .weight(&[128, 4])
            .int("num_heads", 8)
            .int("kv_num_heads", 2)
            .int("do_rotary", 1)
            .run_outputs(3);
        assert_eq!(r.shape(1), "batchx2xseqx8");
        assert_eq!(r.macs_expr(), "64*batch*seq^2 + 64*batch*seq");
        assert_eq!(r.flops_expr(), "148*batch*seq^2 + 308*batch*seq");
        assert_eq!(r.params(), 0);
        let bad = ms("GroupQueryAttention")
            .input(&[1, 1, 64])
            .input(&[1, 1, 16])
            .input(&[1, 1, 16])
            .int("num_heads", 8)
            .int("kv_num_heads", 3)
            .run();
        assert!(incomplete(&bad, "multiple"));
    }

    /// Packed QKV [1, 4, 96] with 4 + 2·2 = 8 head slots of 12 → d = 12;
    /// causal, 4 heads, S = S_t = 4: K = 10 per head, 40 scores.
    /// MACs = 40·24 = 960; FLOPs = 40·(24 + 5 + 24) − 16·14 = 2120 − 224
    /// = 1896. softcap adds 3 per score: 2016.
    #[test]
    fn gqa_packed_qkv_and_softcap() {
        let r = ms("GroupQueryAttention")
            .input(&[1, 4, 96])
            .int("num_heads", 4)
            .int("kv_num_heads", 2)
            .run_outputs(3);
        assert_eq!(r.shape(0), "1x4x48");
        assert_eq!(r.macs(), 960);
        assert_eq!(r.flops(), 1896);
        let capped = ms("GroupQueryAttention")
            .input(&[1, 4, 96])
            .int("num_heads", 4)
            .int("kv_num_heads", 2)
            .float("softcap", 30.0)
            .run();
        assert_eq!(capped.flops(), 2016);
    }

    /// BERT SkipLayerNorm [batch, seq, 768] with beta and bias: per row
    /// 768 skip + 768 bias + 7·768 + 3 = 6915. Without beta and bias:
    /// 768 + 6·768 + 3 = 5379. Params 3·768.
    #[test]
    fn skip_layer_norm_bert() {
        let r = ms("SkipLayerNormalization")
            .input_sym(&["batch", "seq", "768"])
            .input_sym(&["batch", "seq", "768"])
            .weight(&[768])
            .weight(&[768])
            .weight(&[768])
            .run_outputs(4);
        assert_eq!(r.shape(0), "batchxseqx768");
        assert_eq!(r.shape(1), "batchxseqx1");
        assert_eq!(r.shape(3), "batchxseqx768");
        assert_eq!(r.flops_expr(), "6915*batch*seq");
        assert_eq!(r.params(), 3 * 768);
        let bare = ms("SkipLayerNormalization")
            .input(&[2, 3, 8])
            .input(&[2, 3, 8])
            .weight(&[8])
            .run();
        // rows 6 · (8 + 48 + 3) = 354.
        assert_eq!(bare.flops(), 354);
        let bad = ms("SkipLayerNormalization")
            .input(&[2, 3, 8])
            .input(&[2, 3, 7])
            .weight(&[8])
            .run();
        assert!(incomplete(&bad, "skip hidden size"));
    }

    /// SkipSimplifiedLayerNorm [2, 4, 16] with bias: 8 rows · (16 + 16 +
    /// 4·16 + 3) = 8·99 = 792. SimplifiedLayerNorm [batch, seq, 64]: 259
    /// per row; axis 1 of [2, 3, 4] → rows 2, n 12: 2·51 = 102.
    #[test]
    fn simplified_norms() {
        let r = ms("SkipSimplifiedLayerNormalization")
            .input(&[2, 4, 16])
            .input(&[2, 4, 16])
            .weight(&[16])
            .weight(&[16])
            .run_outputs(4);
        assert_eq!(r.flops(), 792);
        assert_eq!(r.shape(2), "2x4x1");
        let rms = ms("SimplifiedLayerNormalization")
            .input_sym(&["batch", "seq", "64"])
            .weight(&[64])
            .run_outputs(2);
        assert_eq!(rms.flops_expr(), "259*batch*seq");
        assert_eq!(rms.shape(1), "batchxseqx1");
        assert_eq!(rms.params(), 64);
        let ax = ms("SimplifiedLayerNormalization")
            .input(&[2, 3, 4])
            .weight(&[3, 4])
            .int("axis", 1)
            .run();
        assert_eq!(ax.flops(), 102);
        let bad = ms("SimplifiedLayerNormalization")
            .input(&[2, 3, 4])
            .weight(&[4])
            .int("axis", 3)
            .run();
        assert!(incomplete(&bad, "out of range"));
    }

    /// [batch, seq, 3072]: BiasGelu 6, FastGelu 9 (10 with bias), QuickGelu
    /// 6, Gelu 5 per element.
    #[test]
    fn gelu_variants() {
        let x = ["batch", "seq", "3072"];
        let bg = ms("BiasGelu").input_sym(&x).weight(&[3072]).run();
        assert_eq!(bg.shape(0), "batchxseqx3072");
        assert_eq!(bg.flops_expr(), "18432*batch*seq");
        assert_eq!(bg.params(), 3072);
        let fg = ms("FastGelu").input_sym(&x).weight(&[3072]).run();
        assert_eq!(fg.flops_expr(), "30720*batch*seq");
        let fg0 = ms("FastGelu").input_sym(&x).run();
        assert_eq!(fg0.flops_expr(), "27648*batch*seq");
        let q = ms("QuickGelu").input(&[2, 5]).float("alpha", 1.702).run();
        assert_eq!(q.flops(), 60);
        let g = ms("Gelu").input(&[2, 5]).run();
        assert_eq!(g.flops(), 50);
        let bad = ms("BiasGelu").input(&[2, 5]).weight(&[4]).run();
        assert!(matches!(bad.status(), NodeStatus::Incomplete { .. }));
    }

    /// FusedMatMul A [batch, 4, 8, 16] · Bᵀ with B [batch, 4, 32, 16]
    /// (transB), alpha 0.125: output [batch, 4, 8, 32]; outputs 1024·batch;
    /// MACs 16384·batch; FLOPs 1024·31 + 1024 = 32768 per batch.
    #[test]
    fn fused_matmul_trans_and_alpha() {
        let r = ms("FusedMatMul")
            .input_sym(&["batch", "4", "8", "16"])
            .input_sym(&["batch", "4", "32", "16"])
            .int("transB", 1)
            .float("alpha", 0.125)
            .run();
        assert_eq!(r.shape(0), "batchx4x8x32");
        assert_eq!(r.macs_expr(), "16384*batch");
        assert_eq!(r.flops_expr(), "32768*batch");
        // transA: A [16, 8] → 8x16 times [16, 4]: 32 outputs, MACs 512, FLOPs 992.
        let ta = ms("FusedMatMul")
            .input(&[16, 8])
            .input(&[16, 4])
            .int("transA", 1)
            .run();
        assert_eq!(ta.shape(0), "8x4");
        assert_eq!(ta.macs(), 512);
        assert_eq!(ta.flops(), 992);
        let bad = ms("FusedMatMul").input(&[3, 8]).input(&[16, 4]).run();
        assert!(incomplete(&bad, "inner dimensions"));
    }

    /// transBatchA reads A [3, 2, 5] as [2, 3, 5] (axis 0 moved behind the
    /// batch axes); with B [2, 5, 4]: output [2, 3, 4], 24 outputs, MACs
    /// 24·5 = 120, FLOPs 24·9 = 216. transBatchB with transB reads B [4, 2,
    /// 5] as [2, 4, 5], then as [2, 5, 4]: the same product. transBatchA on
    /// a matrix is an error.
    #[test]
    fn fused_matmul_trans_batch() {
        let a = ms("FusedMatMul")
            .input(&[3, 2, 5])
            .input(&[2, 5, 4])
            .int("transBatchA", 1)
            .run();
        assert_eq!(
            (a.shape(0), a.macs(), a.flops()),
            ("2x3x4".into(), 120, 216)
        );
        let b = ms("FusedMatMul")
            .input(&[2, 3, 5])
            .input(&[4, 2, 5])
            .int("transBatchB", 1)
            .int("transB", 1)
            .run();
        assert_eq!(
            (b.shape(0), b.macs(), b.flops()),
            ("2x3x4".into(), 120, 216)
        );
        let bad = ms("FusedMatMul")
            .input(&[3, 5])
            .input(&[5, 4])
            .int("transBatchA", 1)
            .run();
        assert!(incomplete(&bad, "rank ≥ 3"));
    }

    /// com.microsoft RotaryEmbedding on [batch, seq, 64] with 4 heads (h =
    /// 16), caches [128, 8] → r = 16: 3·16 per head vector → 192·batch·seq.
    /// rotary_embedding_dim = 8 → 96·batch·seq. num_heads = 0 → head size =
    /// rotary dim (16): vectors = 4 per token, same 192.
    #[test]
    fn ms_rotary_embedding() {
        let run = |heads: i64, rot: i64| {
            let mut t = ms("RotaryEmbedding")
                .input_sym(&["batch", "seq", "64"])
                .input_sym(&["batch", "seq"])
                .weight(&[128, 8])
                .weight(&[128, 8])
                .int("num_heads", heads);
            if rot > 0 {
                t = t.int("rotary_embedding_dim", rot);
            }
            t.run()
        };
        let r = run(4, 0);
        assert_eq!(r.shape(0), "batchxseqx64");
        assert_eq!(r.flops_expr(), "192*batch*seq");
        assert_eq!(r.params(), 0);
        assert_eq!(run(4, 8).flops_expr(), "96*batch*seq");
        assert_eq!(run(0, 0).flops_expr(), "192*batch*seq");
        assert!(incomplete(&run(4, 3), "even"));
    }

    /// BERT embeddings: ids [batch, seq], segment ids, word [30522, 768],
    /// position [512, 768], segment [2, 768], gamma, beta: per token 2·768
    /// adds + 7·768 + 3 = 6915. Params = (30522 + 512 + 2 + 2)·768.
    #[test]
    fn embed_layer_norm_bert() {
        let r = ms("EmbedLayerNormalization")
            .input_dims(vec![Dim::sym("batch"), Dim::sym("seq")], DType::I32)
            .input_dims(vec![Dim::sym("batch"), Dim::sym("seq")], DType::I32)
            .weight(&[30522, 768])
            .weight(&[512, 768])
            .weight(&[2, 768])
            .weight(&[768])
            .weight(&[768])
            .run_outputs(2);
        assert_eq!(r.shape(0), "batchxseqx768");
        assert_eq!(r.shape(1), "batch");
        assert_eq!(r.node().outputs[1].dtype, Some(DType::I32));
        assert_eq!(r.flops_expr(), "6915*batch*seq");
        assert_eq!(r.params(), (30522 + 512 + 2 + 2) * 768);
        let bad = ms("EmbedLayerNormalization")
            .input(&[2, 3])
            .none()
            .weight(&[100, 16])
            .weight(&[512, 8])
            .run();
        assert!(incomplete(&bad, "width"));
    }

    /// Phi-3-mini-like MatMulNBits: A [batch, seq, 3072], K = 3072, N = 8192,
    /// 4 bits, block 32: B [8192, 96, 16]. MACs = 3072·8192 = 25,165,824
    /// per token; FLOPs = 8192·6143 = 50,323,456 per token + 2·8192·3072 =
    /// 50,331,648 dequantization (constant). The packed B (an initializer
    /// here) is 8192·3072 = 25,165,824 parameters stored in 8192·96·16 =
    /// 12,582,912 bytes (4 bits each); the bias adds 8192 parameters, 32,768
    /// bytes. Scales [8192·96]: configuration.
    #[test]
    fn matmul_nbits_4bit() {
        let r = ms("MatMulNBits")
            .input_sym(&["batch", "seq", "3072"])
            .weight_typed(&[8192, 96, 16], DType::U8)
            .weight(&[8192 * 96])
            .none()
            .none()
            .weight(&[8192])
            .int("K", 3072)
            .int("N", 8192)
            .int("bits", 4)
            .int("block_size", 32)
            .run();
        assert_eq!(r.shape(0), "batchxseqx8192");
        assert_eq!(r.macs_expr(), "25165824*batch*seq");
        // + 8192 per token for the bias.
        assert_eq!(r.flops_expr(), "50331648*batch*seq + 50331648");
        assert_eq!(r.params(), 25_165_824 + 8192);
        assert_eq!(r.param_bytes(), 12_582_912 + 32_768);
        assert_eq!(r.report.totals.params, 25_174_016);
        // K = 40 is not a multiple of the block (32): B stores 2 blocks of
        // 16 bytes per row, 3·2·16 = 96 bytes, room for 192 4-bit values,
        // but holds 3·40 = 120 weights.
        let padded = ms("MatMulNBits")
            .input(&[1, 40])
            .weight_typed(&[3, 2, 16], DType::U8)
            .weight(&[6])
            .int("K", 40)
            .int("N", 3)
            .int("block_size", 32)
            .run();
        assert_eq!((padded.params(), padded.param_bytes()), (120, 96));
        // An inconsistent node keeps the stored count, 96 elements.
        let broken = ms("MatMulNBits")
            .input(&[1, 40])
            .weight_typed(&[3, 2, 16], DType::U8)
            .int("K", 40)
            .run();
        assert!(incomplete(&broken, "'N'"));
        assert_eq!(broken.params(), 96);
        // Small: A [2, 8], K 8, N 4, block 16 (one block, blob 8), bias:
        // MACs 2·4·8 = 64; FLOPs 8·15 + 8 + 2·4·8 = 192.
        let small = ms("MatMulNBits")
            .input(&[2, 8])
            .input_dims(vec![Dim::int(4), Dim::int(1), Dim::int(8)], DType::U8)
            .weight(&[4])
            .none()
            .none()
            .weight(&[4])
            .int("K", 8)
            .int("N", 4)
            .int("block_size", 16)
            .run();
        assert_eq!(small.shape(0), "2x4");
        assert_eq!(small.macs(), 64);
        assert_eq!(small.flops(), 192);
        assert_eq!(small.params(), 4);
        let bad = ms("MatMulNBits")
            .input(&[2, 8])
            .input_dims(vec![Dim::int(4), Dim::int(2), Dim::int(8)], DType::U8)
            .int("K", 8)
            .int("N", 4)
            .int("block_size", 16)
            .run();
        assert!(incomplete(&bad, "expected 4x1x8"));
        let no_k = ms("MatMulNBits").input(&[2, 8]).input(&[4, 1, 8]).run();
        assert!(incomplete(&no_k, "'K'"));
    }
}
