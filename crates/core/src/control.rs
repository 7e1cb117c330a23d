//! Control flow: `If`, `Loop` and `Scan`, whose bodies are graphs analysed
//! by the engine ([`crate::analysis`]) with the enclosing graphs' values
//! visible by name.
//!
//! - `If`: both branches are analysed and shown. With a known condition
//!   only the taken branch counts; otherwise the larger one (FLOPs, then
//!   MACs, larger for every value of the symbols), or — when the branches'
//!   costs cross — the per-term maximum, an upper bound. Outputs are the
//!   taken branch's, or both branches' merged dimension by dimension.
//! - `Loop`: body cost × trip count `M` when `M` is known, else × a symbol
//!   named after the node (`loop_n` for a node `loop`). Loop-carried values
//!   enter the body with their initial facts; scan outputs gain a leading
//!   axis of the trip count.
//! - `Scan`: body cost × the length of the scanned axis of the first scan
//!   input (Scan-8, with its batch axis: × batch × length).
//! - `SequenceMap`: body cost × the number of elements of `input_sequence`
//!   when it is known, else × a symbol named after the node (`seqmap_n`).
//!   Elements of different shapes are analysed apart, each distinct one
//!   counted by its number of elements.

use std::cell::RefCell;

use crate::analysis::{subgraph_report, AnalysisError, GraphRun};
use crate::cost::Cost;
use crate::graph::{AttrValue, Node};
use crate::ops::{canonical_domain, NodeCtx, OpDef, OpError};
use crate::poly::Poly;
use crate::report::SubgraphReport;
use crate::shape::{Dim, Shape, SharedShape};
use crate::symbols::{DataSize, DataSymbols};
use crate::value::{ConstValue, ValueFacts};

/// Analyses body `k` (an index into the node's bodies) given its inputs'
/// facts, in order.
pub(crate) type Body<'b> =
    dyn FnMut(usize, Vec<ValueFacts>) -> Result<GraphRun, AnalysisError> + 'b;

/// What a node with bodies produced.
pub(crate) struct ControlOutcome {
    pub outcome: Result<(), OpError>,
    pub outputs: Vec<ValueFacts>,
    pub cost: Cost,
    pub subgraphs: Vec<SubgraphReport>,
}

/// What a node with bodies sees: the node, its inputs and its bodies.
pub(crate) struct Ctl<'a, 'b> {
    pub node: &'a Node,
    /// The node's display name (a path inside bodies).
    pub name: &'a str,
    pub opset: i64,
    pub def: Option<&'static OpDef>,
    /// Attribute name of each body, in the order `body` indexes them.
    pub attrs: Vec<&'a str>,
    pub inputs: Vec<Option<&'a ValueFacts>>,
    pub input_names: Vec<&'a str>,
    pub body: &'a mut Body<'b>,
    /// Where trip-count symbols are named.
    pub symbols: &'a RefCell<DataSymbols>,
    /// The node's output value names, by position.
    pub output_names: Vec<&'a str>,
}

/// Runs a node that holds graph attributes.
pub(crate) fn run(mut c: Ctl<'_, '_>) -> Result<ControlOutcome, AnalysisError> {
    let result = match (canonical_domain(&c.node.domain), c.node.op_type.as_str()) {
        ("", "If") => run_if(&mut c),
        ("", "Loop") => run_loop(&mut c),
        ("", "SequenceMap") => run_sequence_map(&mut c),
        ("", "Scan") if c.opset >= 9 => run_scan(&mut c),
        ("", "Scan") => run_scan8(&mut c),
        ("ai.onnx.preview", "FlexAttention") => run_flex_attention(&mut c),
        _ => return other(c),
    };
    match result? {
        Ok(done) => Ok(done),
        Err(e) => fallback(&mut c, e),
    }
}

/// A node that is not control flow but holds bodies (an operator of
/// another domain with a graph attribute):
/// its own rule counts, and its bodies are analysed for their parameters
/// and shown, not multiplied into the count.
fn other(c: Ctl<'_, '_>) -> Result<ControlOutcome, AnalysisError> {
    let mut ctx = NodeCtx::new(c.node, c.opset, c.inputs, c.input_names);
    let outcome = match c.def {
        Some(def) => (def.rule)(&mut ctx),
        None => Err(OpError::Invalid(String::new())),
    };
    let mut subgraphs = Vec::with_capacity(c.attrs.len());
    for (k, attr) in c.attrs.iter().enumerate() {
        let r = (c.body)(k, Vec::new())?;
        subgraphs.push(subgraph_report(attr, r, None));
    }
    Ok(ControlOutcome {
        outcome,
        outputs: std::mem::take(&mut ctx.outputs),
        cost: ctx.take_cost(),
        subgraphs,
    })
}

/// `FlexAttention`: its rule counts the attention core; each of its
/// `score_mod` and `prob_mod` bodies runs once on the `[B, H_q, L, S]` score
/// tensor, so it is analysed with that input and its count added once.
fn run_flex_attention(c: &mut Ctl<'_, '_>) -> Step {
    for attr in &c.attrs {
        if *attr != "score_mod" && *attr != "prob_mod" {
            return Ok(Err(OpError::Invalid(format!(
                "FlexAttention has an unexpected graph attribute '{attr}'"
            ))));
        }
    }
    let mut ctx = NodeCtx::new(c.node, c.opset, c.inputs.clone(), c.input_names.clone());
    let Some(def) = c.def else {
        return Ok(Err(OpError::Invalid(String::new())));
    };
    if let Err(e) = (def.rule)(&mut ctx) {
        return Ok(Err(e));
    }
    let scores = match crate::ops::attention::flex_scores(&ctx) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let mut cost = ctx.take_cost();
    let mut subgraphs = Vec::with_capacity(c.attrs.len());
    let mut problem = None;
    for k in 0..c.attrs.len() {
        let r = (c.body)(k, vec![scores.clone()])?;
        if r.outputs.len() != 1 {
            problem = Some(OpError::Invalid(format!(
                "FlexAttention's {} has {} outputs; it must have one",
                c.attrs[k],
                r.outputs.len()
            )));
        }
        match cost.checked_add(&r.cost) {
            Ok(sum) => cost = sum,
            Err(o) => problem = Some(o.into()),
        }
        subgraphs.push(subgraph_report(c.attrs[k], r, Some(Poly::constant(1))));
    }
    if let Some(e) = problem {
        return Ok(Ok(failed(c, e, subgraphs)));
    }
    Ok(Ok(ControlOutcome {
        outcome: Ok(()),
        outputs: std::mem::take(&mut ctx.outputs),
        cost,
        subgraphs,
    }))
}

/// An inconsistent control-flow node: its bodies are still analysed (for
/// their parameters and unsupported operators), but nothing is counted.
fn fallback(c: &mut Ctl<'_, '_>, e: OpError) -> Result<ControlOutcome, AnalysisError> {
    if matches!(e, OpError::Overflow(_)) {
        return Ok(failed(c, e, Vec::new()));
    }
    let mut subgraphs = Vec::with_capacity(c.attrs.len());
    for (k, attr) in c.attrs.iter().enumerate() {
        let r = (c.body)(k, Vec::new())?;
        subgraphs.push(subgraph_report(attr, r, None));
    }
    Ok(ControlOutcome {
        outcome: Err(e),
        outputs: vec![ValueFacts::default(); c.node.outputs.len()],
        cost: Cost::ZERO,
        subgraphs,
    })
}

/// A node that failed after its bodies were analysed: they are shown,
/// nothing is counted.
fn failed(c: &Ctl<'_, '_>, e: OpError, subgraphs: Vec<SubgraphReport>) -> ControlOutcome {
    ControlOutcome {
        outcome: Err(e),
        outputs: vec![ValueFacts::default(); c.node.outputs.len()],
        cost: Cost::ZERO,
        subgraphs,
    }
}

type Step = Result<Result<ControlOutcome, OpError>, AnalysisError>;

fn body_index(c: &Ctl<'_, '_>, attr: &str) -> Result<usize, OpError> {
    let mut found = c.attrs.iter().enumerate().filter(|(_, a)| **a == attr);
    match (found.next(), found.next()) {
        (Some((k, _)), None) => Ok(k),
        _ => Err(OpError::Invalid(format!(
            "{} needs exactly one graph attribute '{attr}'",
            c.node.op_type
        ))),
    }
}

fn run_if(c: &mut Ctl<'_, '_>) -> Step {
    let (t, e) = match (body_index(c, "then_branch"), body_index(c, "else_branch")) {
        (Ok(t), Ok(e)) if c.attrs.len() == 2 => (t, e),
        (Err(err), _) | (_, Err(err)) => return Ok(Err(err)),
        _ => {
            return Ok(Err(OpError::Invalid(
                "If has graph attributes other than its branches".into(),
            )))
        }
    };
    let cond = c
        .inputs
        .first()
        .copied()
        .flatten()
        .and_then(|f| f.value.as_ref())
        .and_then(ConstValue::to_i64s)
        .filter(|v| v.len() == 1)
        .map(|v| v[0] != 0);
    let then_run = (c.body)(t, Vec::new())?;
    let else_run = (c.body)(e, Vec::new())?;
    let n_out = c.node.outputs.len();
    if then_run.outputs.len() != n_out || else_run.outputs.len() != n_out {
        let err = OpError::Invalid(format!(
            "If has {n_out} outputs but its branches {} and {}",
            then_run.outputs.len(),
            else_run.outputs.len()
        ));
        let subs = vec![
            subgraph_report(c.attrs[t], then_run, None),
            subgraph_report(c.attrs[e], else_run, None),
        ];
        return Ok(Ok(failed(c, err, subs)));
    }
    let one = Some(Poly::constant(1));
    let zero = Some(Poly::ZERO);
    let pick_then = match cond {
        Some(taken) => Some(taken),
        None => {
            if then_run.cost.dominates(&else_run.cost) {
                Some(true)
            } else if else_run.cost.dominates(&then_run.cost) {
                Some(false)
            } else {
                None
            }
        }
    };
    let (cost, then_runs, else_runs) = match pick_then {
        Some(true) => (then_run.cost.clone(), one, zero),
        Some(false) => (else_run.cost.clone(), zero, one),
        None => (then_run.cost.termwise_max(&else_run.cost), None, None),
    };
    let outputs = match cond {
        Some(true) => then_run.outputs.clone(),
        Some(false) => else_run.outputs.clone(),
        // Which branch runs depends on data: where the branches' sizes
        // differ, the output's size is a data symbol of the node, at most
        // the larger of the two.
        None => then_run
            .outputs
            .iter()
            .zip(&else_run.outputs)
            .enumerate()
            .map(|(pos, (a, b))| {
                let mut f = merge(a, b);
                if let (Some(s), Some(x), Some(y)) = (&mut f.shape, &a.shape, &b.shape) {
                    for (axis, d) in s.make_mut().iter_mut().enumerate() {
                        if let (Dim::Unknown, Some(p), Some(q)) =
                            (&d, x[axis].poly(), y[axis].poly())
                        {
                            *d = branch_symbol(c, pos, axis, p.maximum(q).ok());
                        }
                    }
                }
                f
            })
            .collect(),
    };
    let mut subgraphs = vec![
        subgraph_report(c.attrs[t], then_run, then_runs),
        subgraph_report(c.attrs[e], else_run, else_runs),
    ];
    subgraphs.sort_by_key(|s| s.attribute != "then_branch");
    Ok(Ok(ControlOutcome {
        outcome: Ok(()),
        outputs,
        cost,
        subgraphs,
    }))
}

fn run_loop(c: &mut Ctl<'_, '_>) -> Step {
    let k = match body_index(c, "body") {
        Ok(k) => k,
        Err(e) => return Ok(Err(e)),
    };
    if c.inputs.len() < 2 {
        return Ok(Err(OpError::Invalid(
            "Loop needs its inputs M and cond (each may be empty)".into(),
        )));
    }
    let carried = c.inputs.len() - 2;
    if c.node.outputs.len() < carried {
        return Ok(Err(OpError::Invalid(format!(
            "Loop has {carried} loop-carried inputs but {} outputs",
            c.node.outputs.len()
        ))));
    }
    let trips = match c.inputs[0].and_then(|f| f.value.as_ref()) {
        Some(ConstValue::Ints(v)) if v.len() == 1 => match &v[0] {
            // PyTorch exports a `while` loop with M = INT64_MAX: no bound.
            Dim::Known(p) if p.as_i64().is_some_and(|m| m < 0 || m == i64::MAX) => {
                trip_symbol(c, "n")
            }
            Dim::Known(p) => p.clone(),
            _ => trip_symbol(c, "n"),
        },
        _ => trip_symbol(c, "n"),
    };
    let mut body_inputs = vec![
        ValueFacts::new(Some(crate::graph::DType::I64), Some(Vec::new())),
        ValueFacts::new(Some(crate::graph::DType::Bool), Some(Vec::new())),
    ];
    let initial: Vec<ValueFacts> = c.inputs[2..]
        .iter()
        .map(|f| f.map_or_else(ValueFacts::default, changing))
        .collect();
    body_inputs.extend(initial.iter().cloned());
    let r = (c.body)(k, body_inputs)?;
    if r.outputs.len() != 1 + c.node.outputs.len() {
        let err = OpError::Invalid(format!(
            "Loop's body has {} outputs; the node's {} outputs need {}",
            r.outputs.len(),
            c.node.outputs.len(),
            1 + c.node.outputs.len()
        ));
        let sub = subgraph_report(c.attrs[k], r, None);
        return Ok(Ok(failed(c, err, vec![sub])));
    }
    let mut outputs: Vec<ValueFacts> = initial
        .iter()
        .zip(&r.outputs[1..])
        .map(|(a, b)| merge(a, b))
        .collect();
    for f in &r.outputs[1 + carried..] {
        outputs.push(stacked(f, 0, &trips));
    }
    if !holds_repeaters(c.node) {
        let grown = carried_growth(c, k, &trips)?;
        for (o, g) in outputs[..carried].iter_mut().zip(grown) {
            if let (Some(shape), Some(g)) = (&mut o.shape, g) {
                for (d, gd) in shape.make_mut().iter_mut().zip(g) {
                    if *d == Dim::Unknown {
                        *d = gd;
                    }
                }
            }
        }
    }
    if let Some(last) = unroll_carried(c, k, &trips)? {
        outputs[..carried].clone_from_slice(&last);
    }
    Ok(Ok(repeated(c, k, r, outputs, trips)))
}

/// The outcome of a node whose body `k` (analysed as `r`) runs `runs`
/// times: the body's cost times `runs` (a failure past the count range).
fn repeated(
    c: &Ctl<'_, '_>,
    k: usize,
    r: GraphRun,
    outputs: Vec<ValueFacts>,
    runs: Poly,
) -> ControlOutcome {
    match r.cost.checked_times(&runs) {
        Ok(cost) => ControlOutcome {
            outcome: Ok(()),
            outputs,
            cost,
            subgraphs: vec![subgraph_report(c.attrs[k], r, Some(runs))],
        },
        Err(o) => failed(c, o.into(), Vec::new()),
    }
}

/// The shapes of loop-carried tensors after `trips` iterations when each
/// iteration changes a dim by the same amount (torchvision's Mask R-CNN
/// concatenates one mask per detection onto a `[0, H, W]` tensor): the
/// body runs once more with every carried dim a placeholder symbol `x`; an
/// output dim `x + δ`, δ free of placeholders, ends at `initial + trips·δ`
/// (`x` itself: unchanged). Any other dim stays unknown (`None` per axis
/// is `Dim::Unknown`). Only the shapes: the cost is the body's analysed
/// once, times the trip count, as for every loop.
fn carried_growth(
    c: &mut Ctl<'_, '_>,
    k: usize,
    trips: &Poly,
) -> Result<Vec<Option<Shape>>, AnalysisError> {
    const MARK: &str = "__carried";
    let placeholder = |i: usize, axis: usize| Poly::symbol(&format!("{MARK}{i}_{axis}"));
    let initial: Vec<Option<&ValueFacts>> = c.inputs[2..].to_vec();
    let mut inputs = vec![
        ValueFacts::new(Some(crate::graph::DType::I64), Some(Vec::new())),
        ValueFacts::new(Some(crate::graph::DType::Bool), Some(Vec::new())),
    ];
    for (i, f) in initial.iter().enumerate() {
        inputs.push(match f {
            Some(f) if f.sequence.is_none() => ValueFacts::new(
                f.dtype,
                f.shape.as_ref().map(|s| {
                    (0..s.len())
                        .map(|axis| Dim::Known(placeholder(i, axis)))
                        .collect::<SharedShape>()
                }),
            ),
            _ => ValueFacts::default(),
        });
    }
    let r = (c.body)(k, inputs)?;
    let grown = initial
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let start = (*f)?.shape.as_ref()?;
            let end = r.outputs.get(1 + i)?.shape.as_ref()?;
            if end.len() != start.len() {
                return None;
            }
            let dims = start
                .iter()
                .zip(end)
                .enumerate()
                .map(|(axis, (s, e))| {
                    let delta = e.poly()?.checked_sub(&placeholder(i, axis)).ok()?;
                    if delta.symbols().iter().any(|s| s.starts_with(MARK)) {
                        return None;
                    }
                    s.poly()?.checked_add(&trips.checked_mul(&delta).ok()?).ok()
                })
                .map(|p| p.map_or(Dim::Unknown, Dim::Known))
                .collect();
            Some(dims)
        })
        .collect();
    Ok(grown)
}

/// Most iterations [`unroll_carried`] follows.
const MAX_UNROLL: i64 = 64;

/// The loop-carried values after the last iteration, found by running the
/// body once per iteration with each iteration's facts (its number, and
/// the carried values the one before produced), when that is what decides
/// them: a loop-carried SEQUENCE of known elements (`SequenceInsert` into a
/// sequence that starts empty) grows by an element per iteration, which
/// one analysis on the carried values' type cannot tell. Done only when
/// the trip count is a known constant of at most [`MAX_UNROLL`], the
/// initial condition is absent or known true, and every iteration but the
/// last says it goes on (its `cond` output known true); else `None`. Only
/// the outputs change: the cost stays the body's (analysed on the carried
/// values' type) times the trip count.
///
/// A body holding a `Loop` or `SequenceMap` (at any depth) is never
/// unrolled: nested repetition would multiply (64 runs per level), and a
/// hostile file could nest 32 levels. So only innermost repeaters repeat,
/// each at most 64 extra runs of a body whose own bodies (`If`, `Scan`) run
/// once per run: the analysis stays linear in the file.
fn unroll_carried(
    c: &mut Ctl<'_, '_>,
    k: usize,
    trips: &Poly,
) -> Result<Option<Vec<ValueFacts>>, AnalysisError> {
    let Some(n) = trips.as_i64().filter(|n| (0..=MAX_UNROLL).contains(n)) else {
        return Ok(None);
    };
    if holds_repeaters(c.node) {
        return Ok(None);
    }
    let mut carried: Vec<ValueFacts> = c.inputs[2..]
        .iter()
        .map(|f| f.cloned().unwrap_or_default())
        .collect();
    if !carried.iter().any(|f| f.sequence.is_some()) {
        return Ok(None);
    }
    let known_true = |f: Option<&ValueFacts>| {
        f.and_then(|f| f.value.as_ref())
            .and_then(ConstValue::to_i64s)
            .is_some_and(|v| v.len() == 1 && v[0] != 0)
    };
    let cond_given = c.inputs[1].is_some();
    if cond_given && !known_true(c.inputs[1]) {
        return Ok(None);
    }
    let scalar = |dtype, v: i64| ValueFacts {
        value: Some(ConstValue::Ints(vec![Dim::int(v)])),
        ..ValueFacts::new(Some(dtype), Some(Vec::new()))
    };
    for i in 0..n {
        let mut inputs = vec![
            scalar(crate::graph::DType::I64, i),
            scalar(crate::graph::DType::Bool, 1),
        ];
        inputs.extend(carried.iter().cloned());
        let r = (c.body)(k, inputs)?;
        if r.outputs.len() < 1 + carried.len() {
            return Ok(None);
        }
        // Without a condition the body's `cond` output is ignored.
        if cond_given && i + 1 < n && !known_true(r.outputs.first()) {
            return Ok(None);
        }
        carried = r.outputs[1..1 + carried.len()].to_vec();
    }
    Ok(Some(carried))
}

/// Whether a body of `node`, at any depth, holds a node that runs its own
/// body several times per analysis (`Loop`, `SequenceMap`). The depth is
/// bounded by the nesting limit the plan enforces.
fn holds_repeaters(node: &Node) -> bool {
    let repeats = |n: &Node| {
        canonical_domain(&n.domain).is_empty()
            && matches!(n.op_type.as_str(), "Loop" | "SequenceMap")
    };
    node.attributes.iter().any(|a| {
        let graphs: &[crate::graph::Graph] = match &a.value {
            AttrValue::Graph(g) => std::slice::from_ref(g.as_ref()),
            AttrValue::Graphs(gs) => gs,
            _ => &[],
        };
        graphs
            .iter()
            .flat_map(|g| &g.nodes)
            .any(|n| repeats(n) || holds_repeaters(n))
    })
}

fn run_scan(c: &mut Ctl<'_, '_>) -> Step {
    let k = match body_index(c, "body") {
        Ok(k) => k,
        Err(e) => return Ok(Err(e)),
    };
    let n_scan = match c.node.attr("num_scan_inputs") {
        Some(crate::graph::AttrValue::Int(m)) if *m >= 1 && (*m as usize) <= c.inputs.len() => {
            *m as usize
        }
        _ => {
            return Ok(Err(OpError::Invalid(
                "Scan needs num_scan_inputs between 1 and its number of inputs".into(),
            )))
        }
    };
    let n_state = c.inputs.len() - n_scan;
    let n_out = c.node.outputs.len();
    if n_out < n_state {
        return Ok(Err(OpError::Invalid(format!(
            "Scan has {n_state} state inputs but {n_out} outputs"
        ))));
    }
    let ints = |name: &str, n: usize| -> Result<Vec<i64>, OpError> {
        match c.node.attr(name) {
            None => Ok(vec![0; n]),
            Some(crate::graph::AttrValue::Ints(v)) if v.len() == n => Ok(v.clone()),
            Some(_) => Err(OpError::Invalid(format!(
                "attribute '{name}' should list {n} axes"
            ))),
        }
    };
    let (in_axes, out_axes) = match (
        ints("scan_input_axes", n_scan),
        ints("scan_output_axes", n_out - n_state),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
    };
    let mut body_inputs: Vec<ValueFacts> = c.inputs[..n_state]
        .iter()
        .map(|f| f.map_or_else(ValueFacts::default, changing))
        .collect();
    let initial = body_inputs.clone();
    let mut length: Option<Poly> = None;
    for (j, f) in c.inputs[n_state..].iter().enumerate() {
        let Some(f) = f else {
            return Ok(Err(OpError::MissingInput(n_state + j)));
        };
        let mut slice = ValueFacts::new(f.dtype, None::<SharedShape>);
        if let Some(shape) = &f.shape {
            let Some(axis) = normalize(in_axes[j], shape.len()) else {
                return Ok(Err(OpError::Invalid(format!(
                    "scan_input_axes[{j}] = {} is out of range for rank {}",
                    in_axes[j],
                    shape.len()
                ))));
            };
            if length.is_none() {
                length = shape[axis].poly().cloned();
            }
            let mut s = shape.to_vec();
            s.remove(axis);
            slice.shape = Some(s.into());
        }
        body_inputs.push(slice);
    }
    let length = length.unwrap_or_else(|| trip_symbol(c, "n"));
    let r = (c.body)(k, body_inputs)?;
    if r.outputs.len() != n_out {
        let err = OpError::Invalid(format!(
            "Scan's body has {} outputs, the node {n_out}",
            r.outputs.len()
        ));
        let sub = subgraph_report(c.attrs[k], r, None);
        return Ok(Ok(failed(c, err, vec![sub])));
    }
    let mut outputs: Vec<ValueFacts> = initial
        .iter()
        .zip(&r.outputs)
        .map(|(a, b)| merge(a, b))
        .collect();
    for (j, f) in r.outputs[n_state..].iter().enumerate() {
        let rank = f.shape.as_ref().map_or(0, |s| s.len());
        match normalize(out_axes[j], rank + 1) {
            Some(axis) => outputs.push(stacked(f, axis, &length)),
            None => {
                let err = OpError::Invalid(format!(
                    "scan_output_axes[{j}] = {} is out of range",
                    out_axes[j]
                ));
                let sub = subgraph_report(c.attrs[k], r, None);
                return Ok(Ok(failed(c, err, vec![sub])));
            }
        }
    }
    Ok(Ok(repeated(c, k, r, outputs, length)))
}

/// Scan-8: inputs `sequence_lens` (optional), then states and scan inputs,
/// all with a leading batch axis; scan inputs are scanned along axis 1.
/// The body runs once per sequence step of every batch entry.
fn run_scan8(c: &mut Ctl<'_, '_>) -> Step {
    let k = match body_index(c, "body") {
        Ok(k) => k,
        Err(e) => return Ok(Err(e)),
    };
    let n_in = c.inputs.len().saturating_sub(1);
    let n_scan = match c.node.attr("num_scan_inputs") {
        Some(crate::graph::AttrValue::Int(m)) if *m >= 1 && (*m as usize) <= n_in => *m as usize,
        _ => {
            return Ok(Err(OpError::Invalid(
                "Scan needs num_scan_inputs between 1 and its number of inputs".into(),
            )))
        }
    };
    let n_state = n_in - n_scan;
    let n_out = c.node.outputs.len();
    if n_out < n_state {
        return Ok(Err(OpError::Invalid(format!(
            "Scan has {n_state} state inputs but {n_out} outputs"
        ))));
    }
    // Drops the first `n` axes of an input's shape.
    let inner = |f: &ValueFacts, n: usize| {
        let shape = f
            .shape
            .as_ref()
            .and_then(|s| (s.len() >= n).then(|| s[n..].to_vec()));
        ValueFacts::new(f.dtype, shape)
    };
    let mut body_inputs = Vec::with_capacity(n_in);
    let mut batch: Option<Poly> = None;
    let mut length: Option<Poly> = None;
    for (j, f) in c.inputs[1..].iter().enumerate() {
        let Some(f) = f else {
            return Ok(Err(OpError::MissingInput(1 + j)));
        };
        let scanned = j >= n_state;
        if let Some(shape) = &f.shape {
            if shape.len() < 1 + scanned as usize {
                return Ok(Err(OpError::Invalid(format!(
                    "input {} of Scan-8 lacks its batch{} axis",
                    1 + j,
                    if scanned { " and sequence" } else { "" }
                ))));
            }
            if batch.is_none() {
                batch = shape[0].poly().cloned();
            }
            if scanned && length.is_none() {
                length = shape[1].poly().cloned();
            }
        }
        body_inputs.push(inner(f, 1 + scanned as usize));
    }
    let initial: Vec<ValueFacts> = body_inputs[..n_state].to_vec();
    let batch = batch.unwrap_or_else(|| trip_symbol(c, "batch_n"));
    let length = length.unwrap_or_else(|| trip_symbol(c, "n"));
    let r = (c.body)(k, body_inputs)?;
    if r.outputs.len() != n_out {
        let err = OpError::Invalid(format!(
            "Scan's body has {} outputs, the node {n_out}",
            r.outputs.len()
        ));
        let sub = subgraph_report(c.attrs[k], r, None);
        return Ok(Ok(failed(c, err, vec![sub])));
    }
    let mut outputs: Vec<ValueFacts> = initial
        .iter()
        .zip(&r.outputs)
        .map(|(a, b)| stacked(&merge(a, b), 0, &batch))
        .collect();
    for f in &r.outputs[n_state..] {
        outputs.push(stacked(&stacked(f, 0, &length), 0, &batch));
    }
    let runs = match batch.checked_mul(&length) {
        Ok(n) => n,
        Err(o) => return Ok(Ok(failed(c, o.into(), Vec::new()))),
    };
    Ok(Ok(repeated(c, k, r, outputs, runs)))
}

/// Most distinct element shapes a `SequenceMap` body is analysed for; past
/// it, the body runs once on the facts all elements share.
const MAX_SEQUENCE_MAP_VARIANTS: usize = 16;

/// `SequenceMap(input_sequence, additional_inputs…)`: `body` runs once per
/// element of `input_sequence`. An additional input whose elements are
/// known is a sequence, iterated in lockstep (it must have as many
/// elements); any other is passed whole to every run. (A sequence of
/// unknown length has the facts of its elements, so it and a tensor reach
/// the body alike.) Each output is the sequence of one body output.
///
/// With a known length `n` the body is analysed once per distinct tuple of
/// element facts and counted by how many elements have it: cost
/// `Σ body(facts) × count`, `body × n` when every element is alike; each
/// variant is shown as a `body` with its number of runs. With an unknown
/// length the body runs on the elements' common facts, × a symbol named
/// after the node (`seqmap_n` for a node `seqmap`).
fn run_sequence_map(c: &mut Ctl<'_, '_>) -> Step {
    let k = match body_index(c, "body") {
        Ok(k) => k,
        Err(e) => return Ok(Err(e)),
    };
    if c.attrs.len() != 1 {
        return Ok(Err(OpError::Invalid(
            "SequenceMap has graph attributes other than 'body'".into(),
        )));
    }
    let (body_in, body_out) = match c.node.attr("body") {
        Some(crate::graph::AttrValue::Graph(g)) => (g.inputs.len(), g.outputs.len()),
        _ => {
            return Ok(Err(OpError::Invalid(
                "SequenceMap's attribute 'body' should be one graph".into(),
            )))
        }
    };
    let n_in = c.inputs.len();
    let n_out = c.node.outputs.len();
    if n_in == 0 {
        return Ok(Err(OpError::MissingInput(0)));
    }
    if body_in != n_in || body_out != n_out {
        return Ok(Err(OpError::Invalid(format!(
            "SequenceMap has {n_in} inputs and {n_out} outputs but its body {body_in} and \
             {body_out}; they must match"
        ))));
    }
    // Per input: its elements when known, else what every run sees.
    let mut feeds: Vec<Result<&[ValueFacts], ValueFacts>> = Vec::with_capacity(n_in);
    let mut length: Option<usize> = None;
    for (j, f) in c.inputs.iter().enumerate() {
        let Some(f) = f else {
            return Ok(Err(OpError::MissingInput(j)));
        };
        match f.sequence.as_deref() {
            Some(elements) => {
                match length {
                    Some(n) if n != elements.len() => {
                        return Ok(Err(OpError::Invalid(format!(
                            "SequenceMap's sequences differ in length: input {j} has {} \
                             elements, the ones before it {n}",
                            elements.len()
                        ))))
                    }
                    _ => length = Some(elements.len()),
                }
                feeds.push(Ok(elements));
            }
            // input_sequence is a sequence: its elements' values are not known.
            None if j == 0 => feeds.push(Err(changing(f))),
            None => feeds.push(Err(ValueFacts {
                sequence: None,
                pattern: None,
                ..(*f).clone()
            })),
        }
    }
    // What each run sees when the elements are not told apart: a known
    // sequence's common facts.
    let common = |j: usize| -> ValueFacts {
        match &feeds[j] {
            Ok(elements) => match elements.split_first() {
                Some((first, rest)) => rest.iter().fold(changing(first), |a, b| merge(&a, b)),
                None => changing(c.inputs[j].unwrap_or(&ValueFacts::default())),
            },
            Err(whole) => whole.clone(),
        }
    };
    // Distinct tuples of body inputs, how many runs each, and each run's.
    let mut variants: Vec<(Vec<ValueFacts>, i128)> = Vec::new();
    let mut run_variant: Vec<usize> = Vec::new();
    if let Some(n) = length.filter(|&n| n > 0) {
        for i in 0..n {
            let tuple: Vec<ValueFacts> = feeds
                .iter()
                .map(|f| match f {
                    Ok(elements) => elements[i].clone(),
                    Err(whole) => whole.clone(),
                })
                .collect();
            match variants.iter().position(|(t, _)| *t == tuple) {
                Some(v) => {
                    variants[v].1 += 1;
                    run_variant.push(v);
                }
                None => {
                    run_variant.push(variants.len());
                    variants.push((tuple, 1));
                }
            }
        }
        // Past the limit, or when the body holds bodies (nested variants
        // would multiply, as for Loop's unrolling): one run on the facts
        // the elements share.
        if variants.len() > MAX_SEQUENCE_MAP_VARIANTS
            || (variants.len() > 1 && holds_repeaters(c.node))
        {
            variants = vec![((0..n_in).map(common).collect(), n as i128)];
            run_variant = vec![0; n];
        }
    }
    let mut counts: Vec<Poly> = variants.iter().map(|(_, m)| Poly::constant(*m)).collect();
    if variants.is_empty() {
        // Unknown length, or an empty sequence: one analysis, on the
        // elements' type, run `seqmap_n` or 0 times.
        variants.push(((0..n_in).map(common).collect(), 0));
        counts.push(match length {
            Some(_) => Poly::ZERO,
            None => trip_symbol(c, "n"),
        });
    }
    let mut cost = Cost::ZERO;
    let mut subgraphs = Vec::with_capacity(variants.len());
    let mut results: Vec<Vec<ValueFacts>> = Vec::with_capacity(variants.len());
    let mut problem: Option<OpError> = None;
    for ((tuple, _), runs) in variants.into_iter().zip(counts) {
        let r = (c.body)(k, tuple)?;
        if problem.is_none() {
            match r
                .cost
                .checked_times(&runs)
                .and_then(|m| cost.checked_add(&m))
            {
                Ok(sum) => cost = sum,
                Err(o) => problem = Some(o.into()),
            }
        }
        results.push(r.outputs.clone());
        subgraphs.push(subgraph_report(c.attrs[k], r, Some(runs)));
    }
    if let Some(e) = problem {
        return Ok(Ok(failed(c, e, subgraphs)));
    }
    if results.iter().any(|o| o.len() != n_out) {
        let err = OpError::Invalid(format!(
            "SequenceMap's body does not have the node's {n_out} outputs"
        ));
        return Ok(Ok(failed(c, err, subgraphs)));
    }
    let outputs = (0..n_out)
        .map(|j| {
            let element_type = |f: &ValueFacts| ValueFacts::new(f.dtype, f.shape.clone());
            match length {
                Some(n) if n > 0 => {
                    let elements: Vec<ValueFacts> =
                        run_variant.iter().map(|&v| results[v][j].clone()).collect();
                    let shared = elements[1..]
                        .iter()
                        .fold(element_type(&elements[0]), |a, b| merge(&a, b));
                    ValueFacts {
                        sequence: Some(elements.into()),
                        ..element_type(&shared)
                    }
                }
                Some(_) => ValueFacts {
                    sequence: Some(Box::default()),
                    ..element_type(&results[0][j])
                },
                None => element_type(&results[0][j]),
            }
        })
        .collect();
    Ok(Ok(ControlOutcome {
        outcome: Ok(()),
        outputs,
        cost,
        subgraphs,
    }))
}

/// An axis in `0..rank`, from a possibly negative one.
fn normalize(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// A loop-carried value as the body sees it: its dtype and shape, but not
/// its elements, which may change from one iteration to the next.
fn changing(f: &ValueFacts) -> ValueFacts {
    ValueFacts::new(f.dtype, f.shape.clone())
}

/// A per-iteration output stacked along `axis` over `n` iterations.
fn stacked(f: &ValueFacts, axis: usize, n: &Poly) -> ValueFacts {
    let shape = f.shape.as_ref().map(|s| {
        let mut s: Shape = s.to_vec();
        s.insert(axis.min(s.len()), Dim::Known(n.clone()));
        s
    });
    ValueFacts::new(f.dtype, shape)
}

/// Facts true of both `a` and `b`: what agrees, unknown where they differ.
fn merge(a: &ValueFacts, b: &ValueFacts) -> ValueFacts {
    let dtype = match (a.dtype, b.dtype) {
        (Some(x), Some(y)) if x != y => None,
        (x, y) => x.or(y),
    };
    let shape = match (&a.shape, &b.shape) {
        (Some(x), Some(y)) if x.len() == y.len() => Some(
            x.iter()
                .zip(y)
                .map(|(p, q)| if p == q { p.clone() } else { Dim::Unknown })
                .collect(),
        ),
        _ => None,
    };
    let same = a.shape == b.shape && a.dtype == b.dtype;
    ValueFacts {
        dtype,
        shape,
        value: if same && a.value == b.value {
            a.value.clone()
        } else {
            None
        },
        // Sequences of the same known length: element by element.
        sequence: match (&a.sequence, &b.sequence) {
            (Some(x), Some(y)) if x.len() == y.len() && a.dtype == b.dtype => {
                Some(x.iter().zip(y).map(|(p, q)| merge(p, q)).collect())
            }
            _ => None,
        },
        pattern: if a.pattern == b.pattern {
            a.pattern.clone()
        } else {
            None
        },
    }
}

/// The size of axis `axis` of output `pos` of an If whose branch depends on
/// data (key `o<pos>_<axis>`).
fn branch_symbol(c: &Ctl<'_, '_>, pos: usize, axis: usize, bound: Option<Poly>) -> Dim {
    let key = format!("o{pos}_{axis}");
    Dim::Known(c.symbols.borrow_mut().size(
        c.name,
        &c.node.op_type,
        c.output_names.get(pos).copied().unwrap_or(""),
        DataSize {
            key: &key,
            output: pos,
            axis,
            upper_bound: bound,
            meaning: "a size that depends on which branch runs",
        },
    ))
}

/// The symbol standing for an unknown trip count: a data symbol of the
/// node (see [`crate::symbols`]) with key `n` (`loop` → `loop_n`,
/// `/model/Loop_3` → `model_Loop_3_n`; a Scan's unknown batch `…_batch_n`).
fn trip_symbol(c: &Ctl<'_, '_>, key: &str) -> Poly {
    let name = c.symbols.borrow_mut().intern(
        c.name,
        &c.node.op_type,
        "",
        DataSize {
            key,
            output: 0,
            axis: 0,
            upper_bound: None,
            meaning: "a trip count (how many times the body runs)",
        },
    );
    Poly::from_atom(crate::poly::Atom::Sym(name))
}

#[cfg(test)]
mod tests {
    use crate::analysis::tests::{gattr, int_attr, G};
    use crate::graph::{DType, Graph};
    use crate::poly::Poly;
    use crate::report::{NodeReport, NodeStatus, Report};
    use crate::shape::{format_shape, shape_of, Dim};

    fn c(p: Option<&Poly>) -> Option<i128> {
        p.and_then(Poly::as_constant)
    }

    fn node<'r>(r: &'r Report, op: &str) -> &'r NodeReport {
        r.nodes.iter().find(|n| n.op_type == op).expect("node")
    }

    fn shape(n: &NodeReport, i: usize) -> String {
        n.outputs[i]
            .shape
            .as_ref()
            .map_or("?".into(), |s| format_shape(s))
    }

    /// SequenceMap's body: an element e times the tensor w it is given
    /// whole, `e · w`.
    fn matmul_body() -> Graph {
        G::new()
            .typed_input("e", DType::F32, None)
            .typed_input("w", DType::F32, None)
            .node("MatMul", "mm", &["e", "w"], &["y"])
            .output("y")
            .graph()
    }

    /// x split along axis 0 (`split` given, or chunks of 1 with the axis
    /// kept), each element times W (8×16) in SequenceMap `seqmap`, then
    /// the results concatenated.
    fn split_map(x: Vec<Dim>, split: Option<&[i64]>) -> G {
        let g = G::new().input("x", x).weight("W", &[8, 16]);
        let (g, split_in) = match split {
            Some(s) => (g.ints("split", DType::I64, &[s.len() as i64], s), "split"),
            None => (g, ""),
        };
        g.with_attrs(
            "SplitToSequence",
            "split",
            &["x", split_in],
            &["seq"],
            Vec::new(),
        )
        .with_attrs(
            "SequenceMap",
            "seqmap",
            &["seq", "W"],
            &["ys"],
            vec![gattr("body", matmul_body())],
        )
        .with_attrs(
            "ConcatFromSequence",
            "cat",
            &["ys"],
            &["z"],
            vec![int_attr("axis", 0)],
        )
        .output("z")
    }

    /// A Loop (M = 3, no condition) that inserts a tensor of `i + 1`
    /// zeros into a sequence that starts empty, as ONNX's
    /// `test_loop13_seq` does with slices of growing length.
    fn growing_sequence_loop(m: i64) -> G {
        let body = G::new()
            .typed_input("i", DType::I64, Some(Vec::new()))
            .typed_input("cond_in", DType::Bool, Some(Vec::new()))
            .typed_input("seq_in", DType::F32, None)
            .ints("one", DType::I64, &[], &[1])
            .ints("axes", DType::I64, &[1], &[0])
            .node("Identity", "keep", &["cond_in"], &["cond_out"])
            .node("Add", "next", &["i", "one"], &["n"])
            .node("Unsqueeze", "unsq", &["n", "axes"], &["len"])
            .node("ConstantOfShape", "zeros", &["len"], &["z"])
            .node("SequenceInsert", "insert", &["seq_in", "z"], &["seq_out"])
            .output("cond_out")
            .output("seq_out")
            .graph();
        G::new()
            .ints("M", DType::I64, &[], &[m])
            .with_attrs(
                "SequenceEmpty",
                "empty",
                &[],
                &["seq0"],
                vec![int_attr("dtype", 1)],
            )
            .with_attrs(
                "Loop",
                "loop",
                &["M", "", "seq0"],
                &["seq"],
                vec![gattr("body", body)],
            )
            .output("seq")
    }

    #[test]
    fn loop_carried_sequences_grow_by_iteration() {
        let r = growing_sequence_loop(3).run().unwrap();
        let out = &r.outputs[0];
        let elements: Vec<String> = out
            .elements
            .as_ref()
            .expect("known elements")
            .iter()
            .map(|e| e.shape.as_ref().map_or("?".into(), |s| format_shape(s)))
            .collect();
        assert_eq!(elements, ["1", "2", "3"]);
        assert_eq!(out.elements.as_ref().unwrap()[2].name, "seq[2]");
        // The element type: float, rank 1, its length differs.
        assert_eq!(
            out.shape.as_ref().map(|s| format_shape(s)),
            Some("?".into())
        );
        // The body's report is its analysis on the carried type, run 3 times.
        assert_eq!(node(&r, "Loop").subgraphs[0].runs, Some(Poly::constant(3)));
        // Zero iterations: the initial, empty sequence.
        let r = growing_sequence_loop(0).run().unwrap();
        assert_eq!(r.outputs[0].elements.as_ref().map(|e| e.len()), Some(0));
        // More than MAX_UNROLL iterations: not followed.
        let r = growing_sequence_loop(super::MAX_UNROLL + 1).run().unwrap();
        assert_eq!(r.outputs[0].elements, None);
    }

    /// Only innermost loops unroll: a Loop whose body holds a Loop does
    /// not (nested unrolling would multiply, 64 runs per level), the inner
    /// one may; an If in the body does not stop it.
    #[test]
    fn loops_holding_repeaters_do_not_unroll() {
        let inner = growing_sequence_loop(3).graph();
        let plain = inner
            .nodes
            .iter()
            .find(|n| n.op_type == "Loop")
            .expect("the loop")
            .clone();
        assert!(!super::holds_repeaters(&plain));
        let outer = G::new()
            .with_attrs("Loop", "outer", &["M", ""], &[], vec![gattr("body", inner)])
            .graph();
        assert!(super::holds_repeaters(&outer.nodes[0]));
        let with_if = G::new()
            .with_attrs(
                "If",
                "branch",
                &["c"],
                &[],
                vec![
                    gattr("then_branch", G::new().graph()),
                    gattr("else_branch", G::new().graph()),
                ],
            )
            .graph();
        let looped = G::new()
            .with_attrs("Loop", "l", &["M", ""], &[], vec![gattr("body", with_if)])
            .graph();
        assert!(!super::holds_repeaters(&looped.nodes[0]));
    }

    #[test]
    fn if_merges_sequences_of_equal_length_element_by_element() {
        // Branches of unknown condition: a sequence of one 5-vector each,
        // with different values: still one 5-vector.
        let branch = |v: &[i64]| {
            G::new()
                .ints("x", DType::I64, &[5], v)
                .node("SequenceConstruct", "make", &["x"], &["s"])
                .output("s")
                .graph()
        };
        let r = G::new()
            .typed_input("cond", DType::Bool, Some(Vec::new()))
            .with_attrs(
                "If",
                "if",
                &["cond"],
                &["res"],
                vec![
                    gattr("then_branch", branch(&[1, 2, 3, 4, 5])),
                    gattr("else_branch", branch(&[5, 4, 3, 2, 1])),
                ],
            )
            .output("res")
            .run()
            .unwrap();
        let elements = r.outputs[0].elements.as_ref().expect("known elements");
        assert_eq!(elements.len(), 1);
        assert_eq!(
            elements[0].shape.as_ref().map(|s| format_shape(s)),
            Some("5".into())
        );
    }

    #[test]
    fn sequence_map_multiplies_its_body_by_the_sequence_length() {
        // x (6×8) in three elements of 2×8: each run is 2×8 · 8×16,
        // 2·16·8 = 256 MACs and 2·16·(2·8 − 1) = 480 FLOPs. Three runs:
        // 768 MACs, 1,440 FLOPs.
        let r = split_map(shape_of(&[6, 8]), Some(&[2, 2, 2]))
            .run()
            .unwrap();
        let n = node(&r, "SequenceMap");
        assert_eq!(n.status, NodeStatus::Counted);
        assert_eq!((c(n.macs()), c(n.flops())), (Some(3 * 256), Some(3 * 480)));
        assert_eq!(n.subgraphs.len(), 1);
        let body = &n.subgraphs[0];
        assert_eq!(body.attribute, "body");
        assert_eq!(body.runs, Some(Poly::constant(3)));
        assert_eq!(
            (body.cost.macs.as_constant(), body.cost.flops.as_constant()),
            (Some(256), Some(480))
        );
        assert_eq!(body.nodes[0].name, "seqmap/body/mm");
        // W (128 weights) is read by the node, whole, once.
        assert_eq!((n.params, r.totals.params), (128, 128));
        // A sequence of three 2×16 elements: concatenated, 6×16.
        assert_eq!(shape(n, 0), "2x16");
        assert_eq!(shape(node(&r, "ConcatFromSequence"), 0), "6x16");
        assert_eq!(r.totals.cost.macs.as_constant(), Some(768));
    }

    #[test]
    fn sequence_map_of_unequal_elements_counts_each_by_its_own_body() {
        // Elements 2×8 and 3×8 (split [2, 3]): 2·128 + 3·128 = 640 MACs,
        // (2 + 3)·16·15 = 1,200 FLOPs; each shape is a body run once.
        let r = split_map(shape_of(&[5, 8]), Some(&[2, 3])).run().unwrap();
        let n = node(&r, "SequenceMap");
        assert_eq!((c(n.macs()), c(n.flops())), (Some(640), Some(1200)));
        let runs: Vec<_> = n.subgraphs.iter().map(|s| s.runs.clone()).collect();
        assert_eq!(runs, [Some(Poly::constant(1)), Some(Poly::constant(1))]);
        let macs: Vec<_> = n
            .subgraphs
            .iter()
            .map(|s| s.cost.macs.as_constant())
            .collect();
        assert_eq!(macs, [Some(256), Some(384)]);
        // Elements 2×16 and 3×16: the sequence's type is ?×16, and the
        // concatenation is exact.
        assert_eq!(shape(n, 0), "?x16");
        assert_eq!(shape(node(&r, "ConcatFromSequence"), 0), "5x16");
        assert_eq!(r.totals.params, 128);
    }

    #[test]
    fn sequence_map_of_unknown_length_is_a_polynomial_in_a_symbol() {
        // Chunks of 1 along a symbolic axis: how many is not known; each
        // is 1×8 · 8×16, 128 MACs and 16·15 = 240 FLOPs, × seqmap_n.
        let r = split_map(vec![Dim::sym("n"), Dim::int(8)], None)
            .run()
            .unwrap();
        let n = node(&r, "SequenceMap");
        let trips = Poly::symbol("seqmap_n");
        assert_eq!(n.macs().cloned(), Some(trips.checked_scale(128).unwrap()));
        assert_eq!(n.flops().cloned(), Some(trips.checked_scale(240).unwrap()));
        assert_eq!(n.subgraphs[0].runs, Some(trips));
        assert_eq!(shape(n, 0), "1x16");
        assert_eq!(r.free_symbols(), ["seqmap_n"]);
    }

    #[test]
    fn sequence_map_iterates_sequences_in_lockstep() {
        // Two sequences of three 4-vectors added elementwise: 3 × 4 FLOPs;
        // a third input, a 4-vector, multiplied in whole: 3 × 4 more.
        let body = G::new()
            .typed_input("a", DType::F32, None)
            .typed_input("b", DType::F32, None)
            .typed_input("s", DType::F32, None)
            .node("Add", "add", &["a", "b"], &["t"])
            .node("Mul", "mul", &["t", "s"], &["u"])
            .output("u")
            .output("t")
            .graph();
        let model = |b_split: &[i64]| {
            G::new()
                .input("x", shape_of(&[3, 4]))
                .input("y", shape_of(&[b_split.iter().sum(), 4]))
                .input("s", shape_of(&[4]))
                .with_attrs("SplitToSequence", "sa", &["x"], &["xs"], Vec::new())
                .ints("split", DType::I64, &[b_split.len() as i64], b_split)
                .with_attrs(
                    "SplitToSequence",
                    "sb",
                    &["y", "split"],
                    &["ys"],
                    Vec::new(),
                )
                .with_attrs(
                    "SequenceMap",
                    "seqmap",
                    &["xs", "ys", "s"],
                    &["us", "ts"],
                    vec![gattr("body", body.clone())],
                )
                .run()
                .unwrap()
        };
        let r = model(&[1, 1, 1]);
        let n = node(&r, "SequenceMap");
        assert_eq!((c(n.macs()), c(n.flops())), (Some(0), Some(3 * 8)));
        assert_eq!((shape(n, 0), shape(n, 1)), ("1x4".into(), "1x4".into()));
        // A second sequence of a different length is inconsistent.
        let r = model(&[1, 2]);
        assert!(
            matches!(&node(&r, "SequenceMap").status, NodeStatus::Incomplete { reason: m, .. } if m.contains("differ in length")),
            "{:?}",
            node(&r, "SequenceMap").status
        );
    }

    #[test]
    fn sequence_map_of_an_empty_sequence_costs_nothing() {
        let r = G::new()
            .weight("W", &[8, 16])
            .with_attrs("SequenceEmpty", "empty", &[], &["seq"], Vec::new())
            .with_attrs(
                "SequenceMap",
                "seqmap",
                &["seq", "W"],
                &["ys"],
                vec![gattr("body", matmul_body())],
            )
            .run()
            .unwrap();
        let n = node(&r, "SequenceMap");
        assert_eq!(n.status, NodeStatus::Counted);
        assert_eq!((c(n.macs()), c(n.flops())), (Some(0), Some(0)));
        assert_eq!(n.subgraphs[0].runs, Some(Poly::ZERO));
    }

    #[test]
    fn sequence_map_without_its_body_or_with_the_wrong_arity_is_incomplete() {
        let incomplete = |r: &Report| match &node(r, "SequenceMap").status {
            NodeStatus::Incomplete { reason: m, .. } => m.clone(),
            other => panic!("expected incomplete, got {other:?}"),
        };
        let base = || {
            G::new()
                .input("x", shape_of(&[6, 8]))
                .weight("W", &[8, 16])
                .with_attrs("SplitToSequence", "split", &["x"], &["seq"], Vec::new())
        };
        // No body: the node has no graph attribute.
        let r = base()
            .node("SequenceMap", "seqmap", &["seq", "W"], &["ys"])
            .run()
            .unwrap();
        assert!(
            incomplete(&r).contains("graph attributes"),
            "{}",
            incomplete(&r)
        );
        // A body of one input for a node of two.
        let one_input = G::new()
            .typed_input("e", DType::F32, None)
            .node("Relu", "relu", &["e"], &["y"])
            .output("y")
            .graph();
        let r = base()
            .with_attrs(
                "SequenceMap",
                "seqmap",
                &["seq", "W"],
                &["ys"],
                vec![gattr("body", one_input)],
            )
            .run()
            .unwrap();
        assert!(incomplete(&r).contains("must match"), "{}", incomplete(&r));
        // Its weights and nodes are still shown.
        assert_eq!(node(&r, "SequenceMap").subgraphs.len(), 1);
        // A body of two outputs for a node of one.
        let r = base()
            .with_attrs(
                "SequenceMap",
                "seqmap",
                &["seq", "W"],
                &["ys"],
                vec![gattr("body", {
                    let mut g = matmul_body();
                    g.outputs.push(g.outputs[0]);
                    g
                })],
            )
            .run()
            .unwrap();
        assert!(incomplete(&r).contains("must match"), "{}", incomplete(&r));
        // No input at all.
        let r = G::new()
            .with_attrs(
                "SequenceMap",
                "seqmap",
                &[],
                &["ys"],
                vec![gattr("body", matmul_body())],
            )
            .run()
            .unwrap();
        assert!(incomplete(&r).contains("input 0"), "{}", incomplete(&r));
        assert!(r.totals.cost.macs.is_zero());
    }
}
