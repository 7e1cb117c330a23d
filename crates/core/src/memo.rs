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
use crate::shape::SharedShape;
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

impl Entry {
    /// Whether the entry was made for this node and these inputs.
    fn is_for(&self, node: &Node, opset: i64, inputs: &[Option<&ValueFacts>]) -> bool {
        self.op_type == node.op_type
            && self.domain == node.domain
            && self.opset == opset
            && self.outputs == node.outputs.len()
            && self.attributes == node.attributes
            && self.inputs.len() == inputs.len()
            && self
                .inputs
                .iter()
                .zip(inputs)
                .all(|(a, b)| a.as_ref() == *b)
    }
}

/// One entry per key: two different inputs under one 64-bit key are
/// rare enough that the second is simply not remembered (its lookup
/// compares and misses). A list per key cost an allocation of four
/// entries for each result remembered.
#[derive(Default)]
pub(crate) struct Memo {
    entries: Vec<Entry>,
    by_key: FxHashMap<u64, u32>,
    /// The last entries found, each with what it was found for (see
    /// [`Seen`]); replaced in turn.
    seen: Vec<Seen>,
    next_seen: usize,
}

/// How many recent finds [`Memo::find`] looks at first.
const SEEN: usize = 8;

/// An entry found for a node of no attributes and at most
/// [`SEEN_INPUTS`] inputs with neither elements, sequence nor pattern
/// known, told by the identities of what it was found for: its operator
/// and domain names, and its inputs' types and shapes, each held so that
/// no other can take its address. A later node with those very names and
/// shapes is one the entry is for, found without a key: in a repeated
/// stretch of a graph, nodes read the shapes earlier nodes' remembered
/// results share (the key's hashing and the entry's comparison were a
/// sixth of the walk of a chain of unary nodes).
struct Seen {
    op_type: crate::Name,
    domain: crate::Name,
    opset: i64,
    outputs: usize,
    inputs: [SeenInput; SEEN_INPUTS],
    input_count: usize,
    entry: u32,
}

const SEEN_INPUTS: usize = 2;

/// An input of a [`Seen`] find: `None` for an omitted one, else its type
/// and shape.
type SeenInput = Option<(Option<crate::graph::DType>, Option<SharedShape>)>;

impl Seen {
    /// What `node`'s find is told by, if it can be.
    fn of(node: &Node, opset: i64, inputs: &[Option<&ValueFacts>], entry: u32) -> Option<Seen> {
        if !node.attributes.is_empty() || inputs.len() > SEEN_INPUTS {
            return None;
        }
        let mut seen_inputs: [SeenInput; SEEN_INPUTS] = Default::default();
        for (seen, input) in seen_inputs.iter_mut().zip(inputs) {
            *seen = match input {
                None => None,
                Some(f) if is_plain(f) => Some((f.dtype, f.shape.clone())),
                Some(_) => return None,
            };
        }
        Some(Seen {
            op_type: node.op_type.clone(),
            domain: node.domain.clone(),
            opset,
            outputs: node.outputs.len(),
            inputs: seen_inputs,
            input_count: inputs.len(),
            entry,
        })
    }

    /// Whether `node` (of no attributes) reads what this find was for.
    fn is_for(&self, node: &Node, opset: i64, inputs: &[Option<&ValueFacts>]) -> bool {
        self.op_type.id() == node.op_type.id()
            && self.domain.id() == node.domain.id()
            && self.opset == opset
            && self.outputs == node.outputs.len()
            && self.input_count == inputs.len()
            && self
                .inputs
                .iter()
                .zip(inputs)
                .all(|(seen, input)| match (seen, input) {
                    (None, None) => true,
                    (Some((dtype, shape)), Some(f)) => {
                        *dtype == f.dtype
                            && is_plain(f)
                            && match (shape, &f.shape) {
                                (None, None) => true,
                                (Some(a), Some(b)) => a.is_same(b),
                                _ => false,
                            }
                    }
                    _ => false,
                })
    }
}

/// Facts told by their type and shape alone.
fn is_plain(f: &ValueFacts) -> bool {
    f.value.is_none() && f.sequence.is_none() && f.pattern.is_none()
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

/// Hashes what [`Entry::is_for`] compares of an input's facts. The small
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
    /// The result remembered for a node reading these facts; if none, the
    /// key to remember its rule's result under (`None`: the memo cannot
    /// stand for the node, see [`key`]).
    pub fn find(
        &mut self,
        node: &Node,
        opset: i64,
        inputs: &[Option<&ValueFacts>],
    ) -> Result<&RuleResult, Option<u64>> {
        if node.attributes.is_empty() {
            if let Some(seen) = self.seen.iter().find(|s| s.is_for(node, opset, inputs)) {
                return Ok(&self.entries[seen.entry as usize].result);
            }
        }
        let key = key(node, opset, inputs).ok_or(None)?;
        let Some(&at) = self.by_key.get(&key) else {
            return Err(Some(key));
        };
        if !self.entries[at as usize].is_for(node, opset, inputs) {
            return Err(Some(key));
        }
        if let Some(seen) = Seen::of(node, opset, inputs, at) {
            if self.seen.len() < SEEN {
                self.seen.push(seen);
            } else {
                self.seen[self.next_seen] = seen;
            }
            self.next_seen = (self.next_seen + 1) % SEEN;
        }
        Ok(&self.entries[at as usize].result)
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
        let entries = &mut self.entries;
        self.by_key.entry(key).or_insert_with(|| {
            entries.push(Entry {
                op_type: node.op_type.clone(),
                domain: node.domain.clone(),
                opset,
                outputs: node.outputs.len(),
                attributes: node.attributes.clone(),
                inputs: inputs.iter().map(|f| f.cloned()).collect(),
                result: result.clone(),
            });
            // Below `MAX_ENTRIES`.
            (entries.len() - 1) as u32
        });
    }
}
