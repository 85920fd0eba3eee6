//! User and group names of the target root (its etc/passwd and etc/group), used to
//! map tar owner names to ids the way apk does (`apk_resolve_uid`): by name in the
//! root being installed, falling back to the number in the tar header.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

#[derive(Debug, Default)]
pub struct Ids {
    users: HashMap<String, u32>,
    groups: HashMap<String, u32>,
}

fn table(path: &Path) -> HashMap<String, u32> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?.parse().ok()?;
            Some((name.to_string(), id))
        })
        .collect()
}

impl Ids {
    pub fn load(root: &Path) -> Ids {
        Ids {
            users: table(&root.join("etc/passwd")),
            groups: table(&root.join("etc/group")),
        }
    }

    pub fn uid(&self, name: Option<&str>, fallback: u32) -> u32 {
        name.and_then(|n| self.users.get(n).copied()).unwrap_or(fallback)
    }

    pub fn gid(&self, name: Option<&str>, fallback: u32) -> u32 {
        name.and_then(|n| self.groups.get(n).copied()).unwrap_or(fallback)
    }
}
