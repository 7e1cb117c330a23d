//! Hostile inputs, generated here and run through the real binary under an
//! address-space limit and a clock: each must end in time, within the
//! memory, with exit code 0 (when there is a report to give) or 2 and one
//! line on standard error — never a signal, a hang or a second line.
//!
//! The cases are those of the README's resource model ("Untrusted model
//! files"), scaled so that each runs in seconds in a debug build. The
//! bounds are loose on purpose (a loaded CI machine must not fail them)
//! but far below what the bugs they guard against took: a quadratic
//! de-duplication of 50,000 unknown nodes, a decode of 10 million empty
//! nodes into 2 GB, a stack overflow on deep nesting, a spin on empty
//! repeats.

#![cfg(unix)]

#[path = "../crates/onnx/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nncost_onnx::proto::GraphProto;

/// Address space each run may use: 1 GiB.
const ONE_GIB: u64 = 1 << 30;

/// How a bounded run ended.
struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    seconds: f64,
}

/// Runs nncost with `args` (and `stdin`), under an address-space limit of
/// `memory` bytes, killing it after `timeout`. Panics if it was killed or
/// died of a signal.
fn run_bounded(args: &[&str], stdin: Option<&[u8]>, memory: u64, timeout: Duration) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nncost"));
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the
    // parent; it is the only call made between fork and exec.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: memory,
                rlim_max: memory,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("nncost starts");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    // Drain both pipes while waiting, so that a large report cannot stall
    // the child on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nncost {args:?} still ran after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let seconds = started.elapsed().as_secs_f64();
    let outcome = Outcome {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
        seconds,
    };
    assert!(
        outcome.code.is_some(),
        "nncost {args:?} died of a signal ({status:?}); stderr: {}",
        outcome.stderr
    );
    outcome
}

/// Exit code 2 and exactly one line on standard error, which says `needle`.
fn assert_one_line_refusal(o: &Outcome, needle: &str) {
    assert_eq!(o.code, Some(2), "stderr: {}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "not one line: {:?}", o.stderr);
    assert!(o.stderr.starts_with("nncost: error: "), "{:?}", o.stderr);
    assert!(o.stderr.contains(needle), "{:?} lacks {needle:?}", o.stderr);
}

/// A fresh scratch folder per test, removed when the test ends (the
/// generated files reach tens of megabytes).
struct Scratch(PathBuf);

impl Scratch {
    fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }

    /// `g` as a model file, `m.onnx`, in this folder.
    fn write_model(&self, g: GraphProto) -> PathBuf {
        let path = self.join("m.onnx");
        std::fs::write(&path, encode(&model(g))).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("nncost-limits-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    Scratch(dir)
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Protobuf written by hand, for files whose prost form would itself need
/// the gigabytes the test is about.
mod wire {
    pub fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// A length-delimited field.
    pub fn field(tag: u32, payload: &[u8], out: &mut Vec<u8>) {
        varint(u64::from(tag) << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    /// A model around an encoded graph: IR 8, default opset 17.
    pub fn model(graph: &[u8]) -> Vec<u8> {
        let mut m = vec![0x08, 8]; // ir_version = 8
        field(7, graph, &mut m);
        let mut opset = Vec::new();
        opset.extend_from_slice(&[0x10, 17]); // version = 17
        field(8, &opset, &mut m);
        m
    }
}

fn float_input(name: &str, dims: &[D]) -> nncost_onnx::proto::ValueInfoProto {
    vi(name, FLOAT, Some(dims))
}

/// Ten million empty nodes (20 MB): refused at the first node past the
/// limit, as they are decoded, not after 2 GB of them were.
#[test]
fn empty_nodes_past_the_limit_are_refused_as_they_are_decoded() {
    let dir = scratch("empty-nodes");
    let mut graph = Vec::with_capacity(20_000_000);
    for _ in 0..10_000_000 {
        graph.extend_from_slice(&[0x0a, 0x00]); // node {}
    }
    let path = dir.join("m.onnx");
    std::fs::write(&path, wire::model(&graph)).unwrap();
    let o = run_bounded(&[path_str(&path)], None, ONE_GIB, Duration::from_secs(60));
    assert_one_line_refusal(&o, "more than 2,000,000 nodes in the model");
}

/// Five million empty attributes on one node (10 MB) once took 1.6 GB.
#[test]
fn attributes_past_the_limit_are_refused_as_they_are_decoded() {
    let dir = scratch("empty-attributes");
    let mut node = Vec::new();
    wire::field(4, b"Relu", &mut node);
    for _ in 0..5_000_000 {
        node.extend_from_slice(&[0x2a, 0x00]); // attribute {}
    }
    let mut graph = Vec::new();
    wire::field(1, &node, &mut graph);
    let path = dir.join("m.onnx");
    std::fs::write(&path, wire::model(&graph)).unwrap();
    let o = run_bounded(&[path_str(&path)], None, ONE_GIB, Duration::from_secs(30));
    assert_one_line_refusal(&o, "more than 4,096 attributes on one node");
    assert!(o.seconds < 10.0, "took {:.1} s", o.seconds);
}

/// A Relu chain of `n` nodes on a `batch`×8 input, as bytes.
fn relu_chain(n: usize) -> Vec<u8> {
    let mut g = GraphProto {
        name: "chain".into(),
        input: vec![float_input("v0", &[D::P("batch"), D::V(8)])],
        ..Default::default()
    };
    g.node = (0..n)
        .map(|i| {
            node(
                "Relu",
                &format!("n{i}"),
                &[&format!("v{i}")],
                &[&format!("v{}", i + 1)],
            )
        })
        .collect();
    g.output = vec![vi(&format!("v{n}"), FLOAT, None)];
    encode(&model(g)).to_vec()
}

/// More nodes than a gigabyte holds: the process ends with one line and
/// exit code 2 (the allocator's out-of-memory exit), not an abort. Under
/// no limit the same file is analysed (`tests/cli.rs` and the benchmarks
/// run such chains).
#[test]
fn running_out_of_memory_is_one_line_and_exit_code_2() {
    let dir = scratch("oom");
    let path = dir.join("chain.onnx");
    std::fs::write(&path, relu_chain(1_000_000)).unwrap();
    // 256 MiB of address space: not enough for a million nodes.
    let o = run_bounded(
        &[path_str(&path), "--summary"],
        None,
        256 << 20,
        Duration::from_secs(60),
    );
    assert_one_line_refusal(&o, "out of memory");
}

/// Unknown operators are grouped by a hash map, not a list search: 50,000
/// of them once took 9 s in a release build (quadratic); now linear.
#[test]
fn many_unknown_nodes_are_listed_in_linear_time() {
    let dir = scratch("unknown");
    let n = 50_000;
    let g = GraphProto {
        name: "g".into(),
        node: (0..n)
            .map(|i| {
                node(
                    &format!("Mystery{}", i % 1000),
                    &format!("n{i}"),
                    &[&format!("v{i}")],
                    &[&format!("v{}", i + 1)],
                )
            })
            .collect(),
        input: vec![float_input("v0", &[D::V(4)])],
        output: vec![vi(&format!("v{n}"), FLOAT, None)],
        ..Default::default()
    };
    let path = dir.write_model(g);
    let o = run_bounded(
        &[path_str(&path), "--summary"],
        None,
        ONE_GIB,
        Duration::from_secs(60),
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let text = String::from_utf8_lossy(&o.stdout);
    // Grouped by kind, the dozen largest named, one line.
    assert!(text.contains("not counted: 50,000 nodes — "), "{text}");
    assert!(text.contains("Mystery0 ×50, "), "{text}");
    assert!(
        text.contains("… and 988 more operator types (see --format json)\n"),
        "{text}"
    );
    assert!(o.seconds < 30.0, "took {:.1} s", o.seconds);
}

/// A shape of rank 300,000 through Transpose, Squeeze and Unsqueeze: the
/// rules are linear in the rank (Transpose once took 44 s).
#[test]
fn huge_ranks_are_handled_in_linear_time() {
    let dir = scratch("rank");
    let rank = 300_000;
    let ones: Vec<D> = (0..rank).map(|_| D::V(1)).collect();
    for op in ["Transpose", "Squeeze", "Unsqueeze"] {
        let mut n = node(op, "n", &["x"], &["y"]);
        let axes: Vec<i64> = match op {
            "Transpose" => (0..rank as i64).rev().collect(),
            _ => (0..rank as i64).step_by(2).collect(),
        };
        if op == "Transpose" {
            n.attribute = vec![ints_attr("perm", &axes)];
        } else {
            n.attribute = vec![ints_attr("axes", &axes)];
        }
        let g = GraphProto {
            name: "g".into(),
            node: vec![n],
            input: vec![float_input("x", &ones)],
            output: vec![vi("y", FLOAT, None)],
            ..Default::default()
        };
        let mut m = model(g);
        // Squeeze and Unsqueeze take `axes` as an attribute up to opset 12.
        m.opset_import[0].version = 11;
        let path = dir.join(format!("{op}.onnx"));
        std::fs::write(&path, encode(&m)).unwrap();
        let o = run_bounded(
            &[path_str(&path), "--summary"],
            None,
            ONE_GIB,
            Duration::from_secs(60),
        );
        assert!(matches!(o.code, Some(0 | 2)), "{op}: {}", o.stderr);
        assert!(o.stderr.lines().count() <= 1, "{op}: {}", o.stderr);
        assert!(o.seconds < 20.0, "{op} took {:.1} s", o.seconds);
    }
}

/// Dims named by long symbols (each 60,000 characters), through 200 nodes:
/// shapes are shared, not copied per node and padded per row, so the
/// table stays within the limit (it once needed 5 GB for a 0.5 MB file).
#[test]
fn long_symbol_names_do_not_multiply_memory() {
    let dir = scratch("symbols");
    let names: Vec<&'static str> = (0..8)
        .map(|i| &*Box::leak(format!("{}{i}", "s".repeat(60_000)).into_boxed_str()))
        .collect();
    let dims: Vec<D> = names.iter().map(|n| D::P(n)).collect();
    let n = 200;
    let g = GraphProto {
        name: "g".into(),
        node: (0..n)
            .map(|i| {
                node(
                    "Relu",
                    &format!("n{i}"),
                    &[&format!("v{i}")],
                    &[&format!("v{}", i + 1)],
                )
            })
            .collect(),
        input: vec![float_input("v0", &dims)],
        output: vec![vi(&format!("v{n}"), FLOAT, None)],
        ..Default::default()
    };
    let path = dir.write_model(g);
    for format in ["table", "json"] {
        let o = run_bounded(
            &[path_str(&path), "--format", format],
            None,
            ONE_GIB,
            Duration::from_secs(60),
        );
        assert!(matches!(o.code, Some(0 | 2)), "{format}: {}", o.stderr);
        assert!(o.stderr.lines().count() <= 1, "{format}: {}", o.stderr);
        if format == "table" {
            // Rows show long shapes and counts shortened (the header and
            // the totals show them whole): once 195 MB, now about 2 MB.
            assert_eq!(o.code, Some(0), "{}", o.stderr);
            assert!(o.stdout.len() < 4_000_000, "{} bytes", o.stdout.len());
        }
    }
}

/// A FIFO named as a small tensor's external data is refused at once
/// (opening it for reading would block until a writer came).
#[test]
fn a_fifo_as_external_data_does_not_block() {
    let dir = scratch("fifo");
    let fifo = dir.join("shape.bin");
    let c = std::ffi::CString::new(path_str(&fifo)).unwrap();
    // SAFETY: a valid NUL-terminated path.
    #[allow(unsafe_code)]
    let made = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo");
    let path = dir.write_model(reshape_by_external_target("shape.bin"));
    let o = run_bounded(&[path_str(&path)], None, ONE_GIB, Duration::from_secs(20));
    assert_one_line_refusal(&o, "external data 'shape.bin' refused");
    assert!(o.seconds < 5.0, "took {:.1} s", o.seconds);
}

/// A node name with a newline and an escape sequence cannot forge a second
/// error line or reach the terminal raw.
#[test]
fn names_with_control_characters_stay_on_one_escaped_line() {
    let dir = scratch("names");
    let forged = "a\nnncost: error: forged\x1b[31m";
    let g = GraphProto {
        name: "g".into(),
        node: vec![node("Relu", forged, &["missing"], &["y"])],
        input: vec![float_input("x", &[D::V(4)])],
        output: vec![vi("y", FLOAT, None)],
        ..Default::default()
    };
    let path = dir.write_model(g);
    let o = run_bounded(&[path_str(&path)], None, ONE_GIB, Duration::from_secs(20));
    assert_one_line_refusal(&o, r"a\nnncost: error: forged\x1b[31m");
    assert!(!o.stderr.contains('\x1b'));
}

/// Network descriptions: nesting, repetition and definitions that would
/// overflow the stack, spin or expand exponentially, and lines and
/// argument lists of tens of megabytes.
#[test]
fn hostile_network_descriptions_are_refused_in_bounded_time_and_memory() {
    let deep = format!(
        "input 3x8x8\n{}relu\n{}",
        "residual\n".repeat(6_200),
        "end\n".repeat(6_200)
    );
    let empty_repeats = "input 3x8x8\nrepeat 100000\nrepeat 100000\nrepeat 100000\nend\nend\nend\n";
    // Each definition calls the one before twice: 2^40 layers if unrolled.
    let mut exponential = String::from("input 3x8x8\ndef d0\n relu\nend\n");
    for i in 1..=40 {
        exponential.push_str(&format!("def d{i}\n d{p}\n d{p}\nend\n", p = i - 1));
    }
    exponential.push_str("d40\n");
    let long_line = format!("input 3x8x8\nrelu {}\n", "x".repeat(1_000_000));
    let many_arguments = format!("input 3x8x8\nrelu{}\n", " a=1".repeat(200_000));
    // Many statements on lines of allowed length.
    let many_statements = "input 3x8x8\n".to_string() + &"relu; relu\n".repeat(150_000);
    let big_file = "# comment\n".repeat(1_000_000);
    let cases: [(&str, &str, &str); 7] = [
        ("deep", &deep, ":66:1: blocks nest deeper than 64"),
        (
            "empty-repeats",
            empty_repeats,
            "the repeats run more than 100,000 times in all",
        ),
        (
            "exponential",
            &exponential,
            "the network unrolls to more than 100,000 layers",
        ),
        (
            "long-line",
            &long_line,
            ":2:1: line longer than 4,096 characters",
        ),
        ("many-arguments", &many_arguments, "line longer than 4,096"),
        (
            "many-statements",
            &many_statements,
            "more than 200,000 statements in one file",
        ),
        ("big-file", &big_file, "descriptions are limited to 4 MiB"),
    ];
    let dir = scratch("netdesc");
    for (name, text, needle) in cases {
        let path = dir.join(format!("{name}.nn"));
        std::fs::write(&path, text).unwrap();
        // The slowest case, the exponential definitions, builds 100,000
        // layers before it is refused: about 1 s in a release build, and up
        // to 30 s in a debug build beside the other tests on two cores.
        let o = run_bounded(&[path_str(&path)], None, ONE_GIB, Duration::from_secs(120));
        assert_one_line_refusal(&o, needle);
        assert!(o.seconds < 60.0, "{name} took {:.1} s", o.seconds);
    }
}

/// `nncost layer` with a shape of 32,769 axes once panicked in the
/// renderer's padding.
#[test]
fn a_layer_of_many_axes_renders() {
    let shape = vec!["1"; 32_769].join("x");
    let o = run_bounded(
        &["layer", "relu", "--input", &shape],
        None,
        ONE_GIB,
        Duration::from_secs(30),
    );
    assert!(matches!(o.code, Some(0 | 2)), "{}", o.stderr);
    assert!(o.stderr.lines().count() <= 1, "{}", o.stderr);
    if o.code == Some(0) {
        assert!(!o.stdout.is_empty());
    }
}
