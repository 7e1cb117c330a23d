//! A small, fast, non-cryptographic hasher (the multiply-rotate scheme of
//! Firefox and rustc) for maps keyed by operator and value names.
//!
//! std's SipHash resists hash flooding, which matters for maps fed by an
//! attacker across many requests; here one model file fills one map, and a
//! file crafted to collide can only make its own analysis slower (still
//! linear in the number of colliding names per probe), never wrong.

use std::hash::{BuildHasherDefault, Hasher};

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
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `HashMap<K, V, FxBuildHasher>` hashes with [`FxHasher`].
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;

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
