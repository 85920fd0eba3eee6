//! What the kernel command line says about debug-file injection (`zos.debug=`,
//! `zos.debug.src=`, `zos.debug.wait=`). The injection itself is the init's
//! (`zos_init::debug`); the words are parsed here with the rest of the cmdline.

use std::time::Duration;

/// Where the debug files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Device(String),
    /// A FAT volume label, found by reading the boot sectors of the block devices.
    Label(String),
}

impl Source {
    /// `/dev/sdb1`, `LABEL=ZOSDEBUG`.
    pub fn parse(v: &str) -> Option<Source> {
        match v.strip_prefix("LABEL=") {
            Some(l) if !l.is_empty() && l.len() <= 11 => Some(Source::Label(l.to_string())),
            Some(_) => None,
            None if v.starts_with("/dev/") && !v.contains("..") => Some(Source::Device(v.to_string())),
            None => None,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Device(d) => f.write_str(d),
            Source::Label(l) => write!(f, "LABEL={l}"),
        }
    }
}

/// What the cmdline says about injection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebugFlags {
    /// `zos.debug=1|0`.
    pub force: Option<bool>,
    /// `zos.debug.src=`.
    pub source: Option<Source>,
    /// `zos.debug.wait=MS`.
    pub wait: Option<Duration>,
}

/// The bytes an init built with the `debug-inject` feature carries (its injection code
/// keeps them alive); the builder refuses such an init for a release image.
pub const INJECT_FEATURE_MARKER: &[u8] = b"zos-init:feature:debug-inject:v1";
