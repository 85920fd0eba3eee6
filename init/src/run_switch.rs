//! The last two stages of the runner: debug-file injection (never fails the boot)
//! and switch_root, which completes and writes the boot report right before exec.

use std::path::Path;

use super::Runner;
use crate::debug;
use crate::emergency;
use crate::error::StepError;
use crate::log::{self, Level};
#[cfg(feature = "debug-inject")]
use crate::modules::load::Request;
use crate::report::{StageTime, BOOT_JSON};
use crate::stage::Stage;
use crate::switch_root::{self, Handover};

impl Runner<'_> {
    /// switch_root and exec; right before exec (in the new root) the report is
    /// completed, summarised on the console and written to /run/zos-init/boot.json.
    pub(super) fn switch(
        &mut self,
        new_root: &str,
        target: &str,
        argv: &[String],
        env_path: &str,
    ) -> Result<(), StepError> {
        let sys = self.sys;
        let env = emergency::handover_env(env_path);
        let h = Handover {
            new_root,
            target,
            argv,
            env: &env,
            bound: self.bound,
        };
        let started = self.started;
        let stage_start = self.report.stages.last().map(|t| t.start + t.took).unwrap_or(started);
        // /init goes with the old root: the new root's own modprobe from here on.
        crate::modprobe::restore_and_collect(sys, &mut self.report, Path::new(crate::modprobe::REQUESTS));
        let report = &mut self.report;
        let mut last_words = || {
            // chroot done: the new root is "/" now, for any report after this.
            emergency::set_report_root(Some("/"));
            let now = log::since_boot();
            let took = now.saturating_sub(stage_start);
            log::stage(Level::Info, Stage::Switch, &format!("done in {}", log::ms(took)));
            report.stages.push(StageTime {
                stage: Stage::Switch,
                start: stage_start,
                took,
            });
            report.handover = Some(now);
            report.exec = argv.to_vec();
            (report.warnings, report.errors) = log::problems();
            log::info(&format!("summary: {}", report.summary()));
            if let Err(e) = sys.write(
                Path::new(BOOT_JSON),
                report.to_json().as_bytes(),
                crate::sys::Write::Create,
            ) {
                log::warn(&format!("report: {e}"));
            }
            log::info(&format!(
                "init phase done in {} (started at {:.3} s, handover at {:.3} s): exec {}",
                log::ms(now.saturating_sub(started)),
                started.as_secs_f64(),
                now.as_secs_f64(),
                argv.join(" ")
            ));
            // After chroot this is the new root's proc: the limit is back for
            // everything that runs after us.
            log::restore_kmsg_limit();
        };
        switch_root::switch_root(sys, &h, &mut last_words)?;
        Ok(())
    }

    /// Debug-file injection (docs/INIT.md): never fails the boot.
    #[cfg(feature = "debug-inject")]
    pub(super) fn debug_stage(&mut self, image_says: bool) {
        let plan = debug::decide(self.init_debug_present, image_says, &self.debug_flags);
        if !plan.enabled {
            log::stage(Level::Debug, Stage::Debug, &format!("injection off ({})", plan.why));
            return;
        }
        let (sys, cfg) = (self.sys, &self.cfg);
        let (hw, report) = (&mut self.hw, &mut self.report);
        let mut load = |names: &[&str]| {
            let reqs: Vec<Request> = names
                .iter()
                .map(|n| Request {
                    name: n.to_string(),
                    via: "debug disk".into(),
                })
                .collect();
            hw.load(sys, cfg, &reqs, report);
        };
        debug::inject(sys, &plan, &cfg.new_root, &mut load);
    }

    /// A release build has no injection: say so if the cmdline asked for it.
    #[cfg(not(feature = "debug-inject"))]
    pub(super) fn debug_stage(&mut self, _image_says: bool) {
        if self.debug_flags != debug::DebugFlags::default() {
            log::stage(
                Level::Warn,
                Stage::Debug,
                "zos.debug* ignored: this is a release build without debug injection",
            );
        }
    }
}
