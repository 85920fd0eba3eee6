//! The fuzz targets' bodies, shared with tests/fuzz_corpora.rs (which replays the
//! corpora on stable, in CI).
#[path = "apk_targets.rs"]
pub mod apk_targets;
#[path = "cpio_targets.rs"]
pub mod cpio_targets;
#[path = "init_targets.rs"]
pub mod init_targets;
#[path = "zinit_targets.rs"]
pub mod zinit_targets;
