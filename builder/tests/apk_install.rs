//! Installing the real Alpine 3.19.1 fixture repository, served over HTTP on
//! 127.0.0.1: resolution, extraction, script handling, the cache and offline mode,
//! and owners/setuid bits in the packed cpio.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;

use std::fs;
use std::path::Path;
use std::sync::atomic::Ordering;

use apk_support::*;
use zos_builder::apk::dep::Dep;
use zos_builder::apk::{install, ApkError, Request};
use zos_builder::cpio::read_image;
use zos_builder::{build_image, Compression, ImageRequest};

fn world(atoms: &[&str]) -> Vec<Dep> {
    atoms.iter().map(|a| Dep::parse(a).unwrap()).collect()
}

fn request(root: &Path, settings: zos_builder::apk::Settings, atoms: &[&str]) -> Request {
    Request {
        root: root.to_owned(),
        world: world(atoms),
        settings,
        base_tar: None,
        log_path: Some(root.with_file_name("build.log")),
        verbose: false,
    }
}

/// ssl_client would join through install_if (busybox + libssl3), as with apk, but
/// the fixture holds only the D: closure; `!ssl_client` keeps it out, as in apk.
const BASE: &[&str] = &["alpine-base", "!ssl_client"];

#[test]
fn alpine_base_over_http_then_offline_from_cache() {
    let t = tempfile::tempdir().unwrap();
    let srv = serve(repo319());
    let cache = t.path().join("cache");
    let root = t.path().join("rootfs");
    let r = install(&request(&root, settings(&srv.url, &cache), BASE)).unwrap();
    // The closure of alpine-base in this repository (chrony is the other 4 + deps).
    for p in [
        "alpine-base-3.19.1-r0",
        "musl-1.2.4_git20230717-r4",
        "busybox-1.36.1-r15",
        "busybox-binsh-1.36.1-r15",
        "apk-tools-2.14.0-r5",
        "openrc-0.52.1-r2",
        "libcrypto3-3.1.4-r5",
    ] {
        assert!(
            r.installed.contains(&p.to_string()),
            "{p} missing from {:?}",
            r.installed
        );
    }
    assert!(!r.installed.iter().any(|p| p.starts_with("chrony")));
    // Dependencies first: musl before everything that links it.
    let pos = |n: &str| r.installed.iter().position(|p| p.starts_with(n)).unwrap();
    assert!(pos("musl-1.2") < pos("busybox-1.36") && pos("busybox-1.36") < pos("busybox-binsh"));
    // Files, links, applets.
    assert!(root.join("bin/busybox").is_file());
    assert_eq!(fs::read_link(root.join("bin/sh")).unwrap(), Path::new("/bin/busybox"));
    assert_eq!(fs::read_link(root.join("bin/ls")).unwrap(), Path::new("/bin/busybox"));
    assert_eq!(
        fs::read_link(root.join("lib/libc.musl-x86_64.so.1")).unwrap(),
        Path::new("ld-musl-x86_64.so.1")
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/apk/world")).unwrap(),
        // Sorted by name, `!` aside, as apk-tools writes it (apk_upgrade_oracle).
        "alpine-base\n!ssl_client\n"
    );
    assert_eq!(fs::read_to_string(root.join("etc/apk/arch")).unwrap(), "x86_64\n");
    assert!(root
        .join("etc/apk/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
        .is_file());
    let log = fs::read_to_string(t.path().join("build.log")).unwrap();
    if zos_builder::apk::chroot::ScriptRunner::new(&root, "x86_64").is_ok() {
        // As root the scripts run in the target (builder/tests/apk_oracle.rs compares
        // the result with apk-tools').
        for sc in ["openrc-0.52.1-r2.post-install", "busybox-1.36.1-r15.post-install"] {
            assert!(log.contains(&format!("script {sc}: ran chrooted")), "{log}");
        }
        let group = fs::read_to_string(root.join("etc/group")).unwrap();
        assert!(group.contains("\nshadow:x:42:"), "{group}");
    } else {
        assert!(log.contains("script openrc-0.52.1-r2 .post-install: SKIPPED"), "{log}");
        assert!(
            log.contains("script busybox-1.36.1-r15 .post-install: done natively"),
            "{log}"
        );
        assert!(
            log.contains("group shadow (gid 42) added") || log.contains("done natively (group shadow"),
            "{log}"
        );
        assert!(log.contains("applet links to /bin/busybox"), "{log}");
    }
    assert!(
        log.contains("signed by alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"),
        "{log}"
    );

    // Owners and setuid bits end up in the cpio, read back with the builder's reader.
    let img = t.path().join("img.cpio");
    build_image(&ImageRequest {
        rootfs: Some(root.clone()),
        compression: Compression::None,
        output: img.clone(),
        ..ImageRequest::default()
    })
    .unwrap();
    let seg = read_image(&fs::read(&img).unwrap()).unwrap();
    let e = |n: &str| {
        seg[0]
            .entries
            .iter()
            .find(|e| e.name == Path::new(n))
            .unwrap_or_else(|| panic!("{n} not in cpio"))
            .clone()
    };
    let shadow = e("etc/shadow");
    assert_eq!((shadow.uid, shadow.gid, shadow.mode & 0o7777), (0, 42, 0o640));
    let bbsuid = e("bin/bbsuid");
    assert_eq!((bbsuid.uid, bbsuid.gid, bbsuid.mode & 0o7777), (0, 0, 0o4111));
    assert_eq!(e("tmp").mode & 0o7777, 0o1777);
    assert_eq!(e("var/empty").mode & 0o7777, 0o555);
    assert_eq!(e("root").mode & 0o7777, 0o700);
    assert_eq!(e("bin/busybox").uid, 0);

    // Offline, same cache: works without the network.
    let hits = srv.hits.load(Ordering::SeqCst);
    let mut s = settings(&srv.url, &cache);
    s.offline = true;
    let root2 = t.path().join("rootfs2");
    let r2 = install(&request(&root2, s.clone(), BASE)).unwrap();
    assert_eq!(r2.installed, r.installed);
    assert_eq!(srv.hits.load(Ordering::SeqCst), hits, "offline mode touched the server");
    assert_eq!(
        fs::read(root2.join("lib/apk/db/installed")).unwrap(),
        fs::read(root.join("lib/apk/db/installed")).unwrap()
    );

    // Offline with an empty cache: a clear error naming the index URL.
    s.cache_dir = Some(t.path().join("empty-cache"));
    let e = install(&request(&t.path().join("rootfs3"), s.clone(), BASE)).unwrap_err();
    assert!(matches!(e, ApkError::Offline { .. }), "{e}");
    assert!(
        e.to_string().contains(&format!("{}/x86_64/APKINDEX.tar.gz", srv.url)),
        "{e}"
    );
    // Offline with CACHE_DOWNLOADS=0.
    s.cache_downloads = false;
    let e = install(&request(&t.path().join("rootfs4"), s, BASE)).unwrap_err();
    assert!(matches!(e, ApkError::OfflineNoCache { .. }), "{e}");
}

#[test]
fn offline_package_missing_from_cache_is_named() {
    let t = tempfile::tempdir().unwrap();
    let srv = serve(repo319());
    let cache = t.path().join("cache");
    install(&request(&t.path().join("a"), settings(&srv.url, &cache), &["zlib"])).unwrap();
    let mut s = settings(&srv.url, &cache);
    s.offline = true;
    let e = install(&request(&t.path().join("b"), s, &["scanelf"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("offline mode") && e.contains("scanelf-1.3.7-r2.apk"), "{e}");
}

#[test]
fn local_directory_and_file_url_repositories() {
    let t = tempfile::tempdir().unwrap();
    for repo in [
        repo319().display().to_string(),
        format!("file://{}", repo319().display()),
    ] {
        let root = t.path().join(format!("r{}", repo.len()));
        let r = install(&request(&root, settings(&repo, &t.path().join("c")), &["scanelf"])).unwrap();
        assert_eq!(r.installed, ["musl-1.2.4_git20230717-r4", "scanelf-1.3.7-r2"]);
        assert!(root.join("usr/bin/scanelf").is_file());
        // The image names the configured mirror, not the build host's path.
        assert_eq!(
            fs::read_to_string(root.join("etc/apk/repositories")).unwrap(),
            format!("{IMAGE_REPOSITORY}\n")
        );
    }
}

#[test]
fn users_and_groups_from_config() {
    let t = tempfile::tempdir().unwrap();
    let mut s = settings(&repo319().display().to_string(), &t.path().join("c"));
    // Not asked for: the entries are not applied.
    s.groups.push(zos_builder::apk::config::Group {
        name: "zos".into(),
        gid: 900,
    });
    let unasked = t.path().join("unasked");
    let r = install(&request(&unasked, s.clone(), &["alpine-baselayout"])).unwrap();
    assert!(!fs::read_to_string(unasked.join("etc/group")).unwrap().contains("zos:"));
    assert!(
        r.log.iter().any(|l| l.contains("not applied (config_users")),
        "{:?}",
        r.log
    );
    s.groups.clear();
    s.config_users = true;
    s.groups.push(zos_builder::apk::config::Group {
        name: "zos".into(),
        gid: 900,
    });
    s.users.push(zos_builder::apk::config::User {
        name: "zos".into(),
        uid: 900,
        gid: 900,
        home: "/var/lib/zos".into(),
        shell: "/sbin/nologin".into(),
        gecos: "zos".into(),
    });
    let root = t.path().join("root");
    install(&request(&root, s, &["alpine-baselayout"])).unwrap();
    let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(
        passwd.ends_with("\nzos:x:900:900:zos:/var/lib/zos:/sbin/nologin\n"),
        "{passwd}"
    );
    // Alpine's passwd already has sshd: declared users that exist are left alone.
    assert_eq!(passwd.lines().filter(|l| l.starts_with("sshd:")).count(), 1);
    let group = fs::read_to_string(root.join("etc/group")).unwrap();
    assert!(
        group.contains("\nzos:x:900:\n") && group.contains("shadow:x:42:"),
        "{group}"
    );
    assert!(fs::read_to_string(root.join("etc/shadow"))
        .unwrap()
        .contains("zos:!::0:::::"));
    assert!(root.join("var/lib/zos").is_dir());
    let owners = fs::read_to_string(zos_builder::apk::owners::sidecar_for(&root)).unwrap();
    assert!(owners.contains("\n900 900 0755 var/lib/zos\n"), "{owners}");
}
