//! Module tier files (`configs/modules/*.tiers`): `[builtin]`, `[essential]`,
//! `[hardware]`, `[remote]` sections of module names, globs or tree directories
//! (`kernel/drivers/net/ethernet/`), and `include other.tiers`. The presets
//! minimal|standard|full (INCLUDE_MODULES) are compiled in, so the builder works
//! from anywhere.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Builtin,
    Essential,
    Hardware,
    Remote,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tiers {
    pub builtin: Vec<String>,
    pub essential: Vec<String>,
    pub hardware: Vec<String>,
    pub remote: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TierError {
    #[error("{file}:{line}: {why}")]
    Syntax { file: String, line: usize, why: String },
    #[error("read {}: {cause}", path.display())]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("unknown module preset {0:?}: expected minimal, standard or full (INCLUDE_MODULES)")]
    Preset(String),
    #[error("{file}: include nests too deep (a loop?)")]
    Loop { file: String },
}

const PRESETS: [(&str, &str); 3] = [
    ("minimal.tiers", include_str!("../../configs/modules/minimal.tiers")),
    ("standard.tiers", include_str!("../../configs/modules/standard.tiers")),
    ("full.tiers", include_str!("../../configs/modules/full.tiers")),
];

impl Tiers {
    /// A preset by name (`minimal`, `standard`, `full`).
    pub fn preset(name: &str) -> Result<Tiers, TierError> {
        let file = format!("{name}.tiers");
        if !PRESETS.iter().any(|(n, _)| *n == file) {
            return Err(TierError::Preset(name.into()));
        }
        let mut t = Tiers::default();
        t.add(&file, None, 0)?;
        Ok(t)
    }

    /// A tier file on disk (its includes: next to it, else the presets).
    pub fn from_file(path: &Path) -> Result<Tiers, TierError> {
        let mut t = Tiers::default();
        let name = path.display().to_string();
        t.add(&name, Some(path), 0)?;
        Ok(t)
    }

    fn add(&mut self, name: &str, path: Option<&Path>, depth: u32) -> Result<(), TierError> {
        if depth > 8 {
            return Err(TierError::Loop { file: name.into() });
        }
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|cause| TierError::Read {
                path: p.to_path_buf(),
                cause,
            })?,
            None => PRESETS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| TierError::Preset(name.into()))?,
        };
        let mut tier: Option<Tier> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            let err = |why: String| TierError::Syntax {
                file: name.into(),
                line: i + 1,
                why,
            };
            if line.is_empty() {
                continue;
            }
            if let Some(inc) = line.strip_prefix("include ") {
                let inc = inc.trim();
                let beside = path.and_then(|p| p.parent()).map(|d| d.join(inc));
                match beside.filter(|b| b.exists()) {
                    Some(b) => self.add(inc, Some(&b), depth + 1)?,
                    None => self.add(inc, None, depth + 1)?,
                }
                continue;
            }
            if let Some(sec) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                tier = Some(match sec {
                    "builtin" => Tier::Builtin,
                    "essential" => Tier::Essential,
                    "hardware" => Tier::Hardware,
                    "remote" => Tier::Remote,
                    other => return Err(err(format!("unknown tier [{other}]"))),
                });
                continue;
            }
            let list = match tier {
                Some(Tier::Builtin) => &mut self.builtin,
                Some(Tier::Essential) => &mut self.essential,
                Some(Tier::Hardware) => &mut self.hardware,
                Some(Tier::Remote) => &mut self.remote,
                None => return Err(err(format!("`{line}` before any [tier]"))),
            };
            for w in line.split_whitespace() {
                let w = if w.ends_with('/') {
                    w.to_string()
                } else {
                    w.replace('-', "_")
                };
                if !list.contains(&w) {
                    list.push(w);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_include_each_other() {
        let m = Tiers::preset("minimal").unwrap();
        assert_eq!(m.essential, vec!["btrfs", "fuse"]);
        assert!(m.hardware.contains(&"virtio_rng".to_string()));
        let s = Tiers::preset("standard").unwrap();
        assert!(s.essential.starts_with(&["btrfs".into(), "fuse".into()]));
        assert!(s.hardware.contains(&"virtio_blk".to_string()) && s.hardware.contains(&"ahci".to_string()));
        let f = Tiers::preset("full").unwrap();
        assert!(f.hardware.contains(&"kernel/drivers/net/ethernet/".to_string()));
        assert!(f.remote.contains(&"kernel/drivers/gpu/".to_string()));
        assert!(Tiers::preset("huge")
            .unwrap_err()
            .to_string()
            .contains("minimal, standard or full"));
    }

    #[test]
    fn file_errors_name_file_and_line() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("my.tiers");
        std::fs::write(&p, "include minimal.tiers\n[essential]\nvfat\n[bogus]\n").unwrap();
        let e = Tiers::from_file(&p).unwrap_err().to_string();
        assert!(e.ends_with("my.tiers:4: unknown tier [bogus]"), "{e}");
        std::fs::write(&p, "include minimal.tiers\n[essential]\nvfat\n").unwrap();
        let t = Tiers::from_file(&p).unwrap();
        assert_eq!(t.essential, vec!["btrfs", "fuse", "vfat"]);
    }
}
