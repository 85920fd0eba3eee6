//! Finding the kernel in an unpacked tree: the version from `lib/modules/<version>`,
//! the vmlinuz by the names distributions give it, and a `modules.dep` (Debian's
//! packages ship none: their postinst runs depmod, so we run it here).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{io, Kernel, KernelError};

/// Module directories, both layouts: classic and merged-/usr (Debian 13, Fedora).
const MODULE_PARENTS: [&str; 2] = ["lib/modules", "usr/lib/modules"];

/// The kernel `version` (or the only one) in the tree at `root`.
pub fn locate(root: &Path, version: Option<&str>) -> Result<Kernel, KernelError> {
    let found = versions(root)?;
    let (version, modules_dir) = match version {
        Some(v) => found
            .iter()
            .find(|(name, _)| name == v)
            .cloned()
            .ok_or_else(|| KernelError::NoSuchVersion {
                path: root.into(),
                wanted: v.into(),
                found: list(&found),
            })?,
        None => match found.as_slice() {
            [one] => one.clone(),
            [] => return Err(KernelError::NoModules { path: root.into() }),
            _ => {
                return Err(KernelError::Ambiguous {
                    path: root.into(),
                    found: list(&found),
                })
            }
        },
    };
    let vmlinuz = vmlinuz(root, &modules_dir, &version)?;
    ensure_depmod(&modules_dir, &version)?;
    Ok(Kernel {
        version,
        vmlinuz,
        modules_dir,
        root: root.to_path_buf(),
    })
}

fn list(found: &[(String, PathBuf)]) -> String {
    if found.is_empty() {
        return "no lib/modules/<version>".into();
    }
    found.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", ")
}

/// `(version, dir)` of every `lib/modules/<version>` that holds modules, sorted. A
/// directory with only `build`/`source` links (headers packages) does not count.
fn versions(root: &Path) -> Result<Vec<(String, PathBuf)>, KernelError> {
    let mut out = Vec::new();
    for parent in MODULE_PARENTS {
        let dir = root.join(parent);
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let real = ["kernel", "modules.dep", "modules.order", "modules.builtin"]
                .iter()
                .any(|f| p.join(f).exists());
            // usr/lib/modules and lib/modules may be the same dir through a symlink.
            if real && p.is_dir() && !out.iter().any(|(v, _)| *v == e.file_name().to_string_lossy()) {
                out.push((e.file_name().to_string_lossy().into_owned(), p));
            }
        }
    }
    if out.is_empty() && !MODULE_PARENTS.iter().any(|d| root.join(d).is_dir()) {
        return Err(KernelError::NoModules { path: root.into() });
    }
    out.sort();
    Ok(out)
}

/// The kernel image: Debian `boot/vmlinuz-<version>`; Alpine `boot/vmlinuz-<flavor>`
/// (`6.12.13-0-lts` -> `vmlinuz-lts`); Fedora/Arch `lib/modules/<version>/vmlinuz`;
/// a hand-made tree `vmlinuz` or `boot/vmlinuz` at the top.
fn vmlinuz(root: &Path, modules_dir: &Path, version: &str) -> Result<PathBuf, KernelError> {
    let mut candidates = vec![root.join(format!("boot/vmlinuz-{version}"))];
    if let Some((_, flavor)) = version.rsplit_once('-') {
        candidates.push(root.join(format!("boot/vmlinuz-{flavor}")));
    }
    candidates.extend([
        modules_dir.join("vmlinuz"),
        root.join("boot/vmlinuz"),
        root.join("vmlinuz"),
    ]);
    if let Some(hit) = candidates.iter().find(|p| p.is_file()) {
        return Ok(hit.clone());
    }
    Err(KernelError::NoVmlinuz {
        path: root.into(),
        version: version.into(),
        looked: candidates
            .iter()
            .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Make `modules.dep` with the host's `depmod -b <base> <version>` when missing;
/// `<base>` is what holds `lib/modules`, so merged-/usr trees work with an older kmod.
fn ensure_depmod(modules_dir: &Path, version: &str) -> Result<(), KernelError> {
    if modules_dir.join("modules.dep").is_file() {
        return Ok(());
    }
    let base = modules_dir.ancestors().nth(3).unwrap_or(Path::new("/"));
    let depmod = ["/sbin/depmod", "/usr/sbin/depmod", "/usr/bin/depmod"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| KernelError::NoDepmod {
            path: modules_dir.into(),
        })?;
    let mut cmd = Command::new(&depmod);
    cmd.arg("-b").arg(base).arg(version);
    let desc = format!("{} -b {} {version}", depmod.display(), base.display());
    let out = cmd.output().map_err(io("run depmod for", modules_dir))?;
    if !out.status.success() || !modules_dir.join("modules.dep").is_file() {
        return Err(KernelError::Tool {
            cmd: desc,
            out: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}
