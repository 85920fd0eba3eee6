//! `zos-builder run --netboot`: the run of `run.rs` (same image, console, batch mode
//! and timeline), but the firmware's iPXE fetches kernel and image over QEMU's TFTP
//! from a netboot directory instead of QEMU loading them with `-kernel`.

use std::path::{Path, PathBuf};

use zos_host::netboot::NetBoot;
use zos_host::Arch;

use super::{compose, write, NetbootError, Params, Request, CMDLINE, INITRAMFS, UKI};
use crate::run::{default_image, init_phase_ms, RunError, RunOptions, RunReport};
use crate::ImageSummary;

#[derive(Debug, thiserror::Error)]
pub enum NetbootRunError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Netboot(#[from] NetbootError),
    #[error(transparent)]
    Efi(#[from] crate::efi::EfiError),
    #[error(transparent)]
    Qemu(#[from] zos_host::Error),
}

/// The base of the cmdline `run --netboot` composes: the QEMU console, and a kernel
/// panic ends QEMU (`-no-reboot`) as in `run`.
pub const RUN_BASE: &str = "console=ttyS0 panic=-1";

/// os-release of the UKI `run --netboot --uefi` makes.
const OSREL: &str = "NAME=\"Zero-OS\"\nID=zos\nPRETTY_NAME=\"Zero-OS (zos-builder run --netboot)\"\n";

/// Boot `dir` if given, else a netboot directory of the default image written to
/// `<output>/netboot` (with a vmlinuz.efi for `uefi`).
pub fn run(opts: &RunOptions, dir: Option<&Path>, uefi: bool) -> Result<RunReport, NetbootRunError> {
    let (dir, image, notes) = match dir {
        Some(d) => {
            if opts.batch
                && !std::fs::read_to_string(d.join(CMDLINE)).is_ok_and(|c| c.contains("zinit.report=poweroff"))
            {
                eprintln!(
                    "netboot: {} has no zinit.report=poweroff in its cmdline: --batch waits for the timeout",
                    d.join(CMDLINE).display()
                );
            }
            let artefact = d.join(if uefi { UKI } else { INITRAMFS });
            (d.to_path_buf(), summary_of(&artefact), String::new())
        }
        None => build_dir(opts, uefi)?,
    };
    let work = opts.output.join("netboot-run");
    let mut boot = NetBoot::new(Arch::host(), &dir, uefi, &work)?;
    boot.memory_mb = opts.memory_mb;
    boot.interactive = !opts.batch;
    boot.timeout = opts.timeout;
    boot.serial_log = opts.output.join("serial.log");
    let outcome = boot.run()?;
    Ok(RunReport {
        image,
        init_phase_ms: init_phase_ms(&outcome.log),
        boot_json: crate::boot_json::save(&outcome.log, &opts.output.join("boot.json")),
        timeline: crate::zinit::timeline::parse(&outcome.log),
        outcome,
        serial_log: boot.serial_log,
        notes,
    })
}

/// The default image of `run`, its kernel and (UEFI) a UKI, as `<output>/netboot`.
fn build_dir(opts: &RunOptions, uefi: bool) -> Result<(PathBuf, ImageSummary, String), NetbootRunError> {
    let kernel = zos_host::kernel::debian_cloud_kernel(Arch::host())?;
    let init = crate::compose::init_binary(opts.init.as_deref(), opts.mode).map_err(RunError::from)?;
    let (image, notes) = default_image(&opts.output, &init, opts.mode, opts.batch)?;
    let report = if opts.batch { "zinit.report=poweroff " } else { "" };
    let cmdline = compose(RUN_BASE, &Params::default(), &format!("{report}{}", opts.append))?;
    let mut req = Request {
        out: opts.output.join("netboot"),
        kernel: Some(kernel.vmlinuz.clone()),
        initramfs: Some(image.path.clone()),
        efi: None,
        cmdline,
    };
    if uefi {
        let stub = zos_host::efi::systemd_stub(Arch::host())?;
        let uki = opts.output.join(UKI);
        crate::efi::build_uki(&stub, &kernel.vmlinuz, &image.path, &req.cmdline, OSREL, &uki)?;
        req.efi = Some(uki);
    }
    let layout = write(&req)?;
    Ok((layout.dir, image, notes))
}

/// What a given directory boots, for the report: its size only (no cpio was packed
/// here, so the entry counts are unknown and left at 0).
fn summary_of(path: &Path) -> ImageSummary {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    ImageSummary {
        path: path.to_path_buf(),
        entries: 0,
        uncompressed_bytes: 0,
        compressed_bytes: bytes,
    }
}
