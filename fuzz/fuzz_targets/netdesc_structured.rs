//! Network descriptions (`.nn`) generated from the input's structure rather
//! than mutated as text: an input line, layers of every kind with plausible
//! and implausible arguments, `repeat` with counts up to past the limits,
//! `residual` and `concat` nested, `def`s calling each other (recursion,
//! exponential fan-out), long names and many statements, printed as text
//! of up to a few MB, then read, analysed and rendered as `read_netdesc`
//! does. Any description may be rejected, with an error of one line; none
//! may crash, hang or exhaust memory.
#![no_main]

use std::fmt::Write as _;

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nncost_core::layers::ACTIVATIONS;
use nncost_core::{analyze, AnalysisOptions};
use nncost_netdesc::KINDS;

#[path = "common/words.rs"]
mod words;
use nncost_render::{ModelInfo, TableOptions};
use words::*;

/// Largest text printed: past the reader's 4 MiB, so that its size check
/// is reached, and no further (the rest of a larger text is never read).
const MAX_TEXT: usize = nncost_netdesc::MAX_SOURCE_BYTES + (64 << 10);

/// Deepest block nesting built as a tree; deeper nesting is [`Stmt::Nest`],
/// printed in a loop, so that the generator's own recursion stays shallow.
const MAX_TREE_DEPTH: usize = 6;

/// Parameters a `def` may have (`p0`..`p3`), named in `$p0`.
const PARAMS: usize = 4;
/// `def`s named by index (`d0`..`d5`), so that calls find them.
const DEFS: usize = 6;

/// A whole description: top-level items in order, and how they are laid out.
#[derive(Debug)]
struct Net {
    items: Vec<Top>,
    layout: Layout,
}

#[derive(Debug)]
enum Top {
    /// `input SHAPE FLAG...`.
    Input {
        shape: String,
        flags: Vec<String>,
    },
    /// `def NAME PARAM[=DEFAULT]... BODY end`.
    Def {
        name: String,
        params: Vec<(String, Option<String>)>,
        body: Vec<Stmt>,
    },
    /// Defs `f{tag}_0` (the base body) to `f{tag}_{levels}`, each calling
    /// the one below `width` times, and a call of the top one:
    /// `width^levels` runs of the base (a chain when `width` is 1). Names
    /// padded with `pad` characters make long scopes.
    Fanout {
        tag: u8,
        levels: u32,
        width: u32,
        pad: usize,
        base: Vec<Stmt>,
    },
    Stmt(Stmt),
}

#[derive(Debug)]
enum Stmt {
    /// A layer, or a call of a def: its head word and arguments.
    Layer {
        head: String,
        args: Vec<Arg>,
    },
    Repeat {
        count: String,
        body: Vec<Stmt>,
    },
    Residual {
        body: Vec<Stmt>,
        shortcut: Option<Vec<Stmt>>,
    },
    Concat {
        branches: Vec<Vec<Stmt>>,
    },
    /// The statement written `times` times in a row.
    Times {
        times: u32,
        stmt: Box<Stmt>,
    },
    /// `depth` blocks of one kind around a statement, each opened by
    /// `open` (`repeat 2`, `concat`) and closed by `close` (`end`, or
    /// `branch; end` for a second, empty branch: the channels grow at
    /// every level).
    Nest {
        depth: u32,
        open: &'static str,
        close: &'static str,
        inner: Box<Stmt>,
    },
    /// A keyword or word where it does not belong (`end`, `branch`, `input`).
    Stray(String),
}

#[derive(Debug)]
struct Arg {
    key: Option<String>,
    value: String,
}

/// Separators, indentation and comments, chosen by a small generator seeded
/// from the input, so that the layout varies statement by statement.
#[derive(Debug)]
struct Layout {
    seed: u64,
    crlf: bool,
    indent: u8,
}

fuzz_target!(|net: Net| {
    let text = net.print();
    let graph = match nncost_netdesc::read_str(&text, "fuzz.nn") {
        Ok(graph) => graph,
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "error of several lines: {message}");
            return;
        }
    };
    let options = AnalysisOptions {
        dims: vec![("batch".into(), 2)],
        ..AnalysisOptions::default()
    };
    match analyze(&graph, &options) {
        Ok(report) => {
            let info = ModelInfo::default();
            let _ = nncost_render::render_json(&report, &info);
            let _ = nncost_render::render_table(&report, &info, TableOptions::default());
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "error of several lines: {message}");
        }
    }
});

// ----- generation -------------------------------------------------------

impl<'a> Arbitrary<'a> for Net {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let layout = Layout {
            seed: u.arbitrary()?,
            crlf: percent(u, 5)?,
            indent: u.int_in_range(0..=4)?,
        };
        let mut items = Vec::new();
        // Mostly an input first; sometimes a def before it, none at all,
        // or one after the layers.
        if percent(u, 90)? {
            items.push(input(u)?);
        }
        let count = u.int_in_range(0..=12)?;
        for _ in 0..count {
            if u.is_empty() {
                break;
            }
            let item = match u.int_in_range(0..=99)? {
                0..=17 => def(u)?,
                18..=21 => Top::Fanout {
                    tag: u.arbitrary()?,
                    levels: pick(u, &[(70, 1, 8), (25, 9, 40), (5, 41, 200)])?,
                    width: pick(u, &[(15, 1, 1), (70, 2, 3), (15, 4, 64)])?,
                    pad: pick(u, &[(80, 0, 0), (20, 1, 4090)])? as usize,
                    base: body(u, 1, 2)?,
                },
                22 => input(u)?,
                _ => Top::Stmt(stmt(u, 0)?),
            };
            items.push(item);
        }
        Ok(Net { items, layout })
    }
}

fn input(u: &mut Unstructured) -> Result<Top> {
    let shape = match u.int_in_range(0..=9)? {
        // Images channels first, sequences, vectors, volumes.
        0..=3 => {
            let rank = u.int_in_range(1..=4)?;
            let mut dims = vec![choose(u, &[1, 3, 4, 8, 16, 64])?.to_string()];
            for _ in 1..rank {
                dims.push(choose(u, &[1, 2, 7, 8, 13, 16, 32, 56, 224])?.to_string());
            }
            dims.join("x")
        }
        4 => format!("{}x{}", choose(u, &[1, 16, 128, 4096])?, size(u)?),
        5 => choose(
            u,
            &["3x224x224", "128", "197x768", "1x3x224x224", "224x224x3"],
        )?
        .into(),
        _ => value(u)?,
    };
    let mut flags = Vec::new();
    if percent(u, 40)? {
        for _ in 0..u.int_in_range(1..=3)? {
            flags.push(if percent(u, 90)? {
                choose(u, &["ids", "batch", "channels-last"])?.into()
            } else {
                value(u)?
            });
        }
    }
    Ok(Top::Input { shape, flags })
}

fn def(u: &mut Unstructured) -> Result<Top> {
    let name = name(u)?;
    let mut params = Vec::new();
    for _ in 0..pick(u, &[(90, 0, 3), (10, 4, 70)])? {
        let p = if percent(u, 95)? {
            format!("p{}", u.int_in_range(0..=PARAMS - 1)?)
        } else {
            junk(u)?
        };
        let default = if percent(u, 40)? {
            Some(value(u)?)
        } else {
            None
        };
        params.push((p, default));
    }
    Ok(Top::Def {
        name,
        params,
        body: body(u, 1, 6)?,
    })
}

/// A def's name: by index mostly, so that calls meet it (a def calling
/// itself, or one defined after it); sometimes long, a keyword or a layer
/// kind.
fn name(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=19)? {
        0 => long_name(u)?,
        1 => choose(
            u,
            &[
                "end", "repeat", "input", "residual", "conv", "relu", "Conv2d",
            ],
        )?
        .into(),
        2 => junk(u)?,
        _ => format!("d{}", u.int_in_range(0..=DEFS - 1)?),
    })
}

/// A name of up to some 5,000 characters (past the line limit of 4,096).
fn long_name(u: &mut Unstructured) -> Result<String> {
    let len = pick(u, &[(60, 1, 100), (30, 4000, 4100), (10, 101, 8000)])? as usize;
    let c = choose(u, &['a', 'z', 'é', '_', '-', '9'])?;
    Ok(format!("l{}", c.to_string().repeat(len)))
}

fn body(u: &mut Unstructured, depth: usize, max: u32) -> Result<Vec<Stmt>> {
    let len = u.int_in_range(0..=max)?;
    let mut out = Vec::with_capacity(len as usize);
    for _ in 0..len {
        if u.is_empty() {
            break;
        }
        out.push(stmt(u, depth)?);
    }
    Ok(out)
}

fn stmt(u: &mut Unstructured, depth: usize) -> Result<Stmt> {
    // Blocks and repetitions only while the tree is shallow: deeper, the
    // first choices, which are leaves.
    let most = if depth >= MAX_TREE_DEPTH { 66 } else { 99 };
    Ok(match u.int_in_range(0..=most)? {
        0..=54 => layer(u)?,
        55..=62 => call(u)?,
        63..=66 => Stmt::Stray(
            choose(
                u,
                &[
                    "end",
                    "shortcut",
                    "branch",
                    "input 3x8x8",
                    "def x",
                    "repeat",
                ],
            )?
            .into(),
        ),
        67..=69 => Stmt::Times {
            times: pick(u, &[(60, 2, 8), (30, 9, 2000), (10, 2001, 300_000)])?,
            stmt: Box::new(stmt(u, depth + 1)?),
        },
        70..=79 => Stmt::Repeat {
            count: count(u)?,
            body: body(u, depth + 1, 4)?,
        },
        80..=87 => Stmt::Residual {
            body: body(u, depth + 1, 4)?,
            shortcut: if percent(u, 40)? {
                Some(body(u, depth + 1, 3)?)
            } else {
                None
            },
        },
        88..=94 => {
            let n = pick(u, &[(85, 1, 4), (15, 5, 100)])?;
            let mut branches = Vec::new();
            for _ in 0..n {
                branches.push(body(u, depth + 1, 3)?);
            }
            Stmt::Concat { branches }
        }
        _ => {
            let (open, close) = choose(
                u,
                &[
                    ("repeat 1", "end"),
                    ("repeat 2", "end"),
                    ("residual", "end"),
                    ("residual", "shortcut; end"),
                    ("concat", "end"),
                    ("concat", "branch; end"),
                    ("repeat 3", "relu; end"),
                ],
            )?;
            Stmt::Nest {
                depth: pick(u, &[(40, 1, 10), (40, 60, 70), (20, 71, 20_000)])?,
                open,
                close,
                inner: Box::new(stmt(u, MAX_TREE_DEPTH)?),
            }
        }
    })
}

/// A repeat count: small, at the limits, past them, or not a count.
fn count(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0..=4 => u.int_in_range(0..=4u32)?.to_string(),
        5 => choose(u, &["99999", "100000", "100001", "65536", "1000"])?.into(),
        6 => format!("$p{}", u.int_in_range(0..=PARAMS - 1)?),
        _ => value(u)?,
    })
}

/// A layer of a known kind (by any of its names), an activation, a
/// PyTorch name with a rank, or a word that names nothing.
fn layer(u: &mut Unstructured) -> Result<Stmt> {
    let (head, positional, options): (String, &[&str], &[&str]) = match u.int_in_range(0..=9)? {
        0..=5 => {
            let k = u.choose(KINDS)?;
            let head = kind_name(u, k.name, k.aliases)?;
            (head, k.positional, k.options)
        }
        6..=7 => {
            let a = u.choose(ACTIVATIONS)?;
            let head = activation_name(u, a.name, a.pytorch, a.aliases)?;
            (head, &[], nncost_netdesc::activation_options(a.name))
        }
        8 => (
            choose(u, &["flatten", "dropout", "batchnorm", "global-avgpool"])?.into(),
            &[],
            &[],
        ),
        _ => (
            if percent(u, 50)? {
                junk(u)?
            } else {
                long_name(u)?
            },
            &[],
            &[],
        ),
    };
    let mut args = Vec::new();
    let n = pick(u, &[(90, 0, 4), (8, 5, 20), (2, 60, 70)])?;
    for i in 0..n {
        if u.is_empty() {
            break;
        }
        let other_option = |u: &mut Unstructured| -> Result<String> {
            let names = [
                "k", "s", "p", "bias", "axis", "heads", "hidden", "top", "groups", "window",
            ];
            Ok(choose(u, &names)?.into())
        };
        let key = argument_key(u, i, positional.len(), options, other_option, junk)?;
        args.push(Arg {
            key,
            value: value(u)?,
        });
    }
    Ok(Stmt::Layer { head, args })
}

/// A call of a def by index (or of a fan-out's top), with arguments by
/// position, by name or `$param` passed on.
fn call(u: &mut Unstructured) -> Result<Stmt> {
    let head = if percent(u, 90)? {
        format!("d{}", u.int_in_range(0..=DEFS - 1)?)
    } else {
        name(u)?
    };
    let mut args = Vec::new();
    for _ in 0..pick(u, &[(90, 0, 3), (10, 4, 66)])? {
        let key = if percent(u, 40)? {
            Some(format!("p{}", u.int_in_range(0..=PARAMS)?))
        } else {
            None
        };
        args.push(Arg {
            key,
            value: value(u)?,
        });
    }
    Ok(Stmt::Layer { head, args })
}

/// An argument's value: mostly plausible sizes, then sizes per axis, the
/// words options take, parameters, and numbers no layer can take.
fn value(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=99)? {
        0..=44 => size(u)?.to_string(),
        45..=54 => sizes_per_axis(u)?,
        55..=57 => many_axes(u)?,
        58..=69 => choose(
            u,
            &[
                "same", "valid", "true", "false", "up", "down", "nearest", "linear", "bilinear",
                "cubic", "none", "tanh", "ids", "batch",
            ],
        )?
        .into(),
        70..=76 => format!("$p{}", u.int_in_range(0..=PARAMS)?),
        77..=84 => u.arbitrary::<i64>()?.to_string(),
        85..=91 => choose(u, EXTREMES)?.into(),
        _ => junk(u)?,
    })
}

/// A word of arbitrary characters, without those that end a word or a
/// statement (spaces, `;`, `#`), so that it stays one word.
fn junk(u: &mut Unstructured) -> Result<String> {
    let s: String = u.arbitrary::<&str>()?.chars().take(64).collect();
    let s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ';' && *c != '#')
        .collect();
    Ok(if s.is_empty() { "x".into() } else { s })
}

// ----- printing ---------------------------------------------------------

/// Writes the text, stopping once it passes [`MAX_TEXT`].
struct Printer {
    out: String,
    state: u64,
    newline: &'static str,
    indent: usize,
}

impl Printer {
    fn full(&self) -> bool {
        self.out.len() > MAX_TEXT
    }

    /// The next number of a xorshift generator: layout choices only.
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// One statement, ended by a newline mostly, by `;` sometimes, with a
    /// comment now and then.
    fn line(&mut self, depth: usize, text: &str) {
        if self.full() {
            return;
        }
        let r = self.next();
        let pad = (depth * self.indent).min(200);
        for _ in 0..pad {
            self.out.push(if r & 1 == 0 { ' ' } else { '\t' });
        }
        self.out.push_str(text);
        match r % 16 {
            0 => self.out.push_str("; "),
            1 => {
                self.out.push_str("  # ; end");
                self.out.push_str(self.newline);
            }
            2 => {
                self.out.push_str(self.newline);
                self.out.push_str(self.newline);
            }
            _ => self.out.push_str(self.newline),
        }
    }

    fn body(&mut self, stmts: &[Stmt], depth: usize) {
        for s in stmts {
            self.stmt(s, depth);
        }
    }

    fn stmt(&mut self, s: &Stmt, depth: usize) {
        if self.full() {
            return;
        }
        match s {
            Stmt::Layer { head, args } => {
                let mut text = head.clone();
                for a in args {
                    text.push(' ');
                    if let Some(k) = &a.key {
                        let _ = write!(text, "{k}=");
                    }
                    text.push_str(&a.value);
                }
                self.line(depth, &text);
            }
            Stmt::Repeat { count, body } => {
                self.line(depth, &format!("repeat {count}"));
                self.body(body, depth + 1);
                self.line(depth, "end");
            }
            Stmt::Residual { body, shortcut } => {
                self.line(depth, "residual");
                self.body(body, depth + 1);
                if let Some(s) = shortcut {
                    self.line(depth, "shortcut");
                    self.body(s, depth + 1);
                }
                self.line(depth, "end");
            }
            Stmt::Concat { branches } => {
                self.line(depth, "concat");
                for (i, b) in branches.iter().enumerate() {
                    if i > 0 {
                        self.line(depth, "branch");
                    }
                    self.body(b, depth + 1);
                }
                self.line(depth, "end");
            }
            Stmt::Times { times, stmt } => {
                for _ in 0..*times {
                    if self.full() {
                        return;
                    }
                    self.stmt(stmt, depth);
                }
            }
            Stmt::Nest {
                depth: n,
                open,
                close,
                inner,
            } => {
                let n = *n as usize;
                for i in 0..n {
                    if self.full() {
                        return;
                    }
                    self.line(depth + i, open);
                }
                self.stmt(inner, depth + n);
                for i in (0..n).rev() {
                    if self.full() {
                        return;
                    }
                    self.line(depth + i, close);
                }
            }
            Stmt::Stray(word) => self.line(depth, word),
        }
    }
}

impl Net {
    fn print(&self) -> String {
        let mut p = Printer {
            out: String::new(),
            state: self.layout.seed | 1,
            newline: if self.layout.crlf { "\r\n" } else { "\n" },
            indent: usize::from(self.layout.indent),
        };
        for item in &self.items {
            match item {
                Top::Input { shape, flags } => {
                    let mut text = format!("input {shape}");
                    for f in flags {
                        let _ = write!(text, " {f}");
                    }
                    p.line(0, &text);
                }
                Top::Def { name, params, body } => {
                    let mut text = format!("def {name}");
                    for (param, default) in params {
                        let _ = write!(text, " {param}");
                        if let Some(d) = default {
                            let _ = write!(text, "={d}");
                        }
                    }
                    p.line(0, &text);
                    p.body(body, 1);
                    p.line(0, "end");
                }
                Top::Fanout {
                    tag,
                    levels,
                    width,
                    pad,
                    base,
                } => {
                    let name = |level: u32| format!("f{tag}{}_{level}", "a".repeat(*pad));
                    p.line(0, &format!("def {}", name(0)));
                    p.body(base, 1);
                    p.line(0, "end");
                    for level in 1..=*levels {
                        p.line(0, &format!("def {}", name(level)));
                        for _ in 0..*width {
                            p.line(1, &name(level - 1));
                        }
                        p.line(0, "end");
                        if p.full() {
                            break;
                        }
                    }
                    p.line(0, &name(*levels));
                }
                Top::Stmt(s) => p.stmt(s, 0),
            }
            if p.full() {
                break;
            }
        }
        p.out
    }
}
