//! Fused attention operators of the default domain (opset 23): `Attention`
//! and `RotaryEmbedding`. The dynamo exporter emits them for PyTorch's
//! scaled-dot-product attention and for Llama-style rotary embeddings.
//! Also the opset-27 `LinearAttention` (linear, gated, delta and gated
//! delta recurrences) and the preview `FlexAttention` with its
//! `score_mod`/`prob_mod` bodies.

use super::contrib::{attention_core_cost, AttentionCore};
use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::poly::Poly;
use crate::shape::Dim;
use crate::value::Pattern;
use crate::value::ValueFacts;

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "Attention",
        domain: "",
        rule: attention,
        roles: &[],
        cost_doc: "MACs = B·H_q·S_q·S_kv·(d + d_v) (Q·Kᵀ and P·V); FLOPs = B·H_q·S_q·[S_kv·(2d − 1) + S_kv (scale) \
                   (+ S_kv float mask) (+ 3·S_kv softcap) + 5·S_kv − 2 (softmax) + d_v·(2·S_kv − 1)]; \
                   is_causal: only causal scores, row i sees min(S_kv, past + i + 1) keys",
    },
    OpDef {
        op_type: "LinearAttention",
        domain: "",
        rule: linear_attention,
        roles: &[],
        cost_doc: "recurrent, per token: MACs = B·(H_kv·d_k·d_v·(1 write [+1 delta read]) + H_q·d_k·d_v); \
                   FLOPs = B·[H_kv·(2·d_k·d_v write [+ d_k·d_v decay + d_k or 1 exps] [+ 2·d_k·d_v + d_v delta]) \
                   + H_q·2·d_k·d_v (read, scaled)]",
    },
    OpDef {
        op_type: "FlexAttention",
        domain: "ai.onnx.preview",
        rule: flex_attention,
        roles: &[],
        cost_doc: "as Attention without mask: MACs = B·H_q·L·S·(d + d_v); FLOPs = B·H_q·L·[S·(2d + 5 + 2d_v) − 2 − d_v]; \
                   + the score_mod and prob_mod bodies' own cost, run once on the [B, H_q, L, S] tensor",
    },
    OpDef {
        op_type: "RotaryEmbedding",
        domain: "",
        rule: rotary_embedding,
        roles: &[Role::Data, Role::Config, Role::Config, Role::Config],
        cost_doc: "FLOPs = 3 per rotated element (each pair: 4 multiplies, 2 adds); the cos/sin caches are constants",
    },
];

/// Batch, heads, sequence and per-head size of one of Q, K, V: 4-D
/// `[B, H, S, d]`, or 3-D `[B, S, H·d]` with H from an attribute.
struct Heads {
    batch: Dim,
    heads: Dim,
    seq: Dim,
    size: Dim,
    rank: usize,
}

fn heads(ctx: &NodeCtx, input: usize, heads_attr: &str) -> Result<Heads, OpError> {
    let s = ctx.shape(input)?;
    match s.len() {
        4 => Ok(Heads {
            batch: s[0].clone(),
            heads: s[1].clone(),
            seq: s[2].clone(),
            size: s[3].clone(),
            rank: 4,
        }),
        3 => {
            let h = ctx.attr_int(heads_attr, 0)?;
            if h < 1 {
                return Err(OpError::Invalid(format!(
                    "3-D input {input} needs a positive '{heads_attr}' attribute"
                )));
            }
            let h = Dim::int(h);
            let size = s[2].div_exact(&h);
            if s[2].as_i64().is_some() && size.as_i64().is_none() {
                return Err(OpError::Invalid(format!(
                    "hidden size {} of input {input} is not divisible by {heads_attr} = {h}",
                    s[2]
                )));
            }
            Ok(Heads {
                batch: s[0].clone(),
                heads: h,
                seq: s[1].clone(),
                size,
                rank: 3,
            })
        }
        r => Err(OpError::Invalid(format!(
            "input {input} has rank {r}; Attention takes 3-D or 4-D inputs"
        ))),
    }
}

/// The causal offset of the mask at input `i` when nncost proves it
/// causal: a boolean mask with the [`Pattern::Causal`] structure, or a
/// float (additive) one with [`Pattern::AdditiveCausal`].
pub(crate) fn causal_mask(ctx: &NodeCtx, i: usize) -> Option<Poly> {
    if !ctx.has_input(i) {
        return None;
    }
    let facts = ctx.input(i).ok()?;
    match (facts.pattern.as_deref(), facts.dtype) {
        (Some(Pattern::Causal { offset }), Some(DType::Bool)) => Some(offset.clone()),
        (Some(Pattern::AdditiveCausal { offset }), Some(t)) if t.is_float() => Some(offset.clone()),
        _ => None,
    }
}

/// `Attention` (opset 23): softmax(scale · Q·Kᵀ + mask) · V, with optional
/// past key/value concatenated in front of K and V, grouped-query heads
/// (K and V heads shared by several query heads) and soft-capping.
///
/// With `S_t` = past + new key positions, per query head and query position:
/// `S_t` dot products of length d (`S_t·(2d − 1)` FLOPs), `S_t` scalings,
/// `S_t` additions of a float mask (a boolean mask or `is_causal` selects:
/// 0), `3·S_t` for a soft cap `c·tanh(x/c)`, `5·S_t − 2` for the softmax, and
/// `d_v` dot products of length `S_t` (`d_v·(2·S_t − 1)`). With
/// `is_causal`, only the scores a causal kernel computes count: query row
/// `i` sees `min(S_t, past + i + 1)` keys (see
/// `contrib::attention_core_cost`). So with a mask that nncost proves causal
/// (built in the graph from position comparisons or `Trilu`, see
/// [`crate::mask`]): row `i` sees `min(S_t, offset + i + 1)` keys. Any other
/// mask counts every score: the work of a kernel that computes the full
/// score matrix and then masks it.
fn attention(ctx: &mut NodeCtx) -> RuleResult {
    let q = heads(ctx, 0, "q_num_heads")?;
    let k = heads(ctx, 1, "kv_num_heads")?;
    let v = heads(ctx, 2, "kv_num_heads")?;
    let past = if ctx.has_input(4) {
        let p = ctx.shape(4)?;
        p.get(2)
            .cloned()
            .ok_or_else(|| OpError::Invalid("past_key must be 4-D".into()))?
    } else {
        Dim::int(0)
    };
    let total = past.add(&k.seq)?;
    let v_size = v.size.clone();

    let y = if q.rank == 4 {
        vec![
            q.batch.clone(),
            q.heads.clone(),
            q.seq.clone(),
            v_size.clone(),
        ]
    } else {
        vec![q.batch.clone(), q.seq.clone(), q.heads.mul(&v_size)?]
    };
    let dtype = ctx.dtype(0);
    ctx.set_output(0, dtype, y);
    let present = |size: &Dim| {
        vec![
            k.batch.clone(),
            k.heads.clone(),
            total.clone(),
            size.clone(),
        ]
    };
    ctx.set_output(1, dtype, present(&k.size));
    ctx.set_output(2, dtype, present(&v_size));
    ctx.set_output(
        3,
        dtype,
        vec![
            q.batch.clone(),
            q.heads.clone(),
            q.seq.clone(),
            total.clone(),
        ],
    );

    let (b, h, sq) = (
        ctx.known_dim(0, &q.batch)?,
        ctx.known_dim(0, &q.heads)?,
        ctx.known_dim(0, &q.seq)?,
    );
    let (st, d, dv) = (
        ctx.known_dim(0, &total)?,
        ctx.known_dim(0, &q.size)?,
        ctx.known_dim(0, &v_size)?,
    );
    let float_mask = ctx.has_input(3) && ctx.dtype(3).is_some_and(|t| t.is_float());
    let causal_offset = if ctx.attr_int("is_causal", 0)? != 0 {
        Some(ctx.known_dim(0, &past)?)
    } else {
        causal_mask(ctx, 3)
    };
    if let Some(offset) = causal_offset {
        // Only the scores a causal kernel computes: query row i sees
        // min(S_t, past + i + 1) keys (bottom-right after a past cache,
        // top-left without one, as the ONNX reference).
        let core = AttentionCore {
            batch: b,
            heads: h,
            q_len: sq,
            total: st,
            d,
            dv,
            float_bias: float_mask,
            softcap: ctx.attr_float("softcap", 0.0)? > 0.0,
            causal_offset: Some(offset),
            window: None,
        };
        return attention_core_cost(ctx, &core);
    }
    let rows = product([&b, &h, &sq])?;
    let scores = rows.checked_mul(&st)?;
    ctx.add_macs(&scores.checked_mul(&d.checked_add(&dv)?)?)?;

    let one = Poly::constant(1);
    let mut per_score = d.checked_scale(2)?.checked_sub(&one)?; // Q·Kᵀ
    per_score = per_score.checked_add(&one)?; // scale
    if float_mask {
        per_score = per_score.checked_add(&one)?;
    }
    if ctx.attr_float("softcap", 0.0)? > 0.0 {
        per_score = per_score.checked_add(&Poly::constant(3))?;
    }
    per_score = per_score.checked_add(&Poly::constant(5))?; // softmax: 5 per score …
    let mut flops = scores.checked_mul(&per_score)?;
    flops = flops.checked_sub(&rows.checked_scale(2)?)?; // … − 2 per row
    let pv = rows
        .checked_mul(&dv)?
        .checked_mul(&st.checked_scale(2)?.checked_sub(&one)?)?;
    flops = flops.checked_add(&pv)?;
    ctx.add_flops(&flops)
}

/// `LinearAttention` (opset 27): query `[B, T, H_q·d_k]`, key `[B, T,
/// H_kv·d_k]`, value `[B, T, H_kv·d_v]`, optional `past_state` `[B, H_kv,
/// d_k, d_v]`, `decay` `[B, T, H_kv·d_k]` (per key dimension) or `[B, T,
/// H_kv]` (per head), `beta` `[B, T, H_kv]` or `[B, T, 1]` → output `[B, T,
/// H_q·d_v]` and `present_state` `[B, H_kv, d_k, d_v]` (in `past_state`'s
/// dtype, else the query's).
///
/// Counted as the recurrence the operator defines, token by token (the
/// chunk-parallel form a GPU kernel may use, tuned by `chunk_size`, gives
/// the same outputs with a different amount of work; nncost counts the
/// defining recurrence, so `chunk_size` does not change the count). Per
/// token and batch row, for each of the `H_kv` states `S` (`d_k × d_v`):
/// - `gated`, `gated_delta`: `exp(g)` (`d_k` exps per head, or 1 for a
///   per-head decay) and `S ← exp(g)·S`, `d_k·d_v` multiplies;
/// - `delta`, `gated_delta`: the read-back `Sᵀ·k`, `d_v` dot products of
///   length `d_k` (`d_k·d_v` MACs, `d_v·(2d_k − 1)` FLOPs), `v − Sᵀk` and
///   `β·(…)`, `2·d_v`: `2·d_k·d_v + d_v`;
/// - the write `S ← S + k ⊗ v`: `d_k·d_v` multiply–accumulates (over the
///   tokens, `S` is the dot product `Σₜ kₜ vₜᵀ`), `2·d_k·d_v` FLOPs;
///
/// and for each of the `H_q` query heads the read `scale·qᵀS`: `d_v` dot
/// products of length `d_k` and `d_v` scalings, `d_k·d_v` MACs and
/// `2·d_k·d_v` FLOPs. Grouped heads share a state: the write and decay are
/// per KV head, the read per query head. The first token's products with a
/// zero state are counted like any other.
fn linear_attention(ctx: &mut NodeCtx) -> RuleResult {
    for (i, name) in [(0, "query"), (1, "key"), (2, "value")] {
        let r = ctx.rank(i)?;
        if r != 3 {
            return Err(OpError::Invalid(format!(
                "LinearAttention's {name} must be 3-D [B, T, H·d], got rank {r}"
            )));
        }
    }
    let hq = ctx.attr_int("q_num_heads", 0)?;
    let hkv = ctx.attr_int("kv_num_heads", 0)?;
    if hq < 1 || hkv < 1 || hq % hkv != 0 {
        return Err(OpError::Invalid(format!(
            "q_num_heads ({hq}) must be a positive multiple of kv_num_heads ({hkv})"
        )));
    }
    let rule = ctx.attr_str("update_rule")?.unwrap_or("gated_delta");
    let (gated, delta) = match rule {
        "linear" => (false, false),
        "gated" => (true, false),
        "delta" => (false, true),
        "gated_delta" => (true, true),
        other => {
            return Err(OpError::Invalid(format!(
                "update_rule '{other}' is not linear, gated, delta or gated_delta"
            )))
        }
    };
    if gated != ctx.has_input(4) {
        return Err(OpError::Invalid(format!(
            "update_rule '{rule}' {} the decay input (4)",
            if gated { "requires" } else { "forbids" }
        )));
    }
    if delta != ctx.has_input(5) {
        return Err(OpError::Invalid(format!(
            "update_rule '{rule}' {} the beta input (5)",
            if delta { "requires" } else { "forbids" }
        )));
    }
    let q = heads(ctx, 0, "q_num_heads")?;
    let k = heads(ctx, 1, "kv_num_heads")?;
    let v = heads(ctx, 2, "kv_num_heads")?;
    if let (Some(a), Some(b)) = (q.size.as_i64(), k.size.as_i64()) {
        if a != b {
            return Err(OpError::Invalid(format!(
                "query's head size {a} (H_q = {hq}) differs from key's {b} (H_kv = {hkv})"
            )));
        }
    }
    let (hq_p, hkv_p) = (Poly::from(hq), Poly::from(hkv));
    let dtype = ctx.dtype(0);
    ctx.set_output(
        0,
        dtype,
        vec![
            q.batch.clone(),
            q.seq.clone(),
            Dim::Known(hq_p.clone()).mul(&v.size)?,
        ],
    );
    let state_dtype = if ctx.has_input(3) {
        ctx.dtype(3)
    } else {
        dtype
    };
    ctx.set_output(
        1,
        state_dtype,
        vec![
            q.batch.clone(),
            Dim::Known(hkv_p.clone()),
            q.size.clone(),
            v.size.clone(),
        ],
    );
    if ctx.has_input(3) {
        let p = ctx.shape(3)?;
        if p.len() != 4 {
            return Err(OpError::Invalid(format!(
                "past_state must be 4-D [B, H_kv, d_k, d_v], got rank {}",
                p.len()
            )));
        }
    }

    let (b, t) = (ctx.known_dim(0, &q.batch)?, ctx.known_dim(0, &q.seq)?);
    let (dk, dv) = (ctx.known_dim(0, &q.size)?, ctx.known_dim(0, &v.size)?);
    let state = dk.checked_mul(&dv)?;
    // Per token and batch row.
    let mut macs = hkv_p.checked_add(&hq_p)?.checked_mul(&state)?;
    let mut kv_flops = state.checked_scale(2)?; // the write
    if gated {
        let d = ctx.shape(4)?;
        if d.len() != 3 {
            return Err(OpError::Invalid(format!(
                "decay must be 3-D [B, T, H_kv·d_k] or [B, T, H_kv], got rank {}",
                d.len()
            )));
        }
        let last = ctx.known_dim(0, &d[2])?;
        let exps = if last == hkv_p {
            Poly::constant(1)
        } else if last == hkv_p.checked_mul(&dk)? {
            dk.clone()
        } else {
            return Err(OpError::Invalid(format!(
                "decay's last dim {last} is neither kv_num_heads ({hkv}) nor kv_num_heads·d_k ({})",
                hkv_p.checked_mul(&dk)?
            )));
        };
        kv_flops = kv_flops.checked_add(&state)?.checked_add(&exps)?;
    }
    if delta {
        let bt = ctx.shape(5)?;
        if bt.len() != 3 {
            return Err(OpError::Invalid(format!(
                "beta must be 3-D [B, T, H_kv] or [B, T, 1], got rank {}",
                bt.len()
            )));
        }
        if let Some(last) = bt[2].as_i64() {
            if last != hkv && last != 1 {
                return Err(OpError::Invalid(format!(
                    "beta's last dim {last} is neither kv_num_heads ({hkv}) nor 1"
                )));
            }
        }
        macs = macs.checked_add(&hkv_p.checked_mul(&state)?)?;
        kv_flops = kv_flops
            .checked_add(&state.checked_scale(2)?)?
            .checked_add(&dv)?;
    }
    let flops = hkv_p
        .checked_mul(&kv_flops)?
        .checked_add(&hq_p.checked_mul(&state.checked_scale(2)?)?)?;
    let tokens = b.checked_mul(&t)?;
    ctx.add_macs(&tokens.checked_mul(&macs)?)?;
    ctx.add_flops(&tokens.checked_mul(&flops)?)
}

/// `FlexAttention` (`ai.onnx.preview` 1): Q `[B, H_q, L, d]`, K `[B, H_kv,
/// S, d]`, V `[B, H_kv, S, d_v]` → Y `[B, H_q, L, d_v]`; softmax(score_mod(
/// scale·Q·Kᵀ))·V with an optional `prob_mod` after the softmax.
///
/// The core is counted as [`attention_core_cost`] counts the opset-23
/// `Attention` without a mask: per score `2d − 1` (Q·Kᵀ), 1 (scale), 5
/// (softmax), `2d_v` (P·V), less `2 + d_v` per row. Every score is counted,
/// whatever `score_mod` masks: the reference computes the full matrix.
/// The `score_mod` and `prob_mod` bodies are graphs over the whole score
/// tensor `[B, H_q, L, S]` (one input, one output of that shape), run once
/// each: the engine analyses them with that input ([`crate::control`]) and
/// adds their own count to this node's, so a soft cap written as `Div`,
/// `Tanh`, `Mul` adds its 3 FLOPs per score there.
fn flex_attention(ctx: &mut NodeCtx) -> RuleResult {
    let shapes = flex_shapes(ctx)?;
    let [q, k, v] = &shapes;
    ctx.set_output(
        0,
        ctx.dtype(0),
        vec![q[0].clone(), q[1].clone(), q[2].clone(), v[3].clone()],
    );
    let core = AttentionCore {
        batch: ctx.known_dim(0, &q[0])?,
        heads: ctx.known_dim(0, &q[1])?,
        q_len: ctx.known_dim(0, &q[2])?,
        total: ctx.known_dim(0, &k[2])?,
        d: ctx.known_dim(0, &q[3])?,
        dv: ctx.known_dim(0, &v[3])?,
        float_bias: false,
        softcap: false,
        causal_offset: None,
        window: None,
    };
    attention_core_cost(ctx, &core)
}

/// FlexAttention's Q, K, V shapes, checked.
fn flex_shapes(ctx: &NodeCtx) -> Result<[Vec<Dim>; 3], OpError> {
    let mut out: [Vec<Dim>; 3] = Default::default();
    for (i, name) in [(0, "Q"), (1, "K"), (2, "V")] {
        let s = ctx.shape(i)?;
        if s.len() != 4 {
            return Err(OpError::Invalid(format!(
                "FlexAttention's {name} must be rank 4, got rank {}",
                s.len()
            )));
        }
        out[i] = s.to_vec();
    }
    let [q, k, v] = &out;
    let differ =
        |a: &Dim, b: &Dim| matches!((a.as_i64(), b.as_i64()), (Some(x), Some(y)) if x != y);
    if differ(&q[3], &k[3]) {
        return Err(OpError::Invalid(format!(
            "Q's head size {} differs from K's {}",
            q[3], k[3]
        )));
    }
    if differ(&k[1], &v[1]) || differ(&k[2], &v[2]) {
        return Err(OpError::Invalid(
            "K and V must share their head count and sequence length".into(),
        ));
    }
    if let (Some(hq), Some(hkv)) = (q[1].as_i64(), k[1].as_i64()) {
        if hkv < 1 || hq % hkv != 0 {
            return Err(OpError::Invalid(format!(
                "Q's {hq} heads are not a multiple of K's {hkv} heads"
            )));
        }
    }
    Ok(out)
}

/// Facts of FlexAttention's score tensor `[B, H_q, L, S]`, the input of its
/// `score_mod` and `prob_mod` bodies, in `softmax_precision` (default
/// float32, double for double inputs).
pub(crate) fn flex_scores(ctx: &NodeCtx) -> Result<ValueFacts, OpError> {
    let [q, k, _] = flex_shapes(ctx)?;
    let dtype = match ctx.attr_int("softmax_precision", 0)? {
        0 if ctx.dtype(0) == Some(DType::F64) => DType::F64,
        0 | 1 => DType::F32,
        10 => DType::F16,
        16 => DType::BF16,
        11 => DType::F64,
        other => {
            return Err(OpError::Invalid(format!(
                "softmax_precision {other} is not float, float16, bfloat16 or double"
            )))
        }
    };
    Ok(ValueFacts::new(
        Some(dtype),
        Some(vec![q[0].clone(), q[1].clone(), q[2].clone(), k[2].clone()]),
    ))
}

/// `RotaryEmbedding` (opset 23): rotates the first `rotary_embedding_dim`
/// (default all) features of each head in pairs, `(x₁, x₂) → (x₁·cos −
/// x₂·sin, x₂·cos + x₁·sin)`: 4 multiplies and 2 adds per pair, 3 FLOPs per
/// rotated element. Looking up the cos/sin caches is data movement.
fn rotary_embedding(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let head_size = match x.len() {
        4 => x[3].clone(),
        3 => {
            let h = ctx.attr_int("num_heads", 0)?;
            if h < 1 {
                return Err(OpError::Invalid(
                    "3-D input needs a positive 'num_heads' attribute".into(),
                ));
            }
            x[2].div_exact(&Dim::int(h))
        }
        r => {
            return Err(OpError::Invalid(format!(
                "input has rank {r}; RotaryEmbedding takes 3-D or 4-D input"
            )))
        }
    };
    ctx.set_output(0, ctx.dtype(0), x.clone());
    let head_size = ctx.known_dim(0, &head_size)?;
    let rotated = match ctx.attr_int("rotary_embedding_dim", 0)? {
        0 => head_size.clone(),
        r if r > 0 && r % 2 == 0 => Poly::from(r),
        r => {
            return Err(OpError::Invalid(format!(
                "rotary_embedding_dim = {r} must be a positive even number"
            )))
        }
    };
    let numel = ctx.numel(0)?;
    let vectors = numel
        .div_poly_exact(&head_size)
        .ok_or_else(|| OpError::Invalid("hidden size is not a multiple of the head size".into()))?;
    ctx.add_flops(&vectors.checked_mul(&rotated)?.checked_scale(3)?)
}

#[cfg(test)]
mod tests {
    use crate::graph::DType;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;
    use crate::shape::Dim;

    /// BERT-tiny's SDPA: Q, K, V [batch, 4, seq, 16] and a boolean mask.
    /// MACs = B·4·seq·seq·(16 + 16) = 128·batch·seq².
    /// FLOPs per score: 31 (Q·Kᵀ) + 1 (scale) + 5 (softmax) = 37, minus 2 per
    /// row, plus P·V 16·(2·seq − 1) per row: 4·(37·seq² − 2·seq + 32·seq² − 16·seq)
    /// = 276·seq² − 72·seq per batch.
    #[test]
    fn sdpa_4d_with_boolean_mask() {
        let qkv = ["batch", "4", "seq", "16"];
        let r = NodeTest::new("Attention")
            .opset(23)
            .input_sym(&qkv)
            .input_sym(&qkv)
            .input_sym(&qkv)
            .input_dims(
                vec![
                    Dim::sym("batch"),
                    Dim::int(1),
                    Dim::sym("seq"),
                    Dim::sym("seq"),
                ],
                DType::Bool,
            )
            .float("scale", 0.25)
            .run();
        assert_eq!(r.shape(0), "batchx4xseqx16");
        assert_eq!(r.macs_expr(), "128*batch*seq^2");
        assert_eq!(r.flops_expr(), "276*batch*seq^2 - 72*batch*seq");
    }

    /// 3-D inputs with grouped-query heads and a past cache: Q [2, 5, 64]
    /// with 8 query heads (d = 8), K/V [2, 5, 16] with 2 KV heads, past 3:
    /// S_t = 8. MACs = 2·8·5·8·(8 + 8) = 10,240. A float mask adds one per
    /// score: per score 15 + 1 + 1 + 5 = 22; rows = 80, scores = 640:
    /// 640·22 − 160 + 80·8·15 = 23,520.
    #[test]
    fn gqa_3d_with_past_and_float_mask() {
        let r = NodeTest::new("Attention")
            .opset(23)
            .input(&[2, 5, 64])
            .input(&[2, 5, 16])
            .input(&[2, 5, 16])
            .input(&[2, 8, 5, 8])
            .input(&[2, 2, 3, 8])
            .input(&[2, 2, 3, 8])
            .int("q_num_heads", 8)
            .int("kv_num_heads", 2)
            .run_outputs(3);
        assert_eq!(r.shape(0), "2x5x64");
        assert_eq!(r.shape(1), "2x2x8x8");
        assert_eq!(r.macs(), 10_240);
        assert_eq!(r.flops(), 23_520);
    }

    /// is_causal counts only the scores a causal kernel computes; per score
    /// 2·8 + 5 + 2·8 = 37 FLOPs, 16 MACs, minus 2 + 8 per row.
    /// - [1, 2, 4, 8] self-attention: 10 scores per head, 20 in all: MACs
    ///   320, FLOPs 740 − 80 = 660.
    /// - past 3 + 4 new keys (bottom-right, offset 3): rows see 4, 5, 6, 7
    ///   keys = 22 per head, 44 in all: MACs 704, FLOPs 1628 − 80 = 1548.
    /// - cross-attention, 2 queries and 5 keys, no past (top-left): rows see
    ///   1 and 2 keys, 6 scores in all: MACs 96, FLOPs 222 − 40 = 182.
    /// - 4 queries, 2 keys (top-left, capped): 1 + 2 + 2 + 2 = 7 scores: MACs
    ///   112, FLOPs 259 − 40 = 219.
    /// - symbolic [batch, 4, seq, 16]: seq·(seq + 1)/2 per head, per score 69:
    ///   MACs 64·seq² + 64·seq, FLOPs 138·seq² + 138·seq − 72·seq per batch.
    #[test]
    fn causal_counts_only_computed_scores() {
        let run = |q: &[i64], kv: &[i64], past: Option<&[i64]>| {
            let mut t = NodeTest::new("Attention")
                .opset(23)
                .input(q)
                .input(kv)
                .input(kv);
            if let Some(p) = past {
                t = t.none().input(p).input(p);
            }
            t.int("is_causal", 1).run()
        };
        let r = run(&[1, 2, 4, 8], &[1, 2, 4, 8], None);
        assert_eq!((r.macs(), r.flops()), (320, 660));
        let r = run(&[1, 2, 4, 8], &[1, 2, 4, 8], Some(&[1, 2, 3, 8]));
        assert_eq!((r.macs(), r.flops()), (704, 1548));
        let r = run(&[1, 2, 2, 8], &[1, 2, 5, 8], None);
        assert_eq!((r.macs(), r.flops()), (96, 182));
        let r = run(&[1, 1, 4, 8], &[1, 1, 2, 8], None);
        assert_eq!((r.macs(), r.flops()), (112, 219));
        let qkv = ["batch", "4", "seq", "16"];
        let s = NodeTest::new("Attention")
            .opset(23)
            .input_sym(&qkv)
            .input_sym(&qkv)
            .input_sym(&qkv)
            .int("is_causal", 1)
            .run();
        assert_eq!(s.macs_expr(), "64*batch*seq^2 + 64*batch*seq");
        assert_eq!(s.flops_expr(), "138*batch*seq^2 + 66*batch*seq");
    }

    #[test]
    fn attention_errors_are_reported() {
        let r = NodeTest::new("Attention")
            .opset(23)
            .input(&[2, 5, 60])
            .input(&[2, 5, 16])
            .input(&[2, 5, 16])
            .int("q_num_heads", 7)
            .int("kv_num_heads", 2)
            .run();
        assert!(
            matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("divisible"))
        );
    }

    /// Llama: X [batch, 4, seq, 16], full rotation: 3·16 per head vector →
    /// 3·batch·4·seq·16 = 192·batch·seq. Partial rotation of 8 features:
    /// 96·batch·seq. The caches are constants, not parameters.
    #[test]
    fn rotary_embedding_counts_rotated_features() {
        let r = NodeTest::new("RotaryEmbedding")
            .opset(23)
            .input_sym(&["batch", "4", "seq", "16"])
            .weight(&[128, 8])
            .weight(&[128, 8])
            .run();
        assert_eq!(r.shape(0), "batchx4xseqx16");
        assert_eq!(r.flops_expr(), "192*batch*seq");
        assert_eq!(r.params(), 0);
        let partial = NodeTest::new("RotaryEmbedding")
            .opset(23)
            .input_sym(&["batch", "seq", "64"])
            .weight(&[128, 4])
            .weight(&[128, 4])
            .int("num_heads", 4)
            .int("rotary_embedding_dim", 8)
            .run();
        assert_eq!(partial.flops_expr(), "96*batch*seq");
    }

    /// LinearAttention, gated_delta with GQA: B 2, T 4, H_q 4, H_kv 2,
    /// d_k = d_v = 8 (state 64), per-head decay [2, 4, 2], beta [2, 4, 2].
    /// Per token: MACs = 2·64 (write) + 2·64 (delta read) + 4·64 (reads) =
    /// 512; FLOPs per KV head = 128 (write) + 64 + 1 (decay) + 128 + 8
    /// (delta) = 329, ×2 = 658, + 4·128 (reads) = 1170. 8 tokens: MACs
    /// 4096, FLOPs 9360.
    #[test]
    fn linear_attention_gated_delta_gqa() {
        let r = NodeTest::new("LinearAttention")
            .opset(27)
            .input(&[2, 4, 32])
            .input(&[2, 4, 16])
            .input(&[2, 4, 16])
            .none()
            .input(&[2, 4, 2])
            .input(&[2, 4, 2])
            .int("q_num_heads", 4)
            .int("kv_num_heads", 2)
            .run_outputs(2);
        assert_eq!(r.shape(0), "2x4x32");
        assert_eq!(r.shape(1), "2x2x8x8");
        assert_eq!(r.macs(), 4096);
        assert_eq!(r.flops(), 9360);
    }

    /// `linear`: B 1, T 3, 2 heads, d_k 4, d_v 6 (state 24): per token MACs
    /// (2 + 2)·24 = 96, FLOPs 2·48 + 2·48 = 192; 3 tokens: 288 and 576.
    /// Symbolic `gated` with a per-key decay, 1 head, d_k = d_v = 2: per
    /// token MACs 4 + 4 = 8, FLOPs 8 + 4 + 2 (decay) + 8 = 22.
    #[test]
    fn linear_attention_linear_and_symbolic_gated() {
        let r = NodeTest::new("LinearAttention")
            .opset(27)
            .input(&[1, 3, 8])
            .input(&[1, 3, 8])
            .input(&[1, 3, 12])
            .int("q_num_heads", 2)
            .int("kv_num_heads", 2)
            .string("update_rule", "linear")
            .run_outputs(2);
        assert_eq!(r.shape(0), "1x3x12");
        assert_eq!(r.shape(1), "1x2x4x6");
        assert_eq!((r.macs(), r.flops()), (288, 576));
        let s = NodeTest::new("LinearAttention")
            .opset(27)
            .input_sym(&["batch", "seq", "2"])
            .input_sym(&["batch", "seq", "2"])
            .input_sym(&["batch", "seq", "2"])
            .input_sym(&["batch", "1", "2", "2"])
            .input_sym(&["batch", "seq", "2"])
            .int("q_num_heads", 1)
            .int("kv_num_heads", 1)
            .string("update_rule", "gated")
            .run_outputs(2);
        assert_eq!(s.shape(0), "batchxseqx2");
        assert_eq!(s.macs_expr(), "8*batch*seq");
        assert_eq!(s.flops_expr(), "22*batch*seq");
    }

    #[test]
    fn linear_attention_errors_are_reported() {
        let gated_without_decay = NodeTest::new("LinearAttention")
            .opset(27)
            .input(&[1, 3, 8])
            .input(&[1, 3, 8])
            .input(&[1, 3, 8])
            .int("q_num_heads", 2)
            .int("kv_num_heads", 2)
            .string("update_rule", "gated")
            .run_outputs(2);
        assert!(matches!(gated_without_decay.status(),
            NodeStatus::Incomplete { reason: m, .. } if m.contains("requires the decay")));
        let heads = NodeTest::new("LinearAttention")
            .opset(27)
            .input(&[1, 3, 12])
            .input(&[1, 3, 8])
            .input(&[1, 3, 8])
            .int("q_num_heads", 3)
            .int("kv_num_heads", 2)
            .string("update_rule", "linear")
            .run_outputs(2);
        assert!(
            matches!(heads.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("multiple"))
        );
    }

    /// A score_mod body `Tanh` over the [B, H_q, L, S] scores.
    fn tanh_body() -> crate::graph::Graph {
        use crate::graph::{Graph, Node, Value};
        let mut g = Graph::default();
        let s = g.add_value(Value {
            name: "s".into(),
            ..Value::default()
        });
        let t = g.add_value(Value {
            name: "t".into(),
            ..Value::default()
        });
        g.inputs.push(s);
        g.outputs.push(t);
        g.nodes.push(Node {
            name: "tanh".into(),
            op_type: "Tanh".into(),
            inputs: vec![Some(s)].into(),
            outputs: vec![Some(t)].into(),
            ..Node::default()
        });
        g
    }

    /// FlexAttention Q [1, 2, 3, 4], K [1, 2, 5, 4], V [1, 2, 5, 6]: 6 rows,
    /// 30 scores; MACs 30·(4 + 6) = 300; FLOPs 30·(8 + 5 + 12) − 6·(2 + 6) =
    /// 702. A score_mod `Tanh` runs once on the [1, 2, 3, 5] scores: + 30.
    /// GQA symbolic Q [batch, 4, L, 8], K/V [batch, 2, S, 8]: MACs
    /// 4·16·batch·L·S, FLOPs 4·batch·L·(37·S − 10).
    #[test]
    fn flex_attention_core_and_score_mod() {
        let r = NodeTest::new("FlexAttention")
            .domain("ai.onnx.preview")
            .opset(1)
            .input(&[1, 2, 3, 4])
            .input(&[1, 2, 5, 4])
            .input(&[1, 2, 5, 6])
            .run();
        assert_eq!(r.shape(0), "1x2x3x6");
        assert_eq!((r.macs(), r.flops()), (300, 702));
        let m = NodeTest::new("FlexAttention")
            .domain("ai.onnx.preview")
            .opset(1)
            .input(&[1, 2, 3, 4])
            .input(&[1, 2, 5, 4])
            .input(&[1, 2, 5, 6])
            .attr(
                "score_mod",
                crate::graph::AttrValue::Graph(Box::new(tanh_body())),
            )
            .run();
        assert_eq!(m.shape(0), "1x2x3x6");
        assert_eq!((m.macs(), m.flops()), (300, 732));
        let sub = &m.node().subgraphs[0];
        assert_eq!(sub.attribute, "score_mod");
        assert_eq!(
            sub.nodes[0].outputs[0]
                .shape
                .as_deref()
                .map(crate::shape::format_shape)
                .as_deref(),
            Some("1x2x3x5")
        );
        let g = NodeTest::new("FlexAttention")
            .domain("ai.onnx.preview")
            .opset(1)
            .input_sym(&["batch", "4", "L", "8"])
            .input_sym(&["batch", "2", "S", "8"])
            .input_sym(&["batch", "2", "S", "8"])
            .run();
        assert_eq!(g.macs_expr(), "64*L*S*batch");
        assert_eq!(g.flops_expr(), "148*L*S*batch - 40*L*batch");
        let bad = NodeTest::new("FlexAttention")
            .domain("ai.onnx.preview")
            .opset(1)
            .input(&[2, 3, 4])
            .input(&[1, 2, 5, 4])
            .input(&[1, 2, 5, 6])
            .run();
        assert!(
            matches!(bad.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("rank 4"))
        );
    }
}
