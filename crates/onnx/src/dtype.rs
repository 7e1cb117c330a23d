//! ONNX `TensorProto.DataType` codes and their mapping onto nncost's
//! [`DType`]. The codes are fixed by the ONNX format.

use nncost_core::graph::DType;
use nncost_core::ops::tensor::dtype_from_onnx_code;

/// Maps an ONNX element-type code; `None` for UNDEFINED (0), for codes newer
/// than nncost knows, and for garbage. The table lives in core, where the
/// `Cast` rule reads the same codes from its `to` attribute.
pub(crate) fn dtype_from_code(code: i32) -> Option<DType> {
    dtype_from_onnx_code(i64::from(code))
}

/// Completes "<what> has ..." for a code [`dtype_from_code`] rejected: the
/// undefined code 0, or a code newer than nncost knows (every code up to
/// ONNX's INT2, 26, is known).
pub(crate) fn describe_code(code: i32) -> String {
    match code {
        0 => "an undefined data type (code 0)".to_string(),
        _ => match dtype_from_code(code) {
            Some(d) => format!("data type {} (code {code})", d.name()),
            None => format!("unknown data type code {code}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_code_maps_to_a_distinct_dtype() {
        let all: Vec<DType> = (1..=26).filter_map(dtype_from_code).collect();
        assert_eq!(all.len(), 26);
        for (i, a) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(a), "{a:?} appears twice");
        }
        assert_eq!(dtype_from_code(1), Some(DType::F32));
        assert_eq!(dtype_from_code(7), Some(DType::I64));
        assert_eq!(dtype_from_code(16), Some(DType::BF16));
        assert_eq!(dtype_from_code(24), Some(DType::F8E8M0));
        assert_eq!(dtype_from_code(25), Some(DType::U2));
        assert_eq!(dtype_from_code(26), Some(DType::I2));
    }

    #[test]
    fn rejected_codes_are_described() {
        for code in [0, 27, -1, i32::MAX] {
            assert_eq!(dtype_from_code(code), None);
        }
        assert!(describe_code(0).contains("undefined"));
        assert_eq!(describe_code(99), "unknown data type code 99");
    }
}
