//! The Debian cloud kernel (`linux-image-<abi>-cloud-amd64`): small, boots fast under
//! TCG, and its drivers are modules, like the Zero-OS kernel's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{debpkg, exec, Arch, Cache, Error};

/// An extracted kernel package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    pub arch: Arch,
    /// `uname -r`, e.g. `6.1.0-56-cloud-amd64`.
    pub version: String,
    pub vmlinuz: PathBuf,
    /// `<root>/lib/modules/<version>`, with `modules.dep` made by `depmod`.
    pub modules_dir: PathBuf,
    /// The extracted package tree.
    pub root: PathBuf,
}

/// Fetch (or reuse) the Debian cloud kernel, using the cache from the environment.
pub fn debian_cloud_kernel(arch: Arch) -> Result<Kernel, Error> {
    debian_cloud_kernel_in(&Cache::from_env()?, arch)
}

/// [`debian_cloud_kernel`] with an explicit cache.
///
/// A foreign architecture (arm64 on an amd64 host) is fetched as
/// `linux-image-cloud-arm64:arm64`, after `dpkg --add-architecture` when needed.
/// Debian 12's arm64 vmlinuz is an uncompressed `Image`, which `-kernel` boots as is
/// (QEMU would also gunzip an `Image.gz`).
pub fn debian_cloud_kernel_in(cache: &Cache, arch: Arch) -> Result<Kernel, Error> {
    let bare = format!("linux-image-cloud-{}", arch.debian());
    // Offline, the cached resolution is used without asking dpkg anything.
    let meta = match (cache.offline(), arch == Arch::host()) {
        (true, false) => format!("{bare}:{}", arch.debian()),
        _ => debpkg::for_arch(&bare, arch)?,
    };
    let suffix = format!("-cloud-{}", arch.debian());
    let qualifier = format!(":{}", arch.debian());
    let concrete = debpkg::resolve_metapackage(cache, &meta, |dep| {
        let dep = dep.strip_suffix(&qualifier).unwrap_or(dep);
        dep.starts_with("linux-image-") && dep.ends_with(&suffix) && dep != bare
    })?;
    let pkg = debpkg::fetch_with(cache, &concrete, |tree, _| {
        // The package ships no modules.dep (the postinst makes it): make it once here.
        let (version, _) = find_kernel(tree)?;
        exec::ensure_tool("depmod", "kmod")?;
        exec::run(Command::new("depmod").arg("-b").arg(tree).arg(&version))?;
        Ok(())
    })?;
    let (version, vmlinuz) = find_kernel(&pkg.root)?;
    let modules_dir = pkg.root.join("lib/modules").join(&version);
    if !modules_dir.join("modules.dep").is_file() {
        return Err(Error::Missing {
            what: "modules.dep (depmod output)".into(),
            path: modules_dir,
        });
    }
    Ok(Kernel {
        arch,
        version,
        vmlinuz,
        modules_dir,
        root: pkg.root,
    })
}

/// `boot/vmlinuz-<version>` in an extracted tree, with the version.
fn find_kernel(tree: &Path) -> Result<(String, PathBuf), Error> {
    let boot = tree.join("boot");
    let rd = fs::read_dir(&boot).map_err(|e| Error::io("read_dir", &boot, e))?;
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(version) = name.strip_prefix("vmlinuz-") {
            let modules = tree.join("lib/modules").join(version);
            if !modules.is_dir() {
                return Err(Error::Missing {
                    what: format!("modules of kernel {version}"),
                    path: modules,
                });
            }
            return Ok((version.to_string(), entry.path()));
        }
    }
    Err(Error::Missing {
        what: "boot/vmlinuz-*".into(),
        path: boot,
    })
}
