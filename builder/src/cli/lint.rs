//! `lint`: zinit unit sets.

use std::path::PathBuf;

use anyhow::Result;

pub fn run(mut dirs: Vec<PathBuf>, rootfs: Option<PathBuf>) -> Result<()> {
    if dirs.is_empty() {
        // The production set and the units `run` and the tests add to it.
        dirs = vec![
            crate::zinit::install::shipped_units(),
            crate::zinit::report::units_dir(),
        ];
    }
    let (text, clean) = crate::zinit::cli::lint_dirs(&dirs, rootfs.as_deref());
    print!("{text}");
    anyhow::ensure!(clean, "lint found errors");
    Ok(())
}
