//! The seed's build knobs: BUILDMODE, TARGETARCH, KERNEL_VERSION, ALPINE_VERSION,
//! INCLUDE_MODULES, CACHE_DOWNLOADS, VERIFY_CHECKSUMS.
//!
//! Each one is a key of configs/build.toml (same upper-case name), an environment
//! variable of that name, and a `build` flag (`--mode`, `--targetarch`, ...). A flag
//! beats the environment, which beats the config file, which beats the default. The
//! resolved value remembers where it came from, so build.log can say why a build ran
//! in release mode.

use std::collections::BTreeMap;
use std::fmt;

use crate::mode::BuildMode;

/// The knob names, in the order build.log prints them.
pub const NAMES: [&str; 7] = [
    "BUILDMODE",
    "TARGETARCH",
    "KERNEL_VERSION",
    "ALPINE_VERSION",
    "INCLUDE_MODULES",
    "CACHE_DOWNLOADS",
    "VERIFY_CHECKSUMS",
];

/// The `build` flags for the knobs. `--mode` keeps its old name (`--buildmode` is an
/// alias); none has a clap default or `env`, so an absent flag is `None` and the
/// environment and config can be consulted in order.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KnobFlags {
    /// debug or release [BUILDMODE; default debug]. debug: debug-file injection,
    /// emergency shell; release: no injection code, no shell, emergency reboot, every
    /// component pinned.
    #[arg(long = "mode", alias = "buildmode", value_name = "MODE")]
    pub buildmode: Option<String>,
    /// amd64 or arm64 [TARGETARCH; default amd64].
    #[arg(long, value_name = "ARCH")]
    pub targetarch: Option<String>,
    /// The kernel (and its lib/modules/<version>) to use [KERNEL_VERSION; default: the
    /// only one in the kernel source].
    #[arg(long, value_name = "VERSION")]
    pub kernel_version: Option<String>,
    /// Alpine release for the rootfs stage [ALPINE_VERSION; default: configs/apk.toml's].
    #[arg(long, value_name = "VERSION")]
    pub alpine_version: Option<String>,
    /// Module tier preset: minimal, standard or full [INCLUDE_MODULES; default standard].
    #[arg(long, value_name = "PRESET")]
    pub include_modules: Option<String>,
    /// Keep downloads in the cache: 1/0 [CACHE_DOWNLOADS; default 1].
    #[arg(long, value_name = "BOOL")]
    pub cache_downloads: Option<String>,
    /// Refuse downloads whose checksum is wrong or unknown: 1/0 [VERIFY_CHECKSUMS;
    /// default 1].
    #[arg(long, value_name = "BOOL")]
    pub verify_checksums: Option<String>,
}

impl KnobFlags {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            "BUILDMODE" => self.buildmode.clone(),
            "TARGETARCH" => self.targetarch.clone(),
            "KERNEL_VERSION" => self.kernel_version.clone(),
            "ALPINE_VERSION" => self.alpine_version.clone(),
            "INCLUDE_MODULES" => self.include_modules.clone(),
            "CACHE_DOWNLOADS" => self.cache_downloads.clone(),
            "VERIFY_CHECKSUMS" => self.verify_checksums.clone(),
            _ => None,
        }
    }
}

/// The knob keys of a config file, as text (`true` becomes "1"), keyed by name.
pub type KnobFile = BTreeMap<String, String>;

/// Pulls the knob keys out of a parsed config table (they are removed, so the rest
/// can be checked strictly for unknown keys).
pub fn take_from_table(table: &mut toml::Table) -> Result<KnobFile, KnobError> {
    let mut out = KnobFile::new();
    for name in NAMES {
        if let Some(v) = table.remove(name) {
            let text = match v {
                toml::Value::String(s) => s,
                toml::Value::Boolean(b) => if b { "1" } else { "0" }.to_string(),
                toml::Value::Integer(i) => i.to_string(),
                other => {
                    return Err(KnobError::Bad {
                        name,
                        value: other.to_string(),
                        origin: Origin::Config,
                        expected: "a string, number or boolean",
                    })
                }
            };
            out.insert(name.to_string(), text);
        }
    }
    Ok(out)
}

/// Where a knob's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env,
    Config,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Flag => "flag",
            Origin::Env => "environment",
            Origin::Config => "config",
            Origin::Default => "default",
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KnobError {
    #[error("{name}={value:?} (from the {origin}): expected {expected}")]
    Bad {
        name: &'static str,
        value: String,
        origin: Origin,
        expected: &'static str,
    },
}

/// Docker's TARGETARCH values this project builds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetArch {
    #[default]
    Amd64,
    Arm64,
}

impl TargetArch {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetArch::Amd64 => "amd64",
            TargetArch::Arm64 => "arm64",
        }
    }

    /// The Rust target the init and static components are built for.
    pub fn musl_target(self) -> &'static str {
        match self {
            TargetArch::Amd64 => "x86_64-unknown-linux-musl",
            TargetArch::Arm64 => "aarch64-unknown-linux-musl",
        }
    }
}

/// Every knob resolved, with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knobs {
    pub mode: BuildMode,
    pub arch: TargetArch,
    /// None: whatever single kernel the source holds.
    pub kernel_version: Option<String>,
    /// None: configs/apk.toml's version.
    pub alpine_version: Option<String>,
    pub include_modules: String,
    pub cache_downloads: bool,
    pub verify_checksums: bool,
    /// Raw value and origin per name, for build.log and for passing on as env.
    pub raw: BTreeMap<&'static str, (String, Origin)>,
}

fn parse_bool(name: &'static str, v: &str, origin: Origin) -> Result<bool, KnobError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(KnobError::Bad {
            name,
            value: v.to_string(),
            origin,
            expected: "1/0, true/false, yes/no or on/off",
        }),
    }
}

/// Resolve all knobs: `flags`, then `env` (empty values count as unset, as with the
/// apk settings), then `file`, then the defaults.
pub fn resolve(flags: &KnobFlags, env: impl Fn(&str) -> Option<String>, file: &KnobFile) -> Result<Knobs, KnobError> {
    let mut raw = BTreeMap::new();
    for name in NAMES {
        let found = flags
            .get(name)
            .map(|v| (v, Origin::Flag))
            .or_else(|| env(name).filter(|v| !v.is_empty()).map(|v| (v, Origin::Env)))
            .or_else(|| file.get(name).cloned().map(|v| (v, Origin::Config)));
        if let Some(f) = found {
            raw.insert(name, f);
        }
    }
    let get = |name: &'static str, default: &str| -> (String, Origin) {
        raw.get(name)
            .cloned()
            .unwrap_or_else(|| (default.to_string(), Origin::Default))
    };
    let (v, o) = get("BUILDMODE", "debug");
    let mode = v.parse::<BuildMode>().map_err(|_| KnobError::Bad {
        name: "BUILDMODE",
        value: v.clone(),
        origin: o,
        expected: "debug or release",
    })?;
    let (v, o) = get("TARGETARCH", "amd64");
    let arch = match v.as_str() {
        "amd64" | "x86_64" => TargetArch::Amd64,
        "arm64" | "aarch64" => TargetArch::Arm64,
        _ => {
            return Err(KnobError::Bad {
                name: "TARGETARCH",
                value: v,
                origin: o,
                expected: "amd64 or arm64",
            })
        }
    };
    let (v, o) = get("INCLUDE_MODULES", "standard");
    if v.is_empty() || v.contains(char::is_whitespace) {
        return Err(KnobError::Bad {
            name: "INCLUDE_MODULES",
            value: v,
            origin: o,
            expected: "a preset name (minimal, standard, full)",
        });
    }
    let include_modules = v;
    let (v, o) = get("CACHE_DOWNLOADS", "1");
    let cache_downloads = parse_bool("CACHE_DOWNLOADS", &v, o)?;
    let (v, o) = get("VERIFY_CHECKSUMS", "1");
    let verify_checksums = parse_bool("VERIFY_CHECKSUMS", &v, o)?;
    let opt = |name| raw.get(name).map(|(v, _)| v.clone()).filter(|v: &String| !v.is_empty());
    Ok(Knobs {
        mode,
        arch,
        kernel_version: opt("KERNEL_VERSION"),
        alpine_version: opt("ALPINE_VERSION"),
        include_modules,
        cache_downloads,
        verify_checksums,
        raw,
    })
}

impl Knobs {
    /// The process environment with the resolved knobs on top, for code that reads
    /// its settings from the environment (the apk installer's `Settings::load`).
    pub fn env_overlay(&self) -> impl Fn(&str) -> Option<std::ffi::OsString> + '_ {
        move |k: &str| {
            let knob = match k {
                "BUILDMODE" => Some(
                    if self.mode == BuildMode::Release {
                        "release"
                    } else {
                        "debug"
                    }
                    .to_string(),
                ),
                "TARGETARCH" => Some(self.arch.as_str().to_string()),
                "ALPINE_VERSION" => self.alpine_version.clone(),
                "KERNEL_VERSION" => self.kernel_version.clone(),
                "INCLUDE_MODULES" => Some(self.include_modules.clone()),
                "CACHE_DOWNLOADS" => Some(if self.cache_downloads { "1" } else { "0" }.to_string()),
                "VERIFY_CHECKSUMS" => Some(if self.verify_checksums { "1" } else { "0" }.to_string()),
                _ => None,
            };
            knob.map(Into::into).or_else(|| std::env::var_os(k))
        }
    }

    /// `NAME=value (origin)` lines for build.log, every knob, defaults included.
    pub fn describe(&self) -> Vec<String> {
        NAMES
            .iter()
            .map(|n| match self.raw.get(n) {
                Some((v, o)) => format!("{n}={v} ({o})"),
                None => format!("{n} unset (default)"),
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "knobs_tests.rs"]
mod tests;
