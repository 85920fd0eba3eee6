//! BUILDMODE: `debug` (the default) or `release`.
//!
//! - debug: the init with debug-file injection, and `debug_inject = yes` in the
//!   image's /etc/zos-init.conf, so a FAT disk with `.zero-os-debug` is injected.
//! - release: the init built without the `debug-inject` feature (no code path a
//!   cmdline flag could turn on), no emergency shell, emergency action reboot.
//!
//! Both write the config the init reads; an existing `etc/zos-init.conf` in the rootfs
//! is kept and only the mode's keys are set on top of it.

use std::path::Path;
use std::str::FromStr;

use zos_common::config::{Config, EmergencyAction, CONFIG_PATH};

use crate::workspace::{self, CargoError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildMode {
    #[default]
    Debug,
    Release,
}

impl FromStr for BuildMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "debug" => Ok(BuildMode::Debug),
            "release" => Ok(BuildMode::Release),
            _ => Err(format!("unknown build mode {s:?}: expected debug or release")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModeError {
    #[error("{path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{0} (fix the rootfs's config)")]
    Config(zos_common::config::ConfigError),
    #[error(
        "{path}: this init was built with the debug-inject feature; a release image must not \
         carry debug injection (build it with --no-default-features, or drop --init)"
    )]
    InjectingInit { path: String },
}

impl BuildMode {
    /// Set this mode's keys on a config.
    pub fn apply(self, cfg: &mut Config) {
        match self {
            BuildMode::Debug => cfg.debug_inject = true,
            BuildMode::Release => {
                cfg.debug_inject = false;
                cfg.allow_shell = false;
                cfg.emergency = EmergencyAction::Reboot;
            }
        }
    }

    /// The image's /etc/zos-init.conf: the rootfs's own (if any) with the mode applied.
    pub fn image_config(self, rootfs: Option<&Path>) -> Result<String, ModeError> {
        let mut cfg = match rootfs.map(|r| r.join(CONFIG_PATH.trim_start_matches('/'))) {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(&p).map_err(|cause| ModeError::Read {
                    path: p.display().to_string(),
                    cause,
                })?;
                let (cfg, errors) = Config::parse(&text, &p.display().to_string());
                if let Some(e) = errors.into_iter().next() {
                    return Err(ModeError::Config(e));
                }
                cfg
            }
            _ => Config::default(),
        };
        self.apply(&mut cfg);
        Ok(cfg.render())
    }

    /// Refuse, in release mode, an init that carries debug injection (it holds
    /// `INJECT_FEATURE_MARKER`); a debug image takes any init.
    pub fn check_init(self, init: &Path) -> Result<(), ModeError> {
        if self == BuildMode::Debug {
            return Ok(());
        }
        let bin = std::fs::read(init).map_err(|cause| ModeError::Read {
            path: init.display().to_string(),
            cause,
        })?;
        let marker = zos_common::debug_flags::INJECT_FEATURE_MARKER;
        if bin.windows(marker.len()).any(|w| w == marker) {
            return Err(ModeError::InjectingInit {
                path: init.display().to_string(),
            });
        }
        Ok(())
    }

    /// Build the x86_64 init for this mode (release: without debug injection).
    pub fn build_init(self) -> Result<std::path::PathBuf, CargoError> {
        self.build_init_for(workspace::MUSL_TARGET)
    }

    /// The same for another musl target (`aarch64-unknown-linux-musl` for arm64).
    pub fn build_init_for(self, target: &str) -> Result<std::path::PathBuf, CargoError> {
        match self {
            BuildMode::Debug => workspace::build_musl_for("zos-init", "init", target),
            BuildMode::Release => workspace::build_musl_no_default_for("zos-init", "init", target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_set_their_keys_over_the_rootfs_config() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/zos-init.conf"), "tmpfs_size = 2G\n").unwrap();
        let (debug, _) = Config::parse(&BuildMode::Debug.image_config(Some(t.path())).unwrap(), "d");
        assert!(debug.debug_inject && debug.allow_shell);
        assert_eq!(debug.tmpfs_size, "2G", "the rootfs's own keys are kept");
        let (release, _) = Config::parse(&BuildMode::Release.image_config(None).unwrap(), "r");
        assert!(!release.debug_inject && !release.allow_shell);
        assert_eq!(release.emergency, EmergencyAction::Reboot);
        assert!("fast".parse::<BuildMode>().is_err());
    }

    #[test]
    fn release_refuses_an_init_with_debug_injection() {
        let t = tempfile::tempdir().unwrap();
        let (with, without) = (t.path().join("with"), t.path().join("without"));
        let mut bin = b"\x7fELF...".to_vec();
        bin.extend_from_slice(zos_common::debug_flags::INJECT_FEATURE_MARKER);
        bin.extend_from_slice(b"...");
        std::fs::write(&with, &bin).unwrap();
        std::fs::write(&without, b"\x7fELF plain").unwrap();
        let e = BuildMode::Release.check_init(&with).unwrap_err().to_string();
        assert!(e.contains("debug-inject") && e.contains("with"), "{e}");
        BuildMode::Release.check_init(&without).unwrap();
        BuildMode::Debug.check_init(&with).unwrap();
    }

    #[test]
    fn a_broken_rootfs_config_is_an_error_naming_the_line() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/zos-init.conf"), "tmpfs_size = huge\n").unwrap();
        let e = BuildMode::Debug.image_config(Some(t.path())).unwrap_err().to_string();
        assert!(e.contains("etc/zos-init.conf:1: tmpfs_size"), "{e}");
    }
}
