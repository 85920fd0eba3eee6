//! The init's boot report (/run/zos-init/boot.json) brought back from a QEMU boot's
//! serial log, so every boot the builder makes leaves OUTPUT/boot.json beside its
//! serial log for `zos-builder timeline`. Two carriers: the boot-report unit of `run`
//! prints it one line at a time behind [`LINE_MARKER`] (configs/zinit-run/zos-boot-report);
//! the bench's scripts print it on one line behind `BENCH-JSON ` (bench/scripts.rs).

use std::path::{Path, PathBuf};

/// The boot-report unit's prefix of each boot.json line.
pub const LINE_MARKER: &str = "zos-boot: json| ";
const BENCH_MARKER: &str = "BENCH-JSON ";

#[derive(Debug, thiserror::Error)]
pub enum BootJsonError {
    #[error("the serial log carries no boot.json (the init wrote none, or the boot ended before it was printed)")]
    Absent,
    /// A kernel line printed into the middle of the report, or a truncated log.
    #[error("the boot.json in the serial log does not parse: {0}")]
    Garbled(serde_json::Error),
    #[error("write {}: {cause}", path.display())]
    Write { path: PathBuf, cause: std::io::Error },
}

/// The report's text as the init wrote it (JSON), from a serial log.
pub fn from_serial(log: &str) -> Result<String, BootJsonError> {
    let mut lines = Vec::new();
    for l in log.lines() {
        // The console may put a carriage return or a kernel timestamp before the marker.
        if let Some((_, rest)) = l.split_once(LINE_MARKER) {
            lines.push(rest.trim_end_matches('\r'));
        }
    }
    let text = if lines.is_empty() {
        let line = log
            .lines()
            .rev()
            .find_map(|l| l.split_once(BENCH_MARKER).map(|(_, r)| r));
        line.ok_or(BootJsonError::Absent)?.trim().to_string()
    } else {
        lines.join("\n") + "\n"
    };
    // JSON syntax only: `timeline` reads what it can of any report, including one
    // with a stage name a newer init added.
    serde_json::from_str::<serde_json::Value>(&text).map_err(BootJsonError::Garbled)?;
    Ok(text)
}

/// [`from_serial`] written to `path`.
pub fn save(log: &str, path: &Path) -> Result<PathBuf, BootJsonError> {
    let text = from_serial(log)?;
    std::fs::write(path, text).map_err(|cause| BootJsonError::Write {
        path: path.to_owned(),
        cause,
    })?;
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "{\"version\": 1, \"started_ms\": 1795.0, \"stages\": [{\"name\": \"mounts\", \"start_ms\": 1796.0, \"duration_ms\": 6.0}]}";

    #[test]
    fn reassembles_the_report_units_lines_between_kernel_lines() {
        let log = "[    2.1] zinit: INFO starting\r\nzos-boot: json| {\"version\": 1,\r\n[    2.2] virtio_net up\n\
             zos-boot: json|  \"started_ms\": 1795.0, \"stages\": []}\nzos-boot: boot.json end\n";
        let text = from_serial(log).unwrap();
        assert_eq!(text, "{\"version\": 1,\n \"started_ms\": 1795.0, \"stages\": []}\n");
    }

    #[test]
    fn reads_the_bench_line_and_refuses_absent_or_broken_reports() {
        assert_eq!(from_serial(&format!("x\nBENCH-JSON {REPORT}\n")).unwrap(), REPORT);
        assert!(matches!(from_serial("no report"), Err(BootJsonError::Absent)));
        let broken = "zos-boot: json| {\"version\": 1,\n";
        assert!(matches!(from_serial(broken), Err(BootJsonError::Garbled(_))));
    }
}
