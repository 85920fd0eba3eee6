//! Shared by the differential tests against the real apk-tools 2.14 (apk_oracle.rs,
//! apk_upgrade_oracle.rs): apk-tools unpacked from the fixture repository and run on
//! this host, and the entry-by-entry comparison of two roots.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use zos_builder::apk::config::Settings;
use zos_builder::apk::dep::Dep;
use zos_builder::apk::owners::Owners;
use zos_builder::apk::{install, Report, Request};

use super::apk_support::*;

pub const APK_TOOLS: [&str; 5] = [
    "apk-tools-2.14.0-r5",
    "musl-1.2.4_git20230717-r4",
    "libcrypto3-3.1.4-r5",
    "libssl3-3.1.4-r5",
    "zlib-1.3.1-r0",
];

/// Paths whose difference is accepted, with why (see the module comment).
pub const ALLOWED: [(&str, &str); 2] = [
    (
        "etc/apk/repositories",
        "apk -X writes no repositories file; the builder names the configured mirrors",
    ),
    (
        "etc/apk/keys",
        "apk --keys-dir copies no keys; the builder installs the trusted ones (and dir)",
    ),
];

pub fn needs_root(test: &str) -> bool {
    if fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    {
        return true;
    }
    if std::env::var_os("ZOS_SKIP_ROOT_TESTS").is_some_and(|v| v == "1") {
        eprintln!("SKIP (not root): {test}");
        return false;
    }
    panic!("needs root: {test} runs apk-tools and package scripts chrooted (set ZOS_SKIP_ROOT_TESTS=1 to skip it knowingly)");
}

/// Unpacks the fixture's apk-tools and its libraries into `dir`.
pub fn unpack_apk_tools(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for p in APK_TOOLS {
        let f = fs::File::open(repo319().join(format!("{p}.apk"))).unwrap();
        let mut ar = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
        ar.set_ignore_zeros(true);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().into_owned();
            if !name.to_string_lossy().starts_with('.') {
                e.unpack_in(dir).unwrap();
            }
        }
    }
}

/// Runs the unpacked apk-tools on `root` with the repository `repo` only:
/// `apk --root ROOT FLAGS... add ATOMS...`; returns its output.
pub fn run_apk(tool: &Path, repo: &Path, root: &Path, flags: &[&str], atoms: &[&str]) -> String {
    let out = Command::new(tool.join("lib/ld-musl-x86_64.so.1"))
        .arg("--library-path")
        .arg(format!("{0}/lib:{0}/usr/lib", tool.display()))
        .arg(tool.join("sbin/apk"))
        .arg("--root")
        .arg(root)
        .args(flags)
        .args(["--no-cache", "--no-progress", "--arch", "x86_64"])
        .arg("--repositories-file")
        .arg("/dev/null")
        .arg("--keys-dir")
        .arg(keys())
        .arg("-X")
        .arg(repo)
        .arg("add")
        .args(atoms)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !log.contains("ERROR"),
        "apk-tools failed:\n{log}"
    );
    log
}

#[derive(Debug, PartialEq)]
pub struct Node {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Symlink target or SHA256 of a file's content.
    pub what: String,
}

/// Every entry under `root`, with the builder's ownership manifest (when given)
/// laid over what the host has, as the packer does.
pub fn scan(root: &Path, owners: Option<&Owners>) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let m = fs::symlink_metadata(e.path()).unwrap();
            let ft = m.file_type();
            let (kind, what) = if ft.is_symlink() {
                ("symlink", fs::read_link(e.path()).unwrap().display().to_string())
            } else if ft.is_dir() {
                todo.push(r.clone());
                ("dir", String::new())
            } else if ft.is_file() {
                let mut h = Sha256::new();
                let mut f = fs::File::open(e.path()).unwrap();
                let mut b = Vec::new();
                f.read_to_end(&mut b).unwrap();
                h.update(&b);
                ("file", hex::encode(h.finalize()))
            } else {
                ("other", String::new())
            };
            let mut n = Node {
                kind,
                mode: m.permissions().mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                what,
            };
            if let Some(o) = owners.and_then(|o| o.map.get(&r)) {
                (n.uid, n.gid) = (o.uid, o.gid);
                if kind != "symlink" {
                    n.mode = o.mode;
                }
            }
            out.insert(r.display().to_string(), n);
        }
    }
    out
}

/// `installed` split into records keyed by package name, each as its lines.
pub fn records(root: &Path) -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string(root.join("lib/apk/db/installed")).unwrap();
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| {
            let name = b.lines().find_map(|l| l.strip_prefix("P:")).unwrap().to_string();
            (name, b.lines().map(str::to_string).collect())
        })
        .collect()
}

/// scripts.tar entries as (name, mode, uid, gid, SHA256 of the body): all but the
/// mtime (apk 2.14 stamps the time of the run; the builder the package's build time,
/// so images are reproducible).
pub fn tar_entries(path: &Path) -> Vec<(String, u32, u64, u64, String)> {
    let b = fs::read(path).unwrap();
    let mut ar = tar::Archive::new(&b[..]);
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            (
                e.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                hex::encode(Sha256::digest(&body)),
            )
        })
        .collect()
}

pub fn differences(reference: &Path, ours: &Path, owners: &Owners) -> Vec<String> {
    let mut diffs = Vec::new();
    let allowed = |p: &str| {
        ALLOWED
            .iter()
            .any(|(a, _)| p == *a || p.strip_prefix(a).is_some_and(|r| r.starts_with('/')))
    };
    let a = scan(reference, None);
    let b = scan(ours, Some(owners));
    for (p, n) in &a {
        match b.get(p) {
            None if !allowed(p) => diffs.push(format!("only apk-tools: {p} {n:?}")),
            // The database files are compared by content below.
            Some(_) if p == "lib/apk/db/installed" || p == "lib/apk/db/scripts.tar" => {}
            Some(m) if m != n && !allowed(p) => diffs.push(format!("{p}: apk-tools {n:?}, builder {m:?}")),
            _ => {}
        }
    }
    for (p, n) in &b {
        if !a.contains_key(p) && !allowed(p) {
            diffs.push(format!("only builder: {p} {n:?}"));
        }
    }
    // The database, record by record (record order is allowed to differ).
    let (ra, rb) = (records(reference), records(ours));
    for (name, lines) in &ra {
        match rb.get(name) {
            None => diffs.push(format!("installed: no builder record for {name}")),
            Some(l) if l != lines => diffs.push(format!(
                "installed: record {name} differs:\n  apk-tools: {lines:?}\n  builder:   {l:?}"
            )),
            _ => {}
        }
    }
    for name in rb.keys().filter(|n| !ra.contains_key(*n)) {
        diffs.push(format!("installed: builder record {name} not in apk-tools'"));
    }
    let (sa, sb) = (
        tar_entries(&reference.join("lib/apk/db/scripts.tar")),
        tar_entries(&ours.join("lib/apk/db/scripts.tar")),
    );
    if sa != sb {
        diffs.push(format!("scripts.tar entries: apk-tools {sa:?}, builder {sb:?}"));
    }
    diffs
}

/// A scratch directory for one oracle run (ZOS_ORACLE_KEEP=1 keeps it and prints
/// where), with apk-tools unpacked in `apk-tools/` and the fixture repository as
/// `repo/x86_64`. Returns (guard, base, tool, repo).
pub fn workspace() -> (Option<tempfile::TempDir>, PathBuf, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let (guard, base) = if std::env::var_os("ZOS_ORACLE_KEEP").is_some() {
        let p = t.keep();
        eprintln!("kept: {}", p.display());
        (None, p)
    } else {
        let p = t.path().to_owned();
        (Some(t), p)
    };
    let tool = base.join("apk-tools");
    unpack_apk_tools(&tool);
    let repo = base.join("repo");
    fs::create_dir(&repo).unwrap();
    std::os::unix::fs::symlink(repo319(), repo.join("x86_64")).unwrap();
    (guard, base, tool, repo)
}

/// Install `atoms` with the builder into `ours` (over `base_tar` when given) and assert
/// the result equals apk-tools' `reference`, entry by entry (`apk_log`, apk's own
/// output, goes into the failure text). The builder's report, for further checks.
pub fn install_and_compare(
    reference: &Path,
    ours: &Path,
    atoms: &[&str],
    settings: Settings,
    base_tar: Option<PathBuf>,
    apk_log: &str,
) -> Report {
    let report = install(&Request {
        root: ours.to_path_buf(),
        world: atoms.iter().map(|a| Dep::parse(a).unwrap()).collect(),
        settings,
        base_tar,
        log_path: None,
        verbose: false,
    })
    .unwrap();
    let owners = Owners::load(&report.owners).unwrap();
    let diffs = differences(reference, ours, &owners);
    assert!(
        diffs.is_empty(),
        "{} differences between apk-tools and the builder:\n{}\napk-tools:\n{apk_log}\nbuilder log:\n{}",
        diffs.len(),
        diffs.join("\n"),
        report.log.join("\n")
    );
    report
}
