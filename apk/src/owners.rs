//! The ownership manifest: owners and full modes (setuid, setgid, sticky) of the
//! paths the installer created, kept beside the rootfs instead of on the host
//! filesystem. An ordinary user cannot chown, and a setuid or 0000-mode file on the
//! host would only get in the way; the packer applies the manifest to the cpio
//! entries, so the image gets `root:shadow 0640 /etc/shadow` and `04111 /bin/bbsuid`
//! whoever built it.
//!
//! Format, one path a line, sorted: `uid gid mode(octal) path` (path relative to the
//! rootfs, as in the archive). Lines starting with `#` are comments.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use zos_cpio::Entry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid/setgid/sticky (07777).
    pub mode: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners {
    pub map: BTreeMap<PathBuf, Owner>,
}

/// `output/rootfs` -> `output/rootfs.owners`.
pub fn sidecar_for(root: &Path) -> PathBuf {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rootfs".into());
    root.with_file_name(format!("{name}.owners"))
}

impl Owners {
    pub fn set(&mut self, path: impl Into<PathBuf>, owner: Owner) {
        self.map.insert(path.into(), owner);
    }

    pub fn render(&self) -> String {
        let mut s = String::from("# zos-builder ownership manifest: uid gid mode path (applied when packing)\n");
        for (p, o) in &self.map {
            s.push_str(&format!("{} {} {:04o} {}\n", o.uid, o.gid, o.mode, p.display()));
        }
        s
    }

    pub fn parse(text: &str) -> Result<Owners, String> {
        let mut out = Owners::default();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let bad = || format!("line {}: want `uid gid mode path`: {line:?}", n + 1);
            let mut it = line.splitn(4, ' ');
            let uid = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let gid = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let mode = it
                .next()
                .and_then(|v| u32::from_str_radix(v, 8).ok())
                .filter(|m| *m <= 0o7777)
                .ok_or_else(bad)?;
            let path = it.next().filter(|p| !p.is_empty()).ok_or_else(bad)?;
            out.set(path.trim_start_matches('/'), Owner { uid, gid, mode });
        }
        Ok(out)
    }

    pub fn load(path: &Path) -> Result<Owners, String> {
        let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
        Owners::parse(&text)
    }

    /// Gives listed entries their recorded owner and mode; others keep what the
    /// scan found.
    pub fn apply(&self, entries: &mut [Entry]) {
        for e in entries {
            if let Some(o) = self.map.get(&e.name) {
                e.uid = o.uid;
                e.gid = o.gid;
                e.perm = o.mode;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zos_cpio::EntryKind;

    #[test]
    fn round_trip_and_apply() {
        let mut o = Owners::default();
        o.set(
            "etc/shadow",
            Owner {
                uid: 0,
                gid: 42,
                mode: 0o640,
            },
        );
        o.set(
            "bin/bbsuid",
            Owner {
                uid: 0,
                gid: 0,
                mode: 0o4111,
            },
        );
        o.set(
            "dir with space/x",
            Owner {
                uid: 1,
                gid: 2,
                mode: 0o755,
            },
        );
        let back = Owners::parse(&o.render()).unwrap();
        assert_eq!(back, o);
        let mut e = vec![
            Entry::new("bin/bbsuid", EntryKind::Dir, 0o755),
            Entry::new("other", EntryKind::Dir, 0o700),
        ];
        e[0].uid = 65534;
        e[1].uid = 65534;
        back.apply(&mut e);
        assert_eq!((e[0].uid, e[0].perm), (0, 0o4111));
        assert_eq!((e[1].uid, e[1].perm), (65534, 0o700));
        assert_eq!(sidecar_for(Path::new("out/rootfs")), Path::new("out/rootfs.owners"));
        assert!(Owners::parse("0 0 999 x").is_err());
    }
}
