//! The whole installation, the way apko does it: read and verify the indexes,
//! resolve the world, download and verify every package, extract them in dependency
//! order, run the install scripts as apk does (chroot.rs, as root) or handle the
//! known ones natively (scripts.rs, without root), write apk's database and the
//! ownership manifest.

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use super::chroot::{self, ScriptRunner};
use super::config::Settings;
use super::db::{self, Installed, Meta};
use super::dep::Dep;
use super::error::{io_at, ApkError, Result};
use super::extract::extract_with;
use super::fetch::{Fetcher, Location};
use super::index::{read_index, Package};
use super::owners::{sidecar_for, Owners};
use super::package::{open, ApkFile, Checks};
use super::progress::{bar, Log};
use super::resolve::Resolver;
use super::sign::Keyring;
use super::upgrade::Tree;

pub struct Request {
    /// The rootfs directory (created when missing).
    pub root: PathBuf,
    pub world: Vec<Dep>,
    pub settings: Settings,
    /// `tar:` source: a minirootfs tarball unpacked first, packages go on top.
    pub base_tar: Option<PathBuf>,
    /// Where the build log goes (e.g. output/build.log).
    pub log_path: Option<PathBuf>,
    /// Print log lines on stderr as they happen (the CLI); tests keep quiet.
    pub verbose: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    /// `name-version` of the packages installed, in install order.
    pub installed: Vec<String>,
    /// Lines that must not go unseen (package scripts not run), also in `log`.
    pub warnings: Vec<String>,
    pub log: Vec<String>,
    pub owners: PathBuf,
}

/// A repository's arch directory. Local directories may also be flat (the files
/// directly inside, as in an ISO's `apks/<arch>/` copied alone).
fn arch_dir(repo: &str, arch: &str) -> Location {
    let loc = Location::parse(repo);
    if let Location::Local(d) = &loc {
        if !d.join(arch).join("APKINDEX.tar.gz").exists() && d.join("APKINDEX.tar.gz").exists() {
            return loc;
        }
    }
    loc.join(arch)
}

pub fn install(req: &Request) -> Result<Report> {
    let s = &req.settings;
    let mut log = Log {
        lines: Vec::new(),
        verbose: req.verbose,
        start: Instant::now(),
    };
    let result = run(req, s, &mut log);
    if let Err(e) = &result {
        log.lines.push(format!("ERROR: {e}"));
    }
    if let Some(p) = &req.log_path {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(io_at(d))?;
        }
        fs::write(p, log.lines.join("\n") + "\n").map_err(io_at(p))?;
    }
    let mut report = result?;
    report.log = log.lines;
    Ok(report)
}

fn run(req: &Request, s: &Settings, log: &mut Log) -> Result<Report> {
    let root = &req.root;
    fs::create_dir_all(root).map_err(io_at(root))?;
    let owners_path = sidecar_for(root);
    let mut owners = Owners::load(&owners_path).unwrap_or_default();
    if let Some(t) = &req.base_tar {
        let n = super::tarsrc::unpack(t, root, &mut owners)?;
        log.say(None, format!("tar: {} unpacked ({n} entries)", t.display()));
    }
    let ring = Keyring::load(&s.keys_dir)?;
    log.say(
        None,
        format!(
            "trusted keys ({}): {}",
            s.keys_dir.display(),
            ring.keys.keys().cloned().collect::<Vec<_>>().join(" ")
        ),
    );
    let cache = s
        .cache_downloads
        .then(|| s.cache_dir.as_ref().map(|c| c.join("apk")))
        .flatten();
    let fetcher = Fetcher::new(cache, s.offline);
    let mut avail: Vec<Package> = Vec::new();
    for (i, repo) in s.repositories.iter().enumerate() {
        let loc = arch_dir(repo, &s.arch).join("APKINDEX.tar.gz");
        let got = fetcher.get(&loc, false, None)?;
        let idx = read_index(&got.bytes, &loc.display(), &ring, s.allow_untrusted, i)?;
        log.say(
            None,
            format!(
                "index {}: {} ({} packages), signed by {}{}",
                loc.display(),
                idx.description,
                idx.packages.len(),
                idx.signed_by.as_deref().unwrap_or("nobody (allow_untrusted)"),
                if got.from_cache { ", from cache" } else { "" }
            ),
        );
        avail.extend(idx.packages);
    }
    let installed_before = db::read_installed(root)?;
    let mut tree = Tree::load(root);
    let world = merge_world(root, &req.world);
    let plan = Resolver::new(&avail, &installed_before).resolve(&world)?;
    for n in &plan.notes {
        log.say(None, format!("resolve: {n}"));
    }
    log.say(None, format!("resolve: {} packages to install", plan.install.len()));
    let checks = Checks {
        ring: &ring,
        allow_untrusted: s.allow_untrusted,
        verify_checksums: s.verify_checksums,
    };
    // Download and verify everything before touching the root, as apk does.
    let total: u64 = plan.install.iter().map(|&i| avail[i].size).sum();
    let dl = bar(total, "download", true);
    let mut files: Vec<(&Package, ApkFile)> = Vec::new();
    for &i in &plan.install {
        let p = &avail[i];
        dl.set_message(p.nv());
        let loc = arch_dir(&s.repositories[p.repo], &s.arch).join(&p.file_name());
        let url = loc.display();
        let mut got = fetcher.get(&loc, true, Some(&dl))?;
        let file = match open(&got.bytes, p, &url, &checks) {
            Err(ApkError::Checksum { .. }) if got.from_cache && !s.offline => {
                log.say(Some(&dl), format!("{url}: cached copy is bad, fetching again"));
                fetcher.evict(&loc);
                got = fetcher.get(&loc, false, Some(&dl))?;
                open(&got.bytes, p, &url, &checks)?
            }
            other => other?,
        };
        if got.from_cache {
            dl.inc(p.size);
        }
        log.say(
            Some(&dl),
            format!(
                "fetched {} ({} bytes{}), verified",
                p.nv(),
                got.bytes.len(),
                if got.from_cache { ", cache" } else { "" }
            ),
        );
        files.push((p, file));
    }
    dl.finish_and_clear();
    // Scripts run chrooted as apk runs them when this host can (root, same arch or a
    // qemu-user binfmt); otherwise scripts.rs does the known ones natively.
    let runner = match ScriptRunner::new(root, &s.arch) {
        Ok(r) => {
            log.say(None, format!("scripts: run {}", r.how()));
            // A `tar:` base's owners are on the host before any script looks.
            r.apply_to_host(&owners)?;
            if installed_before.is_empty() {
                r.init_root()?;
                r.record_tree(&mut owners)?;
            }
            Some(r)
        }
        Err(why) => {
            log.say(
                None,
                format!("scripts: NOT run ({why}); known ones done natively, the rest listed"),
            );
            None
        }
    };
    let ex = bar(files.len() as u64, "extract", false);
    let mut new = Vec::new();
    let mut replaced = Vec::new();
    for (p, f) in files {
        ex.set_message(p.nv());
        let script = |action: &str| f.scripts.iter().find(|s| s.action == action);
        // apk runs the upgrade scripts, with the old version as second argument,
        // whenever a package replaces an installed one (up or down).
        let old = installed_before.iter().find(|o| o.name == p.name);
        let (pre, post, args) = match old {
            Some(o) => {
                let how = match super::version::compare(&p.version, &o.version) {
                    std::cmp::Ordering::Less => "downgrading",
                    _ => "upgrading",
                };
                log.say(Some(&ex), format!("{how} {} ({} -> {})", p.name, o.version, p.version));
                (
                    "pre-upgrade",
                    "post-upgrade",
                    vec![p.version.as_str(), o.version.as_str()],
                )
            }
            None => ("pre-install", "post-install", vec![p.version.as_str()]),
        };
        if let (Some(r), Some(sc)) = (&runner, script(pre)) {
            log.say(Some(&ex), r.run(&p.nv(), &sc.action, &sc.body, &args)?);
            r.record_tree(&mut owners)?;
        }
        let before = runner.as_ref().map(|_| owners.clone());
        let out = extract_with(
            &f.data,
            root,
            &p.nv(),
            &mut owners,
            s.verify_checksums,
            false,
            Some(&tree),
        )?;
        for w in &out.warnings {
            log.say(Some(&ex), format!("warning: {w}"));
        }
        for k in &out.apk_new {
            log.say(
                Some(&ex),
                format!(
                    "{}: {k} written; the file on disk is changed or not a package's, kept",
                    p.nv()
                ),
            );
        }
        if let Some(o) = old {
            let gone = super::upgrade::purge_old(root, &tree, &o.name, &out.dirs, &mut owners);
            if !gone.is_empty() {
                log.say(
                    Some(&ex),
                    format!("{}: removed from {}: {}", p.nv(), o.nv(), gone.join(" ")),
                );
            }
            replaced.push(o.clone());
        }
        tree.record(&p.name, &out.dirs);
        if let (Some(r), Some(before)) = (&runner, before) {
            chroot::keep_existing_dirs(root, &before, &mut owners);
            r.apply_to_host(&owners)?;
            if let Some(sc) = script(post) {
                log.say(Some(&ex), r.run(&p.nv(), &sc.action, &sc.body, &args)?);
                r.record_tree(&mut owners)?;
            }
        }
        new.push(Installed {
            pkg: p.clone(),
            replaces: f.info_all("replaces"),
            replaces_priority: f.info("replaces_priority").map(str::to_string),
            triggers: f.info_all("triggers"),
            dirs: out.dirs,
            scripts: f.scripts.clone(),
        });
        ex.inc(1);
    }
    ex.finish_and_clear();
    let mut warnings = Vec::new();
    let (groups, users, lines) = super::scripts::config_accounts(&new, &s.groups, &s.users, s.config_users);
    for line in lines {
        log.say(None, line);
    }
    match &runner {
        Some(r) => {
            for line in run_triggers(r, &new)? {
                log.say(None, line);
            }
            r.record_tree(&mut owners)?;
            for line in super::scripts::add_config_ids(root, &groups, &users, &mut owners)? {
                log.say(None, line);
            }
            r.apply_to_host(&owners)?;
        }
        None => {
            for line in super::scripts::handle(root, &new, &groups, &users, &mut owners)? {
                if line.starts_with("WARNING: ") {
                    // Loud: on stderr even when the log is not echoed.
                    if !log.verbose {
                        eprintln!("{line}");
                    }
                    warnings.push(line.clone());
                }
                log.say(None, line);
            }
        }
    }
    let world: Vec<String> = world.iter().map(|d| d.to_string()).collect();
    let meta = Meta {
        world: &world,
        replaced: &replaced,
        repositories: &s.image_repositories,
        arch: &s.arch,
        keys: &ring.pem,
    };
    db::write(root, &new, &meta, &mut owners)?;
    fs::write(&owners_path, owners.render()).map_err(io_at(&owners_path))?;
    let installed: Vec<String> = new.iter().map(|i| i.pkg.nv()).collect();
    log.say(
        None,
        format!(
            "installed {} packages into {}: {}",
            installed.len(),
            root.display(),
            installed.join(" ")
        ),
    );
    log.say(None, format!("ownership manifest: {}", owners_path.display()));
    Ok(Report {
        installed,
        warnings,
        log: Vec::new(),
        owners: owners_path,
    })
}

/// The world of the transaction, as `apk add` makes it: the root's etc/apk/world
/// with each requested atom replacing the entry of the same name (`busybox` becomes
/// `busybox=1.36.1-r15`), sorted by name as apk writes it.
fn merge_world(root: &std::path::Path, req: &[Dep]) -> Vec<Dep> {
    let mut world: Vec<Dep> = fs::read_to_string(root.join("etc/apk/world"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(Dep::parse)
        .collect();
    for d in req {
        world.retain(|w| w.name != d.name);
        world.push(d.clone());
    }
    world.sort_by(|a, b| a.name.cmp(&b.name));
    world
}

/// apk's end of transaction: each new package's `.trigger` runs once, with the
/// directories of this transaction that its globs match (rooted, `/bin`).
fn run_triggers(r: &ScriptRunner, new: &[Installed]) -> Result<Vec<String>> {
    let mut dirs: Vec<String> = new
        .iter()
        .flat_map(|i| i.dirs.iter())
        .filter(|d| !d.files.is_empty())
        .map(|d| format!("/{}", d.name))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut log = Vec::new();
    for i in new {
        let Some(sc) = i.scripts.iter().find(|s| s.action == "trigger") else {
            continue;
        };
        let globs: Vec<&str> = i.triggers.split_whitespace().collect();
        let hit: Vec<&str> = dirs
            .iter()
            .filter(|d| globs.iter().any(|g| chroot::glob_match(g, d)))
            .map(String::as_str)
            .collect();
        if !hit.is_empty() {
            log.push(r.run(&i.pkg.nv(), "trigger", &sc.body, &hit)?);
        }
    }
    Ok(log)
}
