//! `zos-builder cat IMAGE PATH` and `zos-builder unpack IMAGE DIR`, beside `ls`.
//!
//! Both read the image the way the kernel does (every segment, later entries replacing
//! earlier ones of the same path). `unpack` needs no root: contents, modes, symlinks,
//! hard links and mtimes go to the host; owners and full modes go to `DIR.owners` (the
//! ownership manifest `build --rootfs DIR` applies, so unpack + build round-trips);
//! device nodes, FIFOs and sockets cannot be made by an ordinary user and are listed
//! as skipped. Nothing is written outside DIR: `..` names and paths below a symlink
//! are refused, and a symlink already in DIR where the image has a directory is
//! replaced, not followed.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use crate::apk::owners::{sidecar_for, Owner, Owners};
use crate::cpio::header::{S_IFDIR, S_IFLNK, S_IFREG};
use crate::cpio::ReadEntry;
use crate::error::InspectError;
use crate::inspect::read_image_file;

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error(transparent)]
    Read(#[from] InspectError),
    #[error("image {}: no entry {path:?}", image.display())]
    NotFound { image: PathBuf, path: String },
    #[error("image {}: {path:?} is not a regular file ({what})", image.display())]
    NotAFile {
        image: PathBuf,
        path: String,
        what: &'static str,
    },
    #[error("image {}: {path:?}: symlinks loop or go deeper than 40", image.display())]
    Loop { image: PathBuf, path: String },
    #[error("unpack {}: {op}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// `/etc/x`, `./etc/x` and `etc/x` name the same entry.
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The entries as the kernel leaves them: by path, the last one of each path wins.
/// Also the names that climb out with `..` (the kernel clamps them at `/`; we make
/// none of them, and list them).
fn final_entries(image: &Path) -> Result<(BTreeMap<PathBuf, ReadEntry>, Vec<String>), UnpackError> {
    let mut map = BTreeMap::new();
    let mut escaping = Vec::new();
    for seg in read_image_file(image)? {
        for e in seg.entries {
            match normalize(&e.name) {
                Some(n) => {
                    map.insert(n, e);
                }
                None => escaping.push(crate::inspect::escaped(e.name.as_os_str().as_encoded_bytes())),
            }
        }
    }
    Ok((map, escaping))
}

fn kind_name(mode: u32) -> &'static str {
    match mode & 0o170000 {
        S_IFDIR => "a directory",
        S_IFLNK => "a symlink",
        0o020000 => "a character device",
        0o060000 => "a block device",
        0o010000 => "a FIFO",
        0o140000 => "a socket",
        _ => "a file",
    }
}

/// The contents of one file of an image; symlinks are followed inside the image.
pub fn cat(image: &Path, path: &str) -> Result<Vec<u8>, UnpackError> {
    let (map, _) = final_entries(image)?;
    let not_found = || UnpackError::NotFound {
        image: image.to_owned(),
        path: path.to_string(),
    };
    let mut cur = normalize(Path::new(path)).ok_or_else(not_found)?;
    for _ in 0..40 {
        let e = map.get(&cur).ok_or_else(not_found)?;
        match e.mode & 0o170000 {
            // newc stores a hard-linked file's data under one of its names only.
            S_IFREG if e.data.is_empty() && e.nlink > 1 => {
                let same = |o: &&ReadEntry| o.ino == e.ino && o.dev == e.dev && !o.data.is_empty();
                return Ok(map.values().find(same).map(|o| o.data.clone()).unwrap_or_default());
            }
            S_IFREG => return Ok(e.data.clone()),
            S_IFLNK => {
                let t = e.symlink_target().unwrap_or_default();
                let joined = if t.is_absolute() {
                    t
                } else {
                    cur.parent().unwrap_or(Path::new("")).join(t)
                };
                cur = normalize(&joined).ok_or_else(not_found)?;
            }
            other => {
                return Err(UnpackError::NotAFile {
                    image: image.to_owned(),
                    path: path.to_string(),
                    what: kind_name(other),
                })
            }
        }
    }
    Err(UnpackError::Loop {
        image: image.to_owned(),
        path: path.to_string(),
    })
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackReport {
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    pub hardlinks: usize,
    /// One line per entry not made: `path: why`.
    pub skipped: Vec<String>,
    pub owners: PathBuf,
}

/// True when some directory between `root` and `p` is a symlink (writing through it
/// could leave `root`).
fn below_symlink(root: &Path, rel: &Path) -> bool {
    let mut cur = root.to_path_buf();
    let parents: Vec<_> = rel.parent().map(|p| p.components().collect()).unwrap_or_default();
    parents.into_iter().any(|c| {
        cur.push(c);
        fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink())
    })
}

/// Extract every entry of `image` below `dir` (created when missing).
pub fn unpack(image: &Path, dir: &Path) -> Result<UnpackReport, UnpackError> {
    let io = |op, p: &Path| {
        let path = p.to_path_buf();
        move |cause| UnpackError::Io { op, path, cause }
    };
    let (map, escaping) = final_entries(image)?;
    fs::create_dir_all(dir).map_err(io("mkdir -p", dir))?;
    let mut rep = UnpackReport::default();
    for name in escaping {
        rep.skipped.push(format!(
            "{name}: climbs out of the image with `..` (the kernel clamps it at /)"
        ));
    }
    let mut owners = Owners::default();
    let mut links: HashMap<(u32, u32, u32), PathBuf> = HashMap::new();
    let mut dir_modes = Vec::new();
    for (rel, e) in &map {
        let dst = dir.join(rel);
        if rel.as_os_str().is_empty() || below_symlink(dir, rel) {
            rep.skipped
                .push(format!("{}: below a symlink in the image", rel.display()));
            continue;
        }
        if let Some(p) = dst.parent() {
            fs::create_dir_all(p).map_err(io("mkdir -p", p))?;
        }
        let perm = e.mode & 0o7777;
        match e.mode & 0o170000 {
            S_IFDIR => {
                // A symlink (or file) already on disk at this path is replaced, never
                // followed: create_dir_all and the chmod below would go through it.
                if fs::symlink_metadata(&dst).is_ok_and(|m| !m.is_dir()) {
                    fs::remove_file(&dst).map_err(io("unlink", &dst))?;
                }
                fs::create_dir_all(&dst).map_err(io("mkdir", &dst))?;
                // Permissions last: a 0555 directory would refuse its own children.
                dir_modes.push((dst.clone(), perm, e.mtime));
                rep.dirs += 1;
            }
            S_IFLNK => {
                let _ = fs::remove_file(&dst);
                symlink(e.symlink_target().unwrap_or_default(), &dst).map_err(io("symlink", &dst))?;
                rep.symlinks += 1;
            }
            S_IFREG => {
                let _ = fs::remove_file(&dst);
                let key = (e.dev.0, e.dev.1, e.ino);
                match links.get(&key).filter(|_| e.nlink > 1) {
                    Some(first) => {
                        // newc stores a hard link's data once (GNU cpio: with the last
                        // name); whichever name carries it fills the shared inode.
                        if !e.data.is_empty() {
                            fs::write(first, &e.data).map_err(io("write", first))?;
                        }
                        fs::hard_link(first, &dst).map_err(io("link", &dst))?;
                        rep.hardlinks += 1;
                    }
                    None => {
                        fs::write(&dst, &e.data).map_err(io("write", &dst))?;
                        // Owner-writable on the host so a later unpack can replace it;
                        // the real mode is in the owners file.
                        fs::set_permissions(&dst, fs::Permissions::from_mode(perm | 0o600))
                            .map_err(io("chmod", &dst))?;
                        let t = UNIX_EPOCH + Duration::from_secs(u64::from(e.mtime));
                        let f = fs::File::options().write(true).open(&dst).map_err(io("open", &dst))?;
                        f.set_modified(t).map_err(io("set mtime", &dst))?;
                        if e.nlink > 1 {
                            links.insert(key, dst.clone());
                        }
                        rep.files += 1;
                    }
                }
            }
            other => {
                let dev = if matches!(other, 0o020000 | 0o060000) {
                    format!(" {},{}", e.rdev.0, e.rdev.1)
                } else {
                    String::new()
                };
                rep.skipped.push(format!(
                    "{}: {}{dev} mode {perm:04o} uid {} gid {} (needs root to create)",
                    rel.display(),
                    kind_name(other),
                    e.uid,
                    e.gid
                ));
                continue;
            }
        }
        owners.set(
            rel.clone(),
            Owner {
                uid: e.uid,
                gid: e.gid,
                mode: perm,
            },
        );
    }
    for (d, perm, _) in dir_modes.iter().rev() {
        fs::set_permissions(d, fs::Permissions::from_mode(perm | 0o700)).map_err(io("chmod", d))?;
    }
    rep.owners = sidecar_for(dir);
    fs::write(&rep.owners, owners.render()).map_err(io("write", &rep.owners))?;
    Ok(rep)
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
