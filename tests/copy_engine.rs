//! The copy engine against real filesystems: a fixture tree with every file type and
//! every kind of metadata, copied between scratch tmpfs mounts inside a private mount
//! namespace. Needs root (mount, chown, mknod, security.* xattrs).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::fs::{
    chmodat, chownat, lgetxattr, llistxattr, llistxattr_query, lsetxattr, mknodat, statvfs, utimensat, AtFlags,
    FileType, Gid, Mode, Timestamps, Uid, XattrFlags, CWD,
};
use rustix::io::Errno;
use rustix::mount::{mount, mount_change, MountFlags, MountPropagationFlags};
use rustix::thread::UnshareFlags;
use rustix::time::Timespec;
use zos_init::copy::{copy_tree, measure, resolve_sources, CopySpec, CopyStats};
use zos_init::sys::linux::LinuxSys;

// ---------------------------------------------------------------- harness

/// Project policy for tests that need root: panic with `needs root: ...` unless
/// `ZOS_SKIP_ROOT_TESTS=1`, in which case say SKIP on stderr and return false.
fn have_root(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    if std::env::var("ZOS_SKIP_ROOT_TESTS").as_deref() == Ok("1") {
        // Straight to fd 2: libtest captures eprintln! of passing tests, and a skip must
        // be seen.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIP (not root): {test}");
        return false;
    }
    panic!(
        "needs root: {test} mounts tmpfs in a private mount namespace, chowns and mknods; \
         run as root or set ZOS_SKIP_ROOT_TESTS=1 to skip"
    );
}

/// Run `body` on a fresh thread that has its own mount namespace with `/` made
/// recursively private, so the scratch tmpfs mounts neither leak to the host nor outlive
/// the thread (the namespace dies with it, unmounting everything).
fn in_private_mount_ns<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::spawn(move || {
        // SAFETY: only CLONE_NEWNS (which implies CLONE_FS) is unshared, and only for this
        // thread; the fd table stays shared, so no thread can see a foreign fd table.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
            .unwrap_or_else(|e| panic!("needs root: unshare(CLONE_NEWNS): {e}"));
        mount_change("/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC).expect("make / rprivate");
        body()
    });
    handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A scratch tmpfs. noatime: the snapshots read every file and directory, which must not
/// move the atimes under comparison (the engine sets them explicitly, which still works).
fn tmpfs(dir: &Path, size: &str) {
    let opts = CString::new(format!("size={size},mode=0755")).unwrap();
    mount("tmpfs", dir, "tmpfs", MountFlags::NOATIME, opts.as_c_str())
        .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", dir.display()));
}

// ---------------------------------------------------------------- fixture

/// vfs_cap_data revision 2 for `cap_net_raw+ep`: magic_etc = VFS_CAP_REVISION_2 |
/// VFS_CAP_FLAGS_EFFECTIVE, then permitted/inheritable for both 32-bit halves.
fn cap_net_raw() -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0200_0001u32, 1 << 13, 0, 0, 0] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v
}

fn chown(path: &Path, uid: u32, gid: u32) {
    chownat(
        CWD,
        path,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

fn chmod(path: &Path, mode: u32) {
    chmodat(CWD, path, Mode::from_raw_mode(mode), AtFlags::empty()).unwrap();
}

fn setxattr(path: &Path, name: &str, value: &[u8]) {
    lsetxattr(path, name, value, XattrFlags::empty())
        .unwrap_or_else(|e| panic!("setxattr {name} on {}: {e}", path.display()));
}

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// Build the initramfs-like tree under `s`.
fn build_fixture(s: &Path) {
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

fn spec(free_source: bool) -> CopySpec {
    CopySpec {
        // A glob, the shell list's duplicate, and `/*` which must not reach /init or mounts.
        patterns: vec!["/*".into(), "/bin".into(), "/lib*".into(), "/bin".into()],
        exclude: vec!["/usr/share/doc".into()],
        free_source,
    }
}

const SOURCES: &[&str] = &["/bin", "/etc", "/root", "/run", "/tmp", "/usr", "/var"];

// ---------------------------------------------------------------- snapshots

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    /// Regular files and symlinks only (a directory's size counts its entries).
    size: Option<u64>,
    content: Option<Vec<u8>>,
    target: Option<PathBuf>,
    rdev: u64,
    atime: (i64, i64),
    mtime: (i64, i64),
    xattrs: BTreeMap<String, Vec<u8>>,
}

/// Every entry under `root`, by in-root path, plus the hard-link groups (by inode).
#[derive(Debug, Default)]
struct Snapshot {
    entries: BTreeMap<PathBuf, Entry>,
    inodes: BTreeMap<PathBuf, u64>,
}

impl Snapshot {
    fn take(root: &Path) -> Snapshot {
        let mut snap = Snapshot::default();
        snap.walk(root, Path::new("/"));
        snap.entries.remove(Path::new("/"));
        snap.inodes.remove(Path::new("/"));
        snap
    }

    fn walk(&mut self, path: &Path, rel: &Path) {
        let md = fs::symlink_metadata(path).unwrap();
        let ft = md.file_type();
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_fifo() {
            "fifo"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else {
            "socket"
        };
        let entry = Entry {
            kind,
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            size: (ft.is_file() || ft.is_symlink()).then(|| md.size()),
            content: ft.is_file().then(|| fs::read(path).unwrap()),
            target: ft.is_symlink().then(|| fs::read_link(path).unwrap()),
            rdev: md.rdev(),
            atime: (md.atime(), md.atime_nsec()),
            mtime: (md.mtime(), md.mtime_nsec()),
            xattrs: xattrs(path),
        };
        self.entries.insert(rel.to_path_buf(), entry);
        self.inodes.insert(rel.to_path_buf(), md.ino());
        if ft.is_dir() {
            for e in fs::read_dir(path).unwrap() {
                let name = e.unwrap().file_name();
                self.walk(&path.join(&name), &rel.join(&name));
            }
        }
    }

    /// Sets of paths sharing an inode (only groups of two or more).
    fn link_groups(&self) -> BTreeSet<BTreeSet<PathBuf>> {
        let mut by_ino: BTreeMap<u64, BTreeSet<PathBuf>> = BTreeMap::new();
        for (path, ino) in &self.inodes {
            if self.entries[path].kind != "dir" {
                by_ino.entry(*ino).or_default().insert(path.clone());
            }
        }
        by_ino.into_values().filter(|g| g.len() > 1).collect()
    }

    /// What the copy should produce from this source snapshot.
    fn expected_copy(&self) -> Snapshot {
        let never = [
            "/init",
            "/init-debug",
            "/dev",
            "/proc",
            "/sys",
            "/mnt",
            "/usr/share/doc",
        ];
        let keep = |p: &Path| !never.iter().any(|n| p.starts_with(n));
        let entries: BTreeMap<PathBuf, Entry> = self
            .entries
            .iter()
            .filter(|(p, e)| keep(p) && e.kind != "socket")
            .map(|(p, e)| (p.clone(), e.clone()))
            .collect();
        let inodes = self
            .inodes
            .iter()
            .filter(|(p, _)| entries.contains_key(*p))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        Snapshot { entries, inodes }
    }
}

fn xattrs(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let size = llistxattr_query(path).unwrap();
    if size == 0 {
        return out;
    }
    let mut names = vec![0u8; size];
    let n = llistxattr(path, &mut names[..]).unwrap();
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).unwrap().to_string();
        let mut value = vec![0u8; 65536];
        let len = lgetxattr(path, name.as_str(), &mut value[..]).unwrap();
        value.truncate(len);
        out.insert(name, value);
    }
    out
}

/// Entry-by-entry comparison with a readable report of every difference.
fn assert_same(want: &Snapshot, got: &Snapshot) {
    let mut diffs = Vec::new();
    for (path, w) in &want.entries {
        match got.entries.get(path) {
            None => diffs.push(format!("missing {}", path.display())),
            Some(g) if g != w => {
                let (mut w, mut g) = (w.clone(), g.clone());
                // Keep big contents out of the report.
                if w.content == g.content {
                    (w.content, g.content) = (None, None);
                }
                diffs.push(format!("{}:\n  want {w:?}\n  got  {g:?}", path.display()));
            }
            Some(_) => {}
        }
    }
    for path in got.entries.keys().filter(|p| !want.entries.contains_key(*p)) {
        diffs.push(format!("unexpected {}", path.display()));
    }
    assert!(diffs.is_empty(), "copy differs from source:\n{}", diffs.join("\n"));
    assert_eq!(want.link_groups(), got.link_groups(), "hard-link groups differ");
}

/// The fixture facts the comparison alone would not prove were exercised.
fn assert_fixture_facts(snap: &Snapshot, dst: &Path) {
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

fn check_stats(stats: &CopyStats) {
    // busybox empty su ping hostname sgid-tool deep sparse pair1 tri1 .profile
    assert_eq!(stats.files, 11, "{stats:?}");
    // bin etc usr usr/{share,share/a,share/a/b,share/a/b/c,lib,bin} var var/{run,lib} tmp root
    assert_eq!(stats.dirs, 14, "{stats:?}");
    assert_eq!(stats.symlinks, 5, "{stats:?}"); // sh mtab dangling long-link run
    assert_eq!(stats.hardlinks, 3, "{stats:?}"); // pair2 tri2 tri3
    assert_eq!(stats.nodes, 3, "{stats:?}");
    assert_eq!(stats.skipped, vec![PathBuf::from("/tmp/sock")]);
}

fn sources() -> Vec<PathBuf> {
    SOURCES.iter().map(PathBuf::from).collect()
}

// ---------------------------------------------------------------- tests

#[test]
fn copy_keeps_every_type_and_metadata_and_merges() {
    if !have_root("copy_keeps_every_type_and_metadata_and_merges") {
        return;
    }
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (s, d) = (src.path().to_path_buf(), dst.path().to_path_buf());
    in_private_mount_ns(move || {
        tmpfs(&s, "64m");
        tmpfs(&d, "64m");
        build_fixture(&s);
        // Destination state to merge with: a dir with other metadata, a file that is a hard
        // link elsewhere (must be replaced, not written through), a regular file where a
        // symlink goes, and an unrelated file that must survive.
        fs::create_dir(d.join("etc")).unwrap();
        chmod(&d.join("etc"), 0o700);
        write(&d.join("keep"), b"old hostname");
        fs::hard_link(d.join("keep"), d.join("etc/hostname")).unwrap();
        write(&d.join("bin/sh"), b"not a symlink");
        write(&d.join("extra"), b"mine");

        let before = Snapshot::take(&s);
        let spec = spec(false);
        let resolved = resolve_sources(&LinuxSys, &s, &spec).unwrap();
        assert_eq!(resolved, sources());
        let mut warnings = Vec::new();
        let stats = copy_tree(&LinuxSys, &s, &d, &resolved, &spec, &mut |w| {
            warnings.push(w.to_string())
        })
        .unwrap_or_else(|e| panic!("{e}"));

        let mut got = Snapshot::take(&d);
        assert_eq!(fs::read(d.join("keep")).unwrap(), b"old hostname");
        assert_eq!(fs::read(d.join("extra")).unwrap(), b"mine");
        for extra in ["/keep", "/extra"] {
            got.entries.remove(Path::new(extra));
            got.inodes.remove(Path::new(extra));
        }
        assert_same(&before.expected_copy(), &got);
        assert_fixture_facts(&got, &d);
        check_stats(&stats);
        assert_eq!(stats.freed_bytes, 0);
        assert!(warnings.len() == 1 && warnings[0].contains("/tmp/sock"), "{warnings:?}");
        // Without copy-and-free the source is untouched, times included.
        let after = Snapshot::take(&s);
        assert_same(&before, &after);
    });
}

#[test]
fn copy_and_free_empties_the_source() {
    if !have_root("copy_and_free_empties_the_source") {
        return;
    }
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (s, d) = (src.path().to_path_buf(), dst.path().to_path_buf());
    in_private_mount_ns(move || {
        tmpfs(&s, "64m");
        tmpfs(&d, "64m");
        build_fixture(&s);
        let before = Snapshot::take(&s);
        let spec = spec(true);
        let resolved = resolve_sources(&LinuxSys, &s, &spec).unwrap();
        let footprint = measure(&LinuxSys, &s, &resolved, &spec).unwrap();
        let src_used = used_bytes(&s);

        let stats = copy_tree(&LinuxSys, &s, &d, &resolved, &spec, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));

        let got = Snapshot::take(&d);
        assert_same(&before.expected_copy(), &got);
        assert_fixture_facts(&got, &d);
        check_stats(&stats);

        // Left in the source: what was never to be copied, the socket, and the dirs
        // that still hold them.
        let left: BTreeSet<PathBuf> = Snapshot::take(&s).entries.into_keys().collect();
        let want: BTreeSet<PathBuf> = [
            "/init",
            "/init-debug",
            "/dev",
            "/proc",
            "/sys",
            "/mnt",
            "/mnt/root",
            "/mnt/marker",
            "/usr",
            "/usr/share",
            "/usr/share/doc",
            "/usr/share/doc/README",
            "/tmp",
            "/tmp/sock",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(left, want);

        // The measure predicted the destination's usage exactly, and the source gave back
        // exactly that (the excluded README and /init stay).
        assert_eq!(used_bytes(&d), footprint.bytes, "{footprint:?}");
        assert_eq!(footprint.files, 19, "{footprint:?}"); // 11 files + 5 symlinks + 3 nodes
        assert_eq!(footprint.dirs, 14, "{footprint:?}");
        assert_eq!(footprint.largest_file, 24576, "busybox: 24000 bytes in 6 pages");
        assert_eq!(stats.freed_bytes, src_used - used_bytes(&s));
        assert_eq!(stats.freed_bytes, footprint.bytes, "{stats:?} {footprint:?}");
    });
}

#[test]
fn enospc_names_the_path() {
    if !have_root("enospc_names_the_path") {
        return;
    }
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (s, d) = (src.path().to_path_buf(), dst.path().to_path_buf());
    in_private_mount_ns(move || {
        tmpfs(&s, "16m");
        tmpfs(&d, "64k");
        write(&s.join("usr/lib/small"), b"fits");
        write(&s.join("usr/lib/zbig"), &vec![0xab; 1 << 20]);
        let spec = CopySpec {
            patterns: vec!["/usr".into()],
            exclude: vec![],
            free_source: true,
        };
        let resolved = resolve_sources(&LinuxSys, &s, &spec).unwrap();
        let err = copy_tree(&LinuxSys, &s, &d, &resolved, &spec, &mut |_| {}).unwrap_err();
        let path = d.join("usr/lib/zbig");
        assert_eq!(err.errno, Errno::NOSPC, "{err}");
        assert_eq!(err.path, path);
        assert_eq!(err.op, "write");
        assert_eq!(
            err.to_string(),
            format!("copy: write {}: ENOSPC (No space left on device)", path.display())
        );
        // The failed file's source is still there: nothing is freed before it is copied.
        assert!(s.join("usr/lib/zbig").exists());
        assert!(!s.join("usr/lib/small").exists());
    });
}

/// Bytes in use on the filesystem holding `path`.
fn used_bytes(path: &Path) -> u64 {
    let st = statvfs(path).unwrap();
    (st.f_blocks - st.f_bfree) * st.f_frsize
}
