//! QEMU boot tests of the drop-in contract (`cargo test --features qemu`): the real
//! Debian cloud kernel boots an image packed by the builder; the init under test
//! hands over to the probe (`tests/probe`) as `/sbin/zinit init`, which reports what
//! it sees as PID 1 and powers off. Every assertion is on what the guest observed.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use common::guest::{entries, fact, tail, Image};

const MEM: u32 = 512;

/// A tree with every file type and odd metadata, as root on the host.
fn fixture(root: &Path) {
    let f = root.join("var/fixture");
    for d in ["sub", "deep/a/b/c", "sticky", "private"] {
        fs::create_dir_all(f.join(d)).unwrap();
    }
    fs::write(f.join("plain"), "plain text\n").unwrap();
    fs::write(f.join("empty"), "").unwrap();
    fs::write(f.join("deep/a/b/c/file"), "deep\n").unwrap();
    for (name, mode) in [("suid", 0o4755), ("sgid", 0o2711), ("exec", 0o755), ("readonly", 0o400)] {
        fs::write(f.join(name), name).unwrap();
        fs::set_permissions(f.join(name), fs::Permissions::from_mode(mode)).unwrap();
    }
    fs::set_permissions(f.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(f.join("private"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(f.join("hard1"), "linked\n").unwrap();
    fs::hard_link(f.join("hard1"), f.join("sub/hard2")).unwrap();
    fs::hard_link(f.join("hard1"), f.join("deep/hard3")).unwrap();
    symlink("plain", f.join("sym-rel")).unwrap();
    symlink("/etc/passwd", f.join("sym-abs")).unwrap();
    symlink("/nowhere/at/all", f.join("sym-dangling")).unwrap();
    let node = |name: &str, kind: rustix::fs::FileType, maj, min| {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            f.join(name),
            kind,
            rustix::fs::Mode::from_raw_mode(0o640),
            rustix::fs::makedev(maj, min),
        )
        .unwrap()
    };
    node("fifo", rustix::fs::FileType::Fifo, 0, 0);
    node("null", rustix::fs::FileType::CharacterDevice, 1, 3);
    node("loop0", rustix::fs::FileType::BlockDevice, 7, 0);
    // Owners and times: cpio carries whole seconds of mtime; the kernel sets atime
    // to it when unpacking, so atime = mtime here too.
    let mut t = 1_600_000_000;
    let mut all: Vec<_> = walk(&f);
    all.sort();
    for p in all.iter().rev() {
        let (uid, gid) = if p.ends_with("plain") || p.ends_with("private") {
            (1234, 5678)
        } else {
            (0, 0)
        };
        rustix::fs::chownat(
            rustix::fs::CWD,
            p,
            Some(rustix::process::Uid::from_raw(uid)),
            Some(rustix::process::Gid::from_raw(gid)),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
        t += 7_777;
        let ts = rustix::fs::Timespec { tv_sec: t, tv_nsec: 0 };
        let times = rustix::fs::Timestamps {
            last_access: ts,
            last_modification: ts,
        };
        rustix::fs::utimensat(rustix::fs::CWD, p, &times, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).unwrap();
    }
    // chown cleared the setuid/setgid bits: set them again.
    fs::set_permissions(f.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(f.join("sgid"), fs::Permissions::from_mode(0o2711)).unwrap();
}

fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    let mut v = vec![p.to_path_buf()];
    if p.symlink_metadata().unwrap().is_dir() {
        for e in fs::read_dir(p).unwrap() {
            v.extend(walk(&e.unwrap().path()));
        }
    }
    v
}

#[test]
fn drop_in_boot_hands_over_the_whole_contract() {
    if !common::needs_root("drop_in_boot_hands_over_the_whole_contract") {
        return;
    }
    whole_contract("zos.root=copy", "switch: freed the old root");
}

/// Zero-copy (the default, `auto`, picks bind for this image): the same probe, the
/// same contract, entry by entry.
#[test]
fn bind_mode_hands_over_the_whole_contract() {
    if !common::needs_root("bind_mode_hands_over_the_whole_contract") {
        return;
    }
    whole_contract("", "copy: bind: removed what the copy leaves out");
}

/// One boot of the fixture image with `append`; `freed` is the log line that says
/// the 24 MiB the copy leaves out were freed (by switch_root, or by bind's prune).
fn whole_contract(append: &str, freed: &str) {
    let img = Image::new();
    fixture(&img.root());
    img.walk(&["/var/fixture"]);
    // Not in the copy list: stays in the initramfs until switch_root frees it.
    img.random_file("junk/blob", 24 << 20);
    common::guest::probe_new_root(&img);
    let expected = zos_probe::listing::list_tree(&img.root(), Path::new("var/fixture")).unwrap();

    let out = img.boot(append, MEM);
    let t = tail(&out);
    common::guest::assert_drop_in_handover(&out);
    common::guest::assert_new_root_as_copied(&img, &out);
    let bind = append.is_empty();
    assert_eq!(out.has("copy: new root by bind"), bind, "{t}");
    assert_eq!(out.has("bound onto /mnt/root: nothing copied"), bind, "{t}");
    assert_eq!(
        out.has("copy: /bin"),
        !bind,
        "copied in bind mode, or not in copy mode\n{t}"
    );
    assert_eq!(
        fact(&out, "env.HOME").as_deref(),
        Some("/"),
        "the kernel's env is passed on\n{t}"
    );

    // The fixture, entry by entry against the host tree (xattrs and allocation aside:
    // newc carries neither; the namespace copy test covers them).
    let got = entries(&out);
    assert_eq!(got.len(), expected.len(), "entry count\n{got:#?}\n{t}");
    for (g, e) in got.iter().zip(&expected) {
        let fields = |x: &zos_probe::listing::Entry| {
            (
                x.path.clone(),
                x.kind,
                x.mode,
                x.uid,
                x.gid,
                x.size,
                x.mtime.sec,
                x.nlink,
                x.link_group.clone(),
                x.rdev,
                x.target.clone(),
                x.hash,
            )
        };
        assert_eq!(fields(g), fields(e), "entry {}", e.path.display());
        assert_eq!(
            g.atime.sec,
            e.mtime.sec,
            "atime of {} kept (= mtime after cpio)",
            e.path.display()
        );
    }

    // The old root was emptied: only the new root's files are left in shared memory,
    // not the 24 MiB blob that was never copied.
    let shmem: u64 = fact(&out, "meminfo.Shmem")
        .unwrap()
        .trim_end_matches(" kB")
        .parse()
        .unwrap();
    let statfs = fact(&out, "statfs.root").unwrap();
    let field = |name: &str| -> u64 {
        statfs
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let used = (field("blocks") - field("bavail")) * field("bsize"); // tmpfs: bavail = bfree
    assert!(
        shmem * 1024 < used + (8 << 20),
        "old root not freed: shmem {shmem} kB, new root uses {used} B\n{t}"
    );
    let freed = out.lines_with(freed);
    assert!(
        freed.iter().any(|l| l.contains(" 24.") || l.contains(" 25.")),
        "{freed:?}\n{t}"
    );
    assert!(out.has("init phase done in"), "{t}");
}

#[test]
fn tmpfs_size_comes_from_the_cmdline() {
    let img = Image::new();
    let out = img.boot("zos.root=copy zos.tmpfs=300M", MEM);
    let t = tail(&out);
    let mounts = common::guest::mounts(&out);
    let root = mounts
        .iter()
        .find(|m| m.split(' ').nth(1) == Some("/"))
        .unwrap_or_else(|| panic!("no / mount\n{t}"));
    assert!(
        root.starts_with("tmpfs / tmpfs") && root.contains("size=307200k"),
        "{root}\n{t}"
    );
}

#[test]
fn a_rootfs_bigger_than_the_tmpfs_is_refused_before_copying() {
    let img = Image::new();
    img.random_file("usr/share/big", 12 << 20);
    let out = img.boot("zos.tmpfs=8M zos.emergency=poweroff", MEM);
    let t = tail(&out);
    assert!(out.has("but the tmpfs /mnt/root has 8.0 MiB free"), "{t}");
    assert!(
        out.has("EMERGENCY: stage copy: check the rootfs fits /mnt/root: rootfs needs"),
        "{t}"
    );
    assert!(out.has("emergency: next: power off"), "{t}");
    assert!(!out.has("copy: /bin"), "the copy started anyway\n{t}");
    assert!(!out.has("PROBE pid="), "handed over a partial root\n{t}");
    assert!(out.has("reboot: Power down"), "{t}");
}

#[test]
fn a_missing_handover_target_ends_in_the_emergency_action() {
    let img = Image::new();
    let out = img.boot("init=/sbin/nope zos.emergency=poweroff", MEM);
    let t = tail(&out);
    assert!(
        out.has("handover target /sbin/nope is missing or not executable in the new root"),
        "{t}"
    );
    assert!(
        out.has("EMERGENCY: stage switch: switch_root /mnt/root /sbin/nope init"),
        "{t}"
    );
    assert!(
        !out.has("freed the old root"),
        "deleted the old root before refusing\n{t}"
    );
    assert!(out.has("reboot: Power down"), "{t}");
    assert!(!out.has("Kernel panic"), "{t}");
}

#[test]
fn an_unusable_dev_console_leaves_stdio_closed_and_the_init_reopens_it() {
    // The kernel's own built-in cpio always brings /dev/console (c 5 1), so an image
    // without it changes nothing. An image whose /dev/console is another type of node
    // replaces it (the unpacker only replaces on a type change): a block device with no
    // driver (240,0, a local major) cannot be opened, and the kernel starts /init with
    // fds 0-2 closed. With std's usual start-up that would abort PID 1.
    let mut img = Image::new();
    img.extras.push(zos_builder::ExtraEntry::BlockDev {
        path: "/dev/console".into(),
        major: 240,
        minor: 0,
        mode: 0o600,
    });
    let out = img.boot("", MEM);
    let t = tail(&out);
    assert!(
        out.has("Warning: unable to open an initial console"),
        "the kernel had a console after all\n{t}"
    );
    assert!(
        out.has("the kernel found no /dev/console in the image: stdio reopened"),
        "{t}"
    );
    // Lines logged before the console existed are replayed, the first one included.
    assert!(out.has("zos-init: zos-init 0.1.0 starting as pid 1"), "{t}");
    for fd in ["stdin", "stdout", "stderr"] {
        assert_eq!(fact(&out, fd).as_deref(), Some("/dev/console"), "{fd}\n{t}");
    }
}

#[test]
fn an_image_the_kernel_could_not_unpack_whole_is_not_handed_over() {
    // Without root= the kernel unpacks into a tmpfs capped at half the RAM: 160 MiB of
    // zeros (a few KiB of zstd) do not fit in 128 MiB, the kernel drops the rest with
    // one log line, and the init must not copy and hand over what is left.
    let img = Image::new();
    let big = img.root().join("usr/share/zeros");
    fs::create_dir_all(big.parent().unwrap()).unwrap();
    fs::File::create(&big).unwrap().set_len(160 << 20).unwrap();
    let out = img.boot("zos.emergency=poweroff", 256);
    let t = tail(&out);
    assert!(
        out.has("Initramfs unpacking failed"),
        "the kernel unpacked it all after all\n{t}"
    );
    assert!(
        out.has("EMERGENCY: stage copy: bind / onto /mnt/root if it is the kernel's tmpfs and fits 1536M, else copy: the kernel could not unpack the whole image"),
        "{t}"
    );
    assert!(!out.has("PROBE pid="), "handed over a partial root\n{t}");
    assert!(out.has("reboot: Power down"), "{t}");
}
