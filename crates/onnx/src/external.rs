//! Small tensors stored in external data files.
//!
//! nncost never opens external data to count parameters: the dims say
//! everything. But a shape computation may need the *elements* of a small
//! tensor (a Reshape target, Resize scales) that an exporter stored outside
//! the model. For those, and only those, the external file is read, under
//! rules that keep a hostile model from reading anything else (the class of
//! CVE-2022-25882 and CVE-2024-27318 in onnx):
//!
//! - the location is relative, with no `..`, root or drive component;
//! - every component below the model's folder is a real directory or file,
//!   not a symbolic link, checked as it is opened (each relative to the
//!   descriptor of the one before, with `O_NOFOLLOW`: no other process can
//!   swap a name between the check and the open);
//! - the file is opened without blocking (a FIFO or a device is opened at
//!   once, then refused);
//! - the open file is a regular file with a single hard link (another link
//!   could be a name for a file anywhere), by `fstat` of its descriptor;
//! - offset and length lie within the file, checked before reading, and the
//!   length is exactly what the tensor's dims and dtype need.
//!
//! A file that is simply absent (a stripped model) is not an error: the
//! elements stay unknown, as for any stripped tensor.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use nncost_core::graph::{ExternalBytes, Graph, TensorData};

use crate::error::OnnxError;

/// Reads the elements of the graph's small external initializers from files
/// inside `model_dir`.
pub(crate) fn resolve_small_tensors(graph: &mut Graph, model_dir: &Path) -> Result<(), OnnxError> {
    for value in &mut graph.values {
        let Some(tensor) = &mut value.initializer else {
            continue;
        };
        let Some(external) = tensor.small_external() else {
            continue;
        };
        let refuse = |reason: String| OnnxError::ExternalData {
            tensor: format!("initializer '{}'", value.name),
            location: external.location.to_string(),
            reason,
        };
        if let Some(bytes) = read_contained(model_dir, &external).map_err(refuse)? {
            tensor.data = TensorData::Raw(bytes);
        }
    }
    Ok(())
}

/// Reads the tensor's bytes from its file inside `dir`; `Ok(None)` if the
/// file does not exist.
fn read_contained(dir: &Path, external: &ExternalBytes<'_>) -> Result<Option<Bytes>, String> {
    let relative = contained_relative_path(external.location)?;
    external.check_length()?;
    let Some(file) = open_contained(dir, &relative)? else {
        return Ok(None);
    };
    let mut file = file;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot inspect: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if hard_links(&meta) > 1 {
        return Err(
            "the file has several hard links, so it may be a name for a file elsewhere".into(),
        );
    }
    let offset = external.offset;
    let end = external.end_within(meta.len())?;
    let mut buf = vec![0u8; (end - offset) as usize];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(Some(Bytes::from(buf)))
}

/// Opens `relative` (plain names only) inside `dir` without following a
/// symbolic link at any step and without a window between checking and
/// opening: each component is opened relative to the descriptor of the one
/// before, with `O_NOFOLLOW`, and the file itself with `O_NONBLOCK`, so that
/// a FIFO or a device is opened at once and then refused by what `fstat`
/// says of the descriptor (not of a name another process could swap).
/// `Ok(None)` when a component does not exist.
#[cfg(unix)]
#[allow(unsafe_code)] // openat: std has no call relative to a descriptor.
fn open_contained(dir: &Path, relative: &Path) -> Result<Option<File>, String> {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    let c_string =
        |bytes: &[u8]| CString::new(bytes).map_err(|_| "the location contains NUL".to_string());
    let open_at =
        |at: Option<&OwnedFd>, name: &CString, flags: libc::c_int| -> std::io::Result<OwnedFd> {
            let base = at.map_or(libc::AT_FDCWD, |fd| fd.as_raw_fd());
            // SAFETY: `name` is a NUL-terminated string that outlives the
            // call, and `base` is an open descriptor (or AT_FDCWD); on success
            // the returned descriptor is new and owned by nobody else.
            let fd = unsafe { libc::openat(base, name.as_ptr(), flags | libc::O_CLOEXEC) };
            if fd < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                // SAFETY: `fd` was just opened and is owned here alone.
                Ok(unsafe { OwnedFd::from_raw_fd(fd) })
            }
        };
    let folder = c_string(dir.as_os_str().as_bytes())?;
    let mut current = open_at(None, &folder, libc::O_RDONLY | libc::O_DIRECTORY)
        .map_err(|e| format!("cannot open the model's folder: {e}"))?;
    let names: Vec<&std::ffi::OsStr> = relative.iter().collect();
    for (k, name) in names.iter().enumerate() {
        let last = k + 1 == names.len();
        let flags = libc::O_NOFOLLOW
            | if last {
                libc::O_RDONLY | libc::O_NONBLOCK
            } else {
                libc::O_RDONLY | libc::O_DIRECTORY
            };
        let shown = relative.iter().take(k + 1).collect::<PathBuf>();
        current = match open_at(Some(&current), &c_string(name.as_bytes())?, flags) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(format!("'{}' is a symbolic link", shown.display()))
            }
            // A link to a folder, opened as a folder without following it.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(format!(
                    "'{}' is a symbolic link or not a folder",
                    shown.display()
                ))
            }
            Err(e) => return Err(format!("cannot open '{}': {e}", shown.display())),
        };
    }
    Ok(Some(File::from(current)))
}

/// Elsewhere: every component checked not to be a link, the canonical
/// path checked to be inside the folder, then the file opened.
#[cfg(not(unix))]
fn open_contained(dir: &Path, relative: &Path) -> Result<Option<File>, String> {
    let mut path = dir.to_path_buf();
    for component in relative.components() {
        path.push(component);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!("'{}' is a symbolic link", path.display()))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot inspect '{}': {e}", path.display())),
        }
    }
    let canonical_dir = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve the model's folder: {e}"))?;
    let canonical = path
        .canonicalize()
        .map_err(|e| format!("cannot resolve '{}': {e}", path.display()))?;
    if !canonical.starts_with(&canonical_dir) {
        return Err("it resolves outside the model's folder".into());
    }
    File::open(&canonical)
        .map(Some)
        .map_err(|e| format!("cannot open: {e}"))
}

/// The location as a relative path of plain names, or why it is refused.
fn contained_relative_path(location: &str) -> Result<PathBuf, String> {
    if location.is_empty() {
        return Err("the location is empty".into());
    }
    // Backslashes and drive letters are Windows separators and prefixes;
    // refuse them everywhere rather than interpret them per platform.
    if location.contains('\\') || location.contains(':') || location.contains('\0') {
        return Err("the location contains '\\', ':' or NUL".into());
    }
    let path = Path::new(location);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => return Err("the location contains '..'".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("the location is an absolute path".into())
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err("the location names no file".into());
    }
    Ok(out)
}

#[cfg(unix)]
fn hard_links(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(not(unix))]
fn hard_links(_meta: &std::fs::Metadata) -> u64 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_locations_pass() {
        assert_eq!(
            contained_relative_path("weights/shape.bin").unwrap(),
            PathBuf::from("weights/shape.bin")
        );
        assert_eq!(
            contained_relative_path("./shape.bin").unwrap(),
            PathBuf::from("shape.bin")
        );
        for bad in [
            "",
            ".",
            "/etc/passwd",
            "../secret.bin",
            "a/../../b",
            "C:\\x",
            "c:x",
            "a\\..\\b",
        ] {
            assert!(
                contained_relative_path(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
