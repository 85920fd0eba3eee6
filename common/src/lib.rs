//! zos-common: what the PID-1 `/init` (zos-init) and the image builder (zos-builder)
//! must agree on, in one place: the config file and its parser ([`config`]), the
//! kernel command line ([`cmdline`]), the boot [`stage`]s, the boot [`report`] (written
//! by the init, read by the builder), and the kernel-modules index parsers
//! ([`modules`]). No syscalls here beyond reading files for the builder's loaders: the
//! init reads through its own seam and hands the text in.

pub mod cmdline;
pub mod config;
pub mod debug_flags;
pub mod modules;
pub mod report;
pub mod stage;

pub use config::HANDOVER_PATH;
#[cfg(feature = "serde")]
mod report_serde;
