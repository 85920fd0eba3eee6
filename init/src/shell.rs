//! Two small engines over the seam's process calls: a shell on the console (the
//! emergency path and `zos.break=` shells), and the kernel log as text.

use std::path::Path;

use crate::error::SysError;
use crate::sys::{Spawn, Sys, FOREVER};

/// Run `shell` on `console` as a new session, chrooted into `root` unless it is `/`,
/// and wait for it (reaping other children meanwhile); returns its status.
pub fn run_shell(sys: &dyn Sys, shell: &Path, root: &Path, console: &Path, env: &[String]) -> Result<i32, SysError> {
    let cmd = Spawn {
        root: root.to_path_buf(),
        argv: vec![shell.display().to_string()],
        env: env.to_vec(),
        new_group: false,
        quiet: false,
        tty: Some(console.to_path_buf()),
    };
    let pid = sys.procs().spawn_in(&cmd)?;
    Ok(sys.procs().wait_child(pid, FOREVER)?.unwrap_or(-1))
}

/// The kernel log buffer (syslog(2) READ_ALL) as text, for the emergency report and
/// the unpack check.
pub fn dmesg(sys: &dyn Sys) -> Result<String, SysError> {
    sys.klog().map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::{Call, RecordSys};

    #[test]
    fn a_shell_is_a_session_on_the_console_waited_for_without_limit() {
        let sys = RecordSys::default();
        let status = run_shell(
            &sys,
            Path::new("/bin/sh"),
            Path::new("/mnt/root"),
            Path::new("/dev/console"),
            &[],
        );
        assert_eq!(status, Ok(0));
        let calls = sys.entries();
        let Call::Spawn(s) = &calls[0] else { panic!("{calls:?}") };
        assert_eq!(s.tty.as_deref(), Some(Path::new("/dev/console")));
        assert_eq!(s.root, Path::new("/mnt/root"));
        assert!(matches!(calls[1], Call::Wait { timeout: FOREVER, .. }), "{calls:?}");
        assert_eq!(sys.calls()[0], "chroot /mnt/root /bin/sh <>/dev/console");
    }

    #[test]
    fn a_shell_that_cannot_start_is_an_error_naming_it() {
        let sys = RecordSys::default();
        sys.fail_on("spawn", "/bin/sh", crate::sys::Errno::NOMEM);
        let e = run_shell(
            &sys,
            Path::new("/bin/sh"),
            Path::new("/"),
            Path::new("/dev/console"),
            &[],
        )
        .unwrap_err();
        assert_eq!((e.op, e.errno), ("spawn", crate::sys::Errno::NOMEM));
        assert_eq!(sys.calls(), ["/bin/sh <>/dev/console"]);
    }

    #[test]
    fn dmesg_is_the_kernel_log_as_text() {
        let sys = RecordSys::default();
        assert_eq!(dmesg(&sys).unwrap(), "<6>[    1.0] kernel says hi\n");
        assert_eq!(sys.entries(), [Call::Klog]);
    }
}
