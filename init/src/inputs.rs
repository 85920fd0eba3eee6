//! The boot's inputs, read by the plan's [`Step::ReadInputs`](crate::plan::Step::ReadInputs)
//! row: the kernel command line and the image's config, and what must happen as soon
//! as they are known (log settings, emergency settings, kernel module requests).

use std::path::Path;

use crate::cmdline::{self, Flags};
use crate::config::{Config, KernelRequests, CONFIG_PATH};
use crate::log::{self, Level};
use crate::stage::Stage;
use crate::sys::Sys;
use crate::{emergency, modprobe};

/// What the boot runs with.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub cfg: Config,
    pub flags: Flags,
}

/// Read `/proc/cmdline` (a failure is a warning: the image's config alone then) and
/// the config, then act on them: module requests to the init, log and emergency
/// settings, the cmdline's problems logged.
pub fn read(sys: &dyn Sys) -> Inputs {
    let cmdline = sys.read_to_string(Path::new("/proc/cmdline")).unwrap_or_else(|e| {
        log::stage(
            Level::Warn,
            Stage::Mounts,
            &format!("{e}; booting with the image's config only"),
        );
        String::new()
    });
    let flags = cmdline::parse(&cmdline);
    let cfg = load_config(sys).with_flags(&flags);
    // Before the copy frees /sbin/modprobe: requests must work at every moment.
    if cfg.kernel_requests == KernelRequests::Init {
        modprobe::install(sys);
    }
    log::configure(cfg.log_level, cfg.log_targets);
    emergency::set(emergency::Settings::from_config(&cfg));
    for p in &flags.problems {
        log::warn(&format!("cmdline: {p}"));
    }
    Inputs { cfg, flags }
}

/// The image's config over the defaults; a bad line is reported and skipped.
fn load_config(sys: &dyn Sys) -> Config {
    match sys.read_to_string(Path::new(CONFIG_PATH)) {
        Ok(text) => {
            let (cfg, errors) = Config::parse(&text, CONFIG_PATH);
            for e in errors {
                log::warn(&format!("config: {e} (line ignored)"));
            }
            cfg
        }
        Err(_) => {
            log::debug(&format!("config: no {CONFIG_PATH}: the shell /init's defaults"));
            Config::default()
        }
    }
}
