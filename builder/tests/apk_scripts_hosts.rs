//! Package scripts on hosts other than "root, same architecture" (issue 17):
//! - without root, `zos-builder rootfs` runs them in a user namespace (root mapped to
//!   the building user; uid/gid 65534 via setpriv when the tests run as root): the
//!   chrony user comes from chrony's own `.pre-install`, the applet links from
//!   busybox's `.post-install`, and the owners by name in chrony's tar resolve to it;
//! - for a foreign architecture without a qemu-user binfmt handler they are not run,
//!   and every one is listed in a warning (report and build log). The fixture's
//!   packages are installed with `arch = aarch64` for that: the runner decides by the
//!   configured architecture, and these are the only signed packages at hand.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use apk_support::*;
use zos_builder::apk::dep::Dep;
use zos_builder::apk::owners::Owners;
use zos_builder::apk::{install, Request};

#[test]
fn scripts_run_in_a_user_namespace_without_root() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    fs::write(
        dir.join("apk.toml"),
        format!(
            "[alpine]\nrepositories = [\"{}\"]\nkeys = \"{}\"\n",
            repo319().display(),
            keys().canonicalize().unwrap().display()
        ),
    )
    .unwrap();
    fs::write(dir.join("packages.txt"), "alpine-baselayout busybox chrony\n").unwrap();
    let exe = env!("CARGO_BIN_EXE_zos-builder");
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", exe]);
        c
    } else {
        Command::new(exe)
    };
    let out = cmd
        .args(["rootfs", "--config", "apk.toml", "--packages", "packages.txt"])
        .args(["--out", "out/rootfs", "--log", "out/build.log"])
        .current_dir(dir)
        .env("ZOS_CACHE_DIR", dir.join("cache"))
        .env_remove("ZOS_APK_NO_SCRIPTS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rootfs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = fs::read_to_string(dir.join("out/build.log")).unwrap();
    assert!(log.contains("in a user namespace (root = uid "), "{log}");
    for s in [
        "script alpine-baselayout-3.4.3-r2.pre-install: ran chrooted in the target (user namespace)",
        "script busybox-1.36.1-r15.post-install: ran chrooted in the target (user namespace)",
        "script chrony-4.5-r0.pre-install: ran chrooted in the target (user namespace)",
    ] {
        assert!(log.contains(s), "{s:?} not in the log:\n{log}");
    }
    let root = dir.join("out/rootfs");
    // chrony's adduser made the user (what apk-tools gives it: 100, group 101).
    let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("chrony:x:100:101:")), "{passwd}");
    assert!(fs::read_to_string(root.join("etc/group"))
        .unwrap()
        .contains("\nshadow:x:42:"));
    // busybox --install -s, run by the script: the links point at busybox.
    assert_eq!(
        fs::read_link(root.join("bin/ls")).unwrap().to_str(),
        Some("/bin/busybox")
    );
    let owners = Owners::load(&zos_builder::apk::owners::sidecar_for(&root)).unwrap();
    let o = |p: &str| owners.map.get(std::path::Path::new(p)).copied().unwrap();
    assert_eq!((o("var/lib/chrony").uid, o("var/lib/chrony").gid), (100, 101));
    assert_eq!(
        (o("etc/shadow").uid, o("etc/shadow").gid, o("etc/shadow").mode),
        (0, 42, 0o640)
    );
    // The scripts' `>/dev/null` reached the host's device (bound in their namespace),
    // not a new regular file in the image.
    assert!(!root.join("dev/null").exists(), "dev/null made in the rootfs");
}

#[test]
fn foreign_arch_without_binfmt_lists_the_scripts_not_run() {
    let t = tempfile::tempdir().unwrap();
    let mut s = settings(&repo319().display().to_string(), &t.path().join("c"));
    s.cache_downloads = false;
    s.arch = "aarch64".into();
    let log_path = t.path().join("build.log");
    let report = install(&Request {
        root: t.path().join("root"),
        world: ["alpine-baselayout", "busybox", "chrony"]
            .iter()
            .map(|a| Dep::parse(a).unwrap())
            .collect(),
        settings: s,
        base_tar: None,
        log_path: Some(log_path.clone()),
        verbose: false,
    })
    .unwrap();
    let log = fs::read_to_string(&log_path).unwrap();
    match zos_builder::apk::chroot::binfmt_for("aarch64") {
        Err(why) => {
            assert!(
                log.contains(&format!("scripts: NOT run (target aarch64 on a x86_64 host: {why})")),
                "{log}"
            );
            let w = report.warnings.join("\n");
            assert!(w.contains("package scripts NOT run"), "{w}");
            assert!(w.contains("chrony-4.5-r0.pre-install"), "not listed: {w}");
            // What the installer does natively instead is said, not listed as lost.
            assert!(
                log.contains("script alpine-baselayout-3.4.3-r2 .pre-install: done natively"),
                "{log}"
            );
            assert!(
                log.contains("script busybox-1.36.1-r15 .post-install: done natively"),
                "{log}"
            );
            assert!(!w.contains("busybox-1.36.1-r15.post-install"), "{w}");
            assert!(log.contains(&w), "the warning is in the build log too");
        }
        // A host with qemu-aarch64 (F flag) runs them, as it should.
        Ok(()) => assert!(log.contains("script chrony-4.5-r0.pre-install: ran chrooted"), "{log}"),
    }
}
