//! The emergency path: every failure ends here, never in a kernel panic. It says what
//! failed (stage, step, path, errno) and what happens next, then runs the configured
//! action: a shell on the console (when allowed and present), reboot, or poweroff.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::{Config, EmergencyAction};
use crate::fit;
use crate::log;
use crate::sys::{Power, Sys};

/// The part of the config the emergency path needs; kept in a global so the panic
/// hook, which has no other way in, uses the operator's choice too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub action: EmergencyAction,
    pub allow_shell: bool,
    pub shell: String,
    pub env: Vec<String>,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Settings {
        Settings {
            action: cfg.emergency,
            allow_shell: cfg.allow_shell,
            shell: cfg.shell.clone(),
            env: handover_env(crate::config::HANDOVER_PATH),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_config(&Config::default())
    }
}

static SETTINGS: Mutex<Option<Settings>> = Mutex::new(None);

pub fn set(s: Settings) {
    if let Ok(mut g) = SETTINGS.lock() {
        *g = Some(s);
    }
}

pub fn current() -> Settings {
    SETTINGS.lock().ok().and_then(|g| g.clone()).unwrap_or_default()
}

/// The environment the kernel gave us, with PATH set as the shell /init exported it.
pub fn handover_env(path: &str) -> Vec<String> {
    let mut env: Vec<String> = std::env::vars_os()
        .filter(|(k, _)| k != "PATH")
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    env.push(format!("PATH={path}"));
    env
}

/// What the emergency path did (for tests; on a real boot it never returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    ShellThenReboot(i32),
    Rebooted,
    PoweredOff,
    /// reboot(2) itself failed: nothing left but to wait.
    Stuck,
}

/// Report, then act. `delay` is the pause before an automatic reboot.
pub fn handle(sys: &dyn Sys, s: &Settings, what: &str, delay: Duration) -> Done {
    log::error(&format!("EMERGENCY: {what}"));
    let shell_ok = s.allow_shell && sys.executable_in(Path::new("/"), Path::new(&s.shell)).unwrap_or(false);
    let action = match s.action {
        EmergencyAction::Shell if !shell_ok => {
            let why = if s.allow_shell {
                "is not in this image"
            } else {
                "is not allowed by this image"
            };
            log::error(&format!("emergency: the shell {} {why}", s.shell));
            EmergencyAction::Reboot
        }
        a => a,
    };
    report(sys);
    match action {
        EmergencyAction::Shell => {
            log::error(&format!(
                "emergency: next: {} on /dev/console; the machine reboots when it exits",
                s.shell
            ));
            let status = sys.run_shell(Path::new(&s.shell), Path::new("/dev/console"), &s.env);
            let status = match status {
                Ok(st) => st,
                Err(e) => {
                    log::error(&format!("emergency: {e}"));
                    -1
                }
            };
            log::error(&format!("emergency: shell exited ({status}): rebooting"));
            power(sys, Power::Reboot, Done::ShellThenReboot(status))
        }
        EmergencyAction::Reboot => {
            log::error(&format!("emergency: next: reboot in {} s", delay.as_secs()));
            std::thread::sleep(delay);
            power(sys, Power::Reboot, Done::Rebooted)
        }
        EmergencyAction::Poweroff => {
            log::error("emergency: next: power off");
            power(sys, Power::Off, Done::PoweredOff)
        }
    }
}

fn power(sys: &dyn Sys, p: Power, done: Done) -> Done {
    match sys.power(p) {
        Ok(()) => done,
        Err(e) => {
            log::error(&format!("emergency: {e}; halting here"));
            Done::Stuck
        }
    }
}

/// Memory and mounts at the moment of failure: what an operator asks for first.
fn report(sys: &dyn Sys) {
    if let Ok(m) = sys.read_to_string(Path::new("/proc/meminfo")) {
        let get = |k| fit::meminfo_field(&m, k).map(fit::mib).unwrap_or_else(|| "?".into());
        log::error(&format!(
            "emergency: memory: total {}, available {}, shmem {}",
            get("MemTotal"),
            get("MemAvailable"),
            get("Shmem")
        ));
    }
    if let Ok(mounts) = sys.read_to_string(Path::new("/proc/mounts")) {
        for m in mounts.lines() {
            log::error(&format!("emergency: mount: {m}"));
        }
    }
}

/// PID 1 never returns: handle, then wait forever, reaping orphans.
pub fn halt(sys: &dyn Sys, what: &str) -> ! {
    let s = current();
    handle(sys, &s, what, Duration::from_secs(5));
    loop {
        sys.reap();
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;

    fn settings(action: EmergencyAction, allow_shell: bool) -> Settings {
        Settings {
            action,
            allow_shell,
            shell: "/bin/sh".into(),
            env: vec!["PATH=/bin".into()],
        }
    }

    fn last(sys: &RecordSys) -> String {
        sys.calls().last().cloned().unwrap_or_default()
    }

    #[test]
    fn shell_then_reboot() {
        let sys = RecordSys::default();
        let done = handle(&sys, &settings(EmergencyAction::Shell, true), "boom", Duration::ZERO);
        assert_eq!(done, Done::ShellThenReboot(0));
        let calls = sys.calls();
        assert!(calls.contains(&"/bin/sh <>/dev/console".to_string()), "{calls:?}");
        assert_eq!(last(&sys), "Reboot");
    }

    #[test]
    fn no_shell_in_image_or_not_allowed_means_reboot() {
        let sys = RecordSys {
            executables: vec![],
            ..Default::default()
        };
        assert_eq!(
            handle(&sys, &settings(EmergencyAction::Shell, true), "x", Duration::ZERO),
            Done::Rebooted
        );
        let sys = RecordSys::default();
        assert_eq!(
            handle(&sys, &settings(EmergencyAction::Shell, false), "x", Duration::ZERO),
            Done::Rebooted
        );
        assert!(!sys.calls().iter().any(|c| c.starts_with("/bin/sh")));
    }

    #[test]
    fn poweroff_and_stuck() {
        let sys = RecordSys::default();
        assert_eq!(
            handle(&sys, &settings(EmergencyAction::Poweroff, true), "x", Duration::ZERO),
            Done::PoweredOff
        );
        assert_eq!(last(&sys), "Off");
        let sys = RecordSys::default();
        sys.fail_on("reboot", "-", rustix::io::Errno::PERM);
        assert_eq!(
            handle(&sys, &settings(EmergencyAction::Poweroff, true), "x", Duration::ZERO),
            Done::Stuck
        );
    }
}
