//! Getting one component's file: from the cache or GitHub (checked against the lock),
//! from a local path, or built from crates.io.
//!
//! GitHub release assets are cached at
//! `<cache>/components/github/<owner>/<repo>/<tag>/<arch>/<asset>`. A cached copy is
//! checked again on every use (a bad one is fetched again once, or refused offline). A
//! download goes to a temp file and is renamed into place only after its sha256
//! matched, so a corrupt file never sits in the cache.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::lock::{Component, SourceKind};
use super::ComponentError;
use crate::knobs::TargetArch;

/// Where GitHub is. Tests point both at a server on 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The REST API (`components update`): `ZOS_GITHUB_API`, default https://api.github.com.
    pub api: String,
    /// Release downloads: `ZOS_GITHUB_DOWNLOAD`, default https://github.com.
    pub download: String,
}

impl Endpoints {
    pub fn from_env() -> Endpoints {
        let get = |k: &str, d: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| d.to_string())
                .trim_end_matches('/')
                .to_string()
        };
        Endpoints {
            api: get("ZOS_GITHUB_API", "https://api.github.com"),
            download: get("ZOS_GITHUB_DOWNLOAD", "https://github.com"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub cache: zos_host::Cache,
    pub cache_downloads: bool,
    pub verify: bool,
    /// BUILDMODE=release: every component must be pinned, VERIFY_CHECKSUMS or not.
    pub release: bool,
    pub arch: TargetArch,
    pub endpoints: Endpoints,
    /// The lock's directory: `path` sources are relative to it.
    pub lock_dir: PathBuf,
    /// Downloads land here when CACHE_DOWNLOADS=0.
    pub scratch: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    /// One line for build.log: where it came from and what was checked.
    pub note: String,
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(20))
        .timeout_read(Duration::from_secs(120))
        .user_agent(concat!("zos-builder/", env!("CARGO_PKG_VERSION")))
        .build()
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// The component's file for this build.
pub fn fetch(c: &Component, opts: &FetchOptions) -> Result<Fetched, ComponentError> {
    match c.source {
        SourceKind::Github => github(c, opts),
        SourceKind::Path => local(c, opts),
        SourceKind::Crates => super::crates::build(c, opts),
        SourceKind::Git => super::source::build(c, opts),
    }
}

fn local(c: &Component, opts: &FetchOptions) -> Result<Fetched, ComponentError> {
    let path = opts.lock_dir.join(c.path.as_deref().unwrap_or(Path::new("")));
    let sum = sha256_file(&path).map_err(|cause| ComponentError::Io {
        name: c.name.clone(),
        op: "read",
        path: path.clone(),
        cause,
    })?;
    // A local file may carry a pin too (assets.<arch>); without one it is the
    // operator's own file and taken as is, except in release mode.
    match c.assets.get(opts.arch.as_str()) {
        Some(a) if a.unpinned_reason().is_none() && a.sha256 != sum => {
            return Err(ComponentError::Mismatch {
                name: c.name.clone(),
                url: path.display().to_string(),
                want: a.sha256.clone(),
                got: sum,
            });
        }
        Some(a) if a.unpinned_reason().is_none() => {}
        _ if opts.release => {
            return Err(ComponentError::ReleaseUnpinned {
                name: c.name.clone(),
                arch: opts.arch.as_str().into(),
                why: format!("local file {} has no sha256 in the lock", path.display()),
            })
        }
        _ => {}
    }
    Ok(Fetched {
        note: format!("{}: local {} sha256 {sum}", c.name, path.display()),
        path,
    })
}

fn github(c: &Component, opts: &FetchOptions) -> Result<Fetched, ComponentError> {
    let arch = opts.arch.as_str();
    let asset = c.assets.get(arch).ok_or_else(|| ComponentError::NoAsset {
        name: c.name.clone(),
        arch: arch.into(),
    })?;
    let unpinned = asset.unpinned_reason();
    if let Some(why) = &unpinned {
        if opts.release {
            return Err(ComponentError::ReleaseUnpinned {
                name: c.name.clone(),
                arch: arch.into(),
                why: why.clone(),
            });
        }
        if opts.verify {
            return Err(ComponentError::Unverified {
                name: c.name.clone(),
                arch: arch.into(),
                why: why.clone(),
            });
        }
    }
    let check = opts.verify && unpinned.is_none();
    let repo = c.repo.as_deref().unwrap_or_default();
    let tag = c.tag.as_deref().unwrap_or_default();
    let url = format!(
        "{}/{repo}/releases/download/{tag}/{}",
        opts.endpoints.download, asset.name
    );
    let cached = opts
        .cache
        .root()
        .join("components/github")
        .join(repo)
        .join(tag)
        .join(arch)
        .join(&asset.name);
    let io = |op, path: &Path| {
        let (name, path) = (c.name.clone(), path.to_path_buf());
        move |cause| ComponentError::Io { name, op, path, cause }
    };
    let dest = if opts.cache_downloads {
        cached.clone()
    } else {
        opts.scratch.join(&asset.name)
    };
    if opts.cache_downloads && cached.is_file() {
        let sum = sha256_file(&cached).map_err(io("read", &cached))?;
        if !check || sum == asset.sha256 {
            let how = if check {
                "checked"
            } else {
                "NOT checked (VERIFY_CHECKSUMS=0)"
            };
            return Ok(Fetched {
                note: format!("{}: cached {} sha256 {sum} {how}", c.name, cached.display()),
                path: cached,
            });
        }
        if opts.cache.offline() {
            return Err(ComponentError::Mismatch {
                name: c.name.clone(),
                url: cached.display().to_string(),
                want: asset.sha256.clone(),
                got: sum,
            });
        }
        // A cached copy that no longer matches the lock (the lock was updated, or the
        // file was damaged) is fetched again rather than trusted.
        fs::remove_file(&cached).map_err(io("remove", &cached))?;
    }
    if opts.cache.offline() {
        return Err(ComponentError::Offline {
            name: c.name.clone(),
            url,
            path: cached,
        });
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io("mkdir -p", dir))?;
    let tmp = dir.join(format!(".{}.part-{}", asset.name, std::process::id()));
    let sum = download(&c.name, &url, &tmp)?;
    if check && sum != asset.sha256 {
        let _ = fs::remove_file(&tmp);
        return Err(ComponentError::Mismatch {
            name: c.name.clone(),
            url,
            want: asset.sha256.clone(),
            got: sum,
        });
    }
    fs::rename(&tmp, &dest).map_err(io("rename", &tmp))?;
    let how = if check {
        "checked"
    } else {
        "NOT checked (VERIFY_CHECKSUMS=0)"
    };
    Ok(Fetched {
        note: format!("{}: downloaded {url} sha256 {sum} {how}", c.name),
        path: dest,
    })
}

/// GET `url` into `to`, returning the sha256 of what was written.
pub(crate) fn download(name: &str, url: &str, to: &Path) -> Result<String, ComponentError> {
    let fail = |why: String| ComponentError::Download {
        name: name.to_string(),
        url: url.to_string(),
        why,
    };
    let resp = agent().get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, r) => fail(format!("HTTP {code} {}", r.status_text())),
        ureq::Error::Transport(t) => fail(t.to_string()),
    })?;
    let total = resp.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let mut progress = crate::progress::Progress::new(name, total);
    let mut body = resp.into_reader();
    let mut out = File::create(to).map_err(|cause| ComponentError::Io {
        name: name.to_string(),
        op: "create",
        path: to.to_path_buf(),
        cause,
    })?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = body.read(&mut buf).map_err(|e| {
            let _ = fs::remove_file(to);
            fail(format!("reading the body: {e}"))
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|cause| ComponentError::Io {
            name: name.to_string(),
            op: "write",
            path: to.to_path_buf(),
            cause,
        })?;
        progress.add(n as u64);
    }
    progress.finish();
    Ok(hex::encode(h.finalize()))
}
