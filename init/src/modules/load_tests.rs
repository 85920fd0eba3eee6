//! Plan and load tests on the test kernel's index excerpt, with the recorder's Kmod.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use crate::sys::Errno;

use super::*;
use crate::sys::record_kmod::{position, RecordKmod};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../common/src/modules/testdata");

fn index() -> ModIndex {
    ModIndex::load(Path::new(DATA)).unwrap()
}

fn req(names: &[&str]) -> Vec<Request> {
    names
        .iter()
        .map(|n| Request {
            name: n.to_string(),
            via: "test".into(),
        })
        .collect()
}

struct Ctx {
    idx: ModIndex,
    conf: ModprobeConf,
    params: Vec<String>,
    black: HashSet<String>,
    loaded: HashSet<String>,
}

impl Ctx {
    fn new() -> Ctx {
        Ctx {
            idx: index(),
            conf: ModprobeConf::default(),
            params: Vec::new(),
            black: HashSet::new(),
            loaded: HashSet::new(),
        }
    }
    fn plan(&self, names: &[&str]) -> Plan {
        plan(
            &req(names),
            &Policy {
                index: &self.idx,
                conf: &self.conf,
                cmdline_params: &self.params,
                blacklist: &self.black,
                loaded: &self.loaded,
            },
        )
    }
}

fn names(p: &Plan) -> Vec<&str> {
    p.nodes.iter().map(|n| n.name.as_str()).collect()
}

#[test]
fn dependencies_come_first_and_once() {
    let c = Ctx::new();
    let p = c.plan(&["virtio_blk", "virtio_net", "virtio-pci"]);
    let n = names(&p);
    assert_eq!(n.iter().filter(|m| **m == "virtio").count(), 1);
    let at = |m: &str| n.iter().position(|x| *x == m).unwrap();
    assert!(at("virtio_ring") < at("virtio") && at("virtio") < at("virtio_blk"));
    assert!(at("failover") < at("net_failover") && at("net_failover") < at("virtio_net"));
    let vnet = &p.nodes[at("virtio_net")];
    assert_eq!(vnet.via, "test");
    assert!(p.nodes[at("failover")].via.starts_with("needed by "));
    for (i, node) in p.nodes.iter().enumerate() {
        assert!(node.deps.iter().all(|&d| d < i), "{node:?}");
    }
}

#[test]
fn soft_dependencies_resolve_aliases_and_skip_builtins() {
    let c = Ctx::new();
    let p = c.plan(&["btrfs"]);
    let n = names(&p);
    // pre: blake2b-256 (alias of blake2b_generic), xxhash64, crypto-crc32c
    // (crc32c_intel); sha256 is built in.
    for m in [
        "xor",
        "raid6_pq",
        "zstd_compress",
        "libcrc32c",
        "blake2b_generic",
        "xxhash_generic",
        "crc32c_intel",
    ] {
        assert!(n.contains(&m), "{m} missing from {n:?}");
    }
    let btrfs = p.nodes.iter().find(|x| x.name == "btrfs").unwrap();
    let blake = n.iter().position(|x| *x == "blake2b_generic").unwrap();
    assert!(btrfs.soft.contains(&blake) && !btrfs.deps.contains(&blake));
    assert_eq!(p.nodes[blake].via, "softdep of btrfs");
}

#[test]
fn post_softdeps_from_modprobe_d_wait_for_the_module() {
    let mut c = Ctx::new();
    c.conf.parse("softdep fuse post: overlay\n");
    let p = c.plan(&["fuse"]);
    assert_eq!(names(&p), vec!["fuse", "overlay"]);
    assert_eq!(p.nodes[1].soft, vec![0]);
}

#[test]
fn blacklist_builtin_loaded_and_unknown() {
    let mut c = Ctx::new();
    c.black.insert("virtio_ring".into());
    c.black.insert("fuse".into());
    c.loaded.insert("overlay".into());
    let p = c.plan(&["fuse", "ext4", "overlay", "nope", "virtio_blk"]);
    assert!(p.nodes.is_empty(), "{:?}", names(&p));
    let skipped: Vec<_> = p.skipped.iter().map(|(n, w)| format!("{n}: {w}")).collect();
    assert_eq!(
        skipped,
        vec![
            "fuse: blacklisted (module_blacklist=)",
            "ext4: built into the kernel",
            "overlay: already loaded"
        ]
    );
    let failed: Vec<_> = p.failed.iter().map(|(_, e)| e.to_string()).collect();
    let p2 = c.plan(&["virtio"]);
    assert_eq!(
        p2.failed[0].1.to_string(),
        "virtio: not loaded: it needs virtio_ring, which is blacklisted"
    );
    assert_eq!(failed[0], "nope: not in modules.dep (no such module in the image)");
    assert_eq!(failed[1], "virtio_blk: not loaded: its dependency virtio failed");
}

#[test]
fn params_from_modprobe_d_and_cmdline() {
    let mut c = Ctx::new();
    c.conf.parse("options virtio_net napi_tx=1\n");
    c.params = vec!["virtio-net.napi_weight=32".into(), "fuse.x=1".into()];
    let p = c.plan(&["virtio_net"]);
    let vnet = p.nodes.iter().find(|n| n.name == "virtio_net").unwrap();
    assert_eq!(vnet.params, "napi_tx=1 napi_weight=32");
    let kmod = RecordKmod::default();
    run(&kmod, &p.nodes, None, 1);
    assert!(kmod
        .calls()
        .iter()
        .any(|c| c.ends_with("virtio_net.ko napi_tx=1 napi_weight=32")));
}

#[test]
fn one_worker_loads_in_dependency_order() {
    let c = Ctx::new();
    let p = c.plan(&["virtio_net"]);
    let kmod = RecordKmod::default();
    let out = run(&kmod, &p.nodes, None, 1);
    let want: Vec<String> = [
        "kernel/drivers/net/net_failover.ko",
        "kernel/net/core/failover.ko",
        "kernel/drivers/virtio/virtio.ko",
        "kernel/drivers/virtio/virtio_ring.ko",
        "kernel/drivers/net/virtio_net.ko",
    ]
    .iter()
    .map(|p| format!("insmod {DATA}/{p}"))
    .collect();
    let calls = kmod.calls();
    // Each module after all of its own dependencies.
    for (i, node) in p.nodes.iter().enumerate() {
        let me = position(&calls, &format!("{}.ko", node.name)).unwrap();
        for &d in &node.deps {
            assert!(position(&calls, &format!("{}.ko", p.nodes[d].name)).unwrap() < me);
        }
        assert!(out[i].result.is_ok());
    }
    let mut got = calls.clone();
    got.sort();
    let mut w = want.clone();
    w.sort();
    assert_eq!(got, w);
}

#[test]
fn loads_overlap_and_failures_only_stop_dependents() {
    let c = Ctx::new();
    let p = c.plan(&["virtio_blk", "virtio_net", "virtio_rng", "fuse", "overlay", "btrfs"]);
    let kmod = RecordKmod {
        delay: Duration::from_millis(30),
        ..Default::default()
    };
    kmod.fail_on("virtio_ring.ko", Errno::NOEXEC);
    kmod.fail_on("fuse.ko", Errno::EXIST);
    let out = run(&kmod, &p.nodes, None, 8);
    assert!(
        kmod.max_parallel() >= 3,
        "loads did not overlap: {}",
        kmod.max_parallel()
    );
    let by = |m: &str| out.iter().find(|o| o.name == m).unwrap();
    let ring = by("virtio_ring").result.as_ref().unwrap_err().to_string();
    assert_eq!(
        ring,
        format!("virtio_ring: finit_module {DATA}/kernel/drivers/virtio/virtio_ring.ko: ENOEXEC (Exec format error)")
    );
    assert_eq!(
        by("virtio_blk").result.as_ref().unwrap_err().to_string(),
        "virtio_blk: not loaded: its dependency virtio or virtio_ring failed"
            .replace("virtio or virtio_ring", by_dep(&out, "virtio_blk"))
    );
    assert!(matches!(by("fuse").result, Ok(Done::AlreadyLoaded)));
    assert!(matches!(by("overlay").result, Ok(Done::Loaded)));
    assert!(matches!(by("btrfs").result, Ok(Done::Loaded)));
    // The failed module's dependents were never tried.
    assert!(position(&kmod.calls(), "virtio_blk.ko").is_none());
}

fn by_dep<'a>(out: &'a [Outcome], m: &str) -> &'a str {
    match &out.iter().find(|o| o.name == m).unwrap().result {
        Err(ModError::DepFailed { dep, .. }) => dep,
        other => panic!("{other:?}"),
    }
}

#[test]
fn compressed_modules_go_through_user_space_or_the_kernel() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("modules.dep"), "a.ko.zst:\nb.ko.xz: a.ko.zst\n").unwrap();
    let idx = ModIndex::load(t.path()).unwrap();
    let (conf, none) = (ModprobeConf::default(), HashSet::new());
    let p = plan(
        &req(&["b"]),
        &Policy {
            index: &idx,
            conf: &conf,
            cmdline_params: &[],
            blacklist: &none,
            loaded: &none,
        },
    );
    let zst = std::process::Command::new("sh")
        .args(["-c", "printf 'ELFIMAGE' | zstd -q -c"])
        .output()
        .unwrap()
        .stdout;
    let xz = std::process::Command::new("sh")
        .args(["-c", "printf 'ELFIMAGE2' | xz --check=crc32 -c"])
        .output()
        .unwrap()
        .stdout;
    let kmod = RecordKmod::default();
    kmod.files.lock().unwrap().push(("a.ko.zst".into(), zst.clone()));
    kmod.files.lock().unwrap().push(("b.ko.xz".into(), xz.clone()));
    let out = run(&kmod, &p.nodes, None, 1);
    assert!(out.iter().all(|o| o.result.is_ok()), "{out:?}");
    let d = t.path().display();
    assert_eq!(
        kmod.calls(),
        vec![
            format!("init_module {d}/a.ko.zst (8 bytes)"),
            format!("init_module {d}/b.ko.xz (9 bytes)")
        ]
    );
    // A kernel built for zstd takes the file; EOPNOTSUPP falls back to user space.
    let kmod = RecordKmod::default();
    kmod.files.lock().unwrap().push(("a.ko.zst".into(), zst));
    kmod.files.lock().unwrap().push(("b.ko.xz".into(), xz));
    kmod.fail_on("a.ko.zst", Errno::OPNOTSUPP);
    run(&kmod, &p.nodes, Some("zstd\n"), 1);
    assert_eq!(
        kmod.calls(),
        vec![
            format!("insmod (compressed) {d}/a.ko.zst"),
            format!("init_module {d}/a.ko.zst (8 bytes)"),
            format!("init_module {d}/b.ko.xz (9 bytes)")
        ]
    );
    // A corrupt file is named with its path.
    let kmod = RecordKmod::default();
    kmod.files
        .lock()
        .unwrap()
        .push(("a.ko.zst".into(), b"not zstd".to_vec()));
    let out = run(&kmod, &p.nodes, None, 1);
    let e = out[0].result.as_ref().unwrap_err().to_string();
    assert!(e.starts_with(&format!("a: decompress {d}/a.ko.zst: zstd:")), "{e}");
}

#[test]
fn a_failed_soft_dependency_does_not_fail_the_module() {
    let c = Ctx::new();
    let p = c.plan(&["btrfs"]);
    let kmod = RecordKmod::default();
    kmod.fail_on("crc32c-intel.ko", Errno::NODEV);
    let out = run(&kmod, &p.nodes, None, 4);
    let by = |m: &str| out.iter().find(|o| o.name == m).unwrap();
    assert!(by("crc32c_intel").result.is_err());
    assert!(by("libcrc32c").result.is_ok() && by("btrfs").result.is_ok());
    let calls = kmod.calls();
    assert!(position(&calls, "crc32c-intel.ko").unwrap() < position(&calls, "libcrc32c.ko").unwrap());
}

#[test]
fn a_cycle_is_reported_not_hung() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("modules.dep"), "a.ko: b.ko\nb.ko: a.ko\n").unwrap();
    let idx = ModIndex::load(t.path()).unwrap();
    let (conf, none) = (ModprobeConf::default(), HashSet::new());
    let pol = Policy {
        index: &idx,
        conf: &conf,
        cmdline_params: &[],
        blacklist: &none,
        loaded: &none,
    };
    let p = plan(&req(&["a"]), &pol);
    assert!(p.nodes.is_empty());
    assert!(p.failed[0]
        .1
        .to_string()
        .contains("a: not loaded: its dependency b failed"));
    // A cycle that reaches the scheduler (hand-made nodes) ends too.
    let nodes = vec![
        Node {
            name: "x".into(),
            path: "x.ko".into(),
            params: String::new(),
            via: "t".into(),
            deps: vec![1],
            soft: vec![],
        },
        Node {
            name: "y".into(),
            path: "y.ko".into(),
            params: String::new(),
            via: "t".into(),
            deps: vec![0],
            soft: vec![],
        },
    ];
    let out = run(&RecordKmod::default(), &nodes, None, 2);
    assert!(out.iter().all(|o| matches!(o.result, Err(ModError::Cycle { .. }))));
}

#[test]
fn a_module_stuck_in_its_init_is_left_and_only_its_dependents_fail() {
    let c = Ctx::new();
    let p = c.plan(&["virtio_blk", "fuse"]);
    let kmod = RecordKmod::default();
    kmod.hang_on("virtio_ring.ko");
    let out = run_within(&kmod, &p.nodes, None, 4, Some(Duration::from_secs(7)));
    let by = |m: &str| out.iter().find(|o| o.name == m).unwrap();
    assert_eq!(
        by("virtio_ring").result.as_ref().unwrap_err().to_string(),
        format!(
            "virtio_ring: finit_module {DATA}/kernel/drivers/virtio/virtio_ring.ko still in the module's init after 7 s: \
             left to the kernel in pid 4242 (a module's init cannot be interrupted); the modules that need \
             it are not tried"
        )
    );
    assert!(matches!(by("virtio_blk").result, Err(ModError::DepFailed { .. })));
    assert!(matches!(by("fuse").result, Ok(Done::Loaded)));
    assert!(position(&kmod.calls(), "virtio_blk.ko").is_none());
}
