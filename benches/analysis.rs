//! In-process speed benchmark of the library: `nncost_onnx::read_file` +
//! `nncost_core::analyze` (with `batch=1`), then the memory analysis and
//! the roofline on an H100 (`--memory --hardware h100`), repeated on each
//! model.
//!
//! ```text
//! cargo bench --bench analysis                       # default model set
//! cargo bench --bench analysis -- a.onnx b.onnx      # given models
//! NNCOST_BENCH_MODELS=a.onnx:b.onnx cargo bench --bench analysis
//! ```
//!
//! Default models: `examples/resnet18.onnx` (if present) and every
//! `tests/fixtures/torchvision/*.onnx`. Relative paths are resolved against
//! the current directory, then against the workspace root.
//!
//! Per model: warm-up (at least 3 runs and 100 ms), then at least
//! `NNCOST_BENCH_MIN_ITERS` runs (default 30) and at least
//! `NNCOST_BENCH_MIN_SECS` seconds (default 1), capped at 100,000 runs.
//! Prints median, min and p90 wall time per run (read + analyze), the
//! median of each phase, the node count and nodes/s (at the median).
//!
//! This measures the library only: no process start-up, no rendering, no
//! peak RSS. `scripts/bench.py` measures the `nncost` binary end to end
//! (wall time and peak RSS) against `onnx` + shape inference.
//!
//! Heap: the bench counts its allocations (a wrapper around the system
//! allocator) and prints, from the first run of each model, the heap's
//! peak while reading, the graph's live size once read, and the peak of
//! the analysis (graph and report together), each in bytes per node.
//!
//! No criterion, on purpose: std only, to keep compile time low.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use nncost_core::hardware::{builtin_profiles, Precision};
use nncost_core::memory::{analyze_memory, MemoryOptions};
use nncost_core::roofline::roofline;
use nncost_core::{analyze, AnalysisOptions};

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counters are
// bookkeeping only.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(live, Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes of one run: (peak while reading, live once read, peak of
/// the analysis), above what was live before it.
#[derive(Clone, Copy, Default)]
struct Heap {
    read_peak: usize,
    graph: usize,
    analysis_peak: usize,
}

const WARMUP_MIN_RUNS: usize = 3;
const WARMUP_MIN_TIME: Duration = Duration::from_millis(100);
const MAX_RUNS: usize = 100_000;

struct Stats {
    runs: usize,
    nodes: usize,
    unsupported: usize,
    median: Duration,
    min: Duration,
    p90: Duration,
    read_median: Duration,
    analyze_median: Duration,
    memory_median: Duration,
    heap: Heap,
}

fn main() -> ExitCode {
    let min_iters: usize = env_parse("NNCOST_BENCH_MIN_ITERS").unwrap_or(30).max(1);
    let min_time = Duration::from_secs_f64(env_parse("NNCOST_BENCH_MIN_SECS").unwrap_or(1.0));
    let models = model_paths();
    if models.is_empty() {
        eprintln!("analysis bench: no models (pass paths, or set NNCOST_BENCH_MODELS)");
        return ExitCode::from(2);
    }

    let mut options = AnalysisOptions::default();
    options.dims.push(("batch".to_string(), 1));

    println!(
        "nncost analysis bench: read_file + analyze (batch=1); >= {min_iters} runs and >= {:.1} s per model",
        min_time.as_secs_f64()
    );
    println!(
        "{:<28} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>12}",
        "model",
        "nodes",
        "unsup",
        "runs",
        "median ms",
        "min ms",
        "p90 ms",
        "read ms",
        "anlz ms",
        "mem ms",
        "nodes/s"
    );
    let mut failures = 0;
    for path in &models {
        let label = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        match bench_model(path, &options, min_iters, min_time) {
            Ok(s) => {
                let nodes_per_s = s.nodes as f64 / s.median.as_secs_f64().max(1e-12);
                println!(
                    "{:<28} {:>7} {:>6} {:>6} {:>10.3} {:>10.3} {:>10.3} {:>9.3} {:>9.3} {:>9.3} {:>12.0}",
                    label,
                    s.nodes,
                    s.unsupported,
                    s.runs,
                    ms(s.median),
                    ms(s.min),
                    ms(s.p90),
                    ms(s.read_median),
                    ms(s.analyze_median),
                    ms(s.memory_median),
                    nodes_per_s
                );
                let per_node = |bytes: usize| bytes as f64 / s.nodes.max(1) as f64;
                println!(
                    "{:<28} heap per node: reading peak {:.0} B, graph {:.0} B, analysis peak {:.0} B ({:.1} MB)",
                    "",
                    per_node(s.heap.read_peak),
                    per_node(s.heap.graph),
                    per_node(s.heap.analysis_peak),
                    s.heap.analysis_peak as f64 / 1e6
                );
            }
            Err(e) => {
                failures += 1;
                println!("{label:<28} ERROR: {e}");
            }
        }
    }
    if failures > 0 {
        eprintln!("analysis bench: {failures} model(s) failed");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// What one read + analyze + memory and roofline took.
struct Run {
    read: Duration,
    analyze: Duration,
    memory: Duration,
    nodes: usize,
    unsupported: usize,
    heap: Heap,
}

fn run_once(path: &Path, options: &AnalysisOptions) -> Result<Run, String> {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let t0 = Instant::now();
    let model = nncost_onnx::read_file(black_box(path)).map_err(|e| format!("read: {e}"))?;
    let t1 = Instant::now();
    let read_peak = PEAK.load(Relaxed) - base;
    let graph = LIVE.load(Relaxed) - base;
    PEAK.store(LIVE.load(Relaxed), Relaxed);
    let report = analyze(black_box(&model.graph), black_box(options))
        .map_err(|e| format!("analyze: {e}"))?;
    let t2 = Instant::now();
    let analysis_peak = PEAK.load(Relaxed) - base;
    let memory = analyze_memory(black_box(&report), &MemoryOptions::default())
        .map_err(|_| "memory: overflow".to_string())?;
    let h100 = builtin_profiles()
        .into_iter()
        .find(|p| p.id == "h100-sxm")
        .ok_or("no h100 profile")?;
    // A model with symbols left (other than batch) has no roofline.
    let _ = black_box(roofline(&report, &memory, &h100, Precision::Fp32));
    let t3 = Instant::now();
    let nodes = model.graph.nodes.len();
    let unsupported = report.unsupported_count();
    black_box(&report);
    black_box(&memory);
    drop(report);
    drop(model);
    Ok(Run {
        read: t1 - t0,
        analyze: t2 - t1,
        memory: t3 - t2,
        nodes,
        unsupported,
        heap: Heap {
            read_peak,
            graph,
            analysis_peak,
        },
    })
}

fn bench_model(
    path: &Path,
    options: &AnalysisOptions,
    min_iters: usize,
    min_time: Duration,
) -> Result<Stats, String> {
    // Warm-up: page cache, allocator, branch predictors.
    let start = Instant::now();
    let first = run_once(path, options)?;
    let (nodes, unsupported, heap) = (first.nodes, first.unsupported, first.heap);
    let mut warm = 1;
    while warm < WARMUP_MIN_RUNS || start.elapsed() < WARMUP_MIN_TIME {
        run_once(path, options)?;
        warm += 1;
    }

    let mut total = Vec::with_capacity(min_iters);
    let mut read = Vec::with_capacity(min_iters);
    let mut anlz = Vec::with_capacity(min_iters);
    let mut mem = Vec::with_capacity(min_iters);
    let start = Instant::now();
    while (total.len() < min_iters || start.elapsed() < min_time) && total.len() < MAX_RUNS {
        let t = Instant::now();
        let run = run_once(path, options)?;
        total.push(t.elapsed());
        read.push(run.read);
        anlz.push(run.analyze);
        mem.push(run.memory);
    }
    total.sort_unstable();
    read.sort_unstable();
    anlz.sort_unstable();
    mem.sort_unstable();
    Ok(Stats {
        runs: total.len(),
        nodes,
        unsupported,
        median: percentile(&total, 50.0),
        min: total[0],
        p90: percentile(&total, 90.0),
        read_median: percentile(&read, 50.0),
        analyze_median: percentile(&anlz, 50.0),
        memory_median: percentile(&mem, 50.0),
        heap,
    })
}

/// Nearest-rank percentile of sorted, non-empty samples (p50 of an even
/// count is the mean of the two middle samples).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let n = sorted.len();
    if p == 50.0 && n % 2 == 0 {
        return (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(x) => Some(x),
        Err(_) => {
            eprintln!("analysis bench: ignoring {name}={v:?} (not a number)");
            None
        }
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn resolve(p: PathBuf) -> PathBuf {
    if p.is_absolute() || p.exists() {
        p
    } else {
        workspace_root().join(p)
    }
}

/// Models from argv (cargo passes `--bench` and may pass other flags: any
/// argument starting with `-` is ignored), else `NNCOST_BENCH_MODELS`
/// (a path list, `:`-separated on Unix), else the default set.
fn model_paths() -> Vec<PathBuf> {
    let args: Vec<PathBuf> = std::env::args_os()
        .skip(1)
        .filter(|a| !a.to_string_lossy().starts_with('-'))
        .map(PathBuf::from)
        .collect();
    if !args.is_empty() {
        return args.into_iter().map(resolve).collect();
    }
    if let Some(list) = std::env::var_os("NNCOST_BENCH_MODELS") {
        let paths: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .map(resolve)
            .collect();
        if !paths.is_empty() {
            return paths;
        }
    }
    let root = workspace_root();
    let mut models = Vec::new();
    let resnet18 = root.join("examples/resnet18.onnx");
    if resnet18.exists() {
        models.push(resnet18);
    } else {
        eprintln!("analysis bench: {} not found, skipped", resnet18.display());
    }
    let fixtures = root.join("tests/fixtures/torchvision");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    models.extend(found);
    models
}
