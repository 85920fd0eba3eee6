//! The installed database apk reads on the booted node (apk-tools database.c
//! `apk_db_write_fdb` and friends): lib/apk/db/installed, scripts.tar, triggers,
//! lock, and etc/apk/{world,repositories,arch,keys}. Records are written in package
//! name order with the index header first, then `r:`/`q:`, then the file list, which
//! is what apk itself writes (checked against a real minirootfs database).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::error::{io_at, Result};
use super::extract::{DirRec, DEFAULT_DIR, DEFAULT_FILE};
use super::index::{parse_records, Package};
use super::owners::{Owner, Owners};
use super::package::Script;

pub const INSTALLED: &str = "lib/apk/db/installed";
pub const SCRIPTS: &str = "lib/apk/db/scripts.tar";
pub const TRIGGERS: &str = "lib/apk/db/triggers";

/// apk-tools `APK_SCRIPT_*` order (apk_package.h).
const SCRIPT_ORDER: [&str; 7] = [
    "pre-install",
    "post-install",
    "pre-deinstall",
    "post-deinstall",
    "pre-upgrade",
    "post-upgrade",
    "trigger",
];

/// One package as installed by us.
#[derive(Debug, Clone)]
pub struct Installed {
    pub pkg: Package,
    /// `.PKGINFO` `replaces` (space-separated) and `replaces_priority`.
    pub replaces: String,
    pub replaces_priority: Option<String>,
    /// `.PKGINFO` `triggers`: globs of directories.
    pub triggers: String,
    pub dirs: Vec<DirRec>,
    pub scripts: Vec<Script>,
}

fn acl(o: &super::owners::Owner) -> String {
    format!("{}:{}:{:o}", o.uid, o.gid, o.mode)
}

/// One `installed` record, blank line included.
pub fn render_record(i: &Installed) -> String {
    let mut s = String::new();
    i.pkg.write_header(&mut s);
    if !i.replaces.is_empty() {
        let _ = writeln!(s, "r:{}", i.replaces);
    }
    if let Some(q) = &i.replaces_priority {
        let _ = writeln!(s, "q:{q}");
    }
    for d in &i.dirs {
        let _ = writeln!(s, "F:{}", d.name);
        if d.acl != DEFAULT_DIR {
            let _ = writeln!(s, "M:{}", acl(&d.acl));
        }
        for f in &d.files {
            let _ = writeln!(s, "R:{}", f.name);
            if f.acl != DEFAULT_FILE {
                let _ = writeln!(s, "a:{}", acl(&f.acl));
            }
            if let Some(z) = &f.digest {
                let _ = writeln!(s, "Z:{z}");
            }
        }
    }
    s.push('\n');
    s
}

/// Splits an existing `installed` file into (name, record text) blocks.
pub fn split_installed(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let name = block.lines().find_map(|l| l.strip_prefix("P:")).unwrap_or_default();
        out.insert(name.to_string(), format!("{}\n\n", block.trim_matches('\n')));
    }
    out
}

/// Packages already installed in `root` (a `tar:` base), from its database.
pub fn read_installed(root: &Path) -> Result<Vec<Package>> {
    let p = root.join(INSTALLED);
    match fs::read_to_string(&p) {
        Ok(t) => parse_records(&t, &p.display().to_string(), usize::MAX),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_at(p)(e)),
    }
}

/// What goes into etc/apk besides the package records.
pub struct Meta<'a> {
    pub world: &'a [String],
    /// Installed packages this transaction replaced: their scripts and trigger
    /// lines go.
    pub replaced: &'a [Package],
    pub repositories: &'a [String],
    pub arch: &'a str,
    pub keys: &'a BTreeMap<String, Vec<u8>>,
}

/// Writes the database, merging with what a `tar:` base already had; every file
/// written is recorded as root-owned in `owners`.
pub fn write(root: &Path, new: &[Installed], meta: &Meta, owners: &mut Owners) -> Result<()> {
    let mut put = |rel: &str, bytes: &[u8], mode: u32| -> Result<()> {
        let p = root.join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(io_at(d))?;
        }
        fs::write(&p, bytes).map_err(io_at(&p))?;
        owners.set(rel, Owner { uid: 0, gid: 0, mode });
        Ok(())
    };
    let old = fs::read_to_string(root.join(INSTALLED)).unwrap_or_default();
    let mut records = split_installed(&old);
    for i in new {
        records.insert(i.pkg.name.clone(), render_record(i));
    }
    put(INSTALLED, records.into_values().collect::<String>().as_bytes(), 0o644)?;
    put(SCRIPTS, &scripts_tar(root, new, meta.replaced)?, 0o644)?;
    let mut triggers: String = fs::read_to_string(root.join(TRIGGERS))
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            let id = l.split_whitespace().next().unwrap_or("");
            !meta.replaced.iter().any(|r| r.identity == id)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for i in new.iter().filter(|i| !i.triggers.is_empty()) {
        let _ = writeln!(triggers, "{} {}", i.pkg.identity, i.triggers);
    }
    put(TRIGGERS, triggers.as_bytes(), 0o644)?;
    put("lib/apk/db/lock", b"", 0o600)?;
    // Already merged and sorted by name (install.rs), as apk writes it.
    let mut world: Vec<&String> = meta.world.iter().collect();
    world.dedup();
    let world: String = world.iter().map(|w| format!("{w}\n")).collect();
    put("etc/apk/world", world.as_bytes(), 0o644)?;
    let repos: String = meta.repositories.iter().map(|r| format!("{r}\n")).collect();
    put("etc/apk/repositories", repos.as_bytes(), 0o644)?;
    put("etc/apk/arch", format!("{}\n", meta.arch).as_bytes(), 0o644)?;
    for (name, pem) in meta.keys {
        put(&format!("etc/apk/keys/{name}"), pem, 0o644)?;
    }
    Ok(())
}

/// scripts.tar: the old entries (but those of replaced packages), then each new package's scripts named
/// `<name>-<version>.<identity>.<action>`, GNU tar as apk writes it.
fn scripts_tar(root: &Path, new: &[Installed], replaced: &[Package]) -> Result<Vec<u8>> {
    let path = root.join(SCRIPTS);
    let mut b = tar::Builder::new(Vec::new());
    let err = |e: std::io::Error| io_at(&path)(e);
    if let Ok(old) = fs::read(&path) {
        let mut ar = tar::Archive::new(&old[..]);
        for e in ar.entries().map_err(err)? {
            let mut e = e.map_err(err)?;
            let h = e.header().clone();
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            if replaced
                .iter()
                .any(|r| name.starts_with(&format!("{}.{}.", r.nv(), r.identity)))
            {
                continue;
            }
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut body).map_err(err)?;
            b.append(&h, &body[..]).map_err(err)?;
        }
    }
    for i in new {
        // apk stores scripts in its own action order, not the control tar's.
        let mut scripts: Vec<&Script> = i.scripts.iter().collect();
        scripts.sort_by_key(|s| {
            SCRIPT_ORDER
                .iter()
                .position(|a| *a == s.action)
                .unwrap_or(SCRIPT_ORDER.len())
        });
        for s in scripts {
            let mut h = tar::Header::new_gnu();
            let name = format!("{}.{}.{}", i.pkg.nv(), i.pkg.identity, s.action);
            h.set_path(&name).map_err(err)?;
            h.set_size(s.body.len() as u64);
            h.set_mode(0o755);
            h.set_mtime(s.mtime);
            h.set_uid(0);
            h.set_gid(0);
            let _ = h.set_username("root");
            let _ = h.set_groupname("root");
            h.set_cksum();
            b.append(&h, &s.body[..]).map_err(err)?;
        }
    }
    b.into_inner().map_err(err)
}
