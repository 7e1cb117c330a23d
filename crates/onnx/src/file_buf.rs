//! A [`Buf`] over a model file for prost to decode from: the protobuf
//! structure is read through a heap window with ordinary reads, while large
//! length-delimited payloads (weights) are handed out as slices of a memory
//! map of the file that nothing here ever touches.
//!
//! Why not decode straight from the map, as a `Bytes` over it: peak RSS.
//! Every page of a mapping that is touched counts in the process's RSS, and
//! a fault maps more than the page touched: the whole page-cache folio
//! around it, whose size depends on how the file entered the page cache,
//! which a reader cannot control. Measured on Linux 6.18 / ext4 with a
//! probe that maps a file and touches one byte per MiB: a ResNet-50 written
//! in one large `write` sat in 2 MiB folios, and each touch mapped ~1 MiB
//! on average (the whole 97 MiB file in the end); a `cp` of it sat in
//! 64 KiB folios, 64 KiB per touch. Decoding the ~100 tensor headers
//! between the weights thus reached 53 MB of RSS on the first copy and
//! 7.5 MB on the second. `MADV_RANDOM`, `MADV_NOHUGEPAGE` and
//! `MADV_SEQUENTIAL` changed nothing (they steer readahead and huge page
//! mappings, not how much of a cached folio a fault maps). Bytes copied out
//! with `read` are not mapped at all: the RSS is the structure's size,
//! whatever the folios.
//!
//! The window is refilled where decoding continues: after a skipped
//! payload it restarts small ([`MIN_WINDOW`], enough for the next tensor's
//! header), and while reading sequentially it doubles up to [`MAX_WINDOW`],
//! so a graph of small fields costs a read per 256 KiB and a model of large
//! weights one small read per tensor.
//!
//! Short byte fields (names) are slices of the window: a reference count,
//! not an allocation. The window blocks stay alive as long as such a slice
//! does, so the conversion keeps none: names become the values' own text
//! and the short payloads it keeps are copied (see `Payloads`), and each
//! block is freed once decoding has moved past it.

use std::fs::File;
use std::io;

use bytes::{Buf, Bytes};

/// Payloads longer than this are slices of the map, never read here. It is
/// above what nncost reads of a tensor (core decodes the elements of
/// tensors of at most `MAX_TRACKED_ELEMENTS`, of at most 8 bytes each) and
/// far above any name, so what nncost reads is all on the heap.
pub(crate) const LARGE_PAYLOAD: usize = 64 * 1024;

// If core starts reading larger tensors, their payloads must stay on the
// heap too (or the RSS measured in the module documentation comes back).
const _: () = assert!(nncost_core::value::MAX_TRACKED_ELEMENTS * 8 <= LARGE_PAYLOAD as u64);

/// Window after a skip: a tensor header (dims, type, name) fits easily.
const MIN_WINDOW: usize = 4 * 1024;

/// Largest window, reached by doubling while reading sequentially.
const MAX_WINDOW: usize = 256 * 1024;

pub(crate) struct FileBuf {
    file: File,
    /// The whole file, mapped. Only sliced here, never read.
    map: Bytes,
    /// Offset of the next unread byte.
    pos: usize,
    /// The file's length when mapped.
    end: usize,
    /// `file[win_start..win_start + win.len()]`. Holds `pos` whenever
    /// `pos < end`, so that `chunk` is never empty before the end.
    win: Bytes,
    win_start: usize,
    /// Size of the previous window, doubled for the next sequential one.
    win_size: usize,
    /// The first read error. `Buf` cannot return errors, so after one the
    /// rest of the file reads as zeros (which the decoder rejects quickly)
    /// and the caller reports this error instead of the decoder's.
    error: Option<io::Error>,
}

impl FileBuf {
    /// `map` must be the mapping of `file`, from its start.
    pub(crate) fn new(file: File, map: Bytes) -> FileBuf {
        let end = map.len();
        FileBuf::range(file, map, 0, end)
    }

    /// The bytes `start..end` of the file (`end` at most the map's
    /// length), read as a file of their own. Reads are positioned
    /// (`pread`), so that buffers over one file on several threads do not
    /// share a file offset.
    pub(crate) fn range(file: File, map: Bytes, start: usize, end: usize) -> FileBuf {
        debug_assert!(start <= end && end <= map.len());
        let mut buf = FileBuf {
            file,
            map,
            pos: start,
            end,
            win: Bytes::new(),
            win_start: start,
            win_size: MIN_WINDOW / 2,
            error: None,
        };
        buf.refill(0);
        buf
    }

    /// The bytes `start..end` of the same file, read as a file of their
    /// own (see [`FileBuf::range`]).
    pub(crate) fn part(&self, start: usize, end: usize) -> io::Result<FileBuf> {
        Ok(FileBuf::range(
            self.file.try_clone()?,
            self.map.clone(),
            start,
            end,
        ))
    }

    /// The file's length.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Back to the start of the file, as new (a read error is kept).
    pub(crate) fn rewind(&mut self) {
        self.pos = 0;
        self.win = Bytes::new();
        self.win_start = 0;
        self.win_size = MIN_WINDOW / 2;
        self.refill(0);
    }

    /// The first read error, if any: the decoded result is then garbage.
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    fn win_end(&self) -> usize {
        self.win_start + self.win.len()
    }

    /// Starts a new window at `pos` holding at least `need` bytes (which
    /// must not exceed what remains). Nothing to do at the end.
    fn refill(&mut self, need: usize) {
        if self.pos >= self.end {
            return;
        }
        let sequential = self.pos <= self.win_end();
        self.win_size = if sequential {
            (self.win_size * 2).min(MAX_WINDOW)
        } else {
            MIN_WINDOW
        };
        let len = self.win_size.max(need).min(self.end - self.pos);
        // Zeroed, not uninitialised: the crate has no unsafe code. Reading
        // into spare capacity instead (`take(n).read_to_end`) was measured:
        // no faster, and it splits each read into several system calls.
        let mut block = vec![0; len];
        if self.error.is_none() {
            if let Err(e) = self.read_at(self.pos as u64, &mut block) {
                // Zeros, for the decoder to stumble on.
                block.fill(0);
                self.error = Some(e);
            }
        }
        self.win = Bytes::from(block);
        self.win_start = self.pos;
    }

    fn read_at(&mut self, offset: u64, dst: &mut [u8]) -> io::Result<()> {
        read_exact_at(&self.file, offset, dst).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(e.kind(), "the file shrank while being read")
            } else {
                e
            }
        })
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, offset: u64, dst: &mut [u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, dst, offset)
}

/// Elsewhere the file's offset moves: buffers over one file are then not
/// used on two threads (see `reader::read_file`).
#[cfg(not(unix))]
fn read_exact_at(mut file: &File, offset: u64, dst: &mut [u8]) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(dst)
}

impl Buf for FileBuf {
    fn remaining(&self) -> usize {
        self.end - self.pos
    }

    fn chunk(&self) -> &[u8] {
        // Past the window only at the end (after skipping the last bytes).
        self.win
            .get(self.pos - self.win_start..)
            .unwrap_or_default()
    }

    fn advance(&mut self, cnt: usize) {
        assert!(cnt <= self.remaining(), "advance past the end of the file");
        self.pos += cnt;
        if self.pos >= self.win_end() {
            self.refill(0);
        }
    }

    /// prost takes every `bytes` field (all strings included) through here.
    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        assert!(len <= self.remaining(), "read past the end of the file");
        if len == 0 {
            return Bytes::new();
        }
        let start = self.pos;
        let out = if len > LARGE_PAYLOAD {
            // Weights: a slice of the map, untouched.
            self.map.slice(start..start + len)
        } else {
            if start + len > self.win_end() {
                self.refill(len);
            }
            let at = start - self.win_start;
            self.win.slice(at..at + len)
        };
        self.advance(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file holding `data`, opened and mapped as `read_file` does.
    fn file_buf(test: &str, data: &[u8]) -> FileBuf {
        let path =
            std::env::temp_dir().join(format!("nncost-onnx-filebuf-{}-{test}", std::process::id()));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(data))
            .unwrap();
        let file = File::open(&path).unwrap();
        #[allow(unsafe_code)] // SAFETY: test-private file, never modified.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        std::fs::remove_file(&path).unwrap();
        FileBuf::new(file, Bytes::from_owner(map))
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn in_map(b: &FileBuf, s: &Bytes) -> bool {
        let m = b.map.as_ptr_range();
        let r = s.as_ptr_range();
        m.start <= r.start && r.end <= m.end
    }

    #[test]
    fn chunks_and_copies_see_the_file_contents() {
        let want = data(3 * MAX_WINDOW + 123);
        let mut b = file_buf("contents", &want);
        let mut got = Vec::new();
        // Mix small copies (some straddling windows), advances and chunks.
        let mut step = 0;
        while b.has_remaining() {
            step += 1;
            let n = (step * 977 % 5000).min(b.remaining());
            match step % 3 {
                0 => got.extend_from_slice(&b.copy_to_bytes(n)),
                1 => {
                    let c = b.chunk();
                    assert!(!c.is_empty());
                    let k = c.len().min(n.max(1));
                    got.extend_from_slice(&c[..k]);
                    b.advance(k);
                }
                _ => got.push(b.get_u8()),
            }
        }
        assert_eq!(got, want);
        assert!(b.chunk().is_empty());
        assert!(b.take_error().is_none());
    }

    #[test]
    fn large_payloads_are_map_slices_and_small_ones_are_not() {
        let want = data(LARGE_PAYLOAD * 3);
        let mut b = file_buf("slices", &want);
        let small = b.copy_to_bytes(100);
        let large = b.copy_to_bytes(LARGE_PAYLOAD + 1);
        assert!(!in_map(&b, &small), "small payload should be on the heap");
        assert!(in_map(&b, &large), "large payload should be a map slice");
        assert_eq!(&small[..], &want[..100]);
        assert_eq!(&large[..], &want[100..LARGE_PAYLOAD + 101]);
        // After the skip, reading resumes at the right place.
        assert_eq!(b.get_u8(), want[LARGE_PAYLOAD + 101]);
        let rest = b.remaining();
        b.advance(rest);
        assert!(!b.has_remaining());
        assert_eq!(b.copy_to_bytes(0).len(), 0);
    }

    #[test]
    fn windows_restart_small_after_a_skip_and_grow_when_sequential() {
        let mut b = file_buf("growth", &data(4 * 1024 * 1024));
        assert_eq!(b.win.len(), MIN_WINDOW);
        for _ in 0..8 {
            let n = b.chunk().len();
            b.advance(n);
        }
        assert_eq!(b.win.len(), MAX_WINDOW);
        // Skip past the window, as over a large payload.
        b.advance(b.chunk().len() + LARGE_PAYLOAD);
        assert_eq!(b.win.len(), MIN_WINDOW);
    }
}
