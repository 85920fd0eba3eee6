//! Shared by the apk_* tests: the fixture repository (read in place from
//! ../shared/alpine-fixtures, never copied into the project), a tiny HTTP server on
//! 127.0.0.1 serving a directory, derived broken repositories in temp dirs, and
//! settings pointing at all that.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use zos_builder::apk::config::Settings;

/// `../shared/alpine-fixtures` from the workspace root; ZOS_ALPINE_FIXTURES overrides.
pub fn fixtures() -> PathBuf {
    if let Some(p) = std::env::var_os("ZOS_ALPINE_FIXTURES") {
        return p.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/alpine-fixtures")
}

pub fn repo319() -> PathBuf {
    fixtures().join("v3.19.1-iso-x86_64")
}

/// The shipped Alpine keys (configs/keys).
pub fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/keys")
}

/// A repository dir of symlinks to the fixture files (cheap; the originals stay
/// read-only), minus `drop`.
pub fn link_repo(into: &Path, drop: &[&str]) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    for e in std::fs::read_dir(repo319()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if !drop.contains(&name.as_str()) {
            std::os::unix::fs::symlink(e.path(), into.join(&name)).unwrap();
        }
    }
    into.to_owned()
}

#[path = "../http_support/mod.rs"]
mod http;

pub struct Server {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
}

/// Serves the files of `dir` by their last path component, so
/// `<url>/x86_64/busybox-1.36.1-r15.apk` is `dir/busybox-1.36.1-r15.apk`.
pub fn serve(dir: PathBuf) -> Server {
    let (base, hits) = http::serve(move |path| {
        let name = path.rsplit('/').next().unwrap_or("");
        (!name.is_empty()).then(|| std::fs::read(dir.join(name)).ok()).flatten()
    });
    Server {
        url: format!("{base}/alpine/v3.19/main"),
        hits,
    }
}

/// The image's repositories line in [`settings`].
pub const IMAGE_REPOSITORY: &str = "https://dl-cdn.alpinelinux.org/alpine/v3.19/main";

/// Settings for one repository line, the shipped keys and a private cache.
pub fn settings(repo: &str, cache: &Path) -> Settings {
    Settings {
        repositories: vec![repo.to_string()],
        // What the image's etc/apk/repositories must say (not the fixture path).
        image_repositories: vec![IMAGE_REPOSITORY.to_string()],
        arch: "x86_64".into(),
        keys_dir: keys(),
        allow_untrusted: false,
        verify_checksums: true,
        cache_downloads: true,
        offline: false,
        cache_dir: Some(cache.to_owned()),
        groups: Vec::new(),
        users: Vec::new(),
        config_users: false,
    }
}

/// Gzip members of a file: (raw bytes of each member).
pub fn members(buf: &[u8]) -> Vec<Vec<u8>> {
    zos_builder::apk::gzip::split_members(buf, "test")
        .unwrap()
        .into_iter()
        .map(|m| buf[m.raw].to_vec())
        .collect()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A signature member as abuild makes it: a tar with one `.SIGN.RSA.<key>` entry,
/// without end-of-archive blocks.
pub fn sig_member(entry: &str, sig: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_path(entry).unwrap();
    h.set_size(sig.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut t = h.as_bytes().to_vec();
    t.extend_from_slice(sig);
    t.resize(t.len().div_ceil(512) * 512, 0);
    gzip(&t)
}
