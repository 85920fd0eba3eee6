//! `ls`, `cat` and `unpack`: reading images.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

pub fn ls(image: &Path) -> Result<()> {
    print!("{}", crate::inspect::list_image(image)?);
    Ok(())
}

pub fn cat(image: &Path, path: &str) -> Result<()> {
    let data = crate::unpack::cat(image, path)?;
    std::io::stdout().write_all(&data).context("stdout")?;
    Ok(())
}

pub fn unpack(image: &Path, dir: &Path) -> Result<()> {
    let r = crate::unpack::unpack(image, dir)?;
    for s in &r.skipped {
        eprintln!("skipped {s}");
    }
    println!(
        "{}: {} files, {} dirs, {} symlinks, {} hard links; owners and modes in {}; {} skipped",
        dir.display(),
        r.files,
        r.dirs,
        r.symlinks,
        r.hardlinks,
        r.owners.display(),
        r.skipped.len()
    );
    Ok(())
}
