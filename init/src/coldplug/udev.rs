//! udev mode: what the shell /init did, with the image's own udevd, but bounded and
//! cleaned up. udevd runs chrooted in the new root (copy-and-free has emptied the
//! initramfs by now), so its kmod builtin reads the same /lib/modules as we would,
//! and its /run/udev database is the one zinit's udevd finds later.
//!
//! 1. start udevd (foreground, its own process group) and ping it until it answers:
//!    events triggered before it listens would be lost;
//! 2. `udevadm trigger --action=add --type=subsystems`, then `--type=devices`;
//! 3. `udevadm settle --timeout=N` (a settle timeout is logged, not fatal);
//! 4. SIGTERM to the group (udevd and its workers), SIGKILL what is left, reap.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::SysError;
use crate::sys::{Spawn, Sys};

/// Where images keep udevd (Alpine's eudev, Debian's systemd-udevd).
pub const UDEVD: [&str; 4] = [
    "/sbin/udevd",
    "/lib/systemd/systemd-udevd",
    "/usr/lib/systemd/systemd-udevd",
    "/usr/sbin/udevd",
];
pub const UDEVADM: [&str; 4] = ["/bin/udevadm", "/sbin/udevadm", "/usr/bin/udevadm", "/usr/sbin/udevadm"];

#[derive(Debug, thiserror::Error)]
pub enum UdevError {
    #[error("no udevd ({}) or udevadm in {}", UDEVD.join(", "), root.display())]
    NotFound { root: std::path::PathBuf },
    #[error("{0}")]
    Sys(#[from] SysError),
    #[error("`{cmd}` exited with status {status}")]
    Failed { cmd: String, status: i32 },
    #[error("`{cmd}` still running after {} ms: killed", ms)]
    Timeout { cmd: String, ms: u128 },
}

fn first_in(sys: &dyn Sys, root: &Path, list: &[&str]) -> Option<String> {
    list.iter()
        .find(|p| sys.look().executable_in(root, Path::new(p)).unwrap_or(false))
        .map(|p| p.to_string())
}

/// The udevd and udevadm of the image rooted at `root`.
pub fn find(sys: &dyn Sys, root: &Path) -> Option<(String, String)> {
    Some((first_in(sys, root, &UDEVD)?, first_in(sys, root, &UDEVADM)?))
}

/// Run a command in `root` to completion, killing it at `timeout`.
fn run_cmd(sys: &dyn Sys, root: &Path, env: &[String], argv: &[&str], timeout: Duration) -> Result<i32, UdevError> {
    let cmd = Spawn {
        root: root.to_path_buf(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: env.to_vec(),
        new_group: true,
        quiet: false,
        tty: None,
    };
    let pid = sys.procs().spawn_in(&cmd)?;
    match sys.procs().wait_child(pid, timeout)? {
        Some(status) => Ok(status),
        None => {
            sys.procs().kill_group(pid, crate::sys::SIGKILL)?;
            sys.procs().wait_child(pid, Duration::from_secs(1))?;
            Err(UdevError::Timeout {
                cmd: argv.join(" "),
                ms: timeout.as_millis(),
            })
        }
    }
}

fn must(status: i32, argv: &[&str]) -> Result<(), UdevError> {
    match status {
        0 => Ok(()),
        status => Err(UdevError::Failed {
            cmd: argv.join(" "),
            status,
        }),
    }
}

/// The whole udev pass; `warn` gets the non-fatal problems (settle timeout).
pub fn run(
    sys: &dyn Sys,
    root: &Path,
    env: &[String],
    timeout: Duration,
    warn: &mut dyn FnMut(&str),
) -> Result<(), UdevError> {
    let (udevd, udevadm) = find(sys, root).ok_or_else(|| UdevError::NotFound { root: root.into() })?;
    // systemd's udevadm refuses to act in a chroot ("Running in chroot, ignoring
    // request") unless told this one is meant.
    let mut env = env.to_vec();
    env.push("SYSTEMD_IGNORE_CHROOT=1".into());
    let env = env.as_slice();
    let daemon = Spawn {
        root: root.to_path_buf(),
        argv: vec![udevd],
        env: env.to_vec(),
        new_group: true,
        quiet: true,
        tty: None,
    };
    let pid = sys.procs().spawn_in(&daemon)?;
    let result = drive(sys, root, env, &udevadm, timeout, warn);
    stop(sys, pid)?;
    result
}

fn drive(
    sys: &dyn Sys,
    root: &Path,
    env: &[String],
    udevadm: &str,
    timeout: Duration,
    warn: &mut dyn FnMut(&str),
) -> Result<(), UdevError> {
    let t0 = Instant::now();
    let step = Duration::from_secs(2).min(timeout);
    let ping = [udevadm, "control", "--ping", "--timeout=1"];
    loop {
        // Fails at once while udevd has no control socket yet.
        if run_cmd(sys, root, env, &ping, step)? == 0 {
            break;
        }
        if t0.elapsed() >= timeout {
            return Err(UdevError::Timeout {
                cmd: ping.join(" "),
                ms: timeout.as_millis(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // A trigger writes one uevent file per device and waits for nothing, but on a
    // loaded TCG machine with many devices it took over 2 s: it gets the whole bound.
    for kind in ["--type=subsystems", "--type=devices"] {
        let argv = [udevadm, "trigger", "--action=add", kind];
        must(run_cmd(sys, root, env, &argv, timeout)?, &argv)?;
    }
    let left = timeout.saturating_sub(t0.elapsed()).max(Duration::from_secs(1));
    let secs = format!("--timeout={}", left.as_secs().max(1));
    let settle = [udevadm, "settle", secs.as_str()];
    let status = run_cmd(sys, root, env, &settle, left + Duration::from_secs(1))?;
    if status != 0 {
        warn(&format!(
            "`{}` exited with {status}: some events were still queued; going on",
            settle.join(" ")
        ));
    }
    Ok(())
}

/// udevd and its workers share its process group: TERM it, wait, KILL the rest.
fn stop(sys: &dyn Sys, pid: u32) -> Result<(), UdevError> {
    sys.procs().kill_group(pid, crate::sys::SIGTERM)?;
    if sys.procs().wait_child(pid, Duration::from_secs(2))?.is_none() {
        sys.procs().kill_group(pid, crate::sys::SIGKILL)?;
        sys.procs().wait_child(pid, Duration::from_secs(1))?;
    }
    // Workers that outlived udevd were reparented to us: kill and reap them.
    sys.procs().kill_group(pid, crate::sys::SIGKILL)?;
    sys.procs().reap();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;
    use std::path::PathBuf;

    #[test]
    fn the_shell_sequence_then_a_clean_stop() {
        let sys = RecordSys {
            executables: vec![
                PathBuf::from("/mnt/root/lib/systemd/systemd-udevd"),
                PathBuf::from("/mnt/root/bin/udevadm"),
            ],
            ..Default::default()
        };
        let mut warns = Vec::new();
        run(&sys, Path::new("/mnt/root"), &[], Duration::from_secs(5), &mut |w| {
            warns.push(w.to_string())
        })
        .unwrap();
        let calls: Vec<String> = sys.calls().into_iter().filter(|c| !c.starts_with("test -x")).collect();
        let want = [
            "chroot /mnt/root /lib/systemd/systemd-udevd & (new group)",
            "chroot /mnt/root /bin/udevadm control --ping --timeout=1 & (new group)",
            "wait 105 (up to 2000 ms)",
            "chroot /mnt/root /bin/udevadm trigger --action=add --type=subsystems & (new group)",
            "wait 107 (up to 5000 ms)",
            "chroot /mnt/root /bin/udevadm trigger --action=add --type=devices & (new group)",
            "wait 109 (up to 5000 ms)",
        ];
        assert_eq!(&calls[..7], want, "{calls:#?}");
        assert!(calls[7].starts_with("chroot /mnt/root /bin/udevadm settle --timeout="));
        let n = calls.len();
        // udevd's pid: after three `test -x` and its own spawn line.
        assert_eq!(calls[n - 3], format!("kill -{} -104", crate::sys::SIGTERM));
        assert!(calls[n - 1].starts_with("kill -9 -"), "{calls:#?}");
        assert!(warns.is_empty());
    }

    #[test]
    fn no_udevd_is_a_clear_error() {
        let sys = RecordSys::default();
        let e = run(&sys, Path::new("/mnt/root"), &[], Duration::from_secs(1), &mut |_| {}).unwrap_err();
        assert!(e.to_string().starts_with("no udevd (/sbin/udevd"), "{e}");
    }
}
