//! safetensors headers: every tensor's name, dtype, shape and byte range,
//! from the start of the file alone.
//!
//! A safetensors file is an 8-byte little-endian length `N`, `N` bytes of
//! UTF-8 JSON, then the tensors' bytes. The JSON maps each tensor's name to
//! `{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}`, offsets
//! counted from the first byte after the header, and may hold a
//! `"__metadata__"` object of strings. Only the length and the JSON are read;
//! a tensor's bytes never are.
//!
//! What is checked is what safetensors' own loader checks
//! (`Metadata::validate` and `read_metadata` in its `tensor.rs`), and a little
//! more:
//! - `N ≤` [`MAX_HEADER_LEN`] and `8 + N` is within the file;
//! - every dtype is one safetensors defines ([`Dtype`]);
//! - shape × dtype bits / 8 is exactly `end − begin`, and for the sub-byte
//!   dtypes (F4, F6) the bits fill whole bytes;
//! - sorted by offsets, the tensors are contiguous from 0 with neither gap nor
//!   overlap (safetensors refuses anything else as an invalid offset), and the
//!   last one ends within the file. safetensors also wants it to end exactly
//!   at the end of the file; bytes after it are accepted here, since they
//!   change no count;
//! - names are non-empty, and no key appears twice anywhere in the header (a
//!   tensor, a tensor's field, a metadata key), where a JSON parser would
//!   silently keep one of the two.
//!
//! Sharded checkpoints (`model.safetensors.index.json`) are read by
//! [`read_index`] and [`read_sharded`], which opens each shard only inside the
//! index's folder.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The longest header read, in bytes: safetensors' own limit
/// (`MAX_HEADER_SIZE` in its `tensor.rs`). Every file safetensors itself
/// loads is read, and a corrupt or hostile length costs at most this much
/// memory. Real headers are far smaller: about 100 bytes a tensor, so 10 MB
/// for 100,000 tensors.
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// The largest `model.safetensors.index.json` read, in bytes (64 MiB). The
/// index lists each tensor once with its shard's name, about 100 bytes a
/// tensor: the largest published checkpoints' indexes are under 10 MB.
pub const MAX_INDEX_LEN: u64 = 64 << 20;

/// The 8 bytes of the header's length.
const LEN_BYTES: u64 = 8;

/// A safetensors element type, with its name in the header and its size.
///
/// Every dtype of safetensors' `Dtype` (its `tensor.rs`), including the
/// sub-byte OCP microscaling types F4 and F6 and the complex C64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dtype {
    Bool,
    /// OCP MXFP4 element (E2M1), 4 bits.
    F4,
    /// OCP MXFP6 element, 6 bits.
    F6E2M3,
    /// OCP MXFP6 element, 6 bits.
    F6E3M2,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    /// OCP MX scale (exponent only).
    F8E8M0,
    F8E4M3FNUZ,
    F8E5M2FNUZ,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    /// Complex number of two F32 parts.
    C64,
    F64,
    I64,
    U64,
}

impl Dtype {
    /// Every dtype, in safetensors' order.
    pub const ALL: [Dtype; 22] = [
        Dtype::Bool,
        Dtype::F4,
        Dtype::F6E2M3,
        Dtype::F6E3M2,
        Dtype::U8,
        Dtype::I8,
        Dtype::F8E5M2,
        Dtype::F8E4M3,
        Dtype::F8E8M0,
        Dtype::F8E4M3FNUZ,
        Dtype::F8E5M2FNUZ,
        Dtype::I16,
        Dtype::U16,
        Dtype::F16,
        Dtype::BF16,
        Dtype::I32,
        Dtype::U32,
        Dtype::F32,
        Dtype::C64,
        Dtype::F64,
        Dtype::I64,
        Dtype::U64,
    ];

    /// The name the header uses: `"F32"`, `"BF16"`, `"F8_E4M3"`, ...
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "BOOL",
            Dtype::F4 => "F4",
            Dtype::F6E2M3 => "F6_E2M3",
            Dtype::F6E3M2 => "F6_E3M2",
            Dtype::U8 => "U8",
            Dtype::I8 => "I8",
            Dtype::F8E5M2 => "F8_E5M2",
            Dtype::F8E4M3 => "F8_E4M3",
            Dtype::F8E8M0 => "F8_E8M0",
            Dtype::F8E4M3FNUZ => "F8_E4M3FNUZ",
            Dtype::F8E5M2FNUZ => "F8_E5M2FNUZ",
            Dtype::I16 => "I16",
            Dtype::U16 => "U16",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::I32 => "I32",
            Dtype::U32 => "U32",
            Dtype::F32 => "F32",
            Dtype::C64 => "C64",
            Dtype::F64 => "F64",
            Dtype::I64 => "I64",
            Dtype::U64 => "U64",
        }
    }

    /// Bits of one element (4 and 6 for the sub-byte types).
    pub fn bits(self) -> u64 {
        match self {
            Dtype::F4 => 4,
            Dtype::F6E2M3 | Dtype::F6E3M2 => 6,
            Dtype::Bool
            | Dtype::U8
            | Dtype::I8
            | Dtype::F8E5M2
            | Dtype::F8E4M3
            | Dtype::F8E8M0
            | Dtype::F8E4M3FNUZ
            | Dtype::F8E5M2FNUZ => 8,
            Dtype::I16 | Dtype::U16 | Dtype::F16 | Dtype::BF16 => 16,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 32,
            Dtype::C64 | Dtype::F64 | Dtype::I64 | Dtype::U64 => 64,
        }
    }

    /// The dtype a header names, if safetensors defines it (names are
    /// case-sensitive, as in safetensors).
    pub fn from_name(name: &str) -> Option<Dtype> {
        Dtype::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor of a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    /// `[begin, end)` in bytes, counted from the first byte after the header.
    pub data_offsets: (u64, u64),
}

impl TensorInfo {
    /// The number of elements: the product of the shape (1 for a scalar).
    /// A header [`parse`] returns never overflows; a hand-made one saturates.
    pub fn elements(&self) -> u64 {
        self.shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    /// The tensor's bytes in the file, `end − begin`.
    pub fn bytes(&self) -> u64 {
        self.data_offsets.1.saturating_sub(self.data_offsets.0)
    }
}

/// A safetensors file's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The tensors in the order of their data (by `data_offsets`).
    pub tensors: Vec<TensorInfo>,
    /// `__metadata__`, in the header's order.
    pub metadata: Vec<(String, String)>,
    /// `N`: the JSON's length in bytes, without the 8 bytes of the length.
    pub header_len: u64,
}

impl Header {
    /// The file offset of the first tensor byte: `8 + N`.
    pub fn data_start(&self) -> u64 {
        LEN_BYTES + self.header_len
    }

    /// The tensor of this name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Elements of all tensors.
    pub fn total_params(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |n, t| n.saturating_add(t.elements()))
    }

    /// Bytes of all tensors' data.
    pub fn total_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |n, t| n.saturating_add(t.bytes()))
    }

    /// `(dtype, elements, bytes)` for each dtype present, in [`Dtype::ALL`]'s
    /// order.
    pub fn params_by_dtype(&self) -> Vec<(Dtype, u64, u64)> {
        let mut out: Vec<(Dtype, u64, u64)> = Vec::new();
        for t in &self.tensors {
            match out.iter_mut().find(|(d, _, _)| *d == t.dtype) {
                Some((_, n, b)) => {
                    *n = n.saturating_add(t.elements());
                    *b = b.saturating_add(t.bytes());
                }
                None => out.push((t.dtype, t.elements(), t.bytes())),
            }
        }
        out.sort_by_key(|(d, _, _)| *d);
        out
    }
}

/// A sharded checkpoint's `model.safetensors.index.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    /// The index's `"metadata"` object, in its order (usually `total_size`,
    /// the bytes of all shards' tensor data).
    pub metadata: Vec<(String, serde_json::Value)>,
    /// Each tensor's shard file, in the index's order.
    pub weight_map: Vec<(String, String)>,
}

impl Index {
    /// The distinct shard files, in the order of their first mention.
    pub fn shards(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.weight_map
            .iter()
            .map(|(_, s)| s.as_str())
            .filter(|s| seen.insert(*s))
            .collect()
    }

    /// `metadata.total_size`, when it is a whole number.
    pub fn total_size(&self) -> Option<u64> {
        self.metadata
            .iter()
            .find(|(k, _)| k == "total_size")
            .and_then(|(_, v)| v.as_u64())
    }
}

/// Why a safetensors header or index could not be read: the file (or
/// "safetensors" for bytes given in memory), then the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", file_label(.file.as_deref()))]
pub struct Error {
    /// The file, or `None` for a header given in memory ([`parse`],
    /// [`parse_index`]).
    pub file: Option<PathBuf>,
    pub kind: ErrorKind,
}

fn file_label(file: Option<&Path>) -> String {
    match file {
        Some(path) => format!("'{}'", path.display()),
        None => "safetensors".into(),
    }
}

/// The reason of an [`Error`]. Every message is one line; names from the
/// file are quoted with their control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("cannot read: {0}")]
    Io(String),

    #[error("not a regular file (a folder, a device or a pipe)")]
    NotAFile,

    #[error("not a safetensors file: it has {0} bytes, fewer than the 8 of the header's length")]
    TooShort(u64),

    #[error("not a safetensors file: its header length {0} exceeds safetensors' limit of {MAX_HEADER_LEN} bytes")]
    HeaderTooLarge(u64),

    #[error("the header's length {len} runs past the end of the {file_len}-byte file (8 + {len} bytes needed)")]
    HeaderBeyondFile { len: u64, file_len: u64 },

    /// Bytes given to [`parse`] that stop inside the header.
    #[error("only {have} of the header's {need} bytes were given")]
    Truncated { have: u64, need: u64 },

    #[error("the header is not UTF-8 (at byte {0} of the JSON)")]
    NotUtf8(u64),

    /// serde_json's reason, with its line and column.
    #[error("the header is not valid JSON: {0}")]
    Json(String),

    #[error("the header is {0}, not a JSON object")]
    NotObject(&'static str),

    #[error("the header has key {} twice", q(.0))]
    DuplicateKey(String),

    #[error("a tensor has an empty name")]
    EmptyName,

    /// `__metadata__` is not an object of strings, or has a key twice.
    #[error("__metadata__ {0}")]
    BadMetadata(String),

    /// A tensor's entry is not an object with `dtype`, `shape` and
    /// `data_offsets` of the right kinds.
    #[error("tensor {}: {problem}", q(.tensor))]
    BadEntry { tensor: String, problem: String },

    #[error("tensor {} has dtype {}, which safetensors does not define", q(.tensor), q(.dtype))]
    UnknownDtype { tensor: String, dtype: String },

    #[error("tensor {}: the size of shape {shape:?} in {dtype} overflows 64 bits", q(.tensor))]
    ShapeOverflow {
        tensor: String,
        shape: Vec<u64>,
        dtype: Dtype,
    },

    #[error("tensor {}: {elements} elements of {dtype} ({} bits each) do not fill whole bytes", q(.tensor), .dtype.bits())]
    PartialByte {
        tensor: String,
        elements: u64,
        dtype: Dtype,
    },

    #[error("tensor {}: data_offsets [{begin}, {end}] end before they begin", q(.tensor))]
    ReversedOffsets {
        tensor: String,
        begin: u64,
        end: u64,
    },

    #[error("tensor {}: shape {shape:?} in {dtype} needs {expected} bytes, but data_offsets [{begin}, {end}] hold {}", q(.tensor), .end - .begin)]
    SizeMismatch {
        tensor: String,
        shape: Vec<u64>,
        dtype: Dtype,
        expected: u64,
        begin: u64,
        end: u64,
    },

    #[error("tensor {} begins at byte {begin} of the data, inside tensor {} (which ends at {previous_end})", q(.tensor), q(.previous))]
    Overlap {
        tensor: String,
        begin: u64,
        previous: String,
        previous_end: u64,
    },

    /// A gap before a tensor; `previous` is `None` for the first one.
    #[error("tensor {} begins at byte {begin} of the data, but {}: safetensors requires the tensors to be contiguous", q(.tensor), gap_before(.previous.as_deref(), *.previous_end))]
    Gap {
        tensor: String,
        begin: u64,
        previous: Option<String>,
        previous_end: u64,
    },

    #[error("tensor {} ends at byte {end} of the file, past its end at {file_len}", q(.tensor))]
    DataBeyondFile {
        tensor: String,
        end: u64,
        file_len: u64,
    },

    #[error("the index has {0} bytes, more than the {MAX_INDEX_LEN} read")]
    IndexTooLarge(u64),

    #[error("the index is not valid JSON: {0}")]
    IndexJson(String),

    /// The index's JSON has the wrong shape: not an object, no
    /// `weight_map`, a key twice.
    #[error("the index {0}")]
    BadIndex(String),

    /// The weight map is not an object of strings, or lists a tensor twice.
    #[error("the index's weight_map {0}")]
    BadWeightMap(String),

    #[error("the index names shard {}, which is refused: {reason}", q(.shard))]
    BadShardName { shard: String, reason: &'static str },

    #[error("cannot open shard {} in the index's folder: {reason}", q(.shard))]
    ShardOpen { shard: String, reason: String },

    #[error("the weight map puts tensor {} in shard {}, which does not hold it", q(.tensor), q(.shard))]
    NotInShard { tensor: String, shard: String },

    #[error("shard {} holds tensor {}, which the weight map does not list", q(.shard), q(.tensor))]
    NotInMap { tensor: String, shard: String },

    #[error("the weight map puts tensor {} in shard {}, but shard {} holds it", q(.tensor), q(.listed), q(.found))]
    WrongShard {
        tensor: String,
        listed: String,
        found: String,
    },

    #[error("tensor {} is in both shard {} and shard {}", q(.tensor), q(.first), q(.second))]
    InTwoShards {
        tensor: String,
        first: String,
        second: String,
    },
}

fn gap_before(previous: Option<&str>, previous_end: u64) -> String {
    match previous {
        Some(p) => format!("tensor {} ends at {previous_end}", q(p)),
        None => "the data begins at 0".into(),
    }
}

/// A name from the file, quoted for a one-line message: control characters
/// escaped, and cut after 200 characters.
pub(crate) fn q(name: &str) -> String {
    const MAX_SHOWN: usize = 200;
    let mut out = String::from("'");
    for (k, c) in name.chars().enumerate() {
        if k == MAX_SHOWN {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Reads the header of the safetensors file at `path`: its first 8 bytes and
/// the `N` bytes of JSON, nothing more.
pub fn read_file(path: &Path) -> Result<Header, Error> {
    let on_file = |kind| Error {
        file: Some(path.to_path_buf()),
        kind,
    };
    let file = open_user_file(path).map_err(on_file)?;
    read_open(file).map_err(on_file)
}

/// Reads a header from `bytes`: the 8 length bytes, then the header (bytes
/// after it, such as the tensors' data, are ignored), of a file of
/// `file_len` bytes.
pub fn parse(bytes: &[u8], file_len: u64) -> Result<Header, Error> {
    parse_bytes(bytes, file_len).map_err(|kind| Error { file: None, kind })
}

fn parse_bytes(bytes: &[u8], file_len: u64) -> Result<Header, ErrorKind> {
    if file_len < LEN_BYTES {
        return Err(ErrorKind::TooShort(file_len));
    }
    let have = bytes.len() as u64;
    let Some(first) = bytes.first_chunk::<8>() else {
        return Err(ErrorKind::Truncated {
            have,
            need: LEN_BYTES,
        });
    };
    let len = u64::from_le_bytes(*first);
    check_len(len, file_len)?;
    let need = LEN_BYTES + len;
    let json = usize::try_from(need)
        .ok()
        .and_then(|end| bytes.get(LEN_BYTES as usize..end))
        .ok_or(ErrorKind::Truncated { have, need })?;
    parse_json(json, file_len)
}

/// The header's length against the limit and the file.
fn check_len(len: u64, file_len: u64) -> Result<(), ErrorKind> {
    if len > MAX_HEADER_LEN {
        return Err(ErrorKind::HeaderTooLarge(len));
    }
    if LEN_BYTES + len > file_len {
        return Err(ErrorKind::HeaderBeyondFile { len, file_len });
    }
    Ok(())
}

fn io_error(e: std::io::Error) -> ErrorKind {
    ErrorKind::Io(e.to_string())
}

/// Reads the header of an open file.
fn read_open(mut file: File) -> Result<Header, ErrorKind> {
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(ErrorKind::NotAFile);
    }
    let file_len = meta.len();
    if file_len < LEN_BYTES {
        return Err(ErrorKind::TooShort(file_len));
    }
    let mut first = [0u8; 8];
    file.read_exact(&mut first).map_err(io_error)?;
    let len = u64::from_le_bytes(first);
    check_len(len, file_len)?;
    // At most MAX_HEADER_LEN, and no more than the file holds.
    let len = usize::try_from(len).map_err(|_| ErrorKind::HeaderTooLarge(len))?;
    let mut json = vec![0u8; len];
    file.read_exact(&mut json).map_err(io_error)?;
    parse_json(&json, file_len)
}

/// Opens a file the user named, without blocking (a FIFO is opened at once,
/// then refused as not a regular file).
fn open_user_file(path: &Path) -> Result<File, ErrorKind> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io_error)?;
    if !file.metadata().map_err(io_error)?.is_file() {
        return Err(ErrorKind::NotAFile);
    }
    Ok(file)
}

/// The JSON of a header (without its length), of a file of `file_len` bytes.
fn parse_json(json: &[u8], file_len: u64) -> Result<Header, ErrorKind> {
    let header_len = json.len() as u64;
    let text = std::str::from_utf8(json).map_err(|e| ErrorKind::NotUtf8(e.valid_up_to() as u64))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let top = Seed(Expect::Top)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| ErrorKind::Json(e.to_string()))?;
    let header = match top {
        Parsed::Header(header) => *header,
        Parsed::Wrong(kind) => return Err(ErrorKind::NotObject(kind)),
        _ => return Err(ErrorKind::NotObject("another value")),
    };
    if let Some(e) = header.error {
        return Err(e);
    }
    let (mut tensors, metadata) = (header.tensors, header.metadata.unwrap_or_default());
    // A name twice, found by sorting references rather than copying names.
    let mut names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(ErrorKind::DuplicateKey(pair[0].to_string()));
    }

    // Contiguous from 0, in the order of the data (as safetensors sorts).
    tensors.sort_by_key(|t: &TensorInfo| t.data_offsets);
    let mut expected = 0u64;
    let mut previous: Option<&TensorInfo> = None;
    for t in &tensors {
        let (begin, end) = t.data_offsets;
        if begin < expected {
            let p = previous.map_or(String::new(), |p| p.name.clone());
            return Err(ErrorKind::Overlap {
                tensor: t.name.clone(),
                begin,
                previous: p,
                previous_end: expected,
            });
        }
        if begin > expected {
            return Err(ErrorKind::Gap {
                tensor: t.name.clone(),
                begin,
                previous: previous.map(|p| p.name.clone()),
                previous_end: expected,
            });
        }
        expected = end;
        previous = Some(t);
    }
    if let Some(last) = tensors.last() {
        let end = (LEN_BYTES + header_len)
            .checked_add(last.data_offsets.1)
            .filter(|&end| end <= file_len);
        if end.is_none() {
            return Err(ErrorKind::DataBeyondFile {
                tensor: last.name.clone(),
                end: (LEN_BYTES + header_len).saturating_add(last.data_offsets.1),
                file_len,
            });
        }
    }
    Ok(Header {
        tensors,
        metadata,
        header_len,
    })
}

/// `__metadata__`: an object of strings, or null.
fn read_metadata(value: Parsed) -> Result<Vec<(String, String)>, ErrorKind> {
    match value {
        Parsed::StrMap(Ok(pairs)) => {
            let mut seen = HashSet::new();
            if let Some((k, _)) = pairs.iter().find(|(k, _)| !seen.insert(k.as_str())) {
                return Err(ErrorKind::BadMetadata(format!("has key {} twice", q(k))));
            }
            Ok(pairs)
        }
        Parsed::StrMap(Err(why)) => Err(ErrorKind::BadMetadata(why)),
        Parsed::Wrong("null") => Ok(Vec::new()),
        Parsed::Wrong(kind) => Err(ErrorKind::BadMetadata(format!(
            "is {kind}, not an object of strings"
        ))),
        _ => Err(ErrorKind::BadMetadata("is not an object of strings".into())),
    }
}

/// One tensor's entry, checked against its own dtype and shape.
fn read_tensor(name: String, value: Parsed) -> Result<TensorInfo, ErrorKind> {
    if name.is_empty() {
        return Err(ErrorKind::EmptyName);
    }
    let bad = |problem: String| ErrorKind::BadEntry {
        tensor: name.clone(),
        problem,
    };
    let raw = match value {
        Parsed::Tensor(raw) => *raw,
        Parsed::Wrong(kind) => return Err(bad(format!("its entry is {kind}, not an object"))),
        _ => return Err(bad("its entry is not an object".into())),
    };
    if let Some(field) = raw.duplicate {
        return Err(bad(format!("its entry has \"{field}\" twice")));
    }
    let dtype_name = match raw.dtype {
        Some(Parsed::Str(s)) => s,
        Some(Parsed::Wrong(kind)) => return Err(bad(format!("\"dtype\" is {kind}, not a string"))),
        _ => return Err(bad("its entry has no \"dtype\"".into())),
    };
    let list = |field: &str, value: Option<Parsed>| -> Result<Vec<u64>, ErrorKind> {
        match value {
            Some(Parsed::U64List(Ok(v))) => Ok(v),
            Some(Parsed::U64List(Err(why))) => Err(bad(format!("\"{field}\" {why}"))),
            Some(Parsed::Wrong(kind)) => Err(bad(format!("\"{field}\" is {kind}, not an array"))),
            _ => Err(bad(format!("its entry has no \"{field}\""))),
        }
    };
    let shape = list("shape", raw.shape)?;
    let offsets = list("data_offsets", raw.offsets)?;
    let [begin, end] = offsets[..] else {
        return Err(bad(format!(
            "\"data_offsets\" has {} numbers, not 2",
            offsets.len()
        )));
    };
    let Some(dtype) = Dtype::from_name(&dtype_name) else {
        return Err(ErrorKind::UnknownDtype {
            tensor: name,
            dtype: dtype_name,
        });
    };
    let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
    let Some((elements, bits)) =
        elements.and_then(|n| n.checked_mul(dtype.bits()).map(|bits| (n, bits)))
    else {
        return Err(ErrorKind::ShapeOverflow {
            tensor: name,
            shape,
            dtype,
        });
    };
    if bits % 8 != 0 {
        return Err(ErrorKind::PartialByte {
            tensor: name,
            elements,
            dtype,
        });
    }
    if end < begin {
        return Err(ErrorKind::ReversedOffsets {
            tensor: name,
            begin,
            end,
        });
    }
    if end - begin != bits / 8 {
        return Err(ErrorKind::SizeMismatch {
            tensor: name,
            shape,
            dtype,
            expected: bits / 8,
            begin,
            end,
        });
    }
    Ok(TensorInfo {
        name,
        dtype,
        shape,
        data_offsets: (begin, end),
    })
}

/// Reads a sharded checkpoint's index file (at most [`MAX_INDEX_LEN`]
/// bytes).
pub fn read_index(path: &Path) -> Result<Index, Error> {
    let on_file = |kind| Error {
        file: Some(path.to_path_buf()),
        kind,
    };
    let file = open_user_file(path).map_err(on_file)?;
    let len = file.metadata().map_err(|e| on_file(io_error(e)))?.len();
    if len > MAX_INDEX_LEN {
        return Err(on_file(ErrorKind::IndexTooLarge(len)));
    }
    let mut bytes = Vec::new();
    // The file may have grown since fstat: read one byte more than allowed
    // to tell.
    file.take(MAX_INDEX_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| on_file(io_error(e)))?;
    if bytes.len() as u64 > MAX_INDEX_LEN {
        return Err(on_file(ErrorKind::IndexTooLarge(bytes.len() as u64)));
    }
    parse_index_bytes(&bytes).map_err(on_file)
}

/// Reads an index from its bytes.
pub fn parse_index(bytes: &[u8]) -> Result<Index, Error> {
    parse_index_bytes(bytes).map_err(|kind| Error { file: None, kind })
}

fn parse_index_bytes(bytes: &[u8]) -> Result<Index, ErrorKind> {
    if bytes.len() as u64 > MAX_INDEX_LEN {
        return Err(ErrorKind::IndexTooLarge(bytes.len() as u64));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = Seed(Expect::Index)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| ErrorKind::IndexJson(e.to_string()))?;
    let bad = |why: String| ErrorKind::BadIndex(why);
    let Parsed::Index {
        metadata,
        weight_map,
        duplicate,
    } = top
    else {
        let kind = match top {
            Parsed::Wrong(kind) => kind,
            _ => "not an object",
        };
        return Err(bad(format!("is {kind}, not a JSON object")));
    };
    if let Some(key) = duplicate {
        return Err(bad(format!("has key {} twice", q(&key))));
    }
    let metadata = match metadata {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Object(map)) => map.into_iter().collect(),
        Some(_) => return Err(bad("has a \"metadata\" that is not an object".into())),
    };
    let weight_map = match weight_map.map(|b| *b) {
        Some(Parsed::StrMap(Ok(pairs))) => pairs,
        Some(Parsed::StrMap(Err(why))) => return Err(ErrorKind::BadWeightMap(why)),
        Some(Parsed::Wrong(kind)) => {
            return Err(ErrorKind::BadWeightMap(format!("is {kind}, not an object")))
        }
        _ => return Err(bad("has no \"weight_map\"".into())),
    };
    let mut seen = HashSet::new();
    if let Some((t, _)) = weight_map.iter().find(|(t, _)| !seen.insert(t.as_str())) {
        return Err(ErrorKind::BadWeightMap(format!(
            "lists tensor {} twice",
            q(t)
        )));
    }
    Ok(Index {
        metadata,
        weight_map,
    })
}

/// Reads every shard of a sharded checkpoint from its index: each distinct
/// shard once, in the order the index first names them, with its header.
///
/// Shards are opened only inside the index's folder. A shard's name must be
/// a plain file name (no `/`, `\`, `:`, NUL, `.` or `..`); it is opened
/// relative to the folder's descriptor, without following a symbolic link
/// and without blocking (`O_NOFOLLOW | O_NONBLOCK`), and must then be a
/// regular file by `fstat` of its descriptor. A Hugging Face cache snapshot,
/// whose shards are links to its blobs, is therefore refused: download with
/// `--local-dir` for plain files.
///
/// Every tensor the weight map lists must be in its shard, and every
/// shard's tensor in the weight map; the first mismatch is reported by name.
pub fn read_sharded(index: &Path) -> Result<Vec<(String, Header)>, Error> {
    let parsed = read_index(index)?;
    let on_index = |kind| Error {
        file: Some(index.to_path_buf()),
        kind,
    };
    let shards = parsed.shards();
    for shard in &shards {
        if let Err(reason) = check_shard_name(shard) {
            return Err(on_index(ErrorKind::BadShardName {
                shard: (*shard).to_string(),
                reason,
            }));
        }
    }
    let folder_path = match index.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder = Folder::open(folder_path).map_err(|reason| on_index(ErrorKind::Io(reason)))?;
    let mut out = Vec::with_capacity(shards.len());
    for shard in shards {
        let file = folder.open_file(shard).map_err(|reason| {
            on_index(ErrorKind::ShardOpen {
                shard: shard.to_string(),
                reason,
            })
        })?;
        let header = read_open(file).map_err(|kind| Error {
            file: Some(folder_path.join(shard)),
            kind,
        })?;
        out.push((shard.to_string(), header));
    }
    cross_check(&parsed, &out).map_err(on_index)?;
    Ok(out)
}

/// Checks shards whose headers were read elsewhere (a web page reads them
/// from dropped files) against their index, as [`read_sharded`] does: each
/// tensor in one shard, the shard the weight map names, and every shard's
/// tensor in the weight map.
pub fn check_sharded(index: &Index, shards: &[(String, Header)]) -> Result<(), Error> {
    cross_check(index, shards).map_err(|kind| Error { file: None, kind })
}

/// Why a shard's name is not a plain file name.
fn check_shard_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name == "." || name == ".." {
        return Err("it names a folder, not a file");
    }
    if name.contains('/') || name.contains('\\') || name.contains(':') {
        return Err("it is a path, not a plain file name in the index's folder");
    }
    if name.contains('\0') {
        return Err("the name contains NUL");
    }
    Ok(())
}

/// The weight map against what the shards hold.
fn cross_check(index: &Index, shards: &[(String, Header)]) -> Result<(), ErrorKind> {
    let mut found: HashMap<&str, &str> = HashMap::new();
    for (shard, header) in shards {
        for t in &header.tensors {
            if let Some(first) = found.insert(t.name.as_str(), shard.as_str()) {
                return Err(ErrorKind::InTwoShards {
                    tensor: t.name.clone(),
                    first: first.to_string(),
                    second: shard.clone(),
                });
            }
        }
    }
    for (tensor, shard) in &index.weight_map {
        match found.get(tensor.as_str()) {
            None => {
                return Err(ErrorKind::NotInShard {
                    tensor: tensor.clone(),
                    shard: shard.clone(),
                })
            }
            Some(holder) if holder != shard => {
                return Err(ErrorKind::WrongShard {
                    tensor: tensor.clone(),
                    listed: shard.clone(),
                    found: (*holder).to_string(),
                })
            }
            Some(_) => {}
        }
    }
    let listed: HashSet<&str> = index.weight_map.iter().map(|(t, _)| t.as_str()).collect();
    for (shard, header) in shards {
        if let Some(t) = header
            .tensors
            .iter()
            .find(|t| !listed.contains(t.name.as_str()))
        {
            return Err(ErrorKind::NotInMap {
                tensor: t.name.clone(),
                shard: shard.clone(),
            });
        }
    }
    Ok(())
}

/// The index's folder, open once: every shard is opened relative to it.
#[cfg(unix)]
struct Folder(File);

#[cfg(unix)]
impl Folder {
    fn open(path: &Path) -> Result<Folder, String> {
        let folder =
            File::open(path).map_err(|e| format!("cannot open the index's folder: {e}"))?;
        let meta = folder
            .metadata()
            .map_err(|e| format!("cannot inspect the index's folder: {e}"))?;
        if !meta.is_dir() {
            return Err("the index's folder is not a folder".into());
        }
        Ok(Folder(folder))
    }

    /// Opens the plain file `name` of the folder: relative to the folder's
    /// descriptor, not following a link, without blocking, and then only if
    /// `fstat` of the descriptor says it is a regular file.
    #[allow(unsafe_code)] // openat: std has no open relative to a descriptor.
    fn open_file(&self, name: &str) -> Result<File, String> {
        use std::ffi::CString;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

        let c_name = CString::new(name).map_err(|_| "the name contains NUL".to_string())?;
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        // SAFETY: `c_name` is a NUL-terminated string that outlives the call
        // and `self.0` is an open descriptor for the duration of the call.
        let fd = unsafe { libc::openat(self.0.as_raw_fd(), c_name.as_ptr(), flags) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ELOOP) => {
                    "it is a symbolic link (shards are opened only as plain files in the index's folder)"
                        .into()
                }
                Some(libc::ENOENT) => "no such file".into(),
                _ => e.to_string(),
            });
        }
        // SAFETY: `fd` was just opened and is owned here alone.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot inspect: {e}"))?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        Ok(file)
    }
}

/// Elsewhere: the name checked not to be a link, then opened.
#[cfg(not(unix))]
struct Folder(PathBuf);

#[cfg(not(unix))]
impl Folder {
    fn open(path: &Path) -> Result<Folder, String> {
        if !path.is_dir() {
            return Err("the index's folder is not a folder".into());
        }
        Ok(Folder(path.to_path_buf()))
    }

    fn open_file(&self, name: &str) -> Result<File, String> {
        let path = self.0.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err("it is a symbolic link (shards are opened only as plain files in the index's folder)".into())
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no such file".into()),
            Err(e) => return Err(e.to_string()),
        }
        let file = File::open(&path).map_err(|e| e.to_string())?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot inspect: {e}"))?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        Ok(file)
    }
}

// ---------------------------------------------------------------------------
// The JSON, read by serde visitors that keep every key in order (a duplicate
// is then refused by name) and report a value of the wrong kind as data, not
// as a parse error, so that the message can name the tensor.

/// What a visitor expects at its place in the header.
#[derive(Clone, Copy)]
enum Expect {
    /// The header: an object of tensors and `__metadata__`, each checked
    /// as soon as it is read (so that a large header is held only as the
    /// tensors it describes).
    Top,
    /// The index: an object with `metadata` and `weight_map`.
    Index,
    /// A tensor's entry.
    Tensor,
    /// An object of strings.
    StrMap,
    Str,
    U64,
    U64List,
}

/// What was found.
enum Parsed {
    Header(Box<ParsedHeader>),
    Index {
        metadata: Option<serde_json::Value>,
        weight_map: Option<Box<Parsed>>,
        duplicate: Option<String>,
    },
    Tensor(Box<RawTensor>),
    /// The pairs, or why not (with the key at fault).
    StrMap(Result<Vec<(String, String)>, String>),
    Str(String),
    U64(u64),
    /// The numbers, or why not ("element 2 is a negative number").
    U64List(Result<Vec<u64>, String>),
    /// Not what was expected: what it is ("a string", "an array", ...).
    Wrong(&'static str),
}

/// The header as read: the tensors, `__metadata__`, and the first error
/// found in them (after which the rest is only parsed as JSON).
#[derive(Default)]
struct ParsedHeader {
    tensors: Vec<TensorInfo>,
    metadata: Option<Vec<(String, String)>>,
    error: Option<ErrorKind>,
}

/// A tensor's entry as found: each field as parsed, and the first field
/// found twice.
#[derive(Default)]
struct RawTensor {
    dtype: Option<Parsed>,
    shape: Option<Parsed>,
    offsets: Option<Parsed>,
    duplicate: Option<&'static str>,
}

struct Seed(Expect);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Parsed, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Parsed, E> {
        Ok(Parsed::Wrong("a boolean"))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Parsed, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) if matches!(self.0, Expect::U64) => Ok(Parsed::Wrong("a negative number")),
            Err(_) => Ok(Parsed::Wrong("a number")),
        }
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Parsed, E> {
        Ok(match self.0 {
            Expect::U64 => Parsed::U64(v),
            _ => Parsed::Wrong("a number"),
        })
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Parsed, E> {
        Ok(Parsed::Wrong(match self.0 {
            Expect::U64 => "a number that is not a whole 64-bit unsigned integer",
            _ => "a number",
        }))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Parsed, E> {
        Ok(match self.0 {
            Expect::Str => Parsed::Str(v.to_owned()),
            _ => Parsed::Wrong("a string"),
        })
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Parsed, E> {
        Ok(match self.0 {
            Expect::Str => Parsed::Str(v),
            _ => Parsed::Wrong("a string"),
        })
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::Wrong("null"))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::Wrong("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        if !matches!(self.0, Expect::U64List) {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Parsed::Wrong("an array"));
        }
        let mut numbers = Vec::new();
        let mut problem = None;
        let mut k = 0u64;
        while let Some(element) = seq.next_element_seed(Seed(Expect::U64))? {
            match element {
                Parsed::U64(v) => numbers.push(v),
                Parsed::Wrong(kind) if problem.is_none() => {
                    problem = Some(format!("has element {k} that is {kind}"));
                }
                _ => {}
            }
            k += 1;
        }
        Ok(Parsed::U64List(problem.map_or(Ok(numbers), Err)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        match self.0 {
            Expect::Top => {
                let mut header = ParsedHeader::default();
                while let Some(key) = map.next_key::<String>()? {
                    if header.error.is_some() {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    if key == "__metadata__" {
                        let value = map.next_value_seed(Seed(Expect::StrMap))?;
                        if header.metadata.is_some() {
                            header.error = Some(ErrorKind::DuplicateKey(key));
                            continue;
                        }
                        match read_metadata(value) {
                            Ok(m) => header.metadata = Some(m),
                            Err(e) => header.error = Some(e),
                        }
                    } else {
                        let value = map.next_value_seed(Seed(Expect::Tensor))?;
                        match read_tensor(key, value) {
                            Ok(t) => header.tensors.push(t),
                            Err(e) => header.error = Some(e),
                        }
                    }
                }
                Ok(Parsed::Header(Box::new(header)))
            }
            Expect::Index => {
                let mut metadata = None;
                let mut weight_map = None;
                let mut duplicate = None;
                let mut seen = HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) && duplicate.is_none() {
                        duplicate = Some(key.clone());
                    }
                    match key.as_str() {
                        "metadata" => metadata = Some(map.next_value::<serde_json::Value>()?),
                        "weight_map" => {
                            weight_map = Some(Box::new(map.next_value_seed(Seed(Expect::StrMap))?))
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Parsed::Index {
                    metadata,
                    weight_map,
                    duplicate,
                })
            }
            Expect::Tensor => {
                let mut raw = RawTensor::default();
                while let Some(key) = map.next_key::<String>()? {
                    let (slot, field, expect) = match key.as_str() {
                        "dtype" => (&mut raw.dtype, "dtype", Expect::Str),
                        "shape" => (&mut raw.shape, "shape", Expect::U64List),
                        "data_offsets" => (&mut raw.offsets, "data_offsets", Expect::U64List),
                        // Other fields are ignored, as safetensors does.
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    let value = map.next_value_seed(Seed(expect))?;
                    if slot.is_some() {
                        raw.duplicate.get_or_insert(field);
                    } else {
                        *slot = Some(value);
                    }
                }
                Ok(Parsed::Tensor(Box::new(raw)))
            }
            Expect::StrMap => {
                let mut pairs = Vec::new();
                let mut problem = None;
                while let Some(key) = map.next_key::<String>()? {
                    match map.next_value_seed(Seed(Expect::Str))? {
                        Parsed::Str(v) => pairs.push((key, v)),
                        Parsed::Wrong(kind) if problem.is_none() => {
                            problem = Some(format!(
                                "has key {} whose value is {kind}, not a string",
                                q(&key)
                            ));
                        }
                        _ => {}
                    }
                }
                Ok(Parsed::StrMap(problem.map_or(Ok(pairs), Err)))
            }
            Expect::Str | Expect::U64 | Expect::U64List => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Parsed::Wrong("an object"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 8 length bytes and the JSON.
    fn with_len(json: &str) -> Vec<u8> {
        let mut out = (json.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(json.as_bytes());
        out
    }

    fn kind(json: &str, data: u64) -> ErrorKind {
        let bytes = with_len(json);
        parse(&bytes, bytes.len() as u64 + data).unwrap_err().kind
    }

    #[test]
    fn dtype_table_is_safetensors() {
        assert_eq!(Dtype::ALL.len(), 22);
        for d in Dtype::ALL {
            assert_eq!(Dtype::from_name(d.name()), Some(d));
        }
        assert_eq!(Dtype::F4.bits(), 4);
        assert_eq!(Dtype::F6E3M2.bits(), 6);
        assert_eq!(Dtype::BF16.bits(), 16);
        assert_eq!(Dtype::C64.bits(), 64);
        assert_eq!(Dtype::from_name("f32"), None);
    }

    #[test]
    fn reads_tensors_in_data_order_and_metadata() {
        let json = r#"{"b":{"dtype":"F16","shape":[2,3],"data_offsets":[16,28]},
            "__metadata__":{"format":"pt"},
            "a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},
            "s":{"dtype":"I64","shape":[],"data_offsets":[28,36]}}"#;
        let bytes = with_len(json);
        let h = parse(&bytes, bytes.len() as u64 + 36).unwrap();
        let names: Vec<_> = h.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "s"]);
        assert_eq!(h.tensors[1].elements(), 6);
        assert_eq!(h.tensor("s").unwrap().elements(), 1);
        assert_eq!(h.metadata, [("format".to_string(), "pt".to_string())]);
        assert_eq!(h.meta("format"), Some("pt"));
        assert_eq!(h.header_len, json.len() as u64);
        assert_eq!(h.total_params(), 11);
        assert_eq!(h.total_bytes(), 36);
        assert_eq!(
            h.params_by_dtype(),
            [(Dtype::F16, 6, 12), (Dtype::F32, 4, 16), (Dtype::I64, 1, 8)]
        );
    }

    #[test]
    fn sub_byte_types_fill_whole_bytes() {
        let ok = r#"{"w":{"dtype":"F4","shape":[3,2],"data_offsets":[0,3]}}"#;
        let bytes = with_len(ok);
        assert_eq!(
            parse(&bytes, bytes.len() as u64 + 3).unwrap().tensors[0].elements(),
            6
        );
        let odd = r#"{"w":{"dtype":"F6_E2M3","shape":[3],"data_offsets":[0,2]}}"#;
        assert!(matches!(
            kind(odd, 2),
            ErrorKind::PartialByte { elements: 3, .. }
        ));
    }

    #[test]
    fn refuses_duplicates_anywhere() {
        let twice = r#"{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},
                        "a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#;
        assert_eq!(kind(twice, 4), ErrorKind::DuplicateKey("a".into()));
        let field = r#"{"a":{"dtype":"F32","dtype":"F16","shape":[],"data_offsets":[0,4]}}"#;
        let e = kind(field, 4);
        assert_eq!(e.to_string(), "tensor 'a': its entry has \"dtype\" twice");
        let meta = r#"{"__metadata__":{"k":"1","k":"2"}}"#;
        assert_eq!(kind(meta, 0).to_string(), "__metadata__ has key 'k' twice");
    }

    #[test]
    fn wrong_kinds_name_the_tensor() {
        let cases = [
            (r#"{"a":[1]}"#, "tensor 'a': its entry is an array, not an object"),
            (r#"{"a":{"shape":[],"data_offsets":[0,4]}}"#, "tensor 'a': its entry has no \"dtype\""),
            (
                r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
                "tensor 'a': \"shape\" has element 0 that is a negative number",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
                "tensor 'a': \"shape\" has element 0 that is a number that is not a whole 64-bit unsigned integer",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[],"data_offsets":[0]}}"#,
                "tensor 'a': \"data_offsets\" has 1 numbers, not 2",
            ),
            (r#"{"a":{"dtype":7,"shape":[],"data_offsets":[0,4]}}"#, "tensor 'a': \"dtype\" is a number, not a string"),
            (r#"{"__metadata__":{"k":3}}"#, "__metadata__ has key 'k' whose value is a number, not a string"),
            (r#"[1,2]"#, "the header is an array, not a JSON object"),
            (r#"{"":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#, "a tensor has an empty name"),
        ];
        for (json, message) in cases {
            assert_eq!(kind(json, 4).to_string(), message, "{json}");
        }
    }

    #[test]
    fn names_are_shown_on_one_line() {
        let json = "{\"a\\nb\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,4]}}";
        let e = kind(json, 4);
        assert_eq!(
            e.to_string(),
            "tensor 'a\\nb' has dtype 'X', which safetensors does not define"
        );
    }

    #[test]
    fn metadata_may_be_null() {
        let bytes = with_len(r#"{"__metadata__":null}"#);
        assert!(parse(&bytes, bytes.len() as u64)
            .unwrap()
            .metadata
            .is_empty());
    }

    #[test]
    fn shard_names_are_plain() {
        for bad in [
            "",
            ".",
            "..",
            "../x.safetensors",
            "/etc/passwd",
            "a\\b",
            "c:x",
            "a\0b",
            "sub/x",
        ] {
            assert!(check_shard_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_shard_name("model-00001-of-00002.safetensors").is_ok());
    }
}
