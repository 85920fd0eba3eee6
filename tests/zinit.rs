//! QEMU test of the handover to a real supervisor (`cargo test --features qemu --test
//! zinit`): the Rust /init switch_roots into zinit 0.1's `zinit-pid1` (configured by
//! the image's /etc/zos-init.conf), which starts `zinit-server` and the shipped demo
//! units (configs/zinit/toml). The `boot-report` oneshot polls the supervisor until every
//! unit has settled (zinit 0.1 does not wait for a oneshot before starting the units
//! `after` it, so nothing here relies on that order), prints `zinit list` on the console
//! and ends the run with `zinit poweroff`. zinit is built once and cached
//! (builder/src/zinit/fetch.rs), never per test.
#![cfg(feature = "qemu")]

mod common;

use common::guest::{tail, Image};
use zos_builder::zinit::timeline;

/// The state column of `name` in the report's `zinit list` lines.
fn state<'a>(list: &'a [String], name: &str) -> Option<&'a str> {
    list.iter().find_map(|l| {
        let mut w = l.split_whitespace();
        let _symbol = w.next();
        (w.next() == Some(name)).then(|| w.next()).flatten()
    })
}

#[test]
fn init_hands_over_to_zinit_which_runs_the_units_and_powers_off() {
    let img = Image::with_zinit();
    let out = img.boot("zinit.report=poweroff", 512);
    let log = &out.log;
    let t = timeline::parse(log);
    let why = || tail(&out);

    // The init handed over to zinit-pid1 (the image's config, not the default).
    assert!(
        log.contains("init phase done in") && log.contains("exec /sbin/zinit-pid1"),
        "{}",
        why()
    );
    // zinit-pid1 ran as PID 1 and started the server in PID-1 mode.
    assert!(!log.contains("Not running as PID 1"), "{}", why());
    assert!(log.contains("Spawned zinit-server"), "{}", why());

    // The oneshot wrote its marker and the supervisor's state to the console.
    assert!(log.contains("zos-boot: boot-report started"), "{}", why());
    let up = t
        .services_up
        .unwrap_or_else(|| panic!("no `services up` line\n{}", why()));
    let list = &t.zinit_list;
    // Long-running units are running; the oneshots have run.
    assert_eq!(state(list, "udevd"), Some("Running"), "{list:#?}\n{}", why());
    assert_eq!(state(list, "console"), Some("Running"), "{list:#?}");
    for oneshot in ["udev-trigger", "routing", "cgroup"] {
        assert_eq!(state(list, oneshot), Some("Exited"), "{oneshot}: {list:#?}\n{}", why());
    }
    // local-modprobe runs too; without /lib/modules in this image it may fail.
    assert!(state(list, "local-modprobe").is_some(), "{list:#?}");

    // zinit's own poweroff ended the run cleanly.
    assert!(
        log.contains("zos-boot: powering off with 'zinit poweroff'"),
        "{}",
        why()
    );
    assert!(log.contains("Powering off system"), "{}", why());
    assert!(t.powered_off, "no `reboot: Power down`\n{}", why());
    assert!(!t.panicked, "{}", why());

    // One timeline: the handover comes before zinit's lines, which come before the
    // services are up; every zinit line was placed on the boot clock.
    let handover = t
        .events
        .iter()
        .find(|e| e.text.starts_with("init phase done"))
        .map(|e| e.at)
        .unwrap_or_else(|| panic!("{t}"));
    let first_zinit = t
        .events
        .iter()
        .find(|e| e.source == timeline::Source::Zinit)
        .map(|e| e.at)
        .unwrap_or_else(|| panic!("{t}"));
    assert_eq!(t.unplaced_zinit_lines, 0, "{t}");
    // 50 ms of slack: /proc/uptime has 10 ms steps and the clock pair is read by forks.
    assert!(handover < first_zinit + 0.05 && first_zinit < up, "{t}");
    eprintln!("{t}");
}
