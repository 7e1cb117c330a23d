//! safetensors and GGUF headers built by hand, byte by byte, with the
//! parameters and bytes of known shapes worked out by hand; and every kind
//! of malformed header, each refused with a one-line message that names the
//! problem. When the fixtures that Python's `gguf` and `safetensors` packages
//! wrote are present (`tests/fixtures/llm/`), they are read and compared
//! exactly with the reference those packages gave.

use std::path::{Path, PathBuf};

use nncost_llm::gguf::{self, GgmlType, MetaValue, ValueType};
use nncost_llm::safetensors::{self, Dtype};

// ---------------------------------------------------------------------------
// Builders.

/// A GGUF header, written as the format lays it out.
struct Gguf {
    version: u32,
    kv_count: u64,
    kvs: Vec<u8>,
    tensor_count: u64,
    infos: Vec<u8>,
}

fn gguf_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s);
}

impl Gguf {
    fn new() -> Gguf {
        Gguf {
            version: 3,
            kv_count: 0,
            kvs: Vec::new(),
            tensor_count: 0,
            infos: Vec::new(),
        }
    }

    /// A pair with its value's type code and bytes as given.
    fn kv(mut self, key: &str, ty: u32, value: &[u8]) -> Gguf {
        gguf_string(&mut self.kvs, key.as_bytes());
        self.kvs.extend_from_slice(&ty.to_le_bytes());
        self.kvs.extend_from_slice(value);
        self.kv_count += 1;
        self
    }

    fn kv_u32(self, key: &str, v: u32) -> Gguf {
        self.kv(key, 4, &v.to_le_bytes())
    }

    fn kv_str(self, key: &str, v: &str) -> Gguf {
        let mut value = Vec::new();
        gguf_string(&mut value, v.as_bytes());
        self.kv(key, 8, &value)
    }

    fn kv_u32s(self, key: &str, values: &[u32]) -> Gguf {
        let mut value = 4u32.to_le_bytes().to_vec();
        value.extend_from_slice(&(values.len() as u64).to_le_bytes());
        for v in values {
            value.extend_from_slice(&v.to_le_bytes());
        }
        self.kv(key, 9, &value)
    }

    fn kv_strs(self, key: &str, values: &[&str]) -> Gguf {
        let mut value = 8u32.to_le_bytes().to_vec();
        value.extend_from_slice(&(values.len() as u64).to_le_bytes());
        for v in values {
            gguf_string(&mut value, v.as_bytes());
        }
        self.kv(key, 9, &value)
    }

    fn tensor(mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Gguf {
        gguf_string(&mut self.infos, name.as_bytes());
        self.infos
            .extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            self.infos.extend_from_slice(&d.to_le_bytes());
        }
        self.infos.extend_from_slice(&ty.to_le_bytes());
        self.infos.extend_from_slice(&offset.to_le_bytes());
        self.tensor_count += 1;
        self
    }

    /// The header: magic, version, counts, pairs, tensor infos.
    fn header(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.tensor_count.to_le_bytes());
        out.extend_from_slice(&self.kv_count.to_le_bytes());
        out.extend_from_slice(&self.kvs);
        out.extend_from_slice(&self.infos);
        out
    }

    /// The header read as the start of a file with `data` bytes of tensor
    /// data after the header's end rounded up to `alignment`.
    fn parse(&self, alignment: u64, data: u64) -> Result<gguf::GgufFile, gguf::Error> {
        let header = self.header();
        let start = (header.len() as u64).next_multiple_of(alignment);
        gguf::parse_bytes(&header, start + data)
    }

    fn error(&self, data: u64) -> String {
        check_message(self.parse(32, data).unwrap_err())
    }

    /// The message for the header read as a whole file.
    fn error_exact(&self) -> String {
        let header = self.header();
        check_message(gguf::parse_bytes(&header, header.len() as u64).unwrap_err())
    }
}

/// The message, checked to be one line.
fn check_message(e: gguf::Error) -> String {
    let message = e.to_string();
    assert!(!message.contains('\n'), "{message}");
    message
}

/// A safetensors header: the 8 length bytes and the JSON.
fn safetensors_header(json: &str) -> Vec<u8> {
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out
}

/// The message for a safetensors header with `data` bytes of data.
fn st_error(json: &str, data: u64) -> String {
    let bytes = safetensors_header(json);
    let e = safetensors::parse(&bytes, bytes.len() as u64 + data).unwrap_err();
    let message = e.to_string();
    assert!(!message.contains('\n'), "{message}");
    message
}

/// A fresh folder under the system's temporary folder.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nncost-llm-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `header` and extends the file to `len` bytes (a sparse file: the
/// tensors' bytes are never written, and never read).
fn write_file(path: &Path, header: &[u8], len: u64) {
    std::fs::write(path, header).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_len(len).unwrap();
}

// ---------------------------------------------------------------------------
// GGUF: real values.

/// A llama-like layer in five quantizations, offsets laid out by hand.
fn llama_like() -> Gguf {
    Gguf::new()
        .kv_str("general.architecture", "llama")
        .kv_u32("llama.block_count", 1)
        .kv("llama.rope.freq_base", 6, &10000.0f32.to_le_bytes())
        .kv("llama.use_parallel_residual", 7, &[1])
        .kv("test.negative", 5, &(-7i32).to_le_bytes())
        .kv_u32s("llama.attention.head_count_kv", &[8])
        .kv_strs("tokenizer.ggml.tokens", &["<s>", "</s>", "hello"])
        // [4096 in, 4096 out]: 16,777,216 weights in 524,288 blocks of 18 bytes.
        .tensor("blk.0.attn_q.weight", &[4096, 4096], 2, 0)
        // 45,088,768 weights in 176,128 blocks of 144 bytes.
        .tensor("blk.0.ffn_down.weight", &[11008, 4096], 12, 9_437_184)
        // 131,072,000 weights in 512,000 blocks of 210 bytes.
        .tensor("output.weight", &[4096, 32000], 14, 34_799_616)
        // 131,072,000 weights in 4,096,000 blocks of 34 bytes.
        .tensor("token_embd.weight", &[4096, 32000], 8, 142_319_616)
        .tensor("output_norm.weight", &[4096], 0, 281_583_616)
}

#[test]
fn gguf_known_shapes() {
    let file = llama_like().parse(32, 281_600_000).unwrap();
    assert_eq!(file.version, 3);
    assert_eq!(file.alignment, 32);
    assert_eq!(file.data_start % 32, 0);
    let q = file.tensor("blk.0.attn_q.weight").unwrap();
    assert_eq!(q.ggml_type, GgmlType::Q4_0);
    assert_eq!(q.elements(), 16_777_216);
    assert_eq!(q.bytes(), 9_437_184);
    assert_eq!(q.bytes() as f64 * 8.0 / q.elements() as f64, 4.5);
    let down = file.tensor("blk.0.ffn_down.weight").unwrap();
    assert_eq!((down.elements(), down.bytes()), (45_088_768, 25_362_432));
    assert_eq!(down.bytes() as f64 * 8.0 / down.elements() as f64, 4.5);
    let out = file.tensor("output.weight").unwrap();
    assert_eq!((out.elements(), out.bytes()), (131_072_000, 107_520_000));
    assert_eq!(out.bytes() as f64 * 8.0 / out.elements() as f64, 6.5625);
    let embd = file.tensor("token_embd.weight").unwrap();
    assert_eq!((embd.elements(), embd.bytes()), (131_072_000, 139_264_000));
    assert_eq!(embd.bytes() as f64 * 8.0 / embd.elements() as f64, 8.5);
    assert_eq!(file.tensor("output_norm.weight").unwrap().bytes(), 16_384);

    assert_eq!(file.total_params(), 324_014_080);
    assert_eq!(file.total_bytes(), 281_600_000);
    assert_eq!(
        file.params_by_type(),
        [
            (GgmlType::F32, 4096, 16_384),
            (GgmlType::Q4_0, 16_777_216, 9_437_184),
            (GgmlType::Q8_0, 131_072_000, 139_264_000),
            (GgmlType::Q4_K, 45_088_768, 25_362_432),
            (GgmlType::Q6_K, 131_072_000, 107_520_000),
        ]
    );

    assert_eq!(file.architecture(), Some("llama"));
    assert_eq!(file.get_u64("llama.block_count"), Some(1));
    assert_eq!(
        file.get("llama.rope.freq_base"),
        Some(&MetaValue::F64(10000.0))
    );
    assert_eq!(
        file.get("llama.use_parallel_residual"),
        Some(&MetaValue::Bool(true))
    );
    assert_eq!(file.get("test.negative"), Some(&MetaValue::I64(-7)));
    assert_eq!(file.get_u64("test.negative"), None);
    assert_eq!(
        file.get("llama.attention.head_count_kv").unwrap().as_u64s(),
        Some(vec![8])
    );
    // A vocabulary keeps its length only.
    assert_eq!(
        file.get("tokenizer.ggml.tokens"),
        Some(&MetaValue::Array {
            elem: ValueType::Str,
            len: 3,
            items: None
        })
    );
    let keys: Vec<&str> = file.metadata.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys[0], "general.architecture");
    assert_eq!(keys.len(), 7);
}

#[test]
fn gguf_version_2_and_alignment() {
    let mut g = Gguf::new()
        .kv_u32("general.alignment", 64)
        .tensor("a", &[16], 0, 0)
        .tensor("b", &[32], 30, 64);
    g.version = 2;
    let file = g.parse(64, 128).unwrap();
    assert_eq!(file.version, 2);
    assert_eq!(file.alignment, 64);
    assert_eq!(file.data_start % 64, 0);
    assert_eq!(file.tensor("b").unwrap().bytes(), 64);
    // Aligned to 32 but not to the file's 64.
    let g = Gguf::new()
        .kv_u32("general.alignment", 64)
        .tensor("a", &[16], 0, 32);
    assert_eq!(
        g.parse(64, 128).unwrap_err().to_string(),
        "GGUF header: tensor 'a' is at offset 32, not a multiple of the alignment 64"
    );
    for bad in [0u32, 48] {
        let g = Gguf::new().kv_u32("general.alignment", bad);
        assert_eq!(
            g.error(0),
            format!("GGUF header: general.alignment is {bad}: it must be a power of two")
        );
    }
    let g = Gguf::new().kv_str("general.alignment", "32");
    assert_eq!(
        g.error(0),
        "GGUF header: general.alignment is a string: it must be a power of two"
    );
}

#[test]
fn gguf_nested_arrays_and_long_strings() {
    // [[1, 2], [3]] of u32.
    let mut nested = 9u32.to_le_bytes().to_vec();
    nested.extend_from_slice(&2u64.to_le_bytes());
    for inner in [&[1u32, 2][..], &[3]] {
        nested.extend_from_slice(&4u32.to_le_bytes());
        nested.extend_from_slice(&(inner.len() as u64).to_le_bytes());
        for v in inner {
            nested.extend_from_slice(&v.to_le_bytes());
        }
    }
    let long = "x".repeat((gguf::MAX_KEPT_STRING + 1) as usize);
    let file = Gguf::new()
        .kv("nested", 9, &nested)
        .kv_str("tokenizer.huggingface.json", &long)
        .parse(32, 0)
        .unwrap();
    let MetaValue::Array {
        len: 2,
        items: Some(items),
        ..
    } = file.get("nested").unwrap()
    else {
        panic!("{:?}", file.get("nested"));
    };
    assert_eq!(items[0].as_u64s(), Some(vec![1, 2]));
    assert_eq!(items[1].as_u64s(), Some(vec![3]));
    assert_eq!(
        file.get("tokenizer.huggingface.json"),
        Some(&MetaValue::LongStr {
            len: gguf::MAX_KEPT_STRING + 1
        })
    );
    // Beyond the kept length, a numeric array keeps its length only.
    let many: Vec<u32> = (0..=gguf::MAX_KEPT_ARRAY as u32).collect();
    let file = Gguf::new().kv_u32s("many", &many).parse(32, 0).unwrap();
    assert_eq!(
        file.get("many"),
        Some(&MetaValue::Array {
            elem: ValueType::U32,
            len: gguf::MAX_KEPT_ARRAY + 1,
            items: None
        })
    );
    // Arrays in arrays: four deep are read, five are refused.
    let nested = |levels: usize| {
        let mut value = Vec::new();
        for _ in 1..levels {
            value.extend_from_slice(&9u32.to_le_bytes());
            value.extend_from_slice(&1u64.to_le_bytes());
        }
        value.extend_from_slice(&4u32.to_le_bytes());
        value.extend_from_slice(&0u64.to_le_bytes());
        Gguf::new().kv("deep", 9, &value)
    };
    assert!(nested(4).parse(32, 0).is_ok());
    assert_eq!(
        nested(5).error(0),
        "GGUF header: array 'deep' nests arrays more than 4 deep"
    );
}

#[test]
fn gguf_read_file_reads_the_header_only() {
    let dir = temp_dir("gguf-file");
    let path = dir.join("model.gguf");
    let g = llama_like();
    let header = g.header();
    let start = (header.len() as u64).next_multiple_of(32);
    write_file(&path, &header, start + 281_600_000);
    let file = gguf::read_file(&path).unwrap();
    assert_eq!(file.total_bytes(), 281_600_000);
    assert_eq!(file.data_start, start);
    // One byte short of the last tensor.
    write_file(&path, &header, start + 281_600_000 - 1);
    let e = gguf::read_file(&path).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(path.as_path()));
    assert_eq!(
        e.to_string(),
        format!(
            "'{}': tensor 'output_norm.weight' ends at byte {} of the file, past its end at {}",
            path.display(),
            start + 281_600_000,
            start + 281_600_000 - 1
        )
    );
    let e = gguf::read_file(&dir).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("not a regular file (a folder, a device or a pipe)"),
        "{e}"
    );
    let e = gguf::read_file(&dir.join("absent.gguf")).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// GGUF: malformed headers.

#[test]
fn gguf_truncated() {
    let header = llama_like().header();
    let full = header.len() as u64 + 281_600_000 + 32;
    // Cut anywhere: an error, never a panic; past the magic, it says where.
    for cut in 0..header.len() {
        let e = gguf::parse_bytes(&header[..cut], full).unwrap_err();
        assert!(!e.to_string().contains('\n'));
        if cut >= 4 {
            assert!(e.to_string().contains("cut off at byte"), "{cut}: {e}");
        }
    }
    // The file itself ends inside the header.
    let e = gguf::parse_bytes(&header, 40).unwrap_err();
    assert!(
        e.to_string().starts_with("GGUF header: ")
            && e.to_string()
                .contains("more than the 16 bytes left in the file can hold"),
        "{e}"
    );
    let g = Gguf::new().kv_str("general.name", "tiny");
    let h = g.header();
    let e = gguf::parse_bytes(&h, h.len() as u64 - 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "GGUF header: the value of key 'general.name' claims 4 bytes, but only 2 are left in the file"
    );
    let e = gguf::parse_bytes(&h[..h.len() - 2], h.len() as u64).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "GGUF header: the header is cut off at byte {}, inside the value of key 'general.name'",
            h.len() - 2
        )
    );
}

#[test]
fn gguf_huge_lengths_are_errors_not_allocations() {
    // A key of 2^60 bytes.
    let mut h = b"GGUF".to_vec();
    h.extend_from_slice(&3u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    h.extend_from_slice(&1u64.to_le_bytes());
    h.extend_from_slice(&(1u64 << 60).to_le_bytes());
    h.extend_from_slice(&[0; 16]);
    let e = gguf::parse_bytes(&h, h.len() as u64).unwrap_err();
    assert_eq!(
        e.to_string(),
        "GGUF header: the key of metadata pair #0 claims 1152921504606846976 bytes, but only 16 are left in the file"
    );
    // Even when a (claimed) file is that large, a key is at most 64 KiB.
    let e = gguf::parse_bytes(&h, u64::MAX).unwrap_err();
    assert_eq!(
        e.to_string(),
        "GGUF header: the key of metadata pair #0 is 1152921504606846976 bytes long, more than the 65536 read"
    );
    // A string value of 2^60 bytes.
    let mut value = (1u64 << 60).to_le_bytes().to_vec();
    value.extend_from_slice(b"abc");
    let g = Gguf::new().kv("general.name", 8, &value);
    assert_eq!(
        g.error_exact(),
        "GGUF header: the value of key 'general.name' claims 1152921504606846976 bytes, but only 3 are left in the file"
    );
    // An array of 2^60 u32.
    let mut value = 4u32.to_le_bytes().to_vec();
    value.extend_from_slice(&(1u64 << 60).to_le_bytes());
    value.extend_from_slice(&[0; 8]);
    let g = Gguf::new().kv("tokenizer.ggml.scores", 9, &value);
    assert_eq!(
        g.error_exact(),
        "GGUF header: array 'tokenizer.ggml.scores' claims 1152921504606846976 elements of UINT32, more than the 8 bytes left in the file can hold"
    );
    // 2^60 strings.
    let mut value = 8u32.to_le_bytes().to_vec();
    value.extend_from_slice(&(1u64 << 60).to_le_bytes());
    let g = Gguf::new().kv("tokenizer.ggml.tokens", 9, &value);
    assert!(g
        .error(0)
        .contains("claims 1152921504606846976 elements of STRING"));
    // Counts the file cannot hold.
    let mut g = Gguf::new();
    g.tensor_count = u64::MAX / 2;
    assert_eq!(
        g.error_exact(),
        "GGUF header: it claims 0 metadata pairs and 9223372036854775807 tensors, more than the 0 bytes left in the file can hold"
    );
}

#[test]
fn gguf_unknown_types() {
    let g = Gguf::new().tensor("blk.0.attn_k.weight", &[32, 4], 99, 0);
    assert_eq!(
        g.error(4096),
        "GGUF header: tensor 'blk.0.attn_k.weight' has ggml type 99, which ggml does not define"
    );
    let g = Gguf::new().tensor("w", &[32, 4], 31, 0);
    assert_eq!(
        g.error(4096),
        "GGUF header: tensor 'w' has ggml type 31, which is Q4_0_4_4, a type ggml has removed from GGUF files"
    );
    let g = Gguf::new().kv("general.x", 13, &[0; 8]);
    assert_eq!(
        g.error(0),
        "GGUF header: key 'general.x' has value type 13, which GGUF does not define"
    );
    let mut value = 77u32.to_le_bytes().to_vec();
    value.extend_from_slice(&0u64.to_le_bytes());
    let g = Gguf::new().kv("general.y", 9, &value);
    assert_eq!(
        g.error(0),
        "GGUF header: key 'general.y' has value type 77, which GGUF does not define"
    );
}

#[test]
fn gguf_layout_errors() {
    let cases: Vec<(Gguf, u64, &str)> = vec![
        (
            Gguf::new().tensor("a", &[8], 0, 16),
            64,
            "GGUF header: tensor 'a' is at offset 16, not a multiple of the alignment 32",
        ),
        (
            Gguf::new().tensor("a", &[16], 0, 0).tensor("b", &[16], 0, 32),
            96,
            "GGUF header: tensor 'b' (bytes 32..96 of the data) overlaps tensor 'a' (which ends at 64)",
        ),
        (
            Gguf::new().tensor("a", &[16], 0, 0).tensor("b", &[16], 0, 64),
            127,
            // The data starts at 96, after 90 bytes of header.
            "GGUF header: tensor 'b' ends at byte 224 of the file, past its end at 223",
        ),
        (
            Gguf::new().tensor("a", &[16], 0, 0).tensor("a", &[16], 0, 64),
            128,
            "GGUF header: tensor 'a' appears twice",
        ),
        (
            Gguf::new().kv_u32("k", 1).kv_u32("k", 2),
            0,
            "GGUF header: metadata key 'k' appears twice",
        ),
        (
            Gguf::new().kv_u32("", 1),
            0,
            "GGUF header: the key of metadata pair #0 is empty",
        ),
        (
            Gguf::new().tensor("a", &[1, 1, 1, 1, 1], 0, 0),
            4,
            "GGUF header: tensor 'a' has 5 dims, more than ggml's 4",
        ),
        (
            Gguf::new().tensor("a", &[100, 2], 2, 0),
            4096,
            "GGUF header: tensor 'a': its first dim 100 is not a multiple of Q4_0's block of 32",
        ),
        (
            Gguf::new().tensor("a", &[1 << 32, 1 << 32], 0, 0),
            4096,
            "GGUF header: tensor 'a': dims [4294967296, 4294967296] hold more than 2^63 - 1 elements",
        ),
        (
            Gguf::new().tensor("a", &[1 << 62], 28, 0),
            4096,
            "GGUF header: tensor 'a': its size in bytes overflows 64 bits",
        ),
    ];
    for (g, data, message) in cases {
        assert_eq!(g.error(data), message);
    }
    // A tensor of no bytes overlaps nothing, and the offset of the next may
    // be the same.
    let g = Gguf::new()
        .tensor("empty", &[0, 16], 0, 0)
        .tensor("a", &[16], 0, 0);
    assert_eq!(g.parse(32, 64).unwrap().total_params(), 16);
}

#[test]
fn gguf_not_utf8_names() {
    let mut g = Gguf::new();
    gguf_string(&mut g.infos, b"\xff\xfe");
    g.infos.extend_from_slice(&[0; 16]);
    g.tensor_count = 1;
    assert_eq!(
        g.error(0),
        "GGUF header: the name of tensor #0 is not UTF-8"
    );
}

// ---------------------------------------------------------------------------
// safetensors: real values.

#[test]
fn safetensors_known_shapes() {
    // BF16 [4096, 4096]: 33,554,432 bytes; F32 [4096]: 16,384; F8_E4M3
    // [11008, 4096]: 45,088,768; F4 [4, 5]: 20 × 4 bits, 10 bytes.
    let json = r#"{
        "__metadata__": {"format": "pt"},
        "model.norm.weight": {"dtype": "F32", "shape": [4096], "data_offsets": [33554432, 33570816]},
        "model.q.weight": {"dtype": "BF16", "shape": [4096, 4096], "data_offsets": [0, 33554432]},
        "model.up.weight": {"dtype": "F8_E4M3", "shape": [11008, 4096], "data_offsets": [33570816, 78659584]},
        "model.packed": {"dtype": "F4", "shape": [4, 5], "data_offsets": [78659584, 78659594]}
    }"#;
    let bytes = safetensors_header(json);
    let file_len = bytes.len() as u64 + 78_659_594;
    let h = safetensors::parse(&bytes, file_len).unwrap();
    let names: Vec<&str> = h.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "model.q.weight",
            "model.norm.weight",
            "model.up.weight",
            "model.packed"
        ]
    );
    assert_eq!(h.tensors[0].elements(), 16_777_216);
    assert_eq!(h.tensors[0].dtype, Dtype::BF16);
    assert_eq!(h.tensors[2].elements(), 45_088_768);
    assert_eq!(h.tensors[3].elements(), 20);
    assert_eq!(h.total_params(), 16_777_216 + 4096 + 45_088_768 + 20);
    assert_eq!(h.total_bytes(), 78_659_594);
    assert_eq!(h.header_len, json.len() as u64);
    assert_eq!(h.data_start(), 8 + json.len() as u64);
    assert_eq!(
        h.params_by_dtype(),
        [
            (Dtype::F4, 20, 10),
            (Dtype::F8E4M3, 45_088_768, 45_088_768),
            (Dtype::BF16, 16_777_216, 33_554_432),
            (Dtype::F32, 4096, 16_384),
        ]
    );
    assert_eq!(h.metadata, [("format".to_string(), "pt".to_string())]);

    // The same from a file, of which only the header is read.
    let dir = temp_dir("st-file");
    let path = dir.join("model.safetensors");
    write_file(&path, &bytes, file_len);
    assert_eq!(safetensors::read_file(&path).unwrap(), h);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// safetensors: malformed headers.

#[test]
fn safetensors_length_errors() {
    assert_eq!(
        safetensors::parse(b"\x01\x02", 2).unwrap_err().to_string(),
        "safetensors: not a safetensors file: it has 2 bytes, fewer than the 8 of the header's length"
    );
    let mut bytes = 100_000_001u64.to_le_bytes().to_vec();
    bytes.push(b'{');
    assert_eq!(
        safetensors::parse(&bytes, 1 << 40).unwrap_err().to_string(),
        "safetensors: not a safetensors file: its header length 100000001 exceeds safetensors' limit of 100000000 bytes"
    );
    let bytes = safetensors_header("{}");
    assert_eq!(
        safetensors::parse(&bytes, 9).unwrap_err().to_string(),
        "safetensors: the header's length 2 runs past the end of the 9-byte file (8 + 2 bytes needed)"
    );
    assert_eq!(
        safetensors::parse(&bytes[..9], 10).unwrap_err().to_string(),
        "safetensors: only 9 of the header's 10 bytes were given"
    );
    assert!(safetensors::parse(&bytes, 10).unwrap().tensors.is_empty());

    // From files: shorter than its header; a huge length; a folder.
    let dir = temp_dir("st-lengths");
    let path = dir.join("short.safetensors");
    std::fs::write(&path, &bytes[..9]).unwrap();
    assert_eq!(
        safetensors::read_file(&path).unwrap_err().to_string(),
        format!(
            "'{}': the header's length 2 runs past the end of the 9-byte file (8 + 2 bytes needed)",
            path.display()
        )
    );
    std::fs::write(&path, u64::MAX.to_le_bytes()).unwrap();
    assert!(safetensors::read_file(&path)
        .unwrap_err()
        .to_string()
        .contains("exceeds safetensors' limit"));
    assert!(safetensors::read_file(&dir)
        .unwrap_err()
        .to_string()
        .ends_with("not a regular file (a folder, a device or a pipe)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn safetensors_content_errors() {
    let f32_at = |name: &str, begin: u64, end: u64| {
        format!(r#""{name}": {{"dtype": "F32", "shape": [4], "data_offsets": [{begin}, {end}]}}"#)
    };
    let cases: Vec<(String, u64, &str)> = vec![
        (
            "{\"a\": ".into(),
            0,
            "safetensors: the header is not valid JSON: EOF while parsing a value at line 1 column 6",
        ),
        (
            r#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}} x"#.into(),
            16,
            "safetensors: the header is not valid JSON: trailing characters at line 1 column 64",
        ),
        (
            format!("{{{}, {}}}", f32_at("w", 0, 16), f32_at("w", 16, 32)),
            32,
            "safetensors: the header has key 'w' twice",
        ),
        (
            r#"{"w": {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 16]}}"#.into(),
            16,
            "safetensors: tensor 'w': shape [4, 2] in F32 needs 32 bytes, but data_offsets [0, 16] hold 16",
        ),
        (
            r#"{"w": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 2]}}"#.into(),
            2,
            "safetensors: tensor 'w' has dtype 'Q4', which safetensors does not define",
        ),
        (
            format!("{{{}, {}}}", f32_at("a", 0, 16), f32_at("b", 8, 24)),
            24,
            "safetensors: tensor 'b' begins at byte 8 of the data, inside tensor 'a' (which ends at 16)",
        ),
        (
            format!("{{{}, {}}}", f32_at("a", 0, 16), f32_at("b", 20, 36)),
            36,
            "safetensors: tensor 'b' begins at byte 20 of the data, but tensor 'a' ends at 16: safetensors requires the tensors to be contiguous",
        ),
        (
            format!("{{{}}}", f32_at("a", 4, 20)),
            20,
            "safetensors: tensor 'a' begins at byte 4 of the data, but the data begins at 0: safetensors requires the tensors to be contiguous",
        ),
        (
            r#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}}"#.into(),
            16,
            "safetensors: tensor 'w': data_offsets [16, 0] end before they begin",
        ),
        (
            r#"{"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}"#.into(),
            0,
            "safetensors: tensor 'w': the size of shape [4294967296, 4294967296] in F64 overflows 64 bits",
        ),
        (
            r#"{"w": {"dtype": "F6_E3M2", "shape": [5], "data_offsets": [0, 4]}}"#.into(),
            4,
            "safetensors: tensor 'w': 5 elements of F6_E3M2 (6 bits each) do not fill whole bytes",
        ),
        (
            r#"{"__metadata__": "pt"}"#.into(),
            0,
            "safetensors: __metadata__ is a string, not an object of strings",
        ),
        (
            r#"{"w": {"dtype": "F32", "shape": "4", "data_offsets": [0, 16]}}"#.into(),
            16,
            "safetensors: tensor 'w': \"shape\" is a string, not an array",
        ),
    ];
    for (json, data, message) in cases {
        assert_eq!(st_error(&json, data), message, "{json}");
    }
    // Data past the end of the file.
    let json = format!("{{{}}}", f32_at("a", 0, 16));
    assert_eq!(
        st_error(&json, 15),
        format!(
            "safetensors: tensor 'a' ends at byte {} of the file, past its end at {}",
            8 + json.len() + 16,
            8 + json.len() + 15
        )
    );
    // Not UTF-8.
    let mut bytes = 4u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{\xff}\n");
    assert_eq!(
        safetensors::parse(&bytes, 12).unwrap_err().to_string(),
        "safetensors: the header is not UTF-8 (at byte 1 of the JSON)"
    );
}

#[test]
fn safetensors_truncated_and_corrupted_never_panic() {
    let json = r#"{"__metadata__":{"a":"b"},"x":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"y":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9]}}"#;
    let bytes = safetensors_header(json);
    let full = bytes.len() as u64 + 9;
    assert!(safetensors::parse(&bytes, full).is_ok());
    for cut in 0..bytes.len() {
        assert!(safetensors::parse(&bytes[..cut], full).is_err());
    }
    for k in 0..bytes.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut b = bytes.clone();
            b[k] ^= flip;
            if let Err(e) = safetensors::parse(&b, full) {
                assert!(!e.to_string().contains('\n'));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// safetensors: sharded checkpoints.

/// Writes a shard holding `tensors` (name, F32 elements), contiguous.
fn write_shard(path: &Path, tensors: &[(&str, u64)]) {
    let mut entries = Vec::new();
    let mut at = 0;
    for (name, n) in tensors {
        entries.push(format!(
            r#""{name}": {{"dtype": "F32", "shape": [{n}], "data_offsets": [{at}, {}]}}"#,
            at + 4 * n
        ));
        at += 4 * n;
    }
    let header = safetensors_header(&format!("{{{}}}", entries.join(", ")));
    write_file(path, &header, header.len() as u64 + at);
}

fn write_index(path: &Path, map: &[(&str, &str)]) {
    let entries: Vec<String> = map
        .iter()
        .map(|(t, s)| format!(r#""{t}": "{s}""#))
        .collect();
    let json = format!(
        r#"{{"metadata": {{"total_size": 48}}, "weight_map": {{{}}}}}"#,
        entries.join(", ")
    );
    std::fs::write(path, json).unwrap();
}

#[test]
fn sharded_checkpoint() {
    let dir = temp_dir("sharded");
    write_shard(
        &dir.join("model-00001-of-00002.safetensors"),
        &[("a", 4), ("b", 4)],
    );
    write_shard(&dir.join("model-00002-of-00002.safetensors"), &[("c", 4)]);
    let index = dir.join("model.safetensors.index.json");
    let map = [
        ("a", "model-00001-of-00002.safetensors"),
        ("c", "model-00002-of-00002.safetensors"),
        ("b", "model-00001-of-00002.safetensors"),
    ];
    write_index(&index, &map);
    let parsed = safetensors::read_index(&index).unwrap();
    assert_eq!(parsed.total_size(), Some(48));
    assert_eq!(
        parsed.shards(),
        [
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors"
        ]
    );
    let shards = safetensors::read_sharded(&index).unwrap();
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[0].0, "model-00001-of-00002.safetensors");
    let total: u64 = shards.iter().map(|(_, h)| h.total_params()).sum();
    assert_eq!(total, 12);
    let bytes: u64 = shards.iter().map(|(_, h)| h.total_bytes()).sum();
    assert_eq!(Some(bytes), parsed.total_size());

    let refused = |map: &[(&str, &str)]| {
        write_index(&index, map);
        let e = safetensors::read_sharded(&index).unwrap_err();
        let message = e.to_string();
        assert!(!message.contains('\n'));
        message
            .strip_prefix(&format!("'{}': ", index.display()))
            .unwrap_or(&message)
            .to_string()
    };
    // A tensor the map lists that its shard lacks.
    assert_eq!(
        refused(&[
            ("a", "model-00001-of-00002.safetensors"),
            ("b", "model-00001-of-00002.safetensors"),
            ("c", "model-00002-of-00002.safetensors"),
            ("d", "model-00002-of-00002.safetensors"),
        ]),
        "the weight map puts tensor 'd' in shard 'model-00002-of-00002.safetensors', which does not hold it"
    );
    // A tensor a shard holds that the map lacks.
    assert_eq!(
        refused(&[
            ("a", "model-00001-of-00002.safetensors"),
            ("c", "model-00002-of-00002.safetensors"),
        ]),
        "shard 'model-00001-of-00002.safetensors' holds tensor 'b', which the weight map does not list"
    );
    // In the wrong shard.
    assert_eq!(
        refused(&[
            ("a", "model-00001-of-00002.safetensors"),
            ("b", "model-00002-of-00002.safetensors"),
            ("c", "model-00002-of-00002.safetensors"),
        ]),
        "the weight map puts tensor 'b' in shard 'model-00002-of-00002.safetensors', but shard 'model-00001-of-00002.safetensors' holds it"
    );
    // Names that leave the folder, or are absent.
    for (shard, reason) in [
        (
            "../model.safetensors",
            "it is a path, not a plain file name in the index's folder",
        ),
        (
            "/etc/passwd",
            "it is a path, not a plain file name in the index's folder",
        ),
        ("..", "it names a folder, not a file"),
    ] {
        assert_eq!(
            refused(&[("a", shard)]),
            format!("the index names shard '{shard}', which is refused: {reason}")
        );
    }
    assert_eq!(
        refused(&[("a", "missing.safetensors")]),
        "cannot open shard 'missing.safetensors' in the index's folder: no such file"
    );
    // A shard that is itself malformed: the message names the shard's file.
    std::fs::write(dir.join("bad.safetensors"), b"\x02\0\0\0\0\0\0\0{").unwrap();
    write_index(&index, &[("a", "bad.safetensors")]);
    assert_eq!(
        safetensors::read_sharded(&index).unwrap_err().to_string(),
        format!(
            "'{}': the header's length 2 runs past the end of the 9-byte file (8 + 2 bytes needed)",
            dir.join("bad.safetensors").display()
        )
    );
    // Same tensor in two shards.
    write_shard(&dir.join("dup.safetensors"), &[("c", 4)]);
    assert_eq!(
        refused(&[
            ("a", "model-00001-of-00002.safetensors"),
            ("b", "model-00001-of-00002.safetensors"),
            ("c", "model-00002-of-00002.safetensors"),
            ("d", "dup.safetensors"),
        ]),
        "tensor 'c' is in both shard 'model-00002-of-00002.safetensors' and shard 'dup.safetensors'"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn shards_are_never_links_or_pipes() {
    let dir = temp_dir("shard-links");
    let outside = temp_dir("shard-links-outside");
    write_shard(&outside.join("secret.safetensors"), &[("a", 4)]);
    std::os::unix::fs::symlink(
        outside.join("secret.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    let index = dir.join("model.safetensors.index.json");
    write_index(&index, &[("a", "model.safetensors")]);
    let e = safetensors::read_sharded(&index).unwrap_err();
    assert!(
        e.to_string().ends_with(
            "cannot open shard 'model.safetensors' in the index's folder: it is a symbolic link (shards are opened only as plain files in the index's folder)"
        ),
        "{e}"
    );
    // A FIFO is opened without blocking, then refused.
    let fifo = dir.join("fifo.safetensors");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        write_index(&index, &[("a", "fifo.safetensors")]);
        let e = safetensors::read_sharded(&index).unwrap_err();
        assert!(e.to_string().ends_with("not a regular file"), "{e}");
        let e = safetensors::read_file(&fifo).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("not a regular file (a folder, a device or a pipe)"),
            "{e}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&outside).unwrap();
}

#[test]
fn index_errors() {
    let cases = [
        (
            r#"{"weight_map": {"a": "x", "a": "y"}}"#,
            "safetensors: the index's weight_map lists tensor 'a' twice",
        ),
        (
            r#"{"metadata": {}}"#,
            "safetensors: the index has no \"weight_map\"",
        ),
        (
            r#"{"weight_map": {"a": 3}}"#,
            "safetensors: the index's weight_map has key 'a' whose value is a number, not a string",
        ),
        (
            r#"{"weight_map": {}, "weight_map": {}}"#,
            "safetensors: the index has key 'weight_map' twice",
        ),
        (
            r#"[]"#,
            "safetensors: the index is an array, not a JSON object",
        ),
    ];
    for (json, message) in cases {
        assert_eq!(
            safetensors::parse_index(json.as_bytes())
                .unwrap_err()
                .to_string(),
            message
        );
    }
    let dir = temp_dir("index-size");
    let path = dir.join("model.safetensors.index.json");
    write_file(&path, b"{}", safetensors::MAX_INDEX_LEN + 1);
    assert!(safetensors::read_index(&path)
        .unwrap_err()
        .to_string()
        .ends_with("the index has 67108865 bytes, more than the 67108864 read"));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// The fixtures Python's `gguf` and `safetensors` packages wrote, against the
// reference they gave (tests/fixtures/llm, written by
// transformers' `save_pretrained` and gguf-py's `GGUFWriter`).

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/llm")
}

fn reference(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn as_u64(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a whole number: {v}"))
}

#[test]
fn gguf_types_table_is_gguf_py() {
    let r = reference(&fixtures().join("gguf/reference.json"));
    let table = r["GGML_QUANT_SIZES"].as_object().unwrap();
    // Both tables hold the same types, under the same codes and names.
    assert_eq!(table.len(), GgmlType::ALL.len());
    for (name, row) in table {
        let row = row.as_array().unwrap();
        let (code, block, size) = (as_u64(&row[0]), as_u64(&row[1]), as_u64(&row[2]));
        let ty = GgmlType::from_code(code as u32).unwrap_or_else(|| panic!("{name} ({code})"));
        assert_eq!(ty.name(), name);
        assert_eq!(ty.block_size(), block, "{name}");
        if ty == GgmlType::Q8_1 {
            // gguf-py keeps Q8_1's old block of two f32 (40 bytes); ggml's
            // block_q8_1 holds two f16: 36 bytes. No model file stores it.
            assert_eq!((size, ty.type_size()), (40, 36));
        } else {
            assert_eq!(ty.type_size(), size, "{name}");
        }
    }
}

#[test]
fn gguf_fixtures_match_gguf_py() {
    let dir = fixtures().join("gguf");
    let r = reference(&dir.join("reference.json"));
    let files = r["files"].as_object().unwrap();
    assert!(files.len() >= 2);
    for (file_name, expected) in files {
        let path = dir.join(file_name);
        let file = gguf::read_file(&path).unwrap();
        let at = |what: &str| format!("{file_name}: {what}");
        assert_eq!(
            u64::from(file.version),
            as_u64(&expected["version"]),
            "{}",
            at("version")
        );
        assert_eq!(file.alignment, as_u64(&expected["alignment"]));
        assert_eq!(file.data_start, as_u64(&expected["data_offset"]));
        assert_eq!(file.metadata.len() as u64, as_u64(&expected["kv_count"]));
        assert_eq!(file.total_params(), as_u64(&expected["total_params"]));
        assert_eq!(file.total_bytes(), as_u64(&expected["total_bytes"]));
        assert!(file.data_start + file.total_bytes() <= as_u64(&expected["file_bytes"]));

        let tensors = expected["tensors"].as_array().unwrap();
        assert_eq!(file.tensors.len() as u64, as_u64(&expected["tensor_count"]));
        assert_eq!(file.tensors.len(), tensors.len());
        for (t, e) in file.tensors.iter().zip(tensors) {
            assert_eq!(t.name, e["name"].as_str().unwrap());
            let ne: Vec<u64> = e["ne"].as_array().unwrap().iter().map(as_u64).collect();
            assert_eq!(t.dims, ne, "{}", at(&t.name));
            assert_eq!(t.ggml_type.name(), e["type"].as_str().unwrap());
            assert_eq!(u64::from(t.ggml_type.code()), as_u64(&e["type_id"]));
            assert_eq!(t.offset, as_u64(&e["offset"]), "{}", at(&t.name));
            assert_eq!(t.elements(), as_u64(&e["n_elements"]), "{}", at(&t.name));
            assert_eq!(t.bytes(), as_u64(&e["n_bytes"]), "{}", at(&t.name));
        }

        let by_type = expected["by_type"].as_object().unwrap();
        let ours = file.params_by_type();
        assert_eq!(ours.len(), by_type.len());
        for (ty, params, bytes) in ours {
            let e = &by_type[ty.name()];
            assert_eq!(params, as_u64(&e["params"]), "{}", at(ty.name()));
            assert_eq!(bytes, as_u64(&e["bytes"]), "{}", at(ty.name()));
            let count = file.tensors.iter().filter(|t| t.ggml_type == ty).count();
            assert_eq!(count as u64, as_u64(&e["tensors"]));
        }

        let metadata = expected["metadata"].as_object().unwrap();
        assert_eq!(file.metadata.len(), metadata.len());
        for (key, e) in metadata {
            let value = file.get(key).unwrap_or_else(|| panic!("{}", at(key)));
            let ty = e["type"].as_str().unwrap();
            match (ty, value) {
                ("STRING", MetaValue::Str(s)) => assert_eq!(s, e["value"].as_str().unwrap()),
                ("UINT8" | "UINT16" | "UINT32" | "UINT64", MetaValue::U64(v)) => {
                    assert_eq!(*v, as_u64(&e["value"]), "{}", at(key))
                }
                ("INT8" | "INT16" | "INT32" | "INT64", MetaValue::I64(v)) => {
                    assert_eq!(*v, e["value"].as_i64().unwrap(), "{}", at(key))
                }
                ("FLOAT32" | "FLOAT64", MetaValue::F64(v)) => {
                    assert_eq!(*v, e["value"].as_f64().unwrap(), "{}", at(key))
                }
                ("BOOL", MetaValue::Bool(v)) => assert_eq!(*v, e["value"].as_bool().unwrap()),
                ("ARRAY", MetaValue::Array { elem, len, items }) => {
                    assert_eq!(elem.name(), e["item_type"].as_str().unwrap(), "{}", at(key));
                    assert_eq!(*len, as_u64(&e["len"]), "{}", at(key));
                    // Numbers are kept, strings never.
                    assert_eq!(items.is_some(), *elem != ValueType::Str, "{}", at(key));
                }
                _ => panic!("{}: {ty} read as {value:?}", at(key)),
            }
        }
    }
}

/// Checks a header against a fixture's `safetensors` reference.
fn check_safetensors(name: &str, h: &safetensors::Header, e: &serde_json::Value) {
    assert_eq!(h.header_len, as_u64(&e["header_len"]), "{name}");
    // safetensors files end exactly with their last tensor.
    assert_eq!(
        h.data_start() + h.total_bytes(),
        as_u64(&e["file_bytes"]),
        "{name}"
    );
    assert_eq!(h.total_params(), as_u64(&e["params"]), "{name}");
    let metadata: Vec<(String, String)> = e["metadata"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let mut ours = h.metadata.clone();
    ours.sort();
    assert_eq!(ours, metadata, "{name}");
    let mut tensors: Vec<(String, String, Vec<u64>)> = h
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.dtype.name().to_string(), t.shape.clone()))
        .collect();
    tensors.sort();
    let expected: Vec<(String, String, Vec<u64>)> = e["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t[0].as_str().unwrap().to_string(),
                t[1].as_str().unwrap().to_string(),
                t[2].as_array().unwrap().iter().map(as_u64).collect(),
            )
        })
        .collect();
    assert_eq!(tensors, expected, "{name}");
}

#[test]
fn safetensors_fixtures_match_transformers() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let dir = entry.unwrap().path();
        let model = dir.join("model.safetensors");
        if !model.is_file() {
            continue;
        }
        let r = reference(&dir.join("reference.json"));
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let h = safetensors::read_file(&model).unwrap();
        check_safetensors(&name, &h, &r["safetensors"]);
        seen += 1;
    }
    // llama, gpt2, mixtral and deepseek_v3 at least: F32, BF16 and F16.
    assert!(seen >= 4, "{seen} safetensors fixtures");
}

#[test]
fn sharded_fixture_matches_transformers() {
    let dir = fixtures().join("llama_sharded");
    let r = reference(&dir.join("reference.json"));
    let index = safetensors::read_index(&dir.join("model.safetensors.index.json")).unwrap();
    assert_eq!(index.total_size(), Some(as_u64(&r["index_total_size"])));
    let shards = safetensors::read_sharded(&dir.join("model.safetensors.index.json")).unwrap();
    let expected = r["shards"].as_object().unwrap();
    assert_eq!(shards.len(), expected.len());
    for (shard, header) in &shards {
        check_safetensors(shard, header, &expected[shard.as_str()]);
    }
    let params: u64 = shards.iter().map(|(_, h)| h.total_params()).sum();
    assert_eq!(params, as_u64(&r["num_parameters"]));
    let bytes: u64 = shards.iter().map(|(_, h)| h.total_bytes()).sum();
    assert_eq!(Some(bytes), index.total_size());
}
