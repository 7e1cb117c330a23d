//! The native half of the `nncost` Python package: it reads a model, runs
//! the analysis (and, on request, memory and the roofline) and keeps the
//! report, which Python reads through the renderers: the versioned JSON
//! for data, the table, Markdown, CSV and HTML for people. The Python half
//! (`python/nncost/`) builds the user-facing API on these.

use nncost_core::{analyze, analyze_at_upper_bounds, AnalysisOptions, Poly, Report};
use nncost_load::Request;
use nncost_render::{JsonOptions, ModelInfo, SortKey, TableOptions};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

create_exception!(
    _nncost,
    NncostError,
    PyValueError,
    "A model nncost cannot read or analyse, or an option it cannot apply; the message is the command-line tool's one line."
);

/// What to analyse a model with: the CLI's options, as Python passes them
/// (a tuple: dims, input shapes, bound at max, memory, dtype, hardware,
/// training, frozen parameters, convention).
#[derive(FromPyObject)]
struct Options(
    Vec<(String, i64)>,
    Vec<(String, Vec<i64>)>,
    bool,
    bool,
    Option<String>,
    Option<String>,
    bool,
    Vec<String>,
    Option<String>,
);

/// An analysed model.
#[pyclass(frozen, module = "nncost._nncost")]
struct NativeReport {
    report: Report,
    info: ModelInfo,
}

fn error(message: impl Into<String>) -> PyErr {
    NncostError::new_err(message.into())
}

fn run(graph: nncost_core::Graph, info: ModelInfo, options: Options) -> PyResult<NativeReport> {
    let Options(
        dims,
        input_shapes,
        bound_max,
        memory,
        dtype,
        hardware,
        training,
        frozen,
        convention,
    ) = options;
    let analysis = AnalysisOptions { dims, input_shapes };
    let source = info.source.clone();
    let with_source = |message: String| error(nncost_load::with_source(&source, message));
    let mut report = if bound_max {
        analyze_at_upper_bounds(&graph, &analysis, nncost_core::Lines::All)
    } else {
        analyze(&graph, &analysis)
    }
    .map_err(|e| with_source(e.to_string()))?;
    let request = Request {
        memory,
        dtype,
        hardware,
        training,
        frozen,
        convention,
    };
    nncost_load::attach(&mut report, &request).map_err(|e| with_source(e.to_string()))?;
    Ok(NativeReport { report, info })
}

/// Analyses the model file at `path` (ONNX, a network description, a
/// Hugging Face config or folder, a safetensors or GGUF file); `phase`
/// (`prefill` or `decode`) picks a language model's pass.
#[pyfunction]
fn analyze_path(
    py: Python<'_>,
    path: std::path::PathBuf,
    options: Options,
    phase: &str,
) -> PyResult<NativeReport> {
    let phase = parse_phase(phase);
    py.detach(|| {
        let read = nncost_load::ReadOptions {
            phase,
            ..Default::default()
        };
        let (graph, info) = nncost_load::read_path_with(&path, &read).map_err(|e| e.to_string())?;
        Ok::<_, String>((graph, info))
    })
    .map_err(error)
    .and_then(|(graph, info)| run(graph, info, options))
}

/// Analyses a model held in memory (the bytes of an ONNX file or the text
/// of a network description), named `source` in messages.
#[pyfunction]
fn analyze_bytes(
    data: Vec<u8>,
    source: &str,
    options: Options,
    phase: &str,
) -> PyResult<NativeReport> {
    let read = nncost_load::ReadOptions {
        phase: parse_phase(phase),
        ..Default::default()
    };
    let (graph, info) =
        nncost_load::read_bytes_with(data, source, &read).map_err(|e| error(e.to_string()))?;
    run(graph, info, options)
}

/// A language model's pass by name (the Python side checks it).
fn parse_phase(phase: &str) -> nncost_llm::Phase {
    match phase {
        "decode" => nncost_llm::Phase::Decode,
        _ => nncost_llm::Phase::Prefill,
    }
}

/// Evaluates a count's expression with the given bindings: the integer
/// (as a decimal string) when no symbol is left, else the expression.
#[pyfunction]
fn evaluate(expression: &str, dims: Vec<(String, i64)>) -> PyResult<String> {
    let p = Poly::parse(expression).map_err(|e| error(format!("'{expression}': {e}")))?;
    let bound = p
        .substitute(&|name| {
            dims.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| i128::from(*v))
        })
        .map_err(|_| error(format!("'{expression}': too large to represent")))?;
    Ok(bound.to_string())
}

/// The names of the symbols an expression depends on.
#[pyfunction]
fn symbols(expression: &str) -> PyResult<Vec<String>> {
    let p = Poly::parse(expression).map_err(|e| error(format!("'{expression}': {e}")))?;
    Ok(p.symbols().into_iter().map(|s| s.to_string()).collect())
}

fn sort_key(sort: Option<&str>) -> PyResult<Option<SortKey>> {
    match sort {
        None => Ok(None),
        Some("flops") => Ok(Some(SortKey::Flops)),
        Some("macs") => Ok(Some(SortKey::Macs)),
        Some("params") => Ok(Some(SortKey::Params)),
        Some(other) => Err(error(format!(
            "sort='{other}': expected 'flops', 'macs' or 'params'"
        ))),
    }
}

#[pymethods]
impl NativeReport {
    /// The JSON report (schema `nncost.report`), with the groupings asked
    /// for.
    #[pyo3(signature = (by_op=false, depth=None, tree=false))]
    fn json(&self, by_op: bool, depth: Option<usize>, tree: bool) -> String {
        nncost_render::render_json_with(
            &self.report,
            &self.info,
            JsonOptions { by_op, depth, tree },
        )
    }

    /// The table as the command-line tool prints it.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (width=None, exact=false, by_op=false, depth=None, tree=false, top=None, sort=None, summary=false, format="table"))]
    fn text(
        &self,
        width: Option<usize>,
        exact: bool,
        by_op: bool,
        depth: Option<usize>,
        tree: bool,
        top: Option<usize>,
        sort: Option<&str>,
        summary: bool,
        format: &str,
    ) -> PyResult<String> {
        let options = TableOptions {
            exact,
            by_op,
            depth,
            sort: sort_key(sort)?,
            top,
            summary,
            tree,
            width,
        };
        Ok(match format {
            "table" => nncost_render::render_table(&self.report, &self.info, options),
            "markdown" => nncost_render::render_markdown(&self.report, &self.info, options),
            "csv" => nncost_render::render_csv(&self.report, options),
            other => {
                return Err(error(format!(
                    "format='{other}': expected 'table', 'markdown' or 'csv'"
                )))
            }
        })
    }

    /// The self-contained HTML page.
    fn html(&self) -> String {
        nncost_render::render_html(&self.report, &self.info)
    }
}

#[pymodule]
fn _nncost(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NncostError", m.py().get_type::<NncostError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<NativeReport>()?;
    m.add_function(wrap_pyfunction!(analyze_path, m)?)?;
    m.add_function(wrap_pyfunction!(analyze_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(symbols, m)?)?;
    Ok(())
}
