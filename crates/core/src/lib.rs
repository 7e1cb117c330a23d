//! nncost's engine: a framework-neutral graph, symbolic shape inference, and
//! one rule per operator that gives both its output shapes and its cost.
//!
//! Pure: bytes and graphs in, a [`Report`] out. No file system, no I/O.
//!
//! Conventions (see `docs/conventions.md`):
//! - *params*: elements of the weights and biases a node consumes;
//! - *MACs*: multiply–accumulates of dot-product operators;
//! - *FLOPs*: every scalar add, subtract, multiply, divide, power, square
//!   root, exp/log and comparison counts one.

pub mod analysis;
pub mod control;
pub mod convention;
pub mod cost;
pub mod diff;
pub mod fxhash;
pub mod graph;
pub mod hardware;
pub mod layers;
mod live_facts;
pub mod mask;
mod memo;
pub mod memory;
pub mod name;
pub mod numfmt;
pub mod ops;
pub mod poly;
pub mod report;
pub mod roofline;
pub mod shape;
pub mod shared;
pub mod symbols;
pub mod training;
pub mod value;

pub use analysis::{
    analyze, analyze_at_upper_bounds, analyze_keeping, analyze_streaming, AnalysisError,
    AnalysisOptions, Line, LineDetail, LineSink, LineView,
};
pub use graph::{DType, Graph};
pub use name::Name;
pub use poly::{Overflow, Poly};
pub use report::{Lines, Report};
pub use shape::{Dim, Shape};
