//! Scratch tmpfs mounts for the copy-engine tests: a private mount namespace per test,
//! so the mounts neither leak to the host nor outlive the test.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use rustix::fs::statvfs;
use rustix::mount::{mount, mount_change, MountFlags, MountPropagationFlags};
use rustix::thread::UnshareFlags;

use crate::common::needs_root;

/// Run `body(src, dst)` as root with a fresh tmpfs of `src_size` on `src` and one of
/// `dst_size` on `dst`, inside a private mount namespace. Does nothing when the test is
/// skipped (not root and ZOS_SKIP_ROOT_TESTS=1, see `needs_root`).
pub fn on_scratch_tmpfs(
    test: &str,
    src_size: &'static str,
    dst_size: &'static str,
    body: impl FnOnce(&Path, &Path) + Send + 'static,
) {
    if !needs_root(test) {
        return;
    }
    // The directories outlive the namespace thread: they are removed after its mounts
    // are gone.
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (s, d): (PathBuf, PathBuf) = (src.path().into(), dst.path().into());
    in_private_mount_ns(move || {
        tmpfs(&s, src_size);
        tmpfs(&d, dst_size);
        body(&s, &d);
    });
}

/// Run `body` on a fresh thread that has its own mount namespace with `/` made
/// recursively private, so the scratch tmpfs mounts neither leak to the host nor outlive
/// the thread (the namespace dies with it, unmounting everything).
fn in_private_mount_ns<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::spawn(move || {
        // SAFETY: only CLONE_NEWNS (which implies CLONE_FS) is unshared, and only for this
        // thread; the fd table stays shared, so no thread can see a foreign fd table.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
            .unwrap_or_else(|e| panic!("needs root: unshare(CLONE_NEWNS): {e}"));
        mount_change("/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC).expect("make / rprivate");
        body()
    });
    handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A scratch tmpfs. noatime: the snapshots read every file and directory, which must not
/// move the atimes under comparison (the engine sets them explicitly, which still works).
fn tmpfs(dir: &Path, size: &str) {
    let opts = CString::new(format!("size={size},mode=0755")).unwrap();
    mount("tmpfs", dir, "tmpfs", MountFlags::NOATIME, opts.as_c_str())
        .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", dir.display()));
}

/// Bytes in use on the filesystem holding `path`.
pub fn used_bytes(path: &Path) -> u64 {
    let st = statvfs(path).unwrap();
    (st.f_blocks - st.f_bfree) * st.f_frsize
}
