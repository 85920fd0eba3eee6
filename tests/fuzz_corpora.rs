//! Replays every file of the fuzz corpora (fuzz/corpus/TARGET/) through the same
//! target bodies cargo-fuzz runs (fuzz/src/init_targets.rs), on stable: CI keeps what
//! the fuzzer found from regressing without nightly or libFuzzer.

#[path = "../fuzz/src/init_targets.rs"]
mod init_targets;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        body(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n > 0, "{}: empty corpus", dir.display());
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
