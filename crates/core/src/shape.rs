//! Dimensions, shapes, and the shape arithmetic shared by every operator rule.

use std::fmt;

use crate::poly::{Overflow, Poly};

/// One dimension of a tensor: a known polynomial (an integer, or an
/// expression in symbols such as `batch` or `2*seq`), or unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(Poly),
    Unknown,
}

impl Dim {
    pub fn int(v: i64) -> Dim {
        Dim::Known(Poly::from(v))
    }

    pub fn sym(name: &str) -> Dim {
        Dim::Known(Poly::symbol(name))
    }

    /// Whether this is the symbol `name` alone: `== Dim::sym(name)`
    /// without making a polynomial to compare with.
    pub fn is_symbol(&self, name: &str) -> bool {
        matches!(
            self.poly().and_then(Poly::as_atom),
            Some(crate::poly::Atom::Sym(s)) if **s == *name
        )
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Dim::Known(p) => p.as_i64(),
            Dim::Unknown => None,
        }
    }

    pub fn poly(&self) -> Option<&Poly> {
        match self {
            Dim::Known(p) => Some(p),
            Dim::Unknown => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Dim::Known(_))
    }

    fn zip(
        &self,
        other: &Dim,
        f: impl FnOnce(&Poly, &Poly) -> Result<Poly, Overflow>,
    ) -> Result<Dim, Overflow> {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => Ok(Dim::Known(f(a, b)?)),
            _ => Ok(Dim::Unknown),
        }
    }

    pub fn add(&self, other: &Dim) -> Result<Dim, Overflow> {
        self.zip(other, Poly::checked_add)
    }

    pub fn sub(&self, other: &Dim) -> Result<Dim, Overflow> {
        self.zip(other, Poly::checked_sub)
    }

    pub fn mul(&self, other: &Dim) -> Result<Dim, Overflow> {
        self.zip(other, Poly::checked_mul)
    }

    /// `⌊self / k⌋`, exact on symbolic sizes too (`⌊(h + 1)/2⌋`).
    pub fn floor_div(&self, k: i128) -> Result<Dim, Overflow> {
        match self {
            Dim::Known(p) => Ok(Dim::Known(p.floor_div(k)?)),
            Dim::Unknown => Ok(Dim::Unknown),
        }
    }

    /// `⌈self / k⌉`, exact on symbolic sizes too.
    pub fn ceil_div(&self, k: i128) -> Result<Dim, Overflow> {
        match self {
            Dim::Known(p) => Ok(Dim::Known(p.ceil_div(k)?)),
            Dim::Unknown => Ok(Dim::Unknown),
        }
    }

    /// The smaller of two sizes (`min(1000, n)` when they cannot be ordered).
    pub fn min(&self, other: &Dim) -> Result<Dim, Overflow> {
        self.zip(other, Poly::minimum)
    }

    /// The larger of two sizes.
    pub fn max(&self, other: &Dim) -> Result<Dim, Overflow> {
        self.zip(other, Poly::maximum)
    }

    /// Exact division; unknown when the quotient is not an obvious polynomial.
    pub fn div_exact(&self, other: &Dim) -> Dim {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => a.div_poly_exact(b).map_or(Dim::Unknown, Dim::Known),
            _ => Dim::Unknown,
        }
    }
}

impl From<i64> for Dim {
    fn from(v: i64) -> Self {
        Dim::int(v)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(p) if p.as_constant().is_some() => write!(f, "{p}"),
            // Parenthesise compound expressions so `1x(seq + 1)x768` reads right.
            Dim::Known(p) if p.terms().count() > 1 => write!(f, "({p})"),
            Dim::Known(p) => write!(f, "{p}"),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A tensor shape: one [`Dim`] per axis. Rank-0 (scalar) is the empty shape.
pub type Shape = Vec<Dim>;

/// A shape as values and reports hold it: shared, so that the many values
/// of one shape (each elementwise op's output, each report line naming it)
/// hold one copy between them, and copying it is a reference count. Rules
/// build shapes as [`Shape`]s; `.into()` shares one.
///
/// The reference is one pointer (to the count and a boxed slice), not the
/// two of `Arc<[Dim]>`: every report line holds one per input and output,
/// and a large graph's million lines save 8 bytes each, for one more
/// pointer to follow on a shape that is read.
#[derive(Default)]
pub struct SharedShape(std::sync::Arc<ShapeCell>);

impl Clone for SharedShape {
    fn clone(&self) -> Self {
        SharedShape(self.0.clone())
    }

    /// Keeps the shape held when it is `source` itself ([`SharedShape::is_same`]),
    /// as [`crate::Name`]'s does.
    fn clone_from(&mut self, source: &Self) {
        if !self.is_same(source) {
            *self = source.clone();
        }
    }
}

impl Eq for SharedShape {}

/// What a [`SharedShape`] points to: the dims, and their hash once taken.
/// Every node's rule results are remembered by a hash of its inputs'
/// shapes (`crate::memo`), and a symbolic dim is a polynomial to walk: the
/// many values sharing one shape hash it once. The hash is kept in an
/// atomic with 0 for "not yet taken" (a hash of 0 is kept as 1), not in a
/// `OnceLock`: nearly every shape a rule makes is hashed once, and a
/// `OnceLock`'s first use takes a lock. Two threads hashing one shape at
/// once store the same number.
#[derive(Default)]
struct ShapeCell {
    dims: Box<[Dim]>,
    hash: std::sync::atomic::AtomicU64,
}

const HASH_NOT_TAKEN: u64 = 0;

impl ShapeCell {
    fn new(dims: Box<[Dim]>) -> Self {
        ShapeCell {
            dims,
            hash: std::sync::atomic::AtomicU64::new(HASH_NOT_TAKEN),
        }
    }

    fn hash(&self) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        match self.hash.load(Relaxed) {
            HASH_NOT_TAKEN => {
                use std::hash::{Hash, Hasher};
                let mut h = crate::fxhash::FxHasher::default();
                self.dims.hash(&mut h);
                let hash = h.finish().max(1);
                self.hash.store(hash, Relaxed);
                hash
            }
            hash => hash,
        }
    }
}

impl Clone for ShapeCell {
    fn clone(&self) -> Self {
        ShapeCell {
            dims: self.dims.clone(),
            hash: std::sync::atomic::AtomicU64::new(
                self.hash.load(std::sync::atomic::Ordering::Relaxed),
            ),
        }
    }
}

/// By the dims, as equality compares them: equal dims give the same hash
/// whichever allocation holds them.
impl std::hash::Hash for SharedShape {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash());
    }
}

impl PartialEq for SharedShape {
    /// The same allocation is the same shape: the common case, as values
    /// share their producers' shapes, and it skips comparing the dims.
    fn eq(&self, other: &Self) -> bool {
        self.is_same(other) || self.0.dims == other.0.dims
    }
}

impl std::ops::Deref for SharedShape {
    type Target = [Dim];
    fn deref(&self) -> &[Dim] {
        &self.0.dims
    }
}

impl From<Shape> for SharedShape {
    fn from(dims: Shape) -> Self {
        SharedShape(std::sync::Arc::new(ShapeCell::new(dims.into_boxed_slice())))
    }
}

impl From<&[Dim]> for SharedShape {
    fn from(dims: &[Dim]) -> Self {
        SharedShape(std::sync::Arc::new(ShapeCell::new(dims.into())))
    }
}

impl SharedShape {
    /// Whether both are one shape, shared (not two equal ones).
    pub fn is_same(&self, other: &SharedShape) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }

    /// The dims to change in place: copied first if another value holds
    /// them too.
    pub fn make_mut(&mut self) -> &mut [Dim] {
        let cell = std::sync::Arc::make_mut(&mut self.0);
        // The dims are about to change: their hash is taken again.
        *cell.hash.get_mut() = HASH_NOT_TAKEN;
        &mut cell.dims
    }
}

impl FromIterator<Dim> for SharedShape {
    fn from_iter<I: IntoIterator<Item = Dim>>(dims: I) -> Self {
        SharedShape(std::sync::Arc::new(ShapeCell::new(
            dims.into_iter().collect(),
        )))
    }
}

impl<'a> IntoIterator for &'a SharedShape {
    type Item = &'a Dim;
    type IntoIter = std::slice::Iter<'a, Dim>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.dims.iter()
    }
}

impl fmt::Debug for SharedShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.dims.iter()).finish()
    }
}

impl PartialEq<Shape> for SharedShape {
    fn eq(&self, other: &Shape) -> bool {
        **self == **other
    }
}

impl PartialEq<SharedShape> for Shape {
    fn eq(&self, other: &SharedShape) -> bool {
        **self == **other
    }
}

/// Builds a concrete shape from integers.
pub fn shape_of(dims: &[i64]) -> Shape {
    dims.iter().map(|&d| Dim::int(d)).collect()
}

/// Number of elements: `None` if any dimension is unknown.
pub fn numel(shape: &[Dim]) -> Result<Option<Poly>, Overflow> {
    let mut acc = Poly::constant(1);
    for d in shape {
        match d {
            Dim::Known(p) => acc = acc.checked_mul(p)?,
            Dim::Unknown => return Ok(None),
        }
    }
    Ok(Some(acc))
}

/// Formats a shape as `1x3x224x224` (scalar: `scalar`; unknown dims: `?`).
pub fn format_shape(shape: &[Dim]) -> String {
    if shape.is_empty() {
        return "scalar".to_string();
    }
    // Written into one string: a table has a shape on every row.
    let mut out = String::with_capacity(8 * shape.len());
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            out.push('x');
        }
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{d}"));
    }
    out
}

/// Why two shapes could not be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("shapes {0} and {1} do not broadcast")]
    NotBroadcastable(String, String),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// Numpy-style multidirectional broadcasting of two shapes.
///
/// Where one side is `1` the other wins; where both are known and differ it
/// is an error; where one is symbolic and the other is not `1`, the symbolic
/// side is assumed to equal it at run time (as ONNX shape inference does), and
/// the known value is kept since it is more informative.
pub fn broadcast(a: &[Dim], b: &[Dim]) -> Result<Shape, ShapeError> {
    let rank = a.len().max(b.len());
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let da = axis_from_right(a, rank, i);
        let db = axis_from_right(b, rank, i);
        out.push(
            broadcast_dim(da, db)
                .ok_or_else(|| ShapeError::NotBroadcastable(format_shape(a), format_shape(b)))?,
        );
    }
    Ok(out)
}

fn axis_from_right(s: &[Dim], rank: usize, i: usize) -> Dim {
    let offset = rank - s.len();
    if i < offset {
        Dim::int(1)
    } else {
        s[i - offset].clone()
    }
}

fn broadcast_dim(a: Dim, b: Dim) -> Option<Dim> {
    let one = |d: &Dim| d.as_i64() == Some(1);
    if one(&a) {
        return Some(b);
    }
    if one(&b) || a == b {
        return Some(a);
    }
    match (a.as_i64(), b.as_i64()) {
        (Some(_), Some(_)) => None,
        (Some(_), None) => Some(a),
        (None, Some(_)) => Some(b),
        // Two different symbolic or unknown dims: prefer a known expression.
        (None, None) => Some(if a.is_known() { a } else { b }),
    }
}

/// Broadcasts any number of shapes.
pub fn broadcast_all<'a>(shapes: impl IntoIterator<Item = &'a [Dim]>) -> Result<Shape, ShapeError> {
    let mut acc: Shape = Vec::new();
    for s in shapes {
        acc = broadcast(&acc, s)?;
    }
    Ok(acc)
}

/// Normalises a possibly negative axis against a rank.
pub fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let a = shape_of(&[8, 1, 6, 1]);
        let b = shape_of(&[7, 1, 5]);
        assert_eq!(format_shape(&broadcast(&a, &b).unwrap()), "8x7x6x5");
        assert!(broadcast(&shape_of(&[3]), &shape_of(&[4])).is_err());
        let s = vec![Dim::sym("batch"), Dim::int(1)];
        assert_eq!(
            format_shape(&broadcast(&s, &shape_of(&[1, 10])).unwrap()),
            "batchx10"
        );
    }

    #[test]
    fn numel_is_symbolic_or_unknown() {
        let s = vec![Dim::sym("batch"), Dim::int(3), Dim::int(224)];
        assert_eq!(numel(&s).unwrap().unwrap().to_string(), "672*batch");
        assert_eq!(numel(&[Dim::Unknown]).unwrap(), None);
        assert_eq!(numel(&[]).unwrap().unwrap().as_constant(), Some(1));
    }

    #[test]
    fn compound_dims_are_parenthesised() {
        let d = Dim::sym("seq").add(&Dim::int(1)).unwrap();
        assert_eq!(
            format_shape(&[Dim::int(1), d, Dim::int(768)]),
            "1x(seq + 1)x768"
        );
    }

    #[test]
    fn a_shapes_hash_is_its_dims_and_follows_a_change() {
        use std::hash::BuildHasher;
        let hash = |s: &SharedShape| crate::fxhash::FxBuildHasher::default().hash_one(s);
        let dims = || [Dim::sym("batch"), Dim::int(3)].into_iter();
        let a: SharedShape = dims().collect();
        let b: SharedShape = dims().collect();
        // Taken again from the cell, and equal for equal dims elsewhere.
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a), hash(&b));
        // A clone made after the hash was taken keeps it; changing its dims
        // takes it again, while the original keeps its own.
        let mut c = a.clone();
        c.make_mut()[1] = Dim::int(4);
        let d: SharedShape = [Dim::sym("batch"), Dim::int(4)].into_iter().collect();
        assert_eq!(hash(&c), hash(&d));
        assert_ne!(hash(&c), hash(&a));
        assert_eq!(hash(&a), hash(&b));
        // The empty shape's hash is a number like any other.
        let empty: SharedShape = std::iter::empty().collect();
        assert_eq!(hash(&empty), hash(&SharedShape::default()));
    }

    #[test]
    fn axes_normalise() {
        assert_eq!(normalize_axis(-1, 4), Some(3));
        assert_eq!(normalize_axis(4, 4), None);
        assert_eq!(normalize_axis(-5, 4), None);
    }
}
