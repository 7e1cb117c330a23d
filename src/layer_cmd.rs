//! `nncost layer KIND`: one layer's shape, parameters, MACs and FLOPs, with
//! the working. The arguments map onto the layer library in
//! `nncost_core::layers`; every number comes from the engine.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use nncost_core::layers::{
    self, Activation, AdaptiveAvgPool, BatchNorm, Cell, Conv, ConvTranspose, Embedding, Gate,
    GatedMlp, GlobalPool, GroupNorm, Layer, LayerNorm, Linear, Moe, MultiHeadAttention, Padding,
    Pool, PoolKind, Recurrent, RmsNorm, Rotary, Round, Upsample, UpsampleMode,
};

use crate::{emit, Cli, Failure};

/// The calculator's output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LayerFormat {
    Table,
    Json,
}

/// A size per axis, `3x224x224` (one value on the command line).
type Dims = Vec<i64>;

/// Options every layer kind takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Common {
    /// Input shape, channels first, without the batch axis: 3x224x224, 197x768, 512 (see --batch, --channels-last).
    #[arg(long, value_name = "SHAPE", value_parser = parse_dims)]
    input: Dims,

    /// The input's first axis is the batch axis (1x3x224x224): set aside, counts stay per sample.
    #[arg(long)]
    batch: bool,

    /// The input is channels last (224x224x3, or 1x224x224x3 with --batch): read channels first.
    #[arg(long)]
    channels_last: bool,

    /// Show each formula with the numbers substituted.
    #[arg(long)]
    explain: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = LayerFormat::Table)]
    format: LayerFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum LayerKind {
    /// Convolution, 1-, 2- or 3-D by the input's rank (PyTorch Conv1d/2d/3d).
    Conv(ConvArgs),
    /// Transposed convolution (ConvTranspose1d/2d/3d).
    #[command(name = "conv-transpose", visible_alias = "deconv")]
    ConvTranspose(ConvTransposeArgs),
    /// Token embedding: a [vocab, width] table looked up by the token ids of --input (Embedding).
    Embedding(EmbeddingArgs),
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
    /// Adaptive average pooling with PyTorch's windows, even or not (AdaptiveAvgPool1d/2d/3d).
    #[command(name = "adaptive-avgpool")]
    AdaptiveAvgpool(AdaptiveArgs),
    /// Batch normalisation at inference (BatchNorm1d/2d/3d).
    #[command(visible_alias = "bn")]
    Batchnorm(PlainArgs),
    /// Layer normalisation over the last axes (LayerNorm).
    #[command(visible_alias = "ln")]
    Layernorm(LayerNormArgs),
    /// RMS normalisation over the last axes: a scale, no shift (RMSNorm).
    Rmsnorm(AxisArgs),
    /// Group normalisation of the channels (GroupNorm(groups, C)).
    #[command(visible_alias = "gn")]
    Groupnorm(GroupNormArgs),
    /// Multi-head self-attention on a [seq, width] input, with its projections; causal, sliding window, GQA, rotary.
    #[command(visible_alias = "mha")]
    Attention(AttentionArgs),
    /// Rotary position embedding on a [seq, heads·d] input (RoPE); 0 params.
    #[command(visible_alias = "rope")]
    Rotary(RotaryArgs),
    /// Upsampling of the spatial axes by whole factors (Upsample); 0 params.
    Upsample(UpsampleArgs),
    /// LSTM over a [seq, input] sequence (nn.LSTM(input, hidden), batch first).
    Lstm(RecurrentArgs),
    /// GRU over a [seq, input] sequence (nn.GRU(input, hidden), batch first).
    Gru(RecurrentArgs),
    /// Mixture of experts: a router and the top experts (gated MLPs) per token (Mixtral).
    Moe(MoeArgs),
    /// Llama's gated MLP: down(silu(gate(x))·up(x)) on the last axis (SwiGLU).
    Swiglu(GatedMlpArgs),
    /// The gated MLP through GELU (GeGLU; --approximate tanh: Gemma's).
    Geglu(GatedMlpArgs),
    /// An activation, by name (relu, gelu, ...: see `nncost layer --help`).
    #[command(external_subcommand)]
    Activation(Vec<String>),
}

#[derive(Args, Debug)]
pub(crate) struct ConvArgs {
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
pub(crate) struct ConvTransposeArgs {
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
pub(crate) struct EmbeddingArgs {
    #[command(flatten)]
    common: Common,
    /// Tokens in the vocabulary (rows of the table).
    #[arg(long)]
    vocab: i64,
    /// Features per token (columns of the table).
    #[arg(long)]
    width: i64,
}

#[derive(Args, Debug)]
pub(crate) struct LinearArgs {
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
pub(crate) struct PoolArgs {
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
pub(crate) struct PlainArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
pub(crate) struct AdaptiveArgs {
    #[command(flatten)]
    common: Common,
    /// Output size: N or one per axis.
    #[arg(long, value_parser = parse_dims)]
    output_size: Dims,
}

#[derive(Args, Debug)]
pub(crate) struct LayerNormArgs {
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
pub(crate) struct AxisArgs {
    #[command(flatten)]
    common: Common,
    /// First normalised axis of the sample (negative: from the end).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    axis: i64,
}

#[derive(Args, Debug)]
pub(crate) struct GroupNormArgs {
    #[command(flatten)]
    common: Common,
    /// Groups the channels are split into.
    #[arg(long)]
    groups: i64,
}

#[derive(Args, Debug)]
pub(crate) struct AttentionArgs {
    #[command(flatten)]
    common: Common,
    /// Query heads.
    #[arg(long)]
    heads: i64,
    /// Key/value heads (grouped-query attention); default: as many as --heads.
    #[arg(long)]
    kv_heads: Option<i64>,
    /// Features per head when not width/heads (Gemma).
    #[arg(long)]
    head_dim: Option<i64>,
    /// Each query sees only the positions up to its own (a decoder).
    #[arg(long)]
    causal: bool,
    /// Sliding window: each query sees at most W positions, its own included (Mistral); implies --causal.
    #[arg(long, value_name = "W")]
    window: Option<i64>,
    /// Rotary position embedding on the queries and keys (Llama).
    #[arg(long)]
    rotary: bool,
    /// No bias on the projections.
    #[arg(long)]
    no_bias: bool,
}

#[derive(Args, Debug)]
pub(crate) struct RotaryArgs {
    #[command(flatten)]
    common: Common,
    /// Heads the features are split into.
    #[arg(long)]
    heads: i64,
    /// Features rotated per head (partial rotary); default: all.
    #[arg(long)]
    rotary_dim: Option<i64>,
}

#[derive(Args, Debug)]
pub(crate) struct UpsampleArgs {
    #[command(flatten)]
    common: Common,
    /// Factor per spatial axis: 2, or one per axis: 2x1.
    #[arg(long, value_parser = parse_dims)]
    scale: Dims,
    /// How new positions are filled (linear: PyTorch's bilinear, trilinear; cubic: bicubic).
    #[arg(long, value_enum, default_value_t = ModeArg::Nearest)]
    mode: ModeArg,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Args, Debug)]
pub(crate) struct RecurrentArgs {
    #[command(flatten)]
    common: Common,
    /// Hidden features (the state's size).
    #[arg(long)]
    hidden: i64,
    /// Stacked layers.
    #[arg(long, default_value_t = 1)]
    layers: i64,
    /// Both directions (output 2·hidden features).
    #[arg(long)]
    bidirectional: bool,
    /// No biases.
    #[arg(long)]
    no_bias: bool,
}

#[derive(Args, Debug)]
pub(crate) struct MoeArgs {
    #[command(flatten)]
    common: Common,
    /// Experts (each a gated MLP).
    #[arg(long)]
    experts: i64,
    /// Experts each token runs.
    #[arg(long)]
    top: i64,
    /// Hidden features of each expert.
    #[arg(long)]
    hidden: i64,
    /// Keep the chosen experts' softmax weights as they are (Qwen-MoE) instead of renormalising them (Mixtral).
    #[arg(long)]
    no_normalize: bool,
}

#[derive(Args, Debug)]
pub(crate) struct GatedMlpArgs {
    #[command(flatten)]
    common: Common,
    /// Hidden features of the gate and up projections.
    #[arg(long)]
    hidden: i64,
    /// Biases on the three projections (Llama has none).
    #[arg(long)]
    bias: bool,
    /// GeGLU: GELU's tanh approximation (Gemma).
    #[arg(long, value_enum, default_value_t = Approximate::None)]
    approximate: Approximate,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Approximate {
    None,
    Tanh,
}

/// The options of `nncost layer ACTIVATION` (parsed apart: the activation's
/// name is not a fixed subcommand).
#[derive(Parser, Debug)]
pub(crate) struct ActivationArgs {
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

/// `3x224x224`, `3`: non-negative integers joined by `x` (shared with the
/// web page's calculator).
fn parse_dims(text: &str) -> Result<Dims, String> {
    nncost_load::layer::parse_dims(text)
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

pub(crate) fn activation_help() -> String {
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
        LayerKind::Embedding(a) => (Box::new(Embedding::new(a.vocab, a.width)), a.common.clone()),
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
        LayerKind::Rmsnorm(a) => (Box::new(RmsNorm::new().axis(a.axis)), a.common.clone()),
        LayerKind::Groupnorm(a) => (Box::new(GroupNorm::new(a.groups)), a.common.clone()),
        LayerKind::Attention(a) => {
            let mut m = MultiHeadAttention::new(a.heads)
                .bias(!a.no_bias)
                .causal(a.causal)
                .rotary(a.rotary);
            if let Some(kv) = a.kv_heads {
                m = m.kv_heads(kv);
            }
            if let Some(d) = a.head_dim {
                m = m.head_dim(d);
            }
            if let Some(w) = a.window {
                m = m.window(w);
            }
            (Box::new(m), a.common.clone())
        }
        LayerKind::Rotary(a) => {
            let mut r = Rotary::new(a.heads);
            if let Some(d) = a.rotary_dim {
                r = r.rotary_dim(d);
            }
            (Box::new(r), a.common.clone())
        }
        LayerKind::Upsample(a) => {
            let mode = match a.mode {
                ModeArg::Nearest => UpsampleMode::Nearest,
                ModeArg::Linear => UpsampleMode::Linear,
                ModeArg::Cubic => UpsampleMode::Cubic,
            };
            (Box::new(Upsample::new(&a.scale, mode)), a.common.clone())
        }
        LayerKind::Lstm(a) | LayerKind::Gru(a) => {
            let cell = if matches!(kind, LayerKind::Lstm(_)) {
                Cell::Lstm
            } else {
                Cell::Gru
            };
            let r = Recurrent::new(cell, a.hidden)
                .layers(a.layers)
                .bidirectional(a.bidirectional)
                .bias(!a.no_bias);
            (Box::new(r), a.common.clone())
        }
        LayerKind::Moe(a) => (
            Box::new(Moe::new(a.experts, a.top, a.hidden).normalize(!a.no_normalize)),
            a.common.clone(),
        ),
        LayerKind::Swiglu(a) | LayerKind::Geglu(a) => {
            let gate = match (kind, a.approximate) {
                (LayerKind::Swiglu(_), Approximate::None) => Gate::Silu,
                (LayerKind::Swiglu(_), Approximate::Tanh) => {
                    return Err(bad("layer swiglu: --approximate is for geglu".into()))
                }
                (_, Approximate::None) => Gate::Gelu,
                (_, Approximate::Tanh) => Gate::GeluTanh,
            };
            (
                Box::new(GatedMlp::new(a.hidden, gate).bias(a.bias)),
                a.common.clone(),
            )
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
                .unwrap_or_else(|e| crate::usage_exit(e));
            let layer = activation
                .axis(args.axis.unwrap_or(-1))
                .per_channel(args.per_channel);
            (Box::new(layer), args.common)
        }
    })
}

pub(crate) fn run_layer(kind: &LayerKind) -> Result<(), Failure> {
    let (layer, common) = layer_of(kind)?;
    let request = nncost_load::layer::LayerRequest {
        input: common.input.clone(),
        batch: common.batch,
        channels_last: common.channels_last,
        explain: common.explain,
        json: common.format == LayerFormat::Json,
    };
    let out = nncost_load::layer::run(layer.as_ref(), &request)
        .map_err(|e| Failure::Input(anyhow::anyhow!("{e}")))?;
    // The working must give the engine's numbers; the tests hold every
    // layer kind to it, so this is a defect if it ever shows.
    for d in &out.disagreements {
        eprintln!("nncost: internal: the explanation disagrees with the engine: {d}");
    }
    emit(&out.text, common.output.as_deref()).map_err(Failure::Input)
}
