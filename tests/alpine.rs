//! QEMU boot of an Alpine rootfs made by the native installer (`--features qemu`):
//! alpine-base from the real 3.19.1 fixture repository, the zos init as /init and
//! the probe as /sbin/zinit. The probe runs /etc/zos-probe/run with the image's own
//! /bin/sh (Alpine's busybox); the assertions are on what the guest printed: `apk
//! info` reading the installed database we wrote, binaries from installed packages,
//! and owners/setuid bits as the guest sees them.
#![cfg(feature = "qemu")]

mod common;

use std::fs;

use common::guest::{parts, tail, Image};

const SCRIPT: &str = "\
apk info | sort | sed 's/^/INFO /'
apk --version
scanelf -n /bin/busybox
ls -ln /etc/shadow /bin/bbsuid
ls -l /bin/ls
";

#[test]
fn alpine_base_boots_and_apk_works() {
    let img = Image {
        init: None,
        dir: tempfile::tempdir().unwrap(),
        extras: Vec::new(),
    };
    let root = img.root();
    let report = common::alpine::install_base(&root, &img.dir.path().join("build.log"));
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
