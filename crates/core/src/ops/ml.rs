//! Classical machine-learning operators of the `ai.onnx.ml` domain, as
//! sklearn-onnx and onnxmltools export them: tree ensembles, linear models,
//! support vector machines, and the preprocessing operators around them.
//! (`Binarizer` and `LabelEncoder` are in `elementwise.rs`,
//! `ArrayFeatureExtractor` in `tensor/`.)
//!
//! These models keep their weights in attributes (coefficients, support
//! vectors, tree thresholds and leaf values), not in initializers. nncost
//! counts parameters from initializers only, so those weights are not in
//! the parameter count; each rule's documentation says which attributes
//! hold them.
//!
//! Conventions shared by the classifiers and regressors:
//! - `X` is `[N, F]`, or `[F]` for one sample (`N = 1`).
//! - Post transforms on `E` scores per sample: `NONE` 0, `LOGISTIC` 4 per
//!   score (Sigmoid's), `SOFTMAX` `5E − 2` (Softmax's), `SOFTMAX_ZERO` `7E
//!   + 1` (Softmax, each score first tested against zero, the sum tested
//!   once), `PROBIT` 4 per score (`√2·erfinv(2p − 1)`: 2, erfinv 1, 1).
//! - Choosing the top class of `E` scores: `E − 1` comparisons.

use super::{NodeCtx, OpDef, OpError, RuleResult};
use crate::fxhash::FxHashMap;
use crate::graph::{AttrValue, DType, Tensor};
use crate::poly::Poly;
use crate::shape::{Dim, Shape};
use crate::value::{numbers, Numbers};

const ML: &str = "ai.onnx.ml";

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "TreeEnsemble",
        domain: ML,
        rule: tree_ensemble,
        roles: &[],
        cost_doc: "per sample: Σ over trees of the costliest root-to-leaf path (1 comparison per node, k for a \
                   k-member set), + 1 per tree to aggregate (+ n_targets with AVERAGE) + post_transform",
    },
    OpDef {
        op_type: "TreeEnsembleRegressor",
        domain: ML,
        rule: tree_ensemble_regressor,
        roles: &[],
        cost_doc: "per sample: Σ over trees of the deepest path's comparisons + the most leaf weights of a leaf, \
                   (+ n_targets AVERAGE) (+ n_targets base_values) + post_transform",
    },
    OpDef {
        op_type: "TreeEnsembleClassifier",
        domain: ML,
        rule: tree_ensemble_classifier,
        roles: &[],
        cost_doc: "per sample: Σ over trees of the deepest path's comparisons + the most class weights of a leaf, \
                   (+ E base_values) + post_transform + E − 1 for the top class",
    },
    OpDef {
        op_type: "LinearRegressor",
        domain: ML,
        rule: linear_regressor,
        roles: &[],
        cost_doc: "MACs = N·T·F; FLOPs = N·T·(2F − 1) (+ N·T intercepts) + post_transform",
    },
    OpDef {
        op_type: "LinearClassifier",
        domain: ML,
        rule: linear_classifier,
        roles: &[],
        cost_doc: "MACs = N·C·F; FLOPs = N·C·(2F − 1) (+ N·C intercepts) (+ N negations for a binary model's second \
                   score) + post_transform + N·(E − 1) top class (N thresholds if E = 1)",
    },
    OpDef {
        op_type: "SVMRegressor",
        domain: ML,
        rule: svm_regressor,
        roles: &[],
        cost_doc: "N·V kernels over F features (MACs F each; FLOPs linear 2F − 1, poly/sigmoid 2F + 2, rbf 3F + 1) \
                   + N·V MACs, 2·N·V FLOPs for the coefficients and rho (+ N one_class) + post_transform",
    },
    OpDef {
        op_type: "SVMClassifier",
        domain: ML,
        rule: svm_classifier,
        roles: &[],
        cost_doc: "linear: as LinearClassifier; SVC: N·V kernels as SVMRegressor, (C − 1)·V MACs and 2·(C − 1)·V \
                   FLOPs per sample for the C(C − 1)/2 pairwise scores, + 1 vote each, + argmax, \
                   (+ 10 per pair with prob_a/prob_b) + post_transform",
    },
    OpDef {
        op_type: "Scaler",
        domain: ML,
        rule: scaler,
        roles: &[],
        cost_doc: "FLOPs = 2 per element ((x − offset)·scale)",
    },
    OpDef {
        op_type: "Normalizer",
        domain: ML,
        rule: normalizer,
        roles: &[],
        cost_doc: "per row of n: MAX and L1 3n (abs, reduce, clamp, divide), L2 3n + 1 (squares, sum, sqrt, clamp, divide)",
    },
    OpDef {
        op_type: "Imputer",
        domain: ML,
        rule: imputer,
        roles: &[],
        cost_doc: "FLOPs = 1 per element (a comparison with the replaced value)",
    },
    OpDef {
        op_type: "OneHotEncoder",
        domain: ML,
        rule: one_hot_encoder,
        roles: &[],
        cost_doc: "0 (a category lookup per element); output X.shape + [categories]",
    },
    OpDef {
        op_type: "CategoryMapper",
        domain: ML,
        rule: category_mapper,
        roles: &[],
        cost_doc: "0 (a table lookup per element)",
    },
    OpDef {
        op_type: "FeatureVectorizer",
        domain: ML,
        rule: feature_vectorizer,
        roles: &[],
        cost_doc: "0 (inputs copied side by side); output [N, Σ inputdimensions]",
    },
    OpDef {
        op_type: "ZipMap",
        domain: ML,
        rule: zip_map,
        roles: &[],
        cost_doc: "0 (pairs each score with its label); a sequence of maps, which carries no shape",
    },
    OpDef {
        op_type: "DictVectorizer",
        domain: ML,
        rule: dict_vectorizer,
        roles: &[],
        cost_doc: "0 (a vocabulary lookup per map entry); output [1, len(vocabulary)]",
    },
    OpDef {
        op_type: "CastMap",
        domain: ML,
        rule: cast_map,
        roles: &[],
        cost_doc: "0 (map values converted and laid out); output [1, max_map] (SPARSE), [1, entries] (DENSE)",
    },
];

// ----- shared helpers -----------------------------------------------------

fn invalid(msg: impl Into<String>) -> OpError {
    OpError::Invalid(msg.into())
}

/// Samples and features of `X`: `[N, F]`, or `[F]` as one sample.
fn samples(ctx: &NodeCtx) -> Result<(Dim, Dim), OpError> {
    let x = ctx.shape(0)?;
    match x.len() {
        1 => Ok((Dim::int(1), x[0].clone())),
        2 => Ok((x[0].clone(), x[1].clone())),
        r => Err(invalid(format!(
            "{} takes X of shape [N, F] or [F], got rank {r}",
            ctx.node.op_type
        ))),
    }
}

/// A required list-of-integers attribute.
fn ints<'a>(ctx: &NodeCtx<'a>, name: &str) -> Result<&'a [i64], OpError> {
    ctx.attr_ints(name)?
        .ok_or_else(|| invalid(format!("attribute '{name}' is required")))
}

/// Length of a list attribute of any element type (0 when absent).
fn list_len(ctx: &NodeCtx, name: &str) -> usize {
    match ctx.attr(name) {
        Some(AttrValue::Ints(v)) => v.len(),
        Some(AttrValue::Floats(v)) => v.len(),
        Some(AttrValue::Strings(v)) => v.len(),
        Some(AttrValue::Tensor(t)) => t.numel().unwrap_or(0) as usize,
        _ => 0,
    }
}

/// Number of floats in `name`, or in its `_as_tensor` form.
fn floats_len(ctx: &NodeCtx, name: &str) -> usize {
    list_len(ctx, name).max(list_len(ctx, &format!("{name}_as_tensor")))
}

/// Class labels: their count and the label dtype.
fn class_labels(ctx: &NodeCtx, ints_name: &str) -> Result<(usize, DType), OpError> {
    match (ctx.attr("classlabels_strings"), ctx.attr(ints_name)) {
        (Some(AttrValue::Strings(s)), None) => Ok((s.len(), DType::String)),
        (None, Some(AttrValue::Ints(v))) => Ok((v.len(), DType::I64)),
        (Some(_), Some(_)) => Err(invalid(format!(
            "only one of classlabels_strings and {ints_name} may be given"
        ))),
        _ => Err(invalid(format!(
            "one of classlabels_strings (strings) and {ints_name} (integers) is required"
        ))),
    }
}

/// FLOPs of a post transform over `e` scores per sample, for `n` samples.
fn post_transform(name: &str, n: &Poly, e: &Poly) -> Result<Poly, OpError> {
    let per_row = match name {
        "NONE" => Poly::ZERO,
        "LOGISTIC" | "PROBIT" => e.checked_scale(4)?,
        "SOFTMAX" => e.checked_scale(5)?.checked_sub(&Poly::constant(2))?,
        "SOFTMAX_ZERO" => e.checked_scale(7)?.checked_add(&Poly::constant(1))?,
        other => {
            return Err(invalid(format!(
                "post_transform '{other}' is not NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO or PROBIT"
            )))
        }
    };
    Ok(n.checked_mul(&per_row)?)
}

fn post_transform_attr<'a>(ctx: &NodeCtx<'a>) -> Result<&'a str, OpError> {
    Ok(ctx.attr_str("post_transform")?.unwrap_or("NONE"))
}

/// Elements of a tensor attribute as f64 (any integer or 16-, 32- or
/// 64-bit float storage), or `None` when not stored inline.
fn tensor_values(t: &Tensor) -> Option<Vec<f64>> {
    let n = usize::try_from(t.numel()?).ok()?;
    match numbers(t, n)? {
        Numbers::Ints(v) => Some(v.into_iter().map(|x| x as f64).collect()),
        Numbers::Floats(v) => Some(v),
    }
}

/// Costliest root-to-leaf path of every node of a forest: `cost[i]` is
/// node `i`'s own comparisons plus the costlier of its interior children's
/// paths. Iterative (no recursion on deep trees); a cycle is an error.
fn path_costs(own: &[i128], children: &[[Option<usize>; 2]]) -> Result<Vec<i128>, OpError> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let n = own.len();
    let mut state = vec![NEW; n];
    let mut cost = vec![0i128; n];
    for start in 0..n {
        if state[start] != NEW {
            continue;
        }
        let mut stack = vec![start];
        while let Some(&i) = stack.last() {
            if state[i] == NEW {
                state[i] = OPEN;
                for c in children[i].iter().flatten() {
                    match state[*c] {
                        NEW => stack.push(*c),
                        OPEN => return Err(invalid("the tree nodes form a cycle")),
                        _ => {}
                    }
                }
            } else {
                stack.pop();
                if state[i] == OPEN {
                    let below = children[i]
                        .iter()
                        .flatten()
                        .map(|&c| cost[c])
                        .max()
                        .unwrap_or(0);
                    cost[i] = own[i] + below;
                    state[i] = DONE;
                }
            }
        }
    }
    Ok(cost)
}

// ----- tree ensembles -------------------------------------------------------

/// `TreeEnsemble` (ai.onnx.ml 5): X `[N, F]` → Y `[N, n_targets]`.
///
/// How many nodes a sample visits depends on its values; nncost counts the
/// worst case, each tree's costliest root-to-leaf path, computed from the
/// attributes: 1 comparison per interior node (`BRANCH_LEQ` … `BRANCH_NEQ`;
/// the NaN test of `nodes_missing_value_tracks_true` is part of it), `k`
/// comparisons for a `BRANCH_MEMBER` node whose set has `k` members (from
/// `membership_values`, NaN-separated, in node order). The bound is exact
/// for the full trees of depth-limited boosting. The reached leaf's weight
/// is then aggregated into its target, 1 per tree (an add, or a comparison
/// for MIN/MAX); `AVERAGE` divides each target once more; `post_transform`
/// (0 NONE … 4 PROBIT) as in the module documentation. Thresholds and leaf
/// weights (`nodes_splits`, `leaf_weights`) are attributes, not counted as
/// parameters.
fn tree_ensemble(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    if x.len() != 2 {
        return Err(invalid(format!(
            "TreeEnsemble takes X of shape [N, F], got rank {}",
            x.len()
        )));
    }
    let feature = ints(ctx, "nodes_featureids")?;
    let true_ids = ints(ctx, "nodes_truenodeids")?;
    let false_ids = ints(ctx, "nodes_falsenodeids")?;
    let true_leaf = ints(ctx, "nodes_trueleafs")?;
    let false_leaf = ints(ctx, "nodes_falseleafs")?;
    let roots = ints(ctx, "tree_roots")?;
    let leaf_targets = ints(ctx, "leaf_targetids")?;
    let n = feature.len();
    let leaves = leaf_targets.len();
    for (name, len) in [
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_trueleafs", true_leaf.len()),
        ("nodes_falseleafs", false_leaf.len()),
    ] {
        if len != n {
            return Err(invalid(format!(
                "attribute '{name}' has {len} entries, nodes_featureids {n}"
            )));
        }
    }
    let modes = match ctx.attr("nodes_modes") {
        Some(AttrValue::Tensor(t)) => tensor_values(t)
            .ok_or_else(|| invalid("attribute 'nodes_modes' is not stored inline"))?,
        _ => {
            return Err(invalid(
                "attribute 'nodes_modes' (a uint8 tensor) is required",
            ))
        }
    };
    if modes.len() != n {
        return Err(invalid(format!(
            "attribute 'nodes_modes' has {} entries, nodes_featureids {n}",
            modes.len()
        )));
    }
    let mut set_sizes = match ctx.attr("membership_values") {
        Some(AttrValue::Tensor(t)) => {
            let v = tensor_values(t)
                .ok_or_else(|| invalid("attribute 'membership_values' is not stored inline"))?;
            let mut sizes = Vec::new();
            let mut k = 0i128;
            for m in v {
                if m.is_nan() {
                    sizes.push(k);
                    k = 0;
                } else {
                    k += 1;
                }
            }
            sizes.into_iter()
        }
        _ => Vec::new().into_iter(),
    };
    let mut own = Vec::with_capacity(n);
    let mut children = Vec::with_capacity(n);
    for i in 0..n {
        let cost = match modes[i] as i64 {
            0..=5 => 1,
            6 => set_sizes.next().ok_or_else(|| {
                invalid("membership_values lists fewer sets than there are BRANCH_MEMBER nodes")
            })?,
            m => {
                return Err(invalid(format!(
                    "nodes_modes[{i}] = {m} is not a mode (0 BRANCH_LEQ … 6 BRANCH_MEMBER)"
                )))
            }
        };
        own.push(cost);
        let child = |id: i64, leaf: i64, name: &str| -> Result<Option<usize>, OpError> {
            let bound = if leaf != 0 { leaves } else { n };
            if id < 0 || id as usize >= bound {
                return Err(invalid(format!(
                    "{name}[{i}] = {id} is out of range (0..{bound})"
                )));
            }
            Ok((leaf == 0).then_some(id as usize))
        };
        children.push([
            child(true_ids[i], true_leaf[i], "nodes_truenodeids")?,
            child(false_ids[i], false_leaf[i], "nodes_falsenodeids")?,
        ]);
    }
    let cost = path_costs(&own, &children)?;
    let mut per_sample = 0i128;
    for &r in roots {
        if r < 0 || r as usize >= n {
            return Err(invalid(format!(
                "tree_roots entry {r} is out of range (0..{n})"
            )));
        }
        let r = r as usize;
        // A lone leaf is written as one node whose branches are the same leaf.
        let lone_leaf = true_leaf[r] != 0 && false_leaf[r] != 0 && true_ids[r] == false_ids[r];
        per_sample += if lone_leaf { 0 } else { cost[r] } + 1;
    }
    let targets = match ctx.attr_int("n_targets", 0)? {
        t if t > 0 => t,
        0 => leaf_targets.iter().copied().max().map_or(0, |m| m + 1),
        t => return Err(invalid(format!("n_targets must be positive, got {t}"))),
    };
    let t = Poly::from(targets);
    let agg = ctx.attr_int("aggregate_function", 1)?;
    match agg {
        0 => per_sample += targets as i128,
        1..=3 => {}
        a => {
            return Err(invalid(format!(
                "aggregate_function {a} is not 0 AVERAGE, 1 SUM, 2 MIN or 3 MAX"
            )))
        }
    }
    let transform = match ctx.attr_int("post_transform", 0)? {
        0 => "NONE",
        1 => "SOFTMAX",
        2 => "LOGISTIC",
        3 => "SOFTMAX_ZERO",
        4 => "PROBIT",
        p => return Err(invalid(format!("post_transform {p} is not 0 … 4"))),
    };
    ctx.set_output(0, ctx.dtype(0), vec![x[0].clone(), Dim::Known(t.clone())]);
    let rows = ctx.known_dim(0, &x[0])?;
    let flops = rows
        .checked_scale(per_sample)?
        .checked_add(&post_transform(transform, &rows, &t)?)?;
    ctx.add_flops(&flops)
}

/// The legacy tree encoding of `TreeEnsembleRegressor` and
/// `TreeEnsembleClassifier`: per sample, Σ over trees of the deepest
/// path's comparisons (1 per interior node; `LEAF` nodes compare nothing)
/// plus the most weights any leaf of the tree carries (each added into its
/// target or class). `prefix` names the leaf-weight attributes (`target`
/// or `class`).
fn legacy_trees(ctx: &NodeCtx, prefix: &str) -> Result<i128, OpError> {
    let tree_ids = ints(ctx, "nodes_treeids")?;
    let node_ids = ints(ctx, "nodes_nodeids")?;
    let true_ids = ints(ctx, "nodes_truenodeids")?;
    let false_ids = ints(ctx, "nodes_falsenodeids")?;
    let modes = match ctx.attr("nodes_modes") {
        Some(AttrValue::Strings(s)) => s,
        _ => return Err(invalid("attribute 'nodes_modes' (strings) is required")),
    };
    let n = tree_ids.len();
    for (name, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_modes", modes.len()),
    ] {
        if len != n {
            return Err(invalid(format!(
                "attribute '{name}' has {len} entries, nodes_treeids {n}"
            )));
        }
    }
    let mut index: FxHashMap<(i64, i64), usize> = FxHashMap::default();
    for i in 0..n {
        if index.insert((tree_ids[i], node_ids[i]), i).is_some() {
            return Err(invalid(format!(
                "node {} of tree {} is defined twice",
                node_ids[i], tree_ids[i]
            )));
        }
    }
    let mut own = Vec::with_capacity(n);
    let mut children = Vec::with_capacity(n);
    for i in 0..n {
        match &modes[i][..] {
            b"LEAF" => {
                own.push(0);
                children.push([None, None]);
            }
            b"BRANCH_LEQ" | b"BRANCH_LT" | b"BRANCH_GTE" | b"BRANCH_GT" | b"BRANCH_EQ"
            | b"BRANCH_NEQ" => {
                own.push(1);
                let child = |id: i64| {
                    index.get(&(tree_ids[i], id)).copied().ok_or_else(|| {
                        invalid(format!(
                            "node {} of tree {} branches to node {id}, which does not exist",
                            node_ids[i], tree_ids[i]
                        ))
                    })
                };
                children.push([Some(child(true_ids[i])?), Some(child(false_ids[i])?)]);
            }
            other => {
                return Err(invalid(format!(
                    "nodes_modes entry '{}' is not a branch mode or LEAF",
                    String::from_utf8_lossy(other)
                )))
            }
        }
    }
    let cost = path_costs(&own, &children)?;
    // Per tree: the costliest path (the root's; the maximum over its nodes).
    let mut trees: FxHashMap<i64, (i128, i128)> = FxHashMap::default();
    for i in 0..n {
        let e = trees.entry(tree_ids[i]).or_default();
        e.0 = e.0.max(cost[i]);
    }
    let w_trees = ints(ctx, &format!("{prefix}_treeids"))?;
    let w_nodes = ints(ctx, &format!("{prefix}_nodeids"))?;
    if w_trees.len() != w_nodes.len() {
        return Err(invalid(format!(
            "{prefix}_treeids and {prefix}_nodeids differ in length"
        )));
    }
    let mut per_leaf: FxHashMap<(i64, i64), i128> = FxHashMap::default();
    for (t, nd) in w_trees.iter().zip(w_nodes) {
        *per_leaf.entry((*t, *nd)).or_default() += 1;
    }
    for ((t, _), k) in per_leaf {
        if let Some(e) = trees.get_mut(&t) {
            e.1 = e.1.max(k);
        }
    }
    Ok(trees.values().map(|(c, w)| c + w).sum())
}

/// `TreeEnsembleRegressor` (ai.onnx.ml 1, 3): X `[N, F]` → Y `[N,
/// n_targets]` (float). Per sample: [`legacy_trees`]; `AVERAGE` divides
/// each target once; `base_values` add one per target; `post_transform`.
/// Thresholds and `target_weights` are attributes, not parameters.
fn tree_ensemble_regressor(ctx: &mut NodeCtx) -> RuleResult {
    let (n, _) = samples(ctx)?;
    let targets = ctx.attr_int("n_targets", 1)?;
    if targets < 1 {
        return Err(invalid(format!(
            "n_targets must be positive, got {targets}"
        )));
    }
    ctx.set_output(0, Some(DType::F32), vec![n.clone(), Dim::int(targets)]);
    let mut per_sample = legacy_trees(ctx, "target")?;
    match ctx.attr_str("aggregate_function")?.unwrap_or("SUM") {
        "AVERAGE" => per_sample += targets as i128,
        "SUM" | "MIN" | "MAX" => {}
        other => {
            return Err(invalid(format!(
                "aggregate_function '{other}' is not AVERAGE, SUM, MIN or MAX"
            )))
        }
    }
    if floats_len(ctx, "base_values") > 0 {
        per_sample += targets as i128;
    }
    let rows = ctx.known_dim(0, &n)?;
    let t = Poly::from(targets);
    let flops = rows
        .checked_scale(per_sample)?
        .checked_add(&post_transform(post_transform_attr(ctx)?, &rows, &t)?)?;
    ctx.add_flops(&flops)
}

/// `TreeEnsembleClassifier` (ai.onnx.ml 1, 3): X `[N, F]` → Y `[N]` labels
/// (int64 or string) and Z `[N, E]` scores, `E` = number of class labels.
/// Per sample: [`legacy_trees`] with the class weights, `E` adds for
/// `base_values`, `post_transform`, `E − 1` comparisons for the top class.
/// Thresholds and `class_weights` are attributes, not parameters.
fn tree_ensemble_classifier(ctx: &mut NodeCtx) -> RuleResult {
    let (n, _) = samples(ctx)?;
    let (classes, label) = class_labels(ctx, "classlabels_int64s")?;
    if classes == 0 {
        return Err(invalid("the class label list is empty"));
    }
    let e = classes as i128;
    ctx.set_output(0, Some(label), vec![n.clone()]);
    ctx.set_output(
        1,
        Some(DType::F32),
        vec![n.clone(), Dim::int(classes as i64)],
    );
    let mut per_sample = legacy_trees(ctx, "class")? + e - 1;
    if floats_len(ctx, "base_values") > 0 {
        per_sample += e;
    }
    let rows = ctx.known_dim(0, &n)?;
    let flops = rows
        .checked_scale(per_sample)?
        .checked_add(&post_transform(
            post_transform_attr(ctx)?,
            &rows,
            &Poly::constant(e),
        )?)?;
    ctx.add_flops(&flops)
}

// ----- linear models --------------------------------------------------------

/// Number of coefficient rows: `len(coefficients) / F`.
fn coefficient_rows(ctx: &NodeCtx, f: &Dim) -> Result<i64, OpError> {
    let len = list_len(ctx, "coefficients") as i64;
    let f = f.as_i64().ok_or_else(|| {
        invalid("the feature count F must be a known number to split the coefficients")
    })?;
    if f < 1 || len == 0 || len % f != 0 {
        return Err(invalid(format!(
            "{len} coefficients do not form rows of F = {f} features"
        )));
    }
    Ok(len / f)
}

/// `LinearRegressor` (ai.onnx.ml 1): X `[N, F]` → Y `[N, T]` (`targets`).
/// Each target is a dot product of F coefficients: MACs `N·T·F`, FLOPs
/// `N·T·(2F − 1)`, `+ N·T` with intercepts, then `post_transform`. The
/// coefficients are an attribute, not parameters.
fn linear_regressor(ctx: &mut NodeCtx) -> RuleResult {
    let (n, f) = samples(ctx)?;
    let targets = ctx.attr_int("targets", 1)?;
    if targets < 1 {
        return Err(invalid(format!("targets must be positive, got {targets}")));
    }
    let len = list_len(ctx, "coefficients") as i64;
    if let Some(fv) = f.as_i64() {
        if len != targets.saturating_mul(fv) {
            return Err(invalid(format!(
                "{len} coefficients for {targets} targets of F = {fv} features"
            )));
        }
    }
    ctx.set_output(0, Some(DType::F32), vec![n.clone(), Dim::int(targets)]);
    let (rows, f) = (ctx.known_dim(0, &n)?, ctx.known_dim(0, &f)?);
    let t = Poly::from(targets);
    let outputs = rows.checked_mul(&t)?;
    ctx.add_macs(&outputs.checked_mul(&f)?)?;
    let mut flops = outputs.checked_mul(&f.checked_scale(2)?.checked_sub(&Poly::constant(1))?)?;
    if list_len(ctx, "intercepts") > 0 {
        flops = flops.checked_add(&outputs)?;
    }
    flops = flops.checked_add(&post_transform(post_transform_attr(ctx)?, &rows, &t)?)?;
    ctx.add_flops(&flops)
}

/// `LinearClassifier` (ai.onnx.ml 1): X `[N, F]` → Y `[N]` labels and Z
/// `[N, E]` scores. `C = len(coefficients) / F` dot products per sample:
/// MACs `N·C·F`, FLOPs `N·C·(2F − 1)`, `+ N·C` with intercepts. A binary
/// model with one coefficient row and two labels reports both scores
/// `(−s, s)`: `E = 2`, one negation per sample; else `E = C`. Then
/// `post_transform` on E scores and the label: `E − 1` comparisons (one
/// threshold comparison when E = 1). The coefficients are an attribute,
/// not parameters.
fn linear_classifier(ctx: &mut NodeCtx) -> RuleResult {
    let (n, f) = samples(ctx)?;
    let (labels, label) = class_labels(ctx, "classlabels_ints")?;
    // With more than two labels onnxruntime scores one class per label,
    // reading the coefficients as `[labels, F]` (a file whose coefficient
    // count disagrees still gets one score per label).
    let c = if labels > 2 {
        labels as i64
    } else {
        coefficient_rows(ctx, &f)?
    };
    let binary = c == 1 && labels == 2;
    let e: i64 = if binary { 2 } else { c };
    ctx.set_output(0, Some(label), vec![n.clone()]);
    ctx.set_output(1, Some(DType::F32), vec![n.clone(), Dim::int(e)]);
    let (rows, f) = (ctx.known_dim(0, &n)?, ctx.known_dim(0, &f)?);
    let outputs = rows.checked_scale(c as i128)?;
    ctx.add_macs(&outputs.checked_mul(&f)?)?;
    let mut per_row = Poly::constant(c as i128)
        .checked_mul(&f.checked_scale(2)?.checked_sub(&Poly::constant(1))?)?;
    if list_len(ctx, "intercepts") > 0 {
        per_row = per_row.checked_add(&Poly::constant(c as i128))?;
    }
    let pick = if e > 1 { e as i128 - 1 } else { 1 };
    per_row = per_row.checked_add(&Poly::constant(pick + i128::from(binary)))?;
    let flops = rows.checked_mul(&per_row)?.checked_add(&post_transform(
        post_transform_attr(ctx)?,
        &rows,
        &Poly::from(e),
    )?)?;
    ctx.add_flops(&flops)
}

// ----- support vector machines ---------------------------------------------

/// FLOPs of one kernel evaluation over `f` features, beyond nothing: linear
/// `2f − 1` (a dot product), poly `2f + 2` (dot, ×γ, +c₀, power), sigmoid
/// `2f + 2` (dot, ×γ, +c₀, tanh), rbf `3f + 1` (f differences, their
/// squared norm `2f − 1`, ×(−γ), exp). Each is one length-f dot product: f
/// MACs.
fn kernel_flops(ctx: &NodeCtx, f: &Poly) -> Result<Poly, OpError> {
    let kernel = ctx.attr_str("kernel_type")?.unwrap_or("LINEAR");
    let (a, b) = match kernel {
        "LINEAR" => (2, -1),
        "POLY" | "SIGMOID" => (2, 2),
        "RBF" => (3, 1),
        other => {
            return Err(invalid(format!(
                "kernel_type '{other}' is not LINEAR, POLY, RBF or SIGMOID"
            )))
        }
    };
    Ok(f.checked_scale(a)?.checked_add(&Poly::constant(b))?)
}

/// `SVMRegressor` (ai.onnx.ml 1): X `[N, F]` → Y `[N, 1]`. With
/// `n_supports = V > 0`, every sample evaluates the kernel against the V
/// support vectors (`support_vectors`, `V·F` floats): `N·V` kernels of F
/// MACs each (FLOPs per kernel in [`kernel_flops`]), then the weighted sum
/// with the V `coefficients` plus `rho`: V MACs, 2V FLOPs. Without support
/// vectors it is linear: F MACs and 2F FLOPs per sample. `one_class` adds
/// a comparison per sample; `post_transform` on the one score. The support
/// vectors and coefficients are attributes, not parameters.
fn svm_regressor(ctx: &mut NodeCtx) -> RuleResult {
    let (n, f) = samples(ctx)?;
    ctx.set_output(0, Some(DType::F32), vec![n.clone(), Dim::int(1)]);
    let (rows, f) = (ctx.known_dim(0, &n)?, ctx.known_dim(0, &f)?);
    let v = ctx.attr_int("n_supports", 0)?;
    if v < 0 {
        return Err(invalid(format!("n_supports must not be negative, got {v}")));
    }
    let (macs, mut flops) = if v > 0 {
        let sv = list_len(ctx, "support_vectors") as i128;
        if f.as_constant().is_some_and(|fv| sv != fv * v as i128) {
            return Err(invalid(format!(
                "{sv} support_vectors floats are not n_supports ({v}) × F ({f})"
            )));
        }
        let vp = Poly::from(v);
        let kernels = vp.checked_mul(&f)?.checked_add(&vp)?;
        let kf = vp
            .checked_mul(&kernel_flops(ctx, &f)?)?
            .checked_add(&vp.checked_scale(2)?)?;
        (kernels, kf)
    } else {
        (f.clone(), f.checked_scale(2)?)
    };
    if ctx.attr_int("one_class", 0)? != 0 {
        flops = flops.checked_add(&Poly::constant(1))?;
    }
    ctx.add_macs(&rows.checked_mul(&macs)?)?;
    let flops = rows.checked_mul(&flops)?.checked_add(&post_transform(
        post_transform_attr(ctx)?,
        &rows,
        &Poly::constant(1),
    )?)?;
    ctx.add_flops(&flops)
}

/// `SVMClassifier` (ai.onnx.ml 1): X `[N, F]` → Y `[N]` labels, Z `[N, E]`.
/// `C` classes (labels); `vectors_per_class` gives `V` support vectors in
/// all (SVC mode), else the model is linear (`coefficients` `[C, F]`,
/// counted as `LinearClassifier` without its binary case).
///
/// SVC: `N·V` kernels as in [`svm_regressor`]; each of the `C(C − 1)/2`
/// class pairs (i, j) sums its `V_i + V_j` kernels weighted by the
/// coefficients plus its `rho`: `(C − 1)·V` MACs and `2·(C − 1)·V` FLOPs
/// per sample; one comparison per pair casts its vote; the label is the
/// top of C votes (`C − 1`). Z has `C(C − 1)/2` pairwise scores (2 for a
/// binary model). With `prob_a`/`prob_b`, each pair's score becomes a
/// probability (`a·s + b`, Sigmoid's 4, `1 − p`, two clamps, `1 − p`: 10
/// per pair) and Z has C columns; the pairwise coupling that follows
/// iterates until it converges (data-dependent: at most `max(100, C)`
/// rounds) and is not counted. Then `post_transform` on Z.
fn svm_classifier(ctx: &mut NodeCtx) -> RuleResult {
    let (n, f) = samples(ctx)?;
    let (classes, label) = class_labels(ctx, "classlabels_ints")?;
    if classes == 0 {
        return Err(invalid("the class label list is empty"));
    }
    let c = classes as i128;
    let per_class = ctx.attr_ints("vectors_per_class")?.unwrap_or(&[]);
    let v: i128 = per_class.iter().map(|&x| x.max(0) as i128).sum();
    let proba = list_len(ctx, "prob_a") > 0;
    if list_len(ctx, "prob_a") != list_len(ctx, "prob_b") {
        return Err(invalid("prob_a and prob_b must have the same length"));
    }
    let pairs = c * (c - 1) / 2;
    let svc = v > 0;
    if svc && per_class.len() != classes {
        return Err(invalid(format!(
            "vectors_per_class has {} entries for {classes} classes",
            per_class.len()
        )));
    }
    let e = if svc && !proba {
        if c > 2 {
            pairs
        } else {
            2
        }
    } else {
        c
    };
    let linear_rows = if svc {
        0
    } else {
        coefficient_rows(ctx, &f)? as i128
    };
    ctx.set_output(0, Some(label), vec![n.clone()]);
    ctx.set_output(1, Some(DType::F32), vec![n.clone(), Dim::int(e as i64)]);
    let (rows, f) = (ctx.known_dim(0, &n)?, ctx.known_dim(0, &f)?);
    let (macs, per_row) = if svc {
        let sv = list_len(ctx, "support_vectors") as i128;
        if f.as_constant().is_some_and(|fv| sv != fv * v) {
            return Err(invalid(format!(
                "{sv} support_vectors floats are not V ({v}) × F ({f})"
            )));
        }
        let vp = Poly::constant(v);
        let weighted = (c - 1) * v;
        let macs = vp.checked_mul(&f)?.checked_add(&Poly::constant(weighted))?;
        let mut flops = vp
            .checked_mul(&kernel_flops(ctx, &f)?)?
            .checked_add(&Poly::constant(2 * weighted + pairs + (c - 1)))?;
        if proba {
            flops = flops.checked_add(&Poly::constant(10 * pairs))?;
        }
        (macs, flops)
    } else {
        let k = Poly::constant(linear_rows);
        let flops = k
            .checked_mul(&f.checked_scale(2)?)?
            .checked_add(&Poly::constant(c - 1))?;
        (k.checked_mul(&f)?, flops)
    };
    ctx.add_macs(&rows.checked_mul(&macs)?)?;
    let flops = rows.checked_mul(&per_row)?.checked_add(&post_transform(
        post_transform_attr(ctx)?,
        &rows,
        &Poly::constant(e),
    )?)?;
    ctx.add_flops(&flops)
}

// ----- preprocessing ----------------------------------------------------------

/// `Scaler` (ai.onnx.ml 1): `(x − offset)·scale` per element, 2 FLOPs; Y
/// has X's shape, float. `offset` and `scale` (1 or F values) are
/// attributes, not parameters.
fn scaler(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let last = x.last().and_then(Dim::as_i64);
    for name in ["offset", "scale"] {
        let k = list_len(ctx, name) as i64;
        if k > 1 && last.is_some_and(|f| f != k) {
            return Err(invalid(format!(
                "attribute '{name}' has {k} values; X has {} features",
                last.unwrap_or_default()
            )));
        }
    }
    ctx.set_output(0, Some(DType::F32), x);
    let numel = ctx.numel(0)?;
    ctx.add_flops_per(&numel, 2)
}

/// `Normalizer` (ai.onnx.ml 1): each row of X `[N, C]` (or `[C]`) divided
/// by its max-abs (`MAX`), L1 or L2 norm, clamped away from zero. Per row
/// of n: `MAX` n absolute values, `n − 1` comparisons, a clamp, n
/// divisions: 3n; `L1` the same with `n − 1` additions: 3n; `L2` n squares,
/// `n − 1` additions, a square root, a clamp, n divisions: `3n + 1`.
fn normalizer(ctx: &mut NodeCtx) -> RuleResult {
    let (n, c) = samples(ctx)?;
    let extra = match ctx.attr_str("norm")?.unwrap_or("MAX") {
        "MAX" | "L1" => 0,
        "L2" => 1,
        other => return Err(invalid(format!("norm '{other}' is not MAX, L1 or L2"))),
    };
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, Some(DType::F32), x);
    let (rows, c) = (ctx.known_dim(0, &n)?, ctx.known_dim(0, &c)?);
    let per_row = c.checked_scale(3)?.checked_add(&Poly::constant(extra))?;
    ctx.add_flops(&rows.checked_mul(&per_row)?)
}

/// `Imputer` (ai.onnx.ml 1): each element equal to the replaced value (or
/// NaN) is replaced: one comparison per element; Y has X's shape and type.
fn imputer(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let k = list_len(ctx, "imputed_value_floats").max(list_len(ctx, "imputed_value_int64s"));
    if k == 0 {
        return Err(invalid(
            "one of imputed_value_floats and imputed_value_int64s is required",
        ));
    }
    if let (true, Some(f)) = (k > 1, x.last().and_then(Dim::as_i64)) {
        if f != k as i64 {
            return Err(invalid(format!(
                "{k} imputed values for {f} features (need 1 or F)"
            )));
        }
    }
    ctx.set_output(0, ctx.dtype(0), x);
    let numel = ctx.numel(0)?;
    ctx.add_flops_per(&numel, 1)
}

/// `OneHotEncoder` (ai.onnx.ml 1): Y = X's shape + `[K]` (float), K the
/// number of categories (`cats_int64s` or `cats_strings`). Finding each
/// element's category is a lookup: 0 FLOPs.
fn one_hot_encoder(ctx: &mut NodeCtx) -> RuleResult {
    let mut y: Shape = ctx.shape(0)?.to_vec();
    let k = match (ctx.attr("cats_int64s"), ctx.attr("cats_strings")) {
        (Some(AttrValue::Ints(v)), None) => v.len(),
        (None, Some(AttrValue::Strings(v))) => v.len(),
        _ => {
            return Err(invalid(
                "exactly one of cats_int64s (integers) and cats_strings (strings) is required",
            ))
        }
    };
    y.push(Dim::int(k as i64));
    ctx.set_output(0, Some(DType::F32), y);
    Ok(())
}

/// `CategoryMapper` (ai.onnx.ml 1): strings to int64 or int64 to strings,
/// element by element (a table lookup, 0 FLOPs); Y has X's shape.
fn category_mapper(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let (a, b) = (list_len(ctx, "cats_int64s"), list_len(ctx, "cats_strings"));
    if a != b {
        return Err(invalid(format!(
            "cats_int64s ({a}) and cats_strings ({b}) must have the same length"
        )));
    }
    let out = match ctx.dtype(0) {
        Some(DType::String) => Some(DType::I64),
        Some(DType::I64) => Some(DType::String),
        Some(other) => {
            return Err(invalid(format!(
                "CategoryMapper maps strings and int64, not {}",
                other.name()
            )))
        }
        None if ctx.attr("default_string").is_some() => Some(DType::String),
        None => Some(DType::I64),
    };
    ctx.set_output(0, out, x);
    Ok(())
}

/// `FeatureVectorizer` (ai.onnx.ml 1): 2-D inputs `[N, C_i]` (1-D as `[1,
/// C]`) placed side by side: Y `[N, Σ inputdimensions]` (float). Copies
/// and casts, 0 FLOPs.
fn feature_vectorizer(ctx: &mut NodeCtx) -> RuleResult {
    let dims = ints(ctx, "inputdimensions")?;
    let k = ctx.num_inputs();
    if dims.len() != k || k == 0 {
        return Err(invalid(format!(
            "inputdimensions has {} entries for {k} inputs",
            dims.len()
        )));
    }
    if let Some(&bad) = dims.iter().find(|&&d| d < 0) {
        return Err(invalid(format!("inputdimensions entry {bad} is negative")));
    }
    let n = match ctx.shape(0)? {
        [] => {
            return Err(invalid(
                "input 0 is a scalar; FeatureVectorizer takes [N, C] or [C]",
            ))
        }
        [_] => Dim::int(1),
        [rows, ..] => rows.clone(),
    };
    let total = dims.iter().map(|&d| d as i128).sum::<i128>();
    let total = i64::try_from(total).map_err(|_| invalid("inputdimensions sum overflows"))?;
    ctx.set_output(0, Some(DType::F32), vec![n, Dim::int(total)]);
    Ok(())
}

/// `ZipMap` (ai.onnx.ml 1): X `[N, C]` → a sequence of N maps from the C
/// class labels to the scores. nncost's value model has tensors and
/// sequences of tensors, not maps, so the output carries no dtype or
/// shape; the rule checks that the labels match X's columns. Pairing is
/// data movement: 0 FLOPs.
fn zip_map(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?;
    let labels = match (
        ctx.attr("classlabels_int64s"),
        ctx.attr("classlabels_strings"),
    ) {
        (Some(AttrValue::Ints(v)), None) => v.len(),
        (None, Some(AttrValue::Strings(v))) => v.len(),
        _ => {
            return Err(invalid(
                "exactly one of classlabels_int64s and classlabels_strings is required",
            ))
        }
    };
    let cols = match x.len() {
        1 | 2 => x[x.len() - 1].as_i64(),
        r => {
            return Err(invalid(format!(
                "ZipMap takes X of shape [N, C] or [C], got rank {r}"
            )))
        }
    };
    if cols.is_some_and(|c| c != labels as i64) {
        return Err(invalid(format!(
            "X has {} columns but {labels} class labels",
            cols.unwrap_or_default()
        )));
    }
    Ok(())
}

/// `DictVectorizer` (ai.onnx.ml 1): a map (string or int64 keys) to a
/// row with one column per vocabulary entry (`string_vocabulary` or
/// `int64_vocabulary`, exactly one given), each the map's value for that key
/// or 0. The width is the vocabulary's length, known from the attribute;
/// the shape is onnxruntime's `[1, V]` (one map is one sample; the spec's
/// prose calls Y 1-D, and onnx's reference implementation returns `[V]`).
/// The dtype is the map's value type: maps have no facts in nncost's value
/// model, so it is left to the model's declared output type. Looking keys
/// up is not arithmetic: 0 FLOPs.
fn dict_vectorizer(ctx: &mut NodeCtx) -> RuleResult {
    ctx.input(0)?;
    let v = match (ctx.attr("string_vocabulary"), ctx.attr("int64_vocabulary")) {
        (Some(AttrValue::Strings(v)), None) => v.len(),
        (None, Some(AttrValue::Ints(v))) => v.len(),
        _ => {
            return Err(invalid(
                "exactly one of string_vocabulary (strings) and int64_vocabulary (integers) is required",
            ))
        }
    };
    let v = i64::try_from(v).map_err(|_| invalid("the vocabulary is too long"))?;
    ctx.set_output(0, None, vec![Dim::int(1), Dim::int(v)]);
    Ok(())
}

/// `CastMap` (ai.onnx.ml 1): a map with int64 keys to a row of its values
/// in ascending key order, converted to `cast_to` (`TO_FLOAT` float,
/// `TO_INT64` int64, `TO_STRING` string; default `TO_FLOAT`). With
/// `map_form` `SPARSE` each value lands at its key's index and the row has
/// `max_map` columns (default 1), so the output `[1, max_map]` is known (the
/// `[1, n]` layout is onnxruntime's). With `DENSE` (the default) the row has
/// one column per map entry: that count is run-time data, so the width is
/// unknown and the node is data dependent. Conversions and placement are
/// not arithmetic: 0 FLOPs.
fn cast_map(ctx: &mut NodeCtx) -> RuleResult {
    ctx.input(0)?;
    let dtype = match ctx.attr_str("cast_to")?.unwrap_or("TO_FLOAT") {
        "TO_FLOAT" => DType::F32,
        "TO_INT64" => DType::I64,
        "TO_STRING" => DType::String,
        other => {
            return Err(invalid(format!(
                "attribute 'cast_to' must be TO_FLOAT, TO_INT64 or TO_STRING, got '{other}'"
            )))
        }
    };
    match ctx.attr_str("map_form")?.unwrap_or("DENSE") {
        "SPARSE" => {
            let max_map = ctx.attr_int("max_map", 1)?;
            if max_map < 1 {
                return Err(invalid(format!(
                    "attribute 'max_map' must be positive with map_form SPARSE, got {max_map}"
                )));
            }
            ctx.set_output(0, Some(dtype), vec![Dim::int(1), Dim::int(max_map)]);
            Ok(())
        }
        "DENSE" => {
            ctx.set_output(0, Some(dtype), vec![Dim::int(1), Dim::Unknown]);
            Err(OpError::DataDependent(
                "CastMap with map_form DENSE outputs one column per map entry: the width depends \
                 on the map (run-time data)"
                    .into(),
            ))
        }
        other => Err(invalid(format!(
            "attribute 'map_form' must be DENSE or SPARSE, got '{other}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::graph::{AttrValue, DType, Tensor, TensorData};
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;
    use crate::shape::Dim;

    fn ml(op: &str) -> NodeTest {
        NodeTest::new(op).domain("ai.onnx.ml").opset(5)
    }

    fn incomplete(r: &crate::ops::testing::Outcome, needle: &str) -> bool {
        matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains(needle))
    }

    fn floats(v: &[f32]) -> AttrValue {
        AttrValue::Floats(v.to_vec())
    }

    fn strings(v: &[&str]) -> AttrValue {
        AttrValue::Strings(v.iter().map(|s| Bytes::from(s.to_string())).collect())
    }

    /// Two trees. Tree 1: node 0 `x0 ≤ t` → node 1 or leaf 0; node 1 a
    /// BRANCH_MEMBER test against {1, 2, 3} (3 comparisons) → leaf 1 or 2.
    /// Tree 2: a lone leaf (node 2, both branches to leaf 3).
    /// Per sample: tree 1 path 1 + 3 = 4, + 1 aggregation; tree 2 0 + 1;
    /// AVERAGE divides 2 targets: 8; LOGISTIC 4·2 = 8: 16 per sample.
    fn two_trees(modes: &[u8], true_ids: &[i64]) -> NodeTest {
        ml("TreeEnsemble")
            .ints_attr("nodes_featureids", &[0, 1, 0])
            .ints_attr("nodes_truenodeids", true_ids)
            .ints_attr("nodes_trueleafs", &[0, 1, 1])
            .ints_attr("nodes_falsenodeids", &[0, 2, 3])
            .ints_attr("nodes_falseleafs", &[1, 1, 1])
            .attr(
                "nodes_modes",
                AttrValue::Tensor(Box::new(Tensor {
                    dtype: DType::U8,
                    dims: vec![3],
                    data: TensorData::Raw(Bytes::from(modes.to_vec())),
                })),
            )
            .attr(
                "membership_values",
                AttrValue::Tensor(Box::new(Tensor {
                    dtype: DType::F32,
                    dims: vec![4],
                    data: TensorData::Floats(vec![1.0, 2.0, 3.0, f64::NAN]),
                })),
            )
            .ints_attr("tree_roots", &[0, 2])
            .ints_attr("leaf_targetids", &[0, 1, 0, 1])
            .int("n_targets", 2)
            .int("aggregate_function", 0)
            .int("post_transform", 2)
    }

    #[test]
    fn tree_ensemble_counts_the_costliest_path() {
        let r = two_trees(&[0, 6, 0], &[1, 1, 3]).input(&[3, 2]).run();
        assert_eq!(r.shape(0), "3x2");
        assert_eq!((r.macs(), r.flops()), (0, 48));
        let s = two_trees(&[0, 6, 0], &[1, 1, 3])
            .input_sym(&["n", "2"])
            .run();
        assert_eq!(s.shape(0), "nx2");
        assert_eq!(s.flops_expr(), "16*n");
        let bad_mode = two_trees(&[0, 9, 0], &[1, 1, 3]).input(&[3, 2]).run();
        assert!(incomplete(&bad_mode, "not a mode"));
        // Node 0's true branch back to node 0.
        let cycle = two_trees(&[0, 6, 0], &[0, 1, 3]).input(&[3, 2]).run();
        assert!(incomplete(&cycle, "cycle"));
    }

    /// The legacy encoding. Tree 0: node 0 → (1 LEAF, 2); node 2 → (3 LEAF,
    /// 4 LEAF): 2 comparisons; tree 1: one LEAF. With one weight per leaf,
    /// per sample (2 + 1) + (0 + 1) = 4, + 1 base value = 5.
    fn legacy(op: &str, prefix: &str, weights_per_leaf: usize) -> NodeTest {
        let leaves: [(i64, i64); 4] = [(0, 1), (0, 3), (0, 4), (1, 0)];
        let mut trees = Vec::new();
        let mut nodes = Vec::new();
        let mut ids = Vec::new();
        for (t, n) in leaves {
            for k in 0..weights_per_leaf {
                trees.push(t);
                nodes.push(n);
                ids.push(k as i64);
            }
        }
        ml(op)
            .opset(3)
            .ints_attr("nodes_treeids", &[0, 0, 0, 0, 0, 1])
            .ints_attr("nodes_nodeids", &[0, 1, 2, 3, 4, 0])
            .ints_attr("nodes_featureids", &[0, 0, 1, 0, 0, 0])
            .ints_attr("nodes_truenodeids", &[1, 0, 3, 0, 0, 0])
            .ints_attr("nodes_falsenodeids", &[2, 0, 4, 0, 0, 0])
            .attr(
                "nodes_modes",
                strings(&["BRANCH_LEQ", "LEAF", "BRANCH_LT", "LEAF", "LEAF", "LEAF"]),
            )
            .ints_attr(&format!("{prefix}_treeids"), &trees)
            .ints_attr(&format!("{prefix}_nodeids"), &nodes)
            .ints_attr(&format!("{prefix}_ids"), &ids)
    }

    #[test]
    fn tree_ensemble_regressor_legacy() {
        let r = legacy("TreeEnsembleRegressor", "target", 1)
            .attr("base_values", floats(&[0.5]))
            .input_sym(&["n", "4"])
            .run();
        assert_eq!(r.shape(0), "nx1");
        assert_eq!(r.flops_expr(), "5*n");
        let missing = ml("TreeEnsembleRegressor")
            .ints_attr("nodes_treeids", &[0])
            .ints_attr("nodes_nodeids", &[0])
            .ints_attr("nodes_truenodeids", &[7])
            .ints_attr("nodes_falsenodeids", &[8])
            .attr("nodes_modes", strings(&["BRANCH_LEQ"]))
            .ints_attr("target_treeids", &[])
            .ints_attr("target_nodeids", &[])
            .input(&[2, 4])
            .run();
        assert!(incomplete(&missing, "does not exist"));
    }

    /// Classifier over tree 0 and 1 with 3 class weights per leaf: per
    /// sample (2 + 3) + (0 + 3) = 8, top of 3 classes 2, SOFTMAX 5·3 − 2 =
    /// 13: 23; 2 samples: 46.
    #[test]
    fn tree_ensemble_classifier_legacy() {
        let r = legacy("TreeEnsembleClassifier", "class", 3)
            .ints_attr("classlabels_int64s", &[0, 1, 2])
            .string("post_transform", "SOFTMAX")
            .input(&[2, 4])
            .run_outputs(2);
        assert_eq!(r.shape(0), "2");
        assert_eq!(r.shape(1), "2x3");
        assert_eq!(r.flops(), 46);
        let no_labels = legacy("TreeEnsembleClassifier", "class", 1)
            .input(&[2, 4])
            .run_outputs(2);
        assert!(incomplete(&no_labels, "classlabels"));
    }

    /// X [5, 3], 2 targets, intercepts: MACs 5·2·3 = 30, FLOPs 10·5 + 10 =
    /// 60; symbolic N: 6·n and 12·n.
    #[test]
    fn linear_regressor() {
        let run = |x: NodeTest| {
            x.attr("coefficients", floats(&[1.0; 6]))
                .attr("intercepts", floats(&[0.0, 1.0]))
                .int("targets", 2)
                .run()
        };
        let r = run(ml("LinearRegressor").opset(1).input(&[5, 3]));
        assert_eq!(r.shape(0), "5x2");
        assert_eq!((r.macs(), r.flops()), (30, 60));
        let s = run(ml("LinearRegressor").opset(1).input_sym(&["n", "3"]));
        assert_eq!(
            (s.macs_expr(), s.flops_expr()),
            ("6*n".into(), "12*n".into())
        );
        let bad = run(ml("LinearRegressor").opset(1).input(&[5, 4]));
        assert!(incomplete(&bad, "coefficients"));
    }

    /// Binary: 1 coefficient row of 3, labels [0, 1] → E = 2. Per row 5
    /// (dot) + 1 (intercept) + 1 (negation) + 1 (top of 2) + LOGISTIC 8 =
    /// 16; 4 rows: MACs 12, FLOPs 64. Three classes, no intercepts, 2
    /// rows: MACs 18, FLOPs 2·(15 + 2) = 34.
    #[test]
    fn linear_classifier() {
        let r = ml("LinearClassifier")
            .opset(1)
            .input(&[4, 3])
            .attr("coefficients", floats(&[1.0; 3]))
            .attr("intercepts", floats(&[0.5]))
            .ints_attr("classlabels_ints", &[0, 1])
            .string("post_transform", "LOGISTIC")
            .run_outputs(2);
        assert_eq!((r.shape(0), r.shape(1)), ("4".into(), "4x2".into()));
        assert_eq!((r.macs(), r.flops()), (12, 64));
        let m = ml("LinearClassifier")
            .opset(1)
            .input_sym(&["n", "3"])
            .attr("coefficients", floats(&[1.0; 9]))
            .attr("classlabels_strings", strings(&["a", "b", "c"]))
            .run_outputs(2);
        assert_eq!(m.shape(1), "nx3");
        assert_eq!(
            (m.macs_expr(), m.flops_expr()),
            ("9*n".into(), "17*n".into())
        );
        let bad = ml("LinearClassifier")
            .opset(1)
            .input(&[4, 3])
            .attr("coefficients", floats(&[1.0; 4]))
            .ints_attr("classlabels_ints", &[0, 1])
            .run_outputs(2);
        assert!(incomplete(&bad, "rows of F = 3"));
    }

    /// RBF regressor, 3 support vectors of 4 features, 2 samples: per
    /// sample MACs 3·4 + 3 = 15, FLOPs 3·(3·4 + 1) + 2·3 = 45.
    #[test]
    fn svm_regressor() {
        let run = |sv: usize| {
            ml("SVMRegressor")
                .opset(1)
                .input(&[2, 4])
                .int("n_supports", 3)
                .attr("support_vectors", floats(&vec![0.5; sv]))
                .attr("coefficients", floats(&[1.0; 3]))
                .attr("rho", floats(&[0.1]))
                .string("kernel_type", "RBF")
                .run()
        };
        let r = run(12);
        assert_eq!(r.shape(0), "2x1");
        assert_eq!((r.macs(), r.flops()), (30, 90));
        assert!(incomplete(&run(10), "support_vectors"));
    }

    /// SVC, 3 classes with 2, 1, 2 support vectors (V = 5), F = 4, linear
    /// kernel: MACs 5·4 + 2·5 = 30; FLOPs 5·7 + 2·10 + 3 votes + 2 (top) =
    /// 60; Z has the 3 pairwise scores. With prob_a/prob_b: + 10·3 = 90,
    /// Z has 3 class columns. Linear mode, 2 classes, coefficients [2, 4],
    /// symbolic n: MACs 8·n, FLOPs (2·8 + 1)·n.
    #[test]
    fn svm_classifier() {
        let svc_with = |per_class: &[i64]| {
            ml("SVMClassifier")
                .opset(1)
                .input(&[1, 4])
                .ints_attr("classlabels_ints", &[0, 1, 2])
                .ints_attr("vectors_per_class", per_class)
                .attr("support_vectors", floats(&[0.0; 20]))
                .attr("coefficients", floats(&[1.0; 10]))
                .attr("rho", floats(&[0.0; 3]))
        };
        let svc = || svc_with(&[2, 1, 2]);
        let r = svc().run_outputs(2);
        assert_eq!(r.shape(1), "1x3");
        assert_eq!((r.macs(), r.flops()), (30, 60));
        let p = svc()
            .attr("prob_a", floats(&[1.0; 3]))
            .attr("prob_b", floats(&[0.0; 3]))
            .run_outputs(2);
        assert_eq!(p.flops(), 90);
        let lin = ml("SVMClassifier")
            .opset(1)
            .input_sym(&["n", "4"])
            .ints_attr("classlabels_ints", &[0, 1])
            .attr("coefficients", floats(&[1.0; 8]))
            .attr("rho", floats(&[0.0]))
            .run_outputs(2);
        assert_eq!(lin.shape(1), "nx2");
        assert_eq!(
            (lin.macs_expr(), lin.flops_expr()),
            ("8*n".into(), "17*n".into())
        );
        let bad = svc_with(&[2, 3]).run_outputs(2);
        assert!(incomplete(&bad, "vectors_per_class"));
    }

    /// Scaler [n, 3]: 2 per element = 6·n. Normalizer [2, 5]: L2 2·16 =
    /// 32, MAX 2·15 = 30. Imputer [4, 3]: 12.
    #[test]
    fn scaler_normalizer_imputer() {
        let s = ml("Scaler")
            .opset(1)
            .input_sym(&["n", "3"])
            .attr("offset", floats(&[0.0, 1.0, 2.0]))
            .attr("scale", floats(&[2.0]))
            .run();
        assert_eq!((s.shape(0), s.flops_expr()), ("nx3".into(), "6*n".into()));
        let bad = ml("Scaler")
            .opset(1)
            .input(&[2, 3])
            .attr("offset", floats(&[0.0, 1.0]))
            .run();
        assert!(incomplete(&bad, "offset"));
        let norm = |n: &str| {
            ml("Normalizer")
                .opset(1)
                .input(&[2, 5])
                .string("norm", n)
                .run()
        };
        assert_eq!(norm("L2").flops(), 32);
        assert_eq!(norm("MAX").flops(), 30);
        assert!(incomplete(&norm("L3"), "norm"));
        let i = ml("Imputer")
            .opset(1)
            .input(&[4, 3])
            .attr("imputed_value_floats", floats(&[0.0]))
            .float("replaced_value_float", f32::NAN)
            .run();
        assert_eq!((i.shape(0), i.flops()), ("4x3".into(), 12));
        assert!(incomplete(
            &ml("Imputer").opset(1).input(&[4, 3]).run(),
            "imputed_value"
        ));
    }

    /// OneHotEncoder [n, 2] with 5 categories → [n, 2, 5]; CategoryMapper
    /// string → int64; FeatureVectorizer [n, 2] + [n, 3] → [n, 5]; ZipMap
    /// has no tensor output. All 0 FLOPs.
    #[test]
    fn lookups_and_layout() {
        let o = ml("OneHotEncoder")
            .opset(1)
            .input_sym(&["n", "2"])
            .ints_attr("cats_int64s", &[1, 2, 3, 4, 5])
            .run();
        assert_eq!((o.shape(0), o.flops()), ("nx2x5".into(), 0));
        assert!(incomplete(
            &ml("OneHotEncoder").opset(1).input(&[2]).run(),
            "cats_"
        ));
        let c = ml("CategoryMapper")
            .opset(1)
            .input_dims(vec![Dim::sym("n")], DType::String)
            .ints_attr("cats_int64s", &[1, 2])
            .attr("cats_strings", strings(&["a", "b"]))
            .run();
        assert_eq!(c.shape(0), "n");
        assert_eq!(c.node().outputs[0].dtype, Some(DType::I64));
        let bad = ml("CategoryMapper")
            .opset(1)
            .input_dims(vec![Dim::sym("n")], DType::String)
            .ints_attr("cats_int64s", &[1])
            .attr("cats_strings", strings(&["a", "b"]))
            .run();
        assert!(incomplete(&bad, "same length"));
        let f = ml("FeatureVectorizer")
            .opset(1)
            .input_sym(&["n", "2"])
            .input_sym(&["n", "3"])
            .ints_attr("inputdimensions", &[2, 3])
            .run();
        assert_eq!((f.shape(0), f.flops()), ("nx5".into(), 0));
        let bad = ml("FeatureVectorizer")
            .opset(1)
            .input_sym(&["n", "2"])
            .input_sym(&["n", "3"])
            .ints_attr("inputdimensions", &[5])
            .run();
        assert!(incomplete(&bad, "inputdimensions"));
        let z = ml("ZipMap")
            .opset(1)
            .input_sym(&["n", "3"])
            .ints_attr("classlabels_int64s", &[0, 1, 2])
            .run();
        assert_eq!((z.shape(0), z.flops()), ("?".into(), 0));
        let bad = ml("ZipMap")
            .opset(1)
            .input_sym(&["n", "3"])
            .ints_attr("classlabels_int64s", &[0, 1])
            .run();
        assert!(incomplete(&bad, "columns"));
    }

    /// A graph input of map type: nncost knows nothing of it (no dtype, no
    /// shape), as the ONNX reader leaves map-typed values.
    fn map_input(t: NodeTest) -> NodeTest {
        t.input_unknown()
    }

    /// DictVectorizer with vocabulary ["a", "c", "b", "z"] → [1, 4], 0
    /// FLOPs (the spec's example: {"a": 4, "c": 8} → [4, 8, 0, 0]); int64
    /// vocabulary of 3 → [1, 3]; no vocabulary, or both, is invalid.
    #[test]
    fn dict_vectorizer() {
        let d = map_input(ml("DictVectorizer").opset(1))
            .attr("string_vocabulary", strings(&["a", "c", "b", "z"]))
            .run();
        assert_eq!((d.shape(0), d.flops()), ("1x4".into(), 0));
        assert_eq!(d.status(), &NodeStatus::Counted);
        assert_eq!(d.node().outputs[0].dtype, None);
        let d = map_input(ml("DictVectorizer").opset(1))
            .ints_attr("int64_vocabulary", &[7, 8, 9])
            .run();
        assert_eq!(d.shape(0), "1x3");
        let none = map_input(ml("DictVectorizer").opset(1)).run();
        assert!(incomplete(&none, "vocabulary"));
        let both = map_input(ml("DictVectorizer").opset(1))
            .attr("string_vocabulary", strings(&["a"]))
            .ints_attr("int64_vocabulary", &[1])
            .run();
        assert!(incomplete(&both, "exactly one"));
        assert!(incomplete(
            &ml("DictVectorizer")
                .opset(1)
                .attr("string_vocabulary", strings(&["a"]))
                .run(),
            "missing"
        ));
    }

    /// CastMap SPARSE with max_map 5 → [1, 5] float (default TO_FLOAT); with
    /// TO_INT64 int64, TO_STRING string. DENSE (the default): one column per
    /// entry, unknown → [1, ?], data dependent. Bad attributes are invalid.
    #[test]
    fn cast_map() {
        let s = |t: NodeTest| t.string("map_form", "SPARSE").int("max_map", 5);
        let c = s(map_input(ml("CastMap").opset(1))).run();
        assert_eq!((c.shape(0), c.flops()), ("1x5".into(), 0));
        assert_eq!(c.node().outputs[0].dtype, Some(DType::F32));
        let c = s(map_input(ml("CastMap").opset(1)))
            .string("cast_to", "TO_INT64")
            .run();
        assert_eq!(c.node().outputs[0].dtype, Some(DType::I64));
        let c = s(map_input(ml("CastMap").opset(1)))
            .string("cast_to", "TO_STRING")
            .run();
        assert_eq!(c.node().outputs[0].dtype, Some(DType::String));
        let d = map_input(ml("CastMap").opset(1)).run();
        assert_eq!(d.shape(0), "1x?");
        assert!(incomplete(&d, "run-time data"));
        let bad = map_input(ml("CastMap").opset(1))
            .string("cast_to", "TO_DOUBLE")
            .run();
        assert!(incomplete(&bad, "cast_to"));
        let bad = map_input(ml("CastMap").opset(1))
            .string("map_form", "SPARSE")
            .int("max_map", 0)
            .run();
        assert!(incomplete(&bad, "max_map"));
        let bad = map_input(ml("CastMap").opset(1))
            .string("map_form", "PACKED")
            .run();
        assert!(incomplete(&bad, "map_form"));
    }
}
