//! The overlap (docs/INIT.md "Overlap"): native coldplug and the module batch need
//! only proc, sys and dev and the image's module tree, so they start as soon as the
//! mounts are done, each on its own thread, and run while the copy (or bind) and the
//! new root's mounts run. One `Join` after the new root's mounts waits for both:
//! what comes after (udev coldplug, debug injection, the switch) needs them done.
//!
//! A `zos.break=` shell before `hardware` or `modules` keeps that stage, and those
//! after it, in place: the operator stops where the shell always stopped (after the
//! new root's mounts), before any of it ran.
//!
//! Not started early: udev coldplug (it runs the new root's udevd, so it needs the
//! copy, and its children must not be reaped by the main thread's reaper) and an
//! empty module batch (nothing to run).

use std::time::Duration;

use super::{Planned, Step};
use crate::config::ColdplugMode;
use crate::modules::load::Request;
use crate::stage::Stage;

/// What may run on a thread of its own: a stage's work that needs neither the new
/// root nor the main thread's children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Native coldplug (or off): reads /sys, loads from the initramfs's module tree.
    Coldplug {
        mode: ColdplugMode,
        timeout: Duration,
    },
    LoadModules(Vec<Request>),
}

impl Task {
    /// The step it is when run in place.
    pub fn step(&self) -> Step {
        match self {
            Task::Coldplug { mode, timeout } => Step::Coldplug {
                mode: *mode,
                timeout: *timeout,
            },
            Task::LoadModules(reqs) => Step::LoadModules(reqs.clone()),
        }
    }
}

/// The task a row of `stage` becomes when it can run on a thread; `breaks` are the
/// stages the plan stops before.
fn task(stage: Stage, step: &Step, breaks: &[Stage]) -> Option<Task> {
    if breaks.iter().any(|b| (Stage::Hardware..=stage).contains(b)) {
        return None;
    }
    match step {
        Step::Coldplug { mode, timeout } if *mode != ColdplugMode::Udev => Some(Task::Coldplug {
            mode: *mode,
            timeout: *timeout,
        }),
        Step::LoadModules(reqs) if !reqs.is_empty() => Some(Task::LoadModules(reqs.clone())),
        _ => None,
    }
}

/// Move the rows that can run on threads right after the mounts (as `Start`), and
/// add the `Join` after the new root's mounts.
pub(super) fn overlap(plan: Vec<Planned>) -> Vec<Planned> {
    let breaks: Vec<Stage> = plan
        .iter()
        .filter_map(|p| match p.step {
            Step::Break(s) => Some(s),
            _ => None,
        })
        .collect();
    let task = |p: &Planned| task(p.stage, &p.step, &breaks);
    let started: Vec<Stage> = plan.iter().filter(|p| task(p).is_some()).map(|p| p.stage).collect();
    let Some(&last) = started.last() else {
        return plan;
    };
    let (mut early, mut rest) = (Vec::new(), Vec::new());
    for p in plan {
        if let Some(t) = task(&p) {
            early.push(Planned {
                stage: p.stage,
                step: Step::Start(t),
            });
        } else {
            rest.push(p);
        }
    }
    let after_mounts = rest.iter().rposition(|p| p.stage == Stage::Mounts).map_or(0, |i| i + 1);
    let n = early.len();
    rest.splice(after_mounts..after_mounts, early);
    let after_newroot = rest
        .iter()
        .rposition(|p| p.stage == Stage::NewRoot)
        .map_or(after_mounts + n, |i| i + 1);
    rest.insert(
        after_newroot,
        Planned {
            stage: last,
            step: Step::Join(started),
        },
    );
    rest
}

#[cfg(test)]
mod tests {
    use crate::cmdline;
    use crate::config::Config;
    use crate::plan::{build, Planned};

    fn lines(plan: &[Planned]) -> Vec<String> {
        plan.iter().map(|p| format!("{}: {}", p.stage, p.step)).collect()
    }

    /// What cannot or must not start early stays where the shell had it.
    #[test]
    fn udev_mode_breaks_and_an_empty_batch_keep_their_place() {
        let plan_of = |cmdline: &str| {
            let flags = cmdline::parse(cmdline);
            let cfg = Config::default().with_flags(&flags);
            lines(&build(&cfg, &flags.break_before))
                .into_iter()
                .filter(|l| !l.starts_with("mounts:") && !l.starts_with("copy:") && !l.starts_with("newroot:"))
                .filter(|l| !l.starts_with("debug:") && !l.starts_with("switch:"))
                .collect::<Vec<_>>()
        };
        // udevd runs from the new root, on the main thread; the modules still overlap.
        assert_eq!(
            plan_of("zos.coldplug=udev"),
            [
                "modules: start on its own thread: modprobe -a btrfs fuse",
                "modules: wait for the threads of modules",
                "hardware: coldplug udev: load the drivers of the devices present (settle within 10000 ms)",
            ]
        );
        // A break before hardware: the shell stops where it always did, nothing started.
        assert_eq!(
            plan_of("zos.break=hardware"),
            [
                "hardware: shell (break before hardware)",
                "hardware: coldplug native: load the drivers of the devices present (settle within 10000 ms)",
                "modules: modprobe -a btrfs fuse",
            ]
        );
        assert_eq!(
            plan_of("zos.break=modules modules_load=virtio_blk"),
            [
                "hardware: start on its own thread: coldplug native: load the drivers of the devices present (settle within 10000 ms)",
                "hardware: wait for the threads of hardware",
                "modules: shell (break before modules)",
                "modules: modprobe -a btrfs fuse virtio_blk",
            ]
        );
        let flags = cmdline::parse("zos.coldplug=off");
        let cfg = Config {
            essential_modules: vec![],
            ..Config::default().with_flags(&flags)
        };
        let l = lines(&build(&cfg, &[]));
        assert!(l.contains(&"modules: modprobe: no module asked".to_string()), "{l:#?}");
        assert!(
            l.contains(&"hardware: wait for the threads of hardware".to_string()),
            "{l:#?}"
        );
    }
}
