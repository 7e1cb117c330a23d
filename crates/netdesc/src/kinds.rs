//! Layer kinds and their arguments: `conv 64 k=3 s=2 p=1 bias=false`.

use nncost_core::layers::{
    self, Activation, AdaptiveAvgPool, BatchNorm, Cell, Conv, ConvTranspose, Dropout, Embedding,
    Flatten, Gate, GatedMlp, GlobalPool, GroupNorm, Layer, LayerNorm, Linear, Moe,
    MultiHeadAttention, Padding, Pool, PoolKind, Recurrent, RmsNorm, Rotary, Round, Upsample,
    UpsampleMode,
};

use crate::parse::{Arg, Word};
use crate::Error;

/// One layer kind of the format.
pub struct KindDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The positional arguments, in order.
    pub positional: &'static [&'static str],
    /// Named options, `long|short`.
    pub options: &'static [&'static str],
    pub about: &'static str,
    make: fn(&mut Args) -> Result<Box<dyn Layer>, Error>,
}

const CONV_OPTIONS: &[&str] = &[
    "kernel|k",
    "stride|s",
    "padding|p",
    "dilation|d",
    "groups|g",
    "bias",
    "round",
];

/// Every layer kind except the activations (which are
/// [`nncost_core::layers::ACTIVATIONS`]).
pub const KINDS: &[KindDef] = &[
    KindDef {
        name: "conv",
        aliases: &[],
        positional: &["out_channels", "kernel"],
        options: CONV_OPTIONS,
        about: "convolution, 1-, 2- or 3-D by the input; padding N, AxB or same; round=up for the article's rounding",
        make: |a| {
            let out = a.int_pos("out_channels")?;
            let kernel = a.dims_either(1, "kernel|k")?;
            let mut c = Conv::new(out, &kernel);
            if let Some(w) = a.named("stride|s")? {
                c = c.stride(&a.dims(&w)?);
            }
            if let Some(w) = a.named("padding|p")? {
                c = c.padding(a.padding(&w)?);
            }
            if let Some(w) = a.named("dilation|d")? {
                c = c.dilation(&a.dims(&w)?);
            }
            if let Some(w) = a.named("groups|g")? {
                c = c.groups(a.int(&w)?);
            }
            if let Some(w) = a.named("bias")? {
                c = c.bias(a.boolean(&w)?);
            }
            if let Some(w) = a.named("round")? {
                c = c.round(a.round(&w)?);
            }
            Ok(Box::new(c))
        },
    },
    KindDef {
        name: "conv-transpose",
        aliases: &["deconv"],
        positional: &["out_channels", "kernel"],
        options: &[
            "kernel|k",
            "stride|s",
            "padding|p",
            "output_padding",
            "dilation|d",
            "groups|g",
            "bias",
        ],
        about: "transposed convolution",
        make: |a| {
            let out = a.int_pos("out_channels")?;
            let kernel = a.dims_either(1, "kernel|k")?;
            let mut c = ConvTranspose::new(out, &kernel);
            if let Some(w) = a.named("stride|s")? {
                c = c.stride(&a.dims(&w)?);
            }
            if let Some(w) = a.named("padding|p")? {
                c = c.padding(&a.dims(&w)?);
            }
            if let Some(w) = a.named("output_padding")? {
                c = c.output_padding(&a.dims(&w)?);
            }
            if let Some(w) = a.named("dilation|d")? {
                c = c.dilation(&a.dims(&w)?);
            }
            if let Some(w) = a.named("groups|g")? {
                c = c.groups(a.int(&w)?);
            }
            if let Some(w) = a.named("bias")? {
                c = c.bias(a.boolean(&w)?);
            }
            Ok(Box::new(c))
        },
    },
    KindDef {
        name: "embedding",
        aliases: &[],
        positional: &["vocab", "width"],
        options: &["vocab", "width"],
        about: "a [vocab, width] table looked up by token ids (Embedding; declare 'input 128 ids')",
        make: |a| {
            let vocab = a.int_either(0, "vocab", "embedding 32000 4096")?;
            let width = a.int_either(1, "width", "embedding 32000 4096")?;
            Ok(Box::new(Embedding::new(vocab, width)))
        },
    },
    KindDef {
        name: "linear",
        aliases: &["fc"],
        positional: &["out_features"],
        options: &["bias"],
        about: "fully connected layer on the last axis",
        make: |a| {
            let mut l = Linear::new(a.int_pos("out_features")?);
            if let Some(w) = a.named("bias")? {
                l = l.bias(a.boolean(&w)?);
            }
            Ok(Box::new(l))
        },
    },
    KindDef {
        name: "maxpool",
        aliases: &[],
        positional: &["kernel"],
        options: &["kernel|k", "stride|s", "padding|p", "dilation|d", "ceil_mode", "round"],
        about: "max pooling; the stride defaults to the kernel; ceil_mode=true (or round=up) rounds up",
        make: |a| pool(a, PoolKind::Max),
    },
    KindDef {
        name: "avgpool",
        aliases: &[],
        positional: &["kernel"],
        options: &["kernel|k", "stride|s", "padding|p", "ceil_mode", "round"],
        about: "average pooling; the stride defaults to the kernel",
        make: |a| pool(a, PoolKind::Avg),
    },
    KindDef {
        name: "global-avgpool",
        aliases: &[],
        positional: &[],
        options: &[],
        about: "average over all spatial positions (AdaptiveAvgPool2d(1))",
        make: |_| Ok(Box::new(GlobalPool::new(PoolKind::Avg))),
    },
    KindDef {
        name: "global-maxpool",
        aliases: &[],
        positional: &[],
        options: &[],
        about: "maximum over all spatial positions",
        make: |_| Ok(Box::new(GlobalPool::new(PoolKind::Max))),
    },
    KindDef {
        name: "adaptive-avgpool",
        aliases: &[],
        positional: &["output"],
        options: &[],
        about: "adaptive average pooling with PyTorch's windows, even or not (AdaptiveAvgPool2d)",
        make: |a| {
            let w = a.required(0, "output", "adaptive-avgpool 7x7")?;
            Ok(Box::new(AdaptiveAvgPool::new(&a.dims(&w)?)))
        },
    },
    KindDef {
        name: "batchnorm",
        aliases: &["bn"],
        positional: &[],
        options: &[],
        about: "batch normalisation over the channel axis (2·C params, 2·C buffers)",
        make: |_| Ok(Box::new(BatchNorm)),
    },
    KindDef {
        name: "layernorm",
        aliases: &["ln"],
        positional: &[],
        options: &["axis", "bias"],
        about: "layer normalisation from axis (default -1, the last) to the end",
        make: |a| {
            let mut l = LayerNorm::new();
            if let Some(w) = a.named("axis")? {
                l = l.axis(a.int(&w)?);
            }
            if let Some(w) = a.named("bias")? {
                l = l.bias(a.boolean(&w)?);
            }
            Ok(Box::new(l))
        },
    },
    KindDef {
        name: "rmsnorm",
        aliases: &[],
        positional: &[],
        options: &["axis"],
        about: "RMS normalisation from axis (default -1) to the end: a scale, no shift (RMSNorm)",
        make: |a| {
            let mut l = RmsNorm::new();
            if let Some(w) = a.named("axis")? {
                l = l.axis(a.int(&w)?);
            }
            Ok(Box::new(l))
        },
    },
    KindDef {
        name: "groupnorm",
        aliases: &["gn"],
        positional: &["groups"],
        options: &["groups"],
        about: "group normalisation of the channels in groups (GroupNorm(groups, C): 2·C params)",
        make: |a| {
            let groups = a.int_either(0, "groups", "groupnorm 32")?;
            Ok(Box::new(GroupNorm::new(groups)))
        },
    },
    KindDef {
        name: "attention",
        aliases: &["mha"],
        positional: &["heads"],
        options: &["heads", "kv_heads", "head_dim", "bias", "causal", "window", "rotary"],
        about: "multi-head self-attention on a [seq, width] input, with its four projections; \
                causal, a sliding window, grouped-query heads, rotary embedding",
        make: |a| {
            let heads = a.int_either(0, "heads", "attention 12")?;
            let mut m = MultiHeadAttention::new(heads);
            if let Some(w) = a.named("kv_heads")? {
                m = m.kv_heads(a.int(&w)?);
            }
            if let Some(w) = a.named("head_dim")? {
                m = m.head_dim(a.int(&w)?);
            }
            if let Some(w) = a.named("bias")? {
                m = m.bias(a.boolean(&w)?);
            }
            // The window first: it makes the attention causal, which an
            // explicit causal=false then contradicts (an error).
            if let Some(w) = a.named("window")? {
                m = m.window(a.int(&w)?);
            }
            if let Some(w) = a.named("causal")? {
                m = m.causal(a.boolean(&w)?);
            }
            if let Some(w) = a.named("rotary")? {
                m = m.rotary(a.boolean(&w)?);
            }
            Ok(Box::new(m))
        },
    },
    KindDef {
        name: "swiglu",
        aliases: &[],
        positional: &["hidden"],
        options: &["hidden", "bias"],
        about: "Llama's gated MLP: down(silu(gate(x))·up(x)), width → hidden → width, no bias unless bias=true",
        make: |a| gated_mlp(a, Gate::Silu),
    },
    KindDef {
        name: "geglu",
        aliases: &[],
        positional: &["hidden"],
        options: &["hidden", "bias", "approximate"],
        about: "the gated MLP through GELU (approximate=tanh: Gemma's)",
        make: |a| {
            let gate = match a.named("approximate")? {
                None => Gate::Gelu,
                Some(w) => match w.text.as_str() {
                    "none" => Gate::Gelu,
                    "tanh" => Gate::GeluTanh,
                    other => return Err(a.err(&w, format!("'{other}' is not none or tanh"))),
                },
            };
            gated_mlp(a, gate)
        },
    },
    KindDef {
        name: "rotary",
        aliases: &["rope"],
        positional: &["heads"],
        options: &["heads", "rotary_dim"],
        about: "rotary position embedding on a [seq, heads·d] input (rotary_dim: partial rotary); 0 params",
        make: |a| {
            let mut r = Rotary::new(a.int_either(0, "heads", "rotary 32")?);
            if let Some(w) = a.named("rotary_dim")? {
                r = r.rotary_dim(a.int(&w)?);
            }
            Ok(Box::new(r))
        },
    },
    KindDef {
        name: "upsample",
        aliases: &[],
        positional: &["scale"],
        options: &["scale", "mode"],
        about: "upsampling of the spatial axes by whole factors (Upsample; mode nearest, linear or cubic; 0 params)",
        make: |a| {
            let w = a.required(0, "scale", "upsample 2")?;
            let scale = a.dims(&w)?;
            let mode = match a.named("mode")? {
                None => UpsampleMode::Nearest,
                Some(w) => match w.text.as_str() {
                    "nearest" => UpsampleMode::Nearest,
                    "linear" | "bilinear" | "trilinear" => UpsampleMode::Linear,
                    "cubic" | "bicubic" => UpsampleMode::Cubic,
                    other => {
                        return Err(a.err(
                            &w,
                            format!("'{other}' is not nearest, linear (bilinear, trilinear) or cubic"),
                        ))
                    }
                },
            };
            Ok(Box::new(Upsample::new(&scale, mode)))
        },
    },
    KindDef {
        name: "lstm",
        aliases: &[],
        positional: &["hidden"],
        options: &["hidden", "layers", "bidirectional", "bias"],
        about: "LSTM over a [seq, input] sample (nn.LSTM(input, hidden), batch first); output [seq, directions·hidden]",
        make: |a| recurrent(a, Cell::Lstm),
    },
    KindDef {
        name: "gru",
        aliases: &[],
        positional: &["hidden"],
        options: &["hidden", "layers", "bidirectional", "bias"],
        about: "GRU over a [seq, input] sample (nn.GRU(input, hidden), batch first)",
        make: |a| recurrent(a, Cell::Gru),
    },
    KindDef {
        name: "moe",
        aliases: &[],
        positional: &["experts"],
        options: &["experts", "top", "hidden", "normalize"],
        about: "mixture of experts: a router and the top of experts gated MLPs per token (Mixtral); e.g. moe 8 top=2 hidden=14336",
        make: |a| {
            let example = "moe 8 top=2 hidden=14336";
            let experts = a.int_either(0, "experts", example)?;
            let top = match a.named("top")? {
                Some(w) => a.int(&w)?,
                None => return Err(a.missing("top", example)),
            };
            let hidden = match a.named("hidden")? {
                Some(w) => a.int(&w)?,
                None => return Err(a.missing("hidden", example)),
            };
            let mut m = Moe::new(experts, top, hidden);
            if let Some(w) = a.named("normalize")? {
                m = m.normalize(a.boolean(&w)?);
            }
            Ok(Box::new(m))
        },
    },
    KindDef {
        name: "flatten",
        aliases: &[],
        positional: &[],
        options: &[],
        about: "flatten the sample to a vector",
        make: |_| Ok(Box::new(Flatten)),
    },
    KindDef {
        name: "dropout",
        aliases: &[],
        positional: &["p"],
        options: &["p"],
        about: "dropout: the identity at inference (p is accepted and ignored)",
        make: |a| {
            // The probability changes nothing at inference, but it is checked.
            let p = a.positional_at(0).or(a.named("p")?);
            if let Some(w) = p {
                match w.text.parse::<f64>() {
                    Ok(v) if (0.0..=1.0).contains(&v) => {}
                    _ => return Err(a.err(&w, format!("'{}' is not a probability", w.text))),
                }
            }
            Ok(Box::new(Dropout))
        },
    },
];

fn recurrent(a: &mut Args, cell: Cell) -> Result<Box<dyn Layer>, Error> {
    let example = format!("{} 512", a.kind.text);
    let mut r = Recurrent::new(cell, a.int_either(0, "hidden", &example)?);
    if let Some(w) = a.named("layers")? {
        r = r.layers(a.int(&w)?);
    }
    if let Some(w) = a.named("bidirectional")? {
        r = r.bidirectional(a.boolean(&w)?);
    }
    if let Some(w) = a.named("bias")? {
        r = r.bias(a.boolean(&w)?);
    }
    Ok(Box::new(r))
}

fn gated_mlp(a: &mut Args, gate: Gate) -> Result<Box<dyn Layer>, Error> {
    let example = format!("{} 11008", a.kind.text);
    let mut m = GatedMlp::new(a.int_either(0, "hidden", &example)?, gate);
    if let Some(w) = a.named("bias")? {
        m = m.bias(a.boolean(&w)?);
    }
    Ok(Box::new(m))
}

fn pool(a: &mut Args, kind: PoolKind) -> Result<Box<dyn Layer>, Error> {
    let kernel = a.dims_either(0, "kernel|k")?;
    let mut p = Pool::new(kind, &kernel);
    if let Some(w) = a.named("stride|s")? {
        p = p.stride(&a.dims(&w)?);
    }
    if let Some(w) = a.named("padding|p")? {
        p = p.padding(&a.dims(&w)?);
    }
    if kind == PoolKind::Max {
        if let Some(w) = a.named("dilation|d")? {
            p = p.dilation(&a.dims(&w)?);
        }
    }
    let ceil = a.named("ceil_mode")?;
    let round = a.named("round")?;
    match (ceil, round) {
        (Some(c), Some(_)) => {
            return Err(a.err(&c, "give ceil_mode or round, not both"));
        }
        (Some(c), None) => {
            if a.boolean(&c)? {
                p = p.round(Round::Up);
            }
        }
        (None, Some(r)) => p = p.round(a.round(&r)?),
        (None, None) => {}
    }
    Ok(Box::new(p))
}

/// Normalises a kind name: case, `-` and `_` do not matter.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A PyTorch-style name ends in `1d`, `2d` or `3d`: the spatial rank.
fn split_rank(name: &str) -> (String, Option<usize>) {
    let n = normalise(name);
    let b = n.as_bytes();
    if b.len() > 2 && b[b.len() - 1] == b'd' && (b'1'..=b'3').contains(&b[b.len() - 2]) {
        let rank = (b[b.len() - 2] - b'0') as usize;
        return (n[..n.len() - 2].to_string(), Some(rank));
    }
    (n, None)
}

/// A layer made from a statement, and the spatial rank its name demands
/// (`conv2d`: 2).
pub struct Made {
    pub layer: Box<dyn Layer>,
    pub spatial_rank: Option<usize>,
}

/// The layer a statement describes; `None` if `kind` names no layer kind.
pub fn make(file: &str, kind: &Word, args: &[Arg]) -> Option<Result<Made, Error>> {
    let (name, rank) = split_rank(&kind.text);
    // `Conv2d`, `MaxPool1d`, `BatchNorm3d`: PyTorch's names, with a rank.
    let ranked = [
        "conv",
        "conv-transpose",
        "maxpool",
        "avgpool",
        "batchnorm",
        "adaptive-avgpool",
    ];
    let def = KINDS.iter().find(|d| {
        (normalise(d.name) == name || d.aliases.iter().any(|a| normalise(a) == name))
            && (rank.is_none() || ranked.contains(&d.name))
    });
    let mut a = Args {
        file,
        kind,
        args: args.iter().map(|x| (x.clone(), false)).collect(),
        options: def.map_or(&[][..], |d| d.options),
    };
    if let Some(def) = def {
        let made = (def.make)(&mut a).and_then(|layer| {
            a.finish()?;
            Ok(Made {
                layer,
                spatial_rank: rank,
            })
        });
        return Some(made);
    }
    let act = layers::activation::find_activation(&kind.text)?;
    a.options = activation_options(act.name);
    let made = (|| {
        let mut layer = Activation::new(act.name).map_err(|e| a.err(kind, e.to_string()))?;
        if let Some(w) = a.named("axis")? {
            layer = layer.axis(a.int(&w)?);
        }
        if let Some(w) = a.named("per_channel")? {
            layer = layer.per_channel(a.boolean(&w)?);
        }
        a.finish()?;
        Ok(Made {
            layer: Box::new(layer) as Box<dyn Layer>,
            spatial_rank: None,
        })
    })();
    Some(made)
}

/// The named options of an activation (by its canonical name).
pub fn activation_options(name: &str) -> &'static [&'static str] {
    match name {
        "softmax" | "log-softmax" => &["axis"],
        "prelu" => &["per_channel"],
        _ => &[],
    }
}

/// A statement's arguments, consumed as a layer kind reads them; what is
/// left over is an error.
pub struct Args<'a> {
    file: &'a str,
    kind: &'a Word,
    args: Vec<(Arg, bool)>,
    options: &'static [&'static str],
}

impl Args<'_> {
    fn err(&self, at: &Word, message: impl Into<String>) -> Error {
        Error::at(
            self.file,
            at.span,
            format!("{}: {}", self.kind.text, message.into()),
        )
    }

    fn missing(&self, what: &str, example: &str) -> Error {
        self.err(self.kind, format!("needs {what}, e.g. '{example}'"))
    }

    /// The `i`-th positional argument, if given (marks it used).
    fn positional_at(&mut self, i: usize) -> Option<Word> {
        let (arg, used) = self
            .args
            .iter_mut()
            .filter(|(a, _)| a.key.is_none())
            .nth(i)?;
        *used = true;
        Some(arg.value.clone())
    }

    fn required(&mut self, i: usize, what: &str, example: &str) -> Result<Word, Error> {
        self.positional_at(i)
            .ok_or_else(|| self.missing(what, example))
    }

    fn int_pos(&mut self, what: &str) -> Result<i64, Error> {
        let example = format!("{} 64", self.kind.text);
        let w = self.required(0, what, &example)?;
        self.int(&w)
    }

    /// An option by any of its names (`stride|s`); given twice is an error.
    fn named(&mut self, names: &str) -> Result<Option<Word>, Error> {
        let keys: Vec<&str> = names.split('|').collect();
        let mut found: Option<Word> = None;
        for (arg, used) in &mut self.args {
            let Some(k) = &arg.key else { continue };
            if keys.contains(&k.text.as_str()) {
                if found.is_some() {
                    let what = format!("{}: '{}' is given twice", self.kind.text, keys[0]);
                    return Err(Error::at(self.file, k.span, what));
                }
                *used = true;
                found = Some(arg.value.clone());
            }
        }
        Ok(found)
    }

    /// An integer given positionally at `i` or by name (`heads`); given
    /// both ways is an error.
    fn int_either(&mut self, i: usize, name: &str, example: &str) -> Result<i64, Error> {
        let by_name = self.named(name)?;
        match (self.positional_at(i), by_name) {
            (Some(_), Some(w)) => Err(self.err(&w, format!("'{name}' is given twice"))),
            (Some(w), None) | (None, Some(w)) => self.int(&w),
            (None, None) => Err(self.missing(name, example)),
        }
    }

    /// A size given positionally at `i` or by name (the kernel).
    fn dims_either(&mut self, i: usize, names: &str) -> Result<Vec<i64>, Error> {
        let by_name = self.named(names)?;
        let by_pos = self.positional_at(i);
        match (by_pos, by_name) {
            (Some(_), Some(w)) => Err(self.err(&w, "the kernel is given twice")),
            (Some(w), None) | (None, Some(w)) => self.dims(&w),
            (None, None) => {
                let example = if self.kind.text.contains("pool") {
                    format!("{} 3 s=2", self.kind.text)
                } else {
                    format!("{} 64 k=3", self.kind.text)
                };
                Err(self.missing("a kernel size", &example))
            }
        }
    }

    fn int(&self, w: &Word) -> Result<i64, Error> {
        w.text
            .parse::<i64>()
            .map_err(|_| self.err(w, format!("'{}' is not an integer", w.text)))
    }

    fn dims(&self, w: &Word) -> Result<Vec<i64>, Error> {
        let parts: Option<Vec<i64>> = w.text.split(['x', 'X']).map(|d| d.parse().ok()).collect();
        parts.ok_or_else(|| {
            self.err(
                w,
                format!("'{}' is not a size: give N, or one per axis as NxN", w.text),
            )
        })
    }

    fn boolean(&self, w: &Word) -> Result<bool, Error> {
        match w.text.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(self.err(w, format!("'{other}' is not true or false"))),
        }
    }

    fn padding(&self, w: &Word) -> Result<Padding, Error> {
        match w.text.as_str() {
            "same" => Ok(Padding::Same),
            "valid" => Ok(Padding::Explicit(vec![0])),
            _ => Ok(Padding::Explicit(self.dims(w).map_err(|_| {
                self.err(
                    w,
                    format!("'{}' is not a padding: give N, NxN, same or valid", w.text),
                )
            })?)),
        }
    }

    fn round(&self, w: &Word) -> Result<Round, Error> {
        match w.text.as_str() {
            "up" => Ok(Round::Up),
            "down" => Ok(Round::Down),
            other => Err(self.err(w, format!("'{other}' is not up or down"))),
        }
    }

    /// Everything must have been read.
    fn finish(&self) -> Result<(), Error> {
        let Some((arg, _)) = self.args.iter().find(|(_, used)| !used) else {
            return Ok(());
        };
        let options = if self.options.is_empty() {
            "it takes none".to_string()
        } else {
            format!("options: {}", self.options.join(", "))
        };
        Err(match &arg.key {
            Some(k) => self.err(k, format!("unknown option '{}' ({options})", k.text)),
            None => self.err(
                &arg.value,
                format!("unexpected value '{}' ({options})", arg.value.text),
            ),
        })
    }
}
