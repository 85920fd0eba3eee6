//! The recorder's [`Procs`]: each call recorded as its typed [`Call`]; nothing runs
//! (a spawn's pid is its position among the calls, every wait ends with status 0).

use std::path::Path;
use std::time::Duration;

use super::record::{Call, RecordSys};
use super::{Procs, Spawn};
use crate::error::SysError;

impl Procs for RecordSys {
    fn pid(&self) -> u32 {
        self.pid
    }
    fn uname_release(&self) -> String {
        self.release.clone()
    }
    fn stdio_open(&self) -> bool {
        self.stdio
    }
    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError> {
        self.call(Call::ReopenStdio(console.into()))
    }
    fn reset_signals(&self) -> Result<(), SysError> {
        self.call(Call::ResetSignals)
    }
    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError> {
        self.call(Call::Exec {
            path: path.into(),
            argv: argv.to_vec(),
            env: env.to_vec(),
        })
    }
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError> {
        self.call(Call::Spawn(cmd.clone()))?;
        // A pid per spawn, stable across runs: the call's position.
        Ok(100 + self.calls.borrow().len() as u32)
    }
    fn wait_child(&self, pid: u32, timeout: Duration) -> Result<Option<i32>, SysError> {
        self.call(Call::Wait { pid, timeout }).map(|_| Some(0))
    }
    fn reap(&self) -> u32 {
        0
    }
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError> {
        self.call(Call::Kill { pgid, signal })
    }
}
