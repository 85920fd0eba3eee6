//! build_image tests on real temp trees, read back with our reader.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::*;
use crate::cpio::header::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK};
use crate::cpio::{read_image, ReadEntry};

fn request(out: &Path) -> ImageRequest {
    ImageRequest {
        compression: Compression::None,
        output: out.to_owned(),
        ..ImageRequest::default()
    }
}

fn entries_of(path: &Path) -> Vec<ReadEntry> {
    read_image(&fs::read(path).unwrap())
        .unwrap()
        .into_iter()
        .flat_map(|s| s.entries)
        .collect()
}

fn find<'a>(entries: &'a [ReadEntry], name: &str) -> &'a ReadEntry {
    entries
        .iter()
        .find(|e| e.name.to_str() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in image"))
}

/// Nothing but the output may be left in its directory (no temp files).
fn dir_listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn extras_only_image_has_init_console_and_mount_points() {
    let t = tempfile::tempdir().unwrap();
    let init = t.path().join("init-bin");
    fs::write(&init, b"\x7fELF fake").unwrap();
    let out = t.path().join("out/img.cpio");
    let req = ImageRequest {
        init: Some(init),
        extras: vec![ExtraEntry::File {
            path: "/etc/zos/config.toml".into(),
            source: FileData::Bytes(b"x = 1\n".to_vec()),
            mode: None,
        }],
        ..request(&out)
    };
    let s = build_image(&req).unwrap();
    let e = entries_of(&out);
    let names: Vec<_> = e.iter().map(|e| e.name.to_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "dev",
            "dev/console",
            "etc",
            "etc/zos",
            "etc/zos/config.toml",
            "init",
            "mnt",
            "mnt/root",
            "proc",
            "sys"
        ]
    );
    assert_eq!(s.entries, names.len());
    assert_eq!(s.uncompressed_bytes, fs::metadata(&out).unwrap().len());
    assert_eq!(s.compressed_bytes, s.uncompressed_bytes);
    let con = find(&e, "dev/console");
    assert_eq!((con.mode, con.rdev), (S_IFCHR | 0o600, (5, 1)));
    assert_eq!(find(&e, "init").mode, 0o100_755);
    assert_eq!(find(&e, "init").data, b"\x7fELF fake");
    assert_eq!(find(&e, "etc/zos/config.toml").mode, 0o100_644);
    assert_eq!(find(&e, "mnt/root").mode, S_IFDIR | 0o755);
    assert_eq!(dir_listing(out.parent().unwrap()), ["img.cpio"]);
}

#[test]
fn rootfs_tree_with_links_and_special_files() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("rootfs");
    fs::create_dir_all(r.join("bin")).unwrap();
    fs::create_dir_all(r.join("dev")).unwrap();
    fs::write(r.join("bin/busybox"), b"BB").unwrap();
    fs::hard_link(r.join("bin/busybox"), r.join("bin/ls")).unwrap();
    symlink("busybox", r.join("bin/sh")).unwrap();
    let fifo = rustix::fs::mknodat(
        rustix::fs::CWD,
        r.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    );
    fifo.unwrap();
    // Device nodes need CAP_MKNOD; the image itself never does.
    let have_devs = rustix::fs::mknodat(
        rustix::fs::CWD,
        r.join("dev/vda"),
        rustix::fs::FileType::BlockDevice,
        rustix::fs::Mode::from_raw_mode(0o660),
        rustix::fs::makedev(253, 0),
    )
    .is_ok();
    if have_devs {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            r.join("dev/console"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o620),
            rustix::fs::makedev(5, 1),
        )
        .unwrap();
    } else {
        eprintln!("SKIP: device nodes in the tree (no CAP_MKNOD)");
    }
    // mknod applies the umask; set the modes the assertions expect.
    use std::os::unix::fs::PermissionsExt;
    for (p, mode) in [("fifo", 0o600), ("dev/vda", 0o660), ("dev/console", 0o620)] {
        if let Ok(m) = fs::symlink_metadata(r.join(p)) {
            let mut perm = m.permissions();
            perm.set_mode(mode);
            fs::set_permissions(r.join(p), perm).unwrap();
        }
    }
    let out = t.path().join("img");
    build_image(&ImageRequest {
        rootfs: Some(r.clone()),
        ..request(&out)
    })
    .unwrap();
    let e = entries_of(&out);
    let (bb, ls) = (find(&e, "bin/busybox"), find(&e, "bin/ls"));
    assert_eq!((bb.ino, bb.nlink, bb.data.as_slice()), (ls.ino, 2, &b"BB"[..]));
    assert_eq!((ls.size, ls.nlink), (0, 2));
    assert_eq!(find(&e, "bin/sh").mode & 0o170_000, S_IFLNK);
    assert_eq!(find(&e, "bin/sh").data, b"busybox");
    assert_eq!(find(&e, "fifo").mode, S_IFIFO | 0o600);
    if have_devs {
        assert_eq!(find(&e, "dev/vda").mode, S_IFBLK | 0o660);
        assert_eq!(find(&e, "dev/vda").rdev, (253, 0));
        // The rootfs' own console wins over the default one.
        assert_eq!(find(&e, "dev/console").mode, S_IFCHR | 0o620);
    }
}

#[test]
fn extras_replace_rootfs_entries() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("rootfs");
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/motd"), b"old").unwrap();
    fs::write(t.path().join("new-motd"), b"new").unwrap();
    let out = t.path().join("img");
    let spec = format!("{}:/etc/motd:600", t.path().join("new-motd").display());
    build_image(&ImageRequest {
        rootfs: Some(r),
        extras: vec![
            ExtraEntry::parse_file_spec(&spec).unwrap(),
            ExtraEntry::Symlink {
                path: "/sbin/init".into(),
                target: "/init".into(),
            },
            ExtraEntry::CharDev {
                path: "/dev/null".into(),
                major: 1,
                minor: 3,
                mode: 0o666,
            },
        ],
        ..request(&out)
    })
    .unwrap();
    let e = entries_of(&out);
    assert_eq!(find(&e, "etc/motd").data, b"new");
    assert_eq!(find(&e, "etc/motd").mode, 0o100_600);
    assert_eq!(find(&e, "sbin/init").data, b"/init");
    assert_eq!(find(&e, "dev/null").rdev, (1, 3));
    assert_eq!(e.iter().filter(|x| x.name.to_str() == Some("etc/motd")).count(), 1);
}

/// Makes the same small tree under `dir` with the given mtime and builds it.
fn build_tree(dir: &Path, mtime: std::time::SystemTime, sde: Option<u64>) -> Vec<u8> {
    let r = dir.join("rootfs");
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/hostname"), b"zos\n").unwrap();
    for p in [r.join("etc/hostname"), r.join("etc")] {
        fs::File::open(&p).unwrap().set_modified(mtime).unwrap();
    }
    let out = dir.join("img.cpio.zst");
    build_image(&ImageRequest {
        rootfs: Some(r),
        compression: Compression::Zstd,
        level: Some(3),
        root_owned: true,
        source_date_epoch: sde,
        output: out.clone(),
        ..ImageRequest::default()
    })
    .unwrap();
    fs::read(out).unwrap()
}

#[test]
fn reproducible_across_dirs_and_times() {
    use std::time::{Duration, UNIX_EPOCH};
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let t1 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let t2 = t1 + Duration::from_secs(86_400);
    // First: mtime reaches the bytes, so the test below can fail.
    assert_ne!(build_tree(a.path(), t1, None), build_tree(b.path(), t2, None));
    // Then: clamped to SOURCE_DATE_EPOCH, trees made at different times in
    // different directories give the same image.
    let sde = Some(1_600_000_000);
    assert_eq!(build_tree(a.path(), t1, sde), build_tree(b.path(), t2, sde));
}

#[test]
fn missing_rootfs_leaves_no_output() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("img");
    let missing = t.path().join("no-such-rootfs");
    let err = build_image(&ImageRequest {
        rootfs: Some(missing.clone()),
        ..request(&out)
    })
    .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!("rootfs {}: ", missing.display())),
        "{err}"
    );
    assert!(dir_listing(t.path()).is_empty());
}

#[test]
fn socket_in_tree_leaves_no_output() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("rootfs");
    fs::create_dir_all(r.join("run")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(r.join("run/x.sock")).unwrap();
    let out = t.path().join("out/img");
    let err = build_image(&ImageRequest {
        rootfs: Some(r.clone()),
        ..request(&out)
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot pack socket {}", r.join("run/x.sock").display())
    );
    assert!(!out.exists());
    assert_eq!(dir_listing(t.path()), ["rootfs"]);
}

/// An error while the temp file is being written (here a file entry that would
/// shadow a directory) removes the temp file and keeps the old image.
#[test]
fn failure_mid_write_keeps_old_output() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("rootfs");
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/x"), b"x").unwrap();
    let out = t.path().join("out/img");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    fs::write(&out, b"old image").unwrap();
    let err = build_image(&ImageRequest {
        rootfs: Some(r),
        extras: vec![ExtraEntry::File {
            path: "/etc".into(),
            source: FileData::Bytes(vec![]),
            mode: None,
        }],
        ..request(&out)
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "/etc/x is inside /etc, which is not a directory");
    assert_eq!(fs::read(&out).unwrap(), b"old image");
    assert_eq!(dir_listing(out.parent().unwrap()), ["img"]);
}

#[test]
fn bad_inputs_name_the_path() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("img");
    let e = build_image(&ImageRequest {
        init: Some("/nonexistent/init".into()),
        ..request(&out)
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("init binary /nonexistent/init: "), "{e}");
    let e = ExtraEntry::parse_file_spec("/a:/b:9x").unwrap_err().to_string();
    assert!(e.starts_with("bad --file \"/a:/b:9x\": MODE"), "{e}");
    let e = build_image(&ImageRequest {
        extras: vec![ExtraEntry::parse_file_spec("/nonexistent/src:/x").unwrap()],
        ..request(&out)
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("extra file /nonexistent/src: "), "{e}");
    let e = build_image(&ImageRequest {
        extras: vec![ExtraEntry::Dir {
            path: "/../x".into(),
            mode: 0o755,
        }],
        ..request(&out)
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("image path \"/../x\""), "{e}");
    let e = build_image(&ImageRequest {
        compression: Compression::Gzip,
        level: Some(10),
        ..request(&out)
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "gzip level 10 is out of range 0..=9");
    assert!(dir_listing(t.path()).is_empty());
}
