//! Texts remembered by the value they were made from.
//!
//! Why: a report's lines repeat a few values (a shape shared by every
//! elementwise node it flows through, a cost shared by every node of a
//! repeated block), and formatting them again on every line (a polynomial
//! with its units, a shape's dims) was a quarter of a million-node table.
//! Values are keys by value; the last few are also found by address,
//! each held (a copy) while it is among them, so that a value dropped and
//! another made where it was cannot be mistaken for it.

use std::hash::Hash;

use nncost_core::fxhash::FxHashMap;
use nncost_core::shape::SharedShape;
use nncost_core::Poly;

/// Values remembered at most: a model of distinct values (a million
/// different shapes) gains nothing from remembering them, and its texts
/// are made as before.
pub(crate) const MOST_REMEMBERED: usize = 4096;

/// Values told apart by address as well as by value (see [`Remembered`]).
pub(crate) trait Shareable {
    /// Whether both are one value, shared: equal, and found without
    /// comparing or hashing their contents.
    fn is_same(&self, other: &Self) -> bool;
}

impl Shareable for Poly {
    fn is_same(&self, other: &Self) -> bool {
        Poly::is_same(self, other)
    }
}

impl Shareable for SharedShape {
    fn is_same(&self, other: &Self) -> bool {
        SharedShape::is_same(self, other)
    }
}

impl<T: Shareable> Shareable for Option<T> {
    fn is_same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.is_same(b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Values whose texts [`Remembered`] finds by address before it hashes
/// them: a line's few counts and shapes recur, shared, line after line
/// (a remembered rule result's), and hashing a symbolic count walks its
/// terms and symbol names (a tenth of an unbound million-node chain's JSON
/// report).
pub(crate) const RECENT: usize = 8;

/// The texts made from values of type `K`: the last few found by address
/// (see [`RECENT`]), the others by value.
pub(crate) struct Remembered<K, V> {
    by_value: FxHashMap<K, V>,
    recent: Vec<(K, V)>,
}

impl<K, V> Default for Remembered<K, V> {
    fn default() -> Self {
        Remembered {
            by_value: FxHashMap::default(),
            recent: Vec::new(),
        }
    }
}

impl<K: Hash + Eq + Shareable + Clone, V: Clone> Remembered<K, V> {
    /// Keeps `text` for `key`, unless [`MOST_REMEMBERED`] are kept.
    fn remember(&mut self, key: K, text: V) {
        if self.by_value.len() < MOST_REMEMBERED {
            self.by_value.insert(key, text);
        }
    }

    /// The text of `key` found by address or by value, then counted among
    /// the recent ones.
    fn find(&mut self, key: &K) -> Option<&V> {
        if let Some(k) = self.recent.iter().position(|(r, _)| r.is_same(key)) {
            return Some(&self.recent[k].1);
        }
        let text = self.by_value.get(key)?.clone();
        Some(self.note(key, text))
    }

    /// Counts `key`'s text among the recent ones, the oldest let go.
    fn note(&mut self, key: &K, text: V) -> &V {
        if self.recent.len() == RECENT {
            self.recent.remove(0);
        }
        self.recent.push((key.clone(), text));
        &self.recent[self.recent.len() - 1].1
    }

    /// The text of `key`: remembered, or made by `make` and remembered.
    pub(crate) fn text(&mut self, key: &K, make: impl FnOnce() -> V) -> V {
        if let Some(text) = self.find(key) {
            return text.clone();
        }
        let text = make();
        self.remember(key.clone(), text.clone());
        self.note(key, text.clone());
        text
    }

    /// Appends the text of `key` to `out`: remembered, or written there by
    /// `write` and remembered.
    pub(crate) fn push(&mut self, out: &mut String, key: &K, write: impl FnOnce(&mut String))
    where
        V: AsRef<str> + for<'a> From<&'a str>,
    {
        if let Some(text) = self.find(key) {
            return out.push_str(text.as_ref());
        }
        let start = out.len();
        write(out);
        let text = V::from(&out[start..]);
        self.remember(key.clone(), text.clone());
        self.note(key, text);
    }

    #[cfg(test)]
    pub(crate) fn recent_len(&self) -> usize {
        self.recent.len()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_value.len()
    }
}
