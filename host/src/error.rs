//! One error type for the crate: every variant names the thing that failed
//! (command, path, package) so a failing test says what to fix.

use std::io;
use std::path::PathBuf;

/// Errors from fetching kernels and packages and from booting QEMU.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No cache directory could be derived from the environment.
    #[error("no cache directory: set ZOS_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoCacheDir,

    /// Offline mode and the cache lacks an item.
    #[error(
        "offline (ZOS_OFFLINE=1): {what} is not in the cache ({path}); \
         fill the cache by running the same command once online without ZOS_OFFLINE, \
         e.g. `ZOS_QEMU_TESTS=1 cargo test -p zos-qemu --test boot_probe` \
         (cache dir: $ZOS_CACHE_DIR, else $XDG_CACHE_HOME/zos-initramfs, else ~/.cache/zos-initramfs)"
    )]
    Offline { what: String, path: PathBuf },

    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A helper program could not be started.
    #[error("cannot run `{cmd}`: {source}")]
    Spawn {
        cmd: String,
        #[source]
        source: io::Error,
    },

    /// A helper program ran and failed.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        cmd: String,
        status: String,
        stderr: String,
    },

    /// apt does not know the package even after `apt-get update` (or could not run it).
    #[error("apt cannot locate package {package}: {hint}")]
    PackageNotFound { package: String, hint: String },

    /// A metapackage did not name a concrete package we could recognise.
    #[error("cannot resolve metapackage {package}: {detail}")]
    Resolve { package: String, detail: String },

    /// A `.deb` file is not a well-formed Debian package.
    #[error("Debian package {}: {reason}", path.display())]
    DebFormat { path: PathBuf, reason: String },

    /// An extracted package lacks a file it should ship.
    #[error("{what} not found in {path}")]
    Missing { what: String, path: PathBuf },

    /// A tool is not installed and could not be installed.
    #[error("{tool} not found in PATH; install it with `apt-get install -y {package}` (as root)")]
    MissingTool { tool: String, package: String },

    /// The kernel command line would be too long (QEMU hangs instead of failing: see
    /// [`crate::MAX_CMDLINE`]).
    #[error("kernel command line is {len} bytes, the limit is {max} (QEMU would hang): {head}...")]
    AppendTooLong { len: usize, max: usize, head: String },

    /// The architecture is modelled but not wired up yet.
    #[error("{what} is not supported for {arch} yet")]
    Unsupported { what: &'static str, arch: &'static str },

    /// The guest's console showed a failure before the boot could finish (e.g. iPXE
    /// could not download a file); QEMU was killed at once.
    #[error("{message} (QEMU stopped; serial log {serial_log})")]
    GuestFailed { message: String, serial_log: PathBuf },
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
