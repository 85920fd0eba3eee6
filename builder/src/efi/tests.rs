//! The UKI writer on a minimal PE made here and on the real systemd stub when the
//! host has it (`apt-get install systemd-boot-efi`), cross-checked with `objdump -h`.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::pe::{put_u16, put_u32, Pe};
use super::*;

const REAL_STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// A PE32+ image with one `.text` section: SectionAlignment 0x1000, FileAlignment
/// 0x200, `headers` bytes of headers (the first section's data follows them).
fn mini_pe(headers: u32, image_size_extra: u32) -> Vec<u8> {
    let mut b = vec![0u8; headers as usize + 0x200];
    b[..2].copy_from_slice(b"MZ");
    put_u32(&mut b, 0x3c, 0x40);
    b[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    put_u16(&mut b, coff, 0x8664);
    put_u16(&mut b, coff + 2, 1);
    put_u16(&mut b, coff + 16, 240);
    let opt = coff + 20;
    put_u16(&mut b, opt, pe::PE32_PLUS);
    put_u32(&mut b, opt + 4, 0x200); // SizeOfCode
    put_u32(&mut b, opt + 8, 0x100); // SizeOfInitializedData
    put_u32(&mut b, opt + 32, 0x1000);
    put_u32(&mut b, opt + 36, 0x200);
    put_u32(&mut b, opt + 56, 0x2000 + image_size_extra);
    put_u32(&mut b, opt + 60, headers);
    put_u32(&mut b, opt + 64, 0xdead);
    put_u32(&mut b, opt + 108, 16);
    let text = Section {
        name: ".text".into(),
        virtual_size: 0x10,
        virtual_address: 0x1000,
        size_of_raw_data: 0x200,
        pointer_to_raw_data: headers,
        characteristics: 0x6000_0020,
    };
    let t = opt + 240;
    b[t..t + 40].copy_from_slice(&text.to_bytes());
    b[headers as usize..headers as usize + 4].copy_from_slice(&[0xc3, 0xc3, 0xc3, 0xc3]);
    b
}

fn payload<'a>(kernel: &'a [u8], initrd: &'a [u8]) -> Vec<(&'static str, &'a [u8], u64)> {
    vec![
        (".osrel", b"ID=zos\n", 0),
        (".cmdline", b"console=ttyS0 panic=-1", 0),
        (".initrd", initrd, 0),
        (".linux", kernel, 0),
    ]
}

#[test]
fn sections_are_aligned_and_headers_updated() {
    let kernel = vec![0x4bu8; 5000];
    let initrd = vec![0x17u8; 700];
    let out = add_sections(mini_pe(0x400, 0), &payload(&kernel, &initrd)).unwrap();
    let pe = Pe::parse(&out).unwrap();
    let names: Vec<&str> = pe.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [".text", ".osrel", ".cmdline", ".initrd", ".linux"]);
    let s = &pe.sections;
    // VirtualAddress: after the previous end, SectionAlignment-aligned.
    assert_eq!(
        s.iter().map(|s| s.virtual_address).collect::<Vec<_>>(),
        [0x1000, 0x2000, 0x3000, 0x4000, 0x5000]
    );
    // Raw data: FileAlignment-aligned offsets and sizes, exact VirtualSize.
    assert_eq!(s[1].pointer_to_raw_data, 0x600);
    assert_eq!(s[4].size_of_raw_data, 5120);
    assert_eq!(s[4].virtual_size, 5000);
    for sec in &s[1..] {
        assert_eq!(sec.pointer_to_raw_data % 0x200, 0, "{sec:?}");
        assert_eq!(sec.characteristics, DATA_READ);
        let at = sec.pointer_to_raw_data as usize;
        assert!(at + sec.size_of_raw_data as usize <= out.len());
    }
    let at = s[2].pointer_to_raw_data as usize;
    assert_eq!(&out[at..at + s[2].virtual_size as usize], b"console=ttyS0 panic=-1");
    let at = s[4].pointer_to_raw_data as usize;
    assert_eq!(&out[at..at + 5000], &kernel[..]);
    // .linux ends at 0x5000 + 5000 -> 0x7000 after alignment.
    assert_eq!(pe.size_of_image, 0x7000);
    // .osrel and .cmdline take 0x200 each, the 700-byte .initrd 0x400.
    assert_eq!(pe.size_of_initialized_data(&out), 0x100 + 0x200 * 2 + 0x400 + 5120);
    assert_eq!(pe.size_of_code(&out), 0x200);
    assert_eq!(pe::u32_at(&out, pe.opt + 64), 0, "checksum cleared");
    assert_eq!(out.len(), s[4].pointer_to_raw_data as usize + 5120);
}

#[test]
fn kernel_image_size_is_reserved_after_linux() {
    let out = add_sections(mini_pe(0x400, 0), &[(".linux", &[1u8; 100], 0x8000)]).unwrap();
    let pe = Pe::parse(&out).unwrap();
    assert_eq!(pe.sections[1].virtual_size, 100);
    assert_eq!(pe.size_of_image, 0x2000 + 0x8000);
}

#[test]
fn no_room_for_section_headers_is_refused() {
    // Table ends at 0x170; 0x200 of headers leave 144 bytes: three headers, not four.
    match add_sections(mini_pe(0x200, 0), &payload(b"k", b"i")) {
        Err(AddError::NoRoom { need: 4, have: 144 }) => {}
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("tight.efi.stub");
    fs::write(&stub, mini_pe(0x200, 0)).unwrap();
    fs::write(dir.path().join("k"), "k").unwrap();
    let e = build_uki(
        &stub,
        &dir.path().join("k"),
        &dir.path().join("k"),
        "x",
        "y",
        &dir.path().join("o"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("tight.efi.stub") && e.contains("no room for 4 more section headers"),
        "{e}"
    );
}

#[test]
fn bad_stubs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k");
    fs::write(&k, "k").unwrap();
    let stub = dir.path().join("not-pe.stub");
    for (bytes, want) in [
        (b"ELF".to_vec(), "truncated"),
        (vec![0u8; 0x100], "no MZ signature"),
        (
            {
                let mut b = mini_pe(0x400, 0);
                b[0x40] = b'X';
                b
            },
            "no PE signature",
        ),
    ] {
        fs::write(&stub, bytes).unwrap();
        let e = build_uki(&stub, &k, &k, "", "", &dir.path().join("o"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not-pe.stub") && e.contains(want), "{e}");
    }
    fs::write(&stub, mini_pe(0x400, 0)).unwrap();
    fs::write(dir.path().join("empty"), "").unwrap();
    let e = build_uki(&stub, &k, &dir.path().join("empty"), "", "", &dir.path().join("o"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("initrd is empty") && e.contains("empty"), "{e}");
}

#[test]
fn a_signature_at_the_end_is_dropped() {
    let mut b = mini_pe(0x400, 0);
    let sig_at = b.len() as u32;
    b.extend_from_slice(&[0x55; 0x80]);
    put_u32(&mut b, 0x58 + 112 + 32, sig_at);
    put_u32(&mut b, 0x58 + 112 + 36, 0x80);
    assert_eq!(Pe::parse(&b).unwrap().security, Some((sig_at, 0x80)));
    let out = add_sections(b, &[(".linux", b"kernel", 0)]).unwrap();
    let pe = Pe::parse(&out).unwrap();
    assert_eq!(pe.security, None);
    assert_eq!(
        pe.sections[1].pointer_to_raw_data, sig_at,
        "the signature bytes are gone"
    );
}

/// `objdump -h` rows: (name, size, vma, file offset).
fn objdump_sections(path: &Path) -> Option<Vec<(String, u64, u64, u64)>> {
    let out = Command::new("objdump").arg("-h").arg(path).output().ok()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
    Some(
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|w| w.len() == 7 && w[0].parse::<u32>().is_ok())
            .map(|w| (w[1].to_string(), hex(w[2]), hex(w[3]), hex(w[5])))
            .collect(),
    )
}

#[test]
fn real_systemd_stub() {
    if !Path::new(REAL_STUB).is_file() {
        eprintln!("SKIP: {REAL_STUB} missing (apt-get install systemd-boot-efi)");
        return;
    }
    let stub = Pe::parse(&fs::read(REAL_STUB).unwrap()).unwrap();
    assert_eq!(stub.machine, 0x8664);
    assert!(stub.sections.iter().any(|s| s.name == ".sdmagic"));
    assert!(stub.header_room() >= 4 * 40, "room {}", stub.header_room());

    let dir = tempfile::tempdir().unwrap();
    let (kernel, initrd, out) = (
        dir.path().join("vmlinuz"),
        dir.path().join("initrd"),
        dir.path().join("u.efi"),
    );
    fs::write(&kernel, vec![0x90u8; 123_457]).unwrap();
    fs::write(&initrd, vec![0x07u8; 4321]).unwrap();
    build_uki(
        Path::new(REAL_STUB),
        &kernel,
        &initrd,
        "console=ttyS0",
        "ID=zos\n",
        &out,
    )
    .unwrap();
    let bytes = fs::read(&out).unwrap();
    let pe = Pe::parse(&bytes).unwrap();
    let n = stub.sections.len();
    assert_eq!(pe.sections.len(), n + 4);
    assert_eq!(pe.sections[..n], stub.sections[..]);
    let last = pe.sections.last().unwrap();
    assert_eq!(
        pe.size_of_image as u64,
        pe::align_up(last.virtual_end(), pe.section_alignment)
    );
    if let Some(rows) = objdump_sections(&out) {
        let ours: Vec<_> = pe
            .sections
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.virtual_size as u64,
                    s.virtual_address as u64,
                    s.pointer_to_raw_data as u64,
                )
            })
            .collect();
        // objdump prints VirtualSize as "Size" and adds no ImageBase here (it is 0).
        assert_eq!(rows, ours);
    } else {
        eprintln!("note: objdump not installed, cross-check skipped");
    }
}
