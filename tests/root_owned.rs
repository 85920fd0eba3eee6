//! The owners the installer recorded survive the pipeline's default packing and are
//! what the booted system sees (issue 17, `--features qemu`). alpine-base and chrony
//! from the 3.19.1 fixture repository are installed by the native installer (as root
//! their scripts run chrooted: the `shadow` group, the `chrony` user), the image is
//! packed with `root_owned = true` (configs/build.toml's default), and three owners
//! are compared: the installer's manifest, `zos-builder ls` of the image, and what a
//! shell in the booted guest prints with `stat` (the probe runs /etc/zos-probe/run
//! with the image's own busybox).
#![cfg(feature = "qemu")]

mod common;

use std::fs;

use common::guest::{parts, tail, Image};
use zos_builder::apk::owners::Owners;

/// Entries whose owner the installer records from package tars or scripts.
const PATHS: [&str; 3] = ["etc/shadow", "var/lib/chrony", "var/log/chrony"];

#[test]
fn recorded_owners_are_what_the_booted_image_sees() {
    let img = Image {
        init: None,
        dir: tempfile::tempdir().unwrap(),
        extras: Vec::new(),
    };
    let root = img.root();
    // chrony-openrc (install_if openrc + chrony) and ssl_client are not fixture files.
    let report = common::alpine::install(
        &root,
        &img.dir.path().join("build.log"),
        &["alpine-base", "chrony", "!ssl_client", "!chrony-openrc"],
    );
    let owners = Owners::load(&report.owners).unwrap();
    let recorded = |p: &str| {
        let o = owners
            .map
            .get(std::path::Path::new(p))
            .unwrap_or_else(|| panic!("{p}: no owner record"));
        (o.uid, o.gid)
    };
    // The records are not root's, so a packer that flattened them would fail below.
    assert_eq!(recorded("etc/shadow"), (0, 42));
    assert_ne!(recorded("var/lib/chrony").0, 0, "chrony's directory is chrony's");

    fs::copy(&parts().probe, root.join("sbin/zinit")).unwrap();
    fs::create_dir_all(root.join("etc/zos-probe")).unwrap();
    let script: String = PATHS
        .iter()
        .map(|p| format!("stat -c 'OWNER %u %g %n' /{p}\n"))
        .collect();
    fs::write(root.join("etc/zos-probe/run"), script).unwrap();

    let initrd = img.pack_with(true);
    let ls = zos_builder::inspect::list_image(&initrd).unwrap();
    let listed = |p: &str| -> (u32, u32) {
        let l = ls
            .lines()
            .find(|l| l.ends_with(&format!(" {p}")))
            .unwrap_or_else(|| panic!("{p} not in `zos-builder ls`"));
        let f: Vec<&str> = l.split_whitespace().collect();
        (f[1].parse().unwrap(), f[2].parse().unwrap())
    };
    let out = img.boot_initrd(&parts().kernel, &initrd, "", 512, &[]);
    let seen: Vec<(String, u32, u32)> = out
        .lines_with("PROBE-SH OWNER ")
        .iter()
        .filter_map(|l| {
            let (_, rest) = l.split_once("PROBE-SH OWNER ")?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((
                f.get(2)?.trim_start_matches('/').to_string(),
                f[0].parse().ok()?,
                f[1].parse().ok()?,
            ))
        })
        .collect();
    for p in PATHS {
        let guest = seen
            .iter()
            .find(|(n, _, _)| n == p)
            .map(|&(_, u, g)| (u, g))
            .unwrap_or_else(|| panic!("the guest printed no owner for /{p}:\n{}", tail(&out)));
        assert_eq!(
            (recorded(p), listed(p)),
            (guest, guest),
            "/{p}: (installer, image) vs booted guest {guest:?}"
        );
    }
}
