//! The copy engine through the recorder's in-memory tree: the order of its calls
//! (free as it goes), hard links, metadata, and each error naming its path and errno.
//! (tests/copy_engine.rs runs it on real tmpfs trees as root.)

use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::{copy_tree, measure, pages, resolve_sources, CopySpec, CopyStats};
use crate::sys::record::{Call, RecordSys, Shared};
use crate::sys::record_memfs::MemFs;
use crate::sys::{Errno, NodeKind, Time};

fn spec(free_source: bool) -> CopySpec {
    CopySpec {
        patterns: vec!["/bin".into(), "/usr".into()],
        exclude: vec![],
        free_source,
    }
}

/// /bin/a, /bin/b (a 3 KiB file with an xattr, owned 1000:50), /bin/ln -> a,
/// /usr/a-link (a hard link of /bin/a), /usr/fifo, and an empty new root.
fn scene() -> RecordSys {
    let mut t = MemFs::with(&["/", "/bin/", "/bin/a", "/usr/", "/mnt/", "/mnt/root/"]);
    let b = t.file("/bin/b", &[7u8; 3000]);
    (b.stat.uid, b.stat.gid, b.stat.perm) = (1000, 50, 0o4755);
    b.stat.mtime = Time { sec: 1234, nsec: 56 };
    b.xattrs
        .insert(CString::new("security.capability").unwrap(), vec![1, 2, 3]);
    t.symlink("/bin/ln", "a");
    t.hardlink("/bin/a", "/usr/a-link").unwrap();
    let fifo = t.file("/usr/fifo", b"");
    fifo.stat.kind = NodeKind::Fifo;
    RecordSys {
        files: Shared::new(t),
        ..Default::default()
    }
}

fn copy(sys: &RecordSys, free: bool) -> Result<CopyStats, super::CopyError> {
    let sources = resolve_sources(sys, Path::new("/"), &spec(free))?;
    copy_tree(
        sys,
        Path::new("/"),
        Path::new("/mnt/root"),
        &sources,
        &spec(free),
        &mut |_| {},
    )
}

/// The recorded file-level calls, one line each.
fn fs_calls(sys: &RecordSys) -> Vec<String> {
    sys.entries()
        .iter()
        .filter(|c| matches!(c, Call::Fs(_)))
        .map(Call::to_string)
        .collect()
}

fn at(calls: &[String], line: &str) -> usize {
    calls
        .iter()
        .position(|c| c == line)
        .unwrap_or_else(|| panic!("{line} not in {calls:#?}"))
}

#[test]
fn each_file_is_freed_right_after_its_copy_and_each_dir_after_its_children() {
    let sys = scene();
    let stats = copy(&sys, true).unwrap();
    let calls = fs_calls(&sys);
    // /bin/a: copied (content, then metadata with times last), then unlinked, before
    // the walk looks at /bin/b.
    let a = [
        "open(/bin/a, Read)",
        "open(/mnt/root/bin/a, Create)",
        "copy_range(/bin/a -> /mnt/root/bin/a, 0..6)",
        "truncate(/mnt/root/bin/a)",
        "chown(/mnt/root/bin/a)",
        "chmod(/mnt/root/bin/a)",
        "utimens(/mnt/root/bin/a)",
        "unlink(/bin/a)",
        "lstat(/bin/b)",
    ];
    let pos: Vec<_> = a.iter().map(|l| at(&calls, l)).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{calls:#?}");
    // A directory: created before its children, its metadata and rmdir after them.
    assert!(at(&calls, "mkdir(/mnt/root/bin)") < at(&calls, "open(/bin/a, Read)"));
    assert!(at(&calls, "unlink(/bin/ln)") < at(&calls, "utimens(/mnt/root/bin)"));
    assert!(at(&calls, "utimens(/mnt/root/bin)") < at(&calls, "rmdir(/bin)"));
    assert!(at(&calls, "rmdir(/bin)") < at(&calls, "mkdir(/mnt/root/usr)"));
    // Everything left the source; the tree is whole in the destination.
    let files = sys.files.borrow();
    for gone in ["/bin", "/usr", "/bin/a", "/usr/a-link"] {
        assert!(files.get(gone).is_none(), "{gone} still in the source");
    }
    let b = files.get("/mnt/root/bin/b").unwrap();
    assert_eq!(b.data, vec![7u8; 3000]);
    assert_eq!((b.stat.uid, b.stat.gid, b.stat.perm), (1000, 50, 0o4755));
    assert_eq!(b.stat.mtime, Time { sec: 1234, nsec: 56 });
    assert_eq!(b.xattrs.values().collect::<Vec<_>>(), [&vec![1, 2, 3]]);
    assert_eq!(files.get("/mnt/root/bin/ln").unwrap().target, b"a");
    assert_eq!(files.get("/mnt/root/usr/fifo").unwrap().stat.kind, NodeKind::Fifo);
    assert_eq!(
        (stats.files, stats.symlinks, stats.nodes, stats.hardlinks),
        (2, 1, 1, 1)
    );
    assert_eq!(stats.dirs, 2);
    // /bin/a's inode is freed with its last link (/usr/a-link), /bin/b at once.
    assert_eq!(stats.freed_bytes, pages(1) + pages(3000));
}

#[test]
fn a_hard_link_group_is_copied_once_and_linked() {
    let sys = scene();
    let stats = copy(&sys, false).unwrap();
    let calls = fs_calls(&sys);
    assert!(calls.contains(&"link(/mnt/root/usr/a-link)".to_string()), "{calls:#?}");
    assert!(!calls.iter().any(|c| c.starts_with("open(/usr/a-link")), "{calls:#?}");
    let files = sys.files.borrow();
    let (a, link) = (
        files.get("/mnt/root/bin/a").unwrap(),
        files.get("/mnt/root/usr/a-link").unwrap(),
    );
    assert_eq!(a.stat.ino, link.stat.ino);
    assert_eq!(a.stat.nlink, 2);
    assert_eq!(stats.hardlinks, 1);
    // Without free_source, nothing is removed from the source.
    assert!(files.get("/bin/a").is_some() && files.get("/usr/a-link").is_some());
    assert!(!calls
        .iter()
        .any(|c| c.starts_with("unlink(/bin") || c.starts_with("rmdir(")));
}

#[test]
fn an_error_mid_copy_names_the_path_and_errno_and_keeps_the_source() {
    let sys = scene();
    sys.fail_on("copy_range", "/mnt/root/bin/b", Errno::NOSPC);
    let err = copy(&sys, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "copy: write /mnt/root/bin/b: ENOSPC (No space left on device)"
    );
    let files = sys.files.borrow();
    assert!(files.get("/bin/a").is_none(), "copied before the failure: freed");
    assert!(files.get("/bin/b").is_some(), "the failing file stays in the source");
    assert!(files.get("/usr/fifo").is_some(), "nothing after the failure is touched");
    drop(files);
    for (op, path, want) in [
        ("lstat", "/bin/ln", "copy: lstat /bin/ln: EIO"),
        ("mknod", "/mnt/root/usr/fifo", "copy: mknod /mnt/root/usr/fifo: EPERM"),
        ("unlink", "/bin/b", "copy: unlink /bin/b: EBUSY"),
        ("getxattr", "/bin/b", "copy: getxattr /bin/b: EIO"),
        ("setxattr", "/mnt/root/bin/b", "copy: setxattr /mnt/root/bin/b: ENOSPC"),
        ("getdents", "/usr", "copy: opendir /usr: EACCES"),
    ] {
        let sys = scene();
        let errno = match want.rsplit(' ').next() {
            Some("EIO") => Errno::IO,
            Some("EPERM") => Errno::PERM,
            Some("EBUSY") => Errno::BUSY,
            Some("ENOSPC") => Errno::NOSPC,
            _ => Errno::ACCESS,
        };
        sys.fail_on(op, path, errno);
        let err = copy(&sys, true).unwrap_err().to_string();
        assert!(err.starts_with(want), "{op} {path}: {err}");
    }
}

#[test]
fn a_destination_without_xattrs_costs_a_warning() {
    let sys = scene();
    sys.fail_on("setxattr", "/mnt/root/bin/b", Errno::OPNOTSUPP);
    let mut warnings = Vec::new();
    let sources = vec![PathBuf::from("/bin")];
    copy_tree(
        &sys,
        Path::new("/"),
        Path::new("/mnt/root"),
        &sources,
        &spec(true),
        &mut |w| warnings.push(w.to_string()),
    )
    .unwrap();
    assert_eq!(
        warnings,
        ["copy: /mnt/root/bin/b: xattr security.capability not supported on the destination, dropped"]
    );
}

#[test]
fn measure_counts_each_inode_once_and_resolve_globs_the_top_level() {
    let sys = scene();
    sys.files.borrow_mut().sized("/usr/big", 5 << 20);
    sys.files.borrow_mut().symlink("/usr/long", &"x".repeat(200));
    let sources = resolve_sources(&sys, Path::new("/"), &spec(false)).unwrap();
    assert_eq!(sources, [PathBuf::from("/bin"), PathBuf::from("/usr")]);
    let fp = measure(&sys, Path::new("/"), &sources, &spec(false)).unwrap();
    // a (once for its two links), b, big, and the long symlink's page.
    assert_eq!(fp.bytes, pages(1) + pages(3000) + (5 << 20) + 4096);
    assert_eq!((fp.files, fp.dirs, fp.largest_file), (6, 2, 5 << 20));
    let glob = CopySpec {
        patterns: vec!["/b*".into(), "/mnt".into()],
        ..spec(false)
    };
    assert_eq!(
        resolve_sources(&sys, Path::new("/"), &glob).unwrap(),
        [PathBuf::from("/bin")]
    );
    // Measuring reads only: no call creates or removes anything.
    assert_eq!(sys.first_copy_write(), None);
}
