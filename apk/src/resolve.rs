//! Dependency resolution: from the world (configs/packages.txt) to the closure of
//! packages to install, in install order (dependencies first, as apk commits them).
//!
//! This is a greedy solver, not apk's full backtracking one: each name is resolved
//! once, preferring what is already installed, then a package of that very name, then
//! the highest `k:` provider priority, then the highest version, then the earliest
//! repository. That is what apk picks for a fresh root, and when it cannot satisfy
//! something it says which dependency, who wanted it and why, instead of guessing.
//!
//! On an existing tree (`--source`) an installed package is kept while it satisfies
//! what asks for it, and replaced as apk replaces it when it does not: a pinned world
//! atom (`busybox=1.36.1-r15`) or a dependency (`busybox-binsh` wants `busybox=` its
//! own version) picks another version from the repositories, higher or lower; an
//! installed package whose own dependencies the replacement broke is replaced in turn.
//! Names no repository provides are all collected and reported together.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::dep::Dep;
use super::error::{ApkError, Result};
use super::index::Package;
use super::version;

/// A package of the universe: from a repository or already installed in the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Src {
    Installed(usize),
    Avail(usize),
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Indexes into the available packages, dependencies before dependents.
    pub install: Vec<usize>,
    /// Choices worth a line in the build log (several providers for one name).
    pub notes: Vec<String>,
}

pub struct Resolver<'a> {
    avail: &'a [Package],
    installed: &'a [Package],
    /// name -> every package providing it, with the provided version.
    providers: BTreeMap<&'a str, Vec<(Src, Option<&'a str>)>>,
    selected: BTreeMap<&'a str, Src>,
    /// Installed packages that must give way (their dependencies broke).
    unfit: BTreeSet<Src>,
    notes: Vec<String>,
}

/// Why [`Resolver::choose`] found nothing.
enum NoChoice {
    /// No package of any version provides the name.
    Unknown,
    Other(ApkError),
}

impl<'a> Resolver<'a> {
    pub fn new(avail: &'a [Package], installed: &'a [Package]) -> Resolver<'a> {
        let mut providers: BTreeMap<&str, Vec<(Src, Option<&str>)>> = BTreeMap::new();
        let all = installed
            .iter()
            .enumerate()
            .map(|(i, p)| (Src::Installed(i), p))
            .chain(avail.iter().enumerate().map(|(i, p)| (Src::Avail(i), p)));
        for (src, p) in all {
            providers.entry(&p.name).or_default().push((src, Some(&p.version)));
            for pv in &p.provides {
                let v = match &pv.constraint {
                    super::dep::Constraint::Cmp { version, .. } => Some(version.as_str()),
                    _ => None,
                };
                providers.entry(&pv.name).or_default().push((src, v));
            }
        }
        let selected = installed
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), Src::Installed(i)))
            .collect();
        Resolver {
            avail,
            installed,
            providers,
            selected,
            unfit: BTreeSet::new(),
            notes: Vec::new(),
        }
    }

    fn pkg(&self, s: Src) -> &'a Package {
        match s {
            Src::Installed(i) => &self.installed[i],
            Src::Avail(i) => &self.avail[i],
        }
    }

    /// Selected providers of `dep` that satisfy it.
    fn satisfied(&self, dep: &Dep) -> Option<Src> {
        self.providers.get(dep.name.as_str())?.iter().find_map(|&(s, v)| {
            let p = self.pkg(s);
            (self.selected.get(p.name.as_str()) == Some(&s) && dep.accepts(v, &p.identity)).then_some(s)
        })
    }

    fn rank(&self, dep: &Dep, a: Src, b: Src) -> Ordering {
        let (pa, pb) = (self.pkg(a), self.pkg(b));
        let key = |s: Src, p: &Package| {
            (
                matches!(s, Src::Installed(_)),
                p.name == dep.name,
                p.provider_priority.unwrap_or(0),
            )
        };
        key(a, pa)
            .cmp(&key(b, pb))
            .then_with(|| version::compare(&pa.version, &pb.version))
            .then_with(|| pb.repo.cmp(&pa.repo))
            .then_with(|| pb.name.cmp(&pa.name))
    }

    /// May `s` be selected? Its name must be free, taken by `s` itself, or taken by
    /// an installed package (which an upgrade may replace).
    fn free_for(&self, s: Src) -> bool {
        !self.unfit.contains(&s)
            && self
                .selected
                .get(self.pkg(s).name.as_str())
                .is_none_or(|&sel| sel == s || matches!(sel, Src::Installed(_)))
    }

    fn choose(&mut self, dep: &Dep, by: &str) -> std::result::Result<Src, NoChoice> {
        let unsat = |reason: String| {
            NoChoice::Other(ApkError::Unsatisfiable {
                dep: dep.to_string(),
                required_by: by.to_string(),
                reason,
            })
        };
        let all = self.providers.get(dep.name.as_str()).cloned().unwrap_or_default();
        if all.is_empty() {
            return Err(NoChoice::Unknown);
        }
        let ok: Vec<Src> = all
            .iter()
            .filter(|&&(s, v)| dep.accepts(v, &self.pkg(s).identity))
            .map(|&(s, _)| s)
            .filter(|&s| self.free_for(s))
            .collect();
        let Some(&best) = ok.iter().max_by(|&&a, &&b| self.rank(dep, a, b)) else {
            let mut seen: Vec<String> = all
                .iter()
                .map(|&(s, v)| format!("{} ({})", self.pkg(s).nv(), v.unwrap_or("unversioned")))
                .collect();
            seen.dedup();
            return Err(unsat(format!(
                "available: {}; none matches (or its name is already taken by another version)",
                seen.join(", ")
            )));
        };
        let names: BTreeSet<&str> = ok.iter().map(|&s| self.pkg(s).name.as_str()).collect();
        if names.len() > 1 {
            self.notes.push(format!(
                "{dep} (for {by}): chose {} among {}",
                self.pkg(best).name,
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(best)
    }

    /// Resolves `world` into an install plan.
    pub fn resolve(mut self, world: &[Dep]) -> Result<Plan> {
        let mut queue: VecDeque<(Dep, String)> = world.iter().map(|d| (d.clone(), "world".to_string())).collect();
        let mut missing: Vec<(String, String)> = Vec::new();
        let mut conflicts: Vec<(Dep, String)> = Vec::new();
        // `!name` in the world also keeps install_if packages out, as in apk.
        let banned: BTreeSet<&str> = world.iter().filter(|d| d.conflict).map(|d| d.name.as_str()).collect();
        loop {
            while let Some((dep, by)) = queue.pop_front() {
                if dep.conflict {
                    conflicts.push((dep, by));
                    continue;
                }
                if self.satisfied(&dep).is_some() {
                    continue;
                }
                let s = match self.choose(&dep, &by) {
                    Ok(s) => s,
                    Err(NoChoice::Unknown) => {
                        missing.push((dep.to_string(), by));
                        continue;
                    }
                    Err(NoChoice::Other(e)) => return Err(e),
                };
                let p = self.pkg(s);
                if let Some(Src::Installed(old)) = self.selected.insert(&p.name, s) {
                    let old = &self.installed[old];
                    let how = match version::compare(&p.version, &old.version) {
                        Ordering::Less => "downgrading",
                        _ => "upgrading",
                    };
                    self.notes.push(format!(
                        "{how} {} ({} -> {}) for {dep} ({by})",
                        p.name, old.version, p.version
                    ));
                }
                queue.extend(p.depends.iter().map(|d| (d.clone(), p.nv())));
            }
            // An installed package kept so far whose dependencies a replacement broke
            // gives way too (busybox-binsh after busybox), as apk's solver does.
            let broken: Vec<(Src, String)> = self
                .selected
                .values()
                .filter(|s| matches!(s, Src::Installed(_)))
                .filter_map(|&s| {
                    let p = self.pkg(s);
                    let d = p.depends.iter().find(|d| !d.conflict && self.satisfied(d).is_none())?;
                    Some((s, format!("{} (its {d} changed)", p.nv())))
                })
                .collect();
            for (s, why) in broken {
                let name = self.pkg(s).name.as_str();
                self.unfit.insert(s);
                self.selected.remove(name);
                if let Some(d) = Dep::parse(name) {
                    queue.push_back((d, why));
                }
            }
            if !queue.is_empty() {
                continue;
            }
            // install_if (`i:`): a package joins once everything it lists is there.
            let mut added = false;
            for (i, p) in self.avail.iter().enumerate() {
                if p.install_if.is_empty()
                    || self.selected.contains_key(p.name.as_str())
                    || banned.contains(p.name.as_str())
                {
                    continue;
                }
                let newest = self
                    .avail
                    .iter()
                    .filter(|q| q.name == p.name)
                    .max_by(|a, b| version::compare(&a.version, &b.version));
                if newest.map(|q| q.identity != p.identity).unwrap_or(false) {
                    continue;
                }
                if p.install_if.iter().all(|d| self.satisfied(d).is_some()) {
                    self.selected.insert(&p.name, Src::Avail(i));
                    self.notes.push(format!(
                        "{} installed because of install_if {}",
                        p.nv(),
                        p.raw_install_if
                    ));
                    queue.extend(p.depends.iter().map(|d| (d.clone(), p.nv())));
                    added = true;
                }
            }
            if !added && queue.is_empty() {
                break;
            }
        }
        match missing.len() {
            0 => {}
            1 => {
                let (dep, required_by) = missing.remove(0);
                return Err(ApkError::Unsatisfiable {
                    dep,
                    required_by,
                    reason: "no package in the repositories provides it".into(),
                });
            }
            _ => return Err(ApkError::Missing { names: missing }),
        }
        // A replacement may have broken what an earlier choice relied on: say so
        // rather than install a root apk would call inconsistent.
        for &s in self.selected.values() {
            let p = self.pkg(s);
            if let Some(d) = p.depends.iter().find(|d| !d.conflict && self.satisfied(d).is_none()) {
                return Err(ApkError::Unsatisfiable {
                    dep: d.to_string(),
                    required_by: p.nv(),
                    reason: "no longer met after the versions chosen for the rest of the world".into(),
                });
            }
        }
        if let Some(d) = world.iter().find(|d| !d.conflict && self.satisfied(d).is_none()) {
            return Err(ApkError::Unsatisfiable {
                dep: d.to_string(),
                required_by: "world".into(),
                reason: "no longer met after the versions chosen for the rest of the world".into(),
            });
        }
        for &s in self.selected.values() {
            let p = self.pkg(s);
            conflicts.extend(p.depends.iter().filter(|d| d.conflict).map(|d| (d.clone(), p.nv())));
        }
        for (dep, by) in &conflicts {
            let mut positive = dep.clone();
            positive.conflict = false;
            if let Some(s) = self.satisfied(&positive) {
                if self.pkg(s).nv() != *by {
                    return Err(ApkError::Conflict {
                        package: by.clone(),
                        conflict: positive.to_string(),
                        with: self.pkg(s).nv(),
                    });
                }
            }
        }
        let install = self.order();
        Ok(Plan {
            install,
            notes: self.notes,
        })
    }

    /// Depth-first post-order over the selection: dependencies first. Cycles (they
    /// exist, e.g. through /bin/sh) are cut where they are met.
    fn order(&self) -> Vec<usize> {
        let mut done = BTreeSet::new();
        let mut out = Vec::new();
        for &s in self.selected.values() {
            self.visit(s, &mut done, &mut out);
        }
        out
    }

    fn visit(&self, s: Src, done: &mut BTreeSet<Src>, out: &mut Vec<usize>) {
        if !done.insert(s) {
            return;
        }
        for d in self.pkg(s).depends.iter().filter(|d| !d.conflict) {
            if let Some(dep) = self.satisfied(d) {
                self.visit(dep, done, out);
            }
        }
        if let Src::Avail(i) = s {
            out.push(i);
        }
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
