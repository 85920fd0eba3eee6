//! Kernel sources: where the image's kernel and its modules come from.
//!
//! A source is one of
//! - a Debian kernel package (`linux-image-*.deb`): an ar archive whose `data.tar.*`
//!   is unpacked natively (`zos_host::deb`, the workspace's one .deb reader);
//! - an Alpine kernel package (`linux-lts-*.apk`): three gzip members, the last one the
//!   data tar, unpacked with the apk installer's reader ([`apk`]);
//! - a directory: a kernel tree (`vmlinuz` or `boot/vmlinuz-*` plus
//!   `lib/modules/<version>`), or a directory of such packages.
//!
//! `KERNEL_VERSION` (the `uname -r` string, e.g. `6.1.0-56-cloud-amd64`) picks one
//! when a source holds several; without it a source must hold exactly one. The result
//! gives the modules stage its `lib/modules/<version>` ([`crate::modules::ModuleTree::open`])
//! and the efi stage its vmlinuz ([`crate::efi::build_uki`]).

pub mod apk;
mod tree;

#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

pub use tree::locate;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("kernel source {op} {}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("kernel package {}: {reason}", path.display())]
    Format { path: PathBuf, reason: String },
    #[error("kernel {0}")]
    Deb(#[from] zos_host::Error),
    #[error("kernel package {}: {cause}", path.display())]
    Apk {
        path: PathBuf,
        cause: Box<crate::apk::ApkError>,
    },
    #[error("kernel source {}: no lib/modules/<version> (nor usr/lib/modules) found", path.display())]
    NoModules { path: PathBuf },
    #[error("kernel source {}: KERNEL_VERSION={wanted} not found; it has {found}", path.display())]
    NoSuchVersion {
        path: PathBuf,
        wanted: String,
        found: String,
    },
    #[error("kernel source {}: several kernels ({found}); set KERNEL_VERSION to one of them", path.display())]
    Ambiguous { path: PathBuf, found: String },
    #[error("kernel source {}: no vmlinuz for {version} (looked for {looked})", path.display())]
    NoVmlinuz {
        path: PathBuf,
        version: String,
        looked: String,
    },
    #[error("kernel source {}: {}", path.display(), "no modules.dep and no depmod to make it (apt-get install kmod)")]
    NoDepmod { path: PathBuf },
    #[error("kernel source: `{cmd}` failed: {out}")]
    Tool { cmd: String, out: String },
}

pub(crate) fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> KernelError + 'a {
    move |cause| KernelError::Io {
        op,
        path: path.to_path_buf(),
        cause,
    }
}

/// A kernel ready for the modules and efi stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// `uname -r`.
    pub version: String,
    pub vmlinuz: PathBuf,
    /// `<root>/lib/modules/<version>` (or `usr/lib/modules`), with a `modules.dep`.
    pub modules_dir: PathBuf,
    /// The tree the kernel was found in (the unpacked package, or the source dir).
    pub root: PathBuf,
}

/// What a source path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Deb,
    Apk,
    Tree,
    /// A directory holding `.deb`/`.apk` kernel packages.
    Packages,
}

/// Classify `source` by its name (packages) or its contents (directories).
pub fn kind(source: &Path) -> Result<SourceKind, KernelError> {
    let meta = fs::metadata(source).map_err(io("stat", source))?;
    if !meta.is_dir() {
        return match source.extension().and_then(|e| e.to_str()) {
            Some("deb") => Ok(SourceKind::Deb),
            Some("apk") => Ok(SourceKind::Apk),
            _ => Err(KernelError::Format {
                path: source.into(),
                reason: "neither a .deb, an .apk nor a directory".into(),
            }),
        };
    }
    let has_tree = ["lib/modules", "usr/lib/modules"]
        .iter()
        .any(|d| source.join(d).is_dir());
    if has_tree || packages_in(source)?.is_empty() {
        Ok(SourceKind::Tree)
    } else {
        Ok(SourceKind::Packages)
    }
}

/// Open a kernel source; packages are unpacked under `unpack_dir` (one subdirectory per
/// package file, reused while the package's size and mtime are unchanged).
pub fn open(source: &Path, version: Option<&str>, unpack_dir: &Path) -> Result<Kernel, KernelError> {
    let version = version.map(str::trim).filter(|v| !v.is_empty());
    match kind(source)? {
        SourceKind::Tree => locate(source, version),
        SourceKind::Deb | SourceKind::Apk => {
            let root = unpack(source, unpack_dir)?;
            locate(&root, version)
        }
        SourceKind::Packages => {
            let pkg = pick_package(source, version)?;
            let root = unpack(&pkg, unpack_dir)?;
            locate(&root, version)
        }
    }
}

/// Unpack one package into `<unpack_dir>/<file name>.d` unless an earlier unpack of the
/// same file (size and mtime) is complete there; returns the tree.
pub fn unpack(pkg: &Path, unpack_dir: &Path) -> Result<PathBuf, KernelError> {
    let meta = fs::metadata(pkg).map_err(io("stat", pkg))?;
    let stamp_text = format!(
        "{} {} {:?}\n",
        pkg.display(),
        meta.len(),
        meta.modified().map_err(io("stat", pkg))?
    );
    let name = pkg
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `.d`: never the package itself, even when unpack_dir is the package's directory.
    let dest = unpack_dir.join(format!("{}.d", name.replace(':', "%3a")));
    // The stamp sits beside the tree, written last: a tree without it is half-made.
    let stamp = unpack_dir.join(format!("{}.unpacked", name.replace(':', "%3a")));
    if dest.is_dir() && fs::read_to_string(&stamp).is_ok_and(|s| s == stamp_text) {
        return Ok(dest);
    }
    let _ = fs::remove_file(&stamp);
    if dest.exists() {
        fs::remove_dir_all(&dest).map_err(io("rm -rf", &dest))?;
    }
    fs::create_dir_all(&dest).map_err(io("mkdir -p", &dest))?;
    match kind(pkg)? {
        SourceKind::Deb => zos_host::deb::unpack(pkg, &dest)?,
        SourceKind::Apk => apk::unpack(pkg, &dest)?,
        _ => unreachable!("kind() of a file is a package"),
    }
    fs::write(&stamp, stamp_text).map_err(io("write", &stamp))?;
    Ok(dest)
}

/// The `.deb` and `.apk` files directly in `dir`, sorted.
fn packages_in(dir: &Path) -> Result<Vec<PathBuf>, KernelError> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io("read_dir", dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "deb" || e == "apk"))
        .collect();
    v.sort();
    Ok(v)
}

/// In a directory of packages, the one for `version`: its file name contains the
/// version (Debian: `linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb`) or the
/// version's upstream part with the Alpine release (`6.12.13-0-lts` is in
/// `linux-lts-6.12.13-r0.apk`).
fn pick_package(dir: &Path, version: Option<&str>) -> Result<PathBuf, KernelError> {
    let all = packages_in(dir)?;
    let names = || {
        all.iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(v) = version else {
        return match all.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(KernelError::Ambiguous {
                path: dir.into(),
                found: names(),
            }),
        };
    };
    let alpine = alpine_pkgver(v);
    let hits: Vec<&PathBuf> = all
        .iter()
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.contains(v) || alpine.as_ref().is_some_and(|a| n.ends_with(&format!("-{a}.apk")))
        })
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(KernelError::NoSuchVersion {
            path: dir.into(),
            wanted: v.into(),
            found: names(),
        }),
        _ => Err(KernelError::Ambiguous {
            path: dir.into(),
            found: hits
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Alpine's kernel release `6.12.13-0-lts` is package version `6.12.13-r0`.
fn alpine_pkgver(version: &str) -> Option<String> {
    let mut parts = version.splitn(3, '-');
    let (upstream, rel) = (parts.next()?, parts.next()?);
    parts.next()?;
    rel.chars()
        .all(|c| c.is_ascii_digit())
        .then(|| format!("{upstream}-r{rel}"))
}
