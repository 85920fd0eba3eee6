//! Running package scripts as apk-tools 2.14 runs them (package.c
//! `apk_ipkg_run_script`, database.c `apk_db_run_script`): the script is written to
//! `lib/apk/exec/<name>-<version>.<action>` in the target, the child chroots into the
//! target and execve()s it (so its shebang picks the target's own /bin/sh), with
//! argv `<action> <version> [<old version>]` and `PATH=/usr/sbin:/usr/bin:/sbin:/bin`
//! only; the file is removed afterwards. A failing script is a warning, as in apk.
//!
//! As root directly; without root in a user namespace (userns.rs). For the host's
//! own architecture, or a foreign one when a qemu-user binfmt handler with the F
//! (fix-binary) flag is registered, so the emulator is found from inside the chroot.
//! Otherwise [`ScriptRunner::new`] says why and the caller falls back to scripts.rs,
//! which lists every script not run.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::{io_at, Result};
use super::owners::{Owner, Owners};
use super::userns::Caller;

pub const EXEC_DIR: &str = "lib/apk/exec";

pub struct ScriptRunner {
    root: PathBuf,
    /// Without root: the ids namespace root maps to (userns.rs).
    pub userns: Option<Caller>,
}

/// The architecture this builder runs on, in Alpine's names.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        "x86" => "x86",
        "riscv64" => "riscv64",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "loongarch64" => "loongarch64",
        "arm" => "armv7",
        other => other,
    }
}

/// Effective uid 0, read from /proc so the library needs no syscall crate.
pub fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// An enabled binfmt_misc handler for `arch` (qemu-user registers `qemu-<arch>`)
/// with the F flag: the interpreter opened at registration, so it runs inside a
/// chroot that has no qemu of its own. Err says what is missing.
pub fn binfmt_for(arch: &str) -> std::result::Result<(), String> {
    let qemu = match arch {
        "armv7" | "armhf" => "arm",
        "x86" => "i386",
        a => a,
    };
    let p = Path::new("/proc/sys/fs/binfmt_misc").join(format!("qemu-{qemu}"));
    let text = fs::read_to_string(&p).map_err(|_| format!("no qemu-user binfmt handler ({} absent)", p.display()))?;
    let flags = text.lines().find_map(|l| l.strip_prefix("flags:")).unwrap_or("");
    if !text.lines().any(|l| l == "enabled") {
        Err(format!("{} is disabled", p.display()))
    } else if !flags.contains('F') {
        Err(format!(
            "{} lacks the F flag (its interpreter is not found inside a chroot)",
            p.display()
        ))
    } else {
        Ok(())
    }
}

impl ScriptRunner {
    /// A runner for `root`, or the reason scripts cannot run on this host.
    pub fn new(root: &Path, arch: &str) -> std::result::Result<ScriptRunner, String> {
        if std::env::var_os("ZOS_APK_NO_SCRIPTS").is_some_and(|v| v == "1") {
            return Err("ZOS_APK_NO_SCRIPTS=1".into());
        }
        if arch != host_arch() && arch != "noarch" {
            binfmt_for(arch).map_err(|why| format!("target {arch} on a {} host: {why}", host_arch()))?;
        }
        let userns = if running_as_root() {
            None
        } else {
            super::userns::available().map_err(|why| format!("not root, and {why}"))?;
            Some(Caller::current())
        };
        // Absolute: the child changes to / before it chroots (Command's current_dir
        // comes before pre_exec), so a relative `--out` would miss.
        let root = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
        Ok(ScriptRunner { root, userns })
    }

    /// How scripts run, for the build log.
    pub fn how(&self) -> String {
        match self.userns {
            None => "chrooted in the target with its own /bin/sh, as apk does".into(),
            Some(c) => format!(
                "chrooted in the target with its own /bin/sh, in a user namespace (root = uid {} gid {}; \
                 chowns to other ids fail there, the recorded owners stay)",
                c.uid, c.gid
            ),
        }
    }

    /// [`apply_to_host`] as this runner's host can carry it.
    pub fn apply_to_host(&self, owners: &Owners) -> Result<()> {
        match self.userns {
            None => apply_to_host(&self.root, owners),
            Some(_) => super::userns::apply_to_host(&self.root, owners),
        }
    }

    /// [`record_tree`] as this runner's host records it.
    pub fn record_tree(&self, owners: &mut Owners) -> Result<()> {
        match self.userns {
            None => record_tree(&self.root, owners),
            Some(c) => super::userns::record_tree(&self.root, owners, c),
        }
    }

    /// [`init_root`]; without root there are no device nodes to make (a script's
    /// /dev is the host's, bound in its namespace), the directories still come.
    pub fn init_root(&self) -> Result<()> {
        init_root(&self.root, self.userns.is_none())
    }

    /// Runs one script; returns the log line (an exit status other than 0 is said,
    /// not fatal, as apk says "script exited with error").
    pub fn run(&self, nv: &str, action: &str, body: &[u8], args: &[&str]) -> Result<String> {
        let dir = self.root.join(EXEC_DIR);
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(io_at(&dir))?;
            // apk makes it 0700 (scripts are not for other users to read or race),
            // and leaves an existing one as it is (the minirootfs has it 0755).
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_at(&dir))?;
        }
        let rel = format!("{EXEC_DIR}/{nv}.{action}");
        let host = self.root.join(&rel);
        fs::write(&host, body).map_err(io_at(&host))?;
        fs::set_permissions(&host, fs::Permissions::from_mode(0o755)).map_err(io_at(&host))?;
        let root = self.root.clone();
        let mut cmd = Command::new(format!("/{rel}"));
        cmd.arg0(action)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .current_dir("/");
        match self.userns {
            Some(c) => super::userns::prepare(&mut cmd, &root, c),
            // SAFETY: chroot and chdir are async-signal-safe; nothing else runs here.
            None => unsafe {
                cmd.pre_exec(move || {
                    std::os::unix::fs::chroot(&root)?;
                    std::env::set_current_dir("/")
                });
            },
        }
        let out = cmd.output();
        let _ = fs::remove_file(&host);
        let out = out.map_err(io_at(&host))?;
        let mut line = format!(
            "script {nv}.{action}: ran chrooted in the target{}",
            if self.userns.is_some() { " (user namespace)" } else { "" }
        );
        if !out.status.success() {
            line.push_str(&format!(
                "; WARNING: exited with {} (apk goes on too): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(line)
    }
}

/// What `apk --initdb` makes in a new root before any package (apk-tools 2.14
/// database.c `apk_db_open`): dev/ with null, zero, random, urandom (0666) and console
/// (0600), proc/ 0555 (apk mounts procfs there; no script we meet needs it, so it
/// stays an empty dir), var/cache/apk/. Without dev/null, a script's `>/dev/null`
/// would leave a regular file there. Existing paths are left alone.
pub fn init_root(root: &Path, nodes: bool) -> Result<()> {
    use rustix::fs::{makedev, mknodat, FileType, Mode, CWD};
    let dir = |rel: &str, mode: u32| -> Result<()> {
        let p = root.join(rel);
        if !p.exists() {
            fs::create_dir_all(&p).map_err(io_at(&p))?;
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).map_err(io_at(&p))?;
        }
        Ok(())
    };
    dir("dev", 0o755)?;
    dir("proc", 0o555)?;
    dir("var/cache/apk", 0o755)?;
    if !nodes {
        return Ok(());
    }
    for (name, mode, major, minor) in [
        ("null", 0o666, 1, 3),
        ("zero", 0o666, 1, 5),
        ("random", 0o666, 1, 8),
        ("urandom", 0o666, 1, 9),
        ("console", 0o600, 5, 1),
    ] {
        let p = root.join("dev").join(name);
        if p.symlink_metadata().is_ok() {
            continue;
        }
        mknodat(
            CWD,
            &p,
            FileType::CharacterDevice,
            Mode::from_raw_mode(mode),
            makedev(major, minor),
        )
        .map_err(|e| io_at(&p)(e.into()))?;
        // mknod honours the umask; apk's nodes end up with the full mode.
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).map_err(io_at(&p))?;
    }
    Ok(())
}

/// After extraction, directories that were already on the host keep the owner and
/// mode they had: apk does not re-chmod an existing directory (chrony's
/// `var/log/chrony` stays as its pre-install `adduser` made it, 100:101 02755, not the
/// tar's 0:10 02750; proc stays 0555).
pub fn keep_existing_dirs(root: &Path, before: &Owners, owners: &mut Owners) {
    for (rel, o) in &before.map {
        if fs::symlink_metadata(root.join(rel)).is_ok_and(|m| m.is_dir()) {
            owners.set(rel.clone(), *o);
        }
    }
}

/// As root the host tree is the record: gives every manifest entry its owner and full
/// mode on the host (symlinks: owner only), so scripts see what apk would leave.
pub fn apply_to_host(root: &Path, owners: &Owners) -> Result<()> {
    for (rel, o) in &owners.map {
        let p = root.join(rel);
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        std::os::unix::fs::lchown(&p, Some(o.uid), Some(o.gid)).map_err(io_at(&p))?;
        if !m.file_type().is_symlink() {
            fs::set_permissions(&p, fs::Permissions::from_mode(o.mode)).map_err(io_at(&p))?;
        }
    }
    Ok(())
}

/// Every entry below `root` (relative path, metadata without following links, mode
/// as the manifest keeps it: 0777 for a symlink), depth first.
pub fn walk_tree(root: &Path, mut f: impl FnMut(PathBuf, &fs::Metadata, u32)) -> Result<()> {
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let dir = root.join(&rel);
        for e in fs::read_dir(&dir).map_err(io_at(&dir))? {
            let e = e.map_err(io_at(&dir))?;
            let r = rel.join(e.file_name());
            let m = fs::symlink_metadata(e.path()).map_err(io_at(e.path()))?;
            if m.is_dir() {
                todo.push(r.clone());
            }
            let mode = if m.file_type().is_symlink() {
                0o777
            } else {
                m.mode() & 0o7777
            };
            f(r, &m, mode);
        }
    }
    Ok(())
}

/// Records every entry of the host tree in `owners` (after scripts, which chown and
/// chmod on the host), so the manifest and the image say what the scripts did.
pub fn record_tree(root: &Path, owners: &mut Owners) -> Result<()> {
    walk_tree(root, |r, m, mode| {
        owners.set(
            r,
            Owner {
                uid: m.uid(),
                gid: m.gid(),
                mode,
            },
        )
    })
}

/// Shell-style match of `glob` (`*` only, as in apk's trigger globs) against `path`.
/// apk matches with fnmatch(FNM_PATHNAME): a `*` never spans a `/`.
pub fn glob_match(glob: &str, path: &str) -> bool {
    match glob.split_once('*') {
        None => glob == path,
        Some((head, tail)) => {
            path.starts_with(head)
                && (0..=path.len() - head.len())
                    .take_while(|&i| !path.as_bytes()[head.len()..head.len() + i].contains(&b'/'))
                    .filter(|&i| path.is_char_boundary(head.len() + i))
                    .any(|i| glob_match(tail, &path[head.len() + i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn trigger_globs_match_like_fnmatch_pathname() {
        assert!(glob_match("/bin", "/bin"));
        assert!(glob_match("/lib/modules/*", "/lib/modules/6.1.0"));
        assert!(!glob_match("/lib/modules/*", "/lib/modules/6.1.0/kernel"));
        assert!(!glob_match("/usr/bin", "/usr/bin/x"));
        assert!(glob_match("/usr/*/bin", "/usr/local/bin"));
    }
}
