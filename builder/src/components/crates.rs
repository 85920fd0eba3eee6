//! `source = "crates"`: `cargo install CRATE@VERSION --target <musl>` once, cached in
//! `<cache>/crates/<crate>-<version>-<target>/bin/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::fetch::{FetchOptions, Fetched};
use super::lock::Component;
use super::ComponentError;

pub fn build(c: &Component, opts: &FetchOptions) -> Result<Fetched, ComponentError> {
    let krate = c.krate.as_deref().unwrap_or_default();
    let version = c.version.as_deref().unwrap_or_default();
    let bin = c.bin.as_deref().unwrap_or(krate);
    let target = opts.arch.musl_target();
    let dir = opts
        .cache
        .root()
        .join("crates")
        .join(format!("{krate}-{version}-{target}"));
    let path = dir.join("bin").join(bin);
    if path.is_file() {
        return Ok(Fetched {
            note: format!("{}: crates.io {krate}@{version} cached {}", c.name, path.display()),
            path,
        });
    }
    if opts.cache.offline() {
        return Err(ComponentError::Offline {
            name: c.name.clone(),
            url: format!("crates.io {krate}@{version}"),
            path,
        });
    }
    install(c, krate, version, target, &dir)?;
    if !path.is_file() {
        return Err(ComponentError::Build {
            name: c.name.clone(),
            cmd: format!("cargo install {krate}@{version}"),
            why: format!("no binary {bin} in {}", dir.join("bin").display()),
        });
    }
    Ok(Fetched {
        note: format!("{}: crates.io {krate}@{version} built {}", c.name, path.display()),
        path,
    })
}

/// Into `<dir>.partial`, renamed into place when complete, so a killed build never
/// leaves a half entry that the next build would take for done.
fn install(c: &Component, krate: &str, version: &str, target: &str, dir: &Path) -> Result<(), ComponentError> {
    let partial: PathBuf = dir.with_extension("partial");
    let target_dir = dir.with_extension("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let spec = format!("{krate}@{version}");
    let mut cmd = Command::new(cargo);
    cmd.args(["install", "--locked", &spec, "--target", target, "--root"])
        .arg(&partial)
        .arg("--target-dir")
        .arg(&target_dir);
    if !c.features.is_empty() {
        cmd.args(["--features", &c.features.join(",")]);
    }
    let shown = format!(
        "cargo install --locked {spec} --target {target} --root {}",
        partial.display()
    );
    let fail = |why: String| ComponentError::Build {
        name: c.name.clone(),
        cmd: shown.clone(),
        why,
    };
    let status = cmd.status().map_err(|e| fail(e.to_string()))?;
    let _ = fs::remove_dir_all(&target_dir);
    if !status.success() {
        return Err(fail(format!("{status}")));
    }
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| fail(format!("rm -r {}: {e}", dir.display())))?;
    }
    fs::rename(&partial, dir).map_err(|e| fail(format!("rename {}: {e}", partial.display())))
}
