//! Differential test of an upgrade against the real apk-tools 2.14 (issue 17): the
//! same `add` on the same older tree, by apk and by the builder (`--source tar:`),
//! compared as apk_oracle.rs compares a fresh install (oracle_support: path set,
//! types, modes, owners, link targets, content hashes, the installed database record
//! by record, world, scripts.tar; the same allow-list).
//!
//! The older tree. The fixtures hold Alpine 3.19.1 packages and a 3.19.4 minirootfs,
//! whose busybox, busybox-binsh, ca-certificates-bundle and libcrypto3 are newer than
//! the 3.19.1 files: a real pair of versions, taken in the downgrade direction (apk
//! runs the same code for both: the upgrade scripts with both versions, file
//! migration, the old version's files purged). The tree is the minirootfs as
//! apk-tools leaves it after `apk add '!ssl_client'` (apk itself removes ssl_client:
//! its 3.19.1 version, which install_if would bring back after the busybox change, is
//! not among the fixture files), plus two local edits: a line appended to
//! /etc/ssl/openssl.cnf (a config file of libcrypto3) and an /etc/chrony/chrony.conf
//! no package owns (chrony ships one). Made once, packed as a tarball, unpacked for
//! apk and given to the builder as its `tar:` source.
//!
//! The transaction: `busybox-binsh=1.36.1-r15` (pinned: downgrade; it wants
//! `busybox=1.36.1-r15`, so the installed busybox is replaced because a dependency
//! needs it), `libcrypto3=3.1.4-r5` and `ca-certificates-bundle=20230506-r0`
//! (pinned downgrades of packages with files in /etc), `chrony` (new, with its
//! pre-install adduser). apk keeps both edited/unowned files and writes `.apk-new`
//! beside them; the builder must do exactly the same.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;
mod oracle_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use apk_support::*;
use oracle_support::*;

const ADD: [&str; 4] = [
    "busybox-binsh=1.36.1-r15",
    "libcrypto3=3.1.4-r5",
    "ca-certificates-bundle=20230506-r0",
    "chrony",
];

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The older tree (see the module comment), packed into `tarball`.
fn older_tree(tool: &Path, repo: &Path, dir: &Path, tarball: &Path) {
    fs::create_dir_all(dir).unwrap();
    let mini = fixtures().join("minirootfs/alpine-minirootfs-3.19.4-x86_64.tar.gz");
    sh(Command::new("tar").arg("xzpf").arg(&mini).arg("-C").arg(dir));
    run_apk(tool, repo, dir, &[], &["!ssl_client"]);
    let cnf = dir.join("etc/ssl/openssl.cnf");
    let mut text = fs::read_to_string(&cnf).unwrap();
    text.push_str("# local change\n");
    fs::write(&cnf, text).unwrap();
    fs::create_dir_all(dir.join("etc/chrony")).unwrap();
    fs::write(dir.join("etc/chrony/chrony.conf"), "server ntp.example.org iburst\n").unwrap();
    sh(Command::new("tar")
        .args(["--numeric-owner", "-cpf"])
        .arg(tarball)
        .arg("-C")
        .arg(dir)
        .arg("."));
}

#[test]
fn upgrade_of_an_older_tree_matches_apk_tools() {
    if !needs_root("upgrade_of_an_older_tree_matches_apk_tools") {
        return;
    }
    let (_guard, base, tool, repo) = workspace();
    let tarball = base.join("older.tar");
    older_tree(&tool, &repo, &base.join("older"), &tarball);

    let reference = base.join("apk-root");
    fs::create_dir(&reference).unwrap();
    sh(Command::new("tar").arg("xpf").arg(&tarball).arg("-C").arg(&reference));
    let apk_log = run_apk(&tool, &repo, &reference, &[], &ADD);
    // The facts this test is about, on apk's side, so a fixture change cannot make
    // it vacuous.
    for line in [
        "Downgrading busybox (1.36.1-r19 -> 1.36.1-r15)",
        "Downgrading busybox-binsh (1.36.1-r19 -> 1.36.1-r15)",
        "Downgrading libcrypto3 (3.1.7-r0 -> 3.1.4-r5)",
        "Installing chrony (4.5-r0)",
    ] {
        assert!(apk_log.contains(line), "apk-tools did not say {line:?}:\n{apk_log}");
    }
    for kept in ["etc/ssl/openssl.cnf.apk-new", "etc/chrony/chrony.conf.apk-new"] {
        assert!(reference.join(kept).is_file(), "apk-tools wrote no {kept}:\n{apk_log}");
    }

    let ours = base.join("builder-root");
    let mut s = settings(&repo.display().to_string(), &base.join("cache"));
    s.cache_downloads = false;
    install_and_compare(&reference, &ours, &ADD, s, Some(tarball), &apk_log);
    // The edits survived on both sides (the comparison above says they are equal).
    let cnf = fs::read_to_string(ours.join("etc/ssl/openssl.cnf")).unwrap();
    assert!(cnf.ends_with("# local change\n"));
}
