//! The JSON report, schema `nncost.report` version 1 (documented in
//! `docs/json-schema.md`). Counts are JSON integers when every symbol is
//! bound; otherwise an object `{"expression": "4089184256*batch",
//! "symbols": ["batch"]}`. Additions that keep old fields are compatible;
//! anything else bumps the version.

use nncost_core::report::{NodeReport, NodeStatus, Subtotal, ValueReport, CONVENTION};
use nncost_core::shape::SharedShape;
use nncost_core::{Dim, Lines, Poly, Report};
use std::fmt::Write;

use serde_json::{json, Map, Value};

mod line;

pub use line::expand_records;

use crate::groups::{GroupSums, Groups};
use crate::remembered::Remembered;
use crate::{JsonOptions, ModelInfo};

pub const SCHEMA: &str = "nncost.report";
pub const SCHEMA_VERSION: u32 = 1;

/// The report, with the groupings `options` asks for: `by_op`
/// ([`Report::by_op`]) and `by_module` ([`Report::by_module`]).
pub fn render(report: &Report, info: &ModelInfo, options: JsonOptions) -> String {
    crate::in_memory(256 * (report.nodes.len() + 16), |out| {
        render_to(report, info, options, out)
    })
}

/// [`render`], written to `sink` as it is made: a graph of a million nodes
/// never holds its 300 MB report in memory, only one node's line at a time.
pub fn render_to(
    report: &Report,
    info: &ModelInfo,
    options: JsonOptions,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut writer = JsonWriter::new(&report.graph_name, info).adding_up(options);
    for (i, n) in report.nodes.iter().enumerate() {
        // Memory, time and the backward pass of a top-level node, when
        // asked for: one more field each before the node's closing brace.
        let extras = NodeExtras {
            backward: report.training.as_ref().map(|t| &t.nodes[i]),
            memory: report.memory.as_ref().map(|m| &m.nodes[i]),
            time: report.roofline.as_ref().map(|r| &r.nodes[i]),
        };
        writer.line_with(n, extras, sink)?;
    }
    writer.finish(report, options, sink)
}

/// The JSON report written in steps, so that its node lines can be written
/// as an analysis makes them ([`nncost_core::analyze_streaming`]):
/// [`JsonWriter::line`] writes one node, [`JsonWriter::finish`] the fields
/// the whole analysis decides (totals, symbols, the nodes not counted).
/// What is known before the analysis (the tool, the model) is written
/// with the first line, so that an analysis that fails before its first
/// line leaves nothing written. The text is [`render_to`]'s for the same
/// report.
pub struct JsonWriter {
    /// The fields before the nodes, until written.
    head: Option<String>,
    lines: usize,
    /// Records are written instead of text (see [`JsonWriter::records`]).
    records: bool,
    /// One node's text, reused from line to line.
    out: String,
    /// The `by_op` and `by_module` groups, added up line by line.
    groups: Option<GroupSums>,
    texts: JsonTexts,
}

/// The JSON texts of the symbolic counts and the shapes that lines repeat,
/// made once each (see `remembered.rs`).
#[derive(Default)]
struct JsonTexts {
    counts: Remembered<Poly, Box<str>>,
    shapes: Remembered<SharedShape, Box<str>>,
    /// A line's record (see `line.rs`) and one remembered text on its way
    /// into it, reused from line to line.
    record: Vec<u8>,
    scratch: String,
}

impl JsonTexts {
    /// Makes `self.record` afresh with `encode`, which reads the
    /// remembered texts (and has room for one on its way in).
    fn remake_record(&mut self, encode: impl FnOnce(&mut Vec<u8>, &mut JsonTexts, &mut String)) {
        let mut record = std::mem::take(&mut self.record);
        let mut scratch = std::mem::take(&mut self.scratch);
        record.clear();
        encode(&mut record, self, &mut scratch);
        self.record = record;
        self.scratch = scratch;
    }

    /// [`push_count`], a symbolic count's text remembered.
    fn push_count(&mut self, out: &mut String, p: Option<&Poly>) {
        let Some(p) = p.filter(|p| p.as_constant().is_none()) else {
            return push_count(out, p);
        };
        self.counts.push(out, p, |out| push_expression(out, p));
    }

    /// A shape as a list of dims: numbers, and expressions as strings.
    fn push_shape(&mut self, out: &mut String, shape: &SharedShape) {
        self.shapes.push(out, shape, |out| {
            out.push('[');
            for (k, d) in shape.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                match d.poly() {
                    Some(p) if p.as_constant().is_some() => push_integer(out, p),
                    Some(p) => push_str(out, &p.to_string()),
                    None => out.push_str("null"),
                }
            }
            out.push(']');
        });
    }
}

/// The fields a top-level node's line carries when memory, time or the
/// backward pass were asked for.
#[derive(Clone, Copy, Default)]
struct NodeExtras<'r> {
    backward: Option<&'r Option<nncost_core::training::Backward>>,
    memory: Option<&'r nncost_core::memory::NodeMemory>,
    time: Option<&'r nncost_core::roofline::NodeTime>,
}

impl JsonWriter {
    /// A report of the graph `graph_name` of `info`'s model; nothing is
    /// written yet.
    pub fn new(graph_name: &str, info: &ModelInfo) -> JsonWriter {
        let head: [(&str, Value); 5] = [
            ("schema", json!(SCHEMA)),
            ("schema_version", json!(SCHEMA_VERSION)),
            (
                "tool",
                json!({"name": "nncost", "version": env!("CARGO_PKG_VERSION")}),
            ),
            (
                "model",
                json!({
                    "source": info.source,
                    "format": info.format,
                    "ir_version": info.ir_version,
                    "producer": info.producer,
                    "opsets": info.opsets.iter().map(|(d, v)| json!({"domain": d, "version": v})).collect::<Vec<_>>(),
                    "graph": graph_name,
                    "facts": info.facts.iter().map(|f| (f.key.clone(), match &f.value {
                        crate::FactValue::Count(p) | crate::FactValue::Bytes(p) => count(p),
                        crate::FactValue::Text(t) => json!(t),
                    })).collect::<Map<_, _>>(),
                }),
            ),
            ("convention", json!(CONVENTION)),
        ];
        let mut out = String::from("{\n");
        for (key, v) in &head {
            field(&mut out, key, v);
            out.push_str(",\n");
        }
        out.push_str("  \"nodes\": [");
        JsonWriter {
            head: Some(out),
            lines: 0,
            records: false,
            out: String::new(),
            groups: None,
            texts: JsonTexts::default(),
        }
    }

    /// The writer, adding up the groups `options` asks for (`by_op`, and
    /// `by_module` at `depth` without the module tree) from the lines it
    /// is given, so that [`JsonWriter::finish`] needs no report that keeps
    /// them.
    pub fn adding_up(mut self, options: JsonOptions) -> JsonWriter {
        let depth = module_depth(options);
        if options.by_op || depth.is_some() {
            self.groups = Some(GroupSums::new(options.by_op, depth));
        }
        self
    }

    /// The writer, writing records instead of text: each call writes its
    /// records with one `write_all`, and [`expand_records`] turns them
    /// into the report's text. The records are plain bytes, so that the
    /// text of a large report can be made on the thread that writes it
    /// (`line.rs` tells what is left to do there).
    pub fn records(mut self) -> JsonWriter {
        self.records = true;
        self
    }

    /// Writes the fields before the nodes, the first time only.
    fn begin(&mut self, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self.head.take() {
            Some(head) => self.write_text(&head, sink),
            None => Ok(()),
        }
    }

    /// Writes `text`, as a record when records are written.
    fn write_text(&mut self, text: &str, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        if !self.records {
            return sink.write_all(text.as_bytes());
        }
        let record = &mut self.texts.record;
        record.clear();
        line::encode_text(record, text);
        sink.write_all(record)
    }

    /// Writes one top-level node's line (a compact object on a line of its
    /// own).
    pub fn line(&mut self, n: &NodeReport, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.line_with(n, NodeExtras::default(), sink)
    }

    /// Whether [`JsonWriter::borrowed_line`] takes lines.
    pub fn takes_borrowed_lines(&self) -> bool {
        self.records && self.groups.is_none()
    }

    /// Writes a borrowed line's record ([`nncost_core::LineDetail::Borrowed`]):
    /// only a writer of [`JsonWriter::records`] that adds up no groups
    /// takes one (its names are the graph's, which [`expand_records`]
    /// reads); any other refuses it.
    pub fn borrowed_line(
        &mut self,
        view: &nncost_core::LineView<'_>,
        sink: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if !self.takes_borrowed_lines() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a borrowed line is written only as a record, by a writer adding up no groups",
            ));
        }
        self.begin(sink)?;
        let first = self.lines == 0;
        self.lines += 1;
        let texts = &mut self.texts;
        texts.remake_record(|r, t, scratch| line::encode_view(r, t, scratch, view, first));
        sink.write_all(&self.texts.record)
    }

    fn line_with(
        &mut self,
        n: &NodeReport,
        extras: NodeExtras,
        sink: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if let Some(groups) = &mut self.groups {
            groups.add(n);
        }
        self.begin(sink)?;
        let first = self.lines == 0;
        self.lines += 1;
        let NodeExtras {
            backward,
            memory,
            time,
        } = extras;
        let has_extras = backward.is_some() || memory.is_some() || time.is_some();
        if self.records && n.subgraphs.is_empty() && !has_extras {
            // The line's text is left to whoever reads the record.
            let texts = &mut self.texts;
            texts.remake_record(|r, t, scratch| line::encode_line(r, t, scratch, n, first));
            return sink.write_all(&self.texts.record);
        }
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        out.push_str(if first { "\n    " } else { ",\n    " });
        write_node(&mut out, &mut self.texts, n)?;
        if has_extras {
            out.pop();
            if let Some(b) = backward {
                out.push_str(",\"backward\":");
                out.push_str(&b.as_ref().map_or(Value::Null, backward_json).to_string());
            }
            if let Some(m) = memory {
                out.push_str(",\"memory\":");
                push_node_memory(&mut out, &mut self.texts, m);
            }
            if let Some(t) = time {
                out.push_str(",\"time\":");
                out.push_str(&node_time(t).to_string());
            }
            out.push('}');
        }
        let written = self.write_text(&out, sink);
        self.out = out;
        written
    }

    /// Closes the list of nodes and writes the fields the whole analysis
    /// decides, from `report`. Its own lines are not written again: a
    /// streamed report keeps only those of the nodes not counted, which
    /// `incomplete` lists. The groups `options` asks for add up every
    /// line: those the writer did not add up itself (see
    /// [`JsonWriter::adding_up`]) are refused for such a report.
    pub fn finish(
        &mut self,
        report: &Report,
        options: JsonOptions,
        sink: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let depth = module_depth(options);
        let added_up = self.groups.is_some() || !(options.by_op || depth.is_some());
        if report.lines != Lines::All && (options.reads_node_lines() || !added_up) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "by_op, by_module and module_tree add up every node's line; \
                 this report keeps only those of the nodes not counted",
            ));
        }
        let groups = match self.groups.take() {
            Some(groups) => groups.finish(),
            None => GroupSums::new(options.by_op, depth).over(&report.nodes),
        };
        self.begin(sink)?;
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        out.push_str(if self.lines == 0 { "]" } else { "\n  ]" });
        for (key, v) in &tail_fields(report, options, groups) {
            out.push_str(",\n");
            field(&mut out, key, v);
        }
        out.push_str("\n}\n");
        let written = self.write_text(&out, sink);
        self.out = out;
        written
    }
}

/// The depth of the `by_module` groups `options` asks for: `depth`, unless
/// the module tree takes it for its own.
fn module_depth(options: JsonOptions) -> Option<usize> {
    options.depth.filter(|_| !options.tree)
}

/// The fields after the list of nodes, in order.
fn tail_fields(
    report: &Report,
    options: JsonOptions,
    groups: Groups,
) -> Vec<(&'static str, Value)> {
    let t = &report.totals;
    let mut tail: Vec<(&str, Value)> = vec![
        (
            "bindings",
            Value::Object(
                report
                    .bindings
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect::<Map<_, _>>(),
            ),
        ),
        ("at_upper_bound", json!(report.at_upper_bound)),
        (
            "inputs",
            Value::Array(report.inputs.iter().map(value).collect()),
        ),
        (
            "outputs",
            Value::Array(report.outputs.iter().map(value).collect()),
        ),
        (
            "totals",
            json!({
                "params": t.params,
                "param_bytes": t.param_bytes,
                "buffers": t.buffers,
                "constants": t.constants,
                "params_in_constant_nodes": t.params_in_constant_nodes,
                "params_by_dtype": dtype_shares(&t.params_by_dtype),
                "macs": count(&t.cost.macs),
                "flops": count(&t.cost.flops),
                "int_ops": count(&t.cost.int_ops),
                "complete": report.is_complete(),
            }),
        ),
        (
            "symbols",
            Value::Array(report.symbols.iter().map(symbol).collect()),
        ),
    ];
    if let Some(m) = &report.memory {
        tail.push(("memory", memory(report, m)));
    }
    if let Some(r) = &report.roofline {
        tail.push(("roofline", roofline(r)));
    }
    if let Some(c) = &report.convention {
        tail.push((
            "convention_count",
            json!({
                "convention": c.convention.name(),
                "unit": c.convention.unit(),
                "total": count(&c.total),
                "nodes": c.nodes.iter().map(|n| n.as_ref().map_or(Value::Null, count)).collect::<Vec<_>>(),
            }),
        ));
    }
    if let Some(t) = &report.training {
        tail.push((
            "training",
            json!({
                "backward": backward_json(&t.backward),
                "total": {
                    "macs": count(&t.total.macs),
                    "flops": count(&t.total.flops),
                    "int_ops": count(&t.total.int_ops),
                },
                "frozen": t.frozen,
            }),
        ));
    }
    tail.extend([
        (
            "unsupported",
            Value::Array(
                report
                    .unsupported
                    .iter()
                    .map(|u| json!({"op_type": u.op_type, "domain": u.domain, "count": u.nodes.len(), "nodes": u.nodes}))
                    .collect(),
            ),
        ),
        (
            "incomplete",
            Value::Array(
                report
                    .incomplete()
                    .map(|(n, reason)| {
                        let kind = match &n.status {
                            NodeStatus::Incomplete { kind, .. } => Some(kind.as_str()),
                            _ => None,
                        };
                        json!({"node": n.name.as_str(), "op_type": n.op_type.as_str(), "kind": kind, "reason": reason})
                    })
                    .collect(),
            ),
        ),
    ]);
    if let Some(ops) = groups.ops {
        let groups = ops
            .iter()
            .map(|g| {
                subtotal(
                    &[("op_type", json!(g.op_type)), ("domain", json!(g.domain))],
                    &g.sum,
                )
            })
            .collect();
        tail.push(("by_op", Value::Array(groups)));
    }
    if options.tree {
        let modules = report
            .module_tree(options.depth.unwrap_or(usize::MAX))
            .iter()
            .map(|m| {
                subtotal(
                    &[
                        ("module", json!(m.path)),
                        ("class", json!(m.class)),
                        ("depth", json!(m.depth)),
                    ],
                    &m.sum,
                )
            })
            .collect();
        tail.push(("module_tree", Value::Array(modules)));
    }
    if let Some((depth, modules)) = groups.modules {
        let groups = modules
            .iter()
            .map(|g| {
                subtotal(
                    &[
                        ("module", json!(g.path)),
                        ("class", json!(g.class)),
                        ("depth", json!(depth)),
                    ],
                    &g.sum,
                )
            })
            .collect();
        tail.push(("by_module", Value::Array(groups)));
    }
    tail
}

/// Parameters by dtype: `[{"dtype", "params", "bytes"}]`.
fn dtype_shares(shares: &[nncost_core::report::DtypeShare]) -> Value {
    Value::Array(
        shares
            .iter()
            .map(|s| json!({"dtype": s.dtype.name(), "params": s.params, "bytes": s.bytes}))
            .collect(),
    )
}

/// The `memory` object (docs/json-schema.md).
fn memory(report: &Report, m: &nncost_core::memory::MemoryReport) -> Value {
    let schedule = |s: &nncost_core::memory::Schedule, with_order: bool| {
        let mut v = json!({
            "peak_bytes": count(&s.peak),
            "peak_at": s.peak_at.iter().map(|(i, b)| json!({
                "node": i.map(|i| report.nodes[i].name.as_str()),
                "index": i,
                "bytes": count(b),
            })).collect::<Vec<_>>(),
            "proven_least": s.proven_least,
        });
        if with_order {
            v["order"] = json!(s.order);
        }
        v
    };
    let traffic = m.traffic().ok();
    json!({
        "float_dtype": m.float_dtype.map(|d| d.name()),
        "param_bytes": m.param_bytes,
        "params_by_dtype": dtype_shares(&m.params_by_dtype),
        "buffer_bytes": m.buffer_bytes,
        "input_bytes": count(&m.input_bytes),
        "output_bytes": count(&m.output_bytes),
        "file_order": schedule(&m.file_order, false),
        "least_order": schedule(&m.least_order, m.least_order.order != m.file_order.order),
        "traffic": traffic.as_ref().map(traffic_value),
        "unknown_values": m.unknown_values,
    })
}

fn traffic_value(t: &nncost_core::memory::Traffic) -> Value {
    json!({
        "activations_read": count(&t.activations_read),
        "weights_read": count(&t.weights_read),
        "written": count(&t.written),
        "complete": t.complete,
    })
}

/// A node's `memory`: the new storage of its outputs and its traffic,
/// written straight into `out` (a million lines were a million JSON
/// objects made and printed), its keys in the order a JSON object of them
/// prints in (sorted).
fn push_node_memory(out: &mut String, texts: &mut JsonTexts, m: &nncost_core::memory::NodeMemory) {
    let t = &m.traffic;
    out.push_str("{\"activations_read\":");
    texts.push_count(out, Some(&t.activations_read));
    out.push_str(if t.complete {
        ",\"complete\":true"
    } else {
        ",\"complete\":false"
    });
    out.push_str(if m.folded {
        ",\"folded\":true"
    } else {
        ",\"folded\":false"
    });
    out.push_str(",\"output_bytes\":");
    texts.push_count(out, m.output_bytes.as_ref());
    out.push_str(",\"weights_read\":");
    texts.push_count(out, Some(&t.weights_read));
    out.push_str(",\"written\":");
    texts.push_count(out, Some(&t.written));
    out.push('}');
}

/// The backward pass of a node or a model.
fn backward_json(b: &nncost_core::training::Backward) -> Value {
    json!({
        "macs": count(&b.macs),
        "flops": count(&b.flops),
        "other_flops": count(&b.other_flops),
        "gradients": b.gradients,
    })
}

/// A node's `time` on the chosen device.
fn node_time(t: &nncost_core::roofline::NodeTime) -> Value {
    json!({
        "seconds": t.seconds,
        "compute_seconds": t.compute_seconds,
        "memory_seconds": t.memory_seconds,
        "bound": t.bound.as_str(),
        "intensity": t.intensity,
        "complete": t.complete,
    })
}

/// The `roofline` object: the device, the precision and the model's least
/// time.
fn roofline(r: &nncost_core::roofline::Roofline) -> Value {
    let h = &r.hardware;
    json!({
        "lower_bound": true,
        "note": "least time per node: max(FLOPs / peak, integer ops / int8 peak, bytes / bandwidth), summed over the nodes; a bound, not a measurement",
        "hardware": {
            "id": h.id,
            "name": h.name,
            "memory_bytes": h.memory_bytes,
            "bandwidth": h.bandwidth,
            "peaks": h.peaks.iter().map(|(p, v)| (p.name().to_string(), json!(v))).collect::<Map<_, _>>(),
            "source": h.source,
        },
        "precision": r.precision.name(),
        "peak": r.peak,
        "int_peak": r.int_peak,
        "bandwidth": r.bandwidth,
        "ridge_flops_per_byte": r.ridge,
        "seconds": r.seconds,
        "compute_bound_seconds": r.compute_bound_seconds,
        "memory_bound_seconds": r.memory_bound_seconds,
    })
}

/// One symbol: `{"name", "kind": "input" | "data", "origin": {"node",
/// "output", "axis"} | null, "upper_bound", "meaning"}`.
fn symbol(s: &nncost_core::report::SymbolInfo) -> Value {
    use nncost_core::report::SymbolKind;
    json!({
        "name": &*s.name,
        "kind": match s.kind { SymbolKind::Input => "input", SymbolKind::Data => "data" },
        "origin": s.origin.as_ref().map(|o| json!({
            "node": o.node,
            "op_type": o.op_type,
            "output": o.output,
            "axis": o.axis,
        })),
        "upper_bound": s.upper_bound.as_ref().map(count),
        "meaning": s.meaning,
    })
}

/// A group's name fields, then its subtotal: `nodes`, `uncounted`,
/// `params`, `buffers`, `macs`, `flops`, `int_ops`.
pub(crate) fn subtotal(name: &[(&str, Value)], s: &Subtotal) -> Value {
    let mut m: Map<String, Value> = name
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for (k, v) in [
        ("nodes", json!(s.nodes)),
        ("uncounted", json!(s.uncounted)),
        ("params", json!(s.params)),
        ("buffers", json!(s.buffers)),
        ("macs", count(&s.cost.macs)),
        ("flops", count(&s.cost.flops)),
        ("int_ops", count(&s.cost.int_ops)),
    ] {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

/// Writes `  "key": value` with the value pretty-printed one level in.
fn field(out: &mut String, key: &str, v: &Value) {
    out.push_str("  ");
    out.push_str(&Value::String(key.to_string()).to_string());
    out.push_str(": ");
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    out.push_str(&pretty.replace('\n', "\n  "));
}

/// One node as a compact JSON object, written directly: this is the loop
/// that runs 100,000 times on a large graph, so it builds no `Value` tree.
/// Writes node `n`'s line: its fields made from its record (as a line
/// whose text another thread makes, see `line.rs`), then its bodies.
fn write_node(out: &mut String, texts: &mut JsonTexts, n: &NodeReport) -> std::io::Result<()> {
    texts.remake_record(|r, t, scratch| line::encode_fields(r, t, scratch, n));
    line::write_fields(
        out,
        &mut line::Reader {
            bytes: &texts.record,
        },
        None,
    )?;
    // Control-flow bodies (If, Loop, Scan): only on nodes that have them.
    if !n.subgraphs.is_empty() {
        out.push_str(",\"subgraphs\":[");
        for (i, s) in n.subgraphs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"attribute\":");
            push_str(out, &s.attribute);
            out.push_str(",\"runs\":");
            texts.push_count(out, s.runs.as_ref());
            push_params(out, s.params, s.buffers);
            out.push_str(",\"macs\":");
            texts.push_count(out, Some(&s.cost.macs));
            out.push_str(",\"flops\":");
            texts.push_count(out, Some(&s.cost.flops));
            out.push_str(",\"int_ops\":");
            texts.push_count(out, Some(&s.cost.int_ops));
            out.push_str(",\"nodes\":[");
            for (k, child) in s.nodes.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_node(out, texts, child)?;
            }
            out.push_str("]}");
        }
        out.push(']');
    }
    out.push('}');
    Ok(())
}

fn push_count(out: &mut String, p: Option<&Poly>) {
    match p {
        None => out.push_str("null"),
        Some(p) if p.as_constant().is_some() => push_integer(out, p),
        Some(p) => push_expression(out, p),
    }
}

/// A symbolic count as [`count`] writes it, `{"expression":…,"symbols":[…]}`,
/// without a JSON object made first (a symbolic model's every line has
/// several).
fn push_expression(out: &mut String, p: &Poly) {
    let mut text = String::new();
    let _ = write!(text, "{p}");
    out.push_str("{\"expression\":");
    push_str(out, &text);
    out.push_str(",\"symbols\":[");
    for (i, symbol) in p.symbols().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        text.clear();
        let _ = write!(text, "{symbol}");
        push_str(out, &text);
    }
    out.push_str("]}");
}

/// The `params` and `buffers` fields.
fn push_params(out: &mut String, params: u64, buffers: u64) {
    let mut digits = itoa::Buffer::new();
    out.push_str(",\"params\":");
    out.push_str(digits.format(params));
    out.push_str(",\"buffers\":");
    out.push_str(digits.format(buffers));
}

/// A constant count as [`integer`] writes it, without a JSON value made
/// first (a node has several).
fn push_integer(out: &mut String, p: &Poly) {
    push_i128(out, p.as_constant().unwrap_or_default());
}

/// A count as [`integer`] writes it.
fn push_i128(out: &mut String, c: i128) {
    let mut digits = itoa::Buffer::new();
    match (i64::try_from(c), u64::try_from(c)) {
        (Ok(v), _) => out.push_str(digits.format(v)),
        (_, Ok(v)) => out.push_str(digits.format(v)),
        _ => {
            out.push('"');
            out.push_str(digits.format(c));
            out.push('"');
        }
    }
}

/// Whether `bytes` hold none that a JSON string must escape (a control
/// character, `"` or `\`), told eight bytes at a time with no branch per
/// byte: the names and words a report writes are a few bytes long, too
/// short for the compiler's vector loop, and a byte at a time this check
/// was a sixteenth of a million-node chain's JSON report.
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Any byte of `w` below `n` (at most 0x80): subtracting `n` from each
    // borrows into the high bit of such a byte, or of one above it, and a
    // byte of 0x80 or more is left out by `!w`; so the answer as a whole
    // is exact. A zero byte is one below 1.
    let any_below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH != 0;
    let needs_escape = |w: u64| {
        any_below(w, 0x20)
            | any_below(w ^ (ONES * u64::from(b'"')), 1)
            | any_below(w ^ (ONES * u64::from(b'\\')), 1)
    };
    // Words are read from the text itself, never from a copy just made
    // (a load of bytes just stored a few at a time waits for them): the
    // last word overlaps the one before, and a short text is read as two
    // overlapping halves, a byte checked twice being no harm.
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
    let pair = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap_or([0; 2]));
    let spaces = ONES * u64::from(b' ');
    let len = bytes.len();
    let last = match len {
        0 => return true,
        1 => spaces << 8 | u64::from(bytes[0]),
        2..4 => spaces << 32 | u64::from(pair(len - 2)) << 16 | u64::from(pair(0)),
        4..8 => u64::from(half(len - 4)) << 32 | u64::from(half(0)),
        _ => word(len - 8),
    };
    (0..len / 8).all(|k| !needs_escape(word(8 * k))) && !needs_escape(last)
}

/// A JSON string literal with the escapes RFC 8259 requires.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    if is_plain(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    // Runs of characters that need no escape are copied whole. The bytes
    // escaped are ASCII, which never occurs inside a multi-byte character,
    // so every cut is at a character boundary.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn value(v: &ValueReport) -> Value {
    let mut out = json!({
        "name": v.name.as_str(),
        "dtype": v.dtype.map(|d| d.name()),
        "shape": v.shape.as_ref().map(|s| s.iter().map(dim).collect::<Vec<_>>()),
    });
    // A sequence of known elements: each element, only then.
    if let (Some(elements), Value::Object(map)) = (&v.elements, &mut out) {
        map.insert(
            "elements".to_string(),
            Value::Array(elements.iter().map(value).collect()),
        );
    }
    out
}

/// A dimension: a number, a string for symbolic ones (`"batch"`,
/// `"2*seq"`), or null when unknown.
fn dim(d: &Dim) -> Value {
    match d {
        Dim::Known(p) => match p.as_constant() {
            Some(c) => integer(c),
            None => Value::String(p.to_string()),
        },
        Dim::Unknown => Value::Null,
    }
}

pub(crate) fn count(p: &Poly) -> Value {
    match p.as_constant() {
        Some(c) => integer(c),
        None => json!({
            "expression": p.to_string(),
            "symbols": p.symbols().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        }),
    }
}

/// JSON numbers are 64-bit here; a count beyond that is written as a
/// decimal string rather than rounded.
fn integer(c: i128) -> Value {
    match (i64::try_from(c), u64::try_from(c)) {
        (Ok(v), _) => json!(v),
        (_, Ok(v)) => json!(v),
        _ => Value::String(c.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight-bytes-at-a-time check agrees with the byte-at-a-time
    /// definition for every byte value at every place of strings of 0 to
    /// 20 bytes, alone and with a byte of 0x80 or more elsewhere.
    #[test]
    fn plain_text_is_told_as_byte_by_byte() {
        let by_byte = |s: &[u8]| s.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
        for len in 0..=20 {
            assert!(is_plain(&vec![b'a'; len]));
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(is_plain(&s), by_byte(&s), "byte {b:#x} at {at} of {len}");
                    // Beside a byte of 0x80 or more (UTF-8's).
                    s[len - 1 - at] = 0xc3;
                    s[at] = b;
                    assert_eq!(
                        is_plain(&s),
                        by_byte(&s),
                        "byte {b:#x} at {at} of {len}, 0xc3"
                    );
                }
            }
        }
    }

    /// Remembered texts are the texts made afresh: counts as `count`
    /// prints them, shapes as lists, however many values come.
    #[test]
    fn remembered_counts_and_shapes_read_as_made() {
        let batch = Poly::symbol("batch");
        let seq = Poly::symbol("seq");
        let mut texts = JsonTexts::default();
        let counts = [
            batch.checked_scale(64).unwrap(),
            batch.checked_mul(&seq).unwrap().checked_add(&seq).unwrap(),
            Poly::constant(7),
            batch.checked_scale(64).unwrap(),
        ];
        for p in counts.iter().cycle().take(12) {
            let mut out = String::new();
            texts.push_count(&mut out, Some(p));
            assert_eq!(out, count(p).to_string());
        }
        // Constants are not remembered: their text is as quick to make.
        assert_eq!(texts.counts.len(), 2);
        // The last few symbolic counts are found by address, their text
        // the same; an equal count elsewhere is found by value.
        for k in 1..=crate::remembered::RECENT as i128 + 3 {
            let p = batch.checked_scale(k).unwrap();
            for q in [&p, &p.clone(), &batch.checked_scale(k).unwrap()] {
                let mut out = String::new();
                texts.push_count(&mut out, Some(q));
                assert_eq!(out, count(q).to_string());
            }
        }
        assert_eq!(texts.counts.recent_len(), crate::remembered::RECENT);
        let mut out = String::new();
        texts.push_count(&mut out, None);
        assert_eq!(out, "null");
        let shape = |dims: Vec<Dim>| -> SharedShape { dims.into() };
        let shapes = [
            shape(vec![Dim::Known(batch.clone()), Dim::int(64)]),
            shape(vec![
                Dim::Unknown,
                Dim::Known(batch.checked_add(&seq).unwrap()),
            ]),
            shape(vec![]),
        ];
        let expected = [r#"["batch",64]"#, r#"[null,"batch + seq"]"#, "[]"];
        for _ in 0..3 {
            for (s, e) in shapes.iter().zip(expected) {
                let mut out = String::from("x");
                texts.push_shape(&mut out, s);
                assert_eq!(out, format!("x{e}"));
            }
        }
        for k in 0..crate::remembered::MOST_REMEMBERED as i64 + 5 {
            let mut out = String::new();
            texts.push_shape(&mut out, &shape(vec![Dim::int(k)]));
            assert_eq!(out, format!("[{k}]"));
        }
        assert_eq!(texts.shapes.len(), crate::remembered::MOST_REMEMBERED);
    }

    /// A node's memory reads as the JSON object of its fields would print
    /// (keys sorted), numbers, expressions, nulls and flags alike.
    #[test]
    fn node_memory_is_written_as_its_object_prints() {
        use nncost_core::memory::{NodeMemory, Traffic};
        let batch = Poly::symbol("batch").checked_scale(256).unwrap();
        let huge = Poly::constant(i128::from(u64::MAX) * 4);
        for (output_bytes, complete, folded) in [
            (Some(batch.clone()), true, false),
            (None, false, true),
            (Some(Poly::constant(0)), true, true),
            (Some(huge.clone()), false, false),
        ] {
            let m = NodeMemory {
                output_bytes: output_bytes.clone(),
                traffic: Traffic {
                    activations_read: batch.clone(),
                    weights_read: Poly::constant(4096),
                    written: huge.clone(),
                    complete,
                },
                folded,
            };
            let object = json!({
                "activations_read": count(&m.traffic.activations_read),
                "weights_read": count(&m.traffic.weights_read),
                "written": count(&m.traffic.written),
                "complete": complete,
                "output_bytes": output_bytes.as_ref().map_or(Value::Null, count),
                "folded": folded,
            });
            let mut out = String::new();
            push_node_memory(&mut out, &mut JsonTexts::default(), &m);
            assert_eq!(out, object.to_string());
        }
    }

    /// Names are escaped as serde_json escapes them: quotes, backslashes,
    /// control characters, with multi-byte text between them kept whole.
    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "",
            "plain",
            "quote\" and \\ backslash",
            "tab\tnew\nline\r",
            "\u{1}ctl",
            "bell\u{7}esc\u{1b}",
            "\u{1f}end",
            "ünïcode ×",
            "größe→λ\n日本",
        ] {
            let mut out = String::new();
            push_str(&mut out, s);
            assert_eq!(out, Value::String(s.to_string()).to_string());
        }
    }

    /// Counts written straight into the text read as [`count`]'s values.
    #[test]
    fn counts_are_written_as_count_makes_them() {
        for text in [
            "0",
            "64",
            "-3",
            "18446744073709551615",
            "170141183460469231731687303715884105727",
            "64*batch",
            "3*batch*seq^2 + 7*seq + 1",
            "b\"q*x",
        ] {
            let p = Poly::parse(text).unwrap_or_else(|_| Poly::symbol(text));
            let mut out = String::new();
            push_count(&mut out, Some(&p));
            assert_eq!(out, count(&p).to_string(), "{text}");
        }
    }

    #[test]
    fn a_known_sequence_lists_its_elements() {
        use nncost_core::graph::DType;
        use nncost_core::shape::Dim;
        let element = |name: &str, n: i64| ValueReport {
            name: name.into(),
            dtype: Some(DType::F32),
            shape: Some(vec![Dim::int(n)].into()),
            elements: None,
        };
        let seq = ValueReport {
            name: "s".into(),
            dtype: Some(DType::F32),
            shape: Some(vec![Dim::Unknown].into()),
            elements: Some([element("s[0]", 1), element("s[1]", 2)].into()),
        };
        let v = value(&seq);
        assert_eq!(v["shape"], json!([null]));
        assert_eq!(
            v["elements"][1],
            json!({"name": "s[1]", "dtype": "float32", "shape": [2]})
        );
        // A tensor has no "elements" key.
        assert!(value(&element("t", 3)).get("elements").is_none());
    }
}
