//! Booting a kernel and initramfs under QEMU TCG and collecting the serial log.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::exec;
use crate::{Arch, Error, Kernel};

/// Longest kernel command line in bytes (console and panic options included). The
/// x86 kernel's buffer is 2048 bytes *including the terminating NUL*; measured with
/// QEMU 7.2 and the Debian 6.1 cloud kernel, 2047 bytes boot while 2048 and more hang
/// silently (nothing after SeaBIOS), so we refuse before launching.
pub const MAX_CMDLINE: usize = 2047;

/// One QEMU run.
#[derive(Clone, Debug)]
pub struct Boot {
    pub arch: Arch,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// Extra kernel parameters, after `console=<port> panic=-1`.
    pub append: String,
    pub memory_mb: u32,
    /// Non-interactive runs are killed after this and reported `timed_out`.
    pub timeout: Duration,
    /// Passed to QEMU verbatim, after everything else.
    pub extra_args: Vec<String>,
    /// Where the guest's first serial port is written (non-interactive mode).
    pub serial_log: PathBuf,
    /// Serial and QEMU monitor on the terminal (like `-serial mon:stdio`), no timeout;
    /// the serial output is still copied to `serial_log`.
    pub interactive: bool,
}

/// The serial log as text, `\r` removed; empty if QEMU never wrote it.
fn read_log(path: &std::path::Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).replace('\r', ""))
        .unwrap_or_default()
}

/// What a finished run left behind. QEMU exits 0 on power-off *and* after a kernel
/// panic (`panic=-1` with `-no-reboot`), so success is read from markers in `log`.
#[derive(Debug)]
pub struct BootOutcome {
    /// The serial log, `\r` removed (empty in interactive mode).
    pub log: String,
    pub exit_status: ExitStatus,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// QEMU's own stdout and stderr (warnings, option errors).
    pub qemu_output: String,
}

impl Boot {
    /// Defaults: 512 MiB, 60 s, no append; the log is written next to the initrd
    /// as `<initrd>.serial.log`.
    pub fn new(kernel: &Kernel, initrd: impl Into<PathBuf>) -> Boot {
        let initrd = initrd.into();
        let mut serial_log = initrd.clone().into_os_string();
        serial_log.push(".serial.log");
        Boot {
            arch: kernel.arch,
            kernel: kernel.vmlinuz.clone(),
            initrd,
            append: String::new(),
            memory_mb: 512,
            timeout: Duration::from_secs(60),
            extra_args: Vec::new(),
            serial_log: serial_log.into(),
            interactive: false,
        }
    }

    /// The whole kernel command line QEMU passes.
    pub fn cmdline(&self) -> String {
        let mut s = format!("console={} panic=-1", self.arch.console());
        if !self.append.trim().is_empty() {
            s.push(' ');
            s.push_str(self.append.trim());
        }
        s
    }

    /// QEMU's arguments (without the program), after the command-line length check.
    pub fn args(&self) -> Result<Vec<OsString>, Error> {
        let cmdline = self.cmdline();
        if cmdline.len() > MAX_CMDLINE {
            return Err(Error::AppendTooLong {
                len: cmdline.len(),
                max: MAX_CMDLINE,
                head: cmdline.chars().take(80).collect(),
            });
        }
        let mut a = base_args(self.arch, self.memory_mb);
        a.extend(console_args(self.interactive, &self.serial_log));
        a.extend([
            "-kernel".into(),
            self.kernel.clone().into_os_string(),
            "-initrd".into(),
            self.initrd.clone().into_os_string(),
            "-append".into(),
            cmdline.into(),
        ]);
        a.extend(self.extra_args.iter().map(OsString::from));
        Ok(a)
    }

    /// Boot and wait for QEMU to exit (or kill it at the timeout).
    pub fn run(&self) -> Result<BootOutcome, Error> {
        let args = self.args()?;
        let qemu = ensure_qemu(self.arch)?;
        let mut cmd = Command::new(qemu);
        cmd.args(&args);
        if self.interactive {
            return run_interactive(cmd, &self.serial_log);
        }
        run_captured(cmd, &self.serial_log, self.timeout)
    }
}

/// Run QEMU on the terminal until it exits; the log is what its chardev copied.
pub(crate) fn run_interactive(mut cmd: Command, serial_log: &std::path::Path) -> Result<BootOutcome, Error> {
    let start = Instant::now();
    let status = cmd.status().map_err(|source| Error::Spawn {
        cmd: exec::describe(&cmd),
        source,
    })?;
    Ok(BootOutcome {
        log: read_log(serial_log),
        exit_status: status,
        timed_out: false,
        elapsed: start.elapsed(),
        qemu_output: String::new(),
    })
}

/// The serial console: on the terminal with the QEMU monitor muxed in (`interactive`)
/// or into `serial_log` with no monitor and no display. Shared by every launch profile.
/// What every boot starts with: the machine, TCG, the RAM, no display, and no reboot
/// (so a panic ends QEMU). Shared by [`Boot`], [`crate::efi::EfiBoot`] and
/// [`crate::netboot::NetBoot`].
pub(crate) fn base_args(arch: Arch, memory_mb: u32) -> Vec<OsString> {
    let mut a: Vec<OsString> = arch.machine_args().iter().map(OsString::from).collect();
    a.extend(["-accel", "tcg", "-m"].map(OsString::from));
    a.push(memory_mb.to_string().into());
    a.extend(["-nographic", "-no-reboot"].map(OsString::from));
    a
}

pub(crate) fn console_args(interactive: bool, serial_log: &std::path::Path) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    if interactive {
        // mon:stdio, plus a copy of everything the guest prints in serial_log so
        // the caller can read the boot afterwards (Ctrl-A X quits, Ctrl-A C: monitor).
        let mut chardev = OsString::from("stdio,id=con,mux=on,signal=off,logfile=");
        chardev.push(serial_log);
        a.extend(["-chardev".into(), chardev]);
        a.extend(["-serial", "chardev:con", "-mon", "chardev=con,mode=readline"].map(OsString::from));
    } else {
        let mut serial = OsString::from("file:");
        serial.push(serial_log);
        a.extend(["-serial".into(), serial]);
        a.extend(["-monitor", "none", "-display", "none"].map(OsString::from));
    }
    a
}

/// Run a non-interactive QEMU `cmd` whose first serial port goes to `serial_log`:
/// null stdin, stdout and stderr captured, killed at `timeout`. Shared by [`Boot`] and
/// [`crate::efi::EfiBoot`].
pub fn run_captured(cmd: Command, serial_log: &std::path::Path, timeout: Duration) -> Result<BootOutcome, Error> {
    run_watched(cmd, serial_log, timeout, &mut |_| None)
}

/// How often [`run_watched`] rereads the serial log for its watcher.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// [`run_captured`], and every [`WATCH_EVERY`] the serial log so far is shown to
/// `watch`: when it names a failure, QEMU is killed at once and the run fails with
/// [`Error::GuestFailed`] carrying that message, instead of waiting for the timeout.
pub(crate) fn run_watched(
    mut cmd: Command,
    serial_log: &std::path::Path,
    timeout: Duration,
    watch: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<BootOutcome, Error> {
    match fs::remove_file(serial_log) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io("rm", serial_log, e)),
        _ => {}
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        cmd: exec::describe(&cmd),
        source,
    })?;
    let readers = [child.stdout.take().map(drain), child.stderr.take().map(drain)];
    let mut timed_out = false;
    let mut last_watch = start;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|source| Error::Spawn {
            cmd: exec::describe(&cmd),
            source,
        })? {
            break status;
        }
        if last_watch.elapsed() >= WATCH_EVERY {
            last_watch = Instant::now();
            if let Some(message) = watch(&read_log(serial_log)) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::GuestFailed {
                    message,
                    serial_log: serial_log.to_path_buf(),
                });
            }
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().map_err(|source| Error::Spawn {
                cmd: exec::describe(&cmd),
                source,
            })?;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let qemu_output: String = readers
        .into_iter()
        .flatten()
        .map(|h| h.join().unwrap_or_default())
        .collect();
    if !timed_out && !status.success() {
        // QEMU itself failed (bad option, missing file): not a guest outcome.
        return Err(Error::Command {
            cmd: exec::describe(&cmd),
            status: status.to_string(),
            stderr: qemu_output.trim().to_string(),
        });
    }
    Ok(BootOutcome {
        log: read_log(serial_log),
        exit_status: status,
        timed_out,
        elapsed,
        qemu_output,
    })
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Find the QEMU binary; install its package when root.
pub fn ensure_qemu(arch: Arch) -> Result<PathBuf, Error> {
    exec::ensure_tool(arch.qemu_binary(), arch.qemu_package())
}

impl BootOutcome {
    /// Does the log contain `marker` anywhere?
    pub fn has(&self, marker: &str) -> bool {
        self.log.contains(marker)
    }

    /// Lines containing `prefix`, each cut to start at it. The console is shared:
    /// SeaBIOS leaves escape sequences without a newline and kernel messages can land
    /// in front of a marker, so the marker need not be at the start of its line.
    pub fn lines_with(&self, prefix: &str) -> Vec<&str> {
        self.log
            .lines()
            .filter_map(|l| l.find(prefix).map(|i| &l[i..]))
            .collect()
    }

    /// The last `n` lines of the log, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(arch: Arch) -> Boot {
        Boot {
            arch,
            kernel: "/k/vmlinuz".into(),
            initrd: "/i/initrd.img".into(),
            append: "quiet".into(),
            memory_mb: 256,
            timeout: Duration::from_secs(5),
            extra_args: vec!["-smp".into(), "2".into()],
            serial_log: "/i/serial.log".into(),
            interactive: false,
        }
    }

    fn strings(b: &Boot) -> Vec<String> {
        b.args()
            .unwrap()
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn x86_64_non_interactive() {
        assert_eq!(
            strings(&boot(Arch::X86_64)).join(" "),
            "-accel tcg -m 256 -nographic -no-reboot -serial file:/i/serial.log \
             -monitor none -display none -kernel /k/vmlinuz -initrd /i/initrd.img \
             -append console=ttyS0 panic=-1 quiet -smp 2"
        );
    }

    #[test]
    fn x86_64_interactive_muxes_stdio_and_keeps_a_log() {
        let mut b = boot(Arch::X86_64);
        b.interactive = true;
        let a = strings(&b);
        let i = a.iter().position(|s| s == "-chardev").unwrap();
        assert_eq!(a[i + 1], "stdio,id=con,mux=on,signal=off,logfile=/i/serial.log");
        let i = a.iter().position(|s| s == "-serial").unwrap();
        assert_eq!(a[i + 1], "chardev:con");
        assert!(!a.iter().any(|s| s == "-monitor" || s.starts_with("file:")));
    }

    #[test]
    fn aarch64_profile() {
        let a = strings(&boot(Arch::Aarch64));
        assert_eq!(a[..6], ["-M", "virt", "-cpu", "cortex-a57", "-accel", "tcg"]);
        assert!(a.contains(&"console=ttyAMA0 panic=-1 quiet".to_string()));
        assert_eq!(Arch::Aarch64.qemu_binary(), "qemu-system-aarch64");
    }

    #[test]
    fn empty_append_has_no_trailing_space() {
        let mut b = boot(Arch::X86_64);
        b.append = "  ".into();
        assert_eq!(b.cmdline(), "console=ttyS0 panic=-1");
    }

    #[test]
    fn cmdline_limit_is_2047_bytes_plus_nul() {
        let mut b = boot(Arch::X86_64);
        let base = "console=ttyS0 panic=-1 ".len();
        b.append = "x".repeat(MAX_CMDLINE - base);
        assert_eq!(b.cmdline().len(), 2047);
        assert!(b.args().is_ok());
        b.append.push('x');
        let err = b.args().unwrap_err();
        assert!(matches!(err, Error::AppendTooLong { len: 2048, .. }), "{err}");
        // run() refuses before looking for or starting QEMU.
        let err = b.run().unwrap_err();
        assert!(err.to_string().contains("2048 bytes"), "{err}");
    }

    #[test]
    fn outcome_helpers() {
        let o = BootOutcome {
            log: "a\nPROBE pid=1\n\x1b[2JPROBE x=2\nPROBE-END\nz".into(),
            exit_status: std::process::Command::new("true").status().unwrap(),
            timed_out: false,
            elapsed: Duration::ZERO,
            qemu_output: String::new(),
        };
        assert!(o.has("pid=1"));
        assert_eq!(o.lines_with("PROBE "), ["PROBE pid=1", "PROBE x=2"]);
        assert_eq!(o.tail(2), "PROBE-END\nz");
        assert_eq!(o.tail(99).lines().count(), 5);
    }
}
