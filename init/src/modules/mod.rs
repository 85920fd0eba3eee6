//! Kernel modules without kmod: depmod's index ([`index`]), alias globs ([`glob`]),
//! modprobe.d and cmdline options ([`options`]), user-space decompression
//! ([`decompress`]) and the parallel, dependency-aware loader ([`load`]).

mod bounded;
pub mod decompress;
pub mod load;
pub mod lookup;
pub mod moved;
pub mod tree;

pub use zos_common::modules::{glob, index, normalize, options};

use std::path::PathBuf;

use crate::error::SysError;

/// Why a module was not loaded. Each names the module, and where there is one, the
/// path and the errno.
#[derive(Debug, thiserror::Error)]
pub enum ModError {
    #[error(transparent)]
    Index(#[from] zos_common::modules::IndexError),
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
    #[error(
        "{module}: {op} {} still in the module's init after {} s: left to the kernel in pid {pid} \
         (a module's init cannot be interrupted); the modules that need it are not tried",
        path.display(),
        after.as_secs_f64()
    )]
    StillLoading {
        module: String,
        op: &'static str,
        path: PathBuf,
        after: std::time::Duration,
        pid: u32,
    },
    #[error("{module}: dependency cycle, not loaded")]
    Cycle { module: String },
}
