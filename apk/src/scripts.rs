//! Install scripts run chrooted in the target when the build host can (chroot.rs:
//! root, and the target's architecture). Without that, what Zero-OS needs from them
//! is done here natively and said in the build log; every other script is listed as skipped with
//! its package, so nothing is silently lost:
//! - busybox `.post-install`/`.trigger` (`busybox --install -s`): applet symlinks
//!   made from the package's own applet list, etc/busybox-paths.d/busybox;
//! - alpine-baselayout `.pre-install` (`addgroup -S -g 42 shadow`): the group;
//! - users and groups of daemons (`adduser -S` in chrony, openssh, ...): declared in
//!   configs/apk.toml and written to etc/passwd, etc/group, etc/shadow.

use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::config::{Group, User};
use super::db::Installed;
use super::error::{io_at, Result};
use super::owners::{Owner, Owners};

pub const APPLET_LIST: &str = "etc/busybox-paths.d/busybox";

/// Handles the scripts of `new` packages; returns the log lines.
pub fn handle(
    root: &Path,
    new: &[Installed],
    groups: &[Group],
    users: &[User],
    owners: &mut Owners,
) -> Result<Vec<String>> {
    let mut log = Vec::new();
    let mut groups = groups.to_vec();
    for i in new {
        for s in &i.scripts {
            let name = i.pkg.nv();
            let line = match (i.pkg.name.as_str(), s.action.as_str()) {
                ("busybox", "post-install" | "trigger") => {
                    format!("script {name} .{}: done natively (applet links below)", s.action)
                }
                ("alpine-baselayout", "pre-install") => {
                    groups.push(Group {
                        name: "shadow".into(),
                        gid: 42,
                    });
                    format!("script {name} .pre-install: done natively (group shadow, gid 42)")
                }
                ("alpine-baselayout", "post-install") => {
                    format!("script {name} .post-install: done natively (etc/shadow root:shadow 0640 comes from the package's tar header)")
                }
                (_, "pre-install" | "post-install" | "trigger") => {
                    format!("script {name} .{}: SKIPPED (install scripts are not run on the build host; declare users/groups in configs/apk.toml)", s.action)
                }
                // Upgrade and removal scripts do not apply to a fresh root; they are kept
                // in scripts.tar for apk on the node.
                _ => continue,
            };
            log.push(line);
        }
    }
    log.extend(add_config_ids(root, &groups, users, owners)?);
    if new.iter().any(|i| i.pkg.name == "busybox") || root.join(APPLET_LIST).is_file() {
        let n = busybox_links(root, owners)?;
        log.push(format!(
            "busybox: {n} applet links to /bin/busybox made from {APPLET_LIST}"
        ));
    }
    Ok(log)
}

/// The `[[group]]`/`[[user]]` entries of configs/apk.toml, for names the root does
/// not have yet (a package's script may have made them already); returns log lines.
pub fn add_config_ids(root: &Path, groups: &[Group], users: &[User], owners: &mut Owners) -> Result<Vec<String>> {
    let mut log = Vec::new();
    for g in groups {
        if add_line(
            root,
            "etc/group",
            &g.name,
            &format!("{}:x:{}:", g.name, g.gid),
            0o644,
            owners,
        )? {
            log.push(format!("group {} (gid {}) added", g.name, g.gid));
        }
    }
    for u in users {
        let added = add_line(
            root,
            "etc/passwd",
            &u.name,
            &format!("{}:x:{}:{}:{}:{}:{}", u.name, u.uid, u.gid, u.gecos, u.home, u.shell),
            0o644,
            owners,
        )?;
        add_line(
            root,
            "etc/shadow",
            &u.name,
            &format!("{}:!::0:::::", u.name),
            0o640,
            owners,
        )?;
        let home = root.join(u.home.trim_start_matches('/'));
        if !home.exists() {
            fs::create_dir_all(&home).map_err(io_at(&home))?;
            owners.set(
                u.home.trim_start_matches('/'),
                Owner {
                    uid: u.uid,
                    gid: u.gid,
                    mode: 0o755,
                },
            );
        }
        if added {
            log.push(format!(
                "user {} (uid {}, gid {}, home {}) added",
                u.name, u.uid, u.gid, u.home
            ));
        }
    }
    Ok(log)
}

/// Appends `line` to `rel` unless an entry called `name` is there. Returns whether
/// it was added.
fn add_line(root: &Path, rel: &str, name: &str, line: &str, mode: u32, owners: &mut Owners) -> Result<bool> {
    let p = root.join(rel);
    let text = fs::read_to_string(&p).unwrap_or_default();
    if text.lines().any(|l| l.split(':').next() == Some(name)) {
        return Ok(false);
    }
    if !p.exists() {
        owners.map.entry(rel.into()).or_insert(Owner { uid: 0, gid: 0, mode });
    }
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(io_at(&p))?;
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(f, "{sep}{line}").map_err(io_at(&p))?;
    Ok(true)
}

/// `busybox --install -s`: a symlink to /bin/busybox at each applet path that is
/// free (an installed real binary wins, as with busybox, which never overwrites).
pub fn busybox_links(root: &Path, owners: &mut Owners) -> Result<usize> {
    let list_path = root.join(APPLET_LIST);
    let list = fs::read_to_string(&list_path).map_err(io_at(&list_path))?;
    let mut n = 0;
    for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some(rel) = super::extract::clean(applet) else {
            continue;
        };
        let Ok(rel) = super::extract::resolve_parent(root, &rel) else {
            continue;
        };
        let link = root.join(&rel);
        if link.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        symlink("/bin/busybox", &link).map_err(io_at(&link))?;
        owners.set(
            rel,
            Owner {
                uid: 0,
                gid: 0,
                mode: 0o777,
            },
        );
        n += 1;
    }
    Ok(n)
}
