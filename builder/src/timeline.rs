//! `zos-builder timeline BOOT.JSON`: the init's boot report (/run/zos-init/boot.json)
//! drawn as an SVG timeline, for docs and bug reports: one bar per stage on a time axis
//! from /init's start, the modules loaded below it (packed into lanes), the total.

use std::fmt::Write;

use zos_common::report::BootReport;

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("{path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}: not a boot report: {why}")]
    Format { path: String, why: String },
}

struct Bar {
    label: String,
    start: f64,
    dur: f64,
    failed: bool,
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 110.0;
const ROW: f64 = 22.0;
const COLORS: [&str; 7] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
];

/// Render the report at `path` (its text in `json`).
pub fn render(path: &str, json: &str) -> Result<String, TimelineError> {
    let bad = |why: &str| TimelineError::Format {
        path: path.into(),
        why: why.into(),
    };
    let r: BootReport = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let since_start = |d: std::time::Duration| (d.as_secs_f64() - r.started.as_secs_f64()) * 1000.0;
    let stages: Vec<Bar> = r
        .stages
        .iter()
        .map(|s| Bar {
            label: s.stage.as_str().to_string(),
            start: since_start(s.start),
            dur: s.took.as_secs_f64() * 1000.0,
            failed: false,
        })
        .collect();
    let modules: Vec<Bar> = r
        .modules
        .iter()
        .map(|m| Bar {
            label: m.name.clone(),
            start: since_start(m.start),
            dur: m.took.as_secs_f64() * 1000.0,
            failed: m.error.is_some(),
        })
        .collect();
    let total = r
        .handover
        .map(since_start)
        .unwrap_or_else(|| stages.iter().map(|b| b.start + b.dur).fold(0.0, f64::max));
    let span = total.max(
        stages
            .iter()
            .chain(&modules)
            .map(|b| b.start + b.dur)
            .fold(1.0, f64::max),
    );
    let scale = (WIDTH - LEFT - 20.0) / span;

    let lanes = pack(&modules);
    let lane_count = lanes.iter().max().map_or(0, |m| m + 1);
    let height = 70.0 + ROW * (stages.len() + lane_count) as f64 + if lane_count > 0 { 20.0 } else { 0.0 };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let exec = r.exec.join(" ");
    let _ = writeln!(
        s,
        r##"<text x="10" y="20" font-size="14">zos-init: {:.1} ms from /init to exec {}</text>"##,
        total,
        xml(&exec)
    );
    axis(&mut s, span, scale, height);
    let mut y = 40.0;
    for (i, b) in stages.iter().enumerate() {
        bar(&mut s, b, y, scale, COLORS[i % COLORS.len()]);
        y += ROW;
    }
    if lane_count > 0 {
        let _ = writeln!(
            s,
            r##"<text x="10" y="{}" fill="#555">modules ({})</text>"##,
            y + 14.0,
            modules.len()
        );
        y += 20.0;
        for (b, lane) in modules.iter().zip(&lanes) {
            let color = if b.failed { "#d62728" } else { "#9c755f" };
            bar(&mut s, b, y + *lane as f64 * ROW, scale, color);
        }
    }
    s.push_str("</svg>\n");
    Ok(s)
}

/// Greedy lanes so overlapping (parallel) module loads don't hide each other.
fn pack(bars: &[Bar]) -> Vec<usize> {
    let mut ends: Vec<f64> = Vec::new();
    bars.iter()
        .map(|b| match ends.iter().position(|&e| e <= b.start) {
            Some(i) => {
                ends[i] = b.start + b.dur;
                i
            }
            None => {
                ends.push(b.start + b.dur);
                ends.len() - 1
            }
        })
        .collect()
}

fn bar(s: &mut String, b: &Bar, y: f64, scale: f64, color: &str) {
    let x = LEFT + b.start * scale;
    let w = (b.dur * scale).max(1.0);
    let _ = writeln!(s, r##"<text x="10" y="{:.1}">{}</text>"##, y + 14.0, xml(&b.label));
    let _ = writeln!(
        s,
        r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>{} {:.2} ms at +{:.2} ms</title></rect>"##,
        ROW - 6.0,
        xml(&b.label),
        b.dur,
        b.start
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" fill="#333">{:.1} ms</text>"##,
        x + w + 4.0,
        y + 13.0,
        b.dur
    );
}

fn axis(s: &mut String, span: f64, scale: f64, height: f64) {
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
        .into_iter()
        .find(|st| span / st <= 10.0)
        .unwrap_or(2000.0);
    let mut t = 0.0;
    while t <= span {
        let x = LEFT + t * scale;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="30" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            height - 10.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" fill="#777" font-size="10">{t} ms</text>"##,
            height - 2.0
        );
        t += step;
    }
}

fn xml(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r##"{"version": 1, "started_ms": 1600.0, "handover_ms": 1727.0, "init_phase_ms": 127.0,
      "exec": ["/sbin/zinit", "init"],
      "stages": [{"name": "mounts", "start_ms": 1601.0, "duration_ms": 8.1},
                 {"name": "copy", "start_ms": 1609.1, "duration_ms": 52.6}],
      "modules": [{"name": "virtio_blk", "via": "coldplug", "start_ms": 1650.0, "duration_ms": 3.0, "error": null},
                  {"name": "virtio_net", "via": "coldplug", "start_ms": 1651.0, "duration_ms": 2.0, "error": "EEXIST"}],
      "copy": null, "warnings": [], "errors": []}"##;

    #[test]
    fn draws_stages_and_parallel_modules_in_lanes() {
        let svg = render("boot.json", REPORT).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("127.0 ms from /init to exec /sbin/zinit init"));
        assert!(svg.contains(">mounts</text>") && svg.contains(">copy</text>"));
        assert!(svg.contains("<title>copy 52.60 ms at +9.10 ms</title>"));
        assert!(svg.contains("modules (2)"));
        assert!(svg.contains("#d62728"), "the failed module is red");
        assert_eq!(
            pack(&[
                Bar {
                    label: "a".into(),
                    start: 0.0,
                    dur: 5.0,
                    failed: false
                },
                Bar {
                    label: "b".into(),
                    start: 1.0,
                    dur: 1.0,
                    failed: false
                },
                Bar {
                    label: "c".into(),
                    start: 6.0,
                    dur: 1.0,
                    failed: false
                }
            ]),
            vec![0, 1, 0]
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let e = render("x.json", "{\"stages\": 3}").unwrap_err().to_string();
        assert!(e.starts_with("x.json: not a boot report"), "{e}");
    }
}
