//! Reading the boot report back (`serde` feature, the builder's `timeline` and bench):
//! the JSON that [`BootReport::to_json`] writes, into the same [`BootReport`]. The
//! wire types mirror the JSON's field names and milliseconds; the init, which only
//! writes, is built without this module and without serde.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::report::{BootReport, CopySummary, ModuleRecord, StageTime};
use crate::stage::Stage;

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Stage, D::Error> {
        let name = String::deserialize(d)?;
        Stage::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown stage {name:?}")))
    }
}

/// Milliseconds with three decimals (as written) to a Duration, rounded to the
/// nanosecond so what was written reads back equal.
fn ms(v: f64) -> Duration {
    Duration::from_nanos((v.max(0.0) * 1e6).round() as u64)
}

#[derive(Deserialize)]
struct WireStage {
    name: Stage,
    start_ms: f64,
    duration_ms: f64,
}

#[derive(Deserialize)]
struct WireModule {
    name: String,
    #[serde(default)]
    via: String,
    start_ms: f64,
    duration_ms: f64,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct WireCopy {
    files: u64,
    dirs: u64,
    symlinks: u64,
    bytes: u64,
    freed_bytes: u64,
}

/// Every field but `started_ms` may be missing (a truncated report, an older init).
#[derive(Deserialize)]
struct WireReport {
    started_ms: f64,
    #[serde(default)]
    handover_ms: Option<f64>,
    #[serde(default)]
    exec: Vec<String>,
    #[serde(default)]
    stages: Vec<WireStage>,
    #[serde(default)]
    modules: Vec<WireModule>,
    #[serde(default)]
    copy: Option<WireCopy>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    errors: Vec<String>,
}

impl<'de> Deserialize<'de> for BootReport {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BootReport, D::Error> {
        let w = WireReport::deserialize(d)?;
        Ok(BootReport {
            started: ms(w.started_ms),
            handover: w.handover_ms.map(ms),
            stages: w
                .stages
                .into_iter()
                .map(|s| StageTime {
                    stage: s.name,
                    start: ms(s.start_ms),
                    took: ms(s.duration_ms),
                })
                .collect(),
            modules: w
                .modules
                .into_iter()
                .map(|m| ModuleRecord {
                    name: m.name,
                    via: m.via,
                    start: ms(m.start_ms),
                    took: ms(m.duration_ms),
                    error: m.error,
                })
                .collect(),
            copy: w.copy.map(|c| CopySummary {
                files: c.files,
                dirs: c.dirs,
                symlinks: c.symlinks,
                bytes: c.bytes,
                freed_bytes: c.freed_bytes,
            }),
            warnings: w.warnings,
            errors: w.errors,
            exec: w.exec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_init_writes_reads_back_the_same() {
        let r = BootReport {
            started: Duration::from_millis(1600),
            handover: Some(Duration::from_millis(1727)),
            stages: vec![StageTime {
                stage: Stage::Copy,
                start: Duration::from_millis(1601),
                took: Duration::from_micros(8100),
            }],
            modules: vec![ModuleRecord {
                name: "virtio_blk".into(),
                via: "coldplug".into(),
                start: Duration::from_millis(1650),
                took: Duration::from_micros(1500),
                error: Some("virtio_blk: \"EEXIST\"".into()),
            }],
            copy: Some(CopySummary {
                files: 3,
                dirs: 2,
                symlinks: 1,
                bytes: 4096,
                freed_bytes: 4096,
            }),
            warnings: vec!["a\nb".into()],
            errors: vec![],
            exec: vec!["/sbin/zinit".into(), "init".into()],
        };
        let back: BootReport = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn an_unknown_stage_is_an_error() {
        let j = r#"{"started_ms": 1, "stages": [{"name": "nope", "start_ms": 1, "duration_ms": 1}]}"#;
        let e = serde_json::from_str::<BootReport>(j).unwrap_err().to_string();
        assert!(e.contains("unknown stage \"nope\""), "{e}");
    }
}
