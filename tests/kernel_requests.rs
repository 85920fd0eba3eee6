//! QEMU test of the kernel's own module requests (`cargo test --features qemu --test
//! kernel_requests`): a break shell before the `modules` stage (after the copy has freed
//! the initramfs's /sbin/modprobe) runs `mount -t iso9660`, so the kernel asks user space
//! for `fs-iso9660`. The init, named in /proc/sys/kernel/modprobe, must answer it: the
//! probe sees isofs in /proc/modules after the handover and the boot report lists the
//! request with its result. Once with copy-and-free, once with `zos.free=0`.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::coldplug::{init_log, kernel_requests};
use common::guest::{fact_all, tail, Image};

const TIERS: &str = "[essential]\nbtrfs\nfuse\n[hardware]\nisofs\n";

fn image() -> Image {
    let img = Image::new();
    img.add_modules(TIERS);
    let script = |rel: &str, body: &str| {
        let p = img.root().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    };
    // No device: get_fs_type asks for the module before the mount fails on /dev/null.
    script(
        "bin/zos-break",
        "mkdir -p /tmp/iso; mount -t iso9660 /dev/null /tmp/iso 2>/dev/null\n\
         grep -q '^isofs ' /proc/modules && echo KREQ-AT-BREAK isofs loaded\nexit 0\n",
    );
    fs::write(img.root().join("etc/zos-init.conf"), "shell = /bin/zos-break\n").unwrap();
    script(
        "etc/zos-probe/run",
        "grep '\"via\": \"kernel request ' /run/zos-init/boot.json | sed 's/^ */kreq /'\nexit 0\n",
    );
    img
}

#[test]
fn the_init_answers_the_kernels_module_requests_in_copy_and_no_free_mode() {
    let img = image();
    for append in ["zos.break=modules", "zos.break=modules zos.free=0"] {
        let out = img.boot(append, 512);
        let t = format!("{}\n{}", init_log(&out), tail(&out));
        assert!(out.has("PROBE-END"), "{append}: the probe never finished\n{t}");
        assert!(
            out.has("KREQ-AT-BREAK isofs loaded"),
            "{append}: fs-iso9660 not answered at the break\n{t}"
        );
        assert!(
            fact_all(&out, "module").iter().any(|m| m == "isofs"),
            "{append}: isofs not in /proc/modules after the handover\n{t}"
        );
        let reqs = kernel_requests(&out);
        assert!(
            reqs.iter().any(|l| l.contains("\"name\": \"isofs\"")
                && l.contains("\"via\": \"kernel request fs-iso9660\"")
                && l.contains("\"error\": null")),
            "{append}: the boot report lacks the fs-iso9660 request: {reqs:?}\n{t}"
        );
    }
}
