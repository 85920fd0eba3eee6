//! `zos-builder components ...`: clap arguments and the handlers, here so main.rs only
//! gains one variant and one match arm.

use std::path::PathBuf;

use super::{update, Endpoints, Lock};

#[derive(clap::Subcommand, Debug)]
pub enum ComponentsCmd {
    /// Show the lock: each component's source, pin and install path.
    List {
        #[arg(long, default_value = "configs/components.lock", value_name = "PATH")]
        lock: PathBuf,
    },
    /// Get components into the cache (download, or build a `git` source once) and print
    /// where each is with its sha256; `.ci/run` builds zinit this way before the tests.
    Fetch {
        #[arg(long, default_value = "configs/components.lock", value_name = "PATH")]
        lock: PathBuf,
        /// Components to get.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Re-pin GitHub components to their latest release: tag, asset and sha256 per
    /// architecture (ZOS_GITHUB_API / ZOS_GITHUB_DOWNLOAD point elsewhere than GitHub).
    Update {
        #[arg(long, default_value = "configs/components.lock", value_name = "PATH")]
        lock: PathBuf,
        /// Only these components [default: every GitHub one].
        names: Vec<String>,
    },
}

pub fn run(cmd: ComponentsCmd) -> anyhow::Result<()> {
    match cmd {
        ComponentsCmd::List { lock } => {
            let l = Lock::load(&lock)?;
            for c in &l.components {
                let from = match c.source {
                    super::SourceKind::Github => format!(
                        "github {} {}",
                        c.repo.as_deref().unwrap_or(""),
                        c.tag.as_deref().unwrap_or("")
                    ),
                    super::SourceKind::Crates => format!(
                        "crates {}@{}",
                        c.krate.as_deref().unwrap_or(""),
                        c.version.as_deref().unwrap_or("")
                    ),
                    super::SourceKind::Path => format!("path {}", c.path.clone().unwrap_or_default().display()),
                    super::SourceKind::Git => format!(
                        "git {} at {}",
                        c.path.clone().unwrap_or_default().display(),
                        c.commit.as_deref().unwrap_or("")
                    ),
                };
                println!("{} -> {}: {from}", c.name, c.install);
                for (arch, a) in &c.assets {
                    let pin = a.unpinned_reason().unwrap_or_else(|| format!("sha256 {}", a.sha256));
                    println!("  {arch}: {} ({pin})", a.name);
                }
            }
        }
        ComponentsCmd::Fetch { lock, names } => {
            let l = Lock::load(&lock)?;
            let opts = super::FetchOptions {
                cache: zos_host::Cache::from_env()?,
                cache_downloads: true,
                verify: true,
                release: false,
                arch: crate::knobs::TargetArch::Amd64,
                endpoints: Endpoints::from_env(),
                // `path` sources are relative to the lock; a bare file name means the current dir.
                lock_dir: lock
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), PathBuf::from),
                scratch: std::env::temp_dir(),
            };
            for n in &names {
                let c = l.get(n).ok_or_else(|| super::ComponentError::Unknown {
                    name: n.clone(),
                    lock: lock.clone(),
                })?;
                println!("{}", super::fetch(c, &opts)?.note);
            }
        }
        ComponentsCmd::Update { lock, names } => {
            let changes = update::update(&lock, &Endpoints::from_env(), &names)?;
            for c in &changes {
                println!("{} {}: {} -> {} sha256 {}", c.component, c.arch, c.old, c.new, c.sha256);
            }
            println!("{}: {} assets pinned", lock.display(), changes.len());
        }
    }
    Ok(())
}
