//! Sizes that are not polynomials: floor division, minimum and maximum.
//!
//! A convolution over a symbolic height `h` gives `⌊(h + 2·pad − k)/stride⌋ +
//! 1`; a `Slice` to `k` on an axis whose length `n` depends on data gives
//! `min(k, n)`. Such a size is an [`Atom`]: inside a [`Poly`] it adds and
//! multiplies like a symbol, and binding the symbols it contains evaluates
//! it exactly.
//!
//! Atoms are built in one canonical form, so that equal sizes written two
//! ways compare equal and chains of strided layers stay short:
//!
//! - `⌊p/k⌋` keeps in the atom only what does not divide: each coefficient
//!   `c = k·q + r` (`0 ≤ r < k`) leaves `q` outside, so
//!   `⌊(2·h + 1)/2⌋ = h` and `⌊(h − 1)/2⌋ + 1 = ⌊(h + 1)/2⌋`; a common factor
//!   of `k` and the symbolic coefficients is cancelled (`⌊(2·h + 3)/4⌋ =
//!   ⌊(h + 1)/2⌋`); and a floor of a floor is one floor, `⌊(⌊a/m⌋ + c)/k⌋ =
//!   ⌊(a + c·m)/(m·k)⌋`, so five stride-2 stages of a network give
//!   `⌊(h + 31)/32⌋`, printed `ceil(h/32)`.
//! - `min` and `max` flatten, sort, drop duplicates and drop every argument
//!   another one bounds (`min(h, h + 1) = h`).
//!
//! Every symbol stands for a size, so every atom is taken to be ≥ 0 when
//! comparing: the coefficients inside a canonical floor are non-negative.

use std::fmt;
use std::sync::Arc;

use super::{gcd, Monomial, Overflow, Poly, Symbol, MAX_TERMS};

/// Most comparisons one [`Poly::bounds`] question may make.
const BOUNDS_BUDGET: u32 = 64;

/// Deepest nesting of atoms inside atoms (`min(⌊max(…)/2⌋, …)`); past it
/// the arithmetic reports [`Overflow`], like any unrepresentable count.
pub const MAX_DEPTH: usize = 16;

/// A factor of a [`Monomial`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    /// A named size: a model's `dim_param`, or a size that depends on data.
    Sym(Symbol),
    /// `⌊p / k⌋`, with `k ≥ 2` and `p` canonical (see the module docs).
    Floor(Arc<Poly>, i128),
    /// The least of two or more sizes, sorted, none bounding another.
    Min(Arc<[Poly]>),
    /// The greatest of two or more sizes, sorted, none bounding another.
    Max(Arc<[Poly]>),
}

impl Atom {
    pub(super) fn collect_symbols(&self, out: &mut Vec<Symbol>) {
        match self {
            Atom::Sym(s) => out.push(s.clone()),
            Atom::Floor(p, _) => p.collect_symbols(out),
            Atom::Min(args) | Atom::Max(args) => args.iter().for_each(|p| p.collect_symbols(out)),
        }
    }

    pub(super) fn binds_any(&self, bind: &dyn Fn(&str) -> Option<i128>) -> bool {
        match self {
            Atom::Sym(s) => bind(s).is_some(),
            Atom::Floor(p, _) => p.binds_any(bind),
            Atom::Min(args) | Atom::Max(args) => args.iter().any(|p| p.binds_any(bind)),
        }
    }

    pub(super) fn depth(&self) -> usize {
        match self {
            Atom::Sym(_) => 0,
            Atom::Floor(p, _) => 1 + p.depth(),
            Atom::Min(args) | Atom::Max(args) => {
                1 + args.iter().map(Poly::depth).max().unwrap_or(0)
            }
        }
    }

    /// The atom with bound symbols replaced, re-simplified.
    pub(super) fn substitute(&self, bind: &dyn Fn(&str) -> Option<i128>) -> Result<Poly, Overflow> {
        match self {
            Atom::Sym(s) => {
                Ok(bind(s).map_or_else(|| Poly::from_atom(self.clone()), Poly::constant))
            }
            Atom::Floor(p, k) => p.substitute(bind)?.floor_div(*k),
            Atom::Min(args) | Atom::Max(args) => {
                let args = args
                    .iter()
                    .map(|p| p.substitute(bind))
                    .collect::<Result<Vec<_>, _>>()?;
                Poly::extremum(args, matches!(self, Atom::Min(_)))
            }
        }
    }
}

/// Whether a symbol name can be printed bare and read back by
/// [`Poly::parse`]: a letter or `_`, then letters, digits, `_` or `.`.
pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// `p` as an operand of `/`: bare when it is one factor, else parenthesised.
struct Operand<'a>(&'a Poly);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        let single = p.denominator() == 1
            && p.terms().count() == 1
            && p.terms().all(|(m, c)| c == 1 || m.0.is_empty());
        if single {
            write!(f, "{p}")
        } else {
            write!(f, "({p})")
        }
    }
}

impl fmt::Display for Atom {
    /// The grammar [`Poly::parse`] reads: `h`, `"batch size"`,
    /// `floor((h + 1)/3)`, `ceil(h/32)` (for `⌊(h + 31)/32⌋`), `min(n, 1000)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Sym(s) if is_identifier(s) => f.write_str(s),
            Atom::Sym(s) => {
                f.write_str("\"")?;
                // `\"` and `\\` read back; control characters are escaped
                // so that a name cannot drive the terminal.
                for c in s.chars() {
                    write!(f, "{}", c.escape_debug())?;
                }
                f.write_str("\"")
            }
            Atom::Floor(p, k) => {
                // ⌊(q + k − 1)/k⌋ is ⌈q/k⌉: the form people write.
                let shifted = p.checked_sub(&Poly::constant(k - 1));
                match shifted {
                    Ok(q) if p.const_term() == k - 1 && !q.is_zero() => {
                        write!(f, "ceil({}/{k})", Operand(&q))
                    }
                    _ => write!(f, "floor({}/{k})", Operand(p)),
                }
            }
            Atom::Min(args) | Atom::Max(args) => {
                f.write_str(if matches!(self, Atom::Min(_)) {
                    "min("
                } else {
                    "max("
                })?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Poly {
    /// `⌊self / k⌋`, exact for every value of the symbols: a polynomial
    /// when `k` divides, else with a floor atom (see the module docs).
    /// Division by zero is an error.
    pub fn floor_div(&self, k: i128) -> Result<Poly, Overflow> {
        if k == 0 {
            return Err(Overflow);
        }
        if k < 0 {
            return self
                .checked_neg()?
                .floor_div(k.checked_neg().ok_or(Overflow)?);
        }
        if self.den() != 1 {
            return self
                .numerator()
                .floor_div(self.den().checked_mul(k).ok_or(Overflow)?);
        }
        if k == 1 {
            return Ok(self.clone());
        }
        if self.terms_list().is_empty() {
            return Ok(Poly::constant(self.const_term().div_euclid(k)));
        }
        // ⌊(⌊a/m⌋ + c)/k⌋ = ⌊(a + c·m)/(m·k)⌋.
        if let [(m, 1)] = &self.terms_list()[..] {
            if let Some(Atom::Floor(a, inner)) = m.single_atom() {
                let shift = self.const_term().checked_mul(*inner).ok_or(Overflow)?;
                return a
                    .checked_add(&Poly::constant(shift))?
                    .floor_div(inner.checked_mul(k).ok_or(Overflow)?);
            }
        }
        // Each coefficient c = k·q + r with 0 ≤ r < k: the q parts leave
        // the floor whole.
        let split = |c: i128| (c.div_euclid(k), c.rem_euclid(k));
        let (q0, r0) = split(self.const_term());
        let (mut q_terms, mut r_terms) = (Vec::new(), Vec::new());
        for (m, c) in self.terms_list().iter() {
            let (q, r) = split(*c);
            if q != 0 {
                q_terms.push((m.clone(), q));
            }
            if r != 0 {
                r_terms.push((m.clone(), r));
            }
        }
        let quotient = Poly::from_parts(q0, q_terms.into(), 1);
        let rest = Poly::from_parts(r0, r_terms.into(), 1);
        if rest.terms_list().is_empty() {
            // 0 ≤ r0 < k.
            return Ok(quotient);
        }
        // ⌊(g·s + c)/(g·k')⌋ = ⌊(s + ⌊c/g⌋)/k'⌋ for g dividing k and every
        // symbolic coefficient.
        let g = rest.terms_list().iter().fold(k, |g, (_, c)| gcd(g, *c));
        let floor = if g > 1 {
            let reduced = Poly::from_parts(
                rest.const_term() / g,
                rest.terms_list()
                    .iter()
                    .map(|(m, c)| (m.clone(), c / g))
                    .collect(),
                1,
            );
            reduced.floor_div(k / g)?
        } else {
            if rest.depth() >= MAX_DEPTH {
                return Err(Overflow);
            }
            Poly::from_atom(Atom::Floor(Arc::new(rest), k))
        };
        quotient.checked_add(&floor)
    }

    /// `⌈self / k⌉`, exact: `⌊(n + d·k − 1)/(d·k)⌋` for `self = n/d`.
    pub fn ceil_div(&self, k: i128) -> Result<Poly, Overflow> {
        if k < 0 {
            return self
                .checked_neg()?
                .ceil_div(k.checked_neg().ok_or(Overflow)?);
        }
        let dk = self.den().checked_mul(k).ok_or(Overflow)?;
        self.numerator()
            .checked_add(&Poly::constant(dk - 1))?
            .floor_div(dk)
    }

    /// `self mod k` with the sign of `k` (Python's `%`): `self − k·⌊self/k⌋`.
    pub fn rem_floor(&self, k: i128) -> Result<Poly, Overflow> {
        self.checked_sub(&self.floor_div(k)?.checked_scale(k)?)
    }

    /// `min(self, other)`, simplified when one bounds the other.
    pub fn minimum(&self, other: &Poly) -> Result<Poly, Overflow> {
        Poly::extremum(vec![self.clone(), other.clone()], true)
    }

    /// `max(self, other)`, simplified when one bounds the other.
    pub fn maximum(&self, other: &Poly) -> Result<Poly, Overflow> {
        Poly::extremum(vec![self.clone(), other.clone()], false)
    }

    /// The greatest of `args` (at least one), compared once pairwise
    /// rather than folded two at a time (which compares each pair again at
    /// every step).
    pub fn maximum_of(args: Vec<Poly>) -> Result<Poly, Overflow> {
        Poly::extremum(args, false)
    }

    /// The least (`is_min`) or greatest of `args` (at least one).
    pub(super) fn extremum(args: Vec<Poly>, is_min: bool) -> Result<Poly, Overflow> {
        let mut flat: Vec<Poly> = Vec::with_capacity(args.len());
        for a in args {
            match a.as_atom() {
                Some(Atom::Min(inner)) if is_min => flat.extend(inner.iter().cloned()),
                Some(Atom::Max(inner)) if !is_min => flat.extend(inner.iter().cloned()),
                _ => flat.push(a),
            }
        }
        flat.sort();
        flat.dedup();
        // Keep an argument only if no other is always at least as extreme.
        let keep: Vec<bool> = (0..flat.len())
            .map(|i| {
                !(0..flat.len()).any(|j| {
                    j != i && {
                        let (lo, hi) = if is_min {
                            (&flat[j], &flat[i])
                        } else {
                            (&flat[i], &flat[j])
                        };
                        // lo ≤ hi always; on ties keep the first.
                        hi.bounds(lo) && (!lo.bounds(hi) || j < i)
                    }
                })
            })
            .collect();
        let mut kept: Vec<Poly> = flat
            .into_iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
        if kept.len() == 1 {
            return Ok(kept.pop().expect("one argument"));
        }
        if kept.len() > MAX_TERMS || kept.iter().any(|p| p.depth() >= MAX_DEPTH) {
            return Err(Overflow);
        }
        let args: Arc<[Poly]> = kept.into();
        Ok(Poly::from_atom(if is_min {
            Atom::Min(args)
        } else {
            Atom::Max(args)
        }))
    }

    /// Whether `self ≥ other` for every value of the symbols (all atoms
    /// being sizes, ≥ 0): `self − other` has no negative coefficient once
    /// each negative `⌊(s + b)/k⌋` is set against a positive `⌊(s + a)/k⌋`,
    /// whose difference is at least `⌊(a − b)/k⌋`.
    pub fn bounds(&self, other: &Poly) -> bool {
        self.bounds_within(other, &mut BOUNDS_BUDGET.clone())
    }

    /// [`Poly::bounds`] spending at most `budget` comparisons: nested
    /// minima and maxima could otherwise make the search exponential. Out
    /// of budget the answer is "not known to bound", which only leaves an
    /// expression unsimplified.
    fn bounds_within(&self, other: &Poly, budget: &mut u32) -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        // max(a, …) ≥ x when a ≥ x; x ≥ min(a, …) when x ≥ a (so
        // min(max(a, b), a) = a).
        if let Some(Atom::Max(args)) = self.as_atom() {
            if args.iter().any(|a| a.bounds_within(other, budget)) {
                return true;
            }
        }
        if let Some(Atom::Min(args)) = other.as_atom() {
            if args.iter().any(|a| self.bounds_within(a, budget)) {
                return true;
            }
        }
        let Ok(d) = self.checked_sub(other) else {
            return false;
        };
        d.non_negative() || d.non_negative_through_extrema(budget)
    }

    /// `self ≥ 0` for every value when, with `c·min(a, …)` subtracted
    /// (or `c·max(a, …)` added), the rest covers `c` times one argument:
    /// `n − min(n, 2) ≥ 0` because `n ≥ n`.
    fn non_negative_through_extrema(&self, budget: &mut u32) -> bool {
        for (m, c) in self.terms_list().iter() {
            let (args, needs) = match (m.single_atom(), *c) {
                (Some(Atom::Min(args)), c) if c < 0 => (args, true),
                (Some(Atom::Max(args)), c) if c > 0 => (args, false),
                _ => continue,
            };
            let term = Poly::from_parts(0, vec![(m.clone(), *c)].into(), 1);
            let Ok(rest) = self.checked_sub(&term) else {
                return false;
            };
            let covered = args.iter().any(|a| {
                let Ok(scaled) = a.checked_scale(c.abs()) else {
                    return false;
                };
                if needs {
                    rest.bounds_within(&scaled, budget)
                } else {
                    rest.checked_add(&scaled).is_ok_and(|p| p.non_negative())
                }
            });
            if covered {
                return true;
            }
        }
        false
    }

    /// `self ≥ 0` term by term (see [`Poly::bounds`]).
    fn non_negative(&self) -> bool {
        let d = self;
        let mut slack = d.const_term();
        let mut negative: Vec<(&Monomial, i128)> = Vec::new();
        let mut positive: Vec<(&Monomial, i128)> = Vec::new();
        for (m, c) in d.terms_list().iter() {
            if *c < 0 {
                negative.push((m, *c));
            } else {
                positive.push((m, *c));
            }
        }
        'next: for (m, c) in negative {
            let Some(Atom::Floor(low, k)) = m.single_atom() else {
                return false;
            };
            for slot in positive.iter_mut() {
                let Some(Atom::Floor(high, k2)) = slot.0.single_atom() else {
                    continue;
                };
                if k2 == k && slot.1 >= -c && high.terms_list() == low.terms_list() {
                    slot.1 += c;
                    let least = (high.const_term() - low.const_term()).div_euclid(*k);
                    slack = match least.checked_mul(-c).and_then(|l| slack.checked_add(l)) {
                        Some(s) => s,
                        None => return false,
                    };
                    continue 'next;
                }
            }
            return false;
        }
        slack >= 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Poly {
        Poly::symbol(s)
    }

    fn c(v: i128) -> Poly {
        Poly::constant(v)
    }

    /// Every value of `h` in a range agrees with integer arithmetic.
    fn agrees(p: &Poly, f: impl Fn(i128) -> i128) {
        for h in 0..200 {
            let v = p.substitute(&|_| Some(h)).unwrap().as_constant();
            assert_eq!(v, Some(f(h)), "{p} at h={h}");
        }
    }

    #[test]
    fn floor_division_is_canonical_and_exact() {
        let h = sym("h");
        // A stride-2 window whose padding and extent leave ⌊(x − 1)/2⌋ + 1
        // (a 7×7 pad-3 convolution, a 3×3 pad-1 pool).
        let stride2 = |x: &Poly| {
            x.checked_sub(&c(1))
                .and_then(|p| p.floor_div(2))
                .and_then(|p| p.checked_add(&c(1)))
                .unwrap()
        };
        let conv = stride2(&h);
        assert_eq!(conv.to_string(), "ceil(h/2)");
        assert_eq!(conv, h.ceil_div(2).unwrap());
        agrees(&conv, |h| (h - 1).div_euclid(2) + 1);
        // Then a 3×3 stride-2 pad-1 pool, then three stride-2 stages.
        let mut x = conv;
        for _ in 0..4 {
            x = stride2(&x);
        }
        assert_eq!(x.to_string(), "ceil(h/32)");
        agrees(&x, |h| (h + 31).div_euclid(32));
        // Divisible parts leave the floor; common factors cancel.
        assert_eq!(
            h.checked_scale(2)
                .unwrap()
                .checked_add(&c(1))
                .unwrap()
                .floor_div(2)
                .unwrap(),
            h
        );
        let p = h
            .checked_scale(2)
            .unwrap()
            .checked_add(&c(3))
            .unwrap()
            .floor_div(4)
            .unwrap();
        assert_eq!(p.to_string(), "ceil(h/2)");
        let q = h.checked_scale(3).unwrap().floor_div(2).unwrap();
        assert_eq!(q.to_string(), "h + floor(h/2)");
        agrees(&q, |h| (3 * h).div_euclid(2));
        // Negative coefficients and divisors.
        let n = c(5).checked_sub(&h).unwrap().floor_div(3).unwrap();
        agrees(&n, |h| (5 - h).div_euclid(3));
        let m = h.floor_div(-4).unwrap();
        agrees(&m, |h| (-h).div_euclid(4));
        assert_eq!(h.floor_div(0), Err(Overflow));
        // A rational argument: ⌊h/2 − 1/2⌋ = ⌊(h − 1)/2⌋.
        let r = h
            .checked_sub(&c(1))
            .unwrap()
            .checked_div(2)
            .unwrap()
            .floor_div(1)
            .unwrap();
        agrees(&r, |h| (h - 1).div_euclid(2));
        // Products of floors stay exact.
        let w = sym("w");
        let area = h
            .ceil_div(2)
            .unwrap()
            .checked_mul(&w.ceil_div(2).unwrap())
            .unwrap()
            .checked_scale(64)
            .unwrap();
        assert_eq!(area.to_string(), "64*ceil(h/2)*ceil(w/2)");
        let v = area
            .substitute(&|s| Some(if s == "h" { 481 } else { 353 }))
            .unwrap();
        assert_eq!(v.as_constant(), Some(64 * 241 * 177));
        let rem = h.rem_floor(3).unwrap();
        agrees(&rem, |h| h.rem_euclid(3));
    }

    #[test]
    fn minimum_and_maximum_simplify_when_ordered() {
        let (n, k) = (sym("n"), c(1000));
        let m = k.minimum(&n).unwrap();
        assert_eq!(m.to_string(), "min(n, 1000)");
        assert_eq!(
            m.substitute(&|_| Some(424)).unwrap().as_constant(),
            Some(424)
        );
        assert_eq!(
            m.substitute(&|_| Some(5000)).unwrap().as_constant(),
            Some(1000)
        );
        assert_eq!(n.minimum(&n.checked_add(&c(1)).unwrap()).unwrap(), n);
        assert_eq!(n.maximum(&c(0)).unwrap(), n);
        assert_eq!(c(3).minimum(&c(-2)).unwrap(), c(-2));
        // Nested minima flatten; equal arguments merge.
        let h = sym("h");
        let three = m.minimum(&h).unwrap().minimum(&n).unwrap();
        assert_eq!(three.to_string(), "min(h, n, 1000)");
        // ⌊(h + 1)/2⌋ ≥ ⌊h/2⌋: a ceil-mode pool's clamp vanishes.
        let lo = h.floor_div(2).unwrap();
        let hi = h.ceil_div(2).unwrap();
        assert_eq!(lo.minimum(&hi).unwrap(), lo);
        assert_eq!(lo.maximum(&hi).unwrap(), hi);
        assert!(hi.bounds(&lo) && !lo.bounds(&hi));
        // ⌊h/2⌋ + 1 ≥ ⌊(h + 1)/2⌋: the pair differs by at least ⌊−1/2⌋ = −1.
        let lo1 = lo.checked_add(&c(1)).unwrap();
        assert!(lo1.bounds(&hi) && !lo.bounds(&hi));
        assert_eq!(lo1.minimum(&hi).unwrap(), hi);
        // Absorption: min(max(a, b), a) = a, max(min(a, b), a) = a.
        let a = h.checked_sub(&c(1)).unwrap();
        assert_eq!(a.maximum(&c(0)).unwrap().minimum(&a).unwrap(), a);
        assert_eq!(a.minimum(&c(0)).unwrap().maximum(&a).unwrap(), a);
        // Depth is bounded.
        let mut deep = h.clone();
        let mut failed = false;
        for i in 0..40 {
            match deep
                .minimum(&sym(&format!("s{i}")))
                .and_then(|p| p.checked_add(&c(1)))
                .and_then(|p| p.floor_div(3))
            {
                Ok(p) => deep = p,
                Err(_) => failed = true,
            }
        }
        assert!(failed, "nesting must be bounded");
    }

    #[test]
    fn names_that_are_not_identifiers_are_quoted() {
        assert_eq!(
            sym("batch size").checked_scale(2).unwrap().to_string(),
            "2*\"batch size\""
        );
        assert!(is_identifier("unk__0") && is_identifier("s0") && !is_identifier("0s"));
    }
}
