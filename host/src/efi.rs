//! UEFI boots: OVMF firmware as pflash and a FAT "disk" made by QEMU from a directory
//! (vvfat) holding the image at the removable-media path `/EFI/BOOT/BOOTX64.EFI`, which
//! the firmware boots without any boot entry. Used to boot `vmlinuz.efi` (a unified
//! kernel image carrying kernel, initramfs and cmdline).
//!
//! `qemu-system-x86_64 -accel tcg -m <mem> -nographic -no-reboot
//!  -drive if=pflash,format=raw,unit=0,readonly=on,file=OVMF_CODE.fd
//!  -drive if=pflash,format=raw,unit=1,file=<copy of OVMF_VARS.fd>
//!  -drive file=fat:rw:<esp dir>,format=raw -serial file:<log> -monitor none -display none`

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::exec::{self, is_root};
use crate::launch::{base_args, ensure_qemu, run_captured, BootOutcome};
use crate::{Arch, Error};

/// The firmware: read-only code and the template of its variable store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ovmf {
    pub code: PathBuf,
    pub vars: PathBuf,
}

/// Debian's OVMF (package `ovmf`), installed when missing and root. The 2 MiB build
/// (`OVMF_CODE.fd`): the `_4M` one needs `-machine q35`-sized flash and gains nothing here.
pub fn ovmf(arch: Arch) -> Result<Ovmf, Error> {
    if arch != Arch::X86_64 {
        // AAVMF (qemu-efi-aarch64) would be the arm64 counterpart; no test needs it yet.
        return Err(Error::Unsupported {
            what: "UEFI boots (OVMF)",
            arch: arch.as_str(),
        });
    }
    let fw = Ovmf {
        code: "/usr/share/OVMF/OVMF_CODE.fd".into(),
        vars: "/usr/share/OVMF/OVMF_VARS.fd".into(),
    };
    if !fw.code.is_file() || !fw.vars.is_file() {
        if !is_root() {
            return Err(Error::MissingTool {
                tool: fw.code.display().to_string(),
                package: "ovmf".into(),
            });
        }
        exec::run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "ovmf"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    for p in [&fw.code, &fw.vars] {
        if !p.is_file() {
            return Err(Error::Missing {
                what: "OVMF firmware after installing ovmf".into(),
                path: p.clone(),
            });
        }
    }
    Ok(fw)
}

/// systemd's EFI stub for unified kernel images (package `systemd-boot-efi`),
/// installed when missing and root.
pub fn systemd_stub(arch: Arch) -> Result<PathBuf, Error> {
    let name = match arch {
        Arch::X86_64 => "linuxx64.efi.stub",
        Arch::Aarch64 => "linuxaa64.efi.stub",
    };
    let stub = PathBuf::from("/usr/lib/systemd/boot/efi").join(name);
    if !stub.is_file() && is_root() && arch == Arch::host() {
        exec::run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "systemd-boot-efi"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    if !stub.is_file() {
        return Err(Error::MissingTool {
            tool: stub.display().to_string(),
            package: "systemd-boot-efi".into(),
        });
    }
    Ok(stub)
}

/// The removable-media boot file name UEFI looks for on each architecture.
pub fn removable_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "BOOTX64.EFI",
        Arch::Aarch64 => "BOOTAA64.EFI",
    }
}

/// OVMF as two pflash drives: the read-only code and `vars`, a writable copy of the
/// variable store. Shared with [`crate::netboot`].
pub(crate) fn pflash_args(firmware: &Ovmf, vars: &Path) -> Vec<OsString> {
    let drive = |prefix: &str, path: &Path| {
        let mut s = OsString::from(prefix);
        s.push(path);
        ["-drive".into(), s]
    };
    let mut a: Vec<OsString> = drive("if=pflash,format=raw,unit=0,readonly=on,file=", &firmware.code).into();
    a.extend(drive("if=pflash,format=raw,unit=1,file=", vars));
    a
}

/// One UEFI run of an EFI application (a UKI).
#[derive(Clone, Debug)]
pub struct EfiBoot {
    pub arch: Arch,
    pub firmware: Ovmf,
    /// The writable copy of the variable store (OVMF writes boot entries there).
    pub vars: PathBuf,
    /// The directory QEMU presents as a FAT disk.
    pub esp: PathBuf,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub serial_log: PathBuf,
    pub extra_args: Vec<String>,
}

impl EfiBoot {
    /// Lay out `<work>/esp/EFI/BOOT/BOOTX64.EFI` (a copy of `image`) and
    /// `<work>/OVMF_VARS.fd`; 512 MiB, 180 s (OVMF alone takes seconds under TCG),
    /// log `<work>/serial.log`.
    pub fn new(arch: Arch, image: &Path, work: &Path) -> Result<EfiBoot, Error> {
        let firmware = ovmf(arch)?;
        let esp = work.join("esp");
        let boot_dir = esp.join("EFI/BOOT");
        fs::create_dir_all(&boot_dir).map_err(|e| Error::io("mkdir -p", &boot_dir, e))?;
        let target = boot_dir.join(removable_name(arch));
        fs::copy(image, &target).map_err(|e| Error::io("copy to", &target, e))?;
        let vars = work.join("OVMF_VARS.fd");
        fs::copy(&firmware.vars, &vars).map_err(|e| Error::io("copy to", &vars, e))?;
        Ok(EfiBoot {
            arch,
            firmware,
            vars,
            esp,
            memory_mb: 512,
            timeout: Duration::from_secs(180),
            serial_log: work.join("serial.log"),
            extra_args: Vec::new(),
        })
    }

    pub fn args(&self) -> Vec<OsString> {
        let mut a = base_args(self.arch, self.memory_mb);
        a.extend(pflash_args(&self.firmware, &self.vars));
        // `rw`: a read-only vvfat needs a read-only drive, which QEMU's IDE disk refuses
        // ("Block node is read-only"). The firmware writes nothing there anyway.
        let mut fat = OsString::from("file=fat:rw:");
        fat.push(&self.esp);
        fat.push(",format=raw");
        a.extend(["-drive".into(), fat]);
        let mut serial = OsString::from("file:");
        serial.push(&self.serial_log);
        a.extend(["-serial".into(), serial]);
        a.extend(["-monitor", "none", "-display", "none"].map(OsString::from));
        a.extend(self.extra_args.iter().map(OsString::from));
        a
    }

    /// Boot and wait for QEMU to exit (or kill it at the timeout).
    pub fn run(&self) -> Result<BootOutcome, Error> {
        let mut cmd = Command::new(ensure_qemu(self.arch)?);
        cmd.args(self.args());
        run_captured(cmd, &self.serial_log, self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_ovmf_profile() {
        let b = EfiBoot {
            arch: Arch::X86_64,
            firmware: Ovmf {
                code: "/fw/CODE.fd".into(),
                vars: "/fw/VARS.fd".into(),
            },
            vars: "/w/VARS.fd".into(),
            esp: "/w/esp".into(),
            memory_mb: 256,
            timeout: Duration::from_secs(1),
            serial_log: "/w/serial.log".into(),
            extra_args: vec!["-smp".into(), "2".into()],
        };
        let a: Vec<String> = b.args().into_iter().map(|s| s.into_string().unwrap()).collect();
        assert_eq!(
            a.join(" "),
            "-accel tcg -m 256 -nographic -no-reboot \
             -drive if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd \
             -drive if=pflash,format=raw,unit=1,file=/w/VARS.fd -drive file=fat:rw:/w/esp,format=raw \
             -serial file:/w/serial.log -monitor none -display none -smp 2"
        );
        assert_eq!(removable_name(Arch::X86_64), "BOOTX64.EFI");
    }

    #[test]
    fn aarch64_firmware_is_not_wired() {
        let e = ovmf(Arch::Aarch64).unwrap_err().to_string();
        assert!(e.contains("OVMF") && e.contains("aarch64"), "{e}");
    }
}
