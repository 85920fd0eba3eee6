//! The config's value types (what a key may say: `emergency = shell`, `log_targets =
//! console,kmsg`, `coldplug = native`) and the checks its parser and the cmdline's
//! share (booleans, tmpfs sizes, absolute paths, milliseconds).

use std::fmt;
use std::str::FromStr;

/// What to do when the boot fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmergencyAction {
    /// A shell on the console (if the image has one), then reboot when it exits.
    Shell,
    Reboot,
    Poweroff,
}

impl FromStr for EmergencyAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shell" => Ok(Self::Shell),
            "reboot" => Ok(Self::Reboot),
            "poweroff" | "halt" => Ok(Self::Poweroff),
            _ => Err("expected shell, reboot or poweroff".into()),
        }
    }
}

impl fmt::Display for EmergencyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Shell => "shell",
            Self::Reboot => "reboot",
            Self::Poweroff => "poweroff",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Errors, warnings and the one closing line.
    Quiet,
    Info,
    Debug,
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "quiet" => Ok(Self::Quiet),
            "info" => Ok(Self::Info),
            "debug" => Ok(Self::Debug),
            _ => Err("expected quiet, info or debug".into()),
        }
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTargets {
    pub console: bool,
    pub kmsg: bool,
}

impl FromStr for LogTargets {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "console" => Ok(Self {
                console: true,
                kmsg: false,
            }),
            "kmsg" => Ok(Self {
                console: false,
                kmsg: true,
            }),
            "both" => Ok(Self {
                console: true,
                kmsg: true,
            }),
            _ => Err("expected console, kmsg or both".into()),
        }
    }
}

/// How the hardware stage finds drivers (`coldplug =`, `zos.coldplug=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColdplugMode {
    /// Walk /sys for modaliases, match modules.alias, load; no udevd.
    Native,
    /// The shell /init's way: the image's udevd, `udevadm trigger` x2, settle, stop.
    Udev,
    Off,
}

impl FromStr for ColdplugMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "native" => Ok(Self::Native),
            "udev" => Ok(Self::Udev),
            "off" | "0" | "no" => Ok(Self::Off),
            _ => Err("expected native, udev or off".into()),
        }
    }
}

impl fmt::Display for ColdplugMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Native => "native",
            Self::Udev => "udev",
            Self::Off => "off",
        })
    }
}

pub(super) fn absolute(key: &str, value: &str) -> Result<String, String> {
    if value.starts_with('/') {
        Ok(value.to_string())
    } else {
        Err(format!("{key}: `{value}` must be an absolute path"))
    }
}

pub(super) fn millis(key: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("{key}: `{value}` is not a number of milliseconds"))
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// A tmpfs `size=`: digits with an optional k/m/g/t suffix, or a percentage of RAM.
/// Zero is refused: tmpfs reads `size=0` as "no limit", the opposite of what it says.
pub fn valid_size(v: &str) -> bool {
    let digits = v.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', 't', 'T', '%']);
    let suffix_len = v.len() - digits.len();
    !digits.is_empty()
        && suffix_len <= 1
        && digits.len() <= 19
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.bytes().any(|b| b != b'0')
}
