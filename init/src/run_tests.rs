//! The runner against the recorder: a whole boot in order, and each failure naming
//! its stage, step, op, path and errno.

use super::*;
use crate::cmdline;
use crate::plan;
use crate::sys::record::RecordSys;
use crate::sys::Errno;

fn run_with(sys: &RecordSys, cmdline: &str) -> Result<(), InitError> {
    let flags = cmdline::parse(&format!("zos.root=copy {cmdline}"));
    let cfg = Config::default().with_flags(&flags);
    let plan = plan::build(&cfg, &flags.break_before);
    // The inputs are the test's: the rows that would read them are left out.
    Runner::new(sys, &cfg, Duration::ZERO).run(&plan[plan::inputs().len()..])
}

#[test]
fn a_whole_boot_in_order() {
    let sys = RecordSys::default();
    run_with(&sys, "").unwrap();
    let calls = sys.calls();
    let want_prefix = [
        // The old debug switch, read before the copy can free it.
        "test -e /init-debug",
        "mount -t sysfs sysfs /sys",
        "mount -t devtmpfs devtmpfs /dev",
        "mount -t tmpfs -o size=1536M tmpfs /mnt/root",
        "statfs /mnt/root",
    ];
    let entries = sys.entries();
    let got: Vec<_> = calls
        .iter()
        .zip(&entries)
        // The copy engine's measure walk (its own tests check it).
        .filter(|(_, e)| !matches!(e, crate::sys::record::Call::Fs(_)))
        .map(|(c, _)| c)
        // The modules directory's realpath names the host's `uname -r`; the image's
        // udev rules directories are listed (`ls`) with the inputs.
        .filter(|c| !c.starts_with("cat ") && !c.starts_with("ls ") && !c.starts_with("realpath ") && *c != "dmesg")
        .take(5)
        .cloned()
        .collect();
    assert_eq!(got, want_prefix);
    let copy = sys.first_copy_write().expect("copy");
    assert_eq!(calls[copy], "mkdir(/mnt/root/bin)");
    for (src, dst) in [
        ("/etc/os-release", "/mnt/root/etc/os-release"),
        ("/lib/libc.so", "/mnt/root/lib/libc.so"),
    ] {
        assert!(sys.files.borrow().get(src).is_none(), "{src} not freed");
        assert!(sys.files.borrow().get(dst).is_some(), "{dst} not copied");
    }
    assert!(
        sys.files.borrow().get("/init").is_some(),
        "/init is never copied nor freed"
    );
    let newroot = calls
        .iter()
        .position(|c| c == "mkdir -p /mnt/root/dev")
        .expect("newroot");
    let devpts = calls
        .iter()
        .position(|c| c == "mount -t devpts devpts /mnt/root/dev/pts")
        .expect("devpts");
    let umount = calls.iter().position(|c| c == "umount /proc").expect("umount");
    let exec = calls
        .iter()
        .position(|c| c.starts_with("exec /sbin/zinit argv=[\"/sbin/zinit\", \"init\"]"))
        .expect("exec");
    assert!(
        copy < newroot && newroot < devpts && devpts < umount && umount < exec,
        "{calls:#?}"
    );
    assert!(calls[exec].contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    // The report is written in the new root (after chroot), right before exec.
    let chroot = calls.iter().position(|c| c == "chroot .").unwrap();
    let json = calls
        .iter()
        .position(|c| c.starts_with("write /run/zos-init/boot.json"))
        .expect("boot.json");
    assert!(chroot < json && json < exec, "{calls:#?}");
    let written = sys.written.borrow();
    let text = String::from_utf8_lossy(&written[0].1);
    for stage in Stage::ALL {
        assert!(
            text.contains(&format!("{{\"name\": \"{stage}\"")),
            "{stage} missing in {text}"
        );
    }
    assert!(text.contains("\"exec\": [\"/sbin/zinit\", \"init\"]"), "{text}");
}

#[test]
fn each_failure_names_stage_step_op_path_errno() {
    let cases = [
        (
            "mount",
            "/sys",
            "stage mounts: mount -t sysfs sysfs /sys: mount /sys: EPERM",
        ),
        (
            "mount",
            "/mnt/root",
            "stage copy: mount -t tmpfs -o size=1536M tmpfs /mnt/root: mount /mnt/root: EPERM",
        ),
        (
            "statfs",
            "/mnt/root",
            "stage copy: check the rootfs fits /mnt/root: statfs /mnt/root: EPERM",
        ),
        (
            "mkdir",
            "/mnt/root/proc",
            "stage newroot: mkdir -p /mnt/root/proc: mkdir /mnt/root/proc: EPERM",
        ),
        (
            "mount",
            "/mnt/root/dev/pts",
            "stage newroot: mount -t devpts devpts /mnt/root/dev/pts: mount /mnt/root/dev/pts: EPERM",
        ),
        ("umount", "/sys", "stage switch: umount /sys: umount /sys: EPERM"),
        (
            "chroot",
            ".",
            "stage switch: switch_root /mnt/root /sbin/zinit init: chroot .: EPERM",
        ),
    ];
    for (op, path, want) in cases {
        let sys = RecordSys::default();
        sys.fail_on(op, path, Errno::PERM);
        let e = run_with(&sys, "").unwrap_err().to_string();
        assert!(e.starts_with(want), "{e}\n !~ {want}");
    }
}

#[test]
fn too_big_rootfs_stops_before_copying() {
    let sys = RecordSys {
        available: 16 << 20,
        ..Default::default()
    }
    .with_bulk(40 << 20);
    let e = run_with(&sys, "zos.tmpfs=16M").unwrap_err().to_string();
    assert!(
        e.contains("rootfs needs 40.0 MiB but the tmpfs /mnt/root has 16.0 MiB free"),
        "{e}"
    );
    assert_eq!(sys.first_copy_write(), None);
}

#[test]
fn a_partial_unpack_by_the_kernel_stops_the_boot_before_the_copy() {
    let sys = RecordSys {
        dmesg: "<6>[    1.2] Trying to unpack rootfs image as initramfs...\n<0>[    1.9] Initramfs unpacking failed: write error\n".into(),
        ..Default::default()
    };
    let e = run_with(&sys, "").unwrap_err().to_string();
    assert!(e.starts_with("stage copy: check the rootfs fits /mnt/root: the kernel could not unpack the whole image (\"Initramfs unpacking failed: write error\")"), "{e}");
    assert_eq!(sys.first_copy_write(), None);
}

#[test]
fn missing_console_is_recreated() {
    let sys = RecordSys {
        stdio: false,
        ..Default::default()
    };
    run_with(&sys, "").unwrap();
    let calls = sys.calls();
    let dev = calls
        .iter()
        .position(|c| c == "mount -t devtmpfs devtmpfs /dev")
        .unwrap();
    assert_eq!(calls[dev + 1], "mknod /dev/console c 5 1");
    assert_eq!(calls[dev + 2], "exec <>/dev/console 1>&0 2>&0");
}

#[test]
fn break_runs_a_shell_then_continues() {
    let sys = RecordSys::default();
    run_with(&sys, "zos.break=hardware").unwrap();
    let calls = sys.calls();
    let sh = calls.iter().position(|c| c == "/bin/sh <>/dev/console").expect("shell");
    let devpts = calls.iter().position(|c| c.contains("devpts")).unwrap();
    assert!(devpts < sh);
    assert!(calls.last().unwrap().starts_with("exec /sbin/zinit"));
}

/// `Runner::boot`: proc and the inputs are the plan's first rows, and what they read
/// builds the rest (here the cmdline's tmpfs size and copy mode).
#[test]
fn the_boot_mounts_proc_reads_its_inputs_then_runs_the_plan_they_make() {
    // zos.modprobe=kernel: this test does not hand the kernel's requests to the init
    // (a process-wide setting other tests' switches would see).
    let sys = RecordSys {
        cmdline: "zos.root=copy zos.tmpfs=64M zos.modprobe=kernel".into(),
        ..Default::default()
    };
    Runner::new(&sys, &Config::default(), Duration::ZERO).boot().unwrap();
    let calls = sys.calls();
    assert_eq!(
        calls[..5],
        [
            "test -e /init-debug",
            "mount -t proc proc /proc",
            "cat /proc/cmdline",
            "cat /etc/zos-init.conf",
            "mount -t sysfs sysfs /sys"
        ]
    );
    assert!(
        calls.contains(&"mount -t tmpfs -o size=64M tmpfs /mnt/root".to_string()),
        "{calls:#?}"
    );
    assert!(calls.last().unwrap().starts_with("exec /sbin/zinit"), "{calls:#?}");
}

#[test]
fn a_failing_proc_mount_is_the_first_rows_error() {
    let sys = RecordSys::default();
    sys.fail_on("mount", "/proc", Errno::PERM);
    let e = Runner::new(&sys, &Config::default(), Duration::ZERO)
        .boot()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "stage mounts: mount -t proc proc /proc: mount /proc: EPERM (Operation not permitted)"
    );
    assert_eq!(sys.calls(), ["test -e /init-debug", "mount -t proc proc /proc"]);
}
