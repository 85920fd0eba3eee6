//! Boot log: every line goes to the console (fd 2) with the time since boot, to
//! /dev/kmsg once devtmpfs is up, and into memory (for the emergency report and lines
//! written before a console existed).
//!
//! Info lines go to kmsg at KERN_DEBUG: with Zero-OS's `loglevel=7` the kernel would
//! otherwise echo each of them on the console a second time. Warnings and errors go at
//! their own level, so `dmesg -l err` finds them. Userspace writes to kmsg are rate
//! limited by default; [`unlimit_kmsg`] lifts that for the init's short life.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::{LogLevel, LogTargets};
use crate::stage::Stage;
use crate::sys::kmsg::{self, Kmsg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

struct State {
    level: LogLevel,
    targets: LogTargets,
    kmsg: Option<Kmsg>,
    lines: Vec<String>,
    /// Warning and error messages (without time), for the boot report.
    warnings: Vec<String>,
    errors: Vec<String>,
    /// printk_devkmsg before we changed it, to restore before handover.
    devkmsg_was: Option<String>,
}

static STATE: Mutex<State> = Mutex::new(State {
    level: LogLevel::Info,
    targets: LogTargets {
        console: true,
        kmsg: true,
    },
    kmsg: None,
    lines: Vec::new(),
    warnings: Vec::new(),
    errors: Vec::new(),
    devkmsg_was: None,
});

/// Lines kept in memory: enough for a whole boot, bounded for a runaway one.
const KEEP: usize = 4000;
/// The kernel truncates a kmsg record at about 1 KiB.
const KMSG_MAX: usize = 900;

/// Time since boot (CLOCK_BOOTTIME, the clock of the kernel's own timestamps).
pub fn since_boot() -> Duration {
    kmsg::since_boot()
}

pub fn configure(level: LogLevel, targets: LogTargets) {
    if let Ok(mut s) = STATE.lock() {
        s.level = level;
        s.targets = targets;
    }
}

/// Open /dev/kmsg (once devtmpfs is mounted). Failure is not fatal: console only.
pub fn open_kmsg() {
    let file = Kmsg::open();
    if let Ok(mut s) = STATE.lock() {
        s.kmsg = file;
    }
}

/// Turn off the kmsg rate limit until [`restore_kmsg_limit`]; without it the kernel
/// drops all but the first ten lines of a burst ("callbacks suppressed").
pub fn unlimit_kmsg() {
    let Some(old) = kmsg::devkmsg() else {
        return;
    };
    if kmsg::set_devkmsg("on") {
        if let Ok(mut s) = STATE.lock() {
            s.devkmsg_was = Some(old);
        }
    }
}

/// Put printk_devkmsg back as the kernel had it (call while /proc is still mounted).
pub fn restore_kmsg_limit() {
    let old = STATE.lock().ok().and_then(|mut s| s.devkmsg_was.take());
    if let Some(old) = old {
        let _ = kmsg::set_devkmsg(&old);
    }
}

/// Write the lines kept so far to the console (after it appeared late).
pub fn replay() {
    if let Ok(s) = STATE.lock() {
        let mut err = std::io::stderr().lock();
        for l in &s.lines {
            let _ = writeln!(err, "{l}");
        }
    }
}

/// Warnings and errors logged so far.
pub fn problems() -> (Vec<String>, Vec<String>) {
    STATE
        .lock()
        .map(|s| (s.warnings.clone(), s.errors.clone()))
        .unwrap_or_default()
}

/// The lines kept so far (for the emergency report).
pub fn lines() -> Vec<String> {
    STATE.lock().map(|s| s.lines.clone()).unwrap_or_default()
}

/// The log state, waiting at most ~10 ms: another thread (the parallel module loader,
/// or another test) holds it only for a line, so a plain `try_lock` would drop that
/// line from the report's warnings; a panic inside the logger holds it for good (or
/// poisons it), and PID 1 must not block on that.
fn lock_briefly() -> Option<std::sync::MutexGuard<'static, State>> {
    for _ in 0..200 {
        match STATE.try_lock() {
            Ok(g) => return Some(g),
            Err(std::sync::TryLockError::WouldBlock) => std::thread::sleep(Duration::from_micros(50)),
            Err(std::sync::TryLockError::Poisoned(_)) => return None,
        }
    }
    None
}

pub fn write(level: Level, msg: &str) {
    let t = since_boot();
    let line = format!("[{:5}.{:06}] zos-init: {msg}", t.as_secs(), t.subsec_micros());
    let Some(mut s) = lock_briefly() else {
        // Only a panic inside the logger gets here: write raw, never block PID 1.
        let _ = writeln!(std::io::stderr(), "{line}");
        return;
    };
    let shown = match level {
        Level::Error | Level::Warn => true,
        Level::Info => s.level >= LogLevel::Info,
        Level::Debug => s.level >= LogLevel::Debug,
    };
    if s.lines.len() < KEEP {
        s.lines.push(line.clone());
    }
    match level {
        Level::Warn if s.warnings.len() < KEEP => s.warnings.push(msg.to_string()),
        Level::Error if s.errors.len() < KEEP => s.errors.push(msg.to_string()),
        _ => {}
    }
    if !shown {
        return;
    }
    if s.targets.console {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    if s.targets.kmsg {
        let prio = match level {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info | Level::Debug => 7,
        };
        if let Some(k) = s.kmsg.as_mut() {
            let mut rec = format!("<{prio}>zos-init: {msg}");
            if rec.len() > KMSG_MAX {
                let mut cut = KMSG_MAX;
                while !rec.is_char_boundary(cut) {
                    cut -= 1;
                }
                rec.truncate(cut);
            }
            let _ = k.record(rec.as_bytes());
        }
    }
}

/// A line of a boot stage, `<stage>: msg`: the stage's name comes from the enum, so
/// it is written once, in [`Stage::as_str`].
pub fn stage(level: Level, stage: Stage, msg: &str) {
    write(level, &format!("{stage}: {msg}"))
}

pub fn error(msg: &str) {
    write(Level::Error, msg)
}
pub fn warn(msg: &str) {
    write(Level::Warn, msg)
}
pub fn info(msg: &str) {
    write(Level::Info, msg)
}
pub fn debug(msg: &str) {
    write(Level::Debug, msg)
}

/// `12.3 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
