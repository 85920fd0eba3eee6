//! Installing on top of an existing tree (`--source`) as apk-tools 2.14 upgrades it
//! (database.c `apk_db_install_archive_entry`, `apk_db_migrate_files`,
//! `apk_db_purge_pkg`):
//! - the files the tree's database records (`F:`/`R:`/`Z:`), with the package that
//!   owns each, so an upgrade knows what it replaces;
//! - protected paths (apk's default `+etc`): a file there that is on disk and either
//!   owned by no package or changed since its package installed it (on-disk SHA1 !=
//!   the recorded `Z:`) is kept, and the package's version goes to `FILE.apk-new`
//!   (not written at all when it is identical to the file on disk); an unmodified
//!   file is replaced;
//! - after a package is replaced, the files of its old version that the new one does
//!   not ship are removed (a changed config file stays, as without `--purge`), and
//!   its directories that became empty and unowned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::path::Path;

use sha1::{Digest, Sha1};

use super::db::INSTALLED;
use super::extract::DirRec;
use super::owners::Owners;
use super::package::q1;

/// What the tree's database says about its files.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    /// `dir/name` -> (owning package, recorded `Z:` digest).
    pub files: HashMap<String, (String, Option<String>)>,
    /// Package name -> its files and its directories, as recorded.
    pub pkg_files: BTreeMap<String, Vec<String>>,
    pub pkg_dirs: BTreeMap<String, Vec<String>>,
}

impl Tree {
    /// Reads `root`'s installed database (empty when there is none).
    pub fn load(root: &Path) -> Tree {
        Tree::parse(&fs::read_to_string(root.join(INSTALLED)).unwrap_or_default())
    }

    pub fn parse(text: &str) -> Tree {
        let mut t = Tree::default();
        let (mut pkg, mut dir, mut last) = (String::new(), String::new(), None::<String>);
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k {
                "P" => pkg = v.to_string(),
                "F" => {
                    dir = v.to_string();
                    t.pkg_dirs.entry(pkg.clone()).or_default().push(dir.clone());
                }
                "R" => {
                    let path = if dir.is_empty() {
                        v.to_string()
                    } else {
                        format!("{dir}/{v}")
                    };
                    t.files.insert(path.clone(), (pkg.clone(), None));
                    t.pkg_files.entry(pkg.clone()).or_default().push(path.clone());
                    last = Some(path);
                }
                "Z" => {
                    if let Some(e) = last.as_ref().and_then(|p| t.files.get_mut(p)) {
                        e.1 = Some(v.to_string());
                    }
                }
                _ => {}
            }
        }
        t
    }

    /// Records what package `name` just installed, so a later package of the same
    /// transaction sees those files as owned (as apk's in-memory database does).
    pub fn record(&mut self, name: &str, dirs: &[DirRec]) {
        for d in dirs {
            for f in &d.files {
                let path = if d.name.is_empty() {
                    f.name.clone()
                } else {
                    format!("{}/{}", d.name, f.name)
                };
                self.files.insert(path, (name.to_string(), f.digest.clone()));
            }
        }
    }

    /// The recorded digest of `path` when a package owns it: Some(None) for an owned
    /// file without `Z:`, None when no package owns it.
    pub fn recorded(&self, path: &str) -> Option<Option<&str>> {
        self.files.get(path).map(|(_, z)| z.as_deref())
    }
}

/// apk's default protected paths: everything below etc/ (`+etc`; `@etc/init.d` and
/// `!etc/apk` only change what `apk audit` reports, migration treats them alike).
pub fn protected(path: &str) -> bool {
    path.starts_with("etc/")
}

/// `Q1` SHA1 of what is at `host`: a file's content or a symlink's target, as apk
/// hashes them; None when nothing (or a directory) is there.
pub fn disk_digest(host: &Path) -> Option<String> {
    let m = fs::symlink_metadata(host).ok()?;
    let mut sha = Sha1::new();
    if m.file_type().is_symlink() {
        sha.update(fs::read_link(host).ok()?.as_os_str().as_encoded_bytes());
    } else if m.is_file() {
        let mut f = fs::File::open(host).ok()?;
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
        }
    } else {
        return None;
    }
    Some(q1(&sha.finalize()))
}

/// Where a package file lands: on its path, beside it as `.apk-new`, or nowhere
/// (identical to the kept file).
#[derive(Debug, PartialEq, Eq)]
pub enum Placement {
    Replace,
    ApkNew,
    Skip,
}

/// apk's `apk_db_migrate_files` rule for `path` (relative), whose new content has
/// digest `new` (Q1), given what is on disk at `host` and what the database recorded.
pub fn placement(tree: &Tree, path: &str, host: &Path, new: Option<&str>) -> Placement {
    if !protected(path) {
        return Placement::Replace;
    }
    let Some(disk) = disk_digest(host) else {
        return Placement::Replace;
    };
    let unmodified = tree.recorded(path).flatten().is_some_and(|z| z == disk);
    if unmodified {
        Placement::Replace
    } else if new == Some(disk.as_str()) {
        Placement::Skip
    } else {
        Placement::ApkNew
    }
}

/// Removes what the old version `old` of a package had and the new one (`dirs`) does
/// not: its files no other package records, then its directories left empty and
/// recorded by no other package (deepest first). Returns the removed paths.
pub fn purge_old(root: &Path, tree: &Tree, old: &str, dirs: &[DirRec], owners: &mut Owners) -> Vec<String> {
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for d in dirs {
        keep.insert(d.name.clone());
        for f in &d.files {
            keep.insert(if d.name.is_empty() {
                f.name.clone()
            } else {
                format!("{}/{}", d.name, f.name)
            });
        }
    }
    let mut removed = Vec::new();
    for f in tree.pkg_files.get(old).into_iter().flatten() {
        let owned_by_old = tree.files.get(f).is_some_and(|(p, _)| p == old);
        if keep.contains(f) || !owned_by_old {
            continue;
        }
        // apk_db_purge_pkg keeps a changed config file (only --purge drops it).
        let recorded = tree.recorded(f).flatten();
        if protected(f) && disk_digest(&root.join(f)).as_deref() != recorded {
            continue;
        }
        if fs::remove_file(root.join(f)).is_ok() {
            owners.map.remove(Path::new(f));
            removed.push(f.clone());
        }
    }
    let others: BTreeSet<&String> = tree
        .pkg_dirs
        .iter()
        .filter(|(p, _)| p.as_str() != old)
        .flat_map(|(_, d)| d)
        .collect();
    let mut dirs_old: Vec<&String> = tree.pkg_dirs.get(old).into_iter().flatten().collect();
    dirs_old.sort_by_key(|d| std::cmp::Reverse(d.len()));
    for d in dirs_old {
        if d.is_empty() || keep.contains(d) || others.contains(d) {
            continue;
        }
        if fs::remove_dir(root.join(d)).is_ok() {
            owners.map.remove(Path::new(d));
            removed.push(format!("{d}/"));
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_and_unowned_config_files_are_kept() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::write(r.join("etc/a.conf"), b"as packaged\n").unwrap();
        fs::write(r.join("etc/b.conf"), b"edited\n").unwrap();
        fs::write(r.join("etc/mine.conf"), b"nobody's\n").unwrap();
        fs::write(r.join("bin-x"), b"old\n").unwrap();
        let packaged = disk_digest(&r.join("etc/a.conf")).unwrap();
        let tree = Tree::parse(&format!(
            "P:p\nV:1\nF:etc\nR:a.conf\nZ:{packaged}\nR:b.conf\nZ:{packaged}\nF:\nR:bin-x\n\n"
        ));
        let new = Some("Q1new=");
        assert_eq!(
            placement(&tree, "etc/a.conf", &r.join("etc/a.conf"), new),
            Placement::Replace
        );
        assert_eq!(
            placement(&tree, "etc/b.conf", &r.join("etc/b.conf"), new),
            Placement::ApkNew
        );
        assert_eq!(
            placement(&tree, "etc/mine.conf", &r.join("etc/mine.conf"), new),
            Placement::ApkNew
        );
        let same = disk_digest(&r.join("etc/mine.conf"));
        assert_eq!(
            placement(&tree, "etc/mine.conf", &r.join("etc/mine.conf"), same.as_deref()),
            Placement::Skip
        );
        assert_eq!(
            placement(&tree, "etc/none.conf", &r.join("etc/none.conf"), new),
            Placement::Replace
        );
        assert_eq!(placement(&tree, "bin-x", &r.join("bin-x"), new), Placement::Replace);
        // The old version's files the new one lacks go; shipped ones stay.
        let mut owners = Owners::default();
        let dirs = vec![DirRec {
            name: "etc".into(),
            acl: super::super::extract::DEFAULT_DIR,
            files: vec![super::super::extract::FileRec {
                name: "a.conf".into(),
                acl: super::super::extract::DEFAULT_FILE,
                digest: None,
            }],
        }];
        let gone = purge_old(r, &tree, "p", &dirs, &mut owners);
        assert_eq!(gone, ["bin-x"]);
        assert!(r.join("etc/a.conf").exists() && r.join("etc/mine.conf").exists());
        assert!(
            r.join("etc/b.conf").exists(),
            "an edited config file outlives its package"
        );
    }
}
