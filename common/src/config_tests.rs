//! The config file parser: defaults, every key, bad lines reported and skipped, the
//! cmdline over the file.

use super::*;

#[test]
fn defaults_are_the_shell_init() {
    let c = Config::default();
    assert_eq!(c.tmpfs_size, "1536M");
    assert_eq!(c.new_root, "/mnt/root");
    assert_eq!(c.copy.join(" "), "/bin /etc /lib* /usr /root /tmp /sbin /var /run");
    assert_eq!(
        (c.handover.as_str(), c.handover_args.join(" ")),
        ("/sbin/zinit", "init".to_string())
    );
}

#[test]
fn render_parse_round_trip() {
    let c = Config {
        tmpfs_size: "2G".into(),
        exclude: vec!["/var/cache".into()],
        handover: "/sbin/zinit-pid1".into(),
        handover_args: vec![],
        emergency: EmergencyAction::Reboot,
        allow_shell: false,
        log_targets: LogTargets {
            console: true,
            kmsg: false,
        },
        ..Default::default()
    };
    let (back, errs) = Config::parse(&c.render(), "t");
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(back, c);
    let hw = Config {
        coldplug: ColdplugMode::Udev,
        coldplug_timeout_ms: 5000,
        module_timeout_ms: 2500,
        essential_modules: vec!["fuse".into()],
        modules_load: vec!["vfat".into()],
        module_blacklist: vec!["floppy".into(), "pcspkr".into()],
        module_params: vec!["virtio_net.napi_tx=1".into()],
        ..Default::default()
    };
    let (back, errs) = Config::parse(&hw.render(), "t");
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(back, hw);
    let (back, errs) = Config::parse(&c.render(), "t");
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(back, c);
}

#[test]
fn bad_lines_name_file_and_line_and_keep_defaults() {
    let (c, errs) = Config::parse(
        "tmpfs_size = big\n# fine\nbogus\nwhat = 1\nhandover = zinit\n",
        "/etc/zos-init.conf",
    );
    assert_eq!(c, Config::default());
    let msgs: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(msgs.len(), 4);
    assert!(msgs[0].starts_with("/etc/zos-init.conf:1: tmpfs_size"));
    assert!(msgs[1].starts_with("/etc/zos-init.conf:3: expected"));
    assert!(msgs[2].contains(":4: unknown key `what`"));
    assert!(msgs[3].contains(":5: handover"));
}

#[test]
fn flags_override_config() {
    let flags = crate::cmdline::parse("init=/bin/sh zos.tmpfs=64M zos.copy+=/opt,/bin zos.copy-=/tmp");
    let c = Config::default().with_flags(&flags);
    assert_eq!(c.handover, "/bin/sh");
    assert_eq!(c.handover_args, vec!["init"]);
    assert_eq!(c.tmpfs_size, "64M");
    assert_eq!(c.copy.last().map(String::as_str), Some("/opt"));
    assert_eq!(c.copy.iter().filter(|p| *p == "/bin").count(), 1);
    assert_eq!(c.exclude, vec!["/tmp"]);
}

#[test]
fn module_timeout_flag_overrides_the_file_and_a_bad_one_keeps_it() {
    let (file, errs) = Config::parse("module_timeout_ms = 4000\n", "t");
    assert!(errs.is_empty(), "{errs:?}");
    let with = |cmdline: &str| file.clone().with_flags(&crate::cmdline::parse(cmdline));
    assert_eq!(with("zos.module_timeout=2500").module_timeout_ms, 2500);
    assert_eq!(with("zos.module_timeout=0").module_timeout_ms, 0);
    assert_eq!(with("zos.module_timeout=4s").module_timeout_ms, 4000);
    assert_eq!(with("").module_timeout_ms, 4000);
    let default = |cmdline: &str| Config::default().with_flags(&crate::cmdline::parse(cmdline));
    assert_eq!(default("zos.module_timeout=-5").module_timeout_ms, 30_000);
    assert_eq!(default("zos.module_timeout=60000").module_timeout_ms, 60_000);
}

#[test]
fn sizes() {
    for ok in ["1536M", "2G", "50%", "4096", "1k", "1T"] {
        assert!(valid_size(ok), "{ok}");
    }
    for bad in [
        "",
        "M",
        "1.5G",
        "12MM",
        "-1",
        "big",
        "1 G",
        "99999999999999999999G",
        "0",
        "0M",
        "00%",
    ] {
        assert!(!valid_size(bad), "{bad}");
    }
}
