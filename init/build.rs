//! Link arguments of the static musl /init (docs/DEPENDENCIES.md, "Size"). Only in the
//! release profile, whose panics abort (the workspace Cargo.toml): an unwinding build
//! needs its unwind tables. (CARGO_CFG_PANIC cannot tell: cargo reads it from `rustc
//! --print cfg` without the profile's `-C panic`, so it always says unwind.)

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=no-eh-frame.ld");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_ENV") != "musl" || var("PROFILE") != "release" {
        return;
    }
    let script = Path::new(&var("CARGO_MANIFEST_DIR")).join("no-eh-frame.ld");
    // arm64 links with rust-lld itself (.cargo/config.toml), which takes the linker's
    // flags as they are; x86_64 links through `cc`, which wants them behind -Wl.
    let linker = var("RUSTC_LINKER");
    let direct = Path::new(&linker)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("lld"));
    let args = [
        "--no-eh-frame-hdr".to_string(),
        "-T".into(),
        script.display().to_string(),
    ];
    if direct {
        for a in args {
            println!("cargo:rustc-link-arg-bins={a}");
        }
    } else {
        println!("cargo:rustc-link-arg-bins=-Wl,{}", args.join(","));
    }
}
