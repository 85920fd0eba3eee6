//! `zos-builder build` without `--rootfs`: the named stages from configs/build.toml to
//! output/initramfs.cpio.<ext> (and output/vmlinuz.efi), each skipped when its inputs
//! did not change (stamp.rs), with progress on stderr and a per-stage time in
//! output/build.log. docs/BUILD.md, "Pipeline".

pub mod config;
pub mod log;
mod pack;
mod stages;
pub mod stamp;
pub mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use config::BuildConfig;
pub use stamp::Stage;

use crate::knobs::{self, KnobFlags, Knobs};
use log::BuildLog;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("build config {}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("build config: {0}")]
    Knob(#[from] knobs::KnobError),
    #[error("stage {stage}: {cause}")]
    Stage { stage: &'static str, cause: BoxError },
    #[error("build log {}: {cause}", path.display())]
    Log { path: PathBuf, cause: std::io::Error },
    #[error(transparent)]
    Unbootable(#[from] crate::bootable::VerdictError),
}

/// `build` flags that replace the config's `[pack]` values (unset: the config's).
#[derive(Debug, Clone, Default)]
pub struct PackOverride {
    pub compression: Option<String>,
    pub level: Option<u32>,
    /// `--root-owned`: only turns it on (the config's default is already on).
    pub root_owned: bool,
}

/// One build.
#[derive(Debug, Clone)]
pub struct Request {
    pub config: PathBuf,
    /// output/: images, build.log and `stages/`.
    pub out: PathBuf,
    pub flags: KnobFlags,
    /// The process environment's knob values and SOURCE_DATE_EPOCH (a map, so tests
    /// need not touch the real environment).
    pub env: BTreeMap<String, String>,
    /// `build --init PATH`: replaces `[init] path`.
    pub init: Option<PathBuf>,
    /// Run every stage even when its stamp matches.
    pub force: bool,
    /// Mirror build.log on stderr.
    pub verbose: bool,
    pub pack: PackOverride,
    /// Keep an image the bootability check refuses, with a warning (crate::bootable).
    pub allow_unbootable: bool,
}

impl Request {
    /// The variables a build reads from the environment.
    pub fn env_from_process() -> BTreeMap<String, String> {
        knobs::NAMES
            .iter()
            .chain(&["SOURCE_DATE_EPOCH"])
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Built,
    Skipped,
    /// Did nothing, for the reason given (no kernel source, no EFI writer, ...).
    NotRun(String),
}

#[derive(Debug, Clone)]
pub struct StageReport {
    pub stage: Stage,
    pub status: Status,
    pub seconds: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub stages: Vec<StageReport>,
    pub image: PathBuf,
    pub efi: Option<PathBuf>,
    pub log: PathBuf,
    pub seconds: f64,
}

/// What a stage body says when it finishes.
pub(crate) enum Outcome {
    Done(String),
    NotRun(String),
}

pub(crate) struct Run {
    pub req: Request,
    pub cfg: BuildConfig,
    pub knobs: Knobs,
    pub sde: Option<u64>,
    pub log: BuildLog,
    pub keys: BTreeMap<Stage, String>,
    pub reports: Vec<StageReport>,
}

impl Run {
    pub fn out(&self) -> &Path {
        &self.req.out
    }

    pub fn stage_dir(&self, s: Stage) -> PathBuf {
        self.req.out.join("stages").join(s.as_str())
    }

    pub fn key(&self, s: Stage) -> &str {
        self.keys.get(&s).map_or("", String::as_str)
    }

    /// Run (or skip) one stage: `key` fingerprints its inputs, `outputs_ok` says its
    /// outputs are still on disk.
    fn stage(
        &mut self,
        s: Stage,
        key: String,
        outputs_ok: bool,
        body: impl FnOnce(&mut Run) -> Result<Outcome, BoxError>,
    ) -> Result<(), PipelineError> {
        let n = Stage::ALL.iter().position(|x| *x == s).unwrap_or(0) + 1;
        let short = &key[..12.min(key.len())];
        self.keys.insert(s, key.clone());
        if !self.req.force && outputs_ok && stamp::is_fresh(self.out(), s, &key) {
            self.log.line(&format!(
                "[{n}/7] {}: skipped, inputs unchanged (key {short})",
                s.as_str()
            ));
            self.reports.push(StageReport {
                stage: s,
                status: Status::Skipped,
                seconds: 0.0,
            });
            return Ok(());
        }
        self.log.line(&format!("[{n}/7] {}: running (key {short})", s.as_str()));
        stamp::clear_stamp(self.out(), s);
        let t = Instant::now();
        let outcome = body(self).map_err(|cause| {
            self.log.line(&format!("ERROR: stage {}: {cause}", s.as_str()));
            PipelineError::Stage {
                stage: s.as_str(),
                cause,
            }
        })?;
        let seconds = t.elapsed().as_secs_f64();
        let status = match outcome {
            Outcome::Done(summary) => {
                stamp::write_stamp(self.out(), s, &key).map_err(|e| PipelineError::Stage {
                    stage: s.as_str(),
                    cause: format!("stamp {}: {e}", stamp::stamp_path(self.out(), s).display()).into(),
                })?;
                self.log
                    .line(&format!("[{n}/7] {}: done in {seconds:.2} s: {summary}", s.as_str()));
                Status::Built
            }
            Outcome::NotRun(why) => {
                self.log.line(&format!("[{n}/7] {}: not run: {why}", s.as_str()));
                Status::NotRun(why)
            }
        };
        self.reports.push(StageReport {
            stage: s,
            status,
            seconds,
        });
        Ok(())
    }
}

/// The whole pipeline.
pub fn run(req: &Request) -> Result<Report, PipelineError> {
    let mut cfg = BuildConfig::load(&req.config)?;
    if let Some(c) = &req.pack.compression {
        cfg.s.pack.compression = c.clone();
    }
    if req.pack.level.is_some() {
        cfg.s.pack.level = req.pack.level;
    }
    cfg.s.pack.root_owned |= req.pack.root_owned;
    let env = |k: &str| req.env.get(k).cloned();
    let knobs = knobs::resolve(&req.flags, env, &cfg.knobs)?;
    let sde = match env("SOURCE_DATE_EPOCH").filter(|v| !v.is_empty()) {
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| PipelineError::Config {
            path: req.config.clone(),
            reason: format!("SOURCE_DATE_EPOCH={v:?} (environment) is not a number of seconds"),
        })?),
        None => cfg.source_date_epoch,
    };
    let log_path = req.out.join("build.log");
    let log = BuildLog::create(&log_path, req.verbose).map_err(|cause| PipelineError::Log {
        path: log_path.clone(),
        cause,
    })?;
    let mut r = Run {
        req: req.clone(),
        cfg,
        knobs,
        sde,
        log,
        keys: BTreeMap::new(),
        reports: Vec::new(),
    };
    r.log
        .line(&format!("zos-builder build: config {}", r.cfg.path.display()));
    for l in r.knobs.describe() {
        r.log.line(&format!("  {l}"));
    }
    let p = &r.cfg.s.pack;
    let pack = format!(
        "  pack: {} level {}, root_owned {} (flags replace [pack])",
        p.compression,
        p.level.map_or("default".to_string(), |l| l.to_string()),
        p.root_owned
    );
    r.log.line(&pack);
    match r.sde {
        Some(s) => r.log.line(&format!("  SOURCE_DATE_EPOCH={s}")),
        None => r
            .log
            .line("  SOURCE_DATE_EPOCH unset: the image is NOT reproducible (made-up entries get the build time)"),
    }
    stages::rootfs(&mut r)?;
    stages::components(&mut r)?;
    stages::modules(&mut r)?;
    stages::configs(&mut r)?;
    stages::init(&mut r)?;
    let image = pack::pack(&mut r)?;
    // Outside the pack stage so that a skipped pack is checked too: an image kept
    // once with --allow-unbootable is refused again without it.
    match crate::bootable::verdict(&image, r.req.allow_unbootable) {
        Ok(None) => r.log.line(&format!(
            "{}: bootable (handover target, its libraries, shell)",
            image.display()
        )),
        Ok(Some(warning)) => r.log.line(&warning),
        Err(e) => {
            r.log.line(&format!("ERROR: {e}"));
            return Err(e.into());
        }
    }
    let efi = pack::efi(&mut r)?;
    r.log.line("stage        status      seconds");
    for s in r.reports.clone() {
        let status = match &s.status {
            Status::Built => "built".to_string(),
            Status::Skipped => "skipped".to_string(),
            Status::NotRun(_) => "not run".to_string(),
        };
        r.log
            .line(&format!("{:<12} {status:<11} {:7.2}", s.stage.as_str(), s.seconds));
    }
    let seconds = r.log.elapsed();
    r.log
        .line(&format!("build finished in {seconds:.2} s: {}", image.display()));
    Ok(Report {
        stages: r.reports,
        image,
        efi,
        log: log_path,
        seconds,
    })
}
