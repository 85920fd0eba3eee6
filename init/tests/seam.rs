//! The seam guard: the boot's logic reaches the kernel only through `sys::Sys`
//! (docs/ARCHITECTURE.md, "The syscall seam"). This test reads every source file of
//! init/src outside sys/ and fails, naming file:line, on a direct use of std::fs,
//! std::process, rustix or libc.
//!
//! Test code is not the boot: a `*_tests.rs` file, and everything from a file's first
//! `#[cfg(test)]` on, may build fixture trees on the host with std::fs.

use std::path::{Path, PathBuf};

/// The ways around the seam (`Path::exists` and `canonicalize` are stat and
/// readlink calls by another name).
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::process",
    "rustix::",
    "libc::",
    "use rustix",
    "use libc",
    ".exists()",
    ".canonicalize()",
];

/// Files still allowed to go around the seam, each with why. Empty is the goal: an
/// entry here is debt, and the test fails when a listed file no longer needs it (so
/// the list only shrinks).
const PENDING: &[(&str, &str)] = &[
    // The debug overlay is a second small copy engine (debug builds only); it moves
    // with the copy engine.
    ("debug/overlay.rs", "debug copy engine: lstat/readlink/open/fstat/mknod"),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read init/src") {
        let path = entry.expect("readdir").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "sys") && path.parent() == Some(&src_root()) {
                continue;
            }
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The non-test lines of `text` that use a forbidden path, as (line number, line).
fn offences(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        // A trailing comment may name a call without making it.
        let code = code.split("//").next().unwrap_or("");
        if FORBIDDEN.iter().any(|f| code.contains(f)) {
            out.push((i + 1, line.trim().to_string()));
        }
    }
    out
}

#[test]
fn init_logic_reaches_the_kernel_only_through_sys() {
    let root = src_root();
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 20,
        "found only {} files under {}",
        files.len(),
        root.display()
    );
    let mut bad = Vec::new();
    let mut pending_clean = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        if rel.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read source");
        let found = offences(&text);
        match PENDING.iter().find(|(p, _)| *p == rel) {
            Some(_) if found.is_empty() => pending_clean.push(rel),
            Some(_) => {}
            None => bad.extend(found.into_iter().map(|(n, l)| format!("init/src/{rel}:{n}: {l}"))),
        }
    }
    assert!(
        bad.is_empty(),
        "direct kernel access outside init/src/sys/ (go through sys::Sys):\n{}",
        bad.join("\n")
    );
    assert!(
        pending_clean.is_empty(),
        "no longer going around the seam, drop from PENDING: {pending_clean:?}"
    );
}

#[test]
fn the_guard_sees_each_way_around_the_seam() {
    for line in [
        "let f = std::fs::read(p);",
        "use rustix::fs::open;",
        "libc::fork()",
        "std::process::exit(1)",
        "if p.exists() {",
    ] {
        assert_eq!(offences(line).len(), 1, "{line}");
    }
    assert!(offences("// std::fs::read is what we avoid").is_empty());
    assert!(offences("#[cfg(test)]\nmod t { use std::fs; }").is_empty());
    assert!(offences("let x = sys.read(p)?; // not std::fs").is_empty());
}
