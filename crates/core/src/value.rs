//! What the analysis knows about each value: dtype, shape, and — for the
//! small integer tensors that PyTorch exporters use to compute shapes — the
//! elements themselves, possibly symbolic (`Shape` of a `batch`-sized input
//! yields the value `[batch, 3, 224, 224]`).

use crate::graph::{DType, Tensor, TensorData};
use crate::poly::Poly;
use crate::shape::{Dim, SharedShape};

/// Largest tensor whose elements are tracked. Shape computations use tensors
/// of a handful of elements; weights are never read.
pub const MAX_TRACKED_ELEMENTS: u64 = 4096;

/// Largest float constant (initializer or `Constant`) whose elements are
/// read. Float constants that size tensors are a handful of elements
/// (Resize scales, Range bounds, a fill value); larger ones are weights,
/// biases and norm parameters, and decoding those cost more memory than
/// the whole graph (8 bytes per element, for every small weight of the
/// model). Floats computed in the graph are tracked up to
/// [`MAX_TRACKED_ELEMENTS`] like integers.
pub const MAX_TRACKED_FLOAT_CONSTANT: u64 = 64;

/// Whether the elements of a constant of this type and size are read:
/// integers (and booleans) up to [`MAX_TRACKED_ELEMENTS`], floats up to
/// [`MAX_TRACKED_FLOAT_CONSTANT`]. Readers may leave the elements of any
/// other constant out.
pub fn constant_elements_read(dtype: DType, numel: u64) -> bool {
    let most = if dtype.is_float() {
        MAX_TRACKED_FLOAT_CONSTANT
    } else {
        MAX_TRACKED_ELEMENTS
    };
    numel <= most
}

/// Known elements of a small tensor, in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstValue {
    /// Integer or boolean elements; each may be symbolic.
    Ints(Vec<Dim>),
    /// Floating-point elements (Resize scales, Range bounds, the float
    /// arithmetic of a trip count `Cast(Ceil((limit − start)/delta))`), of
    /// any float dtype, stored as f64.
    ///
    /// Rounding: each element holds the value the tensor's own dtype holds
    /// (a float16 1/3 is 0.333251953125, see [`round_to_dtype`]); arithmetic
    /// is done in f64 and the result rounded to the dtype, which for one
    /// operation on f32/f16/bf16 operands is the correctly rounded result.
    /// These values only ever size tensors: exactness matters once they are
    /// cast to integers, and a runtime that computes in another precision
    /// could differ only when a result lies within a rounding step of an
    /// integer. Every element is finite: NaN and ±∞ make the value unknown
    /// (build one with [`ConstValue::floats`]).
    Floats(Vec<f64>),
}

impl ConstValue {
    /// Float elements, or `None` (value unknown) if any is NaN or infinite.
    pub fn floats(v: Vec<f64>) -> Option<ConstValue> {
        v.iter()
            .all(|x| x.is_finite())
            .then_some(ConstValue::Floats(v))
    }

    pub fn len(&self) -> usize {
        match self {
            ConstValue::Ints(v) => v.len(),
            ConstValue::Floats(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_ints(&self) -> Option<&[Dim]> {
        match self {
            ConstValue::Ints(v) => Some(v),
            ConstValue::Floats(_) => None,
        }
    }

    /// All elements as concrete integers, if they are.
    pub fn to_i64s(&self) -> Option<Vec<i64>> {
        match self {
            ConstValue::Ints(v) => v.iter().map(Dim::as_i64).collect(),
            ConstValue::Floats(_) => None,
        }
    }

    /// All elements as floats (integers are converted), if concrete.
    pub fn to_f64s(&self) -> Option<Vec<f64>> {
        match self {
            ConstValue::Floats(v) => Some(v.clone()),
            ConstValue::Ints(v) => v.iter().map(|d| d.as_i64().map(|x| x as f64)).collect(),
        }
    }
}

/// Inferred facts about one value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValueFacts {
    pub dtype: Option<DType>,
    /// `None` when even the rank is unknown.
    pub shape: Option<SharedShape>,
    /// Elements, when small and known.
    pub value: Option<ConstValue>,
    /// For an ONNX sequence value: the facts of each element, in order,
    /// when the sequence's length and elements are known; `None` for
    /// tensors and for sequences that are not known. A sequence's own
    /// `dtype` and `shape` describe its elements, as ONNX's
    /// `seq(tensor(...))` type does: the element type, and the dims every
    /// element shares (unknown where elements differ).
    pub sequence: Option<Box<[ValueFacts]>>,
    /// Structure known about the values when the values themselves are not
    /// (see [`crate::mask`]).
    pub pattern: Option<Box<Pattern>>,
}

/// Structure of a tensor's values that nncost can prove without knowing
/// them: enough to recognise a causal attention mask built in the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    /// Every element equals its index along one axis (`from_end` = 0 is
    /// the last) plus `start`, the same along every other axis: positions
    /// from `Range(start, n, 1)`, unsqueezed and broadcast.
    Index { from_end: usize, start: Poly },
    /// Every element equals this value (infinities included).
    Fill(f64),
    /// A boolean mask over the last two axes (queries, keys) that is false
    /// wherever key `j > i + offset` for query `i` (it may be false
    /// elsewhere too: padding).
    Causal { offset: Poly },
    /// An additive mask over the last two axes that is at most −10⁴ (a
    /// softmax drops the score) wherever key `j > i + offset`.
    AdditiveCausal { offset: Poly },
}

impl ValueFacts {
    pub fn new(dtype: Option<DType>, shape: Option<impl Into<SharedShape>>) -> Self {
        ValueFacts {
            dtype,
            shape: shape.map(Into::into),
            value: None,
            sequence: None,
            pattern: None,
        }
    }

    /// Facts of a constant tensor, reading its elements only if it is small
    /// (see [`constant_elements_read`]) and stored inline.
    pub fn of_tensor(t: &Tensor) -> Self {
        let value = match t.numel() {
            Some(n) if constant_elements_read(t.dtype, n) => decode_elements(t, n as usize),
            _ => None,
        };
        ValueFacts {
            value,
            ..ValueFacts::of_weight(t)
        }
    }

    /// Facts of a constant tensor whose elements no rule is shown (a
    /// weight every reader takes for its shape, see
    /// `inputs_without_elements` in analysis.rs): [`ValueFacts::of_tensor`]
    /// without the elements, which are then not decoded at all.
    pub fn of_weight(t: &Tensor) -> Self {
        let shape = t.dims.iter().map(|&d| Dim::int(d)).collect();
        ValueFacts {
            dtype: Some(t.dtype),
            shape: Some(shape),
            value: None,
            sequence: None,
            pattern: crate::mask::of_tensor(t).map(Box::new),
        }
    }
}

/// Decodes the elements of a small inline tensor. Returns `None` when they
/// are not stored (stripped or external) or the storage is inconsistent.
fn decode_elements(t: &Tensor, n: usize) -> Option<ConstValue> {
    match numbers(t, n)? {
        Numbers::Ints(v) => Some(ConstValue::Ints(v.into_iter().map(Dim::int).collect())),
        Numbers::Floats(v) => ConstValue::floats(v),
    }
}

/// A tensor's elements as stored: integers (and booleans), or floats of
/// any 16-, 32- or 64-bit float type as f64, infinities and NaN included.
pub(crate) enum Numbers {
    Ints(Vec<i64>),
    Floats(Vec<f64>),
}

/// The `n` elements of a tensor stored inline; `None` when they are not
/// stored (stripped or external), the storage is inconsistent, or the type
/// is not decoded (8- and 4-bit floats, strings, complex numbers).
pub(crate) fn numbers(t: &Tensor, n: usize) -> Option<Numbers> {
    match &t.data {
        TensorData::Ints(v) if v.len() == n => match t.dtype {
            // ONNX stores 16-bit floats in `int32_data` as bit patterns.
            DType::F16 => Some(Numbers::Floats(
                v.iter().map(|&x| f16_to_f64(x as u16)).collect(),
            )),
            DType::BF16 => Some(Numbers::Floats(
                v.iter().map(|&x| bf16_to_f64(x as u16)).collect(),
            )),
            DType::F32 | DType::F64 => Some(Numbers::Floats(v.iter().map(|&x| x as f64).collect())),
            d if d.is_float() => None,
            _ => Some(Numbers::Ints(v.clone())),
        },
        TensorData::Floats(v) if v.len() == n => match t.dtype {
            DType::F32 | DType::F64 | DType::F16 | DType::BF16 => Some(Numbers::Floats(v.clone())),
            _ => None,
        },
        TensorData::Raw(bytes) => decode_raw(t.dtype, bytes, n),
        _ => None,
    }
}

fn decode_raw(dtype: DType, bytes: &[u8], n: usize) -> Option<Numbers> {
    let width = (dtype.bits() / 8) as usize;
    if width == 0 || !dtype.bits().is_multiple_of(8) || bytes.len() != n.checked_mul(width)? {
        return None;
    }
    let chunks = bytes.chunks_exact(width);
    let ints = |f: fn(&[u8]) -> i64| Some(Numbers::Ints(chunks.clone().map(f).collect()));
    let floats = |f: fn(&[u8]) -> f64| Some(Numbers::Floats(chunks.clone().map(f).collect()));
    match dtype {
        DType::I64 => ints(|c| i64::from_le_bytes(c.try_into().unwrap_or_default())),
        DType::I32 => ints(|c| i32::from_le_bytes(c.try_into().unwrap_or_default()) as i64),
        DType::I16 => ints(|c| i16::from_le_bytes(c.try_into().unwrap_or_default()) as i64),
        DType::U16 => ints(|c| u16::from_le_bytes(c.try_into().unwrap_or_default()) as i64),
        DType::U32 => ints(|c| u32::from_le_bytes(c.try_into().unwrap_or_default()) as i64),
        DType::I8 => ints(|c| c[0] as i8 as i64),
        DType::U8 | DType::Bool => ints(|c| c[0] as i64),
        DType::F32 => floats(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()) as f64),
        DType::F64 => floats(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())),
        DType::F16 => floats(|c| f16_to_f64(u16::from_le_bytes(c.try_into().unwrap_or_default()))),
        DType::BF16 => {
            floats(|c| bf16_to_f64(u16::from_le_bytes(c.try_into().unwrap_or_default())))
        }
        _ => None,
    }
}

/// bfloat16 to f64: bfloat16 is the high half of an f32.
pub(crate) fn bf16_to_f64(h: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(h) << 16))
}

/// `x` rounded (to nearest, ties to even) to a value of the float type
/// `dtype`: f64 as is, f32, float16 and bfloat16 with their precision and
/// subnormals. `None` when the result is not finite (overflow, NaN) or for
/// the 8- and 4-bit float types and non-float types, whose values are not
/// tracked.
pub fn round_to_dtype(x: f64, dtype: DType) -> Option<f64> {
    let r = match dtype {
        DType::F64 => x,
        DType::F32 => f64::from(x as f32),
        // Significand bits after the point, least normal exponent, largest
        // finite value.
        DType::F16 => round_significand(x, 10, -14, 65504.0),
        DType::BF16 => round_significand(x, 7, -126, (2.0 - 2f64.powi(-7)) * 2f64.powi(127)),
        _ => return None,
    };
    r.is_finite().then_some(r)
}

/// Rounds `x` to `bits` significand bits after the point (ties to even),
/// with exponents below `emin` subnormal; ∞ beyond `max`.
fn round_significand(x: f64, bits: i32, emin: i32, max: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    // Binary exponent of |x| (f64 subnormals fall below any emin here).
    let e = (((x.to_bits() >> 52) & 0x7ff) as i32 - 1023).max(emin);
    // Scaling by powers of two is exact in f64 for these ranges.
    let quantum = 2f64.powi(e - bits);
    let r = (x / quantum).round_ties_even() * quantum;
    if r.abs() > max {
        f64::INFINITY.copysign(x)
    } else {
        r
    }
}

/// IEEE half precision to f64 (Resize scales are sometimes stored as f16).
pub(crate) fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn small_raw_int64_is_decoded() {
        let raw: Vec<u8> = [2i64, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
        let t = Tensor {
            dtype: DType::I64,
            dims: vec![2],
            data: TensorData::Raw(Bytes::from(raw)),
        };
        let f = ValueFacts::of_tensor(&t);
        assert_eq!(f.value.unwrap().to_i64s(), Some(vec![2, -1]));
    }

    /// bfloat16 1.5 is 0x3FC0, −2 is 0xC000.
    #[test]
    fn small_raw_bfloat16_is_decoded() {
        let t = Tensor {
            dtype: DType::BF16,
            dims: vec![2],
            data: TensorData::Raw(Bytes::from_static(&[0xC0, 0x3F, 0x00, 0xC0])),
        };
        let f = ValueFacts::of_tensor(&t);
        assert_eq!(f.value.unwrap().to_f64s(), Some(vec![1.5, -2.0]));
    }

    #[test]
    fn absent_or_large_data_is_not_read() {
        let t = Tensor {
            dtype: DType::F32,
            dims: vec![64, 3, 7, 7],
            data: TensorData::Absent,
        };
        let f = ValueFacts::of_tensor(&t);
        assert!(f.value.is_none());
        assert_eq!(crate::shape::format_shape(&f.shape.unwrap()), "64x3x7x7");
        let big = Tensor {
            dtype: DType::I64,
            dims: vec![5000],
            data: TensorData::Ints(vec![0; 5000]),
        };
        assert!(ValueFacts::of_tensor(&big).value.is_none());
    }

    #[test]
    fn raw_of_wrong_length_is_ignored() {
        let t = Tensor {
            dtype: DType::I64,
            dims: vec![2],
            data: TensorData::Raw(Bytes::from_static(&[1, 2, 3])),
        };
        assert!(ValueFacts::of_tensor(&t).value.is_none());
    }

    /// float16 `int32_data` holds bit patterns: 0x3E00 is 1.5, not 15872.
    #[test]
    fn half_float_int32_data_is_bits() {
        let t = Tensor {
            dtype: DType::F16,
            dims: vec![2],
            data: TensorData::Ints(vec![0x3E00, 0xC000]),
        };
        let f = ValueFacts::of_tensor(&t);
        assert_eq!(f.value.unwrap().to_f64s(), Some(vec![1.5, -2.0]));
        let t = Tensor {
            dtype: DType::BF16,
            dims: vec![1],
            data: TensorData::Ints(vec![0x3FC0]),
        };
        assert_eq!(
            ValueFacts::of_tensor(&t).value.unwrap().to_f64s(),
            Some(vec![1.5])
        );
    }

    /// NaN and ±∞ make a float value unknown; the shape stays known.
    #[test]
    fn non_finite_floats_are_not_tracked() {
        let t = Tensor {
            dtype: DType::F32,
            dims: vec![2],
            data: TensorData::Floats(vec![1.0, f64::NEG_INFINITY]),
        };
        let f = ValueFacts::of_tensor(&t);
        assert!(f.value.is_none());
        assert!(f.shape.is_some());
        let raw: Vec<u8> = [1.0f32, f32::NAN]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let t = Tensor {
            dtype: DType::F32,
            dims: vec![2],
            data: TensorData::Raw(Bytes::from(raw)),
        };
        assert!(ValueFacts::of_tensor(&t).value.is_none());
        assert_eq!(ConstValue::floats(vec![f64::NAN]), None);
        assert_eq!(
            ConstValue::floats(vec![0.5]),
            Some(ConstValue::Floats(vec![0.5]))
        );
    }

    /// Rounding to each dtype, worked by hand: 1/3 in float16 has 10
    /// significand bits after the point, 1.0101010101₂ · 2⁻² =
    /// 1365/4096 = 0.333251953125; in bfloat16 7 bits, 1.0101011₂ · 2⁻²
    /// (…0101|0101… rounds up) = 171/512 = 0.333984375. 2049 is halfway
    /// between float16's 2048 and 2050: ties to even gives 2048. 65520
    /// overflows float16 (max 65504, next step would be 65536).
    #[test]
    fn rounding_to_dtype() {
        let third = 1.0 / 3.0;
        assert_eq!(round_to_dtype(third, DType::F16), Some(0.333251953125));
        assert_eq!(round_to_dtype(third, DType::BF16), Some(0.333984375));
        assert_eq!(
            round_to_dtype(third, DType::F32),
            Some(f64::from(1.0f32 / 3.0))
        );
        assert_eq!(round_to_dtype(third, DType::F64), Some(third));
        assert_eq!(round_to_dtype(2049.0, DType::F16), Some(2048.0));
        assert_eq!(round_to_dtype(2051.0, DType::F16), Some(2052.0));
        assert_eq!(round_to_dtype(65504.0, DType::F16), Some(65504.0));
        assert_eq!(round_to_dtype(65520.0, DType::F16), None);
        assert_eq!(round_to_dtype(-2.5, DType::F16), Some(-2.5));
        // Smallest float16 subnormal 2⁻²⁴; half of it ties to 0.
        assert_eq!(
            round_to_dtype(2f64.powi(-24), DType::F16),
            Some(2f64.powi(-24))
        );
        assert_eq!(round_to_dtype(2f64.powi(-25), DType::F16), Some(0.0));
        assert_eq!(round_to_dtype(1e39, DType::F32), None);
        assert_eq!(round_to_dtype(1.0, DType::F8E4M3FN), None);
        assert_eq!(round_to_dtype(1.0, DType::I64), None);
        // Agrees with the f16 decoder on every finite float16.
        for h in 0u16..0x7c00 {
            let x = f16_to_f64(h);
            assert_eq!(round_to_dtype(x, DType::F16), Some(x), "{h:#x}");
        }
    }

    #[test]
    fn half_floats_decode() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0x4000), 2.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x3800), 0.5);
    }
}
