//! Integer polynomials over named symbols.
//!
//! A dimension such as `batch`, `2*seq` or `seq+1`, and a cost such as
//! `4089184256*batch`, are both polynomials with integer coefficients. Keeping
//! them symbolic lets one analysis answer for every batch size and sequence
//! length; binding the symbols later turns them into plain integers.
//!
//! A count can also be an integer-valued polynomial whose coefficients are
//! not integers: a causal attention head computes `seq·(seq + 1)/2` scores,
//! a whole number for every `seq`. Such a polynomial keeps one common
//! denominator ([`Poly::denominator`], 1 for all others) and is only made by
//! [`Poly::checked_div`]; substituting values divides it out exactly.
//!
//! All arithmetic is checked: a count that does not fit in 128 bits is an
//! [`Overflow`] error, never a wrapped number.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::shared::Shared;

mod atom;
mod parse;

pub use atom::Atom;
pub use parse::ParseError;

/// Bounds on symbolic expressions. Real dimensions are products of a few
/// symbols; a file that squares a symbolic size over and over would
/// otherwise grow expressions without bound, so past these limits the
/// arithmetic reports [`Overflow`] like any other unrepresentable count.
pub const MAX_DEGREE: u32 = 64;
pub const MAX_TERMS: usize = 256;

/// A symbol name such as `batch` or `seq`.
pub type Symbol = Arc<str>;

/// Arithmetic left the range of the integer type used for counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("integer overflow: a dimension or count exceeds the representable range")]
pub struct Overflow;

/// A product of atoms (symbols, or the floor divisions, minima and maxima
/// of [`Atom`]) raised to positive powers, sorted. The empty monomial is the
/// constant term.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Monomial(Shared<(Atom, u32)>);

impl Monomial {
    fn atom(a: Atom) -> Self {
        Monomial(vec![(a, 1)].into())
    }

    /// The single atom of a degree-1 monomial.
    fn single_atom(&self) -> Option<&Atom> {
        match &*self.0 {
            [(a, 1)] => Some(a),
            _ => None,
        }
    }

    fn is_constant(&self) -> bool {
        self.0.is_empty()
    }

    fn degree(&self) -> u32 {
        self.0.iter().map(|(_, e)| e).sum()
    }

    fn mul(&self, other: &Monomial) -> Result<Monomial, Overflow> {
        let mut out: Vec<(Atom, u32)> = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() || j < other.0.len() {
            match (self.0.get(i), other.0.get(j)) {
                (Some(a), Some(b)) if a.0 == b.0 => {
                    let exp = a.1.checked_add(b.1).filter(|&e| e <= MAX_DEGREE);
                    out.push((a.0.clone(), exp.ok_or(Overflow)?));
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a.0 < b.0 => {
                    out.push(a.clone());
                    i += 1;
                }
                (Some(_), Some(b)) => {
                    out.push(b.clone());
                    j += 1;
                }
                (Some(a), None) => {
                    out.push(a.clone());
                    i += 1;
                }
                (None, Some(b)) => {
                    out.push(b.clone());
                    j += 1;
                }
                (None, None) => break,
            }
        }
        Ok(Monomial(out.into()))
    }
}

impl fmt::Display for Monomial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, (sym, exp)) in self.0.iter().enumerate() {
            if k > 0 {
                f.write_str("*")?;
            }
            write!(f, "{sym}")?;
            if *exp > 1 {
                write!(f, "^{exp}")?;
            }
        }
        Ok(())
    }
}

/// The non-constant terms of a polynomial, sorted by monomial.
type Terms = Shared<(Monomial, i128)>;

/// A polynomial with `i128` coefficients over a common positive
/// denominator (1 unless made by [`Poly::checked_div`]).
///
/// Stored in 16 bytes: a whole number that fits `i64` (nearly every size
/// and count) inline, anything else as shared [`Parts`]. Every `Poly` is in
/// that canonical form, so equal polynomials have equal representations.
/// Sizes sit in every shape and counts in every node's report, three to a
/// cost: the inline form made a node's report 112 bytes smaller and
/// constant arithmetic a plain `i64` operation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Poly(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Int(i64),
    Big(Arc<Parts>),
}

/// A polynomial that is not a whole number in `i64`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Parts {
    constant: i128,
    /// Non-constant terms, sorted by monomial, no zero coefficients.
    terms: Terms,
    /// Divides every coefficient; reduced (no common factor with all of
    /// them), 1 for a zero polynomial.
    den: i128,
}

impl Parts {
    /// Adds `sign` (±1) times `other`'s coefficients to these in place when
    /// both have the same monomials and no coefficient becomes zero (the
    /// canonical form keeps none); `false`, with nothing changed, otherwise.
    fn add_same_terms(&mut self, other: &Parts, sign: i128) -> Result<bool, Overflow> {
        if self.terms.len() != other.terms.len()
            || self.terms.iter().zip(&other.terms).any(|(a, b)| a.0 != b.0)
        {
            return Ok(false);
        }
        let signed = |c: i128| c.checked_mul(sign).ok_or(Overflow);
        let constant = (self.constant)
            .checked_add(signed(other.constant)?)
            .ok_or(Overflow)?;
        // Every sum checked first, then written: nothing changes on `false`.
        for (a, b) in self.terms.iter().zip(&other.terms) {
            if a.1.checked_add(signed(b.1)?).ok_or(Overflow)? == 0 {
                return Ok(false);
            }
        }
        let Some(terms) = self.terms.get_mut() else {
            return Ok(false);
        };
        for (term, add) in terms.iter_mut().zip(&other.terms) {
            term.1 += add.1 * sign;
        }
        self.constant = constant;
        Ok(true)
    }
}

impl Default for Poly {
    fn default() -> Self {
        Poly::ZERO
    }
}

/// The terms of a polynomial without any.
static NO_TERMS: Terms = Shared::EMPTY;

impl Poly {
    /// The polynomial `(constant + terms) / den`, in canonical form.
    fn from_parts(constant: i128, terms: Terms, den: i128) -> Poly {
        if terms.is_empty() && den == 1 {
            if let Ok(c) = i64::try_from(constant) {
                return Poly(Repr::Int(c));
            }
        }
        Poly(Repr::Big(Arc::new(Parts {
            constant,
            terms,
            den,
        })))
    }

    /// The constant term (over [`Poly::denominator`]).
    fn const_term(&self) -> i128 {
        match &self.0 {
            Repr::Int(c) => i128::from(*c),
            Repr::Big(p) => p.constant,
        }
    }

    /// The non-constant terms, sorted by monomial.
    fn terms_list(&self) -> &Terms {
        match &self.0 {
            Repr::Int(_) => &NO_TERMS,
            Repr::Big(p) => &p.terms,
        }
    }

    fn den(&self) -> i128 {
        match &self.0 {
            Repr::Int(_) => 1,
            Repr::Big(p) => p.den,
        }
    }
}

/// The order of the parts: constant, terms, denominator.
impl Ord for Poly {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0) {
            return a.cmp(b);
        }
        (self.const_term(), self.terms_list(), self.den()).cmp(&(
            other.const_term(),
            other.terms_list(),
            other.den(),
        ))
    }
}

impl PartialOrd for Poly {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Poly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poly")
            .field("constant", &self.const_term())
            .field("terms", self.terms_list())
            .field("den", &self.den())
            .finish()
    }
}

impl Poly {
    pub const ZERO: Poly = Poly(Repr::Int(0));

    pub fn constant(c: i128) -> Self {
        Poly::from_parts(c, Shared::EMPTY, 1)
    }

    pub fn symbol(name: &str) -> Self {
        Poly::from_atom(Atom::Sym(Arc::from(name)))
    }

    /// The polynomial that is one atom.
    pub(crate) fn from_atom(a: Atom) -> Self {
        Poly::from_parts(0, vec![(Monomial::atom(a), 1)].into(), 1)
    }

    /// The atom this polynomial is, if it is exactly one atom (coefficient
    /// 1, no constant).
    pub fn as_atom(&self) -> Option<&Atom> {
        match (self.const_term(), self.den(), &self.terms_list()[..]) {
            (0, 1, [(m, 1)]) => m.single_atom(),
            _ => None,
        }
    }

    /// Whether both are one polynomial, shared (one a copy of the other),
    /// not merely equal: told by address, so that what is remembered for a
    /// polynomial can be found again without hashing its terms.
    pub fn is_same(&self, other: &Poly) -> bool {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) => a == b,
            (Repr::Big(a), Repr::Big(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The value if the polynomial has no symbols (and is a whole number).
    pub fn as_constant(&self) -> Option<i128> {
        if let Repr::Int(c) = self.0 {
            return Some(i128::from(c));
        }
        (self.terms_list().is_empty() && self.den() == 1).then_some(self.const_term())
    }

    /// The common denominator of the coefficients [`Poly::terms`] gives:
    /// 1 for an integer polynomial.
    pub fn denominator(&self) -> i128 {
        self.den()
    }

    /// Integer coefficients (the numerators), `den` apart.
    fn numerator(&self) -> Poly {
        Poly::from_parts(self.const_term(), self.terms_list().clone(), 1)
    }

    /// `self` (integer coefficients) over `den`, reduced.
    fn over(self, den: i128) -> Result<Poly, Overflow> {
        let mut g = den;
        for (_, c) in self.terms_list().iter() {
            g = gcd(g, *c);
        }
        g = gcd(g, self.const_term());
        if g == 0 {
            return Ok(Poly::ZERO);
        }
        let g = if den < 0 { -g } else { g };
        let constant = self.const_term() / g;
        let terms = if g != 1 {
            self.terms_list()
                .iter()
                .map(|(m, c)| (m.clone(), c / g))
                .collect()
        } else {
            self.terms_list().clone()
        };
        let den = den.checked_div(g).ok_or(Overflow)?;
        Ok(Poly::from_parts(constant, terms, den))
    }

    /// Division by a non-zero integer: exact, the result keeping a
    /// denominator when the coefficients are not divisible (`(seq^2 +
    /// seq)/2`). For counts; a dimension uses [`Poly::div_exact`].
    pub fn checked_div(&self, k: i128) -> Result<Poly, Overflow> {
        if k == 0 {
            return Err(Overflow);
        }
        self.numerator()
            .over(self.den().checked_mul(k).ok_or(Overflow)?)
    }

    /// The value as `i64` if constant and in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_constant().and_then(|c| i64::try_from(c).ok())
    }

    pub fn is_zero(&self) -> bool {
        self.const_term() == 0 && self.terms_list().is_empty()
    }

    /// Symbols appearing in the polynomial, inside floor divisions, minima
    /// and maxima too, sorted and deduplicated.
    pub fn symbols(&self) -> Vec<Symbol> {
        let mut out: Vec<Symbol> = Vec::new();
        self.collect_symbols(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_symbols(&self, out: &mut Vec<Symbol>) {
        for (m, _) in self.terms_list().iter() {
            for (a, _) in &m.0 {
                a.collect_symbols(out);
            }
        }
    }

    /// Nesting depth of atoms: 0 for a polynomial in plain symbols.
    fn depth(&self) -> usize {
        self.terms_list()
            .iter()
            .flat_map(|(m, _)| m.0.iter().map(|(a, _)| a.depth()))
            .max()
            .unwrap_or(0)
    }

    /// Iterates over `(monomial, coefficient)` pairs, highest degree first,
    /// constant term last; the coefficients are over
    /// [`Poly::denominator`]. Used by renderers.
    pub fn terms(&self) -> impl Iterator<Item = (&Monomial, i128)> {
        let mut v: Vec<(&Monomial, i128)> =
            self.terms_list().iter().map(|(m, c)| (m, *c)).collect();
        v.sort_by(|a, b| b.0.degree().cmp(&a.0.degree()).then_with(|| a.0.cmp(b.0)));
        v.into_iter()
            .chain((self.const_term() != 0).then_some((&EMPTY_MONOMIAL, self.const_term())))
    }

    fn from_map(map: BTreeMap<Monomial, i128>) -> Self {
        let mut constant = 0;
        let mut terms = Vec::with_capacity(map.len());
        for (m, c) in map {
            if c == 0 {
                continue;
            }
            if m.is_constant() {
                constant = c;
            } else {
                terms.push((m, c));
            }
        }
        Poly::from_parts(constant, terms.into(), 1)
    }

    pub fn checked_add(&self, other: &Poly) -> Result<Poly, Overflow> {
        self.combined(other, 1)
    }

    /// `self + sign·other` (`sign` ±1), the sum of the terms merged in one
    /// pass: a difference needs no negated copy of `other` first (a live
    /// byte count less a freed buffer, a million times in `--memory`).
    fn combined(&self, other: &Poly, sign: i128) -> Result<Poly, Overflow> {
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0) {
            let c = if sign > 0 {
                a.checked_add(*b)
            } else {
                a.checked_sub(*b)
            };
            if let Some(c) = c {
                return Ok(Poly(Repr::Int(c)));
            }
        }
        // Zero is `Int(0)` in the canonical form. A sum that starts from
        // zero then shares its first term instead of copying it (a node's
        // bytes, a million times over in `--memory`).
        if let Repr::Int(0) = other.0 {
            return Ok(self.clone());
        }
        if let (Repr::Int(0), 1) = (&self.0, sign) {
            return Ok(other.clone());
        }
        if self.den() != 1 || other.den() != 1 {
            // Over the least common denominator.
            let l = (self.den() / gcd(self.den(), other.den()))
                .checked_mul(other.den())
                .ok_or(Overflow)?;
            let a = self.numerator().checked_scale(l / self.den())?;
            let b = other.numerator().checked_scale(sign * (l / other.den()))?;
            return a.checked_add(&b)?.over(l);
        }
        let signed = |c: i128| c.checked_mul(sign).ok_or(Overflow);
        let constant = self
            .const_term()
            .checked_add(signed(other.const_term())?)
            .ok_or(Overflow)?;
        if other.terms_list().is_empty() {
            return Ok(Poly::from_parts(constant, self.terms_list().clone(), 1));
        }
        // Both term lists are sorted by monomial: merge them in one pass.
        let (a, b) = (&self.terms_list(), &other.terms_list());
        let mut terms = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let order = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    terms.push(a[i].clone());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    terms.push((b[j].0.clone(), signed(b[j].1)?));
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    let c = a[i].1.checked_add(signed(b[j].1)?).ok_or(Overflow)?;
                    if c != 0 {
                        terms.push((a[i].0.clone(), c));
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        if terms.len() > MAX_TERMS {
            return Err(Overflow);
        }
        Ok(Poly::from_parts(constant, terms.into(), 1))
    }

    /// `self + other` into `self`: in place, without allocating, when this
    /// sum is held nowhere else and `other` has the same monomials (a
    /// running total of nodes' counts, each `c·batch·seq`), else as
    /// [`Poly::checked_add`].
    #[inline]
    pub fn checked_add_assign(&mut self, other: &Poly) -> Result<(), Overflow> {
        // Two whole numbers, as a bound graph's every count is: added here,
        // without the calls below (three a node, for a running total).
        if let (Repr::Int(sum), Repr::Int(add)) = (&mut self.0, &other.0) {
            if let Some(c) = sum.checked_add(*add) {
                *sum = c;
                return Ok(());
            }
        }
        if self.combine_in_place(other, 1)? {
            return Ok(());
        }
        *self = self.checked_add(other)?;
        Ok(())
    }

    /// `self − other` into `self`, in place as [`Poly::checked_add_assign`]
    /// adds (a running count of live bytes, less a freed buffer).
    pub fn checked_sub_assign(&mut self, other: &Poly) -> Result<(), Overflow> {
        if self.combine_in_place(other, -1)? {
            return Ok(());
        }
        *self = self.checked_sub(other)?;
        Ok(())
    }

    /// `self + sign·other` done in place, when it can be (see
    /// [`Parts::add_same_terms`]); whether it was.
    fn combine_in_place(&mut self, other: &Poly, sign: i128) -> Result<bool, Overflow> {
        if let (Repr::Big(sum), Repr::Big(add)) = (&mut self.0, &other.0) {
            if let Some(sum) = Arc::get_mut(sum) {
                if sum.den == 1 && add.den == 1 {
                    return sum.add_same_terms(add, sign);
                }
            }
        }
        Ok(false)
    }

    /// The larger coefficient of each term (missing terms are 0): a bound
    /// on both polynomials for every non-negative value of the symbols.
    /// Used for an If whose branch costs cross.
    pub fn termwise_max(&self, other: &Poly) -> Poly {
        if self.den() != other.den() {
            // Compare over a common denominator; past i128 there is no
            // bound to give, and the larger-looking one is kept.
            let l = self.den().checked_mul(other.den());
            let scaled = l.and_then(|l| {
                let a = self.numerator().checked_scale(l / self.den()).ok()?;
                let b = other.numerator().checked_scale(l / other.den()).ok()?;
                a.termwise_max(&b).over(l).ok()
            });
            return scaled.unwrap_or_else(|| self.clone());
        }
        let mut map: BTreeMap<Monomial, i128> = BTreeMap::new();
        for (m, c) in self.terms_list().iter().chain(other.terms_list().iter()) {
            let e = map.entry(m.clone()).or_insert(0);
            *e = (*e).max(*c);
        }
        for e in map.values_mut() {
            *e = (*e).max(0);
        }
        let p = Poly::from_map(map);
        let constant = self.const_term().max(other.const_term()).max(0);
        let p = Poly::from_parts(constant, p.terms_list().clone(), 1);
        let den = self.den();
        p.over(den).unwrap_or_else(|_| self.clone())
    }

    /// Whether `self − other` has no negative coefficient: then `self ≥
    /// other` for every non-negative value of the symbols.
    pub fn dominates(&self, other: &Poly) -> bool {
        match self.checked_sub(other) {
            Ok(d) => d.terms().all(|(_, c)| c >= 0),
            Err(_) => false,
        }
    }

    pub fn checked_neg(&self) -> Result<Poly, Overflow> {
        self.checked_scale(-1)
    }

    pub fn checked_sub(&self, other: &Poly) -> Result<Poly, Overflow> {
        self.combined(other, -1)
    }

    pub fn checked_scale(&self, k: i128) -> Result<Poly, Overflow> {
        if let (Repr::Int(a), Ok(k)) = (&self.0, i64::try_from(k)) {
            if let Some(c) = a.checked_mul(k) {
                return Ok(Poly(Repr::Int(c)));
            }
        }
        if k == 0 {
            return Ok(Poly::ZERO);
        }
        let constant = self.const_term().checked_mul(k).ok_or(Overflow)?;
        let terms = self
            .terms_list()
            .iter()
            .map(|(m, c)| Ok((m.clone(), c.checked_mul(k).ok_or(Overflow)?)))
            .collect::<Result<Vec<_>, Overflow>>()?;
        let p = Poly::from_parts(constant, terms.into(), 1);
        if self.den() == 1 {
            Ok(p)
        } else {
            p.over(self.den())
        }
    }

    pub fn checked_mul(&self, other: &Poly) -> Result<Poly, Overflow> {
        if self.den() != 1 || other.den() != 1 {
            let den = self.den().checked_mul(other.den()).ok_or(Overflow)?;
            return self.numerator().checked_mul(&other.numerator())?.over(den);
        }
        if let Some(k) = other.as_constant() {
            return self.checked_scale(k);
        }
        if let Some(k) = self.as_constant() {
            return other.checked_scale(k);
        }
        let mut map: BTreeMap<Monomial, i128> = BTreeMap::new();
        let lhs = self.all_terms();
        let rhs = other.all_terms();
        for (ma, ca) in &lhs {
            for (mb, cb) in &rhs {
                let c = ca.checked_mul(*cb).ok_or(Overflow)?;
                let e = map.entry(ma.mul(mb)?).or_insert(0);
                *e = e.checked_add(c).ok_or(Overflow)?;
            }
        }
        if map.len() > MAX_TERMS {
            return Err(Overflow);
        }
        Ok(Poly::from_map(map))
    }

    fn all_terms(&self) -> Vec<(Monomial, i128)> {
        let mut v = self.terms_list().to_vec();
        if self.const_term() != 0 {
            v.push((Monomial::default(), self.const_term()));
        }
        v
    }

    /// Exact division by an integer: `Some` only when every coefficient is
    /// divisible, so `(2*seq)/2 = seq` but `seq/2` stays unknown.
    pub fn div_exact(&self, k: i128) -> Option<Poly> {
        if k == 0 || self.den() != 1 {
            return None;
        }
        if self.const_term() % k != 0 || self.terms_list().iter().any(|(_, c)| c % k != 0) {
            return None;
        }
        Some(Poly::from_parts(
            self.const_term() / k,
            self.terms_list()
                .iter()
                .map(|(m, c)| (m.clone(), c / k))
                .collect(),
            1,
        ))
    }

    /// Exact division by another polynomial when the quotient is obvious:
    /// a constant divisor, or the divisor being a single term that divides
    /// every term (e.g. `(batch*seq) / seq = batch`).
    pub fn div_poly_exact(&self, d: &Poly) -> Option<Poly> {
        if let Some(k) = d.as_constant() {
            return self.div_exact(k);
        }
        if self == d {
            return Some(Poly::constant(1));
        }
        if d.const_term() != 0
            || d.terms_list().len() != 1
            || self.const_term() != 0
            || self.den() != 1
            || d.den() != 1
        {
            return None;
        }
        let (dm, dc) = &d.terms_list()[0];
        let mut terms = Vec::with_capacity(self.terms_list().len());
        let mut constant = 0;
        for (m, c) in self.terms_list().iter() {
            if c % dc != 0 {
                return None;
            }
            let q = monomial_div(m, dm)?;
            if q.is_constant() {
                constant = c / dc;
            } else {
                terms.push((q, c / dc));
            }
        }
        terms.sort();
        Some(Poly::from_parts(constant, terms.into(), 1))
    }

    /// Replaces bound symbols by their values; unbound symbols stay. A
    /// floor division, minimum or maximum whose symbols are all bound
    /// becomes its exact integer value.
    #[inline]
    pub fn substitute(&self, bind: &dyn Fn(&str) -> Option<i128>) -> Result<Poly, Overflow> {
        // A whole number has no symbol to bind (every count of a bound
        // graph, three a node).
        if let Repr::Int(_) = self.0 {
            return Ok(self.clone());
        }
        self.substitute_symbols(bind)
    }

    fn substitute_symbols(&self, bind: &dyn Fn(&str) -> Option<i128>) -> Result<Poly, Overflow> {
        if !self.binds_any(bind) {
            return Ok(self.clone());
        }
        if self.den() != 1 {
            return self.numerator().substitute(bind)?.over(self.den());
        }
        let mut out = Poly::constant(self.const_term());
        for (m, c) in self.terms_list().iter() {
            let mut term = Poly::constant(*c);
            for (atom, exp) in &m.0 {
                let factor = match atom {
                    Atom::Sym(sym) => match bind(sym) {
                        Some(v) => Poly::constant(checked_pow(v, *exp)?),
                        None => Poly::from_parts(
                            0,
                            vec![(Monomial(vec![(atom.clone(), *exp)].into()), 1)].into(),
                            1,
                        ),
                    },
                    _ => atom.substitute(bind)?.checked_pow(*exp)?,
                };
                term = term.checked_mul(&factor)?;
            }
            out = out.checked_add(&term)?;
        }
        Ok(out)
    }

    /// Whether `bind` gives a value to any symbol of the polynomial (inside
    /// floors, minima and maxima too): when not, substituting changes
    /// nothing, and the common case of an analysis without bindings costs
    /// no rebuilding.
    #[inline]
    pub fn binds_any(&self, bind: &dyn Fn(&str) -> Option<i128>) -> bool {
        // A whole number (most dims) names no symbol.
        matches!(self.0, Repr::Big(_)) && self.binds_any_term(bind)
    }

    fn binds_any_term(&self, bind: &dyn Fn(&str) -> Option<i128>) -> bool {
        self.terms_list()
            .iter()
            .any(|(m, _)| m.0.iter().any(|(atom, _)| atom.binds_any(bind)))
    }

    /// The value with every symbol at 1, as a float: how reports compare
    /// and rank symbolic counts (exact when the counts compared share
    /// their symbols, as `× batch` does). 0 past the count range.
    pub fn at_one(&self) -> f64 {
        if let Some(c) = self.as_constant() {
            return c as f64;
        }
        self.substitute(&|_| Some(1))
            .ok()
            .and_then(|q| q.as_constant())
            .map_or(0.0, |c| c as f64)
    }

    /// `self^exp` by repeated multiplication (exponents are small: they
    /// come from monomials, at most [`MAX_DEGREE`]).
    pub fn checked_pow(&self, exp: u32) -> Result<Poly, Overflow> {
        if exp > MAX_DEGREE {
            return Err(Overflow);
        }
        let mut out = Poly::constant(1);
        for _ in 0..exp {
            out = out.checked_mul(self)?;
        }
        Ok(out)
    }
}

static EMPTY_MONOMIAL: Monomial = Monomial(Shared::EMPTY);

fn monomial_div(a: &Monomial, b: &Monomial) -> Option<Monomial> {
    let mut out = a.0.to_vec();
    for (sym, exp) in &b.0 {
        let pos = out.iter().position(|(s, _)| s == sym)?;
        if out[pos].1 < *exp {
            return None;
        }
        out[pos].1 -= exp;
        if out[pos].1 == 0 {
            out.remove(pos);
        }
    }
    Some(Monomial(out.into()))
}

fn checked_pow(v: i128, exp: u32) -> Result<i128, Overflow> {
    v.checked_pow(exp).ok_or(Overflow)
}

/// Greatest common divisor, non-negative; `gcd(0, 0) = 0`. A divisor of
/// 2^127 (only for `i128::MIN` operands) is taken as 1: reducing less is
/// still exact.
pub(crate) fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i128::try_from(a).unwrap_or(1)
}

impl From<i64> for Poly {
    fn from(v: i64) -> Self {
        Poly::constant(v as i128)
    }
}

impl fmt::Display for Poly {
    /// Exact form, e.g. `2*seq + 1` or `4089184256*batch`; with a
    /// denominator `(9*seq^2 + 9*seq)/2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.den() != 1 {
            return write!(f, "({})/{}", self.numerator(), self.den());
        }
        for (k, (m, c)) in self.terms().enumerate() {
            let (sign, mag) = if c < 0 { ("-", -c) } else { ("+", c) };
            if k == 0 {
                if sign == "-" {
                    f.write_str("-")?;
                }
            } else {
                write!(f, " {sign} ")?;
            }
            match (m.is_constant(), mag) {
                (true, _) => write!(f, "{mag}")?,
                (false, 1) => write!(f, "{m}")?,
                (false, _) => write!(f, "{mag}*{m}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Poly {
        Poly::symbol(s)
    }

    /// A difference made in one pass is the sum with the negation, overflow
    /// and all: integers at the edges of `i64` and `i128`, symbols, terms
    /// that cancel, denominators.
    #[test]
    fn difference_is_the_sum_with_the_negation() {
        let batch = sym("batch");
        let seq = sym("seq");
        let half = batch.checked_mul(&seq).unwrap().checked_div(2).unwrap();
        let polys = [
            Poly::ZERO,
            Poly::constant(5),
            Poly::constant(i64::MIN.into()),
            Poly::constant(i64::MAX.into()),
            Poly::constant(i128::MAX),
            Poly::constant(i128::MIN + 1),
            batch.clone(),
            batch.checked_scale(256).unwrap(),
            batch
                .checked_add(&seq)
                .unwrap()
                .checked_add(&Poly::constant(3))
                .unwrap(),
            seq.checked_scale(i128::MIN + 1).unwrap(),
            half.clone(),
            half.checked_add(&Poly::constant(1)).unwrap(),
        ];
        for p in &polys {
            for q in &polys {
                let negated = q.checked_neg().and_then(|n| p.checked_add(&n));
                assert_eq!(p.checked_sub(q), negated, "{p:?} - {q:?}");
                let mut running = p.clone();
                let in_place = running.checked_sub_assign(q).map(|()| running);
                assert_eq!(in_place, negated, "{p:?} -= {q:?}");
            }
        }
    }

    /// Zero plus a polynomial is that polynomial, shared rather than
    /// copied; either side, and a zero made by cancelling too.
    #[test]
    fn adding_zero_shares_the_other_side() {
        let p = sym("batch").checked_scale(256).unwrap();
        let cancelled = p.checked_sub(&p).unwrap();
        for zero in [Poly::ZERO, Poly::constant(0), cancelled] {
            for sum in [zero.checked_add(&p).unwrap(), p.checked_add(&zero).unwrap()] {
                assert_eq!(sum.to_string(), "256*batch");
                let (Repr::Big(a), Repr::Big(b)) = (&sum.0, &p.0) else {
                    panic!("a symbolic polynomial has parts");
                };
                assert!(Arc::ptr_eq(a, b));
            }
            let mut running = zero.clone();
            running.checked_add_assign(&p).unwrap();
            running.checked_add_assign(&p).unwrap();
            assert_eq!(running.to_string(), "512*batch");
            assert_eq!(
                p.to_string(),
                "256*batch",
                "the shared side is left as it was"
            );
        }
        assert_eq!(
            Poly::ZERO.checked_add(&Poly::constant(7)),
            Ok(Poly::constant(7))
        );
    }

    /// A running sum adds in place when it can, and always equals what
    /// `checked_add` gives: the same terms, a term that cancels, new
    /// terms, a sum another holder shares, an overflow.
    #[test]
    fn add_assign_equals_add() {
        let lin = |c: i128, k: i128| {
            sym("batch")
                .checked_scale(c)
                .unwrap()
                .checked_add(&Poly::constant(k))
                .unwrap()
        };
        let address = |p: &Poly| match &p.0 {
            Repr::Big(parts) => Arc::as_ptr(parts),
            Repr::Int(_) => std::ptr::null(),
        };
        let mut sum = lin(2, 3);
        let before = address(&sum);
        sum.checked_add_assign(&lin(5, 1)).unwrap();
        assert_eq!(sum.to_string(), "7*batch + 4");
        assert_eq!(address(&sum), before, "added in place");
        let shared = sum.clone();
        sum.checked_add_assign(&lin(1, 0)).unwrap();
        assert_eq!(sum.to_string(), "8*batch + 4");
        assert_eq!(shared.to_string(), "7*batch + 4", "a shared sum is copied");
        sum.checked_add_assign(&sym("seq")).unwrap();
        assert_eq!(sum.to_string(), "8*batch + seq + 4");
        sum.checked_add_assign(&lin(-8, -4)).unwrap();
        assert_eq!(sum, sym("seq"), "canonical after a term cancels");
        let mut zero = lin(3, 0);
        zero.checked_add_assign(&lin(-3, 0)).unwrap();
        assert_eq!(zero.as_constant(), Some(0));
        let mut big = lin(i128::MAX, 0);
        assert_eq!(big.checked_add_assign(&lin(1, 0)), Err(Overflow));
        let mut live = lin(10, 6);
        let before = address(&live);
        live.checked_sub_assign(&lin(3, 1)).unwrap();
        assert_eq!(live.to_string(), "7*batch + 5");
        assert_eq!(address(&live), before, "subtracted in place");
        live.checked_sub_assign(&lin(7, 5)).unwrap();
        assert_eq!(live.as_constant(), Some(0));
        let mut low = lin(-i128::MAX, 0);
        assert_eq!(low.checked_sub_assign(&lin(2, 0)), Err(Overflow));
    }

    #[test]
    fn constants_stay_constant() {
        let p = Poly::constant(6).checked_mul(&Poly::constant(7)).unwrap();
        assert_eq!(p.as_constant(), Some(42));
        assert_eq!(p.to_string(), "42");
    }

    #[test]
    fn symbolic_arithmetic_and_display() {
        let seq = sym("seq");
        let two_seq_plus_one = seq
            .checked_scale(2)
            .unwrap()
            .checked_add(&Poly::constant(1))
            .unwrap();
        assert_eq!(two_seq_plus_one.to_string(), "2*seq + 1");
        let sq = seq.checked_mul(&seq).unwrap();
        assert_eq!(sq.to_string(), "seq^2");
        let mixed = sym("batch")
            .checked_mul(&seq)
            .unwrap()
            .checked_scale(768)
            .unwrap();
        assert_eq!(mixed.to_string(), "768*batch*seq");
        let zero = seq.checked_sub(&seq).unwrap();
        assert!(zero.is_zero());
    }

    #[test]
    fn division_only_when_exact() {
        let two_seq = sym("seq").checked_scale(2).unwrap();
        assert_eq!(two_seq.div_exact(2), Some(sym("seq")));
        assert_eq!(sym("seq").div_exact(2), None);
        let bs = sym("batch").checked_mul(&sym("seq")).unwrap();
        assert_eq!(bs.div_poly_exact(&sym("seq")), Some(sym("batch")));
        assert_eq!(bs.div_poly_exact(&bs), Some(Poly::constant(1)));
        assert_eq!(sym("batch").div_poly_exact(&sym("seq")), None);
    }

    /// A causal head's scores, seq·(seq + 1)/2, times an odd per-score cost
    /// (261) and 3 heads: (783·seq² + 783·seq)/2, a whole number for every
    /// seq. It adds, multiplies and compares like any count, and binding
    /// seq divides the denominator out: 783·(16² + 16)/2 = 106,488.
    #[test]
    fn integer_valued_polynomials_keep_a_denominator() {
        let seq = sym("seq");
        let tri = seq
            .checked_mul(&seq.checked_add(&Poly::constant(1)).unwrap())
            .unwrap()
            .checked_div(2)
            .unwrap();
        assert_eq!(tri.to_string(), "(seq^2 + seq)/2");
        assert_eq!(tri.denominator(), 2);
        assert_eq!(tri.as_constant(), None);
        let cost = tri.checked_scale(261 * 3).unwrap();
        assert_eq!(cost.to_string(), "(783*seq^2 + 783*seq)/2");
        assert_eq!(
            cost.substitute(&|_| Some(16)).unwrap().as_constant(),
            Some(106_488)
        );
        // Doubling clears the denominator; adding an integer count keeps it.
        assert_eq!(
            cost.checked_scale(2).unwrap().to_string(),
            "783*seq^2 + 783*seq"
        );
        let total = cost.checked_add(&seq.checked_scale(5).unwrap()).unwrap();
        assert_eq!(total.to_string(), "(783*seq^2 + 793*seq)/2");
        assert_eq!(
            total.checked_sub(&cost).unwrap(),
            seq.checked_scale(5).unwrap()
        );
        // Products multiply the denominators, then reduce.
        let sq = tri.checked_mul(&tri).unwrap();
        assert_eq!(sq.denominator(), 4);
        assert_eq!(sq.substitute(&|_| Some(3)).unwrap().as_constant(), Some(36));
        assert!(cost.dominates(&tri) && !tri.dominates(&cost));
        // Over the common denominator: max(seq² + seq, 2·seq) term by term.
        assert_eq!(tri.termwise_max(&seq).to_string(), "(seq^2 + 2*seq)/2");
        // A dimension never takes a denominator: div_exact refuses it.
        assert_eq!(tri.div_exact(1), None);
        assert_eq!(Poly::constant(3).checked_div(0), Err(Overflow));
        assert_eq!(sym("x").checked_div(-2).unwrap().to_string(), "(-x)/2");
    }

    #[test]
    fn substitution_binds_some_symbols() {
        let p = sym("batch")
            .checked_mul(&sym("seq"))
            .unwrap()
            .checked_add(&sym("seq"))
            .unwrap();
        let bound = p.substitute(&|s| (s == "batch").then_some(8)).unwrap();
        assert_eq!(bound.to_string(), "9*seq");
        let full = p.substitute(&|_| Some(10)).unwrap();
        assert_eq!(full.as_constant(), Some(110));
    }

    #[test]
    fn runaway_expressions_are_bounded() {
        // Squaring a symbol repeatedly: seq^64 is allowed, seq^128 is not.
        let mut p = sym("seq");
        for _ in 0..6 {
            p = p.checked_mul(&p).unwrap();
        }
        assert_eq!(p.to_string(), "seq^64");
        assert_eq!(p.checked_mul(&p), Err(Overflow));
        // (a + b + c + d)^k grows its terms; past MAX_TERMS it is refused.
        let s = ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .fold(Poly::ZERO, |acc, n| acc.checked_add(&sym(n)).unwrap());
        let sq = s.checked_mul(&s).unwrap();
        assert_eq!(sq.checked_mul(&sq).map(|_| ()), Err(Overflow));
    }

    #[test]
    fn overflow_is_reported() {
        let big = Poly::constant(i128::MAX / 2 + 1);
        assert_eq!(big.checked_scale(2), Err(Overflow));
        let s = sym("x").checked_scale(i128::MAX).unwrap();
        assert_eq!(s.checked_add(&sym("x")), Err(Overflow));
    }
}
