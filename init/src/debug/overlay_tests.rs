//! The overlay on the recorder's tree: the escapes a new root can hold (an absolute
//! link out, `..` climbing, a link as the last component, another filesystem mounted
//! in it) and a write that fails half-way, each checked on the tree and the call log.

use super::*;
use crate::sys::record::{Call, RecordSys, Shared};
use crate::sys::record_memfs::MemFs;
use std::path::PathBuf;

const ROOT: &str = "/mnt/root";

/// A debug tree at /dbg, a new root at /mnt/root and a directory outside it.
fn sys(build: impl FnOnce(&mut MemFs)) -> RecordSys {
    let mut fs = MemFs::with(&[
        "/",
        "/outside/",
        "/dbg/",
        "/mnt/",
        "/mnt/root/",
        "/mnt/root/etc/",
        "/mnt/root/usr/",
        "/mnt/root/usr/bin/",
    ]);
    build(&mut fs);
    RecordSys {
        files: Shared::new(fs),
        ..Default::default()
    }
}

fn copy(sys: &RecordSys) -> Result<OverlayStats, CopyError> {
    copy_over(sys, Path::new("/dbg"), Path::new(ROOT))
}

fn data(sys: &RecordSys, path: &str) -> Option<Vec<u8>> {
    sys.files.borrow().get(path).map(|n| n.data.clone())
}

fn kind(sys: &RecordSys, path: &str) -> Option<NodeKind> {
    sys.files.borrow().get(path).map(|n| n.stat.kind)
}

/// The paths the overlay created (mkdir, symlink, create) or renamed onto.
fn written(sys: &RecordSys) -> Vec<PathBuf> {
    sys.entries()
        .into_iter()
        .filter_map(|c| match c {
            Call::Fs(f) if f.creates() || f.op() == "rename" => Some(f.path()),
            _ => None,
        })
        .collect()
}

fn assert_stayed_inside(sys: &RecordSys) {
    let written = written(sys);
    assert!(!written.is_empty());
    for p in written {
        assert!(p.starts_with(ROOT), "wrote {} outside the root", p.display());
    }
    let files = sys.files.borrow();
    let outside = Path::new("/outside");
    assert!(
        files.paths().iter().all(|p| !p.starts_with(outside) || p == outside),
        "{:?}",
        files.paths()
    );
}

#[test]
fn one_file_over_an_existing_one_keeps_its_mode_and_owner() {
    let sys = sys(|fs| {
        fs.dir("/dbg/etc");
        fs.file("/dbg/etc/unit", b"new unit").stat.perm = 0o755;
        let old = fs.file("/mnt/root/etc/unit", b"old");
        old.stat.perm = 0o600;
        (old.stat.uid, old.stat.gid) = (5, 6);
    });
    let stats = copy(&sys).unwrap();
    assert_eq!((stats.files, stats.dirs, stats.bytes), (1, 1, 8));
    let files = sys.files.borrow();
    let unit = files.get("/mnt/root/etc/unit").unwrap();
    assert_eq!(unit.data, b"new unit");
    assert_eq!((unit.stat.perm, unit.stat.uid, unit.stat.gid), (0o600, 5, 6));
    drop(files);
    let tmp = "/mnt/root/etc/.unit.zos-debug-tmp";
    assert_eq!(
        sys.calls(),
        [
            "open(/mnt/root, DirPath)".to_string(),
            "getdents(/dbg)".into(),
            "lstat(/dbg/etc)".into(),
            "open_in_root(/mnt/root: .)".into(),
            "mkdir(/mnt/root/etc)".into(),
            "lstat(/mnt/root/etc)".into(),
            "getdents(/dbg/etc)".into(),
            "lstat(/dbg/etc/unit)".into(),
            "open_in_root(/mnt/root: etc)".into(),
            "lstat(/mnt/root/etc/unit)".into(),
            format!("unlink({tmp})"),
            format!("open({tmp}, Create)"),
            "open(/dbg/etc/unit, Read)".into(),
            format!("copy_range(/dbg/etc/unit -> {tmp}, 0..{})", u64::MAX),
            format!("chown({tmp})"),
            format!("chmod({tmp})"),
            format!("rename({tmp} -> /mnt/root/etc/unit)"),
        ]
    );
}

#[test]
fn an_absolute_link_out_of_the_root_resolves_inside_it() {
    let sys = sys(|fs| {
        fs.symlink("/mnt/root/evil", "/outside"); // nothing at /outside in the root
        fs.symlink("/mnt/root/conf", "/etc"); // the root's own /etc
        fs.dir("/dbg/evil");
        fs.file("/dbg/evil/payload", b"x");
        fs.dir("/dbg/conf");
        fs.file("/dbg/conf/unit", b"y");
    });
    copy(&sys).unwrap();
    assert_stayed_inside(&sys);
    assert_eq!(
        kind(&sys, "/mnt/root/evil"),
        Some(NodeKind::Dir),
        "replaced by a real directory"
    );
    assert_eq!(data(&sys, "/mnt/root/evil/payload").unwrap(), b"x");
    assert_eq!(
        kind(&sys, "/mnt/root/conf"),
        Some(NodeKind::Symlink),
        "followed, inside"
    );
    assert_eq!(data(&sys, "/mnt/root/etc/unit").unwrap(), b"y");
    assert_eq!(data(&sys, "/etc/unit"), None);
}

#[test]
fn dot_dot_climbing_out_stops_at_the_root() {
    let sys = sys(|fs| {
        fs.symlink("/mnt/root/up", "../../../../..");
        fs.symlink("/mnt/root/usr/bin/etc", "../../../../etc");
        fs.dir("/dbg/up");
        fs.file("/dbg/up/payload", b"y");
        fs.dir("/dbg/usr");
        fs.dir("/dbg/usr/bin");
        fs.dir("/dbg/usr/bin/etc");
        fs.file("/dbg/usr/bin/etc/unit", b"z");
    });
    copy(&sys).unwrap();
    assert_stayed_inside(&sys);
    assert_eq!(data(&sys, "/mnt/root/payload").unwrap(), b"y");
    assert_eq!(data(&sys, "/mnt/root/etc/unit").unwrap(), b"z");
    assert_eq!((data(&sys, "/payload"), data(&sys, "/mnt/payload")), (None, None));
}

#[test]
fn a_link_as_the_last_component_is_replaced_not_followed() {
    let sys = sys(|fs| {
        fs.file("/mnt/root/etc/shadow", b"secret");
        fs.symlink("/mnt/root/usr/bin/tool", "/etc/shadow"); // inside: still not written through
        fs.symlink("/mnt/root/usr/bin/out", "/outside/victim");
        fs.symlink("/mnt/root/usr/bin/sh", "busybox");
        fs.dir("/dbg/usr");
        fs.dir("/dbg/usr/bin");
        fs.file("/dbg/usr/bin/tool", b"#!/bin/sh\n").stat.perm = 0o755;
        fs.file("/dbg/usr/bin/out", b"o");
        fs.symlink("/dbg/usr/bin/sh", "dash");
    });
    let stats = copy(&sys).unwrap();
    assert_eq!((stats.files, stats.symlinks), (2, 1));
    assert_stayed_inside(&sys);
    let files = sys.files.borrow();
    let tool = files.get("/mnt/root/usr/bin/tool").unwrap();
    assert_eq!(
        (tool.stat.kind, tool.stat.perm),
        (NodeKind::File, 0o755),
        "a new file: the source's mode"
    );
    assert_eq!(tool.data, b"#!/bin/sh\n");
    assert_eq!(files.get("/mnt/root/etc/shadow").unwrap().data, b"secret");
    assert_eq!(files.get("/mnt/root/usr/bin/out").unwrap().data, b"o");
    assert_eq!(files.get("/mnt/root/usr/bin/sh").unwrap().target, b"dash");
}

#[test]
fn another_filesystem_mounted_in_the_root_is_refused() {
    let sys = sys(|fs| {
        fs.dir("/mnt/root/proc").stat.dev = 9;
        fs.dir("/mnt/root/proc/sys").stat.dev = 9;
        fs.symlink("/mnt/root/ps", "/proc/sys");
        fs.dir("/dbg/proc");
        fs.dir("/dbg/proc/sys");
        fs.file("/dbg/proc/sys/knob", b"1");
        fs.file("/dbg/proc/x", b"2");
        fs.dir("/dbg/ps");
        fs.file("/dbg/ps/y", b"3");
    });
    let stats = copy(&sys).unwrap();
    assert_eq!(
        stats.refused,
        [
            "/mnt/root/proc/sys: on another filesystem mounted in the new root",
            "/mnt/root/proc/x: on another filesystem mounted in the new root",
        ]
    );
    assert_stayed_inside(&sys);
    // Only the mount point itself is tried (mkdir: EEXIST), nothing in it.
    let proc = Path::new("/mnt/root/proc");
    let under_proc: Vec<_> = written(&sys)
        .into_iter()
        .filter(|p| p.starts_with(proc) && p != proc)
        .collect();
    assert!(under_proc.is_empty(), "{under_proc:?}");
    // A link into it resolves to no directory (EXDEV): a real directory replaces it.
    assert_eq!(kind(&sys, "/mnt/root/ps"), Some(NodeKind::Dir));
    assert_eq!(data(&sys, "/mnt/root/ps/y").unwrap(), b"3");
}

#[test]
fn enospc_mid_write_leaves_the_old_file_and_no_temporary() {
    let sys = sys(|fs| {
        fs.dir("/dbg/etc");
        fs.file("/dbg/etc/unit", b"new unit");
        fs.file("/dbg/etc/zzz", b"after it: never copied");
        fs.file("/mnt/root/etc/unit", b"old");
    });
    sys.fail_on("copy_range", "/mnt/root/etc/.unit.zos-debug-tmp", Errno::NOSPC);
    let err = copy(&sys).unwrap_err();
    assert_eq!(err, CopyError::new("write", "/mnt/root/etc/unit", Errno::NOSPC));
    assert_eq!(data(&sys, "/mnt/root/etc/unit").unwrap(), b"old");
    let etc = sys.files.borrow().paths();
    let etc: Vec<_> = etc
        .iter()
        .filter(|p| p.parent() == Some(Path::new("/mnt/root/etc")))
        .collect();
    assert_eq!(etc, [Path::new("/mnt/root/etc/unit")], "a temporary file was left");
    assert_eq!(sys.calls().last().unwrap(), "unlink(/mnt/root/etc/.unit.zos-debug-tmp)");
}

#[test]
fn fifos_and_device_nodes_in_the_root_are_replaced_without_being_opened() {
    let sys = sys(|fs| {
        fs.dir("/dbg/etc");
        fs.file("/dbg/etc/fifo", b"unit");
        fs.file("/dbg/etc/node", b"unit");
        fs.file("/mnt/root/etc/fifo", b"").stat.kind = NodeKind::Fifo;
        fs.file("/mnt/root/etc/node", b"").stat.kind = NodeKind::CharDev;
    });
    assert_eq!(copy(&sys).unwrap().files, 2);
    for f in ["/mnt/root/etc/fifo", "/mnt/root/etc/node"] {
        assert_eq!(kind(&sys, f), Some(NodeKind::File), "{f}");
        assert_eq!(data(&sys, f).unwrap(), b"unit", "{f}");
        let opened = sys
            .entries()
            .into_iter()
            .any(|c| matches!(&c, Call::Fs(fc) if fc.op() == "open" && fc.path() == Path::new(f)));
        assert!(!opened, "{f} was opened");
    }
}

#[test]
fn top_level_dot_files_and_source_fifos_are_skipped() {
    let sys = sys(|fs| {
        fs.file("/dbg/.zero-os-debug", b"");
        fs.file("/dbg/.hidden", b"");
        fs.dir("/dbg/etc");
        fs.file("/dbg/etc/.keep", b"k");
        fs.file("/dbg/etc/pipe", b"").stat.kind = NodeKind::Fifo;
    });
    let stats = copy(&sys).unwrap();
    assert_eq!((stats.files, stats.dirs), (1, 1));
    assert_eq!(
        data(&sys, "/mnt/root/etc/.keep").unwrap(),
        b"k",
        "only the top level's are skipped"
    );
    for p in ["/mnt/root/.zero-os-debug", "/mnt/root/.hidden", "/mnt/root/etc/pipe"] {
        assert_eq!(kind(&sys, p), None, "{p}");
    }
}

#[test]
fn a_name_that_steps_out_of_its_directory_is_refused_by_the_seam() {
    let sys = sys(|_| {});
    let root = sys.open(Path::new(ROOT), Open::DirPath).unwrap();
    for name in ["..", ".", "", "a/b"] {
        let loc = Loc::At {
            dir: &root,
            name: OsStr::new(name),
        };
        assert_eq!(
            sys.make_at(loc, &Make::Dir { perm: 0o755 }),
            Err(Errno::INVAL),
            "{name:?}"
        );
    }
}
