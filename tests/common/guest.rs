//! Building test images and booting them under QEMU (the `qemu` feature's tests).
//!
//! Each image is the default busybox userland (`zos_builder::rootfs`), the init under
//! test, and the in-guest probe (`tests/probe`) as `/sbin/zinit`, so the handover is
//! checked by what the probe observes as PID 1 after switch_root.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use zos_builder::{build_image, Compression, ExtraEntry, ImageRequest};
use zos_qemu::launch::{Boot, BootOutcome};
use zos_qemu::{Arch, Kernel};

/// Everything the images are made of, fetched or built once per test binary.
pub struct Parts {
    pub kernel: Kernel,
    pub busybox: PathBuf,
    pub applets: Vec<String>,
    pub init: PathBuf,
    pub probe: PathBuf,
}

pub fn parts() -> &'static Parts {
    static PARTS: OnceLock<Parts> = OnceLock::new();
    PARTS.get_or_init(|| {
        let kernel = zos_qemu::kernel::debian_cloud_kernel(Arch::X86_64).expect("fetch the Debian cloud kernel");
        let busybox = zos_qemu::busybox::busybox_static().expect("fetch busybox-static");
        let applets = zos_qemu::busybox::applets(&busybox).expect("list busybox applets");
        let init = zos_builder::workspace::build_musl("zos-init", "init").expect("build the init for musl");
        let probe = zos_builder::workspace::build_musl("zos-probe", "zos-probe").expect("build the probe for musl");
        Parts {
            kernel,
            busybox,
            applets,
            init,
            probe,
        }
    })
}

/// A rootfs directory being prepared for one test.
pub struct Image {
    pub dir: tempfile::TempDir,
    pub extras: Vec<ExtraEntry>,
    /// Another /init than the debug build of zos-init (e.g. a release build).
    pub init: Option<PathBuf>,
}

impl Image {
    /// busybox userland + the probe as the handover target.
    pub fn new() -> Image {
        let p = parts();
        let dir = tempfile::tempdir().unwrap();
        zos_builder::rootfs::busybox_rootfs(&dir.path().join("root"), &p.busybox, &p.applets).unwrap();
        let img = Image {
            dir,
            extras: Vec::new(),
            init: None,
        };
        fs::copy(&p.probe, img.root().join("sbin/zinit")).unwrap();
        img
    }

    /// busybox userland + zinit 0.2.11 (from the cache, built once from source) with
    /// the configs/zinit units lint keeps for this rootfs and the boot-report unit:
    /// the image `zos-builder run --batch` boots. Returns the lint notes too.
    pub fn with_zinit() -> (Image, String) {
        let p = parts();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        zos_builder::rootfs::busybox_rootfs(&root, &p.busybox, &p.applets).unwrap();
        let (extras, notes) = zos_builder::zinit::install::zinit_extras(&root, true).unwrap_or_else(|e| panic!("{e}"));
        (
            Image {
                dir,
                extras,
                init: None,
            },
            notes,
        )
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Ask the probe to list these directories (absolute, as seen in the guest).
    pub fn walk(&self, dirs: &[&str]) {
        let d = self.root().join("etc/zos-probe");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("walk"), dirs.join("\n") + "\n").unwrap();
    }

    /// A file of incompressible bytes (so it really costs its size in the guest).
    pub fn random_file(&self, rel: &str, bytes: usize) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ bytes as u64;
        let data: Vec<u8> = (0..bytes)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        fs::write(path, data).unwrap();
    }

    /// Pack with the builder (zstd level 3: test images need speed, not size).
    pub fn pack(&self) -> PathBuf {
        self.pack_with(false)
    }

    /// [`Image::pack`], with `root_owned` as the pipeline packs (configs/build.toml's
    /// default: uid/gid 0 for entries without an owner record).
    pub fn pack_with(&self, root_owned: bool) -> PathBuf {
        let out = self.dir.path().join("initramfs.cpio.zst");
        let req = ImageRequest {
            rootfs: Some(self.root()),
            init: Some(self.init.clone().unwrap_or_else(|| parts().init.clone())),
            extras: self.extras.clone(),
            compression: Compression::Zstd,
            level: Some(3),
            root_owned,
            source_date_epoch: None,
            output: out.clone(),
        };
        build_image(&req).expect("pack the image");
        out
    }

    /// QEMU arguments for a virtio disk (a small raw file), a user-mode virtio NIC
    /// and a virtio RNG.
    pub fn virtio_devices(&self) -> Vec<String> {
        let disk = self.dir.path().join("disk.raw");
        fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
        [
            "-drive",
            &format!("file={},if=virtio,format=raw", disk.display()),
            "-netdev",
            "user,id=n",
            "-device",
            "virtio-net-pci,netdev=n",
            "-device",
            "virtio-rng-pci",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Pack and boot with `append` on the cmdline; `memory_mb` of guest RAM.
    pub fn boot(&self, append: &str, memory_mb: u32) -> BootOutcome {
        self.boot_with(append, memory_mb, &[])
    }

    /// [`Image::boot`] with extra QEMU arguments (devices, drives).
    pub fn boot_with(&self, append: &str, memory_mb: u32, qemu_args: &[&str]) -> BootOutcome {
        self.boot_on(&parts().kernel, append, memory_mb, qemu_args)
    }

    /// [`Image::boot_with`] on another kernel than the cloud kernel.
    pub fn boot_on(&self, kernel: &Kernel, append: &str, memory_mb: u32, qemu_args: &[&str]) -> BootOutcome {
        self.boot_initrd(kernel, &self.pack(), append, memory_mb, qemu_args)
    }

    /// Boots an image packed already (e.g. by [`Image::pack_with`]).
    pub fn boot_initrd(
        &self,
        kernel: &Kernel,
        initrd: &Path,
        append: &str,
        memory_mb: u32,
        qemu_args: &[&str],
    ) -> BootOutcome {
        let mut boot = Boot::new(kernel, initrd);
        boot.append = append.to_string();
        boot.memory_mb = memory_mb;
        boot.timeout = Duration::from_secs(180);
        boot.serial_log = self.dir.path().join("serial.log");
        boot.extra_args = qemu_args.iter().map(|s| s.to_string()).collect();
        let out = boot.run().expect("run qemu");
        assert!(!out.timed_out, "QEMU timed out; serial log tail:\n{}", out.tail(60));
        out
    }

    /// Pack the test kernel's modules chosen by `tiers` (text of a tier file) into the
    /// rootfs, closure and index included; returns the image's module directory.
    pub fn add_modules(&self, tiers: &str) -> PathBuf {
        self.add_modules_from(&parts().kernel.modules_dir, tiers)
    }

    /// [`Image::add_modules`] from another kernel's `lib/modules/<version>`.
    pub fn add_modules_from(&self, modules_dir: &Path, tiers: &str) -> PathBuf {
        let tree = zos_builder::modules::ModuleTree::open(modules_dir).unwrap();
        let file = self.dir.path().join("test.tiers");
        fs::write(&file, tiers).unwrap();
        let tiers = zos_builder::tiers::Tiers::from_file(&file).unwrap();
        let sel = zos_builder::modules::select(&tree, &tiers).unwrap_or_else(|e| panic!("{e}"));
        zos_builder::modules::install(&tree, &sel, &self.root(), zos_builder::modules::IndexWriter::Auto)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Every value of a repeated fact (`module`, `dev`, `netdev`).
pub fn fact_all(out: &BootOutcome, key: &str) -> Vec<String> {
    facts(out)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

/// The probe's `/proc/mounts` lines (`source point type options ...`).
pub fn mounts(out: &BootOutcome) -> Vec<String> {
    facts(out)
        .into_iter()
        .filter(|(k, _)| k == "mount")
        .map(|(_, v)| v)
        .collect()
}

/// The fstype /proc/mounts gives the new root: `tmpfs` after a copy, `rootfs` (the
/// kernel's name for its initramfs tmpfs) in bind mode, which the init's log names.
pub fn root_fstype(out: &BootOutcome) -> &'static str {
    if out.has("copy: new root by bind") || out.has("bound onto /mnt/root: nothing copied") {
        "rootfs"
    } else {
        "tmpfs"
    }
}

/// What the shell /init handed zinit, as the probe saw it as PID 1: argv `zinit init`,
/// the exported PATH, stdio on the console, the new root's five mounts and its 1536M
/// tmpfs. Shared by the x86 and arm64 drop-in tests, in copy and bind mode.
pub fn assert_drop_in_handover(out: &BootOutcome) {
    let t = tail(out);
    assert!(out.has("PROBE-END"), "the probe never finished\n{t}");
    assert_eq!(fact(out, "pid").as_deref(), Some("1"), "{t}");
    assert_eq!(fact(out, "argv").as_deref(), Some(r#"["/sbin/zinit","init"]"#), "{t}");
    let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    assert_eq!(fact(out, "env.PATH").as_deref(), Some(path), "{t}");
    for fd in ["stdin", "stdout", "stderr"] {
        assert_eq!(fact(out, fd).as_deref(), Some("/dev/console"), "{fd}\n{t}");
    }
    let mounts = mounts(out);
    let field = |m: &String, i: usize| m.split(' ').nth(i).map(str::to_string);
    for (point, fstype) in [
        ("/", root_fstype(out)),
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev", "devtmpfs"),
        ("/dev/pts", "devpts"),
    ] {
        let hit = mounts
            .iter()
            .any(|m| field(m, 1).as_deref() == Some(point) && field(m, 2).as_deref() == Some(fstype));
        assert!(hit, "{point} {fstype} missing in {mounts:#?}\n{t}");
    }
    let root = mounts
        .iter()
        .find(|m| field(m, 1).as_deref() == Some("/"))
        .expect("a / mount");
    assert!(root.contains("size=1572864k"), "{root}");
    // statfs sees the same 1536M tmpfs in both modes.
    let statfs = fact(out, "statfs.root").unwrap_or_default();
    assert!(
        statfs.starts_with("0x1021994 blocks=393216 bsize=4096"),
        "{statfs}\n{t}"
    );
}

/// What the new root looks like from inside, and whether a child in its own mount
/// namespace can pivot_root there (what container runtimes do; plain rootfs refuses
/// with EINVAL): a probe script reporting `top=`, `mnt=`, `conf=` and `pivot=`.
pub fn probe_new_root(img: &Image) {
    let script = r#"echo "top=$(ls -A / | tr '\n' ' ')"
echo "mnt=$(ls -A /mnt | tr '\n' ' ')"
if [ -e /etc/zos-init.conf ]; then echo conf=present; else echo conf=absent; fi
mkdir -p /tmp/ctr
unshare -m sh -c 'mount -t tmpfs ctr /tmp/ctr && mkdir /tmp/ctr/old && cd /tmp/ctr && pivot_root . old && echo pivot=ok || echo pivot=failed'
"#;
    fs::create_dir_all(img.root().join("etc/zos-probe")).unwrap();
    fs::write(img.root().join("etc/zos-probe/run"), script).unwrap();
}

/// The `PROBE-SH` lines (the probe script's output), trimmed.
pub fn sh_lines(out: &BootOutcome) -> Vec<String> {
    out.lines_with("PROBE-SH ")
        .iter()
        .filter_map(|l| l.split_once("PROBE-SH ").map(|(_, r)| r.trim_end().to_string()))
        .collect()
}

/// After [`probe_new_root`]: the new root holds what the copy carries and nothing else
/// (no /init, no config, an empty /mnt), and pivot_root works inside it.
pub fn assert_new_root_as_copied(img: &Image, out: &BootOutcome) {
    let t = tail(out);
    let sh = sh_lines(out);
    let get = |k: &str| {
        sh.iter()
            .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::trim).map(str::to_string))
            .unwrap_or_else(|| panic!("no {k}= from the probe script: {sh:#?}\n{t}"))
    };
    let copied =
        |n: &str| ["bin", "etc", "usr", "root", "tmp", "sbin", "var", "run"].contains(&n) || n.starts_with("lib");
    let top = get("top");
    let top: Vec<&str> = top.split_whitespace().collect();
    for n in &top {
        assert!(
            copied(n) || ["dev", "proc", "sys", "mnt"].contains(n),
            "{n} in the new root: not in the copy list\n{top:?}\n{t}"
        );
    }
    for e in fs::read_dir(img.root()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if copied(&name) {
            assert!(
                top.contains(&name.as_str()),
                "{name} missing in the new root {top:?}\n{t}"
            );
        }
    }
    assert_eq!(get("mnt"), "", "/mnt is empty after the switch\n{t}");
    assert_eq!(get("conf"), "absent", "the init's config is not handed over\n{t}");
    assert_eq!(get("pivot"), "ok", "pivot_root in a new mount namespace\n{t}");
}

/// `PROBE key=value` facts, in order.
pub fn facts(out: &BootOutcome) -> Vec<(String, String)> {
    out.lines_with("PROBE ")
        .iter()
        .filter_map(|l| l.split_once("PROBE ").map(|(_, r)| r))
        .filter_map(|r| {
            r.split_once('=')
                .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        })
        .collect()
}

pub fn fact(out: &BootOutcome, key: &str) -> Option<String> {
    facts(out).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The probe's `PROBE-ENTRY` listing.
pub fn entries(out: &BootOutcome) -> Vec<zos_probe::listing::Entry> {
    out.lines_with("PROBE-ENTRY ")
        .iter()
        .map(|l| {
            let line = &l[l.find("PROBE-ENTRY ").unwrap()..];
            zos_probe::listing::Entry::from_line(line).unwrap_or_else(|e| panic!("bad probe line {line:?}: {e}"))
        })
        .collect()
}

/// The init's own lines and the log's tail, for assertion messages.
pub fn tail(out: &BootOutcome) -> String {
    let init = out.lines_with("zos-init: ").join("\n");
    format!("--- init log ---\n{init}\n--- serial log tail ---\n{}", out.tail(40))
}

pub fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}
