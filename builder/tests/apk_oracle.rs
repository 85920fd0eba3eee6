//! Differential test against the real apk-tools 2.14 (issue 17): the same package list
//! from the same fixture repository is installed by apk (unpacked from the fixture's
//! own apk-tools, musl, libcrypto3, libssl3, zlib and run on this host) and by the
//! builder, then both roots are compared entry by entry: path set, type, mode,
//! uid/gid, symlink target, file content hash; the installed database record by
//! record; world; scripts.tar names.
//!
//! Allowed differences (ALLOWED in oracle_support, each with its reason): mtimes are not compared
//! (apk stamps the time of the run on what scripts make and on scripts.tar entries),
//! database record order is not compared (apk writes in install order, the builder in
//! name order; both read back the same), etc/apk/repositories (apk given `-X` writes
//! none; the builder writes the configured mirrors, which is what the image needs)
//! and etc/apk/keys (apk given `--keys-dir` copies none; the builder installs the
//! trusted keys so apk on the node can verify).
//!
//! Needs root: apk chroots to run the package scripts, and so does the builder.
//! The list is `alpine-baselayout busybox busybox-suid chrony`, not the issue's
//! `alpine-base chrony busybox-suid`: the fixture repository lacks `ssl_client` and
//! `chrony-openrc`, which alpine-base pulls in through install_if (apk then reports
//! "package mentioned in index not found").

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;
mod oracle_support;

use apk_support::*;
use oracle_support::*;

const WORLD: [&str; 4] = ["alpine-baselayout", "busybox", "busybox-suid", "chrony"];
#[test]
fn fresh_install_matches_apk_tools() {
    if !needs_root("fresh_install_matches_apk_tools") {
        return;
    }
    // ZOS_ORACLE_KEEP=1 keeps both roots for a look (the path is printed).
    let (_guard, base, tool, repo) = workspace();
    let reference = base.join("apk-root");
    run_apk(&tool, &repo, &reference, &["--initdb"], &WORLD);

    let ours = base.join("builder-root");
    let mut s = settings(&repo.display().to_string(), &base.join("cache"));
    s.cache_downloads = false;
    install_and_compare(&reference, &ours, &WORLD, s, None, "");
}
