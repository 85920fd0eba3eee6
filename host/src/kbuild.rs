//! Out-of-tree kernel modules built against a Debian test kernel's headers (the fault
//! matrix's module that hangs in its init: tests/modules/).
//!
//! Debian splits a kernel's build tree in three packages: `linux-headers-<release>`
//! (the flavour's .config, Module.symvers, generated headers; a Makefile that includes
//! the common one by absolute path; `scripts` and `tools` as relative links into
//! kbuild), `linux-headers-<abi>-common` (the sources' headers and Makefiles) and
//! `linux-kbuild-<major.minor>` (the host programs). Each is fetched into the cache
//! like the kernel ([`crate::debpkg`]), then merged once into
//! `<cache>/kbuild/<release>/` so the relative links resolve; the one absolute path
//! (the Makefile's `include`) is rewritten to point into the merged tree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{debpkg, exec, Cache, Error, Kernel};

/// The three package names for a kernel release such as `6.1.0-57-cloud-amd64`:
/// (headers, common headers, kbuild). None when the release is not Debian-shaped.
pub fn packages(release: &str) -> Option<(String, String, String)> {
    let mut parts = release.splitn(3, '-');
    let (upstream, abinum) = (parts.next()?, parts.next()?);
    parts.next()?;
    let mut v = upstream.split('.');
    let (major, minor) = (v.next()?, v.next()?);
    Some((
        format!("linux-headers-{release}"),
        format!("linux-headers-{upstream}-{abinum}-common"),
        format!("linux-kbuild-{major}.{minor}"),
    ))
}

/// The kernel's build directory (what `/lib/modules/<release>/build` points at on a
/// Debian system), fetched and merged into the cache on first use.
pub fn build_dir(cache: &Cache, kernel: &Kernel) -> Result<PathBuf, Error> {
    let release = &kernel.version;
    let (headers, common, kbuild) = packages(release).ok_or_else(|| Error::Missing {
        what: format!("Debian header package names for kernel release {release}"),
        path: kernel.modules_dir.clone(),
    })?;
    let trees = [
        debpkg::fetch(cache, &kbuild)?,
        debpkg::fetch(cache, &common)?,
        debpkg::fetch(cache, &headers)?,
    ];
    let merged = cache.locked(|| {
        let dir = cache.subdir("kbuild")?.join(release);
        if !dir.join("usr/src").join(&headers).join("Makefile").is_file() {
            let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp).map_err(|e| Error::io("mkdir -p", &tmp, e))?;
            for t in &trees {
                // `cp -a T/. tmp`: merges the usr/ trees, links kept as links.
                exec::run(Command::new("cp").arg("-a").arg(t.root.join(".")).arg(&tmp))?;
            }
            let _ = fs::remove_dir_all(&dir);
            fs::rename(&tmp, &dir).map_err(|e| Error::io("rename to", &dir, e))?;
        }
        Ok(dir)
    })?;
    let build = merged.join("usr/src").join(&headers);
    let makefile = build.join("Makefile");
    let text = fs::read_to_string(&makefile).map_err(|e| Error::io("read", &makefile, e))?;
    let common_dir = merged.join("usr/src").join(&common);
    let wanted = format!("include {}/Makefile\n", common_dir.display());
    if text != wanted {
        fs::write(&makefile, &wanted).map_err(|e| Error::io("write", &makefile, e))?;
    }
    Ok(build)
}

/// Build the module sources in `src` (a Kbuild file and its .c files) for `kernel`,
/// in a copy under `work`; returns the `.ko` files made.
pub fn build_module(cache: &Cache, kernel: &Kernel, src: &Path, work: &Path) -> Result<Vec<PathBuf>, Error> {
    let build = build_dir(cache, kernel)?;
    // The headers' .kernelvariables name the compiler Debian built the kernel with.
    let vars = fs::read_to_string(build.join(".kernelvariables")).unwrap_or_default();
    let cc = vars
        .lines()
        .find_map(|l| l.split("$(CROSS_COMPILE)").nth(1))
        .map(str::trim)
        .unwrap_or("gcc");
    exec::ensure_tool(cc, cc)?;
    exec::ensure_tool("make", "make")?;
    fs::create_dir_all(work).map_err(|e| Error::io("mkdir -p", work, e))?;
    for e in fs::read_dir(src).map_err(|e| Error::io("read_dir", src, e))? {
        let p = e.map_err(|e| Error::io("read_dir", src, e))?.path();
        if p.is_file() {
            let to = work.join(p.file_name().unwrap_or_default());
            fs::copy(&p, &to).map_err(|e| Error::io("copy to", &to, e))?;
        }
    }
    exec::run(
        Command::new("make")
            .arg("-C")
            .arg(&build)
            .arg(format!("M={}", work.display()))
            .arg("modules"),
    )?;
    let mut kos: Vec<PathBuf> = fs::read_dir(work)
        .map_err(|e| Error::io("read_dir", work, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ko"))
        .collect();
    kos.sort();
    if kos.is_empty() {
        return Err(Error::Missing {
            what: "a .ko after `make modules`".into(),
            path: work.to_path_buf(),
        });
    }
    Ok(kos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_the_release() {
        assert_eq!(
            packages("6.1.0-57-cloud-amd64"),
            Some((
                "linux-headers-6.1.0-57-cloud-amd64".into(),
                "linux-headers-6.1.0-57-common".into(),
                "linux-kbuild-6.1".into()
            ))
        );
        assert_eq!(packages("6.1.0-57-arm64").unwrap().1, "linux-headers-6.1.0-57-common");
        assert_eq!(packages("6.1.0"), None);
    }
}
