//! What to copy: top-level patterns, exclusions, and the entries that are never copied.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sys::{Errno, FileStat, FsOps};

use super::error::CopyError;

/// What the copy takes from the initramfs root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    /// Top-level names such as `/bin` or `/lib*`: one component, `*` and `?` glob it.
    pub patterns: Vec<String>,
    /// Absolute paths (inside the source root) neither copied nor descended.
    pub exclude: Vec<String>,
    /// Copy-and-free: unlink each source file once copied, rmdir each emptied source dir.
    pub free_source: bool,
}

impl Default for CopySpec {
    /// The shell /init's list (its duplicate `/bin` included), copy-and-free on.
    fn default() -> Self {
        CopySpec {
            patterns: DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect(),
            exclude: Vec::new(),
            free_source: true,
        }
    }
}

/// The `cp -ar` list of the Zero-OS shell /init.
pub const DEFAULT_PATTERNS: &[&str] = &[
    "/bin", "/etc", "/lib*", "/usr", "/root", "/tmp", "/sbin", "/var", "/run", "/bin",
];

/// Top-level entries that are never copied: the init itself, and mount points (copying
/// /mnt would copy the destination into itself).
pub const NEVER: &[&str] = &["/init", "/init-debug", "/dev", "/proc", "/sys", "/mnt"];

/// Expand `spec.patterns` against the top level of `root`.
///
/// Returns sorted, deduplicated in-root paths such as `/bin`. Patterns matching nothing
/// are skipped (as `cp` would complain and the shell ignore); excludes and [`NEVER`]
/// apply. A pattern with more than one component is rejected with `EINVAL`.
pub fn resolve_sources(fs: &dyn FsOps, root: &Path, spec: &CopySpec) -> Result<Vec<PathBuf>, CopyError> {
    let filter = Filter::new(spec);
    let mut top: Option<Vec<OsString>> = None;
    let mut out = Vec::new();
    for pattern in &spec.patterns {
        let name = pattern.trim_end_matches('/');
        let name = match name.strip_prefix('/') {
            Some(n) if !n.is_empty() && !n.contains('/') && n != "." && n != ".." => n,
            _ => return Err(CopyError::new("pattern", pattern, Errno::INVAL)),
        };
        if name.contains(['*', '?']) {
            if top.is_none() {
                top = Some(list_dir(fs, root)?);
            }
            for entry in top.iter().flatten() {
                if glob(name.as_bytes(), entry.as_bytes()) {
                    out.push(Path::new("/").join(entry));
                }
            }
        } else {
            let full = root.join(name);
            match fs.lstat(&full) {
                Ok(_) => out.push(Path::new("/").join(name)),
                Err(Errno::NOENT) => {}
                Err(e) => return Err(CopyError::new("lstat", full, e)),
            }
        }
    }
    out.retain(|p| !filter.excluded(p));
    out.sort();
    out.dedup();
    Ok(out)
}

/// Decides, by in-root path, what the walk skips.
#[derive(Debug)]
pub(crate) struct Filter {
    exclude: Vec<PathBuf>,
}

impl Filter {
    pub(crate) fn new(spec: &CopySpec) -> Self {
        let exclude = spec
            .exclude
            .iter()
            .map(|e| normalize(e))
            .chain(NEVER.iter().map(PathBuf::from))
            .collect();
        Filter { exclude }
    }

    /// `rel` is an in-root absolute path such as `/usr/lib/foo`.
    pub(crate) fn excluded(&self, rel: &Path) -> bool {
        self.exclude.iter().any(|e| e == rel)
    }
}

/// `/usr//lib/` -> `/usr/lib`; relative excludes are taken from the root.
fn normalize(path: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        out.push(part);
    }
    out
}

/// The names in `dir`, sorted bytewise so the walk (and its errors) are reproducible.
/// The seam lists with O_NOATIME: `measure` lists every directory before the copy
/// stats it, and under relatime that read would give the copy "now" as the
/// directory's atime.
pub(crate) fn list_dir(fs: &dyn FsOps, dir: &Path) -> Result<Vec<OsString>, CopyError> {
    fs.list_dir(dir).map_err(|e| CopyError::new(e.op, dir, e.errno))
}

/// lstat with the copy's error shape.
pub(crate) fn lstat(fs: &dyn FsOps, path: &Path) -> Result<FileStat, CopyError> {
    fs.lstat(path).map_err(|e| CopyError::new("lstat", path, e))
}

/// Shell-style match of one name: `*` any run, `?` one byte; a leading `.` in the name
/// must be matched literally, as `sh` does (so `/*` skips hidden entries).
pub(crate) fn glob(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    // Iterative matcher with one backtrack point: linear enough for short names.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::linux::LinuxSys;
    use std::fs;

    fn spec(patterns: &[&str], exclude: &[&str]) -> CopySpec {
        CopySpec {
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            free_source: false,
        }
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    /// A fake initramfs top level.
    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "bin", "etc", "lib", "lib64", "libexec", "usr", "root", "tmp", "sbin", "var", "dev", "proc", "sys", "mnt",
            ".hidden",
        ] {
            fs::create_dir(dir.path().join(d)).unwrap();
        }
        fs::write(dir.path().join("init"), b"elf").unwrap();
        fs::write(dir.path().join("init-debug"), b"sh").unwrap();
        std::os::unix::fs::symlink("var/run", dir.path().join("run")).unwrap();
        dir
    }

    #[test]
    fn default_list_expands_globs_dedups_and_sorts() {
        let r = root();
        let got = resolve_sources(&LinuxSys, r.path(), &CopySpec::default()).unwrap();
        assert_eq!(
            got,
            paths(&["/bin", "/etc", "/lib", "/lib64", "/libexec", "/root", "/run", "/sbin", "/tmp", "/usr", "/var"])
        );
    }

    #[test]
    fn star_never_picks_init_or_mount_points_or_hidden() {
        let r = root();
        let got = resolve_sources(&LinuxSys, r.path(), &spec(&["/*"], &[])).unwrap();
        for never in ["/init", "/init-debug", "/dev", "/proc", "/sys", "/mnt", "/.hidden"] {
            assert!(!got.contains(&PathBuf::from(never)), "{never} in {got:?}");
        }
        assert!(got.contains(&PathBuf::from("/bin")));
        assert!(got.contains(&PathBuf::from("/run")), "symlinks are entries too");
        // Literal names of never-copied entries are dropped as well.
        let got = resolve_sources(&LinuxSys, r.path(), &spec(&["/init", "/dev", "/mnt", "/.hidden"], &[]));
        assert_eq!(got.unwrap(), paths(&["/.hidden"]));
    }

    #[test]
    fn missing_entries_are_skipped() {
        let r = root();
        let got = resolve_sources(&LinuxSys, r.path(), &spec(&["/opt", "/nothing*", "/etc"], &[]));
        assert_eq!(got.unwrap(), paths(&["/etc"]));
    }

    #[test]
    fn excludes_apply_to_top_level_and_normalize() {
        let r = root();
        let got = resolve_sources(&LinuxSys, r.path(), &spec(&["/lib*", "/tmp"], &["/lib64/", "tmp"]));
        assert_eq!(got.unwrap(), paths(&["/lib", "/libexec"]));
        let filter = Filter::new(&spec(&[], &["/usr//share/doc/"]));
        assert!(filter.excluded(Path::new("/usr/share/doc")));
        assert!(!filter.excluded(Path::new("/usr/share")));
        assert!(filter.excluded(Path::new("/init")));
    }

    #[test]
    fn nested_or_empty_patterns_are_rejected() {
        let r = root();
        for bad in ["/usr/lib", "bin", "/", "/..", ""] {
            let err = resolve_sources(&LinuxSys, r.path(), &spec(&[bad], &[])).unwrap_err();
            assert_eq!((err.op, err.errno), ("pattern", Errno::INVAL), "{bad}");
        }
    }

    #[test]
    fn glob_matching() {
        assert!(glob(b"lib*", b"lib"));
        assert!(glob(b"lib*", b"lib64"));
        assert!(glob(b"lib*", b"libexec"));
        assert!(!glob(b"lib*", b"li"));
        assert!(!glob(b"lib*", b"xlib"));
        assert!(glob(b"*", b"bin"));
        assert!(!glob(b"*", b".profile"));
        assert!(glob(b".*", b".profile"));
        assert!(glob(b"l?b*4", b"lib64"));
        assert!(glob(b"*b*", b"sbin"));
        assert!(!glob(b"*x", b"sbin"));
    }
}
