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
            let key = match u.int_in_range(0..=9)? {
                // The positional arguments in their places.
                0..=3 if (i as usize) < positional.len() => None,
                0..=6 if !options.is_empty() => {
                    let o = u.choose(options)?;
                    let names: Vec<&str> = o.split('|').collect();
                    Some(u.choose(&names)?.to_string())
                }
                7 => Some(any_option(u)?),
                8 => Some(junk(u)?),
                _ => None,
            };
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

/// True `p` times in a hundred.
fn percent(u: &mut Unstructured, p: u8) -> Result<bool> {
    Ok(u.int_in_range(0..=99u8)? < p)
}

/// A number from one of weighted ranges `(weight, low, high)`.
fn pick(u: &mut Unstructured, ranges: &[(u32, u32, u32)]) -> Result<u32> {
    let total: u32 = ranges.iter().map(|r| r.0).sum();
    let mut at = u.int_in_range(0..=total - 1)?;
    for &(weight, low, high) in ranges {
        if at < weight {
            return u.int_in_range(low..=high);
        }
        at -= weight;
    }
    unreachable!("the weights add up to the total")
}

fn choose<T: Copy>(u: &mut Unstructured, from: &[T]) -> Result<T> {
    Ok(*u.choose(from)?)
}

type Kind = (String, &'static [&'static str], &'static [&'static str]);

/// A kind by one of its names (an alias, PyTorch's, with a rank, in other
/// case), with its positional arguments and options; or a word that names
/// no kind.
fn kind(u: &mut Unstructured) -> Result<Kind> {
    Ok(match u.int_in_range(0..=19)? {
        0..=11 => {
            let k = u.choose(KINDS)?;
            let name = match u.int_in_range(0..=5)? {
                0 if !k.aliases.is_empty() => u.choose(k.aliases)?.to_string(),
                1 => k.name.to_uppercase().replace('-', "_"),
                2 => format!("{}{}d", k.name, u.int_in_range(0..=4)?),
                _ => k.name.to_string(),
            };
            (name, k.positional, k.options)
        }
        12..=17 => {
            let a = u.choose(ACTIVATIONS)?;
            let name = match u.int_in_range(0..=3)? {
                0 if !a.aliases.is_empty() => u.choose(a.aliases)?.to_string(),
                1 => a.pytorch.to_string(),
                _ => a.name.to_string(),
            };
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
    let o = u.choose(k.options)?;
    let names: Vec<&str> = o.split('|').collect();
    Ok(u.choose(&names)?.to_string())
}

/// A plausible size: what real layers are given.
fn size(u: &mut Unstructured) -> Result<u64> {
    Ok(match u.int_in_range(0..=3)? {
        0..=1 => u.int_in_range(1..=16)?,
        2 => choose(
            u,
            &[
                32, 64, 96, 128, 256, 512, 768, 1000, 1024, 4096, 11008, 32000,
            ],
        )?,
        _ => u.int_in_range(1..=1 << 20)?,
    })
}

/// Extreme numbers: the ends of the integer types, past them, and words
/// that look like numbers.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "100000000000000000000000000000",
    "4294967296",
    "2147483648",
    "3037000500",
    "9007199254740993",
    "0.5",
    "1e400",
    "NaN",
    "-0.0",
    "+3",
    "0x10",
];

/// An argument's value: mostly plausible sizes, then sizes per axis, the
/// words options take, and numbers no layer can take.
fn value(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=99)? {
        0..=49 => size(u)?.to_string(),
        50..=61 => {
            let axes = u.int_in_range(1..=4)?;
            let mut parts = Vec::new();
            for _ in 0..axes {
                parts.push(if percent(u, 85)? {
                    size(u)?.to_string()
                } else {
                    u.arbitrary::<i64>()?.to_string()
                });
            }
            parts.join(choose(u, &["x", "X"])?)
        }
        62..=64 => {
            // 1x1x...x1: thousands of axes, up to the line limit and past it.
            let axes = pick(u, &[(50, 5, 100), (40, 1000, 2048), (10, 2049, 5000)])? as usize;
            vec![choose(u, &["1", "2", "0"])?; axes].join("x")
        }
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
