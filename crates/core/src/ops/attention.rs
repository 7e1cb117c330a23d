//! Fused attention operators of the default domain (opset 23): `Attention`
//! and `RotaryEmbedding`. The dynamo exporter emits them for PyTorch's
//! scaled-dot-product attention and for Llama-style rotary embeddings.

use super::contrib::{attention_core_cost, AttentionCore};
use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::poly::Poly;
use crate::shape::Dim;

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

fn known(ctx: &NodeCtx, d: &Dim) -> Result<Poly, OpError> {
    d.poly().cloned().ok_or_else(|| OpError::UnknownInput {
        index: 0,
        name: ctx.input_names.first().copied().unwrap_or("").to_string(),
    })
}

/// `Attention` (opset 23): softmax(scale · Q·Kᵀ + mask) · V, with optional
/// past key/value concatenated in front of K and V, grouped-query heads
/// (K and V heads shared by several query heads) and soft-capping.
///
/// With `S_t` = past + new key positions, per query head and query position:
/// `S_t` dot products of length d (`S_t·(2d − 1)` FLOPs), `S_t` scalings,
/// `S_t` additions of a float mask (a boolean mask or `is_causal` selects:
/// 0), `3·S_t` for a soft cap `c·tanh(x/c)`, `5·S_t − 2` for the softmax, and
/// `d_v` dot products of length `S_t` (`d_v·(2·S_t − 1)`). With a mask,
/// every score is counted: the work of a kernel that computes the full
/// score matrix and then masks it. With `is_causal`, only the scores a
/// causal kernel computes count: query row `i` sees `min(S_t, past + i +
/// 1)` keys (see `contrib::attention_core_cost`).
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
        known(ctx, &q.batch)?,
        known(ctx, &q.heads)?,
        known(ctx, &q.seq)?,
    );
    let (st, d, dv) = (
        known(ctx, &total)?,
        known(ctx, &q.size)?,
        known(ctx, &v_size)?,
    );
    let float_mask = ctx.has_input(3) && ctx.dtype(3).is_some_and(|t| t.is_float());
    if ctx.attr_int("is_causal", 0)? != 0 {
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
            causal_offset: Some(known(ctx, &past)?),
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
    let head_size = known(ctx, &head_size)?;
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
        assert!(matches!(r.status(), NodeStatus::Incomplete(m) if m.contains("divisible")));
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
}
