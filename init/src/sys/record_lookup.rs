//! The recorder's [`Lookup`] calls and its uevents: each is recorded as its typed
//! [`Call`], and answered from fixture trees on the host (the directories in
//! `host_dirs`, as `read` is), else from the in-memory `tree`, else from the fixed
//! answers of record_fs.rs; uevents come from [`RecordDev::uevents`].

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::linux::LinuxSys;
use super::record::{Call, RecordSys, Shared};
use super::record_fs::default_lstat;
use super::{Entry, Errno, Kind, Lookup, Stat, UeventSocket, Uevents, Version};
use crate::error::SysError;

/// What the recorder's device calls see and did.
#[derive(Default)]
pub struct RecordDev {
    /// What each `uevent_recv` returns, in order (`None`: quiet until the timeout);
    /// quiet once empty.
    pub uevents: Shared<VecDeque<Option<Vec<Vec<u8>>>>>,
    /// Bytes appended through `write(.., Write::Append)`, in order.
    pub appended: Shared<Vec<(PathBuf, Vec<u8>)>>,
}

impl RecordSys {
    /// Whether `path` is in a fixture tree on the host (`host_dirs`), answered for real.
    pub(super) fn on_host(&self, path: &Path) -> bool {
        self.host_dirs.iter().any(|d| path.starts_with(d))
    }

    pub(super) fn dev_uevent_open(&self) -> Result<UeventSocket, SysError> {
        self.call(Call::UeventOpen)?;
        Ok(UeventSocket { fd: None })
    }

    pub(super) fn dev_uevent_recv(&self, timeout: Duration) -> Result<Option<Uevents>, SysError> {
        self.call(Call::UeventRecv { timeout })?;
        let msgs = self.dev.uevents.borrow_mut().pop_front().flatten();
        Ok(msgs.map(|msgs| Uevents { msgs, lost: false }))
    }
}

impl Lookup for RecordSys {
    fn lstat(&self, path: &Path) -> Result<Stat, SysError> {
        self.call(Call::Lstat(path.into()))?;
        if self.tree_used() {
            return self
                .tree
                .borrow()
                .lstat(path)
                .map_err(|e| SysError::new("stat", path, e));
        }
        if self.mount_points.iter().any(|m| m == path) {
            let mut st = default_lstat(Path::new("/mnt/root"));
            st.dev = 2;
            return Ok(st);
        }
        Ok(default_lstat(path))
    }
    fn exists(&self, path: &Path) -> Result<bool, SysError> {
        self.call(Call::Exists(path.into()))?;
        Ok(self.present.iter().any(|p| p == path) || self.tree.borrow().nodes.contains_key(path))
    }
    fn version(&self, path: &Path) -> Result<Version, SysError> {
        self.call(Call::Version(path.into()))?;
        if !self.on_host(path) {
            return Err(SysError::new("stat", path, Errno::NOENT));
        }
        LinuxSys.version(path)
    }
    fn realpath(&self, path: &Path) -> Result<PathBuf, SysError> {
        self.call(Call::Realpath(path.into()))?;
        Ok(self
            .realpaths
            .iter()
            .find(|(p, _)| p == path)
            .map_or_else(|| path.to_path_buf(), |(_, t)| t.clone()))
    }
    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError> {
        let full = root.join(path.strip_prefix("/").unwrap_or(path));
        self.call(Call::TestX(full.clone()))?;
        Ok(self.executables.contains(&full))
    }
    /// A host fixture directory is listed for real; else the `tree`'s children (ENOENT
    /// for a directory not in it); without a tree, any directory lists as `listing`
    /// (names whose type the recorder does not know: [`Kind::Other`]).
    fn list(&self, path: &Path) -> Result<Vec<Entry>, SysError> {
        self.call(Call::ListDir(path.into()))?;
        if self.on_host(path) {
            return LinuxSys.list(path);
        }
        if !self.tree_used() {
            let other = |name: &String| Entry {
                name: name.into(),
                kind: Kind::Other,
            };
            return Ok(self.listing.iter().map(other).collect());
        }
        let tree = self.tree.borrow();
        if !tree.nodes.contains_key(path) {
            return Err(SysError::new("opendir", path, Errno::NOENT));
        }
        Ok(tree
            .children(path)
            .into_iter()
            .filter_map(|name| {
                let kind = tree.nodes.get(&path.join(&name))?.kind;
                Some(Entry { name, kind })
            })
            .collect())
    }

    fn read_link(&self, path: &Path) -> Result<PathBuf, SysError> {
        self.call(Call::ReadLink(path.into()))?;
        if !self.on_host(path) {
            return Err(SysError::new("readlink", path, Errno::NOENT));
        }
        LinuxSys.read_link(path)
    }

    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, SysError> {
        self.call(Call::ReadAt {
            path: path.into(),
            offset,
            len,
        })?;
        if !self.on_host(path) {
            return Err(SysError::new("open", path, Errno::NOENT));
        }
        LinuxSys.read_at(path, offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{Kind, Sys};

    #[test]
    fn lists_typed_entries_from_the_tree_and_fails_a_missing_dir() {
        let sys = RecordSys::default();
        sys.tree
            .borrow_mut()
            .dir("/sys", 1)
            .dir("/sys/a", 1)
            .file("/sys/b", 1, 0o644, 0);
        let got = sys.look().list(Path::new("/sys")).unwrap();
        let got: Vec<_> = got
            .iter()
            .map(|e| (e.name.to_string_lossy().into_owned(), e.kind))
            .collect();
        assert_eq!(got, vec![("a".to_string(), Kind::Dir), ("b".to_string(), Kind::File)]);
        let e = sys.look().list(Path::new("/nope")).unwrap_err();
        assert_eq!(e.errno, Errno::NOENT);
        assert_eq!(sys.calls(), vec!["ls /sys", "ls /nope"]);
    }

    #[test]
    fn appends_and_uevents_are_recorded_and_failable() {
        let sys = RecordSys::default();
        sys.dev.uevents.borrow_mut().push_back(Some(vec![b"add@/x\0".to_vec()]));
        let sock = sys.uevent_open().unwrap();
        assert_eq!(
            sys.uevent_recv(&sock, Duration::from_millis(5))
                .unwrap()
                .unwrap()
                .msgs
                .len(),
            1
        );
        assert_eq!(sys.uevent_recv(&sock, Duration::from_millis(5)).unwrap(), None);
        sys.write(Path::new("/dev/req"), b"line\n", crate::sys::Write::Append)
            .unwrap();
        sys.fail_on("write", "/dev/req", Errno::NOSPC);
        assert!(sys
            .write(Path::new("/dev/req"), b"x", crate::sys::Write::Append)
            .is_err());
        assert_eq!(sys.dev.appended.borrow().len(), 1);
        sys.fail_on("socket", "-", Errno::PROTONOSUPPORT);
        assert!(sys.uevent_open().is_err());
        assert_eq!(
            sys.calls()[..4],
            [
                "uevent socket",
                "uevent wait (up to 5 ms)",
                "uevent wait (up to 5 ms)",
                "echo >> /dev/req (5 bytes)"
            ]
        );
    }
}
