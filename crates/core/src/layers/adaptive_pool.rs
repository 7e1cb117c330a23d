//! Adaptive average pooling with PyTorch's windows, even or not: output
//! cell `i` of an axis averages the input positions `⌊i·in/out⌋` to
//! `⌈(i + 1)·in/out⌉` (exclusive), so windows may differ in size and
//! overlap (13 → 6: six windows of 3 at stride 2; 7 → 5: sizes 2, 2, 3, 2, 2).
//!
//! No single ONNX operator has such windows, so the layer is written as the
//! `AveragePool`s that have: along each axis the windows fall into runs of
//! equal size and equal stride; each combination of runs is one
//! `AveragePool` on a `Slice` of the input, and `Concat`s put the blocks
//! back together. When every axis is one run (any whole division, and
//! 13 → 6) that is a single `AveragePool`, as exporters write it. The
//! engine counts each `AveragePool` as its window's size per output, so the
//! total is the sum over the output cells of their window's area: area − 1
//! additions and one division each.

use super::builder::{int, ints};
use super::conv::flatten;
use super::explain::{num, sum, times, Explanation, Expr, Section, Step};
use super::pool::{no_weights, Pool, PoolKind};
use super::{
    axis_names, dims_text, per_axis, sample_dims, GraphBuilder, Layer, LayerCost, LayerError,
};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Most `AveragePool` blocks one layer is written as (a 64 → 100 pooling
/// has windows of alternating sizes: 100 runs per axis).
const MAX_BLOCKS: usize = 4096;

/// Most windows of an axis whose sizes are worked out one by one (a whole
/// division needs none).
const MAX_WINDOWS: i64 = 1 << 20;

/// Adaptive average pooling to a given output size, as PyTorch's
/// `AdaptiveAvgPool1d/2d/3d`.
///
/// ```
/// use nncost_core::layers::{AdaptiveAvgPool, Layer};
///
/// // VGG's classifier input: 512×7×7 pooled to 7×7 is a 1×1 window.
/// let c = AdaptiveAvgPool::new(&[7]).cost(&[512, 7, 7]).unwrap();
/// assert_eq!(c.output_shape, [512, 7, 7]);
/// // AlexNet's on 13×13 (a 224×224 image is 6×6 there, a 416×416 one
/// // 13×13): windows of 3 at stride 2, 9 per output cell.
/// let c = AdaptiveAvgPool::new(&[6]).cost(&[256, 13, 13]).unwrap();
/// assert_eq!(c.flops, 256 * 36 * 9);
/// // 7 → 5: windows of 2, 2, 3, 2, 2 along each axis: 11·11 per channel.
/// let c = AdaptiveAvgPool::new(&[5]).cost(&[4, 7, 7]).unwrap();
/// assert_eq!(c.flops, 4 * 11 * 11);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdaptiveAvgPool {
    pub output: Vec<i64>,
}

/// Consecutive windows of one axis with the same size, `stride` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    start: i64,
    size: i64,
    stride: i64,
    count: i64,
}

impl Run {
    /// The input positions the run covers: `[start, end)`.
    fn end(&self) -> i64 {
        self.start + (self.count - 1) * self.stride + self.size
    }
}

/// PyTorch's windows of one axis, `[start, end)` for each output cell.
fn windows(input: i64, output: i64) -> impl Iterator<Item = (i64, i64)> {
    // In i128: i·in may pass i64 for large sizes.
    let (i_in, o) = (i128::from(input), i128::from(output));
    (0..o).map(move |i| {
        let start = i * i_in / o;
        let end = ((i + 1) * i_in + o - 1) / o;
        (start as i64, end as i64)
    })
}

/// The windows of one axis grouped into runs of equal size at a fixed,
/// positive stride; an error past [`MAX_BLOCKS`] runs or [`MAX_WINDOWS`]
/// uneven windows.
fn runs(input: i64, output: i64) -> Result<Vec<Run>, LayerError> {
    if input % output == 0 {
        let k = input / output;
        return Ok(vec![Run {
            start: 0,
            size: k,
            stride: k,
            count: output,
        }]);
    }
    if output > MAX_WINDOWS {
        return Err(LayerError::Invalid(format!(
            "adaptive pooling from {input} to {output}: nncost writes at most {MAX_WINDOWS} \
             windows of different sizes per axis"
        )));
    }
    let mut out: Vec<Run> = Vec::new();
    for (start, end) in windows(input, output) {
        let size = end - start;
        if let Some(r) = out.last_mut() {
            let step = start - (r.start + (r.count - 1) * r.stride);
            let fits = r.size == size && step > 0 && (r.count == 1 || step == r.stride);
            if fits {
                r.stride = step;
                r.count += 1;
                continue;
            }
        }
        if out.len() == MAX_BLOCKS {
            return Err(LayerError::Invalid(format!(
                "adaptive pooling from {input} to {output} needs more than {MAX_BLOCKS} \
                 AveragePool blocks"
            )));
        }
        out.push(Run {
            start,
            size,
            stride: 1,
            count: 1,
        });
    }
    Ok(out)
}

/// Window sizes of one axis for the working: all of them when few, else
/// the first ones.
fn sizes_text(input: i64, output: i64) -> String {
    let shown: Vec<String> = windows(input, output)
        .take(16)
        .map(|(s, e)| (e - s).to_string())
        .collect();
    let more = if output > 16 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

impl AdaptiveAvgPool {
    pub fn new(output: &[i64]) -> AdaptiveAvgPool {
        AdaptiveAvgPool {
            output: output.to_vec(),
        }
    }

    /// The spatial sizes in and out, checked.
    fn sizes(&self, dims: &[i64]) -> Result<(Vec<i64>, Vec<i64>), LayerError> {
        if dims.len() < 2 {
            return Err(LayerError::Invalid(
                "adaptive pooling takes a [C, spatial...] input".into(),
            ));
        }
        let spatial = dims[1..].to_vec();
        let out = per_axis(&self.output, spatial.len(), "output size")?;
        if out.iter().any(|&o| o < 1) {
            return Err(LayerError::Invalid(
                "the output size must be positive".into(),
            ));
        }
        Ok((spatial, out))
    }

    /// Each axis's runs; an error once their combinations pass
    /// [`MAX_BLOCKS`], checked axis by axis: 190,000 axes of 768 runs each
    /// once took gigabytes before the count was checked.
    fn axis_runs(&self, dims: &[i64]) -> Result<Vec<Vec<Run>>, LayerError> {
        let (spatial, out) = self.sizes(dims)?;
        let mut all = Vec::new();
        let mut blocks = 1usize;
        for (&i, &o) in spatial.iter().zip(&out) {
            let r = runs(i, o)?;
            blocks = blocks.saturating_mul(r.len());
            if blocks > MAX_BLOCKS {
                return Err(LayerError::Invalid(format!(
                    "adaptive pooling from {} to {} needs more than {MAX_BLOCKS} blocks of equal \
                     windows, the most nncost writes",
                    dims_text(&spatial),
                    dims_text(&self.output)
                )));
            }
            all.push(r);
        }
        Ok(all)
    }

    /// The plain window this pooling is when every axis is one run.
    fn single_window(&self, dims: &[i64]) -> Result<Option<Pool>, LayerError> {
        let runs = self.axis_runs(dims)?;
        if runs.iter().any(|r| r.len() != 1) {
            return Ok(None);
        }
        let kernel: Vec<i64> = runs.iter().map(|r| r[0].size).collect();
        let stride: Vec<i64> = runs.iter().map(|r| r[0].stride).collect();
        Ok(Some(Pool::new(PoolKind::Avg, &kernel).stride(&stride)))
    }

    /// The block of one run per axis: a `Slice` of the input where the runs
    /// do not cover it, then the `AveragePool` of the run's window.
    fn block(
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        spatial: &[i64],
        pick: &[Run],
    ) -> ValueId {
        let cut: Vec<usize> = (0..pick.len())
            .filter(|&a| pick[a].start != 0 || pick[a].end() != spatial[a])
            .collect();
        let sliced = if cut.is_empty() {
            x
        } else {
            let starts: Vec<i64> = cut.iter().map(|&a| pick[a].start).collect();
            let ends: Vec<i64> = cut.iter().map(|&a| pick[a].end()).collect();
            // Spatial axis a of the sample is axis a + 2 of the graph.
            let axes: Vec<i64> = cut.iter().map(|&a| a as i64 + 2).collect();
            let (s, e, ax) = (
                b.ints(&format!("{name}/slice.starts"), &starts),
                b.ints(&format!("{name}/slice.ends"), &ends),
                b.ints(&format!("{name}/slice.axes"), &axes),
            );
            b.node(
                "Slice",
                &format!("{name}/slice"),
                &[Some(x), Some(s), Some(e), Some(ax)],
                vec![],
            )
        };
        let kernel: Vec<i64> = pick.iter().map(|r| r.size).collect();
        let stride: Vec<i64> = pick.iter().map(|r| r.stride).collect();
        b.node(
            "AveragePool",
            name,
            &[Some(sliced)],
            vec![ints("kernel_shape", &kernel), ints("strides", &stride)],
        )
    }

    /// Blocks for every combination of runs from axis `axis` on, joined
    /// along each axis by a `Concat`.
    fn blocks(
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        spatial: &[i64],
        runs: &[Vec<Run>],
        picked: &mut Vec<Run>,
    ) -> ValueId {
        let axis = picked.len();
        if axis == runs.len() {
            return Self::block(b, name, x, spatial, picked);
        }
        let mut parts = Vec::with_capacity(runs[axis].len());
        for (k, &r) in runs[axis].iter().enumerate() {
            picked.push(r);
            let part = if runs[axis].len() == 1 {
                name.to_string()
            } else {
                format!(
                    "{name}/{}{}",
                    axis_names(runs.len())[axis].to_lowercase(),
                    k + 1
                )
            };
            parts.push(Self::blocks(b, &part, x, spatial, runs, picked));
            picked.pop();
        }
        if parts.len() == 1 {
            return parts[0];
        }
        let inputs: Vec<Option<ValueId>> = parts.into_iter().map(Some).collect();
        b.node("Concat", name, &inputs, vec![int("axis", axis as i64 + 2)])
    }
}

impl Layer for AdaptiveAvgPool {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "adaptive-avgpool"
    }

    fn describe(&self) -> String {
        format!("adaptive average pooling to {}", dims_text(&self.output))
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let dims = sample_dims(shape)?;
        if let Some(pool) = self.single_window(&dims)? {
            return pool.build(b, name, x, shape);
        }
        let runs = self.axis_runs(&dims)?;
        Ok(Self::blocks(b, name, x, &dims[1..], &runs, &mut Vec::new()))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let dims = &cost.input_shape;
        let (spatial, out) = self.sizes(dims)?;
        let names = axis_names(spatial.len());
        let mut windows_section = Section::new(format!(
            "Adaptive average pooling to {}: PyTorch's window for output i of an axis runs from \
             ⌊i·in/out⌋ to ⌈(i + 1)·in/out⌉ (exclusive)",
            dims_text(&self.output)
        ));
        for (a, name) in names.iter().enumerate() {
            windows_section = windows_section.note(format!(
                "{name}: {} → {}, window sizes {}",
                spatial[a],
                out[a],
                sizes_text(spatial[a], out[a])
            ));
        }
        if let Some(pool) = self.single_window(dims)? {
            let mut e = pool.explain(cost)?;
            e.sections.insert(
                0,
                windows_section.note(format!(
                    "every axis is one run of equal windows: a window of {} at stride {}, one \
                     AveragePool, as ONNX exporters write it",
                    dims_text(&pool.kernel),
                    dims_text(pool.stride.as_deref().unwrap_or(&pool.kernel))
                )),
            );
            return Ok(e);
        }
        let runs = self.axis_runs(dims)?;
        let blocks = runs.iter().fold(1usize, |n, r| n.saturating_mul(r.len()));
        let windows_section = windows_section.note(format!(
            "windows of one size at one stride form runs ({} along the axes); each combination \
             of runs is an AveragePool on a Slice of the input, {blocks} of them, joined by Concat",
            runs.iter()
                .map(|r| r.len().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        // Each axis's window sizes summed: written out when few.
        let axis_sum = |a: usize| -> Expr {
            if out[a] > 16 {
                let total: i64 = windows(spatial[a], out[a]).map(|(s, e)| e - s).sum();
                return num(total);
            }
            let terms: Vec<(bool, Expr)> = windows(spatial[a], out[a])
                .map(|(s, e)| (false, num(e - s)))
                .collect();
            super::explain::group(sum(terms))
        };
        let factors: Vec<Expr> = std::iter::once(num(dims[0]))
            .chain((0..spatial.len()).map(axis_sum))
            .collect();
        let flops = Section::new(
            "FLOPs: each output cell averages its window, area − 1 additions and 1 division: \
             the area; summed over the cells, C times the product of each axis's window sizes \
             summed",
        )
        .step(Step::new(
            "FLOPs",
            times(flatten(factors)),
            cost.flops as i128,
        ));
        Ok(Explanation {
            sections: vec![windows_section, no_weights(), flops],
        })
    }
}
