//! Kernel modules into the image: pick them by tier ([`crate::tiers`]) from a kernel
//! module tree (a `lib/modules/<version>` directory, a root holding one, or a kernel
//! `.deb`), with their whole dependency closure (hard and soft), copy them, and write
//! the index files for that subset: with the host's `depmod -b` when present (it also
//! writes the `.bin` indexes udevd's libkmod needs), else by filtering the source
//! tree's own index files.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

use zos_common::modules::glob::fnmatch;
use zos_common::modules::index::{name_of, ModIndex, Resolved};

use crate::tiers::Tiers;

#[derive(Debug, thiserror::Error)]
pub enum ModulesError {
    #[error("{}: no lib/modules/<version> with a modules.dep here (run depmod first?)", path.display())]
    NoTree { path: PathBuf },
    #[error("{}: several kernels ({versions}); point at one lib/modules/<version>", path.display())]
    Ambiguous { path: PathBuf, versions: String },
    #[error("{0}")]
    Index(#[from] zos_common::modules::IndexError),
    #[error(
        "builtin tier: {name} {why} in kernel {version} (it must be built in: fix the kernel config or the tier file)"
    )]
    NotBuiltin {
        name: String,
        why: &'static str,
        version: String,
    },
    #[error("essential tier: {name} is not in kernel {version}'s modules")]
    MissingEssential { name: String, version: String },
    #[error("{what} {}: {cause}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("`{cmd}` failed: {out}")]
    Tool { cmd: String, out: String },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ModulesError + 'a {
    move |cause| ModulesError::Io {
        what,
        path: path.to_path_buf(),
        cause,
    }
}

/// A kernel's module directory (`.../lib/modules/<version>`).
#[derive(Debug)]
pub struct ModuleTree {
    pub dir: PathBuf,
    pub version: String,
    /// The extraction of a .deb, removed on drop.
    scratch: Option<PathBuf>,
}

impl Drop for ModuleTree {
    fn drop(&mut self) {
        if let Some(s) = &self.scratch {
            let _ = std::fs::remove_dir_all(s);
        }
    }
}

impl ModuleTree {
    pub fn open(path: &Path) -> Result<ModuleTree, ModulesError> {
        if path.extension().is_some_and(|e| e == "deb") {
            let scratch = std::env::temp_dir().join(format!("zos-builder-modules-{}", std::process::id()));
            // A leftover of a killed run would mix two packages' modules.
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir_all(&scratch).map_err(|e| ModulesError::Tool {
                cmd: format!("mkdir -p {}", scratch.display()),
                out: e.to_string(),
            })?;
            zos_host::deb::unpack(path, &scratch).map_err(|e| ModulesError::Tool {
                cmd: format!("unpack {}", path.display()),
                out: e.to_string(),
            })?;
            let mut t = Self::open(&scratch)?;
            t.scratch = Some(scratch);
            return Ok(t);
        }
        if path.join("modules.dep").is_file() {
            let version = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(ModuleTree {
                dir: path.to_path_buf(),
                version,
                scratch: None,
            });
        }
        let lm = path.join("lib/modules");
        let versions: Vec<PathBuf> = std::fs::read_dir(&lm)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.join("modules.dep").is_file())
                    .collect()
            })
            .unwrap_or_default();
        match versions.as_slice() {
            [one] => Self::open(one),
            [] => Err(ModulesError::NoTree { path: path.into() }),
            many => Err(ModulesError::Ambiguous {
                path: path.into(),
                versions: many
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// What goes into the image.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Every module file to pack (tiers plus closure), by name.
    pub packed: BTreeSet<String>,
    /// The essential tier as the init must load it (built-ins left out).
    pub essential: Vec<String>,
    /// What the builder decided not to do, for the operator (hardware entries this
    /// kernel lacks or has built in).
    pub notes: Vec<String>,
}

/// Names (or tree directories, or globs) of a tier to module names of `idx`.
fn expand(idx: &ModIndex, entry: &str) -> Vec<String> {
    let mut out: Vec<String> = if entry.ends_with('/') {
        idx.modules
            .iter()
            .filter(|(_, m)| m.path.to_string_lossy().starts_with(entry))
            .map(|(n, _)| n.clone())
            .collect()
    } else if entry.contains(['*', '?', '[']) {
        idx.modules.keys().filter(|n| fnmatch(entry, n)).cloned().collect()
    } else if idx.modules.contains_key(entry) {
        vec![entry.to_string()]
    } else {
        Vec::new()
    };
    out.sort();
    out
}

pub fn select(tree: &ModuleTree, tiers: &Tiers) -> Result<Selection, ModulesError> {
    let idx = ModIndex::load(&tree.dir)?;
    let mut sel = Selection::default();
    for name in &tiers.builtin {
        if !idx.builtin.contains(name) {
            let why = if idx.modules.contains_key(name) {
                "is a loadable module, not built in,"
            } else {
                "is neither built in nor a module"
            };
            return Err(ModulesError::NotBuiltin {
                name: name.clone(),
                why,
                version: tree.version.clone(),
            });
        }
    }
    let mut roots: Vec<String> = Vec::new();
    for name in &tiers.essential {
        if idx.builtin.contains(name) {
            sel.notes.push(format!("essential {name}: built into {}", tree.version));
        } else if idx.modules.contains_key(name) {
            sel.essential.push(name.clone());
            roots.push(name.clone());
        } else {
            return Err(ModulesError::MissingEssential {
                name: name.clone(),
                version: tree.version.clone(),
            });
        }
    }
    let remote: BTreeSet<String> = tiers.remote.iter().flat_map(|e| expand(&idx, e)).collect();
    for entry in &tiers.hardware {
        let mods = expand(&idx, entry);
        if mods.is_empty() {
            let why = if idx.builtin.contains(entry) {
                "built in"
            } else {
                "not in this kernel"
            };
            sel.notes.push(format!("hardware {entry}: {why}"));
        }
        roots.extend(mods.into_iter().filter(|m| !remote.contains(m)));
    }
    // The closure: hard dependencies, and soft ones when this kernel has them.
    let mut todo: VecDeque<String> = roots.into();
    while let Some(m) = todo.pop_front() {
        if !sel.packed.insert(m.clone()) {
            continue;
        }
        let Some(module) = idx.modules.get(&m) else { continue };
        todo.extend(module.deps.iter().cloned());
        if let Some(sd) = idx.softdeps.get(&m) {
            for s in sd.pre.iter().chain(&sd.post) {
                if let Resolved::Modules(ms) = idx.resolve(s) {
                    todo.extend(ms);
                }
            }
        }
    }
    Ok(sel)
}

/// How the subset's index is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexWriter {
    /// `depmod -b` if the host has it, else [`IndexWriter::Filter`].
    Auto,
    Depmod,
    /// Filter the source tree's text index files (no .bin files: native mode only).
    Filter,
}

/// Copy the selected modules of `tree` into `root/lib/modules/<version>` and write
/// the index. Returns that directory.
pub fn install(tree: &ModuleTree, sel: &Selection, root: &Path, how: IndexWriter) -> Result<PathBuf, ModulesError> {
    let idx = ModIndex::load(&tree.dir)?;
    let dst = root.join("lib/modules").join(&tree.version);
    for name in &sel.packed {
        let Some(m) = idx.modules.get(name) else { continue };
        let (from, to) = (tree.dir.join(&m.path), dst.join(&m.path));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io("mkdir", parent))?;
        }
        std::fs::copy(&from, &to).map_err(io("copy", &from))?;
    }
    std::fs::create_dir_all(&dst).map_err(io("mkdir", &dst))?;
    write_index(root, &tree.version, &tree.dir, how)?;
    Ok(dst)
}

/// Module files under `dir`, by name -> path relative to `dir`.
fn present(dir: &Path, rel: &Path, out: &mut Vec<(String, String)>) {
    let Ok(rd) = std::fs::read_dir(dir.join(rel)) else {
        return;
    };
    for e in rd.flatten() {
        let r = rel.join(e.file_name());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            present(dir, &r, out);
        } else if r.to_string_lossy().contains(".ko") {
            let s = r.to_string_lossy().into_owned();
            out.push((name_of(&s), s));
        }
    }
}

/// (Re)write the index of `root/lib/modules/<version>` for the modules present there
/// (after compressing some, say); `src` is the full tree's directory.
pub fn write_index(root: &Path, version: &str, src: &Path, how: IndexWriter) -> Result<(), ModulesError> {
    let dst = root.join("lib/modules").join(version);
    // depmod reads these; the init uses builtin to skip built-in names.
    for f in ["modules.builtin", "modules.builtin.modinfo", "modules.order"] {
        if src.join(f).is_file() && src != dst {
            std::fs::copy(src.join(f), dst.join(f)).map_err(io("copy", &src.join(f)))?;
        }
    }
    let depmod = match how {
        IndexWriter::Depmod => true,
        IndexWriter::Filter => false,
        IndexWriter::Auto => Command::new("depmod").arg("--version").output().is_ok(),
    };
    if depmod {
        return run(Command::new("depmod").arg("-b").arg(root).arg(version));
    }
    let mut files = Vec::new();
    present(&dst, Path::new(""), &mut files);
    let path_of = |n: &str| files.iter().find(|(m, _)| m == n).map(|(_, p)| p.clone());
    let read = |f: &str| std::fs::read_to_string(src.join(f)).unwrap_or_default();
    let mut dep = String::new();
    for line in read("modules.dep").lines() {
        let Some((p, deps)) = line.split_once(':') else {
            continue;
        };
        let Some(mine) = path_of(&name_of(p)) else { continue };
        let deps: Vec<String> = deps.split_whitespace().filter_map(|d| path_of(&name_of(d))).collect();
        dep.push_str(&format!("{mine}: {}\n", deps.join(" ")).replace(": \n", ":\n"));
    }
    let keep = |file: &str, name_at: usize| -> String {
        read(file)
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .nth(name_at)
                    .is_some_and(|n| path_of(&n.replace('-', "_")).is_some())
            })
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let (alias, softdep) = (keep("modules.alias", 2), keep("modules.softdep", 1));
    for (f, text) in [
        ("modules.dep", dep),
        ("modules.alias", alias),
        ("modules.softdep", softdep),
    ] {
        std::fs::write(dst.join(f), text).map_err(io("write", &dst.join(f)))?;
    }
    Ok(())
}

/// Every file and directory under `staging` as image entries at the same paths (for
/// `build`, which must not write into the operator's rootfs).
pub fn to_extras(staging: &Path) -> Vec<crate::ExtraEntry> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<crate::ExtraEntry>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        let mut ents: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        ents.sort();
        for p in ents {
            let rel = Path::new("/").join(p.strip_prefix(base).unwrap_or(&p));
            if p.is_dir() {
                out.push(crate::ExtraEntry::Dir { path: rel, mode: 0o755 });
                walk(base, &p, out);
            } else {
                out.push(crate::ExtraEntry::File {
                    path: rel,
                    source: crate::cpio::FileData::Path(p.clone()),
                    mode: Some(0o644),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(staging, staging, &mut out);
    out
}

/// Set `essential_modules` in the image's /etc/zos-init.conf entry (bytes), so the
/// init loads exactly the essential tier that was packed.
pub fn set_essential(extras: &mut [crate::ExtraEntry], essential: &[String]) -> bool {
    for e in extras.iter_mut() {
        if let crate::ExtraEntry::File {
            path,
            source: crate::cpio::FileData::Bytes(bytes),
            ..
        } = e
        {
            if path.ends_with("etc/zos-init.conf") {
                let (mut cfg, _) = zos_common::config::Config::parse(&String::from_utf8_lossy(bytes), "config");
                cfg.essential_modules = essential.to_vec();
                *bytes = cfg.render().into_bytes();
                return true;
            }
        }
    }
    false
}

fn run(cmd: &mut Command) -> Result<(), ModulesError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd.output().map_err(|e| ModulesError::Tool {
        cmd: shown.clone(),
        out: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ModulesError::Tool {
            cmd: shown,
            out: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "modules_tests.rs"]
mod tests;
