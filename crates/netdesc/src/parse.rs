//! Syntax: lines of words into statements, statements into blocks.
//!
//! A line holds statements separated by `;`; `#` starts a comment. A
//! statement is words separated by spaces: a keyword or layer kind, then
//! arguments, each a value (`64`, `3x3`, `same`, `$c`) or `key=value`.

use crate::Error;
use nncost_core::numfmt::grouped;

/// Where something is in the file: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub line: usize,
    pub col: usize,
}

/// A word of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

/// An argument: `value` or `key=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    pub key: Option<Word>,
    pub value: Word,
}

/// One statement: its first word and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub head: Word,
    pub args: Vec<Arg>,
}

/// A block's contents, in order.
pub type Body = Vec<Item>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A layer, or a call of a `def`.
    Layer(Stmt),
    /// `repeat N … end`.
    Repeat { head: Stmt, count: Word, body: Body },
    /// `residual … [shortcut …] end`: body + shortcut (the identity when absent).
    Residual {
        head: Stmt,
        body: Body,
        shortcut: Option<Body>,
    },
    /// `concat … branch … end`: branches joined along the channel axis.
    Concat { head: Stmt, branches: Vec<Body> },
}

/// A named, parameterised block: `def NAME PARAM [PARAM=DEFAULT]…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Def {
    pub name: Word,
    /// Parameter names with their defaults.
    pub params: Vec<(Word, Option<Word>)>,
    pub body: Body,
}

/// The `input` statement: `input 3x224x224`, `input 128 ids`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub stmt: Stmt,
    /// The shape as written.
    pub dims: Vec<i64>,
    /// `ids`: integer token ids (int64), for an `embedding` to look up.
    pub ids: bool,
    /// `batch`: the first axis is the batch axis, of the size given.
    pub batch: bool,
    /// `channels-last`: the shape ends in the channels (`224x224x3`).
    pub channels_last: bool,
}

/// Words that may follow the input's shape.
pub const INPUT_FLAGS: &[&str] = &["ids", "batch", "channels-last"];

/// A parsed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub input: Input,
    pub defs: Vec<Def>,
    pub body: Body,
}

/// Block keywords: never layer kinds or `def` names.
pub const KEYWORDS: &[&str] = &[
    "input", "def", "end", "repeat", "residual", "shortcut", "concat", "branch",
];

/// Longest line accepted, in characters. Real lines are a few dozen.
pub const MAX_LINE_CHARS: usize = 4_096;

/// Most arguments one statement may have. The layer with most options
/// has a dozen.
pub const MAX_ARGS: usize = 64;

/// Most statements one file may hold: twice the layers it may unroll to.
pub const MAX_STATEMENTS: usize = 2 * crate::build::MAX_LAYERS;

/// Splits the text into statements.
pub(crate) fn statements(source: &str, file: &str) -> Result<Vec<Stmt>, Error> {
    let mut out = Vec::new();
    for (l, raw) in source.lines().enumerate() {
        let line = l + 1;
        // Checked before the line is split, so that what a file can make
        // the parser hold stays a small multiple of the file.
        if raw.len() > MAX_LINE_CHARS && raw.chars().count() > MAX_LINE_CHARS {
            return Err(Error::at(
                file,
                Span { line, col: 1 },
                format!(
                    "line longer than {} characters",
                    grouped(MAX_LINE_CHARS as i128)
                ),
            ));
        }
        let chars: Vec<char> = raw.chars().collect();
        let end = chars.iter().position(|&c| c == '#').unwrap_or(chars.len());
        let mut words: Vec<Word> = Vec::new();
        let flush = |words: &mut Vec<Word>, out: &mut Vec<Stmt>| -> Result<(), Error> {
            if words.is_empty() {
                return Ok(());
            }
            if words.len() > MAX_ARGS + 1 {
                return Err(Error::at(
                    file,
                    words[MAX_ARGS + 1].span,
                    format!("more than {MAX_ARGS} arguments in one statement"),
                ));
            }
            if out.len() >= MAX_STATEMENTS {
                return Err(Error::at(
                    file,
                    words[0].span,
                    format!(
                        "more than {} statements in one file",
                        grouped(MAX_STATEMENTS as i128)
                    ),
                ));
            }
            let mut it = std::mem::take(words).into_iter();
            let head = it.next().expect("non-empty");
            let args = it
                .map(|w| split_arg(w, file))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Stmt { head, args });
            Ok(())
        };
        let mut i = 0;
        while i < end {
            let c = chars[i];
            if c == ';' {
                flush(&mut words, &mut out)?;
                i += 1;
            } else if c.is_whitespace() {
                i += 1;
            } else {
                let start = i;
                while i < end && !chars[i].is_whitespace() && chars[i] != ';' {
                    i += 1;
                }
                words.push(Word {
                    text: chars[start..i].iter().collect(),
                    span: Span {
                        line,
                        col: start + 1,
                    },
                });
            }
        }
        flush(&mut words, &mut out)?;
    }
    Ok(out)
}

fn split_arg(w: Word, file: &str) -> Result<Arg, Error> {
    let Some((key, value)) = w.text.split_once('=') else {
        return Ok(Arg {
            key: None,
            value: w,
        });
    };
    let key_len = key.chars().count();
    if key.is_empty() || value.is_empty() {
        return Err(Error::at(
            file,
            w.span,
            format!("'{}': expected key=value, e.g. stride=2", w.text),
        ));
    }
    Ok(Arg {
        key: Some(Word {
            text: key.to_string(),
            span: w.span,
        }),
        value: Word {
            text: value.to_string(),
            span: Span {
                line: w.span.line,
                col: w.span.col + key_len + 1,
            },
        },
    })
}

/// Parses a shape such as `3x224x224` (positive integers joined by `x`).
pub fn shape(text: &str) -> Option<Vec<i64>> {
    text.split(['x', 'X'])
        .map(|d| d.parse::<i64>().ok().filter(|&v| v > 0))
        .collect()
}

struct Parser<'a> {
    file: &'a str,
    stmts: Vec<Stmt>,
    pos: usize,
    /// Blocks open around the current statement.
    depth: usize,
}

/// Deepest nesting of blocks (`residual`, `repeat`, `concat`, `def`): a
/// file nesting deeper is an error, not a stack overflow.
pub const MAX_NESTING: usize = 64;

/// How a block ended: by one of its terminators, or at the end of the file.
enum Ended {
    By(Stmt),
    Eof,
}

impl Parser<'_> {
    fn err(&self, span: Span, message: impl Into<String>) -> Error {
        Error::at(self.file, span, message)
    }

    fn no_args(&self, s: &Stmt) -> Result<(), Error> {
        match s.args.first() {
            None => Ok(()),
            Some(a) => Err(self.err(
                a.key.as_ref().unwrap_or(&a.value).span,
                format!("'{}' takes no arguments", s.head.text),
            )),
        }
    }

    /// Items until one of `until` (consumed and returned) or the end.
    fn block(
        &mut self,
        until: &[&str],
        defs: Option<&mut Vec<Def>>,
    ) -> Result<(Body, Ended), Error> {
        let mut body = Vec::new();
        let mut defs = defs;
        while self.pos < self.stmts.len() {
            let s = self.stmts[self.pos].clone();
            self.pos += 1;
            let head = s.head.text.as_str();
            if until.contains(&head) {
                if head != "input" {
                    self.no_args(&s)?;
                }
                return Ok((body, Ended::By(s)));
            }
            match head {
                "end" | "shortcut" | "branch" => {
                    let why = match head {
                        "end" => "no block is open".to_string(),
                        other => format!(
                            "'{other}' belongs in a {} block",
                            if other == "shortcut" {
                                "residual"
                            } else {
                                "concat"
                            }
                        ),
                    };
                    return Err(self.err(s.head.span, format!("unexpected '{head}': {why}")));
                }
                "input" => {
                    return Err(self.err(
                        s.head.span,
                        "'input' comes once, before the layers, outside any block",
                    ))
                }
                "def" => {
                    let Some(defs) = defs.as_deref_mut() else {
                        return Err(self.err(s.head.span, "'def' is allowed only at the top level"));
                    };
                    let def = self.def(s)?;
                    defs.push(def);
                }
                "repeat" => {
                    let count = match s.args.as_slice() {
                        [Arg { key: None, value }] => value.clone(),
                        _ => {
                            return Err(
                                self.err(s.head.span, "'repeat' takes one count: repeat 3 … end")
                            )
                        }
                    };
                    let inner = self.closed(&s, &["end"])?;
                    body.push(Item::Repeat {
                        head: s,
                        count,
                        body: inner.0,
                    });
                }
                "residual" => {
                    self.no_args(&s)?;
                    let (main, by) = self.closed(&s, &["shortcut", "end"])?;
                    let shortcut = if by.head.text == "shortcut" {
                        Some(self.closed(&s, &["end"])?.0)
                    } else {
                        None
                    };
                    body.push(Item::Residual {
                        head: s,
                        body: main,
                        shortcut,
                    });
                }
                "concat" => {
                    self.no_args(&s)?;
                    let mut branches = Vec::new();
                    loop {
                        let (b, by) = self.closed(&s, &["branch", "end"])?;
                        branches.push(b);
                        if by.head.text == "end" {
                            break;
                        }
                    }
                    body.push(Item::Concat { head: s, branches });
                }
                _ => body.push(Item::Layer(s)),
            }
        }
        Ok((body, Ended::Eof))
    }

    /// A block that must be closed by one of `until`.
    fn closed(&mut self, open: &Stmt, until: &[&str]) -> Result<(Body, Stmt), Error> {
        if self.depth >= MAX_NESTING {
            return Err(self.err(
                open.head.span,
                format!("blocks nest deeper than {MAX_NESTING}"),
            ));
        }
        self.depth += 1;
        let inner = self.block(until, None);
        self.depth -= 1;
        match inner? {
            (body, Ended::By(s)) => Ok((body, s)),
            (_, Ended::Eof) => Err(self.err(
                open.head.span,
                format!("'{}' is not closed: add 'end'", open.head.text),
            )),
        }
    }

    fn def(&mut self, s: Stmt) -> Result<Def, Error> {
        let mut args = s.args.iter();
        let name = match args.next() {
            Some(Arg { key: None, value }) if is_name(&value.text) => value.clone(),
            _ => return Err(self.err(s.head.span, "'def' needs a name: def block c s=1 … end")),
        };
        if KEYWORDS.contains(&name.text.as_str()) {
            return Err(self.err(name.span, format!("'{}' is a keyword", name.text)));
        }
        let mut params: Vec<(Word, Option<Word>)> = Vec::new();
        for a in args {
            let (p, default) = match &a.key {
                Some(k) => (k.clone(), Some(a.value.clone())),
                None => (a.value.clone(), None),
            };
            if !is_name(&p.text) {
                return Err(self.err(p.span, format!("'{}' is not a parameter name", p.text)));
            }
            if params.iter().any(|(q, _)| q.text == p.text) {
                return Err(self.err(p.span, format!("parameter '{}' is given twice", p.text)));
            }
            params.push((p, default));
        }
        let (body, _) = self.closed(&s, &["end"])?;
        Ok(Def { name, params, body })
    }
}

/// A name: a letter, then letters, digits, `_` or `-`.
pub fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses a whole file.
pub fn parse(source: &str, file: &str) -> Result<File, Error> {
    let stmts = statements(source, file)?;
    let mut p = Parser {
        file,
        stmts,
        pos: 0,
        depth: 0,
    };
    let mut defs = Vec::new();
    let mut input = None;
    let mut body = Vec::new();
    while p.pos < p.stmts.len() {
        let s = p.stmts[p.pos].clone();
        if s.head.text == "input" {
            p.pos += 1;
            if input.is_some() {
                return Err(p.err(s.head.span, "a second 'input': a network has one input"));
            }
            if !body.is_empty() {
                return Err(p.err(s.head.span, "'input' must come before the layers"));
            }
            let dims = match s.args.first() {
                Some(Arg { key: None, value }) => shape(&value.text).ok_or_else(|| {
                    p.err(
                        value.span,
                        format!(
                            "'{}' is not a shape: give positive sizes joined by 'x', channels first \
                             and without the batch axis, e.g. 3x224x224",
                            value.text
                        ),
                    )
                })?,
                _ => {
                    return Err(p.err(
                        s.head.span,
                        "'input' takes one shape, channels first and without the batch axis: \
                         input 3x224x224",
                    ))
                }
            };
            input = Some(input_flags(&p, s, dims)?);
            continue;
        }
        // Everything up to the next `input` (or the end) is ordinary body.
        let (items, ended) = p.block(&["input"], Some(&mut defs))?;
        if !items.is_empty() && input.is_none() {
            let first = first_span(&items[0]);
            return Err(p.err(
                first,
                "the network's input comes first: start with e.g. 'input 3x224x224'",
            ));
        }
        body.extend(items);
        if matches!(ended, Ended::By(_)) {
            // Met an `input`: the loop's first branch handles it.
            p.pos -= 1;
        }
    }
    let input = input.ok_or_else(|| {
        Error::at(
            file,
            Span { line: 1, col: 1 },
            "no 'input' line: start with e.g. 'input 3x224x224'",
        )
    })?;
    Ok(File { input, defs, body })
}

/// The words after the input's shape: each of [`INPUT_FLAGS`] at most once.
fn input_flags(p: &Parser, stmt: Stmt, dims: Vec<i64>) -> Result<Input, Error> {
    let mut input = Input {
        stmt: stmt.clone(),
        dims,
        ids: false,
        batch: false,
        channels_last: false,
    };
    let mut seen: Vec<&str> = Vec::new();
    for a in &stmt.args[1..] {
        let word = a.value.text.as_str();
        let flag = INPUT_FLAGS.iter().find(|f| **f == word);
        let (Some(flag), None) = (flag, &a.key) else {
            let at = a.key.as_ref().unwrap_or(&a.value);
            return Err(p.err(
                at.span,
                format!(
                    "'input' takes a shape and then any of {}, e.g. 'input 128 ids'",
                    INPUT_FLAGS.join(", ")
                ),
            ));
        };
        if seen.contains(flag) {
            return Err(p.err(a.value.span, format!("'{flag}' is given twice")));
        }
        seen.push(flag);
        input.ids |= *flag == "ids";
        input.batch |= *flag == "batch";
        input.channels_last |= *flag == "channels-last";
    }
    Ok(input)
}

/// Where an item starts.
pub fn first_span(item: &Item) -> Span {
    match item {
        Item::Layer(s) => s.head.span,
        Item::Repeat { head, .. } | Item::Residual { head, .. } | Item::Concat { head, .. } => {
            head.head.span
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_words_and_columns() {
        let f = parse(
            "# a comment\ninput 3x8x8\nconv 4 k=3 p=1; relu  # trailing\n",
            "t.nn",
        )
        .unwrap();
        assert_eq!(f.input.dims, vec![3, 8, 8]);
        assert_eq!(f.body.len(), 2);
        let Item::Layer(conv) = &f.body[0] else {
            panic!()
        };
        assert_eq!(conv.head.span, Span { line: 3, col: 1 });
        assert_eq!(conv.args[1].key.as_ref().unwrap().text, "k");
        assert_eq!(conv.args[1].value.span, Span { line: 3, col: 10 });
        let Item::Layer(relu) = &f.body[1] else {
            panic!()
        };
        assert_eq!(relu.head.span, Span { line: 3, col: 17 });
    }

    /// 6,200 nested blocks (80 KB) once overflowed the stack; past 64 they
    /// are one error naming the line.
    /// Nested repeats of an empty body once spun without end; all passes
    /// count against the same limit as layers.
    #[test]
    fn empty_repeats_are_bounded() {
        let spin = "input 3x8x8\nrepeat 100000\nrepeat 100000\nend\nend\nrelu\n";
        let e = crate::read_str(spin, "spin.nn").unwrap_err().to_string();
        assert!(
            e.contains("the repeats run more than 100,000 times in all"),
            "{e}"
        );
    }

    #[test]
    fn lines_and_arguments_are_bounded() {
        let long = format!("input 3x8x8\nrelu {}\n", "x".repeat(MAX_LINE_CHARS));
        assert_eq!(error(&long), "t.nn:2:1: line longer than 4,096 characters");
        // A line of exactly the limit is read.
        let at_limit = format!("input 3x8x8\nrelu {}\n", "x".repeat(MAX_LINE_CHARS - 5));
        assert!(parse(&at_limit, "t.nn").is_ok());
        let args = format!("input 3x8x8\nrelu{}\n", " a=1".repeat(MAX_ARGS + 1));
        // The 65th argument, at column 5 + 4·64.
        assert_eq!(
            error(&args),
            "t.nn:2:262: more than 64 arguments in one statement"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!(
            "input 3x8x8\n{}relu\n{}",
            "residual\n".repeat(6200),
            "end\n".repeat(6200)
        );
        let e = crate::read_str(&deep, "deep.nn").unwrap_err().to_string();
        assert!(e.contains("blocks nest deeper than 64"), "{e}");
        assert!(e.contains("deep.nn:66"), "{e}");
        let ok = format!(
            "input 3x8x8\n{}relu\n{}",
            "residual\n".repeat(60),
            "end\n".repeat(60)
        );
        assert!(crate::read_str(&ok, "ok.nn").is_ok());
    }

    #[test]
    fn blocks_nest() {
        let src = "input 3x8x8\ndef b c\n residual\n  conv $c k=3 p=1\n shortcut\n  conv $c k=1\n end\nend\nrepeat 2\n b 4\nend\nconcat\n relu\nbranch\n sigmoid\nend\n";
        let f = parse(src, "t.nn").unwrap();
        assert_eq!(f.defs.len(), 1);
        assert_eq!(f.defs[0].params.len(), 1);
        assert!(
            matches!(&f.defs[0].body[0], Item::Residual { shortcut: Some(s), .. } if s.len() == 1)
        );
        assert!(matches!(&f.body[0], Item::Repeat { body, .. } if body.len() == 1));
        assert!(matches!(&f.body[1], Item::Concat { branches, .. } if branches.len() == 2));
    }

    fn error(src: &str) -> String {
        parse(src, "t.nn").unwrap_err().to_string()
    }

    #[test]
    fn errors_point_at_line_and_column() {
        assert_eq!(
            error("input 3x8x8\nresidual\n relu\n"),
            "t.nn:2:1: 'residual' is not closed: add 'end'"
        );
        assert_eq!(
            error("input 3x8x8\nend\n"),
            "t.nn:2:1: unexpected 'end': no block is open"
        );
        assert_eq!(
            error("relu\n"),
            "t.nn:1:1: the network's input comes first: start with e.g. 'input 3x224x224'"
        );
        assert_eq!(
            error("\n"),
            "t.nn:1:1: no 'input' line: start with e.g. 'input 3x224x224'"
        );
        assert!(error("input 3x-8\n").starts_with("t.nn:1:7: '3x-8' is not a shape"));
        assert_eq!(
            error("input 3x8x8\nconv 4 k=\n"),
            "t.nn:2:8: 'k=': expected key=value, e.g. stride=2"
        );
        assert_eq!(
            error("input 3x8x8\nrepeat\n"),
            "t.nn:2:1: 'repeat' takes one count: repeat 3 … end"
        );
        assert_eq!(
            error("input 3x8x8\nrepeat 2\n def x\n end\nend\n"),
            "t.nn:3:2: 'def' is allowed only at the top level"
        );
        assert_eq!(
            error("input 3x8x8\nrelu\ninput 3x8x8\n"),
            "t.nn:3:1: a second 'input': a network has one input"
        );
        assert_eq!(
            error("input 3x8x8\nshortcut\n"),
            "t.nn:2:1: unexpected 'shortcut': 'shortcut' belongs in a residual block"
        );
    }
}
