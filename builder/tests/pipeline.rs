//! `zos-builder build` as a pipeline: stages, skipping, build.log, knob precedence,
//! loud failure on unpinned components, reproducibility across directories and times,
//! the efi stage, and the rootfs stage from the Alpine fixtures.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod gh_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gh_support::{sha256, FakeGithub};

const COREX: &[u8] = b"\x7fELF corex 2.1.4 binary";
const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

struct Project {
    dir: PathBuf,
    gh: FakeGithub,
}

/// A project dir: rootfs, prebuilt init, a lock (a GitHub asset on the fake server and
/// a local file, both pinned), a fake kernel and build.toml with `extra` appended.
fn project(dir: &Path, gh: FakeGithub, verify: bool, extra: &str) -> Project {
    let r = dir.join("rootfs");
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::create_dir_all(r.join("bin")).unwrap();
    fs::write(r.join("etc/hostname"), "zos\n").unwrap();
    std::os::unix::fs::symlink("busybox", r.join("bin/sh")).unwrap();
    fs::write(dir.join("init-bin"), "INIT").unwrap();
    fs::write(dir.join("tool.bin"), "tool").unwrap();
    fs::write(dir.join("motd"), "welcome\n").unwrap();
    fs::write(dir.join("vmlinuz"), "not really a kernel").unwrap();
    gh.asset("threefoldtech/corex", "2.1.4", "corex-2.1.4-amd64-linux-static", COREX);
    let sha = if verify { sha256(COREX) } else { "UNPINNED".into() };
    let lock = format!(
        "[[component]]\nname = \"corex\"\nsource = \"github\"\nrepo = \"threefoldtech/corex\"\ntag = \"2.1.4\"\n\
         install = \"/usr/bin/corex\"\n[component.assets.amd64]\nname = \"corex-2.1.4-amd64-linux-static\"\n\
         sha256 = \"{sha}\"\nverify = {verify}\n\n\
         [[component]]\nname = \"tool\"\nsource = \"path\"\npath = \"tool.bin\"\ninstall = \"/usr/bin/tool\"\n\
         [component.assets.amd64]\nname = \"tool.bin\"\nsha256 = \"{}\"\n",
        sha256(b"tool")
    );
    fs::write(dir.join("components.lock"), lock).unwrap();
    let cfg = format!(
        "BUILDMODE = \"debug\"\nSOURCE_DATE_EPOCH = 1704067200\n\
         [rootfs]\nsource = \"dir:rootfs\"\n[configs]\nfiles = [\"motd:/etc/motd:644\"]\n\
         [init]\npath = \"init-bin\"\n[efi]\nkernel = \"vmlinuz\"\n{extra}"
    );
    fs::write(dir.join("build.toml"), cfg).unwrap();
    Project {
        dir: dir.to_owned(),
        gh,
    }
}

impl Project {
    /// A build that keeps the fixture's image: it has no /sbin/zinit, so it cannot boot
    /// (`the_pipeline_refuses_an_unbootable_image` checks the refusal).
    fn build(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all = vec!["--allow-unbootable"];
        all.extend_from_slice(args);
        self.build_strict(&all, env)
    }

    fn build_strict(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zos-builder"));
        for k in zos_builder::knobs::NAMES
            .iter()
            .chain(&["SOURCE_DATE_EPOCH", "ZOS_OFFLINE"])
        {
            c.env_remove(k);
        }
        c.arg("build")
            .arg("--config")
            .arg(self.dir.join("build.toml"))
            .arg("--out-dir")
            .arg(self.dir.join("out"))
            .args(args)
            .env("ZOS_CACHE_DIR", self.dir.join("cache"))
            .env("ZOS_GITHUB_DOWNLOAD", &self.gh.base)
            .envs(env.iter().copied());
        c.output().unwrap()
    }

    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let o = self.build(args, env);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "build failed:\n{err}");
        self.log()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("out/build.log")).unwrap()
    }

    fn image(&self) -> PathBuf {
        self.dir.join("out/initramfs.cpio.zst")
    }

    fn cat(&self, path: &str) -> Vec<u8> {
        zos_builder::unpack::cat(&self.image(), path).unwrap()
    }
}

fn stage_line<'a>(log: &'a str, stage: &str) -> &'a str {
    let tag = format!("] {stage}: ");
    log.lines()
        .rfind(|l| l.contains(&tag) && !l.contains(": running"))
        .unwrap_or_else(|| panic!("no line for {stage} in\n{log}"))
}

#[test]
fn stages_run_then_skip_when_unchanged_and_rerun_what_changed() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path(), FakeGithub::start(), true, "");
    let log = p.ok(&[], &[]);
    for s in ["rootfs", "components", "configs", "init", "pack"] {
        assert!(stage_line(&log, s).contains(": done in "), "{s}: {log}");
    }
    assert!(
        stage_line(&log, "modules").contains("not run: no [kernel] source"),
        "{log}"
    );
    assert!(
        log.contains("BUILDMODE=debug (config)") && log.contains("SOURCE_DATE_EPOCH=1704067200"),
        "{log}"
    );
    assert!(log.contains("stage        status      seconds"), "{log}");
    assert_eq!(p.cat("/usr/bin/corex"), COREX);
    assert_eq!(p.cat("/usr/bin/tool"), b"tool");
    assert_eq!(p.cat("/etc/motd"), b"welcome\n");
    assert_eq!(p.cat("/init"), b"INIT");
    assert_eq!(p.cat("/etc/hostname"), b"zos\n");
    let conf = String::from_utf8(p.cat("/etc/zos-init.conf")).unwrap();
    assert!(conf.contains("debug_inject = yes"), "{conf}");
    let first = fs::read(p.image()).unwrap();
    let hits = p.gh.hits();

    let log = p.ok(&[], &[]);
    for s in ["rootfs", "components", "configs", "init", "pack", "efi"] {
        assert!(stage_line(&log, s).contains("skipped, inputs unchanged"), "{s}: {log}");
    }
    assert_eq!(fs::read(p.image()).unwrap(), first);
    assert_eq!(p.gh.hits(), hits, "no download for a skipped stage");

    fs::write(p.dir.join("rootfs/etc/hostname"), "node\n").unwrap();
    let log = p.ok(&[], &[]);
    for s in ["rootfs", "configs", "pack"] {
        assert!(stage_line(&log, s).contains(": done in "), "{s}: {log}");
    }
    for s in ["components", "init"] {
        assert!(stage_line(&log, s).contains("skipped"), "{s}: {log}");
    }
    assert_eq!(p.cat("etc/hostname"), b"node\n");

    // --force runs everything; a deleted output is rebuilt even with a matching stamp.
    assert!(stage_line(&p.ok(&["--force"], &[]), "components").contains("done in"));
    fs::remove_file(p.image()).unwrap();
    assert!(stage_line(&p.ok(&[], &[]), "pack").contains("done in"));
}

#[test]
fn two_builds_in_different_dirs_at_different_times_are_bit_identical() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pa = project(&a.path().join("one"), FakeGithub::start(), true, "");
    pa.ok(&[], &[]);
    // Different mtimes everywhere, a different path and a different server port.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let pb = project(&b.path().join("two/levels"), FakeGithub::start(), true, "");
    pb.ok(&[], &[]);
    let (ia, ib) = (fs::read(pa.image()).unwrap(), fs::read(pb.image()).unwrap());
    assert_eq!(sha256(&ia), sha256(&ib), "initramfs differs");
    let efi = |p: &Project| fs::read(p.dir.join("out/vmlinuz.efi")).ok().map(|b| sha256(&b));
    assert_eq!(efi(&pa), efi(&pb), "vmlinuz.efi differs");
    // The image does change with SOURCE_DATE_EPOCH (it is what makes them equal).
    pb.ok(&[], &[("SOURCE_DATE_EPOCH", "1704067201")]);
    assert_ne!(sha256(&fs::read(pb.image()).unwrap()), sha256(&ia));
}

#[test]
fn unpinned_components_fail_the_build_loudly() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path(), FakeGithub::start(), false, "");
    let o = p.build(&[], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("stage components: component corex (amd64)") && err.contains("VERIFY_CHECKSUMS is on"),
        "{err}"
    );
    assert!(
        p.log().lines().last().unwrap().contains("ERROR: stage components"),
        "{}",
        p.log()
    );
    assert!(!p.image().exists());
    // Turned off by flag, env or config: the build goes through, and says so.
    let log = p.ok(&["--verify-checksums", "0"], &[]);
    assert!(
        log.contains("VERIFY_CHECKSUMS=0 (flag)") && log.contains("NOT checked"),
        "{log}"
    );
    // Release mode refuses an unpinned component whatever VERIFY_CHECKSUMS says.
    let o = p.build(&["--verify-checksums", "0"], &[("BUILDMODE", "release")]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("release builds pin every component"));
}

#[test]
fn knobs_flag_beats_env_beats_config() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path(), FakeGithub::start(), true, "");
    let log = p.ok(&[], &[("BUILDMODE", "release")]);
    assert!(log.contains("BUILDMODE=release (environment)"), "{log}");
    let conf = String::from_utf8(p.cat("etc/zos-init.conf")).unwrap();
    assert!(
        conf.contains("emergency = reboot") && conf.contains("debug_inject = no"),
        "{conf}"
    );
    let log = p.ok(&["--mode", "debug"], &[("BUILDMODE", "release")]);
    assert!(log.contains("BUILDMODE=debug (flag)"), "{log}");
    assert!(
        stage_line(&log, "configs").contains("done in"),
        "a knob change reruns its stages"
    );
    let o = p.build(&["--targetarch", "sparc"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("TARGETARCH=\"sparc\" (from the flag)"));
}

#[test]
fn efi_stage_writes_a_uki_or_says_why_not() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path(), FakeGithub::start(), true, "");
    let log = p.ok(&[], &[]);
    let line = stage_line(&log, "efi");
    if Path::new(STUB).is_file() {
        assert!(line.contains("done in"), "{log}");
        let efi = fs::read(p.dir.join("out/vmlinuz.efi")).unwrap();
        assert_eq!(&efi[..2], b"MZ");
    } else {
        assert!(line.contains("no EFI stub at"), "{line}");
    }
    let q = project(
        &t.path().join("nokernel"),
        FakeGithub::start(),
        true,
        "enabled = false\n",
    );
    assert!(stage_line(&q.ok(&[], &[]), "efi").contains("not run: [efi] enabled = false"));
}

#[test]
fn direct_form_options_need_rootfs() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path(), FakeGithub::start(), true, "");
    let o = p.build(&["--zinit"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--zinit needs --rootfs"));
}

#[test]
fn the_pipeline_refuses_an_unbootable_image_and_names_its_log() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path(), FakeGithub::start(), true, "");
    let o = p.build_strict(&[], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("cannot boot") && err.contains("/sbin/zinit"), "{err}");
    let log = t.path().join("out/build.log");
    assert!(err.ends_with(&format!("\nbuild log: {}\n", log.display())), "{err}");
    assert!(
        p.log().contains("ERROR: ") && p.log().contains("cannot boot"),
        "{}",
        p.log()
    );
    // The pack stage is skipped on the second run; the check still runs.
    assert!(p.build(&[], &[]).status.success());
    assert!(
        p.log().contains("warning: ") && p.log().contains("cannot boot"),
        "{}",
        p.log()
    );
    assert!(!p.build_strict(&[], &[]).status.success());
}

#[test]
fn pack_flags_replace_the_configs_pack_values() {
    let t = tempfile::tempdir().unwrap();
    let p = project(t.path(), FakeGithub::start(), true, "");
    let log = p.ok(&["--compression", "gzip", "--level", "1"], &[]);
    assert!(log.contains("pack: gzip level 1"), "{log}");
    let gz = t.path().join("out/initramfs.cpio.gz");
    let head = fs::read(&gz).unwrap();
    assert_eq!(&head[..2], b"\x1f\x8b", "{} is no gzip file", gz.display());
    let o = p.build(&["--compression", "lz4"], &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("lz4"));
    let o = p.build(&["-o", "x.cpio"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("-o/--output needs --rootfs"));
}

#[test]
fn rootfs_stage_installs_from_the_alpine_fixtures_once() {
    let fixtures = std::env::var_os("ZOS_ALPINE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/alpine-fixtures"));
    let repo = fixtures.join("v3.19.1-iso-x86_64");
    let t = tempfile::tempdir().unwrap();
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/keys");
    fs::write(
        t.path().join("apk.toml"),
        format!(
            "[alpine]\nrepositories = [\"{}\"]\ntargetarch = \"amd64\"\nkeys = \"{}\"\n",
            repo.display(),
            keys.display()
        ),
    )
    .unwrap();
    fs::write(t.path().join("packages.txt"), "busybox\n").unwrap();
    let p = project(
        t.path(),
        FakeGithub::start(),
        true,
        "[components]\ninclude = [\"tool\"]\n",
    );
    let cfg = fs::read_to_string(p.dir.join("build.toml")).unwrap();
    fs::write(
        p.dir.join("build.toml"),
        cfg.replace("source = \"dir:rootfs\"", "source = \"apk\""),
    )
    .unwrap();
    let log = p.ok(&[], &[]);
    assert!(stage_line(&log, "rootfs").contains("packages into"), "{log}");
    assert!(p.cat("bin/busybox").starts_with(b"\x7fELF"));
    let log = p.ok(&[], &[]);
    assert!(stage_line(&log, "rootfs").contains("skipped"), "{log}");
    // A knob the installer reads (ALPINE_VERSION) reruns it.
    let log = p.ok(&["--alpine-version", "3.19"], &[]);
    assert!(stage_line(&log, "rootfs").contains("done in"), "{log}");
}
