//! The new-root steps of the runner: `zos.root=auto` deciding, bind mode (zero-copy),
//! and its fallback to the copy. docs/INIT.md "New root: copy or bind".

use std::path::Path;

use zos_common::root_mode::size_bytes;

use super::{unpack_failure, Runner};
use crate::copy::CopySpec;
use crate::emergency;
use crate::error::StepError;
use crate::fit::{self, mib};
use crate::log::{self, Level};
use crate::newroot::{self, Facts};
use crate::plan::{self, Step};
use crate::report::CopySummary;
use crate::stage::Stage;
use crate::sys::MountChange;

impl Runner<'_> {
    /// `auto`: bind or copy, logged with the reason.
    pub(crate) fn choose_root(&mut self, dst: &str, size: &str, spec: &CopySpec) -> Result<(), StepError> {
        let sys = self.sys;
        let sources = crate::copy::resolve_sources(sys.fs(), &self.src_root, spec)?;
        let need = crate::copy::measure(sys.fs(), &self.src_root, &sources, spec)?;
        let meminfo = sys.read_to_string(Path::new("/proc/meminfo"))?;
        let mem_total = fit::meminfo_field(&meminfo, "MemTotal").unwrap_or(0);
        let facts = Facts {
            magic: sys.statfs(Path::new("/"))?.magic,
            kernel_root: self.cfg.kernel_root.as_deref(),
            need: need.bytes,
            cap: size_bytes(size, mem_total).unwrap_or(0),
            size,
        };
        let choice = newroot::decide(self.cfg.root_mode, &facts);
        let mode = if choice.bind { "bind" } else { "copy" };
        log::stage(Level::Info, Stage::Copy, &format!("new root by {mode}: {}", choice.why));
        if choice.bind {
            self.bind_root(dst, size, spec)
        } else {
            self.copy_root(dst, spec)
        }
    }

    /// Copy mode's steps, run here when `auto` or a failed bind comes to them.
    fn copy_root(&mut self, dst: &str, spec: &CopySpec) -> Result<(), StepError> {
        for step in plan::copy_steps(&self.cfg, dst, spec) {
            let t0 = log::since_boot();
            self.step(&step).map_err(|e| StepError::In {
                step: step.to_string(),
                source: Box::new(e),
            })?;
            if !matches!(step, Step::Copy { .. }) {
                let took = log::ms(log::since_boot() - t0);
                log::stage(Level::Info, Stage::Copy, &format!("{step} ({took})"));
            }
        }
        Ok(())
    }

    /// Zero-copy: prune `/` to what the copy would carry, cap it, bind it onto `dst`.
    /// The cap is set before anything is bound: when more is used than it allows, the
    /// copy steps run instead (they refuse with the numbers when that does not fit
    /// either), so the new root is never partial.
    pub(crate) fn bind_root(&mut self, dst: &str, size: &str, spec: &CopySpec) -> Result<(), StepError> {
        let sys = self.sys;
        // Same guard as the copy's fit check: a partially unpacked image stays put.
        if let Some(line) = crate::shell::dmesg(sys).ok().as_deref().and_then(unpack_failure) {
            return Err(StepError::PartialUnpack(line));
        }
        let root = Path::new("/");
        let magic = sys.statfs(root)?.magic;
        if magic != crate::switch_root::TMPFS_MAGIC {
            log::stage(
                Level::Warn,
                Stage::Copy,
                &format!("bind: / is not a tmpfs (statfs magic {magic:#x}), it cannot be capped: copying instead"),
            );
            return self.copy_root(dst, spec);
        }
        self.prune(dst, spec)?;
        let data = format!("size={size}");
        if let Err(e) = sys.mount_change(&MountChange::Remount {
            path: root.into(),
            data: data.clone(),
        }) {
            let used = sys.statfs(root).map(|s| mib(s.used)).unwrap_or_else(|e| e.to_string());
            log::stage(
                Level::Warn,
                Stage::Copy,
                &format!("bind: {e}: / holds {used}, more than size={size} allows: copying instead"),
            );
            return self.copy_root(dst, spec);
        }
        sys.mkdir_p(Path::new(dst))?;
        sys.mount_change(&MountChange::Bind {
            src: root.into(),
            dst: dst.into(),
        })?;
        emergency::set_report_root(Some(dst));
        self.bound = true;
        let used = sys.statfs(root).map(|s| mib(s.used)).unwrap_or_else(|e| e.to_string());
        log::stage(
            Level::Info,
            Stage::Copy,
            &format!("bind: / ({used} used, size={size}) bound onto {dst}: nothing copied"),
        );
        Ok(())
    }

    /// Remove from `/` what the copy would not carry (see [`newroot::prune_list`]).
    fn prune(&mut self, dst: &str, spec: &CopySpec) -> Result<(), StepError> {
        let sys = self.sys;
        let top = names(sys.look().list_names(Path::new("/"))?);
        let kept = crate::copy::resolve_sources(sys.fs(), &self.src_root, spec)?;
        let p = newroot::prune_list(&top, &kept, dst, &spec.exclude);
        let mut gone = p.remove.clone();
        if let Some(keep) = &p.keep_in_top {
            let dir = format!("/{}", p.root_top);
            if let Ok(children) = sys.look().list_names(Path::new(&dir)).map(names) {
                gone.extend(children.into_iter().filter(|c| c != keep).map(|c| format!("{dir}/{c}")));
            }
        }
        // /init answers the kernel's module requests until the handover (modprobe.rs):
        // it goes last, at the switch.
        gone.retain(|g| g != crate::modprobe::SELF);
        let (mut entries, mut bytes) = (0, 0);
        for path in &gone {
            match crate::reclaim::remove_path(sys, Path::new(path)) {
                Ok(c) => {
                    entries += c.entries;
                    bytes += c.bytes;
                }
                Err(e) if e.errno == crate::sys::Errno::NOENT => {}
                Err(e) => return Err(e.into()),
            }
        }
        log::stage(
            Level::Info,
            Stage::Copy,
            &format!(
                "bind: removed what the copy leaves out ({entries} entries, {}): {}",
                mib(bytes),
                gone.join(" ")
            ),
        );
        Ok(())
    }

    pub(super) fn copy(&mut self, dst: &str, spec: &CopySpec) -> Result<(), StepError> {
        let sources = crate::copy::resolve_sources(self.sys.fs(), &self.src_root, spec)?;
        let list: Vec<_> = sources.iter().map(|s| s.display().to_string()).collect();
        log::stage(Level::Info, Stage::Copy, &format!("{} -> {dst}", list.join(" ")));
        let mut warn = |w: &str| log::stage(Level::Warn, Stage::Copy, w);
        let stats = crate::copy::copy_tree(self.sys.fs(), &self.src_root, Path::new(dst), &sources, spec, &mut warn)?;
        self.report.copy = Some(CopySummary {
            files: stats.files,
            dirs: stats.dirs,
            symlinks: stats.symlinks,
            bytes: stats.bytes,
            freed_bytes: stats.freed_bytes,
        });
        log::stage(
            Level::Info,
            Stage::Copy,
            &format!(
                "{} files ({}), {} dirs, {} symlinks, {} hard links, {} nodes; {} freed from the initramfs",
                stats.files,
                fit::mib(stats.bytes),
                stats.dirs,
                stats.symlinks,
                stats.hardlinks,
                stats.nodes,
                fit::mib(stats.freed_bytes)
            ),
        );
        Ok(())
    }
}

/// Directory names as the prune list compares them.
fn names(list: Vec<std::ffi::OsString>) -> Vec<String> {
    list.into_iter().map(|n| n.to_string_lossy().into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::sys::Errno;

    use crate::cmdline;
    use crate::config::Config;
    use crate::error::InitError;
    use crate::plan;
    use crate::run::Runner;
    use crate::sys::record::RecordSys;

    fn boot(sys: &RecordSys, cmdline: &str) -> Result<(), InitError> {
        let flags = cmdline::parse(cmdline);
        let cfg = Config::default().with_flags(&flags);
        let plan = plan::build(&cfg, &flags.break_before);
        Runner::new(sys, &cfg, Duration::ZERO).run(&plan[plan::inputs().len()..])
    }

    fn has(calls: &[String], line: &str) -> bool {
        calls.iter().any(|c| c == line)
    }

    #[test]
    fn auto_binds_the_kernels_tmpfs_and_copies_nothing() {
        let sys = RecordSys {
            listing: ["bin", "dev", "etc", "init", "mnt", "opt", "proc", "sys"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        };
        boot(&sys, "").unwrap();
        let calls = sys.calls();
        let at = |l: &str| {
            calls
                .iter()
                .position(|c| c == l)
                .unwrap_or_else(|| panic!("{l}: {calls:#?}"))
        };
        // Pruned, then capped, then bound; never a copy or a tmpfs of its own. /init
        // answers the kernel's module requests until the switch, then goes too.
        assert!(at("rm /opt") < at("mount --bind / /mnt/root"));
        assert!(at("chroot .") < at("rm /init"));
        assert!(at("rm /etc/zos-init.conf") < at("mount -o remount,size=1536M /"));
        assert!(at("mount -o remount,size=1536M /") < at("mount --bind / /mnt/root"));
        assert!(at("mount --bind / /mnt/root") < at("mount -t proc proc /mnt/root/proc"));
        assert!(!calls.iter().any(|c| c.contains("tmpfs -o size")));
        assert_eq!(sys.first_copy_write(), None);
        assert!(!has(&calls, "rm /bin") && !has(&calls, "ls /dev") && !has(&calls, "ls /mnt/root"));
        // No old-root removal: it would take /etc too.
        assert!(!has(&calls, "rm /etc"), "{calls:#?}");
        assert!(calls.last().unwrap().starts_with("exec /sbin/zinit"));
    }

    #[test]
    fn auto_copies_with_root_or_on_ramfs_or_when_too_big() {
        let cases = [
            (RecordSys::default(), "root=/dev/ram0"),
            (
                RecordSys {
                    magic: crate::switch_root::RAMFS_MAGIC,
                    ..Default::default()
                },
                "",
            ),
            (
                RecordSys {
                    available: 4 << 30,
                    meminfo: "MemTotal: 8000000 kB\nMemAvailable: 7900000 kB\n".into(),
                    ..Default::default()
                }
                .with_bulk(2 << 30),
                "",
            ),
        ];
        for (sys, cmdline) in cases {
            boot(&sys, cmdline).unwrap();
            let calls = sys.calls();
            assert!(
                has(&calls, "mount -t tmpfs -o size=1536M tmpfs /mnt/root"),
                "{cmdline}: {calls:#?}"
            );
            assert!(sys.first_copy_write().is_some(), "{calls:#?}");
            assert!(!calls.iter().any(|c| c.starts_with("mount --bind")), "{calls:#?}");
        }
    }

    #[test]
    fn a_cap_below_the_used_falls_back_to_the_copy() {
        let sys = RecordSys::default();
        sys.fail_on("mount -o remount", "/", Errno::INVAL);
        boot(&sys, "zos.root=bind").unwrap();
        let calls = sys.calls();
        assert!(!calls.iter().any(|c| c.starts_with("mount --bind")), "{calls:#?}");
        assert!(has(&calls, "mount -t tmpfs -o size=1536M tmpfs /mnt/root"));
        assert!(sys.first_copy_write().is_some());
        // The copy's own switch: the old root is freed.
        assert!(has(&calls, "rm /bin"), "{calls:#?}");
    }

    #[test]
    fn neither_fits_stops_with_the_numbers_before_anything_is_handed_over() {
        let sys = RecordSys {
            available: 16 << 20,
            ..Default::default()
        }
        .with_bulk(40 << 20);
        sys.fail_on("mount -o remount", "/", Errno::INVAL);
        let e = boot(&sys, "zos.root=bind zos.tmpfs=16M").unwrap_err().to_string();
        assert!(
            e.contains("rootfs needs 40.0 MiB but the tmpfs /mnt/root has 16.0 MiB free"),
            "{e}"
        );
        let calls = sys.calls();
        assert!(!calls
            .iter()
            .any(|c| c.starts_with("mount --bind") || c.starts_with("exec ")));
        assert_eq!(sys.first_copy_write(), None);
    }
}
