//! The size budget of /init (`cargo test --features qemu --test init_size`): each musl
//! init the builder and the QEMU tests use, built exactly the way they build it
//! (`zos_builder::workspace`), is at most 600 KB and a static, non-PIE executable.
//! docs/DEPENDENCIES.md ("Size") says where the bytes go and what was removed.
#![cfg(feature = "qemu")]

use std::path::Path;

use zos_builder::workspace;

/// 600 KB, in bytes (issue 12: "the release init at most 600 KB, static").
const BUDGET: u64 = 600_000;

const ET_EXEC: u16 = 2;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

/// The file's size, after checking it is an ELF executable with no loader and no
/// dynamic section (static and non-PIE: nothing to relocate at start-up).
fn static_size(bin: &Path) -> u64 {
    let b = std::fs::read(bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    assert_eq!(&b[..4], b"\x7fELF", "{}: not ELF", bin.display());
    assert_eq!(b[4], 2, "{}: not a 64-bit ELF", bin.display());
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let e_type = u16_at(16);
    assert_eq!(
        e_type,
        ET_EXEC,
        "{}: e_type {e_type}, not a non-PIE executable",
        bin.display()
    );
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(54) as usize, u16_at(56) as usize);
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        assert!(
            p_type != PT_INTERP && p_type != PT_DYNAMIC,
            "{}: program header {i} is type {p_type}: not a static executable",
            bin.display()
        );
    }
    b.len() as u64
}

fn within_budget(what: &str, bin: &Path) {
    let size = static_size(bin);
    eprintln!("{what}: {} is {size} bytes (budget {BUDGET})", bin.display());
    assert!(
        size <= BUDGET,
        "{what}: {} is {size} bytes, over the {BUDGET}-byte budget by {} (docs/DEPENDENCIES.md, \"Size\")",
        bin.display(),
        size - BUDGET
    );
}

/// What the QEMU tests boot: the default features (debug injection compiled in).
#[test]
fn the_x86_64_init_the_tests_boot_fits_the_budget() {
    let bin = workspace::build_musl("zos-init", "init").expect("build the init");
    within_budget("x86_64 init (default features)", &bin);
}

/// What a release image ships (`zos-builder --mode release`: no debug injection).
#[test]
fn the_x86_64_release_image_init_fits_the_budget() {
    let bin = workspace::build_musl_no_default("zos-init", "init").expect("build the release init");
    within_budget("x86_64 init (release image)", &bin);
}

/// What the arm64 image (tests/arm64.rs) boots.
#[test]
fn the_aarch64_init_fits_the_budget() {
    let bin = workspace::build_musl_for("zos-init", "init", "aarch64-unknown-linux-musl").expect("build the init");
    within_budget("aarch64 init (default features)", &bin);
}
