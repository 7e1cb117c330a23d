//! Every output format as a person gets it, on three kinds of model: a CNN
//! (the example ResNet-18), a transformer (BERT-tiny, TorchScript export)
//! and a detector (Faster R-CNN MobileNetV3-320, data-dependent sizes
//! bound at their upper bounds). Each output is compared with the file in
//! `tests/format_snapshots/`; `NNCOST_UPDATE_SNAPSHOTS=1` rewrites them.
//! The numbers in them are checked against independent figures elsewhere
//! (`tests/torchvision.rs`, `tests/models.rs`, `tests/oracle.rs`); this
//! test holds their presentation still.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_nncost"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("nncost runs");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8")
}

/// (snapshot file, arguments).
const CASES: &[(&str, &[&str])] = &[
    (
        "cnn.table.txt",
        &[
            "examples/resnet18.onnx",
            "--dim",
            "batch=1",
            "--width",
            "80",
        ],
    ),
    (
        "cnn.memory.table.txt",
        &[
            "examples/resnet18.onnx",
            "--dim",
            "batch=1",
            "--hardware",
            "h100",
            "--dtype",
            "bf16",
            "--width",
            "80",
        ],
    ),
    (
        "cnn.memory.csv",
        &[
            "examples/resnet18.onnx",
            "--dim",
            "batch=1",
            "--hardware",
            "h100",
            "--format",
            "csv",
        ],
    ),
    (
        "transformer.memory.md",
        &[
            "tests/fixtures/models/bert_tiny_classic_op17.onnx",
            "--memory",
            "--summary",
            "--format",
            "markdown",
        ],
    ),
    (
        "cnn.tree.txt",
        &["examples/resnet18.onnx", "--tree", "--depth", "2"],
    ),
    (
        "cnn.json",
        &[
            "examples/resnet18.onnx",
            "--format",
            "json",
            "--depth",
            "1",
            "--by-op",
        ],
    ),
    (
        "cnn.csv",
        &[
            "examples/resnet18.onnx",
            "--format",
            "csv",
            "--dim",
            "batch=1",
        ],
    ),
    (
        "cnn.md",
        &[
            "examples/resnet18.onnx",
            "--format",
            "markdown",
            "--depth",
            "1",
        ],
    ),
    (
        "transformer.table.txt",
        &[
            "tests/fixtures/models/bert_tiny_classic_op17.onnx",
            "--by-op",
            "--width",
            "80",
        ],
    ),
    (
        "transformer.json",
        &[
            "tests/fixtures/models/bert_tiny_classic_op17.onnx",
            "--format",
            "json",
            "--dim",
            "batch=1",
        ],
    ),
    (
        "transformer.csv",
        &[
            "tests/fixtures/models/bert_tiny_classic_op17.onnx",
            "--format",
            "csv",
            "--by-op",
        ],
    ),
    (
        "transformer.md",
        &[
            "tests/fixtures/models/bert_tiny_classic_op17.onnx",
            "--format",
            "markdown",
            "--by-op",
        ],
    ),
    (
        "detector.table.txt",
        &[
            "tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx",
            "--bound",
            "max",
            "--depth",
            "1",
            "--width",
            "80",
        ],
    ),
    (
        "detector.csv",
        &[
            "tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx",
            "--format",
            "csv",
            "--by-op",
        ],
    ),
    (
        "detector.md",
        &[
            "tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx",
            "--format",
            "markdown",
            "--depth",
            "2",
            "--bound",
            "max",
        ],
    ),
];

#[test]
fn every_format_on_three_models() {
    let dir = root().join("tests/format_snapshots");
    let update = std::env::var_os("NNCOST_UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    for (file, args) in CASES {
        // The tool's version is not part of what is compared.
        let got = run(args).replace(env!("CARGO_PKG_VERSION"), "VERSION");
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).expect("snapshot dir");
            std::fs::write(&path, &got).expect("write snapshot");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (NNCOST_UPDATE_SNAPSHOTS=1 writes it)",
                path.display()
            )
        });
        if got != want {
            stale.push(format!("{file} ({})", args.join(" ")));
        }
    }
    for entry in std::fs::read_dir(&dir).expect("snapshot dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            CASES.iter().any(|(f, _)| *f == name),
            "{name} has no case in tests/formats.rs"
        );
    }
    assert!(
        stale.is_empty(),
        "output changed (NNCOST_UPDATE_SNAPSHOTS=1 cargo test --test formats rewrites): {stale:?}"
    );
}

/// JSON, CSV and tables written as the analysis makes its lines
/// (`analyze_streaming`, the CLI's way when no module tree, memory or time
/// is asked for), node by node or grouped by operator or module, are the
/// text the whole report gives, byte for byte: a CNN, a transformer, a detector
/// with data-dependent sizes and `If` bodies (a data symbol bound, which
/// is checked only once every node is seen), and silero-vad, whose nodes
/// inside an `If` are left incomplete at one of its sample rates.
#[test]
fn streamed_formats_are_the_whole_reports() {
    use nncost_core::{analyze, analyze_streaming, AnalysisOptions, LineDetail};
    let detector = "tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx";
    let cases: &[(&str, &[(&str, i64)])] = &[
        ("examples/resnet18.onnx", &[]),
        ("examples/resnet18.onnx", &[("batch", 2)]),
        ("tests/fixtures/models/bert_tiny_classic_op17.onnx", &[]),
        (detector, &[]),
        (detector, &[("rpn_NonZero", 1000)]),
        ("tests/fixtures/pypi_corpus/silero_vad_16k_op15.onnx", &[]),
    ];
    for (path, dims) in cases {
        let model = nncost_onnx::read_file(&root().join(path))
            .expect("reads")
            .graph;
        let info = nncost_render::ModelInfo {
            source: path.to_string(),
            format: "onnx".into(),
            ..Default::default()
        };
        let options = AnalysisOptions {
            dims: dims.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
            ..AnalysisOptions::default()
        };
        let whole = analyze(&model, &options).expect("analyses");
        let mut expected = Vec::new();
        nncost_render::render_json_to(&whole, &info, Default::default(), &mut expected).unwrap();

        // JSON as records, whose text is made apart, as the command line
        // writes it (see `expand`).
        let mut writer = nncost_render::JsonWriter::new(&model.name, &info).records();
        let expand = |records: &[u8]| {
            let mut text = String::new();
            nncost_render::json::expand_records(records, &mut text, usize::MAX, &model).unwrap();
            text
        };
        let mut csv_writer = nncost_render::CsvWriter::new();
        // The table at full width (a pipe) and fitted to 80 and 50 columns.
        let widths = [None, Some(80), Some(50)];
        let mut table_writers = widths.map(|width| {
            nncost_render::TableWriter::new(nncost_render::TableOptions {
                width,
                ..Default::default()
            })
        });
        let mut markdown_writer = nncost_render::TableWriter::markdown(Default::default());
        // The heaviest nodes only (`--top`), by each measure, at full width
        // and fitted to 60 columns; and every node sorted (`--sort` alone).
        let tops: Vec<nncost_render::TableOptions> = [
            (None, Some(5), None),
            (Some(nncost_render::SortKey::Params), Some(3), Some(60)),
            (Some(nncost_render::SortKey::Macs), Some(1), None),
            (Some(nncost_render::SortKey::Flops), Some(0), None),
            (None, Some(100_000), None),
            (Some(nncost_render::SortKey::Flops), None, None),
            (Some(nncost_render::SortKey::Macs), None, Some(70)),
        ]
        .into_iter()
        .map(|(sort, top, width)| nncost_render::TableOptions {
            sort,
            top,
            width,
            ..Default::default()
        })
        .collect();
        let mut top_writers: Vec<_> = tops
            .iter()
            .map(|o| nncost_render::TableWriter::new(*o))
            .collect();
        // Operators and modules, their subtotals added up as the lines
        // come: as tables (one at 80 columns, one of the top 3 by params,
        // one summary), Markdown, CSV and JSON.
        let group = |by_op: bool, depth: Option<usize>| nncost_render::TableOptions {
            by_op,
            depth,
            ..Default::default()
        };
        let grouped: Vec<nncost_render::TableOptions> = vec![
            group(true, None),
            nncost_render::TableOptions {
                width: Some(80),
                ..group(false, Some(1))
            },
            nncost_render::TableOptions {
                sort: Some(nncost_render::SortKey::Params),
                top: Some(3),
                ..group(true, None)
            },
            nncost_render::TableOptions {
                summary: true,
                ..group(false, Some(2))
            },
            group(true, Some(2)),
        ];
        let mut group_writers: Vec<_> = grouped
            .iter()
            .map(|o| nncost_render::TableWriter::new(*o))
            .collect();
        let mut group_markdown: Vec<_> = grouped
            .iter()
            .map(|o| nncost_render::TableWriter::markdown(*o))
            .collect();
        let mut group_csv: Vec<_> = grouped
            .iter()
            .map(|o| (nncost_render::CsvWriter::grouped(*o), Vec::new()))
            .collect();
        let json_groups =
            [(true, None), (false, Some(2)), (true, Some(1))].map(|(by_op, depth)| {
                nncost_render::JsonOptions {
                    by_op,
                    depth,
                    tree: false,
                }
            });
        let mut group_json: Vec<_> = json_groups
            .iter()
            .map(|o| {
                let writer = nncost_render::JsonWriter::new(&model.name, &info)
                    .adding_up(*o)
                    .records();
                (writer, Vec::new())
            })
            .collect();
        let (mut streamed, mut streamed_csv) = (Vec::new(), Vec::new());
        let mut lines = 0;
        // As the command line streams them: no format reads a line's inputs.
        let detail = LineDetail::WithoutInputs;
        let report = analyze_streaming(&model, &options, detail, &mut |line| {
            let nncost_core::Line::Report(line) = line else {
                panic!("a borrowed line, not asked for")
            };
            lines += 1;
            writer.line(line, &mut streamed).unwrap();
            csv_writer.line(line, &mut streamed_csv).unwrap();
            let all = table_writers.iter_mut().chain([&mut markdown_writer]);
            let all = all.chain(group_writers.iter_mut().chain(group_markdown.iter_mut()));
            for table in all.chain(top_writers.iter_mut()) {
                table.line(line);
            }
            for (csv, sink) in &mut group_csv {
                csv.line(line, sink).unwrap();
            }
            for (json, sink) in &mut group_json {
                json.line(line, sink).unwrap();
            }
            std::ops::ControlFlow::Continue(())
        })
        .expect("analyses");
        for (k, options) in grouped.iter().enumerate() {
            let mut table = Vec::new();
            group_writers[k].finish(&report, &info, &mut table).unwrap();
            assert!(
                String::from_utf8(table).unwrap()
                    == nncost_render::render_table(&whole, &info, *options),
                "{path} {dims:?} {options:?}: the streamed grouped table differs"
            );
            let mut markdown = Vec::new();
            group_markdown[k]
                .finish(&report, &info, &mut markdown)
                .unwrap();
            assert!(
                String::from_utf8(markdown).unwrap()
                    == nncost_render::render_markdown(&whole, &info, *options),
                "{path} {dims:?} {options:?}: the streamed grouped Markdown differs"
            );
            let (csv, sink) = &mut group_csv[k];
            csv.finish(sink).unwrap();
            assert!(
                String::from_utf8(std::mem::take(sink)).unwrap()
                    == nncost_render::render_csv(&whole, *options),
                "{path} {dims:?} {options:?}: the streamed grouped CSV differs"
            );
        }
        for ((json, mut sink), options) in group_json.into_iter().zip(json_groups) {
            let mut json = json;
            json.finish(&report, options, &mut sink).unwrap();
            let mut whole_json = Vec::new();
            nncost_render::render_json_to(&whole, &info, options, &mut whole_json).unwrap();
            assert!(
                expand(&sink).as_bytes() == whole_json,
                "{path} {dims:?} {options:?}: the streamed grouped JSON differs"
            );
        }
        writer
            .finish(&report, Default::default(), &mut streamed)
            .unwrap();
        csv_writer.finish(&mut streamed_csv).unwrap();
        assert_eq!(lines, whole.nodes.len(), "{path}");
        assert!(
            report.nodes.len() < lines,
            "{path}: only the uncounted lines are kept"
        );
        let expected = String::from_utf8(expected).unwrap();
        assert!(
            expand(&streamed) == expected,
            "{path} {dims:?}: the streamed JSON differs"
        );
        // The counted lines borrowed, as the command line streams JSON.
        let mut writer = nncost_render::JsonWriter::new(&model.name, &info).records();
        let (mut records, mut borrowed) = (Vec::new(), 0);
        let detail = LineDetail::Borrowed;
        let report = analyze_streaming(&model, &options, detail, &mut |line| {
            match line {
                nncost_core::Line::Report(n) => writer.line(n, &mut records).unwrap(),
                nncost_core::Line::Borrowed(v) => {
                    borrowed += 1;
                    writer.borrowed_line(&v, &mut records).unwrap();
                }
            }
            std::ops::ControlFlow::Continue(())
        })
        .expect("analyses");
        writer
            .finish(&report, Default::default(), &mut records)
            .unwrap();
        // Every counted line, unless a check on every node must come
        // first (a data symbol bound): lines are then made whole.
        let whole_first = dims.iter().any(|(d, _)| d.contains("NonZero"));
        let counted = lines - report.nodes.len();
        assert_eq!(
            borrowed,
            if whole_first { 0 } else { counted },
            "{path} {dims:?}"
        );
        assert!(
            expand(&records) == expected,
            "{path} {dims:?}: the JSON of borrowed lines differs"
        );
        let csv = nncost_render::render_csv(&whole, Default::default());
        assert!(
            String::from_utf8(streamed_csv).unwrap() == csv,
            "{path} {dims:?}: the streamed CSV differs"
        );
        for (table, width) in table_writers.iter_mut().zip(widths) {
            let mut streamed_table = Vec::new();
            table.finish(&report, &info, &mut streamed_table).unwrap();
            let options = nncost_render::TableOptions {
                width,
                ..Default::default()
            };
            assert!(
                String::from_utf8(streamed_table).unwrap()
                    == nncost_render::render_table(&whole, &info, options),
                "{path} {dims:?} {width:?}: the streamed table differs"
            );
        }
        for (table, options) in top_writers.iter_mut().zip(&tops) {
            let mut streamed_table = Vec::new();
            table.finish(&report, &info, &mut streamed_table).unwrap();
            // Every node sorted is compared with the table of more top
            // nodes than there are, which the whole report's rows make
            // (the writer also makes the whole report's sorted table).
            let whole_options = nncost_render::TableOptions {
                top: options.top.or(Some(usize::MAX)),
                ..*options
            };
            assert!(
                String::from_utf8(streamed_table).unwrap()
                    == nncost_render::render_table(&whole, &info, whole_options),
                "{path} {dims:?} {:?} top {:?}: the streamed table differs",
                options.sort,
                options.top
            );
        }
        let mut streamed_markdown = Vec::new();
        markdown_writer
            .finish(&report, &info, &mut streamed_markdown)
            .unwrap();
        assert!(
            String::from_utf8(streamed_markdown).unwrap()
                == nncost_render::render_markdown(&whole, &info, Default::default()),
            "{path} {dims:?}: the streamed Markdown differs"
        );
        // A group adds up every line: a report without them refuses one
        // the writer did not add up (by operator, without `adding_up`),
        // and the module tree, which it never does.
        let by_op = nncost_render::JsonOptions {
            by_op: true,
            ..Default::default()
        };
        let tree = nncost_render::JsonOptions {
            tree: true,
            ..Default::default()
        };
        for (options, writer) in [
            (by_op, nncost_render::JsonWriter::new(&model.name, &info)),
            (
                tree,
                nncost_render::JsonWriter::new(&model.name, &info).adding_up(tree),
            ),
        ] {
            let mut writer = writer;
            let refused = writer.finish(&report, options, &mut Vec::new());
            assert_eq!(
                refused.unwrap_err().kind(),
                std::io::ErrorKind::InvalidInput
            );
        }
    }
}
