//! Writer tests: read the bytes back with our reader and check every field.

use super::*;
use crate::header::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG};
use crate::{read_image, ReadEntry};

fn file(name: &str, data: &[u8]) -> Entry {
    Entry::new(name, EntryKind::File(FileData::Bytes(data.to_vec())), 0o644)
}

fn write(entries: Vec<Entry>, opts: WriteOptions) -> Vec<u8> {
    write_archive(entries, &opts, Vec::new()).unwrap().0
}

fn read(bytes: &[u8]) -> Vec<ReadEntry> {
    let mut segs = read_image(bytes).unwrap();
    assert_eq!(segs.len(), 1);
    segs.remove(0).entries
}

fn names(entries: &[ReadEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.to_str().unwrap()).collect()
}

#[test]
fn sorted_with_every_parent_and_inodes_in_order() {
    let out = write(
        vec![file("z", b""), file("a/b/c", b"c"), file("a.b", b""), file("a/a", b"")],
        WriteOptions::default(),
    );
    let entries = read(&out);
    // Component order: a directory is followed by its whole subtree.
    assert_eq!(names(&entries), ["a", "a/a", "a/b", "a/b/c", "a.b", "z"]);
    let inos: Vec<u32> = entries.iter().map(|e| e.ino).collect();
    assert_eq!(inos, [1, 2, 3, 4, 5, 6]);
    assert_eq!(entries[0].mode, S_IFDIR | 0o755);
    // a has one subdirectory (b): 2 + 1.
    assert_eq!((entries[0].nlink, entries[2].nlink), (3, 2));
    assert!(out.ends_with(b"TRAILER!!!\0\0\0\0"));
    assert_eq!(out.len() % 4, 0);
}

#[test]
fn hard_links_share_inode_and_carry_data_once() {
    let mut a = file("bin/ls", b"busybox!");
    let mut b = file("bin/busybox", b"busybox!");
    let mut c = file("sbin/init", b"busybox!");
    for e in [&mut a, &mut b, &mut c] {
        e.link_key = Some((42, 7));
    }
    let entries = read(&write(vec![a, b, c, file("x", b"x")], WriteOptions::default()));
    let find = |n: &str| entries.iter().find(|e| e.name.to_str() == Some(n)).unwrap();
    let (first, l2, l3) = (find("bin/busybox"), find("bin/ls"), find("sbin/init"));
    assert_eq!((first.ino, first.nlink, first.size), (l2.ino, 3, 8));
    assert_eq!(first.data, b"busybox!");
    assert_eq!((l2.size, l2.nlink, l3.size, l3.ino), (0, 3, 0, first.ino));
    assert!(l2.data.is_empty());
    assert_eq!(find("x").nlink, 1);
    assert_ne!(find("x").ino, first.ino);
}

#[test]
fn lone_link_key_is_a_plain_file() {
    // The other links were outside the tree or replaced: no nlink 2 for the kernel
    // to wait on.
    let mut a = file("a", b"data");
    a.link_key = Some((1, 1));
    let e = read(&write(vec![a], WriteOptions::default()));
    assert_eq!((e[0].nlink, e[0].size), (1, 4));
}

#[test]
fn special_files() {
    let out = write(
        vec![
            Entry::new("dev/console", EntryKind::CharDev { major: 5, minor: 1 }, 0o600),
            Entry::new("dev/vda", EntryKind::BlockDev { major: 253, minor: 0 }, 0o660),
            Entry::new("run/initctl", EntryKind::Fifo, 0o600),
            Entry::new("bin/sh", EntryKind::Symlink("busybox".into()), 0o777),
        ],
        WriteOptions::default(),
    );
    let entries = read(&out);
    let find = |n: &str| entries.iter().find(|e| e.name.to_str() == Some(n)).unwrap();
    let con = find("dev/console");
    assert_eq!((con.mode, con.rdev, con.size), (S_IFCHR | 0o600, (5, 1), 0));
    let vda = find("dev/vda");
    assert_eq!((vda.mode, vda.rdev), (S_IFBLK | 0o660, (253, 0)));
    let fifo = find("run/initctl");
    assert_eq!((fifo.mode, fifo.size, fifo.rdev), (S_IFIFO | 0o600, 0, (0, 0)));
    let sh = find("bin/sh");
    assert_eq!((sh.mode, sh.size), (S_IFLNK | 0o777, 7));
    assert_eq!(sh.symlink_target().unwrap().to_str(), Some("busybox"));
}

#[test]
fn mtime_clamp_and_root_owned() {
    let mut e = file("f", b"");
    e.mtime = 2_000_000_000;
    e.uid = 1000;
    e.gid = 100;
    let mut old = file("old", b"");
    old.mtime = 5;
    let mut neg = file("neg", b"");
    neg.mtime = -100;
    let as_is = read(&write(
        vec![e.clone(), old.clone(), neg.clone()],
        WriteOptions::default(),
    ));
    assert_eq!(
        as_is.iter().map(|e| (e.mtime, e.uid, e.gid)).collect::<Vec<_>>(),
        [(2_000_000_000, 1000, 100), (0, 0, 0), (5, 0, 0)]
    );
    let opts = WriteOptions {
        root_owned: true,
        source_date_epoch: Some(1_000),
    };
    let fixed = read(&write(vec![file("d/x", b""), e, old], opts));
    let got: Vec<_> = fixed
        .iter()
        .map(|e| (e.name.to_str().unwrap(), e.mtime, e.uid))
        .collect();
    // Older mtimes are kept; the added parent gets SOURCE_DATE_EPOCH.
    assert_eq!(got, [("d", 1_000, 0), ("d/x", 0, 0), ("f", 1_000, 0), ("old", 5, 0)]);
}

/// u-root's TestReproducible shape: first show that mtime reaches the bytes, then
/// that normalising makes two builds identical.
#[test]
fn reproducible() {
    let tree = |mtime: i64, uid: u32| {
        let mut f = file("etc/hostname", b"zos\n");
        f.mtime = mtime;
        f.uid = uid;
        vec![f, Entry::new("etc", EntryKind::Dir, 0o755)]
    };
    let plain = WriteOptions::default();
    assert_ne!(write(tree(100, 0), plain), write(tree(200, 0), plain));
    let norm = WriteOptions {
        root_owned: true,
        source_date_epoch: Some(50),
    };
    assert_eq!(write(tree(100, 1000), norm), write(tree(200, 0), norm));
}

#[test]
fn streams_host_files() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("blob");
    let blob: Vec<u8> = (0..300_001u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(&p, &blob).unwrap();
    let e = Entry::new("blob", EntryKind::File(FileData::Path(p)), 0o600);
    let back = read(&write(vec![e], WriteOptions::default()));
    assert_eq!((back[0].mode, back[0].size as usize), (S_IFREG | 0o600, blob.len()));
    assert_eq!(back[0].data, blob);
}

#[test]
fn errors_name_the_path() {
    let run = |entries| {
        write_archive(entries, &WriteOptions::default(), Vec::new())
            .unwrap_err()
            .to_string()
    };
    let missing = Entry::new("x", EntryKind::File(FileData::Path("/nonexistent/x".into())), 0o644);
    assert!(run(vec![missing]).starts_with("read /nonexistent/x: "));
    assert_eq!(run(vec![file("a", b""), file("a", b"")]), "duplicate archive path /a");
    assert_eq!(
        run(vec![file("a", b""), file("a/b", b"")]),
        "/a/b is inside /a, which is not a directory"
    );
    assert!(run(vec![file("../etc", b"")]).starts_with("bad archive path \"../etc\""));
    assert!(run(vec![file("/etc", b"")]).starts_with("bad archive path"));
}
