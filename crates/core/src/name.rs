//! [`Name`]: an immutable, shared string for what the graph names once and
//! the report repeats (a node's name and operator, a value's name, read by
//! every node that consumes it).
//!
//! A graph of a million nodes holds a few million of these. As `String`s,
//! each copy into a report was an allocation of its own, and every `Relu`
//! node held its own `"Relu"`; as a `Name`, a copy costs a reference count
//! and readers give equal names one allocation (see `Interner`). It is 8
//! bytes, a thin pointer (`ArcStr` keeps the length beside the text, where
//! `Arc<str>` and `String` keep it in the handle: 16 and 24 bytes), and
//! the empty name (the default domain, an omitted input) allocates nothing.

use arcstr::ArcStr;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// An immutable, cheaply cloned string; compares, hashes and prints as the
/// `str` it holds.
#[derive(Default)]
pub struct Name(Option<ArcStr>);

impl Clone for Name {
    fn clone(&self) -> Self {
        Name(self.0.clone())
    }

    /// Keeps the name held when it is `source` itself (the same text, by
    /// address): a line refilled node after node then changes no
    /// reference count for a name its last node had too.
    fn clone_from(&mut self, source: &Self) {
        if self.id() != source.id() {
            *self = source.clone();
        }
    }
}

impl Name {
    /// The empty name, allocating nothing.
    pub const EMPTY: Name = Name(None);

    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// Whether the name is empty, told without reading its text: only the
    /// empty name holds none (`From<&str>` keeps to that), and a walk of a
    /// million nodes asks this of each, whose texts lie apart from them.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The address of the text: equal for clones of one name (and 0 for
    /// the empty name), so that what is worked out once per operator can be
    /// keyed by it while the names live. Equal text may have other ids.
    pub fn id(&self) -> usize {
        self.0.as_ref().map_or(0, |a| a.as_ptr() as usize)
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Lets a set or map of names be searched by `&str`: the hash and the
/// comparisons below are the `str`'s.
impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        if s.is_empty() {
            Name::EMPTY
        } else {
            Name(Some(ArcStr::from(s)))
        }
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::from(s.as_str())
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name::from(s.as_str())
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.as_str().to_string()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // Clones of one name (an interned operator) compare without
        // reading their text.
        self.id() == other.id() || self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Gives equal strings one [`Name`]: for what repeats across a graph's
/// nodes (operator types, domains), not for what is unique (node names).
/// Kept by bytes, so that a reader can find a name it met before without
/// checking the bytes are UTF-8 again ([`Interner::get`]).
#[derive(Default)]
pub struct Interner(crate::fxhash::NameMap<Box<[u8]>, Name>);

impl Interner {
    /// The name equal to `s`, made on first use.
    pub fn name(&mut self, s: &str) -> Name {
        if let Some(n) = self.get(s.as_bytes()) {
            return n;
        }
        let n = Name::from(s);
        self.0.insert(s.as_bytes().into(), n.clone());
        n
    }

    /// The name whose text is `bytes`, if made before (or empty).
    pub fn get(&self, bytes: &[u8]) -> Option<Name> {
        // The default domain, on almost every node.
        if bytes.is_empty() {
            return Some(Name::EMPTY);
        }
        self.0.get(bytes).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_compare_hash_and_print_as_their_text() {
        let relu = Name::from("Relu");
        assert_eq!(relu, "Relu");
        assert_eq!("Relu", relu);
        assert_eq!(relu, String::from("Relu"));
        assert_ne!(relu, Name::from("Relux"));
        let mut sorted = [relu.clone(), Name::from("Add")];
        sorted.sort();
        assert_eq!(sorted, ["Add", "Relu"]);
        assert_eq!(format!("{relu}/{relu:?}"), "Relu/\"Relu\"");
        let set: HashSet<Name> = [relu.clone()].into();
        assert!(set.contains("Relu"));
        assert_eq!(String::from(relu), "Relu");
    }

    #[test]
    fn the_empty_name_allocates_nothing_however_it_is_made() {
        for empty in [Name::from(""), Name::from(String::new()), Name::default()] {
            assert!(empty.0.is_none());
            assert_eq!(empty, Name::EMPTY);
            assert!(empty.is_empty());
        }
        assert_eq!(std::mem::size_of::<Name>(), 8);
    }

    #[test]
    fn the_interner_gives_equal_strings_one_allocation() {
        let mut interner = Interner::default();
        let a = interner.name("Conv");
        let b = interner.name("Conv");
        let (Some(a), Some(b)) = (&a.0, &b.0) else {
            panic!("a non-empty name holds its text");
        };
        assert!(ArcStr::ptr_eq(a, b));
        assert_eq!(interner.name("Conv").id(), interner.name("Conv").id());
        assert_ne!(interner.name("Conv").id(), Name::from("Conv").id());
        assert_eq!(interner.name("").id(), Name::EMPTY.id());
        // Found by its bytes once made, and only then.
        assert_eq!(
            interner.get(b"Conv").map(|n| n.id()),
            Some(a.as_ptr() as usize)
        );
        assert!(interner.get(b"Relu").is_none());
        assert_eq!(interner.get(b"").map(|n| n.id()), Some(0));
    }
}
