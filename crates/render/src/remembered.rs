//! Texts remembered by the value they were made from.
//!
//! Why: a report's lines repeat a few values (a shape shared by every
//! elementwise node it flows through, a cost shared by every node of a
//! repeated block), and formatting them again on every line (a polynomial
//! with its units, a shape's dims) was a quarter of a million-node table.
//! Values are keys by value, not by address, so a value dropped and
//! another made where it was cannot be mistaken for it.

use std::hash::Hash;

use nncost_core::fxhash::FxHashMap;

/// Values remembered at most: a model of distinct values (a million
/// different shapes) gains nothing from remembering them, and its texts
/// are made as before.
pub(crate) const MOST_REMEMBERED: usize = 4096;

/// The texts made from values of type `K`.
pub(crate) struct Remembered<K, V>(FxHashMap<K, V>);

impl<K, V> Default for Remembered<K, V> {
    fn default() -> Self {
        Remembered(FxHashMap::default())
    }
}

impl<K: Hash + Eq, V> Remembered<K, V> {
    /// Keeps `text` for `key`, unless [`MOST_REMEMBERED`] are kept.
    fn remember(&mut self, key: K, text: V) {
        if self.0.len() < MOST_REMEMBERED {
            self.0.insert(key, text);
        }
    }

    /// The text of `key`: remembered, or made by `make` and remembered.
    pub(crate) fn text(&mut self, key: &K, make: impl FnOnce() -> V) -> V
    where
        K: Clone,
        V: Clone,
    {
        if let Some(text) = self.0.get(key) {
            return text.clone();
        }
        let text = make();
        self.remember(key.clone(), text.clone());
        text
    }

    /// Appends the text of `key` to `out`: remembered, or written there by
    /// `write` and remembered.
    pub(crate) fn push(&mut self, out: &mut String, key: &K, write: impl FnOnce(&mut String))
    where
        K: Clone,
        V: AsRef<str> + for<'a> From<&'a str>,
    {
        if let Some(text) = self.0.get(key) {
            return out.push_str(text.as_ref());
        }
        let start = out.len();
        write(out);
        self.remember(key.clone(), V::from(&out[start..]));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
