//! switch_root for real, without QEMU: as root, this test re-runs itself under
//! `unshare --mount --pid --fork` so the child is PID 1 in a private mount namespace.
//! The child chroots into a scratch tmpfs (the "initramfs"), bind-mounts a host
//! directory on its /mnt/root (the "new root") and calls `switch_root` with the real
//! `LinuxSys`. The handover target is a busybox script that writes what it sees into
//! the new root, which is a host directory the parent reads afterwards. An fd on the
//! old root, inherited across exec, lets the script list what switch_root left there.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use zos_init::switch_root::{switch_root, Handover};
use zos_init::sys::linux::LinuxSys;

const CHILD_ENV: &str = "ZOS_SWITCH_ROOT_CHILD";

#[test]
fn switch_root_in_a_namespace() {
    if !common::needs_root("switch_root_in_a_namespace") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let old = work.path().join("old");
    let new = work.path().join("new");
    fs::create_dir_all(&old).unwrap();
    make_new_root(&new);

    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--pid", "--fork", "--"])
        .arg(exe)
        .args([
            "--exact",
            "child_switches_root",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, work.path())
        .output()
        .expect("run unshare (util-linux)");
    let console = fs::read_to_string(new.join("dev/console")).unwrap_or_default();
    let report = format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}\nconsole:\n{console}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The child's harness never reports: exec replaced it. The script's exit is ours.
    let facts: Vec<&str> = console.lines().filter_map(|l| l.strip_prefix("FACT ")).collect();
    assert!(facts.contains(&"pid=1"), "{report}");
    assert!(facts.contains(&"argv=/sbin/zinit init"), "{report}");
    assert!(
        facts.contains(&"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "{report}"
    );
    assert!(facts.contains(&"root=new-root-marker"), "{report}");
    // stdio was reopened on the new root's /dev/console (a plain file here).
    assert!(facts.contains(&"stdout=/dev/console"), "{report}");
    // The old root was emptied without crossing into the mount inside it: what is left
    // is the empty mnt/root the new root was moved from, and the other mount's content.
    let left: Vec<&str> = facts.iter().filter_map(|f| f.strip_prefix("old-root-left=")).collect();
    assert_eq!(left, ["keep", "keep/survivor", "mnt", "mnt/root"], "{report}");
    // No signal ignored: Rust ignores SIGPIPE, and execve would pass that on.
    assert!(facts.contains(&"SigIgn:0000000000000000"), "{report}");
}

/// The new root: a plain host directory, so the parent can read it after the child.
fn make_new_root(new: &Path) {
    for d in ["bin", "sbin", "dev", "proc", "etc"] {
        fs::create_dir_all(new.join(d)).unwrap();
    }
    fs::copy(common::host_busybox(), new.join("bin/busybox")).unwrap();
    for a in ["sh", "ls", "find", "cat", "sort", "readlink", "grep"] {
        symlink("busybox", new.join("bin").join(a)).unwrap();
    }
    fs::write(new.join("etc/marker"), "new-root-marker\n").unwrap();
    fs::write(new.join("dev/console"), "").unwrap();
    // fd 9 is the old root, opened by the child without O_CLOEXEC.
    let script = r#"#!/bin/sh
echo "FACT pid=$$"
echo "FACT argv=$0 $*"
echo "FACT PATH=$PATH"
echo "FACT root=$(cat /etc/marker)"
echo "FACT stdout=$(readlink /proc/$$/fd/1)"
(cd /proc/self/fd/9 && find . -mindepth 1 | sed 's|^\./||' | sort | while read -r p; do echo "FACT old-root-left=$p"; done)
echo "FACT $(grep SigIgn /proc/self/status | tr -d " \t")"
"#;
    fs::write(new.join("sbin/zinit"), script).unwrap();
    fs::set_permissions(new.join("sbin/zinit"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("/bin/busybox", new.join("bin/sed")).unwrap();
}

/// Runs only inside the namespace made by the test above (as PID 1 there).
#[test]
#[ignore = "run by switch_root_in_a_namespace inside unshare"]
fn child_switches_root() {
    let Some(work) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let work = Path::new(&work);
    let (old, new) = (work.join("old"), work.join("new"));
    let sh = |cmd: &str| {
        let st = Command::new("/bin/sh").arg("-c").arg(cmd).status().unwrap();
        assert!(st.success(), "{cmd}");
    };
    sh("mount --make-rprivate /");
    sh(&format!("mount -t tmpfs -o size=64M oldroot {}", old.display()));
    // The "initramfs": files to free, a mount inside it to leave alone, the mount point.
    for d in ["bin", "etc/deep/er", "mnt/root", "keep"] {
        fs::create_dir_all(old.join(d)).unwrap();
    }
    fs::write(old.join("init"), vec![7u8; 1 << 20]).unwrap();
    fs::write(old.join("etc/deep/er/file"), "x").unwrap();
    symlink("/nowhere", old.join("bin/dangling")).unwrap();
    sh(&format!(
        "mount -t tmpfs keep {0}/keep && echo s > {0}/keep/survivor",
        old.display()
    ));
    sh(&format!("mount --bind {} {}/mnt/root", new.display(), old.display()));
    sh(&format!("mount -t proc proc {}/mnt/root/proc", old.display()));

    // fd 9 on the old root, inherited by the handover target (no O_CLOEXEC).
    let dir = fs::File::open(&old).unwrap();
    let fd = rustix::io::fcntl_dupfd_cloexec(&dir, 9).unwrap();
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty()).unwrap();
    std::mem::forget(fd);

    // SIGPIPE is ignored by Rust's runtime: switch_root must reset it for the target.
    rustix::process::chroot(&old).unwrap();
    rustix::process::chdir("/").unwrap();
    let argv = vec!["/sbin/zinit".to_string(), "init".to_string()];
    let env = vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()];
    let h = Handover {
        new_root: "/mnt/root",
        target: "/sbin/zinit",
        argv: &argv,
        env: &env,
        bound: false,
    };
    let err = switch_root(&LinuxSys, &h, &mut || {});
    panic!("switch_root returned: {err:?}");
}
