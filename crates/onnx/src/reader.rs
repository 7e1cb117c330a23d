//! Entry points: bytes or a file in, a [`Model`] out.

use std::fs::File;
use std::path::Path;

use bytes::{Buf, Bytes};
use nncost_core::graph::OpsetImports;
use prost::{DecodeError, Message};

use crate::convert::Payloads;
use crate::error::{utf8, OnnxError};
use crate::file_buf::{FileBuf, LARGE_PAYLOAD};
use crate::streamed::{ModelReader, PartCounts};
use crate::Model;

/// Reads an ONNX model from a buffer. Tensor payloads in the result are
/// slices of `bytes`, never copies. Pure: touches no file system, not even
/// for external data.
pub fn read_bytes(bytes: Bytes) -> Result<Model, OnnxError> {
    // An empty buffer is a valid (empty) protobuf message; say what it is
    // rather than "no graph".
    if bytes.is_empty() {
        return Err(OnnxError::EmptyInput);
    }
    let expected = PartCounts::of(bytes.clone());
    decode(bytes, Payloads::shared(), expected)
}

/// Reads an ONNX model file. Weights are never read into memory: the file is
/// memory-mapped and large payloads are handed out as slices of the map,
/// untouched, while the protobuf structure around them is read with plain
/// reads, so that the weights' pages do not count in the process's memory
/// either (see `file_buf.rs`). Payloads of up to 64 KiB are copies.
pub fn read_file(path: &Path) -> Result<Model, OnnxError> {
    let io = |e: std::io::Error| OnnxError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(OnnxError::IsDirectory(path.to_path_buf()));
    }
    // Mapping zero bytes fails with an obscure OS error; name the real issue.
    if meta.len() == 0 {
        return Err(OnnxError::EmptyFile(path.to_path_buf()));
    }
    // SAFETY: the map is read-only and private to this process. If another
    // process truncates or rewrites the file while it is mapped, reads may
    // see the new contents or fault (SIGBUS); every model reader that maps
    // files accepts this, and it cannot corrupt memory safety otherwise.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    let mut buf = FileBuf::new(file, Bytes::from_owner(map));
    let expected = PartCounts::of(&mut buf);
    buf.rewind();
    // Short payloads are slices of the reader's heap blocks: copy those the
    // model keeps, so that the blocks go once decoded.
    let decoded = decode(&mut buf, Payloads::copy_up_to(LARGE_PAYLOAD), expected);
    // After a read error the decoder saw zeros: report the real cause.
    if let Some(e) = buf.take_error() {
        return Err(io(e));
    }
    let mut model = decoded?;
    // Small tensors a shape computation may need can live in external
    // files beside the model; weights never are read.
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::external::resolve_small_tensors(&mut model.graph, dir)?;
    Ok(model)
}

/// Decodes a model, converting its main graph as it goes (see
/// `streamed.rs`), then what the graph waited for.
fn decode(buf: impl Buf, payloads: Payloads, expected: PartCounts) -> Result<Model, OnnxError> {
    crate::limited::reset_counts();
    let mut reader = ModelReader::new(payloads, expected);
    if let Err(e) = reader.merge(buf) {
        return Err(reader.error.take().unwrap_or_else(|| decode_error(e)));
    }
    let ModelReader {
        ir_version,
        producer_name,
        producer_version,
        opset_import,
        graph,
        payloads,
        ..
    } = reader;
    let graph = graph.ok_or(OnnxError::NoGraph { ir_version })?;
    let opsets = opset_import
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let domain = utf8(&o.domain, || format!("the domain of opset import #{i}"))?;
            Ok((domain.to_string(), o.version))
        })
        .collect::<Result<_, OnnxError>>()?;
    let opsets = OpsetImports(opsets);
    let graph = graph.finish_main(&opsets, &payloads)?;
    let producer_name = utf8(&producer_name, || "the producer name".to_string())?;
    let producer_version = utf8(&producer_version, || "the producer version".to_string())?;
    let producer = [producer_name.trim(), producer_version.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Model {
        graph,
        ir_version,
        producer,
        opsets,
    })
}

fn decode_error(e: DecodeError) -> OnnxError {
    if let Some(limit) = crate::limited::take_limit_hit() {
        return limit;
    }
    let msg = e.to_string();
    // prost prefixes every message with this; the variant already says it.
    let reason = msg
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(&msg);
    OnnxError::Decode(reason.to_string())
}
