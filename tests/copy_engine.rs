//! The copy engine against real filesystems: a fixture tree with every file type and
//! every kind of metadata, copied between scratch tmpfs mounts inside a private mount
//! namespace. Needs root (mount, chown, mknod, security.* xattrs).
//!
//! copy_engine/: the fixture (fixture.rs), tree snapshots and their comparison
//! (snapshot.rs), the scratch mounts (scratch.rs).

mod common;
#[path = "copy_engine/fixture.rs"]
mod fixture;
#[path = "copy_engine/scratch.rs"]
mod scratch;
#[path = "copy_engine/snapshot.rs"]
mod snapshot;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use zos_init::copy::{copy_tree, measure, resolve_sources, CopySpec};
use zos_init::sys::linux::LinuxSys;

use fixture::{assert_fixture_facts, build_fixture, check_stats, chmod, sources, spec, write};
use scratch::{on_scratch_tmpfs, used_bytes};
use snapshot::{assert_same, Snapshot};

#[test]
fn copy_keeps_every_type_and_metadata_and_merges() {
    on_scratch_tmpfs("copy_keeps_every_type_and_metadata_and_merges", "64m", "64m", |s, d| {
        build_fixture(s);
        // Destination state to merge with: a dir with other metadata, a file that is a hard
        // link elsewhere (must be replaced, not written through), a regular file where a
        // symlink goes, and an unrelated file that must survive.
        fs::create_dir(d.join("etc")).unwrap();
        chmod(&d.join("etc"), 0o700);
        write(&d.join("keep"), b"old hostname");
        fs::hard_link(d.join("keep"), d.join("etc/hostname")).unwrap();
        write(&d.join("bin/sh"), b"not a symlink");
        write(&d.join("extra"), b"mine");

        let before = Snapshot::take(s);
        let spec = spec(false);
        let resolved = resolve_sources(&LinuxSys, s, &spec).unwrap();
        assert_eq!(resolved, sources());
        let mut warnings = Vec::new();
        let stats = copy_tree(&LinuxSys, s, d, &resolved, &spec, &mut |w| warnings.push(w.to_string()))
            .unwrap_or_else(|e| panic!("{e}"));

        let mut got = Snapshot::take(d);
        assert_eq!(fs::read(d.join("keep")).unwrap(), b"old hostname");
        assert_eq!(fs::read(d.join("extra")).unwrap(), b"mine");
        for extra in ["/keep", "/extra"] {
            got.entries.remove(Path::new(extra));
            got.inodes.remove(Path::new(extra));
        }
        assert_same(&before.expected_copy(), &got);
        assert_fixture_facts(&got, d);
        check_stats(&stats);
        assert_eq!(stats.freed_bytes, 0);
        assert!(warnings.len() == 1 && warnings[0].contains("/tmp/sock"), "{warnings:?}");
        // Without copy-and-free the source is untouched, times included.
        let after = Snapshot::take(s);
        assert_same(&before, &after);
    });
}

#[test]
fn copy_and_free_empties_the_source() {
    on_scratch_tmpfs("copy_and_free_empties_the_source", "64m", "64m", |s, d| {
        build_fixture(s);
        let before = Snapshot::take(s);
        let spec = spec(true);
        let resolved = resolve_sources(&LinuxSys, s, &spec).unwrap();
        let footprint = measure(&LinuxSys, s, &resolved, &spec).unwrap();
        let src_used = used_bytes(s);

        let stats = copy_tree(&LinuxSys, s, d, &resolved, &spec, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));

        let got = Snapshot::take(d);
        assert_same(&before.expected_copy(), &got);
        assert_fixture_facts(&got, d);
        check_stats(&stats);

        // Left in the source: what was never to be copied, the socket, and the dirs
        // that still hold them.
        let left: BTreeSet<PathBuf> = Snapshot::take(s).entries.into_keys().collect();
        let want: BTreeSet<PathBuf> = [
            "/init",
            "/init-debug",
            "/dev",
            "/proc",
            "/sys",
            "/mnt",
            "/mnt/root",
            "/mnt/marker",
            "/usr",
            "/usr/share",
            "/usr/share/doc",
            "/usr/share/doc/README",
            "/tmp",
            "/tmp/sock",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(left, want);

        // The measure predicted the destination's usage exactly, and the source gave back
        // exactly that (the excluded README and /init stay).
        assert_eq!(used_bytes(d), footprint.bytes, "{footprint:?}");
        assert_eq!(footprint.files, 19, "{footprint:?}"); // 11 files + 5 symlinks + 3 nodes
        assert_eq!(footprint.dirs, 14, "{footprint:?}");
        assert_eq!(footprint.largest_file, 24576, "busybox: 24000 bytes in 6 pages");
        assert_eq!(stats.freed_bytes, src_used - used_bytes(s));
        assert_eq!(stats.freed_bytes, footprint.bytes, "{stats:?} {footprint:?}");
    });
}

#[test]
fn enospc_names_the_path() {
    on_scratch_tmpfs("enospc_names_the_path", "16m", "64k", |s, d| {
        write(&s.join("usr/lib/small"), b"fits");
        write(&s.join("usr/lib/zbig"), &vec![0xab; 1 << 20]);
        let spec = CopySpec {
            patterns: vec!["/usr".into()],
            exclude: vec![],
            free_source: true,
        };
        let resolved = resolve_sources(&LinuxSys, s, &spec).unwrap();
        let err = copy_tree(&LinuxSys, s, d, &resolved, &spec, &mut |_| {}).unwrap_err();
        let path = d.join("usr/lib/zbig");
        assert_eq!(err.errno, Errno::NOSPC, "{err}");
        assert_eq!(err.path, path);
        assert_eq!(err.op, "write");
        assert_eq!(
            err.to_string(),
            format!("copy: write {}: ENOSPC (No space left on device)", path.display())
        );
        // The failed file's source is still there: nothing is freed before it is copied.
        assert!(s.join("usr/lib/zbig").exists());
        assert!(!s.join("usr/lib/small").exists());
    });
}
