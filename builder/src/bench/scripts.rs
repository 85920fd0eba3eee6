//! The programs the benchmark boots (the floors, the shell baseline, the handover target), as busybox `sh` scripts kept here so that
//! the baseline is reviewable next to the numbers it produces.
//!
//! Every timing marker is a line written to `/dev/kmsg` at level 2 (`<2>`): the kernel
//! stamps it with its own clock and prints it on the console whatever the loglevel,
//! and `echo` is a shell builtin, so a marker costs no fork. Each write opens
//! `/dev/kmsg` anew, and the kmsg rate limit is per open file, so none is dropped.
//! Before devtmpfs is mounted the marker goes to the image's own `/dev/kmsg` node
//! (char 1,11), which the benchmark packs into every image.

/// BASELINE: the Zero-OS shell `/init` (0-initramfs, branch development-zos-v3) as
/// ../shared/reference/BOOT-FACTS.md section 1 describes it, step for step. The only
/// additions are the `mark` lines (one builtin echo each). Step 7 (`/init-debug`) is
/// absent because the benchmark image is a release image without `/init-debug`, as
/// production images are. Failures are ignored (no `set -e`), as in the original.
pub const BASELINE_INIT: &str = r#"#!/bin/sh
# BASELINE for the benchmark: the Zero-OS shell /init (BOOT-FACTS.md section 1).
# Not used in any image zos-builder ships. BENCH lines are the benchmark's markers.
mark() { echo "<2>BENCH-$1" > /dev/kmsg; }
mark START
echo "Zero-OS initramfs: shell /init (benchmark baseline)"

# 1. mounts, in this order
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o size=1536M tmpfs /mnt/root
mount -t devtmpfs devtmpfs /dev
mark "STAGE mounts"

# 2. copy the initramfs into the tmpfs (the original lists /bin twice)
cp -ar /bin /etc /lib* /usr /root /tmp /sbin /var /run /bin /mnt/root
mark "STAGE copy"

# 3. the new root's API filesystems
mkdir -p /mnt/root/dev /mnt/root/sys /mnt/root/proc /mnt/root/mnt
mount -t proc proc /mnt/root/proc
mount -t sysfs sysfs /mnt/root/sys
mount -t devtmpfs devtmpfs /mnt/root/dev
mkdir -p /mnt/root/dev/pts
mount -t devpts devpts /mnt/root/dev/pts

# 4. PATH for zinit and every service
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mark "STAGE newroot"

# 5. driver probing in the initramfs root, then the essential modules
udevadm hwdb --update
udevd --daemon
udevadm trigger --action=add --type=subsystems
udevadm trigger --action=add --type=devices
udevadm settle
kill $(pidof udevd)
mark "STAGE hardware"
modprobe btrfs
modprobe fuse
mark "STAGE modules"

# 6. drop the initramfs's proc and sys (its /dev stays mounted)
umount /proc
umount /sys

# 8. hand over
exec switch_root /mnt/root /sbin/zinit init
"#;

/// FLOOR: an `/init` that does no init work at all. Its cost (starting busybox sh and
/// one exec) is what every init pays at least; every cost is reported over it.
pub const FLOOR_INIT: &str = r#"#!/bin/sh
# FLOOR for the benchmark: no mounts, no copy, no modules; straight to the target.
echo "<2>BENCH-START" > /dev/kmsg
exec /sbin/zinit init
"#;

/// The modules the shell loads on the benchmark's machine (its udevd for the devices,
/// then `modprobe btrfs fuse`), in an order where every dependency comes first, so
/// each `modprobe` of the floor-with-modules loads exactly one. The report checks the
/// floor-with-modules' /proc/modules against the shell's, so a kernel or device change
/// that makes this list stale shows as a mismatch, not as a wrong floor.
pub const SHELL_MODULES: [&str; 19] = [
    "scsi_common",
    "scsi_mod",
    "libata",
    "ata_piix",
    "virtio",
    "virtio_ring",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
    "virtio_rng",
    "xor",
    "raid6_pq",
    "zstd_compress",
    "libcrc32c",
    "btrfs",
    "fuse",
];

/// FLOOR WITH MODULES: the floor plus busybox `modprobe` of each module the shell
/// loads, one by one, then the same exec. Over it, an init's cost is its own work:
/// the kernel's module initialisation (raid6/xor benchmarks, driver probes) is paid
/// here too. No mounts: modprobe needs only the module tree.
pub fn floor_modules_init(modules: &[&str]) -> String {
    let mut s = String::from(
        "#!/bin/sh\n\
         # FLOOR WITH MODULES for the benchmark: no mounts, no copy, no udev; the shell's\n\
         # modules by busybox modprobe one by one, then straight to the target.\n\
         echo \"<2>BENCH-START\" > /dev/kmsg\n",
    );
    for m in modules {
        s.push_str(&format!("modprobe {m}\n"));
    }
    s.push_str("echo \"<2>BENCH-STAGE modules\" > /dev/kmsg\nexec /sbin/zinit init\n");
    s
}

/// The directories whose regular files are counted and summed in the guest after the
/// handover (and on the host before packing). /tmp, /var and /run are left out: the
/// inits write there.
pub const COUNTED_DIRS: [&str; 7] = ["bin", "etc", "lib", "lib64", "sbin", "usr", "root"];

/// Left out of the count: the Rust init's own config, which the copy and the bind
/// leave out of the new root on purpose (docs/INIT.md) while the shell's `cp -ar`
/// carries it. It is no payload, and counting it would fail every Rust boot.
pub const NOT_COUNTED: &str = "/etc/zos-init.conf";

/// The handover target, installed as `/sbin/zinit` (the production handover is
/// `/sbin/zinit init`). Its first line is the handover marker; the rest runs after the
/// measured phase: what arrived (file count and bytes, so a copy cut short by ENOSPC
/// is caught), the modules loaded, the Rust init's boot.json; then power off.
pub fn handover_target() -> String {
    let dirs: Vec<String> = COUNTED_DIRS.iter().map(|d| format!("/{d}")).collect();
    let dirs = dirs.join(" ");
    format!(
        r#"#!/bin/sh
# Benchmark handover target: stands in for `zinit init`, reports, powers off.
echo "<2>BENCH-HANDOVER" > /dev/kmsg
[ -r /proc/modules ] || mount -t proc proc /proc
echo "BENCH-ARGV $0 $*"
files=$(find {dirs} -xdev -type f ! -path {NOT_COUNTED} 2>/dev/null | wc -l)
bytes=$(find {dirs} -xdev -type f ! -path {NOT_COUNTED} -exec stat -c %s {{}} + 2>/dev/null | awk '{{s+=$1}} END {{printf "%d\n", s}}')
echo "BENCH-FILES $files $bytes"
while read -r name rest; do echo "BENCH-MOD $name"; done < /proc/modules
if [ -r /run/zos-init/boot.json ]; then
    echo "BENCH-JSON $(tr -d '\n' < /run/zos-init/boot.json)"
fi
echo "BENCH-END"
poweroff -f
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The baseline keeps the contract's steps in the contract's order.
    #[test]
    fn baseline_follows_boot_facts_in_order() {
        let steps = [
            "mount -t proc proc /proc",
            "mount -t sysfs sysfs /sys",
            "mount -t tmpfs -o size=1536M tmpfs /mnt/root",
            "mount -t devtmpfs devtmpfs /dev",
            "cp -ar /bin /etc /lib* /usr /root /tmp /sbin /var /run",
            "mount -t devpts devpts /mnt/root/dev/pts",
            "export PATH=",
            "udevd --daemon",
            "udevadm trigger --action=add --type=subsystems",
            "udevadm trigger --action=add --type=devices",
            "udevadm settle",
            "kill $(pidof udevd)",
            "modprobe btrfs",
            "modprobe fuse",
            "umount /proc",
            "umount /sys",
            "exec switch_root /mnt/root /sbin/zinit init",
        ];
        let mut at = 0;
        for s in steps {
            let i = BASELINE_INIT[at..]
                .find(s)
                .unwrap_or_else(|| panic!("{s:?} missing or out of order"));
            at += i + s.len();
        }
    }

    /// Start mark, one modprobe per module in the given order and nothing else, the
    /// modules mark, then the floor's exec as the last line.
    #[test]
    fn floor_with_modules_modprobes_one_by_one_then_execs() {
        let t = floor_modules_init(&SHELL_MODULES);
        let steps: Vec<&str> = t.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
        assert_eq!(steps[0], r#"echo "<2>BENCH-START" > /dev/kmsg"#);
        let probes: Vec<&str> = steps[1..steps.len() - 2]
            .iter()
            .map(|l| l.strip_prefix("modprobe ").expect("only modprobe lines in between"))
            .collect();
        assert_eq!(probes, SHELL_MODULES);
        assert_eq!(steps[steps.len() - 2], r#"echo "<2>BENCH-STAGE modules" > /dev/kmsg"#);
        assert_eq!(steps.last(), FLOOR_INIT.lines().last().as_ref());
        assert!(!steps.iter().any(|l| l.contains("mount")), "the floor mounts nothing");
        // Dependencies first: each modprobe loads one module.
        let at = |m: &str| SHELL_MODULES.iter().position(|x| *x == m).unwrap();
        for (dep, user) in [
            ("scsi_mod", "libata"),
            ("libata", "ata_piix"),
            ("virtio_ring", "virtio_pci"),
            ("net_failover", "virtio_net"),
            ("raid6_pq", "btrfs"),
            ("xor", "btrfs"),
            ("libcrc32c", "btrfs"),
        ] {
            assert!(at(dep) < at(user), "{dep} before {user}");
        }
        // And the shell's two explicit ones are in.
        assert!(BASELINE_INIT.contains("modprobe btrfs") && probes.contains(&"btrfs") && probes.contains(&"fuse"));
    }

    #[test]
    fn handover_target_marks_first_and_counts_the_same_dirs() {
        let t = handover_target();
        let first = t.lines().find(|l| !l.starts_with('#')).unwrap();
        assert_eq!(first, r#"echo "<2>BENCH-HANDOVER" > /dev/kmsg"#);
        assert!(t.contains("find /bin /etc /lib /lib64 /sbin /usr /root -xdev -type f ! -path /etc/zos-init.conf 2>"));
        assert!(t.contains("-type f ! -path /etc/zos-init.conf -exec stat"));
        assert!(t.contains("{} +"), "find's -exec placeholder survives format!");
    }
}
