//! Where fetched packages live, and whether the network may be used.
//!
//! The directory is `$ZOS_CACHE_DIR`, else `$XDG_CACHE_HOME/zos-initramfs`, else
//! `$HOME/.cache/zos-initramfs`. With `ZOS_OFFLINE=1` nothing is downloaded: a missing
//! item is an [`Error::Offline`] that names it and says how to fill the cache.

use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::Error;

/// A cache directory plus the offline switch.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    offline: bool,
}

impl Cache {
    /// A cache at `root`; `offline` forbids downloads.
    pub fn new(root: impl Into<PathBuf>, offline: bool) -> Cache {
        Cache {
            root: root.into(),
            offline,
        }
    }

    /// The cache described by the process environment.
    pub fn from_env() -> Result<Cache, Error> {
        let get = |k: &str| std::env::var_os(k);
        let root = resolve_dir(get).ok_or(Error::NoCacheDir)?;
        Ok(Cache::new(root, offline_from(get)))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    /// `Ok` when downloads are allowed; else the offline error for `what` at `path`.
    pub fn require_online(&self, what: &str, path: &Path) -> Result<(), Error> {
        if self.offline {
            return Err(Error::Offline {
                what: what.to_string(),
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Create `<cache>/<sub>` and return it.
    pub fn subdir(&self, sub: &str) -> Result<PathBuf, Error> {
        let dir = self.root.join(sub);
        fs::create_dir_all(&dir).map_err(|e| Error::io("mkdir -p", &dir, e))?;
        Ok(dir)
    }

    /// Hold an exclusive lock on the cache while `f` runs, so parallel test
    /// processes do not download and extract the same package twice.
    pub fn locked<T>(&self, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        fs::create_dir_all(&self.root).map_err(|e| Error::io("mkdir -p", &self.root, e))?;
        let path = self.root.join(".lock");
        let file = File::create(&path).map_err(|e| Error::io("create", &path, e))?;
        file.lock().map_err(|e| Error::io("flock", &path, e))?;
        let out = f();
        // Unlocked when `file` is dropped.
        drop(file);
        out
    }
}

/// Pure resolution of the cache directory from an environment lookup.
/// Empty and relative values are ignored, as the XDG spec asks.
pub fn resolve_dir(get: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let abs = |k: &str| get(k).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(p) = abs("ZOS_CACHE_DIR") {
        return Some(p);
    }
    if let Some(p) = abs("XDG_CACHE_HOME") {
        return Some(p.join("zos-initramfs"));
    }
    abs("HOME").map(|h| h.join(".cache").join("zos-initramfs"))
}

/// `ZOS_OFFLINE=1` turns offline mode on.
pub fn offline_from(get: impl Fn(&str) -> Option<OsString>) -> bool {
    get("ZOS_OFFLINE").is_some_and(|v| v == "1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn zos_cache_dir_wins() {
        let e = env(&[("ZOS_CACHE_DIR", "/c"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(resolve_dir(e), Some(PathBuf::from("/c")));
    }

    #[test]
    fn xdg_then_home() {
        let e = env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(resolve_dir(e), Some(PathBuf::from("/x/zos-initramfs")));
        let e = env(&[("HOME", "/h")]);
        assert_eq!(resolve_dir(e), Some(PathBuf::from("/h/.cache/zos-initramfs")));
    }

    #[test]
    fn empty_and_relative_values_are_ignored() {
        let e = env(&[("ZOS_CACHE_DIR", ""), ("XDG_CACHE_HOME", "rel"), ("HOME", "/h")]);
        assert_eq!(resolve_dir(e), Some(PathBuf::from("/h/.cache/zos-initramfs")));
        assert_eq!(resolve_dir(env(&[])), None);
    }

    #[test]
    fn offline_only_for_1() {
        assert!(offline_from(env(&[("ZOS_OFFLINE", "1")])));
        assert!(!offline_from(env(&[("ZOS_OFFLINE", "0")])));
        assert!(!offline_from(env(&[])));
    }

    #[test]
    fn offline_error_names_item_and_fix() {
        let c = Cache::new("/nonexistent", true);
        let msg = c
            .require_online("package busybox-static", Path::new("/nonexistent/deb"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("busybox-static"), "{msg}");
        assert!(msg.contains("without ZOS_OFFLINE"), "{msg}");
    }
}
