//! Resize and Upsample: nearest, (multi)linear and (multi)cubic
//! interpolation.
//!
//! Output size per axis is `⌊in·scale⌋` (ONNX) or the `sizes` input.
//! Cost per output element, with `r` = number of resized axes (axes that are
//! not an identity: same size, scale 1 and, for `tf_crop_and_resize`, the
//! full region of interest): interpolation is separable, so axes are reduced
//! one at a time. A 1-D interpolation over `t` taps is `t` multiplications
//! and `t − 1` additions, `2t − 1` FLOPs (linear, `t = 2`: the same 3 FLOPs
//! as `a + w·(b − a)`; cubic, `t = 4`: 7). Reducing `r` axes of `t` taps
//! takes `t^(r−1) + … + t + 1` 1-D interpolations:
//! - `nearest`: 0 (a copy);
//! - `linear`: `3·(2^r − 1)` (bilinear 9, trilinear 21);
//! - `cubic`: `7·(4^r − 1)/3` (bicubic 35).
//!
//! The interpolation weights and source indices of each output coordinate
//! depend only on that coordinate along one axis; they are precomputed per
//! axis and not counted. With `antialias` (opset 18) and a downscaling
//! factor `s < 1`, the filter on that axis widens to the ONNX reference's
//! footprint of `2·⌈1/s⌉` (linear) or `2·⌈2/s⌉` (cubic) taps; axes with
//! different footprints are reduced widest first.
//!
//! GridSample samples `X` at the points of a `grid` rather than on a regular
//! lattice, so nothing is shared between output positions: per output
//! position (`N·∏ out`), `2r` FLOPs to unnormalise the `r` grid coordinates
//! (a multiply and an add each) and `r` subtractions for the fractional
//! offsets (not for `nearest`); per output element (× C), the interpolation
//! above over all `r` axes. AffineGrid maps each of the `N·∏ size` grid
//! points through the `r × (r + 1)` matrix θ: `r` coordinates of `r`
//! multiplications and `r` additions (the translation included), `2r²` FLOPs
//! per point; the base grid is generated, not counted.

use super::{NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::poly::Poly;
use crate::shape::{self, normalize_axis, Dim, Shape};
use crate::value::ConstValue;

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "Resize",
        domain: "",
        rule: resize,
        roles: &[Role::Data, Role::Config, Role::Config, Role::Config],
        cost_doc: "per output: nearest 0, linear 3·(2^r − 1), cubic 7·(4^r − 1)/3; r = resized axes; weights precomputed per axis, not counted",
    },
    OpDef {
        op_type: "Upsample",
        domain: "",
        rule: upsample,
        roles: &[Role::Data, Role::Config],
        cost_doc: "per output: nearest 0, linear 3·(2^r − 1); r = axes with scale ≠ 1; weights precomputed per axis, not counted",
    },
    OpDef {
        op_type: "GridSample",
        domain: "",
        rule: grid_sample,
        roles: &[Role::Data, Role::Data],
        cost_doc: "per output position 2r (+ r fractions unless nearest); per output element nearest 0, linear 3·(2^r − 1), cubic 7·(4^r − 1)/3",
    },
    OpDef {
        op_type: "AffineGrid",
        domain: "",
        rule: affine_grid,
        roles: &[Role::Data, Role::Config],
        cost_doc: "2r² per grid point (θ's r×(r+1) matrix applied to each point)",
    },
];

/// GridSample: `X [N, C, D1…Dr]`, `grid [N, H1…Hr, r]` → `Y [N, C, H1…Hr]`.
/// Opset 16 names the modes `bilinear`/`bicubic` (2-D only), opset 20+
/// `linear`/`cubic` (any r); the default is bilinear/linear.
fn grid_sample(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let g = ctx.shape(1)?.to_vec();
    if x.len() < 3 || g.len() != x.len() {
        return Err(OpError::Invalid(format!(
            "X of rank {} and grid of rank {}: GridSample needs X [N, C, D…] and grid [N, H…, r] of the same rank ≥ 3",
            x.len(),
            g.len()
        )));
    }
    let r = x.len() - 2;
    if let Some(last) = g[g.len() - 1].as_i64() {
        if last != r as i64 {
            return Err(OpError::Invalid(format!(
                "the grid's last dim is {last}, not the {r} spatial axes of X"
            )));
        }
    }
    let mode = match ctx.attr_str("mode")?.unwrap_or("linear") {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" => Mode::Linear,
        "cubic" | "bicubic" => Mode::Cubic,
        other => {
            return Err(OpError::Invalid(format!(
                "GridSample mode '{other}' is not nearest, linear or cubic"
            )))
        }
    };
    let n = if x[0].is_known() {
        x[0].clone()
    } else {
        g[0].clone()
    };
    let mut out: Shape = vec![n, x[1].clone()];
    out.extend_from_slice(&g[1..g.len() - 1]);
    ctx.set_output(0, ctx.dtype(0), out.clone());
    let dims: Option<Vec<Poly>> = out.iter().map(|d| d.poly().cloned()).collect();
    let dims = dims.ok_or_else(|| ctx.unknown_input(1))?;
    let r = r as i128;
    let positions = super::product(dims[..1].iter().chain(&dims[2..]))?;
    let elements = positions.checked_mul(&dims[1])?;
    let per_position = if mode == Mode::Nearest { 2 * r } else { 3 * r };
    let per_element = if mode == Mode::Nearest {
        0
    } else {
        per_output(vec![mode.taps(); r as usize])?
    };
    let flops = positions
        .checked_scale(per_position)?
        .checked_add(&elements.checked_scale(per_element)?)?;
    ctx.add_flops(&flops)
}

/// AffineGrid: θ `[N, 2, 3]` with size `[N, C, H, W]`, or θ `[N, 3, 4]`
/// with size `[N, C, D, H, W]` → grid `[N, H, W, 2]` or `[N, D, H, W, 3]`.
fn affine_grid(ctx: &mut NodeCtx) -> RuleResult {
    let theta = ctx.shape(0)?.to_vec();
    let size: Vec<Dim> = match ctx.value(1) {
        Some(ConstValue::Ints(v)) => v.clone(),
        _ => {
            if let Ok(s) = ctx.shape(1) {
                if let Some(k) = s.first().and_then(Dim::as_i64) {
                    let mut out = vec![Dim::Unknown; (k as usize).saturating_sub(1).min(4)];
                    out.push(Dim::int(k - 2));
                    ctx.set_output(0, ctx.dtype(0), out);
                }
            }
            return Err(OpError::DataDependent(
                "the size of AffineGrid (input 1) is not known".into(),
            ));
        }
    };
    if size.len() != 4 && size.len() != 5 {
        return Err(OpError::Invalid(format!(
            "size has {} elements: AffineGrid needs [N, C, H, W] or [N, C, D, H, W]",
            size.len()
        )));
    }
    if theta.len() != 3 {
        return Err(OpError::Invalid(format!(
            "theta has rank {}: AffineGrid needs [N, r, r + 1]",
            theta.len()
        )));
    }
    let r = size.len() - 2;
    let mut out: Shape = vec![size[0].clone()];
    out.extend_from_slice(&size[2..]);
    out.push(Dim::int(r as i64));
    ctx.set_output(0, ctx.dtype(0), out);
    let points: Option<Vec<Poly>> = std::iter::once(&size[0])
        .chain(&size[2..])
        .map(|d| d.poly().cloned())
        .collect();
    let points = super::product(&points.ok_or_else(|| ctx.unknown_input(1))?)?;
    let r = r as i128;
    ctx.add_flops(&points.checked_scale(2 * r * r)?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

impl Mode {
    /// Taps of the 1-D filter without antialiasing.
    fn taps(self) -> i128 {
        match self {
            Mode::Nearest => 1,
            Mode::Linear => 2,
            Mode::Cubic => 4,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Stretch,
    NotLarger,
    NotSmaller,
}

/// What the output size is computed from.
enum Target {
    Scales(Vec<f64>),
    /// Sizes, possibly symbolic (from `Shape` arithmetic).
    Sizes(Vec<Dim>),
}

/// Everything the shape and cost rule needs, resolved per opset.
struct Spec {
    mode: Mode,
    /// `None` when scales and sizes are computed at run time.
    target: Option<Target>,
    /// The opset-18 `axes` attribute.
    axes: Option<Vec<i64>>,
    policy: Policy,
    antialias: bool,
    /// `tf_crop_and_resize` only: the region of interest, `None` inside if
    /// its value is not known.
    crop_roi: Option<Option<Vec<f64>>>,
}

/// An optional input: absent (or an empty tensor, the opset-11 way of
/// omitting it), known, or computed at run time.
enum Given<'a> {
    Absent,
    Value(&'a ConstValue),
    Unknown,
}

fn given<'a>(ctx: &NodeCtx<'a>, i: usize) -> Given<'a> {
    if !ctx.has_input(i) {
        return Given::Absent;
    }
    match ctx.value(i) {
        Some(v) if v.is_empty() => Given::Absent,
        Some(v) => Given::Value(v),
        None => {
            let empty = ctx
                .shape(i)
                .ok()
                .and_then(|s| shape::numel(s).ok().flatten())
                .and_then(|n| n.as_constant())
                == Some(0);
            if empty {
                Given::Absent
            } else {
                Given::Unknown
            }
        }
    }
}

fn floats(ctx: &NodeCtx, i: usize, v: &ConstValue) -> Result<Vec<f64>, OpError> {
    v.to_f64s().ok_or_else(|| {
        OpError::Invalid(format!(
            "input {i} ('{}') should hold numbers",
            ctx.input_names.get(i).copied().unwrap_or("")
        ))
    })
}

fn parse_mode(ctx: &NodeCtx, allow_cubic: bool, allow_bilinear: bool) -> Result<Mode, OpError> {
    match ctx.attr_str("mode")?.unwrap_or("nearest") {
        "nearest" => Ok(Mode::Nearest),
        "linear" => Ok(Mode::Linear),
        "bilinear" if allow_bilinear => Ok(Mode::Linear),
        "cubic" if allow_cubic => Ok(Mode::Cubic),
        other => Err(OpError::Invalid(format!(
            "{} mode '{other}' is not defined at opset {}",
            ctx.node.op_type, ctx.opset
        ))),
    }
}

/// Resize: opset 10 `(X, scales)`; 11–12 `(X, roi, scales, sizes)` with
/// `scales` empty when `sizes` is used; 13+ with `roi`, `scales` and `sizes`
/// optional; 18+ adds the `axes`, `keep_aspect_ratio_policy` and
/// `antialias` attributes. All inputs but `X` are configuration. See the
/// module documentation for the per-output cost.
fn resize(ctx: &mut NodeCtx) -> RuleResult {
    let mode = parse_mode(ctx, ctx.opset >= 11, false)?;
    if ctx.opset < 11 {
        let target = match given(ctx, 1) {
            Given::Value(v) => Some(Target::Scales(floats(ctx, 1, v)?)),
            Given::Unknown => None,
            Given::Absent => {
                return Err(OpError::Invalid("Resize needs 'scales' (input 1)".into()))
            }
        };
        let spec = Spec {
            mode,
            target,
            axes: None,
            policy: Policy::Stretch,
            antialias: false,
            crop_roi: None,
        };
        return apply(ctx, &spec);
    }

    let transform = ctx
        .attr_str("coordinate_transformation_mode")?
        .unwrap_or("half_pixel");
    let known_transforms = [
        "half_pixel",
        "half_pixel_symmetric",
        "pytorch_half_pixel",
        "align_corners",
        "asymmetric",
        "tf_half_pixel_for_nn",
        "tf_crop_and_resize",
    ];
    if !known_transforms.contains(&transform) {
        return Err(OpError::Invalid(format!(
            "unknown coordinate_transformation_mode '{transform}'"
        )));
    }
    let crop_roi = if transform == "tf_crop_and_resize" {
        Some(match given(ctx, 1) {
            Given::Value(v) => Some(floats(ctx, 1, v)?),
            Given::Unknown => None,
            Given::Absent => {
                return Err(OpError::Invalid(
                    "tf_crop_and_resize needs 'roi' (input 1)".into(),
                ))
            }
        })
    } else {
        None
    };

    // Opset-18 attributes.
    let axes = ctx.attr_ints("axes")?.map(<[i64]>::to_vec);
    let policy = match ctx
        .attr_str("keep_aspect_ratio_policy")?
        .unwrap_or("stretch")
    {
        "stretch" => Policy::Stretch,
        "not_larger" => Policy::NotLarger,
        "not_smaller" => Policy::NotSmaller,
        other => {
            return Err(OpError::Invalid(format!(
                "unknown keep_aspect_ratio_policy '{other}'"
            )))
        }
    };
    let antialias = match ctx.attr_int("antialias", 0)? {
        0 => false,
        1 => true,
        v => {
            return Err(OpError::Invalid(format!(
                "antialias must be 0 or 1, got {v}"
            )))
        }
    };
    if ctx.opset < 18 && (axes.is_some() || policy != Policy::Stretch || antialias) {
        return Err(OpError::Invalid(format!(
            "Resize attributes axes, keep_aspect_ratio_policy and antialias need opset 18 (model uses opset {})",
            ctx.opset
        )));
    }

    let target = match (given(ctx, 2), given(ctx, 3)) {
        (Given::Value(_), Given::Value(_)) => {
            return Err(OpError::Invalid(
                "Resize: only one of 'scales' and 'sizes' may be given".into(),
            ))
        }
        (_, Given::Value(v)) => match v.as_ints() {
            Some(d) => Some(Target::Sizes(d.to_vec())),
            None => return Err(OpError::Invalid("Resize 'sizes' should be integers".into())),
        },
        (Given::Value(v), _) => Some(Target::Scales(floats(ctx, 2, v)?)),
        (Given::Unknown, _) | (_, Given::Unknown) => None,
        (Given::Absent, Given::Absent) => {
            return Err(OpError::Invalid(
                "Resize needs 'scales' (input 2) or 'sizes' (input 3)".into(),
            ))
        }
    };
    let spec = Spec {
        mode,
        target,
        axes,
        policy,
        antialias,
        crop_roi,
    };
    apply(ctx, &spec)
}

/// Upsample (deprecated since opset 10): opset 1 `height_scale` and
/// `width_scale` attributes on a 4-D input (modes `nearest`, `bilinear`);
/// opsets 7–8 a `scales` attribute; 9 a `scales` input. Output
/// `⌊in·scale⌋`; cost as Resize.
fn upsample(ctx: &mut NodeCtx) -> RuleResult {
    let mode = parse_mode(ctx, false, ctx.opset < 7)?;
    let target = if ctx.opset < 7 {
        let scale = |name: &str| -> Result<f64, OpError> {
            match ctx.attr(name) {
                Some(_) => Ok(f64::from(ctx.attr_float(name, 1.0)?)),
                None => Err(OpError::Invalid(format!("attribute '{name}' is required"))),
            }
        };
        let (h, w) = (scale("height_scale")?, scale("width_scale")?);
        if ctx.rank(0)? != 4 {
            return Err(OpError::Invalid(
                "Upsample-1 needs a 4-D [N, C, H, W] input".into(),
            ));
        }
        Some(Target::Scales(vec![1.0, 1.0, h, w]))
    } else if ctx.opset < 9 {
        match ctx.attr_floats("scales")? {
            Some(s) => Some(Target::Scales(s.iter().map(|&x| f64::from(x)).collect())),
            None => return Err(OpError::Invalid("attribute 'scales' is required".into())),
        }
    } else {
        match given(ctx, 1) {
            Given::Value(v) => Some(Target::Scales(floats(ctx, 1, v)?)),
            Given::Unknown => None,
            Given::Absent => {
                return Err(OpError::Invalid("Upsample needs 'scales' (input 1)".into()))
            }
        }
    };
    let spec = Spec {
        mode,
        target,
        axes: None,
        policy: Policy::Stretch,
        antialias: false,
        crop_roi: None,
    };
    apply(ctx, &spec)
}

/// `⌊in·s⌋`, exact: a scale is a binary fraction `num/2^j`, so a symbolic
/// size gives `⌊in·num/2^j⌋` (`⌊h/2⌋` for 0.5, `⌊3·h/2⌋` for 1.5).
fn scaled_dim(d: &Dim, s: f64) -> Result<Dim, OpError> {
    let Some(p) = d.poly() else {
        return Ok(Dim::Unknown);
    };
    if let Some(c) = p.as_constant() {
        let v = (c as f64 * s).floor();
        if !(0.0..9.0e18).contains(&v) {
            return Err(OpError::Invalid(format!(
                "scaled size {c}·{s} is out of range"
            )));
        }
        return Ok(Dim::Known(Poly::constant(v as i128)));
    }
    if s == 1.0 {
        return Ok(d.clone());
    }
    let (mut num, mut den) = (s, 1i128);
    while num.fract() != 0.0 && den < 1 << 60 {
        num *= 2.0;
        den *= 2;
    }
    if num.fract() != 0.0 || !(0.0..9.0e18).contains(&num) {
        return Ok(Dim::Unknown);
    }
    Ok(Dim::Known(p.checked_scale(num as i128)?.floor_div(den)?))
}

/// Taps of the 1-D filter along an axis with scale `s`.
fn taps(spec: &Spec, scale: Option<f64>) -> Result<i128, OpError> {
    let base = spec.mode.taps();
    if !spec.antialias || spec.mode == Mode::Nearest {
        return Ok(base);
    }
    let Some(s) = scale else {
        return Err(OpError::DataDependent(
            "antialias: the filter width depends on the scale, which is symbolic here".into(),
        ));
    };
    if s >= 1.0 {
        return Ok(base);
    }
    // Support radius 1 (linear) or 2 (cubic), widened by 1/s.
    let half = (base / 2) as f64;
    let t = 2.0 * (half / s).ceil();
    if !(t.is_finite() && t < 1.0e9) {
        return Err(OpError::Invalid(format!(
            "antialias scale {s} is too small"
        )));
    }
    Ok(t as i128)
}

/// FLOPs per output element for separable interpolation with the given
/// per-axis taps: `Σ_j (2·t_j − 1)·∏_{l>j} t_l`, widest axis first.
fn per_output(mut taps: Vec<i128>) -> Result<i128, OpError> {
    taps.sort_unstable_by(|a, b| b.cmp(a));
    let mut total: i128 = 0;
    for j in 0..taps.len() {
        let later = taps[j + 1..]
            .iter()
            .try_fold(1i128, |acc, &t| acc.checked_mul(t))
            .ok_or(crate::poly::Overflow)?;
        let term = (2 * taps[j] - 1)
            .checked_mul(later)
            .ok_or(crate::poly::Overflow)?;
        total = total.checked_add(term).ok_or(crate::poly::Overflow)?;
    }
    Ok(total)
}

/// The shared shape and cost rule. Output dims: `⌊in·scale⌋` or `sizes`
/// (with `keep_aspect_ratio_policy`: one scale for all listed axes, the
/// min (`not_larger`) or max (`not_smaller`) of `sizes/in`, and
/// `out = ⌊scale·in + 0.5⌋`). FLOPs = numel(out) × per-output cost:
/// `nearest` 0; otherwise `Σ_j (2·t_j − 1)·∏_{l>j} t_l` over the resized
/// axes (`t` = 2 linear, 4 cubic, wider with antialias downscaling), i.e.
/// `3·(2^r − 1)` linear and `7·(4^r − 1)/3` cubic. Interpolation weights and
/// indices are precomputed per axis (they depend on one coordinate only)
/// and are not counted.
fn apply(ctx: &mut NodeCtx, spec: &Spec) -> RuleResult {
    let x = ctx.shape(0)?;
    let rank = x.len();
    let axes: Vec<usize> = match &spec.axes {
        None => (0..rank).collect(),
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for &a in list {
                let n = normalize_axis(a, rank).ok_or_else(|| {
                    OpError::Invalid(format!("axis {a} is out of range for rank {rank}"))
                })?;
                if out.contains(&n) {
                    return Err(OpError::Invalid(format!("axis {a} is repeated in 'axes'")));
                }
                out.push(n);
            }
            out
        }
    };

    let mut out: Shape = x.to_vec();
    // Scale per listed axis, when known as a number.
    let mut scales: Vec<Option<f64>> = vec![None; axes.len()];
    let target = match &spec.target {
        Some(t) => t,
        None => {
            // Each resized axis is a size of the node's own, known at run
            // time only: a data symbol (the node still says why).
            for &a in &axes {
                out[a] = ctx.data_dim(crate::symbols::DataSize {
                    key: &format!("ax{a}"),
                    output: 0,
                    axis: a,
                    upper_bound: None,
                    meaning: "a size Resize computes from its scales or sizes at run time",
                });
            }
            ctx.set_output(0, ctx.dtype(0), out);
            return Err(OpError::DataDependent(format!(
                "{}: scales/sizes are computed at run time, so the output size is unknown",
                ctx.node.op_type
            )));
        }
    };
    let count = |n: usize, what: &str| -> RuleResult {
        if n != axes.len() {
            return Err(OpError::Invalid(format!(
                "'{what}' has {n} values for {} axes",
                axes.len()
            )));
        }
        Ok(())
    };
    match target {
        Target::Scales(s) => {
            count(s.len(), "scales")?;
            for (j, (&a, &sc)) in axes.iter().zip(s).enumerate() {
                if !(sc > 0.0 && sc.is_finite()) {
                    return Err(OpError::Invalid(format!(
                        "scale {sc} on axis {a} must be positive"
                    )));
                }
                out[a] = scaled_dim(&x[a], sc)?;
                scales[j] = Some(sc);
            }
        }
        Target::Sizes(sizes) => {
            count(sizes.len(), "sizes")?;
            if sizes.iter().any(|d| d.as_i64().is_some_and(|v| v < 0)) {
                return Err(OpError::Invalid("'sizes' has a negative value".into()));
            }
            let concrete: Option<Vec<(f64, f64)>> = axes
                .iter()
                .zip(sizes)
                .map(|(&a, s)| Some((x[a].as_i64()? as f64, s.as_i64()? as f64)))
                .collect();
            match (spec.policy, concrete) {
                (Policy::Stretch, concrete) => {
                    for (j, &a) in axes.iter().enumerate() {
                        out[a] = sizes[j].clone();
                        scales[j] = match &concrete {
                            Some(c) if c[j].0 > 0.0 => Some(c[j].1 / c[j].0),
                            _ if sizes[j] == x[a] => Some(1.0),
                            _ => None,
                        };
                    }
                }
                (policy, Some(c)) => {
                    if c.iter().any(|&(i, _)| i <= 0.0) {
                        return Err(OpError::Invalid(
                            "keep_aspect_ratio_policy needs non-empty input axes".into(),
                        ));
                    }
                    let ratios = c.iter().map(|&(i, s)| s / i);
                    let scale = match policy {
                        Policy::NotLarger => ratios.fold(f64::INFINITY, f64::min),
                        _ => ratios.fold(0.0, f64::max),
                    };
                    for (j, &a) in axes.iter().enumerate() {
                        let v = (scale * c[j].0 + 0.5).floor();
                        out[a] = Dim::Known(Poly::constant(v as i128));
                        scales[j] = Some(scale);
                    }
                }
                (_, None) => {
                    for &a in &axes {
                        out[a] = Dim::Unknown;
                    }
                }
            }
        }
    }
    ctx.set_output(0, ctx.dtype(0), out.clone());
    if x.iter().any(|d| !d.is_known()) {
        return Err(ctx.unknown_input(0));
    }
    if let Some(a) = out.iter().position(|d| !d.is_known()) {
        return Err(OpError::DataDependent(format!(
            "output size on axis {a} is not a polynomial in the input's symbols \
             (floor of a symbolic size times a scale, or an aspect-ratio policy); \
             bind the symbols to count this node"
        )));
    }
    if spec.mode == Mode::Nearest {
        return Ok(());
    }

    // Which axes interpolate, and with how many taps.
    let roi = match &spec.crop_roi {
        Some(Some(r)) => {
            if r.len() != 2 * axes.len() {
                return Err(OpError::Invalid(format!(
                    "'roi' has {} values, expected {}",
                    r.len(),
                    2 * axes.len()
                )));
            }
            Some(r.as_slice())
        }
        _ => None,
    };
    let mut axis_taps = Vec::new();
    for (j, &a) in axes.iter().enumerate() {
        let same_size = out[a] == x[a];
        let unit_scale = !matches!(scales[j], Some(s) if s != 1.0);
        let full_roi = match (&spec.crop_roi, roi) {
            (None, _) => true,
            (Some(_), Some(r)) => r[j] == 0.0 && r[j + axes.len()] == 1.0,
            (Some(_), None) => {
                if same_size && unit_scale {
                    return Err(OpError::DataDependent(
                        "tf_crop_and_resize: the region of interest is computed at run time, \
                         so whether unresized axes interpolate is unknown"
                            .into(),
                    ));
                }
                false
            }
        };
        if !(same_size && unit_scale && full_roi) {
            axis_taps.push(taps(spec, scales[j])?);
        }
    }
    let per = per_output(axis_taps)?;
    let n = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(0))?;
    ctx.add_flops_per(&n, per)
}

#[cfg(test)]
mod grid_tests {
    use crate::ops::testing::NodeTest;

    /// GridSample, X 1x3x8x8, grid 1x4x5x2, bilinear: 20 positions ·
    /// (2·2 + 2) = 120, plus 60 elements · 9 = 540 → 660. Nearest: 20·4 = 80.
    /// Bicubic: 120 + 60·35 = 2220.
    #[test]
    fn grid_sample() {
        let r = NodeTest::new("GridSample")
            .opset(20)
            .input(&[1, 3, 8, 8])
            .input(&[1, 4, 5, 2])
            .run();
        assert_eq!(r.shape(0), "1x3x4x5");
        assert_eq!(r.flops(), 660);
        let n = NodeTest::new("GridSample")
            .opset(20)
            .input(&[1, 3, 8, 8])
            .input(&[1, 4, 5, 2])
            .string("mode", "nearest")
            .run();
        assert_eq!(n.flops(), 80);
        let c = NodeTest::new("GridSample")
            .opset(16)
            .input(&[1, 3, 8, 8])
            .input(&[1, 4, 5, 2])
            .string("mode", "bicubic")
            .run();
        assert_eq!(c.flops(), 2220);
    }

    /// AffineGrid, θ 2x2x3, size [2, 3, 4, 5]: grid 2x4x5x2, 40 points · 8.
    #[test]
    fn affine_grid() {
        let r = NodeTest::new("AffineGrid")
            .opset(20)
            .input(&[2, 2, 3])
            .ints(&[2, 3, 4, 5])
            .run();
        assert_eq!(r.shape(0), "2x4x5x2");
        assert_eq!(r.flops(), 320);
    }
}

#[cfg(test)]
mod tests {
    use super::per_output;
    use crate::graph::{AttrValue, Attribute, DType, Node};
    use crate::ops::testing::status_incomplete as incomplete;
    use crate::ops::testing::NodeTest;
    use crate::ops::{lookup, NodeCtx};
    use crate::shape::{format_shape, shape_of, Dim};
    use crate::value::{ConstValue, ValueFacts};
    use bytes::Bytes;

    /// The per-output formulas: linear 3·(2^r − 1), cubic 7·(4^r − 1)/3.
    #[test]
    fn per_output_formulas() {
        assert_eq!(per_output(vec![]).unwrap(), 0);
        assert_eq!(per_output(vec![2]).unwrap(), 3);
        assert_eq!(per_output(vec![2, 2]).unwrap(), 9);
        assert_eq!(per_output(vec![2, 2, 2]).unwrap(), 21);
        assert_eq!(per_output(vec![4]).unwrap(), 7);
        assert_eq!(per_output(vec![4, 4]).unwrap(), 35);
        // Mixed footprints, widest first: 7·2 + 3 = 17.
        assert_eq!(per_output(vec![2, 4]).unwrap(), 17);
    }

    /// Nearest 2× (opset 13, scales [1, 1, 2, 2]): 1x3x32x32 → 1x3x64x64,
    /// 0 FLOPs (a copy); the scales are configuration, not parameters.
    #[test]
    fn resize_nearest_2x() {
        let r = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 3, 32, 32])
            .none()
            .floats(&[4], &[1.0, 1.0, 2.0, 2.0])
            .string("mode", "nearest")
            .run();
        assert_eq!(r.shape(0), "1x3x64x64");
        assert_eq!((r.flops(), r.macs()), (0, 0));
        assert_eq!(r.params(), 0);
    }

    /// Bilinear 2× on H and W: 1x3x32x32 → 1x3x64x64, r = 2:
    /// FLOPs = 3·64·64·9 = 110,592. Opset 11 with an empty roi.
    #[test]
    fn resize_bilinear() {
        let r = NodeTest::new("Resize")
            .opset(11)
            .input(&[1, 3, 32, 32])
            .floats(&[0], &[])
            .floats(&[4], &[1.0, 1.0, 2.0, 2.0])
            .string("mode", "linear")
            .run();
        assert_eq!(r.shape(0), "1x3x64x64");
        assert_eq!(r.flops(), 110_592);
    }

    /// Bicubic via `sizes` (opset 11: scales empty): 1x1x10x10 → 1x1x15x20,
    /// r = 2: FLOPs = 300·35 = 10,500. A cubic resize of W only:
    /// 1x1x10x20, r = 1: 200·7 = 1400.
    #[test]
    fn resize_cubic_sizes() {
        let r = NodeTest::new("Resize")
            .opset(11)
            .input(&[1, 1, 10, 10])
            .floats(&[0], &[])
            .floats(&[0], &[])
            .ints(&[1, 1, 15, 20])
            .string("mode", "cubic")
            .run();
        assert_eq!(r.shape(0), "1x1x15x20");
        assert_eq!(r.flops(), 10_500);
        let w_only = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 1, 10, 10])
            .none()
            .none()
            .ints(&[1, 1, 10, 20])
            .string("mode", "cubic")
            .run();
        assert_eq!(w_only.shape(0), "1x1x10x20");
        assert_eq!(w_only.flops(), 1400);
    }

    /// Opset 10: (X, scales); ⌊7·1.5⌋ = 10: 1x2x7x7 → 1x2x10x10, linear
    /// r = 2: 200·9 = 1800. Cubic is not defined at opset 10.
    #[test]
    fn resize_opset_10() {
        let r = NodeTest::new("Resize")
            .opset(10)
            .input(&[1, 2, 7, 7])
            .floats(&[4], &[1.0, 1.0, 1.5, 1.5])
            .string("mode", "linear")
            .run();
        assert_eq!(r.shape(0), "1x2x10x10");
        assert_eq!(r.flops(), 1800);
        let cubic = NodeTest::new("Resize")
            .opset(10)
            .input(&[1, 2, 7, 7])
            .floats(&[4], &[1.0, 1.0, 1.5, 1.5])
            .string("mode", "cubic")
            .run();
        assert!(incomplete(cubic.status(), "cubic"));
    }

    /// Downscale 0.5 on a symbolic batch: [batch, 3, 64, 64] → [batch, 3,
    /// 32, 32]; linear r = 2: 3·32·32·9·batch = 27,648·batch.
    #[test]
    fn resize_symbolic_batch() {
        let r = NodeTest::new("Resize")
            .opset(13)
            .input_sym(&["batch", "3", "64", "64"])
            .none()
            .floats(&[4], &[1.0, 1.0, 0.5, 0.5])
            .string("mode", "linear")
            .run();
        assert_eq!(r.shape(0), "batchx3x32x32");
        assert_eq!(r.flops_expr(), "27648*batch");
    }

    /// Symbolic H scaled by 2 stays a polynomial (2·H); scaled by 1.5 it is
    /// ⌊3·H/2⌋ = H + ⌊H/2⌋.
    #[test]
    fn resize_symbolic_spatial() {
        let r = NodeTest::new("Resize")
            .opset(13)
            .input_sym(&["1", "8", "H", "W"])
            .none()
            .floats(&[4], &[1.0, 1.0, 2.0, 2.0])
            .string("mode", "nearest")
            .run();
        assert_eq!(r.shape(0), "1x8x2*Hx2*W");
        assert_eq!(r.flops(), 0);
        let odd = NodeTest::new("Resize")
            .opset(13)
            .input_sym(&["1", "8", "H", "W"])
            .none()
            .floats(&[4], &[1.0, 1.0, 1.5, 1.5])
            .run();
        // ⌊1.5·H⌋ = H + ⌊H/2⌋, exact: H = 7 gives 10.
        assert_eq!(odd.shape(0), "1x8x(H + floor(H/2))x(W + floor(W/2))");
        assert_eq!(odd.flops(), 0);
    }

    /// Scales computed at run time: output rank kept, dims unknown,
    /// Incomplete with a reason.
    #[test]
    fn resize_unknown_scales() {
        let r = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 3, 32, 32])
            .none()
            .input_unknown()
            .run();
        assert_eq!(r.shape(0), "n_ax0xn_ax1xn_ax2xn_ax3");
        assert!(incomplete(r.status(), "run time"));
    }

    /// Opset 18 `axes` [2, 3] with scales [2, 2]: same as full scales;
    /// bilinear 1x3x8x8 → 1x3x16x16: 768·9 = 6912.
    /// not_larger with sizes [20, 10] on 8×8: scale min(2.5, 1.25) = 1.25
    /// → round(10) = 10 per axis → 1x3x10x10, r = 2: 300·9 = 2700.
    /// not_smaller: scale 2.5 → 20×20: 1200·9 = 10,800.
    #[test]
    fn resize_opset_18_axes_and_policy() {
        let r = NodeTest::new("Resize")
            .opset(18)
            .input(&[1, 3, 8, 8])
            .none()
            .floats(&[2], &[2.0, 2.0])
            .ints_attr("axes", &[2, 3])
            .string("mode", "linear")
            .run();
        assert_eq!(r.shape(0), "1x3x16x16");
        assert_eq!(r.flops(), 6912);
        let policy = |p: &str| {
            NodeTest::new("Resize")
                .opset(18)
                .input(&[1, 3, 8, 8])
                .none()
                .none()
                .ints(&[20, 10])
                .ints_attr("axes", &[-2, -1])
                .string("keep_aspect_ratio_policy", p)
                .string("mode", "linear")
                .run()
        };
        let nl = policy("not_larger");
        assert_eq!(nl.shape(0), "1x3x10x10");
        assert_eq!(nl.flops(), 2700);
        let ns = policy("not_smaller");
        assert_eq!(ns.shape(0), "1x3x20x20");
        assert_eq!(ns.flops(), 10_800);
        let gated = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 3, 8, 8])
            .none()
            .floats(&[2], &[2.0, 2.0])
            .ints_attr("axes", &[2, 3])
            .run();
        assert!(incomplete(gated.status(), "opset 18"));
    }

    /// Antialiased bilinear downscale by 0.5 (opset 18): 2·⌈1/0.5⌉ = 4 taps
    /// per axis: per output (2·4 − 1)·4 + 7 = 35; 1x1x8x8 → 4×4: 16·35 = 560.
    /// Upscaling ignores antialias: 1x1x4x4 → 8×8: 64·9 = 576.
    #[test]
    fn resize_antialias() {
        let run = |s: f64, n: i64| {
            NodeTest::new("Resize")
                .opset(18)
                .input(&[1, 1, n, n])
                .none()
                .floats(&[4], &[1.0, 1.0, s, s])
                .string("mode", "linear")
                .int("antialias", 1)
                .run()
        };
        let down = run(0.5, 8);
        assert_eq!(down.shape(0), "1x1x4x4");
        assert_eq!(down.flops(), 560);
        let up = run(2.0, 4);
        assert_eq!(up.flops(), 576);
    }

    /// tf_crop_and_resize keeps size 8 on H but crops roi [0.25, 0.75]:
    /// H interpolates; W (roi [0, 1], size 8→16) too; N, C identity:
    /// 1x1x8x16, r = 2: 128·9 = 1152.
    #[test]
    fn resize_tf_crop_and_resize() {
        let r = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 1, 8, 8])
            .floats(&[8], &[0.0, 0.0, 0.25, 0.0, 1.0, 1.0, 0.75, 1.0])
            .none()
            .ints(&[1, 1, 8, 16])
            .string("coordinate_transformation_mode", "tf_crop_and_resize")
            .string("mode", "linear")
            .run();
        assert_eq!(r.shape(0), "1x1x8x16");
        assert_eq!(r.flops(), 1152);
    }

    #[test]
    fn resize_errors() {
        let both = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 1, 4, 4])
            .none()
            .floats(&[4], &[1.0, 1.0, 2.0, 2.0])
            .ints(&[1, 1, 8, 8])
            .run();
        assert!(incomplete(both.status(), "only one"));
        let neither = NodeTest::new("Resize").opset(13).input(&[1, 1, 4, 4]).run();
        assert!(incomplete(neither.status(), "'sizes'"));
        let len = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 1, 4, 4])
            .none()
            .floats(&[2], &[2.0, 2.0])
            .run();
        assert!(incomplete(len.status(), "scales"));
        let neg = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 1, 4, 4])
            .none()
            .floats(&[4], &[1.0, 1.0, -2.0, 2.0])
            .run();
        assert!(incomplete(neg.status(), "positive"));
        let mode = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 1, 4, 4])
            .none()
            .floats(&[4], &[1.0, 1.0, 2.0, 2.0])
            .string("mode", "area")
            .run();
        assert!(incomplete(mode.status(), "mode"));
        let transform = NodeTest::new("Resize")
            .opset(13)
            .input(&[1, 1, 4, 4])
            .none()
            .floats(&[4], &[1.0, 1.0, 2.0, 2.0])
            .string("coordinate_transformation_mode", "bogus")
            .run();
        assert!(incomplete(
            transform.status(),
            "coordinate_transformation_mode"
        ));
        let axes = NodeTest::new("Resize")
            .opset(18)
            .input(&[1, 1, 4, 4])
            .none()
            .floats(&[2], &[2.0, 2.0])
            .ints_attr("axes", &[3, -1])
            .run();
        assert!(incomplete(axes.status(), "repeated"));
    }

    /// Upsample opset 9 (scales input): nearest 2× 1x16x10x10 → 1x16x20x20,
    /// 0 FLOPs; linear: 6400·9 = 57,600.
    #[test]
    fn upsample_opset_9() {
        let run = |mode: &str| {
            NodeTest::new("Upsample")
                .opset(9)
                .input(&[1, 16, 10, 10])
                .floats(&[4], &[1.0, 1.0, 2.0, 2.0])
                .string("mode", mode)
                .run()
        };
        let n = run("nearest");
        assert_eq!(n.shape(0), "1x16x20x20");
        assert_eq!(n.flops(), 0);
        assert_eq!(run("linear").flops(), 57_600);
    }

    /// Upsample opset 7 (scales attribute), linear 3× on W only:
    /// 1x2x4x4 → 1x2x4x12, r = 1: 96·3 = 288. Opset 1 with height_scale 2,
    /// width_scale 2, bilinear: 1x1x3x3 → 6×6: 36·9 = 324.
    #[test]
    fn upsample_attribute_forms() {
        let r = NodeTest::new("Upsample")
            .opset(7)
            .input(&[1, 2, 4, 4])
            .attr("scales", AttrValue::Floats(vec![1.0, 1.0, 1.0, 3.0]))
            .string("mode", "linear")
            .run();
        assert_eq!(r.shape(0), "1x2x4x12");
        assert_eq!(r.flops(), 288);
        let v1 = NodeTest::new("Upsample")
            .opset(1)
            .input(&[1, 1, 3, 3])
            .float("height_scale", 2.0)
            .float("width_scale", 2.0)
            .string("mode", "bilinear")
            .run();
        assert_eq!(v1.shape(0), "1x1x6x6");
        assert_eq!(v1.flops(), 324);
        let missing = NodeTest::new("Upsample")
            .opset(8)
            .input(&[1, 1, 3, 3])
            .run();
        assert!(incomplete(missing.status(), "scales"));
        let unknown = NodeTest::new("Upsample")
            .opset(9)
            .input(&[1, 1, 3, 3])
            .input_unknown()
            .run();
        assert_eq!(unknown.shape(0), "n_ax0xn_ax1xn_ax2xn_ax3");
        assert!(incomplete(unknown.status(), "run time"));
    }

    /// Symbolic `sizes` as PyTorch exports them (Concat of Shape slices and
    /// constants): [batch, 3, 224, 224] with sizes [batch, 3, 112, 112],
    /// bilinear: batch and channel axes unchanged (identity), r = 2:
    /// 3·112·112·9·batch = 338,688·batch.
    #[test]
    fn resize_symbolic_sizes() {
        let node = Node {
            name: "r".into(),
            op_type: "Resize".into(),
            inputs: vec![Some(0), None, None, Some(1)].into(),
            outputs: vec![Some(2)].into(),
            attributes: vec![Attribute {
                name: "mode".into(),
                value: AttrValue::String(Bytes::from_static(b"linear")),
            }]
            .into(),
            ..Node::default()
        };
        let x = ValueFacts::new(
            Some(DType::F32),
            Some(vec![
                Dim::sym("batch"),
                Dim::int(3),
                Dim::int(224),
                Dim::int(224),
            ]),
        );
        let sizes = ValueFacts {
            dtype: Some(DType::I64),
            shape: Some(shape_of(&[4]).into()),
            value: Some(ConstValue::Ints(vec![
                Dim::sym("batch"),
                Dim::int(3),
                Dim::int(112),
                Dim::int(112),
            ])),
            sequence: None,
            pattern: None,
        };
        let mut ctx = NodeCtx::new(
            &node,
            13,
            vec![Some(&x), None, None, Some(&sizes)],
            vec!["x", "", "", "sizes"],
        );
        let def = lookup("", "Resize").unwrap();
        assert_eq!((def.rule)(&mut ctx), Ok(()));
        let out = ctx.output_shape(0).unwrap();
        assert_eq!(format_shape(out), "batchx3x112x112");
        assert_eq!(ctx.cost.flops.to_string(), "338688*batch");
        assert!(ctx.cost.macs.is_zero());
    }
}
