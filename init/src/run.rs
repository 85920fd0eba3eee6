//! Act out the plan: the only code that walks the steps and touches [`Sys`]. Each step
//! is logged with its start time and duration; a failure comes back as an
//! [`InitError`] naming the stage and the step.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::debug;
use crate::emergency;
use crate::error::{InitError, StepError};
use crate::fit;
use crate::log::{self, Level};
use crate::plan::{self, Planned, Step};
use crate::report::{BootReport, StageTime};
use crate::stage::Stage;
use crate::sys::Sys;

/// Walks a plan through the seam. Its state is its own: callers give the inputs at
/// construction and read the report when it is done.
pub struct Runner<'a> {
    sys: &'a dyn Sys,
    /// The caller's until the plan's `ReadInputs` row reads the boot's own.
    cfg: Config,
    /// The stages to stop before (`zos.break=`), from the inputs.
    breaks: Vec<Stage>,
    /// The stage being run and when it started.
    current: Option<(Stage, Duration)>,
    /// When /init started (time since boot).
    started: Duration,
    /// The kernel found no /dev/console: stdio is reopened once devtmpfs is up.
    console_missing: bool,
    /// Where the copy reads from ("/" on a real boot).
    src_root: PathBuf,
    /// Filled as the boot goes: stage times, modules, copy figures, problems.
    report: BootReport,
    /// Module index, options and what is loaded (hardware and modules stages).
    hw: crate::hardware::Hardware,
    /// The cmdline's `zos.debug*` flags.
    debug_flags: debug::DebugFlags,
    /// Bind mode took: the new root is `/` itself, so the switch frees nothing.
    bound: bool,
    /// /init-debug was there at start (bind mode removes it before the debug stage).
    /// A release init has no injection, so it does not look.
    #[cfg(feature = "debug-inject")]
    init_debug_present: bool,
}

impl<'a> Runner<'a> {
    pub fn new(sys: &'a dyn Sys, cfg: &'a Config, started: Duration) -> Self {
        Runner {
            sys,
            cfg: cfg.clone(),
            breaks: Vec::new(),
            current: None,
            started,
            console_missing: !sys.procs().stdio_open(),
            src_root: "/".into(),
            hw: crate::hardware::Hardware::default(),
            report: BootReport {
                started,
                ..Default::default()
            },
            debug_flags: debug::DebugFlags::default(),
            bound: false,
            #[cfg(feature = "debug-inject")]
            // Its presence is the old switch, whatever its mode (symlinks followed, as
            // `[ -e ]`; an error reads as absent, as `[ -e ]` does).
            init_debug_present: sys.look().exists(Path::new(debug::INIT_DEBUG)).unwrap_or(false),
        }
    }

    /// The cmdline's `zos.debug*` flags (debug-file injection).
    pub fn with_debug_flags(mut self, flags: debug::DebugFlags) -> Self {
        self.debug_flags = flags;
        self
    }

    /// Where the hardware and modules stages find sysfs and the module tree (tests
    /// point them at fixtures).
    pub fn with_hardware(mut self, hw: crate::hardware::Hardware) -> Self {
        self.hw = hw;
        self
    }

    /// What the boot did so far: stage times, modules, copy figures.
    pub fn report(&self) -> &BootReport {
        &self.report
    }

    /// The whole boot: the plan's input rows (mount proc, read the cmdline and the
    /// config), then the rest of the plan built from what they read, every row by this
    /// runner. Returns only on failure (or after a recorder's "exec").
    pub fn boot(&mut self) -> Result<(), InitError> {
        let inputs = plan::inputs();
        self.run(&inputs)?;
        let plan = plan::build(&self.cfg, &self.breaks);
        self.run(&plan[inputs.len()..])
    }

    /// Run every step; returns only on failure (or after a recorder's "exec").
    /// `Start` rows run on threads of this scope; a failure joins them first, so
    /// their modules and lines are in before the emergency path.
    pub fn run(&mut self, plan: &[Planned]) -> Result<(), InitError> {
        std::thread::scope(|scope| {
            let mut tasks = overlap::Tasks::default();
            let r = self.run_in(plan, scope, &mut tasks);
            if let (Err(e), true) = (&r, tasks.running()) {
                log::stage(
                    Level::Info,
                    e.stage,
                    "waiting for the stages still running on their threads before the emergency path",
                );
                self.join(&mut tasks, e.stage);
            }
            r
        })
    }

    fn run_in<'scope>(
        &mut self,
        plan: &[Planned],
        scope: &'scope std::thread::Scope<'scope, '_>,
        tasks: &mut overlap::Tasks<'scope>,
    ) -> Result<(), InitError>
    where
        'a: 'scope,
    {
        for p in plan {
            // Thread rows: the thread times its own stage (run_overlap.rs).
            match &p.step {
                Step::Start(task) => {
                    self.start(scope, tasks, task);
                    continue;
                }
                Step::Join(_) => {
                    let done = self.current.take();
                    self.close_stage(done);
                    self.join(tasks, p.stage);
                    continue;
                }
                _ => {}
            }
            if self.current.map(|(s, _)| s) != Some(p.stage) {
                let done = self.current.take();
                self.close_stage(done);
                self.current = Some((p.stage, log::since_boot()));
            }
            let t0 = log::since_boot();
            self.step(&p.step).map_err(|source| match source {
                // A step the runner chose at boot (auto's copy steps): name that one.
                StepError::In { step, source } => InitError {
                    stage: p.stage,
                    step,
                    source: *source,
                },
                source => InitError {
                    stage: p.stage,
                    step: p.step.to_string(),
                    source,
                },
            })?;
            // Every step that is a plain action gets its line, with its duration; the
            // others (copy, coldplug, modules, debug, breaks, switch) log richer lines of their own.
            let plain = matches!(
                p.step,
                Step::Mount(_) | Step::Mkdir(_) | Step::Umount(_) | Step::FitCheck { .. }
            );
            let level = if plain { Level::Info } else { Level::Debug };
            let took = log::ms(log::since_boot() - t0);
            log::stage(level, p.stage, &format!("{} ({took})", p.step));
            self.sys.procs().reap();
        }
        Ok(())
    }

    fn close_stage(&mut self, cur: Option<(Stage, Duration)>) {
        if let Some((stage, start)) = cur {
            let took = log::since_boot().saturating_sub(start);
            log::stage(Level::Info, stage, &format!("done in {}", log::ms(took)));
            self.add_stage(StageTime { stage, start, took });
        }
    }

    pub(crate) fn step(&mut self, step: &Step) -> Result<(), StepError> {
        let sys = self.sys;
        match step {
            Step::Break(stage) => self.break_shell(*stage),
            Step::ReadInputs => {
                let inputs = crate::inputs::read(sys);
                self.cfg = inputs.cfg;
                self.breaks = inputs.flags.break_before;
                self.debug_flags = inputs.flags.debug;
            }
            Step::Mount(row) => {
                sys.mount(row)?;
                if row.target == self.cfg.new_root.trim_end_matches('/') {
                    emergency::set_report_root(Some(&self.cfg.new_root));
                }
            }
            Step::Mkdir(p) => sys.mkdir_p(Path::new(p))?,
            Step::Console => {
                // Stdio first: with fds 0-2 closed, opening kmsg would take fd 0.
                if self.console_missing {
                    sys.mknod_console(Path::new("/dev/console"))?;
                    sys.procs().reopen_stdio(Path::new("/dev/console"))?;
                    log::replay();
                    log::stage(
                        Level::Warn,
                        Stage::Mounts,
                        "the kernel found no /dev/console in the image: stdio reopened on devtmpfs's",
                    );
                }
                log::open_kmsg();
                log::unlimit_kmsg();
            }
            Step::FitCheck { dst, spec } => {
                // Without root= the kernel unpacks into a tmpfs capped at half the RAM
                // and, when the image is bigger, drops the rest with one line in its
                // log: copying what is left would hand over a partial root.
                if let Some(line) = crate::shell::dmesg(sys).ok().as_deref().and_then(unpack_failure) {
                    return Err(StepError::PartialUnpack(line));
                }
                let sources = crate::copy::resolve_sources(sys.fs(), &self.src_root, spec)?;
                let need = crate::copy::measure(sys.fs(), &self.src_root, &sources, spec)?;
                let free = sys.statfs(Path::new(dst))?.available;
                let meminfo = sys.read_to_string(Path::new("/proc/meminfo"))?;
                let fit = fit::check(&need, dst, free, &meminfo, spec.free_source)?;
                log::stage(
                    Level::Info,
                    Stage::Copy,
                    &format!("{} files, {} dirs: {fit}", need.files, need.dirs),
                );
            }
            Step::Copy { dst, spec } => self.copy(dst, spec)?,
            Step::BindRoot { dst, size, spec } => self.bind_root(dst, size, spec)?,
            Step::ChooseRoot { dst, size, spec } => self.choose_root(dst, size, spec)?,
            Step::Coldplug { mode, timeout } => {
                self.hw.coldplug(self.sys, &self.cfg, *mode, *timeout, &mut self.report)
            }
            Step::LoadModules(reqs) => {
                if !reqs.is_empty() {
                    self.hw.load(self.sys, &self.cfg, reqs, &mut self.report);
                }
            }
            // Outside the run loop (which starts threads) a task runs in place.
            Step::Start(task) => self.step(&task.step())?,
            Step::Join(_) => {}
            Step::DebugInject { image_says } => self.debug_stage(*image_says),
            Step::Umount(p) => sys.umount(Path::new(p), false)?,
            Step::SwitchRoot {
                new_root,
                target,
                argv,
                env_path,
            } => {
                log::stage(Level::Info, Stage::Switch, &format!("{step}"));
                self.switch(new_root, target, argv, env_path)?;
            }
        }
        Ok(())
    }

    /// `zos.break=`: a shell before the stage; the boot goes on when it exits.
    fn break_shell(&self, stage: Stage) {
        let cfg = &self.cfg;
        let root = if cfg.allow_shell {
            emergency::shell_root(self.sys, &cfg.shell, &cfg.new_root)
        } else {
            None
        };
        let Some(root) = root else {
            log::warn(&format!(
                "break before {stage}: no shell allowed or present ({}); going on",
                cfg.shell
            ));
            return;
        };
        let place = if root == Path::new("/") {
            String::new()
        } else {
            format!(" in {}", root.display())
        };
        log::info(&format!(
            "break before {stage}: starting {}{place}; exit it to continue the boot",
            cfg.shell
        ));
        let env = emergency::handover_env(crate::config::HANDOVER_PATH);
        match crate::shell::run_shell(self.sys, Path::new(&cfg.shell), &root, Path::new("/dev/console"), &env) {
            Ok(status) => log::info(&format!("break before {stage}: shell exited ({status}); continuing")),
            Err(e) => log::warn(&format!("break before {stage}: {e}; continuing")),
        }
    }
}

/// The kernel's `Initramfs unpacking failed: <why>` line, without its prefix.
pub(crate) fn unpack_failure(dmesg: &str) -> Option<String> {
    dmesg
        .lines()
        .find_map(|l| l.find("Initramfs unpacking failed").map(|i| l[i..].trim().to_string()))
}

/// Coldplug and module loading on their own threads: their own file, same `Runner`.
#[path = "run_overlap.rs"]
mod overlap;

/// The new-root steps (copy, bind, auto): their own file, same `Runner`.
#[path = "run_root.rs"]
mod root;

/// The last two stages (debug injection, switch_root): their own file, same `Runner`.
#[path = "run_switch.rs"]
mod switch;

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
