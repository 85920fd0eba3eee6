//! The boot report: what ran, when, how long, what it loaded and copied, what failed.
//! Written as JSON to /run/zos-init/boot.json in the new root right before exec (and
//! kept for the emergency report). Rendered by hand: a JSON library would cost the
//! init more than these 100 lines.

use std::fmt::Write;
use std::time::Duration;

use crate::stage::Stage;

/// Where the report lands in the new root.
pub const BOOT_JSON: &str = "/run/zos-init/boot.json";

#[derive(Debug, Clone, PartialEq)]
pub struct StageTime {
    pub stage: Stage,
    pub start: Duration,
    pub took: Duration,
}

/// One kernel module the init loaded (or failed to).
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleRecord {
    pub name: String,
    /// Why: `essential`, `cmdline`, or the device (`coldplug pci:v00001AF4d00001000...`).
    pub via: String,
    pub start: Duration,
    pub took: Duration,
    /// None: loaded (or already there); Some: the error line.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopySummary {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    pub freed_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BootReport {
    /// When /init started (time since boot).
    pub started: Duration,
    /// When the handover target was exec'd.
    pub handover: Option<Duration>,
    pub stages: Vec<StageTime>,
    pub modules: Vec<ModuleRecord>,
    pub copy: Option<CopySummary>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    /// The handover argv.
    pub exec: Vec<String>,
}

impl BootReport {
    pub fn to_json(&self) -> String {
        let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
        let mut s = String::from("{\n");
        let _ = writeln!(s, "  \"version\": 1,");
        let _ = writeln!(s, "  \"started_ms\": {},", ms(self.started));
        match self.handover {
            Some(h) => {
                let _ = writeln!(s, "  \"handover_ms\": {},", ms(h));
                let _ = writeln!(s, "  \"init_phase_ms\": {},", ms(h.saturating_sub(self.started)));
            }
            None => s.push_str("  \"handover_ms\": null,\n  \"init_phase_ms\": null,\n"),
        }
        let _ = writeln!(
            s,
            "  \"exec\": [{}],",
            self.exec.iter().map(|a| quote(a)).collect::<Vec<_>>().join(", ")
        );
        s.push_str("  \"stages\": [");
        for (i, st) in self.stages.iter().enumerate() {
            let sep = if i == 0 { "\n" } else { ",\n" };
            let _ = write!(
                s,
                "{sep}    {{\"name\": {}, \"start_ms\": {}, \"duration_ms\": {}}}",
                quote(st.stage.as_str()),
                ms(st.start),
                ms(st.took)
            );
        }
        s.push_str(if self.stages.is_empty() { "],\n" } else { "\n  ],\n" });
        s.push_str("  \"modules\": [");
        for (i, m) in self.modules.iter().enumerate() {
            let sep = if i == 0 { "\n" } else { ",\n" };
            let err = m.error.as_deref().map(quote).unwrap_or_else(|| "null".into());
            let _ = write!(
                s,
                "{sep}    {{\"name\": {}, \"via\": {}, \"start_ms\": {}, \"duration_ms\": {}, \"error\": {err}}}",
                quote(&m.name),
                quote(&m.via),
                ms(m.start),
                ms(m.took)
            );
        }
        s.push_str(if self.modules.is_empty() { "],\n" } else { "\n  ],\n" });
        match &self.copy {
            Some(c) => {
                let _ = writeln!(
                    s,
                    "  \"copy\": {{\"files\": {}, \"dirs\": {}, \"symlinks\": {}, \"bytes\": {}, \"freed_bytes\": {}}},",
                    c.files, c.dirs, c.symlinks, c.bytes, c.freed_bytes
                );
            }
            None => s.push_str("  \"copy\": null,\n"),
        }
        let list = |v: &[String]| v.iter().map(|e| quote(e)).collect::<Vec<_>>().join(", ");
        let _ = writeln!(s, "  \"warnings\": [{}],", list(&self.warnings));
        let _ = writeln!(s, "  \"errors\": [{}]", list(&self.errors));
        s.push_str("}\n");
        s
    }
}

impl BootReport {
    /// One line for the console: each stage's time, what the copy and the module
    /// loader did, and how many problems the log holds.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .stages
            .iter()
            .map(|st| {
                let extra = match st.stage {
                    Stage::Copy => self.copy.as_ref().map(|c| {
                        format!(
                            " ({} files, {:.1} MiB)",
                            c.files + c.symlinks,
                            c.bytes as f64 / 1048576.0
                        )
                    }),
                    Stage::Modules => {
                        let failed = self.modules.iter().filter(|m| m.error.is_some()).count();
                        Some(format!(" ({} modules, {failed} failed)", self.modules.len()))
                    }
                    _ => None,
                };
                format!(
                    "{} {:.1} ms{}",
                    st.stage,
                    st.took.as_secs_f64() * 1000.0,
                    extra.unwrap_or_default()
                )
            })
            .collect();
        parts.push(format!(
            "{} warnings, {} errors",
            self.warnings.len(),
            self.errors.len()
        ));
        parts.join(" | ")
    }
}

/// A JSON string literal.
pub fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let r = BootReport {
            started: Duration::from_millis(1600),
            handover: Some(Duration::from_millis(1727)),
            stages: vec![StageTime {
                stage: Stage::Mounts,
                start: Duration::from_millis(1601),
                took: Duration::from_micros(8100),
            }],
            modules: vec![ModuleRecord {
                name: "virtio_blk".into(),
                via: "coldplug virtio:d00000002v00001AF4".into(),
                start: Duration::from_millis(1650),
                took: Duration::from_micros(1500),
                error: None,
            }],
            copy: Some(CopySummary {
                files: 3,
                dirs: 2,
                symlinks: 1,
                bytes: 4096,
                freed_bytes: 4096,
            }),
            warnings: vec!["a \"quoted\"\nline".into()],
            errors: vec![],
            exec: vec!["/sbin/zinit".into(), "init".into()],
        };
        let j = r.to_json();
        assert!(j.contains("\"init_phase_ms\": 127.000,"), "{j}");
        assert!(
            j.contains("{\"name\": \"mounts\", \"start_ms\": 1601.000, \"duration_ms\": 8.100}"),
            "{j}"
        );
        assert!(j.contains("\"error\": null}"), "{j}");
        assert!(j.contains("\"warnings\": [\"a \\\"quoted\\\"\\nline\"],"), "{j}");
        assert!(j.contains("\"exec\": [\"/sbin/zinit\", \"init\"],"), "{j}");
        assert!(BootReport::default().to_json().contains("\"stages\": [],"));
    }

    #[test]
    fn control_chars_are_escaped() {
        assert_eq!(quote("a\u{1}b"), "\"a\\u0001b\"");
    }
}
