//! The test side of booting images: the in-guest probe binary ([`probe`]) and the QEMU
//! tests. The cache, the Debian kernels and busybox, the launcher, UEFI (OVMF) and
//! netboot (iPXE) boots live in `zos-host` (the builder's `run` and `bench` need them too) and
//! are re-exported here under their old paths, so the tests name one crate.

pub mod probe;

pub use probe::probe_binary;
pub use zos_host::{applets, busybox_static, busybox_static_for, busybox_static_in};
pub use zos_host::{busybox, cache, debpkg, efi, exec, generic_kernel, kbuild, kernel, launch, netboot};
pub use zos_host::{debian_cloud_kernel, debian_cloud_kernel_in, Kernel};
pub use zos_host::{Arch, Boot, BootOutcome, Cache, DebPackage, Error, MAX_CMDLINE};
