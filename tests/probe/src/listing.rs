//! Tree listing: one [`Entry`] per file, one tab-separated line per entry.
//!
//! Line fields, in order: path, type (`f d l p c b s`), mode (octal, suid/sgid/sticky
//! included), uid, gid, size (regular files), mtime `sec.nsec`, atime `sec.nsec`,
//! nlink, link group (for a hard-linked non-directory, the first path in sorted order
//! with that inode), rdev `major:minor` (devices), symlink target, FNV-1a-64 of the
//! content (regular files, 16 hex digits), allocated bytes (`st_blocks * 512`), xattrs
//! (`name=hex` comma-separated, sorted). An absent field is `-`.
//!
//! Text fields are escaped (`\\`, `\t`, `\n`, `\r`, `\xHH` for other control and
//! non-UTF-8 bytes, and a literal `-` as `\-`) so every line parses back.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

pub use crate::escape::{escape, unescape};
use crate::escape::{escape_xattr_name, hex, unhex};

/// A timestamp as stat gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    pub sec: i64,
    pub nsec: i64,
}

/// One listed file. `path` is absolute in the listed root (`/etc/passwd`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    /// One of `f d l p c b s`.
    pub kind: char,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: Option<u64>,
    pub mtime: Time,
    pub atime: Time,
    pub nlink: u64,
    pub link_group: Option<PathBuf>,
    pub rdev: Option<(u32, u32)>,
    pub target: Option<PathBuf>,
    pub hash: Option<u64>,
    pub alloc: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// FNV-1a, 64 bit.
pub fn fnv1a64(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The FNV-1a-64 offset basis (the hash of nothing).
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// List `root/rel` recursively, paths reported as `/rel/...`, sorted by path bytes.
/// `rel` may be absolute (`/etc`, taken inside `root`). The walk stays on the
/// filesystem of `root/rel` (like `find -xdev`): a mount point is listed, its content
/// is not. Everything is stat'ed before any content is read, because reading a file
/// updates its atime; regular files are opened with `O_NOATIME` when allowed.
pub fn list_tree(root: &Path, rel: &Path) -> io::Result<Vec<Entry>> {
    let rel: PathBuf = rel.components().filter(|c| matches!(c, Component::Normal(_))).collect();
    let top = root.join(&rel);
    let shown = Path::new("/").join(&rel);
    let dev = fs::symlink_metadata(&top)?.dev();
    let mut stats = Vec::new();
    walk(&top, &shown, dev, &mut stats)?;
    stats.sort_by(|a, b| a.0.as_os_str().as_bytes().cmp(b.0.as_os_str().as_bytes()));

    let mut first_seen: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut out = Vec::with_capacity(stats.len());
    for (shown, real, md) in stats {
        let mut e = entry_from_meta(&shown, &md);
        if e.kind != 'd' && md.nlink() > 1 {
            let first = first_seen.entry((md.dev(), md.ino())).or_insert_with(|| shown.clone());
            e.link_group = Some(first.clone());
        }
        if e.kind == 'l' {
            e.target = Some(fs::read_link(&real)?);
        }
        e.xattrs = xattrs(&real)?;
        out.push((e, real));
    }
    // Contents last: every stat above is already taken.
    out.into_iter()
        .map(|(mut e, real)| {
            if e.kind == 'f' {
                e.hash = Some(hash_file(&real)?);
            }
            Ok(e)
        })
        .collect()
}

type Stat = (PathBuf, PathBuf, fs::Metadata);

fn walk(real: &Path, shown: &Path, dev: u64, out: &mut Vec<Stat>) -> io::Result<()> {
    let md = fs::symlink_metadata(real)?;
    let descend = md.is_dir() && md.dev() == dev;
    out.push((shown.to_path_buf(), real.to_path_buf(), md));
    if descend {
        let mut names: Vec<_> = fs::read_dir(real)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for n in names {
            walk(&real.join(&n), &shown.join(&n), dev, out)?;
        }
    }
    Ok(())
}

fn entry_from_meta(path: &Path, md: &fs::Metadata) -> Entry {
    let ft = md.file_type();
    let kind = if ft.is_file() {
        'f'
    } else if ft.is_dir() {
        'd'
    } else if ft.is_symlink() {
        'l'
    } else if ft.is_fifo() {
        'p'
    } else if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        's'
    };
    let rdev = md.rdev();
    Entry {
        path: path.to_path_buf(),
        kind,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        size: (kind == 'f').then(|| md.size()),
        mtime: Time {
            sec: md.mtime(),
            nsec: md.mtime_nsec(),
        },
        atime: Time {
            sec: md.atime(),
            nsec: md.atime_nsec(),
        },
        nlink: md.nlink(),
        link_group: None,
        rdev: matches!(kind, 'c' | 'b').then(|| (rustix::fs::major(rdev), rustix::fs::minor(rdev))),
        target: None,
        hash: None,
        alloc: md.blocks() * 512,
        xattrs: Vec::new(),
    }
}

fn hash_file(path: &Path) -> io::Result<u64> {
    // O_NOATIME: leave atime alone when we own the file or have CAP_FOWNER.
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path);
    let mut f = match f {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => File::open(path)?,
        Err(e) => return Err(e),
    };
    let mut h = FNV_OFFSET;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h);
        }
        h = fnv1a64(&buf[..n], h);
    }
}

fn xattrs(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let unsupported = |e: &rustix::io::Errno| *e == rustix::io::Errno::NOTSUP || *e == rustix::io::Errno::NODATA;
    let len = match rustix::fs::llistxattr_query(path) {
        Ok(n) => n,
        Err(e) if unsupported(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut names = vec![0u8; len];
    let n = rustix::fs::llistxattr(path, &mut names[..])?;
    let mut out = Vec::new();
    for name in names[..n].split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let name = OsStr::from_bytes(name);
        let vlen = match rustix::fs::lgetxattr_query(path, name) {
            Ok(v) => v,
            Err(e) if unsupported(&e) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut value = vec![0u8; vlen];
        let got = rustix::fs::lgetxattr(path, name, &mut value[..])?;
        value.truncate(got);
        out.push((name.to_string_lossy().into_owned(), value));
    }
    out.sort();
    Ok(out)
}

impl Entry {
    /// The tab-separated line (without a prefix or newline).
    pub fn to_line(&self) -> String {
        let opt = |o: Option<String>| o.unwrap_or_else(|| "-".into());
        let xattrs = if self.xattrs.is_empty() {
            "-".to_string()
        } else {
            self.xattrs
                .iter()
                .map(|(n, v)| format!("{}={}", escape_xattr_name(n.as_bytes()), hex(v)))
                .collect::<Vec<_>>()
                .join(",")
        };
        [
            escape(self.path.as_os_str().as_bytes()),
            self.kind.to_string(),
            format!("{:o}", self.mode),
            self.uid.to_string(),
            self.gid.to_string(),
            opt(self.size.map(|s| s.to_string())),
            format!("{}.{:09}", self.mtime.sec, self.mtime.nsec),
            format!("{}.{:09}", self.atime.sec, self.atime.nsec),
            self.nlink.to_string(),
            opt(self.link_group.as_ref().map(|p| escape(p.as_os_str().as_bytes()))),
            opt(self.rdev.map(|(a, b)| format!("{a}:{b}"))),
            opt(self.target.as_ref().map(|p| escape(p.as_os_str().as_bytes()))),
            opt(self.hash.map(|h| format!("{h:016x}"))),
            self.alloc.to_string(),
            xattrs,
        ]
        .join("\t")
    }

    /// Parse a line made by [`Entry::to_line`] (a `PROBE-ENTRY ` prefix is accepted).
    pub fn from_line(line: &str) -> Result<Entry, String> {
        let line = line.trim_end_matches(['\n', '\r']);
        let line = line.strip_prefix("PROBE-ENTRY ").unwrap_or(line);
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 15 {
            return Err(format!("expected 15 tab-separated fields, got {}: {line:?}", f.len()));
        }
        let bad = |what: &str, v: &str| format!("bad {what} {v:?} in {line:?}");
        let num = |what: &str, v: &str| v.parse::<u64>().map_err(|_| bad(what, v));
        let time = |what: &str, v: &str| {
            let (s, n) = v.split_once('.').ok_or_else(|| bad(what, v))?;
            Ok::<_, String>(Time {
                sec: s.parse().map_err(|_| bad(what, v))?,
                nsec: n.parse().map_err(|_| bad(what, v))?,
            })
        };
        let path = |what: &str, v: &str| {
            unescape(v)
                .map(|b| PathBuf::from(std::ffi::OsString::from_vec(b)))
                .ok_or_else(|| bad(what, v))
        };
        let kind = match f[1] {
            k @ ("f" | "d" | "l" | "p" | "c" | "b" | "s") => k.chars().next().unwrap_or('?'),
            k => return Err(bad("type", k)),
        };
        let mut xattrs = Vec::new();
        if let Some(list) = opt(f[14]) {
            for item in list.split(',') {
                let (n, v) = item.split_once('=').ok_or_else(|| bad("xattr", item))?;
                let n = unescape(n).ok_or_else(|| bad("xattr name", n))?;
                xattrs.push((
                    String::from_utf8_lossy(&n).into_owned(),
                    unhex(v).ok_or_else(|| bad("xattr value", v))?,
                ));
            }
        }
        Ok(Entry {
            path: path("path", f[0])?,
            kind,
            mode: u32::from_str_radix(f[2], 8).map_err(|_| bad("mode", f[2]))?,
            uid: f[3].parse().map_err(|_| bad("uid", f[3]))?,
            gid: f[4].parse().map_err(|_| bad("gid", f[4]))?,
            size: opt(f[5]).map(|v| num("size", v)).transpose()?,
            mtime: time("mtime", f[6])?,
            atime: time("atime", f[7])?,
            nlink: num("nlink", f[8])?,
            link_group: opt(f[9]).map(|v| path("link group", v)).transpose()?,
            rdev: opt(f[10])
                .map(|v| {
                    let (a, b) = v.split_once(':').ok_or_else(|| bad("rdev", v))?;
                    Ok::<_, String>((
                        a.parse().map_err(|_| bad("rdev", v))?,
                        b.parse().map_err(|_| bad("rdev", v))?,
                    ))
                })
                .transpose()?,
            target: opt(f[11]).map(|v| path("target", v)).transpose()?,
            hash: opt(f[12])
                .map(|v| u64::from_str_radix(v, 16).map_err(|_| bad("hash", v)))
                .transpose()?,
            alloc: num("alloc", f[13])?,
            xattrs,
        })
    }
}

/// `-` means absent.
fn opt(v: &str) -> Option<&str> {
    (v != "-").then_some(v)
}
