//! `completions SHELL` and `man DIR`: generated from the clap definition of the command
//! line itself, so they cannot drift from the flags the binary accepts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The shell's completion script on stdout (`zos-builder completions bash >
/// /etc/bash_completion.d/zos-builder`).
pub fn completions(shell: clap_complete::Shell, mut cmd: clap::Command) -> Result<()> {
    let name = cmd.get_name().to_string();
    let mut out = std::io::stdout();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    Ok(())
}

/// `DIR/zos-builder.1` and one page per subcommand (`zos-builder-build.1`, ...), as
/// git and cargo ship theirs; returns the files written.
pub fn man(dir: &Path, cmd: clap::Command) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    let name = cmd.get_name().to_string();
    let mut written = vec![page(dir, &name, cmd.clone())?];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let full = format!("{name}-{}", sub.get_name());
        let sub = sub.clone().name(full.clone()).version(env!("CARGO_PKG_VERSION"));
        written.push(page(dir, &full, sub)?);
    }
    Ok(written)
}

fn page(dir: &Path, name: &str, cmd: clap::Command) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.1"));
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .with_context(|| format!("render {name}.1"))?;
    std::fs::write(&path, buf).with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}
