//! Extracting a package's data tar into the rootfs as an ordinary user: contents,
//! links, modes and mtimes go on the host; owners and special mode bits go into the
//! ownership manifest (see owners.rs). Returns the per-directory file list for the
//! installed database, in apk's shape (apk-tools database.c
//! `apk_db_install_archive_entry`).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use sha1::{Digest, Sha1};

use super::error::{ApkError, Result};
use super::ids::Ids;
use super::owners::{Owner, Owners};
use super::package::q1;
use super::upgrade::{placement, Placement, Tree};

pub const DEFAULT_DIR: Owner = Owner {
    uid: 0,
    gid: 0,
    mode: 0o755,
};
pub const DEFAULT_FILE: Owner = Owner {
    uid: 0,
    gid: 0,
    mode: 0o644,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRec {
    pub name: String,
    pub acl: Owner,
    /// `Q1...` from the PAX `APK-TOOLS.checksum.SHA1` header.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirRec {
    pub name: String,
    pub acl: Owner,
    pub files: Vec<FileRec>,
}

#[derive(Debug, Default)]
pub struct Extracted {
    pub dirs: Vec<DirRec>,
    /// Things the image cannot carry (xattrs, device nodes), for the build log.
    pub warnings: Vec<String>,
    /// Protected files kept on disk, the package's version written as `.apk-new`.
    pub apk_new: Vec<String>,
}

impl Extracted {
    /// apk keeps one record per directory and package, created on first use.
    fn dir(&mut self, name: &str) -> &mut DirRec {
        if let Some(i) = self.dirs.iter().position(|d| d.name == name) {
            return &mut self.dirs[i];
        }
        self.dirs.push(DirRec {
            name: name.to_string(),
            acl: DEFAULT_DIR,
            files: Vec::new(),
        });
        self.dirs.last_mut().expect("just pushed")
    }
}

/// Extracts `data` (the package's data tar, or with `whole_tree` a rootfs tarball)
/// under `root`.
pub fn extract(
    data: &[u8],
    root: &Path,
    package: &str,
    owners: &mut Owners,
    verify: bool,
    whole_tree: bool,
) -> Result<Extracted> {
    extract_with(data, root, package, owners, verify, whole_tree, None)
}

/// [`extract`] as apk installs a package: with `tree` (the root's database before
/// the transaction), protected files on disk are kept as upgrade.rs says.
pub fn extract_with(
    data: &[u8],
    root: &Path,
    package: &str,
    owners: &mut Owners,
    verify: bool,
    whole_tree: bool,
    tree: Option<&Tree>,
) -> Result<Extracted> {
    let mut out = Extracted::default();
    let mut ids = Ids::load(root);
    // Q1 digests by entry name: a hard link gets its target's (apk writes Z: for it
    // too, and abuild puts no checksum header on hard links).
    let mut digests: std::collections::HashMap<String, String> = Default::default();
    let mut ar = tar::Archive::new(data);
    let err = |path: &str, reason: String| ApkError::Extract {
        package: package.to_string(),
        path: path.to_string(),
        reason,
    };
    for entry in ar.entries().map_err(|e| err("(data tar)", e.to_string()))? {
        let mut entry = entry.map_err(|e| err("(data tar)", e.to_string()))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // The root itself (`./`) is not an entry to make.
        if raw.trim_start_matches("./").trim_matches('/').is_empty() {
            continue;
        }
        // apk skips top-level dot names in the data part (`.dummy` of empty
        // packages, old control files): not extracted, not in the database.
        if !whole_tree && raw.trim_start_matches("./").starts_with('.') && !raw.trim_start_matches("./").contains('/') {
            continue;
        }
        let name = clean(&raw).ok_or_else(|| err(&raw, "unsafe path (absolute, `..` or newline)".into()))?;
        let e = |reason: String| err(&name, reason);
        let mut sha1_hex = None;
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(|x| e(x.to_string()))? {
            for ext in pax.flatten() {
                let key = ext.key().unwrap_or("");
                if key == "APK-TOOLS.checksum.SHA1" {
                    sha1_hex = ext.value().ok().map(str::to_string);
                } else if let Some(x) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.push(x.to_string());
                }
            }
        }
        let h = entry.header().clone();
        let uid = ids.uid(h.username().ok().flatten(), h.uid().unwrap_or(0) as u32);
        let gid = ids.gid(h.groupname().ok().flatten(), h.gid().unwrap_or(0) as u32);
        let acl = Owner {
            uid,
            gid,
            mode: h.mode().unwrap_or(0o644) & 0o7777,
        };
        let host_rel = resolve_parent(root, &name).map_err(|x| e(x.to_string()))?;
        let host = root.join(&host_rel);
        let kind = h.entry_type();
        for x in &xattrs {
            out.warnings.push(format!(
                "{package}: {name}: xattr {x} not carried (cpio newc has no xattrs)"
            ));
        }
        if kind.is_dir() {
            // A symlink already at this path (baselayout's `var/run -> /run`) is
            // followed inside the root, never on the host: `host` itself may be the
            // link, and create_dir_all + chmod on it would reach the link's host target.
            let host_rel = resolve_in_root(root, &name).map_err(|x| e(x.to_string()))?;
            if host_rel.as_os_str().is_empty() {
                // A link to the root itself (`up -> ../..`): nothing to make.
                out.dir(&name).acl = acl;
                continue;
            }
            let host = root.join(&host_rel);
            fs::create_dir_all(&host).map_err(|x| e(x.to_string()))?;
            // Owner-writable on the host so later packages can add files.
            set_mode(&host, acl.mode & 0o777 | 0o700).map_err(|x| e(x.to_string()))?;
            out.dir(&name).acl = acl;
            owners.set(host_rel, acl);
            continue;
        }
        let (dir, base) = match name.rsplit_once('/') {
            Some((d, b)) => (d.to_string(), b.to_string()),
            None => (String::new(), name.clone()),
        };
        if let Some(parent) = host.parent() {
            fs::create_dir_all(parent).map_err(|x| e(x.to_string()))?;
        }
        let new_q1 = sha1_hex.as_ref().and_then(|h| hex::decode(h).ok()).map(|b| q1(&b));
        let place = match tree {
            Some(t) if kind.is_file() || kind.is_symlink() => placement(t, &name, &host, new_q1.as_deref()),
            _ => Placement::Replace,
        };
        let (host, host_rel) = match place {
            Placement::Replace => (host, host_rel),
            Placement::ApkNew => {
                out.apk_new.push(format!("{name}.apk-new"));
                let mut r = host_rel.into_os_string();
                r.push(".apk-new");
                (root.join(&r), PathBuf::from(r))
            }
            Placement::Skip => {
                // Identical to the kept file: nothing written, still the package's.
                out.dir(&dir).files.push(FileRec {
                    name: base,
                    acl,
                    digest: new_q1,
                });
                continue;
            }
        };
        remove_existing(&host).map_err(|x| e(x.to_string()))?;
        if kind.is_file() {
            let mut f = File::create(&host).map_err(|x| e(x.to_string()))?;
            let mut sha = Sha1::new();
            let mut buf = [0u8; 64 * 1024];
            loop {
                let n = entry.read(&mut buf).map_err(|x| e(x.to_string()))?;
                if n == 0 {
                    break;
                }
                sha.update(&buf[..n]);
                f.write_all(&buf[..n]).map_err(|x| e(x.to_string()))?;
            }
            let got = hex::encode(sha.finalize());
            if let Some(want) = sha1_hex.as_ref().filter(|w| verify && **w != got) {
                return Err(e(format!("content SHA1 {got} does not match its PAX checksum {want}")));
            }
            let mtime = UNIX_EPOCH + Duration::from_secs(h.mtime().unwrap_or(0));
            f.set_modified(mtime).map_err(|x| e(x.to_string()))?;
            drop(f);
            set_mode(&host, acl.mode & 0o777 | 0o600).map_err(|x| e(x.to_string()))?;
        } else if kind.is_symlink() {
            let target = h
                .link_name()
                .map_err(|x| e(x.to_string()))?
                .ok_or_else(|| e("symlink without target".into()))?;
            symlink(&target, &host).map_err(|x| e(x.to_string()))?;
        } else if kind.is_hard_link() {
            let target = h
                .link_name()
                .map_err(|x| e(x.to_string()))?
                .ok_or_else(|| e("hard link without target".into()))?;
            let t = clean(&target.to_string_lossy()).ok_or_else(|| e("unsafe hard link target".into()))?;
            if sha1_hex.is_none() {
                sha1_hex = digests.get(&t).cloned();
            }
            let t_host = root.join(resolve_parent(root, &t).map_err(|x| e(x.to_string()))?);
            fs::hard_link(&t_host, &host).map_err(|x| e(format!("hard link to {t}: {x}")))?;
        } else {
            out.warnings.push(format!(
                "{package}: {name}: {kind:?} entry skipped (device nodes need root; zinit/udev make them at boot)"
            ));
            continue;
        }
        if let Some(d) = &sha1_hex {
            digests.insert(name.clone(), d.clone());
        }
        out.dir(&dir).files.push(FileRec {
            name: base,
            acl,
            digest: sha1_hex.and_then(|h| hex::decode(h).ok()).map(|b| q1(&b)),
        });
        owners.set(host_rel, acl);
        if name == "etc/passwd" || name == "etc/group" {
            ids = Ids::load(root);
        }
    }
    Ok(out)
}

/// `./a/b/` -> `a/b`; None for absolute paths, `..` and newlines (the ownership
/// manifest is line based).
pub fn clean(p: &str) -> Option<String> {
    if p.contains('\n') {
        return None;
    }
    let mut parts = Vec::new();
    for c in Path::new(p.trim_start_matches('/')).components() {
        match c {
            Component::Normal(n) => parts.push(n.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The host path (relative to `root`) that `rel` names inside the root, following
/// symlinks among its parents the way they resolve in the booted system (an absolute
/// link is relative to the root). Without this, `var/run/x` under `var/run -> /run`
/// would be written through the link into the build host.
pub fn resolve_parent(root: &Path, rel: &str) -> io::Result<PathBuf> {
    match rel.rsplit_once('/') {
        Some((dir, base)) => Ok(resolve_in_root(root, dir)?.join(base)),
        None => Ok(PathBuf::from(rel)),
    }
}

/// Like [`resolve_parent`] but the last component is followed too (for a directory
/// entry, which is made or chmodded in place). Each step is checked without following
/// links on the host, so the result never leaves `root`.
pub fn resolve_in_root(root: &Path, rel: &str) -> io::Result<PathBuf> {
    let mut todo: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
    let mut cur = PathBuf::new();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let next = cur.join(&c);
        match fs::symlink_metadata(root.join(&next)) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(io::Error::other(format!("too many symlinks resolving {rel}")));
                }
                let t = fs::read_link(root.join(&next))?;
                let t = t.to_string_lossy();
                if t.starts_with('/') {
                    cur = PathBuf::new();
                }
                todo.extend(t.split('/').rev().map(str::to_string));
            }
            _ => cur = next,
        }
    }
    Ok(cur)
}

fn remove_existing(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => Err(io::Error::other("a directory is in the way")),
        Ok(_) => fs::remove_file(p),
        Err(_) => Ok(()),
    }
}

fn set_mode(p: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_rejects_escapes() {
        assert_eq!(clean("./etc/x/").as_deref(), Some("etc/x"));
        assert_eq!(clean("/etc/x").as_deref(), Some("etc/x"));
        assert_eq!(clean("a/../../x"), None);
        assert_eq!(clean("a\nb"), None);
    }

    #[test]
    fn parents_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("run")).unwrap();
        fs::create_dir_all(r.join("var")).unwrap();
        symlink("/run", r.join("var/run")).unwrap();
        symlink("../run", r.join("var/rel")).unwrap();
        assert_eq!(resolve_parent(r, "var/run/x").unwrap(), Path::new("run/x"));
        assert_eq!(resolve_parent(r, "var/rel/y").unwrap(), Path::new("run/y"));
        assert_eq!(resolve_parent(r, "var/run").unwrap(), Path::new("var/run"));
        assert_eq!(resolve_in_root(r, "var/run").unwrap(), Path::new("run"));
        symlink("/../../..", r.join("var/up")).unwrap();
        assert_eq!(resolve_in_root(r, "var/up/etc").unwrap(), Path::new("etc"));
    }
}
