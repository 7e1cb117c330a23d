//! `nncost`: the command-line tool. Parses arguments, reads the model (an
//! ONNX file or a network description) or builds one layer, runs the
//! analysis and prints a report; all the work is in the library crates.
//!
//! Exit codes: 0 success; 1 unsupported operators under `--strict`;
//! 2 bad input or usage.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use nncost_core::layers::{
    self, Activation, AdaptiveAvgPool, BatchNorm, Conv, ConvTranspose, GlobalPool, Layer,
    LayerNorm, Linear, MultiHeadAttention, Padding, Pool, PoolKind, Round,
};
use nncost_core::{analyze, AnalysisOptions, Graph, Report};
use nncost_render::{ModelInfo, TableOptions};

#[derive(Parser, Debug)]
#[command(
    name = "nncost",
    version,
    about = "Exact parameters, MACs and FLOPs of a neural network, layer by layer",
    args_conflicts_with_subcommands = true,
    after_help = "Models: an ONNX file, or a network description (.nn: docs/netdesc.md).\n\
                  One layer, with the working shown: nncost layer conv --input 3x224x224 --out-channels 64 --kernel 3 --padding 1 --explain\n\
                  Exit codes: 0 success, 1 unsupported operators with --strict, 2 bad input or usage.\n\
                  Conventions: MACs are multiply-accumulates; FLOPs count every scalar operation (a MAC is 2 FLOPs)."
)]
struct Cli {
    /// Model file: ONNX, or a network description (.nn).
    model: Option<PathBuf>,

    /// Bind a symbolic dimension, e.g. `--dim batch=8` (repeatable).
    #[arg(long = "dim", value_name = "NAME=VALUE")]
    dims: Vec<String>,

    /// Set a graph input's whole shape, e.g. `--input input=1x3x224x224` (repeatable).
    #[arg(long = "input", value_name = "NAME=SHAPE")]
    inputs: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Print exact integers instead of human units (11.69 M).
    #[arg(long)]
    exact: bool,

    /// Group the table by operator type.
    #[arg(long)]
    by_op: bool,

    /// Fail (exit code 1) if any operator is not supported.
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
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// A size per axis, `3x224x224` (one value on the command line).
type Dims = Vec<i64>;

/// Options every layer kind takes.
#[derive(Args, Debug, Clone)]
struct Common {
    /// Input shape, channels first, without the batch axis: 3x224x224, 197x768, 512.
    #[arg(long, value_name = "SHAPE", value_parser = parse_dims)]
    input: Dims,

    /// Show each formula with the numbers substituted.
    #[arg(long)]
    explain: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum LayerKind {
    /// Convolution, 1-, 2- or 3-D by the input's rank (PyTorch Conv1d/2d/3d).
    Conv(ConvArgs),
    /// Transposed convolution (ConvTranspose1d/2d/3d).
    #[command(name = "conv-transpose", visible_alias = "deconv")]
    ConvTranspose(ConvTransposeArgs),
    /// Fully connected layer on the last axis (Linear).
    #[command(visible_alias = "fc")]
    Linear(LinearArgs),
    /// Max pooling (MaxPool1d/2d/3d).
    Maxpool(PoolArgs),
    /// Average pooling (AvgPool1d/2d/3d).
    Avgpool(PoolArgs),
    /// Average over all spatial positions (AdaptiveAvgPool2d(1)).
    #[command(name = "global-avgpool")]
    GlobalAvgpool(PlainArgs),
    /// Maximum over all spatial positions (AdaptiveMaxPool2d(1)).
    #[command(name = "global-maxpool")]
    GlobalMaxpool(PlainArgs),
    /// Adaptive average pooling to a size that divides the input's (AdaptiveAvgPool2d).
    #[command(name = "adaptive-avgpool")]
    AdaptiveAvgpool(AdaptiveArgs),
    /// Batch normalisation at inference (BatchNorm1d/2d/3d).
    #[command(visible_alias = "bn")]
    Batchnorm(PlainArgs),
    /// Layer normalisation over the last axes (LayerNorm).
    #[command(visible_alias = "ln")]
    Layernorm(LayerNormArgs),
    /// Multi-head self-attention on a [seq, width] input, with its projections.
    #[command(visible_alias = "mha")]
    Attention(AttentionArgs),
    /// An activation, by name (relu, gelu, ...: see `nncost layer --help`).
    #[command(external_subcommand)]
    Activation(Vec<String>),
}

#[derive(Args, Debug)]
struct ConvArgs {
    #[command(flatten)]
    common: Common,
    /// Output channels (filters).
    #[arg(long)]
    out_channels: i64,
    /// Kernel size: 3, or one per spatial axis: 3x5.
    #[arg(long, value_parser = parse_dims)]
    kernel: Dims,
    /// Stride: N or one per axis.
    #[arg(long, value_parser = parse_dims, default_value = "1")]
    stride: Dims,
    /// Padding at each end: N, one per axis (1x2), `same` or `valid`.
    #[arg(long, value_parser = parse_padding, default_value = "0")]
    padding: Padding,
    /// Dilation: N or one per axis.
    #[arg(long, value_parser = parse_dims, default_value = "1")]
    dilation: Dims,
    /// Groups (groups = input channels: depthwise).
    #[arg(long, default_value_t = 1)]
    groups: i64,
    /// No bias.
    #[arg(long)]
    no_bias: bool,
    /// Rounding of a non-whole output size: down (PyTorch, ONNX) or up (the article).
    #[arg(long, value_enum, default_value_t = RoundArg::Down)]
    round: RoundArg,
}

#[derive(Args, Debug)]
struct ConvTransposeArgs {
    #[command(flatten)]
    common: Common,
    /// Output channels.
    #[arg(long)]
    out_channels: i64,
    /// Kernel size: N or one per axis.
    #[arg(long, value_parser = parse_dims)]
    kernel: Dims,
    #[arg(long, value_parser = parse_dims, default_value = "1")]
    stride: Dims,
    /// Padding removed at each end of the output.
    #[arg(long, value_parser = parse_dims, default_value = "0")]
    padding: Dims,
    /// Extra size added at the end of the output.
    #[arg(long, value_parser = parse_dims, default_value = "0")]
    output_padding: Dims,
    #[arg(long, value_parser = parse_dims, default_value = "1")]
    dilation: Dims,
    #[arg(long, default_value_t = 1)]
    groups: i64,
    /// No bias.
    #[arg(long)]
    no_bias: bool,
}

#[derive(Args, Debug)]
struct LinearArgs {
    #[command(flatten)]
    common: Common,
    /// Output features.
    #[arg(long)]
    out_features: i64,
    /// No bias.
    #[arg(long)]
    no_bias: bool,
}

#[derive(Args, Debug)]
struct PoolArgs {
    #[command(flatten)]
    common: Common,
    /// Window size: N or one per axis.
    #[arg(long, value_parser = parse_dims)]
    kernel: Dims,
    /// Stride (default: the kernel size).
    #[arg(long, value_parser = parse_dims)]
    stride: Option<Dims>,
    /// Padding at each end.
    #[arg(long, value_parser = parse_dims, default_value = "0")]
    padding: Dims,
    /// Dilation (max pooling only).
    #[arg(long, value_parser = parse_dims, default_value = "1")]
    dilation: Dims,
    /// Round a non-whole output size up (PyTorch's ceil_mode; Caffe's rule).
    #[arg(long, conflicts_with = "round")]
    ceil_mode: bool,
    /// Rounding: down (PyTorch, ONNX, the article) or up (Caffe; ceil_mode).
    #[arg(long, value_enum)]
    round: Option<RoundArg>,
}

#[derive(Args, Debug)]
struct PlainArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct AdaptiveArgs {
    #[command(flatten)]
    common: Common,
    /// Output size: N or one per axis.
    #[arg(long, value_parser = parse_dims)]
    output_size: Dims,
}

#[derive(Args, Debug)]
struct LayerNormArgs {
    #[command(flatten)]
    common: Common,
    /// First normalised axis of the sample (negative: from the end).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    axis: i64,
    /// No bias (shift).
    #[arg(long)]
    no_bias: bool,
}

#[derive(Args, Debug)]
struct AttentionArgs {
    #[command(flatten)]
    common: Common,
    /// Query heads.
    #[arg(long)]
    heads: i64,
    /// Key/value heads (grouped-query attention); default: as many as --heads.
    #[arg(long)]
    kv_heads: Option<i64>,
    /// No bias on the projections.
    #[arg(long)]
    no_bias: bool,
}

/// The options of `nncost layer ACTIVATION` (parsed apart: the activation's
/// name is not a fixed subcommand).
#[derive(Parser, Debug)]
struct ActivationArgs {
    #[command(flatten)]
    common: Common,
    /// Softmax and log-softmax: the axis of the sample (negative: from the end; default -1).
    #[arg(long, allow_negative_numbers = true)]
    axis: Option<i64>,
    /// PReLU: one slope per channel instead of one shared slope.
    #[arg(long)]
    per_channel: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum RoundArg {
    Down,
    Up,
}

impl From<RoundArg> for Round {
    fn from(r: RoundArg) -> Round {
        match r {
            RoundArg::Down => Round::Down,
            RoundArg::Up => Round::Up,
        }
    }
}

/// `3x224x224`, `3`: positive integers joined by `x`.
fn parse_dims(text: &str) -> Result<Dims, String> {
    text.split(['x', 'X'])
        .map(|d| d.trim().parse::<i64>().ok().filter(|&v| v >= 0))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| {
            format!("'{text}' is not a size: give N, or sizes joined by 'x' (3x224x224)")
        })
}

fn parse_padding(text: &str) -> Result<Padding, String> {
    match text {
        "same" => Ok(Padding::Same),
        "valid" => Ok(Padding::Explicit(vec![0])),
        _ => parse_dims(text)
            .map(Padding::Explicit)
            .map_err(|_| format!("'{text}' is not a padding: give N, NxN, same or valid")),
    }
}

/// A failure that maps to a particular exit code.
enum Failure {
    /// Bad input or usage: exit 2.
    Input(anyhow::Error),
    /// Unsupported operators under `--strict`: exit 1 (the report is still printed).
    Strict(String),
}

fn activation_help() -> String {
    let names: Vec<String> = layers::ACTIVATIONS
        .iter()
        .map(|a| {
            if a.aliases.is_empty() {
                a.name.to_string()
            } else {
                format!("{} ({})", a.name, a.aliases.join(", "))
            }
        })
        .collect();
    format!(
        "Activations (also by their ONNX or PyTorch name): {}.\n\
         They take --input, --explain, --format, -o; softmax and log-softmax --axis; prelu --per-channel.\n\
         Shapes are channels first and without the batch axis; counts are per sample.",
        names.join(", ")
    )
}

fn main() -> ExitCode {
    // A panic is a bug in nncost, never the user's fault: report it in one
    // line, with where it happened, instead of a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unexpected failure");
        eprintln!("nncost: internal error{place}: {message}; please report it with the model file");
    }));
    let command = Cli::command().mut_subcommand("layer", |c| c.after_help(activation_help()));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let outcome = std::panic::catch_unwind(|| match &cli.command {
        Some(Command::Layer { kind }) => run_layer(kind),
        None => match &cli.model {
            Some(model) => run(&cli, model),
            None => Cli::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "give a model file (ONNX or .nn), or `layer KIND` for one layer",
                )
                .exit(),
        },
    });
    match outcome {
        Ok(outcome) => exit_code(outcome),
        Err(_) => ExitCode::from(2),
    }
}

fn exit_code(outcome: Result<(), Failure>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Strict(msg)) => {
            eprintln!("nncost: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Input(e)) => {
            eprintln!("nncost: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether a file is a network description: by its extension, else by
/// its first statement.
fn is_network_description(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case(nncost_netdesc::EXTENSION) => true,
        Some(e) if e.eq_ignore_ascii_case("onnx") => false,
        _ => {
            let mut head = Vec::with_capacity(4096);
            std::fs::File::open(path)
                .and_then(|f| f.take(4096).read_to_end(&mut head))
                .is_ok_and(|_| nncost_netdesc::looks_like(&head))
        }
    }
}

/// The graph of a model file and what the report says about the file.
fn read_model(path: &Path) -> Result<(Graph, ModelInfo), Failure> {
    let source = path.display().to_string();
    if is_network_description(path) {
        let graph =
            nncost_netdesc::read_file(path).map_err(|e| Failure::Input(anyhow::anyhow!("{e}")))?;
        let info = ModelInfo {
            source,
            format: "nn".into(),
            ..ModelInfo::default()
        };
        return Ok((graph, info));
    }
    let model = nncost_onnx::read_file(path)
        .map_err(|e| Failure::Input(with_path(&source, e.to_string())))?;
    let info = ModelInfo {
        source,
        format: "onnx".into(),
        ir_version: Some(model.ir_version),
        producer: Some(model.producer.clone()),
        opsets: model.opsets.0.clone(),
    };
    Ok((model.graph, info))
}

fn run(cli: &Cli, path: &Path) -> Result<(), Failure> {
    let options = analysis_options(cli).map_err(Failure::Input)?;
    let (graph, info) = read_model(path)?;
    if graph.nodes.is_empty() {
        return Err(Failure::Input(with_path(
            &info.source,
            "the graph has no nodes: there is nothing to count".into(),
        )));
    }
    let report = analyze(&graph, &options)
        .map_err(|e| Failure::Input(with_path(&info.source, e.to_string())))?;
    let text = match cli.format {
        Format::Table => nncost_render::render_table(
            &report,
            &info,
            TableOptions {
                exact: cli.exact,
                by_op: cli.by_op,
            },
        ),
        Format::Json => nncost_render::render_json(&report, &info),
    };
    emit(&text, cli.output.as_deref()).map_err(Failure::Input)?;
    let outcome = if cli.strict && report.unsupported_count() > 0 {
        Err(Failure::Strict(strict_message(&report)))
    } else {
        Ok(())
    };
    // The process ends next: freeing a graph of 100,000 nodes piece by piece
    // would cost a tenth of the run for nothing.
    std::mem::forget((graph, report, text));
    outcome
}

/// The layer a `nncost layer KIND` command line describes, with its common options.
fn layer_of(kind: &LayerKind) -> Result<(Box<dyn Layer>, Common), Failure> {
    let bad = |e: String| Failure::Input(anyhow::anyhow!(e));
    Ok(match kind {
        LayerKind::Conv(a) => {
            let conv = Conv::new(a.out_channels, &a.kernel)
                .stride(&a.stride)
                .padding(a.padding.clone())
                .dilation(&a.dilation)
                .groups(a.groups)
                .bias(!a.no_bias)
                .round(a.round.into());
            (Box::new(conv), a.common.clone())
        }
        LayerKind::ConvTranspose(a) => {
            let conv = ConvTranspose::new(a.out_channels, &a.kernel)
                .stride(&a.stride)
                .padding(&a.padding)
                .output_padding(&a.output_padding)
                .dilation(&a.dilation)
                .groups(a.groups)
                .bias(!a.no_bias);
            (Box::new(conv), a.common.clone())
        }
        LayerKind::Linear(a) => (
            Box::new(Linear::new(a.out_features).bias(!a.no_bias)),
            a.common.clone(),
        ),
        LayerKind::Maxpool(a) | LayerKind::Avgpool(a) => {
            let kind = if matches!(kind, LayerKind::Maxpool(_)) {
                PoolKind::Max
            } else {
                PoolKind::Avg
            };
            let mut pool = Pool::new(kind, &a.kernel)
                .padding(&a.padding)
                .dilation(&a.dilation);
            if let Some(s) = &a.stride {
                pool = pool.stride(s);
            }
            if a.ceil_mode {
                pool = pool.round(Round::Up);
            } else if let Some(r) = a.round {
                pool = pool.round(r.into());
            }
            (Box::new(pool), a.common.clone())
        }
        LayerKind::GlobalAvgpool(a) => (Box::new(GlobalPool::new(PoolKind::Avg)), a.common.clone()),
        LayerKind::GlobalMaxpool(a) => (Box::new(GlobalPool::new(PoolKind::Max)), a.common.clone()),
        LayerKind::AdaptiveAvgpool(a) => (
            Box::new(AdaptiveAvgPool::new(&a.output_size)),
            a.common.clone(),
        ),
        LayerKind::Batchnorm(a) => (Box::new(BatchNorm), a.common.clone()),
        LayerKind::Layernorm(a) => (
            Box::new(LayerNorm::new().axis(a.axis).bias(!a.no_bias)),
            a.common.clone(),
        ),
        LayerKind::Attention(a) => {
            let mut m = MultiHeadAttention::new(a.heads).bias(!a.no_bias);
            if let Some(kv) = a.kv_heads {
                m = m.kv_heads(kv);
            }
            (Box::new(m), a.common.clone())
        }
        LayerKind::Activation(words) => {
            let name = words.first().map(String::as_str).unwrap_or("");
            let activation = Activation::new(name).map_err(|_| {
                let kinds: Vec<String> = Cli::command()
                    .find_subcommand("layer")
                    .map(|c| {
                        c.get_subcommands()
                            .map(|k| k.get_name().to_string())
                            .filter(|k| k != "help")
                            .collect()
                    })
                    .unwrap_or_default();
                let activations: Vec<&str> = layers::ACTIVATIONS.iter().map(|a| a.name).collect();
                bad(format!(
                    "layer {name}: unknown layer kind; kinds: {}; activations: {}",
                    kinds.join(", "),
                    activations.join(", ")
                ))
            })?;
            let about = format!(
                "Activation {} (PyTorch {}): its cost per element is the engine's rule for the operators it exports to",
                activation.def.name, activation.def.pytorch
            );
            let argv =
                std::iter::once(format!("nncost layer {name}")).chain(words[1..].iter().cloned());
            let args = ActivationArgs::command()
                .about(about)
                .try_get_matches_from(argv)
                .and_then(|m| ActivationArgs::from_arg_matches(&m))
                .unwrap_or_else(|e| e.exit());
            let layer = activation
                .axis(args.axis.unwrap_or(-1))
                .per_channel(args.per_channel);
            (Box::new(layer), args.common)
        }
    })
}

fn run_layer(kind: &LayerKind) -> Result<(), Failure> {
    let (layer, common) = layer_of(kind)?;
    let fail = |e: &dyn std::fmt::Display| {
        Failure::Input(anyhow::anyhow!(
            "layer {} on {}: {e}",
            layer.kind(),
            dims_text(&common.input)
        ))
    };
    let cost = layer.cost(&common.input).map_err(|e| fail(&e))?;
    let explanation = if common.explain {
        let e = layer.explain(&cost).map_err(|e| fail(&e))?;
        // The working must give the engine's numbers; the tests hold every
        // layer kind to it, so this is a defect if it ever shows.
        for d in e.disagreements() {
            eprintln!("nncost: internal: the explanation disagrees with the engine: {d}");
        }
        Some(e)
    } else {
        None
    };
    let text = match common.format {
        Format::Table => {
            nncost_render::layer::render_text(layer.as_ref(), &cost, explanation.as_ref())
        }
        Format::Json => {
            nncost_render::layer::render_json(layer.as_ref(), &cost, explanation.as_ref())
        }
    };
    emit(&text, common.output.as_deref()).map_err(Failure::Input)
}

fn dims_text(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join("x")
}

/// Prefixes the file name unless the message already names it.
fn with_path(source: &str, message: String) -> anyhow::Error {
    if message.contains(source) {
        anyhow::anyhow!(message)
    } else {
        anyhow::anyhow!("{source}: {message}")
    }
}

fn strict_message(report: &Report) -> String {
    let ops: Vec<String> = report
        .unsupported
        .iter()
        .map(|u| format!("{} ×{}", u.op_type, u.nodes.len()))
        .collect();
    format!(
        "--strict: {} nodes have unsupported operators: {}",
        report.unsupported_count(),
        ops.join(", ")
    )
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

/// Prints to stdout, or writes FILE through a temporary file renamed into
/// place, so that an interrupted run never leaves a half-written report.
fn emit(text: &str, output: Option<&Path>) -> Result<()> {
    let Some(path) = output else {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`nncost m.onnx | head`) is not an error worth reporting.
        return match stdout.write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("cannot write to standard output"),
        };
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .with_context(|| format!("-o {}: not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.nncost-tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}
