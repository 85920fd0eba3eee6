//! cpio `newc` archives and their compression (compress.rs): the header codec, a deterministic writer and a reader that
//! understands concatenated (and separately compressed) archives like the kernel does.

pub mod compress;
pub mod header;
pub mod reader;
pub mod writer;

use std::io;
use std::path::PathBuf;

pub use compress::Compression;
pub use header::Header;
pub use reader::{read_archives, read_image, read_image_bounded, ReadEntry, Segment};
pub use writer::{write_archive, CpioWriter, WriteOptions, WriteStats};

/// Where the bytes of a regular file come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileData {
    /// Read from the build host when the archive is written (streamed, not buffered).
    Path(PathBuf),
    /// Generated content (config files, tests).
    Bytes(Vec<u8>),
}

/// What an entry is. The type bits of the cpio mode are derived from this, so an
/// entry can never claim to be a directory and carry file data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File(FileData),
    Dir,
    /// The target is stored as the entry's data, without a trailing NUL.
    Symlink(PathBuf),
    CharDev {
        major: u32,
        minor: u32,
    },
    BlockDev {
        major: u32,
        minor: u32,
    },
    Fifo,
}

impl EntryKind {
    pub fn type_bits(&self) -> u32 {
        use header::*;
        match self {
            EntryKind::File(_) => S_IFREG,
            EntryKind::Dir => S_IFDIR,
            EntryKind::Symlink(_) => S_IFLNK,
            EntryKind::CharDev { .. } => S_IFCHR,
            EntryKind::BlockDev { .. } => S_IFBLK,
            EntryKind::Fifo => S_IFIFO,
        }
    }
}

/// One path to put in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the archive root, without a leading `/` (as `lsinitrd` shows it).
    pub name: PathBuf,
    pub kind: EntryKind,
    /// Permission bits (07777); the type bits come from `kind`.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the epoch; may be negative on odd source trees (clamped to 0).
    pub mtime: i64,
    /// `(st_dev, st_ino)` of the source file when it has other hard links; regular
    /// files sharing a key are written as one inode.
    pub link_key: Option<(u64, u64)>,
}

impl Entry {
    /// A root-owned entry with mtime 0; callers adjust fields as needed.
    pub fn new(name: impl Into<PathBuf>, kind: EntryKind, perm: u32) -> Entry {
        Entry {
            name: name.into(),
            kind,
            perm,
            uid: 0,
            gid: 0,
            mtime: 0,
            link_key: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CpioError {
    #[error("offset {offset}: bad cpio magic {found:?} (want 070701)")]
    BadMagic { offset: usize, found: String },
    #[error("offset {offset}: bad hex field {text:?} in cpio header")]
    BadField { offset: usize, text: String },
    #[error("offset {offset}: archive truncated in {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("offset {offset}: cpio name is not NUL-terminated")]
    BadName { offset: usize },
    #[error("offset {offset}: archive ended without TRAILER!!!")]
    NoTrailer { offset: usize },
    #[error("offset {offset}: unrecognised data (not cpio, zstd, xz or gzip)")]
    UnknownFormat { offset: usize },
    #[error("offset {offset}: {cause}")]
    Decompress {
        offset: usize,
        cause: crate::compress::CompressError,
    },
    #[error("read {}: {cause}", path.display())]
    ReadSource { path: PathBuf, cause: io::Error },
    #[error("{}: {size} bytes is over the 4 GiB newc limit", path.display())]
    FileTooLarge { path: PathBuf, size: u64 },
    #[error("{}: size changed while packing (expected {expected} bytes)", path.display())]
    SizeChanged { path: PathBuf, expected: u64 },
    #[error("duplicate archive path /{}", path.display())]
    DuplicatePath { path: PathBuf },
    #[error("/{} is inside /{}, which is not a directory", path.display(), parent.display())]
    ParentNotDir { path: PathBuf, parent: PathBuf },
    #[error("bad archive path {:?}: must be relative, without `..` or `.`", path.display().to_string())]
    BadPath { path: PathBuf },
    #[error("write archive: {0}")]
    Write(io::Error),
}
