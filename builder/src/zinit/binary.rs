//! The zinit that `zos-builder run`, `build --zinit` and the QEMU tests put into the
//! image: the `zinit-src` component of configs/components.lock, zinit v0.2.11 built
//! from its git bundle once and cached by commit and toolchain
//! (src/components/source.rs).

use std::path::PathBuf;

use crate::components::{self, ComponentError, Endpoints, FetchOptions, Fetched, Lock};
use crate::knobs::TargetArch;

/// The lock entry (a name of configs/components.lock).
pub const COMPONENT: &str = "zinit-src";
/// Its version, for messages and docs.
pub const ZINIT_VERSION: &str = "0.2.11";
/// Where zinit 0.2.11 listens (its `--socket` default); `zinit list` talks to it.
pub const SOCKET: &str = "/var/run/zinit.sock";

/// configs/components.lock of this checkout.
pub fn lock_path() -> PathBuf {
    let root = crate::workspace::root();
    root.canonicalize().unwrap_or(root).join("configs/components.lock")
}

/// zinit for `arch`, from the cache or built now; `note` is the build-log line (source,
/// commit, toolchain, sha256).
pub fn zinit_binary(arch: TargetArch) -> Result<Fetched, ComponentError> {
    let lock_path = lock_path();
    let lock = Lock::load(&lock_path)?;
    let c = lock.get(COMPONENT).ok_or_else(|| ComponentError::Unknown {
        name: COMPONENT.into(),
        lock: lock_path.clone(),
    })?;
    let cache = zos_host::Cache::from_env().map_err(|e| ComponentError::Build {
        name: COMPONENT.into(),
        cmd: "cache".into(),
        why: e.to_string(),
    })?;
    let opts = FetchOptions {
        cache,
        cache_downloads: true,
        verify: true,
        release: false,
        arch,
        endpoints: Endpoints::from_env(),
        lock_dir: lock_path.parent().map(PathBuf::from).unwrap_or_default(),
        scratch: std::env::temp_dir(),
    };
    components::fetch(c, &opts)
}
