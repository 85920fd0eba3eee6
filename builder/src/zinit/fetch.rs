//! zinit 0.1.0 from crates.io, built once for musl and cached.
//!
//! `cargo install zinit@0.1.0 --features full --target x86_64-unknown-linux-musl` takes
//! about 90 s on 2 cores, so the three binaries are kept in
//! `<cache>/zinit/0.1.0-x86_64-unknown-linux-musl/bin/` (the zos cache dir,
//! `zos_host::Cache`) and every later build, run and test reuses them. The build goes to
//! a `.partial` directory renamed into place when complete, under a lock file, so a
//! killed build or two test binaries starting at once never leave half a cache entry.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use zos_host::Cache;

use crate::workspace::MUSL_TARGET;

/// The crates.io release the images run (the 0.2 line is only on GitHub).
pub const ZINIT_VERSION: &str = "0.1.0";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Cache(#[from] zos_host::Error),
    #[error("zinit cache {}: {op}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{cmd}: {why}; see the cargo output above (a prebuilt copy can be put in {})", dir.display())]
    Build { cmd: String, why: String, dir: PathBuf },
}

/// The three programs of zinit 0.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZinitBins {
    /// The client CLI (`zinit list`, `zinit poweroff`).
    pub zinit: PathBuf,
    /// PID 1: reaps, forwards signals, starts and restarts the server, powers off.
    pub pid1: PathBuf,
    /// The supervisor proper (units, socket).
    pub server: PathBuf,
}

impl ZinitBins {
    pub fn in_dir(bin: &Path) -> ZinitBins {
        ZinitBins {
            zinit: bin.join("zinit"),
            pid1: bin.join("zinit-pid1"),
            server: bin.join("zinit-server"),
        }
    }

    fn complete(&self) -> bool {
        [&self.zinit, &self.pid1, &self.server].iter().all(|p| p.is_file())
    }
}

/// The cache entry for this version and target.
pub fn cache_dir(cache: &Cache) -> PathBuf {
    cache
        .root()
        .join("zinit")
        .join(format!("{ZINIT_VERSION}-{MUSL_TARGET}"))
}

/// zinit's binaries from the cache described by the environment, built on first use.
pub fn zinit_binaries() -> Result<ZinitBins, FetchError> {
    zinit_binaries_in(&Cache::from_env()?)
}

/// [`zinit_binaries`] with an explicit cache; offline mode only reads the cache.
pub fn zinit_binaries_in(cache: &Cache) -> Result<ZinitBins, FetchError> {
    let dir = cache_dir(cache);
    let bins = ZinitBins::in_dir(&dir.join("bin"));
    if bins.complete() {
        return Ok(bins);
    }
    cache.require_online(&format!("zinit {ZINIT_VERSION} built for {MUSL_TARGET}"), &dir)?;
    let parent = dir.parent().unwrap_or(cache.root()).to_path_buf();
    let io = |op, path: &Path| {
        let path = path.to_path_buf();
        move |cause| FetchError::Io { op, path, cause }
    };
    fs::create_dir_all(&parent).map_err(io("mkdir -p", &parent))?;
    let lock_path = parent.join(".lock");
    let lock = File::create(&lock_path).map_err(io("create", &lock_path))?;
    lock.lock().map_err(io("flock", &lock_path))?;
    // Another process may have finished the build while we waited for the lock.
    if bins.complete() {
        return Ok(bins);
    }
    let partial = parent.join(format!("{ZINIT_VERSION}-{MUSL_TARGET}.partial"));
    if !ZinitBins::in_dir(&partial.join("bin")).complete() {
        cargo_install(&partial, &dir)?;
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io("rm -r", &dir))?;
    }
    fs::rename(&partial, &dir).map_err(io("rename", &partial))?;
    drop(lock);
    Ok(bins)
}

/// `cargo install` into `root`, first `--locked` (the crate's own Cargo.lock, which is
/// known to build), then without it in case the lock pins something yanked.
fn cargo_install(root: &Path, final_dir: &Path) -> Result<(), FetchError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Its own target dir: never the workspace's (a `cargo test` may hold that lock)
    // nor a user's CARGO_TARGET_DIR; removed afterwards (about 300 MB).
    let target_dir = root.with_extension("target");
    let spec = format!("zinit@{ZINIT_VERSION}");
    let mut last = String::new();
    for locked in [true, false] {
        let mut cmd = Command::new(&cargo);
        cmd.args([
            "install",
            &spec,
            "--features",
            "full",
            "--target",
            MUSL_TARGET,
            "--root",
        ])
        .arg(root)
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(root.parent().unwrap_or(Path::new("/")));
        if locked {
            cmd.arg("--locked");
        }
        let shown = format!(
            "cargo install {spec} --features full --target {MUSL_TARGET} --root {}{}",
            root.display(),
            if locked { " --locked" } else { "" }
        );
        eprintln!("zinit: building {spec} for {MUSL_TARGET} once (about 90 s): {shown}");
        let status = cmd.status().map_err(|cause| FetchError::Build {
            cmd: shown.clone(),
            why: cause.to_string(),
            dir: final_dir.to_path_buf(),
        })?;
        let _ = fs::remove_dir_all(&target_dir);
        if status.success() && ZinitBins::in_dir(&root.join("bin")).complete() {
            return Ok(());
        }
        last = shown;
    }
    Err(FetchError::Build {
        cmd: last,
        why: "failed with and without --locked".into(),
        dir: final_dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_binaries_are_used_without_building() {
        let t = tempfile::tempdir().unwrap();
        let cache = Cache::new(t.path(), true);
        let bin = cache_dir(&cache).join("bin");
        fs::create_dir_all(&bin).unwrap();
        for b in ["zinit", "zinit-pid1", "zinit-server"] {
            fs::write(bin.join(b), "x").unwrap();
        }
        assert_eq!(zinit_binaries_in(&cache).unwrap(), ZinitBins::in_dir(&bin));
    }

    #[test]
    fn offline_without_cache_says_what_is_missing() {
        let t = tempfile::tempdir().unwrap();
        let msg = zinit_binaries_in(&Cache::new(t.path(), true)).unwrap_err().to_string();
        assert!(msg.contains("zinit 0.1.0 built for x86_64-unknown-linux-musl"), "{msg}");
        assert!(msg.contains("ZOS_OFFLINE"), "{msg}");
    }
}
