//! Reading size expressions: the grammar that [`Poly`]'s `Display` writes,
//! plus the forms exporters write into `dim_param` (sympy's, as PyTorch's
//! exporters print them).
//!
//! ```text
//! expr    := term (("+" | "-") term)*
//! term    := unary (("*" | "/" | "//" | "%") unary)*
//! unary   := "-" unary | power
//! power   := primary (("^" | "**") integer)?
//! primary := integer | name | "\"" quoted name "\"" | "(" expr ")"
//!          | function "(" expr ("," expr)* ")"
//! ```
//!
//! Functions, case-insensitive: `floor`, `ceil` (`ceiling`), `min`, `max`,
//! and sympy/PyTorch's `FloorToInt`, `CeilToInt`, `FloorDiv(a, b)`,
//! `CeilDiv(a, b)`, `Mod(a, b)`, `IntTrueDiv(a, b)`. `/` is exact
//! (rational) division, `//` floor division, `%` the remainder of floor
//! division; a divisor must be a constant unless it divides exactly. Names
//! are a letter or `_`, then letters, digits, `_` or `.`; any other name is
//! written in double quotes (`"batch size"`, with `\"` and `\\`).

use std::sync::Arc;

use super::{Atom, Overflow, Poly};

/// Longest expression read, and deepest nesting of parentheses: a hostile
/// `dim_param` cannot make the reader recurse without bound.
const MAX_LEN: usize = 4096;
const MAX_NESTING: usize = 64;

/// Why a string is not a size expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a size expression: {reason}")]
pub struct ParseError {
    pub text: String,
    pub reason: String,
}

impl Poly {
    /// Reads an expression of the grammar above. The result may have a
    /// denominator (`h/2`); a caller wanting an integer size checks
    /// [`Poly::denominator`].
    pub fn parse(text: &str) -> Result<Poly, ParseError> {
        let fail = |reason: String| ParseError {
            text: text.chars().take(200).collect(),
            reason,
        };
        if text.len() > MAX_LEN {
            return Err(fail(format!("longer than {MAX_LEN} bytes")));
        }
        let mut p = Parser {
            src: text.as_bytes(),
            text,
            pos: 0,
            depth: 0,
        };
        let value = p.expr().map_err(&fail)?;
        p.skip_space();
        if p.pos != p.src.len() {
            return Err(fail(format!("unexpected '{}'", &text[p.pos..])));
        }
        Ok(value)
    }
}

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

type Parsed = Result<Poly, String>;

fn arith(r: Result<Poly, Overflow>) -> Parsed {
    r.map_err(|e| e.to_string())
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.src.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    /// Consumes `token` (after spaces) if it comes next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.src[self.pos..].starts_with(token.as_bytes()) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected '{token}' at offset {}", self.pos))
        }
    }

    fn expr(&mut self) -> Parsed {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!("nested deeper than {MAX_NESTING} levels"));
        }
        let mut acc = self.term()?;
        loop {
            if self.eat("+") {
                acc = arith(acc.checked_add(&self.term()?))?;
            } else if self.eat("-") {
                acc = arith(acc.checked_sub(&self.term()?))?;
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(acc)
    }

    fn term(&mut self) -> Parsed {
        let mut acc = self.unary()?;
        loop {
            if self.eat("*") {
                if self.src.get(self.pos) == Some(&b'*') {
                    // `**` belongs to the power below; put the first back.
                    self.pos -= 1;
                    break;
                }
                acc = arith(acc.checked_mul(&self.unary()?))?;
            } else if self.eat("//") {
                acc = floor_div(&acc, &self.unary()?)?;
            } else if self.eat("/") {
                acc = exact_div(&acc, &self.unary()?)?;
            } else if self.eat("%") {
                acc = modulo(&acc, &self.unary()?)?;
            } else {
                break;
            }
        }
        Ok(acc)
    }

    fn unary(&mut self) -> Parsed {
        if self.eat("-") {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(format!("nested deeper than {MAX_NESTING} levels"));
            }
            let v = arith(self.unary()?.checked_neg());
            self.depth -= 1;
            return v;
        }
        let base = self.primary()?;
        if self.eat("^") || self.eat("**") {
            self.skip_space();
            let start = self.pos;
            while self.src.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
            let exp: u32 = self.text[start..self.pos]
                .parse()
                .map_err(|_| format!("expected a small integer exponent at offset {start}"))?;
            return arith(base.checked_pow(exp));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Parsed {
        self.skip_space();
        let start = self.pos;
        match self.src.get(self.pos) {
            None => Err("unexpected end".into()),
            Some(b'(') => {
                self.pos += 1;
                let v = self.expr()?;
                self.expect(")")?;
                Ok(v)
            }
            Some(b'"') => self.quoted(),
            Some(c) if c.is_ascii_digit() => {
                while self.src.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                let v: i128 = self.text[start..self.pos]
                    .parse()
                    .map_err(|_| "integer out of range".to_string())?;
                Ok(Poly::constant(v))
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                while self
                    .src
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
                {
                    self.pos += 1;
                }
                let name = &self.text[start..self.pos];
                if self.eat("(") {
                    let mut args = vec![self.expr()?];
                    while self.eat(",") {
                        args.push(self.expr()?);
                    }
                    self.expect(")")?;
                    return call(name, args);
                }
                Ok(Poly::symbol(name))
            }
            Some(_) => Err(format!("unexpected '{}'", &self.text[start..])),
        }
    }

    fn quoted(&mut self) -> Parsed {
        self.pos += 1;
        let mut name = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(Poly::from_atom(Atom::Sym(Arc::from(name))));
                }
                '\\' => match chars.next() {
                    Some((_, e)) => name.push(e),
                    None => break,
                },
                c => name.push(c),
            }
        }
        Err("unterminated quoted name".into())
    }
}

fn constant_divisor(d: &Poly, what: &str) -> Result<i128, String> {
    match d.as_constant() {
        Some(0) => Err(format!("{what} by zero")),
        Some(k) => Ok(k),
        None => Err(format!("{what} by '{d}', which is not a constant")),
    }
}

fn exact_div(a: &Poly, b: &Poly) -> Parsed {
    if let Some(q) = a.div_poly_exact(b) {
        return Ok(q);
    }
    arith(a.checked_div(constant_divisor(b, "division")?))
}

fn floor_div(a: &Poly, b: &Poly) -> Parsed {
    if let Some(q) = a.div_poly_exact(b) {
        return Ok(q);
    }
    arith(a.floor_div(constant_divisor(b, "floor division")?))
}

fn modulo(a: &Poly, b: &Poly) -> Parsed {
    arith(a.rem_floor(constant_divisor(b, "modulo")?))
}

/// `⌊x⌋` of a possibly rational polynomial.
fn floor(x: &Poly) -> Parsed {
    arith(x.floor_div(1))
}

fn call(name: &str, mut args: Vec<Poly>) -> Parsed {
    let lower = name.to_ascii_lowercase();
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("{name} takes {n} argument(s), got {}", args.len()))
        }
    };
    match lower.as_str() {
        "floor" | "floortoint" => {
            arity(1)?;
            floor(&args[0])
        }
        "ceil" | "ceiling" | "ceiltoint" => {
            arity(1)?;
            arith(args[0].ceil_div(1))
        }
        "min" | "max" => arith(Poly::extremum(std::mem::take(&mut args), lower == "min")),
        "floordiv" => {
            arity(2)?;
            floor_div(&args[0], &args[1])
        }
        "ceildiv" => {
            arity(2)?;
            arith(args[0].ceil_div(constant_divisor(&args[1], "ceiling division")?))
        }
        "inttruediv" | "truediv" => {
            arity(2)?;
            exact_div(&args[0], &args[1])
        }
        "mod" | "pythonmod" => {
            arity(2)?;
            modulo(&args[0], &args[1])
        }
        _ => Err(format!("unknown function '{name}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Poly {
        Poly::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(p: &Poly, h: i128) -> i128 {
        p.substitute(&|_| Some(h)).unwrap().as_constant().unwrap()
    }

    #[test]
    fn reads_what_exporters_write() {
        // PyTorch's dynamo exporter: sympy's printing.
        let p = parse("floor(height/2 - 1/2) + 1");
        assert_eq!(p.to_string(), "ceil(height/2)");
        assert_eq!(at(&p, 481), 241);
        assert_eq!(parse("((s0 - 1)//2) + 1"), parse("ceil(s0/2)"));
        assert_eq!(parse("2*s0 + 1").to_string(), "2*s0 + 1");
        assert_eq!(
            parse("Mod(s0, 4)")
                .substitute(&|_| Some(11))
                .unwrap()
                .as_constant(),
            Some(3)
        );
        assert_eq!(parse("CeilToInt(IntTrueDiv(s0, 3))"), parse("ceil(s0/3)"));
        assert_eq!(parse("Max(1, s0)").to_string(), "max(s0, 1)");
        assert_eq!(parse("s0**2"), parse("s0^2"));
        assert_eq!(parse("(batch*seq)/seq"), parse("batch"));
        assert_eq!(parse("\"batch size\"*2").to_string(), "2*\"batch size\"");
        assert_eq!(parse("-x + 3").to_string(), "-x + 3");
    }

    /// What `Display` prints, `parse` reads back to the same value.
    #[test]
    fn printing_round_trips() {
        let h = Poly::symbol("h");
        let w = Poly::symbol("\"odd\" name");
        let exprs = [
            h.floor_div(3).unwrap(),
            h.checked_scale(5)
                .unwrap()
                .checked_add(&Poly::constant(2))
                .unwrap()
                .floor_div(7)
                .unwrap(),
            h.ceil_div(32).unwrap().checked_mul(&w).unwrap(),
            Poly::constant(1000)
                .minimum(&h)
                .unwrap()
                .checked_scale(4)
                .unwrap(),
            h.checked_mul(&h).unwrap().checked_div(2).unwrap(),
            h.maximum(&w).unwrap().floor_div(2).unwrap(),
        ];
        for e in exprs {
            assert_eq!(parse(&e.to_string()), e, "{e}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        for bad in [
            "", "h +", "h/w", "h // 0", "(h", "h ^ x", "foo(h)", "h $ 2", "\"open",
        ] {
            assert!(Poly::parse(bad).is_err(), "{bad}");
        }
        let deep = format!("{}h{}", "(".repeat(100), ")".repeat(100));
        assert!(Poly::parse(&deep).is_err());
        let negs = format!("{}h", "-".repeat(100));
        assert!(Poly::parse(&negs).is_err());
    }
}
