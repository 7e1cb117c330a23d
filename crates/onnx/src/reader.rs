//! Entry points: bytes or a file in, a [`Model`] out.

use std::fs::File;
use std::path::Path;

use bytes::{Buf, Bytes};
use nncost_core::graph::OpsetImports;
use prost::{DecodeError, Message};

use crate::convert::Payloads;
use crate::error::{utf8, OnnxError};
use crate::file_buf::{FileBuf, LARGE_PAYLOAD};
use crate::streamed::{
    convert_stretch, ModelReader, PartCounts, Pending, SecondStretch, SplitFrom,
};
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
    decode(bytes, Payloads::shared(), expected, None)
}

/// Reads an ONNX model file. Weights are never read into memory: the file is
/// memory-mapped and large payloads are handed out as slices of the map,
/// untouched, while the protobuf structure around them is read with plain
/// reads, so that the weights' pages do not count in the process's memory
/// either (see `file_buf.rs`). Payloads of up to 64 KiB are copies.
pub fn read_file(path: &Path) -> Result<Model, OnnxError> {
    read_file_splitting_from(path, crate::streamed::SPLIT_FROM)
}

/// [`read_file`], the nodes of a main graph that `split` picks read on two
/// threads (see [`decode_in_two`]).
fn read_file_splitting_from(path: &Path, split: SplitFrom) -> Result<Model, OnnxError> {
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
    // Two threads read one file at their own offsets: Unix only (see
    // `file_buf::read_exact_at`), where nncost's command line runs.
    let decoded = match expected.second_stretch(split) {
        Some(stretch) if cfg!(unix) => decode_in_two(&mut buf, expected, stretch),
        _ => decode(
            &mut buf,
            Payloads::copy_up_to(LARGE_PAYLOAD),
            expected,
            None,
        ),
    };
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

/// Decodes a model as [`decode`] does, its main graph's nodes from
/// `stretch` on converted on a second thread while this one converts
/// those before: a large graph's nodes are most of reading it. The result
/// is the same, errors included: where the other thread fails, or its
/// nodes cannot be added as they are, this thread converts them itself
/// (see `GraphReader::take_stretch` and `GraphParts::append`).
fn decode_in_two(
    buf: &mut FileBuf,
    expected: PartCounts,
    stretch: SecondStretch,
) -> Result<Model, OnnxError> {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let len = buf.len();
    // The stretch starts at its first node's key, one byte (field 1,
    // length-delimited) before its contents; the other thread checks it.
    let start = len - stretch.start_left - 1;
    let end = len - stretch.end_left;
    let payloads = || Payloads::copy_up_to(LARGE_PAYLOAD);
    let Ok(mut part) = buf.part(start, end) else {
        return decode(buf, payloads(), expected, None);
    };
    // Room for the stretch's share of the values, as the graph's are to
    // its nodes.
    let (nodes, values) = expected.sizes();
    let values = (values as u128 * stretch.nodes as u128 / nodes.max(1) as u128) as usize + 64;
    // One list for the graph's nodes, each thread writing its own part.
    let room = nodes.max(stretch.first_node.saturating_add(stretch.nodes));
    let (first_part, second_part) = crate::shared_list::split(room, stretch.first_node);
    let stop = AtomicBool::new(false);
    let hasher = nncost_core::fxhash::NameHasher::default();
    std::thread::scope(|scope| {
        let theirs = hasher.clone();
        let thread = std::thread::Builder::new();
        // Tests ask for a stack no system gives, for the thread to fail.
        #[cfg(test)]
        let thread = match tests::STACK_SIZE.get() {
            Some(size) => thread.stack_size(size),
            None => thread,
        };
        let spawned = thread.spawn_scoped(scope, || {
            // A panic here would otherwise surface when the scope ends,
            // whether or not the stretch is used: this thread then reads it.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let payloads = payloads();
                let converted = convert_stretch(
                    &mut part,
                    stretch,
                    second_part,
                    values,
                    theirs,
                    &payloads,
                    &stop,
                );
                converted.filter(|_| part.take_error().is_none())
            }))
            .ok()
            .flatten()
        });
        // No thread to be had (a limit on threads, a sandbox): one will do.
        let Ok(converted) = spawned else {
            return decode(&mut *buf, payloads(), expected, None);
        };
        let pending = Pending {
            stretch,
            hasher,
            values,
            first_part: Some(first_part),
            converted,
        };
        let decoded = decode(&mut *buf, payloads(), expected, Some(pending));
        // If its nodes were not taken in (an error came first, or the
        // decoder never met them), the other thread stops.
        stop.store(true, Relaxed);
        decoded
    })
}

/// Decodes a model, converting its main graph as it goes (see
/// `streamed.rs`), then what the graph waited for.
fn decode(
    buf: impl Buf,
    payloads: Payloads,
    expected: PartCounts,
    pending: Option<Pending<'_>>,
) -> Result<Model, OnnxError> {
    crate::limited::reset_counts();
    let mut reader = ModelReader::new(payloads, expected, pending);
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::proto::{AttributeProto, NodeProto, StringStringEntryProto, TensorProto};
    use crate::streamed::STRETCHES_ADDED;
    use prost::encoding::{bytes as pb_bytes, int64};

    const NODES: usize = 3000;

    thread_local! {
        /// The second thread's stack size, if set.
        pub(super) static STACK_SIZE: std::cell::Cell<Option<usize>> =
            const { std::cell::Cell::new(None) };
    }

    /// Node `i` of a graph of [`NODES`]: it reads the last node's output,
    /// one from 700 nodes before (across the middle, for nodes past it)
    /// and one of 50 weights shared by all; every seventh is nameless (its
    /// messages name it by its index), every fifth has an attribute, and
    /// the nodes of each hundred record one module path.
    fn node(i: usize) -> NodeProto {
        NodeProto {
            input: vec![
                format!("v{i}").into(),
                format!("v{}", i.saturating_sub(700)).into(),
                format!("w{}", i % 50).into(),
            ],
            output: vec![format!("v{}", i + 1).into()],
            name: if i.is_multiple_of(7) {
                Bytes::new()
            } else {
                format!("n{i}").into()
            },
            op_type: "Sum".into(),
            attribute: if i.is_multiple_of(5) {
                vec![AttributeProto {
                    name: "k".into(),
                    r#type: 2,
                    i: Some(i as i64),
                    ..AttributeProto::default()
                }]
            } else {
                Vec::new()
            },
            metadata_props: vec![StringStringEntryProto {
                key: "pkg.torch.onnx.name_scopes".into(),
                value: format!("['', 'block{}', 'op']", i / 100).into(),
            }],
            ..NodeProto::default()
        }
    }

    fn weight(k: usize) -> TensorProto {
        TensorProto {
            name: format!("w{k}").into(),
            dims: vec![k as i64 + 1],
            data_type: 1,
            ..TensorProto::default()
        }
    }

    /// A model file whose graph has these fields, in this order.
    fn model_file(test: &str, graph_fields: &[(u32, Vec<u8>)]) -> std::path::PathBuf {
        let mut graph = Vec::new();
        for (tag, bytes) in graph_fields {
            pb_bytes::encode(*tag, bytes, &mut graph);
        }
        let mut model = Vec::new();
        int64::encode(1, &8, &mut model);
        pb_bytes::encode(7, &graph, &mut model);
        let path = std::env::temp_dir().join(format!(
            "nncost-onnx-two-threads-{}-{test}.onnx",
            std::process::id()
        ));
        std::fs::write(&path, model).unwrap();
        path
    }

    fn field(tag: u32, m: &impl Message) -> (u32, Vec<u8>) {
        (tag, m.encode_to_vec())
    }

    /// The nodes, then the weights, the input and the output, as
    /// exporters write them.
    fn fields(nodes: impl Iterator<Item = NodeProto>) -> Vec<(u32, Vec<u8>)> {
        let io = |name: &str| crate::proto::ValueInfoProto {
            name: name.to_string().into(),
            r#type: None,
        };
        nodes
            .map(|n| field(1, &n))
            .chain((0..50).map(|k| field(5, &weight(k))))
            .chain([field(11, &io("v0")), field(12, &io(&format!("v{NODES}")))])
            .collect()
    }

    /// The file read with its nodes in two stretches (one converted on a
    /// second thread) and read whole on one, as text for comparing;
    /// whether the second stretch's conversion was used.
    fn read_both_ways(test: &str, graph_fields: &[(u32, Vec<u8>)]) -> (String, String, bool) {
        let path = model_file(test, graph_fields);
        let show = |m: Result<Model, OnnxError>| match m {
            Ok(m) => format!("{m:?}"),
            Err(e) => format!("error: {e}"),
        };
        let added = STRETCHES_ADDED.get();
        let in_two = show(read_file_splitting_from(&path, SplitFrom::nodes(1024)));
        let used = STRETCHES_ADDED.get() > added;
        let in_one = show(read_file_splitting_from(
            &path,
            SplitFrom::nodes(usize::MAX),
        ));
        std::fs::remove_file(&path).unwrap();
        (in_two, in_one, used)
    }

    #[test]
    fn nodes_read_on_two_threads_give_the_graph_read_on_one() {
        let plain = fields((0..NODES).map(node));
        // 48 weights, the input and the output before the nodes, two
        // weights after: values made before the nodes, then renumbered.
        let mut weights_first = plain.clone();
        weights_first.rotate_right(52);
        weights_first.rotate_left(2);
        // A node of the first half reads a value the second half makes.
        let forward = fields((0..NODES).map(|i| {
            let mut n = node(i);
            if i == 10 {
                n.input.push("v2900".into());
            }
            n
        }));
        for (test, graph) in [
            ("plain", plain),
            ("weights", weights_first),
            ("forward", forward),
        ] {
            let (in_two, in_one, used) = read_both_ways(test, &graph);
            assert!(in_one.starts_with("Model"), "{test}: {in_one}");
            assert!(used, "{test}: the second thread's nodes were not used");
            assert_eq!(in_two, in_one, "{test}");
        }
    }

    #[test]
    fn a_second_half_that_cannot_be_added_is_read_again_with_the_same_result() {
        let changed = |at: usize, change: fn(&mut NodeProto)| {
            fields((0..NODES).map(move |i| {
                let mut n = node(i);
                if i == at {
                    change(&mut n);
                }
                n
            }))
        };
        let cases = [
            // A value of the first half made again: the second thread
            // cannot know.
            (
                "made twice",
                changed(2500, |n| n.output = vec!["v10".into()]),
            ),
            // A value made twice within the second half: that thread's
            // conversion fails.
            (
                "made twice late",
                changed(2500, |n| n.output = vec!["v2400".into()]),
            ),
            (
                "not text",
                changed(2500, |n| n.name = Bytes::from_static(b"n\xff")),
            ),
            // Subgraphs are converted at the end of the graph.
            (
                "subgraph",
                changed(2500, |n| {
                    n.attribute.push(AttributeProto {
                        name: "then_branch".into(),
                        r#type: 5,
                        g: Some(Box::default()),
                        ..AttributeProto::default()
                    })
                }),
            ),
        ];
        for (test, graph) in cases {
            let (in_two, in_one, used) = read_both_ways(test, &graph);
            assert!(!used, "{test}: the second thread's nodes were used");
            assert_eq!(in_two, in_one, "{test}");
        }
        // The sequential reading's own verdicts, for the record.
        let path = model_file("verdict", &changed(2500, |n| n.output = vec!["v10".into()]));
        let e = read_file(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(e.contains("'v10'"), "{e}");
    }

    #[test]
    fn without_a_second_thread_one_reads_all() {
        let path = model_file("no-thread", &fields((0..NODES).map(node)));
        let one = format!(
            "{:?}",
            read_file_splitting_from(&path, SplitFrom::nodes(usize::MAX)).unwrap()
        );
        let added = STRETCHES_ADDED.get();
        STACK_SIZE.set(Some(1 << 50));
        let two = read_file_splitting_from(&path, SplitFrom::nodes(1024));
        STACK_SIZE.set(None);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(STRETCHES_ADDED.get(), added, "a second thread was started");
        assert_eq!(format!("{:?}", two.unwrap()), one);
    }

    #[test]
    fn the_second_stretch_is_a_run_of_nodes_from_near_the_middle() {
        let counts = |graph_fields: &[(u32, Vec<u8>)]| {
            let path = model_file("layout", graph_fields);
            let bytes = Bytes::from(std::fs::read(&path).unwrap());
            std::fs::remove_file(&path).unwrap();
            (PartCounts::of(bytes.clone()), bytes)
        };
        let (plain, bytes) = counts(&fields((0..NODES).map(node)));
        let s = plain.second_stretch(SplitFrom::nodes(1024)).unwrap();
        assert_eq!((s.first_node, s.nodes), (1024, NODES - 1024));
        assert!(plain.second_stretch(SplitFrom::nodes(NODES + 1)).is_none());
        // It starts at a node's key (field 1, length-delimited) and ends
        // where the first weight's key (field 5) starts.
        let len = bytes.len();
        assert_eq!(bytes[len - s.start_left - 1], 0x0a);
        assert_eq!(bytes[len - s.end_left], 0x2a);
        let mut at = &bytes[len - s.start_left..];
        let node_len = prost::encoding::decode_varint(&mut at).unwrap() as usize;
        let first = NodeProto::decode(&at[..node_len]).unwrap();
        assert_eq!(first.name, "n1024");
        // A stretch of fewer bytes than asked for is left to one thread.
        let stretch_bytes = s.start_left - s.end_left;
        let ask = |bytes| SplitFrom {
            nodes: 1024,
            stretch_bytes: bytes,
        };
        assert_eq!(plain.second_stretch(ask(stretch_bytes)), Some(s));
        assert!(plain.second_stretch(ask(stretch_bytes + 1)).is_none());
        // A weight in the middle of the nodes ends the stretch there.
        let mut split = fields((0..NODES).map(node));
        split.insert(1600, field(5, &weight(0)));
        let (with_weight, _) = counts(&split);
        let s = with_weight.second_stretch(SplitFrom::nodes(1024)).unwrap();
        assert_eq!((s.first_node, s.nodes), (1024, 1600 - 1024));
        // No stretch holds the middle node: none.
        let mut apart = fields((0..NODES).map(node));
        for at in (1..NODES).rev() {
            apart.insert(at, field(5, &weight(at % 50)));
        }
        assert!(counts(&apart)
            .0
            .second_stretch(SplitFrom::nodes(1024))
            .is_none());
    }
}
