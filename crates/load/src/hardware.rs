//! Devices for the roofline: a built-in profile by name, or a profile file
//! (TOML, or JSON when it starts with `{`; keys in docs/hardware.md); and
//! the precision a model runs at.

use std::path::Path;

use nncost_core::hardware::{builtin_profiles, HardwareProfile, Precision};
use nncost_core::report::DtypeShare;
use nncost_core::DType;

/// Short names for the most asked-for devices.
const ALIASES: [(&str, &str); 3] = [
    ("h100", "h100-sxm"),
    ("a100", "a100-80gb"),
    ("mi300", "mi300x"),
];

/// Largest profile file read (a profile is a few lines).
const MAX_PROFILE_BYTES: u64 = 64 * 1024;

/// Why a device or a precision could not be had. One line each, naming
/// what was given.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("--hardware {spec}: not a built-in profile nor a file; built-in: {builtin}")]
    Unknown { spec: String, builtin: String },
    #[error("--hardware {spec}: {reason}")]
    Invalid { spec: String, reason: String },
    #[error("--dtype {spec}: expected one of fp32, tf32, fp16, bf16, fp8, int8, int4, fp64")]
    Precision { spec: String },
}

/// The profile `spec` names: a built-in id (or alias), else a file.
pub fn resolve(spec: &str) -> Result<HardwareProfile, ProfileError> {
    let wanted = ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(spec))
        .map_or(spec, |(_, id)| id);
    let builtin = builtin_profiles();
    if let Some(p) = builtin.iter().find(|p| p.id.eq_ignore_ascii_case(wanted)) {
        return Ok(p.clone());
    }
    let path = Path::new(spec);
    if !path.is_file() {
        let ids: Vec<&str> = builtin.iter().map(|p| p.id.as_str()).collect();
        return Err(ProfileError::Unknown {
            spec: spec.to_string(),
            builtin: ids.join(", "),
        });
    }
    read_profile(path).map_err(|reason| ProfileError::Invalid {
        spec: spec.to_string(),
        reason,
    })
}

/// A profile file: TOML, or JSON when it starts with `{`.
fn read_profile(path: &Path) -> Result<HardwareProfile, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PROFILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_PROFILE_BYTES {
        return Err(format!(
            "larger than {MAX_PROFILE_BYTES} bytes: not a hardware profile"
        ));
    }
    let value: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| format!("not valid TOML: {}", e.message()))?;
        serde_json::to_value(table).map_err(|e| format!("not a profile: {e}"))?
    };
    profile_from(&value)
}

/// Builds a profile from its fields (docs/hardware.md, "Your own hardware").
fn profile_from(v: &serde_json::Value) -> Result<HardwareProfile, String> {
    let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
    let number = |key: &str| v.get(key).and_then(|x| x.as_f64());
    let id = text("id").ok_or("the profile needs an `id`")?;
    let bandwidth = number("bandwidth_gbs")
        .filter(|b| b.is_finite() && *b > 0.0)
        .ok_or("the profile needs `bandwidth_gbs`, a positive number (GB/s)")?;
    let memory_gb = number("memory_gb").unwrap_or(0.0);
    if !(memory_gb.is_finite() && memory_gb >= 0.0) {
        return Err("`memory_gb` must be a non-negative number".into());
    }
    let table = v
        .get("peak_tflops")
        .and_then(|t| t.as_object())
        .ok_or("the profile needs a `peak_tflops` table, e.g. fp32 = 19.5")?;
    let mut peaks = Vec::new();
    for (key, value) in table {
        let precision = Precision::parse(key).ok_or_else(|| {
            format!(
                "peak_tflops.{key}: not a precision (fp64, fp32, tf32, fp16, bf16, fp8, int8, int4)"
            )
        })?;
        let t = value
            .as_f64()
            .filter(|t| t.is_finite() && *t > 0.0)
            .ok_or_else(|| format!("peak_tflops.{key}: must be a positive number"))?;
        peaks.push((precision, t));
    }
    if peaks.is_empty() {
        return Err("`peak_tflops` states no peak".into());
    }
    Ok(HardwareProfile::from_datasheet(
        &id,
        &text("name").unwrap_or_else(|| id.clone()),
        memory_gb,
        bandwidth,
        &peaks,
        &text("source").unwrap_or_else(|| "user profile".into()),
    ))
}

/// `--dtype`: the precision the model runs at and the dtype its float
/// tensors are stored in.
pub fn parse_dtype(spec: &str) -> Result<(Precision, DType), ProfileError> {
    let precision = Precision::parse(spec).ok_or_else(|| ProfileError::Precision {
        spec: spec.to_string(),
    })?;
    Ok((precision, storage_of(precision)))
}

/// The dtype tensors computed at `precision` are stored in (TF32 keeps
/// float32 storage; int8 and int4 are a fully quantized model's).
fn storage_of(precision: Precision) -> DType {
    match precision {
        Precision::Fp64 => DType::F64,
        Precision::Fp32 | Precision::Tf32 => DType::F32,
        Precision::Fp16 => DType::F16,
        Precision::Bf16 => DType::BF16,
        Precision::Fp8 => DType::F8E4M3FN,
        Precision::Int8 => DType::I8,
        Precision::Int4 => DType::I4,
    }
}

/// The precision a model runs at when `--dtype` is not given: that of the
/// float dtype most of its parameter bytes are stored in (float32 when it
/// has none).
pub fn model_precision(params_by_dtype: &[DtypeShare]) -> Precision {
    let float = params_by_dtype
        .iter()
        .filter(|s| s.dtype.is_float())
        .max_by_key(|s| s.bytes)
        .map(|s| s.dtype);
    match float {
        Some(DType::F16) => Precision::Fp16,
        Some(DType::BF16) => Precision::Bf16,
        Some(DType::F64) => Precision::Fp64,
        Some(DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ) => {
            Precision::Fp8
        }
        _ => Precision::Fp32,
    }
}
