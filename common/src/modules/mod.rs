//! Kernel modules without kmod, the parts both sides need: depmod's index
//! ([`index`]), alias globs ([`glob`]) and modprobe.d options ([`options`]).

pub mod glob;
pub mod index;
pub mod options;

use std::path::PathBuf;

/// `-` and `_` are the same in module names; the kernel stores `_`.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// A required index file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("read {}: {cause}", path.display())]
pub struct IndexError {
    pub path: PathBuf,
    pub cause: std::io::Error,
}

#[cfg(test)]
mod tests {
    #[test]
    fn dash_and_underscore_are_one() {
        assert_eq!(super::normalize("virtio-rng"), "virtio_rng");
    }
}
