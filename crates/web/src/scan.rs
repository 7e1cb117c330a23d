//! An ONNX file read through byte ranges, without its weights: a sans-IO
//! walk of the protobuf that asks for the ranges it needs ([`Scanner::need`],
//! [`Scanner::feed`]) and rebuilds the model with every large initializer
//! payload left out, which is what a weight-stripped model is and what
//! `nncost_onnx::read_bytes` reads to the same report.
//!
//! The walk descends into the messages that can hold initializers —
//! `ModelProto.graph` (7), `training_info` (20) and `functions` (25), a
//! graph's nodes (1), initializers (5) and sparse initializers (15), a
//! node's attributes (5), an attribute's graphs (6, 11), a function's
//! nodes (7), a sparse tensor's values and indices (1, 2) — and copies every
//! other field as it is. In an initializer's `TensorProto` a payload
//! (`raw_data` (9) or a packed typed field: 4, 5, 7, 10, 11) is left out
//! when it is longer than [`DROP_ABOVE`] bytes: it then holds more than
//! [`MAX_TRACKED_ELEMENTS`] elements whatever its type (at most 10 bytes
//! an element, a varint's longest), and the engine never reads the
//! elements of a tensor that large, so the report cannot change. Tensors in
//! node attributes are kept whole: some operators (the ai.onnx.ml tree
//! ensembles) read attribute tensors of any size.
//!
//! Enclosing messages get their lengths recomputed: each open message
//! collects its output, and is written into its parent, with the new
//! length, when its end is reached.

use nncost_core::value::MAX_TRACKED_ELEMENTS;

/// Initializer payloads longer than this are left out.
pub const DROP_ABOVE: u64 = MAX_TRACKED_ELEMENTS * 10;

/// Bytes asked for after a jump over a payload: the next initializer's
/// header and a small payload fit.
const MIN_WINDOW: u64 = 16 * 1024;

/// Largest read, reached by doubling while reading sequentially (a large
/// graph's nodes).
const MAX_WINDOW: u64 = 4 << 20;

/// Why a file is not an ONNX model the scanner can walk. One line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("not an ONNX model: the file is empty")]
    Empty,
    #[error("not an ONNX model: the protobuf ends inside a field at byte {at}")]
    Truncated { at: u64 },
    #[error(
        "not an ONNX model: a field at byte {at} runs past the end of its message (byte {end})"
    )]
    Overrun { at: u64, end: u64 },
    #[error("not an ONNX model: invalid wire type {wire_type} at byte {at}")]
    WireType { wire_type: u8, at: u64 },
    #[error("not an ONNX model: an invalid varint at byte {at}")]
    Varint { at: u64 },
    #[error("not an ONNX model: messages nested deeper than {MAX_DEPTH} at byte {at}")]
    TooDeep { at: u64 },
    #[error("the bytes fed ({got}) are not the {want} asked for at byte {at}")]
    Feed { at: u64, want: u64, got: u64 },
    #[error("the scan is not finished: bytes {at}..{} are still needed", at + len)]
    Unfinished { at: u64, len: u64 },
}

/// Deepest nesting of messages walked (prost's own recursion limit is 100).
pub const MAX_DEPTH: usize = 100;

/// The messages the walk tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    Model,
    TrainingInfo,
    Graph,
    Node,
    Attribute,
    Function,
    /// A `TensorProto` that is an initializer: large payloads dropped.
    Initializer,
    /// A `SparseTensorProto` that is an initializer.
    SparseInitializer,
}

/// What to do with a length-delimited field.
enum Action {
    Descend(Msg),
    Drop,
    Copy,
}

fn action(msg: Msg, field: u64, len: u64) -> Action {
    use Action::*;
    match (msg, field) {
        (Msg::Model, 7) => Descend(Msg::Graph),
        (Msg::Model, 20) => Descend(Msg::TrainingInfo),
        (Msg::Model, 25) => Descend(Msg::Function),
        (Msg::TrainingInfo, 1 | 2) => Descend(Msg::Graph),
        (Msg::Graph, 1) => Descend(Msg::Node),
        (Msg::Graph, 5) => Descend(Msg::Initializer),
        (Msg::Graph, 15) => Descend(Msg::SparseInitializer),
        (Msg::Node, 5) => Descend(Msg::Attribute),
        (Msg::Attribute, 6 | 11) => Descend(Msg::Graph),
        (Msg::Function, 7) => Descend(Msg::Node),
        (Msg::SparseInitializer, 1 | 2) => Descend(Msg::Initializer),
        (Msg::Initializer, 4 | 5 | 7 | 9 | 10 | 11) if len > DROP_ABOVE => Drop,
        _ => Copy,
    }
}

struct Frame {
    msg: Msg,
    /// File offset where the message ends.
    end: u64,
    /// The key bytes of the field holding it (empty for the model).
    key: Vec<u8>,
    out: Vec<u8>,
}

/// What a walk read: bytes and reads, and the payload bytes it left out
/// without reading them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub read: u64,
    pub reads: u64,
    pub dropped: u64,
}

/// A walk of one ONNX file, fed the byte ranges it asks for.
pub struct Scanner {
    file_len: u64,
    /// `file[buf_start .. buf_start + buf.len()]`.
    buf: Vec<u8>,
    buf_start: u64,
    /// The next byte to parse.
    pos: u64,
    stack: Vec<Frame>,
    /// The range asked for, until fed.
    need: Option<(u64, u64)>,
    /// Size of the last read, doubled while reading sequentially.
    window: u64,
    done: Option<Vec<u8>>,
    /// Bytes fed so far, and payload bytes left out.
    read: u64,
    reads: u64,
    dropped: u64,
}

impl Scanner {
    /// A walk of a file of `file_len` bytes.
    pub fn new(file_len: u64) -> Result<Scanner, ScanError> {
        if file_len == 0 {
            return Err(ScanError::Empty);
        }
        let mut s = Scanner {
            file_len,
            buf: Vec::new(),
            buf_start: 0,
            pos: 0,
            stack: vec![Frame {
                msg: Msg::Model,
                end: file_len,
                key: Vec::new(),
                out: Vec::new(),
            }],
            need: None,
            window: MIN_WINDOW / 2,
            done: None,
            read: 0,
            reads: 0,
            dropped: 0,
        };
        s.run()?;
        Ok(s)
    }

    /// The byte range to read next, `(offset, length)`; `None` when the
    /// walk is over.
    pub fn need(&self) -> Option<(u64, u64)> {
        self.need
    }

    /// The bytes of the range [`Scanner::need`] asked for.
    pub fn feed(&mut self, bytes: Vec<u8>) -> Result<(), ScanError> {
        let Some((at, want)) = self.need.take() else {
            return Err(ScanError::Feed {
                at: self.pos,
                want: 0,
                got: bytes.len() as u64,
            });
        };
        if bytes.len() as u64 != want {
            return Err(ScanError::Feed {
                at,
                want,
                got: bytes.len() as u64,
            });
        }
        self.read += want;
        self.reads += 1;
        if at == self.buf_start + self.buf.len() as u64 && !self.buf.is_empty() {
            // A continuation: keep the buffer from the field being parsed.
            let keep = (self.pos.max(self.buf_start) - self.buf_start) as usize;
            self.buf.drain(..keep.min(self.buf.len()));
            self.buf_start += keep as u64;
            self.buf.extend_from_slice(&bytes);
        } else {
            self.buf = bytes;
            self.buf_start = at;
        }
        self.run()
    }

    /// The model rebuilt without its large initializer payloads.
    pub fn finish(self) -> Result<Vec<u8>, ScanError> {
        match (self.done, self.need) {
            (Some(out), _) => Ok(out),
            (None, Some((at, len))) => Err(ScanError::Unfinished { at, len }),
            (None, None) => Err(ScanError::Truncated { at: self.pos }),
        }
    }

    /// What the walk read and left unread so far.
    pub fn stats(&self) -> ScanStats {
        ScanStats {
            read: self.read,
            reads: self.reads,
            dropped: self.dropped,
        }
    }

    /// Whether `file[at .. at + len]` is in the buffer; if not, asks for a
    /// window from `at` holding it.
    fn have(&mut self, at: u64, len: u64) -> bool {
        let end = self.buf_start + self.buf.len() as u64;
        if at >= self.buf_start && at + len <= end {
            return true;
        }
        let sequential = at <= end && at >= self.buf_start && !self.buf.is_empty();
        if sequential {
            // Read on from the buffer's end; what is buffered from the
            // field being parsed on is kept (see `feed`), not read again.
            self.window = (self.window * 2).min(MAX_WINDOW);
            let size = self.window.max(at + len - end).min(self.file_len - end);
            self.need = Some((end, size));
        } else {
            self.window = MIN_WINDOW;
            let size = self.window.max(len).min(self.file_len - at);
            self.need = Some((at, size));
        }
        false
    }

    fn bytes(&self, at: u64, len: u64) -> &[u8] {
        let from = (at - self.buf_start) as usize;
        &self.buf[from..from + len as usize]
    }

    /// A varint at `at` within `limit`: `Ok(None)` when more bytes are
    /// needed (asked for), else the value and its length.
    fn varint(&mut self, at: u64, limit: u64) -> Result<Option<(u64, u64)>, ScanError> {
        let avail = (limit - at).min(10);
        if avail == 0 {
            return Err(ScanError::Truncated { at });
        }
        // Ask for the longest a varint can be (or what the message has
        // left), so that one window always decides.
        if !self.have(at, avail) {
            return Ok(None);
        }
        let mut value: u64 = 0;
        for (i, &b) in self.bytes(at, avail).iter().enumerate() {
            if i == 9 && b > 1 {
                return Err(ScanError::Varint { at });
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(Some((value, i as u64 + 1)));
            }
        }
        if avail < 10 {
            Err(ScanError::Truncated { at })
        } else {
            Err(ScanError::Varint { at })
        }
    }

    /// Walks until a range is needed or the model is done.
    fn run(&mut self) -> Result<(), ScanError> {
        while self.done.is_none() {
            let top = self.stack.last().expect("the model's frame");
            let (msg, end) = (top.msg, top.end);
            if self.pos == end {
                let frame = self.stack.pop().expect("a frame");
                match self.stack.last_mut() {
                    None => self.done = Some(frame.out),
                    Some(parent) => {
                        parent.out.extend_from_slice(&frame.key);
                        put_varint(&mut parent.out, frame.out.len() as u64);
                        parent.out.extend_from_slice(&frame.out);
                    }
                }
                continue;
            }
            let at = self.pos;
            let Some((key, key_len)) = self.varint(at, end)? else {
                return Ok(());
            };
            let wire_type = (key & 7) as u8;
            let field = key >> 3;
            let body = at + key_len;
            // The field's whole length, key included, for a verbatim copy.
            let whole = match wire_type {
                0 => {
                    let Some((_, n)) = self.varint_or_truncated(body, end)? else {
                        return Ok(());
                    };
                    key_len + n
                }
                1 => key_len + 8,
                5 => key_len + 4,
                2 => {
                    let Some((len, n)) = self.varint_or_truncated(body, end)? else {
                        return Ok(());
                    };
                    let start = body + n;
                    let stop = start.checked_add(len).filter(|&s| s <= end).ok_or(
                        if end == self.file_len {
                            ScanError::Truncated { at }
                        } else {
                            ScanError::Overrun { at, end }
                        },
                    )?;
                    match action(msg, field, len) {
                        Action::Descend(child) => {
                            if self.stack.len() >= MAX_DEPTH {
                                return Err(ScanError::TooDeep { at });
                            }
                            let key_bytes = self.bytes(at, key_len).to_vec();
                            self.stack.push(Frame {
                                msg: child,
                                end: stop,
                                key: key_bytes,
                                out: Vec::new(),
                            });
                            self.pos = start;
                            continue;
                        }
                        Action::Drop => {
                            self.dropped += len;
                            self.pos = stop;
                            continue;
                        }
                        Action::Copy => stop - at,
                    }
                }
                other => {
                    return Err(ScanError::WireType {
                        wire_type: other,
                        at,
                    })
                }
            };
            if at + whole > end {
                return Err(if end == self.file_len {
                    ScanError::Truncated { at }
                } else {
                    ScanError::Overrun { at, end }
                });
            }
            if !self.have(at, whole) {
                return Ok(());
            }
            let from = (at - self.buf_start) as usize;
            let frame = self.stack.last_mut().expect("a frame");
            frame
                .out
                .extend_from_slice(&self.buf[from..from + whole as usize]);
            self.pos = at + whole;
        }
        Ok(())
    }

    /// A varint that must lie within `end` (a field's length or value).
    fn varint_or_truncated(&mut self, at: u64, end: u64) -> Result<Option<(u64, u64)>, ScanError> {
        if at >= end {
            return Err(if end == self.file_len {
                ScanError::Truncated { at }
            } else {
                ScanError::Overrun { at, end }
            });
        }
        self.varint(at, end)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Runs a scan over bytes held in memory (tests, and the native check of
/// the page's reading).
pub fn scan_bytes(file: &[u8]) -> Result<(Vec<u8>, ScanStats), ScanError> {
    let mut s = Scanner::new(file.len() as u64)?;
    while let Some((at, len)) = s.need() {
        s.feed(file[at as usize..(at + len) as usize].to_vec())?;
    }
    let stats = s.stats();
    Ok((s.finish()?, stats))
}
