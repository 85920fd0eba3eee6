//! The debug-drive rows of the fault matrix: hostile entries where the debug files
//! land, and a new root too full to take them. The debug drive is vfat (the only
//! filesystem the init mounts for it), which has no symlinks, FIFOs or device nodes
//! (QEMU's vvfat follows a host symlink and shows a plain file), so the traps are in
//! the image, at the paths the debug files are copied to, and in the drive's own
//! directory names (`dev/`, `proc/`). Copy mode: the new root is its own tmpfs.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::common::guest::{fact, sh_lines, tail, Image};
use super::MEM;
use zos_builder::ExtraEntry;

/// The disk drivers and FAT modules the test kernel keeps as modules.
const TIERS: &str = "[hardware]\nata_piix\nsd_mod\nvfat\nnls_cp437\nnls_ascii\nnls_utf8\nnls_iso8859-1\n";

fn write(root: &Path, rel: &str, text: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// The debug drive's directory (its marker included), given as the first drive.
fn drive(files: &[(&str, &[u8])]) -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), ".zero-os-debug", b"");
    for (rel, text) in files {
        write(d.path(), rel, text);
    }
    let arg = format!("file=fat:rw:{},format=raw", d.path().display());
    (d, arg)
}

/// The probe reports each path as `path=absent|fifo|chardev|link|file:<content>`.
fn probe_paths(img: &Image, paths: &[&str], extra: &str) {
    let mut s = String::from("for f in");
    for p in paths {
        s += &format!(" {p}");
    }
    s += r#"; do
  if [ -p "$f" ]; then k=fifo; elif [ -c "$f" ]; then k=chardev; elif [ -L "$f" ]; then k=link
  elif [ -f "$f" ]; then k="file:$(cat "$f")"; else k=absent; fi
  echo "$f=$k"
done
"#;
    s += extra;
    write(&img.root(), "etc/zos-probe/run", s.as_bytes());
}

fn seen(out: &zos_qemu::launch::BootOutcome) -> Vec<String> {
    sh_lines(out)
}

/// Symlinks out of the new root (absolute, `..`-climbing, into its /dev and
/// /proc/sys), a FIFO and a device node (1,11: /dev/kmsg, so a write through it would
/// show on the console) at debug files' paths, and drive directories named `dev/` and
/// `proc/`. Nothing lands outside the new root's own tmpfs, nothing is opened, PID 1
/// does not hang, and the probe sees the debug files inside the root.
#[test]
fn debug_files_meet_escaping_links_fifos_and_device_nodes_and_stay_in_the_new_root() {
    let mut img = Image::new();
    img.add_modules(TIERS);
    let root = img.root();
    write(&root, "etc/zos-victim", b"ORIGINAL");
    fs::create_dir_all(root.join("usr/share/zos-inside")).unwrap();
    symlink("/etc/zos-victim", root.join("etc/zos-abs-file")).unwrap();
    symlink("/usr/share/zos-inside", root.join("etc/zos-abs-dir")).unwrap();
    symlink("/dev", root.join("etc/zos-dev")).unwrap();
    symlink("../../../../../../dev", root.join("etc/zos-rel")).unwrap();
    symlink("/proc/sys/kernel", root.join("etc/zos-proc")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("etc/zos-fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    img.extras.push(ExtraEntry::CharDev {
        path: "/etc/zos-kmsg".into(),
        major: 1,
        minor: 11,
        mode: 0o644,
    });
    let (_d, arg) = drive(&[
        ("etc/zos-abs-file", b"DEBUG-ABS-FILE"),
        ("etc/zos-abs-dir/f", b"DEBUG-IN-ROOT"),
        ("etc/zos-dev/zos-escaped-abs", b"DEBUG-ABS"),
        ("etc/zos-rel/zos-escaped-rel", b"DEBUG-REL"),
        ("etc/zos-proc/hostname", b"pwned-by-debug"),
        ("etc/zos-fifo", b"DEBUG-FIFO"),
        ("etc/zos-kmsg", b"ZOS-THROUGH-KMSG"),
        ("dev/zos-escaped-dev", b"DEBUG-DEV"),
        ("proc/sys/kernel/hostname", b"pwned-by-debug"),
    ]);
    probe_paths(
        &img,
        &[
            "/etc/zos-victim",
            "/etc/zos-abs-file",
            "/usr/share/zos-inside/f",
            "/etc/zos-fifo",
            "/etc/zos-kmsg",
            "/etc/zos-dev/zos-escaped-abs",
            "/etc/zos-rel/zos-escaped-rel",
            "/dev/zos-escaped-abs",
            "/dev/zos-escaped-rel",
            "/dev/zos-escaped-dev",
        ],
        "echo \"hostname=$(cat /proc/sys/kernel/hostname)\"\n",
    );
    let out = img.boot_with("zos.root=copy zos.debug=1", MEM, &["-drive", &arg]);
    let t = tail(&out);
    assert_eq!(
        fact(&out, "pid").as_deref(),
        Some("1"),
        "PID 1 hung or the boot broke\n{t}"
    );
    assert!(out.has("from /dev/sda1 over /mnt/root"), "the copy did not finish\n{t}");
    assert!(
        out.has("debug: not copied: /mnt/root/dev/zos-escaped-dev: on another filesystem mounted in the new root"),
        "{t}"
    );
    assert!(
        out.has("debug: not copied: /mnt/root/proc/sys: on another filesystem mounted in the new root"),
        "{t}"
    );
    let sh = seen(&out);
    for want in [
        // A final-component link is replaced by the file, its target left alone.
        "/etc/zos-victim=file:ORIGINAL",
        "/etc/zos-abs-file=file:DEBUG-ABS-FILE",
        // An absolute directory link resolves inside the new root, as after the switch.
        "/usr/share/zos-inside/f=file:DEBUG-IN-ROOT",
        // A FIFO and a device node are replaced, never opened.
        "/etc/zos-fifo=file:DEBUG-FIFO",
        "/etc/zos-kmsg=file:ZOS-THROUGH-KMSG",
        // Links into another filesystem (the new root's /dev) become real directories.
        "/etc/zos-dev/zos-escaped-abs=file:DEBUG-ABS",
        "/etc/zos-rel/zos-escaped-rel=file:DEBUG-REL",
        // Nothing reached the devtmpfs (the same one the handover target sees).
        "/dev/zos-escaped-abs=absent",
        "/dev/zos-escaped-rel=absent",
        "/dev/zos-escaped-dev=absent",
    ] {
        assert!(sh.iter().any(|l| l == want), "no `{want}` in {sh:#?}\n{t}");
    }
    assert!(
        !sh.iter()
            .any(|l| l.contains("pwned-by-debug") && l.starts_with("hostname=")),
        "the debug files wrote /proc/sys/kernel/hostname\n{sh:#?}"
    );
    // Written through the device node, the text would be a kernel log line.
    let through: Vec<&str> = out
        .log
        .lines()
        .filter(|l| l.contains("ZOS-THROUGH-KMSG") && !l.contains("PROBE-SH"))
        .collect();
    assert!(through.is_empty(), "written through /dev/kmsg: {through:?}");
    assert!(!out.has("Kernel panic"), "{t}");
}

/// A new root with too little room for a debug file (zos.tmpfs=16M, a 24 MiB file):
/// the write fails with ENOSPC, the file it would replace stays whole (no truncated
/// binary handed to zinit), the files before it stay, and the boot goes on.
#[test]
fn a_debug_file_that_does_not_fit_the_new_root_leaves_the_old_file_whole() {
    let img = Image::new();
    img.add_modules(TIERS);
    write(&img.root(), "usr/bin/zos-big", b"ORIGINAL-BIG");
    let mut big = vec![0u8; 24 << 20];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for b in big.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let (_d, arg) = drive(&[("etc/zos-before", b"BEFORE"), ("usr/bin/zos-big", &big)]);
    probe_paths(
        &img,
        &["/etc/zos-before", "/usr/bin/zos-big"],
        "echo \"tmp=$(ls -A /usr/bin | grep -c zos-debug-tmp)\"\n",
    );
    let out = img.boot_with("zos.root=copy zos.tmpfs=16M zos.debug=1", MEM, &["-drive", &arg]);
    let t = tail(&out);
    assert!(
        out.has(
            "zos-init: debug: copy: write /mnt/root/usr/bin/zos-big: ENOSPC (No space left on device); the copy stopped there: \
             the files copied before it stay, that file is left as it was, nothing after it is copied; the boot goes on"
        ),
        "{t}"
    );
    assert_eq!(fact(&out, "pid").as_deref(), Some("1"), "no handover\n{t}");
    let sh = seen(&out);
    for want in [
        "/etc/zos-before=file:BEFORE",
        "/usr/bin/zos-big=file:ORIGINAL-BIG",
        "tmp=0",
    ] {
        assert!(sh.iter().any(|l| l == want), "no `{want}` in {sh:#?}\n{t}");
    }
    assert!(!out.has("Kernel panic"), "{t}");
}
