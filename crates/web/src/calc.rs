//! The layer calculator as the page's form runs it: a layer written as a
//! `.nn` statement (`conv 64 k=3 p=1`) on an input shape, counted and
//! explained by the code `nncost layer KIND … --explain` runs
//! ([`nncost_load::layer::run`]), so the page prints what the command
//! line prints.

use serde_json::{json, Value};

use crate::WebError;

/// What the form sends.
#[derive(Clone, Debug, Default)]
pub struct Form {
    /// `conv 64 k=3 p=1`.
    pub statement: String,
    /// `3x224x224`.
    pub input: String,
    /// The input's first axis is the batch axis (`--batch`).
    pub batch: bool,
    /// The input is channels last (`--channels-last`).
    pub channels_last: bool,
}

/// The explanation, as `nncost layer … --explain` prints it.
pub fn calculate(form: &Form) -> Result<String, WebError> {
    let input = nncost_load::layer::parse_dims(form.input.trim()).map_err(WebError::Layer)?;
    let made =
        nncost_netdesc::layer(&form.statement).map_err(|e| WebError::Layer(e.to_string()))?;
    // A PyTorch-style name with a rank (`conv2d`) says how many spatial
    // axes the sample has, as in a network description.
    if let Some(rank) = made.spatial_rank {
        let sample = input.len().saturating_sub(usize::from(form.batch));
        let spatial = sample.saturating_sub(1);
        let fits =
            spatial == rank || (made.layer.kind() == "batchnorm" && rank == 1 && spatial == 0);
        if !fits {
            let head = form.statement.split_whitespace().next().unwrap_or("");
            return Err(WebError::Layer(format!(
                "{head} takes {rank} spatial {}, but its input {} has {spatial}",
                if rank == 1 { "axis" } else { "axes" },
                nncost_load::layer::dims_text(&input)
            )));
        }
    }
    let request = nncost_load::layer::LayerRequest {
        input,
        batch: form.batch,
        channels_last: form.channels_last,
        explain: true,
        json: false,
    };
    let out = nncost_load::layer::run(made.layer.as_ref(), &request)
        .map_err(|e| WebError::Layer(e.to_string()))?;
    if let Some(d) = out.disagreements.first() {
        // A defect, as on the command line: say it rather than print
        // working that does not give the numbers.
        return Err(WebError::Layer(format!(
            "internal: the explanation disagrees with the engine: {d}"
        )));
    }
    Ok(out.text)
}

/// The layer kinds the form offers, from the table network descriptions
/// read (`nncost_netdesc::KINDS`) and the activations:
/// `[{name, aliases, positional, options, about}]`.
pub fn kinds() -> Value {
    let mut out: Vec<Value> = nncost_netdesc::KINDS
        .iter()
        .map(|k| {
            json!({
                "name": k.name,
                "aliases": k.aliases,
                "positional": k.positional,
                "options": k.options,
                "about": k.about,
            })
        })
        .collect();
    out.extend(nncost_core::layers::ACTIVATIONS.iter().map(|a| {
        json!({
            "name": a.name,
            "aliases": a.aliases,
            "positional": [],
            "options": nncost_netdesc::activation_options(a.name),
            "about": format!("activation (PyTorch {})", a.pytorch),
        })
    }));
    Value::Array(out)
}
