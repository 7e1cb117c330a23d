//! The layer calculator (`nncost layer KIND`), as every front end runs it
//! once it holds a layer: the input read as a sample (a batch axis or
//! channels last set aside, or refused with a hint when a channels-first
//! layer is given one unannounced), the engine's count, the working, and
//! the text or JSON a person reads. The command line builds the layer
//! from its options, the web page from a `.nn` statement
//! ([`nncost_netdesc::layer`]); both print what this returns.

use nncost_core::layers::{layout, Layer};

/// How the input shape is given and what to print.
#[derive(Clone, Debug, Default)]
pub struct LayerRequest {
    /// The input shape as given: `3x224x224`, or with a batch axis or
    /// channels last when the flags say so.
    pub input: Vec<i64>,
    /// `--batch`: the first axis is the batch axis.
    pub batch: bool,
    /// `--channels-last`: the shape ends in the channels.
    pub channels_last: bool,
    /// `--explain`: each formula with the numbers substituted.
    pub explain: bool,
    /// `--format json` instead of the text.
    pub json: bool,
}

/// What the calculator prints, and any place where the working disagrees
/// with the engine (a defect: the tests hold every kind to agreement).
#[derive(Clone, Debug)]
pub struct LayerOutput {
    pub text: String,
    pub disagreements: Vec<String>,
}

/// Why a layer could not be counted on its input: one line naming the
/// layer kind and the input, `layer conv on 3x8x8: …`.
#[derive(Debug, thiserror::Error)]
#[error("layer {kind} on {input}: {message}")]
pub struct LayerRunError {
    pub kind: String,
    pub input: String,
    pub message: String,
}

/// Counts `layer` on the request's input, with the working if asked.
pub fn run(layer: &dyn Layer, request: &LayerRequest) -> Result<LayerOutput, LayerRunError> {
    let given = &request.input;
    let fail = |e: &dyn std::fmt::Display| LayerRunError {
        kind: layer.kind().to_string(),
        input: dims_text(given),
        message: e.to_string(),
    };
    if !request.batch && !request.channels_last && layer.channels_first() {
        if let Some(m) = layout::misread(given) {
            let pass = match (m.batch, m.channels_last) {
                (true, false) => "--batch",
                (false, _) => "--channels-last",
                (true, true) => "--batch --channels-last",
            };
            return Err(fail(&format!("{}) — or pass {pass}", m.reason(given))));
        }
    }
    let input =
        layout::to_sample(given, request.batch, request.channels_last).map_err(|e| fail(&e))?;
    let cost = layer.cost(&input).map_err(|e| fail(&e))?;
    let (explanation, disagreements) = if request.explain {
        let e = layer.explain(&cost).map_err(|e| fail(&e))?;
        let d = e.disagreements();
        (Some(e), d)
    } else {
        (None, Vec::new())
    };
    let text = if request.json {
        nncost_render::layer::render_json(layer, &cost, explanation.as_ref())
    } else {
        with_given_input(
            nncost_render::layer::render_text(layer, &cost, explanation.as_ref()),
            request,
        )
    };
    Ok(LayerOutput {
        text,
        disagreements: disagreements.iter().map(ToString::to_string).collect(),
    })
}

/// A shape as written, `3x224x224` or `3`: non-negative integers joined
/// by `x`.
pub fn parse_dims(text: &str) -> Result<Vec<i64>, String> {
    text.split(['x', 'X'])
        .map(|d| d.trim().parse::<i64>().ok().filter(|&v| v >= 0))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| {
            format!("'{text}' is not a size: give N, or sizes joined by 'x' (3x224x224)")
        })
}

/// `3x224x224`.
pub fn dims_text(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join("x")
}

/// Under `--batch` or `--channels-last`, a line below the input's saying
/// how the shape given was read.
fn with_given_input(text: String, request: &LayerRequest) -> String {
    if !request.batch && !request.channels_last {
        return text;
    }
    let how = match (request.batch, request.channels_last) {
        (true, false) => "the first axis is the batch (--batch)",
        (false, _) => "channels last, read channels first (--channels-last)",
        (true, true) => "a batch axis, then channels last (--batch --channels-last)",
    };
    let note = format!("         given as {}: {how}\n", dims_text(&request.input));
    match text.find("\ninput ") {
        Some(at) => {
            let end = text[at + 1..]
                .find('\n')
                .map_or(text.len(), |e| at + 1 + e + 1);
            format!("{}{note}{}", &text[..end], &text[end..])
        }
        None => text,
    }
}
