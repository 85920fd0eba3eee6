//! [`Procs`]: the process calls of the boot, reached as [`Sys::procs`](super::Sys::procs)
//! (a sub-trait, as [`Kmod`](super::Kmod) is): the init's own process state (pid,
//! stdio, signal dispositions, the kernel release it runs on), and the programs it
//! starts, waits for, stops and finally becomes (udevd, the emergency shell, zinit).
//! [`super::linux_proc`] makes them; [`super::record_procs`] records them.

use std::path::Path;
use std::time::Duration;

use super::Spawn;
use crate::error::SysError;

/// The process syscalls (see the module doc).
pub trait Procs {
    /// getpid(2).
    fn pid(&self) -> u32;
    /// uname(2)'s release (`uname -r`); not recorded, as `pid`.
    fn uname_release(&self) -> String;
    /// Whether fd 0..2 are open (the kernel leaves them closed without /dev/console).
    fn stdio_open(&self) -> bool;
    /// dup2 a fresh O_RDWR open of `console` onto fds 0, 1 and 2.
    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError>;
    /// Default dispositions for every signal and an empty mask (execve keeps both).
    fn reset_signals(&self) -> Result<(), SysError>;
    /// execve; returns only on failure (a recorder returns Ok).
    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError>;
    /// fork, set the child up as `cmd` says, exec; returns the pid without waiting.
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError>;
    /// Wait for `pid` up to `timeout` ([`FOREVER`](super::FOREVER): no limit, reaping
    /// any other child on the way): Some(status) when it ended (128+signal when
    /// killed), None when it is still running.
    fn wait_child(&self, pid: u32, timeout: Duration) -> Result<Option<i32>, SysError>;
    /// Reap exited children without blocking; returns how many.
    fn reap(&self) -> u32;
    /// `kill -SIG -pgid`: the whole process group.
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError>;
}
