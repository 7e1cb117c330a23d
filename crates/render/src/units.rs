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
        let symbols = monomial.to_string().replace('*', "·");
        match (symbols.is_empty(), magnitude) {
            (true, _) => out.push_str(&number),
            (false, 1) => out.push_str(&symbols),
            (false, _) => out.push_str(&format!("{number} × {symbols}")),
        }
    }
    if exact && den != 1 {
        out = format!("({out}) / {den}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
