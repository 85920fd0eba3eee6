//! The plan's `Start` and `Join` rows (plan_overlap.rs): coldplug and the module
//! batch on their own threads while the main thread copies.
//!
//! What the threads read, and from where (docs/INIT.md "Overlap"):
//! - modprobe.d and the udev rules: read here, on the main thread, before the copy
//!   can free them (a few small files);
//! - the depmod index: read once, by whichever thread needs it first, file by file
//!   from the initramfs or, once freed, from the new root ([`read_either`]);
//! - module files: the same rule per load ([`crate::modules::moved::Moved`]).
//!
//! Times: each thread times its own stage (from its start to its end, not to the
//! join), so `hardware` and `modules` overlap `copy` and `newroot` in boot.json;
//! the join's wait is the part of them the boot waited for: it shows as the gap
//! between `newroot`'s end and the next stage's start. A stage met twice (its
//! `zos.break=` shell on the main thread, its work on a thread) is one entry
//! spanning both.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::thread::{Scope, ScopedJoinHandle};

use super::Runner;
use crate::coldplug::rules::pass::RulesPass;
use crate::config::{ColdplugMode, Config};
use crate::hardware::Hardware;
use crate::log::{self, Level};
use crate::modules::index::ModIndex;
use crate::modules::moved::read_either;
use crate::modules::options::ModprobeConf;
use crate::modules::tree;
use crate::plan::Task;
use crate::report::{BootReport, StageTime};
use crate::stage::Stage;
use crate::sys::Sys;

/// What both threads share: where the module tree is and where it goes.
pub(super) struct Inputs {
    /// The initramfs's module tree, symlinks resolved (see `modules/moved.rs`).
    from: PathBuf,
    /// The same tree in the new root.
    to: PathBuf,
    index: OnceLock<Option<Arc<ModIndex>>>,
    conf: Arc<ModprobeConf>,
}

impl Inputs {
    fn index(&self, sys: &dyn Sys) -> Option<Arc<ModIndex>> {
        self.index
            .get_or_init(|| {
                let idx = tree::load_index(&self.from, &mut |p| read_either(sys, p, &self.from, &self.to))?;
                // The kernel's requests meanwhile answer misses from it (modprobe.rs).
                crate::modprobe::publish_lookup(sys, &idx, &self.from, &self.to);
                Some(Arc::new(idx))
            })
            .clone()
    }
}

/// A task's results, merged into the runner's at the join.
pub(super) struct Done {
    span: StageTime,
    report: BootReport,
    hw: Hardware,
}

enum Running<'scope> {
    Thread(Stage, ScopedJoinHandle<'scope, Done>),
    /// No thread could be started: it ran in place.
    Finished(Box<Done>),
}

/// The tasks started and not joined yet.
#[derive(Default)]
pub(super) struct Tasks<'scope> {
    inputs: Option<Arc<Inputs>>,
    running: Vec<Running<'scope>>,
}

impl Tasks<'_> {
    /// Whether a task was started and not joined.
    pub(super) fn running(&self) -> bool {
        !self.running.is_empty()
    }
}

/// Where the image's files are before the copy: `/`. Unit tests read the new root
/// instead, as before the overlap, so they never read the build host's /lib/modules.
fn initramfs_root(cfg: &Config) -> PathBuf {
    if cfg!(test) {
        PathBuf::from(&cfg.new_root)
    } else {
        PathBuf::from("/")
    }
}

impl<'a> Runner<'a> {
    fn inputs(&self) -> Inputs {
        let root = initramfs_root(&self.cfg);
        let from = match &self.hw.modules_dir {
            Some(d) => d.clone(),
            None => root.join("lib/modules").join(self.hw.release(self.sys)),
        };
        // Absent (an image without modules): the index says so, once.
        let from = self.sys.look().realpath(&from).unwrap_or(from);
        let to = Path::new(&self.cfg.new_root).join(from.strip_prefix("/").unwrap_or(&from));
        Inputs {
            from,
            to,
            index: OnceLock::new(),
            conf: Arc::new(tree::read_conf(&root)),
        }
    }

    /// The state a task runs with: the runner's paths and workers, the initramfs's
    /// tree moving to the new root's, and the inputs read before the copy.
    fn task_hw(&self, inputs: &Inputs, task: &Task) -> Hardware {
        let mut hw = Hardware::default();
        hw.sysfs = self.hw.sysfs.clone();
        hw.release = self.hw.release.clone();
        hw.modules_dir = Some(inputs.from.clone());
        hw.workers = self.hw.workers;
        hw.moves_to = Some(inputs.to.clone());
        hw.defer_unmatched = true;
        let native = matches!(task, Task::Coldplug { mode, .. } if *mode == ColdplugMode::Native);
        let rules = native.then(|| RulesPass::new(self.sys, &initramfs_root(&self.cfg), &hw.sysfs));
        hw.set_inputs(inputs.conf.clone(), rules);
        hw
    }

    /// `Start(task)`: its own thread (the copy goes on meanwhile); in place if the
    /// kernel refuses a thread.
    pub(super) fn start<'scope>(&mut self, scope: &'scope Scope<'scope, '_>, tasks: &mut Tasks<'scope>, task: &Task)
    where
        'a: 'scope,
    {
        let inputs = match &tasks.inputs {
            Some(i) => i.clone(),
            None => tasks.inputs.insert(Arc::new(self.inputs())).clone(),
        };
        let hw = self.task_hw(&inputs, task);
        let stage = stage_of(task);
        // The thread owns its copy of the config: the runner's own is read by the steps
        // that run meanwhile.
        let (sys, cfg) = (self.sys, self.cfg.clone());
        let (job, shared) = (task.clone(), inputs.clone());
        let thread = std::thread::Builder::new()
            .name(stage.as_str().into())
            .spawn_scoped(scope, move || work(sys, &cfg, &job, hw, &shared));
        match thread {
            Ok(h) => {
                log::stage(
                    Level::Debug,
                    stage,
                    &format!("started on its own thread: {}", task.step()),
                );
                tasks.running.push(Running::Thread(stage, h));
            }
            Err(e) => {
                log::stage(
                    Level::Warn,
                    stage,
                    &format!("cannot start a thread ({e}): running it now, before the copy"),
                );
                let done = work(self.sys, &self.cfg, task, self.task_hw(&inputs, task), &inputs);
                tasks.running.push(Running::Finished(Box::new(done)));
            }
        }
    }

    /// `Join`: wait for every started task and take in its modules, its stage time
    /// and its unmatched-modalias list (written now: the new root is complete).
    pub(super) fn join(&mut self, tasks: &mut Tasks<'_>, stage: Stage) {
        let t0 = log::since_boot();
        let mut spans = Vec::new();
        for r in tasks.running.drain(..) {
            let mut done = match r {
                Running::Finished(d) => *d,
                Running::Thread(s, h) => match h.join() {
                    Ok(d) => d,
                    // Only in tests: PID 1 is built with panic=abort (the hook halts).
                    Err(_) => {
                        log::stage(
                            Level::Error,
                            s,
                            "its thread panicked: its modules are missing from the report; the boot goes on",
                        );
                        continue;
                    }
                },
            };
            self.report.modules.append(&mut done.report.modules);
            done.hw.write_unmatched(self.sys, &self.cfg);
            spans.push(format!("{} {}", done.span.stage, log::ms(done.span.took)));
            self.add_stage(done.span);
        }
        let waited = log::since_boot().saturating_sub(t0);
        log::stage(
            Level::Info,
            stage,
            &format!(
                "threads done ({}); waited {} for them",
                spans.join(", "),
                log::ms(waited)
            ),
        );
    }

    /// Record a stage's time; a stage already there is widened to span both.
    pub(super) fn add_stage(&mut self, t: StageTime) {
        match self.report.stages.iter_mut().find(|s| s.stage == t.stage) {
            Some(s) => {
                let end = (s.start + s.took).max(t.start + t.took);
                s.start = s.start.min(t.start);
                s.took = end.saturating_sub(s.start);
            }
            None => self.report.stages.push(t),
        }
    }
}

fn stage_of(task: &Task) -> Stage {
    match task {
        Task::Coldplug { .. } => Stage::Hardware,
        Task::LoadModules(_) => Stage::Modules,
    }
}

/// A task's body, on its thread: nothing here fails the boot (a module that cannot
/// load is logged with its path and errno and reported, as in place).
fn work(sys: &dyn Sys, cfg: &Config, task: &Task, mut hw: Hardware, inputs: &Inputs) -> Done {
    let stage = stage_of(task);
    let start = log::since_boot();
    let mut report = BootReport::default();
    match task {
        Task::Coldplug { mode, timeout } => {
            if *mode != ColdplugMode::Off {
                hw.set_index(inputs.index(sys));
            }
            hw.coldplug(sys, cfg, *mode, *timeout, &mut report);
        }
        Task::LoadModules(reqs) => {
            hw.set_index(inputs.index(sys));
            hw.load(sys, cfg, reqs, &mut report);
        }
    }
    let took = log::since_boot().saturating_sub(start);
    log::stage(
        Level::Info,
        stage,
        &format!("done in {} (on its own thread)", log::ms(took)),
    );
    Done {
        span: StageTime { stage, start, took },
        report,
        hw,
    }
}

#[cfg(test)]
#[path = "run_overlap_tests.rs"]
mod tests;
