//! End to end: the Debian cloud kernel boots a hand-made initramfs whose `/init` is
//! zos-probe, and the serial log carries its facts. Built only with the `qemu` feature (`cargo test --features qemu`).
//!
//! The image is packed with the host's `cpio` (`find . | cpio -o -H newc`), run as
//! root so `mknod dev/console c 5 1` works: fine for this self-test of the harness.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "qemu")]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use zos_probe::listing::{list_tree, Entry};
use zos_qemu::{busybox_static, debian_cloud_kernel, probe_binary, Arch, Boot};

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{script}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// /init = probe, /bin/busybox + /bin/sh, /dev/console, and the probe's walk/run files.
fn stage_image(root: &Path, probe: &Path, busybox: &Path) {
    for d in ["bin", "dev", "etc/zos-probe"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::copy(probe, root.join("init")).unwrap();
    fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for f in ["init", "bin/busybox"] {
        fs::set_permissions(root.join(f), fs::Permissions::from_mode(0o755)).unwrap();
    }
    symlink("busybox", root.join("bin/sh")).unwrap();
    fs::write(root.join("etc/zos-probe/walk"), "/bin\n").unwrap();
    fs::write(
        root.join("etc/zos-probe/run"),
        "echo hello from sh\n/bin/busybox uname -r\nexit 3\n",
    )
    .unwrap();
    sh(root, "mknod dev/console c 5 1");
}

#[test]
fn boot_probe() {
    let t = Instant::now();
    let kernel = debian_cloud_kernel(Arch::X86_64).unwrap_or_else(|e| panic!("{e}"));
    let busybox = busybox_static().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("kernel {} and busybox ready in {:?}", kernel.version, t.elapsed());
    let t = Instant::now();
    let probe = probe_binary(Arch::X86_64).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("probe {} ready in {:?}", probe.display(), t.elapsed());

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    stage_image(&root, &probe, &busybox);
    let initrd = tmp.path().join("initrd.cpio");
    sh(
        &root,
        &format!("find . | cpio -o -H newc --quiet > {}", initrd.display()),
    );

    let mut boot = Boot::new(&kernel, &initrd);
    boot.append = "quiet".into();
    boot.timeout = Duration::from_secs(120);
    let out = boot.run().unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "boot took {:?} (timed out: {}), guest uptime at probe: {:?}",
        out.elapsed,
        out.timed_out,
        out.lines_with("PROBE uptime=")
    );
    let fail = |what: &str| -> ! { panic!("{what}\n--- serial log tail ---\n{}", out.tail(40)) };
    if out.timed_out {
        fail("QEMU timed out");
    }
    if !out.has("PROBE-END") {
        fail("no PROBE-END");
    }
    let errors = out.lines_with("PROBE-ERROR");
    if !errors.is_empty() {
        fail(&format!("probe errors: {errors:?}"));
    }
    for want in [
        "PROBE pid=1",
        "PROBE argv=[\"/init\"]",
        "PROBE self-mounted=/proc",
        "PROBE stdin=/dev/console",
        "PROBE stdout=/dev/console",
        "PROBE stderr=/dev/console",
        "PROBE env.HOME=/",
        "PROBE env.TERM=linux",
        "PROBE-SH hello from sh",
        &format!("PROBE-SH {}", kernel.version),
        "PROBE sh.status=3",
    ] {
        if !out.lines_with(want).contains(&want) {
            fail(&format!("missing line `{want}`"));
        }
    }
    if out.lines_with("PROBE mount=proc /proc proc ").is_empty() {
        fail("no proc mount line");
    }
    // Rootfs is a tmpfs when no root= is given (TMPFS_MAGIC 0x1021994).
    if out.lines_with("PROBE statfs.root=0x1021994 ").is_empty() {
        fail("rootfs is not tmpfs");
    }

    // The guest's listing of /bin equals the host's listing of the staged tree, for
    // the fields cpio carries (newc has no nsec, atime, xattrs).
    let guest: Vec<Entry> = out
        .lines_with("PROBE-ENTRY ")
        .iter()
        .map(|l| Entry::from_line(l).unwrap_or_else(|e| fail(&e)))
        .collect();
    let host = list_tree(&root, Path::new("/bin")).unwrap();
    let key = |e: &Entry| {
        (
            e.path.clone(),
            e.kind,
            e.mode,
            e.uid,
            e.gid,
            e.size,
            e.mtime.sec,
            e.target.clone(),
            e.hash,
        )
    };
    assert_eq!(
        guest.iter().map(key).collect::<Vec<_>>(),
        host.iter().map(key).collect::<Vec<_>>()
    );
    assert!(out.elapsed < Duration::from_secs(60), "boot took {:?}", out.elapsed);
}
