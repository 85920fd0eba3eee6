use super::*;
use crate::{build_image, Compression, ExtraEntry, ImageRequest};

const SDE: u64 = 1_704_067_200;

/// An image with a file, a 0555 dir holding a file, a symlink chain, a hard link, an
/// owner/setuid entry (via the owners manifest) and a device node.
fn image(dir: &Path) -> PathBuf {
    let r = dir.join("rootfs");
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::create_dir_all(r.join("ro")).unwrap();
    fs::write(r.join("etc/hostname"), "zos\n").unwrap();
    fs::write(r.join("ro/inside"), "x").unwrap();
    fs::set_permissions(r.join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::write(r.join("etc/big"), vec![7u8; 100_000]).unwrap();
    fs::hard_link(r.join("etc/big"), r.join("etc/big2")).unwrap();
    symlink("hostname", r.join("etc/name")).unwrap();
    symlink("/etc/name", r.join("etc/abs")).unwrap();
    symlink("loop2", r.join("loop1")).unwrap();
    symlink("loop1", r.join("loop2")).unwrap();
    fs::write(sidecar_for(&r), "0 42 0640 etc/hostname\n0 0 4755 etc/big\n").unwrap();
    let out = dir.join("img.cpio.zst");
    build_image(&ImageRequest {
        rootfs: Some(r.clone()),
        init: None,
        extras: vec![ExtraEntry::BlockDev {
            path: "/dev/vda".into(),
            major: 254,
            minor: 0,
            mode: 0o660,
        }],
        compression: Compression::Zstd,
        level: None,
        root_owned: false,
        source_date_epoch: Some(SDE),
        output: out.clone(),
    })
    .unwrap();
    // The read-only dir would stop tempdir's cleanup.
    fs::set_permissions(r.join("ro"), fs::Permissions::from_mode(0o755)).unwrap();
    out
}

#[test]
fn cat_files_and_symlinks() {
    let d = tempfile::tempdir().unwrap();
    let img = image(d.path());
    assert_eq!(cat(&img, "/etc/hostname").unwrap(), b"zos\n");
    assert_eq!(cat(&img, "etc/name").unwrap(), b"zos\n", "relative link");
    assert_eq!(
        cat(&img, "./etc/abs").unwrap(),
        b"zos\n",
        "absolute link, inside the image"
    );
    assert_eq!(cat(&img, "etc/big2").unwrap().len(), 100_000, "hard link");
    let e = cat(&img, "etc").unwrap_err().to_string();
    assert!(e.contains("\"etc\" is not a regular file (a directory)"), "{e}");
    let e = cat(&img, "dev/vda").unwrap_err().to_string();
    assert!(e.contains("a block device"), "{e}");
    let e = cat(&img, "etc/nope").unwrap_err().to_string();
    assert!(e.contains("no entry \"etc/nope\"") && e.contains("img.cpio.zst"), "{e}");
    assert!(matches!(cat(&img, "loop1"), Err(UnpackError::Loop { .. })));
}

#[test]
fn unpack_without_root_then_rebuild_gives_the_same_listing() {
    let d = tempfile::tempdir().unwrap();
    let img = image(d.path());
    let out = d.path().join("x/unpacked");
    let rep = unpack(&img, &out).unwrap();
    assert_eq!(fs::read(out.join("etc/hostname")).unwrap(), b"zos\n");
    assert_eq!(fs::read_link(out.join("etc/name")).unwrap(), Path::new("hostname"));
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (
        fs::metadata(out.join("etc/big")).unwrap(),
        fs::metadata(out.join("etc/big2")).unwrap(),
    );
    assert_eq!((a.ino(), a.len()), (b.ino(), 100_000), "one inode for the hard link");
    assert_eq!(rep.hardlinks, 1);
    assert_eq!(
        fs::metadata(out.join("ro")).unwrap().mode() & 0o777,
        0o755,
        "0555 + owner rwx on the host"
    );
    assert!(
        rep.skipped
            .iter()
            .any(|s| s.starts_with("dev/vda: a block device 254,0 mode 0660")),
        "{:?}",
        rep.skipped
    );
    assert!(rep
        .skipped
        .iter()
        .any(|s| s.starts_with("dev/console: a character device 5,1")));
    let owners = fs::read_to_string(&rep.owners).unwrap();
    assert!(owners.contains("0 42 0640 etc/hostname"), "{owners}");
    assert!(owners.contains("0 0 4755 etc/big\n"), "{owners}");
    assert!(owners.contains(" 0555 ro\n"), "{owners}");
    assert_eq!(a.mtime() as u64, SDE, "mtime kept");

    // The unpacked tree plus its owners file packs to the same listing.
    let again = d.path().join("again.cpio");
    build_image(&ImageRequest {
        rootfs: Some(out.clone()),
        init: None,
        extras: vec![ExtraEntry::BlockDev {
            path: "/dev/vda".into(),
            major: 254,
            minor: 0,
            mode: 0o660,
        }],
        compression: Compression::None,
        level: None,
        root_owned: false,
        source_date_epoch: Some(SDE),
        output: again.clone(),
    })
    .unwrap();
    assert_eq!(
        crate::inspect::list_image(&img).unwrap(),
        crate::inspect::list_image(&again).unwrap()
    );
    // Unpacking again over the same dir works (files are owner-writable).
    unpack(&img, &out).unwrap();
}

/// A symlink already in DIR at a directory entry's path is replaced, not followed: the
/// entry's mode must not reach the directory the link points at.
#[test]
fn unpack_over_a_symlink_on_disk_does_not_follow_it() {
    let d = tempfile::tempdir().unwrap();
    let img = image(d.path());
    let victim = d.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).unwrap();
    let out = d.path().join("out");
    fs::create_dir_all(&out).unwrap();
    symlink(&victim, out.join("ro")).unwrap();
    symlink(&victim, out.join("etc")).unwrap();
    unpack(&img, &out).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&victim).unwrap().mode() & 0o777, 0o700, "victim chmodded");
    assert_eq!(fs::read_dir(&victim).unwrap().count(), 0, "written through the link");
    assert!(fs::symlink_metadata(out.join("ro")).unwrap().is_dir());
    assert_eq!(fs::read(out.join("etc/hostname")).unwrap(), b"zos\n");
}

/// A raw newc archive of regular files, as a hostile image would hold them.
fn raw_newc(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let pad = |out: &mut Vec<u8>| out.resize(out.len().next_multiple_of(4), 0);
    for (i, (name, data)) in files.iter().chain([&("TRAILER!!!", &b""[..])]).enumerate() {
        let mode = if *name == "TRAILER!!!" { 0 } else { 0o100644 };
        let h = format!(
            "070701{:08X}{mode:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            i + 1,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad(&mut out);
        out.extend_from_slice(data);
        pad(&mut out);
    }
    out
}

/// Names that climb out with `..` are listed as skipped, not dropped silently.
#[test]
fn escaping_names_are_listed_not_dropped() {
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("evil.cpio");
    fs::write(
        &img,
        raw_newc(&[("ok", b"1"), ("../../escape", b"2"), ("a/../../up", b"3")]),
    )
    .unwrap();
    let out = d.path().join("out");
    let rep = unpack(&img, &out).unwrap();
    assert_eq!(rep.files, 1);
    for name in ["../../escape", "a/../../up"] {
        assert!(
            rep.skipped
                .iter()
                .any(|s| s.starts_with(&format!("{name}: climbs out"))),
            "{name}: {:?}",
            rep.skipped
        );
    }
    assert!(!d.path().join("escape").exists() && !d.path().join("up").exists());
}
