//! Building this workspace's static binaries (the init, the test probe) for the musl
//! target: they run before any libc exists in the image.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

#[derive(Debug, thiserror::Error)]
pub enum CargoError {
    #[error("run {cmd}: {cause}")]
    Spawn { cmd: String, cause: std::io::Error },
    #[error("{cmd} failed ({status}); pass a prebuilt binary instead (e.g. --init PATH)")]
    Failed {
        cmd: String,
        status: std::process::ExitStatus,
    },
    #[error("{cmd} succeeded but {} is missing", path.display())]
    Missing { cmd: String, path: PathBuf },
}

/// The workspace root (this crate's parent directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo build --release -p <package> --bin <bin> --target x86_64-unknown-linux-musl`,
/// returning the binary's path. Adds the rustup target first when rustup is there
/// (rust-toolchain.toml names it, but older rustups only honour that on install).
pub fn build_musl(package: &str, bin: &str) -> Result<PathBuf, CargoError> {
    build(package, bin, false, MUSL_TARGET)
}

/// The same without the package's default features (a release init: no debug
/// injection), in its own target dir so the two variants don't rebuild each other.
pub fn build_musl_no_default(package: &str, bin: &str) -> Result<PathBuf, CargoError> {
    build(package, bin, true, MUSL_TARGET)
}

/// [`build_musl`] for another Rust target, e.g. `aarch64-unknown-linux-musl`
/// (TARGETARCH=arm64; linked by rust-lld, see .cargo/config.toml).
pub fn build_musl_for(package: &str, bin: &str, target: &str) -> Result<PathBuf, CargoError> {
    build(package, bin, false, target)
}

/// [`build_musl_no_default`] for another Rust target.
pub fn build_musl_no_default_for(package: &str, bin: &str, target: &str) -> Result<PathBuf, CargoError> {
    build(package, bin, true, target)
}

/// std compiled with the binary (docs/DEPENDENCIES.md, "Size"): LTO then reaches into
/// std, and std comes without its `backtrace` feature, whose symbolizer (gimli,
/// addr2line, rustc-demangle: ~120 KB) only serves std's default panic hook, which
/// the init replaces before anything can panic. panic_abort, not
/// panic_immediate_abort: the init's panic hook (the emergency path) must still run.
/// These are nightly flags, taken on the stable toolchain with RUSTC_BOOTSTRAP=1 for
/// this one cargo run; the size test (tests/init_size.rs) pins what they buy.
const BUILD_STD: [&str; 2] = ["-Zbuild-std=std,panic_abort", "-Zbuild-std-features=optimize_for_size"];

/// Whether the toolchain has std's source (the rust-src component, which
/// rust-toolchain.toml names; older rustups only honour that on install, so add it).
fn std_source_available(workspace: &Path) -> bool {
    let library = |w: &Path| {
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(w)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .is_some_and(|root| root.join("lib/rustlib/src/rust/library/std/Cargo.toml").is_file())
    };
    if library(workspace) {
        return true;
    }
    let _ = Command::new("rustup")
        .args(["component", "add", "rust-src"])
        .current_dir(workspace)
        .status();
    library(workspace)
}

fn build(package: &str, bin: &str, no_default: bool, target: &str) -> Result<PathBuf, CargoError> {
    let workspace = root();
    if let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(&workspace)
        .output()
    {
        if out.status.success() && !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == target) {
            let _ = Command::new("rustup")
                .args(["target", "add", target])
                .current_dir(&workspace)
                .status();
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let base = std::env::var_os("CARGO_TARGET_DIR")
        // cargo resolves a relative CARGO_TARGET_DIR against its working directory.
        .map(|d| workspace.join(d))
        .unwrap_or_else(|| workspace.join("target"));
    let target_dir = if no_default {
        base.join("no-default-features")
    } else {
        base
    };
    let target_dir_arg = target_dir.to_string_lossy().into_owned();
    let mut args = vec!["build", "--release", "-p", package, "--bin", bin, "--target", target];
    if no_default {
        args.extend(["--no-default-features", "--target-dir", target_dir_arg.as_str()]);
    }
    let own_std = std_source_available(&workspace);
    if own_std {
        args.extend(BUILD_STD);
    } else {
        eprintln!(
            "{package}: no rust-src component: linking the prebuilt std, about 260 KB more \
             (rustup component add rust-src; docs/DEPENDENCIES.md)"
        );
    }
    let cmd = format!("{} {}", cargo.to_string_lossy(), args.join(" "));
    let mut command = Command::new(&cargo);
    command.args(&args).current_dir(&workspace);
    if own_std {
        // -Z flags on the stable toolchain: see BUILD_STD.
        command.env("RUSTC_BOOTSTRAP", "1");
    }
    let status = command.status().map_err(|cause| CargoError::Spawn {
        cmd: cmd.clone(),
        cause,
    })?;
    if !status.success() {
        return Err(CargoError::Failed { cmd, status });
    }
    let path = target_dir.join(target).join("release").join(bin);
    if !path.is_file() {
        return Err(CargoError::Missing { cmd, path });
    }
    Ok(path)
}
