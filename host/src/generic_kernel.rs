//! Debian's generic kernel (`linux-image-<abi>-amd64`) of the same ABI as the cloud
//! kernel the tests boot: the server-like machine of issue 18. It builds as modules
//! what the cloud kernel leaves out (AHCI, NVMe, e1000e, xHCI, usb-storage, HID,
//! watchdog, sound) and `crc64_rocksoft_generic`, which the kernel requests itself.

use crate::kernel::fetch_kernel_package;
use crate::{Cache, Error, Kernel};

/// `6.1.0-57-cloud-amd64` -> `linux-image-6.1.0-57-amd64`.
pub fn generic_package_of(cloud: &Kernel) -> String {
    let abi = cloud.version.replace("-cloud-", "-");
    format!("linux-image-{abi}")
}

/// Fetch (or reuse) the generic kernel matching `cloud`'s ABI (about 70 MB to
/// download once).
pub fn debian_generic_kernel(cloud: &Kernel) -> Result<Kernel, Error> {
    fetch_kernel_package(&Cache::from_env()?, &generic_package_of(cloud), cloud.arch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generic_package_has_the_cloud_kernels_abi() {
        let cloud = Kernel {
            arch: crate::Arch::X86_64,
            version: "6.1.0-57-cloud-amd64".into(),
            vmlinuz: "/x".into(),
            modules_dir: "/x".into(),
            root: "/x".into(),
        };
        assert_eq!(generic_package_of(&cloud), "linux-image-6.1.0-57-amd64");
    }
}
