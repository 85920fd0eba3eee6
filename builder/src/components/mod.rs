//! Binaries that are not Alpine packages: zinit, corex, seektime, rfs (BOOT-FACTS
//! section 6). configs/components.lock pins each one: a GitHub release (repository,
//! tag, asset name and sha256 per TARGETARCH), a crates.io crate built with
//! `cargo install`, a local file, or a git bundle/repository built from source at a
//! pinned commit. docs/GITHUB.md describes the file and the checks.

pub mod cli;
pub mod crates;
pub mod fetch;
pub mod lock;
pub mod source;
pub mod update;

use std::path::PathBuf;

pub use fetch::{fetch, Endpoints, FetchOptions, Fetched};
pub use lock::{Asset, Component, Lock, SourceKind, PLACEHOLDER_SHA256};

#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    #[error("components lock {}: {reason}", path.display())]
    Lock { path: PathBuf, reason: String },
    #[error("component {name}: no asset for {arch} in the lock (add [component.assets.{arch}] or run `zos-builder components update`)")]
    NoAsset { name: String, arch: String },
    #[error(
        "component {name} ({arch}): {why}; VERIFY_CHECKSUMS is on, so it is refused \
         (run `zos-builder components update` to pin it, or VERIFY_CHECKSUMS=0 for a throwaway build)"
    )]
    Unverified { name: String, arch: String, why: String },
    #[error("component {name} ({arch}): release builds pin every component, but {why}")]
    ReleaseUnpinned { name: String, arch: String, why: String },
    #[error("component {name}: {url}: sha256 {got}, the lock says {want} (file not kept)")]
    Mismatch {
        name: String,
        url: String,
        want: String,
        got: String,
    },
    #[error("component {name}: {url}: {why}")]
    Download { name: String, url: String, why: String },
    #[error("component {name}: offline (ZOS_OFFLINE=1) and {} is not in the cache; fetch it once online ({url})", path.display())]
    Offline { name: String, url: String, path: PathBuf },
    #[error("component {name}: {op} {}: {cause}", path.display())]
    Io {
        name: String,
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("component {name}: {cmd}: {why}")]
    Build { name: String, cmd: String, why: String },
    #[error("components update: {url}: {why}")]
    Api { url: String, why: String },
    #[error("component {name} is not in the lock {}", lock.display())]
    Unknown { name: String, lock: PathBuf },
}
