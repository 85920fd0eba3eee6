//! busybox from Debian's `busybox-static` package: a shell and tools for test images.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{debpkg, exec, Cache, Error};

/// Path of a static busybox (host architecture), fetched into the cache.
pub fn busybox_static() -> Result<PathBuf, Error> {
    busybox_static_in(&Cache::from_env()?)
}

/// [`busybox_static`] with an explicit cache.
pub fn busybox_static_in(cache: &Cache) -> Result<PathBuf, Error> {
    busybox_of(cache, "busybox-static")
}

/// `bin/busybox` of the (possibly `:arch`-qualified) package, fetched into the cache.
fn busybox_of(cache: &Cache, package: &str) -> Result<PathBuf, Error> {
    let pkg = debpkg::fetch(cache, package)?;
    let bin = pkg.root.join("bin/busybox");
    if !bin.is_file() {
        return Err(Error::Missing {
            what: "bin/busybox".into(),
            path: pkg.root,
        });
    }
    Ok(bin)
}

/// Applet paths relative to `/`, as `busybox --list-full` prints them
/// (`bin/sh`, `usr/bin/env`, ...), so an image can get its symlinks.
pub fn applets(busybox: &Path) -> Result<Vec<String>, Error> {
    let out = exec::run(Command::new(busybox).arg("--list-full"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// busybox-static built for `arch` (`busybox-static:arm64` on an amd64 host). A
/// foreign binary cannot run here: take its applet list from the host's busybox of the
/// same Debian version.
pub fn busybox_static_for(cache: &Cache, arch: crate::Arch) -> Result<PathBuf, Error> {
    if arch == crate::Arch::host() {
        return busybox_static_in(cache);
    }
    // In offline mode dpkg need not be asked about the architecture: the cache decides.
    let name = match cache.offline() {
        true => format!("busybox-static:{}", arch.debian()),
        false => debpkg::for_arch("busybox-static", arch)?,
    };
    busybox_of(cache, &name)
}
