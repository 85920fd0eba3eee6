//! Running helper programs (apt, dpkg, depmod) with errors that show the command;
//! public for zos-qemu's OVMF and probe helpers.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::Error;

/// The command as a shell-like line, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Run to completion and capture; only a failure to start is an error.
pub fn output(cmd: &mut Command) -> Result<Output, Error> {
    cmd.stdin(Stdio::null()).output().map_err(|source| Error::Spawn {
        cmd: describe(cmd),
        source,
    })
}

/// Run to completion; a non-zero exit is an error carrying stderr.
pub fn run(cmd: &mut Command) -> Result<Output, Error> {
    let out = output(cmd)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(failed(cmd, &out))
    }
}

pub fn failed(cmd: &Command, out: &Output) -> Error {
    Error::Command {
        cmd: describe(cmd),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    }
}

/// Effective uid 0? (/proc/self is owned by the effective uid; avoids a libc dep.)
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `which`.
pub fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file())
}

/// Find `tool` in PATH; when missing and root, `apt-get install` its `package` (with
/// one `apt-get update` if the first install fails), else say what to install.
pub fn ensure_tool(tool: &str, package: &str) -> Result<PathBuf, Error> {
    if let Some(p) = find_in_path(tool) {
        return Ok(p);
    }
    let missing = || Error::MissingTool {
        tool: tool.into(),
        package: package.into(),
    };
    if !is_root() {
        return Err(missing());
    }
    apt_install(package)?;
    find_in_path(tool).ok_or_else(missing)
}

/// `file` (a data file such as a firmware ROM), installing `package` when it is
/// missing and we are root, else saying what to install.
pub(crate) fn ensure_file(file: &std::path::Path, package: &str) -> Result<PathBuf, Error> {
    if !file.is_file() && is_root() {
        apt_install(package)?;
    }
    if !file.is_file() {
        return Err(Error::MissingTool {
            tool: file.display().to_string(),
            package: package.into(),
        });
    }
    Ok(file.to_path_buf())
}

/// `apt-get install` with one `apt-get update` if the first attempt fails.
fn apt_install(package: &str) -> Result<(), Error> {
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive");
    if run(&mut install).is_err() {
        run(Command::new("apt-get").arg("update"))?;
        run(&mut install)?;
    }
    Ok(())
}
