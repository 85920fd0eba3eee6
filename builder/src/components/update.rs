//! `zos-builder components update`: re-pin GitHub components deliberately.
//!
//! For each `source = "github"` component (or the ones named), it asks
//! `<api>/repos/<owner>/<repo>/releases/latest` for the newest tag, finds each
//! architecture's asset in that release (the locked name with the old version replaced
//! by the new one, else the same name), downloads it, and writes the tag, asset name
//! and sha256 with `verify = true`. Nothing is written unless every asset was found
//! and downloaded, so a half-updated lock never exists.

use std::path::Path;

use serde::Deserialize;

use super::fetch::{agent, download, Endpoints};
use super::lock::{Asset, Lock, SourceKind};
use super::ComponentError;

#[derive(Debug, Deserialize)]
struct Release {
    tag_name: String,
    #[serde(default)]
    assets: Vec<ReleaseAsset>,
}

#[derive(Debug, Deserialize)]
struct ReleaseAsset {
    name: String,
    browser_download_url: String,
}

/// One changed (or confirmed) asset, for the CLI's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub component: String,
    pub arch: String,
    pub old: String,
    pub new: String,
    pub sha256: String,
}

fn latest(ep: &Endpoints, repo: &str) -> Result<Release, ComponentError> {
    let url = format!("{}/repos/{repo}/releases/latest", ep.api);
    let fail = |why: String| ComponentError::Api { url: url.clone(), why };
    let resp = agent()
        .get(&url)
        .set("Accept", "application/vnd.github+json")
        .call()
        .map_err(|e| match e {
            ureq::Error::Status(code, r) => fail(format!("HTTP {code} {}", r.status_text())),
            ureq::Error::Transport(t) => fail(t.to_string()),
        })?;
    let text = resp.into_string().map_err(|e| fail(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| fail(format!("not a release: {e}")))
}

/// `corex-2.1.4-amd64-linux-static` with tag 2.1.4 -> 2.1.5 gives
/// `corex-2.1.5-amd64-linux-static`; the leading `v` of tags is ignored.
fn renamed(asset: &str, old_tag: &str, new_tag: &str) -> String {
    let (o, n) = (old_tag.trim_start_matches('v'), new_tag.trim_start_matches('v'));
    if o.is_empty() {
        asset.to_string()
    } else {
        asset.replace(o, n)
    }
}

/// Updates the lock at `path` in place; `only` empty means every GitHub component.
pub fn update(path: &Path, ep: &Endpoints, only: &[String]) -> Result<Vec<Change>, ComponentError> {
    let mut lock = Lock::load(path)?;
    for n in only {
        if lock.get(n).is_none() {
            return Err(ComponentError::Unknown {
                name: n.clone(),
                lock: path.to_owned(),
            });
        }
    }
    let scratch = scratch_dir()?;
    let mut changes = Vec::new();
    for c in lock.components.iter_mut() {
        if c.source != SourceKind::Github || !(only.is_empty() || only.contains(&c.name)) {
            continue;
        }
        let repo = c.repo.clone().unwrap_or_default();
        let old_tag = c.tag.clone().unwrap_or_default();
        let rel = latest(ep, &repo)?;
        let mut new_assets = c.assets.clone();
        for (arch, a) in &c.assets {
            let want = renamed(&a.name, &old_tag, &rel.tag_name);
            let found = rel
                .assets
                .iter()
                .find(|r| r.name == want)
                .or_else(|| rel.assets.iter().find(|r| r.name == a.name))
                .ok_or_else(|| ComponentError::Api {
                    url: format!("{}/repos/{repo}/releases/latest", ep.api),
                    why: format!(
                        "release {} has no asset {want:?} for {} {arch} (assets: {})",
                        rel.tag_name,
                        c.name,
                        rel.assets
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            let sha256 = download(&c.name, &found.browser_download_url, &scratch.join("asset"))?;
            changes.push(Change {
                component: c.name.clone(),
                arch: arch.clone(),
                old: format!("{old_tag} {}", a.name),
                new: format!("{} {}", rel.tag_name, found.name),
                sha256: sha256.clone(),
            });
            new_assets.insert(
                arch.clone(),
                Asset {
                    name: found.name.clone(),
                    sha256,
                    verify: true,
                },
            );
        }
        c.tag = Some(rel.tag_name.clone());
        c.assets = new_assets;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let tmp = path.with_extension("lock.tmp");
    let io = |op, p: &Path| {
        let p = p.to_path_buf();
        move |cause| ComponentError::Io {
            name: "lock".into(),
            op,
            path: p,
            cause,
        }
    };
    std::fs::write(&tmp, lock.render()).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", &tmp))?;
    Ok(changes)
}

/// Where the downloads go to be hashed (they are not kept: the build fetches again).
fn scratch_dir() -> Result<std::path::PathBuf, ComponentError> {
    let dir = std::env::temp_dir().join(format!("zos-components-update-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|cause| ComponentError::Io {
        name: "lock".into(),
        op: "mkdir -p",
        path: dir.clone(),
        cause,
    })?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::renamed;

    #[test]
    fn asset_names_follow_the_tag() {
        assert_eq!(
            renamed("corex-2.1.4-amd64-linux-static", "2.1.4", "2.1.5"),
            "corex-2.1.5-amd64-linux-static"
        );
        assert_eq!(
            renamed("zinit-linux-x86_64", "v0.2.14", "v0.2.25"),
            "zinit-linux-x86_64"
        );
        assert_eq!(renamed("rfs", "v1.1.1", "v2.0.0"), "rfs");
    }
}
