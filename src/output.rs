//! `-o FILE`: the report written whole or not at all, without a way for
//! another user of the folder to redirect or capture it.
//!
//! The report goes to a temporary file beside the target, created with
//! `O_EXCL | O_NOFOLLOW` under a random name (a name planted in advance,
//! or a link, is never written through) with mode 0600, then given the
//! target's mode (a new file: 0666 less the umask) and renamed over the
//! target. The target must be absent or a regular file: a device, a FIFO,
//! a folder or a symbolic link is refused. The temporary file is removed on
//! every failure, and on SIGINT or SIGTERM while it exists.
//!
//! The file is not flushed to the disk (`fsync`) before the rename: a
//! reader never sees it half written either way, and the flush only guards
//! against a power cut, for a report made again in milliseconds. It made
//! every run wait for the disk: 1.3 ms of a 4 ms run on this machine's
//! ResNet-18, more for a large report or on a busy disk (a compiler's
//! output or `cp` is not flushed either).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Writes what `write` produces to `path` (records for `expand`, if
/// given), in blocks into the temporary file ([`crate::write_behind`]; see
/// the module's notes).
pub(crate) fn write_atomically_with(
    path: &Path,
    expand: Option<crate::write_behind::Expand<'_>>,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let shown = path.display();
    let existing = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            bail!("-o {shown}: that is a symbolic link; give the file itself")
        }
        Ok(meta) if !meta.is_file() => {
            bail!("-o {shown}: that is not a regular file (a folder, a device or a FIFO)")
        }
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => bail!("-o {shown}: cannot inspect it: {e}"),
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .with_context(|| format!("-o {shown}: not a file name"))?;
    let tmp = dir.join(format!(
        ".{}.nncost-{}",
        file_name.to_string_lossy(),
        random_suffix()
    ));
    let mut file = create_new_private(&tmp)
        .with_context(|| format!("cannot write {shown}: cannot create a file beside it"))?;
    let guard = TempFile::new(tmp.clone());
    let streamed = crate::write_behind::write_behind(&mut file, expand, write);
    let written = streamed
        .and_then(|()| set_final_mode(&file, existing.as_ref()))
        .and_then(|()| std::fs::rename(&tmp, path));
    drop(file);
    match written {
        Ok(()) => {
            guard.disarm();
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot write {shown}"))),
    }
}

/// 64 random bits in hex, from the standard library's per-process random
/// hash keys and the clock (no dependency for one name).
fn random_suffix() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:016x}", h.finish())
}

#[cfg(unix)]
fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(not(unix))]
fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// The target's mode, or for a new file what the umask allows of 0666.
#[cfg(unix)]
#[allow(unsafe_code)]
fn set_final_mode(
    file: &std::fs::File,
    existing: Option<&std::fs::Metadata>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match existing {
        Some(meta) => meta.permissions().mode() & 0o7777,
        None => {
            // SAFETY: umask only swaps the process's mask; it is restored at
            // once, and nncost has no other thread creating files.
            let mask = unsafe {
                let mask = libc::umask(0o077);
                libc::umask(mask);
                mask
            };
            0o666 & !(mask as u32)
        }
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_final_mode(
    _file: &std::fs::File,
    _existing: Option<&std::fs::Metadata>,
) -> std::io::Result<()> {
    Ok(())
}

/// Removes the temporary file when dropped (any failure), or when the
/// process is interrupted, unless disarmed after the rename.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn new(path: PathBuf) -> Self {
        signals::watch(&path);
        TempFile { path }
    }

    fn disarm(self) {
        signals::unwatch();
        std::mem::forget(self);
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        signals::unwatch();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes the temporary file of a write in progress, if there is one,
/// without allocating: for the out-of-memory exit (`alloc.rs`).
pub(crate) fn remove_temporary_file() {
    signals::remove_now();
}

/// SIGINT and SIGTERM while a temporary file exists: unlink it, then die of
/// the signal as the process would have.
#[cfg(unix)]
#[allow(unsafe_code)]
mod signals {
    use std::ffi::{c_char, CString};
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};

    static TEMP: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());

    extern "C" fn on_signal(signal: libc::c_int) {
        let path = TEMP.swap(std::ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: unlink, signal and raise are async-signal-safe; `path`
        // is a NUL-terminated string leaked for the process's lifetime.
        unsafe {
            if !path.is_null() {
                libc::unlink(path);
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    pub(super) fn watch(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return;
        };
        TEMP.store(c.into_raw(), Ordering::SeqCst);
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: installs a handler that only does async-signal-safe work.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }

    pub(super) fn unwatch() {
        // The string is left allocated: a handler may be reading it.
        TEMP.store(std::ptr::null_mut(), Ordering::SeqCst);
    }

    pub(super) fn remove_now() {
        let path = TEMP.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if !path.is_null() {
            // SAFETY: a NUL-terminated string leaked for the process's
            // lifetime.
            unsafe { libc::unlink(path) };
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) fn watch(_path: &std::path::Path) {}
    pub(super) fn unwatch() {}
    pub(super) fn remove_now() {}
}
