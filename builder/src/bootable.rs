//! After `build` wrote an image: read it back and check it the way the init and the
//! kernel will use it. The init execs the handover target (`handover` in the image's
//! /etc/zos-init.conf, /sbin/zinit by default) after switch_root, so it must be an
//! executable file whose ELF interpreter and DT_NEEDED libraries (or `#!` interpreter)
//! are in the image; when the config allows a shell, that shell must be there too.
//! Symlinks are followed inside the image, as they will be in the new root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zos_common::config::{Config, CONFIG_PATH};

use crate::cpio::ReadEntry;
use crate::unpack::{final_entries, normalize, UnpackError};

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
/// Where musl's and glibc's loaders look without an ld.so.cache or RUNPATH.
const LIB_DIRS: [&str; 6] = [
    "lib",
    "usr/lib",
    "lib64",
    "usr/lib64",
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
];

/// Why the image would not boot; empty means it passed.
pub fn check(image: &Path) -> Result<Vec<String>, UnpackError> {
    let (map, _escaping) = final_entries(image)?;
    let view = View { map: &map };
    let cfg = match view.file(CONFIG_PATH) {
        Ok(e) => Config::parse(&String::from_utf8_lossy(&e.data), CONFIG_PATH).0,
        Err(_) => Config::default(),
    };
    let mut problems = Vec::new();
    if let Err(why) = view.executable("/init") {
        problems.push(format!("/init: {why}: the kernel has nothing to run"));
    }
    let what = format!("handover target {} ({CONFIG_PATH} handover)", cfg.handover);
    problems.extend(view.runnable(&cfg.handover).into_iter().map(|p| format!("{what}: {p}")));
    if cfg.allow_shell {
        if let Err(why) = view.executable(&cfg.shell) {
            problems.push(format!(
                "shell {}: {why} (the config allows a break/emergency shell; allow_shell = no forbids it)",
                cfg.shell
            ));
        }
    }
    Ok(problems)
}

/// [`check`] with the `--allow-unbootable` policy: a refusal is this error.
#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    #[error(transparent)]
    Read(#[from] UnpackError),
    #[error(
        "{} was written but cannot boot:\n  {}\n(--allow-unbootable keeps such an image without this error)",
        image.display(),
        problems.join("\n  ")
    )]
    Unbootable { image: PathBuf, problems: Vec<String> },
}

/// `Ok(None)`: the image boots. `Ok(Some(warning))`: it cannot, but `allow` keeps it
/// (the warning names the problems). Both `build` forms use this one policy.
pub fn verdict(image: &Path, allow: bool) -> Result<Option<String>, VerdictError> {
    let problems = check(image)?;
    if problems.is_empty() {
        return Ok(None);
    }
    if allow {
        return Ok(Some(format!(
            "warning: {} cannot boot (--allow-unbootable):\n  {}",
            image.display(),
            problems.join("\n  ")
        )));
    }
    Err(VerdictError::Unbootable {
        image: image.to_owned(),
        problems,
    })
}

struct View<'a> {
    map: &'a BTreeMap<PathBuf, ReadEntry>,
}

impl View<'_> {
    /// The entry at `path` after following symlinks inside the image.
    fn file(&self, path: &str) -> Result<&ReadEntry, String> {
        let mut cur = PathBuf::from(path.trim_start_matches('/'));
        for _ in 0..40 {
            let e = self.map.get(&cur).ok_or("not in the image")?;
            if e.mode & S_IFMT != S_IFLNK {
                return Ok(e);
            }
            let t = e.symlink_target().unwrap_or_default();
            let joined = match t.strip_prefix("/") {
                Ok(abs) => abs.to_path_buf(),
                Err(_) => cur.parent().unwrap_or(Path::new("")).join(t),
            };
            cur = normalize(&joined).ok_or("a symlink leaves the image")?;
        }
        Err("symlinks loop".into())
    }

    fn executable(&self, path: &str) -> Result<&ReadEntry, String> {
        let e = self.file(path)?;
        if e.mode & S_IFMT != S_IFREG {
            return Err("not a regular file".into());
        }
        if e.mode & 0o111 == 0 {
            return Err(format!("not executable (mode {:o})", e.mode & 0o7777));
        }
        Ok(e)
    }

    /// Problems with running `path`: the file itself, then what it needs.
    fn runnable(&self, path: &str) -> Vec<String> {
        let e = match self.executable(path) {
            Ok(e) => e,
            Err(why) => return vec![why],
        };
        let data = self.data(e);
        let mut problems = Vec::new();
        if let Some(script) = data.strip_prefix(b"#!") {
            let line = String::from_utf8_lossy(script.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
            if let Some(interp) = line.split_whitespace().next() {
                if let Err(why) = self.executable(interp) {
                    problems.push(format!("its #! interpreter {interp}: {why}"));
                }
            }
        } else if let Some(deps) = crate::elf_deps::read(data) {
            if let Some(interp) = &deps.interp {
                if let Err(why) = self.executable(interp) {
                    problems.push(format!("its ELF interpreter {interp}: {why}"));
                }
            }
            for lib in &deps.needed {
                if !LIB_DIRS.iter().any(|d| self.file(&format!("{d}/{lib}")).is_ok()) {
                    problems.push(format!("needs {lib}, not in /lib, /usr/lib or /lib64 of the image"));
                }
            }
        }
        problems
    }

    /// A hard-linked file keeps its data under one of its names only.
    fn data<'b>(&'b self, e: &'b ReadEntry) -> &'b [u8] {
        if e.data.is_empty() && e.nlink > 1 {
            let same = |o: &&ReadEntry| o.ino == e.ino && o.dev == e.dev && !o.data.is_empty();
            if let Some(o) = self.map.values().find(same) {
                return &o.data;
            }
        }
        &e.data
    }
}

#[cfg(test)]
#[path = "bootable_tests.rs"]
mod tests;
