//! Tensors and declared types: protobuf messages to core values.
//!
//! Nothing here reads tensor elements beyond moving the typed repeated
//! fields (already decoded by prost) into core's vectors; `raw_data` is
//! handed over as a `Bytes` (a slice of the input, or a copy for short
//! payloads when [`Payloads`] says so), and external data is only described.

use std::collections::HashMap;
use std::mem;

use nncost_core::fxhash::NameHasher;
use nncost_core::graph::{DeclaredType, Tensor, TensorData};
use nncost_core::shape::Dim;
use nncost_core::Poly;

use crate::convert::Payloads;
use crate::dtype::dtype_from_code;
use crate::error::{utf8, OnnxError};
use crate::proto::tensor_shape_proto::dimension;
use crate::proto::{data_location, type_proto, SparseTensorProto, TensorProto, TypeProto};

/// Converts a dense tensor, taking its element lists. `what` names it in
/// errors ("initializer 'w'").
pub(crate) fn convert_tensor(
    t: &mut TensorProto,
    payloads: &Payloads,
    what: impl Fn() -> String,
) -> Result<Tensor, OnnxError> {
    let dtype = dtype_from_code(t.data_type).ok_or_else(|| OnnxError::UnknownDataType {
        what: what(),
        code: t.data_type,
    })?;
    check_dims(&t.dims, &what)?;
    Ok(Tensor {
        dtype,
        dims: mem::take(&mut t.dims),
        data: tensor_data(t, payloads, &what)?,
    })
}

/// Converts an initializer read in place (see `in_place.rs`): `raw` is
/// its `raw_data`, if it has one, and its elements are kept only where core
/// reads them. `None` where only the conversion of its decoded form can
/// say what to do: an error to report, or a payload to share rather than
/// copy.
pub(crate) fn tensor_in_place(
    dims: Vec<i64>,
    data_type: i32,
    raw: Option<&[u8]>,
    payloads: &Payloads,
) -> Option<Tensor> {
    let dtype = dtype_from_code(data_type)?;
    check_dims(&dims, &String::new).ok()?;
    let data = match raw {
        Some(raw) if elements_read(data_type, &dims) => {
            if !raw.is_empty() && raw.len() > payloads.copy_limit() {
                return None;
            }
            TensorData::Raw(payloads.copy(raw))
        }
        _ => TensorData::Absent,
    };
    Some(Tensor { dtype, dims, data })
}

/// Whether core reads the elements of a constant of this type and shape
/// (its element count overflowing, or its type unknown, it keeps them:
/// the conversion reports those).
pub(crate) fn elements_read(data_type: i32, dims: &[i64]) -> bool {
    let Some(dtype) = dtype_from_code(data_type) else {
        return true;
    };
    nncost_core::graph::numel(dims)
        .is_none_or(|n| nncost_core::value::constant_elements_read(dtype, n))
}

/// Converts a sparse tensor to its dense shape and element type. Its
/// elements are not described: core has no sparse representation, and
/// counting needs only the dense shape.
pub(crate) fn convert_sparse(
    s: &mut SparseTensorProto,
    what: impl Fn() -> String,
) -> Result<Tensor, OnnxError> {
    let code = s.values.as_ref().map_or(0, |v| v.data_type);
    let dtype =
        dtype_from_code(code).ok_or_else(|| OnnxError::UnknownDataType { what: what(), code })?;
    check_dims(&s.dims, &what)?;
    Ok(Tensor {
        dtype,
        dims: mem::take(&mut s.dims),
        data: TensorData::Absent,
    })
}

fn check_dims(dims: &[i64], what: &impl Fn() -> String) -> Result<(), OnnxError> {
    if dims.iter().any(|&d| d < 0) {
        return Err(OnnxError::NegativeDim {
            what: what(),
            dims: dims.to_vec(),
        });
    }
    Ok(())
}

/// Where the elements are. The precedence follows the ONNX spec:
/// `data_location` EXTERNAL wins, then `raw_data`, then the typed field
/// matching the data type. 16- and 8-bit floats arrive in `int32_data` as
/// bit patterns, so `Ints` holds bit patterns for them (as ONNX specifies).
fn tensor_data(
    t: &mut TensorProto,
    payloads: &Payloads,
    what: &impl Fn() -> String,
) -> Result<TensorData, OnnxError> {
    if t.data_location == data_location::EXTERNAL {
        let mut location = "";
        let (mut offset, mut length) = (0, None);
        for entry in &t.external_data {
            let value = utf8(&entry.value, || {
                format!("the external data entry of {}", what())
            })?;
            let bytes = || {
                value.parse::<u64>().map_err(|_| OnnxError::ExternalData {
                    tensor: what(),
                    location: String::new(),
                    reason: format!("'{value}' is not a byte count"),
                })
            };
            match &entry.key[..] {
                b"location" => location = value,
                b"offset" => offset = bytes()?,
                b"length" => length = Some(bytes()?),
                _ => {}
            }
        }
        return Ok(TensorData::External {
            location: location.to_string(),
            offset,
            length,
        });
    }
    if let Some(raw) = t.raw_data.take() {
        return Ok(TensorData::Raw(payloads.take(raw)));
    }
    if !t.float_data.is_empty() {
        return Ok(TensorData::Floats(
            t.float_data.iter().map(|&f| f64::from(f)).collect(),
        ));
    }
    if !t.double_data.is_empty() {
        return Ok(TensorData::Floats(mem::take(&mut t.double_data)));
    }
    if !t.int64_data.is_empty() {
        return Ok(TensorData::Ints(mem::take(&mut t.int64_data)));
    }
    if !t.int32_data.is_empty() {
        return Ok(TensorData::Ints(
            t.int32_data.iter().map(|&i| i64::from(i)).collect(),
        ));
    }
    if !t.uint64_data.is_empty() {
        // A UINT64 element above i64::MAX has no faithful `Ints` form; saying
        // "no elements" is safer than handing over a wrapped number.
        return Ok(t
            .uint64_data
            .iter()
            .map(|&u| i64::try_from(u).ok())
            .collect::<Option<Vec<_>>>()
            .map_or(TensorData::Absent, TensorData::Ints));
    }
    // Strings (`string_data`, not even decoded) have no core
    // representation and carry no weight to count.
    Ok(TensorData::Absent)
}

/// The tensor type a declared type describes: a tensor's own; a
/// sequence's element type (a sequence's facts in core are its elements'
/// dtype and the dims they share, its length unknown until it is built in
/// the graph); an optional's held value's (a tensor or a sequence of
/// tensors). `None` for maps, opaque types and deeper nestings.
fn tensor_type(ty: Option<&TypeProto>, in_sequence: bool) -> Option<&type_proto::Tensor> {
    match ty?.value.as_ref()? {
        type_proto::Value::TensorType(t) | type_proto::Value::SparseTensorType(t) => Some(t),
        type_proto::Value::SequenceType(s) if !in_sequence => {
            tensor_type(s.elem_type.as_deref(), true)
        }
        type_proto::Value::OptionalType(o) if !in_sequence => match o.elem_type.as_deref() {
            Some(TypeProto {
                value: Some(type_proto::Value::OptionalType(_)),
            }) => None,
            held => tensor_type(held, false),
        },
        _ => None,
    }
}

/// Converts a declared value type. `None` when there is no type, or when it
/// describes no tensor (map, opaque): core's declared type describes
/// tensors, and for a sequence or an optional the tensors it holds (see
/// [`tensor_type`]).
pub(crate) fn convert_type(
    ty: Option<&TypeProto>,
    dims: &mut DimNames,
    what: impl Fn() -> String,
) -> Result<Option<DeclaredType>, OnnxError> {
    let Some(tensor) = tensor_type(ty, false) else {
        return Ok(None);
    };
    // UNDEFINED (0) is how a writer says "element type unknown" here.
    let dtype = match tensor.elem_type {
        0 => None,
        code => Some(
            dtype_from_code(code)
                .ok_or_else(|| OnnxError::UnknownDataType { what: what(), code })?,
        ),
    };
    let shape = match &tensor.shape {
        Some(s) => Some(
            s.dim
                .iter()
                .map(|d| convert_dim(d.value.as_ref(), dims, &what))
                .collect::<Result<_, _>>()?,
        ),
        None => None,
    };
    Ok(Some(DeclaredType { dtype, shape }))
}

/// A declared dimension. Negative values are invalid but some exporters
/// write -1 for "dynamic"; both that and an empty name mean unknown. A name
/// that is an expression (see [`symbolic_dim`]) is read as one.
fn convert_dim(
    d: Option<&dimension::Value>,
    dims: &mut DimNames,
    what: &impl Fn() -> String,
) -> Result<Dim, OnnxError> {
    Ok(match d {
        Some(dimension::Value::DimValue(v)) if *v >= 0 => Dim::int(*v),
        Some(dimension::Value::DimParam(p)) if !p.is_empty() => {
            dims.read(utf8(p, || format!("a dimension name of {}", what()))?)
        }
        _ => Dim::Unknown,
    })
}

/// The dims a graph's `dim_param` names stand for, by name. An export
/// declares the same few names (`s0`, `2*s0 + 1`) on thousands of values,
/// and each was read into a polynomial of its own: four allocations, and a
/// parse for an expression. A repeated name now costs a reference count.
#[derive(Default)]
pub(crate) struct DimNames(HashMap<Box<str>, Dim, NameHasher>);

impl DimNames {
    /// `name` read as [`symbolic_dim`] does.
    fn read(&mut self, name: &str) -> Dim {
        if let Some(d) = self.0.get(name) {
            return d.clone();
        }
        let d = symbolic_dim(name);
        self.0.insert(name.into(), d.clone());
        d
    }
}

/// A `dim_param`: a name such as `batch`, or an expression in names that
/// PyTorch's exporter writes for a derived size (`floor(height/2 - 1/2) +
/// 1`, `2*s0`, `s0 + 1`), read with [`Poly::parse`] so that it combines
/// exactly and binding `height` evaluates it. Only a name holding a space,
/// a parenthesis, `*`, `/`, `+` or `%` is taken as an expression (a name
/// like `batch-size` stays one name), and only if it reads as a whole-number
/// size; any other is one opaque symbol.
pub(crate) fn symbolic_dim(name: &str) -> Dim {
    let looks_like_expression = name
        .chars()
        .any(|c| c.is_whitespace() || "()*/+%".contains(c));
    if looks_like_expression {
        if let Ok(p) = Poly::parse(name) {
            if p.denominator() == 1 {
                return Dim::Known(p);
            }
        }
    }
    Dim::sym(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exporters' derived sizes are read as expressions: PyTorch's
    /// `floor(height/2 - 1/2) + 1` is ⌈height/2⌉ (241 at 481), and 64 of
    /// them print unambiguously. Plain names, and names that merely
    /// contain a hyphen, stay names.
    #[test]
    fn dim_params_that_are_expressions_are_read_as_expressions() {
        let d = symbolic_dim("floor(height/2 - 1/2) + 1");
        assert_eq!(d.to_string(), "ceil(height/2)");
        let p = d.poly().unwrap().checked_scale(64).unwrap();
        assert_eq!(p.to_string(), "64*ceil(height/2)");
        assert_eq!(
            p.substitute(&|_| Some(481)).unwrap().as_constant(),
            Some(64 * 241)
        );
        assert_eq!(symbolic_dim("2*s0 + 1").to_string(), "(2*s0 + 1)");
        assert_eq!(symbolic_dim("batch"), Dim::sym("batch"));
        assert_eq!(symbolic_dim("batch-size"), Dim::sym("batch-size"));
        // Not a whole-number size: one opaque name, quoted when printed.
        assert_eq!(symbolic_dim("h/2").to_string(), "\"h/2\"");
        assert_eq!(symbolic_dim("batch size"), Dim::sym("batch size"));
    }

    /// A name read again is the same dim as read the first time, an
    /// expression included, and its polynomial is shared, not made again.
    #[test]
    fn a_graphs_dim_names_are_read_once() {
        let mut dims = DimNames::default();
        let first = dims.read("2*s0 + 1");
        let again = dims.read("2*s0 + 1");
        assert_eq!(again, symbolic_dim("2*s0 + 1"));
        assert_eq!(first, again);
        assert_eq!(dims.read("batch"), Dim::sym("batch"));
        assert_eq!(dims.0.len(), 2);
        assert!(dims.read("?").is_symbol("?"));
        assert!(!dims.read("2*s0 + 1").is_symbol("s0"));
        assert!(!Dim::int(3).is_symbol("3") && !Dim::Unknown.is_symbol("?"));
    }
}
