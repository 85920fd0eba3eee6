//! Find a FAT volume by its label without udev: read the boot sector of each block
//! device in /sys/class/block and compare the BPB volume label.

use std::path::{Path, PathBuf};

use crate::sys::Sys;

/// The label in a FAT boot sector, if the sector is FAT12/16/32.
pub fn fat_label(sector: &[u8]) -> Option<String> {
    if sector.len() < 512 || sector[510] != 0x55 || sector[511] != 0xAA {
        return None;
    }
    // FAT32 keeps "FAT32   " at 0x52 and the label at 0x47; FAT12/16 "FAT1x" at 0x36,
    // label at 0x2B.
    let label = if &sector[0x52..0x57] == b"FAT32" {
        &sector[0x47..0x52]
    } else if &sector[0x36..0x39] == b"FAT" {
        &sector[0x2B..0x36]
    } else {
        return None;
    };
    let text = String::from_utf8_lossy(label).trim_end().to_string();
    (!text.is_empty() && text != "NO NAME").then_some(text)
}

/// `/dev/<name>` of the first block device (in name order) whose FAT label is `label`.
/// `sys` and `dev` are the roots of /sys/class/block and /dev (tests pass temp dirs).
pub fn find(sys: &dyn Sys, label: &str, sys_class_block: &Path, dev: &Path) -> Option<PathBuf> {
    // list_names returns the names sorted.
    let names = sys.look().list_names(sys_class_block).ok()?;
    names.into_iter().map(|n| dev.join(n)).find(|path| {
        sys.look()
            .read_at(path, 0, 512)
            .is_ok_and(|sector| fat_label(&sector).is_some_and(|l| l.eq_ignore_ascii_case(label)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;

    fn sector(fat32: bool, label: &[u8; 11]) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        if fat32 {
            s[0x52..0x57].copy_from_slice(b"FAT32");
            s[0x47..0x52].copy_from_slice(label);
        } else {
            s[0x36..0x3B].copy_from_slice(b"FAT16");
            s[0x2B..0x36].copy_from_slice(label);
        }
        s
    }

    #[test]
    fn reads_fat16_and_fat32_labels() {
        assert_eq!(fat_label(&sector(true, b"ZOSDEBUG   ")), Some("ZOSDEBUG".into()));
        assert_eq!(fat_label(&sector(false, b"QEMU VVFAT ")), Some("QEMU VVFAT".into()));
        assert_eq!(fat_label(&sector(false, b"NO NAME    ")), None);
        let mut not_fat = sector(true, b"ZOSDEBUG   ");
        not_fat[511] = 0;
        assert_eq!(fat_label(&not_fat), None);
    }

    #[test]
    fn finds_the_device_by_label() {
        let t = tempfile::tempdir().unwrap();
        let dev = t.path().join("dev");
        std::fs::create_dir_all(&dev).unwrap();
        let rec = RecordSys {
            host_dirs: vec![dev.clone()],
            ..Default::default()
        };
        let class = Path::new("/sys/class/block");
        rec.tree.borrow_mut().dir("/sys/class/block", 1);
        // sda's node is gone (a removed disk): its read fails and the search goes on.
        for (name, label) in [
            ("sda", None),
            ("sdb", Some(b"OTHER      ")),
            ("sdb1", Some(b"ZOSDEBUG   ")),
        ] {
            rec.tree.borrow_mut().dir(&format!("/sys/class/block/{name}"), 1);
            if let Some(label) = label {
                std::fs::write(dev.join(name), sector(true, label)).unwrap();
            }
        }
        assert_eq!(find(&rec, "zosdebug", class, &dev), Some(dev.join("sdb1")));
        let reads: Vec<String> = rec.calls().into_iter().filter(|c| c.starts_with("dd ")).collect();
        let read = |n: &str| format!("dd if={} bs=1 skip=0 count=512", dev.join(n).display());
        assert_eq!(reads, vec![read("sda"), read("sdb"), read("sdb1")]);
        assert_eq!(find(&rec, "MISSING", class, &dev), None);
        assert_eq!(find(&rec, "zosdebug", Path::new("/sys/nope"), &dev), None);
    }
}
