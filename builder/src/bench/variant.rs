//! What the benchmark boots: two floors, the shell baseline and the Rust init in its
//! two new-root modes. The Rust modes share one image and differ only in the cmdline,
//! so copy and bind are measured on the same bytes.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// exec of the handover target and nothing else.
    Floor,
    /// The floor plus busybox modprobe of the modules the shell loads: the kernel's own
    /// module initialisation, without any init's work around it.
    FloorModules,
    Shell,
    /// zos-init with `zos.root=copy` (the shell's copy, done copy-and-free).
    RustCopy,
    /// zos-init with `zos.root=bind` (zero-copy).
    RustBind,
}

/// The image a variant boots (the Rust modes share one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Floor,
    FloorModules,
    Shell,
    Rust,
}

impl ImageKind {
    pub const ALL: [ImageKind; 4] = [
        ImageKind::Floor,
        ImageKind::FloorModules,
        ImageKind::Shell,
        ImageKind::Rust,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Floor => "floor",
            ImageKind::FloorModules => "floor-modules",
            ImageKind::Shell => "shell",
            ImageKind::Rust => "rust",
        }
    }
}

impl Variant {
    /// The boot order within a round.
    pub const ALL: [Variant; 5] = [
        Variant::Floor,
        Variant::FloorModules,
        Variant::Shell,
        Variant::RustCopy,
        Variant::RustBind,
    ];
    /// The inits whose cost is reported (the floors are what it is measured over).
    pub const INITS: [Variant; 3] = [Variant::Shell, Variant::RustCopy, Variant::RustBind];

    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Floor => "floor",
            Variant::FloorModules => "floor-modules",
            Variant::Shell => "shell",
            Variant::RustCopy => "rust-copy",
            Variant::RustBind => "rust-bind",
        }
    }

    /// For the chart's narrow label column.
    pub fn short(self) -> &'static str {
        match self {
            Variant::Floor => "floor",
            Variant::FloorModules => "floor+modules",
            Variant::Shell => "shell /init",
            Variant::RustCopy => "Rust copy",
            Variant::RustBind => "Rust bind",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Variant::Floor => "floor (exec only)",
            Variant::FloorModules => "floor + modules (modprobe, exec)",
            Variant::Shell => "shell /init (baseline)",
            Variant::RustCopy => "Rust /init, zos.root=copy",
            Variant::RustBind => "Rust /init, zos.root=bind",
        }
    }

    pub fn image(self) -> ImageKind {
        match self {
            Variant::Floor => ImageKind::Floor,
            Variant::FloorModules => ImageKind::FloorModules,
            Variant::Shell => ImageKind::Shell,
            Variant::RustCopy | Variant::RustBind => ImageKind::Rust,
        }
    }

    pub fn is_rust(self) -> bool {
        self.image() == ImageKind::Rust
    }

    /// The variant's own cmdline words (the RAM search adds `root=`).
    pub fn append(self) -> &'static str {
        match self {
            Variant::RustCopy => "zos.root=copy",
            Variant::RustBind => "zos.root=bind",
            _ => "",
        }
    }

    /// The cmdline of one boot: the variant's words, then `root=/dev/ram0` for a
    /// ramfs rootfs.
    pub fn cmdline(self, ramfs: bool) -> String {
        let words: Vec<&str> = [self.append(), if ramfs { "root=/dev/ram0" } else { "" }]
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect();
        words.join(" ")
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Variant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Variant::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Variant::ALL.iter().map(|v| v.as_str()).collect();
            format!("unknown variant {s:?} (one of {})", names.join(", "))
        })
    }
}

/// The variants to boot, in boot order, whatever order they were asked in. The plain
/// floor is always in: every cost is measured over it.
pub fn selection(asked: &[Variant]) -> Vec<Variant> {
    Variant::ALL
        .into_iter()
        .filter(|v| *v == Variant::Floor || asked.contains(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_rust_modes_share_an_image() {
        for v in Variant::ALL {
            assert_eq!(v.as_str().parse::<Variant>(), Ok(v));
        }
        assert!("rust".parse::<Variant>().unwrap_err().contains("rust-copy"));
        assert_eq!(Variant::RustCopy.image(), Variant::RustBind.image());
        assert_ne!(Variant::Shell.image(), Variant::FloorModules.image());
        assert!(Variant::RustBind.is_rust() && !Variant::Shell.is_rust());
    }

    #[test]
    fn cmdlines_pin_the_mode_and_add_root_for_ramfs() {
        assert_eq!(Variant::RustCopy.cmdline(false), "zos.root=copy");
        assert_eq!(Variant::RustBind.cmdline(true), "zos.root=bind root=/dev/ram0");
        assert_eq!(Variant::Shell.cmdline(true), "root=/dev/ram0");
        assert_eq!(Variant::FloorModules.cmdline(false), "");
    }

    #[test]
    fn selection_keeps_boot_order_and_always_the_floor() {
        assert_eq!(
            selection(&[Variant::RustBind, Variant::Shell]),
            [Variant::Floor, Variant::Shell, Variant::RustBind]
        );
        assert_eq!(selection(&Variant::ALL), Variant::ALL);
    }
}
