//! The `zos-builder` CLI: parses the command line and dispatches; each subcommand's
//! arguments and printing are in the library (`cli/`, `*/cli.rs`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use zos_builder::cli;

#[derive(Parser)]
#[command(
    name = "zos-builder",
    version,
    about = "Builds and inspects Zero-OS initramfs images"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Pack a rootfs and /init into an initramfs image.
    // Boxed: the knob flags make it much larger than the other variants.
    Build(Box<cli::build::BuildArgs>),
    /// List the entries of an image (any compression, concatenated archives).
    Ls {
        /// The image file.
        image: PathBuf,
    },
    /// Print one file of an image on stdout (symlinks followed inside the image).
    Cat {
        image: PathBuf,
        /// Path in the image, e.g. /etc/zos-init.conf.
        path: String,
    },
    /// Extract an image into DIR without root: owners and modes go to DIR.owners,
    /// device nodes are skipped (listed).
    Unpack { image: PathBuf, dir: PathBuf },
    /// Pinned GitHub/crates.io/local components (configs/components.lock).
    Components {
        #[command(subcommand)]
        cmd: zos_builder::components::cli::ComponentsCmd,
    },
    /// Build the default image (busybox userland, the init, zinit 0.2.11 with the
    /// configs/zinit units it can run) and boot it under QEMU with a shell on this
    /// terminal (`zinit shutdown` ends it; Ctrl-A X quits QEMU).
    Run(cli::run::RunArgs),
    /// Write a netboot directory from a build: iPXE scripts (BIOS and UEFI), the
    /// kernel, image and vmlinuz.efi, and the cmdline with Zero-OS's parameters
    /// (docs/NETBOOT.md).
    Netboot(zos_builder::netboot::cli::NetbootArgs),
    /// Install Alpine packages (configs/packages.txt) into a rootfs directory natively:
    /// no Docker, no apk, no root; `build --rootfs DIR` then packs it with its owners.
    Rootfs(zos_builder::apk::cli::RootfsArgs),
    /// Check zinit 0.2.11 unit sets as zinit reads them: files it would skip, unknown
    /// keys it ignores, `after` naming no unit, cycles; with --rootfs, an exec or test
    /// (or a command of its `sh -c` script) whose program that rootfs lacks.
    Lint {
        /// Unit directories [default: configs/zinit and configs/zinit-run of the
        /// current directory, like the other commands' defaults].
        dirs: Vec<PathBuf>,
        /// Check exec programs against this rootfs (PATH lookup, symlinks inside it).
        #[arg(long, value_name = "DIR")]
        rootfs: Option<PathBuf>,
    },
    /// Benchmark the Rust /init against the shell /init it replaces and a floor init,
    /// under QEMU TCG: init phase, smallest RAM, modules, pack time (docs/BENCHMARKS.md).
    Bench(zos_builder::bench::cli::BenchArgs),
    /// Draw the init's boot report (/run/zos-init/boot.json) as an SVG timeline.
    Timeline {
        /// The boot.json file.
        report: PathBuf,
        /// Output SVG [default: the report's name with .svg].
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a completion script for SHELL on stdout (bash, zsh, fish, elvish,
    /// powershell), e.g. `zos-builder completions bash > ~/.local/share/bash-completion/completions/zos-builder`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages into DIR: zos-builder.1 and zos-builder-SUBCOMMAND.1 for each
    /// subcommand (`man -l DIR/zos-builder-build.1`).
    Man {
        /// The directory to write (created when missing).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Bars on a terminal, a line every few seconds for a long step otherwise.
    zos_builder::progress::enable();
    let result = match cli.cmd {
        Cmd::Build(args) => cli::build::run(*args),
        Cmd::Ls { image } => cli::image::ls(&image),
        Cmd::Cat { image, path } => cli::image::cat(&image, &path),
        Cmd::Unpack { image, dir } => cli::image::unpack(&image, &dir),
        Cmd::Components { cmd } => zos_builder::components::cli::run(cmd),
        Cmd::Run(args) => cli::run::run(args),
        Cmd::Netboot(args) => zos_builder::netboot::cli::run(args),
        Cmd::Rootfs(args) => zos_builder::apk::cli::run(args),
        Cmd::Lint { dirs, rootfs } => cli::lint::run(dirs, rootfs),
        Cmd::Timeline { report, output } => cli::timeline::run(&report, output),
        Cmd::Bench(args) => zos_builder::bench::cli::run(args).map_err(Into::into),
        Cmd::Completions { shell } => cli::docs::completions(shell, Cli::command()),
        Cmd::Man { dir } => cli::docs::man(&dir, Cli::command()).map(|pages| {
            pages.iter().for_each(|p| println!("{}", p.display()));
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` puts the whole cause chain on one line.
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
