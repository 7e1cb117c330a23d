//! `nncost`: the command-line tool. Parses arguments, reads the model (an
//! ONNX file or a network description) or builds one layer, runs the
//! analysis and prints a report; all the work is in the library crates.
//!
//! Exit codes: 0 success; 1 under `--strict`, an unsupported or incomplete node;
//! 2 bad input or usage.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use nncost_core::{
    analyze, analyze_at_upper_bounds, analyze_keeping, analyze_streaming, AnalysisOptions, Graph,
    Line, LineDetail, Lines, Report,
};
use nncost_render::text::printable;
use nncost_render::{ModelInfo, TableOptions};

mod alloc;
mod layer_cmd;
mod output;
mod write_behind;

/// mimalloc, with a one-line exit when memory runs out (see `alloc.rs`).
#[global_allocator]
static ALLOCATOR: alloc::Allocator = alloc::Allocator;

use layer_cmd::{activation_help, run_layer, LayerKind};

/// What `--sort` orders rows by.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Sort {
    /// FLOPs plus integer operations.
    Flops,
    /// Multiply–accumulates.
    Macs,
    /// Parameters.
    Params,
}

/// What `--bound` evaluates data-dependent sizes at.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Bound {
    /// Each at its upper bound.
    Max,
}

#[derive(Parser, Debug)]
#[command(
    name = "nncost",
    version,
    about = "Exact parameters, MACs and FLOPs of a neural network, layer by layer",
    args_conflicts_with_subcommands = true,
    after_help = "Models: an ONNX file, or a network description (.nn: docs/netdesc.md).\n\
                  One layer, with the working shown: nncost layer conv --input 3x224x224 --out-channels 64 --kernel 3 --padding 1 --explain\n\
                  Exit codes: 0 success, 1 with --strict when a node is unsupported or not fully counted, 2 bad input or usage.\n\
                  Conventions: MACs are multiply-accumulates; FLOPs count every scalar operation (a MAC is 2 FLOPs)."
)]
pub(crate) struct Cli {
    /// Model file: ONNX, or a network description (.nn); `-` reads an ONNX model from standard input.
    model: Option<PathBuf>,

    /// A second model path: refused with a hint (nncost reads one model per run).
    #[arg(hide = true)]
    extra: Vec<PathBuf>,

    /// Bind a symbolic dimension, e.g. `--dim batch=8` (repeatable).
    #[arg(long = "dim", value_name = "NAME=VALUE")]
    dims: Vec<String>,

    /// Set a graph input's whole shape, e.g. `--input input=1x3x224x224` (repeatable); binds
    /// the dim names the model declares for it.
    #[arg(long = "input", value_name = "NAME=SHAPE")]
    inputs: Vec<String>,

    /// Sizes that depend on data: `max` evaluates each at its upper bound (a worst case).
    #[arg(long, value_enum, value_name = "max")]
    bound: Option<Bound>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Print exact integers instead of human units (11.69 M).
    #[arg(long)]
    exact: bool,

    /// Group the table by operator type.
    #[arg(long)]
    by_op: bool,

    /// Subtotals per module at depth N (1: `layer1`, 2: `layer1.0`), from the module paths in node names.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..64))]
    depth: Option<u64>,

    /// Only the K heaviest rows (nodes, operators or modules), heaviest first.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    top: Option<u64>,

    /// Order rows by a measure, largest first.
    #[arg(long, value_enum, value_name = "KEY")]
    sort: Option<Sort>,

    /// Totals only, no table rows.
    #[arg(long)]
    summary: bool,

    /// The module tree with subtotals at every level (down to --depth N).
    #[arg(long)]
    tree: bool,

    /// Fit the table to N columns (default: the terminal's width; a pipe or -o: the full table).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(40..))]
    width: Option<u64>,

    /// Memory: parameter bytes by dtype, each node's output bytes and traffic, and the peak of live
    /// activations in the file's order and in the least order found (docs/memory.md).
    #[arg(long)]
    memory: bool,

    /// Least time per node and in total on a device (a roofline lower bound, not a measurement):
    /// a built-in profile (h100, a100-80gb, l4, t4, rtx4090, mi300x, m3-max, xeon-8480, …) or a
    /// TOML/JSON profile file (docs/hardware.md). Implies --memory.
    #[arg(long, value_name = "NAME|FILE")]
    hardware: Option<String>,

    /// Run the model at this precision: float tensors stored in it and FLOPs at its peak
    /// (fp32, tf32, fp16, bf16, fp8, int8, int4, fp64). Default: the dtype of the weights.
    #[arg(long, value_name = "DTYPE")]
    dtype: Option<String>,

    /// With --dtype int4, int8 or fp8, for a language model read from its config, safetensors or
    /// GGUF file: the bytes of its weights quantized in groups of N along each matrix row, one
    /// 16-bit scale per group (default: one per row).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), requires = "dtype")]
    group_size: Option<u64>,

    /// A training step: the backward pass's MACs and FLOPs beside the forward's (docs/conventions.md,
    /// "Training").
    #[arg(long)]
    training: bool,

    /// Also count as another tool does: torch (FlopCounterMode), torchvision, fvcore, thop, ptflops
    /// (docs/conventions.md, "Presets").
    #[arg(long, value_name = "TOOL")]
    convention: Option<String>,

    /// With --training, a parameter (initializer name) left frozen: no weight gradient (repeatable).
    #[arg(long, value_name = "NAME", requires = "training")]
    frozen: Vec<String>,

    /// For a Hugging Face config (or model folder): count a prompt of `seq` tokens (prefill), or one
    /// new token after `ctx` cached ones (decode).
    #[arg(long, value_enum, default_value_t = Phase::Prefill)]
    phase: Phase,

    /// Fail (exit code 1) if any node is unsupported or not fully counted.
    #[arg(long)]
    strict: bool,

    /// Write the report to FILE instead of standard output (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// One layer's output shape, params, MACs and FLOPs, with the working (--explain).
    Layer {
        #[command(subcommand)]
        kind: LayerKind,
    },
    /// Compare two models: totals and each operator type (or module, --depth N), both sides and the change.
    Diff {
        /// The model before (ONNX or .nn).
        before: PathBuf,
        /// The model after.
        after: PathBuf,
        /// Bind a symbol in both models, e.g. `--dim batch=1` (repeatable; a name only one has applies to it).
        #[arg(long = "dim", value_name = "NAME=VALUE")]
        dims: Vec<String>,
        /// Compare modules at depth N instead of operator types.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..64))]
        depth: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
        format: DiffFormat,
        /// Print exact integers instead of human units.
        #[arg(long)]
        exact: bool,
        /// Write the comparison to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// `nncost diff`'s output formats.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Table,
    Json,
    Csv,
    Markdown,
    Html,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    /// One row per node (or operator, or module), exact counts.
    Csv,
    /// A Markdown table in human units, for a paper or a README.
    Markdown,
    /// One self-contained HTML page: totals, charts, module tree, node table.
    Html,
}

/// A failure that maps to a particular exit code.
pub(crate) enum Failure {
    /// Bad input or usage: exit 2.
    Input(anyhow::Error),
    /// Unsupported or incomplete nodes under `--strict`: exit 1 (the report is still printed).
    Strict(String),
}

fn main() -> ExitCode {
    alloc::return_freed_memory_promptly();
    alloc::keep_to_small_pages();
    // A panic is a bug in nncost, never the user's fault: report it in one
    // line, with where it happened, instead of a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("nncost: {}", nncost_load::panic_line(info));
    }));
    let command = Cli::command().mut_subcommand("layer", |c| c.after_help(activation_help()));
    let cli = match command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => usage_exit(e),
    };
    if let (Some(first), Some(second)) = (&cli.model, cli.extra.first()) {
        eprintln!(
            "nncost: error: two models given ({} and {}): to compare them, nncost diff BEFORE AFTER",
            first.display(),
            second.display()
        );
        return ExitCode::from(2);
    }
    let outcome = std::panic::catch_unwind(|| match &cli.command {
        Some(Command::Layer { kind }) => run_layer(kind),
        Some(Command::Diff {
            before,
            after,
            dims,
            depth,
            format,
            exact,
            output,
        }) => run_diff(
            before,
            after,
            dims,
            *depth,
            *format,
            *exact,
            output.as_deref(),
        ),
        None => match &cli.model {
            Some(model) => run(&cli, model),
            None => usage_exit(Cli::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "give a model file (ONNX or .nn), or `layer KIND` for one layer",
            )),
        },
    });
    match outcome {
        Ok(outcome) => exit_code(outcome),
        Err(_) => ExitCode::from(2),
    }
}

/// A usage error, in one line like every other error (with clap's tip,
/// when it has one), exit code 2; `--help` and `--version` as clap prints
/// them.
pub(crate) fn usage_exit(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let tip = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("tip: "))
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            eprintln!(
                "nncost: error: {}; see nncost --help",
                printable(&format!("{first}{tip}"))
            );
            std::process::exit(2)
        }
    }
}

fn exit_code(outcome: Result<(), Failure>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // One line each: names from the file are escaped, so that a newline
        // in one cannot forge a second message.
        Err(Failure::Strict(msg)) => {
            eprintln!("nncost: {}", printable(&msg));
            ExitCode::from(1)
        }
        Err(Failure::Input(e)) => {
            eprintln!("nncost: error: {}", printable(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

/// The weight quantization `--dtype` and `--group-size` ask of a language
/// model: only with `--group-size` (`--dtype int4` alone re-stores the
/// graph's float tensors, as for any model).
fn quantization(cli: &Cli) -> Result<Option<nncost_load::Quantize>> {
    let Some(group) = cli.group_size else {
        return Ok(None);
    };
    let (name, bits) = match cli.dtype.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("int4") => ("int4", 4),
        Some("int8") => ("int8", 8),
        Some("fp8") => ("fp8", 8),
        other => bail!(
            "--group-size applies to --dtype int4, int8 or fp8, not {}",
            other.unwrap_or("none")
        ),
    };
    Ok(Some(nncost_load::Quantize {
        name,
        bits,
        group: Some(group),
    }))
}

/// Which forward pass of a language model to count.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Prefill,
    Decode,
}

/// The graph of a model file (`-`: standard input) and what the report
/// says about the file.
fn read_model(
    path: &Path,
    phase: Phase,
    quantize: &Option<nncost_load::Quantize>,
) -> Result<(Graph, ModelInfo), Failure> {
    let options = nncost_load::ReadOptions {
        phase: match phase {
            Phase::Prefill => nncost_llm::Phase::Prefill,
            Phase::Decode => nncost_llm::Phase::Decode,
        },
        quantize: *quantize,
    };
    let read = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::Input(anyhow::anyhow!("cannot read standard input: {e}")))?;
        nncost_load::read_bytes_with(bytes, "<stdin>", &options)
    } else {
        nncost_load::read_path_with(path, &options)
    };
    read.map_err(|e| Failure::Input(anyhow::anyhow!("{e}")))
}

/// Refuses an `-o` that names the model itself: the report would replace
/// the file it describes.
fn check_output_is_not_input(output: Option<&Path>, model: &Path) -> Result<(), Failure> {
    let Some(out) = output else { return Ok(()) };
    let same = match (std::fs::canonicalize(out), std::fs::canonicalize(model)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Failure::Input(anyhow::anyhow!(
            "-o {}: that is the model being read; the report would overwrite it",
            out.display()
        )));
    }
    Ok(())
}

fn run(cli: &Cli, path: &Path) -> Result<(), Failure> {
    check_output_is_not_input(cli.output.as_deref(), path)?;
    let options = analysis_options(cli).map_err(Failure::Input)?;
    let quantize = quantization(cli).map_err(Failure::Input)?;
    let (graph, info) = read_model(path, cli.phase, &quantize)?;
    if quantize.is_some() && !matches!(info.format.as_str(), "config" | "safetensors" | "gguf") {
        return Err(Failure::Input(anyhow::anyhow!(
            "--dtype {} quantizes a language model's weights read from its config, safetensors or GGUF \
             file; for {} use --dtype alone",
            cli.dtype.as_deref().unwrap_or(""),
            info.source
        )));
    }
    if graph.nodes.is_empty() {
        return Err(Failure::Input(with_path(
            &info.source,
            "the graph has no nodes: there is nothing to count".into(),
        )));
    }
    let request = nncost_load::Request {
        memory: cli.memory,
        dtype: cli.dtype.clone(),
        hardware: cli.hardware.clone(),
        training: cli.training,
        frozen: cli.frozen.clone(),
        convention: cli.convention.clone(),
    };
    // The summary (a table's or Markdown's) prints the totals and the
    // nodes not counted: a graph of a million nodes need not hold a line
    // for each of the rest.
    let summary_only = cli.summary && matches!(cli.format, Format::Table | Format::Markdown);
    let json_options = nncost_render::JsonOptions {
        by_op: cli.by_op,
        depth: cli.depth.map(|d| d as usize),
        tree: cli.tree,
    };
    let table = TableOptions {
        exact: cli.exact,
        by_op: cli.by_op,
        depth: cli.depth.map(|d| d as usize),
        sort: cli.sort.map(|s| match s {
            Sort::Flops => nncost_render::SortKey::Flops,
            Sort::Macs => nncost_render::SortKey::Macs,
            Sort::Params => nncost_render::SortKey::Params,
        }),
        top: cli.top.map(|k| usize::try_from(k).unwrap_or(usize::MAX)),
        summary: cli.summary,
        tree: cli.tree,
        width: table_width(cli),
    };
    // JSON, CSV and the table (aligned or Markdown) with nothing that adds up every line in
    // its own way (the module tree, memory, time) are made as the analysis makes its lines: a
    // graph of a million nodes then holds no line per node (the node table holds its rows'
    // text, for the columns' widths; a table of operators or modules their subtotals).
    let streams = cli.bound.is_none() && !request.reads_node_lines();
    let table_streams =
        table.shows_every_node() || table.keeps_top_nodes() || table.streams_groups();
    let writer = match cli.format {
        // Records: the lines' text is made on the thread that writes them.
        Format::Json if streams && !json_options.reads_node_lines() => Some(LineWriter::Json(
            nncost_render::JsonWriter::new(&graph.name, &info)
                .adding_up(json_options)
                .records(),
            json_options,
        )),
        Format::Csv if streams && table.groups_nodes() => {
            Some(LineWriter::Csv(nncost_render::CsvWriter::grouped(table)))
        }
        Format::Csv if streams => Some(LineWriter::Csv(nncost_render::CsvWriter::new())),
        Format::Table if streams && table_streams => Some(LineWriter::Table(Box::new(
            nncost_render::TableWriter::new(table),
        ))),
        Format::Markdown if streams && (table.shows_every_node() || table.streams_groups()) => {
            Some(LineWriter::Table(Box::new(
                nncost_render::TableWriter::markdown(table),
            )))
        }
        _ => None,
    };
    if let Some(writer) = writer {
        let outcome = run_streamed(cli, &graph, &info, &options, writer);
        // Left for the process's end, as below.
        std::mem::forget(graph);
        return outcome;
    }
    let lines = if summary_only && !request.reads_node_lines() {
        Lines::Uncounted
    } else {
        Lines::All
    };
    let report = match cli.bound {
        Some(Bound::Max) => analyze_at_upper_bounds(&graph, &options, lines),
        None => analyze_keeping(&graph, &options, lines),
    }
    .map_err(|e| Failure::Input(with_path(&info.source, e.to_string())))?;
    let mut report = report;
    nncost_load::attach(&mut report, &request)
        .map_err(|e| Failure::Input(with_path(&info.source, e.to_string())))?;
    // Every format but CSV is written as it is made; CSV is made whole,
    // then written.
    emit_with(cli.output.as_deref(), None, &mut |w| match cli.format {
        Format::Table => nncost_render::render_table_to(&report, &info, table, w),
        Format::Markdown => {
            let options = TableOptions {
                width: None,
                ..table
            };
            nncost_render::render_markdown_to(&report, &info, options, w)
        }
        Format::Csv => w.write_all(nncost_render::render_csv(&report, table).as_bytes()),
        Format::Html => nncost_render::render_html_to(&report, &info, w),
        Format::Json => nncost_render::render_json_to(&report, &info, json_options, w),
    })
    .map_err(Failure::Input)?;
    let outcome = strict_outcome(cli, &report);
    // The process ends next: freeing a graph of 100,000 nodes piece by piece
    // would cost a tenth of the run for nothing.
    std::mem::forget((graph, report));
    outcome
}

/// Exit code 1 under `--strict` when a node was not counted.
fn strict_outcome(cli: &Cli, report: &Report) -> Result<(), Failure> {
    if cli.strict && !report.is_complete() {
        Err(Failure::Strict(strict_message(report)))
    } else {
        Ok(())
    }
}

/// A format written a line at a time.
enum LineWriter {
    Json(nncost_render::JsonWriter, nncost_render::JsonOptions),
    Csv(nncost_render::CsvWriter),
    /// Held until the last line (a column is as wide as its widest cell).
    /// Boxed: the writer is several times the size of the others.
    Table(Box<nncost_render::TableWriter>),
}

impl LineWriter {
    /// Whether the writer writes records (whose text `expand_records`
    /// makes, on the thread that writes them).
    fn writes_records(&self) -> bool {
        matches!(self, LineWriter::Json(..))
    }

    /// What the lines it is given need: the JSON writer takes its lines
    /// borrowed, with no report line made, unless it adds up groups.
    fn detail(&self) -> LineDetail {
        match self {
            LineWriter::Json(json, _) if json.takes_borrowed_lines() => LineDetail::Borrowed,
            // No format that streams describes a node's inputs.
            _ => LineDetail::WithoutInputs,
        }
    }

    fn line(&mut self, line: Line<'_>, w: &mut dyn Write) -> std::io::Result<()> {
        match (self, line) {
            (LineWriter::Json(json, _), Line::Borrowed(view)) => json.borrowed_line(&view, w),
            (LineWriter::Json(json, _), Line::Report(n)) => json.line(n, w),
            (LineWriter::Csv(csv), Line::Report(n)) => csv.line(n, w),
            (LineWriter::Table(table), Line::Report(n)) => {
                table.line(n);
                Ok(())
            }
            // Asked for only where the writer takes them (`detail`).
            (_, Line::Borrowed(_)) => Err(std::io::Error::other(
                "a borrowed line this format cannot write",
            )),
        }
    }

    fn finish(
        &mut self,
        report: &Report,
        info: &ModelInfo,
        w: &mut dyn Write,
    ) -> std::io::Result<()> {
        match self {
            LineWriter::Json(json, options) => json.finish(report, *options, w),
            LineWriter::Csv(csv) => csv.finish(w),
            LineWriter::Table(table) => table.finish(report, info, w),
        }
    }
}

/// The report written line by line as the analysis makes each
/// ([`nncost_core::analyze_streaming`]); the same text as the format's
/// renderer writes for the whole report.
fn run_streamed(
    cli: &Cli,
    graph: &Graph,
    info: &ModelInfo,
    options: &AnalysisOptions,
    mut writer: LineWriter,
) -> Result<(), Failure> {
    let mut analysed = None;
    let expand_json = |records: &[u8], text: &mut String, enough: usize| {
        nncost_render::json::expand_records(records, text, enough, graph)
    };
    let expand: Option<write_behind::Expand<'_>> = writer.writes_records().then_some(&expand_json);
    let written = emit_with(cli.output.as_deref(), expand, &mut |w| {
        // A failed write is kept and the analysis goes on without writing:
        // `--strict` still reads the whole report when a pipe closes early.
        let mut write_error = None;
        let detail = writer.detail();
        let report = analyze_streaming(graph, options, detail, &mut |line| {
            if write_error.is_none() {
                write_error = writer.line(line, w).err();
            }
            std::ops::ControlFlow::Continue(())
        });
        let written = match (&report, write_error) {
            (_, Some(e)) => Err(e),
            (Ok(report), None) => writer.finish(report, info, w),
            // Reported below, with the model's name; a file is not kept.
            (Err(_), None) => Err(std::io::Error::other("the analysis failed")),
        };
        analysed = Some(report);
        written
    });
    let report = match analysed {
        Some(Err(e)) => return Err(Failure::Input(with_path(&info.source, e.to_string()))),
        Some(Ok(report)) => report,
        None => return written.map_err(Failure::Input),
    };
    written.map_err(Failure::Input)?;
    let outcome = strict_outcome(cli, &report);
    std::mem::forget(report);
    outcome
}

/// `nncost diff BEFORE AFTER`: both models analysed with the bindings each
/// has (a `--dim` name neither model has is an error), then compared.
fn run_diff(
    before: &Path,
    after: &Path,
    dims: &[String],
    depth: Option<u64>,
    format: DiffFormat,
    exact: bool,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let mut bindings = Vec::new();
    for spec in dims {
        let (name, value) =
            split_assignment(spec, "--dim", "NAME=VALUE, e.g. batch=8").map_err(Failure::Input)?;
        let value: i64 = value.parse().ok().filter(|v| *v >= 0).ok_or_else(|| {
            Failure::Input(anyhow::anyhow!(
                "--dim {spec}: the value must be a non-negative integer"
            ))
        })?;
        bindings.push((name.to_string(), value));
    }
    let analyse = |path: &Path| -> Result<(Report, String), Failure> {
        check_output_is_not_input(output, path)?;
        let (graph, info) = read_model(path, Phase::Prefill, &None)?;
        let unbound = analyze(&graph, &AnalysisOptions::default())
            .map_err(|e| Failure::Input(with_path(&info.source, e.to_string())))?;
        // Each model takes the bindings it has a symbol for.
        let options = AnalysisOptions {
            dims: bindings
                .iter()
                .filter(|(n, _)| unbound.symbols.iter().any(|s| *s.name == **n))
                .cloned()
                .collect(),
            ..AnalysisOptions::default()
        };
        let mut report = analyze(&graph, &options)
            .map_err(|e| Failure::Input(with_path(&info.source, e.to_string())))?;
        // Memory is compared too.
        let memory = nncost_load::Request {
            memory: true,
            ..Default::default()
        };
        nncost_load::attach(&mut report, &memory)
            .map_err(|e| Failure::Input(with_path(&info.source, e.to_string())))?;
        Ok((report, info.source))
    };
    let (a, a_name) = analyse(before)?;
    let (b, b_name) = analyse(after)?;
    for (name, _) in &bindings {
        let known = |r: &Report| r.symbols.iter().any(|s| *s.name == **name);
        if !known(&a) && !known(&b) {
            return Err(Failure::Input(anyhow::anyhow!(
                "--dim names '{name}', which neither model has"
            )));
        }
    }
    let by = match depth {
        Some(d) => nncost_core::diff::DiffBy::Module(d as usize),
        None => nncost_core::diff::DiffBy::Operator,
    };
    let d = nncost_core::diff::diff(&a, &b, by);
    let text = match format {
        DiffFormat::Table => nncost_render::diff::render_table(&d, &a_name, &b_name, exact),
        DiffFormat::Json => nncost_render::diff::render_json(&d, &a_name, &b_name),
        DiffFormat::Csv => nncost_render::diff::render_csv(&d),
        DiffFormat::Markdown => nncost_render::diff::render_markdown(&d, &a_name, &b_name),
        DiffFormat::Html => nncost_render::diff::render_html(&d, &a_name, &b_name),
    };
    emit(&text, output).map_err(Failure::Input)
}

/// The width a table is fitted to: `--width`, else a terminal's (as the
/// terminal reports it, else `COLUMNS`, else 80); a pipe or a file gets the
/// full table.
fn table_width(cli: &Cli) -> Option<usize> {
    use std::io::IsTerminal;
    if let Some(w) = cli.width {
        return usize::try_from(w).ok();
    }
    if cli.output.is_some() || !std::io::stdout().is_terminal() {
        return None;
    }
    let measured = terminal_size::terminal_size().map(|(w, _)| usize::from(w.0));
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok());
    Some(
        measured
            .or(columns)
            .filter(|&c: &usize| c >= 40)
            .unwrap_or(80),
    )
}

/// Prefixes the file name unless the message already names it.
fn with_path(source: &str, message: String) -> anyhow::Error {
    anyhow::anyhow!(nncost_load::with_source(source, message))
}

fn strict_message(report: &Report) -> String {
    let mut parts = Vec::new();
    if report.unsupported_count() > 0 {
        let ops: Vec<String> = report
            .unsupported
            .iter()
            .map(|u| format!("{} ×{}", u.op_type, u.nodes.len()))
            .collect();
        parts.push(format!(
            "{} nodes have unsupported operators: {}",
            report.unsupported_count(),
            ops.join(", ")
        ));
    }
    let incomplete: Vec<_> = report.incomplete().collect();
    if let Some((first, reason)) = incomplete.first() {
        parts.push(format!(
            "{} nodes are not fully counted (first: {} ({}): {reason})",
            incomplete.len(),
            first.name,
            first.op_type
        ));
    }
    format!("--strict: {}", parts.join("; "))
}

fn analysis_options(cli: &Cli) -> Result<AnalysisOptions> {
    let mut options = AnalysisOptions::default();
    for spec in &cli.dims {
        let (name, value) = split_assignment(spec, "--dim", "NAME=VALUE, e.g. batch=8")?;
        let value: i64 =
            value.parse().ok().filter(|v| *v >= 0).with_context(|| {
                format!("--dim {spec}: the value must be a non-negative integer")
            })?;
        options.dims.push((name.to_string(), value));
    }
    for spec in &cli.inputs {
        let (name, shape) =
            split_assignment(spec, "--input", "NAME=SHAPE, e.g. input=1x3x224x224")?;
        let dims = shape
            .split(['x', 'X', ','])
            .map(|d| d.trim().parse::<i64>().ok().filter(|v| *v >= 0))
            .collect::<Option<Vec<i64>>>()
            .with_context(|| format!("--input {spec}: the shape must be non-negative integers joined by 'x', e.g. 1x3x224x224"))?;
        options.input_shapes.push((name.to_string(), dims));
    }
    Ok(options)
}

fn split_assignment<'a>(spec: &'a str, flag: &str, form: &str) -> Result<(&'a str, &'a str)> {
    match spec.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim(), value.trim())),
        _ => bail!("{flag} {spec}: expected {form}"),
    }
}

/// Prints to stdout, or writes FILE whole or not at all (see `output.rs`).
pub(crate) fn emit(text: &str, output: Option<&Path>) -> Result<()> {
    emit_with(output, None, &mut |w| w.write_all(text.as_bytes()))
}

/// [`emit`] for a report written as it is made (`write` is called once;
/// what it writes is records for `expand`, if given: see
/// [`write_behind::write_behind`]).
fn emit_with(
    output: Option<&Path>,
    expand: Option<write_behind::Expand<'_>>,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let Some(path) = output else {
        // A closed pipe (`nncost m.onnx | head`) is not an error worth reporting.
        return match write_behind::write_behind(&mut std::io::stdout(), expand, write) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to standard output"),
        };
    };
    output::write_atomically_with(path, expand, write)
}
