//! What the build host provides to the builder and the tests: the download cache,
//! Debian packages through apt (test kernels, busybox-static) read by the workspace's
//! one `.deb` reader, and the QEMU launcher.
//!
//! # Profiles
//!
//! Every boot uses TCG (`-accel tcg`): the CI machines' KVM cannot run these kernels,
//! and TCG behaves the same everywhere. Per [`Arch`]:
//!
//! - **x86_64**: `qemu-system-x86_64 -accel tcg -m <mem> -nographic -no-reboot
//!   -kernel K -initrd I -append "console=ttyS0 panic=-1 <append>"`.
//! - **aarch64**: `qemu-system-aarch64 -M virt -cpu cortex-a57 ...` with
//!   `console=ttyAMA0`; the kernel and busybox are Debian's arm64 packages
//!   (`pkg:arm64`, after `dpkg --add-architecture arm64`).
//! - **UEFI** ([`efi`]): OVMF as pflash and a vvfat ESP instead of `-kernel`.
//! - **netboot** ([`netboot`]): iPXE from the NIC's ROM over user-net TFTP, BIOS or OVMF.
//!
//! Non-interactive runs (tests) add `-serial file:<log> -monitor none -display none`,
//! give QEMU a null stdin and kill it at the timeout. Interactive runs use
//! `-serial mon:stdio` (Ctrl-A X quits). `panic=-1` plus `-no-reboot` makes a kernel
//! panic end QEMU at once, with exit status 0 just like a power-off: callers decide
//! success from markers in [`BootOutcome::log`].
//!
//! # Cache
//!
//! Kernels and busybox come from Debian packages, extracted into a [`Cache`]
//! (`$ZOS_CACHE_DIR`, else `$XDG_CACHE_HOME/zos-initramfs`, else
//! `~/.cache/zos-initramfs`). `ZOS_OFFLINE=1` forbids downloads.

mod arch;
pub mod busybox;
pub mod cache;
pub mod deb;
pub mod debpkg;
pub mod efi;
mod error;
pub mod exec;
pub mod generic_kernel;
pub mod kbuild;
pub mod kernel;
pub mod launch;
pub mod netboot;

pub use arch::Arch;
pub use busybox::{applets, busybox_static, busybox_static_for, busybox_static_in};
pub use cache::Cache;
pub use debpkg::DebPackage;
pub use error::Error;
pub use kernel::{debian_cloud_kernel, debian_cloud_kernel_in, Kernel};
pub use launch::{Boot, BootOutcome, MAX_CMDLINE};
