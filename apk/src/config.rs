//! Installer settings: configs/apk.toml, then environment overrides (the names the
//! seed's Docker build used: ALPINE_VERSION, TARGETARCH, CACHE_DOWNLOADS,
//! VERIFY_CHECKSUMS; plus ALPINE_MIRROR and ZOS_OFFLINE).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::dep::Dep;
use super::error::{ApkError, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub alpine: AlpineSection,
    #[serde(default, rename = "group")]
    pub groups: Vec<Group>,
    #[serde(default, rename = "user")]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlpineSection {
    /// `3.22` or `edge`.
    pub version: String,
    pub mirror: String,
    /// Repository names below `<mirror>/v<version>/`.
    pub repos: Vec<String>,
    /// Full repository lines (URL, `file://` or directory); replace mirror+repos.
    pub repositories: Vec<String>,
    /// The image's etc/apk/repositories (for apk on the node). Default: the
    /// http(s) lines the build uses, or, when it reads only local copies, the
    /// mirror + version + repos lines: never a path of the build host.
    pub image_repositories: Vec<String>,
    /// Apply the `[[group]]`/`[[user]]` entries (`--config-users` too). Off by
    /// default: packages' own scripts make their users.
    pub config_users: bool,
    /// Docker-style arch (amd64, arm64) or Alpine's (x86_64, aarch64).
    pub targetarch: String,
    /// Trusted keys dir, relative to the config file.
    pub keys: PathBuf,
    pub allow_untrusted: bool,
    pub verify_checksums: bool,
    pub cache_downloads: bool,
}

impl Default for AlpineSection {
    fn default() -> Self {
        AlpineSection {
            version: "3.22".into(),
            mirror: "https://dl-cdn.alpinelinux.org/alpine".into(),
            repos: vec!["main".into(), "community".into()],
            repositories: Vec::new(),
            image_repositories: Vec::new(),
            config_users: false,
            targetarch: "amd64".into(),
            keys: "keys".into(),
            allow_untrusted: false,
            verify_checksums: true,
            cache_downloads: true,
        }
    }
}

/// A group the image needs (what a package's pre-install `addgroup` would make).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    pub gid: u32,
}

/// A system user (what a pre-install `adduser -S` would make).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(default = "default_home")]
    pub home: String,
    #[serde(default = "default_shell")]
    pub shell: String,
    #[serde(default)]
    pub gecos: String,
}

fn default_home() -> String {
    "/var/empty".into()
}

fn default_shell() -> String {
    "/sbin/nologin".into()
}

/// Everything the installer needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub repositories: Vec<String>,
    /// What the image's etc/apk/repositories says (see AlpineSection).
    pub image_repositories: Vec<String>,
    /// Alpine arch name: x86_64, aarch64, ...
    pub arch: String,
    pub keys_dir: PathBuf,
    pub allow_untrusted: bool,
    pub verify_checksums: bool,
    pub cache_downloads: bool,
    pub offline: bool,
    /// Root of the download cache (`<cache>/apk` is used).
    pub cache_dir: Option<PathBuf>,
    pub groups: Vec<Group>,
    pub users: Vec<User>,
    /// Apply `groups`/`users` (for names no package's script creates).
    pub config_users: bool,
}

/// Docker's TARGETARCH names to Alpine's.
pub fn alpine_arch(targetarch: &str) -> String {
    match targetarch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "x86",
        "arm" => "armv7",
        other => other,
    }
    .to_string()
}

fn flag(v: &OsString) -> bool {
    !matches!(v.to_str().map(str::trim), Some("0" | "false" | "no" | "off" | ""))
}

impl Settings {
    /// Reads `path` (missing: defaults, keys from `configs/keys`) and applies `env`.
    pub fn load(path: &Path, env: impl Fn(&str) -> Option<OsString>) -> Result<Settings> {
        let cfg_err = |reason: String| ApkError::Config {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| cfg_err(e.to_string()))?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| cfg_err(e.to_string()))?;
        let mut a = file.alpine;
        let s = |k: &str| env(k).and_then(|v| v.into_string().ok()).filter(|v| !v.is_empty());
        if let Some(v) = s("ALPINE_VERSION") {
            a.version = v;
        }
        if let Some(v) = s("ALPINE_MIRROR") {
            a.mirror = v;
        }
        if let Some(v) = s("TARGETARCH") {
            a.targetarch = v;
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let branch = if a.version == "edge" {
            "edge".to_string()
        } else {
            format!("v{}", a.version.trim_start_matches('v'))
        };
        let mirror_lines: Vec<String> = a
            .repos
            .iter()
            .map(|r| format!("{}/{branch}/{r}", a.mirror.trim_end_matches('/')))
            .collect();
        let repositories = if a.repositories.is_empty() {
            mirror_lines.clone()
        } else {
            a.repositories.clone()
        };
        if repositories.is_empty() {
            return Err(cfg_err("no repositories".into()));
        }
        let image_repositories = if !a.image_repositories.is_empty() {
            a.image_repositories.clone()
        } else {
            let remote: Vec<String> = repositories
                .iter()
                .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
                .cloned()
                .collect();
            if remote.is_empty() {
                mirror_lines
            } else {
                remote
            }
        };
        Ok(Settings {
            repositories,
            image_repositories,
            arch: alpine_arch(&a.targetarch),
            keys_dir: base.join(&a.keys),
            allow_untrusted: a.allow_untrusted,
            verify_checksums: env("VERIFY_CHECKSUMS").map_or(a.verify_checksums, |v| flag(&v)),
            cache_downloads: env("CACHE_DOWNLOADS").map_or(a.cache_downloads, |v| flag(&v)),
            offline: zos_host::cache::offline_from(&env),
            cache_dir: zos_host::cache::resolve_dir(&env),
            groups: file.groups,
            users: file.users,
            config_users: a.config_users,
        })
    }
}

/// configs/packages.txt: dependencies separated by whitespace or newlines, `#`
/// comments to the end of the line.
pub fn parse_packages(text: &str, what: &Path) -> Result<Vec<Dep>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for atom in line.split_whitespace() {
            out.push(Dep::parse(atom).ok_or_else(|| ApkError::Config {
                path: what.to_owned(),
                reason: format!("line {}: bad package atom {atom:?}", n + 1),
            })?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_env_and_arch() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("apk.toml");
        std::fs::write(
            &p,
            "[alpine]\nrepos = [\"main\"]\n[[group]]\nname = \"sshd\"\ngid = 22\n",
        )
        .unwrap();
        let env = |k: &str| match k {
            "TARGETARCH" => Some("arm64".into()),
            "ALPINE_VERSION" => Some("3.21".into()),
            "VERIFY_CHECKSUMS" => Some("0".into()),
            _ => None,
        };
        let s = Settings::load(&p, env).unwrap();
        assert_eq!(s.repositories, ["https://dl-cdn.alpinelinux.org/alpine/v3.21/main"]);
        assert_eq!(s.arch, "aarch64");
        assert!(!s.verify_checksums && s.cache_downloads && !s.allow_untrusted);
        assert_eq!(
            s.groups,
            [Group {
                name: "sshd".into(),
                gid: 22
            }]
        );
        assert_eq!(s.image_repositories, s.repositories);
        assert!(!s.config_users, "config users only when asked for");
        // Local copies for the build: the image still names the configured mirror.
        std::fs::write(
            &p,
            "[alpine]\nversion = \"3.19\"\nrepositories = [\"/srv/alpine/main\", \"file:///x\"]\nconfig_users = true\n",
        )
        .unwrap();
        let s = Settings::load(&p, |_| None).unwrap();
        assert_eq!(s.repositories, ["/srv/alpine/main", "file:///x"]);
        assert_eq!(
            s.image_repositories,
            [
                "https://dl-cdn.alpinelinux.org/alpine/v3.19/main",
                "https://dl-cdn.alpinelinux.org/alpine/v3.19/community"
            ]
        );
        assert!(s.config_users);
        std::fs::write(
            &p,
            "[alpine]\nrepositories = [\"/srv/m\", \"https://m.example/a/v3.19/main\"]\n",
        )
        .unwrap();
        let s = Settings::load(&p, |_| None).unwrap();
        assert_eq!(s.image_repositories, ["https://m.example/a/v3.19/main"]);
        std::fs::write(
            &p,
            "[alpine]\nrepositories = [\"/srv/m\"]\nimage_repositories = [\"@edge https://e/x\"]\n",
        )
        .unwrap();
        assert_eq!(
            Settings::load(&p, |_| None).unwrap().image_repositories,
            ["@edge https://e/x"]
        );
        std::fs::write(&p, "[alpine]\nbogus = 1\n").unwrap();
        let e = Settings::load(&p, |_| None).unwrap_err().to_string();
        assert!(e.contains("apk.toml") && e.contains("bogus"), "{e}");
    }

    #[test]
    fn package_list() {
        let d = parse_packages(
            "busybox # the shell\n\n# x\nopenssl ca-certificates>=2\n",
            Path::new("p"),
        )
        .unwrap();
        assert_eq!(
            d.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            ["busybox", "openssl", "ca-certificates>=2"]
        );
        assert!(parse_packages("=bad\n", Path::new("p"))
            .unwrap_err()
            .to_string()
            .contains("line 1"));
    }
}
