//! GGUF headers: the metadata and every tensor's name, dims, ggml type and
//! offset, read sequentially from the start of the file.
//!
//! A GGUF file (versions 2 and 3, little-endian) is the magic `GGUF`, a u32
//! version, a u64 tensor count and a u64 metadata count; then the metadata,
//! each a key (u64 length and bytes), a u32 value type and the value; then
//! each tensor's info: its name, a u32 number of dims, the dims (u64 each,
//! innermost first, as ggml's `ne`), a u32 ggml type and a u64 offset
//! counted from the data's start. The data starts at the end of the infos
//! rounded up to `general.alignment` (32 when absent). Only the header is
//! read: the file is read through a buffer (so at most one buffer's worth of
//! bytes past the header's end), never mapped, and no tensor byte is looked
//! at.
//!
//! Nothing read from the file is trusted: every length and count is checked
//! against the bytes the file has left before anything is allocated for it
//! (a string that claims 2^60 bytes is an error, not an allocation), all
//! size arithmetic is checked, and what is kept in memory is bounded
//! ([`MAX_KEPT_BYTES`]). Tokenizer vocabularies (string arrays of 150,000
//! entries and more) are read through without being stored: only their
//! length is kept.
//!
//! The checks are those of ggml's own loader (`gguf.cpp`), except that the
//! tensors need not follow each other exactly: each tensor's offset is a
//! multiple of the alignment, its bytes lie within the file, no two tensors
//! overlap, names and keys are unique, a tensor has at most [`MAX_DIMS`]
//! dims, its first dim is a multiple of its type's block size, and the
//! counts fit in what the file holds.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::safetensors::q;

/// ggml's `GGML_MAX_DIMS`: a tensor has at most 4 dims.
pub const MAX_DIMS: u32 = 4;

/// The alignment of the tensors' data when `general.alignment` is absent
/// (`GGUF_DEFAULT_ALIGNMENT`).
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Numeric arrays of at most this many elements keep their values (per-layer
/// values such as `head_count_kv` or `feed_forward_length` are one per
/// layer); longer ones keep only their length.
pub const MAX_KEPT_ARRAY: u64 = 65_536;

/// String values of at most this many bytes are kept (a chat template is a
/// few kilobytes); a longer one keeps only its length
/// ([`MetaValue::LongStr`]), such as an embedded `tokenizer.json`.
pub const MAX_KEPT_STRING: u64 = 1 << 20;

/// The longest metadata key or tensor name read, in bytes (ggml's own limit
/// for tensor names is 63).
pub const MAX_NAME_LEN: u64 = 65_536;

/// Arrays may hold arrays, to this depth (ggml itself refuses nested arrays;
/// gguf-py writes them).
pub const MAX_ARRAY_DEPTH: u32 = 4;

/// The most memory the kept keys, names, strings and values may take (256
/// MiB). A real header keeps a few megabytes; this bounds a hostile one,
/// whatever the file's size.
pub const MAX_KEPT_BYTES: u64 = 256 << 20;

/// The type of a metadata value (`gguf_metadata_value_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    Str,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    /// The type of a code, if GGUF defines it.
    pub fn from_code(code: u32) -> Option<ValueType> {
        Some(match code {
            0 => ValueType::U8,
            1 => ValueType::I8,
            2 => ValueType::U16,
            3 => ValueType::I16,
            4 => ValueType::U32,
            5 => ValueType::I32,
            6 => ValueType::F32,
            7 => ValueType::Bool,
            8 => ValueType::Str,
            9 => ValueType::Array,
            10 => ValueType::U64,
            11 => ValueType::I64,
            12 => ValueType::F64,
            _ => return None,
        })
    }

    /// Its code in the file.
    pub fn code(self) -> u32 {
        match self {
            ValueType::U8 => 0,
            ValueType::I8 => 1,
            ValueType::U16 => 2,
            ValueType::I16 => 3,
            ValueType::U32 => 4,
            ValueType::I32 => 5,
            ValueType::F32 => 6,
            ValueType::Bool => 7,
            ValueType::Str => 8,
            ValueType::Array => 9,
            ValueType::U64 => 10,
            ValueType::I64 => 11,
            ValueType::F64 => 12,
        }
    }

    /// Its name in the GGUF specification: `UINT32`, `STRING`, ...
    pub fn name(self) -> &'static str {
        match self {
            ValueType::U8 => "UINT8",
            ValueType::I8 => "INT8",
            ValueType::U16 => "UINT16",
            ValueType::I16 => "INT16",
            ValueType::U32 => "UINT32",
            ValueType::I32 => "INT32",
            ValueType::F32 => "FLOAT32",
            ValueType::Bool => "BOOL",
            ValueType::Str => "STRING",
            ValueType::Array => "ARRAY",
            ValueType::U64 => "UINT64",
            ValueType::I64 => "INT64",
            ValueType::F64 => "FLOAT64",
        }
    }

    /// Bytes of a value of a fixed-size type.
    fn fixed_size(self) -> Option<u64> {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => Some(1),
            ValueType::U16 | ValueType::I16 => Some(2),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(4),
            ValueType::U64 | ValueType::I64 | ValueType::F64 => Some(8),
            ValueType::Str | ValueType::Array => None,
        }
    }

    /// The fewest bytes a value of this type takes: a string its u64
    /// length, an array its u32 type and u64 length.
    fn min_size(self) -> u64 {
        match self {
            ValueType::Str => 8,
            ValueType::Array => 12,
            fixed => fixed.fixed_size().unwrap_or(1),
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A metadata value. Integers of every width are widened to `U64` (unsigned)
/// or `I64` (signed), floats to `F64` (exactly).
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Str(String),
    /// A string longer than [`MAX_KEPT_STRING`]: only its length in bytes.
    LongStr {
        len: u64,
    },
    /// An array: its elements' type, its length, and its elements when they
    /// are numbers, booleans or arrays and there are at most
    /// [`MAX_KEPT_ARRAY`] of them. The elements of a string array are never
    /// kept.
    Array {
        elem: ValueType,
        len: u64,
        items: Option<Vec<MetaValue>>,
    },
}

impl MetaValue {
    /// An unsigned integer, or a signed one that is not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U64(v) => Some(v),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// A number as a float (integers beyond 2^53 rounded).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::U64(v) => Some(v as f64),
            MetaValue::I64(v) => Some(v as f64),
            MetaValue::F64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A kept array of non-negative integers (a per-layer value).
    pub fn as_u64s(&self) -> Option<Vec<u64>> {
        match self {
            MetaValue::Array {
                items: Some(items), ..
            } => items.iter().map(MetaValue::as_u64).collect(),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    fn describe(&self) -> String {
        match self {
            MetaValue::U64(v) => v.to_string(),
            MetaValue::I64(v) => v.to_string(),
            MetaValue::F64(v) => format!("the float {v}"),
            MetaValue::Bool(v) => format!("the boolean {v}"),
            MetaValue::Str(_) | MetaValue::LongStr { .. } => "a string".into(),
            MetaValue::Array { .. } => "an array".into(),
        }
    }
}

/// Defines [`GgmlType`] and its table in one place: variant, code in the
/// file, name, elements per block, bytes per block.
macro_rules! ggml_types {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal, $block:literal, $size:literal;)*) => {
        /// A ggml tensor type (`enum ggml_type` in ggml.h), with its block:
        /// a quantized type stores its weights in blocks of `block_size`
        /// elements taking `type_size` bytes each.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types)]
        #[non_exhaustive]
        pub enum GgmlType {
            $($(#[$doc])* $variant,)*
        }

        impl GgmlType {
            /// Every type ggml defines today, by code.
            pub const ALL: &'static [GgmlType] = &[$(GgmlType::$variant,)*];

            /// The type of a code, if ggml defines it.
            pub fn from_code(code: u32) -> Option<GgmlType> {
                match code {
                    $($code => Some(GgmlType::$variant),)*
                    _ => None,
                }
            }

            /// Its code in the file.
            pub fn code(self) -> u32 {
                match self {
                    $(GgmlType::$variant => $code,)*
                }
            }

            /// Its name, as gguf-py's `GGMLQuantizationType` spells it:
            /// `Q4_K`, `BF16`, ...
            pub fn name(self) -> &'static str {
                match self {
                    $(GgmlType::$variant => $name,)*
                }
            }

            /// Elements per block (1 for the plain types).
            pub fn block_size(self) -> u64 {
                match self {
                    $(GgmlType::$variant => $block,)*
                }
            }

            /// Bytes per block.
            pub fn type_size(self) -> u64 {
                match self {
                    $(GgmlType::$variant => $size,)*
                }
            }
        }
    };
}

// Block sizes and bytes from ggml-common.h's block structs (QK_K = 256).
ggml_types! {
    F32 = 0, "F32", 1, 4;
    F16 = 1, "F16", 1, 2;
    /// f16 scale + 32 nibbles.
    Q4_0 = 2, "Q4_0", 32, 18;
    /// f16 scale and min + 32 nibbles.
    Q4_1 = 3, "Q4_1", 32, 20;
    /// f16 scale + 32 high bits + 32 nibbles.
    Q5_0 = 6, "Q5_0", 32, 22;
    Q5_1 = 7, "Q5_1", 32, 24;
    /// f16 scale + 32 bytes.
    Q8_0 = 8, "Q8_0", 32, 34;
    /// Two f16 (scale and sum) + 32 bytes: 36 in ggml (`block_q8_1`);
    /// gguf-py's table still says 40, from when both were f32. Never stored
    /// in model files (it quantizes activations).
    Q8_1 = 9, "Q8_1", 32, 36;
    Q2_K = 10, "Q2_K", 256, 84;
    Q3_K = 11, "Q3_K", 256, 110;
    Q4_K = 12, "Q4_K", 256, 144;
    Q5_K = 13, "Q5_K", 256, 176;
    Q6_K = 14, "Q6_K", 256, 210;
    Q8_K = 15, "Q8_K", 256, 292;
    IQ2_XXS = 16, "IQ2_XXS", 256, 66;
    IQ2_XS = 17, "IQ2_XS", 256, 74;
    IQ3_XXS = 18, "IQ3_XXS", 256, 98;
    IQ1_S = 19, "IQ1_S", 256, 50;
    IQ4_NL = 20, "IQ4_NL", 32, 18;
    IQ3_S = 21, "IQ3_S", 256, 110;
    IQ2_S = 22, "IQ2_S", 256, 82;
    IQ4_XS = 23, "IQ4_XS", 256, 136;
    I8 = 24, "I8", 1, 1;
    I16 = 25, "I16", 1, 2;
    I32 = 26, "I32", 1, 4;
    I64 = 27, "I64", 1, 8;
    F64 = 28, "F64", 1, 8;
    IQ1_M = 29, "IQ1_M", 256, 56;
    BF16 = 30, "BF16", 1, 2;
    TQ1_0 = 34, "TQ1_0", 256, 54;
    TQ2_0 = 35, "TQ2_0", 256, 66;
    /// E8M0 scale + 32 E2M1 nibbles.
    MXFP4 = 39, "MXFP4", 32, 17;
    /// Four UE4M3 scales + 64 E2M1 nibbles.
    NVFP4 = 40, "NVFP4", 64, 36;
    /// f16 scale + 128 sign bits.
    Q1_0 = 41, "Q1_0", 128, 18;
}

impl GgmlType {
    /// Bits per weight: `type_size · 8 / block_size` (4.5 for Q4_0 and
    /// Q4_K, 6.5625 for Q6_K).
    pub fn bits_per_weight(self) -> f64 {
        (self.type_size() * 8) as f64 / self.block_size() as f64
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The codes ggml once had and removed, for a clearer message.
fn removed_type(code: u32) -> Option<&'static str> {
    Some(match code {
        4 => "Q4_2",
        5 => "Q4_3",
        31 => "Q4_0_4_4",
        32 => "Q4_0_4_8",
        33 => "Q4_0_8_8",
        36 => "IQ4_NL_4_4",
        37 => "IQ4_NL_4_8",
        38 => "IQ4_NL_8_8",
        _ => return None,
    })
}

/// One tensor's info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GgufTensor {
    pub name: String,
    /// ggml's `ne`: innermost (contiguous) first, so a PyTorch weight
    /// `[out, in]` is `[in, out]` here.
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// From the start of the data ([`GgufFile::data_start`]).
    pub offset: u64,
}

impl GgufTensor {
    /// The number of weights, the product of the dims (1 with none). A
    /// tensor [`parse`] returns never overflows; a hand-made one saturates.
    pub fn elements(&self) -> u64 {
        checked_elements(&self.dims).unwrap_or(u64::MAX)
    }

    /// Bytes of the tensor's data: elements / block size × bytes per block.
    pub fn bytes(&self) -> u64 {
        checked_bytes(self.elements(), self.ggml_type).unwrap_or(u64::MAX)
    }
}

fn checked_elements(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
}

fn checked_bytes(elements: u64, ty: GgmlType) -> Option<u64> {
    (elements / ty.block_size()).checked_mul(ty.type_size())
}

/// A GGUF file's header.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufFile {
    /// 2 or 3.
    pub version: u32,
    /// The metadata in the file's order.
    pub metadata: Vec<(String, MetaValue)>,
    /// The tensors in the file's order.
    pub tensors: Vec<GgufTensor>,
    /// `general.alignment`, or [`DEFAULT_ALIGNMENT`].
    pub alignment: u64,
    /// The file offset of the data: the header's end rounded up to the
    /// alignment.
    pub data_start: u64,
}

impl GgufFile {
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// An integer value that is not negative.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(MetaValue::as_u64)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(MetaValue::as_str)
    }

    /// `general.architecture` (`llama`, `qwen2`, ...).
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    pub fn tensor(&self, name: &str) -> Option<&GgufTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// `(type, weights, bytes)` for each ggml type present, by type code.
    pub fn params_by_type(&self) -> Vec<(GgmlType, u64, u64)> {
        let mut out: Vec<(GgmlType, u64, u64)> = Vec::new();
        for t in &self.tensors {
            match out.iter_mut().find(|(ty, _, _)| *ty == t.ggml_type) {
                Some((_, n, b)) => {
                    *n = n.saturating_add(t.elements());
                    *b = b.saturating_add(t.bytes());
                }
                None => out.push((t.ggml_type, t.elements(), t.bytes())),
            }
        }
        out.sort_by_key(|(ty, _, _)| *ty);
        out
    }

    /// All tensors' weights.
    pub fn total_params(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |n, t| n.saturating_add(t.elements()))
    }

    /// All tensors' bytes (without the padding between them).
    pub fn total_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |n, t| n.saturating_add(t.bytes()))
    }
}

/// Why a GGUF header could not be read: the file (or "GGUF header" for one
/// read from memory or a reader), then the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", file_label(.file.as_deref()))]
pub struct Error {
    pub file: Option<PathBuf>,
    pub kind: ErrorKind,
}

fn file_label(file: Option<&Path>) -> String {
    match file {
        Some(path) => format!("'{}'", path.display()),
        None => "GGUF header".into(),
    }
}

/// The reason of an [`Error`]; every message is one line. `what` fields say
/// where in the header: "the key of metadata pair #3", "the value of key
/// 'general.name'", "the dims of tensor 'output.weight'".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("cannot read: {0}")]
    Io(String),

    #[error("not a regular file (a folder, a device or a pipe)")]
    NotAFile,

    #[error("not a GGUF file: it begins with {}, not \"GGUF\"", show_magic(.0))]
    NotGguf(Vec<u8>),

    #[error("not a GGUF file: it has fewer than the 4 bytes of the magic")]
    TooShort,

    #[error("a {0} file, the format before GGUF: convert it to GGUF with llama.cpp")]
    OldGgml(&'static str),

    #[error("the version reads as {raw} ({raw:#010x}): this is a big-endian GGUF file (version {}), and only little-endian files are read", .raw.swap_bytes())]
    BigEndian { raw: u32 },

    #[error("GGUF version 1 is not supported (only 2 and 3; llama.cpp dropped it too): convert the file again")]
    Version1,

    #[error("GGUF version {0} is not supported (only 2 and 3)")]
    UnsupportedVersion(u32),

    /// The file (or the bytes given) ends inside the header.
    #[error("the header is cut off at byte {at}, inside {what}")]
    Truncated { what: String, at: u64 },

    #[error("it claims {kv_count} metadata pairs and {tensor_count} tensors, more than the {remaining} bytes left in the file can hold")]
    TooManyEntries {
        kv_count: u64,
        tensor_count: u64,
        remaining: u64,
    },

    #[error("{what} claims {len} bytes, but only {remaining} are left in the file")]
    StringTooLong {
        what: String,
        len: u64,
        remaining: u64,
    },

    #[error("{what} is {len} bytes long, more than the {MAX_NAME_LEN} read")]
    NameTooLong { what: String, len: u64 },

    #[error("{what} is not UTF-8")]
    NotUtf8 { what: String },

    #[error("the key of metadata pair #{0} is empty")]
    EmptyKey(u64),

    #[error("metadata key {} appears twice", q(.0))]
    DuplicateKey(String),

    #[error("key {} has value type {code}, which GGUF does not define", q(.key))]
    UnknownValueType { key: String, code: u32 },

    #[error("array {} claims {len} elements of {elem}, more than the {remaining} bytes left in the file can hold", q(.key))]
    ArrayTooLong {
        key: String,
        elem: ValueType,
        len: u64,
        remaining: u64,
    },

    #[error("array {} nests arrays more than {MAX_ARRAY_DEPTH} deep", q(.0))]
    NestingTooDeep(String),

    #[error("general.alignment is {0}: it must be a power of two")]
    BadAlignment(String),

    #[error(
        "the header keeps more than {MAX_KEPT_BYTES} bytes of keys, names and values in memory"
    )]
    TooMuchKept,

    #[error("tensor {} appears twice", q(.0))]
    DuplicateTensor(String),

    #[error("tensor {} has {n_dims} dims, more than ggml's {MAX_DIMS}", q(.tensor))]
    TooManyDims { tensor: String, n_dims: u32 },

    #[error("tensor {}: dims {dims:?} hold more than 2^63 - 1 elements", q(.tensor))]
    ElementsOverflow { tensor: String, dims: Vec<u64> },

    #[error("tensor {} has ggml type {code}, which {}", q(.tensor), unknown_type(*.code))]
    UnknownGgmlType { tensor: String, code: u32 },

    #[error("tensor {}: its first dim {ne0} is not a multiple of {ggml_type}'s block of {}", q(.tensor), .ggml_type.block_size())]
    NotBlockMultiple {
        tensor: String,
        ggml_type: GgmlType,
        ne0: u64,
    },

    #[error("tensor {}: its size in bytes overflows 64 bits", q(.0))]
    BytesOverflow(String),

    #[error("tensor {} is at offset {offset}, not a multiple of the alignment {alignment}", q(.tensor))]
    Misaligned {
        tensor: String,
        offset: u64,
        alignment: u64,
    },

    #[error("tensor {} (bytes {start}..{end} of the data) overlaps tensor {} (which ends at {other_end})", q(.tensor), q(.other))]
    Overlap {
        tensor: String,
        start: u64,
        end: u64,
        other: String,
        other_end: u64,
    },

    #[error("tensor {} ends at byte {end} of the file, past its end at {file_len}", q(.tensor))]
    BeyondFile {
        tensor: String,
        end: u64,
        file_len: u64,
    },

    #[error("the data's start overflows 64 bits")]
    DataStartOverflow,
}

fn show_magic(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    format!("\"{shown}\"")
}

fn unknown_type(code: u32) -> String {
    match removed_type(code) {
        Some(name) => format!("is {name}, a type ggml has removed from GGUF files"),
        None => "ggml does not define".into(),
    }
}

/// Reads the header of the GGUF file at `path`.
pub fn read_file(path: &Path) -> Result<GgufFile, Error> {
    let on_file = |kind| Error {
        file: Some(path.to_path_buf()),
        kind,
    };
    let io = |e: std::io::Error| on_file(ErrorKind::Io(e.to_string()));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // A FIFO is opened at once, then refused as not a regular file.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file: File = options.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(on_file(ErrorKind::NotAFile));
    }
    read_header(BufReader::with_capacity(64 << 10, file), meta.len()).map_err(on_file)
}

/// Reads a header from `reader`, the start of a file of `file_len` bytes.
/// Reading stops at the end of the tensor infos.
pub fn parse<R: Read>(reader: R, file_len: u64) -> Result<GgufFile, Error> {
    read_header(reader, file_len).map_err(|kind| Error { file: None, kind })
}

/// Reads a header from the first bytes of a file of `file_len` bytes (all
/// of it, or only as much as holds the header).
pub fn parse_bytes(bytes: &[u8], file_len: u64) -> Result<GgufFile, Error> {
    parse(bytes, file_len)
}

/// The reader, with the position and what the file has left.
struct Input<R> {
    reader: R,
    pos: u64,
    file_len: u64,
    /// Bytes kept in memory so far, against [`MAX_KEPT_BYTES`].
    kept: u64,
}

impl<R: Read> Input<R> {
    fn remaining(&self) -> u64 {
        self.file_len.saturating_sub(self.pos)
    }

    /// The input ends at byte `at`, inside `what`.
    fn cut(at: u64, what: &dyn Fn() -> String) -> ErrorKind {
        ErrorKind::Truncated { what: what(), at }
    }

    fn fill(&mut self, buf: &mut [u8], what: &dyn Fn() -> String) -> Result<(), ErrorKind> {
        if buf.len() as u64 > self.remaining() {
            return Err(Self::cut(self.file_len, what));
        }
        let mut done = 0;
        while done < buf.len() {
            match self.reader.read(&mut buf[done..]) {
                // The reader ended before the length it was said to have.
                Ok(0) => return Err(Self::cut(self.pos + done as u64, what)),
                Ok(k) => done += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ErrorKind::Io(e.to_string())),
            }
        }
        self.pos += done as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], ErrorKind> {
        let mut buf = [0u8; N];
        self.fill(&mut buf, what)?;
        Ok(buf)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, ErrorKind> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, ErrorKind> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Reads through `n` bytes without keeping them.
    fn skip(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<(), ErrorKind> {
        if n > self.remaining() {
            return Err(Self::cut(self.file_len, what));
        }
        let mut scratch = [0u8; 8192];
        let mut left = n;
        while left > 0 {
            let chunk = left.min(scratch.len() as u64) as usize;
            self.fill(&mut scratch[..chunk], what)?;
            left -= chunk as u64;
        }
        Ok(())
    }

    /// Counts `n` more bytes as kept in memory.
    fn keep(&mut self, n: u64) -> Result<(), ErrorKind> {
        self.kept = self.kept.saturating_add(n);
        if self.kept > MAX_KEPT_BYTES {
            return Err(ErrorKind::TooMuchKept);
        }
        Ok(())
    }

    /// A string's length, checked against what the file has left.
    fn string_len(&mut self, what: &dyn Fn() -> String) -> Result<u64, ErrorKind> {
        let len = self.u64(what)?;
        if len > self.remaining() {
            return Err(ErrorKind::StringTooLong {
                what: what(),
                len,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    /// A key or a tensor name: at most [`MAX_NAME_LEN`] bytes of UTF-8.
    fn name(&mut self, what: &dyn Fn() -> String) -> Result<String, ErrorKind> {
        let len = self.string_len(what)?;
        if len > MAX_NAME_LEN {
            return Err(ErrorKind::NameTooLong { what: what(), len });
        }
        self.keep(len)?;
        let mut buf = vec![0u8; len as usize];
        self.fill(&mut buf, what)?;
        String::from_utf8(buf).map_err(|_| ErrorKind::NotUtf8 { what: what() })
    }

    /// A value of type `ty` for key `key`, kept when `keep` (and small
    /// enough), else read through; `depth` counts the arrays around it.
    fn value(
        &mut self,
        ty: ValueType,
        key: &str,
        depth: u32,
        keep: bool,
    ) -> Result<MetaValue, ErrorKind> {
        let what = || format!("the value of key {}", q(key));
        let what: &dyn Fn() -> String = &what;
        Ok(match ty {
            ValueType::U8 => MetaValue::U64(u8::from_le_bytes(self.array(what)?).into()),
            ValueType::I8 => MetaValue::I64(i8::from_le_bytes(self.array(what)?).into()),
            ValueType::U16 => MetaValue::U64(u16::from_le_bytes(self.array(what)?).into()),
            ValueType::I16 => MetaValue::I64(i16::from_le_bytes(self.array(what)?).into()),
            ValueType::U32 => MetaValue::U64(u32::from_le_bytes(self.array(what)?).into()),
            ValueType::I32 => MetaValue::I64(i32::from_le_bytes(self.array(what)?).into()),
            ValueType::F32 => MetaValue::F64(f32::from_le_bytes(self.array(what)?).into()),
            // As ggml reads it: any byte but 0 is true.
            ValueType::Bool => MetaValue::Bool(self.array::<1>(what)?[0] != 0),
            ValueType::U64 => MetaValue::U64(u64::from_le_bytes(self.array(what)?)),
            ValueType::I64 => MetaValue::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F64 => MetaValue::F64(f64::from_le_bytes(self.array(what)?)),
            ValueType::Str => {
                let len = self.string_len(what)?;
                if keep && len <= MAX_KEPT_STRING {
                    self.keep(len)?;
                    let mut buf = vec![0u8; len as usize];
                    self.fill(&mut buf, what)?;
                    MetaValue::Str(String::from_utf8_lossy(&buf).into_owned())
                } else {
                    self.skip(len, what)?;
                    MetaValue::LongStr { len }
                }
            }
            ValueType::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(ErrorKind::NestingTooDeep(key.to_string()));
                }
                let code = self.u32(what)?;
                let elem =
                    ValueType::from_code(code).ok_or_else(|| ErrorKind::UnknownValueType {
                        key: key.to_string(),
                        code,
                    })?;
                let len = self.u64(what)?;
                let fits = len
                    .checked_mul(elem.min_size())
                    .is_some_and(|need| need <= self.remaining());
                if !fits {
                    return Err(ErrorKind::ArrayTooLong {
                        key: key.to_string(),
                        elem,
                        len,
                        remaining: self.remaining(),
                    });
                }
                let keep_items = keep && elem != ValueType::Str && len <= MAX_KEPT_ARRAY;
                let items = if keep_items {
                    self.keep(len.saturating_mul(std::mem::size_of::<MetaValue>() as u64))?;
                    // len ≤ MAX_KEPT_ARRAY.
                    let mut items = Vec::with_capacity(len as usize);
                    for _ in 0..len {
                        items.push(self.value(elem, key, depth + 1, true)?);
                    }
                    Some(items)
                } else if let Some(size) = elem.fixed_size() {
                    // Checked above: len × size ≤ what is left.
                    self.skip(len * size, what)?;
                    None
                } else {
                    for _ in 0..len {
                        self.value(elem, key, depth + 1, false)?;
                    }
                    None
                };
                MetaValue::Array { elem, len, items }
            }
        })
    }
}

fn read_header<R: Read>(reader: R, file_len: u64) -> Result<GgufFile, ErrorKind> {
    let mut input = Input {
        reader,
        pos: 0,
        file_len,
        kept: 0,
    };
    let magic: [u8; 4] = match input.array(&|| "the magic".into()) {
        Ok(m) => m,
        // Too short to be anything: show what there is.
        Err(ErrorKind::Truncated { .. }) => return Err(ErrorKind::TooShort),
        Err(e) => return Err(e),
    };
    match &magic {
        b"GGUF" => {}
        // The magic as a big-endian u32.
        b"FUGG" => return Err(ErrorKind::BigEndian { raw: 0x0300_0000 }),
        // ggml's older formats wrote their magic as a little-endian u32.
        b"lmgg" => return Err(ErrorKind::OldGgml("GGML")),
        b"fmgg" => return Err(ErrorKind::OldGgml("GGMF")),
        b"tjgg" => return Err(ErrorKind::OldGgml("GGJT")),
        _ => return Err(ErrorKind::NotGguf(magic.to_vec())),
    }
    let version = input.u32(&|| "the version".into())?;
    match version {
        2 | 3 => {}
        1 => return Err(ErrorKind::Version1),
        v if v != 0 && v & 0xFFFF == 0 => return Err(ErrorKind::BigEndian { raw: v }),
        v => return Err(ErrorKind::UnsupportedVersion(v)),
    }
    let tensor_count = input.u64(&|| "the tensor count".into())?;
    let kv_count = input.u64(&|| "the metadata count".into())?;
    // The least each takes: a pair its key's length, its type and a
    // one-byte value; a tensor its name's length, its n_dims, its type and
    // its offset.
    let need = kv_count
        .checked_mul(8 + 4 + 1)
        .and_then(|kv| tensor_count.checked_mul(8 + 4 + 4 + 8)?.checked_add(kv));
    if need.is_none_or(|need| need > input.remaining()) {
        return Err(ErrorKind::TooManyEntries {
            kv_count,
            tensor_count,
            remaining: input.remaining(),
        });
    }

    let mut metadata = Vec::with_capacity(kv_count.min(1024) as usize);
    let mut keys = HashSet::new();
    for i in 0..kv_count {
        let key = input.name(&|| format!("the key of metadata pair #{i}"))?;
        if key.is_empty() {
            return Err(ErrorKind::EmptyKey(i));
        }
        // The key twice (in the list and in the set) and its entry.
        input.keep(key.len() as u64 + 64)?;
        if !keys.insert(key.clone()) {
            return Err(ErrorKind::DuplicateKey(key));
        }
        let code = input.u32(&|| format!("the value type of key {}", q(&key)))?;
        let ty = ValueType::from_code(code).ok_or_else(|| ErrorKind::UnknownValueType {
            key: key.clone(),
            code,
        })?;
        let value = input.value(ty, &key, 0, true)?;
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, value)) => match value.as_u64() {
            Some(a) if a.is_power_of_two() => a,
            _ => return Err(ErrorKind::BadAlignment(value.describe())),
        },
    };

    let mut tensors = Vec::with_capacity(tensor_count.min(1024) as usize);
    let mut names = HashSet::new();
    for i in 0..tensor_count {
        let name = input.name(&|| format!("the name of tensor #{i}"))?;
        input.keep(name.len() as u64 + 128)?;
        if !names.insert(name.clone()) {
            return Err(ErrorKind::DuplicateTensor(name));
        }
        let n_dims = input.u32(&|| format!("the dims of tensor {}", q(&name)))?;
        if n_dims > MAX_DIMS {
            return Err(ErrorKind::TooManyDims {
                tensor: name,
                n_dims,
            });
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(input.u64(&|| format!("the dims of tensor {}", q(&name)))?);
        }
        // ggml holds dims and their product as int64.
        let elements = checked_elements(&dims).filter(|&n| i64::try_from(n).is_ok());
        let Some(elements) = elements.filter(|_| dims.iter().all(|&d| i64::try_from(d).is_ok()))
        else {
            return Err(ErrorKind::ElementsOverflow { tensor: name, dims });
        };
        let code = input.u32(&|| format!("the type of tensor {}", q(&name)))?;
        let Some(ggml_type) = GgmlType::from_code(code) else {
            return Err(ErrorKind::UnknownGgmlType { tensor: name, code });
        };
        let ne0 = dims.first().copied().unwrap_or(1);
        if ne0 % ggml_type.block_size() != 0 {
            return Err(ErrorKind::NotBlockMultiple {
                tensor: name,
                ggml_type,
                ne0,
            });
        }
        if checked_bytes(elements, ggml_type).is_none() {
            return Err(ErrorKind::BytesOverflow(name));
        }
        let offset = input.u64(&|| format!("the offset of tensor {}", q(&name)))?;
        tensors.push(GgufTensor {
            name,
            dims,
            ggml_type,
            offset,
        });
    }

    let header_end = input.pos;
    let data_start = header_end
        .checked_next_multiple_of(alignment)
        .ok_or(ErrorKind::DataStartOverflow)?;

    // Each tensor aligned and within the file.
    for t in &tensors {
        if t.offset % alignment != 0 {
            return Err(ErrorKind::Misaligned {
                tensor: t.name.clone(),
                offset: t.offset,
                alignment,
            });
        }
        let end = data_start
            .checked_add(t.offset)
            .and_then(|start| start.checked_add(t.bytes()));
        if end.is_none_or(|end| end > file_len) {
            return Err(ErrorKind::BeyondFile {
                tensor: t.name.clone(),
                end: end.unwrap_or(u64::MAX),
                file_len,
            });
        }
    }
    // No two overlap (a tensor of no bytes overlaps nothing).
    let mut order: Vec<&GgufTensor> = tensors.iter().filter(|t| t.bytes() > 0).collect();
    order.sort_by_key(|t| t.offset);
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // Both ends are within the file, checked above.
        let a_end = a.offset + a.bytes();
        if b.offset < a_end {
            return Err(ErrorKind::Overlap {
                tensor: b.name.clone(),
                start: b.offset,
                end: b.offset + b.bytes(),
                other: a.name.clone(),
                other_end: a_end,
            });
        }
    }

    Ok(GgufFile {
        version,
        metadata,
        tensors,
        alignment,
        data_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_table() {
        // Codes are unique and increasing, and the table covers every code
        // ggml.h defines today (0..=41 but the removed ones).
        assert!(GgmlType::ALL.windows(2).all(|w| w[0].code() < w[1].code()));
        let codes: Vec<u32> = GgmlType::ALL.iter().map(|t| t.code()).collect();
        for code in 0..=41 {
            assert_eq!(
                codes.contains(&code),
                removed_type(code).is_none(),
                "code {code}"
            );
        }
        for &t in GgmlType::ALL {
            assert_eq!(GgmlType::from_code(t.code()), Some(t));
        }
        assert_eq!(GgmlType::Q4_0.bits_per_weight(), 4.5);
        assert_eq!(GgmlType::Q4_K.bits_per_weight(), 4.5);
        assert_eq!(GgmlType::Q6_K.bits_per_weight(), 6.5625);
        assert_eq!(GgmlType::Q8_0.bits_per_weight(), 8.5);
        assert_eq!(GgmlType::Q2_K.bits_per_weight(), 2.625);
        assert_eq!(GgmlType::IQ4_XS.bits_per_weight(), 4.25);
        assert_eq!(GgmlType::TQ1_0.bits_per_weight(), 1.6875);
        assert_eq!(GgmlType::MXFP4.bits_per_weight(), 4.25);
        assert_eq!(GgmlType::BF16.bits_per_weight(), 16.0);
    }

    #[test]
    fn value_type_codes() {
        for code in 0..=12 {
            assert_eq!(ValueType::from_code(code).map(ValueType::code), Some(code));
        }
        assert_eq!(ValueType::from_code(13), None);
    }

    #[test]
    fn magic_and_versions() {
        let header = |magic: &[u8], version: u32| {
            let mut b = magic.to_vec();
            b.extend_from_slice(&version.to_le_bytes());
            b.extend_from_slice(&[0; 16]);
            let len = b.len() as u64;
            parse_bytes(&b, len).map(|_| ()).unwrap_err().kind
        };
        assert_eq!(header(b"GGUF", 1), ErrorKind::Version1);
        assert_eq!(header(b"GGUF", 4), ErrorKind::UnsupportedVersion(4));
        assert_eq!(header(b"GGUF", 0), ErrorKind::UnsupportedVersion(0));
        let big = header(b"GGUF", 3u32.swap_bytes());
        assert_eq!(big, ErrorKind::BigEndian { raw: 0x0300_0000 });
        assert!(big.to_string().contains("big-endian GGUF file (version 3)"));
        assert_eq!(header(b"tjgg", 3), ErrorKind::OldGgml("GGJT"));
        assert_eq!(
            header(b"PK\x03\x04", 3).to_string(),
            "not a GGUF file: it begins with \"PK\\x03\\x04\", not \"GGUF\""
        );
        assert_eq!(parse_bytes(b"GG", 2).unwrap_err().kind, ErrorKind::TooShort);
        assert!(parse_bytes(b"GGUF\x03\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24).is_ok());
    }
}
