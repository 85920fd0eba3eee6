//! `zos-builder netboot`: arguments and printing. Lives in the library so main.rs only
//! gains one variant and one match arm.

use std::path::PathBuf;

use anyhow::Result;

use super::{compose, from_build, write, Params};

#[derive(clap::Args, Debug)]
pub struct NetbootArgs {
    /// The build directory of `zos-builder build`: initramfs.cpio*, vmlinuz.efi and
    /// the kernel unpacked in stages/kernel.
    #[arg(long, value_name = "DIR", default_value = "output")]
    pub from: PathBuf,
    /// The netboot directory to write.
    #[arg(
        long = "out-dir",
        alias = "out",
        short_alias = 'o',
        value_name = "DIR",
        default_value = "output/netboot"
    )]
    pub out: PathBuf,
    /// The BIOS kernel (bzImage) instead of the one found under stages/kernel.
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,
    /// The image instead of <from>/initramfs.cpio*.
    #[arg(long, value_name = "PATH")]
    pub initramfs: Option<PathBuf>,
    /// The unified kernel image instead of <from>/vmlinuz.efi.
    #[arg(long, value_name = "PATH")]
    pub efi: Option<PathBuf>,
    /// The start of the cmdline (console settings of the target machines).
    #[arg(long, default_value = "console=ttyS0", value_name = "WORDS")]
    pub base: String,
    /// `farmer_id=` for the zos daemons.
    #[arg(long, value_name = "ID")]
    pub farmer_id: Option<String>,
    /// `runmode=` (dev, test, prod...).
    #[arg(long, value_name = "MODE")]
    pub runmode: Option<String>,
    /// `version=` (v3...); not `--version`, which prints the builder's.
    #[arg(long = "zos-version", value_name = "VERSION")]
    pub zos_version: Option<String>,
    /// More parameters, passed through as given (e.g. "ip=dhcp zos-debug").
    #[arg(long, default_value = "", value_name = "WORDS")]
    pub append: String,
}

pub fn run(args: NetbootArgs) -> Result<()> {
    let mut req = match from_build(&args.from) {
        Ok(r) => r,
        // Explicit artefacts need no build directory.
        Err(_) if args.initramfs.is_some() || args.efi.is_some() => Default::default(),
        Err(e) => return Err(e.into()),
    };
    req.out = args.out;
    req.kernel = args.kernel.or(req.kernel);
    req.initramfs = args.initramfs.or(req.initramfs);
    req.efi = args.efi.or(req.efi);
    let params = Params {
        farmer_id: args.farmer_id,
        runmode: args.runmode,
        version: args.zos_version,
    };
    req.cmdline = compose(&args.base, &params, &args.append)?;
    let layout = write(&req)?;
    for f in &layout.files {
        println!("{}", layout.dir.join(f).display());
    }
    if !layout.bios {
        eprintln!("netboot: no BIOS kernel found (pass --kernel): UEFI only");
    }
    if !layout.uefi {
        eprintln!("netboot: no vmlinuz.efi (the efi stage needs a [kernel] source): BIOS only");
    }
    println!("cmdline: {}", req.cmdline);
    Ok(())
}
