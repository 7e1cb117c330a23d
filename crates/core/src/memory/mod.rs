//! Memory: the bytes of every value, the bytes each node moves, and the
//! peak of live activation memory over an execution order, both the
//! file's and one the search finds to keep the peak low.
//!
//! The model of memory (written out in `docs/memory.md`):
//! - a value takes `⌈elements × bits / 8⌉` bytes (packed 4- and 2-bit
//!   types exact);
//! - weights and constants (initializers, `Constant` nodes, and what a node
//!   computes from constants alone, which a runtime folds at load time) are
//!   not activations: they are counted as parameter bytes, once;
//! - graph inputs are live from the start, graph outputs to the end; any
//!   other value from the step of the node that makes it to the step of
//!   its last reader (a control-flow node reads what its bodies read from
//!   outside);
//! - a view (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout) shares
//!   its input's storage, which lives until the view's last reader too;
//! - at a node's step its inputs and outputs are live at once, plus, for a
//!   control-flow node, the peak of its largest body.
//!
//! A runtime may do better (computing in place, fusing nodes so that their
//! intermediates never reach memory) or worse (alignment, allocator
//! caching, kernel workspaces): this is the memory the graph itself needs.

pub mod schedule;

use std::marker::PhantomData;

use crate::fxhash::{FxHashMap, FxHashSet, NameMap};
use crate::graph::DType;
use crate::poly::{Overflow, Poly};
use crate::report::{Access, DtypeShare, InputReport, NodeReport, Report, ValueReport};
use crate::shape::{numel, Dim};
use schedule::{Lists, Problem};

/// What the memory analysis is asked.
#[derive(Clone, Debug)]
pub struct MemoryOptions {
    /// Store the model's float tensors (float32, float64, float16,
    /// bfloat16: activations and weights) in this dtype instead, as a
    /// run in another precision would (`--dtype bf16`). Quantized and
    /// 8-bit-or-narrower float types keep theirs.
    pub float_dtype: Option<DType>,
    /// Work the order search may do (see [`schedule::least_peak_order`]).
    pub search_budget: usize,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            float_dtype: None,
            search_budget: schedule::DEFAULT_BUDGET,
        }
    }
}

/// The bytes a node reads and writes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Traffic {
    /// Activations read (each distinct input once).
    pub activations_read: Poly,
    /// Weights and constants read.
    pub weights_read: Poly,
    /// Outputs written.
    pub written: Poly,
    /// Whether every size was known; when not, the sums leave out the
    /// values of unknown size.
    pub complete: bool,
}

impl Traffic {
    /// Everything moved: reads and writes.
    pub fn total(&self) -> Result<Poly, Overflow> {
        self.activations_read
            .checked_add(&self.weights_read)?
            .checked_add(&self.written)
    }

    fn add(&mut self, other: &Traffic) -> Result<(), Overflow> {
        self.activations_read
            .checked_add_assign(&other.activations_read)?;
        self.weights_read.checked_add_assign(&other.weights_read)?;
        self.written.checked_add_assign(&other.written)?;
        self.complete &= other.complete;
        Ok(())
    }

    fn times(&self, runs: &Poly) -> Result<Traffic, Overflow> {
        Ok(Traffic {
            activations_read: self.activations_read.checked_mul(runs)?,
            weights_read: self.weights_read.checked_mul(runs)?,
            written: self.written.checked_mul(runs)?,
            complete: self.complete,
        })
    }
}

/// One top-level node's memory facts.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeMemory {
    /// New storage the node's outputs take (0 for a view; `None` when an
    /// output's size is unknown).
    pub output_bytes: Option<Poly>,
    /// Bytes moved; for a control-flow node, its bodies' traffic times
    /// their runs.
    pub traffic: Traffic,
    /// Whether the node computes from constants only (folded at load).
    pub folded: bool,
}

/// Live memory over one execution order.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The top-level nodes in the order run (indices into
    /// `Report::nodes`).
    pub order: Vec<usize>,
    /// Peak live activation bytes.
    pub peak: Poly,
    /// Where the peak is reached: the node (an index into
    /// `Report::nodes`, or `None` for the graph inputs before any node)
    /// and its live bytes. One entry when the sizes are numbers; with
    /// symbols, every step whose live bytes no other step's bound for all
    /// values of the symbols (the peak is their maximum).
    pub peak_at: Vec<(Option<usize>, Poly)>,
    /// Live bytes at each step of `order`, evaluated with every remaining
    /// symbol at 1 (for charts).
    pub live_at_one: Vec<f64>,
    /// For a searched order: whether no order has a lower peak (at the
    /// sizes searched with); always true for the file's order.
    pub proven_least: bool,
}

impl Schedule {
    /// With symbols, the step whose live bytes grow fastest with the
    /// sizes: the largest at every symbol = 2^20 (the peak for large
    /// sizes; the exact peak is [`Schedule::peak`]). With numbers, the one
    /// peak.
    pub fn peak_for_large_sizes(&self) -> Option<&(Option<usize>, Poly)> {
        let large = |p: &Poly| {
            p.substitute(&|_| Some(1 << 20))
                .ok()
                .and_then(|v| v.as_constant())
                .unwrap_or(i128::MAX)
        };
        self.peak_at.iter().max_by_key(|(_, p)| large(p))
    }
}

/// The memory of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryReport {
    /// The float dtype tensors were re-stored in, if asked.
    pub float_dtype: Option<DType>,
    /// Parameters by dtype, in the dtype they are stored in (after the
    /// `float_dtype` change).
    pub params_by_dtype: Vec<DtypeShare>,
    /// Bytes of all parameters.
    pub param_bytes: u64,
    /// Bytes of the buffers (BatchNormalization running statistics): held
    /// like weights, not trained.
    pub buffer_bytes: u64,
    /// Bytes of the graph inputs and outputs.
    pub input_bytes: Poly,
    pub output_bytes: Poly,
    /// Per top-level node, parallel to `Report::nodes`.
    pub nodes: Vec<NodeMemory>,
    /// The file's order.
    pub file_order: Schedule,
    /// An order the search found with a peak at most the file's.
    pub least_order: Schedule,
    /// Values whose size is unknown: not in any sum.
    pub unknown_values: Vec<String>,
}

impl MemoryReport {
    /// Total traffic over the top-level nodes.
    pub fn traffic(&self) -> Result<Traffic, Overflow> {
        let mut t = Traffic {
            complete: true,
            ..Traffic::default()
        };
        for n in &self.nodes {
            t.add(&n.traffic)?;
        }
        Ok(t)
    }
}

/// Bytes of `elements` stored as `dtype`: `⌈elements × bits / 8⌉`.
pub fn bytes_of(elements: &Poly, dtype: DType) -> Result<Option<Poly>, Overflow> {
    let bits = dtype.bits() as i128;
    if bits == 0 {
        return Ok(None);
    }
    if bits % 8 == 0 {
        return elements.checked_scale(bits / 8).map(Some);
    }
    elements.checked_scale(bits)?.ceil_div(8).map(Some)
}

/// The dtype a tensor is stored in under `float_dtype`.
fn stored_as(dtype: DType, float_dtype: Option<DType>) -> DType {
    match (dtype, float_dtype) {
        (DType::F32 | DType::F64 | DType::F16 | DType::BF16, Some(f)) => f,
        _ => dtype,
    }
}

/// Bytes of a value of this dtype and shape, when both are known.
fn value_bytes(
    dtype: Option<DType>,
    shape: Option<&[Dim]>,
    float_dtype: Option<DType>,
) -> Result<Option<Poly>, Overflow> {
    let (Some(dtype), Some(shape)) = (dtype, shape) else {
        return Ok(None);
    };
    match numel(shape)? {
        Some(n) => bytes_of(&n, stored_as(dtype, float_dtype)),
        None => Ok(None),
    }
}

/// Bytes of values, remembered by shape. The analysis gives equal shapes
/// one allocation, so a graph's values share a few; working out
/// `elements × bits / 8` as polynomials again for each of a million values
/// was a seventh of a `--memory` run. A shape is known by where its dims
/// lie: the report is borrowed for `'r`, so two live slices at one address
/// with one length are the same dims (empty ones all mean a scalar).
struct Sizer<'r> {
    float_dtype: Option<DType>,
    known: FxHashMap<(usize, usize, DType), Option<Poly>>,
    shapes: PhantomData<&'r [Dim]>,
}

impl<'r> Sizer<'r> {
    fn new(float_dtype: Option<DType>) -> Self {
        Sizer {
            float_dtype,
            known: FxHashMap::default(),
            shapes: PhantomData,
        }
    }

    /// [`value_bytes`] of a value of the report.
    fn bytes_of(&mut self, v: &'r ValueReport) -> Result<Option<Poly>, Overflow> {
        self.bytes(v.dtype, v.shape.as_deref())
    }

    fn bytes(
        &mut self,
        dtype: Option<DType>,
        shape: Option<&'r [Dim]>,
    ) -> Result<Option<Poly>, Overflow> {
        let (Some(dtype), Some(shape)) = (dtype, shape) else {
            return Ok(None);
        };
        let key = (shape.as_ptr() as usize, shape.len(), dtype);
        if let Some(bytes) = self.known.get(&key) {
            return Ok(bytes.clone());
        }
        let bytes = value_bytes(Some(dtype), Some(shape), self.float_dtype)?;
        self.known.insert(key, bytes.clone());
        Ok(bytes)
    }
}

/// One graph's buffers and nodes, as the live-memory problem sees them.
struct Buffers {
    problem: Problem,
    /// Bytes of each buffer.
    size: Vec<Poly>,
    /// Each node's workspace (its largest body's peak).
    workspace: Vec<Poly>,
    nodes: Vec<NodeMemory>,
    input_bytes: Poly,
    output_bytes: Poly,
    /// Values whose size is unknown.
    unknown: Vec<String>,
}

/// The buffers of a graph with these inputs, outputs and nodes (a body
/// has no inputs or outputs of its own here: what it reads from outside is
/// counted outside, and what nobody reads in it is freed when made).
fn buffers<'r>(
    inputs: &'r [ValueReport],
    outputs: &'r [ValueReport],
    report_nodes: &'r [NodeReport],
    sizer: &mut Sizer<'r>,
) -> Result<Buffers, Overflow> {
    let mut unknown: Vec<String> = Vec::new();
    let mut sized = |name: &str, b: Option<Poly>| -> Poly {
        b.unwrap_or_else(|| {
            unknown.push(name.to_string());
            Poly::ZERO
        })
    };

    // Buffers: graph inputs, then node outputs that are not views or
    // folded constants. `buffer_of` maps a value name to its buffer.
    // Sized for a buffer per input and per node (most nodes make one):
    // grown by doubling instead, a million nodes' lists were moved twenty
    // times, the old and the new copy both held at each move.
    let (nodes, buffers) = (report_nodes.len(), inputs.len() + report_nodes.len());
    let mut problem = Problem {
        reads: Lists::with_capacity(nodes),
        makes: Lists::with_capacity(nodes),
        after: Lists::with_capacity(nodes),
        initial: Vec::with_capacity(buffers),
        held: Vec::with_capacity(buffers),
    };
    let mut size: Vec<Poly> = Vec::with_capacity(buffers);
    let mut buffer_of: NameMap<&str, usize> = NameMap::default();
    buffer_of.reserve(buffers);
    let new_buffer = |problem: &mut Problem, size: &mut Vec<Poly>, bytes: Poly, initial| {
        problem.initial.push(initial);
        problem.held.push(false);
        size.push(bytes);
        size.len() - 1
    };
    let mut input_bytes = Poly::ZERO;
    for v in inputs {
        let b = sized(&v.name, sizer.bytes_of(v)?);
        input_bytes.checked_add_assign(&b)?;
        let id = new_buffer(&mut problem, &mut size, b, true);
        buffer_of.insert(&v.name, id);
    }

    let mut folded_values: FxHashSet<&str> = FxHashSet::default();
    let mut nodes: Vec<NodeMemory> = Vec::with_capacity(report_nodes.len());
    let mut workspace: Vec<Poly> = Vec::with_capacity(report_nodes.len());
    for n in report_nodes {
        let reads = reads_of(n);
        let mut read_buffers: Vec<usize> = reads
            .iter()
            .filter_map(|name| buffer_of.get(name).copied())
            .collect();
        read_buffers.sort_unstable();
        read_buffers.dedup();
        let folded = read_buffers.is_empty() && n.subgraphs.is_empty();
        let mut makes = Vec::new();
        let mut output_bytes = Some(Poly::ZERO);
        for (pos, out) in n.outputs.iter().enumerate() {
            let view_of = match (pos, n.access) {
                (0, Access::View) => n
                    .inputs
                    .first()
                    .and_then(|i| buffer_of.get(i.name.as_str())),
                _ => None,
            };
            if let Some(&b) = view_of {
                buffer_of.insert(&out.name, b);
                continue;
            }
            if folded {
                folded_values.insert(&out.name);
                continue;
            }
            let b = sizer.bytes_of(out)?;
            output_bytes = match (output_bytes, &b) {
                (Some(t), Some(b)) => Some(t.checked_add(b)?),
                _ => None,
            };
            let id = new_buffer(&mut problem, &mut size, sized(&out.name, b), false);
            buffer_of.insert(&out.name, id);
            makes.push(id);
        }
        problem.reads.push(&read_buffers);
        problem.makes.push(&makes);
        problem.after.push(&[]);
        workspace.push(body_workspace(n, sizer)?);
        // A folded node runs once, at load: no traffic per run. What it
        // computes is read as a weight.
        let traffic = if folded {
            Traffic {
                complete: true,
                ..Traffic::default()
            }
        } else {
            let weight = |i: &InputReport| i.constant || folded_values.contains(i.name.as_str());
            node_traffic(n, sizer, &weight)?
        };
        nodes.push(NodeMemory {
            output_bytes,
            traffic,
            folded,
        });
    }
    let mut output_bytes = Poly::ZERO;
    for v in outputs {
        if let Some(&b) = buffer_of.get(v.name.as_str()) {
            problem.held[b] = true;
        }
        if let Some(b) = sizer.bytes_of(v)? {
            output_bytes.checked_add_assign(&b)?;
        }
    }

    unknown.sort();
    unknown.dedup();
    Ok(Buffers {
        problem,
        size,
        workspace,
        nodes,
        input_bytes,
        output_bytes,
        unknown,
    })
}

/// The memory analysis of a report.
pub fn analyze_memory(report: &Report, options: &MemoryOptions) -> Result<MemoryReport, Overflow> {
    let fd = options.float_dtype;
    let Buffers {
        problem,
        size,
        workspace,
        nodes,
        input_bytes,
        output_bytes,
        unknown,
    } = buffers(
        &report.inputs,
        &report.outputs,
        &report.nodes,
        &mut Sizer::new(fd),
    )?;
    let file: Vec<usize> = (0..report.nodes.len()).collect();
    let file_order = schedule_of(&problem, &size, &workspace, file, true)?;
    let at_one: Vec<f64> = size.iter().map(Poly::at_one).collect();
    let ws_at_one: Vec<f64> = workspace.iter().map(Poly::at_one).collect();
    let found = schedule::least_peak_order(&problem, &at_one, &ws_at_one, options.search_budget);
    let file_peak = file_order.live_at_one.iter().copied().fold(0.0, f64::max);
    let least_order = if found.peak < file_peak {
        schedule_of(&problem, &size, &workspace, found.order, found.proven)?
    } else {
        Schedule {
            proven_least: found.proven,
            ..file_order.clone()
        }
    };

    let restored = |shares: &[DtypeShare]| -> Vec<DtypeShare> {
        let mut out: Vec<DtypeShare> = Vec::new();
        for s in shares {
            let dtype = stored_as(s.dtype, fd);
            let bytes = if dtype == s.dtype {
                s.bytes
            } else {
                (s.params as u128 * dtype.bits() as u128).div_ceil(8) as u64
            };
            crate::report::add_share(&mut out, dtype, s.params, bytes);
        }
        out
    };
    let params_by_dtype = restored(&report.totals.params_by_dtype);
    let buffer_bytes = restored(&report.totals.buffers_by_dtype)
        .iter()
        .map(|s| s.bytes)
        .sum();
    Ok(MemoryReport {
        float_dtype: fd,
        param_bytes: params_by_dtype.iter().map(|s| s.bytes).sum(),
        params_by_dtype,
        buffer_bytes,
        input_bytes,
        output_bytes,
        nodes,
        file_order,
        least_order,
        unknown_values: unknown,
    })
}

/// Most steps a peak is the maximum of: past them, the peak depends on the
/// symbols in too many ways to state (a detector's 90 data-dependent sizes
/// gave 542), and the analysis answers that it cannot represent it.
const MAX_PEAK_CANDIDATES: usize = 64;

/// Exact bound tests (polynomial subtractions) per step of the timeline,
/// on average, before pairs are left undecided.
const EXACT_TESTS_PER_STEP: usize = 16;

/// How many points a step's live bytes are sampled at (see [`sampled`]).
const SAMPLE_POINTS: usize = 4;

/// The polynomial's values with every symbol 1, every symbol 1,000, each
/// symbol a value of its own (from its name, 1 to 1,000), and every symbol
/// 10⁹ (a data-dependent size is unbounded: a constant does not bound
/// `16·NonZero`, however large it is next to small values); `None`
/// where a value is not a whole number that fits. A polynomial that bounds
/// another for every value of the symbols does at these points, so a
/// smaller value at any of them tells that it does not.
fn sampled(p: &Poly) -> [Option<i128>; SAMPLE_POINTS] {
    let at = |bind: &dyn Fn(&str) -> Option<i128>| p.substitute(bind).ok()?.as_constant();
    let own = |name: &str| {
        use std::hash::Hasher;
        let mut h = crate::fxhash::FxHasher::default();
        h.write(name.as_bytes());
        Some(i128::from(h.finish() % 1000) + 1)
    };
    [
        at(&|_| Some(1)),
        at(&|_| Some(1000)),
        at(&own),
        at(&|_| Some(1_000_000_000)),
    ]
}

/// The live bytes of `order` and their peak, exactly.
fn schedule_of(
    problem: &Problem,
    size: &[Poly],
    workspace: &[Poly],
    order: Vec<usize>,
    proven_least: bool,
) -> Result<Schedule, Overflow> {
    let steps = problem.timeline(size, workspace, &order)?;
    // Keep the steps no other bounds; the peak is their maximum. The exact
    // test subtracts polynomials; a step's values at a few points rule out
    // most pairs first in integer comparisons (a detector whose live bytes
    // depend on 90 data-dependent sizes had thousands of steps none of
    // which bounds another: minutes of subtractions). Only the kept steps'
    // values are held (128 bytes a step, for a million steps otherwise).
    type Samples = [Option<i128>; SAMPLE_POINTS];
    let might_bound = |a: &Samples, b: &Samples| {
        a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x >= y,
            _ => true,
        })
    };
    // Exact tests past this many are not made (a pair not known to bound
    // is kept: the peak is then a maximum with more arguments, never a
    // smaller one).
    let mut exact_tests = EXACT_TESTS_PER_STEP.saturating_mul(steps.len());
    let mut bounds = |(a, sa): (usize, &Samples), (b, sb): (usize, &Samples)| {
        if !might_bound(sa, sb) || exact_tests == 0 {
            return false;
        }
        exact_tests -= 1;
        steps[a].bounds(&steps[b])
    };
    // (node, step, the step's samples)
    let mut peak_at: Vec<(Option<usize>, usize, Samples)> = Vec::new();
    let mut samples: Samples = [None; SAMPLE_POINTS];
    for k in 0..steps.len() {
        // Live bytes often stay as they were from one step to the next.
        if k == 0 || steps[k] != steps[k - 1] {
            samples = sampled(&steps[k]);
        }
        if peak_at
            .iter()
            .any(|(_, p, sp)| bounds((*p, sp), (k, &samples)))
        {
            continue;
        }
        peak_at.retain(|(_, p, sp)| !bounds((k, &samples), (*p, sp)));
        let node = k.checked_sub(1).map(|i| order[i]);
        peak_at.push((node, k, samples));
        // A maximum of so many expressions is no answer (and the exact
        // tests grow with their square): the peak is not representable.
        if peak_at.len() > MAX_PEAK_CANDIDATES {
            return Err(Overflow);
        }
    }
    let peak_at: Vec<(Option<usize>, Poly)> = peak_at
        .into_iter()
        .map(|(node, k, _)| (node, steps[k].clone()))
        .collect();
    let peak = match peak_at.as_slice() {
        [] => Poly::ZERO,
        [(_, p)] => p.clone(),
        many => Poly::maximum_of(many.iter().map(|(_, p)| p.clone()).collect())?,
    };
    Ok(Schedule {
        live_at_one: steps.iter().map(Poly::at_one).collect(),
        order,
        peak,
        peak_at,
        proven_least,
    })
}

/// Names a node reads from outside: its inputs, and for a control-flow
/// node every name its bodies read that no body node makes.
fn reads_of(n: &NodeReport) -> Vec<&str> {
    let mut names: Vec<&str> = n
        .inputs
        .iter()
        .filter(|i| !i.name.is_empty() && !i.constant)
        .map(|i| i.name.as_str())
        .collect();
    if n.subgraphs.is_empty() {
        return names;
    }
    let mut made: std::collections::HashSet<&str> = Default::default();
    let mut stack: Vec<&NodeReport> = vec![n];
    while let Some(m) = stack.pop() {
        for s in &m.subgraphs {
            for b in &s.nodes {
                made.extend(b.outputs.iter().map(|o| o.name.as_str()));
                stack.push(b);
            }
        }
    }
    let mut stack: Vec<&NodeReport> = n.subgraphs.iter().flat_map(|s| &s.nodes).collect();
    while let Some(b) = stack.pop() {
        for i in &b.inputs {
            if !i.name.is_empty() && !i.constant && !made.contains(i.name.as_str()) {
                names.push(i.name.as_str());
            }
        }
        stack.extend(b.subgraphs.iter().flat_map(|s| &s.nodes));
    }
    names
}

/// The bytes a node moves (see [`Traffic`] and [`Access`]); for a
/// control-flow node, its bodies' nodes' traffic times the runs of each
/// body (the larger body when the count is a bound over both).
fn node_traffic<'r>(
    n: &'r NodeReport,
    sizer: &mut Sizer<'r>,
    weight: &dyn Fn(&InputReport) -> bool,
) -> Result<Traffic, Overflow> {
    if !n.subgraphs.is_empty() {
        let mut total = Traffic {
            complete: true,
            ..Traffic::default()
        };
        let mut unscaled: Option<Traffic> = None;
        for s in &n.subgraphs {
            let mut body = Traffic {
                complete: true,
                ..Traffic::default()
            };
            for b in &s.nodes {
                body.add(&node_traffic(b, sizer, &|i| i.constant)?)?;
            }
            match &s.runs {
                Some(r) => total.add(&body.times(r)?)?,
                None => {
                    unscaled = Some(match unscaled {
                        None => body,
                        Some(u) => Traffic {
                            activations_read: u
                                .activations_read
                                .termwise_max(&body.activations_read),
                            weights_read: u.weights_read.termwise_max(&body.weights_read),
                            written: u.written.termwise_max(&body.written),
                            complete: u.complete && body.complete,
                        },
                    })
                }
            }
        }
        if let Some(u) = unscaled {
            total.add(&u)?;
        }
        return Ok(total);
    }
    let mut t = Traffic {
        complete: true,
        ..Traffic::default()
    };
    let mut outputs = Poly::ZERO;
    let mut first_output: Option<Poly> = None;
    for (pos, o) in n.outputs.iter().enumerate() {
        match sizer.bytes_of(o)? {
            Some(b) => {
                if pos == 0 {
                    first_output = Some(b.clone());
                }
                if !(pos == 0 && n.access == Access::View) {
                    outputs.checked_add_assign(&b)?;
                }
            }
            None => t.complete = false,
        }
    }
    t.written = outputs;
    let mut seen: Vec<&str> = Vec::new();
    for (pos, i) in n.inputs.iter().enumerate() {
        if i.name.is_empty() || seen.contains(&i.name.as_str()) {
            continue;
        }
        seen.push(&i.name);
        let bytes = match (pos, n.access) {
            (0, Access::View | Access::Metadata) => Some(Poly::ZERO),
            (0, Access::Selects) => first_output.clone(),
            _ => sizer.bytes(i.dtype, i.shape.as_deref())?,
        };
        let Some(b) = bytes else {
            t.complete = false;
            continue;
        };
        let slot = if weight(i) {
            &mut t.weights_read
        } else {
            &mut t.activations_read
        };
        slot.checked_add_assign(&b)?;
    }
    Ok(t)
}

/// The extra memory a control-flow node needs while it runs: the peak of
/// its largest body (the body's own values; what it reads from outside is
/// counted there), in the body's order.
fn body_workspace<'r>(n: &'r NodeReport, sizer: &mut Sizer<'r>) -> Result<Poly, Overflow> {
    let mut ws = Poly::ZERO;
    for s in &n.subgraphs {
        let body = buffers(&[], &[], &s.nodes, sizer)?;
        let order = (0..s.nodes.len()).collect();
        let peak = schedule_of(&body.problem, &body.size, &body.workspace, order, true)?.peak;
        ws = ws.maximum(&peak)?;
    }
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Dim, SharedShape};

    fn value(dtype: DType, shape: &SharedShape) -> ValueReport {
        ValueReport {
            name: "v".into(),
            dtype: Some(dtype),
            shape: Some(shape.clone()),
            elements: None,
        }
    }

    fn sized<'r>(sizer: &mut Sizer<'r>, v: &'r ValueReport) -> String {
        sizer.bytes_of(v).unwrap().unwrap().to_string()
    }

    #[test]
    fn sizes_remembered_by_shape_are_each_values_own() {
        let batch = Dim::Known(Poly::symbol("batch"));
        let a: SharedShape = vec![batch.clone(), Dim::int(64)].into();
        let b: SharedShape = vec![batch.clone(), Dim::int(32)].into();
        let a_again: SharedShape = vec![batch, Dim::int(64)].into();
        let scalar: SharedShape = Vec::new().into();
        let values = [
            value(DType::F32, &a),
            value(DType::F32, &a),
            value(DType::F32, &b),
            value(DType::F32, &a_again),
            value(DType::F16, &a),
            value(DType::I4, &b),
            value(DType::I64, &scalar),
            value(DType::F32, &scalar),
        ];
        let unknown: SharedShape = vec![Dim::Unknown].into();
        let unknown = value(DType::F32, &unknown);
        let mut sizer = Sizer::new(None);
        let bytes: Vec<String> = values.iter().map(|v| sized(&mut sizer, v)).collect();
        assert_eq!(
            bytes,
            [
                "256*batch",
                "256*batch",
                "128*batch",
                "256*batch",
                "128*batch",
                "16*batch",
                "8",
                "4"
            ]
        );
        // One entry per allocation and dtype: `a` in float32 once.
        assert_eq!(sizer.known.len(), 7);
        // Re-stored as bfloat16, floats take 2 bytes an element and the
        // 4-bit and 64-bit integers keep theirs.
        let mut bf16 = Sizer::new(Some(DType::BF16));
        let bytes: Vec<String> = values.iter().map(|v| sized(&mut bf16, v)).collect();
        assert_eq!(
            bytes,
            [
                "128*batch",
                "128*batch",
                "64*batch",
                "128*batch",
                "128*batch",
                "16*batch",
                "8",
                "2"
            ]
        );
        // Unknown dims or no shape: no size, remembered or not.
        assert_eq!(bf16.bytes_of(&unknown), Ok(None));
        assert_eq!(bf16.bytes_of(&unknown), Ok(None));
        assert_eq!(bf16.bytes(Some(DType::F32), None), Ok(None));
    }
}
