//! zos-init: the PID-1 `/init` of the Zero-OS initramfs.
//!
//! The boot is a plan made from defaults, the image's config file and the kernel
//! command line ([`plan::build`], pure), then acted out step by step through the
//! syscall seam ([`sys::Sys`]) by [`run::run`]. Any failure goes to [`emergency`].

pub use zos_common::{cmdline, config, report, stage};

pub mod coldplug;
pub mod copy;
pub mod debug;
pub mod emergency;
pub mod error;
pub mod fit;
pub mod hardware;
pub mod inputs;
pub mod log;
pub mod modprobe;
pub mod modules;
pub mod newroot;
pub mod plan;
pub mod reclaim;
pub mod run;
pub mod shell;
pub mod switch_root;
pub mod sys;
pub mod table;
