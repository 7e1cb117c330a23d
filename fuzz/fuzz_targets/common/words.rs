//! Generators shared by the structure-aware targets (`netdesc_structured`,
//! `layer_args`): weighted choices, plausible and extreme sizes, and the
//! names a layer kind or an activation may be written with.

use arbitrary::{Result, Unstructured};

/// True `p` times in a hundred.
pub fn percent(u: &mut Unstructured, p: u8) -> Result<bool> {
    Ok(u.int_in_range(0..=99u8)? < p)
}

/// A number from one of weighted ranges `(weight, low, high)`.
pub fn pick(u: &mut Unstructured, ranges: &[(u32, u32, u32)]) -> Result<u32> {
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

pub fn choose<T: Copy>(u: &mut Unstructured, from: &[T]) -> Result<T> {
    Ok(*u.choose(from)?)
}

/// One of the names of one of `options` (each written `name|alias|…`).
pub fn option_name(u: &mut Unstructured, options: &[&str]) -> Result<String> {
    let o = u.choose(options)?;
    let names: Vec<&str> = o.split('|').collect();
    Ok(u.choose(&names)?.to_string())
}

/// The key of argument `i` of a statement whose kind takes `positional`
/// positional arguments and `options`: none where a positional argument
/// goes (mostly), else one of the kind's option names, `other_option`'s
/// word, `junk`'s, or none.
pub fn argument_key(
    u: &mut Unstructured,
    i: u32,
    positional: usize,
    options: &[&str],
    other_option: impl FnOnce(&mut Unstructured) -> Result<String>,
    junk: impl FnOnce(&mut Unstructured) -> Result<String>,
) -> Result<Option<String>> {
    Ok(match u.int_in_range(0..=9)? {
        0..=3 if (i as usize) < positional => None,
        0..=6 if !options.is_empty() => Some(option_name(u, options)?),
        7 => Some(other_option(u)?),
        8 => Some(junk(u)?),
        _ => None,
    })
}

/// A plausible size: what real layers are given.
pub fn size(u: &mut Unstructured) -> Result<u64> {
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
pub const EXTREMES: &[&str] = &[
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

/// Sizes per axis (`3x224x224`), now and then a negative or huge one.
pub fn sizes_per_axis(u: &mut Unstructured) -> Result<String> {
    let axes = u.int_in_range(1..=4)?;
    let mut parts = Vec::new();
    for _ in 0..axes {
        parts.push(if percent(u, 85)? {
            size(u)?.to_string()
        } else {
            u.arbitrary::<i64>()?.to_string()
        });
    }
    Ok(parts.join(choose(u, &["x", "X"])?))
}

/// `1x1x…x1`: thousands of axes, up to the line limit and past it.
pub fn many_axes(u: &mut Unstructured) -> Result<String> {
    let axes = pick(u, &[(50, 5, 100), (40, 1000, 2048), (10, 2049, 5000)])? as usize;
    let d = choose(u, &["1", "2", "0"])?;
    Ok(vec![d; axes].join("x"))
}

/// A layer kind by one of its names: an alias, upper case, with a rank
/// (`conv2d`), or its own.
pub fn kind_name(u: &mut Unstructured, name: &str, aliases: &[&str]) -> Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0 if !aliases.is_empty() => u.choose(aliases)?.to_string(),
        1 => name.to_uppercase().replace('-', "_"),
        2 => format!("{name}{}d", u.int_in_range(0..=4)?),
        _ => name.to_string(),
    })
}

/// An activation by one of its names: an alias, PyTorch's, or its own.
pub fn activation_name(
    u: &mut Unstructured,
    name: &str,
    pytorch: &str,
    aliases: &[&str],
) -> Result<String> {
    Ok(match u.int_in_range(0..=3)? {
        0 if !aliases.is_empty() => u.choose(aliases)?.to_string(),
        1 => pytorch.to_string(),
        _ => name.to_string(),
    })
}
