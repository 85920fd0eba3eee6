//! `root_owned` (configs/build.toml's default) makes entries without an owner record
//! root's, and leaves the installer's records alone (issue 17): the image keeps
//! /etc/shadow's `shadow` group and a daemon's directory owner. Read back with
//! `zos-builder ls`, as a user would.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use zos_builder::{build_image, Compression, ImageRequest};

#[test]
fn root_owned_keeps_recorded_owners() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("rootfs");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("var/log/chrony")).unwrap();
    fs::write(root.join("etc/shadow"), b"root:*::0:::::\n").unwrap();
    fs::write(root.join("etc/hostname"), b"zos\n").unwrap();
    fs::write(
        zos_builder::apk::owners::sidecar_for(&root),
        "0 42 0640 etc/shadow\n100 101 2755 var/log/chrony\n",
    )
    .unwrap();
    if fs::metadata(&root).unwrap().uid() == 0 {
        std::os::unix::fs::chown(root.join("etc/hostname"), Some(1234), Some(1234)).unwrap();
    }
    let img = t.path().join("img.cpio");
    build_image(&ImageRequest {
        rootfs: Some(root.clone()),
        compression: Compression::None,
        root_owned: true,
        output: img.clone(),
        ..ImageRequest::default()
    })
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zos-builder"))
        .arg("ls")
        .arg(&img)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ls = String::from_utf8(out.stdout).unwrap();
    let line = |name: &str| {
        ls.lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .unwrap_or_else(|| panic!("{name} not listed:\n{ls}"))
            .to_string()
    };
    let owner = |name: &str| {
        let l = line(name);
        let f: Vec<&str> = l.split_whitespace().collect();
        (f[0].to_string(), f[1].to_string(), f[2].to_string())
    };
    assert_eq!(
        owner("etc/shadow"),
        ("-rw-r-----".into(), "0".into(), "42".into()),
        "{ls}"
    );
    assert_eq!(
        owner("var/log/chrony"),
        ("drwxr-sr-x".into(), "100".into(), "101".into()),
        "{ls}"
    );
    // Unrecorded entries are root's whatever the host said (as root the test makes
    // the host owner 1234 so this can fail).
    if fs::metadata(&root).unwrap().uid() == 0 {
        assert_eq!(fs::metadata(root.join("etc/hostname")).unwrap().uid(), 1234);
    }
    let h = owner("etc/hostname");
    assert_eq!((h.1.as_str(), h.2.as_str()), ("0", "0"), "{ls}");
}
