//! Cell texts of the values that rows repeat, made once each (see
//! `remembered.rs`).

use nncost_core::report::{NodeStatus, ValueReport};
use nncost_core::shape::SharedShape;
use nncost_core::Poly;

use super::{bytes_cell, cost_text, cut_middle, shape_text, Cell, MAX_SHAPE_CELL};
use crate::remembered::Remembered;
use crate::TableOptions;

/// One table's texts (its options fixed: `--exact` changes a count's text).
#[derive(Default)]
pub(crate) struct CellTexts {
    shapes: Remembered<Option<SharedShape>, Cell>,
    costs: Remembered<Poly, Cell>,
    /// Byte counts (`--memory`'s columns).
    bytes: Remembered<Poly, Cell>,
}

impl CellTexts {
    /// An output shape's text, shortened past [`MAX_SHAPE_CELL`].
    pub(crate) fn shape(&mut self, o: &ValueReport) -> Cell {
        self.shapes.text(&o.shape, || {
            cut_middle(shape_text(o.shape.as_deref()), MAX_SHAPE_CELL).into()
        })
    }

    /// A count's text (see `cost_text`).
    pub(crate) fn cost(
        &mut self,
        p: Option<&Poly>,
        status: &NodeStatus,
        options: TableOptions,
    ) -> Cell {
        match p {
            Some(p) => self
                .costs
                .text(p, || cost_text(Some(p), status, options).into()),
            None => cost_text(None, status, options).into(),
        }
    }

    /// A byte count's text (see `bytes_cell`).
    pub(crate) fn bytes(&mut self, p: &Poly, options: TableOptions) -> Cell {
        self.bytes.text(p, || bytes_cell(p, options).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nncost_core::shape::Dim;

    fn output(dims: &[i64]) -> ValueReport {
        let shape: Vec<Dim> = dims.iter().map(|&d| Dim::int(d)).collect();
        ValueReport {
            name: "y".into(),
            dtype: None,
            shape: Some(shape.into()),
            elements: None,
        }
    }

    #[test]
    fn each_value_gets_its_own_text_remembered_or_not() {
        let options = TableOptions::default();
        let mut texts = CellTexts::default();
        // Equal shapes in different allocations share a text; other dims,
        // or no shape, get their own.
        assert_eq!(texts.shape(&output(&[1, 64])), "1x64");
        assert_eq!(texts.shape(&output(&[1, 64])), "1x64");
        assert_eq!(texts.shape(&output(&[64, 1])), "64x1");
        let unknown = ValueReport {
            shape: None,
            ..output(&[])
        };
        assert_eq!(texts.shape(&unknown), "?");
        assert_eq!(texts.shape(&output(&[])), "scalar");
        assert_eq!(texts.shapes.len(), 4);
        let batch = Poly::symbol("batch");
        let counted = NodeStatus::Counted;
        let cost = |texts: &mut CellTexts, p: &Poly| texts.cost(Some(p), &counted, options);
        assert_eq!(
            cost(&mut texts, &batch.checked_scale(64).unwrap()),
            "64 × batch"
        );
        assert_eq!(
            cost(&mut texts, &batch.checked_scale(64).unwrap()),
            "64 × batch"
        );
        assert_eq!(cost(&mut texts, &Poly::constant(1_500_000)), "1.50 M");
        assert_eq!(cost(&mut texts, &Poly::ZERO), "-");
        assert_eq!(
            texts.cost(None, &NodeStatus::Unsupported, options),
            "not counted"
        );
        // Bytes have units of their own, and none is `-`.
        let bytes = batch.checked_scale(256).unwrap();
        assert_eq!(texts.bytes(&bytes, options), "256 B × batch");
        assert_eq!(texts.bytes(&bytes, options), "256 B × batch");
        assert_eq!(texts.bytes(&Poly::constant(2000), options), "2.00 KB");
        assert_eq!(texts.bytes(&Poly::ZERO, options), "-");
        // Past the most remembered, texts are made as they come, and right.
        for k in 0..crate::remembered::MOST_REMEMBERED as i64 + 10 {
            let text = texts.shape(&output(&[k + 2, 3]));
            assert_eq!(text, format!("{}x3", k + 2));
        }
        assert_eq!(texts.shapes.len(), crate::remembered::MOST_REMEMBERED);
        assert_eq!(texts.shape(&output(&[64, 1])), "64x1");
        let exact = TableOptions {
            exact: true,
            ..options
        };
        let mut exact_texts = CellTexts::default();
        assert_eq!(
            exact_texts.cost(Some(&Poly::constant(1_500_000)), &counted, exact),
            "1,500,000"
        );
    }
}
