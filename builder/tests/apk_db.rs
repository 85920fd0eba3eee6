//! The installed database against apk's own: the Alpine 3.19.4 minirootfs database
//! was written by apk-tools 2.14, and eight of its packages have the very same
//! version and identity as files in the 3.19.1 fixture repository. Their records
//! (header, r:, F:/M:/R:/a:/Z: lines) must come out byte for byte the same.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;

use std::fs;
use std::io::Read;

use apk_support::*;
use zos_builder::apk::db::split_installed;
use zos_builder::apk::dep::Dep;
use zos_builder::apk::{install, Request};

const SAME: [&str; 8] = [
    "alpine-baselayout",
    "alpine-baselayout-data",
    "alpine-keys",
    "libc-utils",
    "musl",
    "musl-utils",
    "scanelf",
    "zlib",
];

fn tar_entries(bytes: &[u8]) -> Vec<(String, u32, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut ar = tar::Archive::new(bytes);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        out.push((
            String::from_utf8_lossy(&e.path_bytes()).into_owned(),
            h.mode().unwrap(),
            h.mtime().unwrap(),
            body,
        ));
    }
    out
}

#[test]
fn installed_records_match_apk_tools() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let req = Request {
        root: root.clone(),
        world: SAME.iter().map(|a| Dep::parse(a).unwrap()).collect(),
        settings: settings(&repo319().display().to_string(), &t.path().join("c")),
        base_tar: None,
        log_path: None,
        verbose: false,
    };
    install(&req).unwrap();
    let ours = split_installed(&fs::read_to_string(root.join("lib/apk/db/installed")).unwrap());
    let apk_db = fixtures().join("minirootfs-3.19.4-x86_64-db");
    let theirs = split_installed(&fs::read_to_string(apk_db.join("lib/apk/db/installed")).unwrap());
    for name in SAME {
        assert_eq!(ours.get(name), theirs.get(name), "record of {name} differs from apk's");
    }
    // Records are in name order, as apk writes them.
    let names: Vec<&String> = ours.keys().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    // scripts.tar: alpine-baselayout's entries as apk stored them (name with the
    // identity, mode, mtime = build time, content).
    let s_ours = tar_entries(&fs::read(root.join("lib/apk/db/scripts.tar")).unwrap());
    let s_theirs = tar_entries(&fs::read(apk_db.join("lib/apk/db/scripts.tar")).unwrap());
    let bl = |v: &Vec<(String, u32, u64, Vec<u8>)>| {
        v.iter()
            .filter(|e| e.0.starts_with("alpine-baselayout-3.4.3-r2."))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(bl(&s_ours).len(), 4);
    assert_eq!(bl(&s_ours), bl(&s_theirs));

    // triggers: busybox (pulled in through /bin/sh) has the same line shape.
    let trig = fs::read_to_string(root.join("lib/apk/db/triggers")).unwrap();
    let line = trig.lines().next().unwrap();
    let (_, globs) = line.split_once(' ').unwrap();
    let apk_line = fs::read_to_string(apk_db.join("lib/apk/db/triggers")).unwrap();
    assert_eq!(globs, apk_line.trim_end().split_once(' ').unwrap().1);
    assert!(line.starts_with("Q1"), "{line}");

    let mut world: Vec<&str> = SAME.to_vec();
    world.sort();
    assert_eq!(
        fs::read_to_string(root.join("etc/apk/world")).unwrap(),
        world.join("\n") + "\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/apk/arch")).unwrap(),
        fs::read_to_string(apk_db.join("etc/apk/arch")).unwrap()
    );
    assert!(root.join("lib/apk/db/lock").exists());
}

#[test]
fn tar_source_minirootfs_with_packages_on_top() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let req = Request {
        root: root.clone(),
        world: vec![Dep::parse("chrony").unwrap()],
        settings: settings(&repo319().display().to_string(), &t.path().join("c")),
        base_tar: Some(fixtures().join("minirootfs/alpine-minirootfs-3.19.4-x86_64.tar.gz")),
        log_path: None,
        verbose: false,
    };
    let r = install(&req).unwrap();
    // musl, busybox... come from the base; only chrony and what it adds are new.
    assert!(r.installed.iter().any(|p| p == "chrony-4.5-r0"), "{:?}", r.installed);
    assert!(
        !r.installed
            .iter()
            .any(|p| p.starts_with("musl-") || p.starts_with("busybox-")),
        "{:?}",
        r.installed
    );
    assert!(root.join("usr/sbin/chronyd").is_file());
    let db = split_installed(&fs::read_to_string(root.join("lib/apk/db/installed")).unwrap());
    assert!(db["busybox"].contains("V:1.36.1-r19"), "base record kept");
    assert!(db.contains_key("chrony") && db.contains_key("gnutls"));
    let world = fs::read_to_string(root.join("etc/apk/world")).unwrap();
    assert_eq!(
        world,
        "alpine-baselayout\nalpine-keys\napk-tools\nbusybox\nchrony\nlibc-utils\n"
    );
    let owners = fs::read_to_string(zos_builder::apk::owners::sidecar_for(&root)).unwrap();
    assert!(
        owners.contains("\n0 42 0640 etc/shadow\n"),
        "base tarball owners recorded"
    );
    assert!(owners.contains(" usr/sbin/chronyd\n"));
    let log = r.log.join("\n");
    if zos_builder::apk::chroot::ScriptRunner::new(&root, "x86_64").is_ok() {
        // As root the script runs in the target, as apk runs it: the chrony user
        // exists and owns its log dir by the id adduser gave it.
        assert!(log.contains("script chrony-4.5-r0.pre-install: ran chrooted"), "{log}");
        let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
        let line = passwd
            .lines()
            .find(|l| l.starts_with("chrony:x:"))
            .expect("chrony user");
        let uid: u32 = line.split(':').nth(2).unwrap().parse().unwrap();
        let dir = owners
            .lines()
            .find(|l| l.ends_with(" var/log/chrony"))
            .expect("log dir");
        assert!(dir.starts_with(&format!("{uid} ")), "{dir}");
    } else {
        assert!(log.contains("script chrony-4.5-r0 .pre-install: SKIPPED"), "{log}");
    }
}
