//! Debian packages as a source of test kernels and busybox: `apt-get download`, then
//! unpacked by [`crate::deb`] into `<cache>/deb/<pkg>_<version>/` (see [`tree_name`]), reused on later runs.
//!
//! Two small records make offline mode work: `<cache>/deb/<pkg>.version` names the
//! extracted version, and `<cache>/deb/resolved/<metapackage>` the concrete package a
//! metapackage pointed at when it was first resolved.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::exec::{self, is_root};
use crate::{Cache, Error};

/// An extracted package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebPackage {
    pub name: String,
    pub version: String,
    /// The extracted tree (the data member of the .deb, unpacked).
    pub root: PathBuf,
}

/// Fetch and extract `package`, or reuse the cached tree.
pub fn fetch(cache: &Cache, package: &str) -> Result<DebPackage, Error> {
    fetch_with(cache, package, |_, _| Ok(()))
}

/// Like [`fetch`], and run `prepare(tree, version)` once on a fresh extraction before it
/// is published in the cache (e.g. `depmod`), so the cache never holds a half-ready tree.
pub fn fetch_with(
    cache: &Cache,
    package: &str,
    prepare: impl FnOnce(&Path, &str) -> Result<(), Error>,
) -> Result<DebPackage, Error> {
    cache.locked(|| {
        let debdir = cache.subdir("deb")?;
        let record = debdir.join(format!("{package}.version"));
        if let Ok(version) = fs::read_to_string(&record) {
            let version = version.trim().to_string();
            let root = debdir.join(tree_name(package, &version));
            if root.is_dir() {
                return Ok(DebPackage {
                    name: package.to_string(),
                    version,
                    root,
                });
            }
        }
        cache.require_online(&format!("Debian package {package}"), &debdir)?;

        let tmp = TempDir::create(&debdir, package)?;
        apt_download(package, &tmp.0)?;
        let deb = find_deb(&tmp.0, package)?;
        let version = crate::deb::control_field(&deb, "Version")?;
        let tree = tmp.0.join("root");
        fs::create_dir_all(&tree).map_err(|e| Error::io("mkdir -p", &tree, e))?;
        crate::deb::unpack(&deb, &tree)?;
        prepare(&tree, &version)?;

        let root = debdir.join(tree_name(package, &version));
        if root.exists() {
            // Left by a run that died before writing the record.
            fs::remove_dir_all(&root).map_err(|e| Error::io("rm -rf", &root, e))?;
        }
        fs::rename(&tree, &root).map_err(|e| Error::io("rename to", &root, e))?;
        write_atomic(&record, &version)?;
        Ok(DebPackage {
            name: package.to_string(),
            version,
            root,
        })
    })
}

/// The concrete package a metapackage depends on, chosen by `accept`
/// (e.g. `linux-image-cloud-amd64` -> `linux-image-6.1.0-56-cloud-amd64`).
/// The answer is recorded in the cache so offline runs agree with online ones.
pub fn resolve_metapackage(cache: &Cache, meta: &str, accept: impl Fn(&str) -> bool) -> Result<String, Error> {
    cache.locked(|| {
        let dir = cache.subdir("deb/resolved")?;
        let record = dir.join(meta);
        if let Ok(name) = fs::read_to_string(&record) {
            return Ok(name.trim().to_string());
        }
        cache.require_online(&format!("the resolution of metapackage {meta}"), &record)?;
        let mut cmd = Command::new("apt-cache");
        cmd.args(["depends", "--no-recommends", "--no-suggests", meta]);
        let out = with_update_retry(meta, &mut cmd)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let name = parse_depends(&text)
            .into_iter()
            .find(|d| accept(d))
            .ok_or_else(|| Error::Resolve {
                package: meta.to_string(),
                detail: format!("no matching dependency in `apt-cache depends`:\n{text}"),
            })?;
        write_atomic(&record, &name)?;
        Ok(name)
    })
}

/// Package names from `apt-cache depends` output (`  Depends: name`, `  |Depends: <virt>`).
pub fn parse_depends(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().trim_start_matches('|').strip_prefix("Depends:"))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|n| n.trim_matches(|c| c == '<' || c == '>').to_string())
        .collect()
}

/// `<pkg>_<version>`, with the epoch colon written `%3a` as apt does in its archive
/// cache: a `:` in a path breaks QEMU options (`file:`, `fat:`) and PATH-like lists.
/// A `pkg:arm64` name gets the same escape.
pub fn tree_name(package: &str, version: &str) -> String {
    format!("{}_{}", package.replace(':', "%3a"), version.replace(':', "%3a"))
}

/// apt's name for `package` built for `arch`: bare for the host's architecture,
/// `package:arm64` for a foreign one, after making sure dpkg knows that architecture
/// (`dpkg --add-architecture` plus `apt-get update`, as root).
pub fn for_arch(package: &str, arch: crate::Arch) -> Result<String, Error> {
    if arch == crate::Arch::host() {
        return Ok(package.to_string());
    }
    let foreign = exec::run(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    let known = String::from_utf8_lossy(&foreign.stdout)
        .split_whitespace()
        .any(|a| a == arch.debian());
    if !known {
        if !is_root() {
            return Err(Error::PackageNotFound {
                package: format!("{package}:{}", arch.debian()),
                hint: format!(
                    "run `sudo dpkg --add-architecture {0} && sudo apt-get update` first",
                    arch.debian()
                ),
            });
        }
        exec::run(Command::new("dpkg").args(["--add-architecture", arch.debian()]))?;
        exec::run(Command::new("apt-get").arg("update"))?;
    }
    Ok(format!("{package}:{}", arch.debian()))
}

fn apt_download(package: &str, dir: &Path) -> Result<(), Error> {
    let mut cmd = Command::new("apt-get");
    cmd.arg("download");
    if is_root() {
        // apt drops to user _apt for downloads, and _apt cannot enter ~root/.cache:
        // say so up front instead of getting the "unsandboxed" warning.
        cmd.args(["-o", "APT::Sandbox::User=root"]);
    }
    cmd.arg(package).current_dir(dir);
    with_update_retry(package, &mut cmd).map(drop)
}

/// Run an apt command; when apt does not know the package, run `apt-get update` once
/// (as root) and retry, else say what to run.
fn with_update_retry(package: &str, cmd: &mut Command) -> Result<std::process::Output, Error> {
    let mut updated = false;
    loop {
        let out = exec::output(cmd)?;
        if out.status.success() {
            return Ok(out);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let unknown = stderr.contains("Unable to locate package")
            || stderr.contains("No packages found")
            || stderr.contains("has no installation candidate");
        if !unknown {
            return Err(exec::failed(cmd, &out));
        }
        if updated {
            return Err(Error::PackageNotFound {
                package: package.to_string(),
                hint: "still unknown after `apt-get update`; check /etc/apt/sources.list".into(),
            });
        }
        if !is_root() {
            return Err(Error::PackageNotFound {
                package: package.to_string(),
                hint: "run `sudo apt-get update` and retry".into(),
            });
        }
        apt_update_once()?;
        updated = true;
    }
}

/// `apt-get update`, at most once per process.
fn apt_update_once() -> Result<(), Error> {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if !*done {
        exec::run(Command::new("apt-get").arg("update"))?;
        *done = true;
    }
    Ok(())
}

fn find_deb(dir: &Path, package: &str) -> Result<PathBuf, Error> {
    let rd = fs::read_dir(dir).map_err(|e| Error::io("read_dir", dir, e))?;
    rd.filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| Error::Missing {
            what: format!("the .deb of {package} after `apt-get download`"),
            path: dir.to_path_buf(),
        })
}

fn write_atomic(path: &Path, text: &str) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, format!("{text}\n")).map_err(|e| Error::io("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("rename to", path, e))
}

/// A scratch directory inside the cache (same filesystem, so the final rename is
/// atomic), removed on drop together with the downloaded .deb.
struct TempDir(PathBuf);

impl TempDir {
    fn create(parent: &Path, package: &str) -> Result<TempDir, Error> {
        let dir = parent.join(format!(".tmp-{package}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io("mkdir", &dir, e))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_apt_cache_depends() {
        let text = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n \
                    |Depends: <foo>\n  Recommends: bar\n";
        assert_eq!(
            parse_depends(text),
            vec!["linux-image-6.1.0-56-cloud-amd64".to_string(), "foo".to_string()]
        );
    }

    #[test]
    fn offline_without_cache_names_the_package() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), true);
        let msg = fetch(&cache, "busybox-static").unwrap_err().to_string();
        assert!(msg.contains("Debian package busybox-static"), "{msg}");
        let msg = resolve_metapackage(&cache, "linux-image-cloud-amd64", |_| true)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("linux-image-cloud-amd64"), "{msg}");
    }

    #[test]
    fn offline_reuses_recorded_tree() {
        let dir = tempfile::tempdir().unwrap();
        let deb = dir.path().join("deb");
        fs::create_dir_all(deb.join("pkg_1.0")).unwrap();
        fs::write(deb.join("pkg.version"), "1.0\n").unwrap();
        let cache = Cache::new(dir.path(), true);
        let p = fetch(&cache, "pkg").unwrap();
        assert_eq!(p.version, "1.0");
        assert_eq!(p.root, deb.join("pkg_1.0"));
    }

    #[test]
    fn epoch_colon_is_escaped_in_tree_name() {
        assert_eq!(tree_name("busybox-static", "1:1.35.0-4"), "busybox-static_1%3a1.35.0-4");
        assert_eq!(
            tree_name("busybox-static:arm64", "1:1.35"),
            "busybox-static%3aarm64_1%3a1.35"
        );
    }
}
