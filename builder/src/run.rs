//! `zos-builder run`: the main job. Gets what it needs itself (the Debian cloud kernel
//! and busybox-static through apt into the cache, QEMU when missing), builds the init,
//! lays out the default busybox userland with zinit 0.2.11 (built from source once and
//! cached, src/zinit/binary.rs) as /sbin/zinit, the production handover `/sbin/zinit
//! init`, and the units of configs/zinit whose programs the image has (lint says which
//! it left out and why), plus configs/zinit-run. It packs it and boots it under QEMU TCG
//! with the console on the terminal (a shell from the `console` unit). With `--batch`
//! the `boot-report` unit powers off with `zinit shutdown` once the services are up,
//! and the boot timeline is read back from the serial log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zos_host::launch::{Boot, BootOutcome};
use zos_host::Arch;

use crate::compose::{self, Essential, ModuleTreeSource, ModulesSource, Pack, Recipe, RootfsSource, ZinitSource};
use crate::mode::BuildMode;
use crate::tiers::Tiers;
use crate::{Compression, ImageSummary};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Qemu(#[from] zos_host::Error),
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
}

pub struct RunOptions {
    /// Where the rootfs, the image and the serial log go.
    pub output: PathBuf,
    /// A prebuilt /init; built with cargo when None.
    pub init: Option<PathBuf>,
    /// Extra kernel cmdline.
    pub append: String,
    pub memory_mb: u32,
    /// No terminal: zinit powers off once the services are up; killed after `timeout`.
    pub batch: bool,
    pub timeout: Duration,
    /// debug or release (docs/BUILD.md): the init's features and config keys.
    pub mode: BuildMode,
}

pub struct RunReport {
    pub image: ImageSummary,
    pub outcome: BootOutcome,
    /// From the init's closing line.
    pub init_phase_ms: Option<f64>,
    /// Kernel, init and zinit lines on one clock (docs/OVERVIEW.md).
    pub timeline: crate::zinit::timeline::Timeline,
    pub serial_log: PathBuf,
    /// OUTPUT/boot.json, the init's report carried by the serial log (crate::boot_json).
    pub boot_json: Result<PathBuf, crate::boot_json::BootJsonError>,
    /// Where zinit came from (source, commit, toolchain, sha256) and the units lint
    /// left out, one line each.
    pub notes: String,
}

/// Build the default image into `opts.output` and boot it.
pub fn run(opts: &RunOptions) -> Result<RunReport, RunError> {
    let kernel = zos_host::kernel::debian_cloud_kernel(Arch::host())?;
    let init = compose::init_binary(opts.init.as_deref(), opts.mode)?;
    let (image, notes) = default_image(&opts.output, &init, opts.mode, opts.batch)?;

    let mut boot = Boot::new(&kernel, &image.path);
    boot.memory_mb = opts.memory_mb;
    boot.interactive = !opts.batch;
    boot.timeout = opts.timeout;
    boot.serial_log = opts.output.join("serial.log");
    // printk.devkmsg=on: zinit's log lines reach the console through /dev/kmsg with the
    // kernel's timestamp (the timeline), none dropped by the rate limit.
    boot.append = if opts.batch {
        // Read by the boot-report unit (configs/zinit-run/zos-boot-report).
        format!(
            "printk.devkmsg=on {} {}",
            crate::zinit::report::POWEROFF_FLAG,
            opts.append
        )
    } else {
        format!("printk.devkmsg=on {}", opts.append)
    };
    let outcome = boot.run()?;
    let init_phase_ms = init_phase_ms(&outcome.log);
    let timeline = crate::zinit::timeline::parse(&outcome.log);
    Ok(RunReport {
        image,
        boot_json: crate::boot_json::save(&outcome.log, &opts.output.join("boot.json")),
        outcome,
        init_phase_ms,
        timeline,
        serial_log: boot.serial_log,
        notes,
    })
}

/// The default image's recipe: `output/rootfs` (busybox userland) with the test
/// kernel's minimal tier (btrfs, fuse, virtio: coldplug has work to do), zinit 0.2.11
/// and the units it can run there (the console unit too unless `batch`).
pub fn default_recipe(output: &Path, mode: BuildMode, batch: bool) -> Result<Recipe, compose::ComposeError> {
    Ok(Recipe {
        rootfs: RootfsSource::Busybox(output.join("rootfs")),
        mode,
        essential: Essential::Keep,
        modules: Some(ModulesSource {
            tree: ModuleTreeSource::TestKernel,
            tiers: Tiers::preset("minimal")?,
            staging: output.join("modules-staging"),
        }),
        zinit: Some(ZinitSource::Runnable { batch }),
        extras: Vec::new(),
    })
}

/// [`default_recipe`] packed with `init` into `output/initramfs.cpio.zst`; returns the
/// image and the notes of [`RunReport::notes`].
pub fn default_image(
    output: &Path,
    init: &Path,
    mode: BuildMode,
    batch: bool,
) -> Result<(ImageSummary, String), RunError> {
    let prepared = default_recipe(output, mode, batch)?.prepare()?;
    let pack = Pack {
        compression: Compression::Zstd,
        root_owned: true,
        output: output.join("initramfs.cpio.zst"),
        ..Default::default()
    };
    Ok((prepared.pack(init, &[], &pack)?, prepared.notes))
}

/// The init phase in ms, from `zos-init: init phase done in 107.8 ms (...)`.
pub fn init_phase_ms(log: &str) -> Option<f64> {
    log.lines().rev().find_map(|l| {
        let rest = l.split("zos-init: init phase done in ").nth(1)?;
        rest.split(" ms").next()?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_init_phase_line() {
        let log = "[    1.9] zos-init: switch: done in 3.5 ms\n\
                   [    1.903113] zos-init: init phase done in 107.8 ms (started at 1.795 s, handover at 1.903 s): exec /sbin/zinit init\n";
        assert_eq!(init_phase_ms(log), Some(107.8));
        assert_eq!(init_phase_ms("no init here"), None);
    }
}
