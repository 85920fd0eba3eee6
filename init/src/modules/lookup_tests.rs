use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::modules::index::Resolved;
// Real files in a temporary directory: the stamp and the rename are the kernel's.
use crate::sys::linux::LinuxSys;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../common/src/modules/testdata");

#[test]
fn says_miss_exactly_where_the_index_finds_nothing() {
    let idx = ModIndex::load(Path::new(DATA)).unwrap();
    let text = build(&idx, "s");
    let pci = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00";
    let names = [
        "btrfs",
        "virtio-blk",
        "virtio_rng",
        "fs-btrfs",
        "crypto-crc32c",
        "ext4",
        "crypto-sha256",
        pci,
        "virtio:d00000001v00001AF4",
        "no_such_thing",
        "crypto-crc64-rocksoft-all",
        "net-pf-99",
        "pci:v0000FFFFd0000FFFFsv0sd0bc0sc0i0",
        "char-major-10-229",
    ];
    for n in names {
        let found = idx.resolve(n) != Resolved::NotFound;
        assert_eq!(may_resolve(&text, "s", n), Some(found), "{n}");
    }
    for (pat, _) in idx.aliases.entries() {
        if !has_glob(pat) {
            assert_eq!(may_resolve(&text, "s", pat), Some(true), "{pat}");
        }
    }
}

#[test]
fn a_lookup_for_another_index_or_cut_short_says_nothing() {
    let idx = ModIndex::load(Path::new(DATA)).unwrap();
    let text = build(&idx, "a");
    assert_eq!(may_resolve(&text, "b", "nosuch"), None);
    let cut = &text[..text.len() - 3];
    assert_eq!(may_resolve(cut, "a", "nosuch"), None);
    assert_eq!(may_resolve("garbage", "a", "nosuch"), None);
    // The stamp follows the files: a rewritten modules.alias is another index.
    let t = tempfile::tempdir().unwrap();
    for f in FILES {
        let _ = std::fs::copy(Path::new(DATA).join(f), t.path().join(f));
    }
    let before = stamp(&LinuxSys, t.path(), None);
    // Freed from the initramfs: stamped from the new root's copy, the same files.
    let gone = tempfile::tempdir().unwrap();
    assert_eq!(stamp(&LinuxSys, &gone.path().join("x"), Some(t.path())), before);
    std::fs::write(t.path().join("modules.alias"), "alias fs-new new\n").unwrap();
    assert_ne!(stamp(&LinuxSys, t.path(), None), before);
}

#[test]
fn publish_replaces_whole_files_only() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("lookup");
    publish(&LinuxSys, &p, "one\n").unwrap();
    publish(&LinuxSys, &p, "two\n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1, "no temporary left");
}

/// A generic kernel's size: 2000 modules, 26000 aliases (most of them globs).
fn big_index(dir: &Path) {
    let mut dep = String::new();
    let mut alias = String::new();
    for i in 0..2000 {
        dep.push_str(&format!("kernel/drivers/x/mod{i}.ko: kernel/lib/dep{}.ko\n", i % 50));
        for j in 0..6 {
            alias.push_str(&format!(
                "alias pci:v0000{i:04X}d0000{j:04X}sv*sd*bc*sc*i* mod{i}\nalias usb:v{i:04X}p{j:04X}d*dc*dsc*dp*ic*isc*ip*in* mod{i}\n"
            ));
        }
        alias.push_str(&format!("alias fs-fs{i} mod{i}\n"));
    }
    std::fs::write(dir.join("modules.dep"), dep).unwrap();
    std::fs::write(dir.join("modules.alias"), alias).unwrap();
}

fn fastest(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed()
        })
        .min()
        .unwrap()
}

/// The point of the lookup: a miss no longer parses the index.
#[test]
fn a_miss_is_answered_without_parsing_the_index() {
    let t = tempfile::tempdir().unwrap();
    big_index(t.path());
    let idx = ModIndex::load(t.path()).unwrap();
    assert!(idx.aliases.len() > 20_000);
    let s = stamp(&LinuxSys, t.path(), None);
    let file = t.path().join("lookup");
    publish(&LinuxSys, &file, &build(&idx, &s)).unwrap();
    let name = "crypto-crc64-rocksoft-all";
    let full = fastest(|| {
        let idx = ModIndex::load(t.path()).unwrap();
        assert_eq!(idx.resolve(name), Resolved::NotFound);
    });
    let quick = fastest(|| {
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(may_resolve(&text, &stamp(&LinuxSys, t.path(), None), name), Some(false));
    });
    println!("BENCH miss: index parse {full:?}, lookup {quick:?}");
    assert!(quick * 4 < full, "lookup {quick:?} vs parse {full:?}");
}
