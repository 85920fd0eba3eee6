//! Getting repository files: HTTP(S) mirrors through a download cache, `file://` URLs
//! and plain directories read in place. Offline mode serves only the cache and names
//! the first missing file, so a build never half-succeeds on stale input.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::ProgressBar;

use super::error::{io_at, ApkError, Result};

/// How a repository file is located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Http(String),
    Local(PathBuf),
}

impl Location {
    /// `https://...`, `http://...`, `file:///dir/...` or a filesystem path.
    pub fn parse(s: &str) -> Location {
        if s.starts_with("http://") || s.starts_with("https://") {
            Location::Http(s.to_string())
        } else if let Some(p) = s.strip_prefix("file://") {
            Location::Local(PathBuf::from(p))
        } else {
            Location::Local(PathBuf::from(s))
        }
    }

    pub fn join(&self, rel: &str) -> Location {
        match self {
            Location::Http(u) => Location::Http(format!("{}/{rel}", u.trim_end_matches('/'))),
            Location::Local(p) => Location::Local(p.join(rel)),
        }
    }

    pub fn display(&self) -> String {
        match self {
            Location::Http(u) => u.clone(),
            Location::Local(p) => p.display().to_string(),
        }
    }
}

/// A file and whether it came from the cache (a cached package that fails its
/// checksum is fetched again once, online).
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub from_cache: bool,
}

#[derive(Debug, Clone)]
pub struct Fetcher {
    /// `<cache>/apk`; None when CACHE_DOWNLOADS=0.
    pub cache: Option<PathBuf>,
    pub offline: bool,
    agent: ureq::Agent,
}

impl Fetcher {
    pub fn new(cache: Option<PathBuf>, offline: bool) -> Fetcher {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(20))
            .timeout_read(Duration::from_secs(120))
            .user_agent(concat!("zos-builder/", env!("CARGO_PKG_VERSION")))
            .build();
        Fetcher { cache, offline, agent }
    }

    /// Where an URL is cached: host and path under the cache root, so two mirrors
    /// never share an entry.
    pub fn cache_path(&self, url: &str) -> Option<PathBuf> {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let safe: Vec<String> = rest
            .split('/')
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
            .map(|c| c.replace(|ch: char| !(ch.is_ascii_alphanumeric() || "._-+=@~,".contains(ch)), "_"))
            .collect();
        Some(self.cache.as_ref()?.join(safe.join("/")))
    }

    /// Fetches `loc`. `prefer_cache`: packages (immutable by name) come from the cache
    /// when present; indexes (they change) are fetched fresh unless offline.
    pub fn get(&self, loc: &Location, prefer_cache: bool, bar: Option<&ProgressBar>) -> Result<Fetched> {
        let url = match loc {
            Location::Local(p) => {
                let bytes = fs::read(p).map_err(io_at(p))?;
                return Ok(Fetched {
                    bytes,
                    from_cache: false,
                });
            }
            Location::Http(u) => u,
        };
        let cached = self.cache_path(url);
        if let Some(c) = cached
            .as_ref()
            .filter(|c| (prefer_cache || self.offline) && c.is_file())
        {
            let bytes = fs::read(c).map_err(io_at(c))?;
            return Ok(Fetched {
                bytes,
                from_cache: true,
            });
        }
        if self.offline {
            return Err(match cached {
                Some(cache) => ApkError::Offline {
                    url: url.clone(),
                    cache,
                },
                None => ApkError::OfflineNoCache { url: url.clone() },
            });
        }
        let bytes = self.download(url, bar)?;
        if let Some(c) = cached {
            store(&c, &bytes)?;
        }
        Ok(Fetched {
            bytes,
            from_cache: false,
        })
    }

    /// Drops a cached copy that turned out bad.
    pub fn evict(&self, loc: &Location) {
        if let Location::Http(u) = loc {
            if let Some(c) = self.cache_path(u) {
                let _ = fs::remove_file(c);
            }
        }
    }

    fn download(&self, url: &str, bar: Option<&ProgressBar>) -> Result<Vec<u8>> {
        let fail = |reason: String| ApkError::Fetch {
            url: url.to_string(),
            reason,
        };
        let resp = self.agent.get(url).call().map_err(|e| match e {
            ureq::Error::Status(code, r) => fail(format!("HTTP {code} {}", r.status_text())),
            // Transport's Display repeats the URL, which the message already names.
            ureq::Error::Transport(t) => fail(match t.message() {
                Some(m) => format!("{}: {m}", t.kind()),
                None => t.kind().to_string(),
            }),
        })?;
        let len: Option<u64> = resp.header("Content-Length").and_then(|l| l.parse().ok());
        if let (Some(b), Some(l)) = (bar, len) {
            b.set_length(l);
        }
        let mut out = Vec::with_capacity(len.unwrap_or(0).min(1 << 28) as usize);
        let mut reader = resp.into_reader();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if let Some(b) = bar {
                b.inc(n as u64);
            }
        }
        if let Some(l) = len.filter(|&l| l != out.len() as u64) {
            return Err(fail(format!("short body: {} of {l} bytes", out.len())));
        }
        Ok(out)
    }
}

/// Writes a cache entry atomically (a killed build leaves no truncated file that a
/// later offline build would trust).
fn store(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d).map_err(io_at(d))?;
    }
    let tmp = path.with_extension(format!("part-{}", std::process::id()));
    fs::write(&tmp, bytes).map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_cache_paths() {
        assert_eq!(
            Location::parse("file:///srv/a").join("x86_64"),
            Location::Local("/srv/a/x86_64".into())
        );
        assert_eq!(
            Location::parse("https://m/alpine/").join("a.apk").display(),
            "https://m/alpine/a.apk"
        );
        let f = Fetcher::new(Some("/c".into()), false);
        assert_eq!(
            f.cache_path("https://h:80/v3.22/main/x86_64/a b.apk").unwrap(),
            Path::new("/c/h_80/v3.22/main/x86_64/a_b.apk")
        );
        assert_eq!(f.cache_path("http://h/../../etc").unwrap(), Path::new("/c/h/etc"));
    }
}
