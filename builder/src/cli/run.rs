//! `run`: the default image under QEMU (the logic is in `crate::run`).

use std::path::PathBuf;

use anyhow::Result;

#[derive(clap::Args)]
pub struct RunArgs {
    /// No terminal: boot, wait for the services, print the boot timeline and
    /// `zinit list`, power off with `zinit shutdown`.
    #[arg(long)]
    batch: bool,
    /// Extra kernel command line (e.g. "zos.log=debug zos.tmpfs=2G").
    #[arg(long, default_value = "")]
    append: String,
    /// Guest RAM in MiB.
    #[arg(long, default_value_t = 1024)]
    memory: u32,
    /// A prebuilt /init instead of building zos-init.
    #[arg(long, value_name = "PATH")]
    init: Option<PathBuf>,
    /// Output directory: the rootfs, the image, serial.log and (--batch) boot.json.
    #[arg(long = "out-dir", alias = "output", value_name = "DIR", default_value = "output")]
    output: PathBuf,
    /// debug (default) or release: see `build --mode`.
    #[arg(long, default_value = "debug", env = "BUILDMODE")]
    mode: String,
    /// Seconds before a --batch run is killed (an interactive run ends when you quit).
    #[arg(long, default_value_t = 120, requires = "batch")]
    timeout: u64,
    /// Boot over iPXE and QEMU's TFTP: from DIR (`zos-builder netboot`), or without
    /// DIR from a netboot directory of this run's image (<output>/netboot).
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    netboot: Option<Option<PathBuf>>,
    /// With --netboot: UEFI (OVMF) instead of BIOS.
    #[arg(long, requires = "netboot")]
    uefi: bool,
}

pub fn run(args: RunArgs) -> Result<()> {
    if let (Some(Some(dir)), Some(_)) = (&args.netboot, &args.init) {
        anyhow::bail!(
            "--init has nothing to replace with --netboot {}: that directory's image is booted as it is",
            dir.display()
        );
    }
    let opts = crate::run::RunOptions {
        output: args.output,
        init: args.init,
        append: args.append,
        memory_mb: args.memory,
        batch: args.batch,
        timeout: std::time::Duration::from_secs(args.timeout),
        mode: args.mode.parse().map_err(anyhow::Error::msg)?,
    };
    let report = match &args.netboot {
        None => crate::run::run(&opts)?,
        Some(dir) => crate::netboot::boot::run(&opts, dir.as_deref(), args.uefi)?,
    };
    let t = &report.timeline;
    print!("{}", report.notes);
    if opts.batch {
        // The whole boot on one clock: kernel, the init's stages, zinit, services up.
        print!("boot timeline (s since boot, QEMU TCG):\n{t}");
        println!("zinit list when the services were up:");
        t.zinit_list.iter().for_each(|l| println!("  {l}"));
    }
    println!(
        "image: {} ({} bytes)",
        report.image.path.display(),
        report.image.compressed_bytes
    );
    println!("serial log: {}", report.serial_log.display());
    match &report.boot_json {
        Ok(p) => println!("boot report: {} (zos-builder timeline {0})", p.display()),
        Err(e) => eprintln!("no boot.json: {e}; see {}", report.serial_log.display()),
    }
    match report.init_phase_ms {
        Some(ms) => println!("init phase: {ms:.1} ms (from the init's own log, QEMU TCG)"),
        None => anyhow::bail!("the init never reached handover; see {}", report.serial_log.display()),
    }
    if let Some(up) = t.services_up {
        println!("services up: {up:.2} s after boot (zinit's boot-report unit)");
    }
    if report.outcome.timed_out {
        anyhow::bail!("QEMU was killed after {} s", args.timeout);
    }
    if opts.batch {
        anyhow::ensure!(!t.panicked, "the kernel panicked; see {}", report.serial_log.display());
        anyhow::ensure!(
            t.services_up.is_some() && t.powered_off,
            "no clean `zinit shutdown` after the services came up; see {}",
            report.serial_log.display()
        );
        if let Err(e) = &report.boot_json {
            anyhow::bail!("no boot.json in {}: {e}", opts.output.display());
        }
    }
    Ok(())
}
