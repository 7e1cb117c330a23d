//! The facts of one graph's values while its analysis walks it.
//!
//! A value's facts are needed from the node that produces it to the last
//! node that reads it. Kept to the end of the walk, they cost a record per
//! value (72 bytes, a million times over for a large graph) although only a
//! few are live at any point of it (two in a chain). Here each value holds a
//! 4-byte slot number; the facts themselves sit in a pool of slots reused as
//! values die, so the pool is as large as the most values ever live at once.
//!
//! The walk says up front how many reads each value will see (counted as
//! the graph is planned, and given to [`LiveFacts::new`]) and which values
//! it keeps to the end (the graph's inputs and outputs, [`LiveFacts::keep`]);
//! each [`LiveFacts::done_reading`] counts one down and drops the facts at
//! zero.

use crate::graph::ValueId;
use crate::value::ValueFacts;

/// No slot: the value's facts are unknown, not yet produced, or dropped.
const NO_SLOT: u32 = u32::MAX;

/// Reads still to come of a value kept to the end: never counted down.
const KEPT: u32 = u32::MAX;

/// What an absent value reads as: nothing known.
static NOTHING_KNOWN: ValueFacts = ValueFacts {
    dtype: None,
    shape: None,
    value: None,
    sequence: None,
    pattern: None,
};

/// The facts of a graph's live values; see the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct LiveFacts {
    /// Per value: its slot in `slots`, or [`NO_SLOT`].
    slot_of: Vec<u32>,
    /// Per value: reads still to come, or [`KEPT`].
    reads_left: Vec<u32>,
    slots: Vec<ValueFacts>,
    /// Slots of values dropped, to be reused.
    free: Vec<u32>,
}

/// More values than a slot number can tell apart.
#[derive(Debug)]
pub(crate) struct TooManyValues;

impl LiveFacts {
    /// Room for the facts of one value per entry of `expected_reads`, none
    /// known yet; each entry is the reads its value will see (a value read
    /// `u32::MAX` times or more is simply kept).
    pub(crate) fn new(expected_reads: Vec<u32>) -> Result<Self, TooManyValues> {
        // Slot numbers are below NO_SLOT, and there are never more slots
        // than values.
        let values = expected_reads.len();
        if values >= NO_SLOT as usize {
            return Err(TooManyValues);
        }
        Ok(LiveFacts {
            slot_of: vec![NO_SLOT; values],
            reads_left: expected_reads,
            slots: Vec::new(),
            free: Vec::new(),
        })
    }

    /// The value's facts, if any are held.
    pub(crate) fn get(&self, vid: ValueId) -> Option<&ValueFacts> {
        match self.slot_of.get(vid) {
            Some(&slot) if slot != NO_SLOT => Some(&self.slots[slot as usize]),
            _ => None,
        }
    }

    pub(crate) fn contains(&self, vid: ValueId) -> bool {
        self.get(vid).is_some()
    }

    /// Sets the value's facts, unless no read of them is to come: then
    /// they are dropped at once (an output nothing reads).
    pub(crate) fn set(&mut self, vid: ValueId, facts: ValueFacts) {
        if self.reads_left[vid] == 0 {
            self.drop_facts(vid);
            return;
        }
        match self.slot_of[vid] {
            NO_SLOT => {
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.slots[slot as usize] = facts;
                        slot
                    }
                    None => {
                        // Below NO_SLOT: slots never outnumber values (new).
                        let slot = self.slots.len() as u32;
                        self.slots.push(facts);
                        slot
                    }
                };
                self.slot_of[vid] = slot;
            }
            slot => self.slots[slot as usize] = facts,
        }
    }

    /// The value's facts stay to the end of the walk, whatever reads them.
    pub(crate) fn keep(&mut self, vid: ValueId) {
        self.reads_left[vid] = KEPT;
    }

    /// One read of the value is done; after the last, its facts go.
    pub(crate) fn done_reading(&mut self, vid: ValueId) {
        let left = &mut self.reads_left[vid];
        match *left {
            KEPT | 0 => {}
            1 => {
                *left = 0;
                self.drop_facts(vid);
            }
            _ => *left -= 1,
        }
    }

    fn drop_facts(&mut self, vid: ValueId) {
        let slot = std::mem::replace(&mut self.slot_of[vid], NO_SLOT);
        if slot != NO_SLOT {
            // Frees the shape, constant elements and pattern now.
            self.slots[slot as usize] = ValueFacts::default();
            self.free.push(slot);
        }
    }
}

/// A value without facts reads as nothing known.
impl std::ops::Index<ValueId> for LiveFacts {
    type Output = ValueFacts;
    fn index(&self, vid: ValueId) -> &ValueFacts {
        self.get(vid).unwrap_or(&NOTHING_KNOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::DType;

    fn float() -> ValueFacts {
        ValueFacts {
            dtype: Some(DType::F32),
            ..ValueFacts::default()
        }
    }

    #[test]
    fn facts_last_until_their_last_read_and_their_slot_is_reused() {
        // Value 0 is read twice, value 1 once.
        let mut facts = LiveFacts::new(vec![2, 1, 0, 0]).unwrap();
        facts.set(0, float());
        assert_eq!(facts[0].dtype, Some(DType::F32));
        facts.done_reading(0);
        assert!(facts.contains(0), "one read of two done");
        facts.done_reading(0);
        assert!(!facts.contains(0), "both reads done");
        assert_eq!(facts[0], ValueFacts::default());
        // Value 1 takes the slot value 0 left.
        facts.set(1, float());
        assert_eq!(facts.slots.len(), 1);
        assert_eq!(facts[1].dtype, Some(DType::F32));
    }

    #[test]
    fn facts_nothing_reads_are_not_held_unless_kept() {
        let mut facts = LiveFacts::new(vec![0; 3]).unwrap();
        facts.set(0, float());
        assert!(!facts.contains(0));
        facts.keep(1);
        facts.set(1, float());
        facts.done_reading(1);
        assert_eq!(facts[1].dtype, Some(DType::F32), "kept to the end");
        assert!(facts.slots.len() == 1 && facts[2] == ValueFacts::default());
    }
}
