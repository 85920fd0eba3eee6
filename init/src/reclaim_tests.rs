use super::*;
use crate::sys::linux::LinuxSys;
use crate::sys::record::RecordSys;
use std::fs;

/// The old root as the fake sees it: files and dirs on device 1, the new root a mount
/// (device 2) with a file of its own.
fn old_root() -> RecordSys {
    let sys = RecordSys::default();
    sys.tree
        .borrow_mut()
        .dir("/", 1)
        .dir("/a", 1)
        .file("/a/1", 1, 0o644, 4096)
        .file("/a/keep", 1, 0o644, 8192)
        .dir("/b", 1)
        .dir("/b/c", 1)
        .file("/b/c/2", 1, 0o644, 4096)
        .dir("/mnt", 1)
        .dir("/mnt/root", 2)
        .file("/mnt/root/zinit", 2, 0o755, 4096)
        .file("/top", 1, 0o644, 4096);
    sys
}

#[test]
fn the_old_root_goes_depth_first_and_the_new_root_mount_stays() {
    let sys = old_root();
    let cleared = clear_tree(&sys, Path::new("/")).unwrap();
    let left: Vec<_> = sys
        .tree
        .borrow()
        .nodes
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(left, ["/", "/mnt", "/mnt/root", "/mnt/root/zinit"]);
    // a, a/1, a/keep, b, b/c, b/c/2, top; /mnt counts (its rmdir is EBUSY-like: non-empty).
    assert_eq!(cleared.entries, 8, "{:?}", sys.calls());
    assert_eq!(cleared.bytes, 4096 * 3 + 8192);
    assert!(cleared.failed.is_empty(), "{:?}", cleared.failed);
    let calls = sys.calls();
    let at = |l: &str| {
        calls
            .iter()
            .position(|c| c == l)
            .unwrap_or_else(|| panic!("{l}: {calls:?}"))
    };
    assert!(at("rm /b/c/2") < at("rmdir /b/c") && at("rmdir /b/c") < at("rmdir /b"));
    assert!(!calls.iter().any(|c| c.starts_with("rm /mnt/root")), "{calls:?}");
}

/// The fake twin of the chattr test below: a failing unlink is reported with its
/// path and errno, and everything else still goes.
#[test]
fn a_failing_entry_is_reported_and_the_removal_goes_on() {
    let sys = old_root();
    sys.fail_on("unlink", "/a/keep", Errno::PERM);
    sys.fail_on("opendir", "/b", Errno::ACCESS);
    let cleared = clear_tree(&sys, Path::new("/")).unwrap();
    assert_eq!(cleared.failed.len(), 2, "{:?}", cleared.failed);
    assert!(cleared.failed[0].contains("/a/keep") && cleared.failed[0].contains("EPERM"));
    assert!(cleared.failed[1].contains("opendir /b") && cleared.failed[1].contains("EACCES"));
    let tree = sys.tree.borrow();
    assert!(tree.nodes.contains_key(Path::new("/a/keep")) && tree.nodes.contains_key(Path::new("/b/c/2")));
    assert!(!tree.nodes.contains_key(Path::new("/a/1")) && !tree.nodes.contains_key(Path::new("/top")));
}

#[test]
fn remove_path_takes_a_file_or_a_tree_and_keeps_a_mount_inside() {
    let sys = old_root();
    assert_eq!(remove_path(&sys, Path::new("/top")).unwrap().entries, 1);
    let c = remove_path(&sys, Path::new("/b")).unwrap();
    assert_eq!((c.entries, c.bytes), (3, 4096));
    let c = remove_path(&sys, Path::new("/mnt")).unwrap();
    assert_eq!(c.entries, 0, "the mount point below keeps /mnt: {:?}", sys.calls());
    assert!(sys.tree.borrow().nodes.contains_key(Path::new("/mnt")));
    let e = remove_path(&sys, Path::new("/nope")).unwrap_err();
    assert_eq!(e.errno, Errno::NOENT);
}

/// One entry that cannot be removed (immutable) must not stop the removal of the
/// others; it is reported with its path and errno.
#[test]
fn old_root_removal_removes_what_it_can_and_reports_the_rest() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    for d in ["a", "b/c", "z"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    for f in ["a/1", "a/keep", "b/c/2", "z/3", "top"] {
        fs::write(root.join(f), "x").unwrap();
    }
    let keep = root.join("a/keep");
    let chattr = |flag: &str| std::process::Command::new("chattr").arg(flag).arg(&keep).status();
    match chattr("+i") {
        Ok(s) if s.success() => {}
        other if std::env::var("ZOS_SKIP_ROOT_TESTS").as_deref() == Ok("1") => {
            eprintln!("SKIP: chattr +i needs root (CAP_LINUX_IMMUTABLE) on ext4/xfs: {other:?}");
            return;
        }
        other => panic!(
            "needs root: chattr +i on {} ({other:?}); ZOS_SKIP_ROOT_TESTS=1 skips it knowingly",
            keep.display()
        ),
    }
    let cleared = clear_tree(&LinuxSys, root);
    chattr("-i").unwrap();
    let cleared = cleared.unwrap();
    let mut left: Vec<_> = fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["a"], "only the dir holding the immutable file is left");
    assert_eq!(fs::read_dir(root.join("a")).unwrap().count(), 1);
    assert_eq!(cleared.failed.len(), 1, "{:?}", cleared.failed);
    assert!(cleared.failed[0].contains("a/keep"), "{:?}", cleared.failed);
    assert!(
        cleared.failed[0].contains("EPERM") || cleared.failed[0].contains("not permitted"),
        "{:?}",
        cleared.failed
    );
}
