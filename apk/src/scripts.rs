//! Install scripts run chrooted in the target when the build host can (chroot.rs:
//! root, and the target's architecture). Without that, what Zero-OS needs from them
//! is done here natively and said in the build log; every other script is listed as skipped with
//! its package, so nothing is silently lost:
//! - busybox `.post-install`/`.trigger` (`busybox --install -s`): applet symlinks
//!   made from the package's own applet list, etc/busybox-paths.d/busybox;
//! - alpine-baselayout `.pre-install` (`addgroup -S -g 42 shadow`): the group;
//! - users and groups of daemons (`adduser -S` in chrony, openssh, ...): declared in
//!   configs/apk.toml and written to etc/passwd, etc/group, etc/shadow.

use std::collections::BTreeMap;
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
    let mut skipped = Vec::new();
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
                    skipped.push(format!("{name}.{}", s.action));
                    format!(
                        "script {name} .{}: SKIPPED (not run on this build host, see the warning below)",
                        s.action
                    )
                }
                // Upgrade and removal scripts do not apply to a fresh root; they are kept
                // in scripts.tar for apk on the node.
                _ => continue,
            };
            log.push(line);
        }
    }
    if !skipped.is_empty() {
        log.push(format!(
            "WARNING: {} package scripts NOT run, the image lacks what they do: {}",
            skipped.len(),
            skipped.join(" ")
        ));
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

/// Names the packages' own install scripts create: the user of each `adduser` (its
/// first operand) and the group of each one-operand `addgroup` (with two it adds a
/// user to an existing group), as (users, groups).
pub fn created_by_scripts(new: &[Installed]) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let (mut users, mut groups) = (BTreeMap::new(), BTreeMap::new());
    for i in new {
        for s in i
            .scripts
            .iter()
            .filter(|s| s.action.starts_with("pre-") || s.action.starts_with("post-"))
        {
            let text = String::from_utf8_lossy(&s.body);
            for cmd in text.split(['\n', ';', '|', '&']) {
                let words: Vec<&str> = cmd.split_whitespace().collect();
                let Some(at) = words
                    .iter()
                    .position(|w| w.ends_with("adduser") || w.ends_with("addgroup"))
                else {
                    continue;
                };
                let mut operands = Vec::new();
                let mut it = words[at + 1..].iter();
                while let Some(w) = it.next() {
                    if w.contains(['>', '<']) {
                        continue;
                    }
                    match *w {
                        "-h" | "-g" | "-s" | "-G" | "-u" | "-k" => {
                            it.next();
                        }
                        o if o.starts_with('-') => {}
                        o => operands.push(o.trim_matches(['"', '\'']).to_string()),
                    }
                }
                let owner = i.pkg.nv();
                match (words[at].ends_with("adduser"), operands.as_slice()) {
                    (true, [u, ..]) => {
                        users.insert(u.clone(), owner);
                    }
                    (false, [g]) => {
                        groups.insert(g.clone(), owner);
                    }
                    _ => {}
                }
            }
        }
    }
    (users, groups)
}

/// The configs/apk.toml entries to apply: none unless `apply` (config_users), and
/// never one a package's script creates (its script, run or listed as not run, is
/// the authority). Returns them with the log lines saying what was left out.
pub fn config_accounts(
    new: &[Installed],
    groups: &[Group],
    users: &[User],
    apply: bool,
) -> (Vec<Group>, Vec<User>, Vec<String>) {
    let mut log = Vec::new();
    if !apply {
        if !groups.is_empty() || !users.is_empty() {
            log.push(format!(
                "configs: {} groups and {} users declared, not applied (config_users = false; --config-users applies them)",
                groups.len(),
                users.len()
            ));
        }
        return (Vec::new(), Vec::new(), log);
    }
    let (made_users, made_groups) = created_by_scripts(new);
    let groups = not_made(groups, "group", |g| &g.name, &made_groups, &mut log);
    let users = not_made(users, "user", |u| &u.name, &made_users, &mut log);
    (groups, users, log)
}

/// The config `entries` (groups or users, named by `name`) that no package's script
/// made (`made`: name to package), logging each one left out.
fn not_made<T: Clone>(
    entries: &[T],
    what: &str,
    name: impl Fn(&T) -> &String,
    made: &BTreeMap<String, String>,
    log: &mut Vec<String>,
) -> Vec<T> {
    entries
        .iter()
        .filter(|e| match made.get(name(e)) {
            Some(p) => {
                log.push(format!(
                    "{what} {}: created by {p}'s script, config entry not applied",
                    name(e)
                ));
                false
            }
            None => true,
        })
        .cloned()
        .collect()
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
        // A home of /dev/null (dnsmasq's) or in /proc is no directory to make.
        let pseudo = ["/dev/", "/proc/", "/sys/"]
            .iter()
            .any(|d| format!("{}/", u.home).starts_with(d));
        if !home.exists() && !pseudo {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Package;
    use crate::package::Script;

    fn pkg(name: &str, body: &str) -> Installed {
        Installed {
            pkg: Package {
                name: name.into(),
                version: "1-r0".into(),
                ..Package::default()
            },
            replaces: String::new(),
            replaces_priority: None,
            triggers: String::new(),
            dirs: Vec::new(),
            scripts: vec![Script {
                action: "pre-install".into(),
                body: body.as_bytes().to_vec(),
                mtime: 0,
            }],
        }
    }

    #[test]
    fn accounts_packages_create_are_left_to_them() {
        // chrony 4.5-r0's .pre-install, as shipped.
        let chrony = pkg(
            "chrony",
            "#!/bin/sh\naddgroup -S chrony 2>/dev/null\nadduser -S -D -H -h /var/log/chrony -s /sbin/nologin -G chrony -g chrony chrony 2>/dev/null\naddgroup chrony wheel || true\nexit 0\n",
        );
        let (u, g) = created_by_scripts(std::slice::from_ref(&chrony));
        assert_eq!(u.keys().collect::<Vec<_>>(), ["chrony"]);
        assert_eq!(g.keys().collect::<Vec<_>>(), ["chrony"], "two operands add to a group");
        let groups = vec![
            Group {
                name: "chrony".into(),
                gid: 500,
            },
            Group {
                name: "zos".into(),
                gid: 900,
            },
        ];
        let users = vec![User {
            name: "chrony".into(),
            uid: 500,
            gid: 500,
            home: "/dev/null".into(),
            shell: "/sbin/nologin".into(),
            gecos: String::new(),
        }];
        let (g, u, log) = config_accounts(std::slice::from_ref(&chrony), &groups, &users, true);
        assert_eq!(g, [groups[1].clone()]);
        assert!(u.is_empty());
        assert!(
            log.iter()
                .any(|l| l.contains("user chrony: created by chrony-1-r0's script")),
            "{log:?}"
        );
        let (g, u, log) = config_accounts(&[chrony], &groups, &users, false);
        assert!(
            g.is_empty() && u.is_empty() && log[0].contains("not applied"),
            "{log:?}"
        );
    }

    #[test]
    fn no_home_directory_for_dev_null() {
        let t = tempfile::tempdir().unwrap();
        let users = [User {
            name: "dnsmasq".into(),
            uid: 500,
            gid: 500,
            home: "/dev/null".into(),
            shell: "/sbin/nologin".into(),
            gecos: String::new(),
        }];
        let mut owners = Owners::default();
        fs::create_dir_all(t.path().join("etc")).unwrap();
        add_config_ids(t.path(), &[], &users, &mut owners).unwrap();
        assert!(!t.path().join("dev/null").exists());
        assert!(fs::read_to_string(t.path().join("etc/passwd"))
            .unwrap()
            .starts_with("dnsmasq:x:500:500:"));
    }
}
