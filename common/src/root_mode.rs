//! How the new root is made (`root_mode` in the config, `zos.root=` on the cmdline):
//! a copy into a fresh tmpfs (the shell /init's way), a bind of the kernel's own tmpfs
//! rootfs (zero-copy), or `auto`, which picks bind when it can. docs/INIT.md.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RootMode {
    /// Bind when `/` is the kernel's tmpfs rootfs (no `root=`) and it fits the tmpfs
    /// size, else copy.
    #[default]
    Auto,
    /// Copy-and-free into a new tmpfs, exactly as the shell /init did.
    Copy,
    /// Remount the rootfs tmpfs with the tmpfs size and bind it onto the new root.
    Bind,
}

impl FromStr for RootMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "copy" => Ok(Self::Copy),
            "bind" => Ok(Self::Bind),
            _ => Err("expected copy, bind or auto".into()),
        }
    }
}

impl fmt::Display for RootMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Copy => "copy",
            Self::Bind => "bind",
        })
    }
}

/// A tmpfs `size=` in bytes: `1536M`, `2G`, `512k`, plain bytes, or `N%` of `mem_total`
/// (what the kernel's tmpfs does with it). None when it is not a size.
pub fn size_bytes(size: &str, mem_total: u64) -> Option<u64> {
    let (digits, unit) = match size.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() || c == '%' => (&size[..i], Some(c.to_ascii_lowercase())),
        _ => (size, None),
    };
    let n: u64 = digits.parse().ok()?;
    let shift = match unit {
        None => 0,
        Some('k') => 10,
        Some('m') => 20,
        Some('g') => 30,
        Some('t') => 40,
        Some('%') => return Some(mem_total / 100 * n),
        Some(_) => return None,
    };
    n.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for m in [RootMode::Auto, RootMode::Copy, RootMode::Bind] {
            assert_eq!(m.to_string().parse::<RootMode>(), Ok(m));
        }
        assert!("zero".parse::<RootMode>().is_err());
        assert_eq!(RootMode::default(), RootMode::Auto);
    }

    #[test]
    fn sizes_in_bytes() {
        assert_eq!(size_bytes("1536M", 0), Some(1536 << 20));
        assert_eq!(size_bytes("2G", 0), Some(2 << 30));
        assert_eq!(size_bytes("512k", 0), Some(512 << 10));
        assert_eq!(size_bytes("4096", 0), Some(4096));
        assert_eq!(size_bytes("50%", 1000 << 20), Some(500 << 20));
        assert_eq!(size_bytes("big", 0), None);
        assert_eq!(size_bytes("", 0), None);
    }
}
