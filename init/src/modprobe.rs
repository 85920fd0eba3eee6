//! Kernel module requests (`request_module`: `crypto-*`, `fs-*`, `net-pf-*`,
//! `char-major-*`...) while the init runs. The kernel runs the program named in
//! /proc/sys/kernel/modprobe as `<path> -q -- <name>` and waits for it. The
//! initramfs's /sbin/modprobe is gone once copy-and-free has run, so the init names
//! itself (`/init`, which lives until switch_root frees the old root): run that way,
//! not as PID 1, it is a small modprobe ([`helper`]) over the same loader.
//!
//! Each request is a line in the kmsg and one in [`REQUESTS`]; right before
//! switch_root [`restore_and_collect`] puts the kernel's path back (the new root's own
//! /sbin/modprobe answers after the handover) and moves the lines into the boot report.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Config;
use crate::hardware::Hardware;
use crate::log::{self, Level};
use crate::modules::index::{ModIndex, Resolved};
use crate::modules::load::Request;
use crate::modules::lookup;
use crate::report::{BootReport, ModuleRecord};
use crate::stage::Stage;
use crate::sys::Sys;

pub const KERNEL_MODPROBE: &str = "/proc/sys/kernel/modprobe";
/// The init's own path, which the kernel runs for each request.
pub const SELF: &str = "/init";
/// Where helpers append their results: the shared devtmpfs, which neither the copy
/// nor the free touches (and which the new root mounts too).
pub const REQUESTS: &str = "/dev/.zos-init-kernel-requests";

/// The compact lookup of the module index ([`lookup`]): a request for a name
/// nothing matches fails without parsing the index. On the same devtmpfs.
pub const LOOKUP: &str = "/dev/.zos-init-modlookup";

/// The path the kernel had, for [`restore_and_collect`].
static WAS: Mutex<Option<String>> = Mutex::new(None);

/// Set by [`install`]: the requests come to us, so PID 1 publishes the lookup once
/// it has parsed the index ([`publish_lookup`]).
static ANSWERING: AtomicBool = AtomicBool::new(false);

/// Whether this process is the kernel asking for a module: `argv` is
/// `[path, "-q", "--", name]` and we are not PID 1. Returns the name.
pub fn request_of(pid: u32, argv: &[String]) -> Option<&str> {
    match argv {
        [_, q, dd, name] if pid != 1 && q == "-q" && dd == "--" => Some(name.as_str()),
        _ => None,
    }
}

/// Point the kernel's module requests at the init itself (logged; failure is a
/// warning: requests then fail as they did under the shell once /sbin was freed).
pub fn install(sys: &dyn Sys) {
    let path = Path::new(KERNEL_MODPROBE);
    let was = sys.read_to_string(path).map(|s| s.trim().to_string()).ok();
    match sys.write(path, SELF.as_bytes(), crate::sys::Write::Create) {
        Ok(()) => {
            log::debug(&format!(
                "mounts: kernel module requests go to {SELF} until switch_root (was {})",
                was.as_deref().unwrap_or("?")
            ));
            *WAS.lock().unwrap_or_else(|e| e.into_inner()) = was;
            ANSWERING.store(true, Ordering::Relaxed);
        }
        Err(e) => log::warn(&format!(
            "mounts: {e}; kernel module requests (crypto-*, fs-*) fail once the copy frees /sbin/modprobe"
        )),
    }
}

/// Put the kernel's modprobe path back and report what the kernel asked for.
pub fn restore_and_collect(sys: &dyn Sys, report: &mut BootReport, requests: &Path) {
    if let Some(was) = WAS.lock().unwrap_or_else(|e| e.into_inner()).take() {
        if let Err(e) = sys.write(Path::new(KERNEL_MODPROBE), was.as_bytes(), crate::sys::Write::Create) {
            log::warn(&format!(
                "switch: {e}; kernel module requests after the handover will fail"
            ));
        }
    }
    ANSWERING.store(false, Ordering::Relaxed);
    let text = sys.read(requests).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    // Read once: the new root sees this devtmpfs too (the lookup goes with it).
    let _ = sys.unlink(requests, false);
    let _ = sys.unlink(Path::new(LOOKUP), false);
    report.modules.extend(text.lines().filter_map(parse_line));
}

/// `name\tvia\tstart_us\ttook_us\terror-or-empty`.
fn parse_line(l: &str) -> Option<ModuleRecord> {
    let f: Vec<&str> = l.splitn(5, '\t').collect();
    let us = |s: &str| Duration::from_micros(s.parse().unwrap_or(0));
    Some(ModuleRecord {
        name: f.first()?.to_string(),
        via: f.get(1)?.to_string(),
        start: us(f.get(2)?),
        took: us(f.get(3)?),
        error: f.get(4).filter(|e| !e.is_empty()).map(|e| e.to_string()),
    })
}

fn format_line(r: &ModuleRecord) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\n",
        r.name,
        r.via,
        r.start.as_micros(),
        r.took.as_micros(),
        r.error.as_deref().unwrap_or("").replace(['\t', '\n'], " ")
    )
}

/// The module tree to answer from: the initramfs's own while it is there (before the
/// copy, or with `copy = off`), else the new root's.
fn tree(sys: &dyn Sys, release: &str) -> Option<(PathBuf, PathBuf)> {
    let new_root = PathBuf::from(Config::default().new_root);
    [PathBuf::from("/"), new_root]
        .into_iter()
        .map(|root| (root.join("lib/modules").join(release), root))
        .find(|(dir, _)| sys.look().exists(&dir.join("modules.dep")).unwrap_or(false))
}

/// Answer one request: resolve `name` (module or alias, modprobe.d `blacklist`
/// applying to aliases), load it with its dependencies, record it. 0 when loaded,
/// built in or already there; 1 otherwise (the kernel only logs the status).
/// The caller opens the kmsg for the log first (main.rs).
pub fn helper(sys: &dyn Sys, name: &str, requests: &Path) -> i32 {
    let release = sys.procs().uname_release();
    let via = format!("kernel request {name}");
    let start = log::since_boot();
    let record = |r: ModuleRecord| {
        // Nowhere to report a failure to: the kernel only logs the exit status.
        let _ = sys.write(requests, format_line(&r).as_bytes(), crate::sys::Write::Append);
    };
    let fail = |why: String| {
        log::info(&format!("modprobe: {via}: {why}"));
        record(ModuleRecord {
            name: name.to_string(),
            via: via.clone(),
            start,
            took: log::since_boot().saturating_sub(start),
            error: Some(why),
        });
        1
    };
    let Some((dir, root)) = tree(sys, &release) else {
        return fail(format!("no lib/modules/{release}/modules.dep in / or the new root"));
    };
    let stamp = lookup::stamp(sys, &dir, None);
    let known = sys
        .read(Path::new(LOOKUP))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let quick = known.as_deref().and_then(|t| lookup::may_resolve(t, &stamp, name));
    if quick == Some(false) {
        return fail(format!("no module or alias `{name}` in {}", dir.display()));
    }
    // While copy-and-free runs, the initramfs's files move to the new root: each
    // file is read from where it still is (modules/moved.rs).
    let moves_to = (root == Path::new("/"))
        .then(|| PathBuf::from(Config::default().new_root).join(dir.strip_prefix("/").unwrap_or(&dir)));
    let to = moves_to.clone().unwrap_or_else(|| dir.clone());
    let idx = match ModIndex::load_with(&dir, &mut |p| crate::modules::moved::read_either(sys, p, &dir, &to)) {
        Ok(i) => i,
        Err(e) => return fail(e.to_string()),
    };
    if quick.is_none() {
        // The first request (or the first after the index changed) makes the lookup.
        let _ = lookup::publish(sys, Path::new(LOOKUP), &lookup::build(&idx, &stamp));
    }
    let conf = crate::modules::tree::read_conf(&root);
    let mods = match idx.resolve(name) {
        Resolved::Modules(m) if m == [crate::modules::normalize(name)] => m,
        Resolved::Modules(m) => m.into_iter().filter(|m| !conf.blacklist.contains(m)).collect(),
        Resolved::Builtin => return 0,
        Resolved::NotFound => return fail(format!("no module or alias `{name}` in {}", dir.display())),
    };
    let cfg = Config {
        new_root: root.display().to_string(),
        ..Default::default()
    };
    let mut hw = Hardware::default();
    hw.moves_to = moves_to;
    hw.modules_dir = Some(dir);
    hw.release = Some(release);
    // Parsed once: the loader uses this one.
    hw.set_index(Some(Arc::new(idx)));
    let reqs: Vec<Request> = mods
        .into_iter()
        .map(|m| Request {
            name: m,
            via: via.clone(),
        })
        .collect();
    let mut report = BootReport::default();
    let outcomes = hw.load(sys, &cfg, &reqs, &mut report);
    report.modules.into_iter().for_each(record);
    i32::from(outcomes.iter().any(|o| o.result.is_err()))
}

/// PID 1 parsed `idx` (of the tree at `dir`): publish its lookup for the requests to
/// come, when they come to us ([`install`]). A failure only costs speed.
/// The tree's files are stamped where they are (`dir`, or `moved_to` once freed).
pub fn publish_lookup(sys: &dyn Sys, idx: &ModIndex, dir: &Path, moved_to: &Path) {
    if !ANSWERING.load(Ordering::Relaxed) {
        return;
    }
    let stamp = lookup::stamp(sys, dir, Some(moved_to));
    if let Err(e) = lookup::publish(sys, Path::new(LOOKUP), &lookup::build(idx, &stamp)) {
        log::stage(
            Level::Debug,
            Stage::Modules,
            &format!("{e}; kernel requests parse the index each"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;

    #[test]
    fn only_the_kernels_argv_shape_outside_pid1_is_a_request() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let k = argv(&["/init", "-q", "--", "crypto-crc64-rocksoft"]);
        assert_eq!(request_of(4242, &k), Some("crypto-crc64-rocksoft"));
        assert_eq!(request_of(1, &k), None);
        assert_eq!(request_of(4242, &argv(&["/init"])), None);
        assert_eq!(request_of(4242, &argv(&["/init", "btrfs"])), None);
    }

    #[test]
    fn request_lines_round_trip_into_the_report() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("req");
        let ok = ModuleRecord {
            name: "crc64_rocksoft_generic".into(),
            via: "kernel request crypto-crc64-rocksoft".into(),
            start: Duration::from_micros(1500),
            took: Duration::from_micros(250),
            error: None,
        };
        let bad = ModuleRecord {
            name: "net-pf-99".into(),
            via: "kernel request net-pf-99".into(),
            error: Some("no module or alias `net-pf-99` in\t/x".into()),
            ..ok.clone()
        };
        std::fs::write(&file, format_line(&ok) + &format_line(&bad)).unwrap();
        let sys = RecordSys {
            host_dirs: vec![t.path().to_path_buf()],
            ..Default::default()
        };
        let mut report = BootReport::default();
        restore_and_collect(&sys, &mut report, &file);
        assert_eq!(report.modules[0], ok);
        assert_eq!(
            report.modules[1].error.as_deref(),
            Some("no module or alias `net-pf-99` in /x")
        );
        let rm = format!("rm {}", file.display());
        assert!(sys.calls().contains(&rm), "read once: {:?}", sys.calls());
        assert!(sys.calls().contains(&format!("rm {LOOKUP}")));
    }

    #[test]
    fn a_request_without_a_module_tree_appends_its_failure() {
        let sys = RecordSys {
            release: "6.1.0-none".into(),
            ..Default::default()
        };
        let requests = Path::new("/dev/.req");
        assert_eq!(helper(&sys, "fs-nosuch", requests), 1);
        let appended = sys.dev.appended.borrow();
        let [(path, line)] = appended.as_slice() else {
            panic!("one line appended: {appended:?}")
        };
        assert_eq!(path, requests);
        let r = parse_line(std::str::from_utf8(line).unwrap().trim_end()).unwrap();
        assert_eq!(
            (r.name.as_str(), r.via.as_str()),
            ("fs-nosuch", "kernel request fs-nosuch")
        );
        assert_eq!(
            r.error.as_deref(),
            Some("no lib/modules/6.1.0-none/modules.dep in / or the new root")
        );
        assert!(
            sys.calls()[..2].iter().all(|c| c.starts_with("test -e ")),
            "{:?}",
            sys.calls()
        );
    }
}
