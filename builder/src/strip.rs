//! Release builds strip the binaries they add (BUILDMODE=release): symbols and debug
//! info are dead weight in an initramfs that is unpacked into RAM on every boot.

use std::path::Path;
use std::process::Command;

/// What became of one file.
#[derive(Debug, PartialEq, Eq)]
pub enum Stripped {
    /// Smaller by this many bytes.
    Done { saved: u64 },
    /// Not an ELF file: left alone.
    NotElf,
    /// `strip` failed or is missing (e.g. a foreign architecture): left as it was.
    Failed(String),
}

/// `strip --strip-unneeded` an ELF file in place with the host's binutils.
pub fn strip_elf(path: &Path) -> Stripped {
    let mut magic = [0u8; 4];
    let is_elf = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .map(|_| &magic == b"\x7fELF")
        .unwrap_or(false);
    if !is_elf {
        return Stripped::NotElf;
    }
    let before = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    match Command::new("strip").arg("--strip-unneeded").arg(path).output() {
        Ok(out) if out.status.success() => {
            let after = std::fs::metadata(path).map(|m| m.len()).unwrap_or(before);
            Stripped::Done {
                saved: before.saturating_sub(after),
            }
        }
        Ok(out) => Stripped::Failed(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Stripped::Failed(format!("strip: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_an_elf_and_leaves_other_files() {
        let t = tempfile::tempdir().unwrap();
        let text = t.path().join("script");
        std::fs::write(&text, "#!/bin/sh\n").unwrap();
        assert_eq!(strip_elf(&text), Stripped::NotElf);
        // The test binary itself carries symbols: a real ELF to strip.
        let elf = t.path().join("elf");
        std::fs::copy(std::env::current_exe().unwrap(), &elf).unwrap();
        match strip_elf(&elf) {
            Stripped::Done { saved } => assert!(saved > 0, "nothing stripped"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(strip_elf(&elf), Stripped::Done { saved: 0 }), "idempotent");
    }
}
