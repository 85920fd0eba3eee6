//! Deterministic newc writer. Given the same entries and options it emits the same
//! bytes: entries sorted by path, inode numbers assigned in that order, mtime clamped
//! to SOURCE_DATE_EPOCH and, with `root_owned`, uid/gid 0.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use super::header::{pad4, Header, TRAILER};
use super::{CpioError, Entry, EntryKind, FileData};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Write uid and gid 0 whatever the source tree says (a rootless build host
    /// owns its files as itself, but the image must be owned by root).
    pub root_owned: bool,
    /// Clamp every mtime to this (reproducible-builds.org SOURCE_DATE_EPOCH). Also
    /// the mtime of directories the writer has to add.
    pub source_date_epoch: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Entries written, without the trailer.
    pub entries: usize,
    /// Uncompressed archive bytes, trailer included.
    pub bytes: u64,
}

/// Low-level writer: one header+name+data record at a time, counting bytes.
pub struct CpioWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> CpioWriter<W> {
    pub fn new(out: W) -> Self {
        CpioWriter { out, written: 0 }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), CpioError> {
        self.out.write_all(bytes).map_err(CpioError::Write)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes one record whose data is in memory; `filesize` is taken from `data`.
    pub fn write_entry(&mut self, h: &Header, name: &[u8], data: &[u8]) -> Result<(), CpioError> {
        let h = Header {
            filesize: data.len() as u32,
            ..*h
        };
        self.put(&h.encode(name))?;
        self.put(data)?;
        self.put(&[0; 3][..pad4(data.len())])
    }

    /// Writes one regular file streamed from the host, so a large rootfs is never
    /// held in memory. The size is taken from the open file, and a file that changes
    /// size while being read is an error rather than a corrupt archive.
    fn write_file(&mut self, h: &Header, name: &[u8], path: &Path) -> Result<(), CpioError> {
        let read_err = |source| CpioError::ReadSource {
            path: path.to_owned(),
            cause: source,
        };
        let mut file = File::open(path).map_err(read_err)?;
        let size = file.metadata().map_err(read_err)?.len();
        let filesize = u32::try_from(size).map_err(|_| CpioError::FileTooLarge {
            path: path.to_owned(),
            size,
        })?;
        self.put(&Header { filesize, ..*h }.encode(name))?;
        let mut left = size;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = buf.len().min(left as usize);
            let n = file.read(&mut buf[..want]).map_err(read_err)?;
            if n == 0 {
                break;
            }
            self.put(&buf[..n])?;
            left -= n as u64;
        }
        if left != 0 || file.read(&mut buf[..1]).map_err(read_err)? != 0 {
            return Err(CpioError::SizeChanged {
                path: path.to_owned(),
                expected: size,
            });
        }
        self.put(&[0; 3][..pad4(size as usize)])
    }

    /// Writes the TRAILER!!! record and returns the sink and the bytes written.
    pub fn finish(mut self) -> Result<(W, u64), CpioError> {
        self.write_entry(&Header::trailer(), TRAILER.as_bytes(), &[])?;
        self.out.flush().map_err(CpioError::Write)?;
        Ok((self.out, self.written))
    }
}

/// Writes a whole archive. Entries may come in any order; missing parent directories
/// are added (the kernel's unpacker does not create them, so `a/b` before `a` fails).
pub fn write_archive<W: Write>(entries: Vec<Entry>, opts: &WriteOptions, out: W) -> Result<(W, WriteStats), CpioError> {
    let entries = complete_tree(entries, opts)?;
    let nlinks = count_links(&entries);
    let mut w = CpioWriter::new(out);
    // (st_dev, st_ino) of the source -> inode in the archive, for hard links.
    let mut inode_of: HashMap<(u64, u64), u32> = HashMap::new();
    let mut next_ino = 1u32;
    for (e, nlink) in entries.iter().zip(&nlinks) {
        let key = e.link_key.filter(|_| *nlink > 1);
        let (ino, first) = match key.and_then(|k| inode_of.get(&k)) {
            Some(&ino) => (ino, false),
            None => {
                let ino = next_ino;
                next_ino += 1;
                if let Some(k) = key {
                    inode_of.insert(k, ino);
                }
                (ino, true)
            }
        };
        let (rdevmajor, rdevminor) = match e.kind {
            EntryKind::CharDev { major, minor } | EntryKind::BlockDev { major, minor } => (major, minor),
            _ => (0, 0),
        };
        let mut mtime = e.mtime.clamp(0, i64::from(u32::MAX)) as u64;
        if let Some(sde) = opts.source_date_epoch {
            mtime = mtime.min(sde);
        }
        let (uid, gid) = if opts.root_owned { (0, 0) } else { (e.uid, e.gid) };
        let h = Header {
            ino,
            mode: e.kind.type_bits() | (e.perm & 0o7777),
            uid,
            gid,
            nlink: *nlink,
            mtime: mtime.min(u64::from(u32::MAX)) as u32,
            rdevmajor,
            rdevminor,
            ..Header::default()
        };
        let name = e.name.as_os_str().as_encoded_bytes();
        match &e.kind {
            // Later links carry no data: the kernel links them to the first entry and
            // opens without O_TRUNC, so the first entry's data stays.
            EntryKind::File(_) if !first => w.write_entry(&h, name, &[])?,
            EntryKind::File(FileData::Path(p)) => w.write_file(&h, name, p)?,
            EntryKind::File(FileData::Bytes(b)) => {
                if u32::try_from(b.len()).is_err() {
                    return Err(CpioError::FileTooLarge {
                        path: e.name.clone(),
                        size: b.len() as u64,
                    });
                }
                w.write_entry(&h, name, b)?
            }
            EntryKind::Symlink(target) => w.write_entry(&h, name, target.as_os_str().as_encoded_bytes())?,
            _ => w.write_entry(&h, name, &[])?,
        }
    }
    let (out, bytes) = w.finish()?;
    Ok((
        out,
        WriteStats {
            entries: entries.len(),
            bytes,
        },
    ))
}

/// Checks names, rejects duplicates, adds missing parents and sorts. Path ordering
/// compares component by component, so a directory comes right before its children.
fn complete_tree(entries: Vec<Entry>, opts: &WriteOptions) -> Result<Vec<Entry>, CpioError> {
    let mut map: BTreeMap<PathBuf, Entry> = BTreeMap::new();
    for e in entries {
        let ok = e.name.components().next().is_some() && e.name.components().all(|c| matches!(c, Component::Normal(_)));
        if !ok {
            return Err(CpioError::BadPath { path: e.name });
        }
        let name = e.name.clone();
        if map.insert(name.clone(), e).is_some() {
            return Err(CpioError::DuplicatePath { path: name });
        }
    }
    let names: Vec<PathBuf> = map.keys().cloned().collect();
    let parent_mtime = opts.source_date_epoch.map_or(0, |s| s as i64);
    for name in names {
        let mut parent = name.parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            match map.get(p) {
                Some(e) if e.kind != EntryKind::Dir => {
                    return Err(CpioError::ParentNotDir {
                        path: name.clone(),
                        parent: p.to_owned(),
                    })
                }
                // Its own ancestors are handled when the loop reaches it.
                Some(_) => break,
                None => {
                    let mut dir = Entry::new(p, EntryKind::Dir, 0o755);
                    dir.mtime = parent_mtime;
                    map.insert(p.to_owned(), dir);
                }
            }
            parent = p.parent();
        }
    }
    Ok(map.into_values().collect())
}

/// nlink per entry: 2 + subdirectories for a directory (`.` and the parent's link),
/// the number of archived paths for a hard-linked file, 1 otherwise.
fn count_links(entries: &[Entry]) -> Vec<u32> {
    let mut subdirs: HashMap<&Path, u32> = HashMap::new();
    let mut group: HashMap<(u64, u64), u32> = HashMap::new();
    for e in entries {
        match (&e.kind, e.link_key) {
            (EntryKind::Dir, _) => {
                if let Some(p) = e.name.parent() {
                    *subdirs.entry(p).or_default() += 1;
                }
            }
            (EntryKind::File(_), Some(k)) => *group.entry(k).or_default() += 1,
            _ => {}
        }
    }
    entries
        .iter()
        .map(|e| match (&e.kind, e.link_key) {
            (EntryKind::Dir, _) => 2 + subdirs.get(e.name.as_path()).copied().unwrap_or(0),
            (EntryKind::File(_), Some(k)) => group[&k],
            _ => 1,
        })
        .collect()
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
