//! Pooling: max and average over sliding windows (with `ceil_mode`) and
//! global pooling. Adaptive average pooling is in `adaptive_pool.rs`.

use super::conv::{size_section, Family, Geometry, Padding, Round};
use super::explain::{minus, num, times, Explanation, Expr, Section, Step};
use super::{dims_text, sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Maximum or average.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

impl PoolKind {
    fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "average",
        }
    }
}

/// A pooling window, as PyTorch's `MaxPool2d`/`AvgPool2d` (1-, 2- and 3-D
/// by the input's rank). The stride defaults to the kernel size.
///
/// ```
/// use nncost_core::layers::{Layer, Pool, PoolKind, Round};
///
/// // ResNet's max pooling: 3×3, stride 2, padding 1 on 64×112×112.
/// let c = Pool::new(PoolKind::Max, &[3]).stride(&[2]).padding(&[1]);
/// let c = c.cost(&[64, 112, 112]).unwrap();
/// assert_eq!(c.output_shape, [64, 56, 56]);
/// // k − 1 comparisons per output: (9 − 1)·64·56·56.
/// assert_eq!(c.flops, 8 * 64 * 56 * 56);
/// assert_eq!((c.params, c.macs), (0, 0));
///
/// // On 14×14 a 3×3 window at stride 2 gives ⌊11 / 2⌋ + 1 = 6 rounding
/// // down, and ⌈11 / 2⌉ + 1 = 7 with ceil_mode (Caffe's rounding).
/// let ceil = Pool::new(PoolKind::Max, &[3]).stride(&[2]).round(Round::Up);
/// assert_eq!(ceil.cost(&[8, 14, 14]).unwrap().output_shape, [8, 7, 7]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    pub kind: PoolKind,
    pub kernel: Vec<i64>,
    /// `None`: the kernel size.
    pub stride: Option<Vec<i64>>,
    pub padding: Vec<i64>,
    /// Max pooling only.
    pub dilation: Vec<i64>,
    /// `Round::Up` is PyTorch's and ONNX's `ceil_mode`, Caffe's rounding.
    pub round: Round,
}

impl Pool {
    pub fn new(kind: PoolKind, kernel: &[i64]) -> Pool {
        Pool {
            kind,
            kernel: kernel.to_vec(),
            stride: None,
            padding: vec![0],
            dilation: vec![1],
            round: Round::Down,
        }
    }

    pub fn stride(mut self, stride: &[i64]) -> Pool {
        self.stride = Some(stride.to_vec());
        self
    }

    pub fn padding(mut self, padding: &[i64]) -> Pool {
        self.padding = padding.to_vec();
        self
    }

    pub fn dilation(mut self, dilation: &[i64]) -> Pool {
        self.dilation = dilation.to_vec();
        self
    }

    pub fn round(mut self, round: Round) -> Pool {
        self.round = round;
        self
    }

    fn geometry(&self, shape: &[Dim]) -> Result<Geometry, LayerError> {
        if self.kind == PoolKind::Avg && self.dilation.iter().any(|&d| d != 1) {
            return Err(LayerError::Invalid(
                "average pooling has no dilation".into(),
            ));
        }
        let dims = sample_dims(shape)?;
        let stride = self.stride.clone().unwrap_or_else(|| self.kernel.clone());
        let g = Geometry::new(
            &dims,
            &self.kernel,
            &stride,
            &self.dilation,
            &Padding::Explicit(self.padding.clone()),
            "pooling",
        )?;
        if let Some(i) = (0..g.spatial.len()).find(|&i| 2 * g.pad[i] > g.kernel[i]) {
            return Err(LayerError::Invalid(format!(
                "padding {} is more than half the kernel {} (PyTorch refuses it: a window \
                 could see only padding)",
                g.pad[i], g.kernel[i]
            )));
        }
        Ok(g)
    }

    fn op_type(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "MaxPool",
            PoolKind::Avg => "AveragePool",
        }
    }
}

impl Layer for Pool {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "maxpool",
            PoolKind::Avg => "avgpool",
        }
    }

    fn describe(&self) -> String {
        let stride = self.stride.as_deref().unwrap_or(&self.kernel);
        let mut parts = vec![
            format!("{} pooling", self.kind.name()),
            format!("kernel {}", dims_text(&self.kernel)),
            format!("stride {}", dims_text(stride)),
            format!("padding {}", dims_text(&self.padding)),
        ];
        if self.dilation.iter().any(|&d| d != 1) {
            parts.push(format!("dilation {}", dims_text(&self.dilation)));
        }
        if self.round == Round::Up {
            parts.push("ceil_mode".into());
        }
        parts.join(", ")
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let g = self.geometry(shape)?;
        let mut attrs = g.window_attrs(&vec![0; g.spatial.len()]);
        if self.round == Round::Up {
            attrs.push(super::builder::int("ceil_mode", 1));
        }
        Ok(b.node(self.op_type(), name, &[Some(x)], attrs))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let shape: Vec<Dim> = std::iter::once(1)
            .chain(cost.input_shape.iter().copied())
            .map(Dim::int)
            .collect();
        let g = self.geometry(&shape)?;
        let n = g.spatial.len();
        let size = size_section(
            &g,
            Family::Pool,
            self.round,
            &vec![0; n],
            &cost.output_shape[1..],
        );
        let outputs: Vec<Expr> = cost.output_shape.iter().map(|&d| num(d)).collect();
        let taps = times(g.kernel_factors());
        let k = g.kernel_symbols();
        let dims = format!("C·{}", g.out_symbols());
        let flops = match self.kind {
            PoolKind::Max => Section::new(format!(
                "FLOPs: the largest of k = {k} values takes k − 1 comparisons, per output: (k − 1)·{dims}"
            ))
            .step(Step::new(
                "FLOPs",
                times(std::iter::once(minus(taps, num(1))).chain(outputs).collect()),
                cost.flops as i128,
            )),
            PoolKind::Avg => Section::new(format!(
                "FLOPs: k − 1 additions and one division per output, k = {k}: k·{dims}"
            ))
            .step(Step::new(
                "FLOPs",
                times(super::conv::flatten(
                    std::iter::once(taps).chain(outputs).collect(),
                )),
                cost.flops as i128,
            ))
            .note("padded taps are counted too: they change the divisor, not the work"),
        };
        Ok(Explanation {
            sections: vec![size, no_weights(), flops],
        })
    }
}

/// The params-and-MACs section of layers without weights.
pub(crate) fn no_weights() -> Section {
    Section::new(
        "Params 0 and MACs 0: the article's pooling and activation layers add no parameters \
         and no dot products",
    )
}

/// Global pooling over all spatial positions, as PyTorch's
/// `AdaptiveAvgPool2d(1)` (exported as `GlobalAveragePool`) or
/// `AdaptiveMaxPool2d(1)`.
///
/// ```
/// use nncost_core::layers::{GlobalPool, Layer, PoolKind};
///
/// let c = GlobalPool::new(PoolKind::Avg).cost(&[512, 7, 7]).unwrap();
/// assert_eq!(c.output_shape, [512, 1, 1]);
/// assert_eq!(c.flops, 512 * 49); // 48 additions and 1 division per channel
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalPool {
    pub kind: PoolKind,
}

impl GlobalPool {
    pub fn new(kind: PoolKind) -> GlobalPool {
        GlobalPool { kind }
    }
}

impl Layer for GlobalPool {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "global-maxpool",
            PoolKind::Avg => "global-avgpool",
        }
    }

    fn describe(&self) -> String {
        format!("global {} pooling", self.kind.name())
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        if shape.len() < 3 {
            return Err(LayerError::Invalid(
                "global pooling takes a [C, spatial...] input".into(),
            ));
        }
        let op = match self.kind {
            PoolKind::Max => "GlobalMaxPool",
            PoolKind::Avg => "GlobalAveragePool",
        };
        Ok(b.node(op, name, &[Some(x)], vec![]))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let c = cost.input_shape[0];
        let spatial = &cost.input_shape[1..];
        let n = times(spatial.iter().map(|&d| num(d)).collect());
        let flops = match self.kind {
            PoolKind::Max => Section::new(
                "FLOPs: per channel, the largest of its n positions takes n − 1 comparisons: C·(n − 1)",
            )
            .step(Step::new("FLOPs", times(vec![num(c), minus(n, num(1))]), cost.flops as i128)),
            PoolKind::Avg => Section::new(
                "FLOPs: per channel, n − 1 additions and one division over its n positions: C·n",
            )
            .step(Step::new(
                "FLOPs",
                times(super::conv::flatten(vec![num(c), n])),
                cost.flops as i128,
            )),
        };
        let shape = Section::new(format!(
            "Output shape: one value per channel, {}",
            dims_text(&cost.output_shape)
        ));
        Ok(Explanation {
            sections: vec![shape, no_weights(), flops],
        })
    }
}
