//! `lint`: zinit unit sets.

use std::path::PathBuf;

use anyhow::Result;

use crate::zinit::{install::shipped_units, Generation};

pub fn run(mut dirs: Vec<PathBuf>, rootfs: Option<PathBuf>) -> Result<()> {
    if dirs.is_empty() {
        dirs = vec![shipped_units(Generation::V2Yaml), shipped_units(Generation::V1Toml)];
    }
    let (text, clean) = crate::zinit::cli::lint_dirs(&dirs, rootfs.as_deref());
    print!("{text}");
    anyhow::ensure!(clean, "lint found errors");
    Ok(())
}
