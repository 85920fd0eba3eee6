//! The fuzz targets' bodies, shared with tests/fuzz_corpora.rs (which replays the
//! corpora on stable, in CI).
#[path = "init_targets.rs"]
pub mod init_targets;
