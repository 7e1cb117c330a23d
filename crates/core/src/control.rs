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

use crate::analysis::{subgraph_report, AnalysisError, GraphRun};
use crate::cost::Cost;
use crate::graph::Node;
use crate::ops::{canonical_domain, NodeCtx, OpDef, OpError};
use crate::poly::Poly;
use crate::report::SubgraphReport;
use crate::shape::{Dim, Shape};
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
}

/// Runs a node that holds graph attributes.
pub(crate) fn run(mut c: Ctl<'_, '_>) -> Result<ControlOutcome, AnalysisError> {
    let result = match (canonical_domain(&c.node.domain), c.node.op_type.as_str()) {
        ("", "If") => run_if(&mut c),
        ("", "Loop") => run_loop(&mut c),
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

/// A node that is not control flow but holds bodies (say `SequenceMap`):
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
        None => then_run
            .outputs
            .iter()
            .zip(&else_run.outputs)
            .map(|(a, b)| merge(a, b))
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
                trip_symbol(c.name)
            }
            Dim::Known(p) => p.clone(),
            _ => trip_symbol(c.name),
        },
        _ => trip_symbol(c.name),
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
    let cost = match r.cost.checked_times(&trips) {
        Ok(cost) => cost,
        Err(o) => return Ok(Ok(failed(c, o.into(), Vec::new()))),
    };
    Ok(Ok(ControlOutcome {
        outcome: Ok(()),
        outputs,
        cost,
        subgraphs: vec![subgraph_report(c.attrs[k], r, Some(trips))],
    }))
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
        let mut slice = ValueFacts::new(f.dtype, None);
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
            let mut s = shape.clone();
            s.remove(axis);
            slice.shape = Some(s);
        }
        body_inputs.push(slice);
    }
    let length = length.unwrap_or_else(|| trip_symbol(c.name));
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
        let rank = f.shape.as_ref().map_or(0, Vec::len);
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
    let cost = match r.cost.checked_times(&length) {
        Ok(cost) => cost,
        Err(o) => return Ok(Ok(failed(c, o.into(), Vec::new()))),
    };
    Ok(Ok(ControlOutcome {
        outcome: Ok(()),
        outputs,
        cost,
        subgraphs: vec![subgraph_report(c.attrs[k], r, Some(length))],
    }))
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
    let batch = batch.unwrap_or_else(|| trip_symbol(&format!("{}_batch", c.name)));
    let length = length.unwrap_or_else(|| trip_symbol(c.name));
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
    let cost = match r.cost.checked_times(&runs) {
        Ok(cost) => cost,
        Err(o) => return Ok(Ok(failed(c, o.into(), Vec::new()))),
    };
    Ok(Ok(ControlOutcome {
        outcome: Ok(()),
        outputs,
        cost,
        subgraphs: vec![subgraph_report(c.attrs[k], r, Some(runs))],
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
        let mut s: Shape = s.clone();
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
        sequence: if same && a.sequence == b.sequence {
            a.sequence.clone()
        } else {
            None
        },
    }
}

/// The symbol standing for an unknown trip count: the node's name made an
/// identifier, then `_n` (`loop` → `loop_n`, `/model/Loop_3` →
/// `model_Loop_3_n`).
pub fn trip_symbol(node: &str) -> Poly {
    let mut s: String = node
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
        .collect();
    let trimmed = s.trim_matches('_').to_string();
    s = if trimmed.is_empty() {
        "loop".to_string()
    } else if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("loop_{trimmed}")
    } else {
        trimmed
    };
    Poly::symbol(&format!("{s}_n"))
}
