//! `lint`: zinit unit sets.

use std::path::PathBuf;

use anyhow::Result;

/// The default unit sets, relative to the current directory as every other command's
/// defaults are (configs/build.toml, configs/packages.txt, output/): the production
/// set and the units `run` and the tests add to it.
pub const DEFAULT_DIRS: [&str; 2] = ["configs/zinit", "configs/zinit-run"];

pub fn run(mut dirs: Vec<PathBuf>, rootfs: Option<PathBuf>) -> Result<()> {
    if dirs.is_empty() {
        dirs = DEFAULT_DIRS.iter().map(PathBuf::from).collect();
        if let Some(missing) = dirs.iter().find(|d| !d.is_dir()) {
            anyhow::bail!(
                "no unit directories given and {} is not in the current directory: \
                 name the directories, or run from the repository root",
                missing.display()
            );
        }
    }
    let (text, clean) = crate::zinit::cli::lint_dirs(&dirs, rootfs.as_deref());
    print!("{text}");
    anyhow::ensure!(clean, "lint found errors");
    Ok(())
}
