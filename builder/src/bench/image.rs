//! The benchmark image, shaped like a Zero-OS initramfs: busybox userland, the test
//! kernel's module tree (preset `standard`, with the .bin indexes udevd needs), Debian's
//! systemd-udevd, about 120 MiB of real ELF files copied from the host (programs and
//! libraries compress and copy like the real payload; random bytes would not), and the
//! reporting handover target. One rootfs, four images that differ only in `/init`
//! (the Rust init's copy and bind modes boot the same image).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::scripts::{self, COUNTED_DIRS};
use super::variant::ImageKind;
use super::{io_err, BenchError};
use crate::compose::{ComposeError, Essential, ModuleTreeSource, ModulesSource, Pack, Recipe, RootfsSource};
use crate::mode::BuildMode;
use crate::tiers::Tiers;
use crate::{Compression, ExtraEntry};

pub struct BenchImage {
    pub root: PathBuf,
    /// (files, bytes) the guest must count after the handover.
    pub expected: (u64, u64),
    /// Payload files copied from the host and their bytes.
    pub payload: (usize, u64),
    /// Images by kind, same order as ImageKind::ALL.
    pub images: Vec<(ImageKind, PathBuf, u64)>,
}

/// Where the payload is taken from, in order; /usr/bin is capped at half the target
/// so that both programs and libraries are in.
const PAYLOAD_SOURCES: [(&str, &str); 2] = [
    ("/usr/bin", "usr/bin"),
    ("/usr/lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"),
];
/// A single huge file (a toolchain's libLLVM) would make the payload one file.
const PAYLOAD_MAX_FILE: u64 = 16 << 20;

/// The recipe: busybox userland in `out/rootfs` with the test kernel's `standard`
/// tier, configured for release. Its essential tier is the shell's `modprobe btrfs;
/// modprobe fuse`, not the preset's (which adds tun, br_netfilter, overlay), so both
/// inits do the same work. Every image carries the Rust init's config; the scripts
/// ignore it.
fn recipe(out: &Path) -> Result<Recipe, BenchError> {
    Ok(Recipe {
        rootfs: RootfsSource::Busybox(out.join("rootfs")),
        mode: BuildMode::Release,
        essential: Essential::Set(["btrfs", "fuse"].map(String::from).to_vec()),
        modules: Some(ModulesSource {
            tree: ModuleTreeSource::TestKernel,
            tiers: Tiers::preset("standard").map_err(ComposeError::from)?,
            staging: out.join("modules-staging"),
        }),
        zinit: None,
        extras: Vec::new(),
    })
}

pub fn prepare(out: &Path, init: &Path, payload_mb: u64, level: u32) -> Result<BenchImage, BenchError> {
    if !Path::new("/bin/udevadm").exists() {
        return Err(BenchError::Missing {
            what: "systemd-udevd on the host (apt-get install -y udev)",
            path: "/bin/udevadm".into(),
        });
    }
    let prepared = recipe(out)?.prepare()?;
    let root = prepared.root.clone();
    crate::inst::inst_udev(&root)?;
    // The shell baseline calls `udevd` by name, as Zero-OS did; systemd's udevadm runs
    // as the daemon when invoked as *udevd.
    crate::inst::symlink(&root, Path::new("/sbin/udevd"), Path::new("/bin/udevadm"))?;
    let payload = add_payload(&root, payload_mb << 20)?;
    write(&root.join("sbin/zinit"), &scripts::handover_target(), 0o755)?;
    let expected = count(&root)?;

    let mut images = Vec::new();
    for v in ImageKind::ALL {
        let init = match v {
            ImageKind::Rust => init.to_path_buf(),
            ImageKind::Shell | ImageKind::Floor | ImageKind::FloorModules => {
                let p = out.join(format!("init-{}.sh", v.as_str()));
                let text = match v {
                    ImageKind::Shell => scripts::BASELINE_INIT.to_string(),
                    ImageKind::FloorModules => scripts::floor_modules_init(&scripts::SHELL_MODULES),
                    _ => scripts::FLOOR_INIT.to_string(),
                };
                write(&p, &text, 0o755)?;
                p
            }
        };
        let pack = Pack {
            compression: Compression::Zstd,
            level: Some(level),
            root_owned: true,
            source_date_epoch: Some(0),
            output: out.join(format!("{}.cpio.zst", v.as_str())),
        };
        // The markers are written before devtmpfs is mounted (scripts.rs).
        let kmsg = ExtraEntry::CharDev {
            path: "/dev/kmsg".into(),
            major: 1,
            minor: 11,
            mode: 0o644,
        };
        let s = prepared.pack(&init, &[kmsg], &pack)?;
        images.push((v, pack.output, s.compressed_bytes));
    }
    Ok(BenchImage {
        root,
        expected,
        payload,
        images,
    })
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), BenchError> {
    if path.symlink_metadata().is_ok() {
        fs::remove_file(path).map_err(io_err("remove", path))?;
    }
    fs::write(path, text).map_err(io_err("write", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err("chmod", path))
}

/// Copy host ELF files (sorted, so the same host gives the same payload) until
/// `target` bytes; a list goes to `<root>/../payload.txt`.
fn add_payload(root: &Path, target: u64) -> Result<(usize, u64), BenchError> {
    let mut total = 0u64;
    let mut list = String::new();
    let mut n = 0;
    for (i, (src, dest)) in PAYLOAD_SOURCES.iter().enumerate() {
        let cap = if i == 0 { target / 2 } else { target };
        let mut files = Vec::new();
        walk(Path::new(src), &mut files);
        files.sort();
        for f in files {
            if total >= cap {
                break;
            }
            let Ok(meta) = f.symlink_metadata() else { continue };
            if !meta.is_file() || meta.len() > PAYLOAD_MAX_FILE || !is_elf(&f) {
                continue;
            }
            let rel = f.strip_prefix(src).unwrap_or(&f);
            let to = root.join(dest).join(rel);
            if to.symlink_metadata().is_ok() {
                continue; // busybox applet links and inst'ed libraries stay
            }
            if let Some(p) = to.parent() {
                fs::create_dir_all(p).map_err(io_err("mkdir", p))?;
            }
            fs::copy(&f, &to).map_err(io_err("copy payload", &f))?;
            total += meta.len();
            n += 1;
            list.push_str(&format!("{} {}\n", meta.len(), f.display()));
        }
    }
    if total < target / 2 {
        return Err(BenchError::Missing {
            what: "enough ELF files on the host for the payload",
            path: PAYLOAD_SOURCES[1].0.into(),
        });
    }
    let manifest = root.with_file_name("payload.txt");
    fs::write(&manifest, list).map_err(io_err("write", &manifest))?;
    Ok((n, total))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

fn is_elf(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    fs::File::open(p).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"\x7fELF"
}

/// Regular files and bytes under the counted dirs, as the guest's `find -xdev -type f`
/// (without scripts::NOT_COUNTED).
pub fn count(root: &Path) -> Result<(u64, u64), BenchError> {
    let skip = root.join(scripts::NOT_COUNTED.trim_start_matches('/'));
    let rec = |dir: &Path, acc: &mut (u64, u64)| walk_count(dir, &skip, acc);
    let mut acc = (0, 0);
    for d in COUNTED_DIRS {
        let p = root.join(d);
        if p.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false) {
            rec(&p, &mut acc)?;
        }
    }
    Ok(acc)
}

fn walk_count(dir: &Path, skip: &Path, acc: &mut (u64, u64)) -> Result<(), BenchError> {
    for e in fs::read_dir(dir).map_err(io_err("read_dir", dir))?.flatten() {
        let meta = e.path().symlink_metadata().map_err(io_err("stat", &e.path()))?;
        if meta.is_dir() {
            walk_count(&e.path(), skip, acc)?;
        } else if meta.is_file() && e.path() != skip {
            acc.0 += 1;
            acc.1 += meta.len();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_regular_files_of_the_counted_dirs_only() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for d in ["usr/lib", "etc", "var/run", "tmp"] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        fs::write(r.join("usr/lib/a"), b"12345").unwrap();
        fs::write(r.join("etc/b"), b"123").unwrap();
        fs::write(r.join("etc/zos-init.conf"), b"not counted").unwrap();
        fs::write(r.join("var/run/c"), b"ignored").unwrap();
        fs::write(r.join("tmp/d"), b"ignored").unwrap();
        std::os::unix::fs::symlink("a", r.join("usr/lib/link")).unwrap();
        assert_eq!(count(r).unwrap(), (2, 8));
        assert!(is_elf(Path::new("/bin/sh")) || !Path::new("/bin/sh").exists());
        assert!(!is_elf(&r.join("etc/b")));
    }
}
