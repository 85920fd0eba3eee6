//! zinit 0.2.11 unit lint: each kind of error on a small fixture set (the message must
//! name the file), the shipped set configs/zinit lints clean on structure, and against
//! the real demo rootfs (Debian's busybox-static with its applet links, as `zos-builder
//! run` packs) lint keeps exactly the units whose programs are there.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use zos_builder::zinit::image::ImageView;
use zos_builder::zinit::install::{runnable, shipped_units, unit_extras};
use zos_builder::zinit::{lint, LintReport, UnitSet};

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, text).unwrap();
    p
}

/// Lint `dir` against `rootfs` (None: exec not checked).
fn check(dir: &Path, rootfs: Option<&Path>) -> LintReport {
    let (set, errors) = UnitSet::load(dir);
    let view = rootfs.map(|r| ImageView::new(Some(r), &unit_extras(&set)));
    lint(&set, errors, view.as_ref())
}

fn messages(r: &LintReport) -> Vec<String> {
    r.errors.iter().map(|e| e.to_string()).collect()
}

/// One error, naming `file`, containing `needle`.
fn expect_one(r: &LintReport, file: &Path, needle: &str) {
    let m = messages(r);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(m[0].starts_with(&file.display().to_string()), "{m:#?}");
    assert!(m[0].contains(needle), "want {needle:?} in {m:#?}");
}

/// A rootfs with a busybox (a script standing in), `sh` and `mdev` links to it.
fn busybox_root(dir: &Path) -> PathBuf {
    let r = dir.join("rootfs");
    fs::create_dir_all(r.join("bin")).unwrap();
    fs::create_dir_all(r.join("sbin")).unwrap();
    fs::write(r.join("bin/busybox"), "#!/bin/busybox sh\n").unwrap();
    fs::set_permissions(r.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("/bin/busybox", r.join("bin/sh")).unwrap();
    symlink("../bin/busybox", r.join("sbin/mdev")).unwrap();
    symlink("/bin/nowhere", r.join("sbin/broken")).unwrap();
    r
}

#[test]
fn parse_errors_name_the_file() {
    let t = tempfile::tempdir().unwrap();
    let f = write(t.path(), "y/udevd.yaml", "exec: [udevd\n");
    expect_one(&check(&t.path().join("y"), None), &f, "does not parse");
    // A `: ` in a plain exec makes it a mapping: zinit skips the file.
    let f = write(t.path(), "z/say.yaml", "exec: echo a: b\n");
    expect_one(&check(&t.path().join("z"), None), &f, "does not parse");
}

#[test]
fn unknown_keys_are_errors_not_silence() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "y/udevd.yaml", "exec: udevd\n");
    let f = write(
        t.path(),
        "y/trigger.yaml",
        "exec: udevadm settle\noneshot: true\nafer: [udevd]\n",
    );
    expect_one(&check(&t.path().join("y"), None), &f, "unknown key `afer`");
}

#[test]
fn wrong_value_types() {
    let t = tempfile::tempdir().unwrap();
    let f = write(t.path(), "y/a.yaml", "exec: true\noneshot: sometimes\n");
    expect_one(&check(&t.path().join("y"), None), &f, "bad value");
}

#[test]
fn after_must_name_units() {
    let t = tempfile::tempdir().unwrap();
    let f = write(t.path(), "y/sshd.yaml", "exec: sshd -D\nafter: [sshd-setup]\n");
    expect_one(&check(&t.path().join("y"), None), &f, "`after` names `sshd-setup`");
}

#[test]
fn dependency_cycles() {
    let t = tempfile::tempdir().unwrap();
    let a = write(t.path(), "y/a.yaml", "exec: x\nafter: [c]\n");
    write(t.path(), "y/b.yaml", "exec: x\nafter: [a]\n");
    write(t.path(), "y/c.yaml", "exec: x\nafter: [b]\n");
    write(t.path(), "y/d.yaml", "exec: x\nafter: [a]\n");
    expect_one(
        &check(&t.path().join("y"), None),
        &a,
        "dependency cycle a -> c -> b -> a",
    );
}

#[test]
fn exec_programs_must_be_in_the_image() {
    let t = tempfile::tempdir().unwrap();
    let root = busybox_root(t.path());
    // zinit 0.2 runs exec without a shell: the program is looked up in the init's PATH.
    write(t.path(), "y/udevd.yaml", "exec: mdev -df\n");
    let f = write(t.path(), "y/ntp.yaml", "exec: ntpd -n\n");
    expect_one(
        &check(&t.path().join("y"), Some(&root)),
        &f,
        "`ntpd` is not in any PATH directory",
    );
    let f = write(t.path(), "y/udevd.yaml", "exec: /sbin/broken\n");
    fs::remove_file(t.path().join("y/ntp.yaml")).unwrap();
    expect_one(
        &check(&t.path().join("y"), Some(&root)),
        &f,
        "/bin/nowhere does not exist",
    );
    // A program inside `sh -c` counts too.
    let f = write(t.path(), "y/udevd.yaml", "exec: sh -c 'mdev -s; haveged -F'\n");
    expect_one(
        &check(&t.path().join("y"), Some(&root)),
        &f,
        "its script runs `haveged`",
    );
}

#[test]
fn the_shipped_yaml_set_is_clean() {
    let dir = shipped_units();
    let r = check(&dir, None);
    assert!(r.is_clean(), "{r}");
    let (set, _) = UnitSet::load(&dir);
    let mut names: Vec<_> = set.units.iter().map(|u| u.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cgroup",
            "haveged",
            "local-modprobe",
            "ntp",
            "routing",
            "sshd",
            "sshd-setup",
            "udev-trigger",
            "udevd"
        ]
    );
}

#[test]
fn on_the_demo_rootfs_lint_keeps_the_units_busybox_can_run() {
    let busybox = zos_qemu::busybox::busybox_static().expect("busybox-static (apt, cached)");
    let applets = zos_qemu::busybox::applets(&busybox).unwrap();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    zos_builder::rootfs::busybox_rootfs(&root, &busybox, &applets).unwrap();
    let sel = runnable(Some(&root), &[], &shipped_units()).unwrap();
    let kept: Vec<&str> = sel.set.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(kept, ["cgroup", "routing"], "{}", sel.describe());
    let text = sel.describe();
    for (unit, why) in [
        ("haveged", "`haveged` is not in any PATH"),
        ("ntp", "`ntpd` is not in any PATH"),
        ("local-modprobe", "its script runs `prlimit`"),
        ("sshd-setup", "its script runs `ssh-keygen`"),
        ("sshd", "/usr/sbin/sshd does not exist"),
        ("udev-trigger", "its script runs `udevadm`"),
        ("udevd", "`udevd` is not in any PATH"),
    ] {
        assert!(
            text.contains(&format!("left out unit {unit}: ")) && text.contains(why),
            "{unit}: {text}"
        );
    }
    // The run units (boot-report and its script, console) need nothing busybox lacks.
    if let Err(e) = zos_builder::zinit::report::extras(Some(&root), &[], false) {
        panic!("{e}");
    }
}

#[test]
fn lint_command() {
    let bin = env!("CARGO_BIN_EXE_zos-builder");
    // The default set is found from the current directory, as an operator in a
    // checkout runs it (not through a path compiled into the binary).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ok = Command::new(bin).arg("lint").current_dir(&root).output().unwrap();
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(out.contains("9 units for zinit 0.2.11: clean"), "{out}");
    assert!(out.contains("configs/zinit"), "{out}");
    let t = tempfile::tempdir().unwrap();
    let elsewhere = Command::new(bin).arg("lint").current_dir(t.path()).output().unwrap();
    assert_eq!(elsewhere.status.code(), Some(1));
    let err = String::from_utf8_lossy(&elsewhere.stderr);
    assert!(
        err.contains("no unit directories given and configs/zinit is not in the current directory"),
        "{err}"
    );
    let f = write(t.path(), "y/a.yaml", "exec: x\nafter: [b]\n");
    let bad = Command::new(bin).arg("lint").arg(t.path().join("y")).output().unwrap();
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1));
    assert!(out.contains(&format!("{}: `after` names `b`", f.display())), "{out}");
}

#[test]
fn lint_of_a_missing_path_or_a_file_says_so() {
    let bin = env!("CARGO_BIN_EXE_zos-builder");
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("nonexistent");
    let file = write(t.path(), "plain-file", "x");
    for (p, why) in [(&missing, "it does not exist"), (&file, "it is not a directory")] {
        let o = Command::new(bin).arg("lint").arg(p).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(
            out.contains(&format!("{}: not a unit directory: {why}", p.display())),
            "{out}"
        );
        assert!(!out.contains("no units"), "{out}");
    }
}
