//! The roofline: the least time each node can take on a device, from its
//! FLOPs and the bytes it moves. A lower bound, never a measurement: a
//! node takes at least `max(FLOPs / peak, integer ops / int8 peak, bytes /
//! bandwidth)`, and the model at least the sum over its nodes (nodes run
//! one after another; a runtime that fuses them moves fewer bytes).

use crate::hardware::{HardwareProfile, Precision};
use crate::memory::MemoryReport;
use crate::report::Report;

/// Which limit a node's time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Compute,
    Memory,
}

impl Bound {
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Compute => "compute",
            Bound::Memory => "memory",
        }
    }
}

/// One node's least time.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeTime {
    /// Seconds: the larger of the compute and the memory time.
    pub seconds: f64,
    pub compute_seconds: f64,
    pub memory_seconds: f64,
    pub bound: Bound,
    /// FLOPs (and integer operations) per byte moved; `None` when nothing
    /// is moved.
    pub intensity: Option<f64>,
    /// Whether the FLOPs and bytes were all known (an uncounted node's
    /// time is its memory time alone, a bound from below).
    pub complete: bool,
}

/// The roofline of a report on one device.
#[derive(Clone, Debug, PartialEq)]
pub struct Roofline {
    pub hardware: HardwareProfile,
    pub precision: Precision,
    /// The peak used for FLOPs, and for integer operations.
    pub peak: f64,
    pub int_peak: f64,
    pub bandwidth: f64,
    /// Per top-level node, parallel to `Report::nodes`.
    pub nodes: Vec<NodeTime>,
    /// The sum of the nodes' times.
    pub seconds: f64,
    /// Of `seconds`, the part in compute-bound and in memory-bound nodes.
    pub compute_bound_seconds: f64,
    pub memory_bound_seconds: f64,
    /// FLOPs per byte at which the device's two limits meet.
    pub ridge: f64,
}

/// Why a roofline cannot be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RooflineError {
    #[error("{hardware} states no {precision} peak; it has: {available}")]
    NoPeak {
        hardware: String,
        precision: &'static str,
        available: String,
    },
    #[error(
        "the time needs numbers, but the counts still depend on {symbols}: bind them with --dim"
    )]
    Symbolic { symbols: String },
}

/// Evaluates a count that must be a number.
fn number(p: &crate::Poly) -> Option<f64> {
    if !p.symbols().is_empty() {
        return None;
    }
    p.as_constant().map(|c| c as f64).or(Some(p.at_one()))
}

/// The roofline of `report` (with its `memory`) on `hardware` at
/// `precision`. Integer operations run at the int8 peak (the chosen peak
/// when the device states none).
pub fn roofline(
    report: &Report,
    memory: &MemoryReport,
    hardware: &HardwareProfile,
    precision: Precision,
) -> Result<Roofline, RooflineError> {
    let peak = hardware
        .peak(precision)
        .ok_or_else(|| RooflineError::NoPeak {
            hardware: hardware.name.clone(),
            precision: precision.name(),
            available: hardware
                .peaks
                .iter()
                .map(|(p, _)| p.name())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let int_peak = hardware.peak(Precision::Int8).unwrap_or(peak);
    let bandwidth = hardware.bandwidth;
    let mut nodes = Vec::with_capacity(report.nodes.len());
    let mut symbolic: Vec<String> = Vec::new();
    let mut need = |p: &crate::Poly| -> f64 {
        number(p).unwrap_or_else(|| {
            symbolic.extend(p.symbols().into_iter().map(|s| s.to_string()));
            0.0
        })
    };
    for (n, m) in report.nodes.iter().zip(&memory.nodes) {
        let bytes = m.traffic.total().map(|t| need(&t)).unwrap_or(f64::INFINITY);
        // A node computed from constants alone runs once, at load.
        let (flops, int_ops) = match &n.cost {
            Some(_) if m.folded => (0.0, 0.0),
            Some(c) => (need(&c.flops), need(&c.int_ops)),
            None => (0.0, 0.0),
        };
        let compute_seconds = f64::max(flops / peak, int_ops / int_peak);
        let memory_seconds = bytes / bandwidth;
        let bound = if compute_seconds > memory_seconds {
            Bound::Compute
        } else {
            Bound::Memory
        };
        nodes.push(NodeTime {
            seconds: compute_seconds.max(memory_seconds),
            compute_seconds,
            memory_seconds,
            bound,
            intensity: (bytes > 0.0).then(|| (flops + int_ops) / bytes),
            complete: n.cost.is_some() && m.traffic.complete,
        });
    }
    if !symbolic.is_empty() {
        symbolic.sort();
        symbolic.dedup();
        return Err(RooflineError::Symbolic {
            symbols: symbolic.join(", "),
        });
    }
    let sum = |b: Option<Bound>| -> f64 {
        nodes
            .iter()
            .filter(|t| b.is_none_or(|b| t.bound == b))
            .map(|t| t.seconds)
            .sum()
    };
    Ok(Roofline {
        hardware: hardware.clone(),
        precision,
        peak,
        int_peak,
        bandwidth,
        seconds: sum(None),
        compute_bound_seconds: sum(Some(Bound::Compute)),
        memory_bound_seconds: sum(Some(Bound::Memory)),
        ridge: peak / bandwidth,
        nodes,
    })
}
