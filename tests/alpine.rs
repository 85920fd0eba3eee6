//! QEMU boot of an Alpine rootfs made by the native installer (`--features qemu`):
//! alpine-base from the real 3.19.1 fixture repository, the zos init as /init and
//! the probe as /sbin/zinit. The probe runs /etc/zos-probe/run with the image's own
//! /bin/sh (Alpine's busybox); the assertions are on what the guest printed: `apk
//! info` reading the installed database we wrote, binaries from installed packages,
//! and owners/setuid bits as the guest sees them.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::path::Path;

use common::guest::{parts, tail, Image};
use zos_builder::apk::dep::Dep;
use zos_builder::apk::{install, Request, Settings};

const SCRIPT: &str = "\
apk info | sort | sed 's/^/INFO /'
apk --version
scanelf -n /bin/busybox
ls -ln /etc/shadow /bin/bbsuid
ls -l /bin/ls
";

#[test]
fn alpine_base_boots_and_apk_works() {
    let fixtures = std::env::var_os("ZOS_ALPINE_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/alpine-fixtures"));
    let img = Image {
        init: None,
        dir: tempfile::tempdir().unwrap(),
        extras: Vec::new(),
    };
    let root = img.root();
    let settings = Settings {
        repositories: vec![fixtures.join("v3.19.1-iso-x86_64").display().to_string()],
        arch: "x86_64".into(),
        keys_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/keys"),
        allow_untrusted: false,
        verify_checksums: true,
        cache_downloads: false,
        offline: false,
        cache_dir: None,
        groups: Vec::new(),
        users: Vec::new(),
    };
    let req = Request {
        root: root.clone(),
        // ssl_client (install_if busybox + libssl3) is not among the fixture files.
        world: ["alpine-base", "!ssl_client"]
            .iter()
            .map(|a| Dep::parse(a).unwrap())
            .collect(),
        settings,
        base_tar: None,
        log_path: Some(img.dir.path().join("build.log")),
        verbose: false,
    };
    let report = install(&req).expect("install alpine-base");
    fs::copy(&parts().probe, root.join("sbin/zinit")).unwrap();
    fs::create_dir_all(root.join("etc/zos-probe")).unwrap();
    fs::write(root.join("etc/zos-probe/run"), SCRIPT).unwrap();

    let out = img.boot("", 512);
    let sh: Vec<String> = out
        .lines_with("PROBE-SH ")
        .iter()
        .filter_map(|l| l.split_once("PROBE-SH ").map(|(_, r)| r.trim_end().to_string()))
        .collect();
    let all = sh.join("\n");
    let has = |s: &str| sh.iter().any(|l| l.contains(s));
    // `apk info` lists exactly what we installed, from lib/apk/db/installed.
    let mut listed: Vec<&str> = sh.iter().filter_map(|l| l.strip_prefix("INFO ")).collect();
    listed.sort();
    let mut want: Vec<String> = report
        .installed
        .iter()
        .map(|nv| nv.rsplitn(3, '-').nth(2).unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(listed, want, "apk info in the guest\n{all}\n{}", tail(&out));
    assert!(has("apk-tools 2.14.0"), "apk --version\n{all}\n{}", tail(&out));
    // scanelf, a binary of an installed package, linked against the installed musl.
    assert!(
        has("libc.musl-x86_64.so.1") && has("/bin/busybox"),
        "scanelf\n{all}\n{}",
        tail(&out)
    );
    // Owners and modes as the guest sees them (recorded, not set on the host).
    assert!(
        sh.iter().any(|l| l.starts_with("-rw-r-----")
            && l.contains(" 0 ")
            && l.contains(" 42 ")
            && l.ends_with("/etc/shadow")),
        "{all}"
    );
    assert!(
        sh.iter()
            .any(|l| l.starts_with("---s--x--x") && l.ends_with("/bin/bbsuid")),
        "{all}"
    );
    assert!(has("/bin/ls -> /bin/busybox"), "applet links\n{all}");
}
