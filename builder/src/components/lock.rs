//! configs/components.lock: one `[[component]]` table per binary.
//!
//! ```toml
//! [[component]]
//! name = "corex"
//! source = "github"            # github | crates | path | git
//! repo = "threefoldtech/corex"
//! tag = "2.1.4"
//! install = "/usr/bin/corex"   # path in the image, mode 0755
//! [component.assets.amd64]
//! name = "corex-2.1.4-amd64-linux-static"
//! sha256 = "..."               # 64 hex digits
//! verify = true                # false: the hash is a placeholder, never checked
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ComponentError;

/// What the shipped lock carries where a hash could not be computed yet (GitHub is not
/// reachable from the machine that wrote it). Never matches a real file.
pub const PLACEHOLDER_SHA256: &str = "UNPINNED-run-zos-builder-components-update";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Github,
    Crates,
    Path,
    /// Built from a git bundle or repository at a pinned commit (src/components/source.rs).
    Git,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub name: String,
    pub sha256: String,
    #[serde(default = "yes")]
    pub verify: bool,
}

fn yes() -> bool {
    true
}

impl Asset {
    /// Why this asset cannot be checked, if it cannot.
    pub fn unpinned_reason(&self) -> Option<String> {
        if !self.verify {
            return Some(format!(
                "its sha256 is not pinned (verify = false, sha256 = {:?})",
                self.sha256
            ));
        }
        let ok = self.sha256.len() == 64 && self.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        (!ok).then(|| format!("sha256 {:?} is not 64 hex digits", self.sha256))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub name: String,
    pub source: SourceKind,
    /// Path in the image (packed mode 0755, root-owned).
    pub install: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// crates: the crate name.
    #[serde(default, rename = "crate", skip_serializing_if = "Option::is_none")]
    pub krate: Option<String>,
    /// crates: the exact version (`cargo install NAME@VERSION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// crates: the binary to take [default: the crate name].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// path: a local file; git: a git bundle or repository; relative to the lock's
    /// directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// git: the commit to build (40 hex digits), checked after checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// github: the asset per TARGETARCH (amd64, arm64); path: an optional sha256.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assets: BTreeMap<String, Asset>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    #[serde(default, rename = "component")]
    pub components: Vec<Component>,
}

impl Lock {
    pub fn load(path: &Path) -> Result<Lock, ComponentError> {
        let err = |reason: String| ComponentError::Lock {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Lock::parse(&text).map_err(err)
    }

    pub fn parse(text: &str) -> Result<Lock, String> {
        let lock: Lock = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::BTreeSet::new();
        for c in &lock.components {
            if !seen.insert(c.name.as_str()) {
                return Err(format!("component {} is listed twice", c.name));
            }
            let need = |field: &str, v: bool| {
                if v {
                    Ok(())
                } else {
                    Err(format!("component {}: source {:?} needs `{field}`", c.name, c.source))
                }
            };
            match c.source {
                SourceKind::Github => {
                    need("repo", c.repo.as_deref().is_some_and(|r| r.split('/').count() == 2))?;
                    need("tag", c.tag.is_some())?;
                    need("assets", !c.assets.is_empty())?;
                }
                SourceKind::Crates => {
                    need("crate", c.krate.is_some())?;
                    need("version", c.version.is_some())?;
                }
                SourceKind::Path => need("path", c.path.is_some())?,
                SourceKind::Git => {
                    need("path", c.path.is_some())?;
                    need(
                        "commit (40 hex digits)",
                        c.commit
                            .as_deref()
                            .is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit())),
                    )?;
                }
            }
            // Repo, tag and asset names become cache paths and URL parts: one plain
            // name each (the repo: owner/name), never `..` or a `/` of their own.
            let names = c.repo.iter().flat_map(|r| r.split('/')).chain(c.tag.as_deref());
            let assets = c.assets.values().map(|a| a.name.as_str());
            if let Some(bad) = names.chain(assets).chain([c.name.as_str()]).find(|n| !plain_name(n)) {
                return Err(format!(
                    "component {}: {bad:?} is not a plain name (no `/`, `..`, `.` or NUL; repo is OWNER/NAME)",
                    c.name
                ));
            }
            if !c.install.starts_with('/') || c.install.split('/').any(|p| p == "..") {
                return Err(format!(
                    "component {}: install {:?} must be an absolute path without `..`",
                    c.name, c.install
                ));
            }
        }
        Ok(lock)
    }

    /// The lock as TOML, with a header saying it is generated (`components update`).
    pub fn render(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# Pinned components (docs/GITHUB.md). Rewritten by `zos-builder components update`;\n\
             # edit by hand to add a component or a source, then run the update to pin it.\n\n{body}"
        )
    }

    pub fn get(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// One path component that stays where it is put.
fn plain_name(n: &str) -> bool {
    !n.is_empty() && n != "." && n != ".." && !n.contains(['/', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[[component]]
name = "corex"
source = "github"
repo = "threefoldtech/corex"
tag = "2.1.4"
install = "/usr/bin/corex"
[component.assets.amd64]
name = "corex-2.1.4-amd64-linux-static"
sha256 = "PLACEHOLDER"
verify = false

[[component]]
name = "zinit01"
source = "crates"
crate = "zinit"
version = "0.1.0"
bin = "zinit"
install = "/sbin/zinit"

[[component]]
name = "tool"
source = "path"
path = "bin/tool"
install = "/usr/bin/tool"

[[component]]
name = "zinit"
source = "git"
path = "../src/zinit.bundle"
commit = "40d8375b7377b3f47905e15246fa988c200757ff"
tag = "v0.2.11"
install = "/sbin/zinit"
"#;

    #[test]
    fn parse_render_parse() {
        let l = Lock::parse(SAMPLE).unwrap();
        assert_eq!(l.components.len(), 4);
        let corex = l.get("corex").unwrap();
        assert!(corex.assets["amd64"]
            .unpinned_reason()
            .unwrap()
            .contains("verify = false"));
        let again = Lock::parse(&l.render()).unwrap();
        assert_eq!(again, l);
    }

    #[test]
    fn bad_locks_say_what_is_wrong() {
        let e = Lock::parse("[[component]]\nname = \"x\"\nsource = \"github\"\ninstall = \"/x\"\n").unwrap_err();
        assert!(e.contains("needs `repo`"), "{e}");
        let e =
            Lock::parse("[[component]]\nname = \"x\"\nsource = \"path\"\npath = \"a\"\ninstall = \"x\"\n").unwrap_err();
        assert!(e.contains("absolute path"), "{e}");
        let e = Lock::parse("[[component]]\nname = \"x\"\nsource = \"ftp\"\ninstall = \"/x\"\n").unwrap_err();
        assert!(e.contains("ftp"), "{e}");
        let e = Lock::parse(
            "[[component]]\nname = \"x\"\nsource = \"git\"\npath = \"a\"\ncommit = \"v1\"\ninstall = \"/x\"\n",
        )
        .unwrap_err();
        assert!(e.contains("needs `commit (40 hex digits)`"), "{e}");
        let two = "[[component]]\nname = \"x\"\nsource = \"path\"\npath = \"a\"\ninstall = \"/x\"\n";
        assert!(Lock::parse(&format!("{two}{two}")).unwrap_err().contains("twice"));
    }

    #[test]
    fn names_that_would_leave_the_cache_are_refused() {
        let lock = |repo: &str, tag: &str, asset: &str| {
            format!(
                "[[component]]\nname = \"x\"\nsource = \"github\"\ninstall = \"/x\"\nrepo = {repo:?}\ntag = {tag:?}\n\
                 [component.assets.amd64]\nname = {asset:?}\nsha256 = \"{}\"\n",
                "ab".repeat(32)
            )
        };
        assert!(Lock::parse(&lock("o/r", "1.0", "a.tar")).is_ok());
        for (repo, tag, asset) in [
            ("../r", "1", "a"),
            ("o/..", "1", "a"),
            ("o/r", "../../x", "a"),
            ("o/r", "1", ".."),
            ("o/r", "1", "d/a"),
        ] {
            let e = Lock::parse(&lock(repo, tag, asset)).unwrap_err();
            assert!(e.contains("is not a plain name"), "{repo} {tag} {asset}: {e}");
        }
    }

    #[test]
    fn hash_shapes() {
        let a = |sha: &str, verify| Asset {
            name: "a".into(),
            sha256: sha.into(),
            verify,
        };
        assert!(a(&"ab".repeat(32), true).unpinned_reason().is_none());
        assert!(a("abc", true).unpinned_reason().unwrap().contains("64 hex"));
        assert!(a(&"ab".repeat(32), false).unpinned_reason().is_some());
    }
}
