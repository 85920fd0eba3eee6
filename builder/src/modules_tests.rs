//! Selection and index writing on a fake tree made from the init's index excerpt of
//! the test kernel (empty .ko files at the real paths).

use super::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../common/src/modules/testdata");

fn fake_tree(t: &Path) -> ModuleTree {
    let dir = t.join("lib/modules/6.1.0-test");
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "modules.dep",
        "modules.alias",
        "modules.softdep",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        std::fs::copy(Path::new(DATA).join(f), dir.join(f)).unwrap();
    }
    for line in std::fs::read_to_string(dir.join("modules.dep")).unwrap().lines() {
        let p = dir.join(line.split(':').next().unwrap());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"ko").unwrap();
    }
    ModuleTree::open(t).unwrap()
}

fn tiers(text: &str) -> Tiers {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("t.tiers");
    std::fs::write(&p, text).unwrap();
    Tiers::from_file(&p).unwrap()
}

#[test]
fn closure_notes_and_builtin_check() {
    let t = tempfile::tempdir().unwrap();
    let tree = fake_tree(t.path());
    assert_eq!(tree.version, "6.1.0-test");
    let sel = select(
        &tree,
        &tiers("[builtin]\next4\n[essential]\nbtrfs fuse\n[hardware]\nvirtio_net nvme e1000e\n[remote]\noverlay\n"),
    )
    .unwrap();
    for m in [
        "btrfs",
        "raid6_pq",
        "blake2b_generic",
        "crc32c_intel",
        "fuse",
        "virtio_net",
        "failover",
        "virtio_ring",
    ] {
        assert!(sel.packed.contains(m), "{m} not packed: {:?}", sel.packed);
    }
    assert!(!sel.packed.contains("overlay") && !sel.packed.contains("virtio_blk"));
    assert_eq!(sel.essential, vec!["btrfs", "fuse"]);
    assert_eq!(
        sel.notes,
        vec!["hardware nvme: built in", "hardware e1000e: not in this kernel"]
    );

    let e = select(&tree, &tiers("[builtin]\nbtrfs\n")).unwrap_err().to_string();
    assert!(
        e.contains("builtin tier: btrfs is a loadable module, not built in, in kernel 6.1.0-test"),
        "{e}"
    );
    let e = select(&tree, &tiers("[essential]\nzfs\n")).unwrap_err().to_string();
    assert_eq!(e, "essential tier: zfs is not in kernel 6.1.0-test's modules");
}

#[test]
fn filtered_index_follows_renamed_files() {
    let t = tempfile::tempdir().unwrap();
    let tree = fake_tree(&t.path().join("src"));
    let sel = select(&tree, &tiers("[hardware]\nvirtio_blk\nkernel/fs/fuse/\n")).unwrap();
    let root = t.path().join("img");
    let dst = install(&tree, &sel, &root, IndexWriter::Filter).unwrap();
    // Compress one after the fact, as a test image does, and rewrite the index.
    std::fs::rename(
        dst.join("kernel/drivers/virtio/virtio.ko"),
        dst.join("kernel/drivers/virtio/virtio.ko.xz"),
    )
    .unwrap();
    write_index(&root, &tree.version, &tree.dir, IndexWriter::Filter).unwrap();
    let dep = std::fs::read_to_string(dst.join("modules.dep")).unwrap();
    assert!(dep.contains(
        "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko.xz kernel/drivers/virtio/virtio_ring.ko\n"
    ), "{dep}");
    assert!(dep.contains("kernel/drivers/virtio/virtio.ko.xz: kernel/drivers/virtio/virtio_ring.ko\n"));
    assert!(dep.contains("kernel/fs/fuse/fuse.ko:\n"), "{dep}");
    let alias = std::fs::read_to_string(dst.join("modules.alias")).unwrap();
    assert!(alias.contains("alias virtio:d00000002v* virtio_blk") && !alias.contains("virtio_net"));
    // The init reads it back.
    let idx = ModIndex::load(&dst).unwrap();
    assert_eq!(
        idx.modules["virtio"].path,
        Path::new("kernel/drivers/virtio/virtio.ko.xz")
    );
    assert!(idx.builtin.contains("ext4"));
}
