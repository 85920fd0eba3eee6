//! `source = "git"`: a component built from source, the way its release asset is made
//! (zinit's release workflow: `cargo build --release --target <musl>`, then `strip`).
//!
//! ```toml
//! [[component]]
//! name = "zinit"
//! source = "git"
//! path = "../../shared/components/zinit/zinit-v0.2.11.bundle"  # bundle or repository
//! commit = "40d8375b7377b3f47905e15246fa988c200757ff"
//! tag = "v0.2.11"      # informational; the commit is what is checked
//! bin = "zinit"        # [default: the component name]
//! install = "/sbin/zinit"
//! ```
//!
//! The checkout is a real `git clone` (not an export): zinit's `git-version` macro runs
//! `git describe`, so `zinit --version` says `v0.2.11` only from a clone with its tags.
//! The stripped binary is cached at
//! `<cache>/components/source/<name>/<commit>-<target>-<toolchain>/<bin>`, where
//! `<toolchain>` is a hash of `rustc -V`: another commit or another compiler builds
//! again, anything else reuses it. The build happens in a `.partial` directory under a
//! lock file and is renamed into place when complete, so a killed build or two test
//! binaries starting at once never leave half an entry.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::fetch::{sha256_file, FetchOptions, Fetched};
use super::lock::Component;
use super::ComponentError;

pub fn build(c: &Component, opts: &FetchOptions) -> Result<Fetched, ComponentError> {
    let rel = c.path.clone().unwrap_or_default();
    let src = opts.lock_dir.join(&rel);
    // `configs/../../shared/...` reads badly in the build log.
    let src = src.canonicalize().unwrap_or(src);
    let commit = c.commit.as_deref().unwrap_or_default();
    let bin = c.bin.as_deref().unwrap_or(&c.name);
    let target = opts.arch.musl_target();
    let fail = |cmd: &str, why: String| ComponentError::Build {
        name: c.name.clone(),
        cmd: cmd.to_string(),
        why,
    };
    let rustc = toolchain().map_err(|why| fail("rustc -V", why))?;
    let toolchain_id = hex::encode(&Sha256::digest(rustc.as_bytes())[..6]);
    let entry = format!("{commit}-{target}-{toolchain_id}");
    let parent = opts.cache.root().join("components/source").join(&c.name);
    let dir = parent.join(&entry);
    let out = dir.join(bin);
    let io = |op, path: &Path| {
        let (name, path) = (c.name.clone(), path.to_path_buf());
        move |cause| ComponentError::Io { name, op, path, cause }
    };
    let what = format!("git {} at {commit} ({rustc})", src.display());
    let mut how = "cached build of";
    if !out.is_file() {
        if !src.exists() {
            return Err(fail(
                "git clone",
                format!(
                    "source {} (`path = {:?}` in the lock, relative to {}) does not exist; \
                     it is the git bundle or repository of {} at {commit}",
                    src.display(),
                    rel.display(),
                    opts.lock_dir.display(),
                    c.name
                ),
            ));
        }
        fs::create_dir_all(&parent).map_err(io("mkdir -p", &parent))?;
        let lock_path = parent.join(".lock");
        let lock = File::create(&lock_path).map_err(io("create", &lock_path))?;
        lock.lock().map_err(io("flock", &lock_path))?;
        // Another process may have finished the build while we waited for the lock.
        if !out.is_file() {
            let partial = parent.join(format!("{entry}.partial"));
            let _ = fs::remove_dir_all(&partial);
            let built = compile(c, &src, commit, bin, target, &partial, opts.cache.offline())?;
            fs::create_dir_all(&partial).map_err(io("mkdir -p", &partial))?;
            fs::copy(&built, partial.join(bin)).map_err(io("copy", &built))?;
            match crate::strip::strip_elf(&partial.join(bin)) {
                crate::strip::Stripped::Done { .. } => {}
                crate::strip::Stripped::NotElf => return Err(fail("strip", format!("{} is no ELF", built.display()))),
                crate::strip::Stripped::Failed(why) => return Err(fail("strip --strip-unneeded", why)),
            }
            let _ = fs::remove_dir_all(partial.join("src"));
            let _ = fs::remove_dir_all(&dir);
            fs::rename(&partial, &dir).map_err(io("rename", &partial))?;
            how = "built";
        }
        drop(lock);
    }
    let sum = sha256_file(&out).map_err(io("read", &out))?;
    Ok(Fetched {
        note: format!(
            "{}: {how} {what}, cargo build --locked --release --target {target}, stripped: {} sha256 {sum}",
            c.name,
            out.display()
        ),
        path: out,
    })
}

/// `rustc -V` of the toolchain cargo will use here: the cache key's compiler.
fn toolchain() -> Result<String, String> {
    let out = Command::new("rustc").arg("-V").output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Clone `src` into `<work>/src`, check out `commit`, build `bin` for `target`; returns
/// the unstripped binary.
fn compile(
    c: &Component,
    src: &Path,
    commit: &str,
    bin: &str,
    target: &str,
    work: &Path,
    offline: bool,
) -> Result<PathBuf, ComponentError> {
    let tree = work.join("src");
    let run = |cmd: &mut Command, shown: String| -> Result<(), ComponentError> {
        let fail = |why: String| ComponentError::Build {
            name: c.name.clone(),
            cmd: shown.clone(),
            why,
        };
        let status = cmd.status().map_err(|e| fail(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(fail(format!("{status}; see its output above")))
        }
    };
    run(
        Command::new("git")
            .args(["-c", "init.defaultBranch=main", "clone", "-q", "--no-checkout"])
            .arg(src)
            .arg(&tree),
        format!("git clone --no-checkout {} {}", src.display(), tree.display()),
    )?;
    run(
        Command::new("git")
            .arg("-C")
            .arg(&tree)
            .args(["-c", "advice.detachedHead=false", "checkout", "-q", commit]),
        format!("git checkout {commit}"),
    )?;
    let head = Command::new("git")
        .arg("-C")
        .arg(&tree)
        .args(["rev-parse", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !head.eq_ignore_ascii_case(commit) {
        return Err(ComponentError::Build {
            name: c.name.clone(),
            cmd: format!("git checkout {commit}"),
            why: format!("HEAD is {head:?}, not the commit of the lock"),
        });
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--locked", "--release", "--target", target])
        .current_dir(&tree)
        // Its own target dir (removed with the work dir): never the workspace's, which a
        // running `cargo test` may hold locked.
        .env("CARGO_TARGET_DIR", tree.join("target"))
        .env_remove("RUSTFLAGS");
    if offline {
        cmd.arg("--offline");
    }
    eprintln!(
        "{}: building {} at {commit} for {target} once (about 40 s on 2 cores)",
        c.name,
        src.display()
    );
    run(
        &mut cmd,
        format!(
            "cargo build --locked --release --target {target} (in {})",
            tree.display()
        ),
    )?;
    Ok(tree.join("target").join(target).join("release").join(bin))
}
