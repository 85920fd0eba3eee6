//! `source = "git"` components (src/components/source.rs): a tiny crate in a git
//! repository is built for musl with `cargo build --locked --release`, stripped,
//! cached by commit and toolchain, and its sha256 is in the note for the build log;
//! a missing source and a commit that is not there fail with what to fix.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use zos_builder::components::{fetch, Endpoints, FetchOptions, Lock};
use zos_builder::knobs::TargetArch;

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn opts(t: &Path) -> FetchOptions {
    FetchOptions {
        cache: zos_host::Cache::new(t.join("cache"), false),
        cache_downloads: true,
        verify: true,
        release: true,
        arch: TargetArch::Amd64,
        endpoints: Endpoints::from_env(),
        lock_dir: t.join("configs"),
        scratch: t.join("scratch"),
    }
}

#[test]
fn builds_a_pinned_commit_once_and_says_what_is_missing() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("hello");
    fs::create_dir_all(repo.join("src")).unwrap();
    fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    fs::write(
        repo.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"hello\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    fs::write(
        repo.join("src/main.rs"),
        "fn main() { println!(\"hello from source\"); }\n",
    )
    .unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    fs::create_dir_all(t.path().join("configs")).unwrap();
    let lock_text = |path: &str, commit: &str| {
        format!(
            "[[component]]\nname = \"hello\"\nsource = \"git\"\npath = \"{path}\"\ncommit = \"{commit}\"\ninstall = \"/usr/bin/hello\"\n"
        )
    };
    let lock = Lock::parse(&lock_text("../hello", &commit)).unwrap();
    let o = opts(t.path());
    let got = fetch(&lock.components[0], &o).unwrap_or_else(|e| panic!("{e}"));
    let sum = zos_builder::components::fetch::sha256_file(&got.path).unwrap();
    assert!(got.note.contains(&format!("sha256 {sum}")), "{}", got.note);
    assert!(
        got.note.contains(&commit) && got.note.contains("rustc "),
        "{}",
        got.note
    );
    let run = Command::new(&got.path).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello from source\n");
    // Static musl, stripped: no symbol table left.
    let syms = Command::new("nm").arg(&got.path).output().unwrap();
    assert!(String::from_utf8_lossy(&syms.stderr).contains("no symbols"), "{syms:?}");
    // Cached by commit: the source is not needed again.
    fs::rename(&repo, t.path().join("moved")).unwrap();
    assert_eq!(fetch(&lock.components[0], &o).unwrap().path, got.path);

    let missing = Lock::parse(&lock_text("../nowhere.bundle", &"ab".repeat(20))).unwrap();
    let e = fetch(&missing.components[0], &o).unwrap_err().to_string();
    assert!(e.contains("nowhere.bundle") && e.contains("does not exist"), "{e}");
    fs::rename(t.path().join("moved"), &repo).unwrap();
    let wrong = Lock::parse(&lock_text("../hello", &"ab".repeat(20))).unwrap();
    let e = fetch(&wrong.components[0], &o).unwrap_err().to_string();
    assert!(e.contains(&format!("git checkout {}", "ab".repeat(20))), "{e}");
}
