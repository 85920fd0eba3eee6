use super::*;

fn boot(firmware: Firmware) -> NetBoot {
    NetBoot {
        arch: Arch::X86_64,
        firmware,
        dir: "/nb".into(),
        rom: "/rom/efi-virtio.rom".into(),
        vars: "/w/VARS.fd".into(),
        memory_mb: 256,
        timeout: Duration::from_secs(1),
        serial_log: "/w/serial.log".into(),
        interactive: false,
        extra_args: vec![],
    }
}

fn joined(b: &NetBoot) -> String {
    let a: Vec<String> = b.args().into_iter().map(|s| s.into_string().unwrap()).collect();
    a.join(" ")
}

#[test]
fn bios_profile_boots_the_nic_over_tftp() {
    assert_eq!(
        joined(&boot(Firmware::Bios)),
        "-accel tcg -m 256 -nographic -no-reboot \
         -netdev user,id=n0,tftp=/nb,bootfile=boot.ipxe \
         -device virtio-net-pci,netdev=n0,bootindex=1 -boot n \
         -serial file:/w/serial.log -monitor none -display none"
    );
}

#[test]
fn uefi_profile_adds_ovmf_and_no_disk() {
    let fw = Ovmf {
        code: "/fw/CODE.fd".into(),
        vars: "/fw/VARS.fd".into(),
    };
    let a = joined(&boot(Firmware::Uefi(fw)));
    assert!(
        a.contains(
            "-drive if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd \
             -drive if=pflash,format=raw,unit=1,file=/w/VARS.fd -netdev"
        ),
        "{a}"
    );
    assert!(!a.contains("fat:"), "{a}");
}

#[test]
fn reads_ipxe_download_errors() {
    // Lines as iPXE 1.0.0+git-20190125 (Debian 12's ipxe-qemu) prints them.
    let log = "tftp://10.0.2.2/boot.ipxe... ok\r\nzos-netboot: bios\n\
               vmlinuz...  0%\u{8}\u{8}\u{8}\u{8}    \u{8}\u{8}\u{8}\u{8} ok\n\
               initramfs... No such file or directory (http://ipxe.org/2d12603b)\n";
    assert_eq!(
        ipxe_failure(log).as_deref(),
        Some("iPXE could not load initramfs: No such file or directory (http://ipxe.org/2d12603b)")
    );
    let log =
        "vmlinuz...  3%\u{8}\u{8}\u{8}\u{8}    \u{8}\u{8}\u{8}\u{8} Connection timed out (https://ipxe.org/4c106035)";
    assert_eq!(
        ipxe_failure(log).as_deref(),
        Some("iPXE could not load vmlinuz: Connection timed out (https://ipxe.org/4c106035)")
    );
    assert_eq!(
        ipxe_failure("Could not boot: Exec format error (http://ipxe.org/2e008081)").as_deref(),
        Some("iPXE: Could not boot: Exec format error (http://ipxe.org/2e008081)")
    );
}

#[test]
fn ignores_the_ipxe_banner_and_the_kernel() {
    let log = "iPXE (http://ipxe.org) 00:03.0 CA00 PCI2.10 PnP PMM+1EFCF160\n\
               iPXE 1.0.0+ -- Open Source Network Boot Firmware -- http://ipxe.org\n\
               vmlinuz... ok\ninitramfs... ok\n[ 0.0] Linux version 6.1\n\
               x... No such file (http://ipxe.org/1)\n";
    assert_eq!(ipxe_failure(log), None);
}

#[test]
fn a_directory_without_the_script_fails_before_qemu() {
    let d = tempfile::tempdir().unwrap();
    let e = NetBoot::new(Arch::X86_64, d.path(), false, &d.path().join("w"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("boot.ipxe"), "{e}");
}
