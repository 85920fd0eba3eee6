//! PID 1 of the Zero-OS initramfs. The boot on one screen: run the plan (its first
//! rows mount proc and read the inputs the rest is built from); any error, and any
//! panic, ends in the emergency path. Never returns.
//!
//! `#![no_main]`: std's start-up reopens closed fds 0-2 on /dev/null and aborts when it
//! cannot, which is exactly the state the kernel leaves /init in when the image has
//! no /dev/console (and there is no /dev/null before devtmpfs): PID 1 would die before
//! its first line. With our own C `main` the init starts with what the kernel gave.

#![no_main]

use std::convert::Infallible;

use zos_init::config::Config;
use zos_init::error::{InitError, StepError};
use zos_init::log;
use zos_init::sys::{linux::LinuxSys, Sys};
use zos_init::{emergency, modprobe, run::Runner, stage::Stage};

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
    if let Some(name) = modprobe::request_of(LinuxSys.procs().pid(), &args) {
        log::open_kmsg();
        return modprobe::helper(&LinuxSys, name, std::path::Path::new(modprobe::REQUESTS));
    }
    pid1()
}

fn pid1() -> std::ffi::c_int {
    let started = log::since_boot();
    let sys = LinuxSys;
    // Run by hand on a running system, the boot would mount over /proc, /sys and /dev
    // and end in a reboot: only the kernel's PID 1 may boot.
    if sys.procs().pid() != 1 {
        eprintln!(
            "zos-init: not PID 1 (pid {}): this is the initramfs /init; refusing to boot a running system",
            sys.procs().pid()
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
        sys.procs().pid()
    ));
    match boot(&sys, started) {
        Ok(never) => match never {},
        Err(e) => emergency::boot_failed(&sys, &e),
    }
}

/// Everything up to the exec, every row of the plan (proc and the inputs first) run
/// by one [`Runner`]; only an error comes back.
fn boot(sys: &dyn Sys, started: std::time::Duration) -> Result<Infallible, InitError> {
    Runner::new(sys, &Config::default(), started).boot()?;
    Err(InitError {
        stage: Stage::Switch,
        step: "exec".into(),
        source: StepError::HandoverReturned,
    })
}
