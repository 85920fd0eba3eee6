//! zos-probe: started as PID 1 (as `/sbin/zinit init` after the init under test, or as
//! the kernel's `/init`), prints one fact per console line and powers off.
//!
//! Lines: `PROBE key=value` facts, `PROBE-ENTRY <fields>` for the trees named in
//! `/etc/zos-probe/walk`, `PROBE-SH <line>` for the output of `/etc/zos-probe/run`,
//! `PROBE-ERROR <what>` for anything that failed, and `PROBE-END` last.
//!
//! `#![no_main]`: std's normal start-up ignores SIGPIPE and silently reopens closed
//! fds 0-2 on /dev/null, which would hide exactly what the init handed over. With our
//! own C `main` the signal state and fds are still the inherited ones when we look.
//!
//! When started with no /proc mounted (as the kernel's /init), the probe mounts proc
//! on /proc itself and says so with `PROBE self-mounted=/proc`.

#![no_main]

use std::ffi::{c_char, c_int, CStr};
use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};

use rustix::mount::MountFlags;
use zos_probe::listing::list_tree;

const WALK: &str = "/etc/zos-probe/walk";
const RUN: &str = "/etc/zos-probe/run";

/// The C entry point.
///
/// # Safety
/// Called by the C runtime with the process's `argc`/`argv`.
#[no_mangle]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let args: Vec<String> = (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: the C runtime passes `argc` valid NUL-terminated strings in `argv`.
            let s = unsafe { CStr::from_ptr(*argv.add(i)) };
            String::from_utf8_lossy(s.to_bytes()).into_owned()
        })
        .collect();
    probe(&args);
    finish()
}

fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

fn error(what: &str, e: impl std::fmt::Display) {
    say(&format!("PROBE-ERROR {what}: {e}"));
}

fn probe(args: &[String]) {
    let self_mounted = ensure_proc();
    // Look at the inherited stdio before (maybe) repairing it.
    let stdio: Vec<String> = ["stdin", "stdout", "stderr"]
        .iter()
        .enumerate()
        .map(|(fd, name)| match fs::read_link(format!("/proc/self/fd/{fd}")) {
            Ok(t) => format!("PROBE {name}={}", t.display()),
            Err(e) => format!("PROBE {name}=closed ({e})"),
        })
        .collect();
    let status = proc_status();
    let fds = open_fds();
    repair_stdio();
    // Start on a fresh line: the firmware or the kernel may have left one unfinished.
    say("");

    match self_mounted {
        Ok(true) => say("PROBE self-mounted=/proc"),
        Ok(false) => {}
        Err(e) => error("mount proc /proc", e),
    }
    say(&format!("PROBE pid={}", rustix::process::getpid().as_raw_pid()));
    say(&format!("PROBE argv={}", json_list(args)));
    for (k, v) in std::env::vars_os() {
        say(&format!("PROBE env.{}={}", k.to_string_lossy(), v.to_string_lossy()));
    }
    for line in &stdio {
        say(line);
    }
    match fds {
        Ok(fds) => say(&format!("PROBE fds={fds}")),
        Err(e) => error("list /proc/self/fd", e),
    }
    match status {
        Ok(lines) => lines.iter().for_each(|l| say(l)),
        Err(e) => error("read /proc/self/status", e),
    }
    match std::env::current_dir() {
        Ok(d) => say(&format!("PROBE cwd={}", d.display())),
        Err(e) => error("getcwd", e),
    }
    step("read /proc/mounts", mounts);
    step("statfs /", statfs_root);
    step("read /proc/meminfo", meminfo);
    step("read /proc/uptime", uptime);
    step("hardware facts", hardware);
    step(WALK, walk);
    step(RUN, run_script);
}

fn step(what: &str, f: fn() -> io::Result<()>) {
    if let Err(e) = f() {
        error(what, e);
    }
}

/// Mount proc when absent (the probe may be the kernel's /init). Ok(true) if we did.
fn ensure_proc() -> io::Result<bool> {
    if Path::new("/proc/mounts").exists() {
        return Ok(false);
    }
    match fs::create_dir("/proc") {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    rustix::mount::mount("proc", "/proc", "proc", flags, None)?;
    Ok(true)
}

/// Signal mask and ignored signals as inherited (std has not touched them).
fn proc_status() -> io::Result<Vec<String>> {
    let text = fs::read_to_string("/proc/self/status")?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| matches!(*k, "SigBlk" | "SigIgn" | "Uid" | "Gid"))
        .map(|(k, v)| {
            format!(
                "PROBE status.{k}={}",
                v.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect())
}

/// Open fds, without the one used to read the directory itself.
fn open_fds() -> io::Result<String> {
    let mut fds: Vec<u32> = Vec::new();
    for e in fs::read_dir("/proc/self/fd")? {
        let e = e?;
        let target = fs::read_link(e.path()).unwrap_or_default();
        if target.starts_with("/proc") && target.ends_with("fd") {
            continue;
        }
        if let Some(n) = e.file_name().to_str().and_then(|s| s.parse().ok()) {
            fds.push(n);
        }
    }
    fds.sort_unstable();
    Ok(fds.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
}

/// If fd 1 or 2 is closed, open /dev/console on it so the facts reach the serial log.
fn repair_stdio() {
    let closed = |fd: i32| {
        // SAFETY: fcntl(F_GETFD) only queries the descriptor table.
        unsafe { libc::fcntl(fd, libc::F_GETFD) == -1 }
    };
    if !closed(1) && !closed(2) {
        return;
    }
    let Ok(console) = fs::OpenOptions::new().read(true).write(true).open("/dev/console") else {
        return;
    };
    if closed(1) {
        let _ = rustix::stdio::dup2_stdout(&console);
    }
    if closed(2) {
        let _ = rustix::stdio::dup2_stderr(&console);
    }
}

fn mounts() -> io::Result<()> {
    for line in fs::read_to_string("/proc/mounts")?.lines() {
        say(&format!("PROBE mount={line}"));
    }
    Ok(())
}

fn statfs_root() -> io::Result<()> {
    let s = rustix::fs::statfs("/")?;
    say(&format!(
        "PROBE statfs.root={:#x} blocks={} bsize={} bavail={}",
        s.f_type, s.f_blocks, s.f_bsize, s.f_bavail
    ));
    Ok(())
}

fn meminfo() -> io::Result<()> {
    for line in fs::read_to_string("/proc/meminfo")?.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if matches!(k, "MemTotal" | "MemAvailable" | "Shmem") {
            let kb = v.trim().trim_end_matches("kB").trim();
            say(&format!("PROBE meminfo.{k}={kb}"));
        }
    }
    Ok(())
}

fn uptime() -> io::Result<()> {
    let text = fs::read_to_string("/proc/uptime")?;
    let secs = text.split_whitespace().next().unwrap_or("?");
    say(&format!("PROBE uptime={secs}"));
    Ok(())
}

/// `PROBE module=` per loaded module, `PROBE dev=` per /dev entry, `PROBE netdev=`
/// per network interface, `PROBE unmatched=` per modalias the init left unmatched.
fn hardware() -> io::Result<()> {
    for line in fs::read_to_string("/proc/modules")?.lines() {
        if let Some(name) = line.split_whitespace().next() {
            say(&format!("PROBE module={name}"));
        }
    }
    let names = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    names("/dev").iter().for_each(|n| say(&format!("PROBE dev={n}")));
    names("/sys/class/net")
        .iter()
        .for_each(|n| say(&format!("PROBE netdev={n}")));
    if let Ok(text) = fs::read_to_string("/run/zos-init/unmatched-modaliases") {
        text.lines().for_each(|l| say(&format!("PROBE unmatched={l}")));
    }
    Ok(())
}

fn walk() -> io::Result<()> {
    let list = match fs::read_to_string(WALK) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for dir in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match list_tree(Path::new("/"), Path::new(dir)) {
            Ok(entries) => entries
                .iter()
                .for_each(|e| say(&format!("PROBE-ENTRY {}", e.to_line()))),
            Err(e) => error(&format!("walk {dir}"), e),
        }
    }
    Ok(())
}

/// Run /etc/zos-probe/run with /bin/sh, stdout and stderr merged, line by line.
fn run_script() -> io::Result<()> {
    if !Path::new(RUN).exists() {
        return Ok(());
    }
    if !Path::new("/bin/sh").exists() {
        return Err(io::Error::other("/bin/sh missing, cannot run it"));
    }
    let (reader, writer) = io::pipe()?;
    // Not Stdio::null(): that opens /dev/null, which a bare image may lack.
    // A pipe whose write end is closed reads as EOF.
    let (empty, _) = io::pipe()?;
    let mut child = Command::new("/bin/sh")
        .arg(RUN)
        .stdin(Stdio::from(empty))
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("spawn /bin/sh {RUN}: {e}")))?;
    // Our copies of the write end are gone with the Command; EOF comes when the
    // script (and anything it left running with the pipe) is done.
    let mut text = Vec::new();
    io::BufReader::new(reader).read_to_end(&mut text)?;
    for line in text.lines().map_while(Result::ok) {
        say(&format!("PROBE-SH {line}"));
    }
    let status = child.wait()?;
    say(&format!(
        "PROBE sh.status={}",
        status.code().map_or_else(|| status.to_string(), |c| c.to_string())
    ));
    Ok(())
}

/// `["a","b"]`, JSON string escapes.
fn json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| {
            let mut q = String::from('"');
            for c in s.chars() {
                match c {
                    '"' => q.push_str("\\\""),
                    '\\' => q.push_str("\\\\"),
                    c if (c as u32) < 0x20 => q.push_str(&format!("\\u{:04x}", c as u32)),
                    c => q.push(c),
                }
            }
            q.push('"');
            q
        })
        .collect();
    format!("[{}]", quoted.join(","))
}

/// Flush the console, sync, power off. Never returns.
fn finish() -> ! {
    say("PROBE-END");
    let _ = io::stdout().flush();
    // The serial driver may still hold bytes: let them out before the power goes.
    let _ = rustix::termios::tcdrain(io::stdout().as_fd());
    rustix::fs::sync();
    if rustix::process::getpid().is_init() {
        if let Err(e) = rustix::system::reboot(rustix::system::RebootCommand::PowerOff) {
            error("reboot(RB_POWER_OFF)", e);
        }
        // PID 1 must not exit (the kernel would panic): wait for the end.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    // Run by hand on a host: never power the machine off.
    say("PROBE-ERROR not PID 1: not powering off");
    std::process::exit(1)
}
