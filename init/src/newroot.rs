//! Which new root (copy or bind) and, for bind, what to remove so the bound rootfs
//! shows exactly what the copy would have carried. Pure: the runner
//! (`run_root.rs`) brings the facts and performs the steps. docs/INIT.md "New root".

use std::path::PathBuf;

use zos_common::config::RootMode;

use crate::fit::mib;
use crate::switch_root::TMPFS_MAGIC;
use crate::table::NEW_ROOT_DIRS;

/// What `auto` (or an explicit mode) came to, and why, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub bind: bool,
    pub why: String,
}

/// The facts `auto` decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    /// statfs magic of `/`.
    pub magic: u64,
    /// The cmdline's `root=`.
    pub kernel_root: Option<&'a str>,
    /// What the copy list holds (bytes of tmpfs it takes).
    pub need: u64,
    /// The configured tmpfs size in bytes, and as written.
    pub cap: u64,
    pub size: &'a str,
}

pub fn decide(mode: RootMode, f: &Facts<'_>) -> Choice {
    let choice = |bind: bool, why: String| Choice { bind, why };
    match mode {
        RootMode::Copy => choice(false, "zos.root=copy".into()),
        RootMode::Bind => choice(true, "zos.root=bind".into()),
        RootMode::Auto => {
            if let Some(r) = f.kernel_root {
                choice(false, format!("root={r} on the cmdline: / is not the kernel's tmpfs"))
            } else if f.magic != TMPFS_MAGIC {
                choice(false, format!("/ is not a tmpfs (statfs magic {:#x})", f.magic))
            } else if f.need > f.cap {
                choice(
                    false,
                    format!("the rootfs needs {} but the tmpfs size is {}", mib(f.need), f.size),
                )
            } else {
                choice(
                    true,
                    format!("/ is the kernel's tmpfs and its {} fits {}", mib(f.need), f.size),
                )
            }
        }
    }
}

/// What to remove from `/` before binding it: every top-level entry the copy does not
/// take (`kept`, as `resolve_sources` gives them) except the new root's mount points
/// and the top directory of `new_root`; the children of that directory except the
/// new root itself; and the nested excludes (`/etc/zos-init.conf`).
pub fn prune_list(top: &[String], kept: &[PathBuf], new_root: &str, exclude: &[String]) -> Prune {
    let mut parts = new_root.trim_matches('/').splitn(2, '/');
    let root_top = parts.next().unwrap_or("").to_string();
    let mut out = Prune {
        root_top: root_top.clone(),
        keep_in_top: parts.next().map(|r| r.split('/').next().unwrap_or("").to_string()),
        ..Default::default()
    };
    for name in top {
        let path = format!("/{name}");
        let mount_point = NEW_ROOT_DIRS.contains(&name.as_str()) || *name == root_top;
        if !mount_point && !kept.iter().any(|k| k.as_os_str() == path.as_str()) {
            out.remove.push(path);
        }
    }
    for e in exclude {
        let depth = e.trim_matches('/').split('/').count();
        if depth > 1
            && e.trim_end_matches('/') != new_root.trim_end_matches('/')
            && !out.remove.iter().any(|r| e.starts_with(&format!("{r}/")))
        {
            out.remove.push(e.clone());
        }
    }
    out
}

/// The result of [`prune_list`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Prune {
    /// Paths to remove (`rm -rf --one-file-system`).
    pub remove: Vec<String>,
    /// The top directory holding the new root (`mnt`), whose other children go too.
    pub root_top: String,
    /// The child of `root_top` to keep (`root`); None when the new root is top-level.
    pub keep_in_top: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(magic: u64, kernel_root: Option<&str>, need: u64) -> Facts<'_> {
        Facts {
            magic,
            kernel_root,
            need,
            cap: 1536 << 20,
            size: "1536M",
        }
    }

    #[test]
    fn auto_binds_only_the_kernels_tmpfs_that_fits() {
        let ok = decide(RootMode::Auto, &facts(TMPFS_MAGIC, None, 100 << 20));
        assert_eq!(
            ok,
            Choice {
                bind: true,
                why: "/ is the kernel's tmpfs and its 100.0 MiB fits 1536M".into()
            }
        );
        let r = decide(RootMode::Auto, &facts(TMPFS_MAGIC, Some("/dev/ram0"), 1));
        assert_eq!(
            (r.bind, r.why.as_str()),
            (false, "root=/dev/ram0 on the cmdline: / is not the kernel's tmpfs")
        );
        let ramfs = decide(RootMode::Auto, &facts(0x8584_58f6, None, 1));
        assert_eq!(ramfs.why, "/ is not a tmpfs (statfs magic 0x858458f6)");
        let big = decide(RootMode::Auto, &facts(TMPFS_MAGIC, None, 2 << 30));
        assert_eq!(
            (big.bind, big.why.as_str()),
            (false, "the rootfs needs 2048.0 MiB but the tmpfs size is 1536M")
        );
    }

    #[test]
    fn explicit_modes_are_taken_as_asked() {
        assert!(decide(RootMode::Bind, &facts(0, Some("/dev/sda"), 1 << 40)).bind);
        assert!(!decide(RootMode::Copy, &facts(TMPFS_MAGIC, None, 1)).bind);
    }

    #[test]
    fn prune_keeps_what_the_copy_takes_and_the_mount_points() {
        let top: Vec<String> = [
            "bin",
            "dev",
            "etc",
            "init",
            "init-debug",
            "lib",
            "mnt",
            "opt",
            "proc",
            "sys",
        ]
        .map(String::from)
        .to_vec();
        let kept: Vec<PathBuf> = ["/bin", "/etc", "/lib"].map(PathBuf::from).to_vec();
        let ex = [
            "/init".to_string(),
            "/etc/zos-init.conf".into(),
            "/opt/x".into(),
            "/mnt/root".into(),
        ];
        let p = prune_list(&top, &kept, "/mnt/root", &ex);
        assert_eq!(p.remove, ["/init", "/init-debug", "/opt", "/etc/zos-init.conf"]);
        assert_eq!((p.root_top.as_str(), p.keep_in_top.as_deref()), ("mnt", Some("root")));
        let top_level = prune_list(&top, &kept, "/newroot", &[]);
        assert_eq!(top_level.keep_in_top, None);
        assert_eq!(top_level.remove, ["/init", "/init-debug", "/opt"]);
    }
}
