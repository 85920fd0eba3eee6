//! Every flag honoured or refused: runs the `zos-builder` binary with the combinations
//! an operator tries (docs/BUILD.md, "Flags") and checks the files it wrote, its exit
//! code and its message. Also `completions` and `man`.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zos-builder"));
    c.current_dir(cwd).env("SOURCE_DATE_EPOCH", "1704067200");
    for k in zos_builder::knobs::NAMES {
        c.env_remove(k);
    }
    c
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    bin(cwd).args(args).output().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A rootfs and a fake /init in `dir`; the build args up to the output choice.
fn direct(dir: &Path) -> Vec<String> {
    let r = dir.join("rootfs");
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/hostname"), "zos\n").unwrap();
    fs::write(dir.join("init-bin"), "INIT").unwrap();
    [
        "build",
        "--rootfs",
        "rootfs",
        "--init",
        "init-bin",
        "--allow-unbootable",
    ]
    .map(String::from)
    .to_vec()
}

fn with(base: &[String], more: &[&str]) -> Vec<String> {
    base.iter().cloned().chain(more.iter().map(|s| s.to_string())).collect()
}

fn run_s(cwd: &Path, args: &[String]) -> Output {
    bin(cwd).args(args).output().unwrap()
}

fn magic(p: &PathBuf) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))[..4].to_vec()
}

#[test]
fn direct_form_writes_into_out_dir_with_its_build_log() {
    let t = tempfile::tempdir().unwrap();
    let base = direct(t.path());
    let o = run_s(t.path(), &with(&base, &["--out-dir", "od"]));
    assert!(o.status.success(), "{}", err(&o));
    let img = t.path().join("od/initramfs.cpio.zst");
    assert_eq!(magic(&img), [0x28, 0xb5, 0x2f, 0xfd], "zstd frame");
    let log = fs::read_to_string(t.path().join("od/build.log")).unwrap();
    assert!(
        log.contains("od/initramfs.cpio.zst: ") && log.contains("cannot boot"),
        "{log}"
    );
    assert!(
        !t.path().join("output").exists(),
        "nothing in ./output when --out-dir is given"
    );
}

#[test]
fn the_image_name_gives_the_compression_or_a_disagreement_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let base = direct(t.path());
    let o = run_s(t.path(), &with(&base, &["-o", "x.cpio.gz"]));
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(&magic(&t.path().join("x.cpio.gz"))[..2], [0x1f, 0x8b], "gzip");
    assert!(t.path().join("build.log").is_file(), "-o's directory holds the log");

    let o = run_s(t.path(), &with(&base, &["-o", "y.cpio.gz", "--compression", "zstd"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("-o y.cpio.gz names gzip compression but --compression is zstd"),
        "{}",
        err(&o)
    );
    assert!(!t.path().join("y.cpio.gz").exists());
    // A name without a known extension takes --compression as it is.
    let o = run_s(t.path(), &with(&base, &["-o", "z.img", "--compression", "xz"]));
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(magic(&t.path().join("z.img")), [0xfd, b'7', b'z', b'X']);
}

#[test]
fn pipeline_flags_with_rootfs_are_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    let base = direct(t.path());
    for (flags, name) in [
        (&["--config", "configs/build.toml"][..], "--config"),
        (&["--force"][..], "--force"),
        (&["--targetarch", "arm64"][..], "--targetarch"),
        (&["--kernel-version", "6.1"][..], "--kernel-version"),
        (&["--verify-checksums", "0"][..], "--verify-checksums"),
    ] {
        let o = run_s(t.path(), &with(&base, flags));
        assert_eq!(o.status.code(), Some(1), "{flags:?}");
        assert!(
            err(&o).contains(&format!("{name} is for the pipeline form (no --rootfs)")),
            "{flags:?}: {}",
            err(&o)
        );
    }
    let o = run_s(t.path(), &with(&base, &["--tiers", "t.txt"]));
    assert!(err(&o).contains("--tiers needs --modules-from"), "{}", err(&o));
    assert!(!t.path().join("output/initramfs.cpio.zst").exists());
}

#[test]
fn old_output_spellings_still_work_but_help_shows_one_scheme() {
    let t = tempfile::tempdir().unwrap();
    // Old and new names reach the command (exit 1 from its own check, not clap's 2).
    for args in [
        &["rootfs", "--out", "r", "--packages", "/nonexistent"][..],
        &["rootfs", "--out-dir", "r", "--packages", "/nonexistent"][..],
        &["netboot", "-o", "n", "--from", "/nonexistent"][..],
        &["netboot", "--out", "n", "--from", "/nonexistent"][..],
        &["netboot", "--out-dir", "n", "--from", "/nonexistent"][..],
    ] {
        let o = run(t.path(), args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", err(&o));
    }
    for cmd in ["build", "run", "rootfs", "netboot", "bench"] {
        let o = run(t.path(), &[cmd, "--help"]);
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(help.contains("--out-dir <DIR>"), "{cmd}: {help}");
        assert!(!help.contains("--out <") && !help.contains("--out, "), "{cmd}: {help}");
    }
    let help = String::from_utf8_lossy(&run(t.path(), &["run", "--help"]).stdout).into_owned();
    assert!(!help.contains("--output"), "{help}");
}

#[test]
fn completions_and_man_pages_cover_every_subcommand() {
    let t = tempfile::tempdir().unwrap();
    let o = run(t.path(), &["completions", "bash"]);
    assert!(o.status.success());
    let script = t.path().join("zos-builder.bash");
    fs::write(&script, &o.stdout).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(syntax.success(), "bash -n on the completion script");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("--allow-unbootable") && text.contains("timeline"), "bash");
    for shell in ["zsh", "fish"] {
        let o = run(t.path(), &["completions", shell]);
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("out-dir"),
            "{shell}"
        );
    }
    assert_eq!(run(t.path(), &["completions", "tcsh"]).status.code(), Some(2));

    let o = run(t.path(), &["man", "pages"]);
    assert!(o.status.success(), "{}", err(&o));
    for sub in ["", "-build", "-run", "-timeline", "-lint", "-completions"] {
        let page = t.path().join(format!("pages/zos-builder{sub}.1"));
        let text = fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(text.contains(".TH"), "{sub}: roff");
    }
    let build = fs::read_to_string(t.path().join("pages/zos-builder-build.1")).unwrap();
    assert!(build.contains("allow\\-unbootable"), "flags in the build page");
}

#[test]
fn run_and_bench_refuse_flags_their_other_flags_make_meaningless() {
    let t = tempfile::tempdir().unwrap();
    for (args, want) in [
        (&["run", "--timeout", "5"][..], "--batch"),
        (
            &["run", "--netboot", "nb", "--init", "x"][..],
            "--init has nothing to replace with --netboot nb",
        ),
        (&["bench", "--no-memory", "--mem-min", "32"][..], "cannot be used with"),
        (&["bench", "--no-pack", "--pack-runs", "1"][..], "cannot be used with"),
    ] {
        let o = run(t.path(), args);
        assert!(!o.status.success(), "{args:?}");
        assert!(err(&o).contains(want), "{args:?}: {}", err(&o));
    }
    // The default --timeout does not count as given: this fails on the missing dir.
    let o = run(t.path(), &["run", "--netboot", "missing-dir"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(!err(&o).contains("--batch"), "{}", err(&o));
}
