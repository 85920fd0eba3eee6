//! The emergency path: every failure ends here, never in a kernel panic. It says what
//! failed (stage, step, path, errno) and what happens next, then runs the configured
//! action: a shell on the console (when allowed and present), reboot, or poweroff.

use std::path::{Path, PathBuf};
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
    /// Where the shell is looked for once the initramfs copy of it was freed.
    pub new_root: String,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Settings {
        Settings {
            action: cfg.emergency,
            allow_shell: cfg.allow_shell,
            shell: cfg.shell.clone(),
            env: handover_env(crate::config::HANDOVER_PATH),
            new_root: cfg.new_root.clone(),
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

/// The root a shell can run in: the current one while it has the shell, else the new
/// root (copy-and-free has emptied the initramfs by then; the new root has proc, sys
/// and dev mounted once the newroot stage ran). None: no shell anywhere.
pub fn shell_root(sys: &dyn Sys, shell: &str, new_root: &str) -> Option<PathBuf> {
    let found = |root: &str| {
        sys.look()
            .executable_in(Path::new(root), Path::new(shell))
            .unwrap_or(false)
    };
    if found("/") {
        Some(PathBuf::from("/"))
    } else if new_root != "/" && found(new_root) {
        Some(PathBuf::from(new_root))
    } else {
        None
    }
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
    let shell_at = if s.allow_shell {
        shell_root(sys, &s.shell, &s.new_root)
    } else {
        None
    };
    let action = match s.action {
        EmergencyAction::Shell if shell_at.is_none() => {
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
    report(sys, what);
    match action {
        EmergencyAction::Shell => {
            let root = shell_at.unwrap_or_else(|| PathBuf::from("/"));
            let place = if root == Path::new("/") {
                String::new()
            } else {
                format!(" (in {})", root.display())
            };
            log::error(&format!(
                "emergency: next: {}{place} on /dev/console; the machine reboots when it exits",
                s.shell
            ));
            let status = crate::shell::run_shell(sys, Path::new(&s.shell), &root, Path::new("/dev/console"), &s.env);
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

/// Where the emergency report file goes: the new root once its tmpfs is mounted,
/// `/` once switch_root made it the root. None before that (console only).
static REPORT_ROOT: Mutex<Option<String>> = Mutex::new(None);

pub fn set_report_root(root: Option<&str>) {
    if let Ok(mut g) = REPORT_ROOT.lock() {
        *g = root.map(String::from);
    }
}

/// Lines of the init's own log shown as "what ran".
const RAN_LINES: usize = 25;
/// Lines of the kernel log shown.
const DMESG_LINES: usize = 30;

/// What an operator asks for first: what ran, what failed, the kernel's last words,
/// mounts and memory. On the console, and in <root>/run/zos-init/emergency.txt.
fn report(sys: &dyn Sys, what: &str) {
    let mut text = vec![format!("failed: {what}")];
    let ran = log::lines();
    text.push(format!("what ran (last {RAN_LINES} of {} init log lines):", ran.len()));
    text.extend(
        ran.iter()
            .skip(ran.len().saturating_sub(RAN_LINES))
            .map(|l| format!("  {l}")),
    );
    match crate::shell::dmesg(sys) {
        Ok(d) => {
            let lines: Vec<&str> = d.lines().collect();
            text.push(format!("dmesg (last {DMESG_LINES} lines):"));
            text.extend(
                lines
                    .iter()
                    .skip(lines.len().saturating_sub(DMESG_LINES))
                    .map(|l| format!("  {l}")),
            );
        }
        Err(e) => text.push(format!("dmesg: {e}")),
    }
    let root = REPORT_ROOT.lock().ok().and_then(|g| g.clone());
    match read_proc(sys, "mounts", root.as_deref()) {
        Ok(mounts) => {
            text.push("mounts:".into());
            text.extend(mounts.lines().map(|m| format!("  {m}")));
        }
        Err(e) => text.push(format!("mounts: {e}")),
    }
    match read_proc(sys, "meminfo", root.as_deref()) {
        Ok(m) => {
            let get = |k| fit::meminfo_field(&m, k).map(fit::mib).unwrap_or_else(|| "?".into());
            text.push(format!(
                "memory: total {}, available {}, shmem {}",
                get("MemTotal"),
                get("MemAvailable"),
                get("Shmem")
            ));
        }
        Err(e) => text.push(format!("memory: {e}")),
    }
    // The console already shows the init's log and the kernel's: it gets the rest.
    let mut section = "";
    for l in &text {
        if !l.starts_with("  ") {
            section = l.as_str();
        }
        if !section.starts_with("what ran") && !section.starts_with("dmesg") {
            log::error(&format!("emergency: {l}"));
        }
    }
    if let Some(root) = root {
        let path = Path::new(&root).join(EMERGENCY_TXT.trim_start_matches('/'));
        let mut body = text.join("\n");
        body.push('\n');
        match sys.write(&path, body.as_bytes(), crate::sys::Write::Create) {
            Ok(()) => log::error(&format!("emergency: report written to {}", path.display())),
            Err(e) => log::error(&format!("emergency: report: {e}")),
        }
    }
}

/// /proc/<name>, or the new root's copy once the initramfs /proc is unmounted.
fn read_proc(sys: &dyn Sys, name: &str, root: Option<&str>) -> Result<String, crate::error::SysError> {
    let first = sys.read_to_string(&Path::new("/proc").join(name));
    match (first, root) {
        (Err(_), Some(root)) => sys.read_to_string(&Path::new(root).join("proc").join(name)),
        (r, _) => r,
    }
}

/// The report file, inside the root it is written to.
pub const EMERGENCY_TXT: &str = "/run/zos-init/emergency.txt";

/// PID 1 never returns: handle, then wait forever, reaping orphans.
/// The emergency path for a failed boot: the typed error names the stage, the step
/// and the cause (op, path, errno).
pub fn boot_failed(sys: &dyn Sys, error: &crate::error::InitError) -> ! {
    halt(sys, &error.to_string())
}

pub fn halt(sys: &dyn Sys, what: &str) -> ! {
    let s = current();
    handle(sys, &s, what, Duration::from_secs(5));
    loop {
        sys.procs().reap();
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
            new_root: "/mnt/root".into(),
        }
    }

    #[test]
    fn the_shell_runs_in_the_new_root_once_the_initramfs_copy_is_freed() {
        let sys = RecordSys {
            executables: vec!["/mnt/root/bin/sh".into()],
            ..Default::default()
        };
        let done = handle(&sys, &settings(EmergencyAction::Shell, true), "x", Duration::ZERO);
        assert_eq!(done, Done::ShellThenReboot(0));
        assert!(
            sys.calls()
                .contains(&"chroot /mnt/root /bin/sh <>/dev/console".to_string()),
            "{:?}",
            sys.calls()
        );
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
    fn the_report_lands_in_the_root_with_what_failed_and_the_kernel_log() {
        set_report_root(Some("/mnt/root"));
        let sys = RecordSys::default();
        handle(
            &sys,
            &settings(EmergencyAction::Poweroff, true),
            "stage copy: boom",
            Duration::ZERO,
        );
        let written = sys.written.borrow();
        // Other tests move the root concurrently ("/" after their switch): the name
        // under it is what matters.
        let (path, body) = written
            .iter()
            .find(|(p, _)| p.ends_with("run/zos-init/emergency.txt"))
            .expect("report file");
        let body = String::from_utf8_lossy(body);
        assert!(path.is_absolute());
        assert!(body.starts_with("failed: stage copy: boom\n"), "{body}");
        assert!(
            body.contains("dmesg (last 30 lines):\n  <6>[    1.0] kernel says hi"),
            "{body}"
        );
        assert!(
            body.contains("memory: total 1953.1 MiB, available 1855.5 MiB"),
            "{body}"
        );
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
        sys.fail_on("reboot", "-", crate::sys::Errno::PERM);
        assert_eq!(
            handle(&sys, &settings(EmergencyAction::Poweroff, true), "x", Duration::ZERO),
            Done::Stuck
        );
    }
}
