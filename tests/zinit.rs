//! QEMU tests of the production handover (`cargo test --features qemu --test zinit`):
//! the Rust /init switch_roots into zinit 0.2.11 as `/sbin/zinit init` (the init's
//! default), which starts the YAML units of /etc/zinit. The `boot-report` unit
//! (configs/zinit-run) polls `zinit -s /var/run/zinit.sock list` until every unit has
//! settled, prints the list on the console and ends the boot with `zinit shutdown`.
//! Every assertion is on what the guest printed: the units' own lines, zinit's log and
//! its list. zinit is built from its git bundle once and cached by commit and toolchain
//! (builder/src/components/source.rs), never per test.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::path::Path;

use common::guest::{tail, Image};
use zos_builder::zinit::{install, timeline, UnitSet};

/// `printk.devkmsg=on`: zinit logs through /dev/kmsg, whose rate limit would drop lines.
const APPEND: &str = "printk.devkmsg=on zinit.report=poweroff";

/// Test units: ordering, PID 1's argv, a failing oneshot, the init's boot report.
const UNITS: &[(&str, &str)] = &[
    (
        "pid1",
        "exec: sh -c \"echo zos-test.pid1-argv $(tr '\\\\0' ' ' </proc/1/cmdline)\"\noneshot: true\nlog: stdout\n",
    ),
    (
        "first",
        "exec: sh -c \"sleep 1; echo zos-test.first-end $(cut -d ' ' -f 1 /proc/uptime)\"\noneshot: true\nlog: stdout\n",
    ),
    (
        "second",
        "exec: sh -c \"echo zos-test.second-start $(cut -d ' ' -f 1 /proc/uptime)\"\noneshot: true\nlog: stdout\n\
         after:\n  - first\n",
    ),
    ("fails", "exec: sh -c \"exit 3\"\noneshot: true\n"),
    (
        "bootjson",
        "exec: sed \"s/^/zos-test.boot.json|/\" /run/zos-init/boot.json\noneshot: true\nlog: stdout\n",
    ),
];

/// The value after `zos-test.KEY ` on the console (no `: ` in the marker: YAML would
/// read a plain `exec` holding one as a mapping).
fn said(log: &str, key: &str) -> Option<String> {
    let pat = format!("zos-test.{key} ");
    log.lines()
        .find_map(|l| l.split_once(&pat).map(|(_, v)| v.trim_end().to_string()))
}

/// The state zinit should end in: a oneshot exits 0, a service keeps running.
fn expected(oneshot: bool) -> &'static str {
    if oneshot {
        "Success"
    } else {
        "Running"
    }
}

#[test]
fn init_hands_over_to_zinit_0_2_11_which_orders_reports_and_shuts_down() {
    let (mut img, notes) = Image::with_zinit();
    let units = img.dir.path().join("test-units");
    fs::create_dir_all(&units).unwrap();
    for (name, text) in UNITS {
        fs::write(units.join(format!("{name}.yaml")), text).unwrap();
    }
    let add = install::prepare(Some(&img.root()), &img.extras, &units).unwrap_or_else(|e| panic!("{e}"));
    img.extras.extend(add);
    let out = img.boot(APPEND, 512);
    let log = &out.log;
    let t = timeline::parse(log);
    let why = || format!("lint: {notes}\n{}", tail(&out));

    // The init handed over to the production target, and PID 1 is zinit with `init`.
    assert!(log.contains("exec /sbin/zinit init"), "{}", why());
    assert_eq!(said(log, "pid1-argv").as_deref(), Some("/sbin/zinit init"), "{}", why());

    // `second` is `after: first`: it started after `first` had finished.
    let num = |k: &str| {
        said(log, k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {k}\n{}", why()))
    };
    assert!(num("second-start") >= num("first-end"), "{}", why());

    // `zinit list` over /var/run/zinit.sock listed every unit of /etc/zinit.
    let up = t
        .services_up
        .unwrap_or_else(|| panic!("no `services up` line\n{}", why()));
    // Every test unit is a oneshot.
    let mut all: Vec<(String, bool)> = UNITS
        .iter()
        .filter(|(n, _)| *n != "fails")
        .map(|(n, _)| (n.to_string(), true))
        .collect();
    let kept = install::runnable(Some(&img.root()), &img.extras, &install::shipped_units()).unwrap();
    all.extend(kept.set.units.iter().map(|u| (u.name.clone(), u.oneshot)));
    for (name, oneshot) in &all {
        assert_eq!(
            t.state(name),
            Some(expected(*oneshot)),
            "{name}: {:#?}\n{}",
            t.zinit_list,
            why()
        );
    }
    // The failing oneshot is reported with its exit status; the boot went on.
    let failed = t.state("fails").unwrap_or_else(|| panic!("{:#?}", t.zinit_list));
    assert!(
        failed.starts_with("Error(Exited(") && failed.ends_with(", 3))"),
        "{failed}\n{}",
        why()
    );
    assert_eq!(t.state("boot-report"), Some("Running"), "{:#?}", t.zinit_list);

    // The init's boot report, read by a unit: the same handover the console shows.
    let json: String = log
        .lines()
        .filter_map(|l| {
            l.split_once("zos-test.boot.json|")
                .map(|(_, r)| format!("{}\n", r.trim_end()))
        })
        .collect();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}\n{}", why()));
    assert_eq!(v["exec"], serde_json::json!(["/sbin/zinit", "init"]), "{json}");
    assert_eq!(v["version"], 1, "{json}");
    let phase = zos_builder::run::init_phase_ms(log).unwrap_or_else(|| panic!("{}", why()));
    let reported = v["init_phase_ms"].as_f64().unwrap_or_else(|| panic!("{json}"));
    assert!(
        (phase - reported).abs() < 0.2,
        "console {phase} ms, boot.json {reported} ms"
    );

    // zinit's own shutdown powered the machine off cleanly.
    assert!(
        log.contains("zos-boot: powering off with 'zinit shutdown'"),
        "{}",
        why()
    );
    assert!(log.contains("zinit: INFO (zinit::zinit) shutting down"), "{}", why());
    assert!(t.powered_off, "no `reboot: Power down`\n{}", why());
    assert!(!t.panicked, "{}", why());

    // One timeline: the handover, then zinit's lines, then the services up.
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
    assert!(handover <= first_zinit && first_zinit < up, "{t}");
    eprintln!("{t}");
}

#[test]
fn alpine_userland_runs_every_zero_os_unit_it_can_and_lint_lists_the_rest() {
    let img = Image {
        init: None,
        dir: tempfile::tempdir().unwrap(),
        extras: Vec::new(),
    };
    let root = img.root();
    common::alpine::install_base(&root, &img.dir.path().join("build.log"));
    // busybox ntpd (the `ntp` unit) needs a peer to keep running; nothing answers.
    fs::write(root.join("etc/ntp.conf"), "server 127.0.0.1\n").unwrap();
    let (extras, notes) = install::zinit_extras(&root, true).unwrap_or_else(|e| panic!("{e}"));
    let sel = install::runnable(Some(&root), &extras, &install::shipped_units()).unwrap();
    let img = Image { extras, ..img };
    let out = img.boot(APPEND, 512);
    let t = timeline::parse(&out.log);
    let why = || format!("lint: {notes}\n{}", tail(&out));
    assert!(t.services_up.is_some(), "{}", why());

    // Every unit of configs/zinit is either run or named by lint with its reason.
    let (shipped, errors) = UnitSet::load(Path::new(&install::shipped_units()));
    assert!(errors.is_empty(), "{errors:?}");
    for u in &shipped.units {
        let left_out = sel.left_out.iter().find(|l| l.unit == u.name);
        match left_out {
            Some(l) => {
                assert!(
                    notes.contains(&format!("left out unit {}: {}", u.name, l.why)),
                    "{}: {notes}",
                    u.name
                );
                assert_eq!(t.state(&u.name), None, "{} was left out but zinit has it", u.name);
            }
            None => assert_eq!(
                t.state(&u.name),
                Some(expected(u.oneshot)),
                "{}: {:#?}\n{}",
                u.name,
                t.zinit_list,
                why()
            ),
        }
    }
    // alpine-base has no udev, sshd, haveged or prlimit: those units cannot run there,
    // and sshd is out because it is after sshd-setup.
    for name in [
        "udevd",
        "udev-trigger",
        "sshd-setup",
        "sshd",
        "haveged",
        "local-modprobe",
    ] {
        assert!(sel.left_out.iter().any(|l| l.unit == name), "{name}: {notes}");
    }
    assert!(!sel.set.units.is_empty(), "{notes}");
    assert!(t.powered_off && !t.panicked, "{}", why());
    eprintln!("{notes}{t}");
}
