//! `timeline`: the init's boot report as an SVG.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub fn run(report: &Path, output: Option<PathBuf>) -> Result<()> {
    let text = std::fs::read_to_string(report).with_context(|| format!("boot report {}", report.display()))?;
    let svg = crate::timeline::render(&report.display().to_string(), &text)?;
    let out = output.unwrap_or_else(|| report.with_extension("svg"));
    std::fs::write(&out, svg).with_context(|| format!("write {}", out.display()))?;
    println!("{}", out.display());
    Ok(())
}
