//! Kernel modules without kmod: depmod's index ([`index`]), alias globs ([`glob`]),
//! modprobe.d and cmdline options ([`options`]), user-space decompression
//! ([`decompress`]) and the parallel, dependency-aware loader ([`load`]).

pub mod decompress;
pub mod glob;
pub mod index;
pub mod load;
pub mod options;

use std::path::PathBuf;

use crate::error::SysError;

/// `-` and `_` are the same in module names; the kernel stores `_`.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// Why a module was not loaded. Each names the module, and where there is one, the
/// path and the errno.
#[derive(Debug, thiserror::Error)]
pub enum ModError {
    #[error("read {}: {cause}", path.display())]
    Index { path: PathBuf, cause: std::io::Error },
    #[error("{module}: {source}")]
    Load {
        module: String,
        #[source]
        source: SysError,
    },
    #[error("{module}: decompress {}: {why}", path.display())]
    Decompress { module: String, path: PathBuf, why: String },
    #[error("{module}: not in modules.dep (no such module in the image)")]
    NotFound { module: String },
    #[error("{module}: not loaded: its dependency {dep} failed")]
    DepFailed { module: String, dep: String },
    #[error("{module}: not loaded: it needs {dep}, which is blacklisted")]
    DepBlacklisted { module: String, dep: String },
    #[error("{module}: dependency cycle, not loaded")]
    Cycle { module: String },
}

#[cfg(test)]
mod tests {
    #[test]
    fn dash_and_underscore_are_one() {
        assert_eq!(super::normalize("virtio-rng"), "virtio_rng");
    }
}
