//! Host-side tests of the listing the probe prints in the guest.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use zos_probe::listing::{escape, fnv1a64, list_tree, unescape, Entry, Time, FNV_OFFSET};

/// A scratch directory (zos-probe keeps to rustix + libc: no tempfile).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("zos-probe-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn fnv_known_vectors() {
    assert_eq!(fnv1a64(b"", FNV_OFFSET), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a", FNV_OFFSET), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar", FNV_OFFSET), 0x8594_4171_f739_67e8);
}

#[test]
fn escape_round_trips() {
    for raw in [&b"plain"[..], b"-", b"a\tb\nc\\d", b"\xff\x01", b"caf\xc3\xa9", b""] {
        assert_eq!(unescape(&escape(raw)).unwrap(), raw, "{:?}", escape(raw));
        assert!(!escape(raw).contains(['\t', '\n']));
    }
    assert_eq!(escape(b"-"), "\\-");
    assert_eq!(unescape("\\q"), None);
}

#[test]
fn line_round_trips() {
    let e = Entry {
        path: PathBuf::from(OsString::from_vec(b"/etc/we\tird\n\xff".to_vec())),
        kind: 'l',
        mode: 0o4755,
        uid: 1000,
        gid: 0,
        size: Some(12),
        mtime: Time {
            sec: 1_700_000_000,
            nsec: 5,
        },
        atime: Time {
            sec: -1,
            nsec: 999_999_999,
        },
        nlink: 2,
        link_group: Some("/etc/first".into()),
        rdev: Some((5, 1)),
        target: Some("-".into()),
        hash: Some(0xab),
        alloc: 4096,
        xattrs: vec![
            ("security.capability".into(), vec![1, 0, 255]),
            ("user.a=b,c".into(), vec![]),
        ],
    };
    let line = e.to_line();
    assert_eq!(line.split('\t').count(), 15, "{line}");
    assert_eq!(Entry::from_line(&line).unwrap(), e);
    assert_eq!(Entry::from_line(&format!("PROBE-ENTRY {line}\r\n")).unwrap(), e);
    assert!(Entry::from_line("PROBE-ENTRY /x\tf").unwrap_err().contains("15"));
}

#[test]
fn lists_a_fixture_tree() {
    let s = Scratch::new("tree");
    let root = &s.0;
    fs::create_dir_all(root.join("etc/a")).unwrap();
    fs::write(root.join("etc/a/b"), b"foobar").unwrap();
    fs::write(root.join("etc/a-c"), b"").unwrap();
    fs::hard_link(root.join("etc/a/b"), root.join("etc/a-hard")).unwrap();
    symlink("a/b", root.join("etc/link")).unwrap();
    fs::set_permissions(root.join("etc/a-c"), fs::Permissions::from_mode(0o4711)).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("etc/fifo"),
        rustix::fs::FileType::Fifo,
        0o600.into(),
        0,
    )
    .unwrap();
    if is_root() {
        let mode = rustix::fs::Mode::from_raw_mode(0o600);
        let dev = rustix::fs::makedev(5, 1);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("etc/console"),
            rustix::fs::FileType::CharacterDevice,
            mode,
            dev,
        )
        .unwrap();
    }
    // An old atime must survive the listing (stat before read, O_NOATIME).
    let old = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 1_000_000,
            tv_nsec: 7,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: 2_000_000,
            tv_nsec: 8,
        },
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        root.join("etc/a/b"),
        &old,
        rustix::fs::AtFlags::empty(),
    )
    .unwrap();

    let list = list_tree(root, Path::new("/etc")).unwrap();
    let paths: Vec<String> = list.iter().map(|e| e.path.display().to_string()).collect();
    let mut want = vec![
        "/etc",
        "/etc/a",
        "/etc/a-c",
        "/etc/a-hard",
        "/etc/a/b",
        "/etc/fifo",
        "/etc/link",
    ];
    if is_root() {
        want.insert(5, "/etc/console");
    }
    // Byte order: '-' (0x2d) sorts before '/' (0x2f).
    assert_eq!(paths, want);

    let get = |p: &str| list.iter().find(|e| e.path == Path::new(p)).unwrap();
    let b = get("/etc/a/b");
    assert_eq!((b.kind, b.size, b.hash), ('f', Some(6), Some(0x8594_4171_f739_67e8)));
    assert_eq!(
        b.atime,
        Time {
            sec: 1_000_000,
            nsec: 7
        }
    );
    assert_eq!(
        b.mtime,
        Time {
            sec: 2_000_000,
            nsec: 8
        }
    );
    assert_eq!(b.nlink, 2);
    // The group is the first path in sorted order.
    assert_eq!(b.link_group.as_deref(), Some(Path::new("/etc/a-hard")));
    assert_eq!(get("/etc/a-hard").link_group, b.link_group);
    assert_eq!(get("/etc/a-c").mode, 0o4711);
    assert_eq!(get("/etc/a-c").hash, Some(FNV_OFFSET));
    let l = get("/etc/link");
    assert_eq!(
        (l.kind, l.target.as_deref(), l.hash),
        ('l', Some(Path::new("a/b")), None)
    );
    assert_eq!(get("/etc/fifo").kind, 'p');
    assert_eq!(get("/etc").kind, 'd');
    assert_eq!(get("/etc").link_group, None);
    if is_root() {
        assert_eq!(get("/etc/console").rdev, Some((5, 1)));
    }
    for e in &list {
        assert_eq!(Entry::from_line(&e.to_line()).unwrap(), *e);
    }
    // A relative `rel` and `rel` = the root itself.
    assert_eq!(
        list_tree(root, Path::new("etc")).unwrap(),
        list_tree(root, Path::new("/etc")).unwrap()
    );
    assert_eq!(list_tree(root, Path::new("/")).unwrap()[0].path, Path::new("/"));
}

#[test]
fn lists_user_xattrs_sorted() {
    let s = Scratch::new("xattr");
    let f = s.0.join("f");
    fs::write(&f, b"x").unwrap();
    for (n, v) in [("user.zz", &b"\x01\x02"[..]), ("user.aa", b"v")] {
        if let Err(e) = rustix::fs::setxattr(&f, n, v, rustix::fs::XattrFlags::empty()) {
            eprintln!("SKIP lists_user_xattrs_sorted: setxattr on {}: {e}", f.display());
            return;
        }
    }
    let e = &list_tree(&s.0, Path::new("f")).unwrap()[0];
    assert_eq!(
        e.xattrs,
        vec![
            ("user.aa".to_string(), b"v".to_vec()),
            ("user.zz".to_string(), vec![1, 2])
        ]
    );
    assert!(e.to_line().ends_with("\tuser.aa=76,user.zz=0102"), "{}", e.to_line());
}
