//! Layers that move data and cost nothing: flattening, and dropout (the
//! identity at inference). Network descriptions use them so that a
//! network's layer list reads like its PyTorch definition.

use super::{sample_dims, GraphBuilder, Layer, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Flattens the sample to a vector, as PyTorch's `Flatten()` (from axis 1).
///
/// ```
/// use nncost_core::layers::{Flatten, Layer};
///
/// let c = Flatten.cost(&[256, 6, 6]).unwrap();
/// assert_eq!(c.output_shape, [9216]);
/// assert_eq!((c.params, c.macs, c.flops), (0, 0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten;

impl Layer for Flatten {
    fn kind(&self) -> &'static str {
        "flatten"
    }

    fn describe(&self) -> String {
        "flatten to a vector".into()
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        _shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        Ok(b.node(
            "Flatten",
            name,
            &[Some(x)],
            vec![super::builder::int("axis", 1)],
        ))
    }
}

/// Dropout: the identity at inference, 0 FLOPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropout;

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "dropout"
    }

    fn describe(&self) -> String {
        "dropout (the identity at inference)".into()
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        sample_dims(shape)?;
        Ok(b.node("Dropout", name, &[Some(x)], vec![]))
    }
}
