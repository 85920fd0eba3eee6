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

// No file is exempt: the last one going around the seam (the debug overlay) moved
// onto `FsOps`, so the list of exceptions is gone with it. A call the seam lacks is
// added to sys/, not excused here.

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
        bad.extend(
            offences(&text)
                .into_iter()
                .map(|(n, l)| format!("init/src/{rel}:{n}: {l}")),
        );
    }
    assert!(
        bad.is_empty(),
        "direct kernel access outside init/src/sys/ (go through sys::Sys):\n{}",
        bad.join("\n")
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
