//! The three counts of work a node, a body or a graph does, kept together
//! so that every step that sums, scales or compares costs treats them
//! alike.

use crate::poly::{Overflow, Poly};

/// Multiply–accumulates, floating-point operations and integer operations.
///
/// `int_ops` are the integer additions and multiplications of quantized
/// kernels (`MatMulInteger`, `QLinearConv`, …), counted as FLOPs would be
/// but never added to FLOPs: a reader comparing float FLOPs across models
/// must not see int8 work folded in. MACs include every dot product,
/// float or integer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cost {
    pub macs: Poly,
    pub flops: Poly,
    pub int_ops: Poly,
}

impl Cost {
    pub const ZERO: Cost = Cost {
        macs: Poly::ZERO,
        flops: Poly::ZERO,
        int_ops: Poly::ZERO,
    };

    pub fn checked_add(&self, other: &Cost) -> Result<Cost, Overflow> {
        Ok(Cost {
            macs: self.macs.checked_add(&other.macs)?,
            flops: self.flops.checked_add(&other.flops)?,
            int_ops: self.int_ops.checked_add(&other.int_ops)?,
        })
    }

    /// `self + other` into `self`, in place where the counts allow (see
    /// [`Poly::checked_add_assign`]): a graph's running total.
    #[inline]
    pub fn checked_add_assign(&mut self, other: &Cost) -> Result<(), Overflow> {
        self.macs.checked_add_assign(&other.macs)?;
        self.flops.checked_add_assign(&other.flops)?;
        self.int_ops.checked_add_assign(&other.int_ops)
    }

    /// The cost of `times` runs (a loop body × its trip count).
    pub fn checked_times(&self, times: &Poly) -> Result<Cost, Overflow> {
        Ok(Cost {
            macs: self.macs.checked_mul(times)?,
            flops: self.flops.checked_mul(times)?,
            int_ops: self.int_ops.checked_mul(times)?,
        })
    }

    /// Symbols replaced by their bound values.
    #[inline]
    pub fn substitute(&self, bind: &dyn Fn(&str) -> Option<i128>) -> Result<Cost, Overflow> {
        Ok(Cost {
            macs: self.macs.substitute(bind)?,
            flops: self.flops.substitute(bind)?,
            int_ops: self.int_ops.substitute(bind)?,
        })
    }

    /// Whether every count is at least `other`'s for every value of the
    /// symbols.
    pub fn dominates(&self, other: &Cost) -> bool {
        self.flops.dominates(&other.flops)
            && self.macs.dominates(&other.macs)
            && self.int_ops.dominates(&other.int_ops)
    }

    /// FLOPs plus integer operations with every symbol at 1 (see
    /// [`Poly::at_one`]): the work a report's shares and orderings use.
    pub fn work_at_one(&self) -> f64 {
        self.flops.at_one() + self.int_ops.at_one()
    }

    /// The per-term maximum of each count: an upper bound of both.
    pub fn termwise_max(&self, other: &Cost) -> Cost {
        Cost {
            macs: self.macs.termwise_max(&other.macs),
            flops: self.flops.termwise_max(&other.flops),
            int_ops: self.int_ops.termwise_max(&other.int_ops),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(macs: i128, flops: i128, int_ops: i128) -> Cost {
        Cost {
            macs: Poly::constant(macs),
            flops: Poly::constant(flops),
            int_ops: Poly::constant(int_ops),
        }
    }

    #[test]
    fn sums_scales_and_compares_all_three_counts() {
        let a = cost(10, 20, 30);
        let b = cost(1, 2, 3);
        assert_eq!(a.checked_add(&b).unwrap(), cost(11, 22, 33));
        assert_eq!(b.checked_times(&Poly::constant(4)).unwrap(), cost(4, 8, 12));
        assert!(a.dominates(&b) && !b.dominates(&a));
        // Integer work alone decides: neither dominates.
        let c = cost(10, 20, 0);
        assert!(!c.dominates(&b) && !b.dominates(&c));
        assert_eq!(c.termwise_max(&b), cost(10, 20, 3));
    }

    #[test]
    fn trip_count_symbol_multiplies_each_count() {
        let n = Poly::symbol("n");
        let body = cost(2, 3, 5);
        let run = body.checked_times(&n).unwrap();
        assert_eq!(
            (
                run.macs.to_string(),
                run.flops.to_string(),
                run.int_ops.to_string()
            ),
            ("2*n".to_string(), "3*n".to_string(), "5*n".to_string())
        );
        let bound = run.substitute(&|s| (s == "n").then_some(7)).unwrap();
        assert_eq!(bound, cost(14, 21, 35));
    }
}
