//! Builds one image: rootfs + /init + extras + the nodes the kernel needs, written
//! atomically so that a failed build never leaves a half image where a boot (or a
//! test) would pick it up.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::compress::Compression;
use crate::cpio::{write_archive, CpioError, Entry, EntryKind, FileData, WriteOptions};
use crate::error::BuildError;
use crate::manifest;

/// A path added on top of the rootfs; it replaces a rootfs entry with the same path.
/// Paths are image paths (`/etc/zos.toml`); a missing leading `/` is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraEntry {
    /// `mode: None` keeps the source file's permissions (0644 for bytes).
    File {
        path: PathBuf,
        source: FileData,
        mode: Option<u32>,
    },
    Dir {
        path: PathBuf,
        mode: u32,
    },
    Symlink {
        path: PathBuf,
        target: PathBuf,
    },
    CharDev {
        path: PathBuf,
        major: u32,
        minor: u32,
        mode: u32,
    },
    BlockDev {
        path: PathBuf,
        major: u32,
        minor: u32,
        mode: u32,
    },
}

pub type Overlay = Vec<ExtraEntry>;

impl ExtraEntry {
    /// Parses the CLI's `SRC:DEST[:MODE]` (MODE octal, e.g. `755`).
    pub fn parse_file_spec(spec: &str) -> Result<ExtraEntry, BuildError> {
        let bad = |reason| BuildError::BadFileSpec {
            spec: spec.to_owned(),
            reason,
        };
        let mut parts = spec.splitn(3, ':');
        let src = parts.next().filter(|s| !s.is_empty()).ok_or(bad("empty SRC"))?;
        let dest = parts.next().filter(|s| !s.is_empty()).ok_or(bad("missing DEST"))?;
        let mode = match parts.next() {
            None => None,
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or(bad("MODE is not an octal mode"))?,
            ),
        };
        Ok(ExtraEntry::File {
            path: dest.into(),
            source: FileData::Path(src.into()),
            mode,
        })
    }

    fn path(&self) -> &Path {
        match self {
            ExtraEntry::File { path, .. }
            | ExtraEntry::Dir { path, .. }
            | ExtraEntry::Symlink { path, .. }
            | ExtraEntry::CharDev { path, .. }
            | ExtraEntry::BlockDev { path, .. } => path,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageRequest {
    /// None: the image holds only /init, the extras and the kernel's nodes.
    pub rootfs: Option<PathBuf>,
    /// Packed as /init, mode 0755.
    pub init: Option<PathBuf>,
    pub extras: Overlay,
    pub compression: Compression,
    /// None: `Compression::default_level`.
    pub level: Option<u32>,
    pub root_owned: bool,
    pub source_date_epoch: Option<u64>,
    pub output: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub path: PathBuf,
    /// Archive entries, without the trailer.
    pub entries: usize,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
}

/// Mount points /init needs before it can mount anything, so the image works even
/// from a rootfs without them. A build host needs no root for any of this.
const MOUNT_POINTS: [&str; 5] = ["dev", "proc", "sys", "mnt", "mnt/root"];

pub fn build_image(req: &ImageRequest) -> Result<ImageSummary, BuildError> {
    let entries = collect_entries(req)?;
    // root_owned is done in collect_entries, before the owner records apply: the
    // writer's blanket uid/gid 0 would erase them.
    let opts = WriteOptions {
        root_owned: false,
        source_date_epoch: req.source_date_epoch,
    };
    let out_err = |source| BuildError::Output {
        path: req.output.clone(),
        cause: source,
    };
    // Checked before the temp file exists so a bad level leaves nothing behind.
    let encoder_check = req.compression.encoder(req.level, std::io::sink())?;
    drop(encoder_check);
    let tmp = TempOutput::create(&req.output).map_err(out_err)?;
    let file = tmp.file.try_clone().map_err(out_err)?;
    let enc = req
        .compression
        .encoder(req.level, BufWriter::with_capacity(1 << 20, file))?;
    // The bar counts the cpio bytes going into the encoder, which compresses as they
    // come: packing and compression advance together; the tail is the encoder's flush.
    let what = format!("pack+{}", req.compression);
    let enc = crate::progress::Counted {
        inner: enc,
        progress: crate::progress::Progress::new(&what, Some(data_bytes(&entries))),
    };
    let (enc, stats) = write_archive(entries, &opts, enc).map_err(|e| match e {
        CpioError::Write(source) => out_err(source),
        other => other.into(),
    })?;
    enc.progress.note("finishing compression");
    let mut buf = enc.inner.finish().map_err(out_err)?;
    enc.progress.finish();
    buf.flush().map_err(out_err)?;
    drop(buf);
    let compressed_bytes = tmp.commit().map_err(out_err)?;
    Ok(ImageSummary {
        path: req.output.clone(),
        entries: stats.entries,
        uncompressed_bytes: stats.bytes,
        compressed_bytes,
    })
}

/// The file data the archive will hold, for the progress total (headers aside).
fn data_bytes(entries: &[Entry]) -> u64 {
    entries
        .iter()
        .map(|e| match &e.kind {
            EntryKind::File(FileData::Path(p)) => fs::metadata(p).map_or(0, |m| m.len()),
            EntryKind::File(FileData::Bytes(b)) => b.len() as u64,
            _ => 0,
        })
        .sum()
}

/// Rootfs, then /init, then extras (each replacing what came before), then the
/// kernel's nodes where nothing provides them.
fn collect_entries(req: &ImageRequest) -> Result<Vec<Entry>, BuildError> {
    // Entries we make up get SOURCE_DATE_EPOCH, or the build time.
    let now = req.source_date_epoch.map_or_else(
        || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        },
        |s| s as i64,
    );
    let mut map: BTreeMap<PathBuf, Entry> = BTreeMap::new();
    if let Some(root) = &req.rootfs {
        for e in manifest::scan_with_owners(root, req.root_owned)? {
            map.insert(e.name.clone(), e);
        }
    }
    if let Some(init) = &req.init {
        let meta = fs::metadata(init).map_err(|source| BuildError::Init {
            path: init.clone(),
            cause: source,
        })?;
        if !meta.is_file() {
            return Err(BuildError::InitNotFile { path: init.clone() });
        }
        File::open(init).map_err(|source| BuildError::Init {
            path: init.clone(),
            cause: source,
        })?;
        let mut e = Entry::new("init", EntryKind::File(FileData::Path(init.clone())), 0o755);
        e.mtime = meta.mtime();
        map.insert(e.name.clone(), e);
    }
    for extra in &req.extras {
        let e = extra_entry(extra, now)?;
        map.insert(e.name.clone(), e);
    }
    for dir in MOUNT_POINTS {
        map.entry(dir.into()).or_insert_with(|| Entry {
            mtime: now,
            ..Entry::new(dir, EntryKind::Dir, 0o755)
        });
    }
    // The kernel opens /dev/console for /init's stdin/stdout/stderr before running
    // it; without this node /init starts with no stdio at all.
    map.entry("dev/console".into()).or_insert_with(|| Entry {
        mtime: now,
        ..Entry::new("dev/console", EntryKind::CharDev { major: 5, minor: 1 }, 0o600)
    });
    Ok(map.into_values().collect())
}

fn extra_entry(extra: &ExtraEntry, now: i64) -> Result<Entry, BuildError> {
    let name = image_path(extra.path())?;
    let mut mtime = now;
    let (kind, perm) = match extra {
        ExtraEntry::File { source, mode, .. } => {
            let perm = match source {
                FileData::Path(src) => {
                    let err = |source| BuildError::ExtraSource {
                        path: src.clone(),
                        cause: source,
                    };
                    let meta = fs::metadata(src).map_err(err)?;
                    if !meta.is_file() {
                        return Err(BuildError::ExtraNotFile { path: src.clone() });
                    }
                    File::open(src).map_err(err)?;
                    mtime = meta.mtime();
                    mode.unwrap_or(meta.mode() & 0o7777)
                }
                FileData::Bytes(_) => mode.unwrap_or(0o644),
            };
            (EntryKind::File(source.clone()), perm)
        }
        ExtraEntry::Dir { mode, .. } => (EntryKind::Dir, *mode),
        ExtraEntry::Symlink { target, .. } => (EntryKind::Symlink(target.clone()), 0o777),
        ExtraEntry::CharDev { major, minor, mode, .. } => (
            EntryKind::CharDev {
                major: *major,
                minor: *minor,
            },
            *mode,
        ),
        ExtraEntry::BlockDev { major, minor, mode, .. } => (
            EntryKind::BlockDev {
                major: *major,
                minor: *minor,
            },
            *mode,
        ),
    };
    Ok(Entry {
        mtime,
        ..Entry::new(name, kind, perm)
    })
}

/// `/etc/x` -> `etc/x`; rejects `..` (it would escape the unpack root) and `/`.
fn image_path(path: &Path) -> Result<PathBuf, BuildError> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(BuildError::BadImagePath { path: path.to_owned() })
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(BuildError::BadImagePath { path: path.to_owned() });
    }
    Ok(out)
}

/// A temp file next to the output (same filesystem, so the rename is atomic),
/// removed on drop unless committed.
struct TempOutput {
    file: File,
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl TempOutput {
    fn create(dest: &Path) -> std::io::Result<TempOutput> {
        // Tests build images from several threads of one process: the pid alone is
        // not unique.
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)?;
        let base = dest.file_name().unwrap_or_else(|| "initramfs".as_ref());
        let mut name = std::ffi::OsString::from(".");
        name.push(base);
        name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(name);
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        Ok(TempOutput {
            file,
            tmp,
            dest: dest.to_owned(),
            committed: false,
        })
    }

    /// fsync, rename over the destination, fsync the directory; returns the size.
    fn commit(mut self) -> std::io::Result<u64> {
        self.file.sync_all()?;
        let len = self.file.metadata()?.len();
        fs::rename(&self.tmp, &self.dest)?;
        self.committed = true;
        if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Makes the rename itself durable; failure here changes nothing visible.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(len)
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
#[path = "pack_tests.rs"]
mod tests;
