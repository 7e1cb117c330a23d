//! Token embeddings: a table of one vector per token of the vocabulary,
//! looked up by the token ids a language model reads.

use super::explain::{num, times, Explanation, Section, Step};
use super::{dims_text, sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::{DType, ValueId};
use crate::shape::Dim;

/// An embedding table `[vocab, width]` looked up by int64 token ids, as
/// PyTorch's `Embedding(vocab, width)` (an ONNX `Gather` on axis 0): a
/// `[seq]` sample of ids becomes `[seq, width]`.
///
/// ```
/// use nncost_core::layers::{Embedding, Layer};
///
/// // Llama-7B's token embedding on a prompt of 128 tokens.
/// let c = Embedding::new(32_000, 4_096).cost(&[128]).unwrap();
/// assert_eq!(c.output_shape, [128, 4096]);
/// assert_eq!(c.params, 32_000 * 4_096); // PyTorch: 131,072,000
/// assert_eq!((c.macs, c.flops), (0, 0)); // a lookup copies rows
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embedding {
    pub vocab: i64,
    pub width: i64,
}

impl Embedding {
    pub fn new(vocab: i64, width: i64) -> Embedding {
        Embedding { vocab, width }
    }
}

impl Layer for Embedding {
    fn kind(&self) -> &'static str {
        "embedding"
    }

    fn describe(&self) -> String {
        format!("a table of {} tokens × {} features", self.vocab, self.width)
    }

    fn input_dtype(&self) -> DType {
        DType::I64
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        sample_dims(shape)?;
        if self.vocab < 1 || self.width < 1 {
            return Err(LayerError::Invalid(format!(
                "vocabulary and width must be positive, got {} and {}",
                self.vocab, self.width
            )));
        }
        let table = b.weight(&format!("{name}.weight"), &[self.vocab, self.width]);
        Ok(b.node("Gather", name, &[Some(table), Some(x)], vec![]))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let shape = Section::new(format!(
            "Output shape: one row of the table per token id, {} → {}",
            dims_text(&cost.input_shape),
            dims_text(&cost.output_shape)
        ));
        let params = Section::new("Params: one vector of width features per token, vocab·width")
            .step(Step::new(
                "params",
                times(vec![num(self.vocab), num(self.width)]),
                cost.params as i128,
            ));
        let work = Section::new(
            "MACs 0 and FLOPs 0: looking up a row copies it (data movement, which --memory \
             counts in bytes); only the rows read are touched, not the whole table",
        );
        Ok(Explanation {
            sections: vec![shape, params, work],
        })
    }
}
