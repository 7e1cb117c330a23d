//! Lists shared between copies, for what is copied far more often than it
//! is made: a polynomial's terms (a size is copied into every value's facts
//! and every node's report) and a node's module path (every node of a
//! module has the same).

use std::sync::Arc;

/// A list shared between copies: a size copied into every value's facts
/// and every node's report costs a reference count, not an allocation per
/// term or factor. Empty lists hold nothing (and are `const`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shared<T>(Option<Arc<[T]>>);

impl<T> Shared<T> {
    pub const EMPTY: Shared<T> = Shared(None);
}

impl<T> Shared<T> {
    /// The elements to change in place, when no other holder shares them.
    pub fn get_mut(&mut self) -> Option<&mut [T]> {
        self.0.as_mut().and_then(Arc::get_mut)
    }
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared::EMPTY
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Shared<T> {
        if v.is_empty() {
            Shared::EMPTY
        } else {
            Shared(Some(v.into()))
        }
    }
}

impl<T> FromIterator<T> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Shared<T> {
        iter.into_iter().collect::<Vec<_>>().into()
    }
}

impl<'a, T> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
