//! Upsampling by a whole factor per spatial axis (U-Nets, FPNs, decoders of
//! segmentation and generative models), as an ONNX `Resize`.

use super::builder::string;
use super::explain::{group, num, sum, times, Explanation, Expr, Section, Step};
use super::{
    axis_names, dims_text, per_axis, sample_dims, GraphBuilder, Layer, LayerCost, LayerError,
};
use crate::graph::ValueId;
use crate::shape::Dim;
use crate::value::MAX_TRACKED_ELEMENTS;

/// How the new positions are filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsampleMode {
    /// Copies of the nearest input: PyTorch's default.
    Nearest,
    /// Linear interpolation along every resized axis (PyTorch's
    /// `bilinear`, `trilinear`).
    Linear,
    /// Cubic interpolation (PyTorch's `bicubic`).
    Cubic,
}

impl UpsampleMode {
    fn name(self) -> &'static str {
        match self {
            UpsampleMode::Nearest => "nearest",
            UpsampleMode::Linear => "linear",
            UpsampleMode::Cubic => "cubic",
        }
    }

    /// Taps of one 1-D interpolation: 2 (linear), 4 (cubic).
    fn taps(self) -> i64 {
        match self {
            UpsampleMode::Nearest => 1,
            UpsampleMode::Linear => 2,
            UpsampleMode::Cubic => 4,
        }
    }
}

/// `Upsample(scale_factor=F, mode=…)` on a `[C, spatial...]` sample: each
/// spatial size multiplied by its factor, as an ONNX `Resize` with scales
/// `[1, 1, F, …]`. No parameters; the engine counts the interpolation
/// (nearest: copies, 0 FLOPs).
///
/// ```
/// use nncost_core::layers::{Layer, Upsample, UpsampleMode};
///
/// let c = Upsample::new(&[2], UpsampleMode::Nearest).cost(&[256, 13, 13]).unwrap();
/// assert_eq!(c.output_shape, [256, 26, 26]);
/// assert_eq!((c.params, c.flops), (0, 0));
/// // Bilinear: 3 linear interpolations of 3 FLOPs per output (2 along W, 1 along H).
/// let c = Upsample::new(&[2], UpsampleMode::Linear).cost(&[256, 13, 13]).unwrap();
/// assert_eq!(c.flops, 9 * 256 * 26 * 26);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upsample {
    /// One factor for every spatial axis, or one per axis.
    pub scale: Vec<i64>,
    pub mode: UpsampleMode,
}

impl Upsample {
    pub fn new(scale: &[i64], mode: UpsampleMode) -> Upsample {
        Upsample {
            scale: scale.to_vec(),
            mode,
        }
    }

    /// The factor of each spatial axis of a `[C, spatial...]` sample.
    fn factors(&self, dims: &[i64]) -> Result<Vec<i64>, LayerError> {
        if dims.len() < 2 {
            return Err(LayerError::Invalid(
                "upsampling takes a [C, spatial...] input".into(),
            ));
        }
        // The engine reads the Resize's scales (two for the batch and the
        // channels, one per spatial axis) only from a tensor of at most
        // MAX_TRACKED_ELEMENTS; past it the output size would be unknown,
        // and each axis a symbol of its own (256,000 axes took minutes).
        let most = MAX_TRACKED_ELEMENTS as usize - 2;
        if dims.len() - 1 > most {
            return Err(LayerError::Invalid(format!(
                "upsampling takes at most {most} spatial axes, got {}",
                dims.len() - 1
            )));
        }
        let f = per_axis(&self.scale, dims.len() - 1, "scale")?;
        if f.iter().any(|&s| s < 1) {
            return Err(LayerError::Invalid(
                "scale factors must be positive whole numbers".into(),
            ));
        }
        Ok(f)
    }
}

impl Layer for Upsample {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "upsample"
    }

    fn describe(&self) -> String {
        format!(
            "{} upsampling by {}",
            self.mode.name(),
            dims_text(&self.scale)
        )
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let factors = self.factors(&sample_dims(shape)?)?;
        // Batch and channels keep their size.
        let scales: Vec<f64> = [1, 1]
            .into_iter()
            .chain(factors.iter().copied())
            .map(|f| f as f64)
            .collect();
        let scales = b.floats(&format!("{name}.scales"), &[scales.len() as i64], &scales);
        // As PyTorch exports them: nearest picks floor(out / F), linear and
        // cubic sample at pixel centres (align_corners=False).
        let attrs = match self.mode {
            UpsampleMode::Nearest => vec![
                string("mode", "nearest"),
                string("coordinate_transformation_mode", "asymmetric"),
                string("nearest_mode", "floor"),
            ],
            mode => vec![
                string("mode", mode.name()),
                string("coordinate_transformation_mode", "pytorch_half_pixel"),
            ],
        };
        Ok(b.node("Resize", name, &[Some(x), None, Some(scales)], attrs))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let dims = &cost.input_shape;
        let factors = self.factors(dims)?;
        let mut size = Section::new("Output size per spatial axis: in·F");
        for (i, axis) in axis_names(factors.len()).iter().enumerate() {
            size = size.step(Step::new(
                format!("{axis}_out"),
                times(vec![num(dims[i + 1]), num(factors[i])]),
                cost.output_shape[i + 1] as i128,
            ));
        }
        let params =
            Section::new("Params 0 and MACs 0: interpolation has no weights and no dot products");
        let outputs = times(cost.output_shape.iter().map(|&d| num(d)).collect());
        let flops = match self.mode {
            UpsampleMode::Nearest => {
                Section::new("FLOPs 0: nearest upsampling copies an input value to each output")
                    .step(Step::new("FLOPs", num(0), cost.flops as i128))
            }
            mode => {
                // Separable: r resized axes of t taps take t^(r−1) + … + 1
                // one-dimensional interpolations of 2t − 1 FLOPs.
                let r = factors.iter().filter(|&&f| f != 1).count() as u32;
                let t = mode.taps();
                let per = (2 * t - 1) * (t.pow(r) - 1) / (t - 1);
                let powers: Vec<(bool, Expr)> = (0..r).map(|k| (false, num(t.pow(k)))).collect();
                let per_form = times(vec![num(2 * t - 1), group(sum(powers))]);
                Section::new(format!(
                    "FLOPs per output: the {} interpolation is separable, r = {r} resized axes \
                     of t = {t} taps take 1 + t + … + t^(r−1) one-dimensional interpolations of \
                     t multiplications and t − 1 additions (2t − 1): {per} per output \
                     (the engine's rule; the weights, the same along each axis, are not counted)",
                    mode.name()
                ))
                .step(Step::new(
                    "FLOPs",
                    times(super::conv::flatten(vec![per_form, outputs])),
                    cost.flops as i128,
                ))
            }
        };
        Ok(Explanation {
            sections: vec![size, params, flops],
        })
    }
}
