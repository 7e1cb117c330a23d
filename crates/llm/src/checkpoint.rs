//! What a checkpoint file holds, from its header alone: every tensor's
//! name, shape, storage format and bytes. With the model's config beside
//! it, the tensors are matched against the ones the config implies (and
//! the graph takes their storage: exact bytes by dtype or ggml block
//! format); without one, the tensors alone are counted as parameters.

use std::collections::BTreeMap;
use std::collections::HashMap;

use nncost_core::graph::{DType, Origin, ValueId};
use nncost_core::layers::builder::{self, GraphBuilder};
use nncost_core::ops::checkpoint::DOMAIN;
use nncost_core::Graph;

use crate::gguf::GgufFile;
use crate::safetensors::{Dtype, Header};
use crate::TensorSpec;

/// How a checkpoint stores one of the model's tensors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Elements of one dtype.
    Typed(DType),
    /// One of ggml's block formats (`Q4_K`): `bytes` in all.
    Blocks { bytes: u64, format: String },
}

/// Storage by the model's tensor name (its in-memory name, experts fused).
pub type Storage = HashMap<String, Stored>;

/// One tensor as the file lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileTensor {
    pub name: String,
    /// Outermost first, as PyTorch (GGUF's innermost-first dims reversed).
    pub shape: Vec<u64>,
    /// The dtype or block format's name (`BF16`, `Q4_K`).
    pub format: String,
    /// The dtype, when the format is one.
    pub dtype: Option<DType>,
    pub bytes: u64,
}

impl FileTensor {
    pub fn elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// The tensors of one checkpoint (all shards of a sharded one).
#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    /// `safetensors` or `gguf`.
    pub format: &'static str,
    pub files: usize,
    pub tensors: Vec<FileTensor>,
}

/// The dtype a safetensors dtype is, when nncost's graph has it.
fn graph_dtype(d: Dtype) -> Option<DType> {
    Some(match d {
        Dtype::Bool => DType::Bool,
        Dtype::F4 => DType::F4E2M1,
        Dtype::U8 => DType::U8,
        Dtype::I8 => DType::I8,
        Dtype::F8E5M2 => DType::F8E5M2,
        Dtype::F8E4M3 => DType::F8E4M3FN,
        Dtype::F8E8M0 => DType::F8E8M0,
        Dtype::F8E4M3FNUZ => DType::F8E4M3FNUZ,
        Dtype::F8E5M2FNUZ => DType::F8E5M2FNUZ,
        Dtype::I16 => DType::I16,
        Dtype::U16 => DType::U16,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I32 => DType::I32,
        Dtype::U32 => DType::U32,
        Dtype::F32 => DType::F32,
        Dtype::C64 => DType::Complex64,
        Dtype::F64 => DType::F64,
        Dtype::I64 => DType::I64,
        Dtype::U64 => DType::U64,
        _ => return None,
    })
}

/// The dtype a ggml type is, when it stores plain elements.
fn ggml_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F64" => DType::F64,
        "I8" => DType::I8,
        "I16" => DType::I16,
        "I32" => DType::I32,
        "I64" => DType::I64,
        _ => return None,
    })
}

impl Checkpoint {
    pub fn from_safetensors(headers: &[(String, Header)]) -> Checkpoint {
        let tensors = headers
            .iter()
            .flat_map(|(_, h)| &h.tensors)
            .map(|t| FileTensor {
                name: t.name.clone(),
                shape: t.shape.clone(),
                format: t.dtype.name().to_string(),
                dtype: graph_dtype(t.dtype),
                bytes: t.bytes(),
            })
            .collect();
        Checkpoint {
            format: "safetensors",
            files: headers.len(),
            tensors,
        }
    }

    pub fn from_gguf(file: &GgufFile) -> Checkpoint {
        let tensors = file
            .tensors
            .iter()
            .map(|t| {
                let format = t.ggml_type.to_string();
                FileTensor {
                    name: t.name.clone(),
                    shape: t.dims.iter().rev().copied().collect(),
                    dtype: ggml_dtype(&format),
                    format,
                    bytes: t.bytes(),
                }
            })
            .collect();
        Checkpoint {
            format: "gguf",
            files: 1,
            tensors,
        }
    }

    pub fn params(&self) -> u64 {
        self.tensors.iter().map(FileTensor::elements).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.bytes).sum()
    }

    /// `(format, elements, bytes)` by dtype or block format, largest first.
    pub fn by_format(&self) -> Vec<(String, u64, u64)> {
        let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for t in &self.tensors {
            let e = by.entry(t.format.as_str()).or_default();
            e.0 += t.elements();
            e.1 += t.bytes;
        }
        let mut out: Vec<(String, u64, u64)> = by
            .into_iter()
            .map(|(f, (n, b))| (f.to_string(), n, b))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The checkpoint alone as a graph: one `Parameter` node per tensor
    /// (`DequantizeGgml` for a block format) under its module path, so the
    /// report counts parameters and bytes by module and by dtype.
    pub fn graph(&self, name: &str) -> Graph {
        let mut b = GraphBuilder::new(name);
        for t in &self.tensors {
            let dims: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
            let (op, input, attrs) = match t.dtype {
                Some(dtype) => ("Parameter", b.weight_typed(&t.name, &dims, dtype), vec![]),
                None => (
                    "DequantizeGgml",
                    b.weight_typed(&t.name, &[t.bytes as i64], DType::U8),
                    vec![
                        builder::ints("shape", &dims),
                        builder::string("format", &t.format),
                    ],
                ),
            };
            let out: ValueId = b.node(op, &format!("{}/{op}", t.name), &[Some(input)], attrs);
            if let Some(n) = b.last_node_mut() {
                n.domain = DOMAIN.into();
                n.origin = Origin {
                    scopes: module_scopes(&t.name).into_iter().map(Into::into).collect(),
                    ..Origin::NONE
                }
                .shared();
            }
            let _ = out;
        }
        b.finish()
    }
}

/// `model.layers.0.mlp` for `model.layers.0.mlp.up_proj.weight`'s
/// enclosing modules, outermost first; a layer index joins its list's name
/// (`model.layers.0`), as PyTorch's module paths read.
fn module_scopes(tensor: &str) -> Vec<String> {
    let parts: Vec<&str> = tensor.split('.').collect();
    let mut scopes = Vec::new();
    for end in 1..parts.len() {
        let is_index = parts[end - 1].bytes().all(|c| c.is_ascii_digit());
        let next_is_index = parts
            .get(end)
            .is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit()));
        if !next_is_index || is_index {
            scopes.push(parts[..end].join("."));
        }
    }
    scopes
}

/// The model's in-memory name for a hub checkpoint tensor: experts stored
/// one by one (`…block_sparse_moe.experts.3.w1.weight`,
/// `…mlp.experts.3.gate_proj.weight`) are one fused tensor in the model
/// (`…mlp.experts.gate_up_proj`, `…mlp.experts.down_proj`).
pub fn model_name(hub: &str) -> String {
    let name = hub.replace(".block_sparse_moe.", ".mlp.");
    let Some(at) = name.find(".experts.") else {
        return name;
    };
    let (prefix, rest) = name.split_at(at);
    let mut parts = rest[".experts.".len()..].split('.');
    let (Some(index), Some(proj)) = (parts.next(), parts.next()) else {
        return name;
    };
    if !index.bytes().all(|c| c.is_ascii_digit()) {
        return name;
    }
    let fused = match proj {
        "w1" | "w3" | "gate_proj" | "up_proj" => "gate_up_proj",
        "w2" | "down_proj" => "down_proj",
        _ => return name,
    };
    format!("{prefix}.experts.{fused}")
}

/// The checkpoint's tensors under the model's names, the parts of a fused
/// tensor together.
pub fn by_model_name(
    tensors: impl IntoIterator<Item = (String, FileTensor)>,
) -> BTreeMap<String, Vec<FileTensor>> {
    let mut out: BTreeMap<String, Vec<FileTensor>> = BTreeMap::new();
    for (name, t) in tensors {
        out.entry(name).or_default().push(t);
    }
    out
}

/// How the parts of one model tensor are stored.
pub fn storage_of(parts: &[FileTensor]) -> Option<Stored> {
    let first = parts.first()?;
    if parts.iter().any(|p| p.format != first.format) {
        return None;
    }
    Some(match first.dtype {
        Some(d) => Stored::Typed(d),
        None => Stored::Blocks {
            bytes: parts.iter().map(|p| p.bytes).sum(),
            format: first.format.clone(),
        },
    })
}

/// How the checkpoint's tensors compare with the ones a config implies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Tensors of the model found with their elements (and shape, when
    /// stored whole).
    pub matched: usize,
    /// Tensors the model has.
    pub expected: usize,
    /// How many tensors differ (missing, of another shape, or not in the
    /// model).
    pub differing: usize,
    /// The first few differences, in words.
    pub differences: Vec<String>,
}

impl Comparison {
    pub fn is_match(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Tensors the file may hold that the model recomputes (rotary frequency
/// tables of older checkpoints, GPT-2's causal mask).
fn recomputed(name: &str) -> bool {
    name.ends_with("rotary_emb.inv_freq")
        || name.ends_with(".attn.bias")
        || name.ends_with(".attn.masked_bias")
}

/// Compares the tensors the config implies with the checkpoint's, by the
/// model's names (see [`model_name`]).
pub fn compare(expected: &[TensorSpec], found: &BTreeMap<String, Vec<FileTensor>>) -> Comparison {
    const SHOWN: usize = 3;
    let mut c = Comparison {
        expected: expected.len(),
        ..Comparison::default()
    };
    let mut seen = std::collections::HashSet::new();
    for t in expected {
        seen.insert(t.name.as_str());
        let Some(parts) = found.get(&t.name) else {
            c.differences.push(format!("{} is missing", t.name));
            continue;
        };
        let shape_ok = parts.len() != 1
            || parts[0]
                .shape
                .iter()
                .map(|&d| d as i64)
                .eq(t.shape.iter().copied());
        let elements: u128 = parts.iter().map(|p| u128::from(p.elements())).sum();
        if elements != t.elements() || !shape_ok {
            let dims = |d: &mut dyn Iterator<Item = String>| d.collect::<Vec<_>>().join("x");
            let in_file = parts
                .iter()
                .map(|p| dims(&mut p.shape.iter().map(u64::to_string)))
                .collect::<Vec<_>>()
                .join(" + ");
            c.differences.push(format!(
                "{} is {in_file} in the file, {} by the config",
                t.name,
                dims(&mut t.shape.iter().map(i64::to_string))
            ));
            continue;
        }
        c.matched += 1;
    }
    for name in found.keys() {
        if !seen.contains(name.as_str()) && !recomputed(name) {
            c.differences.push(format!("{name} is not in the model"));
        }
    }
    c.differing = c.differences.len();
    c.differences.truncate(SHOWN);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_expert_names_fuse() {
        assert_eq!(
            model_name("model.layers.3.block_sparse_moe.experts.7.w3.weight"),
            "model.layers.3.mlp.experts.gate_up_proj"
        );
        assert_eq!(
            model_name("model.layers.1.mlp.experts.0.down_proj.weight"),
            "model.layers.1.mlp.experts.down_proj"
        );
        assert_eq!(
            model_name("model.layers.1.mlp.shared_experts.down_proj.weight"),
            "model.layers.1.mlp.shared_experts.down_proj.weight"
        );
        assert_eq!(
            model_name("model.layers.0.block_sparse_moe.gate.weight"),
            "model.layers.0.mlp.gate.weight"
        );
    }

    #[test]
    fn module_paths_keep_indices_with_their_lists() {
        assert_eq!(
            module_scopes("model.layers.0.mlp.up_proj.weight"),
            [
                "model",
                "model.layers.0",
                "model.layers.0.mlp",
                "model.layers.0.mlp.up_proj"
            ]
        );
    }
}
