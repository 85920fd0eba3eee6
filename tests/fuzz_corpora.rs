//! Replays every file of the fuzz corpora (fuzz/corpus/TARGET/) through the same
//! target bodies cargo-fuzz runs (fuzz/src/*_targets.rs), on stable: CI keeps what
//! the fuzzer found from regressing without nightly or libFuzzer.

#[path = "../fuzz/src/apk_targets.rs"]
mod apk_targets;
#[path = "../fuzz/src/cpio_targets.rs"]
mod cpio_targets;
#[path = "../fuzz/src/init_targets.rs"]
mod init_targets;
#[path = "../fuzz/src/zinit_targets.rs"]
mod zinit_targets;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        // The file's name in the failure, so a regression names its input.
        if let Err(cause) = std::panic::catch_unwind(|| body(&data)) {
            std::panic::resume_unwind(Box::new(format!("{}: {cause:?}", p.display())));
        }
        n += 1;
    }
    assert!(n > 0, "{}: empty corpus", dir.display());
}

/// Every fuzz target has a corpus replayed here, and every corpus a target: a new
/// target without a replay (or a stale corpus) fails.
#[test]
fn every_corpus_has_a_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    found.sort();
    let mut targets: Vec<String> = std::fs::read_dir(dir.with_file_name("fuzz_targets"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .into_string()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    targets.sort();
    assert_eq!(found, targets);
    let replayed = [
        "apk",
        "apk_tar",
        "apk_version",
        "apkindex",
        "cmdline",
        "config",
        "cpio",
        "modules",
        "zinit",
    ];
    assert_eq!(found, replayed);
}

#[test]
fn cmdline_corpus() {
    replay("cmdline", init_targets::cmdline);
}

#[test]
fn config_corpus() {
    replay("config", init_targets::config);
}

#[test]
fn modules_corpus() {
    replay("modules", init_targets::modules);
}

#[test]
fn cpio_corpus() {
    replay("cpio", cpio_targets::cpio);
}

#[test]
fn apkindex_corpus() {
    replay("apkindex", apk_targets::apkindex);
}

#[test]
fn apk_corpus() {
    replay("apk", apk_targets::apk);
}

#[test]
fn apk_tar_corpus() {
    replay("apk_tar", apk_targets::apk_tar);
}

#[test]
fn apk_version_corpus() {
    replay("apk_version", apk_targets::apk_version);
}

#[test]
fn zinit_corpus() {
    replay("zinit", zinit_targets::zinit);
}
