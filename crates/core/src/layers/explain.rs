//! The working behind a layer's numbers, as a person would write it down:
//! each formula with the numbers substituted, `H_out = ⌊(224 − 3 + 2·1) / 1⌋
//! + 1 = 224`.
//!
//! An explanation is a presentation of the engine's result, never a second
//! source of it. Every [`Step`] carries the engine's number (what the
//! calculator reports) next to the arithmetic that shows how it comes about;
//! [`Explanation::disagreements`] re-evaluates that arithmetic, and the tests
//! require it to give the engine's number for every layer they try.

use std::fmt;

/// An arithmetic expression over integers, kept as written so that it can
/// be shown with its numbers substituted and evaluated to check it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Num(i128),
    /// Terms added (`false`) or subtracted (`true`), left to right.
    Sum(Vec<(bool, Expr)>),
    /// Factors multiplied, shown `a·b·c`.
    Product(Vec<Expr>),
    /// An exact division, shown `a/b` (`C_in/groups`).
    Quotient(Box<Expr>, Box<Expr>),
    /// `⌊a / b⌋`.
    Floor(Box<Expr>, Box<Expr>),
    /// `⌈a / b⌉`.
    Ceil(Box<Expr>, Box<Expr>),
    /// Brackets kept where the reader expects them, as the article writes
    /// `[(k·C_in) + (k·C_in − 1) + 1]`.
    Group(Box<Expr>),
}

/// A number.
pub fn num(v: impl Into<i128>) -> Expr {
    Expr::Num(v.into())
}

/// `a + b`.
pub fn plus(a: Expr, b: Expr) -> Expr {
    Expr::Sum(vec![(false, a), (false, b)])
}

/// `a − b`.
pub fn minus(a: Expr, b: Expr) -> Expr {
    Expr::Sum(vec![(false, a), (true, b)])
}

/// A sum of signed terms: `(negative, term)`.
pub fn sum(terms: Vec<(bool, Expr)>) -> Expr {
    Expr::Sum(terms)
}

/// `a·b·…`.
pub fn times(factors: Vec<Expr>) -> Expr {
    Expr::Product(factors)
}

/// `a/b`, an exact division.
pub fn over(a: Expr, b: Expr) -> Expr {
    Expr::Quotient(Box::new(a), Box::new(b))
}

/// `⌊a / b⌋`.
pub fn floor(a: Expr, b: Expr) -> Expr {
    Expr::Floor(Box::new(a), Box::new(b))
}

/// `⌈a / b⌉`.
pub fn ceil(a: Expr, b: Expr) -> Expr {
    Expr::Ceil(Box::new(a), Box::new(b))
}

/// `(a)`, brackets shown even where precedence does not need them.
pub fn group(a: Expr) -> Expr {
    Expr::Group(Box::new(a))
}

impl Expr {
    /// The value, or `None` if a division is not exact where it must be,
    /// divides by zero, or overflows.
    pub fn eval(&self) -> Option<i128> {
        match self {
            Expr::Num(v) => Some(*v),
            Expr::Sum(terms) => terms.iter().try_fold(0i128, |acc, (neg, t)| {
                let v = t.eval()?;
                if *neg {
                    acc.checked_sub(v)
                } else {
                    acc.checked_add(v)
                }
            }),
            Expr::Product(factors) => factors
                .iter()
                .try_fold(1i128, |acc, f| acc.checked_mul(f.eval()?)),
            Expr::Quotient(a, b) => {
                let (a, b) = (a.eval()?, b.eval()?);
                (b != 0 && a % b == 0).then(|| a / b)
            }
            Expr::Floor(a, b) => {
                let (a, b) = (a.eval()?, b.eval()?);
                (b > 0).then(|| a.div_euclid(b))
            }
            Expr::Ceil(a, b) => {
                let (a, b) = (a.eval()?, b.eval()?);
                (b > 0).then(|| a.div_euclid(b) + i128::from(a.rem_euclid(b) != 0))
            }
            Expr::Group(a) => a.eval(),
        }
    }

    /// Binding strength: sums 1, products 2, everything else is an atom.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Sum(t) if t.len() > 1 || t.first().is_some_and(|(neg, _)| *neg) => 1,
            Expr::Sum(t) => t.first().map_or(3, |(_, e)| e.precedence()),
            Expr::Product(f) if f.len() > 1 => 2,
            Expr::Product(f) => f.first().map_or(3, Expr::precedence),
            Expr::Quotient(..) => 2,
            _ => 3,
        }
    }

    fn write_within(&self, f: &mut fmt::Formatter<'_>, at_least: u8) -> fmt::Result {
        if self.precedence() < at_least {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(v) => f.write_str(&grouped(*v)),
            Expr::Sum(terms) => {
                for (i, (neg, t)) in terms.iter().enumerate() {
                    match (i, neg) {
                        (0, false) => {}
                        (0, true) => f.write_str("−")?,
                        (_, false) => f.write_str(" + ")?,
                        (_, true) => f.write_str(" − ")?,
                    }
                    // A subtracted sum needs brackets; an added one does not.
                    t.write_within(f, if *neg { 2 } else { 1 })?;
                }
                Ok(())
            }
            Expr::Product(factors) => {
                for (i, x) in factors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("·")?;
                    }
                    match x {
                        // Products are associative: `3·3·3·64`.
                        Expr::Product(_) => write!(f, "{x}")?,
                        // `3·(32/32)`: a quotient inside a product is bracketed.
                        _ => x.write_within(f, 3)?,
                    }
                }
                Ok(())
            }
            Expr::Quotient(a, b) => {
                // `4·5/2`: a product over a number reads left to right.
                a.write_within(f, 2)?;
                f.write_str("/")?;
                b.write_within(f, 3)
            }
            Expr::Floor(a, b) | Expr::Ceil(a, b) => {
                let (open, close) = if matches!(self, Expr::Floor(..)) {
                    ("⌊", "⌋")
                } else {
                    ("⌈", "⌉")
                };
                f.write_str(open)?;
                a.write_within(f, 3)?;
                f.write_str(" / ")?;
                b.write_within(f, 3)?;
                f.write_str(close)
            }
            Expr::Group(a) => write!(f, "({a})"),
        }
    }
}

pub use crate::numfmt::grouped;

/// `a / b` as a decimal for a note on rounding, with its relation:
/// `= 110.5`, `≈ 73.67`.
pub fn decimal(a: i128, b: i128) -> String {
    if b == 0 {
        return "= ∞".into();
    }
    // Hundredths, rounded half up (sizes and strides are positive).
    let hundredths = (a * 200 + b) / (2 * b);
    let exact = (a * 100) % b == 0;
    let text = format!("{}.{:02}", hundredths / 100, (hundredths % 100).abs());
    let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    if exact {
        format!("= {text}")
    } else {
        format!("≈ {text}")
    }
}

/// One line of working: `label = form = form = value`. Each form is the
/// same quantity written another way (the article's formula, then what the
/// engine computes when the two differ); `value` is the engine's number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub label: String,
    pub forms: Vec<Expr>,
    /// The engine's number: what the calculator reports.
    pub value: i128,
    /// Why a rounding went the way it did, and the like.
    pub note: Option<String>,
}

impl Step {
    pub fn new(label: impl Into<String>, form: Expr, value: i128) -> Step {
        Step {
            label: label.into(),
            forms: vec![form],
            value,
            note: None,
        }
    }

    pub fn also(mut self, form: Expr) -> Step {
        self.forms.push(form);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Step {
        self.note = Some(note.into());
        self
    }

    /// Whether every form evaluates to the engine's number.
    pub fn agrees(&self) -> bool {
        self.forms.iter().all(|e| e.eval() == Some(self.value))
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.label)?;
        for form in &self.forms {
            // A bare number is its own value: `C_out = 64`, not `64 = 64`.
            if !matches!(form, Expr::Num(_)) {
                write!(f, "{form} = ")?;
            }
        }
        f.write_str(&grouped(self.value))
    }
}

/// A group of steps under one formula: output size, params, MACs, FLOPs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// What is computed and its formula in symbols.
    pub title: String,
    pub steps: Vec<Step>,
    /// Remarks on the section as a whole.
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Section {
        Section {
            title: title.into(),
            ..Section::default()
        }
    }

    pub fn step(mut self, step: Step) -> Section {
        self.steps.push(step);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Section {
        self.notes.push(note.into());
        self
    }
}

/// The working for one layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Explanation {
    pub sections: Vec<Section>,
}

impl Explanation {
    /// Steps whose arithmetic does not give the engine's number, described.
    /// Empty for a correct explanation; the tests hold every layer kind to it.
    pub fn disagreements(&self) -> Vec<String> {
        self.sections
            .iter()
            .flat_map(|s| &s.steps)
            .filter(|s| !s.agrees())
            .map(|s| {
                let got: Vec<String> = s
                    .forms
                    .iter()
                    .map(|e| e.eval().map_or("undefined".into(), grouped))
                    .collect();
                format!(
                    "{}: the working gives {}, the engine {}",
                    s.label,
                    got.join(" / "),
                    grouped(s.value)
                )
            })
            .collect()
    }

    /// Every step, in order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.sections.iter().flat_map(|s| &s.steps)
    }
}

impl fmt::Display for Explanation {
    /// Sections separated by blank lines; steps indented under their title,
    /// each note on its own line below its step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, section) in self.sections.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}", section.title)?;
            let mut previous: Option<&String> = None;
            for step in &section.steps {
                writeln!(f, "  {step}")?;
                // The same remark on the next axis is not repeated.
                if let Some(note) = step.note.as_ref().filter(|n| previous != Some(*n)) {
                    writeln!(f, "    {note}")?;
                }
                previous = step.note.as_ref();
            }
            for note in &section.notes {
                writeln!(f, "  {note}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_article_forms() {
        let h = plus(
            floor(
                sum(vec![
                    (false, num(224)),
                    (true, num(3)),
                    (false, times(vec![num(2), num(1)])),
                ]),
                num(1),
            ),
            num(1),
        );
        assert_eq!(h.to_string(), "⌊(224 − 3 + 2·1) / 1⌋ + 1");
        assert_eq!(h.eval(), Some(224));
        let params = times(vec![
            plus(times(vec![num(3), num(3), num(3)]), num(1)),
            num(64),
        ]);
        assert_eq!(params.to_string(), "(3·3·3 + 1)·64");
        assert_eq!(
            Step::new("params", params, 1792).to_string(),
            "params = (3·3·3 + 1)·64 = 1,792"
        );
    }

    #[test]
    fn brackets_follow_precedence() {
        let k = times(vec![num(3), num(3), num(3)]);
        let flops = times(vec![
            group(sum(vec![
                (false, k.clone()),
                (false, group(minus(k.clone(), num(1)))),
                (false, num(1)),
            ])),
            num(224),
        ]);
        assert_eq!(flops.to_string(), "(3·3·3 + (3·3·3 − 1) + 1)·224");
        assert_eq!(flops.eval(), Some(54 * 224));
        let nested = minus(num(10), plus(num(2), num(3)));
        assert_eq!(nested.to_string(), "10 − (2 + 3)");
        assert_eq!(nested.eval(), Some(5));
        let depthwise = times(vec![num(3), over(num(32), num(32))]);
        assert_eq!(depthwise.to_string(), "3·(32/32)");
        assert_eq!(ceil(num(221), num(2)).to_string(), "⌈221 / 2⌉");
        assert_eq!(ceil(num(221), num(2)).eval(), Some(111));
        assert_eq!(over(num(3), num(2)).eval(), None, "not exact");
    }

    #[test]
    fn disagreement_is_reported() {
        let e = Explanation {
            sections: vec![Section::new("x").step(Step::new("a", plus(num(1), num(1)), 3))],
        };
        assert_eq!(
            e.disagreements(),
            vec!["a: the working gives 2, the engine 3"]
        );
    }

    #[test]
    fn decimals_for_rounding_notes() {
        assert_eq!(decimal(221, 2), "= 110.5");
        assert_eq!(decimal(221, 3), "≈ 73.67");
        assert_eq!(decimal(12, 4), "= 3");
        assert_eq!(grouped(86_704_128), "86,704,128");
    }
}
