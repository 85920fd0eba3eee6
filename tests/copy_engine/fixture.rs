//! The fixture the copy-engine tests copy: an initramfs-like tree with every file type
//! and every kind of metadata, the copy spec used on it, and the facts and counts a
//! copy of it must show.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::fs::{
    chmodat, chownat, lsetxattr, mknodat, utimensat, AtFlags, FileType, Gid, Mode, Timestamps, Uid, XattrFlags, CWD,
};
use rustix::time::Timespec;
use zos_init::copy::{CopySpec, CopyStats};

use crate::snapshot::Snapshot;

/// vfs_cap_data revision 2 for `cap_net_raw+ep`: magic_etc = VFS_CAP_REVISION_2 |
/// VFS_CAP_FLAGS_EFFECTIVE, then permitted/inheritable for both 32-bit halves.
pub fn cap_net_raw() -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0200_0001u32, 1 << 13, 0, 0, 0] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v
}

pub fn chown(path: &Path, uid: u32, gid: u32) {
    chownat(
        CWD,
        path,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

pub fn chmod(path: &Path, mode: u32) {
    chmodat(CWD, path, Mode::from_raw_mode(mode), AtFlags::empty()).unwrap();
}

fn setxattr(path: &Path, name: &str, value: &[u8]) {
    lsetxattr(path, name, value, XattrFlags::empty())
        .unwrap_or_else(|e| panic!("setxattr {name} on {}: {e}", path.display()));
}

pub fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// Build the initramfs-like tree under `s`.
pub fn build_fixture(s: &Path) {
    let p = |rel: &str| s.join(rel);
    write(&p("init"), b"\x7fELF the init");
    write(&p("init-debug"), b"#!/bin/sh\n");
    for mp in ["dev", "proc", "sys", "mnt/root"] {
        fs::create_dir_all(p(mp)).unwrap();
    }
    write(&p("mnt/marker"), b"never copied");

    // /bin: plain, empty, setuid, capability-carrying files and symlinks.
    write(&p("bin/busybox"), &b"busybox ".repeat(3000));
    chmod(&p("bin/busybox"), 0o755);
    write(&p("bin/empty"), b"");
    write(&p("bin/su"), b"su binary");
    chmod(&p("bin/su"), 0o4755);
    write(&p("bin/ping"), b"ping binary");
    chown(&p("bin/ping"), 1234, 5678);
    chmod(&p("bin/ping"), 0o750);
    // After chown, which would drop security.capability.
    setxattr(&p("bin/ping"), "security.capability", &cap_net_raw());
    setxattr(&p("bin/ping"), "user.comment", b"raw sockets");
    symlink("busybox", p("bin/sh")).unwrap();

    // /etc: owners, setgid, absolute/dangling/long symlinks, an xattr on a directory.
    write(&p("etc/hostname"), b"zos\n");
    chown(&p("etc/hostname"), 1234, 5678);
    chmod(&p("etc/hostname"), 0o640);
    write(&p("etc/sgid-tool"), b"tool");
    chown(&p("etc/sgid-tool"), 0, 5678);
    chmod(&p("etc/sgid-tool"), 0o2755);
    symlink("/proc/mounts", p("etc/mtab")).unwrap();
    symlink("../nowhere/at/all", p("etc/dangling")).unwrap();
    symlink("x".repeat(200), p("etc/long-link")).unwrap();
    chown(&p("etc/dangling"), 1234, 5678);
    setxattr(&p("etc"), "user.dir", b"directory attribute");

    // /usr: deep nesting, a sparse file, hard links, an excluded dir.
    write(&p("usr/share/a/b/c/deep"), b"deep file");
    write(&p("usr/share/doc/README"), b"excluded");
    fs::create_dir_all(p("usr/lib")).unwrap();
    let sparse = fs::File::create(p("usr/lib/sparse")).unwrap();
    {
        use std::os::unix::fs::FileExt;
        sparse.write_all_at(&[b'A'; 4096], 0).unwrap();
        sparse.write_all_at(&[b'Z'; 4096], (1 << 20) - 4096).unwrap();
    }
    drop(sparse);
    write(&p("usr/bin/pair1"), b"a hard-linked pair");
    fs::hard_link(p("usr/bin/pair1"), p("usr/bin/pair2")).unwrap();
    write(&p("usr/lib/tri1"), b"a hard-linked triple");
    fs::hard_link(p("usr/lib/tri1"), p("usr/lib/tri2")).unwrap();
    fs::create_dir_all(p("var/lib")).unwrap();
    fs::hard_link(p("usr/lib/tri1"), p("var/lib/tri3")).unwrap();

    // /var: nodes, and /run -> var/run as in the Zero-OS cpio.
    fs::create_dir_all(p("var/run")).unwrap();
    symlink("var/run", p("run")).unwrap();
    mknodat(
        CWD,
        p("var/lib/null"),
        FileType::CharacterDevice,
        Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 3),
    )
    .unwrap();
    mknodat(
        CWD,
        p("var/lib/loop0"),
        FileType::BlockDevice,
        Mode::from_raw_mode(0o660),
        rustix::fs::makedev(7, 0),
    )
    .unwrap();
    chown(&p("var/lib/loop0"), 0, 6);
    mknodat(CWD, p("var/lib/fifo"), FileType::Fifo, Mode::from_raw_mode(0o640), 0).unwrap();

    // /tmp: sticky, with a socket in it.
    fs::create_dir_all(p("tmp")).unwrap();
    chmod(&p("tmp"), 0o1777);
    drop(std::os::unix::net::UnixListener::bind(p("tmp/sock")).unwrap());

    // /root: private.
    write(&p("root/.profile"), b"export PS1='# '\n");
    chmod(&p("root"), 0o700);

    stamp_times(s, &mut 0);
}

/// Give every entry distinct atime/mtime with nanoseconds, children before their
/// directory (setting a child's times does not touch the parent's).
fn stamp_times(path: &Path, n: &mut i64) {
    let md = fs::symlink_metadata(path).unwrap();
    if md.is_dir() {
        let mut names: Vec<_> = fs::read_dir(path).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        for name in names {
            stamp_times(&path.join(name), n);
        }
    }
    *n += 1;
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: 1_600_000_000 + *n,
            tv_nsec: 123_456_789 + *n,
        },
        last_modification: Timespec {
            tv_sec: 1_500_000_000 - *n,
            tv_nsec: 987_654_321 - *n,
        },
    };
    utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW).unwrap();
}

/// The copy spec used on the fixture, with or without copy-and-free.
pub fn spec(free_source: bool) -> CopySpec {
    CopySpec {
        // A glob, the shell list's duplicate, and `/*` which must not reach /init or mounts.
        patterns: vec!["/*".into(), "/bin".into(), "/lib*".into(), "/bin".into()],
        exclude: vec!["/usr/share/doc".into()],
        free_source,
    }
}

/// What `spec` resolves to on the fixture: its top-level directories that are copied.
pub fn sources() -> Vec<PathBuf> {
    ["/bin", "/etc", "/root", "/run", "/tmp", "/usr", "/var"]
        .iter()
        .map(PathBuf::from)
        .collect()
}

/// The fixture facts the comparison alone would not prove were exercised.
pub fn assert_fixture_facts(snap: &Snapshot, dst: &Path) {
    let e = |p: &str| &snap.entries[Path::new(p)];
    assert_eq!(e("/bin/su").mode & 0o7777, 0o4755);
    assert_eq!(e("/etc/sgid-tool").mode & 0o7777, 0o2755);
    assert_eq!(e("/tmp").mode & 0o7777, 0o1777);
    assert_eq!((e("/bin/ping").uid, e("/bin/ping").gid), (1234, 5678));
    assert_eq!(e("/bin/ping").xattrs["security.capability"], cap_net_raw());
    assert_eq!(e("/bin/ping").xattrs["user.comment"], b"raw sockets");
    assert_eq!(e("/etc").xattrs["user.dir"], b"directory attribute");
    assert_eq!(e("/var/lib/null").rdev, rustix::fs::makedev(1, 3));
    assert_eq!(e("/var/lib/loop0").rdev, rustix::fs::makedev(7, 0));
    assert_eq!(e("/run").target.as_deref(), Some(Path::new("var/run")));
    assert_eq!(e("/usr/share/a/b/c").kind, "dir");
    assert_ne!(e("/usr/share/a").mtime, e("/usr/share/a/b").mtime);
    assert!(
        e("/bin/sh").mtime.1 != 0 && e("/bin/sh").atime.1 != 0,
        "symlink times with ns"
    );
    assert_eq!(snap.link_groups().len(), 2, "{:?}", snap.link_groups());
    let sparse = fs::symlink_metadata(dst.join("usr/lib/sparse")).unwrap();
    assert_eq!(sparse.size(), 1 << 20);
    assert!(
        sparse.blocks() * 512 <= 16 * 1024,
        "hole filled: {} blocks",
        sparse.blocks()
    );
}

/// The counts a copy of the fixture with `spec` must report.
pub fn check_stats(stats: &CopyStats) {
    // busybox empty su ping hostname sgid-tool deep sparse pair1 tri1 .profile
    assert_eq!(stats.files, 11, "{stats:?}");
    // bin etc usr usr/{share,share/a,share/a/b,share/a/b/c,lib,bin} var var/{run,lib} tmp root
    assert_eq!(stats.dirs, 14, "{stats:?}");
    assert_eq!(stats.symlinks, 5, "{stats:?}"); // sh mtab dangling long-link run
    assert_eq!(stats.hardlinks, 3, "{stats:?}"); // pair2 tri2 tri3
    assert_eq!(stats.nodes, 3, "{stats:?}");
    assert_eq!(stats.skipped, vec![PathBuf::from("/tmp/sock")]);
}
