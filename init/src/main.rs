//! PID 1 of the Zero-OS initramfs. The boot on one screen: read the inputs, plan,
//! act; any error, and any panic, ends in the emergency path. Never returns.
//!
//! `#![no_main]`: std's start-up reopens closed fds 0-2 on /dev/null and aborts when it
//! cannot, which is exactly the state the kernel leaves /init in when the image has
//! no /dev/console (and there is no /dev/null before devtmpfs): PID 1 would die before
//! its first line. With our own C `main` the init starts with what the kernel gave.

#![no_main]

use std::convert::Infallible;
use std::path::Path;

use zos_init::config::{Config, KernelRequests, CONFIG_PATH};
use zos_init::error::{InitError, StepError};
use zos_init::log::{self, Level};
use zos_init::plan::{self, Step};
use zos_init::sys::{linux::LinuxSys, Sys};
use zos_init::{cmdline, emergency, modprobe, run::Runner, stage::Stage, table};

/// Called once by the C runtime. As PID 1 the arguments are not used (the kernel's
/// extra words reach us through /proc/cmdline); run by the kernel as its modprobe
/// (`/init -q -- <name>`, see `modprobe.rs`) the init answers that one request.
#[no_mangle]
// The C runtime is the only caller, with its own argv: marking it unsafe changes nothing.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub extern "C" fn main(argc: std::ffi::c_int, argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    let args: Vec<String> = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: the C runtime passes argc valid, NUL-terminated argv strings.
            unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) }
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    if let Some(name) = modprobe::request_of(LinuxSys.pid(), &args) {
        return modprobe::helper(&LinuxSys, name, std::path::Path::new(modprobe::REQUESTS));
    }
    pid1()
}

fn pid1() -> std::ffi::c_int {
    let started = log::since_boot();
    let sys = LinuxSys;
    // Run by hand on a running system, the boot would mount over /proc, /sys and /dev
    // and end in a reboot: only the kernel's PID 1 may boot.
    if sys.pid() != 1 {
        eprintln!(
            "zos-init: not PID 1 (pid {}): this is the initramfs /init; refusing to boot a running system",
            sys.pid()
        );
        return 2;
    }
    std::panic::set_hook(Box::new(|info| {
        // panic=abort: the hook is the last code that runs, so it never returns.
        emergency::halt(&LinuxSys, &format!("init panicked: {info}"));
    }));
    log::info(&format!(
        "zos-init {} starting as pid {}",
        env!("CARGO_PKG_VERSION"),
        sys.pid()
    ));
    match boot(&sys, started) {
        Ok(never) => match never {},
        Err(e) => emergency::boot_failed(&sys, &e),
    }
}

/// Everything up to the exec; only an error comes back.
fn boot(sys: &dyn Sys, started: std::time::Duration) -> Result<Infallible, InitError> {
    // proc first, in the shell /init's order: the cmdline and meminfo live there.
    let proc = table::proc_row();
    sys.mount(&proc).map_err(|e| InitError {
        stage: Stage::Mounts,
        step: Step::Mount(proc.clone()).to_string(),
        source: e.into(),
    })?;
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
    let plan = plan::build(&cfg, &flags.break_before);
    let mut runner = Runner::new(sys, &cfg, started).with_debug_flags(flags.debug.clone());
    runner.run(&plan)?;
    Err(InitError {
        stage: Stage::Switch,
        step: "exec".into(),
        source: StepError::HandoverReturned,
    })
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
