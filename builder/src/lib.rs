//! zos-builder: packs a rootfs and the zos-init `/init` into a Zero-OS initramfs
//! (cpio newc, optionally compressed), and lists images like `lsinitrd`.
//!
//! The library holds all logic; `main.rs` only parses arguments and dispatches.

// The Alpine installer and the cpio codec are their own crates; re-exported under
// their old module paths so `zos_builder::cpio::...` and `crate::apk::...` still work.
pub use zos_apk as apk;
pub use zos_cpio as cpio;
pub use zos_cpio::compress;

pub mod bench;
pub mod boot_json;
pub mod bootable;
pub mod cli;
pub mod components;
pub mod compose;
pub mod efi;
pub mod elf_deps;
pub mod error;
pub mod inspect;
pub mod inst;
pub mod kernel;
pub mod knobs;
pub mod manifest;
pub mod mode;
pub mod modules;
pub mod netboot;
pub mod pack;
pub mod pipeline;
pub mod progress;
pub mod rootfs;
pub mod run;
pub mod strip;
pub mod tiers;
pub mod timeline;
pub mod timeline_layout;
pub mod unpack;
pub mod workspace;
pub mod zinit;

pub use compress::Compression;
pub use error::{BuildError, InspectError};
pub use pack::{build_image, ExtraEntry, ImageRequest, ImageSummary, Overlay};
