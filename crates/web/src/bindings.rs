//! What the page's JavaScript calls (wasm32 only). Errors arrive as a JS
//! `Error` whose message is the one line the command line would print;
//! byte offsets are JS numbers (exact to 2^53, past any file).

use std::sync::Mutex;

use wasm_bindgen::prelude::*;

use crate::{calc, page, read};

/// The message of the last panic: a panic aborts the call (a trap in
/// JavaScript), and the page then asks for it, to say what broke in one
/// line as the command line does.
static PANIC: Mutex<String> = Mutex::new(String::new());

#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut p) = PANIC.lock() {
            *p = nncost_load::panic_line(info);
        }
    }));
}

/// The last panic's message, or "".
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> String {
    PANIC.lock().map(|p| p.clone()).unwrap_or_default()
}

fn js(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A reading of the files dropped together.
#[wasm_bindgen]
pub struct Reader {
    inner: Option<read::Reading>,
}

#[wasm_bindgen]
impl Reader {
    /// `names`: a JSON array of the files' names; `sizes`: their sizes.
    #[wasm_bindgen(constructor)]
    pub fn new(names: &str, sizes: &[f64]) -> Result<Reader, JsError> {
        let names: Vec<String> = serde_json::from_str(names).map_err(js)?;
        let sizes = sizes.iter().map(|&s| s as u64).collect();
        Ok(Reader {
            inner: Some(read::Reading::new(names, sizes).map_err(js)?),
        })
    }

    fn reading(&mut self) -> Result<&mut read::Reading, JsError> {
        self.inner
            .as_mut()
            .ok_or_else(|| JsError::new("the reading is over"))
    }

    /// The ranges to read, flat: `[file, offset, length, file, …]`; empty
    /// when done.
    pub fn need(&self) -> Vec<f64> {
        self.inner
            .iter()
            .flat_map(|r| r.need())
            .flat_map(|n| [n.file as f64, n.offset as f64, n.len as f64])
            .collect()
    }

    /// The bytes of the range of `file` at `offset` that was asked for.
    pub fn feed(&mut self, file: u32, offset: f64, bytes: Vec<u8>) -> Result<(), JsError> {
        let need = read::Need {
            file: file as usize,
            offset: offset as u64,
            len: bytes.len() as u64,
        };
        self.reading()?.feed(need, bytes).map_err(js)
    }

    /// `[bytes read, reads]`.
    pub fn stats(&self) -> Vec<f64> {
        self.inner
            .as_ref()
            .map(|r| {
                let (b, n) = r.stats();
                vec![b as f64, n as f64]
            })
            .unwrap_or_default()
    }

    /// The model, once nothing more is needed.
    pub fn finish(&mut self) -> Result<Model, JsError> {
        let reading = self
            .inner
            .take()
            .ok_or_else(|| JsError::new("the reading is over"))?;
        Ok(Model {
            inner: page::Model::new(reading.finish().map_err(js)?),
            html: String::new(),
        })
    }
}

/// A model read, analysed on request.
#[wasm_bindgen]
pub struct Model {
    inner: page::Model,
    html: String,
}

#[wasm_bindgen]
impl Model {
    /// Analyses with the page's choices (JSON, see `page::Choices`) and
    /// returns the summary as JSON; the report is then [`Model::html`].
    pub fn analyse(&mut self, choices: &str) -> Result<String, JsError> {
        let choices = page::Choices::from_json(choices).map_err(js)?;
        let a = self.inner.analyse(&choices).map_err(js)?;
        self.html = a.html;
        Ok(a.summary.to_string())
    }

    /// The last report, as `nncost --format html` writes it.
    pub fn html(&self) -> String {
        self.html.clone()
    }
}

/// The calculator: `statement` (`conv 64 k=3 p=1`) on `input`
/// (`3x224x224`), as `nncost layer … --explain` prints it.
#[wasm_bindgen]
pub fn calculate(
    statement: &str,
    input: &str,
    batch: bool,
    channels_last: bool,
) -> Result<String, JsError> {
    calc::calculate(&calc::Form {
        statement: statement.to_string(),
        input: input.to_string(),
        batch,
        channels_last,
    })
    .map_err(js)
}

/// The built-in devices, as JSON: `[{id, name}]`.
#[wasm_bindgen]
pub fn devices() -> String {
    page::devices().to_string()
}

/// The layer kinds the form offers, as JSON.
#[wasm_bindgen]
pub fn kinds() -> String {
    calc::kinds().to_string()
}
