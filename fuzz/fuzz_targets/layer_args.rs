//! The layer calculator (`nncost layer KIND ARGS --input SHAPE`, and the web
//! page's form) on generated arguments: a kind by any of its names, mostly
//! one of `KINDS` or the activations, sometimes a word that names nothing;
//! options as `key=value`, of the kind or not, given twice, with huge,
//! negative or non-numeric values and sizes of thousands of axes; an input
//! shape likewise. The layer is made as the page makes it
//! ([`nncost_netdesc::layer`]), counted, explained and rendered as text and
//! JSON by [`nncost_load::layer::run`]. Any request may be refused, with an
//! error of one line; none may crash, hang or exhaust memory.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nncost_core::layers::ACTIVATIONS;
use nncost_load::layer::{parse_dims, run, LayerRequest};
use nncost_netdesc::KINDS;

#[path = "common/words.rs"]
mod words;
use words::*;

/// The calculator's arguments: the statement the page's form sends
/// (`conv 64 k=3 p=1`), the input as typed, and the command line's flags.
#[derive(Debug)]
struct Request {
    statement: String,
    input: String,
    batch: bool,
    channels_last: bool,
    json: bool,
}

fuzz_target!(|r: Request| {
    let one_line = |e: &dyn std::fmt::Display| {
        let message = e.to_string();
        assert!(!message.contains('\n'), "error of several lines: {message}");
    };
    // The page's path, which also checks a ranked name (`conv2d`) against
    // the input.
    let form = nncost_web::calc::Form {
        statement: r.statement.clone(),
        input: r.input.clone(),
        batch: r.batch,
        channels_last: r.channels_last,
    };
    if let Err(e) = nncost_web::calc::calculate(&form) {
        one_line(&e);
    }
    // The command line's: the layer on the shape, explained, in the format
    // asked for.
    let made = match nncost_netdesc::layer(&r.statement) {
        Ok(made) => made,
        Err(e) => return one_line(&e),
    };
    let input = match parse_dims(&r.input) {
        Ok(input) => input,
        Err(e) => return one_line(&e),
    };
    let request = LayerRequest {
        input,
        batch: r.batch,
        channels_last: r.channels_last,
        explain: true,
        json: r.json,
    };
    if let Err(e) = run(made.layer.as_ref(), &request) {
        one_line(&e);
    }
});

// ----- generation -------------------------------------------------------

impl<'a> Arbitrary<'a> for Request {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let (kind, positional, options) = kind(u)?;
        let mut words = vec![kind];
        let n = pick(u, &[(85, 0, 4), (10, 5, 12), (5, 13, 70)])?;
        for i in 0..n {
            if u.is_empty() {
                break;
            }
            let key = argument_key(u, i, positional.len(), options, any_option, junk)?;
            let value = value(u)?;
            words.push(match key {
                Some(k) => format!("{k}={value}"),
                None => value,
            });
        }
        Ok(Request {
            statement: words.join(" "),
            input: shape(u)?,
            batch: percent(u, 15)?,
            channels_last: percent(u, 15)?,
            json: percent(u, 50)?,
        })
    }
}

type Kind = (String, &'static [&'static str], &'static [&'static str]);

/// A kind by one of its names (an alias, PyTorch's, with a rank, in other
/// case), with its positional arguments and options; or a word that names
/// no kind.
fn kind(u: &mut Unstructured) -> Result<Kind> {
    Ok(match u.int_in_range(0..=19)? {
        0..=11 => {
            let k = u.choose(KINDS)?;
            let name = kind_name(u, k.name, k.aliases)?;
            (name, k.positional, k.options)
        }
        12..=17 => {
            let a = u.choose(ACTIVATIONS)?;
            let name = activation_name(u, a.name, a.pytorch, a.aliases)?;
            (name, &[], nncost_netdesc::activation_options(a.name))
        }
        18 => (
            choose(
                u,
                &[
                    "end",
                    "repeat",
                    "input",
                    "residual",
                    "def",
                    "$c",
                    "conv;relu",
                ],
            )?
            .into(),
            &[],
            &[],
        ),
        _ => (junk(u)?, &[], &[]),
    })
}

/// An option of any kind.
fn any_option(u: &mut Unstructured) -> Result<String> {
    let k = u.choose(KINDS)?;
    if k.options.is_empty() {
        return Ok("axis".into());
    }
    option_name(u, k.options)
}

/// An argument's value: mostly plausible sizes, then sizes per axis, the
/// words options take, and numbers no layer can take.
fn value(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=99)? {
        0..=49 => size(u)?.to_string(),
        50..=61 => sizes_per_axis(u)?,
        62..=64 => many_axes(u)?,
        65..=79 => choose(
            u,
            &[
                "same", "valid", "true", "false", "up", "down", "nearest", "linear", "bilinear",
                "cubic", "none", "tanh",
            ],
        )?
        .into(),
        80..=87 => u.arbitrary::<i64>()?.to_string(),
        88..=95 => choose(u, EXTREMES)?.into(),
        _ => junk(u)?,
    })
}

/// The input shape as typed: an image, a sequence or a vector of plausible
/// sizes mostly; thousands of axes, zero, huge or negative sizes, or not a
/// shape at all.
fn shape(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=19)? {
        0..=11 => {
            let rank = u.int_in_range(1..=5)?;
            let mut dims = Vec::new();
            for _ in 0..rank {
                dims.push(if percent(u, 70)? {
                    choose(u, &[1, 2, 3, 4, 7, 8, 13, 16, 32, 56, 64, 128, 224, 768])?.to_string()
                } else {
                    size(u)?.to_string()
                });
            }
            dims.join("x")
        }
        12..=14 => {
            // Thousands of axes, more than a line of a description holds.
            let axes = pick(
                u,
                &[(60, 5, 100), (30, 1000, 40_000), (10, 40_001, 300_000)],
            )?;
            let d = choose(u, &["1", "2"])?;
            let mut dims = vec![d; axes as usize];
            if percent(u, 50)? {
                dims[0] = "3";
            }
            dims.join("x")
        }
        15..=17 => {
            let rank = u.int_in_range(1..=4)?;
            let mut dims = Vec::new();
            for _ in 0..rank {
                dims.push(if percent(u, 50)? {
                    choose(u, EXTREMES)?.to_string()
                } else {
                    u.arbitrary::<i64>()?.to_string()
                });
            }
            dims.join("x")
        }
        _ => junk(u)?,
    })
}

/// A word of arbitrary characters, without spaces, so that it stays one
/// argument (`;` and `#` are kept: the statement must still be one).
fn junk(u: &mut Unstructured) -> Result<String> {
    let s: String = u
        .arbitrary::<&str>()?
        .chars()
        .take(64)
        .filter(|c| !c.is_whitespace())
        .collect();
    Ok(if s.is_empty() { "x".into() } else { s })
}
