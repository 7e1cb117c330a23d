//! Reading dropped files through byte ranges: the page hands over names and
//! sizes, then reads the ranges [`Reading::need`] asks for (a `File`
//! sliced) and feeds them back, until [`Reading::finish`] gives the model.
//!
//! The reading is written as one ordinary function ([`Reading::attempt`])
//! over a cache of the ranges read so far: a range not yet there is noted
//! and the attempt stops; once the page has fed every noted range, the
//! attempt runs again from the start and gets further. Steps before the
//! stop are cheap (a length parsed again), and the ONNX walk, the one long
//! step, keeps its own state ([`Scanner`]).
//!
//! What each format reads:
//! - ONNX: the protobuf without its large initializer payloads
//!   ([`crate::scan`]); external data only for the small tensors a shape
//!   computation may read, when the data file was dropped with the model;
//! - safetensors: 8 bytes, then the JSON header; a config.json dropped with
//!   it gives the architecture;
//! - GGUF: the header, read in growing prefixes until it parses;
//! - `.nn` and config.json: the whole (small) text.

use std::collections::HashMap;
use std::io::Read;

use nncost_core::graph::TensorData;
use nncost_core::Graph;
use nncost_render::ModelInfo;

use crate::scan::Scanner;
use crate::WebError;

/// Largest network description read (they are a few lines).
pub const MAX_NN_BYTES: u64 = 16 << 20;

/// First prefix of a GGUF file tried; each retry reads four times more.
const GGUF_FIRST_PREFIX: u64 = 1 << 20;

/// Bytes looked at to tell a file's format when its name does not.
const SNIFF_BYTES: u64 = 4096;

/// A file's format, from its name (or its first bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Onnx,
    Nn,
    Config,
    Safetensors,
    /// A sharded checkpoint's `model.safetensors.index.json`.
    SafetensorsIndex,
    Gguf,
    /// Told by the first bytes.
    Unknown,
}

/// A format by file name.
pub fn format_of(name: &str) -> Format {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".onnx") {
        Format::Onnx
    } else if lower.ends_with(".nn") {
        Format::Nn
    } else if lower.ends_with(".gguf") {
        Format::Gguf
    } else if lower.ends_with(".safetensors") {
        Format::Safetensors
    } else if lower.ends_with(".safetensors.index.json") {
        Format::SafetensorsIndex
    } else if lower.ends_with(".json") && !lower.ends_with(".index.json") {
        Format::Config
    } else {
        Format::Unknown
    }
}

/// The file the report is about among those dropped together: a model
/// before what goes with it (a config.json beside a checkpoint, an ONNX
/// file's external data).
fn main_file(names: &[String]) -> Option<usize> {
    let rank = |f: Format| match f {
        Format::Onnx => 0,
        Format::Gguf => 1,
        Format::SafetensorsIndex => 2,
        Format::Safetensors => 3,
        Format::Nn => 4,
        Format::Config => 5,
        Format::Unknown => 6,
    };
    (0..names.len()).min_by_key(|&i| (rank(format_of(&names[i])), i))
}

/// A range of one file to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    pub file: usize,
    pub offset: u64,
    pub len: u64,
}

/// What was read, before a report: kept so that another pass of a
/// language model (prefill, decode) is built without reading again.
pub enum Source {
    /// ONNX or a network description: one graph.
    Graph(Box<(Graph, ModelInfo)>),
    Config {
        text: String,
        name: String,
    },
    Safetensors {
        /// Each file's name and header: one, or an index's shards.
        headers: Vec<(String, nncost_llm::safetensors::Header)>,
        /// The file's name, or the index's.
        name: String,
        /// The config.json dropped with it: its text and name.
        config: Option<(String, String)>,
    },
    Gguf {
        file: Box<nncost_llm::gguf::GgufFile>,
        name: String,
    },
}

impl Source {
    /// Whether the model is built per pass (a language model from its
    /// config), so that the page offers prefill and decode.
    pub fn has_phases(&self) -> bool {
        !matches!(self, Source::Graph(_))
    }

    /// The graph and the facts of the report, for a pass.
    pub fn graph(&self, phase: nncost_llm::Phase) -> Result<(Graph, ModelInfo), WebError> {
        let options = nncost_load::ReadOptions {
            phase,
            ..Default::default()
        };
        match self {
            Source::Graph(g) => Ok((g.0.clone(), g.1.clone())),
            Source::Config { text, name } => {
                Ok(nncost_load::read_config_str(text, name, &options)?)
            }
            Source::Safetensors {
                headers,
                name,
                config,
            } => {
                let config = config.as_ref().map(|(t, n)| (t.as_str(), n.as_str()));
                Ok(nncost_load::read_safetensors_headers(
                    headers, name, config, &options,
                )?)
            }
            Source::Gguf { file, name } => Ok(nncost_load::read_gguf_header(file, name, &options)?),
        }
    }
}

/// The ranges read so far, per file: runs of bytes, a range fed right after
/// a run joining it (so that a growing prefix stays one run).
#[derive(Default)]
struct Cache {
    runs: HashMap<usize, Vec<(u64, Vec<u8>)>>,
}

impl Cache {
    fn get(&self, file: usize, offset: u64, len: u64) -> Option<&[u8]> {
        self.runs.get(&file)?.iter().find_map(|(start, bytes)| {
            let end = start + bytes.len() as u64;
            (offset >= *start && offset + len <= end)
                .then(|| &bytes[(offset - start) as usize..(offset - start + len) as usize])
        })
    }

    /// What is missing of a range: all of it, or the part after a run
    /// that covers its start.
    fn missing(&self, file: usize, offset: u64, len: u64) -> Need {
        let end = offset + len;
        let covered = self
            .runs
            .get(&file)
            .into_iter()
            .flatten()
            .map(|(s, b)| (*s, s + b.len() as u64))
            .filter(|&(s, e)| s <= offset && e > offset && e < end)
            .map(|(_, e)| e)
            .max();
        let from = covered.unwrap_or(offset);
        Need {
            file,
            offset: from,
            len: end - from,
        }
    }

    fn put(&mut self, need: Need, bytes: Vec<u8>) {
        let runs = self.runs.entry(need.file).or_default();
        if let Some((_, run)) = runs
            .iter_mut()
            .find(|(s, b)| s + b.len() as u64 == need.offset)
        {
            run.extend_from_slice(&bytes);
        } else {
            runs.push((need.offset, bytes));
        }
    }
}

/// Why an attempt stopped.
enum Stop {
    /// Ranges to read first (noted in `Reading::needs`).
    Pending,
    Failed(WebError),
}

impl<E: Into<WebError>> From<E> for Stop {
    fn from(e: E) -> Stop {
        Stop::Failed(e.into())
    }
}

/// A reading of dropped files.
pub struct Reading {
    names: Vec<String>,
    sizes: Vec<u64>,
    main: usize,
    cache: Cache,
    needs: Vec<Need>,
    scanner: Option<Scanner>,
    scanned: Option<Vec<u8>>,
    /// The prefix of a GGUF file to try next.
    gguf_prefix: u64,
    result: Option<Source>,
    bytes_read: u64,
    reads: u64,
}

impl Reading {
    /// A reading of the files dropped together, by name and size.
    pub fn new(names: Vec<String>, sizes: Vec<u64>) -> Result<Reading, WebError> {
        Reading::with_first_prefix(names, sizes, GGUF_FIRST_PREFIX)
    }

    /// [`Reading::new`], trying a GGUF header in prefixes from `first`
    /// bytes on (the tests read small files in several).
    pub fn with_first_prefix(
        names: Vec<String>,
        sizes: Vec<u64>,
        first: u64,
    ) -> Result<Reading, WebError> {
        if names.len() != sizes.len() {
            return Err(WebError::Usage("as many sizes as names".into()));
        }
        let main = main_file(&names).ok_or_else(|| WebError::Usage("no file given".into()))?;
        let mut r = Reading {
            gguf_prefix: first.max(1).min(sizes[main]),
            names,
            sizes,
            main,
            cache: Cache::default(),
            needs: Vec::new(),
            scanner: None,
            scanned: None,
            result: None,
            bytes_read: 0,
            reads: 0,
        };
        r.step()?;
        Ok(r)
    }

    /// The file the report is about.
    pub fn main_name(&self) -> &str {
        &self.names[self.main]
    }

    /// The ranges to read next (all of them may be read at once); empty
    /// when the reading is over.
    pub fn need(&self) -> &[Need] {
        &self.needs
    }

    /// The bytes of one range [`Reading::need`] asked for; when the last
    /// of them is fed, the reading goes on.
    pub fn feed(&mut self, need: Need, bytes: Vec<u8>) -> Result<(), WebError> {
        let Some(at) = self.needs.iter().position(|n| *n == need) else {
            return Err(WebError::Usage(format!(
                "bytes {}..{} of file {} were not asked for",
                need.offset,
                need.offset + need.len,
                need.file
            )));
        };
        if bytes.len() as u64 != need.len {
            return Err(WebError::Usage(format!(
                "{} bytes fed for a range of {}",
                bytes.len(),
                need.len
            )));
        }
        self.needs.remove(at);
        self.bytes_read += need.len;
        self.reads += 1;
        if need.file == self.main && self.scanner.is_some() {
            let scanner = self.scanner.as_mut().expect("a scan");
            let fed = scanner.feed(bytes);
            let next = scanner.need();
            fed.map_err(|e| self.scan_error(e))?;
            match next {
                Some((offset, len)) => self.needs.push(Need {
                    file: self.main,
                    offset,
                    len,
                }),
                None => {
                    let s = self.scanner.take().expect("a scan");
                    self.scanned = Some(s.finish().map_err(|e| self.scan_error(e))?);
                }
            }
        } else {
            self.cache.put(need, bytes);
        }
        if self.needs.is_empty() {
            self.step()?;
        }
        Ok(())
    }

    fn scan_error(&self, e: crate::scan::ScanError) -> WebError {
        WebError::Read(format!("{}: {e}", self.names[self.main]))
    }

    /// Bytes read and reads made.
    pub fn stats(&self) -> (u64, u64) {
        (self.bytes_read, self.reads)
    }

    /// What was read, once [`Reading::need`] is empty.
    pub fn finish(self) -> Result<Source, WebError> {
        self.result.ok_or_else(|| {
            WebError::Usage("the reading is not finished: bytes are still needed".into())
        })
    }

    fn step(&mut self) -> Result<(), WebError> {
        if self.result.is_some() {
            return Ok(());
        }
        match self.attempt() {
            Ok(source) => {
                self.result = Some(source);
                Ok(())
            }
            Err(Stop::Pending) => Ok(()),
            Err(Stop::Failed(e)) => Err(e),
        }
    }

    /// `file[offset .. offset + len]`, or the range noted as needed.
    fn read(&mut self, file: usize, offset: u64, len: u64) -> Result<&[u8], Stop> {
        if self.cache.get(file, offset, len).is_none() {
            let need = self.cache.missing(file, offset, len);
            if !self.needs.contains(&need) {
                self.needs.push(need);
            }
            return Err(Stop::Pending);
        }
        Ok(self.cache.get(file, offset, len).unwrap_or_default())
    }

    /// A whole small file as text.
    fn text(&mut self, file: usize, limit: u64) -> Result<String, Stop> {
        let len = self.sizes[file].min(limit);
        let name = self.names[file].clone();
        let bytes = self.read(file, 0, len)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            Stop::Failed(WebError::Read(format!(
                "{name}: not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            )))
        })
    }

    fn attempt(&mut self) -> Result<Source, Stop> {
        let main = self.main;
        let name = self.names[main].clone();
        let size = self.sizes[main];
        let mut format = format_of(&name);
        if format == Format::Unknown {
            let head = self.read(main, 0, size.min(SNIFF_BYTES))?;
            format = if head.starts_with(b"GGUF") {
                Format::Gguf
            } else if nncost_netdesc::looks_like(head) {
                Format::Nn
            } else {
                Format::Onnx
            };
        }
        match format {
            Format::Onnx | Format::Unknown => self.onnx(main),
            Format::Nn => {
                if size > MAX_NN_BYTES {
                    return Err(Stop::Failed(WebError::Read(format!(
                        "{name}: {size} bytes is too large for a network description"
                    ))));
                }
                let text = self.text(main, MAX_NN_BYTES)?;
                let graph = nncost_netdesc::read_str(&text, &name)
                    .map_err(|e| WebError::Read(e.to_string()))?;
                let info = ModelInfo {
                    source: name,
                    format: "nn".into(),
                    ..ModelInfo::default()
                };
                Ok(Source::Graph(Box::new((graph, info))))
            }
            Format::Config => {
                // One byte past the limit, for the reader to say it is too long.
                let limit = nncost_llm::config::MAX_CONFIG_BYTES as u64 + 1;
                let text = self.text(main, limit)?;
                Ok(Source::Config { text, name })
            }
            Format::Safetensors => self.safetensors(main, false),
            Format::SafetensorsIndex => self.safetensors(main, true),
            Format::Gguf => self.gguf(main),
        }
    }

    fn onnx(&mut self, main: usize) -> Result<Source, Stop> {
        let name = self.names[main].clone();
        let Some(compact) = self.scanned.clone() else {
            let scanner = Scanner::new(self.sizes[main])
                .map_err(|e| WebError::Read(format!("{name}: {e}")))?;
            let (offset, len) = scanner.need().expect("a new scan reads");
            self.needs.push(Need {
                file: main,
                offset,
                len,
            });
            self.scanner = Some(scanner);
            return Err(Stop::Pending);
        };
        let (mut graph, info) = nncost_load::read_bytes(compact, &name)?;
        self.small_external_tensors(&mut graph)?;
        Ok(Source::Graph(Box::new((graph, info))))
    }

    /// The elements of small initializers held in external data, when their
    /// file was dropped with the model (as the command line reads those
    /// beside the model): a shape computation may need them. A file not
    /// dropped leaves them unknown, as a stripped model does.
    fn small_external_tensors(&mut self, graph: &mut Graph) -> Result<(), Stop> {
        let mut pending = false;
        for i in 0..graph.values.len() {
            let value = &graph.values[i];
            let Some(external) = value.initializer.as_ref().and_then(|t| t.small_external()) else {
                continue;
            };
            let location = external.location;
            let base = location.rsplit(['/', '\\']).next().unwrap_or(location);
            let Some(file) = (0..self.names.len())
                .find(|&f| f != self.main && !base.is_empty() && self.names[f] == base)
            else {
                continue;
            };
            let refuse = |reason: String| {
                Stop::Failed(WebError::Read(format!(
                    "{}: initializer '{}': external data '{location}': {reason}",
                    self.names[self.main], value.name
                )))
            };
            external.check_length().map_err(refuse)?;
            external.end_within(self.sizes[file]).map_err(refuse)?;
            let (offset, nbytes) = (external.offset, external.nbytes);
            match self.read(file, offset, nbytes) {
                Ok(bytes) => {
                    let bytes = bytes.to_vec();
                    if let Some(t) = &mut graph.values[i].initializer {
                        t.data = TensorData::Raw(bytes.into());
                    }
                }
                Err(Stop::Pending) => pending = true,
                Err(e) => return Err(e),
            }
        }
        if pending {
            Err(Stop::Pending)
        } else {
            Ok(())
        }
    }

    /// A safetensors checkpoint: one file, or an index (`main` is then the
    /// index) and the shards it names, dropped together; with the
    /// config.json dropped with them.
    fn safetensors(&mut self, main: usize, sharded: bool) -> Result<Source, Stop> {
        use nncost_llm::safetensors;
        let name = self.names[main].clone();
        let on = |file: &str, e: safetensors::Error| {
            Stop::Failed(WebError::Read(nncost_load::with_source(
                file,
                e.to_string(),
            )))
        };
        // Everything is asked for before stopping, so that the page reads
        // the ranges of every file together.
        let mut pending = false;
        let mut wait = |r: Result<(), Stop>| match r {
            Err(Stop::Pending) => {
                pending = true;
                Ok(())
            }
            other => other,
        };
        let mut config = None;
        if let Some(f) = (0..self.names.len())
            .find(|&f| f != main && self.names[f].eq_ignore_ascii_case("config.json"))
        {
            let limit = nncost_llm::config::MAX_CONFIG_BYTES as u64 + 1;
            wait(self.text(f, limit).map(|text| {
                config = Some((text, self.names[f].clone()));
            }))?;
        }
        let (shards, index) = if sharded {
            let text = self.text(main, safetensors::MAX_INDEX_LEN + 1)?;
            let index = safetensors::parse_index(text.as_bytes()).map_err(|e| on(&name, e))?;
            let mut files = Vec::new();
            for shard in index.shards() {
                let file = (0..self.names.len())
                    .find(|&f| f != main && self.names[f] == shard)
                    .ok_or_else(|| {
                        Stop::Failed(WebError::Read(format!(
                            "{name}: shard '{shard}' was not given: drop the index with its shards (and config.json)"
                        )))
                    })?;
                files.push(file);
            }
            (files, Some(index))
        } else {
            (vec![main], None)
        };
        let mut headers = Vec::new();
        for file in shards {
            match self.safetensors_header(file) {
                Ok(h) => headers.push((self.names[file].clone(), h)),
                Err(e) => wait(Err(e))?,
            }
        }
        if pending {
            return Err(Stop::Pending);
        }
        if let Some(index) = &index {
            safetensors::check_sharded(index, &headers).map_err(|e| on(&name, e))?;
        }
        Ok(Source::Safetensors {
            headers,
            name,
            config,
        })
    }

    /// One safetensors file's header: 8 bytes, then the JSON they measure.
    fn safetensors_header(&mut self, file: usize) -> Result<nncost_llm::safetensors::Header, Stop> {
        use nncost_llm::safetensors::{self, MAX_HEADER_LEN};
        let name = self.names[file].clone();
        let size = self.sizes[file];
        let fail = |e: safetensors::Error| {
            Stop::Failed(WebError::Read(nncost_load::with_source(
                &name,
                e.to_string(),
            )))
        };
        let len = match self.read(file, 0, size.min(8))? {
            b if b.len() == 8 => u64::from_le_bytes(b.try_into().unwrap_or_default()),
            // The reader says what is wrong with a file this short.
            b => return Err(fail(safetensors::parse(b, size).unwrap_err())),
        };
        // Past the limit or the file, the reader refuses on the length
        // alone: read no more than it would.
        let want = (8 + len.min(MAX_HEADER_LEN)).min(size);
        let bytes = self.read(file, 0, want)?;
        safetensors::parse(bytes, size).map_err(fail)
    }

    fn gguf(&mut self, main: usize) -> Result<Source, Stop> {
        let name = self.names[main].clone();
        let size = self.sizes[main];
        let prefix = self.gguf_prefix;
        let bytes = self.read(main, 0, prefix)?;
        let mut reader = Starving {
            data: bytes,
            starved: false,
            more: prefix < size,
        };
        match nncost_llm::gguf::parse(&mut reader, size) {
            Ok(file) => Ok(Source::Gguf {
                file: Box::new(file),
                name,
            }),
            Err(_) if reader.starved => {
                self.gguf_prefix = prefix.saturating_mul(4).min(size);
                self.read(main, 0, self.gguf_prefix)?;
                Err(Stop::Pending)
            }
            Err(e) => Err(Stop::Failed(WebError::Read(nncost_load::with_source(
                &name,
                e.to_string(),
            )))),
        }
    }
}

/// A prefix of a file as a reader, noting whether the parser wanted bytes
/// past it (then a longer prefix is read and the parse tried again).
struct Starving<'a> {
    data: &'a [u8],
    starved: bool,
    /// Whether the file has more than the prefix.
    more: bool,
}

impl Read for Starving<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.is_empty() && !buf.is_empty() && self.more {
            self.starved = true;
        }
        self.data.read(buf)
    }
}
