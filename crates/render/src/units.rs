//! Human-readable numbers: `11.69 M`, `1.82 G`, `4.09 G × batch`.

use nncost_core::Poly;

const UNITS: [(i128, &str); 5] = [
    (1_000_000_000_000_000, "P"),
    (1_000_000_000_000, "T"),
    (1_000_000_000, "G"),
    (1_000_000, "M"),
    (1_000, "K"),
];

/// An integer in decimal units with two decimals (`1814073344` → `1.81 G`);
/// below a thousand it is printed as is.
pub fn human(n: i128) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let m = n.unsigned_abs();
    for (scale, unit) in UNITS {
        let scale = scale as u128;
        if m >= scale {
            // Two decimals, rounded half up, in integer arithmetic that
            // cannot overflow even for counts near 2^127.
            let step = scale / 100;
            let hundredths = m / step + u128::from(m % step >= step / 2);
            return format!("{sign}{}.{:02} {unit}", hundredths / 100, hundredths % 100);
        }
    }
    format!("{sign}{m}")
}

pub use nncost_core::numfmt::grouped;

/// `num / den` (den > 1, not dividing num) in human units: `4.50`,
/// `1.50 K`.
fn human_fraction(num: i128, den: i128) -> String {
    if num % den == 0 {
        return human(num / den);
    }
    let v = num as f64 / den as f64;
    for (scale, unit) in UNITS {
        if v.abs() >= scale as f64 {
            return format!("{:.2} {unit}", v / scale as f64);
        }
    }
    format!("{v:.2}")
}

/// A count that may depend on symbols: each term in human units followed by
/// its symbols, e.g. `4.09 G × batch + 1.00 K`. With `exact`, integers; a
/// count with a denominator (a causal attention's `seq·(seq + 1)/2`) is
/// written `(783 × seq^2 + 783 × seq) / 2`, or in human units with each
/// coefficient divided (`391.50 × seq^2 + …`).
pub fn poly(p: &Poly, exact: bool) -> String {
    if p.is_zero() {
        return "0".to_string();
    }
    let den = p.denominator();
    let mut out = String::new();
    for (k, (monomial, coefficient)) in p.terms().enumerate() {
        let magnitude = coefficient.abs();
        if k > 0 {
            out.push_str(if coefficient < 0 { " − " } else { " + " });
        } else if coefficient < 0 {
            out.push('-');
        }
        let number = match (exact, den) {
            (true, _) => grouped(magnitude),
            (false, 1) => human(magnitude),
            (false, _) => human_fraction(magnitude, den),
        };
        let magnitude = if exact || den == 1 || magnitude % den != 0 {
            magnitude
        } else {
            magnitude / den
        };
        let mut symbols = monomial.to_string();
        if symbols.contains('*') {
            symbols = symbols.replace('*', "·");
        }
        match (symbols.is_empty(), magnitude) {
            (true, _) => out.push_str(&number),
            (false, 1) => out.push_str(&symbols),
            (false, _) => {
                out.push_str(&number);
                out.push_str(" × ");
                out.push_str(&symbols);
            }
        }
    }
    if exact && den != 1 {
        out = format!("({out}) / {den}");
    }
    out
}

/// A size in bytes, decimal units (`12.85 MB`, `602.11 KB × batch`); with
/// `exact`, grouped digits and `B`.
pub fn bytes(p: &Poly, exact: bool) -> String {
    if let Some(n) = p.as_constant() {
        return if exact {
            format!("{} B", grouped(n))
        } else {
            with_unit(&human(n))
        };
    }
    // An expression with a maximum or a floor prints its atoms raw:
    // the unit goes after the whole.
    let text = poly(p, exact);
    if text.contains('(') {
        return format!("{text} bytes");
    }
    // Each number of the expression takes the unit: `4.82 MB × batch`.
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text.as_str();
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // A number: digits, separators, a decimal point, a unit prefix.
        let end = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_digit() || c == ',' || c == '.'))
            .map_or(rest.len(), |(k, _)| k);
        let (number, tail) = rest.split_at(end);
        let prefixed = tail.starts_with(" K")
            || tail.starts_with(" M")
            || tail.starts_with(" G")
            || tail.starts_with(" T")
            || tail.starts_with(" P");
        let in_symbol = out.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '^');
        if in_symbol {
            out.push_str(number);
            rest = tail;
        } else if prefixed {
            out.push_str(number);
            out.push_str(&tail[..2]);
            out.push('B');
            rest = &tail[2..];
        } else {
            out.push_str(number);
            out.push_str(" B");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// `12.85 M` → `12.85 MB`; `999` → `999 B`.
fn with_unit(number: &str) -> String {
    if number.ends_with(|c: char| c.is_ascii_alphabetic()) {
        format!("{number}B")
    } else {
        format!("{number} B")
    }
}

/// A time in seconds in the unit that reads best: `812 ns`, `12.3 µs`,
/// `4.56 ms`, `1.20 s`.
pub fn seconds(t: f64) -> String {
    let (value, unit) = match t {
        t if t >= 1.0 => (t, "s"),
        t if t >= 1e-3 => (t * 1e3, "ms"),
        t if t >= 1e-6 => (t * 1e6, "µs"),
        t => (t * 1e9, "ns"),
    };
    if value >= 100.0 {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_times() {
        assert_eq!(bytes(&Poly::constant(12_845_056), false), "12.85 MB");
        assert_eq!(bytes(&Poly::constant(512), false), "512 B");
        assert_eq!(bytes(&Poly::constant(12_845_056), true), "12,845,056 B");
        let b = Poly::symbol("batch").checked_scale(602_112).unwrap();
        assert_eq!(bytes(&b, false), "602.11 KB × batch");
        let b2 = b.checked_add(&Poly::constant(40)).unwrap();
        assert_eq!(bytes(&b2, false), "602.11 KB × batch + 40 B");
        let s2 = Poly::symbol("s2").checked_scale(4).unwrap();
        assert_eq!(bytes(&s2, true), "4 B × s2");
        assert_eq!(seconds(0.000_125_3), "125 µs");
        assert_eq!(seconds(0.004_561), "4.56 ms");
        assert_eq!(seconds(1.2), "1.20 s");
        assert_eq!(seconds(8.12e-7), "812 ns");
    }

    #[test]
    fn human_units_round_to_two_decimals() {
        assert_eq!(human(11_689_512), "11.69 M");
        assert_eq!(human(1_814_073_344), "1.81 G");
        assert_eq!(human(999), "999");
        assert_eq!(human(1_000), "1.00 K");
        assert_eq!(human(1_995), "2.00 K");
        assert_eq!(human(17_564_000_000_000), "17.56 T");
        assert_eq!(human(1_814_073_344), "1.81 G");
        assert_eq!(human(1_815_000_000), "1.82 G");
        // Found by fuzzing: the extremes of i128 must not overflow.
        assert_eq!(human(i128::MAX), "170141183460469231731687.30 P");
        assert_eq!(human(i128::MIN), "-170141183460469231731687.30 P");
    }

    #[test]
    fn grouping() {
        assert_eq!(grouped(11_689_512), "11,689,512");
        assert_eq!(grouped(100), "100");
        assert_eq!(grouped(-1234), "-1,234");
    }

    #[test]
    fn symbolic_counts() {
        let p = Poly::symbol("batch").checked_scale(4_089_184_256).unwrap();
        assert_eq!(poly(&p, false), "4.09 G × batch");
        assert_eq!(poly(&p, true), "4,089,184,256 × batch");
        let q = p.checked_add(&Poly::constant(1000)).unwrap();
        assert_eq!(poly(&q, false), "4.09 G × batch + 1.00 K");
        let seq2 = Poly::symbol("seq")
            .checked_mul(&Poly::symbol("seq"))
            .unwrap();
        assert_eq!(poly(&seq2, false), "seq^2");
        // 3 causal heads at 261 FLOPs per score: (783·seq² + 783·seq)/2.
        let causal = seq2
            .checked_add(&Poly::symbol("seq"))
            .unwrap()
            .checked_scale(783)
            .unwrap()
            .checked_div(2)
            .unwrap();
        assert_eq!(poly(&causal, true), "(783 × seq^2 + 783 × seq) / 2");
        assert_eq!(poly(&causal, false), "391.50 × seq^2 + 391.50 × seq");
        let big = causal.checked_scale(1001).unwrap();
        assert_eq!(poly(&big, false), "391.89 K × seq^2 + 391.89 K × seq");
        // A coefficient the denominator divides prints whole.
        let mixed = causal.checked_add(&Poly::symbol("b")).unwrap();
        assert_eq!(poly(&mixed, false), "391.50 × seq^2 + b + 391.50 × seq");
    }
}
