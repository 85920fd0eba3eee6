//! switch_root: hand the machine from the initramfs to the new root.
//!
//! The initramfs root is rootfs, which can be neither pivot_root'ed nor unmounted, so
//! this is busybox/u-root/booster's dance: check, free the old root's files, move the
//! new root onto `/`, chroot, exec. Every check runs before anything is deleted, so a
//! refusal leaves a whole system for the emergency shell.

use std::path::Path;

use crate::error::StepError;
use crate::log::{self, Level};
use crate::stage::Stage;
use crate::sys::{MountChange, Sys};

/// statfs magics of the filesystems an initramfs root can be.
pub const RAMFS_MAGIC: u64 = 0x8584_58f6;
pub const TMPFS_MAGIC: u64 = 0x0102_1994;

/// What to exec after the switch.
pub struct Handover<'a> {
    pub new_root: &'a str,
    pub target: &'a str,
    pub argv: &'a [String],
    pub env: &'a [String],
    /// Bind mode: the new root is a bind of `/`: nothing to free, and the bind's own
    /// mount point is left in it, to be removed after the chroot.
    pub bound: bool,
}

/// Check everything, then switch. Returns only if exec failed (or on a recorder).
/// `last_words` runs right before execve, for the closing log line.
pub fn switch_root(sys: &dyn Sys, h: &Handover<'_>, last_words: &mut dyn FnMut()) -> Result<(), StepError> {
    let new_root = Path::new(h.new_root);
    let pid = sys.procs().pid();
    if pid != 1 {
        return Err(StepError::Refused(format!("not PID 1 (pid {pid})")));
    }
    let magic = sys.statfs(Path::new("/"))?.magic;
    if magic != RAMFS_MAGIC && magic != TMPFS_MAGIC {
        return Err(StepError::Refused(format!(
            "/ is not a ramfs or tmpfs (statfs magic {magic:#x}): not deleting it"
        )));
    }
    if !h.bound && sys.look().lstat(Path::new("/"))?.dev == sys.look().lstat(new_root)?.dev {
        return Err(StepError::Refused(format!("{} is not a separate mount", h.new_root)));
    }
    if !sys.look().executable_in(new_root, Path::new(h.target))? {
        return Err(StepError::Target {
            path: h.target.into(),
            why: "is missing or not executable",
        });
    }

    // Private first: the moves and the detach below must not propagate anywhere.
    sys.mount_change(&MountChange::MakeRprivate("/".into()))?;
    // The initramfs devtmpfs: stdio still points into it, which a lazy detach allows.
    if let Err(e) = sys.umount(Path::new("/dev"), true) {
        log::stage(
            Level::Warn,
            Stage::Switch,
            &format!("{e}; the old /dev stays mounted under the new root"),
        );
    }
    sys.chdir(new_root)?;
    if h.bound {
        log::stage(
            Level::Info,
            Stage::Switch,
            "bind mode: the old root is the new one, nothing to free",
        );
    } else {
        let cleared = crate::reclaim::clear_tree(sys, Path::new("/"))?;
        log::stage(
            Level::Info,
            Stage::Switch,
            &format!(
                "freed the old root: {} entries, {}",
                cleared.entries,
                crate::fit::mib(cleared.bytes)
            ),
        );
        // What could not be removed only costs RAM until reboot: say what, and go on.
        for f in cleared.failed.iter().take(20) {
            log::stage(
                Level::Warn,
                Stage::Switch,
                &format!("old root: {f}; left in RAM, the switch goes on"),
            );
        }
        if cleared.failed.len() > 20 {
            log::stage(
                Level::Warn,
                Stage::Switch,
                &format!("old root: {} more entries left in RAM", cleared.failed.len() - 20),
            );
        }
    }
    sys.mount_change(&MountChange::Move {
        src: ".".into(),
        dst: "/".into(),
    })?;
    sys.chroot(Path::new("."))?;
    sys.chdir(Path::new("/"))?;
    if h.bound {
        empty_bind_mount_point(sys, h.new_root);
        // Kept until now to answer the kernel's module requests; the copy never carries it.
        match crate::reclaim::remove_path(sys, Path::new(crate::modprobe::SELF)) {
            Err(e) if e.errno != crate::sys::Errno::NOENT => {
                log::stage(Level::Warn, Stage::Switch, &format!("{e}; /init stays in the new root"))
            }
            _ => {}
        }
    }
    if let Err(e) = sys.procs().reopen_stdio(Path::new("/dev/console")) {
        log::stage(
            Level::Warn,
            Stage::Switch,
            &format!("{e}; {} keeps the initramfs console", h.target),
        );
    }
    // Rust's std ignores SIGPIPE, and execve keeps ignored signals and the mask.
    sys.procs().reset_signals()?;
    last_words();
    sys.procs().exec(Path::new(h.target), h.argv, h.env)?;
    Ok(())
}

/// After a bind-mode switch the new root still holds the bind's mount point
/// (/mnt/root) and what else was under its parent: remove the empty directories, so
/// /mnt is as empty as the copy leaves it. Only a warning when one stays.
fn empty_bind_mount_point(sys: &dyn Sys, new_root: &str) {
    let Some((parent, _)) = new_root.trim_end_matches('/').rsplit_once('/') else {
        return;
    };
    if parent.is_empty() {
        return; // a top-level new root: its directory is the new root's own entry
    }
    let names = sys.look().list_names(Path::new(parent)).unwrap_or_default();
    for name in names {
        let p = format!("{parent}/{}", name.to_string_lossy());
        if let Err(e) = crate::reclaim::remove_path(sys, Path::new(&p)) {
            log::stage(Level::Warn, Stage::Switch, &format!("{e}; {p} stays in the new root"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;
    use crate::sys::Errno;

    fn handover<'a>(argv: &'a [String], env: &'a [String]) -> Handover<'a> {
        Handover {
            new_root: "/mnt/root",
            target: "/sbin/zinit",
            argv,
            env,
            bound: false,
        }
    }

    fn args() -> (Vec<String>, Vec<String>) {
        (
            vec!["/sbin/zinit".into(), "init".into()],
            vec!["HOME=/".into(), "PATH=/bin".into()],
        )
    }

    #[test]
    fn the_whole_sequence_in_order() {
        let sys = RecordSys::default();
        let (argv, env) = args();
        let mut said = false;
        switch_root(&sys, &handover(&argv, &env), &mut || said = true).unwrap();
        assert!(said);
        assert_eq!(
            sys.calls(),
            vec![
                "statfs /",
                "stat /",
                "stat /mnt/root",
                "test -x /mnt/root/sbin/zinit",
                "mount --make-rprivate /",
                "umount -l /dev",
                "cd /mnt/root",
                // The old root, on its own device only: /dev, /mnt (the new root),
                // /proc and /sys are other filesystems and stay.
                "stat /",
                "ls /",
                "stat /bin",
                "rm /bin",
                "stat /dev",
                "stat /etc",
                "rm /etc",
                "stat /init",
                "rm /init",
                "stat /lib",
                "rm /lib",
                "stat /mnt",
                "stat /proc",
                "stat /sys",
                "stat /usr",
                "rm /usr",
                "mount --move . /",
                "chroot .",
                "cd /",
                "exec <>/dev/console 1>&0 2>&0",
                "reset signals",
                r#"exec /sbin/zinit argv=["/sbin/zinit", "init"] env=["HOME=/", "PATH=/bin"]"#,
            ]
        );
    }

    #[test]
    fn bind_mode_frees_nothing_and_empties_the_mount_points_parent() {
        let sys = RecordSys::default();
        sys.tree.borrow_mut().dir("/", 1).dir("/mnt", 1).dir("/mnt/root", 1);
        let (argv, env) = args();
        let h = Handover {
            bound: true,
            ..handover(&argv, &env)
        };
        switch_root(&sys, &h, &mut || {}).unwrap();
        let calls = sys.calls();
        let chroot = calls.iter().position(|c| c == "chroot .").unwrap();
        assert!(
            !calls[..chroot]
                .iter()
                .any(|c| c.starts_with("rm") || c.starts_with("ls")),
            "{calls:#?}"
        );
        assert!(!calls[..chroot].iter().any(|c| c == "stat /mnt/root"), "{calls:#?}");
        assert_eq!(calls[chroot - 1], "mount --move . /");
        assert_eq!(
            calls[chroot + 2..chroot + 7],
            [
                "ls /mnt",
                "stat /mnt/root",
                "stat /mnt/root",
                "ls /mnt/root",
                "rmdir /mnt/root"
            ]
        );
        // /init went last (the tree had none: ENOENT is not a warning).
        assert_eq!(calls[chroot + 7], "stat /init");
        assert_eq!(sys.tree.borrow().nodes.len(), 2, "/ and /mnt stay");
        assert!(calls.last().unwrap().starts_with("exec /sbin/zinit"));
    }

    #[test]
    fn refuses_before_deleting_anything() {
        let (argv, env) = args();
        let cases: Vec<(RecordSys, &str)> = vec![
            (
                RecordSys {
                    pid: 7,
                    ..Default::default()
                },
                "not PID 1 (pid 7)",
            ),
            (
                RecordSys {
                    magic: 0xef53,
                    ..Default::default()
                },
                "not a ramfs or tmpfs",
            ),
            (
                RecordSys {
                    executables: vec![],
                    ..Default::default()
                },
                "/sbin/zinit is missing or not executable",
            ),
        ];
        for (sys, want) in cases {
            let e = switch_root(&sys, &handover(&argv, &env), &mut || {}).unwrap_err();
            assert!(e.to_string().contains(want), "{e} !~ {want}");
            assert!(
                !sys.calls().iter().any(|c| c.starts_with("rm ")),
                "deleted on refusal: {:?}",
                sys.calls()
            );
        }
    }

    #[test]
    fn each_failing_call_names_op_path_errno() {
        let (argv, env) = args();
        for (op, path) in [
            ("mount --make-rprivate", "/"),
            ("chdir", "/mnt/root"),
            ("opendir", "/"),
            ("mount --move", "."),
            ("chroot", "."),
            ("execve", "/sbin/zinit"),
        ] {
            let sys = RecordSys::default();
            sys.fail_on(op, path, Errno::PERM);
            let e = switch_root(&sys, &handover(&argv, &env), &mut || {}).unwrap_err();
            assert_eq!(e.to_string(), format!("{op} {path}: EPERM (Operation not permitted)"));
        }
    }

    /// Old-root removal goes on past an entry it cannot remove; the switch does too.
    #[test]
    fn an_old_root_entry_that_stays_is_only_a_warning() {
        let (argv, env) = args();
        let sys = RecordSys::default();
        sys.fail_on("unlink", "/bin", Errno::PERM);
        switch_root(&sys, &handover(&argv, &env), &mut || {}).unwrap();
        let calls = sys.calls();
        assert!(calls.contains(&"rm /usr".to_string()), "{calls:?}");
        assert!(calls.last().unwrap().starts_with("exec /sbin/zinit"));
    }

    #[test]
    fn a_missing_console_or_dev_is_only_a_warning() {
        let (argv, env) = args();
        let sys = RecordSys::default();
        sys.fail_on("open", "/dev/console", Errno::NOENT);
        sys.fail_on("umount", "/dev", Errno::INVAL);
        switch_root(&sys, &handover(&argv, &env), &mut || {}).unwrap();
        assert!(sys.calls().last().unwrap().starts_with("exec /sbin/zinit"));
    }
}
