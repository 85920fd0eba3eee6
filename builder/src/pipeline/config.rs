//! configs/build.toml: the seed knobs (upper-case keys, see knobs.rs),
//! SOURCE_DATE_EPOCH, and one section per stage. Relative paths are relative to the
//! config file's directory. Unknown keys are errors, so a typo never silently falls
//! back to a default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::PipelineError;
use crate::knobs::{self, KnobFile};

#[derive(Debug, Clone)]
pub struct BuildConfig {
    pub path: PathBuf,
    /// The directory relative paths start from.
    pub dir: PathBuf,
    /// The text, hashed into every stage key (a changed config rebuilds what it touches
    /// at worst too much, never too little).
    pub text: String,
    pub knobs: KnobFile,
    pub source_date_epoch: Option<u64>,
    pub s: Sections,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sections {
    pub rootfs: RootfsCfg,
    pub components: ComponentsCfg,
    pub kernel: KernelCfg,
    pub configs: ConfigsCfg,
    pub init: InitCfg,
    pub pack: PackCfg,
    pub efi: EfiCfg,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RootfsCfg {
    /// `apk` (packages + apk config), `dir:PATH` (a prepared tree, packed in place with
    /// its `PATH.owners`), or `none`.
    pub source: String,
    pub packages: PathBuf,
    pub apk_config: PathBuf,
    pub add: Vec<String>,
}

impl Default for RootfsCfg {
    fn default() -> Self {
        RootfsCfg {
            source: "apk".into(),
            packages: "packages.txt".into(),
            apk_config: "apk.toml".into(),
            add: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComponentsCfg {
    pub lock: PathBuf,
    /// Names from the lock to install [default: all of them].
    pub include: Option<Vec<String>>,
}

impl Default for ComponentsCfg {
    fn default() -> Self {
        ComponentsCfg {
            lock: "components.lock".into(),
            include: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KernelCfg {
    /// A root holding lib/modules/<version> (and vmlinuz or boot/vmlinuz-<version>),
    /// a lib/modules/<version> dir, or a kernel .deb. None: no modules stage.
    pub source: Option<PathBuf>,
    /// A tier file instead of the INCLUDE_MODULES preset.
    pub tiers: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigsCfg {
    /// A zinit unit set to add (linted against the image first).
    pub units: Option<PathBuf>,
    /// Extra files `SRC:DEST[:MODE]` (as `build --file`), SRC relative to the config.
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InitCfg {
    /// A prebuilt /init; None: built with cargo for BUILDMODE and TARGETARCH.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PackCfg {
    pub compression: String,
    pub level: Option<u32>,
    /// uid/gid 0 for every entry without an owner record; recorded ones (the
    /// installer's ownership manifest) keep their owner and mode.
    pub root_owned: bool,
}

impl Default for PackCfg {
    fn default() -> Self {
        PackCfg {
            compression: "zstd".into(),
            level: None,
            root_owned: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EfiCfg {
    pub enabled: bool,
    pub stub: PathBuf,
    pub cmdline: String,
    /// The kernel image [default: vmlinuz or boot/vmlinuz-<version> in kernel.source].
    pub kernel: Option<PathBuf>,
}

impl Default for EfiCfg {
    fn default() -> Self {
        EfiCfg {
            enabled: true,
            stub: "/usr/lib/systemd/boot/efi/linuxx64.efi.stub".into(),
            cmdline: "console=ttyS0".into(),
            kernel: None,
        }
    }
}

impl BuildConfig {
    pub fn load(path: &Path) -> Result<BuildConfig, PipelineError> {
        let err = |reason: String| PipelineError::Config {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        let knobs = knobs::take_from_table(&mut table).map_err(|e| err(e.to_string()))?;
        let source_date_epoch = match table.remove("SOURCE_DATE_EPOCH") {
            None => None,
            Some(toml::Value::Integer(i)) if i >= 0 => Some(i as u64),
            Some(v) => return Err(err(format!("SOURCE_DATE_EPOCH = {v}: expected seconds since 1970"))),
        };
        let s: Sections = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(BuildConfig {
            path: path.to_owned(),
            dir: dir.to_owned(),
            text,
            knobs,
            source_date_epoch,
            s,
        })
    }

    /// `p` relative to the config's directory (absolute paths stay).
    pub fn rel(&self, p: &Path) -> PathBuf {
        self.dir.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<BuildConfig, PipelineError> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("build.toml");
        std::fs::write(&p, text).unwrap();
        BuildConfig::load(&p)
    }

    #[test]
    fn the_shipped_config_loads() {
        let p = crate::workspace::root().join("configs/build.toml");
        let c = BuildConfig::load(&p).unwrap();
        assert_eq!(c.knobs["BUILDMODE"], "debug");
        assert!(c.source_date_epoch.is_some());
        assert_eq!(c.s.rootfs.source, "apk");
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        let e = load("[pack]\ncompresion = \"xz\"\n").unwrap_err().to_string();
        assert!(e.contains("build.toml") && e.contains("compresion"), "{e}");
        let e = load("SOURCE_DATE_EPOCH = \"now\"\n").unwrap_err().to_string();
        assert!(e.contains("SOURCE_DATE_EPOCH"), "{e}");
        let c = load("TARGETARCH = \"arm64\"\n[rootfs]\nsource = \"none\"\n").unwrap();
        assert_eq!(c.knobs["TARGETARCH"], "arm64");
        assert_eq!(c.s.pack.compression, "zstd");
    }
}
