//! Network descriptions: a network written by hand in a few lines, read
//! into nncost's graph model and counted by the same engine as an ONNX file.
//!
//! ```text
//! input 3x32x32                 # channels first, without the batch axis
//! conv 6 k=5; tanh; avgpool 2
//! residual
//!   conv 16 k=3 p=1; relu
//! end
//! flatten; linear 10
//! ```
//!
//! The format is documented in `docs/netdesc.md`. Every layer is one of the
//! calculator's layer kinds ([`nncost_core::layers`]); each is appended to
//! the graph after the engine has told its output shape, so a layer that
//! does not fit its input is reported at its line and column.
//!
//! ```
//! let graph = nncost_netdesc::read_str("input 3x8x8\nconv 4 k=3\nrelu\n", "tiny.nn").unwrap();
//! let report = nncost_core::analyze(&graph, &Default::default()).unwrap();
//! assert_eq!(report.totals.params, 4 * 3 * 9 + 4);
//! assert_eq!(report.totals.cost.macs.to_string(), "3888*batch"); // 4·6·6·27 per sample
//!
//! let err = nncost_netdesc::read_str("input 3x8x8\nconv 4 k=9\n", "tiny.nn").unwrap_err();
//! assert!(err.to_string().starts_with("tiny.nn:2:1: conv on 3x8x8:"));
//! ```

use std::path::Path;

use nncost_core::Graph;

mod build;
mod kinds;
pub mod parse;

pub use kinds::{activation_options, Made, KINDS};
pub use parse::Span;

/// The file extension of network descriptions.
pub const EXTENSION: &str = "nn";

/// A problem with a network description, at a line and column where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{file}:{}:{}: {message}{context}", span.line, span.col)]
    At {
        file: String,
        span: Span,
        message: String,
        /// Where the failing line was reached from: ` (in 'down' called at 31:1)`.
        context: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

impl Error {
    pub fn at(file: &str, span: Span, message: impl Into<String>) -> Error {
        Error::At {
            file: file.to_string(),
            span,
            message: message.into(),
            context: String::new(),
        }
    }
}

/// Largest description accepted: 4 MiB, some 40 times ResNet-18's in
/// `examples/` unrolled by hand layer by layer, past the layer limit.
pub const MAX_SOURCE_BYTES: usize = 4 << 20;

/// Reads a description from text; `file` names it in errors.
pub fn read_str(source: &str, file: &str) -> Result<Graph, Error> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(Error::File {
            file: file.to_string(),
            message: format!(
                "more than {} bytes: descriptions are limited to {} MiB",
                nncost_core::numfmt::grouped(MAX_SOURCE_BYTES as i128),
                MAX_SOURCE_BYTES >> 20
            ),
        });
    }
    let parsed = parse::parse(source, file)?;
    let name = Path::new(file)
        .file_stem()
        .map_or("network".into(), |s| s.to_string_lossy().into_owned());
    build::build(&parsed, &name, file)
}

/// One layer statement as a description writes it (`conv 64 k=3 p=1`,
/// `relu`, `maxpool 3 s=2 ceil_mode=true`), made into the calculator's
/// layer: for front ends that take a layer as text, as the web page's
/// calculator does. Errors name the column as `layer:1:COL`.
///
/// ```
/// let made = nncost_netdesc::layer("conv 64 k=3 p=1").unwrap();
/// assert_eq!(made.layer.kind(), "conv");
/// assert!(nncost_netdesc::layer("conv 64 k=3; relu").is_err());
/// ```
pub fn layer(statement: &str) -> Result<Made, Error> {
    const FILE: &str = "layer";
    let mut stmts = parse::statements(statement, FILE)?;
    let s = match stmts.len() {
        1 => stmts.remove(0),
        0 => {
            return Err(Error::File {
                file: FILE.into(),
                message: "give a layer, e.g. 'conv 64 k=3 p=1'".into(),
            })
        }
        _ => {
            return Err(Error::at(
                FILE,
                stmts[1].head.span,
                "one layer at a time (a network is a .nn file)",
            ))
        }
    };
    kinds::make(FILE, &s.head, &s.args).unwrap_or_else(|| {
        Err(Error::at(
            FILE,
            s.head.span,
            format!("unknown layer kind '{}'", s.head.text),
        ))
    })
}

/// Reads a description file.
pub fn read_file(path: &Path) -> Result<Graph, Error> {
    let file = path.display().to_string();
    let cannot_read = |e: std::io::Error| Error::File {
        file: file.clone(),
        message: if path.is_dir() {
            "is a directory, not a network description".into()
        } else {
            format!("cannot read: {e}")
        },
    };
    // Read no further than one byte past the largest description accepted,
    // so that a larger file is refused without being read whole.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            use std::io::Read;
            f.take(MAX_SOURCE_BYTES as u64 + 1).read_to_end(&mut bytes)
        })
        .map_err(cannot_read)?;
    let text = String::from_utf8(bytes).map_err(|e| Error::File {
        file: file.clone(),
        message: format!(
            "not a network description: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    read_str(&text, &file)
}

/// Whether bytes look like a network description: UTF-8 text whose first
/// statement (past blank lines and `#` comments) is `input` or `def`.
pub fn looks_like(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A multi-byte character cut at the 4096-byte mark is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| {
            let first = l.split(|c: char| c.is_whitespace() || c == ';').next();
            matches!(first, Some("input" | "def"))
        })
}
