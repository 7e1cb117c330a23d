//! A node's JSON line made in two steps: its record, then its text.
//!
//! The record is plain bytes: the line's names, its numbers, and the texts
//! of its symbolic counts and shapes (which [`JsonTexts`] makes once each,
//! and which only the analysis's thread may look up: they are keyed by
//! values shared with the analysis). The text, with the keys, quotes,
//! escapes and digits that make most of a line's bytes and of its cost,
//! is made from the record alone, so on any thread: for a report of a
//! million lines, on the thread that writes it (`JsonWriter::records` and
//! [`expand_records`]). Every line, on either path, is made this way, so
//! both give the same text.
//!
//! A record is read back only in the process that made it, so numbers are
//! in the machine's byte order and a string is its length (`u32`) and its
//! bytes.

use std::borrow::Cow;
use std::io;

use nncost_core::graph::DType;
use nncost_core::report::{deepest_module, module_class, NodeReport, NodeStatus};
use nncost_core::shape::SharedShape;
use nncost_core::{Graph, LineView, Poly};

use super::{push_i128, push_params, push_str, JsonTexts};

/// The first node line of a report: no comma before it.
const FIRST_LINE: u8 = 1;
/// A node line after another.
const NEXT_LINE: u8 = 2;
/// Text written as it is (the report's head and tail, and a line with
/// bodies, whose nested lines are not recorded).
const TEXT: u8 = 3;
/// The first line, and a line after another, of a borrowed line
/// ([`LineView`]): its names are the graph's, found by the node's and the
/// outputs' numbers.
const FIRST_VIEW: u8 = 4;
const NEXT_VIEW: u8 = 5;

/// A count: not counted, a number, or a symbolic count's JSON text.
const COUNT_NULL: u8 = 0;
const COUNT_NUMBER: u8 = 1;
const COUNT_TEXT: u8 = 2;

const STATUS_COUNTED: u8 = 0;
const STATUS_UNSUPPORTED: u8 = 1;
const STATUS_INCOMPLETE: u8 = 2;

/// Appends the record of `text`, written as it is.
pub(super) fn encode_text(record: &mut Vec<u8>, text: &str) {
    record.push(TEXT);
    put_str(record, text);
}

/// Appends the record of node `n`'s top-level line, without its bodies
/// (see [`write_fields`]); `first` when no line comes before it.
/// `scratch` holds the remembered texts on their way in.
pub(super) fn encode_line(
    record: &mut Vec<u8>,
    texts: &mut JsonTexts,
    scratch: &mut String,
    n: &NodeReport,
    first: bool,
) {
    record.push(if first { FIRST_LINE } else { NEXT_LINE });
    encode_fields(record, texts, scratch, n);
}

/// Appends the fields of node `n`'s line (see [`write_fields`]).
pub(super) fn encode_fields(
    record: &mut Vec<u8>,
    texts: &mut JsonTexts,
    scratch: &mut String,
    n: &NodeReport,
) {
    put_str(record, &n.name);
    put_str(record, &n.op_type);
    put_str(record, &n.domain);
    // The module holding the node (its deepest), and its class.
    let module = n.module();
    put_str(record, &module);
    put_optional_str(record, n.module_class(&module));
    let counts = [n.macs(), n.flops(), n.int_ops()];
    encode_counts(record, texts, scratch, n.params, n.buffers, counts);
    match &n.status {
        NodeStatus::Counted => record.push(STATUS_COUNTED),
        NodeStatus::Unsupported => record.push(STATUS_UNSUPPORTED),
        NodeStatus::Incomplete { kind, reason } => {
            record.push(STATUS_INCOMPLETE);
            put_str(record, kind.as_str());
            put_str(record, reason);
        }
    }
    put_len(record, n.outputs.len());
    for o in n.outputs.iter() {
        put_str(record, &o.name);
        encode_output(record, texts, scratch, o.dtype, o.shape.as_ref());
    }
}

/// Appends the record of a borrowed line (see [`write_fields`]); `first`
/// when no line comes before it. Its names are left for the graph to give.
pub(super) fn encode_view(
    record: &mut Vec<u8>,
    texts: &mut JsonTexts,
    scratch: &mut String,
    view: &LineView<'_>,
    first: bool,
) {
    record.push(if first { FIRST_VIEW } else { NEXT_VIEW });
    put_id(record, view.node);
    let c = view.cost;
    let counts = [Some(&c.macs), Some(&c.flops), Some(&c.int_ops)];
    encode_counts(record, texts, scratch, view.params, view.buffers, counts);
    record.push(STATUS_COUNTED);
    put_len(record, view.outputs.len());
    for (value, facts) in view.outputs {
        put_id(record, *value);
        encode_output(record, texts, scratch, facts.dtype, facts.shape.as_ref());
    }
}

/// Parameters, buffers, and the MACs, FLOPs and integer operations.
fn encode_counts(
    record: &mut Vec<u8>,
    texts: &mut JsonTexts,
    scratch: &mut String,
    params: u64,
    buffers: u64,
    counts: [Option<&Poly>; 3],
) {
    record.extend_from_slice(&params.to_ne_bytes());
    record.extend_from_slice(&buffers.to_ne_bytes());
    for count in counts {
        match count.map(|p| (p, p.as_constant())) {
            None => record.push(COUNT_NULL),
            Some((_, Some(c))) => {
                record.push(COUNT_NUMBER);
                record.extend_from_slice(&c.to_ne_bytes());
            }
            Some((p, None)) => {
                record.push(COUNT_TEXT);
                scratch.clear();
                texts.push_count(scratch, Some(p));
                put_str(record, scratch);
            }
        }
    }
}

/// An output's type and shape (after its name).
fn encode_output(
    record: &mut Vec<u8>,
    texts: &mut JsonTexts,
    scratch: &mut String,
    dtype: Option<DType>,
    shape: Option<&SharedShape>,
) {
    put_optional_str(record, dtype.map(|d| d.name()));
    match shape {
        None => record.push(0),
        Some(shape) => {
            record.push(1);
            scratch.clear();
            texts.push_shape(scratch, shape);
            put_str(record, scratch);
        }
    }
}

/// Appends to `out` the text of the records at the front of `records`
/// (whole records only, as [`encode_line`] and [`encode_text`] make them)
/// until `out` holds `enough` bytes or the records end, and returns the
/// bytes of records read: a block of records is written in pieces of
/// about `enough`, so that its text is never held whole (a megabyte of
/// records is three of text).
///
/// `graph` is the one the lines are of: a borrowed line's record names
/// its node and outputs by number (see [`LineView`]).
pub fn expand_records(
    records: &[u8],
    out: &mut String,
    enough: usize,
    graph: &Graph,
) -> io::Result<usize> {
    let mut r = Reader { bytes: records };
    while out.len() < enough {
        let Some(&kind) = r.bytes.first() else { break };
        r.bytes = &r.bytes[1..];
        let (first, view) = match kind {
            TEXT => {
                out.push_str(r.str()?);
                continue;
            }
            FIRST_LINE | NEXT_LINE => (kind == FIRST_LINE, None),
            FIRST_VIEW | NEXT_VIEW => (kind == FIRST_VIEW, Some(graph)),
            _ => return Err(malformed()),
        };
        out.push_str(if first { "\n    " } else { ",\n    " });
        write_fields(out, &mut r, view)?;
        out.push('}');
    }
    Ok(records.len() - r.bytes.len())
}

/// Writes a node line's fields from its record, from its opening brace to
/// its outputs: the caller writes its bodies, if any, and its closing
/// brace.
///
/// With `view`, the record is a borrowed line's, whose names `view` gives.
pub(super) fn write_fields(
    out: &mut String,
    r: &mut Reader,
    view: Option<&Graph>,
) -> io::Result<()> {
    // The names: the record's, or for a borrowed line its node's.
    let (name, op_type, domain, module, class);
    match view {
        None => {
            name = Cow::Borrowed(r.str()?);
            op_type = r.str()?;
            domain = r.str()?;
            module = Cow::Borrowed(r.str()?);
            class = r.optional_str()?;
        }
        Some(graph) => {
            let index = r.id()?;
            let node = graph.nodes.get(index).ok_or_else(malformed)?;
            name = node.shown_name(index);
            (op_type, domain) = (&node.op_type, &node.domain);
            // The module holding the node (its deepest), and its class.
            module = deepest_module(&name, node.origin());
            class = module_class(node.origin(), &module);
        }
    }
    out.push_str("{\"name\":");
    push_str(out, &name);
    out.push_str(",\"op_type\":");
    push_str(out, op_type);
    out.push_str(",\"domain\":");
    push_str(out, domain);
    out.push_str(",\"module\":");
    push_str(out, &module);
    out.push_str(",\"module_class\":");
    push_optional(out, class);
    let params = r.u64()?;
    push_params(out, params, r.u64()?);
    for key in [",\"macs\":", ",\"flops\":", ",\"int_ops\":"] {
        out.push_str(key);
        match r.u8()? {
            COUNT_NULL => out.push_str("null"),
            COUNT_NUMBER => push_i128(out, r.i128()?),
            COUNT_TEXT => out.push_str(r.str()?),
            _ => return Err(malformed()),
        }
    }
    out.push_str(",\"status\":");
    match r.u8()? {
        STATUS_COUNTED => out.push_str("\"counted\",\"kind\":null,\"reason\":null"),
        STATUS_UNSUPPORTED => out.push_str("\"unsupported\",\"kind\":null,\"reason\":null"),
        STATUS_INCOMPLETE => {
            out.push_str("\"incomplete\",\"kind\":");
            push_str(out, r.str()?);
            out.push_str(",\"reason\":");
            push_str(out, r.str()?);
        }
        _ => return Err(malformed()),
    }
    out.push_str(",\"outputs\":[");
    for i in 0..r.len()? {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        match view {
            None => push_str(out, r.str()?),
            Some(graph) => {
                let value = graph.values.get(r.id()?).ok_or_else(malformed)?;
                push_str(out, &value.name);
            }
        }
        out.push_str(",\"dtype\":");
        push_optional(out, r.optional_str()?);
        out.push_str(",\"shape\":");
        match r.u8()? {
            0 => out.push_str("null"),
            _ => out.push_str(r.str()?),
        }
        out.push('}');
    }
    out.push(']');
    Ok(())
}

fn push_optional(out: &mut String, s: Option<&str>) {
    match s {
        None => out.push_str("null"),
        Some(s) => push_str(out, s),
    }
}

fn put_len(record: &mut Vec<u8>, len: usize) {
    // A line's strings and lists are far below 4 GiB: a name that long
    // could not have been read from a file.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    record.extend_from_slice(&len.to_ne_bytes());
}

/// A node's or a value's number.
fn put_id(record: &mut Vec<u8>, id: usize) {
    record.extend_from_slice(&(id as u64).to_ne_bytes());
}

fn put_str(record: &mut Vec<u8>, s: &str) {
    put_len(record, s.len());
    record.extend_from_slice(s.as_bytes());
}

fn put_optional_str(record: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => record.push(0),
        Some(s) => {
            record.push(1);
            put_str(record, s);
        }
    }
}

/// Records read from the front.
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>().ok_or_else(malformed)?;
        self.bytes = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take::<1>()?[0])
    }

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_ne_bytes(self.take()?))
    }

    fn i128(&mut self) -> io::Result<i128> {
        Ok(i128::from_ne_bytes(self.take()?))
    }

    fn optional_str(&mut self) -> io::Result<Option<&'a str>> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.str().map(Some),
        }
    }

    fn id(&mut self) -> io::Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| malformed())
    }

    fn len(&mut self) -> io::Result<usize> {
        Ok(u32::from_ne_bytes(self.take()?) as usize)
    }

    fn str(&mut self) -> io::Result<&'a str> {
        let len = self.len()?;
        if len > self.bytes.len() {
            return Err(malformed());
        }
        let (s, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(s).map_err(|_| malformed())
    }
}

/// A record that its maker did not make: a fault of this program, reported
/// as an error rather than a panic.
fn malformed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a malformed JSON line record")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nncost_core::cost::Cost;
    use nncost_core::graph::{DType, Origin};
    use nncost_core::report::{Access, IncompleteKind, NodeReport, NodeStatus, ValueReport};
    use nncost_core::shape::Dim;
    use nncost_core::Poly;
    use serde_json::{json, Value};

    use super::*;

    fn node_named(name: &str, status: NodeStatus, cost: Option<Cost>) -> NodeReport {
        NodeReport {
            name: name.into(),
            op_type: "Conv".into(),
            domain: "".into(),
            params: 864,
            buffers: 0,
            cost,
            inputs: Box::default(),
            access: Access::Full,
            products: None,
            outputs: Box::default(),
            status,
            origin: None,
            subgraphs: Box::default(),
        }
    }

    fn output(name: &str, dtype: Option<DType>, shape: Option<Vec<Dim>>) -> ValueReport {
        ValueReport {
            name: name.into(),
            dtype,
            shape: shape.map(Into::into),
            elements: None,
        }
    }

    /// Every part a line's record carries is written as the compact JSON
    /// of its value, in the line's order of fields: names to escape, a module and its class, counts that
    /// are numbers (one beyond 64 bits, which JSON writes as a string),
    /// expressions and nulls, each status, and outputs of unknown type or
    /// rank.
    #[test]
    fn a_lines_text_holds_what_its_record_was_made_from() {
        let batch = Poly::symbol("batch");
        let huge = Poly::constant(i128::from(u64::MAX) * 4);
        let mut counted = node_named(
            "layer1/conv \"a\"\t",
            NodeStatus::Counted,
            Some(Cost {
                macs: batch.checked_scale(3).unwrap(),
                flops: huge.clone(),
                int_ops: Poly::constant(0),
            }),
        );
        counted.buffers = 7;
        counted.origin = Origin {
            scopes: vec![Arc::<str>::from("layer1"), Arc::from("layer1.conv")].into(),
            module_classes: vec![Arc::<str>::from("Sequential"), Arc::from("Conv2d")].into(),
            source_op: String::new(),
        }
        .shared();
        counted.outputs = vec![
            output(
                "y",
                Some(DType::F32),
                Some(vec![Dim::Known(batch.clone()), Dim::int(8)]),
            ),
            output("ü", None, None),
        ]
        .into();
        let incomplete = NodeStatus::Incomplete {
            kind: IncompleteKind::DataDependent,
            reason: "the \"k\" input\nis data".into(),
        };
        let lines = [
            counted,
            node_named("u", NodeStatus::Unsupported, None),
            node_named("i", incomplete, None),
        ];
        let (mut texts, mut scratch) = (JsonTexts::default(), String::new());
        let mut records = Vec::new();
        encode_text(&mut records, "head:");
        for (k, n) in lines.iter().enumerate() {
            encode_line(&mut records, &mut texts, &mut scratch, n, k == 0);
        }
        encode_text(&mut records, "\n]");
        let mut text = String::new();
        expand_records(&records, &mut text, usize::MAX, &Graph::default()).unwrap();
        // The first line after the head, each next one after a comma.
        let lines = text.strip_prefix("head:\n    ").unwrap();
        let lines = lines.strip_suffix("\n]").unwrap();
        let lines: Vec<&str> = lines.split(",\n    ").collect();
        // Each line is the compact text of its fields, in this order.
        let object = |fields: &[(&str, String)]| {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}:{v}", json!(k)))
                .collect();
            format!("{{{}}}", fields.join(","))
        };
        let output = |name: &str, dtype: Value, shape: Value| {
            object(&[
                ("name", json!(name).to_string()),
                ("dtype", dtype.to_string()),
                ("shape", shape.to_string()),
            ])
        };
        let line = |name: &str, module: (&str, Value), counts: [Value; 3], status: [Value; 3]| {
            let [macs, flops, int_ops] = counts.map(|c| c.to_string());
            let [status, kind, reason] = status.map(|c| c.to_string());
            let first = name.starts_with("layer1");
            let outputs = if first {
                let y = output("y", json!("float32"), json!(["batch", 8]));
                format!("[{y},{}]", output("ü", Value::Null, Value::Null))
            } else {
                "[]".to_string()
            };
            object(&[
                ("name", json!(name).to_string()),
                ("op_type", json!("Conv").to_string()),
                ("domain", json!("").to_string()),
                ("module", json!(module.0).to_string()),
                ("module_class", module.1.to_string()),
                ("params", "864".to_string()),
                ("buffers", if first { "7" } else { "0" }.to_string()),
                ("macs", macs),
                ("flops", flops),
                ("int_ops", int_ops),
                ("status", status),
                ("kind", kind),
                ("reason", reason),
                ("outputs", outputs),
            ])
        };
        let expression = json!({"expression": "3*batch", "symbols": ["batch"]});
        let uncounted = [Value::Null, Value::Null, Value::Null];
        assert_eq!(
            lines,
            [
                line(
                    "layer1/conv \"a\"\t",
                    ("layer1.conv", json!("Conv2d")),
                    [
                        expression,
                        json!((i128::from(u64::MAX) * 4).to_string()),
                        json!(0)
                    ],
                    [json!("counted"), Value::Null, Value::Null],
                ),
                line(
                    "u",
                    ("", Value::Null),
                    uncounted.clone(),
                    [json!("unsupported"), Value::Null, Value::Null],
                ),
                line(
                    "i",
                    ("", Value::Null),
                    uncounted,
                    [
                        json!("incomplete"),
                        json!("data_dependent"),
                        json!("the \"k\" input\nis data")
                    ],
                ),
            ]
        );
    }

    /// Records expanded a piece at a time give the text expanded whole,
    /// each piece ending with the record that reaches the size asked.
    #[test]
    fn records_expand_in_pieces_of_the_size_asked() {
        let (mut texts, mut scratch) = (JsonTexts::default(), String::new());
        let mut records = Vec::new();
        encode_text(&mut records, "{");
        for k in 0..500 {
            let n = node_named(&format!("n{k}"), NodeStatus::Unsupported, None);
            encode_line(&mut records, &mut texts, &mut scratch, &n, k == 0);
        }
        encode_text(&mut records, "]}");
        let mut whole = String::new();
        let read = expand_records(&records, &mut whole, usize::MAX, &Graph::default()).unwrap();
        assert_eq!(read, records.len());
        let (mut pieces, mut rest) = (String::new(), &records[..]);
        while !rest.is_empty() {
            let mut piece = String::new();
            let read = expand_records(rest, &mut piece, 1000, &Graph::default()).unwrap();
            // A line is under 300 bytes; the last piece may be short.
            let last = read == rest.len();
            assert!(
                (1000..1300).contains(&piece.len()) || last,
                "{}",
                piece.len()
            );
            pieces.push_str(&piece);
            rest = &rest[read..];
        }
        assert_eq!(pieces, whole);
    }

    /// A borrowed line reads as the report line it stands for, its names
    /// (a named node in a module, an unnamed one, their outputs) taken
    /// from the graph; a number the graph has no node or value for is an
    /// error.
    #[test]
    fn a_borrowed_lines_text_is_its_report_lines() {
        use nncost_core::graph::{Node, Value};
        use nncost_core::value::ValueFacts;
        use nncost_core::LineView;
        let value = |name: &str| Value {
            name: name.into(),
            ..Value::default()
        };
        let origin = Origin {
            scopes: vec![Arc::<str>::from("block")].into(),
            module_classes: vec![Arc::<str>::from("Block")].into(),
            source_op: String::new(),
        }
        .shared();
        let graph = Graph {
            values: vec![value("x"), value("y \"1\""), value("z")],
            nodes: vec![
                Node {
                    name: "block/conv".into(),
                    op_type: "Conv".into(),
                    outputs: vec![Some(1)].into(),
                    origin,
                    ..Node::default()
                },
                Node {
                    op_type: "Relu".into(),
                    domain: "ai.custom".into(),
                    outputs: vec![Some(2), None].into(),
                    ..Node::default()
                },
            ],
            ..Graph::default()
        };
        let batch = Poly::symbol("batch");
        let cost = Cost {
            macs: batch.checked_scale(9).unwrap(),
            flops: batch.checked_scale(18).unwrap(),
            int_ops: Poly::constant(0),
        };
        let facts = |shape: Vec<Dim>| ValueFacts {
            dtype: Some(DType::F16),
            shape: Some(shape.into()),
            ..ValueFacts::default()
        };
        let outputs = [
            vec![(1, facts(vec![Dim::Known(batch.clone()), Dim::int(4)]))],
            vec![(2, facts(vec![Dim::int(4)]))],
        ];
        let (mut texts, mut scratch) = (JsonTexts::default(), String::new());
        let (mut borrowed, mut reported) = (Vec::new(), Vec::new());
        for (k, node) in graph.nodes.iter().enumerate() {
            let view = LineView {
                node: k,
                params: 36 * (1 - k as u64),
                buffers: 0,
                cost: &cost,
                outputs: &outputs[k],
            };
            encode_view(&mut borrowed, &mut texts, &mut scratch, &view, k == 0);
            let mut line = node_named(&node.shown_name(k), NodeStatus::Counted, Some(cost.clone()));
            line.op_type = node.op_type.clone();
            line.domain = node.domain.clone();
            line.origin = node.origin.clone();
            line.params = view.params;
            line.outputs = outputs[k]
                .iter()
                .map(|(v, f)| ValueReport::of_facts(&graph.values[*v].name, f))
                .collect();
            encode_line(&mut reported, &mut texts, &mut scratch, &line, k == 0);
        }
        let text = |records: &[u8]| {
            let mut text = String::new();
            expand_records(records, &mut text, usize::MAX, &graph).unwrap();
            text
        };
        let shown = text(&borrowed);
        assert_eq!(shown, text(&reported));
        assert!(shown.contains(r#"{"name":"Relu#1","op_type":"Relu","domain":"ai.custom""#));
        assert!(
            shown.contains(r#""module":"block","module_class":"Block""#),
            "{shown}"
        );
        assert!(shown.contains(r#"[{"name":"y \"1\"","dtype":"float16","shape":["batch",4]}]"#));
        // A node or a value the graph does not have.
        for (node, value) in [(2, 1), (0, 3)] {
            let view = LineView {
                node,
                params: 0,
                buffers: 0,
                cost: &cost,
                outputs: &[(value, facts(vec![]))],
            };
            let mut record = Vec::new();
            encode_view(&mut record, &mut texts, &mut scratch, &view, true);
            let mut out = String::new();
            let err = expand_records(&record, &mut out, usize::MAX, &graph).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
    }

    /// Records a maker never makes are an error, not a panic or text.
    #[test]
    fn a_malformed_record_is_an_error() {
        let mut records = Vec::new();
        encode_text(&mut records, "whole");
        for cut in 0..records.len() {
            let mut text = String::new();
            let read = expand_records(&records[..cut], &mut text, usize::MAX, &Graph::default());
            assert_eq!(read.is_ok(), cut == 0, "cut at {cut}: {text:?}");
        }
        let mut text = String::new();
        let bad =
            expand_records(&[9, 0, 0, 0, 0], &mut text, usize::MAX, &Graph::default()).unwrap_err();
        assert_eq!(bad.kind(), io::ErrorKind::InvalidData);
        // Not UTF-8.
        let err = expand_records(
            &[TEXT, 1, 0, 0, 0, 0xff],
            &mut text,
            usize::MAX,
            &Graph::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
