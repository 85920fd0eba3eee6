//! Pack time: the builder against the shell pipeline the old build used,
//! `find . | cpio -o -H newc | zstd -T0 -<level>`, on the same tree at the same level,
//! alternated, wall-clock time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::stats::Summary;
use super::{io_err, BenchError};
use crate::{build_image, Compression, ImageRequest};

#[derive(Debug, Clone)]
pub struct PackResult {
    pub level: u32,
    pub builder_s: Summary,
    pub pipeline_s: Summary,
    pub builder_bytes: u64,
    pub pipeline_bytes: u64,
}

pub fn compare(tree: &Path, out: &Path, level: u32, runs: usize) -> Result<PackResult, BenchError> {
    let (mut b, mut p) = (Vec::new(), Vec::new());
    let (mut bb, mut pb) = (0, 0);
    let b_out = out.join("pack-builder.cpio.zst");
    let p_out = out.join("pack-pipeline.cpio.zst");
    for r in 0..runs.max(1) {
        let t = Instant::now();
        let s = build_image(&ImageRequest {
            rootfs: Some(tree.to_path_buf()),
            compression: Compression::Zstd,
            level: Some(level),
            root_owned: true,
            output: b_out.clone(),
            ..Default::default()
        })?;
        b.push(t.elapsed().as_secs_f64());
        bb = s.compressed_bytes;
        let t = Instant::now();
        pipeline(tree, &p_out, level)?;
        p.push(t.elapsed().as_secs_f64());
        pb = std::fs::metadata(&p_out).map_err(io_err("stat", &p_out))?.len();
        eprintln!(
            "bench: pack run {}/{runs}: builder {:.1} s, pipeline {:.1} s",
            r + 1,
            b[r],
            p[r]
        );
    }
    let none = |w: &'static str| BenchError::Missing {
        what: w,
        path: PathBuf::new(),
    };
    Ok(PackResult {
        level,
        builder_s: Summary::of(&b).ok_or_else(|| none("pack samples"))?,
        pipeline_s: Summary::of(&p).ok_or_else(|| none("pack samples"))?,
        builder_bytes: bb,
        pipeline_bytes: pb,
    })
}

fn pipeline(tree: &Path, output: &Path, level: u32) -> Result<(), BenchError> {
    let script = format!(
        "set -o pipefail; cd '{}' && find . | cpio -o -H newc --quiet | zstd -T0 -{level} -q -f -o '{}'",
        tree.display(),
        output.display()
    );
    let st = Command::new("bash")
        .args(["-c", &script])
        .status()
        .map_err(io_err("run bash for", Path::new("find|cpio|zstd")))?;
    if !st.success() {
        return Err(BenchError::Tool {
            cmd: script,
            status: st.to_string(),
        });
    }
    Ok(())
}
