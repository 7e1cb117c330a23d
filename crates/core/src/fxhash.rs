//! Hashers for nncost's maps, by who chooses the keys.
//!
//! - [`FxHashMap`] / [`FxHashSet`]: a small, fast, non-cryptographic
//!   hasher (the multiply-rotate scheme of Firefox and rustc), for keys
//!   the program makes: ids, the operator registry, hashes of facts.
//! - [`NameMap`] / [`NameSet`]: a keyed hash, seeded at random in each
//!   process, for names that come from a model file (or a description, or
//!   a config). Names that all collide under an unkeyed hash can be
//!   computed without the key (FxHash is linear in a name's 8-byte words:
//!   flipping a word's top bit and a bit of the next word collides for
//!   every seed), and a few hundred thousand of them would make a map
//!   quadratic: minutes for a file of a few megabytes. The hash is
//!   foldhash's quality variant (hashbrown's own default), whose folded
//!   128-bit multiplies are not linear in the input; std's SipHash-1-3 did
//!   the same job 10% slower on a million-node graph, whose reading hashes
//!   every value name two to four times.

use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::OnceLock;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// The state, with its high bits folded into the low ones. The multiply
    /// carries each input bit only upwards, so the low bits of the state
    /// depend on the low bytes of the last word alone; hashbrown picks the
    /// bucket from the low bits, and names that differ only past their
    /// first bytes (`v1000`, `v1001`, …) all landed in a few runs of
    /// buckets: a million such names took seconds to insert instead of
    /// milliseconds. The fold is murmur3's finaliser, halved.
    #[inline]
    fn finish(&self) -> u64 {
        let h = self.hash ^ (self.hash >> 33);
        let h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
}

/// `HashMap<K, V, FxBuildHasher>` hashes with [`FxHasher`].
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuildHasher>;

/// Builds the hasher of [`NameMap`] and [`NameSet`]: foldhash's quality
/// variant, seeded from the operating system's randomness (through std's
/// `RandomState`, which the maps used before) once per process, plus a
/// fresh seed per map. foldhash's own seeds come from addresses and the
/// clock, which it does not claim to be enough against crafted input.
#[derive(Clone)]
pub struct NameHasher(foldhash::quality::SeedableRandomState);

impl Default for NameHasher {
    fn default() -> Self {
        static SHARED: OnceLock<foldhash::SharedSeed> = OnceLock::new();
        let shared = SHARED.get_or_init(|| foldhash::SharedSeed::from_u64(os_random()));
        NameHasher(foldhash::quality::SeedableRandomState::with_seed(
            os_random(),
            shared,
        ))
    }
}

impl BuildHasher for NameHasher {
    type Hasher = foldhash::quality::FoldHasher<'static>;

    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

/// 64 random bits: std's `RandomState` is keyed from the operating system
/// once per thread, and each one made differs.
fn os_random() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0u64)
}
/// A map keyed by names from the input (see the module's notes).
pub type NameMap<K, V> = std::collections::HashMap<K, V, NameHasher>;
/// A set of names from the input (see the module's notes).
pub type NameSet<K> = std::collections::HashSet<K, NameHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_maps_are_each_seeded_their_own_way() {
        let (a, b) = (NameHasher::default(), NameHasher::default());
        assert_eq!(a.hash_one("v1000"), a.hash_one("v1000"));
        assert_ne!(a.hash_one("v1000"), b.hash_one("v1000"));
        let map: NameMap<&str, usize> = [("v1000", 1), ("v1001", 2)].into_iter().collect();
        assert_eq!(map.get("v1001"), Some(&2));
    }

    #[test]
    fn distinct_names_map_to_distinct_entries() {
        let mut m: FxHashMap<String, usize> = FxHashMap::default();
        for i in 0..10_000 {
            m.insert(format!("/layer{i}/Conv_output_0"), i);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m["/layer1234/Conv_output_0"], 1234);
        // Strings that differ only past an 8-byte boundary, or by length.
        m.insert("abcdefgh".into(), 1);
        m.insert("abcdefgh\0".into(), 2);
        assert_eq!(m["abcdefgh"], 1);
        assert_eq!(m["abcdefgh\0"], 2);
    }
}
