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

use super::{Planned, Step, Task};
use crate::config::ColdplugMode;
use crate::stage::Stage;

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
