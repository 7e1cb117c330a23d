//! Rule results remembered by what a rule reads, so that a node whose
//! operator, attributes and input facts equal an earlier node's takes the
//! earlier result instead of running the rule again.
//!
//! Real models repeat themselves: a language model's 126 decoder blocks, a
//! ResNet's bottlenecks, an unrolled recurrence. Their nodes see the same
//! shapes (symbolic ones included) and attributes, and a rule is a function
//! of exactly those: its outputs' facts, cost, access and logical weight
//! elements follow from them. What a rule may take from elsewhere is kept
//! out: a rule that names a data-dependent size after its node, or that
//! fails (its message names inputs), is not remembered.
//!
//! A hit is confirmed by comparing everything the key hashes, so a hash
//! collision costs a comparison, never a wrong result.

use std::hash::{Hash, Hasher};

use crate::cost::Cost;
use crate::fxhash::{FxHashMap, FxHasher};
use crate::graph::{AttrValue, Attribute, Node};
use crate::ops::Access;
use crate::value::{ConstValue, ValueFacts};

/// At most this many results are kept: a memo that never hits stays small.
const MAX_ENTRIES: usize = 4096;

/// What a rule produced.
#[derive(Clone, Debug)]
pub(crate) struct RuleResult {
    pub outputs: Vec<ValueFacts>,
    pub cost: Cost,
    pub access: Access,
    pub products: Option<(u8, u8)>,
    pub logical_elements: Vec<(usize, u64)>,
}

struct Entry {
    op_type: crate::Name,
    domain: crate::Name,
    opset: i64,
    outputs: usize,
    attributes: Box<[Attribute]>,
    inputs: Vec<Option<ValueFacts>>,
    result: RuleResult,
}

/// One entry per key: two different inputs under one 64-bit key are
/// rare enough that the second is simply not remembered (its lookup
/// compares and misses). A list per key cost an allocation of four
/// entries for each result remembered.
#[derive(Default)]
pub(crate) struct Memo {
    entries: FxHashMap<u64, Entry>,
}

/// Whether the memo may stand for this node: attributes it can compare
/// (a graph attribute makes a control-flow node, which has bodies).
fn rememberable(node: &Node) -> bool {
    node.attributes.iter().all(|a| {
        !matches!(
            a.value,
            AttrValue::Graph(_) | AttrValue::Graphs(_) | AttrValue::Other
        )
    })
}

/// Hashes what [`Memo::get`] compares of an input's facts. The small
/// parts go in one word: a key is a chain of dependent multiplies, one per
/// word, and taking it is most of what a node that takes a remembered
/// result costs.
fn hash_facts(f: &ValueFacts, h: &mut FxHasher) {
    let value_kind = match &f.value {
        None => 0,
        Some(ConstValue::Ints(_)) => 1,
        Some(ConstValue::Floats(_)) => 2,
    };
    let sequence = f.sequence.as_ref().map_or(0, |s| s.len() as u64 + 1);
    h.write_u64(
        f.dtype.map_or(0, |d| d as u64 + 1)
            | value_kind << 8
            | u64::from(f.pattern.is_some()) << 10
            | sequence << 11,
    );
    f.shape.hash(h);
    match &f.value {
        None => {}
        Some(ConstValue::Ints(v)) => v.hash(h),
        Some(ConstValue::Floats(v)) => v.iter().for_each(|x| x.to_bits().hash(h)),
    }
}

fn hash_attribute(a: &Attribute, h: &mut FxHasher) {
    a.name.hash(h);
    match &a.value {
        AttrValue::Int(v) => v.hash(h),
        AttrValue::Float(v) => v.to_bits().hash(h),
        AttrValue::String(v) => v.hash(h),
        AttrValue::Ints(v) => v.hash(h),
        AttrValue::Floats(v) => v.iter().for_each(|x| x.to_bits().hash(h)),
        AttrValue::Strings(v) => v.hash(h),
        AttrValue::Tensor(t) => t.dims.hash(h),
        AttrValue::Graph(_) | AttrValue::Graphs(_) | AttrValue::Other => {}
    }
}

/// The key a node's result is remembered under; `None` when the memo
/// cannot stand for the node.
pub(crate) fn key(node: &Node, opset: i64, inputs: &[Option<&ValueFacts>]) -> Option<u64> {
    if !rememberable(node) {
        return None;
    }
    let mut h = FxHasher::default();
    node.op_type.hash(&mut h);
    node.domain.hash(&mut h);
    h.write_u64((opset as u64).rotate_left(32) ^ node.outputs.len() as u64);
    node.attributes
        .iter()
        .for_each(|a| hash_attribute(a, &mut h));
    for f in inputs {
        match f {
            None => h.write_u8(0),
            Some(f) => hash_facts(f, &mut h),
        }
    }
    Some(h.finish())
}

impl Memo {
    /// The result remembered under `key` (see [`key`]) for a node reading
    /// these facts, if any.
    pub fn get(
        &self,
        key: u64,
        node: &Node,
        opset: i64,
        inputs: &[Option<&ValueFacts>],
    ) -> Option<&RuleResult> {
        let e = self.entries.get(&key)?;
        let same = e.op_type == node.op_type
            && e.domain == node.domain
            && e.opset == opset
            && e.outputs == node.outputs.len()
            && e.attributes == node.attributes
            && e.inputs.len() == inputs.len()
            && e.inputs.iter().zip(inputs).all(|(a, b)| a.as_ref() == *b);
        same.then_some(&e.result)
    }

    /// Remembers a rule's successful result under `key` (a copy, made
    /// only when there is room and the key is new).
    pub fn put(
        &mut self,
        key: u64,
        node: &Node,
        opset: i64,
        inputs: &[Option<&ValueFacts>],
        result: &RuleResult,
    ) {
        if self.entries.len() >= MAX_ENTRIES {
            return;
        }
        self.entries.entry(key).or_insert_with(|| Entry {
            op_type: node.op_type.clone(),
            domain: node.domain.clone(),
            opset,
            outputs: node.outputs.len(),
            attributes: node.attributes.clone(),
            inputs: inputs.iter().map(|f| f.cloned()).collect(),
            result: result.clone(),
        });
    }
}
