//! Stage outputs live on disk as small trees at their image paths
//! (`<out>/stages/components/usr/bin/corex`), so a skipped stage's output is simply
//! read back, and the pack stage turns the trees into image entries.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::cpio::FileData;
use crate::ExtraEntry;

/// Remove `dir` if present and create it empty.
pub fn fresh_dir(dir: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(dir).is_ok() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)
}

fn below(root: &Path, image_path: &Path) -> PathBuf {
    root.join(image_path.strip_prefix("/").unwrap_or(image_path))
}

/// Copy `src` to `<root>/<image_path>` with `mode` (parents made as needed).
pub fn put_file(root: &Path, image_path: &Path, src: &FileData, mode: u32) -> std::io::Result<()> {
    let dst = below(root, image_path);
    if let Some(d) = dst.parent() {
        fs::create_dir_all(d)?;
    }
    if fs::symlink_metadata(&dst).is_ok() {
        fs::remove_file(&dst)?;
    }
    match src {
        FileData::Path(p) => {
            fs::copy(p, &dst)?;
        }
        FileData::Bytes(b) => fs::write(&dst, b)?,
    }
    fs::set_permissions(&dst, fs::Permissions::from_mode(mode))
}

/// Write entries (files, dirs, symlinks) under `root`; device nodes cannot be made
/// without root and are refused, naming the path.
pub fn materialize(root: &Path, extras: &[ExtraEntry]) -> std::io::Result<()> {
    for e in extras {
        match e {
            ExtraEntry::File { path, source, mode } => {
                let mode = match (mode, source) {
                    (Some(m), _) => *m,
                    (None, FileData::Path(p)) => fs::metadata(p)?.permissions().mode() & 0o7777,
                    (None, FileData::Bytes(_)) => 0o644,
                };
                put_file(root, path, source, mode)?;
            }
            ExtraEntry::Dir { path, mode } => {
                let d = below(root, path);
                fs::create_dir_all(&d)?;
                fs::set_permissions(&d, fs::Permissions::from_mode(*mode))?;
            }
            ExtraEntry::Symlink { path, target } => {
                let l = below(root, path);
                if let Some(d) = l.parent() {
                    fs::create_dir_all(d)?;
                }
                let _ = fs::remove_file(&l);
                symlink(target, &l)?;
            }
            ExtraEntry::CharDev { path, .. } | ExtraEntry::BlockDev { path, .. } => {
                return Err(std::io::Error::other(format!(
                    "{}: device nodes cannot be staged; add them with a rootfs owners manifest",
                    path.display()
                )))
            }
        }
    }
    Ok(())
}

/// Every file, directory and symlink under `root` as image entries, in path order.
/// Files and dirs keep the staged permission bits (set explicitly when staged, so the
/// host's umask never reaches the image).
pub fn collect(root: &Path) -> std::io::Result<Vec<ExtraEntry>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<ExtraEntry>) -> std::io::Result<()> {
        let mut ents: Vec<PathBuf> = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        ents.sort();
        for p in ents {
            let rel = Path::new("/").join(p.strip_prefix(base).unwrap_or(&p));
            let m = fs::symlink_metadata(&p)?;
            let mode = m.permissions().mode() & 0o7777;
            if m.file_type().is_symlink() {
                out.push(ExtraEntry::Symlink {
                    path: rel,
                    target: fs::read_link(&p)?,
                });
            } else if m.is_dir() {
                out.push(ExtraEntry::Dir { path: rel, mode });
                walk(base, &p, out)?;
            } else {
                out.push(ExtraEntry::File {
                    path: rel,
                    source: FileData::Path(p.clone()),
                    mode: Some(mode),
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if root.is_dir() {
        walk(root, root, &mut out)?;
    }
    Ok(out)
}

/// Only the files and symlinks of [`collect`]: directories a stage made to hold them
/// (`usr/`, `usr/bin/`) must not replace the rootfs's own directory entries.
pub fn collect_leaves(root: &Path) -> std::io::Result<Vec<ExtraEntry>> {
    Ok(collect(root)?
        .into_iter()
        .filter(|e| !matches!(e, ExtraEntry::Dir { .. }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn materialize_then_collect_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("t");
        fresh_dir(&root).unwrap();
        let extras = vec![
            ExtraEntry::Dir {
                path: "/etc/zinit".into(),
                mode: 0o755,
            },
            ExtraEntry::File {
                path: "/etc/zinit/a.yaml".into(),
                source: FileData::Bytes(b"exec: a\n".to_vec()),
                mode: None,
            },
            ExtraEntry::File {
                path: "/usr/bin/tool".into(),
                source: FileData::Bytes(b"x".to_vec()),
                mode: Some(0o755),
            },
            ExtraEntry::Symlink {
                path: "/sbin/t".into(),
                target: "../usr/bin/tool".into(),
            },
        ];
        materialize(&root, &extras).unwrap();
        let got = collect(&root).unwrap();
        let names: Vec<String> = got
            .iter()
            .map(|e| match e {
                ExtraEntry::File { path, mode, .. } => format!("f {} {:o}", path.display(), mode.unwrap()),
                ExtraEntry::Dir { path, mode } => format!("d {} {mode:o}", path.display()),
                ExtraEntry::Symlink { path, target } => format!("l {} {}", path.display(), target.display()),
                _ => "?".into(),
            })
            .collect();
        assert!(names.contains(&"f /etc/zinit/a.yaml 644".to_string()), "{names:?}");
        assert!(names.contains(&"f /usr/bin/tool 755".to_string()), "{names:?}");
        assert!(names.contains(&"l /sbin/t ../usr/bin/tool".to_string()), "{names:?}");
        assert!(collect_leaves(&root)
            .unwrap()
            .iter()
            .all(|e| !matches!(e, ExtraEntry::Dir { .. })));
        let dev = [ExtraEntry::CharDev {
            path: "/dev/x".into(),
            major: 1,
            minor: 3,
            mode: 0o600,
        }];
        assert!(materialize(&root, &dev).unwrap_err().to_string().contains("/dev/x"));
    }
}
