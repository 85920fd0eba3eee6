use super::*;

fn params() -> Params {
    Params {
        farmer_id: Some("42".into()),
        runmode: Some("dev".into()),
        version: Some("v3".into()),
    }
}

#[test]
fn composes_base_params_then_append() {
    let c = compose("console=ttyS0 panic=-1", &params(), " ip=dhcp  zos-debug ").unwrap();
    assert_eq!(
        c,
        "console=ttyS0 panic=-1 farmer_id=42 runmode=dev version=v3 ip=dhcp zos-debug"
    );
    assert_eq!(compose("", &Params::default(), "").unwrap(), "");
}

#[test]
fn a_key_given_twice_is_refused_but_consoles_may_repeat() {
    let e = compose("console=ttyS0", &params(), "farmer_id=7")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("farmer_id") && e.contains("farmer_id=42") && e.contains("farmer_id=7"),
        "{e}"
    );
    assert!(compose("console=ttyS1 console=tty1", &Params::default(), "").is_ok());
}

#[test]
fn words_ipxe_would_change_are_refused() {
    for w in ["ip=${ip}", "a||b", "x&y", r#"x="a""#, "#comment", r"a\b"] {
        let e = cmdline::check(w, true, false).unwrap_err().to_string();
        assert!(e.contains(w), "{w}: {e}");
    }
    assert!(cmdline::check(
        "ip=10.0.0.2::10.0.0.1:255.255.255.0:node:eth0:off zos-debug",
        true,
        true
    )
    .is_ok());
}

#[test]
fn cmdline_limit_counts_the_uki_name_under_uefi() {
    let c = "x".repeat(cmdline::MAX_CMDLINE);
    assert!(cmdline::check(&c, true, false).is_ok());
    let e = cmdline::check(&c, false, true).unwrap_err().to_string();
    assert!(e.contains("UEFI") && e.contains("2059 bytes"), "{e}");
    let e = cmdline::check(&format!("{c}y"), true, false).unwrap_err().to_string();
    assert!(e.contains("BIOS") && e.contains("2048 bytes"), "{e}");
}

fn artefacts(d: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let k = d.join("k");
    let i = d.join("i");
    let e = d.join("e");
    for (p, b) in [(&k, "kernel"), (&i, "image"), (&e, "uki")] {
        fs::write(p, b).unwrap();
    }
    (k, i, e)
}

#[test]
fn writes_scripts_artefacts_and_cmdline() {
    let d = tempfile::tempdir().unwrap();
    let (k, i, e) = artefacts(d.path());
    let out = d.path().join("nb");
    let l = write(&Request {
        out: out.clone(),
        kernel: Some(k),
        initramfs: Some(i),
        efi: Some(e),
        cmdline: "console=ttyS0 farmer_id=42".into(),
    })
    .unwrap();
    assert!(l.bios && l.uefi);
    assert_eq!(
        l.files,
        [ENTRY, CMDLINE, BIOS_SCRIPT, UEFI_SCRIPT, KERNEL, INITRAMFS, UKI]
    );
    let read = |n: &str| fs::read_to_string(out.join(n)).unwrap();
    assert_eq!(read(CMDLINE), "console=ttyS0 farmer_id=42\n");
    assert_eq!(read(KERNEL), "kernel");
    assert_eq!(read(UKI), "uki");
    let bios = read(BIOS_SCRIPT);
    assert!(bios.starts_with("#!ipxe\n"), "{bios}");
    assert!(
        bios.contains("\nkernel vmlinuz console=ttyS0 farmer_id=42 || goto failed\n"),
        "{bios}"
    );
    assert!(bios.contains("\ninitrd initramfs || goto failed\n"), "{bios}");
    let uefi = read(UEFI_SCRIPT);
    assert!(
        uefi.contains("\nkernel vmlinuz.efi console=ttyS0 farmer_id=42 || goto failed\n"),
        "{uefi}"
    );
    assert!(!uefi.contains("initrd"), "{uefi}");
    let entry = read(ENTRY);
    assert!(
        entry.contains("iseq ${platform} efi && goto uefi || goto bios"),
        "{entry}"
    );
    assert!(
        entry.contains("chain bios.ipxe") && entry.contains("chain uefi.ipxe"),
        "{entry}"
    );
}

#[test]
fn uefi_only_when_there_is_no_bios_kernel() {
    let d = tempfile::tempdir().unwrap();
    let (_, i, e) = artefacts(d.path());
    let out = d.path().join("nb");
    let req = Request {
        out: out.clone(),
        kernel: None,
        initramfs: Some(i),
        efi: Some(e),
        cmdline: String::new(),
    };
    let l = write(&req).unwrap();
    assert!(!l.bios && l.uefi);
    assert!(!out.join(BIOS_SCRIPT).exists() && !out.join(INITRAMFS).exists());
    let none = Request { efi: None, ..req };
    assert!(matches!(write(&none), Err(NetbootError::NoArtefacts)));
}

#[test]
fn from_build_finds_the_pipeline_outputs() {
    let d = tempfile::tempdir().unwrap();
    let e = from_build(d.path()).unwrap_err().to_string();
    assert!(e.contains("initramfs.cpio") && e.contains("zos-builder build"), "{e}");
    fs::write(d.path().join("initramfs.cpio.zst"), "i").unwrap();
    fs::write(d.path().join(UKI), "u").unwrap();
    let boot = d.path().join("stages/kernel/linux-image-6.1/boot");
    fs::create_dir_all(&boot).unwrap();
    fs::write(boot.join("vmlinuz-6.1.0-cloud-amd64"), "k").unwrap();
    let r = from_build(d.path()).unwrap();
    assert_eq!(r.initramfs, Some(d.path().join("initramfs.cpio.zst")));
    assert_eq!(r.efi, Some(d.path().join(UKI)));
    assert_eq!(r.kernel, Some(boot.join("vmlinuz-6.1.0-cloud-amd64")));
}
