//! What every front end of nncost does before and after the analysis: the
//! command-line tool and the Python package share it.
//!
//! - [`read_path`] and [`read_bytes`]: a model in any supported format
//!   (ONNX, a network description) into a [`Graph`], with the facts of the
//!   file a report states ([`ModelInfo`]);
//! - [`hardware`]: a device by built-in name or from a TOML/JSON profile;
//! - [`attach`]: what the options ask beyond the counts (memory and the
//!   roofline, training, another tool's convention) added to a report;
//! - [`layer`]: the layer calculator run on one layer (`nncost layer`).

use std::io::Read;
use std::path::Path;

use nncost_core::{Graph, Report};
use nncost_render::{Fact, FactValue, ModelInfo};

pub mod hardware;
pub mod layer;

/// Why a model could not be read. The message is one line and names the
/// file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(String);

/// Whether a file is a network description: by its extension, else by its
/// first statement.
pub fn is_network_description(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case(nncost_netdesc::EXTENSION) => true,
        Some(e) if e.eq_ignore_ascii_case("onnx") => false,
        _ => {
            let mut head = Vec::with_capacity(4096);
            std::fs::File::open(path)
                .and_then(|f| f.take(4096).read_to_end(&mut head))
                .is_ok_and(|_| nncost_netdesc::looks_like(&head))
        }
    }
}

/// A panic as one line, for the front ends' panic hooks: a panic is a bug
/// in nncost, never the user's fault, so it is said with where it happened
/// instead of a backtrace.
pub fn panic_line(info: &std::panic::PanicHookInfo<'_>) -> String {
    let place = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unexpected failure");
    format!("internal error{place}: {message}; please report it with the model file")
}

/// Prefixes the file name unless the message already names it.
pub fn with_source(source: &str, message: String) -> String {
    if message.contains(source) {
        message
    } else {
        format!("{source}: {message}")
    }
}

fn onnx_info(source: String, model: &nncost_onnx::Model) -> ModelInfo {
    ModelInfo {
        source,
        format: "onnx".into(),
        ir_version: Some(model.ir_version),
        producer: Some(model.producer.clone()),
        opsets: model.opsets.0.clone(),
        facts: Vec::new(),
    }
}

/// How to read what is not a single graph: which forward pass of a
/// language model to count.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    pub phase: nncost_llm::Phase,
    /// Weights quantized for a language model (`--dtype int4 --group-size
    /// 128`): the bytes they take, as a fact.
    pub quantize: Option<Quantize>,
}

/// A weight quantization: `bits` per element (`name` says which dtype), a
/// 16-bit scale per `group` elements of a matrix row (the whole row when
/// `None`).
#[derive(Clone, Copy, Debug)]
pub struct Quantize {
    pub name: &'static str,
    pub bits: u64,
    pub group: Option<u64>,
}

/// The `config.json` a path names: the file itself, or the one inside a
/// model folder.
fn config_path(path: &Path) -> Option<std::path::PathBuf> {
    if path.is_dir() {
        return Some(path.join("config.json"));
    }
    let name = path.file_name()?.to_str()?;
    (name.ends_with(".json") && !name.ends_with(".index.json")).then(|| path.to_path_buf())
}

/// A Hugging Face config (or model folder) built into its graph, with what
/// the config states beyond the counts.
fn read_config(path: &Path, options: &ReadOptions) -> Result<(Graph, ModelInfo), ReadError> {
    let source = path.display().to_string();
    let text = read_config_text(path)
        .map_err(|e| ReadError(with_source(&source, format!("cannot read: {e}"))))?;
    read_config_str(&text, &source, options)
}

/// A config file's text, read no further than one byte past the largest
/// config accepted (so that a larger file is refused as one, unread).
fn read_config_text(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(nncost_llm::config::MAX_CONFIG_BYTES as u64 + 1)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// A Hugging Face config held in memory (read elsewhere, as a web page
/// reads a dropped file), named `source` in messages.
pub fn read_config_str(
    text: &str,
    source: &str,
    options: &ReadOptions,
) -> Result<(Graph, ModelInfo), ReadError> {
    let model = nncost_llm::from_config_str(text, options.phase)
        .map_err(|e| ReadError(with_source(source, e.to_string())))?;
    let info = ModelInfo {
        source: source.to_string(),
        format: "config".into(),
        facts: llm_facts(&model, options),
        ..ModelInfo::default()
    };
    Ok((model.graph, info))
}

/// What a language model's report states beside its counts.
pub fn llm_facts(model: &nncost_llm::Model, options: &ReadOptions) -> Vec<Fact> {
    let phase = options.phase;
    use nncost_core::Poly;
    let fact = |key: &str, label: &str, value: FactValue| Fact {
        key: key.into(),
        label: label.into(),
        value,
    };
    let count = |n: u128| FactValue::Count(Poly::constant(i128::try_from(n).unwrap_or(i128::MAX)));
    let pass = match phase {
        nncost_llm::Phase::Prefill => "prefill: a prompt of seq tokens, logits at every position",
        nncost_llm::Phase::Decode => "decode: one new token after ctx cached tokens",
    };
    let mut facts = vec![
        fact(
            "model_type",
            "model",
            FactValue::Text(model.model_type.clone()),
        ),
        fact("phase", "pass", FactValue::Text(pass.into())),
        fact(
            "params_embedding",
            "params in embeddings",
            count(model.embedding_params()),
        ),
        fact(
            "params_non_embedding",
            "params elsewhere",
            count(model.params().saturating_sub(model.embedding_params())),
        ),
    ];
    if model.active_params() != model.params() {
        facts.push(fact(
            "params_active",
            "params used per token",
            count(model.active_params()),
        ));
    }
    if let Some((elements, per_token)) = model.kv_cache() {
        facts.push(fact(
            "kv_cache_elements_per_token",
            "KV cache, elements per token",
            count(per_token),
        ));
        facts.push(fact(
            "kv_cache_elements",
            "KV cache, elements after ctx tokens",
            FactValue::Count(elements),
        ));
    }
    if let Some(q) = options.quantize {
        let groups = match q.group {
            Some(g) => format!("groups of {g}"),
            None => "one per row".to_string(),
        };
        facts.push(fact(
            "weights_quantized_bytes",
            &format!(
                "weights at {} ({groups} with a 16-bit scale; embeddings, norms, biases at 16 bits)",
                q.name
            ),
            FactValue::Bytes(Poly::constant(
                i128::try_from(model.quantized_bytes(q.bits, q.group)).unwrap_or(i128::MAX),
            )),
        ));
    }
    facts
}

/// Which checkpoint format a path names, by its name.
fn checkpoint_kind(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json") {
        Some("safetensors")
    } else if name.ends_with(".gguf") {
        Some("gguf")
    } else {
        None
    }
}

/// A safetensors file (or a sharded set through its index) or a GGUF file:
/// its headers only. With the model's architecture known (a config.json
/// beside the safetensors, a GGUF's own metadata), the model is built, each
/// weight stored as the file stores it, and the file's tensors checked
/// against the model's; without it, the tensors alone are counted.
fn read_checkpoint(
    path: &Path,
    kind: &str,
    options: &ReadOptions,
) -> Result<(Graph, ModelInfo), ReadError> {
    let source = path.display().to_string();
    let fail = |m: String| ReadError(with_source(&source, m));
    match kind {
        "safetensors" => {
            let headers = if path.to_string_lossy().ends_with(".index.json") {
                nncost_llm::safetensors::read_sharded(path)
            } else {
                nncost_llm::safetensors::read_file(path).map(|h| vec![(source.clone(), h)])
            }
            .map_err(|e| fail(e.to_string()))?;
            let beside = path.parent().unwrap_or(Path::new(".")).join("config.json");
            let config = read_config_text(&beside).ok();
            let config_source = beside.display().to_string();
            let config = config.as_deref().map(|text| (text, config_source.as_str()));
            read_safetensors_headers(&headers, &source, config, options)
        }
        _ => {
            let file = nncost_llm::gguf::read_file(path).map_err(|e| fail(e.to_string()))?;
            read_gguf_header(&file, &source, options)
        }
    }
}

/// safetensors headers read elsewhere (one file's, or each shard's with
/// its name), with the text of the config.json beside them and its name
/// when there is one: the model the config describes, each weight stored
/// as the headers say and checked against them; without a config, the
/// tensors alone.
pub fn read_safetensors_headers(
    headers: &[(String, nncost_llm::safetensors::Header)],
    source: &str,
    config: Option<(&str, &str)>,
    options: &ReadOptions,
) -> Result<(Graph, ModelInfo), ReadError> {
    use nncost_llm::checkpoint::{self, Checkpoint};
    let ck = Checkpoint::from_safetensors(headers);
    let names = ck
        .tensors
        .iter()
        .map(|t| checkpoint::model_name(&t.name))
        .collect();
    let config = config
        .map(|(text, name)| {
            serde_json::from_str(text).map_err(|e| ReadError(format!("{name}: not JSON: {e}")))
        })
        .transpose()?;
    checkpoint_model(source, "safetensors", ck, config, names, options)
}

/// A GGUF header read elsewhere: the model its metadata describes, else
/// its tensors alone.
pub fn read_gguf_header(
    file: &nncost_llm::gguf::GgufFile,
    source: &str,
    options: &ReadOptions,
) -> Result<(Graph, ModelInfo), ReadError> {
    let ck = nncost_llm::checkpoint::Checkpoint::from_gguf(file);
    let config = nncost_llm::gguf_arch::config(file).ok();
    let model_type = config
        .as_ref()
        .and_then(|c| c["model_type"].as_str())
        .unwrap_or("")
        .to_string();
    let names = ck
        .tensors
        .iter()
        .map(|t| {
            nncost_llm::gguf_arch::model_name(&t.name, &model_type)
                .unwrap_or_else(|| t.name.clone())
        })
        .collect();
    checkpoint_model(source, "gguf", ck, config, names, options)
}

/// A checkpoint's tensors (`names`: each under the model's name for it)
/// built into the model `config` describes, or counted alone without one.
fn checkpoint_model(
    source: &str,
    kind: &str,
    ck: nncost_llm::checkpoint::Checkpoint,
    config: Option<serde_json::Value>,
    names: Vec<String>,
    options: &ReadOptions,
) -> Result<(Graph, ModelInfo), ReadError> {
    use nncost_llm::checkpoint;
    let source = source.to_string();
    let fail = |m: String| ReadError(with_source(&source, m));
    let mut facts = checkpoint_facts(&ck);
    let info = |facts: Vec<Fact>| ModelInfo {
        source: source.clone(),
        format: kind.to_string(),
        facts,
        ..ModelInfo::default()
    };
    let Some(config) = config else {
        facts.push(Fact {
            key: "architecture".into(),
            label: "architecture".into(),
            value: FactValue::Text(match kind {
                "safetensors" => "no config.json beside the file: parameters only".into(),
                _ => "not one nncost builds: parameters only".into(),
            }),
        });
        return Ok((ck.graph(&source), info(facts)));
    };
    let found = checkpoint::by_model_name(names.into_iter().zip(ck.tensors.iter().cloned()));
    let storage: checkpoint::Storage = found
        .iter()
        .filter_map(|(name, parts)| Some((name.clone(), checkpoint::storage_of(parts)?)))
        .collect();
    let model = nncost_llm::from_config_value(&config, options.phase, Some(&storage))
        .map_err(|e| fail(e.to_string()))?;
    let comparison = checkpoint::compare(&model.tensors, &found);
    let mut all = llm_facts(&model, options);
    all.extend(facts);
    all.push(Fact {
        key: "checkpoint_check".into(),
        label: "checkpoint against the architecture".into(),
        value: FactValue::Text(if comparison.is_match() {
            format!("all {} tensors match", comparison.expected)
        } else {
            format!(
                "{} of {} tensors match; {} differ, e.g. {}",
                comparison.matched,
                comparison.expected,
                comparison.differing,
                comparison.differences.join("; ")
            )
        }),
    });
    Ok((model.graph, info(all)))
}

/// What a checkpoint's headers state: files, tensors, elements and bytes by
/// dtype or block format.
fn checkpoint_facts(ck: &nncost_llm::checkpoint::Checkpoint) -> Vec<Fact> {
    use nncost_core::Poly;
    let by = ck
        .by_format()
        .iter()
        .map(|(f, n, b)| {
            let bytes = nncost_render::units::bytes(&Poly::constant(i128::from(*b)), false);
            format!(
                "{f} {} ({bytes})",
                nncost_render::units::human(i128::from(*n))
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let params = ck.params();
    let bits = if params == 0 {
        0.0
    } else {
        ck.bytes() as f64 * 8.0 / params as f64
    };
    vec![
        Fact {
            key: "checkpoint_tensors".into(),
            label: "checkpoint tensors".into(),
            value: FactValue::Text(format!(
                "{} in {} file{}",
                ck.tensors.len(),
                ck.files,
                if ck.files == 1 { "" } else { "s" }
            )),
        },
        Fact {
            key: "checkpoint_elements".into(),
            label: "checkpoint elements".into(),
            value: FactValue::Count(Poly::constant(i128::from(params))),
        },
        Fact {
            key: "checkpoint_bytes".into(),
            label: "checkpoint bytes".into(),
            value: FactValue::Bytes(Poly::constant(i128::from(ck.bytes()))),
        },
        Fact {
            key: "checkpoint_by_format".into(),
            label: "by dtype".into(),
            value: FactValue::Text(format!("{by}; {bits:.3} bits per element")),
        },
    ]
}

/// A model file: a Hugging Face config or model folder, a network
/// description (`.nn`, or any file whose first statement is one), else
/// ONNX. External data is looked for only inside the file's folder.
pub fn read_path(path: &Path) -> Result<(Graph, ModelInfo), ReadError> {
    read_path_with(path, &ReadOptions::default())
}

/// [`read_path`] with the options of formats that hold more than one graph.
pub fn read_path_with(path: &Path, options: &ReadOptions) -> Result<(Graph, ModelInfo), ReadError> {
    if let Some(kind) = checkpoint_kind(path) {
        return read_checkpoint(path, kind, options);
    }
    if let Some(config) = config_path(path) {
        return read_config(&config, options);
    }
    let source = path.display().to_string();
    if is_network_description(path) {
        let graph = nncost_netdesc::read_file(path).map_err(|e| ReadError(e.to_string()))?;
        let info = ModelInfo {
            source,
            format: "nn".into(),
            ..ModelInfo::default()
        };
        return Ok((graph, info));
    }
    let model =
        nncost_onnx::read_file(path).map_err(|e| ReadError(with_source(&source, e.to_string())))?;
    let info = onnx_info(source, &model);
    Ok((model.graph, info))
}

/// A model held in memory, named `source` in messages: a network
/// description when its text starts like one, else ONNX. Without a folder,
/// external data is never opened: weights held outside are counted by
/// their declared dims, as for any file.
pub fn read_bytes(bytes: Vec<u8>, source: &str) -> Result<(Graph, ModelInfo), ReadError> {
    read_bytes_with(bytes, source, &ReadOptions::default())
}

/// [`read_bytes`] of any format nncost reads, told apart by their first
/// bytes: a GGUF file (`GGUF`), a safetensors file (a length, then a JSON
/// header), a Hugging Face config (JSON), a network description, else ONNX
/// (whose first byte is a field tag, never `{`). A checkpoint held in memory
/// has no config beside it: a safetensors file gives its tensors alone.
pub fn read_bytes_with(
    bytes: Vec<u8>,
    source: &str,
    options: &ReadOptions,
) -> Result<(Graph, ModelInfo), ReadError> {
    let fail = |m: String| ReadError(with_source(source, m));
    if bytes.starts_with(b"GGUF") {
        let file = nncost_llm::gguf::parse_bytes(&bytes, bytes.len() as u64)
            .map_err(|e| fail(e.to_string()))?;
        return read_gguf_header(&file, source, options);
    }
    if bytes.len() > 8 && bytes[8] == b'{' {
        let header = nncost_llm::safetensors::parse(&bytes, bytes.len() as u64)
            .map_err(|e| fail(e.to_string()))?;
        return read_safetensors_headers(&[(source.to_string(), header)], source, None, options);
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| fail("a config.json must be UTF-8 text".into()))?;
        return read_config_str(text, source, options);
    }
    if nncost_netdesc::looks_like(&bytes) {
        let text = String::from_utf8(bytes).map_err(|_| {
            ReadError(format!(
                "{source}: a network description must be UTF-8 text"
            ))
        })?;
        let graph =
            nncost_netdesc::read_str(&text, source).map_err(|e| ReadError(e.to_string()))?;
        let info = ModelInfo {
            source: source.to_string(),
            format: "nn".into(),
            ..ModelInfo::default()
        };
        return Ok((graph, info));
    }
    let model = nncost_onnx::read_bytes(bytes.into())
        .map_err(|e| ReadError(with_source(source, e.to_string())))?;
    let info = onnx_info(source.to_string(), &model);
    Ok((model.graph, info))
}

/// What is asked beyond the counts: memory and the roofline, training,
/// another tool's convention (the options `--memory`, `--dtype`,
/// `--hardware`, `--training`, `--frozen`, `--convention`).
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `--memory`: memory even without a device or a dtype.
    pub memory: bool,
    /// `--dtype`: the precision to run at.
    pub dtype: Option<String>,
    /// `--hardware`: a built-in profile's name or a profile file.
    pub hardware: Option<String>,
    /// `--training`: the backward pass too.
    pub training: bool,
    /// `--frozen`: parameters that need no gradient.
    pub frozen: Vec<String>,
    /// `--convention`: the tool whose count to add.
    pub convention: Option<String>,
}

impl Request {
    /// Whether anything is asked for: each part reads every node's line,
    /// so the report must keep them all ([`nncost_core::Lines::All`]).
    pub fn reads_node_lines(&self) -> bool {
        self.memory
            || self.dtype.is_some()
            || self.hardware.is_some()
            || self.training
            || self.convention.is_some()
    }
}

/// The report's symbols for a message: the first few by name, then how
/// many more.
fn symbol_list(report: &Report) -> String {
    const SHOWN: usize = 4;
    let names: Vec<&str> = report.symbols.iter().map(|s| &*s.name).collect();
    match names.len() {
        0 => "none".to_string(),
        n if n <= SHOWN => names.join(", "),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Why something asked could not be added to a report.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error(transparent)]
    Profile(#[from] hardware::ProfileError),
    #[error("a count is too large to represent (past 128 bits)")]
    Overflow,
    /// The memory analysis met a size past 128 bits, or a peak that depends
    /// on the symbols in more ways than it states (see
    /// `nncost_core::memory`).
    #[error(
        "the memory's peak cannot be stated: a size is past 128 bits, or the peak depends on \
         the symbols ({symbols}) in too many ways; bind them with --dim, or take each \
         data-dependent size at its upper bound with --bound max"
    )]
    MemoryOverflow { symbols: String },
    #[error(transparent)]
    Roofline(#[from] nncost_core::roofline::RooflineError),
    #[error(
        "--convention {name}: expected one of nncost, torch, torchvision, fvcore, thop, ptflops"
    )]
    Convention { name: String },
    /// The report was made without a line per node
    /// ([`nncost_core::Lines::Uncounted`]), and what is asked reads them.
    #[error("memory, time, training and conventions need a report with every node's line")]
    LinesLeftOut,
}

/// Adds to the report what `request` asks: memory (when any of its parts
/// is given) and the roofline (with a device), the backward pass, and the
/// count by another tool's convention (after training, which the `torch`
/// convention counts too).
pub fn attach(report: &mut Report, request: &Request) -> Result<(), AttachError> {
    if request.reads_node_lines() && report.lines != nncost_core::Lines::All {
        return Err(AttachError::LinesLeftOut);
    }
    attach_memory(report, request)?;
    if request.training {
        let t = nncost_core::training::training(report, &request.frozen)
            .map_err(|_| AttachError::Overflow)?;
        report.training = Some(t);
    }
    if let Some(name) = &request.convention {
        let convention = nncost_core::convention::Convention::parse(name)
            .ok_or_else(|| AttachError::Convention { name: name.clone() })?;
        let c = nncost_core::convention::apply(report, convention)
            .map_err(|_| AttachError::Overflow)?;
        report.convention = Some(c);
    }
    Ok(())
}

fn attach_memory(report: &mut Report, request: &Request) -> Result<(), AttachError> {
    let dtype = request
        .dtype
        .as_deref()
        .map(hardware::parse_dtype)
        .transpose()?;
    if !request.memory && request.hardware.is_none() && dtype.is_none() {
        return Ok(());
    }
    let profile = request
        .hardware
        .as_deref()
        .map(hardware::resolve)
        .transpose()?;
    let options = nncost_core::memory::MemoryOptions {
        float_dtype: dtype.map(|(_, d)| d),
        ..Default::default()
    };
    let memory = nncost_core::memory::analyze_memory(report, &options).map_err(|_| {
        AttachError::MemoryOverflow {
            symbols: symbol_list(report),
        }
    })?;
    if let Some(profile) = profile {
        let precision = dtype.map_or_else(
            || hardware::model_precision(&report.totals.params_by_dtype),
            |(p, _)| p,
        );
        report.roofline = Some(nncost_core::roofline::roofline(
            report, &memory, &profile, precision,
        )?);
    }
    report.memory = Some(memory);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nncost_core::{analyze_keeping, AnalysisOptions, Lines};

    #[test]
    fn what_reads_every_line_is_refused_a_report_without_them() {
        let graph = nncost_netdesc::read_str("input 1x8\nlinear 4; relu\n", "t.nn").unwrap();
        let options = AnalysisOptions::default();
        let mut few = analyze_keeping(&graph, &options, Lines::Uncounted).unwrap();
        assert!(few.nodes.is_empty());
        let memory = Request {
            memory: true,
            ..Request::default()
        };
        assert!(matches!(
            attach(&mut few, &memory),
            Err(AttachError::LinesLeftOut)
        ));
        // Nothing asked: nothing refused.
        assert!(attach(&mut few, &Request::default()).is_ok());
        let mut all = analyze_keeping(&graph, &options, Lines::All).unwrap();
        attach(&mut all, &memory).unwrap();
        assert!(all.memory.is_some());
    }
}
