//! Operators that rearrange a tensor without choosing elements: Reshape,
//! Flatten, Squeeze, Unsqueeze, Transpose, Expand, Tile, Identity, Dropout,
//! DepthToSpace, SpaceToDepth, and Col2Im. All cost 0 MACs and 0 FLOPs but
//! Col2Im, which adds the overlapping blocks: one addition per element of its
//! input (`N·C·∏block·L`).

use super::{
    data_dims, dim_div, dim_product, int_list, known_ints, list_input, map_value, normalize_axes,
    set_value, strides, value_with_dims, IntList,
};
use crate::graph::DType;
use crate::ops::Access;
use crate::ops::{product, NodeCtx, OpError, RuleResult};
use crate::poly::Poly;
use crate::shape::{self, Dim, Shape};

/// Reshape (`shape` attribute before opset 5, input 1 from 5; `allowzero`
/// from 14). A target entry `0` copies the input dim at the same position
/// (unless `allowzero = 1`), `-1` is inferred so that the element count is
/// kept: `numel(input) / ∏(other target dims)`, divided exactly as
/// polynomials after cancelling equal factors (`[batch, 512, 1, 1]` to
/// `[batch, -1]` gives `512`). Symbolic target entries (from a
/// `Shape → Gather → Concat` chain) are kept. The elements, if tracked,
/// pass through. 0 FLOPs.
pub(super) fn reshape(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::View;
    // An input of unknown rank still reshapes to a known target.
    let input = match ctx.shape(0) {
        Ok(s) => Some(s),
        Err(OpError::UnknownInput { .. }) => None,
        Err(e) => return Err(e),
    };
    let dtype = ctx.dtype(0);
    let allowzero = ctx.attr_int("allowzero", 0)? != 0;
    let target = match int_list(ctx, "shape", 1)? {
        IntList::Known(t) => t,
        IntList::Absent => {
            return Err(OpError::Invalid(
                "Reshape needs a target shape (input 1, or attribute 'shape' before opset 5)"
                    .into(),
            ))
        }
        IntList::Unknown(len) => return data_dims(
            ctx,
            0,
            dtype,
            len,
            "the target shape of Reshape (input 1) is computed from values nncost does not know",
        ),
    };
    let Some(input) = input else {
        let mut copies = false;
        let mut out = Vec::with_capacity(target.len());
        for (i, t) in target.iter().enumerate() {
            match t.as_i64() {
                Some(-1) => copies = true,
                Some(0) if !allowzero => copies = true,
                Some(v) if v < 0 => {
                    return Err(OpError::Invalid(format!("target shape entry {i} is {v}")));
                }
                _ => {
                    out.push(t.clone());
                    continue;
                }
            }
            out.push(Dim::Unknown);
        }
        ctx.set_output(0, dtype, out);
        return if copies {
            Err(ctx.unknown_input(0))
        } else {
            Ok(())
        };
    };
    let out = reshape_dims(input, &target, allowzero)?;
    ctx.set_output(0, dtype, out);
    if let Some(v) = ctx.value(0) {
        set_value(ctx, 0, v.clone());
    }
    Ok(())
}

/// The output shape of a reshape of `input` to `target`.
fn reshape_dims(input: &[Dim], target: &[Dim], allowzero: bool) -> Result<Shape, OpError> {
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    let mut has_zero = false;
    for (i, t) in target.iter().enumerate() {
        match t.as_i64() {
            Some(0) if !allowzero => out.push(input.get(i).cloned().ok_or_else(|| {
                OpError::Invalid(format!(
                    "shape entry {i} is 0 (copy the input dim) but the input has rank {}",
                    input.len()
                ))
            })?),
            Some(-1) => {
                if infer.replace(i).is_some() {
                    return Err(OpError::Invalid("target shape has more than one -1".into()));
                }
                out.push(Dim::Unknown);
            }
            Some(v) if v < 0 => {
                return Err(OpError::Invalid(format!("target shape entry {i} is {v}")));
            }
            Some(v) => {
                has_zero |= v == 0;
                out.push(t.clone());
            }
            None => out.push(t.clone()),
        }
    }
    match infer {
        Some(_) if has_zero => Err(OpError::Invalid(
            "target shape has both 0 (with allowzero = 1) and -1".into(),
        )),
        Some(k) => {
            let others: Vec<Dim> = out
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != k)
                .map(|(_, d)| d.clone())
                .collect();
            out[k] = infer_dim(input, &others)?;
            Ok(out)
        }
        None => {
            let (a, b) = (shape::numel(input)?, shape::numel(&out)?);
            if let (Some(a), Some(b)) = (
                a.as_ref().and_then(Poly::as_constant),
                b.as_ref().and_then(Poly::as_constant),
            ) {
                if a != b {
                    return Err(OpError::Invalid(format!(
                        "cannot reshape {a} elements into {} ({b} elements)",
                        shape::format_shape(&out)
                    )));
                }
            }
            Ok(out)
        }
    }
}

/// `numel(input) / ∏ others`, by cancelling equal non-zero factors and then
/// dividing exactly; unknown if a factor is unknown or the quotient is not
/// a polynomial.
fn infer_dim(input: &[Dim], others: &[Dim]) -> Result<Dim, OpError> {
    let Some(mut num) = input
        .iter()
        .map(|d| d.poly().cloned())
        .collect::<Option<Vec<Poly>>>()
    else {
        return Ok(Dim::Unknown);
    };
    let Some(mut den) = others
        .iter()
        .map(|d| d.poly().cloned())
        .collect::<Option<Vec<Poly>>>()
    else {
        return Ok(Dim::Unknown);
    };
    den.retain(|d| {
        if d.is_zero() {
            return true;
        }
        match num.iter().position(|n| n == d) {
            Some(pos) => {
                num.swap_remove(pos);
                false
            }
            None => true,
        }
    });
    let n = product(&num)?;
    let d = product(&den)?;
    if let (Some(a), Some(b)) = (n.as_constant(), d.as_constant()) {
        if b == 0 || a % b != 0 {
            return Err(OpError::Invalid(format!(
                "cannot infer the -1 entry: {a} elements are not a multiple of {b}"
            )));
        }
        return Ok(Dim::Known(Poly::constant(a / b)));
    }
    Ok(n.div_poly_exact(&d).map_or(Dim::Unknown, Dim::Known))
}

/// Flatten to 2-D at `axis` (default 1; negative from opset 11):
/// `[∏ d[..axis], ∏ d[axis..]]`. 0 FLOPs.
pub(super) fn flatten(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::View;
    let s = ctx.shape(0)?;
    let r = s.len() as i64;
    let axis = ctx.attr_int("axis", 1)?;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..=r).contains(&a) {
        return Err(OpError::Invalid(format!(
            "attribute 'axis' = {axis} is out of range for rank {r}"
        )));
    }
    let a = a as usize;
    let out = vec![dim_product(&s[..a])?, dim_product(&s[a..])?];
    ctx.set_output(0, ctx.dtype(0), out);
    if let Some(v) = ctx.value(0) {
        set_value(ctx, 0, v.clone());
    }
    Ok(())
}

/// Squeeze (axes by attribute before opset 13, by input from 13). Without
/// axes, removes the dims known to be 1; a symbolic dim is assumed not to be
/// 1, an unknown dim makes the output rank unknown. 0 FLOPs.
pub(super) fn squeeze(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::View;
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let out: Shape = match int_list(ctx, "axes", 1)? {
        IntList::Absent => {
            if s.iter().any(|d| !d.is_known()) {
                ctx.set_output_dtype(0, dtype);
                return Err(ctx.unknown_input(0));
            }
            s.iter()
                .filter(|d| d.as_i64() != Some(1))
                .cloned()
                .collect()
        }
        IntList::Known(axes) => match known_ints(&axes) {
            Some(axes) => {
                let axes = normalize_axes(&axes, s.len(), "axis")?;
                for &a in &axes {
                    if let Some(v) = s[a].as_i64().filter(|&v| v != 1) {
                        return Err(OpError::Invalid(format!(
                            "cannot squeeze axis {a} of size {v}"
                        )));
                    }
                }
                let mut removed = vec![false; s.len()];
                for &a in &axes {
                    removed[a] = true;
                }
                s.iter()
                    .zip(removed)
                    .filter(|(_, r)| !r)
                    .map(|(d, _)| d.clone())
                    .collect()
            }
            None => {
                let rank = s.len().checked_sub(axes.len());
                return data_dims(ctx, 0, dtype, rank, "the axes of Squeeze are not known");
            }
        },
        IntList::Unknown(len) => {
            let rank = len.and_then(|k| s.len().checked_sub(k));
            return data_dims(
                ctx,
                0,
                dtype,
                rank,
                "the axes of Squeeze (input 1) are not known",
            );
        }
    };
    ctx.set_output(0, dtype, out);
    if let Some(v) = ctx.value(0) {
        set_value(ctx, 0, v.clone());
    }
    Ok(())
}

/// Unsqueeze (axes by attribute before opset 13, by input from 13;
/// negative axes count from the end of the *output*). 0 FLOPs.
pub(super) fn unsqueeze(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::View;
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let axes = match int_list(ctx, "axes", 1)? {
        IntList::Known(a) => a,
        IntList::Absent => {
            return Err(OpError::Invalid(
                "Unsqueeze needs axes (attribute, or input 1 from opset 13)".into(),
            ))
        }
        IntList::Unknown(len) => {
            let rank = len.map(|k| s.len() + k);
            return data_dims(
                ctx,
                0,
                dtype,
                rank,
                "the axes of Unsqueeze (input 1) are not known",
            );
        }
    };
    let out_rank = s.len() + axes.len();
    let Some(axes) = known_ints(&axes) else {
        return data_dims(
            ctx,
            0,
            dtype,
            Some(out_rank),
            "the axes of Unsqueeze are not known",
        );
    };
    let axes = normalize_axes(&axes, out_rank, "axis")?;
    let mut inserted = vec![false; out_rank];
    for &a in &axes {
        inserted[a] = true;
    }
    let mut rest = s.iter();
    let out: Shape = (0..out_rank)
        .map(|i| {
            if inserted[i] {
                Dim::int(1)
            } else {
                rest.next().cloned().unwrap_or(Dim::Unknown)
            }
        })
        .collect();
    ctx.set_output(0, dtype, out);
    if let Some(v) = ctx.value(0) {
        set_value(ctx, 0, v.clone());
    }
    Ok(())
}

/// Transpose by `perm` (default: reversed axes): `out[i] = in[perm[i]]`.
/// Tracked elements are permuted. 0 FLOPs.
pub(super) fn transpose(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let r = s.len();
    let perm: Vec<usize> = match ctx.attr_ints("perm")? {
        Some(p) => {
            let p = normalize_axes(p, r, "perm entry")?;
            if p.len() != r {
                return Err(OpError::Invalid(format!(
                    "attribute 'perm' has {} entries for rank {r}",
                    p.len()
                )));
            }
            p
        }
        None => (0..r).rev().collect(),
    };
    let out: Shape = perm.iter().map(|&p| s[p].clone()).collect();
    ctx.set_output(0, ctx.dtype(0), out);
    if let Some((v, dims)) = value_with_dims(ctx, 0) {
        let st = strides(&dims);
        map_value(ctx, 0, v, |pos| {
            Some(pos.iter().zip(&perm).map(|(&p, &a)| p * st[a]).sum())
        });
    }
    Ok(())
}

/// Expand: numpy broadcast of the input's shape with the shape value
/// (symbolic entries allowed; a target `1` keeps the input's dim). Tracked
/// elements are broadcast. 0 FLOPs.
pub(super) fn expand(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let target = match list_input(ctx, 1)? {
        IntList::Known(t) => t,
        IntList::Absent => return Err(OpError::MissingInput(1)),
        IntList::Unknown(len) => {
            let rank = len.map(|k| k.max(s.len()));
            return data_dims(
                ctx,
                0,
                dtype,
                rank,
                "the target shape of Expand (input 1) is not known",
            );
        }
    };
    let out = shape::broadcast(s, &target)?;
    ctx.set_output(0, dtype, out.clone());
    if let Some((v, dims)) = value_with_dims(ctx, 0) {
        let offset = out.len() - dims.len();
        let st = strides(&dims);
        map_value(ctx, 0, v, |pos| {
            Some(
                dims.iter()
                    .enumerate()
                    .map(|(i, &d)| if d == 1 { 0 } else { pos[offset + i] * st[i] })
                    .sum(),
            )
        });
    }
    Ok(())
}

/// Tile: `out[i] = in[i] · repeats[i]` (repeats by input 1; before opset 6,
/// a scalar `tiles` input 1 and `axis` input 2). 0 FLOPs.
pub(super) fn tile(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let r = s.len();
    let repeats: Vec<Dim> = if ctx.opset < 6 {
        let tiles = match list_input(ctx, 1)? {
            IntList::Known(t) if t.len() == 1 => t[0].clone(),
            IntList::Known(_) => {
                return Err(OpError::Invalid("input 'tiles' must be a scalar".into()))
            }
            IntList::Absent => return Err(OpError::MissingInput(1)),
            IntList::Unknown(_) => Dim::Unknown,
        };
        let axis = match list_input(ctx, 2)? {
            IntList::Known(a) => a.first().and_then(Dim::as_i64),
            IntList::Absent => return Err(OpError::MissingInput(2)),
            IntList::Unknown(_) => None,
        };
        let Some(axis) = axis else {
            return data_dims(
                ctx,
                0,
                dtype,
                Some(r),
                "the axis of Tile (input 2) is not known",
            );
        };
        let axis = normalize_axes(&[axis], r, "axis")?[0];
        (0..r)
            .map(|i| {
                if i == axis {
                    tiles.clone()
                } else {
                    Dim::int(1)
                }
            })
            .collect()
    } else {
        match list_input(ctx, 1)? {
            IntList::Known(t) => t,
            IntList::Absent => return Err(OpError::MissingInput(1)),
            IntList::Unknown(_) => {
                return data_dims(
                    ctx,
                    0,
                    dtype,
                    Some(r),
                    "the repeats of Tile (input 1) are not known",
                )
            }
        }
    };
    if repeats.len() != r {
        return Err(OpError::Invalid(format!(
            "repeats has {} entries for rank {r}",
            repeats.len()
        )));
    }
    if let Some(v) = repeats.iter().filter_map(Dim::as_i64).find(|&v| v < 0) {
        return Err(OpError::Invalid(format!("repeat count {v} is negative")));
    }
    let out: Shape = s
        .iter()
        .zip(&repeats)
        .map(|(d, k)| d.mul(k))
        .collect::<Result<_, _>>()?;
    ctx.set_output(0, dtype, out);
    if let Some((v, dims)) = value_with_dims(ctx, 0) {
        let st = strides(&dims);
        map_value(ctx, 0, v, |pos| {
            pos.iter()
                .zip(&dims)
                .zip(&st)
                .map(|((&p, &d), &s)| (d > 0).then(|| (p % d) * s))
                .sum()
        });
    }
    Ok(())
}

/// Identity: the output is the input (dtype, shape and elements). 0 FLOPs.
pub(super) fn identity(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::View;
    ctx.pass_through(0, 0)?;
    ctx.shape(0)?;
    Ok(())
}

/// Dropout, counted as at inference: output 0 is the input; the optional
/// mask output 1 has the input's shape and dtype Bool. 0 FLOPs.
pub(super) fn dropout(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::View;
    ctx.pass_through(0, 0)?;
    let s = ctx.shape(0)?.to_vec();
    if ctx.num_outputs() > 1 {
        ctx.set_output(1, Some(DType::Bool), s);
    }
    Ok(())
}

fn blocksize(ctx: &NodeCtx) -> Result<i64, OpError> {
    match ctx.attr_int("blocksize", 0)? {
        b if b >= 1 => Ok(b),
        b => Err(OpError::Invalid(format!(
            "attribute 'blocksize' is required and must be positive, got {b}"
        ))),
    }
}

fn rank4<'a>(ctx: &NodeCtx<'a>) -> Result<&'a [Dim], OpError> {
    let s = ctx.shape(0)?;
    if s.len() != 4 {
        return Err(OpError::Invalid(format!(
            "input must be 4-D, got rank {}",
            s.len()
        )));
    }
    Ok(s)
}

/// DepthToSpace with block `b`: `[N, C, H, W] → [N, C/b², H·b, W·b]` (both
/// modes). 0 FLOPs.
pub(super) fn depth_to_space(ctx: &mut NodeCtx) -> RuleResult {
    let s = rank4(ctx)?;
    let b = blocksize(ctx)?;
    let bd = Dim::int(b);
    let c = dim_div(
        &s[1],
        b.checked_mul(b).ok_or(crate::poly::Overflow)?,
        "channels / blocksize²",
    )?;
    let out = vec![s[0].clone(), c, s[2].mul(&bd)?, s[3].mul(&bd)?];
    ctx.set_output(0, ctx.dtype(0), out);
    Ok(())
}

/// SpaceToDepth with block `b`: `[N, C, H, W] → [N, C·b², H/b, W/b]`.
/// 0 FLOPs.
pub(super) fn space_to_depth(ctx: &mut NodeCtx) -> RuleResult {
    let s = rank4(ctx)?;
    let b = blocksize(ctx)?;
    let b2 = Dim::int(b.checked_mul(b).ok_or(crate::poly::Overflow)?);
    let out = vec![
        s[0].clone(),
        s[1].mul(&b2)?,
        dim_div(&s[2], b, "height / blocksize")?,
        dim_div(&s[3], b, "width / blocksize")?,
    ];
    ctx.set_output(0, ctx.dtype(0), out);
    Ok(())
}

/// Col2Im (opset 18): input `[N, C·∏block, L]`, `image_shape` (input 1) and
/// `block_shape` (input 2) → `[N, C, image_shape…]`. Every input element is
/// accumulated into the image: `N·C·∏block·L` additions.
pub(super) fn col2im(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    if x.len() != 3 {
        return Err(OpError::Invalid(format!(
            "Col2Im needs an input [N, C·∏block, L], got rank {}",
            x.len()
        )));
    }
    ctx.input(1)?;
    ctx.input(2)?;
    let image = ctx.value(1).and_then(|v| v.as_ints()).map(<[Dim]>::to_vec);
    let block = ctx.value(2).and_then(|v| v.as_ints()).map(<[Dim]>::to_vec);
    let (Some(image), Some(block)) = (image, block) else {
        return Err(OpError::DataDependent(
            "the image or block shape of Col2Im (inputs 1 and 2) is not known".into(),
        ));
    };
    if image.len() != block.len() {
        return Err(OpError::Invalid(format!(
            "image_shape has {} values and block_shape {}",
            image.len(),
            block.len()
        )));
    }
    let mut k = Dim::int(1);
    for b in &block {
        k = k.mul(b)?;
    }
    let c = x[1].div_exact(&k);
    let mut out: Shape = vec![x[0].clone(), c];
    out.extend(image);
    ctx.set_output(0, ctx.dtype(0), out);
    let n = ctx.numel(0)?;
    ctx.add_flops(&n)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{act, ints, ints_attr, ints_nd, run_rule, scalar, unknown_ints};
    use crate::graph::DType;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;
    use crate::shape::Dim;
    use crate::value::ValueFacts;

    /// Col2Im of 1x18x12 with image [5, 5] and block [3, 3]: 1x2x5x5, one
    /// addition per input element, 216.
    #[test]
    fn col2im() {
        let r = NodeTest::new("Col2Im")
            .opset(18)
            .input(&[1, 18, 12])
            .ints(&[5, 5])
            .ints(&[3, 3])
            .run();
        assert_eq!(r.shape(0), "1x2x5x5");
        assert_eq!(r.flops(), 216);
    }

    fn incomplete(r: &crate::ops::testing::Outcome, needle: &str) -> bool {
        matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains(needle))
    }

    /// [2, 3, 4] (24 elements) to [4, -1]: -1 = 24 / 4 = 6. No cost.
    #[test]
    fn reshape_infers_minus_one() {
        let r = NodeTest::new("Reshape")
            .input(&[2, 3, 4])
            .ints(&[4, -1])
            .run();
        assert_eq!(r.shape(0), "4x6");
        assert_eq!(r.flops(), 0);
        assert_eq!(r.macs(), 0);
        assert_eq!(r.params(), 0);
    }

    /// 0 copies the input dim: [2, 3, 4] to [0, -1] is 2x12; with
    /// allowzero = 1 a 0 is a real zero: [0, 4] to [0, 4] is 0x4.
    #[test]
    fn reshape_zero_copies_unless_allowzero() {
        let r = NodeTest::new("Reshape")
            .input(&[2, 3, 4])
            .ints(&[0, -1])
            .run();
        assert_eq!(r.shape(0), "2x12");
        let r = NodeTest::new("Reshape")
            .input(&[0, 4])
            .ints(&[0, 4])
            .int("allowzero", 1)
            .run();
        assert_eq!(r.shape(0), "0x4");
        // allowzero with both 0 and -1 is invalid.
        let r = NodeTest::new("Reshape")
            .input(&[0, 4])
            .ints(&[0, -1])
            .int("allowzero", 1)
            .run();
        assert!(incomplete(&r, "both 0"));
    }

    /// [batch, 512, 1, 1] to [batch, -1]: 512·batch / batch = 512.
    #[test]
    fn reshape_symbolic_target() {
        let r = run_rule(
            "Reshape",
            17,
            &[
                Some(act(&["batch", "512", "1", "1"])),
                Some(ints(&["batch", "-1"])),
            ],
            &[],
            1,
        );
        assert!(r.ok());
        assert_eq!(r.shape(0), "batchx512");
        // [batch, seq, 768] to [batch, seq, 12, 64] and to [0, 0, 12, -1]:
        // -1 = 768·batch·seq / (12·batch·seq) = 64.
        let x = act(&["batch", "seq", "768"]);
        let r = run_rule(
            "Reshape",
            17,
            &[Some(x.clone()), Some(ints(&["batch", "seq", "12", "64"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchxseqx12x64");
        let r = run_rule(
            "Reshape",
            17,
            &[Some(x), Some(ints(&["0", "0", "12", "-1"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchxseqx12x64");
    }

    /// A multi-term dim cancels as a factor: [batch, seq + 1, 768] to
    /// [batch, seq + 1, -1] gives 768 (768·batch·(seq+1) / (batch·(seq+1))).
    #[test]
    fn reshape_cancels_compound_factors() {
        let s1 = Dim::sym("seq").add(&Dim::int(1)).unwrap();
        let x = ValueFacts::new(
            Some(DType::F32),
            Some(vec![Dim::sym("batch"), s1.clone(), Dim::int(768)]),
        );
        let t = ValueFacts {
            dtype: Some(DType::I64),
            shape: Some(vec![Dim::int(3)].into()),
            value: Some(crate::value::ConstValue::Ints(vec![
                Dim::sym("batch"),
                s1,
                Dim::int(-1),
            ])),
            sequence: None,
            pattern: None,
        };
        let r = run_rule("Reshape", 17, &[Some(x), Some(t)], &[], 1);
        assert_eq!(r.shape(0), "batchx(seq + 1)x768");
        // Not divisible as a polynomial: [batch, seq] to [-1, 2] stays unknown.
        let r = run_rule(
            "Reshape",
            17,
            &[Some(act(&["batch", "seq"])), Some(ints(&["-1", "2"]))],
            &[],
            1,
        );
        assert!(r.ok());
        assert_eq!(r.shape(0), "?x2");
    }

    #[test]
    fn reshape_errors() {
        // 24 elements are not a multiple of 5.
        let r = NodeTest::new("Reshape")
            .input(&[2, 3, 4])
            .ints(&[5, -1])
            .run();
        assert!(incomplete(&r, "not a multiple of 5"));
        // 6 elements cannot become 7.
        let r = NodeTest::new("Reshape").input(&[2, 3]).ints(&[7]).run();
        assert!(incomplete(&r, "cannot reshape 6 elements"));
        let r = NodeTest::new("Reshape")
            .input(&[2, 3])
            .ints(&[-1, -1])
            .run();
        assert!(incomplete(&r, "more than one -1"));
        let r = NodeTest::new("Reshape").input(&[2, 3]).ints(&[-2, 3]).run();
        assert!(incomplete(&r, "-2"));
        // 0 copying past the input's rank.
        let r = NodeTest::new("Reshape").input(&[6]).ints(&[1, 0]).run();
        assert!(incomplete(&r, "rank 1"));
    }

    /// An unknown target of length 3: rank 3, dims unknown, data dependent.
    #[test]
    fn reshape_unknown_target() {
        let r = run_rule(
            "Reshape",
            17,
            &[Some(act(&["2", "3", "4"])), Some(unknown_ints(3))],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "n_ax0xn_ax1xn_ax2");
    }

    /// An input of unknown rank reshaped to [1, 3, 224, 224] gives that
    /// shape; with a -1 or a copying 0 that entry is unknown and the input
    /// is reported unknown.
    #[test]
    fn reshape_unknown_input() {
        let r = NodeTest::new("Reshape")
            .input_unknown()
            .ints(&[1, 3, 224, 224])
            .run();
        assert_eq!(r.shape(0), "1x3x224x224");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Reshape")
            .input_unknown()
            .ints(&[0, -1, 7])
            .run();
        assert!(incomplete(&r, "unknown"));
        assert_eq!(r.shape(0), "?x?x7");
    }

    /// Opset 4: the target is the 'shape' attribute.
    #[test]
    fn reshape_opset4_attribute() {
        let r = NodeTest::new("Reshape")
            .opset(4)
            .input(&[2, 3, 4])
            .ints_attr("shape", &[6, 4])
            .run();
        assert_eq!(r.shape(0), "6x4");
    }

    /// Tracked elements pass through: [[1, 2], [3, 4]] to [4].
    #[test]
    fn reshape_keeps_value() {
        let r = run_rule(
            "Reshape",
            17,
            &[
                Some(ints_nd(&[2, 2], &["1", "2", "3", "batch"])),
                Some(ints(&["4"])),
            ],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "4");
        assert_eq!(r.value(0), "[1, 2, 3, batch]");
    }

    /// [2, 3, 4, 5]: axis 2 → [6, 20]; axis −1 → [24, 5]; axis 0 → [1, 120];
    /// [batch, 512, 7, 7] default axis 1 → [batch, 25088].
    #[test]
    fn flatten_axes() {
        let f = |axis: i64| {
            NodeTest::new("Flatten")
                .input(&[2, 3, 4, 5])
                .int("axis", axis)
                .run()
                .shape(0)
        };
        assert_eq!(f(2), "6x20");
        assert_eq!(f(-1), "24x5");
        assert_eq!(f(0), "1x120");
        assert_eq!(f(4), "120x1");
        let r = NodeTest::new("Flatten")
            .input_sym(&["batch", "512", "7", "7"])
            .run();
        assert_eq!(r.shape(0), "batchx25088");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Flatten").input(&[2, 3]).int("axis", 3).run();
        assert!(incomplete(&r, "axis"));
    }

    /// [1, 3, 1, 5]: no axes → [3, 5]; axes [0] (attribute, opset 11) →
    /// [3, 1, 5]; axes input [-2] (opset 13) → [1, 3, 5].
    #[test]
    fn squeeze_variants() {
        let r = NodeTest::new("Squeeze").input(&[1, 3, 1, 5]).run();
        assert_eq!(r.shape(0), "3x5");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Squeeze")
            .opset(11)
            .input(&[1, 3, 1, 5])
            .ints_attr("axes", &[0])
            .run();
        assert_eq!(r.shape(0), "3x1x5");
        let r = NodeTest::new("Squeeze")
            .opset(13)
            .input(&[1, 3, 1, 5])
            .ints(&[-2])
            .run();
        assert_eq!(r.shape(0), "1x3x5");
        // A symbolic dim is not assumed to be 1.
        let r = NodeTest::new("Squeeze")
            .input_sym(&["batch", "1", "768"])
            .run();
        assert_eq!(r.shape(0), "batchx768");
    }

    #[test]
    fn squeeze_errors_and_unknowns() {
        let r = NodeTest::new("Squeeze").input(&[1, 3]).ints(&[1]).run();
        assert!(incomplete(&r, "size 3"));
        let r = NodeTest::new("Squeeze").input(&[1, 3]).ints(&[2]).run();
        assert!(incomplete(&r, "out of range"));
        // Without axes an unknown dim leaves the rank unknown.
        let r = run_rule("Squeeze", 13, &[Some(act(&["?", "3"]))], &[], 1);
        assert!(matches!(
            r.result,
            Err(crate::ops::OpError::UnknownInput { index: 0, .. })
        ));
        // Unknown axes of length 1 on rank 3: rank 2, dims unknown.
        let r = run_rule(
            "Squeeze",
            13,
            &[Some(act(&["1", "3", "4"])), Some(unknown_ints(1))],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "n_ax0xn_ax1");
    }

    /// [3, 4] with axes [0, 3] → [1, 3, 4, 1]; axes [-1] (output rank 3) →
    /// [3, 4, 1]; opset 11 attribute.
    #[test]
    fn unsqueeze_variants() {
        let r = NodeTest::new("Unsqueeze")
            .input(&[3, 4])
            .ints(&[0, 3])
            .run();
        assert_eq!(r.shape(0), "1x3x4x1");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Unsqueeze").input(&[3, 4]).ints(&[-1]).run();
        assert_eq!(r.shape(0), "3x4x1");
        let r = NodeTest::new("Unsqueeze")
            .opset(11)
            .input_sym(&["batch", "4"])
            .ints_attr("axes", &[1])
            .run();
        assert_eq!(r.shape(0), "batchx1x4");
        let r = NodeTest::new("Unsqueeze").input(&[3]).ints(&[0, 0]).run();
        assert!(incomplete(&r, "repeated"));
        let r = NodeTest::new("Unsqueeze").input(&[3]).ints(&[2]).run();
        assert!(incomplete(&r, "out of range"));
    }

    /// A scalar `batch` unsqueezed to [1] keeps its value.
    #[test]
    fn unsqueeze_keeps_value() {
        let r = run_rule(
            "Unsqueeze",
            13,
            &[Some(scalar("batch")), Some(ints(&["0"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "1");
        assert_eq!(r.value(0), "[batch]");
        let r = run_rule(
            "Unsqueeze",
            11,
            &[Some(scalar("7"))],
            &[("axes", ints_attr(&[0]))],
            1,
        );
        assert_eq!(r.value(0), "[7]");
    }

    /// [2, 3, 4]: default perm reverses → [4, 3, 2]; perm [0, 2, 1] →
    /// [2, 4, 3]. Value [[1, 2, 3], [4, 5, 6]] transposed is
    /// [[1, 4], [2, 5], [3, 6]].
    #[test]
    fn transpose_shapes_and_values() {
        let r = NodeTest::new("Transpose").input(&[2, 3, 4]).run();
        assert_eq!(r.shape(0), "4x3x2");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Transpose")
            .input_sym(&["batch", "seq", "768"])
            .ints_attr("perm", &[0, 2, 1])
            .run();
        assert_eq!(r.shape(0), "batchx768xseq");
        let r = NodeTest::new("Transpose")
            .input(&[2, 3])
            .ints_attr("perm", &[0, 0])
            .run();
        assert!(incomplete(&r, "repeated"));
        let r = NodeTest::new("Transpose")
            .input(&[2, 3])
            .ints_attr("perm", &[0])
            .run();
        assert!(incomplete(&r, "perm"));
        let r = run_rule(
            "Transpose",
            17,
            &[Some(ints_nd(&[2, 3], &["1", "2", "3", "4", "5", "6"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "3x2");
        assert_eq!(r.value(0), "[1, 4, 2, 5, 3, 6]");
    }

    /// [3, 1] expanded by [2, 1, 4] → [2, 3, 4]; [1, 768] by
    /// [batch, seq, 768] → [batch, seq, 768].
    #[test]
    fn expand_broadcasts() {
        let r = NodeTest::new("Expand")
            .input(&[3, 1])
            .ints(&[2, 1, 4])
            .run();
        assert_eq!(r.shape(0), "2x3x4");
        assert_eq!(r.flops(), 0);
        let r = run_rule(
            "Expand",
            13,
            &[
                Some(act(&["1", "768"])),
                Some(ints(&["batch", "seq", "768"])),
            ],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchxseqx768");
        let r = NodeTest::new("Expand").input(&[3]).ints(&[4]).run();
        assert!(incomplete(&r, "broadcast"));
        let r = run_rule(
            "Expand",
            13,
            &[Some(act(&["3", "1"])), Some(unknown_ints(3))],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "n_ax0xn_ax1xn_ax2");
        // Values broadcast: [[1], [2]] to [2, 3] is [1, 1, 1, 2, 2, 2].
        let r = run_rule(
            "Expand",
            13,
            &[Some(ints_nd(&[2, 1], &["1", "2"])), Some(ints(&["2", "3"]))],
            &[],
            1,
        );
        assert_eq!(r.value(0), "[1, 1, 1, 2, 2, 2]");
    }

    /// [2, 3] tiled by [2, 2] → [4, 6]; [batch, 3] by [1, seq] →
    /// [batch, 3·seq]; opset 1 (tiles 3 on axis 0) → [6, 3].
    #[test]
    fn tile_repeats() {
        let r = NodeTest::new("Tile").input(&[2, 3]).ints(&[2, 2]).run();
        assert_eq!(r.shape(0), "4x6");
        assert_eq!(r.flops(), 0);
        let r = run_rule(
            "Tile",
            13,
            &[Some(act(&["batch", "3"])), Some(ints(&["1", "seq"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchx3*seq");
        let r = run_rule(
            "Tile",
            1,
            &[Some(act(&["2", "3"])), Some(scalar("3")), Some(scalar("0"))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "6x3");
        let r = NodeTest::new("Tile").input(&[2, 3]).ints(&[2]).run();
        assert!(incomplete(&r, "repeats"));
        // Values: [1, 2] tiled twice is [1, 2, 1, 2].
        let r = run_rule(
            "Tile",
            13,
            &[Some(ints(&["1", "2"])), Some(ints(&["2"]))],
            &[],
            1,
        );
        assert_eq!(r.value(0), "[1, 2, 1, 2]");
    }

    #[test]
    fn identity_passes_everything() {
        let r = NodeTest::new("Identity").input_sym(&["batch", "3"]).run();
        assert_eq!(r.shape(0), "batchx3");
        assert_eq!(r.flops(), 0);
        let r = run_rule("Identity", 17, &[Some(ints(&["batch", "3"]))], &[], 1);
        assert_eq!(r.value(0), "[batch, 3]");
    }

    /// Output 0 is the input; the mask (output 1) is Bool of the same shape.
    #[test]
    fn dropout_outputs() {
        let r = NodeTest::new("Dropout")
            .input_sym(&["batch", "768"])
            .run_outputs(2);
        assert_eq!(r.shape(0), "batchx768");
        assert_eq!(r.shape(1), "batchx768");
        assert_eq!(r.node().outputs[1].dtype, Some(DType::Bool));
        assert_eq!(r.flops(), 0);
        // A float ratio initializer is configuration, not a parameter.
        let r = NodeTest::new("Dropout")
            .opset(12)
            .input(&[2, 4])
            .floats(&[], &[0.1])
            .run();
        assert_eq!(r.params(), 0);
    }

    /// [1, 16, 4, 4] with blocksize 2 → [1, 16/4, 8, 8] = [1, 4, 8, 8].
    #[test]
    fn depth_to_space() {
        let r = NodeTest::new("DepthToSpace")
            .input(&[1, 16, 4, 4])
            .int("blocksize", 2)
            .run();
        assert_eq!(r.shape(0), "1x4x8x8");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("DepthToSpace")
            .input(&[1, 6, 4, 4])
            .int("blocksize", 2)
            .run();
        assert!(incomplete(&r, "not divisible"));
        let r = NodeTest::new("DepthToSpace").input(&[1, 16, 4, 4]).run();
        assert!(incomplete(&r, "blocksize"));
    }

    /// [1, 4, 8, 8] with blocksize 2 → [1, 4·4, 8/2, 8/2] = [1, 16, 4, 4].
    #[test]
    fn space_to_depth() {
        let r = NodeTest::new("SpaceToDepth")
            .input(&[1, 4, 8, 8])
            .int("blocksize", 2)
            .run();
        assert_eq!(r.shape(0), "1x16x4x4");
        let r = NodeTest::new("SpaceToDepth")
            .input(&[1, 4, 7, 8])
            .int("blocksize", 2)
            .run();
        assert!(incomplete(&r, "height"));
        let r = NodeTest::new("SpaceToDepth")
            .input(&[4, 8, 8])
            .int("blocksize", 2)
            .run();
        assert!(incomplete(&r, "4-D"));
        // Symbolic spatial dims that do not divide exactly stay unknown.
        let r = run_rule(
            "SpaceToDepth",
            13,
            &[Some(act(&["batch", "3", "h", "w"]))],
            &[("blocksize", crate::graph::AttrValue::Int(2))],
            1,
        );
        assert!(r.ok());
        assert_eq!(r.shape(0), "batchx12x?x?");
    }
}
