//! A model read by the page, analysed with the page's choices (symbols
//! bound, a tool's convention, the pass of a language model, data sizes at
//! their bounds) into the HTML report the command line's `--format html`
//! writes, and a summary the page's controls are built from.

use nncost_core::report::SymbolKind;
use nncost_core::{analyze, analyze_at_upper_bounds, AnalysisOptions, Graph, Lines, Report};
use nncost_llm::Phase;
use nncost_render::ModelInfo;
use serde_json::{json, Value};

use crate::read::Source;
use crate::WebError;

/// What the page's controls ask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    /// `--dim NAME=VALUE`; names the model lacks (left from another pass)
    /// are passed over.
    pub dims: Vec<(String, i64)>,
    /// `--convention`: `None` for nncost's counts alone.
    pub convention: Option<String>,
    /// `--phase decode` (language models).
    pub decode: bool,
    /// `--bound max`.
    pub bound_max: bool,
    /// `--memory`.
    pub memory: bool,
    /// `--hardware`: a built-in device.
    pub hardware: Option<String>,
    /// `--dtype`.
    pub dtype: Option<String>,
    /// `--training`.
    pub training: bool,
}

impl Choices {
    /// What the report gets beyond the counts, as the command line's
    /// `--memory`, `--dtype`, `--hardware`, `--training` and
    /// `--convention` ask it (no frozen parameters: the page has no
    /// control for them).
    pub fn request(&self) -> nncost_load::Request {
        nncost_load::Request {
            memory: self.memory,
            dtype: self.dtype.clone(),
            hardware: self.hardware.clone(),
            training: self.training,
            frozen: Vec::new(),
            convention: self.convention.clone(),
        }
    }

    /// The choices as the page sends them:
    /// `{"dims": {"batch": 1}, "convention": "fvcore", "phase": "decode", "bound": "max",
    /// "memory": true, "hardware": "h100", "dtype": "bf16", "training": true}`.
    pub fn from_json(text: &str) -> Result<Choices, WebError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| WebError::Usage(format!("choices are not JSON: {e}")))?;
        let mut dims = Vec::new();
        if let Some(map) = v["dims"].as_object() {
            for (name, value) in map {
                let n = value
                    .as_i64()
                    .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        WebError::Usage(format!(
                            "{name} = {value}: the value must be a non-negative integer"
                        ))
                    })?;
                dims.push((name.clone(), n));
            }
        }
        let text = |key: &str| v[key].as_str().filter(|c| !c.is_empty()).map(String::from);
        Ok(Choices {
            dims,
            convention: text("convention"),
            decode: v["phase"].as_str() == Some("decode"),
            bound_max: v["bound"].as_str() == Some("max"),
            memory: v["memory"].as_bool() == Some(true),
            hardware: text("hardware"),
            dtype: text("dtype"),
            training: v["training"].as_bool() == Some(true),
        })
    }
}

/// A model read, with the graph of the pass last asked for and the
/// symbols of each pass (from an analysis with nothing bound).
pub struct Model {
    source: Source,
    built: Option<(Phase, Graph, ModelInfo)>,
    symbols: Vec<(Phase, Vec<Value>)>,
}

/// A report drawn.
pub struct Analysis {
    pub html: String,
    /// `{"format", "source", "phases", "symbols": [{name, kind, meaning,
    /// upper_bound}], "totals": {params, macs, flops}, "convention"}`.
    pub summary: Value,
}

impl Model {
    pub fn new(source: Source) -> Model {
        Model {
            source,
            built: None,
            symbols: Vec::new(),
        }
    }

    pub fn analyse(&mut self, choices: &Choices) -> Result<Analysis, WebError> {
        let phase = if choices.decode && self.source.has_phases() {
            Phase::Decode
        } else {
            Phase::Prefill
        };
        if self.built.as_ref().is_none_or(|b| b.0 != phase) {
            let (graph, info) = self.source.graph(phase)?;
            self.built = Some((phase, graph, info));
        }
        let (_, graph, info) = self.built.as_ref().expect("built");
        let fail = |e: &dyn std::fmt::Display| {
            WebError::Analysis(nncost_load::with_source(&info.source, e.to_string()))
        };
        if graph.nodes.is_empty() {
            return Err(fail(&"the graph has no nodes: there is nothing to count"));
        }
        // The symbols a field can bind: those of the model with nothing
        // bound, once per pass.
        let mut unbound = None;
        if !self.symbols.iter().any(|(p, _)| *p == phase) {
            let report = analyze(graph, &AnalysisOptions::default()).map_err(|e| fail(&e))?;
            self.symbols.push((phase, symbols(&report)));
            unbound = Some(report);
        }
        let known = &self
            .symbols
            .iter()
            .find(|(p, _)| *p == phase)
            .expect("kept")
            .1;
        let dims: Vec<(String, i64)> = choices
            .dims
            .iter()
            .filter(|(n, _)| known.iter().any(|s| s["name"] == n.as_str()))
            .cloned()
            .collect();
        let options = AnalysisOptions {
            dims,
            ..AnalysisOptions::default()
        };
        let mut report = match unbound {
            Some(r) if options.dims.is_empty() && !choices.bound_max => Ok(r),
            _ if choices.bound_max => analyze_at_upper_bounds(graph, &options, Lines::All),
            _ => analyze(graph, &options),
        }
        .map_err(|e| fail(&e))?;
        nncost_load::attach(&mut report, &choices.request()).map_err(|e| fail(&e))?;
        let html = nncost_render::render_html(&report, info);
        let summary = json!({
            "format": info.format,
            "source": info.source,
            "phases": self.source.has_phases(),
            "phase": match phase { Phase::Prefill => "prefill", Phase::Decode => "decode" },
            "symbols": known,
            "bound": report.bindings.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "totals": {
                "params": report.totals.params,
                "macs": report.totals.cost.macs.to_string(),
                "flops": report.totals.cost.flops.to_string(),
            },
            "convention": report.convention.as_ref().map(|c| json!({
                "name": c.convention.name(),
                "total": c.total.to_string(),
            })),
            "nodes": report.nodes.len(),
        });
        Ok(Analysis { html, summary })
    }
}

/// The built-in devices a roofline can be drawn for: `[{id, name}]`.
pub fn devices() -> Value {
    nncost_core::hardware::builtin_profiles()
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name}))
        .collect()
}

fn symbols(report: &Report) -> Vec<Value> {
    report
        .symbols
        .iter()
        .map(|s| {
            json!({
                "name": &*s.name,
                "kind": match s.kind { SymbolKind::Input => "input", SymbolKind::Data => "data" },
                "meaning": s.meaning,
                "upper_bound": s.upper_bound.as_ref().map(ToString::to_string),
            })
        })
        .collect()
}
