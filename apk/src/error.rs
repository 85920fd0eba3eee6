//! Errors of the Alpine installer. Each names what it is about (file, package, URL),
//! because the CLI prints it as the one line a user sees. As elsewhere in this crate,
//! causes are part of the message, not `source()`.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ApkError {
    #[error("{}: {cause}", path.display())]
    Io { path: PathBuf, cause: io::Error },
    #[error("{what}: not gzip data or truncated gzip member: {cause}")]
    Gzip { what: String, cause: io::Error },
    #[error("{what}: {reason}")]
    Format { what: String, reason: String },
    #[error("{what}: apk v3 (ADB) files are not supported; use a v2 repository (Alpine <= 3.23)")]
    Adb { what: String },
    #[error("{what}: not signed (no .SIGN.* entry); set allow_untrusted to accept it")]
    Unsigned { what: String },
    #[error("{what}: signed by {keys}, which is not in the trusted keys dir {}", keys_dir.display())]
    UnknownKey {
        what: String,
        keys: String,
        keys_dir: PathBuf,
    },
    #[error("{what}: BAD signature by trusted key {key}")]
    BadSignature { what: String, key: String },
    #[error("key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("package {package} ({url}): {what} mismatch: index/control says {expected}, file has {found}")]
    Checksum {
        package: String,
        url: String,
        what: String,
        expected: String,
        found: String,
    },
    #[error("download {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("offline mode: {url} is not in the cache ({}); run once online or drop ZOS_OFFLINE=1", cache.display())]
    Offline { url: String, cache: PathBuf },
    #[error("offline mode needs the download cache, but CACHE_DOWNLOADS=0: {url} cannot be found")]
    OfflineNoCache { url: String },
    #[error("unsatisfiable: {dep} (required by {required_by}): {reason}")]
    Unsatisfiable {
        dep: String,
        required_by: String,
        reason: String,
    },
    #[error("unsatisfiable: no package in the repositories provides {}", list(names))]
    Missing {
        /// (dependency, required by), every one the resolver met.
        names: Vec<(String, String)>,
    },
    #[error("conflict: {package} declares !{conflict}, but {with} is to be installed")]
    Conflict {
        package: String,
        conflict: String,
        with: String,
    },
    #[error("package {package}: {path}: {reason}")]
    Extract {
        package: String,
        path: String,
        reason: String,
    },
    #[error("config {}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
}

fn list(names: &[(String, String)]) -> String {
    names
        .iter()
        .map(|(d, by)| format!("{d} (required by {by})"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub type Result<T, E = ApkError> = std::result::Result<T, E>;

/// `map_err` helper for file operations.
pub fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> ApkError {
    let path = path.into();
    move |cause| ApkError::Io { path, cause }
}

pub fn format(what: impl Into<String>, reason: impl Into<String>) -> ApkError {
    ApkError::Format {
        what: what.into(),
        reason: reason.into(),
    }
}
