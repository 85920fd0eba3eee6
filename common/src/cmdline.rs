//! The kernel command line, parsed without side effects into [`Flags`].
//!
//! Tokenising follows the kernel's own `next_arg()`: words split on whitespace outside
//! double quotes, and the quotes around a whole word or around a value are dropped.
//! Words after a lone `--` belong to init's argv, not to us. Only `init=`, mkinitcpio's
//! `break` and the `zos.*` / `rd.*` flags below are ours; every other word (`zos-debug`, `runmode=`,
//! `console=`...) passes through untouched. A malformed or unknown flag of ours is
//! recorded in `Flags::problems`, reported once, and ignored: a bad cmdline never
//! stops the boot.

use crate::config::{parse_bool, valid_size, ColdplugMode, EmergencyAction, LogLevel, LogTargets, RootMode};
use crate::debug_flags::{DebugFlags, Source};
use crate::kernel_requests::KernelRequests;
use crate::stage::Stage;

/// What the kernel command line asks of the init. `None`: keep the config's value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flags {
    /// `init=/path`: the handover target (the kernel's own spelling).
    pub init: Option<String>,
    /// `zos.tmpfs=SIZE`: size of the new-root tmpfs (`1536M`, `2G`, `50%`).
    pub tmpfs_size: Option<String>,
    /// `zos.root=copy|bind|auto`: how the new root is made.
    pub root_mode: Option<RootMode>,
    /// The kernel's own `root=` (read, not consumed: it decides `zos.root=auto`).
    pub kernel_root: Option<String>,
    /// `zos.emergency=` / `rd.emergency=`: shell, reboot or poweroff; `rd.shell[=1]` is
    /// shell, `rd.shell=0` reboot.
    pub emergency: Option<EmergencyAction>,
    /// `zos.copy+=/a,/b`: more top-level paths to copy.
    pub copy_add: Vec<String>,
    /// `zos.copy-=/a,/b`: paths not to copy.
    pub copy_exclude: Vec<String>,
    /// `zos.free=0|1`: copy-and-free on or off.
    pub free_source: Option<bool>,
    /// `zos.log=quiet|info|debug` (`rd.debug[=1]` = debug, `quiet` stays the kernel's).
    pub log_level: Option<LogLevel>,
    /// `zos.log_to=console|kmsg|both`.
    pub log_targets: Option<LogTargets>,
    /// `zos.break=STAGE[,STAGE]` / `rd.break[=STAGE]` / `break[=premount|postmount]`:
    /// a shell before these stages.
    pub break_before: Vec<Stage>,
    /// `zos.debug=0|1`, `zos.debug.src=`, `zos.debug.wait=MS`: debug-file injection.
    pub debug: DebugFlags,
    /// `zos.coldplug=native|udev|off`.
    pub coldplug: Option<ColdplugMode>,
    /// `zos.modprobe=init|kernel`: who answers the kernel's module requests.
    pub kernel_requests: Option<KernelRequests>,
    /// `zos.module_timeout=MS`: each module load's bound (`module_timeout_ms`; 0: none).
    pub module_timeout_ms: Option<u64>,
    /// `modules_load=a,b` (also `rd.modules_load=`, `modules-load=`): more modules.
    pub modules_load: Vec<String>,
    /// `module_blacklist=a,b` (also `modprobe.blacklist=`, `rd.driver.blacklist=`).
    pub module_blacklist: Vec<String>,
    /// `module.param[=value]` words (the kernel applies them to built-ins; we pass
    /// them to the modules we load).
    pub module_params: Vec<String>,
    /// Malformed or unknown flags of ours, each described once.
    pub problems: Vec<String>,
}

/// The kernel's `isspace()` (lib/ctype.c): ASCII whitespace and Latin-1 NBSP (0xA0),
/// byte by byte; Unicode spaces such as U+2003 or U+0085 do not split a word.
fn kernel_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// Split a command line into words as the kernel's `parse_args()` / `next_arg()` do
/// (lib/cmdline.c, kernel/params.c): bytes, split on `kernel_space` outside double
/// quotes; a quote opening the word and the quote ending it are dropped, as are the
/// quotes around a value (`x="a b"`); quotes inside a word stay. The kernel's string
/// ends at a NUL.
pub fn tokenize(cmdline: &str) -> Vec<String> {
    let b = cmdline.as_bytes();
    let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
    let mut words = Vec::new();
    let mut pos = 0;
    loop {
        while pos < b.len() && kernel_space(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            return words;
        }
        let (word, next) = next_arg(b, pos);
        pos = next;
        if !word.is_empty() {
            words.push(String::from_utf8_lossy(&word).into_owned());
        }
    }
}

/// One word from `start` (not a space) as `next_arg()` leaves it: `param` or
/// `param=value`, and where the next word may start.
fn next_arg(b: &[u8], start: usize) -> (Vec<u8>, usize) {
    let quoted = b[start] == b'"';
    let s = start + usize::from(quoted);
    let mut in_quote = quoted;
    let mut equals = None;
    let mut end = s;
    while end < b.len() && (in_quote || !kernel_space(b[end])) {
        // The kernel keeps `equals == 0` for an `=` at the word's first byte.
        if equals.is_none() && b[end] == b'=' && end > s {
            equals = Some(end);
        }
        if b[end] == b'"' {
            in_quote = !in_quote;
        }
        end += 1;
    }
    let last_is_quote = end > s && b[end - 1] == b'"';
    let mut tail = end;
    if quoted && last_is_quote {
        tail = end - 1;
    }
    let word = match equals {
        None => b[s..tail].to_vec(),
        Some(eq) => {
            let mut v = eq + 1;
            if v < end && b[v] == b'"' {
                v += 1;
                if last_is_quote {
                    tail = end - 1;
                }
            }
            let mut w = b[s..=eq].to_vec();
            w.extend_from_slice(&b[v..tail.max(v)]);
            w
        }
    };
    (word, (end + 1).min(b.len()))
}

/// Parse the kernel command line. Never fails: problems are collected, not raised.
pub fn parse(cmdline: &str) -> Flags {
    let mut flags = Flags::default();
    for word in tokenize(cmdline) {
        if word == "--" {
            break; // the rest is argv for init, not parameters
        }
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word.as_str(), None),
        };
        apply(&mut flags, key, value);
    }
    flags
}

fn apply(flags: &mut Flags, key: &str, value: Option<&str>) {
    let problem = match (key, value) {
        ("init", Some(v)) => set_path(&mut flags.init, v),
        ("zos.tmpfs", Some(v)) if valid_size(v) => {
            flags.tmpfs_size = Some(v.to_string());
            None
        }
        ("zos.tmpfs", Some(v)) => Some(format!("zos.tmpfs={v}: not a size (e.g. 1536M, 2G, 50%)")),
        ("zos.root", Some(v)) => match v.parse() {
            Ok(m) => {
                flags.root_mode = Some(m);
                None
            }
            Err(e) => Some(format!("zos.root={v}: {e}")),
        },
        ("root", Some(v)) => {
            flags.kernel_root = Some(v.to_string());
            None
        }
        ("zos.emergency" | "rd.emergency", Some(v)) => match v.parse() {
            Ok(a) => {
                flags.emergency = Some(a);
                None
            }
            Err(e) => Some(format!("{key}={v}: {e}")),
        },
        ("zos.copy+", Some(v)) => push_top_level(&mut flags.copy_add, key, v),
        ("zos.copy-", Some(v)) => push_paths(&mut flags.copy_exclude, key, v),
        ("zos.free", Some(v)) => match parse_bool(v) {
            Some(b) => {
                flags.free_source = Some(b);
                None
            }
            None => Some(format!("zos.free={v}: expected 0 or 1")),
        },
        ("zos.log", Some(v)) => match v.parse() {
            Ok(l) => {
                flags.log_level = Some(l);
                None
            }
            Err(e) => Some(format!("zos.log={v}: {e}")),
        },
        // dracut: `rd.debug` and `rd.debug=1` turn tracing on; `rd.debug=0` keeps the
        // config's level (it is how dracut spells "not this time").
        ("rd.debug", None) => {
            flags.log_level = Some(LogLevel::Debug);
            None
        }
        ("rd.debug", Some(v)) => match parse_bool(v) {
            Some(true) => {
                flags.log_level = Some(LogLevel::Debug);
                None
            }
            Some(false) => None,
            None => Some(format!("rd.debug={v}: expected 0 or 1")),
        },
        // dracut: `rd.shell` allows a shell when the boot fails; `rd.shell=0` forbids
        // it, and dracut then reboots. The config's allow_shell still has the last word
        // (a release image that forbids shells keeps forbidding them).
        ("rd.shell", v) => match v.map_or(Some(true), parse_bool) {
            Some(shell) => {
                flags.emergency = Some(if shell {
                    EmergencyAction::Shell
                } else {
                    EmergencyAction::Reboot
                });
                None
            }
            None => Some(format!("rd.shell={}: expected 0 or 1", v.unwrap_or_default())),
        },
        ("zos.log_to", Some(v)) => match v.parse() {
            Ok(t) => {
                flags.log_targets = Some(t);
                None
            }
            Err(e) => Some(format!("zos.log_to={v}: {e}")),
        },
        ("zos.debug", Some(v)) => match parse_bool(v) {
            Some(b) => {
                flags.debug.force = Some(b);
                None
            }
            None => Some(format!("zos.debug={v}: expected 0 or 1")),
        },
        ("zos.debug.src", Some(v)) => match Source::parse(v) {
            Some(src) => {
                flags.debug.source = Some(src);
                None
            }
            None => Some(format!(
                "zos.debug.src={v}: expected /dev/NAME or LABEL=NAME (11 chars at most)"
            )),
        },
        ("zos.debug.wait", Some(v)) => match v.parse::<u64>() {
            Ok(ms) if ms <= 60_000 => {
                flags.debug.wait = Some(std::time::Duration::from_millis(ms));
                None
            }
            _ => Some(format!("zos.debug.wait={v}: expected milliseconds (at most 60000)")),
        },
        // dracut: a bare rd.break stops at the very end, before switch_root.
        ("rd.break", None) => {
            flags.break_before.push(Stage::Switch);
            None
        }
        ("zos.break" | "rd.break", Some(v)) => push_stages(&mut flags.break_before, key, v),
        // mkinitcpio: a bare `break` (or `break=y`) is `break=premount`, before the
        // root is mounted: our copy into the new root; `postmount` is after it, right
        // before switch_root.
        ("break", None) => push_stages(&mut flags.break_before, key, "premount"),
        ("break", Some("y")) => push_stages(&mut flags.break_before, key, "premount"),
        ("break", Some(v)) => push_stages(&mut flags.break_before, key, v),
        ("zos.coldplug", Some(v)) => match v.parse() {
            Ok(c) => {
                flags.coldplug = Some(c);
                None
            }
            Err(e) => Some(format!("zos.coldplug={v}: {e}")),
        },
        ("zos.modprobe", Some(v)) => match v.parse() {
            Ok(k) => {
                flags.kernel_requests = Some(k);
                None
            }
            Err(e) => Some(format!("zos.modprobe={v}: {e}")),
        },
        ("zos.module_timeout", Some(v)) => match v.parse::<u64>() {
            Ok(ms) => {
                flags.module_timeout_ms = Some(ms);
                None
            }
            Err(_) => Some(format!("zos.module_timeout={v}: expected milliseconds (0: unbounded)")),
        },
        ("modules_load" | "modules-load" | "rd.modules_load" | "rd.modules-load", Some(v)) => {
            push_names(&mut flags.modules_load, v)
        }
        ("module_blacklist" | "modprobe.blacklist" | "rd.driver.blacklist", Some(v)) => {
            push_names(&mut flags.module_blacklist, v)
        }
        (k, _) if k.starts_with("zos.") => Some(format!("{}: unknown or malformed flag, ignored", show(key, value))),
        ("init", None) => Some("init: needs a path (init=/sbin/zinit)".to_string()),
        (k, _) if is_module_param(k) => {
            flags.module_params.push(show(key, value));
            None
        }
        _ => None, // not ours: pass through untouched
    };
    if let Some(p) = problem {
        if !flags.problems.contains(&p) {
            flags.problems.push(p);
        }
    }
}

/// `virtio_net.napi_tx`: a module name, a dot, a parameter (not our `rd.` flags).
fn is_module_param(key: &str) -> bool {
    let Some((module, param)) = key.split_once('.') else {
        return false;
    };
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    module != "rd" && word(module) && !param.is_empty()
}

fn push_names(list: &mut Vec<String>, v: &str) -> Option<String> {
    for n in v.split(',').filter(|n| !n.is_empty()) {
        let n = n.replace('-', "_");
        if !list.contains(&n) {
            list.push(n);
        }
    }
    None
}

fn show(key: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{key}={v}"),
        None => key.to_string(),
    }
}

fn set_path(slot: &mut Option<String>, v: &str) -> Option<String> {
    if v.starts_with('/') && !v.contains('\0') {
        *slot = Some(v.to_string());
        None
    } else {
        Some(format!("init={v}: must be an absolute path"))
    }
}

fn push_paths(list: &mut Vec<String>, key: &str, v: &str) -> Option<String> {
    let mut bad = Vec::new();
    for p in v.split(',').filter(|p| !p.is_empty()) {
        if p.starts_with('/') && !p.split('/').any(|c| c == "..") {
            list.push(p.to_string());
        } else {
            bad.push(p);
        }
    }
    (!bad.is_empty()).then(|| format!("{key}={v}: not absolute paths: {}", bad.join(",")))
}

/// `zos.copy+=` names top-level paths (`/opt`), as the copy list does: a deeper path
/// would fail the boot at the copy, so it is refused here, at parse time.
fn push_top_level(list: &mut Vec<String>, key: &str, v: &str) -> Option<String> {
    let mut bad = Vec::new();
    for p in v.split(',').filter(|p| !p.is_empty()) {
        let name = p.strip_prefix('/').unwrap_or("");
        if !name.is_empty() && !name.contains('/') && name != ".." && name != "." {
            list.push(p.to_string());
        } else {
            bad.push(p);
        }
    }
    (!bad.is_empty()).then(|| format!("{key}={v}: not top-level paths (/NAME): {}", bad.join(",")))
}

fn push_stages(list: &mut Vec<Stage>, key: &str, v: &str) -> Option<String> {
    let mut bad = Vec::new();
    for name in v.split(',').filter(|n| !n.is_empty()) {
        // dracut's stage names map onto ours where the meaning is the same.
        let stage = match name {
            "pre-mount" | "premount" => Some(Stage::Copy),
            "pre-pivot" | "cleanup" | "postmount" => Some(Stage::Switch),
            "pre-udev" | "pre-trigger" => Some(Stage::Hardware),
            n => Stage::parse(n),
        };
        match stage {
            Some(s) if !list.contains(&s) => list.push(s),
            Some(_) => {}
            None => bad.push(name),
        }
    }
    let names: Vec<_> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    (!bad.is_empty()).then(|| {
        format!(
            "{key}={v}: unknown stage {} (stages: {})",
            bad.join(","),
            names.join(" ")
        )
    })
}

#[cfg(test)]
#[path = "cmdline_tests.rs"]
mod tests;
