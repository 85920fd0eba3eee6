//! The component downloader and `components update` against a fake GitHub on
//! 127.0.0.1 serving good, corrupt and missing release assets.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod gh_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use gh_support::{sha256, FakeGithub};
use zos_builder::components::{fetch, ComponentError, Endpoints, FetchOptions, Lock, SourceKind};
use zos_builder::knobs::TargetArch;

const GOOD: &[u8] = b"\x7fELF corex 2.1.4 binary";

fn lock_text(sha: &str, verify: bool) -> String {
    format!(
        r#"
[[component]]
name = "corex"
source = "github"
repo = "threefoldtech/corex"
tag = "2.1.4"
install = "/usr/bin/corex"
[component.assets.amd64]
name = "corex-2.1.4-amd64-linux-static"
sha256 = "{sha}"
verify = {verify}

[[component]]
name = "tool"
source = "path"
path = "tool.bin"
install = "/usr/bin/tool"
"#
    )
}

struct Env {
    dir: tempfile::TempDir,
    gh: FakeGithub,
}

impl Env {
    fn new() -> Env {
        let gh = FakeGithub::start();
        gh.asset("threefoldtech/corex", "2.1.4", "corex-2.1.4-amd64-linux-static", GOOD);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("tool.bin"), b"tool").unwrap();
        Env { dir, gh }
    }

    fn lock(&self, sha: &str, verify: bool) -> Lock {
        Lock::parse(&lock_text(sha, verify)).unwrap()
    }

    fn opts(&self, offline: bool) -> FetchOptions {
        FetchOptions {
            cache: zos_qemu::Cache::new(self.dir.path().join("cache"), offline),
            cache_downloads: true,
            verify: true,
            release: false,
            arch: TargetArch::Amd64,
            endpoints: Endpoints {
                api: self.gh.base.clone(),
                download: self.gh.base.clone(),
            },
            lock_dir: self.dir.path().to_owned(),
            scratch: self.dir.path().join("scratch"),
        }
    }

    fn cached(&self) -> PathBuf {
        self.dir
            .path()
            .join("cache/components/github/threefoldtech/corex/2.1.4/amd64/corex-2.1.4-amd64-linux-static")
    }
}

#[test]
fn good_asset_is_downloaded_checked_cached_then_reused_offline() {
    let e = Env::new();
    let lock = e.lock(&sha256(GOOD), true);
    let corex = lock.get("corex").unwrap();
    let got = fetch(corex, &e.opts(false)).unwrap();
    assert_eq!(got.path, e.cached());
    assert_eq!(fs::read(&got.path).unwrap(), GOOD);
    assert!(
        got.note.contains("downloaded") && got.note.contains(" checked"),
        "{}",
        got.note
    );
    let hits = e.gh.hits();
    // Offline: the cache alone, no request.
    let again = fetch(corex, &e.opts(true)).unwrap();
    assert!(again.note.contains("cached"), "{}", again.note);
    assert_eq!(e.gh.hits(), hits);
}

#[test]
fn corrupt_asset_is_refused_and_not_kept() {
    let e = Env::new();
    let lock = e.lock(&sha256(b"what the lock pinned"), true);
    let err = fetch(lock.get("corex").unwrap(), &e.opts(false)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ComponentError::Mismatch { .. }), "{msg}");
    assert!(
        msg.contains("/threefoldtech/corex/releases/download/2.1.4/corex-2.1.4-amd64-linux-static")
            && msg.contains(&sha256(GOOD))
            && msg.contains("file not kept"),
        "{msg}"
    );
    assert!(!e.cached().exists());
    assert!(
        fs::read_dir(e.cached().parent().unwrap()).unwrap().next().is_none(),
        "no partial file"
    );
}

#[test]
fn missing_asset_names_the_url_and_status() {
    let e = Env::new();
    let mut lock = e.lock(&sha256(GOOD), true);
    lock.components[0].tag = Some("9.9.9".into());
    let msg = fetch(&lock.components[0], &e.opts(false)).unwrap_err().to_string();
    assert!(
        msg.contains("releases/download/9.9.9/") && msg.contains("HTTP 404"),
        "{msg}"
    );
}

#[test]
fn unpinned_entries_fail_loudly_unless_verification_is_off() {
    let e = Env::new();
    let lock = e.lock(zos_builder::components::PLACEHOLDER_SHA256, false);
    let msg = fetch(lock.get("corex").unwrap(), &e.opts(false))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("component corex (amd64)")
            && msg.contains("VERIFY_CHECKSUMS is on")
            && msg.contains("zos-builder components update"),
        "{msg}"
    );
    let mut o = e.opts(false);
    o.verify = false;
    let got = fetch(lock.get("corex").unwrap(), &o).unwrap();
    assert!(got.note.contains("NOT checked"), "{}", got.note);
    // Release builds pin everything, whatever VERIFY_CHECKSUMS says.
    o.release = true;
    let msg = fetch(lock.get("corex").unwrap(), &o).unwrap_err().to_string();
    assert!(msg.contains("release builds pin every component"), "{msg}");
}

#[test]
fn offline_without_cache_names_url_and_cache_path() {
    let e = Env::new();
    let lock = e.lock(&sha256(GOOD), true);
    let msg = fetch(lock.get("corex").unwrap(), &e.opts(true))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("ZOS_OFFLINE=1") && msg.contains(&e.cached().display().to_string()),
        "{msg}"
    );
    assert_eq!(e.gh.hits(), 0);
}

#[test]
fn a_damaged_cache_entry_is_fetched_again_online_and_refused_offline() {
    let e = Env::new();
    let lock = e.lock(&sha256(GOOD), true);
    let c = lock.get("corex").unwrap();
    fetch(c, &e.opts(false)).unwrap();
    fs::write(e.cached(), b"bit rot").unwrap();
    assert!(matches!(fetch(c, &e.opts(true)), Err(ComponentError::Mismatch { .. })));
    let got = fetch(c, &e.opts(false)).unwrap();
    assert!(got.note.contains("downloaded"));
    assert_eq!(fs::read(e.cached()).unwrap(), GOOD);
}

#[test]
fn cache_downloads_off_keeps_the_cache_empty() {
    let e = Env::new();
    let lock = e.lock(&sha256(GOOD), true);
    let mut o = e.opts(false);
    o.cache_downloads = false;
    let got = fetch(lock.get("corex").unwrap(), &o).unwrap();
    assert!(got.path.starts_with(e.dir.path().join("scratch")));
    assert!(!e.cached().exists());
}

#[test]
fn local_paths_and_missing_arch() {
    let e = Env::new();
    let mut lock = e.lock(&sha256(GOOD), true);
    let got = fetch(lock.get("tool").unwrap(), &e.opts(false)).unwrap();
    assert_eq!(got.path, e.dir.path().join("tool.bin"));
    let mut o = e.opts(false);
    o.release = true;
    assert!(fetch(lock.get("tool").unwrap(), &o)
        .unwrap_err()
        .to_string()
        .contains("no sha256"));
    o.arch = TargetArch::Arm64;
    o.release = false;
    let msg = fetch(lock.get("corex").unwrap(), &o).unwrap_err().to_string();
    assert!(msg.contains("no asset for arm64"), "{msg}");
    // A local file with a pin that does not match.
    lock.components[1].assets.insert(
        "amd64".into(),
        zos_builder::components::Asset {
            name: "tool.bin".into(),
            sha256: sha256(b"other"),
            verify: true,
        },
    );
    assert!(matches!(
        fetch(lock.get("tool").unwrap(), &e.opts(false)),
        Err(ComponentError::Mismatch { .. })
    ));
}

fn cli(lock: &Path, gh: &FakeGithub, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zos-builder"))
        .args(["components", "update", "--lock"])
        .arg(lock)
        .args(args)
        .env("ZOS_GITHUB_API", &gh.base)
        .env("ZOS_GITHUB_DOWNLOAD", &gh.base)
        .output()
        .unwrap()
}

#[test]
fn components_update_pins_the_latest_release() {
    let e = Env::new();
    let newer: &[u8] = b"\x7fELF corex 2.1.5";
    e.gh.asset("threefoldtech/corex", "2.1.5", "corex-2.1.5-amd64-linux-static", newer);
    e.gh.latest(
        "threefoldtech/corex",
        "2.1.5",
        &["corex-2.1.5-amd64-linux-static", "corex-2.1.5-arm64-linux-static"],
    );
    let lock = e.dir.path().join("components.lock");
    fs::write(&lock, lock_text(zos_builder::components::PLACEHOLDER_SHA256, false)).unwrap();
    let out = cli(&lock, &e.gh, &[]);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{so}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        so.contains("corex amd64: 2.1.4 corex-2.1.4-amd64-linux-static -> 2.1.5 corex-2.1.5-amd64-linux-static"),
        "{so}"
    );
    let l = Lock::load(&lock).unwrap();
    let c = l.get("corex").unwrap();
    assert_eq!(c.tag.as_deref(), Some("2.1.5"));
    let a = &c.assets["amd64"];
    assert_eq!(
        (a.name.as_str(), a.sha256.clone(), a.verify),
        ("corex-2.1.5-amd64-linux-static", sha256(newer), true)
    );
    assert!(l.get("tool").is_some(), "other components kept");
    // The pinned lock now fetches and verifies.
    assert!(fetch(c, &e.opts(false)).unwrap().note.contains(" checked"));
}

#[test]
fn components_update_refuses_a_release_without_the_asset_and_leaves_the_lock() {
    let e = Env::new();
    e.gh.latest("threefoldtech/corex", "3.0.0", &["corex.tar.gz"]);
    let lock = e.dir.path().join("components.lock");
    let before = lock_text(zos_builder::components::PLACEHOLDER_SHA256, false);
    fs::write(&lock, &before).unwrap();
    let out = cli(&lock, &e.gh, &["corex"]);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        se.contains("release 3.0.0 has no asset \"corex-3.0.0-amd64-linux-static\"") && se.contains("corex.tar.gz"),
        "{se}"
    );
    assert_eq!(fs::read_to_string(&lock).unwrap(), before);
    // A repository without releases: the API URL and status are named.
    let mut l = Lock::parse(&before).unwrap();
    l.components[0].repo = Some("threefoldtech/none".into());
    fs::write(&lock, l.render()).unwrap();
    let se = String::from_utf8_lossy(&cli(&lock, &e.gh, &[]).stderr).into_owned();
    assert!(
        se.contains("/repos/threefoldtech/none/releases/latest: HTTP 404"),
        "{se}"
    );
    let se = String::from_utf8_lossy(&cli(&lock, &e.gh, &["nope"]).stderr).into_owned();
    assert!(se.contains("component nope is not in the lock"), "{se}");
}

#[test]
fn the_shipped_lock_parses_and_is_marked_unpinned() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/components.lock");
    let l = Lock::load(&p).unwrap();
    let names: Vec<&str> = l.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["zinit", "zinit-src", "corex", "rfs", "seektime"]);
    for c in l.components.iter().filter(|c| c.source == SourceKind::Github) {
        assert!(c.assets["amd64"].unpinned_reason().is_some(), "{}", c.name);
    }
}
