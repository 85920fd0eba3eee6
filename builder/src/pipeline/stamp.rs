//! Stage names, input fingerprints and the stamps that let an unchanged stage be
//! skipped.
//!
//! A stage's key is the sha256 of everything it reads: the config text, the resolved
//! knobs it uses, the keys of the stages it consumes, and its input files. Single
//! files are hashed by content; directory trees by each entry's path, type, mode,
//! owner, size, mtime (ns) and link target, the way make and cargo decide freshness,
//! because hashing a whole kernel module tree on every build would cost more than the
//! stage saves. The key is written to `<out>/stages/<stage>.stamp` after the stage
//! succeeded; a later build with the same key and the outputs present skips it.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The stages, in build order. The names are used in build.log, the stamps and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Rootfs,
    Components,
    Modules,
    Configs,
    Init,
    Pack,
    Efi,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Rootfs,
        Stage::Components,
        Stage::Modules,
        Stage::Configs,
        Stage::Init,
        Stage::Pack,
        Stage::Efi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Rootfs => "rootfs",
            Stage::Components => "components",
            Stage::Modules => "modules",
            Stage::Configs => "configs",
            Stage::Init => "init",
            Stage::Pack => "pack",
            Stage::Efi => "efi",
        }
    }
}

/// Accumulates a stage's inputs. Every item is length-prefixed, so `("ab","c")` and
/// `("a","bc")` never collide.
pub struct Fingerprint(Sha256);

impl Fingerprint {
    pub fn new(stage: Stage) -> Fingerprint {
        let mut f = Fingerprint(Sha256::new());
        f.text("stage", stage.as_str());
        f
    }

    fn put(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    pub fn text(&mut self, label: &str, value: &str) -> &mut Self {
        self.put(label.as_bytes());
        self.put(value.as_bytes());
        self
    }

    /// A file by content, a directory by its entries' metadata, a missing path as such.
    pub fn path(&mut self, label: &str, p: &Path) -> &mut Self {
        self.put(label.as_bytes());
        match fs::metadata(p) {
            Ok(m) if m.is_dir() => self.tree(p, p),
            Ok(_) => match fs::read(p) {
                Ok(bytes) => {
                    self.put(b"file");
                    self.put(&Sha256::digest(&bytes));
                }
                Err(e) => self.put(format!("unreadable {e}").as_bytes()),
            },
            Err(_) => self.put(b"missing"),
        }
        self
    }

    fn tree(&mut self, base: &Path, dir: &Path) {
        let Ok(rd) = fs::read_dir(dir) else {
            self.put(b"unreadable dir");
            return;
        };
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let Ok(m) = fs::symlink_metadata(&p) else { continue };
            let rel = p.strip_prefix(base).unwrap_or(&p);
            self.put(rel.as_os_str().as_encoded_bytes());
            let link = fs::read_link(&p).map(|t| t.display().to_string()).unwrap_or_default();
            self.put(
                format!(
                    "{:o} {}:{} {} {}.{} {link}",
                    m.mode(),
                    m.uid(),
                    m.gid(),
                    m.size(),
                    m.mtime(),
                    m.mtime_nsec()
                )
                .as_bytes(),
            );
            if m.is_dir() {
                self.tree(base, &p);
            }
        }
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// `<out>/stages/<stage>.stamp`.
pub fn stamp_path(out: &Path, stage: Stage) -> PathBuf {
    out.join("stages").join(format!("{}.stamp", stage.as_str()))
}

/// True when the last successful run of `stage` had this key.
pub fn is_fresh(out: &Path, stage: Stage, key: &str) -> bool {
    fs::read_to_string(stamp_path(out, stage)).is_ok_and(|s| s.trim() == key)
}

pub fn write_stamp(out: &Path, stage: Stage, key: &str) -> std::io::Result<()> {
    let p = stamp_path(out, stage);
    if let Some(d) = p.parent() {
        fs::create_dir_all(d)?;
    }
    fs::write(p, format!("{key}\n"))
}

/// Forget a stage before running it, so a failed run is never taken for a good one.
pub fn clear_stamp(out: &Path, stage: Stage) {
    let _ = fs::remove_file(stamp_path(out, stage));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_content_and_metadata_only() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), "1").unwrap();
        let key = |label: &str| {
            let mut f = Fingerprint::new(Stage::Rootfs);
            f.path(label, d.path()).text("k", "v");
            f.finish()
        };
        let k1 = key("x");
        assert_eq!(k1, key("x"), "stable");
        assert_ne!(k1, key("y"), "labels count");
        fs::write(d.path().join("b"), "2").unwrap();
        assert_ne!(k1, key("x"), "a new file counts");
        let mut f = Fingerprint::new(Stage::Pack);
        f.path("missing", &d.path().join("nope"));
        let mut g = Fingerprint::new(Stage::Efi);
        g.path("missing", &d.path().join("nope"));
        assert_ne!(f.finish(), g.finish(), "the stage name counts");
    }

    #[test]
    fn stamps() {
        let d = tempfile::tempdir().unwrap();
        assert!(!is_fresh(d.path(), Stage::Init, "k"));
        write_stamp(d.path(), Stage::Init, "k").unwrap();
        assert!(is_fresh(d.path(), Stage::Init, "k"));
        assert!(!is_fresh(d.path(), Stage::Init, "other"));
        clear_stamp(d.path(), Stage::Init);
        assert!(!is_fresh(d.path(), Stage::Init, "k"));
    }
}
