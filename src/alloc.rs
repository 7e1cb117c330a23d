//! The process's allocator: mimalloc, and one line and exit code 2 when
//! memory runs out.
//!
//! mimalloc because an analysis makes and drops many small values (sizes,
//! names, facts) and its thread-local free lists serve them in a fraction
//! of glibc malloc's instructions (measured: a 405B-parameter config's run,
//! 43M instructions with glibc, see docs/benchmarks.md).
//!
//! Out of memory: the standard library's answer to a failed allocation is
//! "memory allocation of N bytes failed" and an abort (SIGABRT, a core
//! dump, no exit code a script can tell from a crash). A model that needs
//! more memory than the process may have (an address-space limit, a
//! container's) is bad input like any other, so the failure is answered
//! here instead: one line on standard error, the `-o` temporary file (if
//! any) removed, and exit code 2. Nothing on that path allocates: the line
//! is formatted on the stack and written with `write(2)`, and `_exit`
//! skips destructors and exit handlers.

use std::alloc::{GlobalAlloc, Layout};

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (the Rust binding
/// declares no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's default before this is set (mimalloc.h and options.c of the
/// vendored v3): used to check that option 15 is the purge delay.
const DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 1000;

/// Gives memory freed by one phase back to the system within 10 ms instead
/// of mimalloc's default second (and ten for whole arena blocks). The read
/// phase frees the decoded protobuf just before the analysis allocates
/// about as much in other sizes; with the default delay the freed pages
/// stayed committed through the run, and the peak was the sum of the two
/// phases (the 10^5-node chain: 139 MB peak RSS for 76 MB of heap; 92 MB
/// with this). Called first thing in `main`.
pub(crate) fn return_freed_memory_promptly() {
    // SAFETY: plain calls into mimalloc's option table, which it reads and
    // writes atomically; the option's current value is checked first so
    // that a renumbered enum in a later mimalloc changes nothing.
    #[allow(unsafe_code)]
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == DEFAULT_PURGE_DELAY_MS {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10);
        }
    }
}

/// Keeps the process's memory in 4 KiB pages. mimalloc asks for
/// transparent huge pages on its arenas (`MADV_HUGEPAGE`), which the
/// kernel honours in its default `madvise` mode: a 2 MiB page is then
/// zeroed and counted whole on first touch, however little of it is used.
/// Measured here (medians, THP on against off): the 10^5-node chain's
/// summary 41 against 35 MB peak RSS, ResNet-50 14.5 against 10.8 MB, the
/// LLaMA-1B export 18.5 against 12.4 MB; the 10^6-node chain's JSON 2.6
/// against 1.8 s wall (system time spent zeroing huge pages), its user time
/// 5% lower with them (fewer TLB misses). mimalloc's own switch
/// (`allow_thp`) is read when its first arena is made, before `main`; the
/// process-wide flag set here also covers the arenas already made. Linux
/// only; a kernel that refuses it leaves things as they were.
#[cfg(target_os = "linux")]
pub(crate) fn keep_to_small_pages() {
    // SAFETY: a plain system call with integer arguments; it sets a flag
    // of this process and touches no memory of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn keep_to_small_pages() {}

pub(crate) struct Allocator;

// SAFETY: every method forwards to mimalloc's with the same arguments; on
// a null result the process ends instead of returning.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        checked(unsafe { mimalloc::MiMalloc.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        checked(
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) },
            layout.size(),
        )
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        checked(
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) },
            new_size,
        )
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
}

#[inline(always)]
fn checked(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        out_of_memory(size);
    }
    ptr
}

#[cold]
#[inline(never)]
fn out_of_memory(size: usize) -> ! {
    let mut line = LineBuf::default();
    line.push(b"nncost: error: out of memory: an allocation of ");
    line.push_number(size);
    line.push(
        b" bytes failed; the model needs more memory than this process may use \
          (see \"Untrusted model files\" in the README for what a model costs)\n",
    );
    crate::output::remove_temporary_file();
    line.write_and_exit()
}

/// A fixed buffer for the one line, so that reporting needs no allocation.
struct LineBuf {
    bytes: [u8; 256],
    len: usize,
}

impl Default for LineBuf {
    fn default() -> Self {
        LineBuf {
            bytes: [0; 256],
            len: 0,
        }
    }
}

impl LineBuf {
    fn push(&mut self, text: &[u8]) {
        let room = self.bytes.len() - self.len;
        let n = text.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
    }

    fn push_number(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }

    #[cfg(unix)]
    #[allow(unsafe_code)]
    fn write_and_exit(&self) -> ! {
        // SAFETY: writes initialised bytes of a live buffer, then ends the
        // process without running anything that could allocate.
        unsafe {
            libc::write(2, self.bytes.as_ptr().cast(), self.len);
            libc::_exit(2)
        }
    }

    #[cfg(not(unix))]
    fn write_and_exit(&self) -> ! {
        use std::io::Write;
        let _ = std::io::stderr().write_all(&self.bytes[..self.len]);
        std::process::exit(2)
    }
}
