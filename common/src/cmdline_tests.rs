//! Tests of cmdline.rs.

use super::*;

#[test]
fn tokenizes_like_the_kernel() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("  a  b\tc\n", &["a", "b", "c"]),
        (r#"x="a b" y"#, &["x=a b", "y"]),
        (r#""x=a b" y"#, &["x=a b", "y"]),
        (r#"x="unterminated rest"#, &["x=unterminated rest"]),
        (r#"a="" b"#, &["a=", "b"]),
        // Like next_arg(): quotes inside a word stay, only ASCII whitespace (and
        // the byte 0xA0) splits, the string ends at NUL.
        (r#"a=b"c"d"#, &[r#"a=b"c"d"#]),
        (r#"x="a"b"#, &[r#"x=a"b"#]),
        ("a\u{2003}b c\u{85}d", &["a\u{2003}b", "c\u{85}d"]),
        ("a\x0bb\x0cc", &["a", "b", "c"]),
        ("a b\0c d", &["a", "b"]),
        ("\"=x\" y", &["=x", "y"]),
    ];
    for (input, want) in cases {
        assert_eq!(tokenize(input), *want, "input {input:?}");
    }
}

#[test]
fn reads_our_flags() {
    let f = parse("console=ttyS0 init=/bin/sh zos.tmpfs=2G zos.emergency=poweroff zos.free=0 zos.log=debug zos.log_to=kmsg zos.copy+=/opt,/srv zos.copy-=/var/cache zos.break=copy,switch");
    assert_eq!(f.init.as_deref(), Some("/bin/sh"));
    assert_eq!(f.tmpfs_size.as_deref(), Some("2G"));
    assert_eq!(f.emergency, Some(EmergencyAction::Poweroff));
    assert_eq!(f.free_source, Some(false));
    assert_eq!(f.log_level, Some(LogLevel::Debug));
    assert_eq!(
        f.log_targets,
        Some(LogTargets {
            console: false,
            kmsg: true
        })
    );
    assert_eq!(f.copy_add, vec!["/opt", "/srv"]);
    assert_eq!(f.copy_exclude, vec!["/var/cache"]);
    assert_eq!(f.break_before, vec![Stage::Copy, Stage::Switch]);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
}

#[test]
fn root_mode_and_kernel_root() {
    let f = parse("root=/dev/ram0 zos.root=bind");
    assert_eq!(f.root_mode, Some(RootMode::Bind));
    assert_eq!(f.kernel_root.as_deref(), Some("/dev/ram0"));
    let f = parse("zos.root=zero");
    assert_eq!((f.root_mode, f.kernel_root), (None, None));
    assert_eq!(f.problems, vec!["zos.root=zero: expected copy, bind or auto"]);
}

#[test]
fn debug_injection_flags() {
    let f = parse("zos.debug=1 zos.debug.src=LABEL=ZOSDEBUG zos.debug.wait=2500 zos-debug");
    assert_eq!(f.debug.force, Some(true));
    assert_eq!(f.debug.source, Some(Source::Label("ZOSDEBUG".into())));
    assert_eq!(f.debug.wait, Some(std::time::Duration::from_millis(2500)));
    let f = parse("zos.debug=maybe zos.debug.src=sda1 zos.debug.wait=-1");
    assert_eq!(f.debug, DebugFlags::default());
    assert_eq!(f.problems.len(), 3, "{:?}", f.problems);
}

#[test]
fn dracut_spellings() {
    let f = parse("rd.break rd.debug rd.emergency=reboot");
    assert_eq!(f.break_before, vec![Stage::Switch]);
    assert_eq!(f.log_level, Some(LogLevel::Debug));
    assert_eq!(f.emergency, Some(EmergencyAction::Reboot));
    assert_eq!(parse("rd.break=pre-mount").break_before, vec![Stage::Copy]);
    assert_eq!(parse("rd.debug=1").log_level, Some(LogLevel::Debug));
    assert_eq!(parse("rd.debug=0").log_level, None);
    assert_eq!(parse("rd.shell").emergency, Some(EmergencyAction::Shell));
    assert_eq!(parse("rd.shell=1").emergency, Some(EmergencyAction::Shell));
    assert_eq!(parse("rd.shell=0").emergency, Some(EmergencyAction::Reboot));
    let bad = parse("rd.debug=maybe rd.shell=perhaps");
    assert_eq!((bad.log_level, bad.emergency), (None, None));
    assert_eq!(bad.problems.len(), 2, "{:?}", bad.problems);
}

#[test]
fn mkinitcpio_spellings() {
    assert_eq!(parse("break").break_before, vec![Stage::Copy]);
    assert_eq!(parse("break=y").break_before, vec![Stage::Copy]);
    assert_eq!(parse("break=premount").break_before, vec![Stage::Copy]);
    assert_eq!(parse("break=postmount").break_before, vec![Stage::Switch]);
    assert_eq!(parse("rd.break=postmount").break_before, vec![Stage::Switch]);
    let f = parse("break=later");
    assert!(f.break_before.is_empty());
    assert!(
        f.problems[0].contains("break=later: unknown stage later"),
        "{:?}",
        f.problems
    );
}

#[test]
fn zero_os_flags_pass_through() {
    let f = parse("zos-debug zos-debug-vm runmode=dev version=v3 farmer_id=42 disable-gpu quiet");
    assert_eq!(f, Flags::default());
}

#[test]
fn deep_copy_paths_and_a_zero_tmpfs_are_refused_at_parse_time() {
    let f = parse("zos.copy+=/opt/x,/srv,/,/.. zos.tmpfs=0");
    assert_eq!(f.copy_add, vec!["/srv"]);
    assert_eq!(f.tmpfs_size, None, "tmpfs reads size=0 as unlimited");
    assert!(
        f.problems
            .iter()
            .any(|p| p.contains("not top-level paths (/NAME): /opt/x,/,/..")),
        "{:#?}",
        f.problems
    );
    assert!(
        f.problems.iter().any(|p| p.starts_with("zos.tmpfs=0")),
        "{:#?}",
        f.problems
    );
}

#[test]
fn bad_flags_are_reported_once_and_ignored() {
    let f = parse("zos.tmpfs=lots zos.tmpfs=lots zos.emergency=dance zos.nope=1 zos.free=maybe init=relative zos.break=nowhere zos.copy+=rel,/ok");
    assert_eq!(f.tmpfs_size, None);
    assert_eq!(f.emergency, None);
    assert_eq!(f.init, None);
    assert_eq!(f.copy_add, vec!["/ok"]);
    assert_eq!(f.problems.len(), 7, "{:#?}", f.problems);
    assert!(f.problems[0].contains("zos.tmpfs=lots"));
    assert!(f.problems.iter().any(|p| p.contains("zos.nope=1")));
    assert!(f.problems.iter().any(|p| p.contains("unknown stage nowhere")));
}

#[test]
fn module_flags() {
    let f = parse("modules_load=vfat,virtio-rng rd.modules_load=fuse module_blacklist=floppy modprobe.blacklist=pcspkr zos.coldplug=udev virtio_net.napi_tx=1 i915.modeset rd.luks=0 console=ttyS0");
    assert_eq!(f.modules_load, vec!["vfat", "virtio_rng", "fuse"]);
    assert_eq!(f.module_blacklist, vec!["floppy", "pcspkr"]);
    assert_eq!(f.coldplug, Some(ColdplugMode::Udev));
    assert_eq!(f.module_params, vec!["virtio_net.napi_tx=1", "i915.modeset"]);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(parse("zos.coldplug=maybe").problems.len(), 1);
    assert_eq!(
        parse("zos.modprobe=kernel").kernel_requests,
        Some(KernelRequests::Kernel)
    );
    assert_eq!(parse("zos.modprobe=sometimes").problems.len(), 1);
}

#[test]
fn module_timeout_flag() {
    for (word, ms) in [("4000", 4000), ("0", 0), ("30000", 30_000), ("86400000", 86_400_000)] {
        let f = parse(&format!("zos.module_timeout={word}"));
        assert_eq!(f.module_timeout_ms, Some(ms), "{word}");
        assert!(f.problems.is_empty(), "{word}: {:?}", f.problems);
    }
    // Not milliseconds: a problem naming the word, and the config's value kept (None).
    for bad in ["", "5s", "-1", "1.5", "4e3", "0x10", "ten", "18446744073709551616"] {
        let f = parse(&format!("zos.module_timeout={bad}"));
        assert_eq!(f.module_timeout_ms, None, "{bad:?}");
        assert_eq!(
            f.problems,
            vec![format!(
                "zos.module_timeout={bad}: expected milliseconds (0: unbounded)"
            )]
        );
    }
    let f = parse("zos.module_timeout");
    assert_eq!(f.module_timeout_ms, None);
    assert_eq!(
        f.problems,
        vec!["zos.module_timeout: unknown or malformed flag, ignored"]
    );
    // A bad word after a good one leaves the good one.
    let f = parse("zos.module_timeout=2500 zos.module_timeout=soon");
    assert_eq!(f.module_timeout_ms, Some(2500));
    assert_eq!(f.problems.len(), 1, "{:?}", f.problems);
}

#[test]
fn args_after_dashes_are_not_ours() {
    assert_eq!(parse("-- zos.tmpfs=1G").tmpfs_size, None);
}

#[test]
fn garbage_4k_cmdline_never_panics() {
    // Odd quoting, control bytes, long words, non-ASCII: the parser must cope.
    let mut s = String::new();
    let pieces = [
        "\"",
        "=",
        "zos.",
        "zos.tmpfs=",
        "\u{7f}",
        "é",
        " ",
        "rd.break=",
        ",",
        "\t",
        "init=",
        "--x",
        "\0",
    ];
    let mut x: u32 = 12345;
    while s.len() < 4096 {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        s.push_str(pieces[(x >> 16) as usize % pieces.len()]);
    }
    let f = parse(&s);
    assert!(f.problems.len() < 4096);
    let long = format!("zos.tmpfs={} init=/sbin/zinit", "9".repeat(5000));
    assert_eq!(parse(&long).init.as_deref(), Some("/sbin/zinit"));
}
