//! `--hardware` and `--dtype`: a built-in device profile or a profile
//! file (TOML or JSON, docs/hardware.md), and the precision it runs at.

use std::path::Path;

use anyhow::{bail, Context, Result};
use nncost_core::hardware::{builtin_profiles, HardwareProfile, Precision};
use nncost_core::DType;

/// Short names for the most asked-for devices.
const ALIASES: [(&str, &str); 3] = [
    ("h100", "h100-sxm"),
    ("a100", "a100-80gb"),
    ("mi300", "mi300x"),
];

/// Largest profile file read (a profile is a few lines).
const MAX_PROFILE_BYTES: u64 = 64 * 1024;

/// The profile `--hardware` names: a built-in id (or alias), else a file.
pub fn resolve(spec: &str) -> Result<HardwareProfile> {
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
        bail!(
            "--hardware {spec}: not a built-in profile nor a file; built-in: {}",
            ids.join(", ")
        );
    }
    read_profile(path).with_context(|| format!("--hardware {spec}"))
}

/// A profile file: TOML, or JSON when it starts with `{`.
fn read_profile(path: &Path) -> Result<HardwareProfile> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_PROFILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_PROFILE_BYTES {
        bail!("larger than {MAX_PROFILE_BYTES} bytes: not a hardware profile");
    }
    let value: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).context("not valid JSON")?
    } else {
        let table: toml::Table = toml::from_str(&text).context("not valid TOML")?;
        serde_json::to_value(table).context("not a profile")?
    };
    profile_from(&value)
}

/// Builds a profile from its fields (docs/hardware.md, "Your own hardware").
fn profile_from(v: &serde_json::Value) -> Result<HardwareProfile> {
    let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
    let number = |key: &str| v.get(key).and_then(|x| x.as_f64());
    let id = text("id").context("the profile needs an `id`")?;
    let bandwidth = number("bandwidth_gbs")
        .filter(|b| b.is_finite() && *b > 0.0)
        .context("the profile needs `bandwidth_gbs`, a positive number (GB/s)")?;
    let memory_gb = number("memory_gb").unwrap_or(0.0);
    if !(memory_gb.is_finite() && memory_gb >= 0.0) {
        bail!("`memory_gb` must be a non-negative number");
    }
    let table = v
        .get("peak_tflops")
        .and_then(|t| t.as_object())
        .context("the profile needs a `peak_tflops` table, e.g. fp32 = 19.5")?;
    let mut peaks = Vec::new();
    for (key, value) in table {
        let precision = Precision::parse(key).with_context(|| {
            format!("peak_tflops.{key}: not a precision (fp64, fp32, tf32, fp16, bf16, fp8, int8, int4)")
        })?;
        let t = value
            .as_f64()
            .filter(|t| t.is_finite() && *t > 0.0)
            .with_context(|| format!("peak_tflops.{key}: must be a positive number"))?;
        peaks.push((precision, t * 1e12));
    }
    if peaks.is_empty() {
        bail!("`peak_tflops` states no peak");
    }
    Ok(HardwareProfile {
        name: text("name").unwrap_or_else(|| id.clone()),
        id,
        memory_bytes: (memory_gb * (1u64 << 30) as f64) as u64,
        bandwidth: bandwidth * 1e9,
        peaks,
        source: text("source").unwrap_or_else(|| "user profile".into()),
    })
}

/// `--dtype`: the precision the model runs at and the dtype its float
/// tensors are stored in.
pub fn parse_dtype(spec: &str) -> Result<(Precision, DType)> {
    let precision = Precision::parse(spec).with_context(|| {
        format!("--dtype {spec}: expected one of fp32, tf32, fp16, bf16, fp8, int8, int4, fp64")
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
pub fn model_precision(params_by_dtype: &[nncost_core::report::DtypeShare]) -> Precision {
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
