//! `docs/operators.md` is generated from the operator tables in the code,
//! so the documented formulas are the ones the engine uses; and
//! `docs/coverage.md`, the op coverage table, from the same tables, the
//! rules' unit tests, ONNX's schemas and node test outcomes, and the fixture
//! models. If a test fails after changing a rule, regenerate with
//! `NNCOST_UPDATE_DOCS=1 cargo test --test docs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nncost_core::graph::{AttrValue, Graph};
use nncost_core::ops::{all_ops, canonical_domain, OpDef, Role};

fn roles_text(roles: &[Role]) -> String {
    let names: Vec<String> = roles
        .iter()
        .enumerate()
        // An operand counts as data: the difference is what its rule reads.
        .filter(|(_, r)| !matches!(r, Role::Data | Role::Operand))
        .map(|(i, r)| format!("{i}: {}", format!("{r:?}").to_lowercase()))
        .collect();
    if names.is_empty() {
        "—".to_string()
    } else {
        names.join(", ")
    }
}

fn generate() -> String {
    let mut ops: Vec<_> = all_ops().collect();
    ops.sort_by(|a, b| (a.domain, a.op_type).cmp(&(b.domain, b.op_type)));
    let mut out = String::from(
        "# Operators\n\n\
         Generated from the operator tables in `crates/core/src/ops/` by `tests/docs.rs`; do not edit by hand.\n\
         The reasoning behind each count is in [conventions.md](conventions.md); which operators have a rule, and\n\
         what tests each, is in [coverage.md](coverage.md).\n\n\
         *Inputs* lists the input positions whose initializers are not plain operands: `weight` (always\n\
         parameters), `buffer` (non-trainable state), `config` (shapes, axes, scales, bounds: never parameters).\n\
         At any other position a float initializer with more than one element is a parameter.\n\n",
    );
    out.push_str(&format!("{} operators.\n\n", ops.len()));
    out.push_str("| operator | domain | inputs | cost |\n|---|---|---|---|\n");
    for d in ops {
        let domain = if d.domain.is_empty() {
            "ai.onnx"
        } else {
            d.domain
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            d.op_type,
            domain,
            roles_text(d.roles),
            d.cost_doc.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn operator_table_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operators.md");
    let fresh = generate();
    if std::env::var_os("NNCOST_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/operators.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "docs/operators.md is stale: run NNCOST_UPDATE_DOCS=1 cargo test --test docs"
    );
}

/// Every operator with a rule is explained in the conventions page too.
#[test]
fn conventions_mention_every_operator() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conventions.md"))
            .expect("docs/conventions.md");
    let missing: Vec<&str> = all_ops()
        .map(|d| d.op_type)
        .filter(|op| !text.contains(&format!("`{op}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/conventions.md: {missing:?}"
    );
}

// ===== docs/coverage.md ==================================================
//
// One row per operator of ONNX's schema set and per operator nncost has a
// rule for: its ONNX versions, whether it has a rule, and what tests it:
// rule unit tests, ONNX node cases, fixture models. Everything is read at
// generation time, so the table cannot go stale without this test failing.

/// Operators of the default domain at opset ≤ [`SCOPE_OPSET`] that have no
/// rule, and why. [`every_onnx_op_in_scope_has_a_rule_or_a_reason`] fails
/// when one is missing here or when one listed here gains a rule.
const NOT_COVERED: &[(&str, &str)] = &[];

/// The issue's scope: ONNX opsets 1 to 23.
const SCOPE_OPSET: i64 = 23;

const SCHEMAS: &str = "tests/fixtures/conformance/onnx_schemas.tsv";
const OUTCOMES: &str = "tests/fixtures/conformance/outcomes.tsv";
const OPS_SOURCE: &str = "crates/core/src/ops";
/// The one-node test harness, whose helpers the rule tests share.
const SHARED_TEST_HELPERS: &str = "crates/core/src/ops/testing.rs";
/// Tests of the engine that runs control flow ([`nncost_core::ops::control`]):
/// its unit tests (`analysis.rs`, `control.rs`) and the end-to-end ones.
const ENGINE_TESTS: &[&str] = &[
    "crates/core/src/analysis.rs",
    "crates/core/src/control.rs",
    "tests/control_flow.rs",
];
const FIXTURES: &str = "tests/fixtures";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read_committed(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (a committed file; see its header)", path.display()))
}

/// Data lines of a committed TSV file, split into fields.
fn tsv_rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect())
}

/// An operator's identity: canonical domain (`""` for ai.onnx) and name.
type OpKey = (String, String);

fn op_key(domain: &str, op: &str) -> OpKey {
    (canonical_domain(domain).to_string(), op.to_string())
}

fn domain_name(domain: &str) -> &str {
    if domain.is_empty() {
        "ai.onnx"
    } else {
        domain
    }
}

/// One operator of ONNX's schema set (`onnx_schemas.tsv`).
struct Schema {
    since: Vec<i64>,
    deprecated: bool,
}

impl Schema {
    fn first_version(&self) -> i64 {
        self.since.first().copied().unwrap_or(0)
    }
}

fn load_schemas() -> BTreeMap<OpKey, Schema> {
    let text = read_committed(SCHEMAS);
    tsv_rows(&text)
        .map(|f| {
            assert_eq!(f.len(), 4, "{SCHEMAS}: expected 4 fields in {f:?}");
            let since = f[2]
                .split(',')
                .map(|v| v.parse().expect("since version is an integer"))
                .collect();
            let schema = Schema {
                since,
                deprecated: f[3] == "yes",
            };
            (op_key(f[1], f[0]), schema)
        })
        .collect()
}

/// One op's ONNX node cases (from the outcome ledger), scored by case as
/// `tests/conformance.rs` does: an original passes, or its `__values`
/// variant does.
#[derive(Default)]
struct CaseStats {
    cases: usize,
    nncost: usize,
    onnx: usize,
    opsets: BTreeSet<i64>,
}

/// One model line of the ledger.
struct LedgerLine<'a> {
    op: OpKey,
    opset: Option<i64>,
    nncost_pass: bool,
    onnx_pass: bool,
    variant_of: Option<&'a str>,
}

fn parse_ledger(text: &str) -> BTreeMap<&str, LedgerLine<'_>> {
    tsv_rows(text)
        .map(|f| {
            assert_eq!(f.len(), 5, "{OUTCOMES}: expected 5 fields in {f:?}");
            let (domain, op) = f[1].rsplit_once("::").unwrap_or(("", f[1]));
            let line = LedgerLine {
                op: op_key(domain, op),
                opset: f[2].parse().ok(),
                nncost_pass: f[3] == "pass",
                onnx_pass: f[4] == "pass",
                variant_of: f[0].strip_suffix("__values"),
            };
            (f[0], line)
        })
        .collect()
}

fn case_stats() -> BTreeMap<OpKey, CaseStats> {
    let text = read_committed(OUTCOMES);
    let ledger = parse_ledger(&text);
    let mut stats: BTreeMap<OpKey, CaseStats> = BTreeMap::new();
    for (name, original) in ledger.iter().filter(|(_, l)| l.variant_of.is_none()) {
        let variant = ledger.get(format!("{name}__values").as_str());
        let s = stats.entry(original.op.clone()).or_default();
        s.cases += 1;
        s.nncost += usize::from(original.nncost_pass || variant.is_some_and(|v| v.nncost_pass));
        s.onnx += usize::from(original.onnx_pass || variant.is_some_and(|v| v.onnx_pass));
        s.opsets.extend(original.opset);
    }
    stats
}

// ----- unit tests of rules, counted from the source ----------------------

/// What the scanner sees of Rust source: braces and string literals outside
/// comments and char literals. Just deep enough to find test bodies.
enum Lexeme<'a> {
    Open(usize),
    Close(usize),
    Str(usize, &'a str),
}

fn lex(src: &str) -> Vec<Lexeme<'_>> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => i = block_comment_end(src, i),
            b'{' => {
                out.push(Lexeme::Open(i));
                i += 1;
            }
            b'}' => {
                out.push(Lexeme::Close(i));
                i += 1;
            }
            b'"' => {
                let end = string_end(b, i + 1);
                out.push(Lexeme::Str(i, &src[i + 1..end]));
                i = end + 1;
            }
            b'r' if starts_raw_string(b, i) => {
                let (start, end, next) = raw_string(src, i);
                out.push(Lexeme::Str(i, &src[start..end]));
                i = next;
            }
            b'\'' => i = after_quote(src, i),
            _ => i += 1,
        }
    }
    out
}

fn line_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

fn block_comment_end(src: &str, i: usize) -> usize {
    src[i + 2..].find("*/").map_or(src.len(), |p| i + 2 + p + 2)
}

/// Index of the closing quote of a string whose contents start at `i`.
fn string_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'"' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    i.min(b.len())
}

/// `r"…"` or `r#"…"#`, but not the `r` ending an identifier (`for"`).
fn starts_raw_string(b: &[u8], i: usize) -> bool {
    let after_ident = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    !after_ident && b.get(i + 1 + hashes) == Some(&b'"')
}

/// (contents start, contents end, index after the literal) of a raw string.
fn raw_string(src: &str, i: usize) -> (usize, usize, usize) {
    let hashes = src[i + 1..].bytes().take_while(|&c| c == b'#').count();
    let start = i + 1 + hashes + 1;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = src[start..].find(&close).map_or(src.len(), |p| start + p);
    (start, end, (end + close.len()).min(src.len()))
}

/// Skips a char literal (`'{'`, `'\n'`, `'·'`) or the quote of a lifetime.
fn after_quote(src: &str, i: usize) -> usize {
    let b = src.as_bytes();
    if b.get(i + 1) == Some(&b'\\') {
        return src[i + 2..].find('\'').map_or(src.len(), |p| i + 2 + p + 1);
    }
    let ch_len = src[i + 1..].chars().next().map_or(0, char::len_utf8);
    if b.get(i + 1 + ch_len) == Some(&b'\'') {
        i + 1 + ch_len + 1
    } else {
        i + 1
    }
}

/// Byte ranges of the bodies of the functions declared after each
/// `#[test]` (`tests == true`) or of every other function.
fn fn_bodies(src: &str, lexemes: &[Lexeme], tests: bool) -> Vec<(String, std::ops::Range<usize>)> {
    let mut bodies = Vec::new();
    let mut from = 0;
    while let Some(p) = src[from..].find("fn ") {
        let at = from + p;
        from = at + 3;
        let is_test = attributes_before(src, at).any(|a| a == "#[test]");
        let is_ident_start = at == 0 || !src.as_bytes()[at - 1].is_ascii_alphanumeric();
        if is_test != tests || !is_ident_start {
            continue;
        }
        let name: String = src[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(range) = block_after(lexemes, at) {
            bodies.push((name, range));
        }
    }
    bodies
}

/// The attribute lines (`#[…]`) right above the line holding `at`.
fn attributes_before(src: &str, at: usize) -> impl Iterator<Item = &str> {
    let line_start = src[..at].rfind('\n').map_or(0, |p| p + 1);
    src[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .take_while(|l| l.starts_with("#["))
}

/// The first `{ … }` block starting after `at`.
fn block_after(lexemes: &[Lexeme], at: usize) -> Option<std::ops::Range<usize>> {
    let first = lexemes
        .iter()
        .position(|l| matches!(l, Lexeme::Open(p) if *p > at))?;
    let Lexeme::Open(open) = lexemes[first] else {
        return None;
    };
    let mut depth = 0usize;
    for l in &lexemes[first..] {
        match l {
            Lexeme::Open(_) => depth += 1,
            Lexeme::Close(p) => {
                depth -= 1;
                if depth == 0 {
                    return Some(open..*p);
                }
            }
            Lexeme::Str(..) => {}
        }
    }
    None
}

/// The first `.domain("…")` in `text`.
fn domain_call(text: &str) -> Option<&str> {
    let start = text.find(".domain(\"")? + ".domain(\"".len();
    let end = text[start..].find('"')?;
    Some(&text[start..start + end])
}

/// Counts, per operator, the rule unit tests that name it: every `#[test]`
/// function in `crates/core/src/ops/**` holding the operator's name as a
/// string literal, which is how tests build nodes (`NodeTest::new("Conv")`,
/// `run_rule("Slice", …)`, `.node("Shape", …)`, `for op in ["And", …]`).
/// The domain of a name several domains share is the one of a
/// `.domain("…")` in the same statement or of a helper such as
/// `ms("Attention")` whose body sets it; else the default domain.
///
/// The control-flow operators are run by the engine, not by a rule, and
/// tested with it ([`ENGINE_TESTS`]): there a test counts for the
/// control-flow operators it names, itself or through the test helpers it
/// calls (`loop_model(…)`, which builds the model), and only for them (a
/// `MatMul` inside a loop body tests the loop, not `MatMul`).
fn unit_test_counts(rules: &BTreeMap<OpKey, &'static OpDef>) -> BTreeMap<OpKey, usize> {
    let mut domains_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (domain, op) in rules.keys() {
        domains_of.entry(op).or_default().push(domain);
    }
    // Helpers every rule test may call (`ms("Attention")`) set their domain
    // in the shared test harness.
    let shared_helpers = helper_domains(&read_committed(SHARED_TEST_HELPERS));
    let mut counts = BTreeMap::new();
    for file in files_with_extension(&root().join(OPS_SOURCE), "rs") {
        let src = std::fs::read_to_string(&file).expect("readable source file");
        count_tests(&src, &domains_of, &shared_helpers, None, &mut counts);
    }
    let control: BTreeSet<OpKey> = nncost_core::ops::control::OPS
        .iter()
        .map(|d| op_key(d.domain, d.op_type))
        .collect();
    for file in ENGINE_TESTS {
        let src = read_committed(file);
        count_tests(
            &src,
            &domains_of,
            &shared_helpers,
            Some(&control),
            &mut counts,
        );
    }
    counts
}

/// The functions of `src` whose body sets a domain (`.domain("…")`), by
/// name: the test helpers that build nodes of that domain.
fn helper_domains(src: &str) -> BTreeMap<String, String> {
    helpers_setting_domains(src, &fn_bodies(src, &lex(src), false))
}

/// Of the functions `bodies` of `src`, those that set a domain, by name.
fn helpers_setting_domains(
    src: &str,
    bodies: &[(String, std::ops::Range<usize>)],
) -> BTreeMap<String, String> {
    bodies
        .iter()
        .filter_map(|(name, body)| {
            Some((name.clone(), domain_call(&src[body.clone()])?.to_string()))
        })
        .collect()
}

/// Adds the tests of one source file to `counts`: all the operators each
/// names, or with `only`, those of `only` it names directly or through the
/// test helpers it calls.
fn count_tests(
    src: &str,
    domains_of: &BTreeMap<&str, Vec<&str>>,
    shared_helpers: &BTreeMap<String, String>,
    only: Option<&BTreeSet<OpKey>>,
    counts: &mut BTreeMap<OpKey, usize>,
) {
    let lexemes = lex(src);
    let others = fn_bodies(src, &lexemes, false);
    // The shared helpers, overridden by the file's own of the same name.
    let mut helpers = shared_helpers.clone();
    helpers.extend(helpers_setting_domains(src, &others));
    let named_in = |body: &std::ops::Range<usize>| -> BTreeSet<OpKey> {
        lexemes
            .iter()
            .filter_map(|l| match l {
                Lexeme::Str(at, text) if body.contains(at) => Some((*at, *text)),
                _ => None,
            })
            .filter_map(|(at, op)| {
                let domains = domains_of.get(op)?;
                Some(op_key(literal_domain(src, at, domains, &helpers), op))
            })
            .collect()
    };
    // Test helpers: the functions of the test code (a source file's
    // `#[cfg(test)]` module; all of a file under tests/).
    let test_code = src.find("#[cfg(test)]").unwrap_or(0);
    let test_helpers: Vec<(&str, BTreeSet<OpKey>)> = match only {
        Some(_) => others
            .iter()
            .filter(|(_, body)| body.start > test_code)
            .map(|(name, body)| (name.as_str(), named_in(body)))
            .collect(),
        None => Vec::new(),
    };
    for (_, body) in fn_bodies(src, &lexemes, true) {
        let mut named = named_in(&body);
        for (name, ops) in &test_helpers {
            if calls(&src[body.clone()], name) {
                named.extend(ops.iter().cloned());
            }
        }
        for key in named {
            if only.map_or(true, |o| o.contains(&key)) {
                *counts.entry(key).or_default() += 1;
            }
        }
    }
}

/// Whether `code` calls the free function `name` (`name(`, not a method
/// `.name(` nor a longer identifier ending in it).
fn calls(code: &str, name: &str) -> bool {
    let pattern = format!("{name}(");
    code.match_indices(&pattern).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
    })
}

fn literal_domain<'a>(
    src: &'a str,
    at: usize,
    domains: &[&'a str],
    helpers: &'a BTreeMap<String, String>,
) -> &'a str {
    if let [only] = domains {
        return only;
    }
    // The identifier called right before the literal: `ms` in `ms("Gelu")`.
    let callee = src[..at].strip_suffix('(').map(|b| {
        let start = b
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        &b[start..]
    });
    if let Some(d) = callee.and_then(|name| helpers.get(name)) {
        return d;
    }
    let statement = &src[at..src[at..].find(';').map_or(src.len(), |p| at + p)];
    domain_call(statement).unwrap_or("")
}

fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_with_extension(&path, ext));
        } else if path.extension().is_some_and(|e| e == ext) {
            files.push(path);
        }
    }
    files.sort();
    files
}

// ----- fixture models --------------------------------------------------------

/// Per operator, how many fixture models (`tests/fixtures/**.onnx`) use it,
/// subgraphs included. Files the reader refuses (fuzz inputs) are skipped.
fn fixture_model_counts() -> BTreeMap<OpKey, usize> {
    let mut counts = BTreeMap::new();
    for file in files_with_extension(&root().join(FIXTURES), "onnx") {
        let Ok(model) = nncost_onnx::read_file(&file) else {
            continue;
        };
        let mut ops = BTreeSet::new();
        collect_ops(&model.graph, &mut ops);
        for key in ops {
            *counts.entry(key).or_default() += 1;
        }
    }
    counts
}

fn collect_ops(graph: &Graph, ops: &mut BTreeSet<OpKey>) {
    for node in &graph.nodes {
        ops.insert(op_key(&node.domain, &node.op_type));
        for attr in &node.attributes {
            match &attr.value {
                AttrValue::Graph(g) => collect_ops(g, ops),
                AttrValue::Graphs(gs) => gs.iter().for_each(|g| collect_ops(g, ops)),
                _ => {}
            }
        }
    }
}

// ----- the page ------------------------------------------------------------

/// Everything the page is generated from.
struct Coverage {
    schemas: BTreeMap<OpKey, Schema>,
    rules: BTreeMap<OpKey, &'static OpDef>,
    cases: BTreeMap<OpKey, CaseStats>,
    unit_tests: BTreeMap<OpKey, usize>,
    fixtures: BTreeMap<OpKey, usize>,
}

impl Coverage {
    fn gather() -> Self {
        let rules = all_ops()
            .map(|d| (op_key(d.domain, d.op_type), d))
            .collect();
        let unit_tests = unit_test_counts(&rules);
        Coverage {
            schemas: load_schemas(),
            rules,
            cases: case_stats(),
            unit_tests,
            fixtures: fixture_model_counts(),
        }
    }

    fn all_keys(&self) -> BTreeSet<&OpKey> {
        self.schemas.keys().chain(self.rules.keys()).collect()
    }

    /// Default-domain operators introduced at opset ≤ [`SCOPE_OPSET`]
    /// without a rule.
    fn uncovered_in_scope(&self) -> Vec<&str> {
        self.schemas
            .iter()
            .filter(|((domain, _), s)| domain.is_empty() && s.first_version() <= SCOPE_OPSET)
            .filter(|(key, _)| !self.rules.contains_key(*key))
            .map(|((_, op), _)| op.as_str())
            .collect()
    }
}

fn generate_coverage(c: &Coverage) -> String {
    let mut out = String::from(
        "# Operator coverage\n\n\
         Generated by `tests/docs.rs` from the operator tables in `crates/core/src/ops/`, their unit tests,\n\
         the ONNX schemas of onnx 1.23.2 (`tests/fixtures/conformance/onnx_schemas.tsv`, written by\n\
         `scripts/make_onnx_schemas.py`), the outcomes of ONNX's node test cases\n\
         (`tests/fixtures/conformance/outcomes.tsv`, written by `tests/conformance.rs`) and the fixture models;\n\
         do not edit by hand. Cost formulas: [operators.md](operators.md).\n\n",
    );
    out.push_str(&summary(c));
    out.push_str(&not_covered_section(c));
    out.push_str(&operator_table(c));
    out
}

/// with-a-rule / total over some operators.
#[derive(Default)]
struct Ratio {
    covered: usize,
    total: usize,
}

impl Ratio {
    fn add(&mut self, covered: bool) {
        self.covered += usize::from(covered);
        self.total += 1;
    }

    fn cell(&self) -> String {
        if self.total == 0 {
            "—".to_string()
        } else {
            format!("{} / {}", self.covered, self.total)
        }
    }
}

/// Per ONNX domain: in scope (current, opsets 1–23), deprecated, newer.
fn summary(c: &Coverage) -> String {
    let mut by_domain: BTreeMap<&str, [Ratio; 3]> = BTreeMap::new();
    for ((domain, op), s) in &c.schemas {
        let covered = c.rules.contains_key(&op_key(domain, op));
        let newer = domain.is_empty() && s.first_version() > SCOPE_OPSET;
        let column = if s.deprecated {
            1
        } else if newer {
            2
        } else {
            0
        };
        by_domain.entry(domain).or_default()[column].add(covered);
    }
    let mut out = format!(
        "## Summary\n\nONNX operators with an nncost rule / operators, by domain. The issue's scope is opsets 1 to \
         {SCOPE_OPSET}: *current* counts the operators of a domain introduced up to opset {SCOPE_OPSET} (every \
         operator of the other domains) whose latest version is not deprecated.\n\n\
         | domain | current | deprecated | newer than opset {SCOPE_OPSET} |\n|---|---|---|---|\n"
    );
    for (domain, [current, deprecated, newer]) in &by_domain {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            domain_name(domain),
            current.cell(),
            deprecated.cell(),
            newer.cell()
        )
        .unwrap();
    }
    let mut contrib: BTreeMap<&str, usize> = BTreeMap::new();
    for (domain, op) in c.rules.keys() {
        if !c.schemas.contains_key(&op_key(domain, op)) {
            *contrib.entry(domain).or_default() += 1;
        }
    }
    let contrib_text: Vec<String> = contrib
        .iter()
        .map(|(d, n)| format!("{n} in `{d}`"))
        .collect();
    writeln!(
        out,
        "\nOutside ONNX's domains, nncost has rules for {} operators: {} (onnxruntime's contrib operators).\n",
        contrib.values().sum::<usize>(),
        contrib_text.join(", ")
    )
    .unwrap();
    out.push_str(&conformance_line(c));
    out
}

fn conformance_line(c: &Coverage) -> String {
    let (mut cases, mut nncost, mut onnx) = (0, 0, 0);
    for s in c.cases.values() {
        cases += s.cases;
        nncost += s.nncost;
        onnx += s.onnx;
    }
    let pct = |n: usize| 100.0 * n as f64 / cases.max(1) as f64;
    format!(
        "ONNX's node test cases: nncost infers every output shape exactly in {nncost} of {cases} cases ({:.1}%), \
         onnx's `infer_shapes(data_prop=True)` in {onnx} ({:.1}%); a case whose shapes depend on input values \
         counts by its variant holding those inputs as initializers (`tests/conformance.rs`).\n\n",
        pct(nncost),
        pct(onnx)
    )
}

fn not_covered_section(c: &Coverage) -> String {
    let mut out = format!(
        "## Not covered (default domain, opsets 1 to {SCOPE_OPSET})\n\n\
         Operators without a rule are reported as such in every analysis, never counted as zero.\n\n"
    );
    if NOT_COVERED.is_empty() {
        out.push_str("None.\n\n");
        return out;
    }
    out.push_str("| operator | since | why |\n|---|---|---|\n");
    for (op, why) in NOT_COVERED {
        let since = c
            .schemas
            .get(&op_key("", op))
            .map_or("—".to_string(), |s| s.first_version().to_string());
        writeln!(out, "| {op} | {since} | {why} |").unwrap();
    }
    out.push('\n');
    out
}

fn operator_table(c: &Coverage) -> String {
    let keys = c.all_keys();
    let mut out = format!(
        "## Operators\n\n{} operators. *ONNX versions*: the opsets that changed the operator (— outside ONNX's \
         domains; *deprecated* marks a deprecated latest version). *Unit tests*: rule tests in \
         `crates/core/src/ops/` that build the operator; for the control-flow operators, the engine's tests \
         (`crates/core/src/analysis.rs`, `control.rs`, `tests/control_flow.rs`) that build one. *ONNX cases*: node test cases passed / cases, and the \
         opsets they run at. *Fixtures*: models in `tests/fixtures/` holding the operator.\n\n\
         | operator | domain | ONNX versions | shape rule | cost rule | unit tests | ONNX cases | at opsets | fixtures |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        keys.len()
    );
    for key in keys {
        out.push_str(&operator_row(c, key));
    }
    out
}

fn operator_row(c: &Coverage, key: &OpKey) -> String {
    let (domain, op) = key;
    let versions = c.schemas.get(key).map_or("—".to_string(), |s| {
        let list: Vec<String> = s.since.iter().map(i64::to_string).collect();
        let deprecated = if s.deprecated { " (deprecated)" } else { "" };
        format!("{}{deprecated}", list.join(", "))
    });
    let rule = c.rules.get(key);
    let shape = if rule.is_some() { "✓" } else { "— no rule" };
    let cost = match rule {
        Some(d) if !d.cost_doc.is_empty() => "[✓](operators.md)",
        _ => "—",
    };
    let count = |m: &BTreeMap<OpKey, usize>| m.get(key).map_or("—".to_string(), usize::to_string);
    let (cases, opsets) = c
        .cases
        .get(key)
        .map_or(("—".to_string(), "—".to_string()), |s| {
            let opsets: Vec<String> = s.opsets.iter().map(i64::to_string).collect();
            (format!("{} / {}", s.nncost, s.cases), opsets.join(", "))
        });
    format!(
        "| {op} | {} | {versions} | {shape} | {cost} | {} | {cases} | {opsets} | {} |\n",
        domain_name(domain),
        count(&c.unit_tests),
        count(&c.fixtures)
    )
}

#[test]
fn coverage_table_is_current() {
    let path = root().join("docs/coverage.md");
    let fresh = generate_coverage(&Coverage::gather());
    if std::env::var_os("NNCOST_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/coverage.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "docs/coverage.md is stale: run NNCOST_UPDATE_DOCS=1 cargo test --test docs \
         (after NNCOST_UPDATE_CONFORMANCE=1 of tests/conformance.rs if conformance outcomes changed)"
    );
}

/// Every default-domain operator of opsets 1 to 23 has a rule or a stated
/// reason in [`NOT_COVERED`]; and nothing listed there has a rule now.
#[test]
fn every_onnx_op_in_scope_has_a_rule_or_a_reason() {
    let c = Coverage::gather();
    let uncovered = c.uncovered_in_scope();
    let listed: Vec<&str> = NOT_COVERED.iter().map(|(op, _)| *op).collect();
    let unexplained: Vec<&&str> = uncovered.iter().filter(|op| !listed.contains(op)).collect();
    let stale: Vec<&&str> = listed.iter().filter(|op| !uncovered.contains(op)).collect();
    assert!(
        unexplained.is_empty(),
        "ONNX operators of opsets 1 to {SCOPE_OPSET} with no rule and not in NOT_COVERED: {unexplained:?}"
    );
    assert!(
        stale.is_empty(),
        "in NOT_COVERED but covered now (or not an ONNX operator of opsets 1 to {SCOPE_OPSET}): {stale:?}; \
         remove them"
    );
}

/// The source scanner counts a test once per operator it names, and takes
/// a shared name's domain from its helper or its statement.
#[test]
fn unit_test_scanner_reads_test_bodies() {
    let src = r#"
fn ms(op: &str) -> NodeTest { NodeTest::new(op).domain("com.microsoft") }
#[test]
fn a() { let s = "{"; let c = '}'; ms("Gelu").run(); NodeTest::new("Gelu").run(); }
#[test]
fn b() { NodeTest::new("Gelu").domain("com.microsoft").run(); /* "Relu" */ items("Gelu"); }
"#;
    let lexemes = lex(src);
    let helpers: BTreeMap<String, String> = fn_bodies(src, &lexemes, false)
        .into_iter()
        .filter_map(|(name, body)| Some((name, domain_call(&src[body])?.to_string())))
        .collect();
    assert_eq!(helpers.get("ms").map(String::as_str), Some("com.microsoft"));
    let tests = fn_bodies(src, &lexemes, true);
    assert_eq!(tests.len(), 2, "both test bodies found");
    let domains = ["", "com.microsoft"];
    let named = |body: &std::ops::Range<usize>| -> Vec<&str> {
        lexemes
            .iter()
            .filter_map(|l| match l {
                Lexeme::Str(at, "Gelu") if body.contains(at) => {
                    Some(literal_domain(src, *at, &domains, &helpers))
                }
                Lexeme::Str(_, "Relu") => Some("commented out"),
                _ => None,
            })
            .collect()
    };
    assert_eq!(named(&tests[0].1), ["com.microsoft", ""]);
    assert_eq!(named(&tests[1].1), ["com.microsoft", ""]);
    // Engine tests reach their models through helpers called by name.
    assert!(calls("let r = loop_model(Some(5)).run();", "loop_model"));
    assert!(!calls("let r = loop_model(Some(5)).run();", "model"));
    assert!(!calls("g.model(x)", "model"));
}
