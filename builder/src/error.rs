//! The error of a whole build. Each message names the path it is about, because the
//! CLI prints it as the one line a user sees.
//!
//! Convention for all error types of this crate: the cause is part of the message
//! and is deliberately *not* a `source()` (fields are named `cause`, not `source`),
//! so that anyhow's `{:#}` does not print it twice.

use std::io;
use std::path::PathBuf;

use crate::compress::CompressError;
use crate::cpio::CpioError;
use crate::manifest::ManifestError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Cpio(#[from] CpioError),
    #[error(transparent)]
    Compress(#[from] CompressError),
    #[error("init binary {}: {cause}", path.display())]
    Init { path: PathBuf, cause: io::Error },
    #[error("init binary {} is not a regular file", path.display())]
    InitNotFile { path: PathBuf },
    #[error("extra file {}: {cause}", path.display())]
    ExtraSource { path: PathBuf, cause: io::Error },
    #[error("extra file {} is not a regular file", path.display())]
    ExtraNotFile { path: PathBuf },
    #[error("image path {:?} must name a file below / without `..`", path.display().to_string())]
    BadImagePath { path: PathBuf },
    #[error("bad --file {spec:?}: {reason} (want SRC:DEST[:MODE], MODE in octal)")]
    BadFileSpec { spec: String, reason: &'static str },
    #[error("output {}: {cause}", path.display())]
    Output { path: PathBuf, cause: io::Error },
}

/// Reading an image back (`ls`).
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("image {}: {cause}", path.display())]
    Open { path: PathBuf, cause: io::Error },
    #[error("image {}: {cause}", path.display())]
    Parse { path: PathBuf, cause: CpioError },
}
