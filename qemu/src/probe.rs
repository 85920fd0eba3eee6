//! Locating the `zos-probe` guest binary (tests/probe), building it when needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use zos_host::{exec, Arch, Error};

/// The static `zos-probe` for `arch`: `$ZOS_PROBE_BIN` when set, else built with
/// `cargo build --release -p zos-probe --target <arch>-unknown-linux-musl` in this
/// workspace (cargo makes it a no-op when up to date).
pub fn probe_binary(arch: Arch) -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("ZOS_PROBE_BIN") {
        let p = PathBuf::from(p);
        return match p.is_file() {
            true => Ok(p),
            false => Err(Error::Missing {
                what: "the probe binary named by ZOS_PROBE_BIN".into(),
                path: p,
            }),
        };
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    exec::run(
        Command::new(cargo)
            .args(["build", "--release", "-p", "zos-probe", "--target"])
            .arg(arch.musl_target())
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(&workspace),
    )?;
    let bin = target_dir.join(arch.musl_target()).join("release/zos-probe");
    if !bin.is_file() {
        return Err(Error::Missing {
            what: "zos-probe after cargo build".into(),
            path: bin,
        });
    }
    Ok(bin)
}
