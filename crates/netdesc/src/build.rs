//! From the parsed description to a graph: blocks unrolled, `def`s called
//! with their arguments, each layer appended once the engine has told the
//! shape it receives.

use std::collections::HashMap;

use nncost_core::graph::{DType, ValueId};
use nncost_core::layers::{self, layout, GraphBuilder, Layer, LayerError};
use nncost_core::numfmt::grouped;
use nncost_core::shape::{format_shape, Dim, Shape};
use nncost_core::{Graph, Report};

use crate::kinds;
use crate::parse::{Arg, Body, Def, File, Input, Item, Span, Stmt, Word, KEYWORDS};
use crate::Error;

/// Most layers one description may unroll to; the `Add` or `Concat` that
/// joins a block counts as one.
pub const MAX_LAYERS: usize = 100_000;
/// Deepest nesting of `def` calls.
pub const MAX_CALL_DEPTH: usize = 64;
/// Most `def` calls one description may make in all. A layer is reached
/// through a few calls, hence ten per layer; but calls of defs that
/// append nothing, each calling the next twice, would otherwise run 2^64
/// times without meeting the layer limit.
pub const MAX_CALLS: usize = 10 * MAX_LAYERS;
/// Longest scope prefix of a node name (`down2/shortcut1/`), in bytes.
/// Calls and blocks nest 64 deep each, and a def's name may be a line
/// long: unbounded, 20,000 layers of a 480 KB file once needed 4 GB of
/// names. A longer prefix keeps its outermost and innermost parts.
const MAX_PREFIX: usize = 160;

/// A value flowing between layers, its element type and its shape (batch
/// axis first).
#[derive(Clone)]
struct Flow {
    id: ValueId,
    dtype: DType,
    shape: Shape,
    /// Still the input as written, unflagged (through layers that keep its
    /// shape and do not read channels): a layer reading channels first asks
    /// about a batch axis or channels last here.
    raw: bool,
}

impl Flow {
    /// The engine's output of a fragment: its shape and its type.
    fn of(id: ValueId, shape: Shape, report: &Report) -> Flow {
        let dtype = report
            .outputs
            .first()
            .and_then(|o| o.dtype)
            .unwrap_or(DType::F32);
        Flow {
            id,
            dtype,
            shape,
            raw: false,
        }
    }
}

/// Names nodes `prefix + kind + n`, counting each kind within the scope.
struct Scope {
    prefix: String,
    counters: HashMap<String, usize>,
}

impl Scope {
    fn new(prefix: String) -> Scope {
        Scope {
            prefix: elide(prefix),
            counters: HashMap::new(),
        }
    }

    fn name(&mut self, kind: &str) -> String {
        let n = self.counters.entry(kind.to_string()).or_insert(0);
        *n += 1;
        format!("{}{kind}{n}", self.prefix)
    }

    /// A nested scope named like a node: `down2/`.
    fn child(&mut self, kind: &str) -> Scope {
        Scope::new(format!("{}/", self.name(kind)))
    }
}

/// `prefix` within [`MAX_PREFIX`] bytes: its first quarter and last three
/// quarters, with `…` between. Names it makes alike are told apart by the
/// graph builder (`#2`).
fn elide(prefix: String) -> String {
    if prefix.len() <= MAX_PREFIX {
        return prefix;
    }
    let boundary = |mut i: usize| {
        while !prefix.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let head = boundary(MAX_PREFIX / 4);
    let tail = boundary(prefix.len() - MAX_PREFIX * 3 / 4);
    format!("{}…{}", &prefix[..head], &prefix[tail..])
}

/// A `def`'s parameters bound to the words of a call.
type Env = HashMap<String, Word>;

struct Builder<'a> {
    file: &'a str,
    defs: HashMap<&'a str, &'a Def>,
    g: GraphBuilder,
    /// Layers and joins appended so far.
    layers: usize,
    /// Passes through repeat bodies so far, layers or not.
    passes: usize,
    /// Def calls so far, layers or not.
    calls_made: usize,
    /// The `def` calls the current line was reached through.
    calls: Vec<(String, Span)>,
}

pub fn build(file: &File, name: &str, file_name: &str) -> Result<Graph, Error> {
    let mut defs: HashMap<&str, &Def> = HashMap::new();
    for d in &file.defs {
        if defs.insert(d.name.text.as_str(), d).is_some() {
            return Err(Error::at(
                file_name,
                d.name.span,
                format!("'{}' is defined twice", d.name.text),
            ));
        }
    }
    let mut b = Builder {
        file: file_name,
        defs,
        g: GraphBuilder::new(name),
        layers: 0,
        passes: 0,
        calls_made: 0,
        calls: Vec::new(),
    };
    let input = b.input(&file.input)?;
    let out = b.body(
        &file.body,
        &Env::new(),
        &mut Scope::new(String::new()),
        input,
    )?;
    b.g.output(out.id);
    Ok(b.g.finish())
}

impl Builder<'_> {
    /// The network's input as declared: a symbolic batch axis in front
    /// unless the shape has its own (`batch`), moved to channels first by a
    /// `Transpose` when written channels last.
    fn input(&mut self, input: &Input) -> Result<Flow, Error> {
        let at = input.stmt.head.span;
        layout::to_sample(&input.dims, input.batch, input.channels_last)
            .map_err(|e| self.err(at, format!("input: {e}")))?;
        let given = input.dims.iter().map(|&d| Dim::int(d));
        let shape: Shape = if input.batch {
            given.collect()
        } else {
            std::iter::once(Dim::sym("batch")).chain(given).collect()
        };
        let dtype = if input.ids { DType::I64 } else { DType::F32 };
        let id = self.g.typed_input("input", dtype, shape.clone());
        let flow = Flow {
            id,
            dtype,
            shape,
            raw: !(input.ids || input.batch || input.channels_last),
        };
        if !input.channels_last {
            return Ok(flow);
        }
        // [batch, spatial..., C] → [batch, C, spatial...], as a TensorFlow
        // model's export begins.
        let r = flow.shape.len() as i64;
        let perm: Vec<i64> = [0, r - 1].into_iter().chain(1..r - 1).collect();
        let attrs = vec![layers::builder::ints("perm", &perm)];
        let (shape, report) = layers::infer_typed(&[(dtype, flow.shape.clone())], |b, xs| {
            Ok(b.node(
                "Transpose",
                "to_channels_first",
                &[Some(xs[0])],
                attrs.clone(),
            ))
        })
        .map_err(|e| self.err(at, format!("input: {e}")))?;
        let id = self
            .g
            .node("Transpose", "to_channels_first", &[Some(id)], attrs);
        Ok(Flow::of(id, shape, &report))
    }

    fn err(&self, span: Span, message: impl Into<String>) -> Error {
        let context = self
            .calls
            .iter()
            .rev()
            .map(|(name, at)| format!("in '{name}' called at {}:{}", at.line, at.col))
            .collect::<Vec<_>>()
            .join(", ");
        Error::At {
            file: self.file.to_string(),
            span,
            message: message.into(),
            context: if context.is_empty() {
                String::new()
            } else {
                format!(" ({context})")
            },
        }
    }

    /// Adds an error's context, if it has none yet.
    fn located(&self, e: Error) -> Error {
        match e {
            Error::At {
                span,
                message,
                context,
                ..
            } if context.is_empty() => self.err(span, message),
            other => other,
        }
    }

    fn body(
        &mut self,
        items: &Body,
        env: &Env,
        scope: &mut Scope,
        mut x: Flow,
    ) -> Result<Flow, Error> {
        for item in items {
            x = self.item(item, env, scope, x)?;
        }
        Ok(x)
    }

    fn item(&mut self, item: &Item, env: &Env, scope: &mut Scope, x: Flow) -> Result<Flow, Error> {
        match item {
            Item::Layer(s) => match self.defs.get(s.head.text.as_str()).copied() {
                Some(def) => self.call(def, s, env, scope, x),
                None => self.layer(s, env, scope, x),
            },
            Item::Repeat { count, body, .. } => {
                let count = self.resolve(count, env)?;
                let n: usize = count.text.parse().map_err(|_| {
                    self.err(
                        count.span,
                        format!("'{}' is not a repeat count", count.text),
                    )
                })?;
                if n > MAX_LAYERS {
                    return Err(self.err(
                        count.span,
                        format!("repeat {n} is more than {}", grouped(MAX_LAYERS as i128)),
                    ));
                }
                let mut x = x;
                for _ in 0..n {
                    // Every pass counts, even one that adds no layer: nested
                    // empty repeats must not spin for ever.
                    self.passes += 1;
                    if self.passes > MAX_LAYERS {
                        return Err(self.err(
                            count.span,
                            format!(
                                "the repeats run more than {} times in all",
                                grouped(MAX_LAYERS as i128)
                            ),
                        ));
                    }
                    x = self.body(body, env, scope, x)?;
                }
                Ok(x)
            }
            Item::Residual {
                head,
                body,
                shortcut,
            } => {
                let main = self.body(body, env, scope, x.clone())?;
                let side = match shortcut {
                    Some(s) => self.body(s, env, &mut scope.child("shortcut"), x)?,
                    None => x,
                };
                if main.shape != side.shape {
                    let what = if shortcut.is_some() {
                        "the shortcut gives"
                    } else {
                        "the identity shortcut passes on"
                    };
                    return Err(self.err(
                        head.head.span,
                        format!(
                            "residual: the block gives {} but {what} {}; they are added, so they \
                             must match (a 'shortcut' section can reshape: e.g. conv C k=1 s=2)",
                            sample(&main.shape),
                            sample(&side.shape)
                        ),
                    ));
                }
                let name = scope.name("add");
                self.join(head, "Add", &name, &[main, side], vec![])
            }
            Item::Concat { head, branches } => {
                let name = scope.name("concat");
                let mut outs = Vec::with_capacity(branches.len());
                for (i, branch) in branches.iter().enumerate() {
                    let mut s = Scope::new(format!("{name}/branch{}/", i + 1));
                    outs.push(self.body(branch, env, &mut s, x.clone())?);
                }
                let axis = layers::builder::int("axis", 1);
                self.join(head, "Concat", &name, &outs, vec![axis])
            }
        }
    }

    /// A node joining branches (`Add`, `Concat`), shaped by the engine.
    fn join(
        &mut self,
        head: &Stmt,
        op: &str,
        name: &str,
        inputs: &[Flow],
        attrs: Vec<nncost_core::graph::Attribute>,
    ) -> Result<Flow, Error> {
        // A block without layers still adds its join: nested in repeats
        // and calls, empty blocks must not grow the graph without end.
        self.count_layer(head.head.span)?;
        let shapes: Vec<Shape> = inputs.iter().map(|f| f.shape.clone()).collect();
        let typed: Vec<(DType, Shape)> =
            inputs.iter().map(|f| (f.dtype, f.shape.clone())).collect();
        let (shape, report) = layers::infer_typed(&typed, |b, xs| {
            let ins: Vec<Option<ValueId>> = xs.iter().map(|&x| Some(x)).collect();
            Ok(b.node(op, name, &ins, attrs.clone()))
        })
        .map_err(|e| {
            let shapes: Vec<String> = shapes.iter().map(|s| sample(s)).collect();
            self.err(
                head.head.span,
                format!(
                    "{}: cannot join {}: {e}",
                    head.head.text,
                    shapes.join(" and ")
                ),
            )
        })?;
        let ins: Vec<Option<ValueId>> = inputs.iter().map(|f| Some(f.id)).collect();
        let id = self.g.node(op, name, &ins, attrs);
        Ok(Flow::of(id, shape, &report))
    }

    /// Replaces `$param` by the call's argument.
    fn resolve(&self, w: &Word, env: &Env) -> Result<Word, Error> {
        let Some(param) = w.text.strip_prefix('$') else {
            return Ok(w.clone());
        };
        match env.get(param) {
            Some(v) => Ok(v.clone()),
            None if self.calls.is_empty() => Err(self.err(
                w.span,
                format!("'{}': parameters exist only inside a def", w.text),
            )),
            None => {
                let mut known: Vec<&String> = env.keys().collect();
                known.sort();
                let known: Vec<String> = known.iter().map(|k| format!("${k}")).collect();
                Err(self.err(
                    w.span,
                    format!(
                        "unknown parameter '{}' (this def has {})",
                        w.text,
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                ))
            }
        }
    }

    fn layer(&mut self, s: &Stmt, env: &Env, scope: &mut Scope, x: Flow) -> Result<Flow, Error> {
        let args: Vec<Arg> = s
            .args
            .iter()
            .map(|a| {
                Ok(Arg {
                    key: a.key.clone(),
                    value: self.resolve(&a.value, env)?,
                })
            })
            .collect::<Result<_, Error>>()?;
        let made = match kinds::make(self.file, &s.head, &args) {
            Some(made) => made.map_err(|e| self.located(e))?,
            None => {
                let hint = if KEYWORDS.contains(&s.head.text.as_str()) {
                    String::new()
                } else {
                    " (see docs/netdesc.md for the layer kinds; a def must be defined to be called)"
                        .into()
                };
                return Err(self.err(
                    s.head.span,
                    format!("unknown layer kind '{}'{hint}", s.head.text),
                ));
            }
        };
        // `conv` on `input 1x3x224x224`: a batch axis or channels last
        // would be counted as another layer; a ranked name (`conv3d`) says
        // the shape is meant.
        if x.raw && made.spatial_rank.is_none() && made.layer.channels_first() {
            let dims: Vec<i64> = x.shape[1..].iter().filter_map(Dim::as_i64).collect();
            if let Some(m) = layout::misread(&dims) {
                let words = match (m.batch, m.channels_last) {
                    (true, false) => "batch",
                    (false, _) => "channels-last",
                    (true, true) => "batch channels-last",
                };
                return Err(self.err(
                    s.head.span,
                    format!(
                        "{} on {}: {}, or 'input {} {words}')",
                        s.head.text,
                        sample(&x.shape),
                        m.reason(&dims),
                        sample(&x.shape)
                    ),
                ));
            }
        }
        if let Some(rank) = made.spatial_rank {
            let spatial = x.shape.len().saturating_sub(2);
            // BatchNorm1d takes [C] as well as [C, L].
            let fits =
                spatial == rank || (made.layer.kind() == "batchnorm" && rank == 1 && spatial == 0);
            if !fits {
                return Err(self.err(
                    s.head.span,
                    format!(
                        "{} takes {rank} spatial {}, but its input {} has {spatial}",
                        s.head.text,
                        if rank == 1 { "axis" } else { "axes" },
                        sample(&x.shape)
                    ),
                ));
            }
        }
        self.count_layer(s.head.span)?;
        let name = scope.name(made.layer.kind());
        self.apply(made.layer.as_ref(), &name, s, x)
    }

    /// Counts one more layer or join against [`MAX_LAYERS`].
    fn count_layer(&mut self, at: Span) -> Result<(), Error> {
        self.layers += 1;
        if self.layers > MAX_LAYERS {
            return Err(self.err(
                at,
                format!(
                    "the network unrolls to more than {} layers",
                    grouped(MAX_LAYERS as i128)
                ),
            ));
        }
        Ok(())
    }

    /// Appends a layer: its output shape from the engine first, so that a
    /// layer that does not fit is reported here, at its line.
    fn apply(&mut self, layer: &dyn Layer, name: &str, s: &Stmt, x: Flow) -> Result<Flow, Error> {
        let fail = |this: &Self, e: LayerError| {
            this.err(
                s.head.span,
                format!("{} on {}: {e}", s.head.text, sample(&x.shape)),
            )
        };
        // Token ids feed an embedding, and an embedding reads nothing else.
        if layer.input_dtype() != x.dtype {
            let why = if x.dtype == DType::I64 {
                "token ids (the input is declared 'ids') feed an 'embedding' first"
            } else {
                "it reads token ids: declare the input as ids, e.g. 'input 128 ids'"
            };
            return Err(fail(self, LayerError::Invalid(why.into())));
        }
        let (shape, report) = layers::infer_typed(&[(x.dtype, x.shape.clone())], |b, xs| {
            layer.build(b, name, xs[0], &x.shape)
        })
        .map_err(|e| fail(self, e))?;
        let id = layer
            .build(&mut self.g, name, x.id, &x.shape)
            .map_err(|e| fail(self, e))?;
        let mut out = Flow::of(id, shape, &report);
        out.raw = x.raw && !layer.channels_first() && out.shape == x.shape;
        Ok(out)
    }

    fn call(
        &mut self,
        def: &Def,
        s: &Stmt,
        env: &Env,
        scope: &mut Scope,
        x: Flow,
    ) -> Result<Flow, Error> {
        if self.calls.len() >= MAX_CALL_DEPTH {
            return Err(self.err(
                s.head.span,
                format!(
                    "calls nest deeper than {MAX_CALL_DEPTH}: does '{}' call itself?",
                    def.name.text
                ),
            ));
        }
        // Every call counts, even one that adds no layer, as every pass of
        // a repeat does.
        self.calls_made += 1;
        if self.calls_made > MAX_CALLS {
            return Err(self.err(
                s.head.span,
                format!(
                    "the defs are called more than {} times in all",
                    grouped(MAX_CALLS as i128)
                ),
            ));
        }
        let mut bound = Env::new();
        let mut positional = s.args.iter().filter(|a| a.key.is_none());
        for (param, default) in &def.params {
            let named = s
                .args
                .iter()
                .find(|a| a.key.as_ref().is_some_and(|k| k.text == param.text));
            let given = match named {
                Some(a) => Some(&a.value),
                None => positional.next().map(|a| &a.value),
            };
            let value = match (given, default) {
                (Some(v), _) => self.resolve(v, env)?,
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    return Err(self.err(
                        s.head.span,
                        format!(
                            "'{}' needs a value for '{}' (def at {}:{})",
                            def.name.text, param.text, def.name.span.line, def.name.span.col
                        ),
                    ))
                }
            };
            bound.insert(param.text.clone(), value);
        }
        if let Some(extra) = positional.next() {
            return Err(self.err(
                extra.value.span,
                format!(
                    "'{}' takes {} argument{}, got more",
                    def.name.text,
                    def.params.len(),
                    if def.params.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        if let Some(a) = s.args.iter().find(|a| {
            a.key
                .as_ref()
                .is_some_and(|k| !def.params.iter().any(|(p, _)| p.text == k.text))
        }) {
            let k = a.key.as_ref().map_or("", |k| k.text.as_str());
            return Err(self.err(
                a.value.span,
                format!("'{}' has no parameter '{k}'", def.name.text),
            ));
        }
        let mut inner = scope.child(&def.name.text);
        self.calls.push((def.name.text.clone(), s.head.span));
        let out = self.body(&def.body, &bound, &mut inner, x);
        self.calls.pop();
        out
    }
}

/// A shape without its batch axis: `64x56x56`.
fn sample(shape: &[Dim]) -> String {
    format_shape(shape.get(1..).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use crate::read_str;

    fn error(src: &str) -> String {
        read_str(src, "t.nn").unwrap_err().to_string()
    }

    #[test]
    fn layer_errors_point_at_their_line() {
        assert_eq!(
            error("input 3x8x8\nconv 4 k=3\nconv 4 k=9\n"),
            "t.nn:3:1: conv on 4x6x6: window of extent 9 does not fit input size 6 with padding 0 on spatial axis 0"
        );
        assert_eq!(
            error("input 3x8x8\nconv 4 k=3 stide=2\n"),
            "t.nn:2:12: conv: unknown option 'stide' (options: kernel|k, stride|s, padding|p, dilation|d, groups|g, bias, round)"
        );
        assert_eq!(
            error("input 3x8x8\nconv 4 k=3 s=x\n"),
            "t.nn:2:14: conv: 'x' is not a size: give N, or one per axis as NxN"
        );
        assert_eq!(
            error("input 3x8x8\nconv k=3\n"),
            "t.nn:2:1: conv: needs out_channels, e.g. 'conv 64'"
        );
        assert_eq!(
            error("input 3x8x8\nfrobnicate 3\n"),
            "t.nn:2:1: unknown layer kind 'frobnicate' (see docs/netdesc.md for the layer kinds; a def must be defined to be called)"
        );
        assert_eq!(
            error("input 3x8x8\nconv 4 k=3 g=2\n"),
            "t.nn:2:1: conv on 3x8x8: input channels (3) must be divisible by groups (2)"
        );
        assert_eq!(
            error("input 3x8\nconv2d 4 k=3\n"),
            "t.nn:2:1: conv2d takes 2 spatial axes, but its input 3x8 has 1"
        );
    }

    #[test]
    fn residual_shapes_must_match() {
        assert_eq!(
            error("input 4x8x8\nresidual\n conv 8 k=1\nend\n"),
            "t.nn:2:1: residual: the block gives 8x8x8 but the identity shortcut passes on 4x8x8; they are added, so they must match (a 'shortcut' section can reshape: e.g. conv C k=1 s=2)"
        );
    }

    #[test]
    fn def_calls_bind_parameters_and_report_the_call() {
        let src = "input 4x8x8\ndef blk c s=1\n conv $c k=3 s=$s p=1\n relu\nend\nblk 8\nblk 8 s=2\nblk c=0\n";
        let e = error(src);
        assert_eq!(
            e,
            "t.nn:3:2: conv on 8x4x4: out_channels must be positive, got 0 (in 'blk' called at 8:1)"
        );
        assert_eq!(
            error("input 4x8x8\ndef b c\n relu\nend\nb\n"),
            "t.nn:5:1: 'b' needs a value for 'c' (def at 2:5)"
        );
        assert_eq!(
            error("input 4x8x8\ndef b c\n relu\nend\nb 1 2\n"),
            "t.nn:5:5: 'b' takes 1 argument, got more"
        );
        assert_eq!(
            error("input 4x8x8\ndef b c\n conv $d k=1\nend\nb 1\n"),
            "t.nn:3:7: unknown parameter '$d' (this def has $c) (in 'b' called at 5:1)"
        );
        assert_eq!(
            error("input 4x8x8\nconv $c k=1\n"),
            "t.nn:2:6: '$c': parameters exist only inside a def"
        );
        assert!(error("input 4x8x8\ndef f\n f\nend\nf\n")
            .contains("calls nest deeper than 64: does 'f' call itself?"));
    }

    /// Defs that append nothing, each calling the one before twice, ran
    /// 2^41 calls without meeting a limit (found by the
    /// `netdesc_structured` fuzz target); and, found while fixing it,
    /// empty blocks in a repeat grew the graph by a join each, and a chain
    /// of defs with names a line long made node names of 240 KB.
    #[test]
    fn calls_joins_and_names_are_bounded() {
        let mut fanout = String::from("input 3x8x8\ndef f0\nend\n");
        for i in 1..=41 {
            fanout.push_str(&format!("def f{i}\n f{p}; f{p}\nend\n", p = i - 1));
        }
        fanout.push_str("f41\n");
        let e = error(&fanout);
        assert!(
            e.contains(": the defs are called more than 1,000,000 times in all (in 'f"),
            "{e}"
        );
        assert!(e.ends_with("in 'f41' called at 127:1)"), "{e}");
        let joins = format!(
            "input 3x8x8\nrepeat 1000\n{}end\n",
            "residual\nend\nconcat\nend\n".repeat(100)
        );
        assert_eq!(
            error(&joins),
            "t.nn:3:1: the network unrolls to more than 100,000 layers"
        );
        let name = |i: usize| format!("d{i}{}", "a".repeat(4000));
        let mut chain = String::from("input 3x8x8\n");
        for i in 0..60 {
            let body = if i < 59 { name(i + 1) } else { "relu".into() };
            chain.push_str(&format!("def {}\n {body}\nend\n", name(i)));
        }
        chain.push_str(&format!("{}\n", name(0)));
        let g = read_str(&chain, "t.nn").unwrap();
        let relu = &g.nodes[0].name;
        assert!(relu.len() < 200, "{} bytes", relu.len());
        assert!(relu.starts_with("d0aaa") && relu.contains('…'), "{relu}");
        assert!(relu.ends_with("aaa1/relu1"), "{relu}");
    }

    #[test]
    fn names_follow_the_structure() {
        let src = "input 4x8x8\ndef blk\n residual\n  conv 4 k=3 p=1\n shortcut\n  conv 4 k=1\n end\nend\nconv 4 k=1\nrepeat 2\n blk\nend\nconcat\n relu\nbranch\n relu\nend\n";
        let g = read_str(src, "t.nn").unwrap();
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "conv1",
                "blk1/conv1",
                "blk1/shortcut1/conv1",
                "blk1/add1",
                "blk2/conv1",
                "blk2/shortcut1/conv1",
                "blk2/add1",
                "concat1/branch1/relu1",
                "concat1/branch2/relu1",
                "concat1"
            ]
        );
        let report = nncost_core::analyze(&g, &Default::default()).unwrap();
        assert_eq!(
            nncost_core::shape::format_shape(report.outputs[0].shape.as_deref().unwrap()),
            "batchx8x8x8"
        );
    }
}
