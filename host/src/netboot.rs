//! Network boots: the NIC's iPXE option ROM (Debian's `ipxe-qemu`) fetches
//! `boot.ipxe` from QEMU's user-mode network, whose built-in DHCP server hands out
//! the boot file and whose built-in TFTP server (at 10.0.2.2) serves a directory. No
//! `-kernel`: what boots is whatever that script downloads, as on a Zero-OS node.
//!
//! `qemu-system-x86_64 -accel tcg -m <mem> -nographic -no-reboot
//!  [-drive if=pflash ... OVMF (UEFI only)]
//!  -netdev user,id=n0,tftp=<dir>,bootfile=boot.ipxe
//!  -device virtio-net-pci,netdev=n0,bootindex=1
//!  -boot n -serial file:<log> -monitor none -display none`
//!
//! The ROM carries both iPXE builds (legacy PXE and an EFI driver), so the same
//! device netboots under SeaBIOS and under OVMF. iPXE prints on the serial console
//! (SeaBIOS redirects its text output there under `-nographic`; OVMF's console is the
//! serial port), so a failed download is read from the log and ends the run at once:
//! iPXE would otherwise fall back to the next boot device and sit at "No bootable
//! device" until the timeout.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::efi::{ovmf, pflash_args, Ovmf};
use crate::exec;
use crate::launch::{base_args, console_args, ensure_qemu, run_interactive, run_watched, BootOutcome};
use crate::{Arch, Error};

/// The file QEMU's DHCP server names as the boot file: the directory's entry script.
pub const BOOT_SCRIPT: &str = "boot.ipxe";

/// Where Debian's ipxe-qemu puts the ROM of the virtio NIC (BIOS and EFI images).
pub const VIRTIO_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

/// The firmware that runs the NIC's ROM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS (QEMU's default): iPXE's PXE ROM.
    Bios,
    /// OVMF: iPXE's EFI driver.
    Uefi(Ovmf),
}

/// One network boot of a directory served over TFTP.
#[derive(Clone, Debug)]
pub struct NetBoot {
    pub arch: Arch,
    pub firmware: Firmware,
    /// The directory served at tftp://10.0.2.2/ (holds [`BOOT_SCRIPT`]).
    pub dir: PathBuf,
    /// The NIC option ROM QEMU will load (checked to exist, not passed).
    pub rom: PathBuf,
    /// UEFI: the writable copy of OVMF's variable store.
    pub vars: PathBuf,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub serial_log: PathBuf,
    /// Serial and monitor on the terminal, as [`crate::Boot::interactive`].
    pub interactive: bool,
    pub extra_args: Vec<String>,
}

/// The iPXE ROM, installing `ipxe-qemu` when missing and root.
pub fn ipxe_rom() -> Result<PathBuf, Error> {
    exec::ensure_file(Path::new(VIRTIO_ROM), "ipxe-qemu")
}

impl NetBoot {
    /// Boot `dir` with `firmware` (`uefi`: OVMF, its variable store copied into
    /// `work`); 1024 MiB, 300 s (the kernel and the image come over TFTP under TCG),
    /// log `<work>/serial.log`. Fails at once when `dir` has no [`BOOT_SCRIPT`].
    pub fn new(arch: Arch, dir: &Path, uefi: bool, work: &Path) -> Result<NetBoot, Error> {
        if arch != Arch::X86_64 {
            return Err(Error::Unsupported {
                what: "netboot (ipxe-qemu ROMs)",
                arch: arch.as_str(),
            });
        }
        let script = dir.join(BOOT_SCRIPT);
        if !script.is_file() {
            return Err(Error::Missing {
                what: format!("netboot script {BOOT_SCRIPT}"),
                path: dir.to_path_buf(),
            });
        }
        fs::create_dir_all(work).map_err(|e| Error::io("mkdir -p", work, e))?;
        let vars = work.join("OVMF_VARS.fd");
        let firmware = if uefi {
            let fw = ovmf(arch)?;
            fs::copy(&fw.vars, &vars).map_err(|e| Error::io("copy to", &vars, e))?;
            Firmware::Uefi(fw)
        } else {
            Firmware::Bios
        };
        // QEMU resolves the TFTP root itself: give it an absolute path.
        let dir = fs::canonicalize(dir).map_err(|e| Error::io("resolve", dir, e))?;
        Ok(NetBoot {
            arch,
            firmware,
            dir,
            rom: ipxe_rom()?,
            vars,
            memory_mb: 1024,
            timeout: Duration::from_secs(300),
            serial_log: work.join("serial.log"),
            interactive: false,
            extra_args: Vec::new(),
        })
    }

    pub fn args(&self) -> Vec<OsString> {
        let mut a = base_args(self.arch, self.memory_mb);
        if let Firmware::Uefi(fw) = &self.firmware {
            a.extend(pflash_args(fw, &self.vars));
        }
        let mut netdev = OsString::from("user,id=n0,tftp=");
        netdev.push(&self.dir);
        netdev.push(format!(",bootfile={BOOT_SCRIPT}"));
        // QEMU loads the NIC's default ROM (efi-virtio.rom, from ipxe-qemu) itself:
        // naming it with `romfile=` made SeaBIOS skip it under QEMU 7.2 (no iPXE banner,
        // straight to "Booting from Floppy"), so `rom` is only checked to exist.
        // bootindex: OVMF ignores `-boot n` and would try its own PXE client first.
        let nic = "virtio-net-pci,netdev=n0,bootindex=1";
        a.extend(["-netdev".into(), netdev, "-device".into(), nic.into()]);
        a.extend(["-boot", "n"].map(OsString::from));
        a.extend(console_args(self.interactive, &self.serial_log));
        a.extend(self.extra_args.iter().map(OsString::from));
        a
    }

    /// Boot and wait for QEMU to exit, to be killed at the timeout, or (batch mode) to
    /// be stopped as soon as iPXE reports a failure ([`Error::GuestFailed`]).
    pub fn run(&self) -> Result<BootOutcome, Error> {
        let mut cmd = Command::new(ensure_qemu(self.arch)?);
        cmd.args(self.args());
        if self.interactive {
            // The operator reads iPXE's messages on the terminal.
            return run_interactive(cmd, &self.serial_log);
        }
        let dir = self.dir.clone();
        run_watched(cmd, &self.serial_log, self.timeout, &mut |log| {
            ipxe_failure(log).map(|f| format!("netboot of {} failed: {f}", dir.display()))
        })
    }
}

/// iPXE's report of a failed step, e.g. `initramfs... No such file or directory
/// (http://ipxe.org/2d12603b)` (every iPXE error ends with its ipxe.org error page),
/// read only up to the kernel's first line: after that iPXE is gone.
pub fn ipxe_failure(log: &str) -> Option<String> {
    let before_kernel = log.split("Linux version ").next().unwrap_or(log);
    before_kernel.lines().find_map(|line| {
        let at = line
            .find("(http://ipxe.org/")
            .or_else(|| line.find("(https://ipxe.org/"))?;
        let page = line[at + 1..].trim_end().trim_end_matches(')');
        // `<what>... <progress redrawn with backspaces> <error>`.
        let (what, rest) = line[..at].split_once("...").unwrap_or(("", &line[..at]));
        let error = rest.rsplit('\u{8}').next().unwrap_or(rest).trim();
        let what = what.trim();
        Some(if what.is_empty() {
            format!("iPXE: {error} ({page})")
        } else {
            format!("iPXE could not load {what}: {error} ({page})")
        })
    })
}

#[cfg(test)]
#[path = "netboot_tests.rs"]
mod tests;
