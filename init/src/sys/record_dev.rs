//! The recorder's [`dev`](super::dev) calls: each is recorded as its typed
//! [`Call`], and answered from fixture trees on the host (the directories in
//! `host_dirs`, as `read` is), else from the in-memory `tree`, else ENOENT; uevents
//! come from [`RecordDev::uevents`].

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::dev::{Entry, UeventSocket, Uevents};
use super::linux_dev;
use super::record::{Call, RecordSys, Shared};
use super::Errno;
use crate::error::SysError;

/// What the recorder's device calls see and did.
#[derive(Default)]
pub struct RecordDev {
    /// What each `uevent_recv` returns, in order (`None`: quiet until the timeout);
    /// quiet once empty.
    pub uevents: Shared<VecDeque<Option<Vec<Vec<u8>>>>>,
    /// Bytes appended through `append_file`, in order.
    pub appended: Shared<Vec<(PathBuf, Vec<u8>)>>,
}

impl RecordSys {
    fn on_host(&self, path: &Path) -> bool {
        self.host_dirs.iter().any(|d| path.starts_with(d))
    }

    pub(super) fn dev_list_kinds(&self, path: &Path) -> Result<Vec<Entry>, SysError> {
        self.call(Call::ListDir(path.into()))?;
        if self.on_host(path) {
            return linux_dev::list_kinds(path);
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

    pub(super) fn dev_read_link(&self, path: &Path) -> Result<PathBuf, SysError> {
        self.call(Call::ReadLink(path.into()))?;
        if !self.on_host(path) {
            return Err(SysError::new("readlink", path, Errno::NOENT));
        }
        linux_dev::read_link(path)
    }

    pub(super) fn dev_read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, SysError> {
        self.call(Call::ReadAt {
            path: path.into(),
            offset,
            len,
        })?;
        if !self.on_host(path) {
            return Err(SysError::new("open", path, Errno::NOENT));
        }
        linux_dev::read_at(path, offset, len)
    }

    pub(super) fn dev_append_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        self.call(Call::Append {
            path: path.into(),
            len: data.len(),
        })?;
        self.dev.appended.borrow_mut().push((path.to_path_buf(), data.to_vec()));
        Ok(())
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
        let got = sys.list_kinds(Path::new("/sys")).unwrap();
        let got: Vec<_> = got
            .iter()
            .map(|e| (e.name.to_string_lossy().into_owned(), e.kind))
            .collect();
        assert_eq!(got, vec![("a".to_string(), Kind::Dir), ("b".to_string(), Kind::File)]);
        let e = sys.list_kinds(Path::new("/nope")).unwrap_err();
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
        sys.append_file(Path::new("/dev/req"), b"line\n").unwrap();
        sys.fail_on("write", "/dev/req", Errno::NOSPC);
        assert!(sys.append_file(Path::new("/dev/req"), b"x").is_err());
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
