//! What the analysis knows about each value: dtype, shape, and — for the
//! small integer tensors that PyTorch exporters use to compute shapes — the
//! elements themselves, possibly symbolic (`Shape` of a `batch`-sized input
//! yields the value `[batch, 3, 224, 224]`).

use crate::graph::{DType, Tensor, TensorData};
use crate::shape::{Dim, Shape};

/// Largest tensor whose elements are tracked. Shape computations use tensors
/// of a handful of elements; weights are never read.
pub const MAX_TRACKED_ELEMENTS: u64 = 4096;

/// Known elements of a small tensor, in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstValue {
    /// Integer or boolean elements; each may be symbolic.
    Ints(Vec<Dim>),
    /// Floating-point elements (Resize scales, Clip bounds, ...).
    Floats(Vec<f64>),
}

impl ConstValue {
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
    pub shape: Option<Shape>,
    /// Elements, when small and known.
    pub value: Option<ConstValue>,
    /// For an ONNX sequence value: the facts of each element, in order,
    /// when the sequence's length and elements are known; `None` for
    /// tensors and for sequences that are not known. A sequence's own
    /// `dtype` and `shape` describe its elements, as ONNX's
    /// `seq(tensor(...))` type does: the element type, and the dims every
    /// element shares (unknown where elements differ).
    pub sequence: Option<Vec<ValueFacts>>,
}

impl ValueFacts {
    pub fn new(dtype: Option<DType>, shape: Option<Shape>) -> Self {
        ValueFacts {
            dtype,
            shape,
            value: None,
            sequence: None,
        }
    }

    /// Facts of a constant tensor, reading its elements only if it is small
    /// and stored inline.
    pub fn of_tensor(t: &Tensor) -> Self {
        let shape = t.dims.iter().map(|&d| Dim::int(d)).collect();
        let value = match t.numel() {
            Some(n) if n <= MAX_TRACKED_ELEMENTS => decode_elements(t, n as usize),
            _ => None,
        };
        ValueFacts {
            dtype: Some(t.dtype),
            shape: Some(shape),
            value,
            sequence: None,
        }
    }
}

/// Decodes the elements of a small inline tensor. Returns `None` when they
/// are not stored (stripped or external) or the storage is inconsistent.
fn decode_elements(t: &Tensor, n: usize) -> Option<ConstValue> {
    match &t.data {
        TensorData::Ints(v) if v.len() == n => {
            if t.dtype.is_float() {
                Some(ConstValue::Floats(v.iter().map(|&x| x as f64).collect()))
            } else {
                Some(ConstValue::Ints(v.iter().map(|&x| Dim::int(x)).collect()))
            }
        }
        TensorData::Floats(v) if v.len() == n => {
            if t.dtype.is_float() {
                Some(ConstValue::Floats(v.clone()))
            } else {
                None
            }
        }
        TensorData::Raw(bytes) => decode_raw(t.dtype, bytes, n),
        _ => None,
    }
}

fn decode_raw(dtype: DType, bytes: &[u8], n: usize) -> Option<ConstValue> {
    let width = (dtype.bits() / 8) as usize;
    if width == 0 || !dtype.bits().is_multiple_of(8) || bytes.len() != n.checked_mul(width)? {
        return None;
    }
    let chunks = bytes.chunks_exact(width);
    let ints = |f: fn(&[u8]) -> i64| {
        Some(ConstValue::Ints(
            chunks.clone().map(|c| Dim::int(f(c))).collect(),
        ))
    };
    let floats = |f: fn(&[u8]) -> f64| Some(ConstValue::Floats(chunks.clone().map(f).collect()));
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
        // bfloat16 is the high half of an f32.
        DType::BF16 => floats(|c| {
            f32::from_bits(u32::from(u16::from_le_bytes(c.try_into().unwrap_or_default())) << 16)
                as f64
        }),
        _ => None,
    }
}

/// IEEE half precision to f64 (Resize scales are sometimes stored as f16).
fn f16_to_f64(h: u16) -> f64 {
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

    #[test]
    fn half_floats_decode() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0x4000), 2.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x3800), 0.5);
    }
}
