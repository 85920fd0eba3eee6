//! The init's configuration: defaults that reproduce the shell /init exactly, overridden
//! by `/etc/zos-init.conf` in the image (written by the builder), then by the kernel
//! command line ([`crate::cmdline::Flags`]).
//!
//! The file is `key = value` lines, `#` comments; lists are space-separated. It is kept
//! this simple on purpose: parsing it needs no dependency in a binary that must stay
//! under 1 MB, and the builder renders the same type with [`Config::render`].

use crate::cmdline::Flags;
pub use crate::kernel_requests::KernelRequests;
pub use crate::root_mode::RootMode;
use values::{absolute, millis};
pub use values::{parse_bool, valid_size, ColdplugMode, EmergencyAction, LogLevel, LogTargets};

/// The value types and value checks of the config's keys.
#[path = "config_values.rs"]
mod values;

/// Where the builder puts the config file in the image.
pub const CONFIG_PATH: &str = "/etc/zos-init.conf";

/// The PATH every process after the init inherits (zinit units use bare names).
pub const HANDOVER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything the plan is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Mount point of the new root's tmpfs.
    pub new_root: String,
    /// `size=` of that tmpfs.
    pub tmpfs_size: String,
    /// Copy into a new tmpfs, bind the kernel's tmpfs rootfs, or pick (`root_mode`).
    pub root_mode: RootMode,
    /// The cmdline's `root=`, if any (never from the file): with it the kernel's
    /// rootfs is not the tmpfs a bind needs, so `auto` copies.
    pub kernel_root: Option<String>,
    /// Top-level paths copied into the new root (`*` globs the last component).
    pub copy: Vec<String>,
    /// Paths never copied (besides /init, /init-debug and the mount points).
    pub exclude: Vec<String>,
    /// Remove each source file once copied, so peak RAM holds one copy, not two.
    pub free_source: bool,
    /// The program exec'd after switch_root, and its argv (argv[0] included).
    pub handover: String,
    pub handover_args: Vec<String>,
    pub emergency: EmergencyAction,
    /// Allow the emergency/break shell at all (a release image may forbid it).
    pub allow_shell: bool,
    pub shell: String,
    pub log_level: LogLevel,
    pub log_targets: LogTargets,
    /// Hardware stage: native, udev or off.
    pub coldplug: ColdplugMode,
    /// Bound on coldplug (native rounds, or udev trigger + settle), in ms.
    pub coldplug_timeout_ms: u64,
    /// Native coldplug stops after this long without a new uevent, in ms.
    pub coldplug_quiet_ms: u64,
    /// Bound on each module load the init makes, in ms (0: unbounded). A module still
    /// in its init then is left to the kernel and the boot goes on (docs/MODULES.md).
    pub module_timeout_ms: u64,
    /// Who answers the kernel's module requests until switch_root.
    pub kernel_requests: KernelRequests,
    /// The essential tier: loaded at every boot (the shell's `modprobe btrfs fuse`).
    pub essential_modules: Vec<String>,
    /// Extra modules to load (`modules_load=` on the cmdline adds to these).
    pub modules_load: Vec<String>,
    /// Never loaded, not even as a dependency (`module_blacklist=`).
    pub module_blacklist: Vec<String>,
    /// `module.param=value` for the modules the init loads (the cmdline's words).
    pub module_params: Vec<String>,
    /// Inject debug files (docs/INIT.md) even without /init-debug: a debug build.
    pub debug_inject: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            new_root: "/mnt/root".into(),
            tmpfs_size: "1536M".into(),
            root_mode: RootMode::Auto,
            kernel_root: None,
            copy: [
                "/bin", "/etc", "/lib*", "/usr", "/root", "/tmp", "/sbin", "/var", "/run",
            ]
            .map(String::from)
            .to_vec(),
            exclude: Vec::new(),
            free_source: true,
            handover: "/sbin/zinit".into(),
            handover_args: vec!["init".into()],
            emergency: EmergencyAction::Shell,
            allow_shell: true,
            shell: "/bin/sh".into(),
            log_level: LogLevel::Info,
            log_targets: LogTargets {
                console: true,
                kmsg: true,
            },
            coldplug: ColdplugMode::Native,
            coldplug_timeout_ms: 10_000,
            coldplug_quiet_ms: 100,
            module_timeout_ms: 30_000,
            kernel_requests: KernelRequests::Init,
            essential_modules: vec!["btrfs".into(), "fuse".into()],
            modules_load: Vec::new(),
            module_blacklist: Vec::new(),
            module_params: Vec::new(),
            debug_inject: false,
        }
    }
}

/// A line of the config file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {why}")]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub why: String,
}

impl Config {
    /// Parse a config file over the defaults. Errors name the line; the caller decides
    /// whether a bad line is fatal (the init logs it and keeps the default).
    pub fn parse(text: &str, path: &str) -> (Config, Vec<ConfigError>) {
        let mut cfg = Config::default();
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |why: String| ConfigError {
                path: path.to_string(),
                line: i + 1,
                why,
            };
            let Some((key, value)) = line.split_once('=') else {
                errors.push(err(format!("expected `key = value`, got `{line}`")));
                continue;
            };
            if let Err(why) = cfg.set(key.trim(), value.trim()) {
                errors.push(err(why));
            }
        }
        (cfg, errors)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let list = || value.split_whitespace().map(String::from).collect::<Vec<_>>();
        let bool_of = || parse_bool(value).ok_or_else(|| format!("{key}: expected yes or no, got `{value}`"));
        match key {
            "new_root" => self.new_root = absolute(key, value)?,
            "tmpfs_size" if valid_size(value) => self.tmpfs_size = value.into(),
            "tmpfs_size" => return Err(format!("tmpfs_size: `{value}` is not a size (1536M, 2G, 50%)")),
            "root_mode" => self.root_mode = value.parse().map_err(|e| format!("root_mode: {e}"))?,
            "copy" => self.copy = list(),
            "exclude" => self.exclude = list(),
            "free_source" => self.free_source = bool_of()?,
            "handover" => self.handover = absolute(key, value)?,
            "handover_args" => self.handover_args = list(),
            "emergency" => self.emergency = value.parse().map_err(|e| format!("emergency: {e}"))?,
            "allow_shell" => self.allow_shell = bool_of()?,
            "shell" => self.shell = absolute(key, value)?,
            "log_level" => self.log_level = value.parse().map_err(|e| format!("log_level: {e}"))?,
            "debug_inject" => self.debug_inject = bool_of()?,
            "coldplug" => self.coldplug = value.parse().map_err(|e| format!("coldplug: {e}"))?,
            "coldplug_timeout_ms" => self.coldplug_timeout_ms = millis(key, value)?,
            "coldplug_quiet_ms" => self.coldplug_quiet_ms = millis(key, value)?,
            "module_timeout_ms" => self.module_timeout_ms = millis(key, value)?,
            "kernel_requests" => self.kernel_requests = value.parse().map_err(|e| format!("kernel_requests: {e}"))?,
            "essential_modules" => self.essential_modules = list(),
            "modules_load" => self.modules_load = list(),
            "module_blacklist" => self.module_blacklist = list(),
            "module_params" => self.module_params = list(),
            "log_to" => self.log_targets = value.parse().map_err(|e| format!("log_to: {e}"))?,
            _ => return Err(format!("unknown key `{key}`")),
        }
        Ok(())
    }

    /// The file the builder writes; `parse(render())` gives the same config back.
    pub fn render(&self) -> String {
        self.render_core() + &self.render_hardware()
    }

    /// The hardware-stage keys (docs/MODULES.md).
    fn render_hardware(&self) -> String {
        format!(
            "coldplug = {}\ncoldplug_timeout_ms = {}\ncoldplug_quiet_ms = {}\nmodule_timeout_ms = {}\nkernel_requests = {}\nessential_modules = {}\n\
             modules_load = {}\nmodule_blacklist = {}\nmodule_params = {}\n",
            self.coldplug,
            self.coldplug_timeout_ms,
            self.coldplug_quiet_ms,
            self.module_timeout_ms,
            self.kernel_requests,
            self.essential_modules.join(" "),
            self.modules_load.join(" "),
            self.module_blacklist.join(" "),
            self.module_params.join(" "),
        )
    }

    fn render_core(&self) -> String {
        let targets = match (self.log_targets.console, self.log_targets.kmsg) {
            (true, false) => "console",
            (false, true) => "kmsg",
            _ => "both",
        };
        let level = match self.log_level {
            LogLevel::Quiet => "quiet",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        };
        let yn = |b: bool| if b { "yes" } else { "no" };
        format!(
            "# zos-init configuration (docs/INIT.md). The kernel cmdline overrides it.\n\
             new_root = {}\ntmpfs_size = {}\nroot_mode = {}\ncopy = {}\nexclude = {}\nfree_source = {}\n\
             handover = {}\nhandover_args = {}\nemergency = {}\nallow_shell = {}\nshell = {}\n\
             log_level = {}\nlog_to = {}\ndebug_inject = {}\n",
            self.new_root,
            self.tmpfs_size,
            self.root_mode,
            self.copy.join(" "),
            self.exclude.join(" "),
            yn(self.free_source),
            self.handover,
            self.handover_args.join(" "),
            self.emergency,
            yn(self.allow_shell),
            self.shell,
            level,
            targets,
            yn(self.debug_inject),
        )
    }

    /// The config with the kernel command line applied on top.
    pub fn with_flags(mut self, flags: &Flags) -> Config {
        if let Some(init) = &flags.init {
            self.handover = init.clone();
        }
        if let Some(size) = &flags.tmpfs_size {
            self.tmpfs_size = size.clone();
        }
        if let Some(m) = flags.root_mode {
            self.root_mode = m;
        }
        if let Some(r) = &flags.kernel_root {
            self.kernel_root = Some(r.clone());
        }
        if let Some(a) = flags.emergency {
            self.emergency = a;
        }
        if let Some(f) = flags.free_source {
            self.free_source = f;
        }
        if let Some(l) = flags.log_level {
            self.log_level = l;
        }
        if let Some(t) = flags.log_targets {
            self.log_targets = t;
        }
        for p in &flags.copy_add {
            if !self.copy.contains(p) {
                self.copy.push(p.clone());
            }
        }
        self.exclude.extend(flags.copy_exclude.iter().cloned());
        if let Some(c) = flags.coldplug {
            self.coldplug = c;
        }
        if let Some(k) = flags.kernel_requests {
            self.kernel_requests = k;
        }
        if let Some(ms) = flags.module_timeout_ms {
            self.module_timeout_ms = ms;
        }
        self.modules_load.extend(flags.modules_load.iter().cloned());
        self.module_blacklist.extend(flags.module_blacklist.iter().cloned());
        self.module_params.extend(flags.module_params.iter().cloned());
        self
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
