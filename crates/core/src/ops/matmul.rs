//! Dot-product operators: Gemm, MatMul (numpy semantics) and Einsum, and the
//! recurrent layers RNN, GRU and LSTM, whose cost is their gate products.
//!
//! A dot product of length `K` is `K` multiplications and `K − 1`
//! additions: `K` MACs and `2K − 1` FLOPs per output element.
//!
//! Recurrent layers, `T` steps, batch `B`, `D` directions, input size `I`,
//! hidden size `H`, `g` gates (RNN 1, GRU 3, LSTM 4): every step computes
//! `g·H` pre-activations `W·x + R·h`: **MACs = T·D·B·g·H·(I + H)**. FLOPs
//! per step and batch row: the two products and their sum,
//! `g·H·(2I − 1) + g·H·(2H − 1) + g·H = 2·g·H·(I + H) − g·H`, plus `2·g·H`
//! with the biases `B`; then the gates (sigmoid 4, tanh 1, as elsewhere):
//! RNN `H` (tanh); GRU `14H` (2 sigmoids 8H, tanh H, the reset product H,
//! `(1 − z)·h̃ + z·h` 4H); LSTM `18H` (3 sigmoids 12H, 2 tanh 2H, `f·c + i·g`
//! 3H, `o·tanh(c)` H), `+ 6H` with peepholes `P`.
//!
//! DFT is a product with the DFT matrix, counted as evaluated directly (an
//! FFT would do less; which one runs is the runtime's choice): each of the
//! `n_out` output bins of each signal sums `n` products, a complex
//! multiply-add of 8 FLOPs for a complex signal (last dim 2), 4 for a real
//! one (last dim 1). FLOPs only: the DFT matrix is not a learned weight, so
//! no MACs are reported. STFT is a DFT of every frame, after multiplying it
//! by the window (`L` per frame when a window is given). MelWeightMatrix
//! generates a constant matrix: 0.
//!
//! Det of an `M × M` matrix by LU decomposition with partial pivoting: at
//! elimination step `j` (`j = M − 1 … 1` rows below the pivot) `j` pivot
//! comparisons, `j` divisions for the multipliers and `j²` multiply-subtract
//! pairs; then `M − 1` multiplications of the diagonal:
//! `Σ (2j + 2j²) + M − 1 = (M − 1)·M + (M − 1)·M·(2M − 1)/3 + M − 1` FLOPs.

use std::collections::BTreeMap;

use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::poly::Poly;
use crate::shape::{self, format_shape, Dim, Shape};

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "Gemm",
        domain: "",
        rule: gemm,
        roles: &[Role::Data, Role::Weight, Role::Weight],
        cost_doc: "MACs = M·N·K; FLOPs = M·N·(2K − 1), + M·N if alpha ≠ 1, + M·N with C, + M·N with C and beta ≠ 1",
    },
    OpDef {
        op_type: "MatMul",
        domain: "",
        rule: matmul,
        // The rule reads shapes only.
        roles: &[Role::Operand, Role::Operand],
        cost_doc: "MACs = ∏batch·M·N·K; FLOPs = ∏batch·M·N·(2K − 1)",
    },
    OpDef {
        op_type: "Einsum",
        domain: "",
        rule: einsum,
        roles: &[],
        cost_doc: "P = ∏ sizes of all indices, O = numel(out), k operands: MACs = P (k ≥ 2); FLOPs = (k − 1)·P + P − O",
    },
    OpDef {
        op_type: "DFT",
        domain: "",
        rule: dft,
        roles: &[Role::Data, Role::Config, Role::Config],
        cost_doc: "signals·n_out·n · (8 complex input, 4 real): the DFT evaluated directly",
    },
    OpDef {
        op_type: "STFT",
        domain: "",
        rule: stft,
        roles: &[Role::Data, Role::Config, Role::Config, Role::Config],
        cost_doc: "per frame of L samples: L window products (with a window) + bins·L·(8 complex, 4 real)",
    },
    OpDef {
        op_type: "MelWeightMatrix",
        domain: "",
        rule: mel_weight_matrix,
        roles: &[Role::Config, Role::Config, Role::Config, Role::Config, Role::Config],
        cost_doc: "0 (a constant matrix is generated)",
    },
    OpDef {
        op_type: "Det",
        domain: "",
        rule: det,
        roles: &[],
        cost_doc: "per M×M matrix, LU with partial pivoting: (M − 1)·M + (M − 1)·M·(2M − 1)/3 + M − 1",
    },
    OpDef {
        op_type: "RNN",
        domain: "",
        rule: recurrent::<1>,
        roles: RECURRENT_ROLES,
        cost_doc: "MACs = T·D·B·H·(I + H); FLOPs = 2·MACs + T·D·B·(H with bias, −H without, + H tanh)",
    },
    OpDef {
        op_type: "GRU",
        domain: "",
        rule: recurrent::<3>,
        roles: RECURRENT_ROLES,
        cost_doc: "MACs = T·D·B·3H·(I + H); FLOPs = 2·MACs + T·D·B·(3H with bias, −3H without, + 14H gates)",
    },
    OpDef {
        op_type: "LSTM",
        domain: "",
        rule: recurrent::<4>,
        roles: RECURRENT_ROLES,
        cost_doc: "MACs = T·D·B·4H·(I + H); FLOPs = 2·MACs + T·D·B·(4H with bias, −4H without, + 18H gates, + 6H peepholes)",
    },
];

/// DFT: opset 17 `(input, dft_length)` with the `axis` attribute (default
/// 1); opset 20 `(input, dft_length, axis)` (default −2). Input `[…, L, 1|2]`,
/// output `[…, n_out, 2]` with `n = dft_length` (default L) and `n_out = n`,
/// or `⌊n/2⌋ + 1` when `onesided`. With `inverse` and `onesided` the input
/// is a half spectrum and the output the real signal `[…, n, 1]`, `n =
/// dft_length` (default `2·(L − 1)`).
fn dft(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    if rank < 2 {
        return Err(OpError::Invalid(format!(
            "DFT needs an input [batch, …, signal, 1|2], got rank {rank}"
        )));
    }
    let axis = if ctx.opset >= 20 {
        if ctx.has_input(2) {
            match ctx.ints_value(2).as_deref() {
                Some([a]) => *a,
                _ => {
                    // Without dft_length or onesided, the signal axis keeps
                    // its length wherever it is: only the last dim changes.
                    let onesided = ctx.attr_int("onesided", 0)? != 0;
                    if !ctx.has_input(1) && !onesided {
                        let mut out = x.clone();
                        out[rank - 1] = Dim::int(2);
                        ctx.set_output(0, ctx.dtype(0), out);
                    }
                    return Err(OpError::DataDependent(
                        "the axis of DFT (input 2) is not known".into(),
                    ));
                }
            }
        } else {
            -2
        }
    } else {
        ctx.attr_int("axis", 1)?
    };
    let a = shape::normalize_axis(axis, rank)
        .filter(|&a| a + 1 < rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    let onesided = ctx.attr_int("onesided", 0)? != 0;
    // An inverse of a one-sided spectrum is a real signal of n samples.
    let inverse_onesided = onesided && ctx.attr_int("inverse", 0)? != 0;
    let n = if ctx.has_input(1) {
        match ctx.ints_value(1).as_deref() {
            Some([n]) => Dim::int(*n),
            _ => {
                let mut out = x.clone();
                out[a] = Dim::Unknown;
                out[rank - 1] = Dim::int(2);
                ctx.set_output(0, ctx.dtype(0), out);
                return Err(OpError::DataDependent(
                    "dft_length of DFT (input 1) is not known".into(),
                ));
            }
        }
    } else if inverse_onesided {
        // The input is the half spectrum of L = n/2 + 1 bins of an even n.
        match x[a].as_i64() {
            Some(l) if l >= 1 => Dim::int(2 * (l - 1)),
            _ => Dim::Unknown,
        }
    } else {
        x[a].clone()
    };
    let n_out = match (onesided && !inverse_onesided, n.as_i64()) {
        (false, _) => n.clone(),
        (true, Some(k)) => Dim::int(k / 2 + 1),
        (true, None) => Dim::Unknown,
    };
    let mut out = x.clone();
    out[a] = n_out.clone();
    out[rank - 1] = Dim::int(if inverse_onesided { 1 } else { 2 });
    ctx.set_output(0, ctx.dtype(0), out);
    let per = match x[rank - 1].as_i64() {
        Some(1) => 4,
        Some(2) => 8,
        Some(c) => {
            return Err(OpError::Invalid(format!(
                "the last dim of a DFT input is 1 (real) or 2 (complex), not {c}"
            )))
        }
        None => return Err(ctx.unknown_input(0)),
    };
    let dims = ctx.known_shape(0)?;
    let signals = product(
        dims[..rank - 1]
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != a)
            .map(|(_, d)| d),
    )?;
    let (n, n_out) = (ctx.known_dim(1, &n)?, ctx.known_dim(1, &n_out)?);
    let flops = signals
        .checked_mul(&n_out)?
        .checked_mul(&n)?
        .checked_scale(per)?;
    ctx.add_flops(&flops)
}

/// Det: `[*, M, M]` → `[*]`; see the module documentation for the cost.
fn det(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let r = x.len();
    if r < 2 {
        return Err(OpError::Invalid(format!(
            "Det needs [*, M, M], got rank {r}"
        )));
    }
    if let (Some(a), Some(b)) = (x[r - 2].as_i64(), x[r - 1].as_i64()) {
        if a != b {
            return Err(OpError::Invalid(format!(
                "Det of a {a}×{b} matrix: it must be square"
            )));
        }
    }
    ctx.set_output(0, ctx.dtype(0), x[..r - 2].to_vec());
    let dims = ctx.known_shape(0)?;
    let batch = product(&dims[..r - 2])?;
    let Some(m) = dims[r - 1].as_constant() else {
        return Err(ctx.unknown_input(0));
    };
    let per = if m == 0 {
        0
    } else {
        (m - 1) * m + (m - 1) * m * (2 * m - 1) / 3 + m - 1
    };
    ctx.add_flops(&batch.checked_scale(per)?)
}

/// A scalar integer input's value, if known.
fn scalar_int(ctx: &NodeCtx, i: usize) -> Option<i64> {
    match ctx.ints_value(i).as_deref() {
        Some([v]) => Some(*v),
        _ => None,
    }
}

/// STFT (opset 17): signal `[B, S, 1|2]` (or `[B, S]`, a real signal, as
/// onnxruntime accepts), frame_step (scalar), window `[L]` (optional),
/// frame_length (scalar, optional) → `[B, frames, bins, 2]`, `frames =
/// ⌊(S − L)/step⌋ + 1` (exact on a symbolic S), `bins = ⌊L/2⌋ + 1` when
/// `onesided` (the default), else `L`.
fn stft(ctx: &mut NodeCtx) -> RuleResult {
    let mut x = ctx.shape(0)?.to_vec();
    if x.len() == 2 {
        x.push(Dim::int(1));
    }
    if x.len() != 3 {
        return Err(OpError::Invalid(format!(
            "STFT needs a signal [batch, length, 1|2] or [batch, length], got rank {}",
            x.len()
        )));
    }
    let window_len = if ctx.has_input(2) {
        ctx.shape(2)?.first().and_then(Dim::as_i64)
    } else {
        None
    };
    let frame_len = if ctx.has_input(3) {
        scalar_int(ctx, 3)
    } else {
        None
    };
    let l = frame_len.or(window_len);
    let step = scalar_int(ctx, 1);
    let onesided = ctx.attr_int("onesided", 1)? != 0;
    let bins = l.map(|l| Dim::int(if onesided { l / 2 + 1 } else { l }));
    let frames =
        match (x[1].as_i64(), l, step) {
            (Some(s), Some(l), Some(k)) if k > 0 && s >= l => Some(Dim::int((s - l) / k + 1)),
            (Some(_), Some(_), Some(_)) => return Err(OpError::Invalid(
                "STFT frames: the step must be positive and the frame no longer than the signal"
                    .into(),
            )),
            (None, Some(l), Some(k)) if k > 0 => Some(
                x[1].sub(&Dim::int(l))?
                    .floor_div(i128::from(k))?
                    .add(&Dim::int(1))?,
            ),
            _ => None,
        };
    let out = vec![
        x[0].clone(),
        frames.clone().unwrap_or(Dim::Unknown),
        bins.clone().unwrap_or(Dim::Unknown),
        Dim::int(2),
    ];
    ctx.set_output(0, ctx.dtype(0), out);
    let (Some(frames), Some(bins), Some(l)) = (frames, bins, l) else {
        return Err(OpError::DataDependent(
            "the frame step or frame length of STFT is not known".into(),
        ));
    };
    let per = match x[2].as_i64() {
        Some(1) => 4,
        Some(2) => 8,
        _ => {
            return Err(OpError::Invalid(
                "the last dim of an STFT signal is 1 (real) or 2 (complex)".into(),
            ))
        }
    };
    let batch = ctx.known_dim(0, &x[0])?;
    let frames = ctx.known_dim(0, &frames)?;
    let bins = ctx.known_dim(0, &bins)?;
    let l = i128::from(l);
    let mut per_frame = bins.checked_scale(l * per)?;
    if ctx.has_input(2) {
        per_frame = per_frame.checked_add(&Poly::constant(l))?;
    }
    ctx.add_flops(&product([&batch, &frames, &per_frame])?)
}

/// MelWeightMatrix (opset 17): `[⌊dft_length/2⌋ + 1, num_mel_bins]` of
/// `output_datatype` (default float); 0 FLOPs.
fn mel_weight_matrix(ctx: &mut NodeCtx) -> RuleResult {
    let code = ctx.attr_int("output_datatype", 1)?;
    let dtype = crate::ops::tensor::dtype_from_onnx_code(code).ok_or_else(|| {
        OpError::Invalid(format!("output_datatype {code} is not an ONNX data type"))
    })?;
    let mel = scalar_int(ctx, 0).map_or(Dim::Unknown, Dim::int);
    let dft = scalar_int(ctx, 1).map_or(Dim::Unknown, |n| Dim::int(n / 2 + 1));
    let known = mel.is_known() && dft.is_known();
    ctx.set_output(0, Some(dtype), vec![dft, mel]);
    if known {
        Ok(())
    } else {
        Err(OpError::DataDependent(
            "num_mel_bins or dft_length of MelWeightMatrix is not known".into(),
        ))
    }
}

/// X, W, R, B, sequence_lens, initial_h, initial_c (LSTM), P (LSTM).
const RECURRENT_ROLES: &[Role] = &[
    Role::Data,
    Role::Weight,
    Role::Weight,
    Role::Weight,
    Role::Config,
    Role::Data,
    Role::Data,
    Role::Weight,
];

/// RNN, GRU, LSTM with `G` gates: X `[T, B, I]` (`layout = 1`: `[B, T, I]`),
/// W `[D, G·H, I]`, R `[D, G·H, H]` → Y `[T, D, B, H]` (`[B, T, D, H]`),
/// Y_h (and LSTM's Y_c) `[D, B, H]` (`[B, D, H]`).
fn recurrent<const G: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let r = recurrent_shapes(ctx, G)?;
    let macs = r.macs()?;
    let bias = if ctx.has_input(3) {
        r.gh.clone()
    } else {
        r.gh.checked_neg()?
    };
    let flops = macs.checked_scale(2)?.checked_add(
        &r.steps
            .checked_mul(&bias.checked_add(&r.gate_flops(ctx)?)?)?,
    )?;
    ctx.add_macs(&macs)?;
    ctx.add_flops(&flops)
}

/// What a recurrent layer's cost is made of: `steps = T·D·B` cell updates,
/// each of `gh = G·H` gate pre-activations from an input of `i` and a state
/// of `h` features.
pub(super) struct Recurrent {
    pub steps: Poly,
    pub gh: Poly,
    pub i: Poly,
    pub h: Poly,
    gates: i128,
}

impl Recurrent {
    /// `steps·G·H·(I + H)`: the two matrix products of every step.
    pub fn macs(&self) -> Result<Poly, OpError> {
        Ok(self
            .steps
            .checked_mul(&self.gh.checked_mul(&self.i.checked_add(&self.h)?)?)?)
    }

    /// Per step, the gates' element-wise work: H (RNN), 14H (GRU), 18H
    /// (LSTM) or 24H with peepholes (input 7).
    pub fn gate_flops(&self, ctx: &NodeCtx) -> Result<Poly, OpError> {
        Ok(match self.gates {
            1 => self.h.clone(),
            3 => self.h.checked_scale(14)?,
            _ => {
                let peep = if ctx.has_input(7) { 24 } else { 18 };
                self.h.checked_scale(peep)?
            }
        })
    }
}

/// Sets a recurrent layer's outputs (see [`recurrent`]) and returns its
/// sizes. The hidden size is the `hidden_size` attribute, else R's last
/// dim.
pub(super) fn recurrent_shapes(ctx: &mut NodeCtx, gates: i128) -> Result<Recurrent, OpError> {
    let x = ctx.shape(0)?.to_vec();
    if x.len() != 3 {
        return Err(OpError::Invalid(format!(
            "X has rank {}: {} needs [seq, batch, input]",
            x.len(),
            ctx.node.op_type
        )));
    }
    let layout = ctx.attr_int("layout", 0)?;
    let (t, b) = if layout == 0 {
        (x[0].clone(), x[1].clone())
    } else {
        (x[1].clone(), x[0].clone())
    };
    let d = match ctx.attr_str("direction")?.unwrap_or("forward") {
        "forward" | "reverse" => 1,
        "bidirectional" => 2,
        other => {
            return Err(OpError::Invalid(format!(
                "direction '{other}' is not forward, reverse or bidirectional"
            )))
        }
    };
    let h = match ctx.attr("hidden_size") {
        Some(_) => Dim::int(ctx.attr_int("hidden_size", 0)?),
        None => ctx
            .shape(2)
            .ok()
            .and_then(|r| r.get(2).cloned())
            .unwrap_or(Dim::Unknown),
    };
    let dd = Dim::int(d);
    let dtype = ctx.dtype(0);
    let y = if layout == 0 {
        vec![t.clone(), dd.clone(), b.clone(), h.clone()]
    } else {
        vec![b.clone(), t.clone(), dd.clone(), h.clone()]
    };
    let state = if layout == 0 {
        vec![dd, b.clone(), h.clone()]
    } else {
        vec![b.clone(), dd, h.clone()]
    };
    for i in 0..ctx.num_outputs() {
        let shape = if i == 0 { y.clone() } else { state.clone() };
        ctx.set_output(i, dtype, shape);
    }
    let i_size = ctx.known_dim(0, &x[2])?;
    let (t, b, h) = (
        ctx.known_dim(0, &t)?,
        ctx.known_dim(0, &b)?,
        ctx.known_dim(2, &h)?,
    );
    let steps = product([&t, &b])?.checked_scale(i128::from(d))?;
    let gh = h.checked_scale(gates)?;
    Ok(Recurrent {
        steps,
        gh,
        i: i_size,
        h,
        gates,
    })
}

/// `a − b`, or 0 when both are constants and `a < b` (a count that would be
/// negative for empty tensors).
fn sub_at_least_zero(a: &Poly, b: &Poly) -> Result<Poly, OpError> {
    match (a.as_constant(), b.as_constant()) {
        (Some(x), Some(y)) if x < y => Ok(Poly::ZERO),
        _ => Ok(a.checked_sub(b)?),
    }
}

/// FLOPs of `outputs` dot products of length `k`: `outputs·(2k − 1)`, 0 for
/// an empty reduction (`k = 0`: the output is zero-filled).
fn dot_flops(outputs: &Poly, k: &Poly) -> Result<Poly, OpError> {
    let macs = outputs.checked_mul(k)?;
    sub_at_least_zero(&macs.checked_scale(2)?, outputs)
}

/// The common dimension of two operands: equal when both are constants,
/// the constant one when only one is, else the first.
fn contracted(a: &Dim, b: &Dim, what: &str) -> Result<Dim, OpError> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) if x != y => Err(OpError::Invalid(format!(
            "{what}: inner dimensions differ ({x} vs {y})"
        ))),
        (None, Some(_)) => Ok(b.clone()),
        _ if !a.is_known() => Ok(b.clone()),
        _ => Ok(a.clone()),
    }
}

/// Gemm: `Y = alpha·A'·B' + beta·C` with `A'` `[M, K]` (`A` is `[K, M]`
/// under `transA`), `B'` `[K, N]` (`B` is `[N, K]` under `transB`) and `C`
/// unidirectionally broadcastable to `[M, N]`.
///
/// MACs = M·N·K. FLOPs: each output is a `K`-term dot product (`K`
/// multiplications, `K − 1` additions), plus one multiplication by `alpha`
/// when `alpha ≠ 1`, plus one addition of `C` when present, plus one
/// multiplication by `beta` when `C` is present and `beta ≠ 1`. A `C` scaled
/// by `beta = 0` is not added (runtimes skip it). The article's fully
/// connected layer with bias is `[K + (K − 1) + 1]·N = 2·K·N` per row.
fn gemm(ctx: &mut NodeCtx) -> RuleResult {
    ctx.products = Some((0, 1));
    let (m, n, k) = gemm_dims(ctx, 0, 1, "Gemm")?;
    let alpha = ctx.attr_float("alpha", 1.0)?;
    let beta = ctx.attr_float("beta", 1.0)?;
    let out: Shape = vec![m.clone(), n.clone()];
    let has_c = ctx.has_input(2);
    if has_c {
        if let Ok(c) = ctx.shape(2) {
            let fits = c.len() <= 2
                && shape::broadcast(c, &out).is_ok_and(|s| {
                    s.iter()
                        .zip(&out)
                        .all(|(x, y)| y.as_i64().is_none() || x == y)
                });
            if !fits {
                return Err(OpError::Invalid(format!(
                    "Gemm C {} does not broadcast to the output {}",
                    format_shape(c),
                    format_shape(&out)
                )));
            }
        }
    }
    ctx.set_output(0, ctx.dtype(0).or(ctx.dtype(1)), out);

    let (m, n, k) = (
        ctx.known_dim(0, &m)?,
        ctx.known_dim(1, &n)?,
        ctx.known_dim(0, &k)?,
    );
    let outputs = m.checked_mul(&n)?;
    ctx.add_macs(&outputs.checked_mul(&k)?)?;
    let mut per_output_extra = 0;
    if alpha != 1.0 {
        per_output_extra += 1;
    }
    if has_c && beta != 0.0 {
        per_output_extra += 1 + i128::from(beta != 1.0);
    }
    ctx.add_flops(&dot_flops(&outputs, &k)?)?;
    ctx.add_flops_per(&outputs, per_output_extra)
}

/// `M`, `N` and `K` of a Gemm-like product of inputs `a` and `b` (2-D, with
/// the `transA` / `transB` attributes); `op` names it in errors.
pub(super) fn gemm_dims(
    ctx: &NodeCtx,
    a: usize,
    b: usize,
    op: &str,
) -> Result<(Dim, Dim, Dim), OpError> {
    let (a, b) = (ctx.shape(a)?, ctx.shape(b)?);
    if a.len() != 2 || b.len() != 2 {
        return Err(OpError::Invalid(format!(
            "{op} needs 2-D A and B, got {} and {}",
            format_shape(a),
            format_shape(b)
        )));
    }
    let (m, ka) = if ctx.attr_flag("transA", false)? {
        (&a[1], &a[0])
    } else {
        (&a[0], &a[1])
    };
    let (kb, n) = if ctx.attr_flag("transB", false)? {
        (&b[1], &b[0])
    } else {
        (&b[0], &b[1])
    };
    let k = contracted(ka, kb, op)?;
    Ok((m.clone(), n.clone(), k))
}

/// MatMul with numpy semantics: a 1-D first operand `[K]` is treated as
/// `[1, K]` and a 1-D second operand `[K]` as `[K, 1]`, the added dim being
/// removed from the result; leading (batch) dims broadcast.
///
/// MACs = ∏batch·M·N·K; FLOPs = ∏batch·M·N·(2K − 1) (`K` multiplications
/// and `K − 1` additions per output).
fn matmul(ctx: &mut NodeCtx) -> RuleResult {
    ctx.products = Some((0, 1));
    let a = ctx.shape(0)?;
    let b = ctx.shape(1)?;
    let one = Dim::int(1);
    let (a_batch, m, ka) = match a {
        [k] => (&[][..], &one, k),
        [batch @ .., m, k] => (batch, m, k),
        [] => {
            return Err(OpError::Invalid(
                "MatMul operands must have rank ≥ 1".into(),
            ))
        }
    };
    let (b_batch, kb, n) = match b {
        [k] => (&[][..], k, &one),
        [batch @ .., k, n] => (batch, k, n),
        [] => {
            return Err(OpError::Invalid(
                "MatMul operands must have rank ≥ 1".into(),
            ))
        }
    };
    let k = contracted(ka, kb, "MatMul")?;
    let batch = shape::broadcast(a_batch, b_batch).map_err(|e| {
        OpError::Invalid(format!(
            "MatMul batch dims of {} and {}: {e}",
            format_shape(a),
            format_shape(b)
        ))
    })?;
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(m.clone());
    }
    if b.len() > 1 {
        out.push(n.clone());
    }
    ctx.set_output(0, ctx.dtype(0).or(ctx.dtype(1)), out);

    let batch_count = match shape::numel(&batch)? {
        Some(p) => p,
        None => {
            let side = if a_batch.iter().any(|d| !d.is_known()) {
                0
            } else {
                1
            };
            return Err(ctx.unknown_input(side));
        }
    };
    let (m, n, k) = (
        ctx.known_dim(0, m)?,
        ctx.known_dim(1, n)?,
        ctx.known_dim(0, &k)?,
    );
    let outputs = product([&batch_count, &m, &n])?;
    ctx.add_macs(&outputs.checked_mul(&k)?)?;
    ctx.add_flops(&dot_flops(&outputs, &k)?)
}

/// One subscript of an Einsum term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sub {
    Letter(char),
    Ellipsis,
}

/// Parses one term such as `bij` or `...ij` (spaces already removed).
fn parse_term(term: &str) -> Result<Vec<Sub>, OpError> {
    let mut subs = Vec::new();
    let mut chars = term.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            'a'..='z' | 'A'..='Z' => subs.push(Sub::Letter(c)),
            '.' => {
                if chars.next() != Some('.') || chars.next() != Some('.') {
                    return Err(OpError::Invalid(format!(
                        "Einsum term '{term}': '.' must be part of an ellipsis '...'"
                    )));
                }
                if subs.contains(&Sub::Ellipsis) {
                    return Err(OpError::Invalid(format!(
                        "Einsum term '{term}' has more than one ellipsis"
                    )));
                }
                subs.push(Sub::Ellipsis);
            }
            other => {
                return Err(OpError::Invalid(format!(
                    "Einsum term '{term}': unexpected character '{other}'"
                )))
            }
        }
    }
    Ok(subs)
}

/// Combines two sizes of the same index: equal, or one of them 1
/// (broadcast).
fn unify(a: &Dim, b: &Dim, letter: char) -> Result<Dim, OpError> {
    shape::broadcast(std::slice::from_ref(a), std::slice::from_ref(b))
        .ok()
        .and_then(|s| s.into_iter().next())
        .ok_or_else(|| OpError::Invalid(format!("Einsum index '{letter}' has sizes {a} and {b}")))
}

/// Einsum: `equation` with explicit (`->`) or implicit output (the indices
/// appearing exactly once, in increasing character order, after the
/// broadcast dims of any ellipsis). Index sizes come from the operands
/// (a size 1 broadcasts against any size); ellipsis dims broadcast across
/// operands and, as in numpy, an explicit output must keep `...` when it
/// stands for at least one dim.
///
/// Cost, with `P` = product of the sizes of all distinct indices (ellipsis
/// dims included), `O` = numel(output) and `k` operands: every point of the
/// index space multiplies its `k` operand elements (`k − 1`
/// multiplications) and is accumulated into its output element (`P − O`
/// additions in all). MACs = `P` when `k ≥ 2`, else 0; FLOPs =
/// `(k − 1)·P + P − O`. So `bij,bjk->bik` costs exactly what MatMul does,
/// a transpose or diagonal costs 0 and a trace `ii->` costs `i − 1`.
fn einsum(ctx: &mut NodeCtx) -> RuleResult {
    // A product of two operands; of more, the count is not one product.
    if ctx.num_inputs() == 2 {
        ctx.products = Some((0, 1));
    }
    let equation: String = ctx
        .attr_str("equation")?
        .ok_or_else(|| OpError::Invalid("attribute 'equation' is required".into()))?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (equation.as_str(), None),
    };
    let terms: Vec<Vec<Sub>> = lhs.split(',').map(parse_term).collect::<Result<_, _>>()?;
    let k = ctx.num_inputs();
    if terms.len() != k {
        return Err(OpError::Invalid(format!(
            "Einsum equation '{equation}' has {} operand terms, node has {k} inputs",
            terms.len()
        )));
    }

    // Sizes of the letters and of the broadcast ellipsis dims.
    let mut sizes: BTreeMap<char, Dim> = BTreeMap::new();
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    let mut ellipsis: Shape = Vec::new();
    let mut any_ellipsis = false;
    for (i, term) in terms.iter().enumerate() {
        let shape = ctx.shape(i)?;
        let letters = term.iter().filter(|s| matches!(s, Sub::Letter(_))).count();
        let has_ellipsis = term.contains(&Sub::Ellipsis);
        let bad_rank = if has_ellipsis {
            shape.len() < letters
        } else {
            shape.len() != letters
        };
        if bad_rank {
            return Err(OpError::Invalid(format!(
                "Einsum operand {i} has rank {} but its term has {letters} indices{}",
                shape.len(),
                if has_ellipsis { " and an ellipsis" } else { "" }
            )));
        }
        let ell_rank = shape.len() - letters;
        let mut pos = 0;
        for sub in term {
            match sub {
                Sub::Letter(c) => {
                    let d = &shape[pos];
                    let size = match sizes.get(c) {
                        Some(prev) => unify(prev, d, *c)?,
                        None => d.clone(),
                    };
                    sizes.insert(*c, size);
                    *counts.entry(*c).or_insert(0) += 1;
                    pos += 1;
                }
                Sub::Ellipsis => {
                    any_ellipsis = true;
                    let dims = &shape[pos..pos + ell_rank];
                    ellipsis = shape::broadcast(&ellipsis, dims)
                        .map_err(|e| OpError::Invalid(format!("Einsum ellipsis dims: {e}")))?;
                    pos += ell_rank;
                }
            }
        }
    }

    let output: Vec<Sub> = match rhs {
        Some(r) => {
            let out = parse_term(r)?;
            for (j, s) in out.iter().enumerate() {
                if let Sub::Letter(c) = s {
                    if !sizes.contains_key(c) {
                        return Err(OpError::Invalid(format!(
                            "Einsum output index '{c}' does not appear in any input"
                        )));
                    }
                    if out[..j].contains(s) {
                        return Err(OpError::Invalid(format!(
                            "Einsum output index '{c}' is repeated"
                        )));
                    }
                }
            }
            if !out.contains(&Sub::Ellipsis) && !ellipsis.is_empty() {
                return Err(OpError::Invalid(format!(
                    "Einsum output '{r}' omits the ellipsis, which stands for {} dims",
                    ellipsis.len()
                )));
            }
            out
        }
        None => {
            let mut out: Vec<Sub> = Vec::new();
            if any_ellipsis {
                out.push(Sub::Ellipsis);
            }
            out.extend(
                counts
                    .iter()
                    .filter(|(_, &n)| n == 1)
                    .map(|(&c, _)| Sub::Letter(c)),
            );
            out
        }
    };
    let mut out_shape: Shape = Vec::new();
    for s in &output {
        match s {
            Sub::Ellipsis => out_shape.extend(ellipsis.iter().cloned()),
            Sub::Letter(c) => out_shape.push(sizes.get(c).cloned().unwrap_or(Dim::Unknown)),
        }
    }
    ctx.set_output(0, ctx.dtype(0), out_shape.clone());

    let all: Vec<Dim> = ellipsis.iter().chain(sizes.values()).cloned().collect();
    let (Some(p), Some(o)) = (shape::numel(&all)?, shape::numel(&out_shape)?) else {
        let i = (0..k)
            .find(|&i| ctx.shape(i).is_ok_and(|s| s.iter().any(|d| !d.is_known())))
            .unwrap_or(0);
        return Err(ctx.unknown_input(i));
    };
    let additions = sub_at_least_zero(&p, &o)?;
    if k >= 2 {
        ctx.add_macs(&p)?;
        ctx.add_flops(&p.checked_scale(k as i128 - 1)?)?;
    }
    ctx.add_flops(&additions)
}

#[cfg(test)]
mod recurrent_tests {
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;

    /// LSTM, T = 5, B = 2, I = 10, H = 20, forward, with bias: MACs =
    /// 5·2·80·30 = 24,000; FLOPs = 48,000 + 10·(80 + 360) = 52,400.
    /// GRU without bias: MACs 5·2·60·30 = 18,000, FLOPs 36,000 + 10·(−60 +
    /// 280) = 38,200. Bidirectional RNN, layout 1: MACs 2·5·2·20·30 = 12,000.
    /// DFT opset 20 of a real 2x8x1 signal along axis 1: 2 signals · 8 bins
    /// · 8 samples · 4 = 512; onesided: 5 bins → 320; complex: 1024.
    #[test]
    fn dft() {
        let r = NodeTest::new("DFT").opset(20).input(&[2, 8, 1]).run();
        assert_eq!(r.shape(0), "2x8x2");
        assert_eq!(r.flops(), 512);
        let o = NodeTest::new("DFT")
            .opset(20)
            .input(&[2, 8, 1])
            .int("onesided", 1)
            .run();
        assert_eq!(o.shape(0), "2x5x2");
        assert_eq!(o.flops(), 320);
        // Axis unknown: the shape is still known, the cost is not.
        let u = NodeTest::new("DFT")
            .opset(20)
            .input(&[2, 8, 1])
            .none()
            .input(&[])
            .run();
        assert_eq!(u.shape(0), "2x8x2");
        assert!(
            matches!(u.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("axis"))
        );
        let c = NodeTest::new("DFT").opset(17).input(&[2, 8, 2]).run();
        assert_eq!(c.flops(), 1024);
        // The inverse of a one-sided spectrum of 6 bins: 10 real samples,
        // 2 · 10 · 10 · 8 = 1600.
        let i = NodeTest::new("DFT")
            .opset(17)
            .input(&[2, 6, 2])
            .int("onesided", 1)
            .int("inverse", 1)
            .run();
        assert_eq!(i.shape(0), "2x10x1");
        assert_eq!(i.flops(), 1600);
    }

    /// STFT of a real 1x128x1 signal, step 8, window 16, onesided: 15
    /// frames of 9 bins; FLOPs = 15·(16 + 9·16·4) = 8880.
    #[test]
    fn det() {
        // 2 matrices of 3×3: (2·3 + 2·3·5/3 + 2) = 18 each.
        let r = NodeTest::new("Det").input(&[2, 3, 3]).run();
        assert_eq!(r.shape(0), "2");
        assert_eq!(r.flops(), 36);
    }

    #[test]
    fn stft() {
        let r = NodeTest::new("STFT")
            .opset(17)
            .input(&[1, 128, 1])
            .ints(&[8])
            .input(&[16])
            .run();
        assert_eq!(r.shape(0), "1x15x9x2");
        assert_eq!(r.flops(), 8880);
        // A rank-2 (real) signal, as onnxruntime takes it: the same count.
        let r2 = NodeTest::new("STFT")
            .opset(17)
            .input(&[1, 128])
            .ints(&[8])
            .input(&[16])
            .run();
        assert_eq!((r2.shape(0), r2.flops()), ("1x15x9x2".to_string(), 8880));
        // A symbolic length S: ⌊(S − 16)/8⌋ + 1 = ⌊S/8⌋ − 1 frames.
        let s = NodeTest::new("STFT")
            .opset(17)
            .input_sym(&["1", "S", "1"])
            .ints(&[8])
            .input(&[16])
            .run();
        assert_eq!(s.shape(0), "1x(floor(S/8) - 1)x9x2");
        let m = NodeTest::new("MelWeightMatrix")
            .opset(17)
            .ints(&[10])
            .ints(&[64])
            .ints(&[8000])
            .ints(&[0])
            .ints(&[4000])
            .run();
        assert_eq!(m.shape(0), "33x10");
    }

    #[test]
    fn recurrent() {
        let l = NodeTest::new("LSTM")
            .input(&[5, 2, 10])
            .weight(&[1, 80, 10])
            .weight(&[1, 80, 20])
            .weight(&[1, 160])
            .int("hidden_size", 20)
            .run_outputs(3);
        assert_eq!(l.shape(0), "5x1x2x20");
        assert_eq!(l.shape(1), "1x2x20");
        assert_eq!(l.shape(2), "1x2x20");
        assert_eq!(l.macs(), 24_000);
        assert_eq!(l.flops(), 52_400);
        let g = NodeTest::new("GRU")
            .input(&[5, 2, 10])
            .weight(&[1, 60, 10])
            .weight(&[1, 60, 20])
            .run_outputs(2);
        assert_eq!(g.shape(0), "5x1x2x20");
        assert_eq!(g.macs(), 18_000);
        assert_eq!(g.flops(), 38_200);
        let r = NodeTest::new("RNN")
            .opset(14)
            .input(&[2, 5, 10])
            .weight(&[2, 20, 10])
            .weight(&[2, 20, 20])
            .int("hidden_size", 20)
            .int("layout", 1)
            .string("direction", "bidirectional")
            .run_outputs(2);
        assert_eq!(r.shape(0), "2x5x2x20");
        assert_eq!(r.shape(1), "2x2x20");
        assert_eq!(r.macs(), 12_000);
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::testing::status_incomplete as incomplete;
    use crate::ops::testing::NodeTest;

    /// ResNet-18's fc: A 1×512, B 1000×512 (transB), C 1000.
    /// MACs = 1·1000·512 = 512,000; FLOPs = 1000·(2·512 − 1) + 1000 (bias)
    /// = 1,024,000 = [K + (K − 1) + 1]·N, the article's formula.
    /// Params = 512,000 + 1,000 = 513,000.
    #[test]
    fn resnet_fc() {
        let r = NodeTest::new("Gemm")
            .input(&[1, 512])
            .weight(&[1000, 512])
            .weight(&[1000])
            .int("transB", 1)
            .run();
        assert_eq!(r.shape(0), "1x1000");
        assert_eq!(r.macs(), 512_000);
        assert_eq!(r.flops(), 1_024_000);
        assert_eq!(r.params(), 513_000);
    }

    /// transA: A is K×M = 64×8, B 64×16 → 8×16. No C, alpha 1:
    /// MACs = 8·16·64 = 8192; FLOPs = 128·127 = 16,256.
    #[test]
    fn gemm_trans_a_without_bias() {
        let r = NodeTest::new("Gemm")
            .input(&[64, 8])
            .weight(&[64, 16])
            .int("transA", 1)
            .run();
        assert_eq!(r.shape(0), "8x16");
        assert_eq!(r.macs(), 8192);
        assert_eq!(r.flops(), 16_256);
        assert_eq!(r.params(), 64 * 16);
    }

    /// alpha 0.5, beta 2, C [1, 16] broadcast over 8×16, K 4:
    /// 128 outputs · (7 product + 1 alpha + 1 beta + 1 add) = 1280.
    /// beta 0: C is not added: 128·(7 + 1) = 1024.
    /// A scalar C of one element still counts as a parameter (Role::Weight).
    #[test]
    fn gemm_alpha_beta() {
        let r = NodeTest::new("Gemm")
            .input(&[8, 4])
            .weight(&[4, 16])
            .weight(&[1, 16])
            .float("alpha", 0.5)
            .float("beta", 2.0)
            .run();
        assert_eq!(r.shape(0), "8x16");
        assert_eq!(r.macs(), 512);
        assert_eq!(r.flops(), 1280);
        assert_eq!(r.params(), 64 + 16);
        let zero_beta = NodeTest::new("Gemm")
            .input(&[8, 4])
            .weight(&[4, 16])
            .weight(&[1])
            .float("alpha", 0.5)
            .float("beta", 0.0)
            .run();
        assert_eq!(zero_beta.flops(), 1024);
        assert_eq!(zero_beta.params(), 64 + 1);
    }

    /// B as an activation (not an initializer): no params; symbolic M:
    /// A [batch, 256], B [256, 10], C [10]:
    /// MACs = 2560·batch; FLOPs = 10·batch·(511 + 1) = 5120·batch.
    #[test]
    fn gemm_symbolic_activation_b() {
        let r = NodeTest::new("Gemm")
            .input_sym(&["batch", "256"])
            .input(&[256, 10])
            .input(&[10])
            .run();
        assert_eq!(r.shape(0), "batchx10");
        assert_eq!(r.macs_expr(), "2560*batch");
        assert_eq!(r.flops_expr(), "5120*batch");
        assert_eq!(r.params(), 0);
    }

    #[test]
    fn gemm_errors() {
        let k = NodeTest::new("Gemm").input(&[2, 3]).weight(&[4, 5]).run();
        assert!(incomplete(k.status(), "inner dimensions"));
        let rank = NodeTest::new("Gemm")
            .input(&[2, 3, 4])
            .weight(&[4, 5])
            .run();
        assert!(incomplete(rank.status(), "2-D"));
        let c = NodeTest::new("Gemm")
            .input(&[2, 3])
            .weight(&[3, 5])
            .weight(&[4])
            .run();
        assert!(incomplete(c.status(), "broadcast"));
        let t = NodeTest::new("Gemm")
            .input(&[2, 3])
            .weight(&[3, 5])
            .int("transA", 2)
            .run();
        assert!(incomplete(t.status(), "transA"));
        let u = NodeTest::new("Gemm").input_unknown().weight(&[3, 5]).run();
        assert!(incomplete(u.status(), "unknown"));
    }

    /// Batched broadcast: [2, 1, 3, 4] × [5, 4, 6] → [2, 5, 3, 6].
    /// MACs = 2·5·3·6·4 = 720; FLOPs = 180·7 = 1260.
    #[test]
    fn matmul_batched_broadcast() {
        let r = NodeTest::new("MatMul")
            .input(&[2, 1, 3, 4])
            .input(&[5, 4, 6])
            .run();
        assert_eq!(r.shape(0), "2x5x3x6");
        assert_eq!(r.macs(), 720);
        assert_eq!(r.flops(), 1260);
    }

    /// 1-D operands: [4]·[4] → scalar, MACs 4, FLOPs 7;
    /// [3, 4]·[4] → [3], MACs 12, FLOPs 21; [4]·[2, 4, 5] → [2, 5],
    /// MACs 40, FLOPs 70.
    #[test]
    fn matmul_vectors() {
        let dot = NodeTest::new("MatMul").input(&[4]).input(&[4]).run();
        assert_eq!(dot.shape(0), "scalar");
        assert_eq!((dot.macs(), dot.flops()), (4, 7));
        let mv = NodeTest::new("MatMul").input(&[3, 4]).input(&[4]).run();
        assert_eq!(mv.shape(0), "3");
        assert_eq!((mv.macs(), mv.flops()), (12, 21));
        let vm = NodeTest::new("MatMul").input(&[4]).input(&[2, 4, 5]).run();
        assert_eq!(vm.shape(0), "2x5");
        assert_eq!((vm.macs(), vm.flops()), (40, 70));
    }

    /// A transformer MLP: [batch, seq, 768] × [768, 3072] (a weight):
    /// MACs = 768·3072·batch·seq = 2,359,296·batch·seq;
    /// FLOPs = 3072·1535·batch·seq = 4,715,520·batch·seq; params 2,359,296.
    #[test]
    fn matmul_symbolic() {
        let r = NodeTest::new("MatMul")
            .input_sym(&["batch", "seq", "768"])
            .weight(&[768, 3072])
            .run();
        assert_eq!(r.shape(0), "batchxseqx3072");
        assert_eq!(r.macs_expr(), "2359296*batch*seq");
        assert_eq!(r.flops_expr(), "4715520*batch*seq");
        assert_eq!(r.params(), 2_359_296);
    }

    #[test]
    fn matmul_errors() {
        let k = NodeTest::new("MatMul").input(&[2, 3]).input(&[4, 5]).run();
        assert!(incomplete(k.status(), "inner dimensions"));
        let b = NodeTest::new("MatMul")
            .input(&[2, 3, 4])
            .input(&[3, 4, 5])
            .run();
        assert!(incomplete(b.status(), "batch"));
        let s = NodeTest::new("MatMul").input(&[]).input(&[4]).run();
        assert!(incomplete(s.status(), "rank"));
        // An unknown M still gives the rank; the cost needs it.
        let u = NodeTest::new("MatMul")
            .input_dims(
                vec![crate::shape::Dim::Unknown, crate::shape::Dim::int(4)],
                crate::graph::DType::F32,
            )
            .input(&[4, 5])
            .run();
        assert_eq!(u.shape(0), "?x5");
        assert!(incomplete(u.status(), "unknown"));
    }

    /// Einsum `bij,bjk->bik` equals MatMul: b 2, i 3, j 4, k 5:
    /// P = 120, O = 30: MACs 120, FLOPs 120 + 90 = 210 = 30·(2·4 − 1).
    #[test]
    fn einsum_batched_matmul() {
        let r = NodeTest::new("Einsum")
            .input(&[2, 3, 4])
            .input(&[2, 4, 5])
            .string("equation", "bij,bjk->bik")
            .run();
        let m = NodeTest::new("MatMul")
            .input(&[2, 3, 4])
            .input(&[2, 4, 5])
            .run();
        assert_eq!(r.shape(0), "2x3x5");
        assert_eq!((r.macs(), r.flops()), (120, 210));
        assert_eq!((r.macs(), r.flops()), (m.macs(), m.flops()));
    }

    /// Single-operand forms: `ij->ji` transpose 0; `ii->i` diagonal 0;
    /// `ii->` trace 5 − 1 = 4; `ij->` sum 3·4 − 1 = 11; implicit `ij`
    /// keeps order (0), implicit `ji` transposes to sorted `ij` (0).
    #[test]
    fn einsum_unary() {
        let t = NodeTest::new("Einsum")
            .input(&[3, 4])
            .string("equation", "ij->ji")
            .run();
        assert_eq!(t.shape(0), "4x3");
        assert_eq!((t.macs(), t.flops()), (0, 0));
        let d = NodeTest::new("Einsum")
            .input(&[5, 5])
            .string("equation", "ii->i")
            .run();
        assert_eq!(d.shape(0), "5");
        assert_eq!(d.flops(), 0);
        let tr = NodeTest::new("Einsum")
            .input(&[5, 5])
            .string("equation", "ii->")
            .run();
        assert_eq!(tr.shape(0), "scalar");
        assert_eq!(tr.flops(), 4);
        let s = NodeTest::new("Einsum")
            .input(&[3, 4])
            .string("equation", "ij->")
            .run();
        assert_eq!(s.flops(), 11);
        let imp = NodeTest::new("Einsum")
            .input(&[3, 4])
            .string("equation", "ji")
            .run();
        assert_eq!(imp.shape(0), "4x3");
        assert_eq!(imp.flops(), 0);
    }

    /// Attention scores `bhqd,bhkd->bhqk`, b 1, h 12, q = k = 128, d 64:
    /// P = 12·128·128·64 = 12,582,912; O = 196,608;
    /// FLOPs = 2P − O = 24,969,216. With spaces in the equation too.
    #[test]
    fn einsum_attention_scores() {
        let r = NodeTest::new("Einsum")
            .input(&[1, 12, 128, 64])
            .input(&[1, 12, 128, 64])
            .string("equation", "bhqd, bhkd -> bhqk")
            .run();
        assert_eq!(r.shape(0), "1x12x128x128");
        assert_eq!(r.macs(), 12_582_912);
        assert_eq!(r.flops(), 24_969_216);
    }

    /// Implicit `ij,jk` → `ik` (j appears twice): 3×4 · 4×5:
    /// MACs 60, FLOPs 60 + 60 − 15 = 105 = 15·7.
    /// Implicit output order is by character code: `Ba,aC` → `BC`.
    #[test]
    fn einsum_implicit() {
        let r = NodeTest::new("Einsum")
            .input(&[3, 4])
            .input(&[4, 5])
            .string("equation", "ij,jk")
            .run();
        assert_eq!(r.shape(0), "3x5");
        assert_eq!((r.macs(), r.flops()), (60, 105));
        let upper = NodeTest::new("Einsum")
            .input(&[2, 3])
            .input(&[3, 7])
            .string("equation", "Ba,aC")
            .run();
        assert_eq!(upper.shape(0), "2x7");
    }

    /// Ellipsis broadcast `...ij,...jk->...ik` on [2, 1, 3, 4] and
    /// [5, 4, 6]: like MatMul, [2, 5, 3, 6], MACs 720, FLOPs 1260.
    /// Implicit with ellipsis `...ij,...jk` gives the same.
    /// An explicit output must keep `...` when it covers dims (numpy
    /// rejects `...i->i` on [2, 3, 4]); over zero dims it may be omitted:
    /// `...i->i` on [4] is a copy, 0 FLOPs.
    #[test]
    fn einsum_ellipsis() {
        for eq in ["...ij,...jk->...ik", "...ij,...jk"] {
            let r = NodeTest::new("Einsum")
                .input(&[2, 1, 3, 4])
                .input(&[5, 4, 6])
                .string("equation", eq)
                .run();
            assert_eq!(r.shape(0), "2x5x3x6");
            assert_eq!((r.macs(), r.flops()), (720, 1260));
        }
        let s = NodeTest::new("Einsum")
            .input(&[2, 3, 4])
            .string("equation", "...i->i")
            .run();
        assert!(incomplete(s.status(), "ellipsis"));
        let v = NodeTest::new("Einsum")
            .input(&[4])
            .string("equation", "...i->i")
            .run();
        assert_eq!(v.shape(0), "4");
        assert_eq!(v.flops(), 0);
    }

    /// Symbolic batch: `bij,jk->bik` with [batch, 3, 4] × [4, 5]:
    /// MACs 60·batch, FLOPs 120·batch − 15·batch = 105·batch.
    /// Three operands `i,i,i->` on [n]: MACs n, FLOPs 2n + n − 1.
    #[test]
    fn einsum_symbolic_and_three_operands() {
        let r = NodeTest::new("Einsum")
            .input_sym(&["batch", "3", "4"])
            .input(&[4, 5])
            .string("equation", "bij,jk->bik")
            .run();
        assert_eq!(r.shape(0), "batchx3x5");
        assert_eq!(r.macs_expr(), "60*batch");
        assert_eq!(r.flops_expr(), "105*batch");
        let three = NodeTest::new("Einsum")
            .input_sym(&["n"])
            .input_sym(&["n"])
            .input_sym(&["n"])
            .string("equation", "i,i,i->")
            .run();
        assert_eq!(three.shape(0), "scalar");
        assert_eq!(three.macs_expr(), "n");
        assert_eq!(three.flops_expr(), "3*n - 1");
    }

    /// A size-1 index broadcasts: `ij,jk` with j 1 vs 4 → j = 4.
    #[test]
    fn einsum_index_broadcast() {
        let r = NodeTest::new("Einsum")
            .input(&[3, 1])
            .input(&[4, 5])
            .string("equation", "ij,jk->ik")
            .run();
        assert_eq!(r.shape(0), "3x5");
        assert_eq!(r.macs(), 60);
    }

    #[test]
    fn einsum_errors() {
        let cases: &[(&str, &str)] = &[
            ("ij,jk->ik", "inputs"),
            ("ij->k", "does not appear"),
            ("ij->ii", "repeated"),
            ("i.j->ij", "ellipsis"),
            ("i1->i", "unexpected"),
            ("ijk->i", "rank"),
            ("ij->i->j", "unexpected"),
        ];
        for (eq, needle) in cases {
            let r = NodeTest::new("Einsum")
                .input(&[3, 4])
                .string("equation", eq)
                .run();
            assert!(incomplete(r.status(), needle), "{eq}: {:?}", r.status());
        }
        let clash = NodeTest::new("Einsum")
            .input(&[3, 4])
            .input(&[5, 6])
            .string("equation", "ij,jk->ik")
            .run();
        assert!(incomplete(clash.status(), "index 'j'"));
        let missing = NodeTest::new("Einsum").input(&[3, 4]).run();
        assert!(incomplete(missing.status(), "equation"));
    }
}
