//! Plan and load a set of modules. [`plan`] turns requests (name + why) into nodes
//! with their hard dependencies (modules.dep) and soft ones (`pre:` before, `post:`
//! after); [`run`] loads them on a few threads, each module waiting only for its own
//! dependencies, as booster and u-root do. A failure is an [`Outcome`] naming module,
//! path and errno; it fails only the modules that need it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::sys::Errno;

use super::bounded::{finit, init};
use super::decompress::{decompress, Codec};
use super::index::{ModIndex, Resolved};
use super::options::ModprobeConf;
use super::{normalize, ModError};
use crate::log;
use crate::sys::Kmod;

/// Load `name` because of `via` (`essential`, `cmdline`, `coldplug <modalias>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub name: String,
    pub via: String,
}

/// What the plan consults.
pub struct Policy<'a> {
    pub index: &'a ModIndex,
    pub conf: &'a ModprobeConf,
    /// `mod.param=value` words of the cmdline.
    pub cmdline_params: &'a [String],
    /// `module_blacklist=`: never loaded, not even as a dependency.
    pub blacklist: &'a HashSet<String>,
    /// In the kernel already (/proc/modules) or loaded by an earlier stage.
    pub loaded: &'a HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub path: PathBuf,
    pub params: String,
    pub via: String,
    /// Indexes of the nodes that must be loaded first.
    pub deps: Vec<usize>,
    /// Soft dependencies: waited for, but their failure (crc32c_intel's ENODEV on a
    /// CPU without SSE4.2) does not fail this module.
    pub soft: Vec<usize>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub nodes: Vec<Node>,
    /// Requests that cannot be loaded at all (unknown, blacklisted dependency).
    pub failed: Vec<(String, ModError)>,
    /// Requests with nothing to do: (name, why).
    pub skipped: Vec<(String, &'static str)>,
}

/// Why a name needs no node.
enum Nothing {
    Skip(&'static str),
    Fail(ModError),
}

struct Planner<'a, 'p> {
    p: &'a Policy<'p>,
    plan: Plan,
    by_name: HashMap<String, usize>,
    stack: Vec<String>,
}

pub fn plan(requests: &[Request], p: &Policy<'_>) -> Plan {
    let mut pl = Planner {
        p,
        plan: Plan::default(),
        by_name: HashMap::new(),
        stack: Vec::new(),
    };
    for r in requests {
        match pl.add(&r.name, &r.via) {
            Ok(_) => {}
            Err(Nothing::Skip(why)) => pl.plan.skipped.push((normalize(&r.name), why)),
            Err(Nothing::Fail(e)) => pl.plan.failed.push((r.via.clone(), e)),
        }
    }
    pl.plan
}

impl Planner<'_, '_> {
    fn add(&mut self, name: &str, via: &str) -> Result<usize, Nothing> {
        let n = normalize(name);
        if let Some(&i) = self.by_name.get(&n) {
            return Ok(i);
        }
        if self.stack.contains(&n) {
            return Err(Nothing::Fail(ModError::Cycle { module: n }));
        }
        if self.p.blacklist.contains(&n) {
            return Err(Nothing::Skip("blacklisted (module_blacklist=)"));
        }
        if self.p.loaded.contains(&n) {
            return Err(Nothing::Skip("already loaded"));
        }
        let Some(module) = self.p.index.modules.get(&n) else {
            return Err(if self.p.index.builtin.contains(&n) {
                Nothing::Skip("built into the kernel")
            } else {
                Nothing::Fail(ModError::NotFound { module: n })
            });
        };
        self.stack.push(n.clone());
        let mut deps = Vec::new();
        let need = format!("needed by {n}");
        for d in &module.deps {
            if self.p.blacklist.contains(d) {
                self.stack.pop();
                return Err(Nothing::Fail(ModError::DepBlacklisted {
                    module: n,
                    dep: d.clone(),
                }));
            }
            match self.add(d, &need) {
                Ok(i) => deps.push(i),
                Err(Nothing::Skip(_)) => {}
                Err(Nothing::Fail(_)) => {
                    self.stack.pop();
                    return Err(Nothing::Fail(ModError::DepFailed {
                        module: n,
                        dep: d.clone(),
                    }));
                }
            }
        }
        let soft = self.softdep(&n);
        // Soft dependencies are best effort: missing or failing ones are skipped.
        let mut soft_pre = Vec::new();
        for s in &soft.pre {
            soft_pre.extend(self.soft(s, &format!("softdep of {n}")));
        }
        self.stack.pop();
        let i = self.plan.nodes.len();
        self.plan.nodes.push(Node {
            name: n.clone(),
            path: self.p.index.dir.join(&module.path),
            params: self.p.conf.params(&n, self.p.cmdline_params),
            via: via.to_string(),
            deps,
            soft: soft_pre,
        });
        self.by_name.insert(n.clone(), i);
        for s in &soft.post {
            for j in self.soft(s, &format!("post softdep of {n}")) {
                // Only a node created just now can wait for us without a cycle.
                if j > i {
                    self.plan.nodes[j].soft.push(i);
                }
            }
        }
        Ok(i)
    }

    fn softdep(&self, n: &str) -> super::index::SoftDep {
        let mut sd = self.p.index.softdeps.get(n).cloned().unwrap_or_default();
        if let Some(extra) = self.p.conf.softdeps.get(n) {
            sd.pre.extend(extra.pre.iter().cloned());
            sd.post.extend(extra.post.iter().cloned());
        }
        sd
    }

    /// A soft dependency may be an alias (`crypto-crc32c`): every module it names.
    fn soft(&mut self, name: &str, via: &str) -> Vec<usize> {
        match self.p.index.resolve(name) {
            Resolved::Modules(mods) => mods.iter().filter_map(|m| self.add(m, via).ok()).collect(),
            Resolved::Builtin | Resolved::NotFound => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Loaded,
    /// EEXIST: someone (the kernel, a racing request) loaded it first.
    AlreadyLoaded,
}

#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    pub path: PathBuf,
    pub via: String,
    pub start: Duration,
    pub took: Duration,
    pub result: Result<Done, ModError>,
}

struct Sched {
    waiting_on: Vec<usize>,
    failed_dep: Vec<Option<String>>,
    ready: VecDeque<usize>,
    running: usize,
    results: Vec<Option<Outcome>>,
}

fn lock(m: &Mutex<Sched>) -> MutexGuard<'_, Sched> {
    // A panicking worker aborts the process (panic = abort), so poison is moot.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many loads run at once: module init often sleeps (device probing), so a few
/// more than the CPUs.
pub fn default_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cpus * 2).clamp(4, 16)
}

/// Load every node, dependencies first, on up to `workers` threads. `kernel_codec` is
/// the content of /sys/module/compression (None when the kernel has none). The
/// outcomes come back in node order.
pub fn run(kmod: &dyn Kmod, nodes: &[Node], kernel_codec: Option<&str>, workers: usize) -> Vec<Outcome> {
    run_within(kmod, nodes, kernel_codec, workers, None)
}

/// [`run`] with each load bounded by `timeout` (None: unbounded). A module still in
/// its init then is [`ModError::StillLoading`]: left to the kernel, and the modules
/// that need it fail as after any failed dependency.
pub fn run_within(
    kmod: &dyn Kmod,
    nodes: &[Node],
    kernel_codec: Option<&str>,
    workers: usize,
    timeout: Option<Duration>,
) -> Vec<Outcome> {
    // (dependent, hard?) per node.
    let mut dependents = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for &d in &n.deps {
            dependents[d].push((i, true));
        }
        for &d in &n.soft {
            dependents[d].push((i, false));
        }
    }
    let state = Mutex::new(Sched {
        waiting_on: nodes.iter().map(|n| n.deps.len() + n.soft.len()).collect(),
        failed_dep: vec![None; nodes.len()],
        ready: (0..nodes.len())
            .filter(|&i| nodes[i].deps.is_empty() && nodes[i].soft.is_empty())
            .collect(),
        running: 0,
        results: (0..nodes.len()).map(|_| None).collect(),
    });
    let cv = Condvar::new();
    let worker = || loop {
        let mut g = lock(&state);
        let i = loop {
            if let Some(i) = g.ready.pop_front() {
                g.running += 1;
                break i;
            }
            if g.running == 0 {
                return; // all done, or the rest is a cycle that never gets ready
            }
            g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
        };
        let failed_dep = g.failed_dep[i].clone();
        drop(g);
        let node = &nodes[i];
        let start = log::since_boot();
        let result = match failed_dep {
            Some(dep) => Err(ModError::DepFailed {
                module: node.name.clone(),
                dep,
            }),
            None => load_one(kmod, node, kernel_codec, timeout),
        };
        let ok = result.is_ok();
        let outcome = Outcome {
            name: node.name.clone(),
            path: node.path.clone(),
            via: node.via.clone(),
            start,
            took: log::since_boot().saturating_sub(start),
            result,
        };
        let mut g = lock(&state);
        g.running -= 1;
        for &(d, hard) in &dependents[i] {
            if hard && !ok && g.failed_dep[d].is_none() {
                g.failed_dep[d] = Some(node.name.clone());
            }
            g.waiting_on[d] -= 1;
            if g.waiting_on[d] == 0 {
                g.ready.push_back(d);
            }
        }
        g.results[i] = Some(outcome);
        drop(g);
        cv.notify_all();
    };
    std::thread::scope(|s| {
        for _ in 1..workers.clamp(1, nodes.len().max(1)) {
            s.spawn(worker);
        }
        worker();
    });
    let results = state.into_inner().unwrap_or_else(|e| e.into_inner()).results;
    results
        .into_iter()
        .zip(nodes)
        .map(|(r, n)| {
            r.unwrap_or_else(|| Outcome {
                name: n.name.clone(),
                path: n.path.clone(),
                via: n.via.clone(),
                start: Duration::ZERO,
                took: Duration::ZERO,
                result: Err(ModError::Cycle { module: n.name.clone() }),
            })
        })
        .collect()
}

fn done(module: &str, r: Result<(), crate::error::SysError>) -> Result<Done, ModError> {
    match r {
        Ok(()) => Ok(Done::Loaded),
        Err(e) if e.errno == Errno::EXIST => Ok(Done::AlreadyLoaded),
        Err(source) => Err(ModError::Load {
            module: module.to_string(),
            source,
        }),
    }
}

fn load_one(
    kmod: &dyn Kmod,
    node: &Node,
    kernel_codec: Option<&str>,
    timeout: Option<Duration>,
) -> Result<Done, ModError> {
    let name = &node.name;
    let Some(codec) = Codec::of(&node.path) else {
        return match finit(kmod, node, false, timeout)? {
            // No finit_module (very old kernel, or seccomp): hand over the bytes.
            Err(e) if e.errno == Errno::NOSYS => {
                let image = kmod.read_module(&node.path).map_err(|source| ModError::Load {
                    module: name.clone(),
                    source,
                })?;
                done(name, init(kmod, node, &image, timeout)?)
            }
            r => done(name, r),
        };
    };
    if kernel_codec.map(str::trim) == Some(codec.kernel_name()) {
        match finit(kmod, node, true, timeout)? {
            // The kernel says it cannot after all: decompress here.
            Err(e) if matches!(e.errno, Errno::OPNOTSUPP | Errno::INVAL | Errno::NOSYS) => {}
            r => return done(name, r),
        }
    }
    let data = kmod.read_module(&node.path).map_err(|source| ModError::Load {
        module: name.clone(),
        source,
    })?;
    let image = decompress(codec, &data).map_err(|why| ModError::Decompress {
        module: name.clone(),
        path: node.path.clone(),
        why,
    })?;
    done(name, init(kmod, node, &image, timeout)?)
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
