//! depmod's text index under `/lib/modules/$(uname -r)`: `modules.dep` (required),
//! `modules.alias`, `modules.softdep`, `modules.builtin` and `modules.builtin.modinfo`
//! (optional). Names are normalised (`-` -> `_`) everywhere, as the kernel does.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::glob::AliasTable;
use super::{normalize, IndexError};

/// A loadable module: its file (relative to the index directory) and its
/// dependencies, all of them (depmod lists the whole closure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub path: PathBuf,
    pub deps: Vec<String>,
}

/// `softdep <mod> pre: a b post: c`: load a, b before and c after the module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoftDep {
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

/// What a name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// These modules (one for a module name; maybe several for an alias).
    Modules(Vec<String>),
    /// Built into the kernel: nothing to load.
    Builtin,
    NotFound,
}

#[derive(Debug, Clone, Default)]
pub struct ModIndex {
    /// The directory the paths are relative to.
    pub dir: PathBuf,
    pub modules: HashMap<String, Module>,
    pub aliases: AliasTable,
    pub softdeps: HashMap<String, SoftDep>,
    pub builtin: HashSet<String>,
    /// Aliases of built-in modules (`modules.builtin.modinfo`): a device they match
    /// has its driver already.
    pub builtin_aliases: AliasTable,
}

/// `kernel/fs/btrfs/btrfs.ko.zst` -> `btrfs`.
pub fn name_of(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.split(".ko").next().unwrap_or(base);
    normalize(stem)
}

impl ModIndex {
    /// Read the index files of `dir` with std::fs (the builder, tests).
    pub fn load(dir: &Path) -> Result<ModIndex, IndexError> {
        ModIndex::load_with(dir, &mut |p| std::fs::read(p))
    }

    /// Read the index files of `dir` through `read_file` (the init passes its
    /// syscall seam). A missing optional file is an empty one.
    pub fn load_with(
        dir: &Path,
        read_file: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<ModIndex, IndexError> {
        let mut read = |name: &str, required: bool| -> Result<String, IndexError> {
            let p = dir.join(name);
            match read_file(&p) {
                Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                Err(e) => Err(IndexError { path: p, cause: e }),
            }
        };
        let mut idx = ModIndex {
            dir: dir.to_path_buf(),
            ..Default::default()
        };
        idx.modules = parse_dep(&read("modules.dep", true)?);
        idx.aliases = parse_alias(&read("modules.alias", false)?);
        idx.softdeps = parse_softdep(&read("modules.softdep", false)?);
        idx.builtin = read("modules.builtin", false)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(name_of)
            .collect();
        idx.builtin_aliases = parse_builtin_modinfo(&read("modules.builtin.modinfo", false)?);
        Ok(idx)
    }

    /// A module name or an alias (`crypto-crc32c`, `fs-btrfs`) to what to load.
    pub fn resolve(&self, name: &str) -> Resolved {
        let n = normalize(name);
        if self.modules.contains_key(&n) {
            return Resolved::Modules(vec![n]);
        }
        if self.builtin.contains(&n) {
            return Resolved::Builtin;
        }
        let mods = self.aliases.lookup(name);
        if !mods.is_empty() {
            return Resolved::Modules(mods);
        }
        if !self.builtin_aliases.lookup(name).is_empty() {
            return Resolved::Builtin;
        }
        Resolved::NotFound
    }

    /// Absolute path of a module's file.
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        self.modules.get(name).map(|m| self.dir.join(&m.path))
    }
}

pub fn parse_dep(text: &str) -> HashMap<String, Module> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some((path, deps)) = line.split_once(':') else {
            continue;
        };
        let path = path.trim();
        if path.is_empty() || path.starts_with('#') {
            continue;
        }
        let module = Module {
            path: PathBuf::from(path),
            deps: deps.split_whitespace().map(name_of).collect(),
        };
        out.insert(name_of(path), module);
    }
    out
}

pub fn parse_alias(text: &str) -> AliasTable {
    let mut t = AliasTable::default();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if let (Some("alias"), Some(pat), Some(module)) = (w.next(), w.next(), w.next()) {
            t.push(pat, &normalize(module));
        }
    }
    t
}

/// Softdep lines (also used for modprobe.d). Names before any `pre:`/`post:` are
/// ignored, as kmod does.
pub fn parse_softdep(text: &str) -> HashMap<String, SoftDep> {
    let mut out: HashMap<String, SoftDep> = HashMap::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("softdep") {
            continue;
        }
        let Some(module) = w.next() else { continue };
        let entry = out.entry(normalize(module)).or_default();
        let mut mode = 0;
        for tok in w {
            match tok {
                "pre:" => mode = 1,
                "post:" => mode = 2,
                t if mode == 1 => entry.pre.push(t.to_string()),
                t if mode == 2 => entry.post.push(t.to_string()),
                _ => {}
            }
        }
    }
    out
}

/// `name.alias=pattern` records, NUL-separated.
pub fn parse_builtin_modinfo(text: &str) -> AliasTable {
    let mut t = AliasTable::default();
    for rec in text.split('\0') {
        if let Some((module, rest)) = rec.split_once('.') {
            if let Some(pat) = rest.strip_prefix("alias=") {
                t.push(pat, &normalize(module));
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Excerpts of the depmod output of Debian's 6.1 cloud kernel (the QEMU test kernel).
    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/modules/testdata");

    fn fixture() -> ModIndex {
        ModIndex::load(Path::new(DATA)).unwrap()
    }

    #[test]
    fn parses_the_test_kernels_index() {
        let idx = fixture();
        let btrfs = &idx.modules["btrfs"];
        assert_eq!(btrfs.path, Path::new("kernel/fs/btrfs/btrfs.ko"));
        assert_eq!(btrfs.deps, vec!["xor", "raid6_pq", "zstd_compress", "libcrc32c"]);
        assert!(idx.modules["fuse"].deps.is_empty());
        // virtio-rng.ko is spelled with a dash on disk.
        assert_eq!(
            idx.modules["virtio_rng"].path,
            Path::new("kernel/drivers/char/hw_random/virtio-rng.ko")
        );
        assert_eq!(
            idx.softdeps["btrfs"].pre,
            vec!["blake2b-256", "sha256", "xxhash64", "crypto-crc32c"]
        );
        assert_eq!(
            idx.softdeps["vfio"].post,
            vec!["vfio_iommu_type1", "vfio_iommu_spapr_tce"]
        );
        assert!(!idx.softdeps.contains_key("cifs") || idx.softdeps["cifs"].pre.is_empty());
        assert!(idx.builtin.contains("ext4") && idx.builtin.contains("nvme_core"));
    }

    #[test]
    fn resolves_names_aliases_and_builtins() {
        let idx = fixture();
        assert_eq!(idx.resolve("virtio-blk"), Resolved::Modules(vec!["virtio_blk".into()]));
        assert_eq!(idx.resolve("fs-btrfs"), Resolved::Modules(vec!["btrfs".into()]));
        assert_eq!(idx.resolve("ext4"), Resolved::Builtin);
        assert_eq!(idx.resolve("crypto-sha256"), Resolved::Builtin);
        assert_eq!(
            idx.resolve("crypto-crc32c"),
            Resolved::Modules(vec!["crc32c_intel".into()])
        );
        assert_eq!(idx.resolve("no_such_thing"), Resolved::NotFound);
        let pci = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00";
        assert_eq!(idx.aliases.lookup(pci), vec!["virtio_pci"]);
        assert_eq!(idx.aliases.lookup("virtio:d00000001v00001AF4"), vec!["virtio_net"]);
    }

    #[test]
    fn names_from_paths() {
        assert_eq!(name_of("kernel/fs/btrfs/btrfs.ko.zst"), "btrfs");
        assert_eq!(name_of("a/virtio-rng.ko.xz"), "virtio_rng");
        assert_eq!(name_of("x.ko.gz"), "x");
    }
}
