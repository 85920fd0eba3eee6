//! `inst`, as dracut has it: put a host program into the image with every shared
//! library it needs (from `ldd`, which follows RUNPATH and the loader's own rules),
//! each at the path the loader will look for it. Used for udevd in udev mode.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum InstError {
    #[error("inst {}: {what}: {cause}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("inst {}: ldd: {why}", path.display())]
    Ldd { path: PathBuf, why: String },
}

/// Libraries `ldd` names for `bin`: resolved paths, the loader included. Empty for a
/// static binary.
pub fn libraries(bin: &Path) -> Result<Vec<PathBuf>, InstError> {
    let out = Command::new("ldd").arg(bin).output().map_err(|cause| InstError::Io {
        what: "run ldd",
        path: bin.into(),
        cause,
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // "not a dynamic executable": nothing to add.
        return Ok(Vec::new());
    }
    parse_ldd(&text).map_err(|why| InstError::Ldd { path: bin.into(), why })
}

/// `libkmod.so.2 => /lib/x86_64-linux-gnu/libkmod.so.2 (0x...)`,
/// `/lib64/ld-linux-x86-64.so.2 (0x...)`; `linux-vdso` has no file.
pub fn parse_ldd(text: &str) -> Result<Vec<PathBuf>, String> {
    let mut libs = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.contains("=> not found") {
            return Err(format!("missing library: {line}"));
        }
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    Ok(libs)
}

/// Copy `host` (symlinks followed) to `root`/`dest` (default: the same path), mode
/// kept, and its libraries to their own paths. Returns the image paths written.
pub fn inst(host: &Path, root: &Path, dest: Option<&Path>) -> Result<Vec<PathBuf>, InstError> {
    let mut written = Vec::new();
    let dest = dest.unwrap_or(host);
    copy_into(host, root, dest)?;
    written.push(dest.to_path_buf());
    for lib in libraries(host)? {
        if !root.join(lib.strip_prefix("/").unwrap_or(&lib)).exists() {
            copy_into(&lib, root, &lib)?;
            written.push(lib);
        }
    }
    Ok(written)
}

/// `dest` in the image as a symlink to `target` (e.g. systemd-udevd -> /bin/udevadm).
pub fn symlink(root: &Path, dest: &Path, target: &Path) -> Result<(), InstError> {
    let at = root.join(dest.strip_prefix("/").unwrap_or(dest));
    let err = |what| {
        let path = at.clone();
        move |cause| InstError::Io { what, path, cause }
    };
    if let Some(p) = at.parent() {
        std::fs::create_dir_all(p).map_err(err("mkdir"))?;
    }
    let _ = std::fs::remove_file(&at);
    std::os::unix::fs::symlink(target, &at).map_err(err("symlink"))
}

/// Copy a whole host directory (udev rules) into the image at the same path.
pub fn inst_dir(host: &Path, root: &Path) -> Result<(), InstError> {
    let rd = std::fs::read_dir(host).map_err(|cause| InstError::Io {
        what: "read_dir",
        path: host.into(),
        cause,
    })?;
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            inst_dir(&p, root)?;
        } else {
            copy_into(&p, root, &p)?;
        }
    }
    Ok(())
}

fn copy_into(from: &Path, root: &Path, dest: &Path) -> Result<(), InstError> {
    let to = root.join(dest.strip_prefix("/").unwrap_or(dest));
    let err = |what, path: &Path| {
        let path = path.to_path_buf();
        move |cause| InstError::Io { what, path, cause }
    };
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p).map_err(err("mkdir", p))?;
    }
    // The image's copy may be a symlink left by busybox: replace, don't follow.
    let _ = std::fs::remove_file(&to);
    std::fs::copy(from, &to).map_err(err("copy", from))?;
    Ok(())
}

/// systemd-udevd (Debian's `udev` package) into the image: udevadm, the
/// systemd-udevd link, the rules, udev.conf.
pub fn inst_udev(root: &Path) -> Result<(), InstError> {
    let udevadm = Path::new("/bin/udevadm");
    inst(udevadm, root, None)?;
    symlink(root, Path::new("/lib/systemd/systemd-udevd"), udevadm)?;
    inst_dir(Path::new("/lib/udev/rules.d"), root)?;
    if Path::new("/etc/udev/udev.conf").exists() {
        copy_into(Path::new("/etc/udev/udev.conf"), root, Path::new("/etc/udev/udev.conf"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibkmod.so.2 => /lib/x86_64-linux-gnu/libkmod.so.2 (0x1)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x2)\n\t/lib64/ld-linux-x86-64.so.2 (0x3)\n";
        assert_eq!(
            parse_ldd(text).unwrap(),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libkmod.so.2"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        assert!(parse_ldd("\tlibfoo.so.1 => not found\n")
            .unwrap_err()
            .contains("libfoo"));
    }

    #[test]
    fn installs_a_dynamic_binary_with_its_libraries() {
        let t = tempfile::tempdir().unwrap();
        // Any dynamic host program will do; ls is always there.
        let ls = Path::new("/bin/ls");
        let written = inst(ls, t.path(), Some(Path::new("/usr/bin/myls"))).unwrap();
        assert!(t.path().join("usr/bin/myls").is_file());
        assert!(
            written.iter().any(|p| p.to_string_lossy().contains("libc.so")),
            "{written:?}"
        );
        assert!(
            written.iter().any(|p| p.to_string_lossy().contains("ld-linux")),
            "{written:?}"
        );
        for p in &written {
            assert!(t.path().join(p.strip_prefix("/").unwrap()).exists(), "{p:?}");
        }
    }
}
