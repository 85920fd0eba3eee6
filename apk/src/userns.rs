//! Scripts without root: the child enters a new user namespace and mount namespace
//! (unshare), maps namespace root to the building user and group (one id each, which
//! an unprivileged process may write for itself), bind-mounts the host's /dev onto
//! the target's dev/ (so `>/dev/null` in a script is the device, not a new file in
//! the image), then chroots as chroot.rs does as root.
//!
//! With one id mapped, a script's `chown` to another id fails (EINVAL): the owners
//! stay the ones the manifest records (tar headers, names resolved after the users
//! exist); the script's exit status says it, as a warning. On the host every file
//! belongs to the building user and keeps only permission bits (no setuid on the
//! host), so the manifest stays the record: [`record_tree`] takes from the host only
//! what a script can change there (new entries, modes it set).

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rustix::fs::{Mode, OFlags};

use super::error::{io_at, Result};
use super::owners::{Owner, Owners};

/// The building user's ids, which namespace root maps to.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
}

impl Caller {
    pub fn current() -> Caller {
        Caller {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        }
    }
}

/// What the child does between fork and exec: everything precomputed, so nothing
/// allocates after the fork.
struct Setup {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// `<root>/dev`, when it exists, for the bind of the host's /dev.
    dev: Option<CString>,
    root: PathBuf,
}

fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(&fd, data)?;
    Ok(())
}

impl Setup {
    fn new(root: &Path, c: Caller) -> Setup {
        let dev = root.join("dev");
        Setup {
            uid_map: format!("0 {} 1", c.uid).into_bytes(),
            gid_map: format!("0 {} 1", c.gid).into_bytes(),
            dev: dev
                .is_dir()
                .then(|| CString::new(dev.as_os_str().as_bytes()).ok())
                .flatten(),
            root: root.to_owned(),
        }
    }

    fn enter(&self, chroot: bool) -> std::io::Result<()> {
        use rustix::thread::UnshareFlags;
        // SAFETY: called in the forked child before exec, single-threaded; no file
        // descriptor table is unshared (only the user and mount namespaces).
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER | UnshareFlags::NEWNS)? };
        // setgroups must be denied before an unprivileged process may map its gid.
        write_proc(c"/proc/self/setgroups", b"deny")?;
        write_proc(c"/proc/self/uid_map", &self.uid_map)?;
        write_proc(c"/proc/self/gid_map", &self.gid_map)?;
        if !chroot {
            return Ok(());
        }
        if let Some(dev) = &self.dev {
            // Mounts made here stay in the child's namespace: nothing leaks to the host.
            rustix::mount::mount_bind_recursive(c"/dev", dev.as_c_str())?;
        }
        std::os::unix::fs::chroot(&self.root)?;
        std::env::set_current_dir("/")
    }
}

/// Prepares `cmd` to run as namespace root chrooted in `root`.
pub fn prepare(cmd: &mut Command, root: &Path, c: Caller) {
    let setup = Setup::new(root, c);
    // SAFETY: `enter` only makes syscalls on data prepared before the fork
    // (unshare, open/write of /proc files, mount, chroot, chdir).
    unsafe {
        cmd.pre_exec(move || setup.enter(true));
    }
}

/// Can this host give an unprivileged process a user namespace? Tried, not guessed
/// (kernels and containers differ: sysctls, seccomp, AppArmor).
pub fn available() -> std::result::Result<(), String> {
    let setup = Setup::new(Path::new("/nonexistent"), Caller::current());
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "exit 0"]);
    // SAFETY: as in `prepare`.
    unsafe {
        cmd.pre_exec(move || setup.enter(false));
    }
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("user namespace probe exited with {s}")),
        Err(e) => Err(format!("no user namespace for an unprivileged build: {e}")),
    }
}

/// Host mode for a manifest mode: permission bits only, owner-writable so later
/// packages (extracted outside the namespace) can add and replace files.
fn host_mode(mode: u32, dir: bool) -> u32 {
    (mode & 0o777) | if dir { 0o700 } else { 0o600 }
}

/// Gives manifest entries their modes on the host, as far as the host may carry them.
pub fn apply_to_host(root: &Path, owners: &Owners) -> Result<()> {
    for (rel, o) in &owners.map {
        let p = root.join(rel);
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        if !m.file_type().is_symlink() {
            let want = host_mode(o.mode, m.is_dir());
            if m.mode() & 0o7777 != want {
                fs::set_permissions(&p, fs::Permissions::from_mode(want)).map_err(io_at(&p))?;
            }
        }
    }
    Ok(())
}

/// After scripts: entries new on the host join the manifest as root's (the caller is
/// namespace root); recorded ones keep their owner, and their mode unless a script
/// changed it on the host.
pub fn record_tree(root: &Path, owners: &mut Owners, c: Caller) -> Result<()> {
    let mut seen = Vec::new();
    super::chroot::walk_tree(root, |r, m, host| {
        let o = match owners.map.get(&r) {
            Some(o) if m.file_type().is_symlink() || host == host_mode(o.mode, m.is_dir()) => *o,
            Some(o) => Owner { mode: host, ..*o },
            None => Owner {
                uid: if m.uid() == c.uid { 0 } else { m.uid() },
                gid: if m.gid() == c.gid { 0 } else { m.gid() },
                mode: host,
            },
        };
        seen.push((r, o));
    })?;
    for (r, o) in seen {
        owners.set(r, o);
    }
    Ok(())
}
