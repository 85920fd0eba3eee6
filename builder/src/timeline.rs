//! `zos-builder timeline BOOT.JSON`: the init's boot report (/run/zos-init/boot.json)
//! drawn as an SVG timeline, for docs and bug reports: one bar per stage on a time axis
//! from /init's start, the modules loaded below it (packed into lanes), a legend.
//!
//! Every label is placed so that no two label boxes overlap and none leaves the
//! picture (`builder/tests/timeline.rs` checks it on the emitted SVG and renders it
//! with rsvg-convert). The work is bounded for any report: times are clamped to
//! [0, `MAX_MS`], the number of ticks is bounded, and the SVG grows linearly with the
//! number of bars, whatever their durations.

use std::fmt::Write;

use serde_json::Value;

use crate::timeline_layout::{fit, fmt_ms, place, text_width, ticks, Placed};

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("{path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}: not a boot report: {why}")]
    Format { path: String, why: String },
}

pub(crate) struct Bar {
    pub label: String,
    pub start: f64,
    pub dur: f64,
    pub failed: bool,
}

/// Picture width; the plot runs from `LEFT` to `WIDTH - RIGHT`.
pub const WIDTH: f64 = 960.0;
pub(crate) const LEFT: f64 = 120.0;
pub(crate) const RIGHT: f64 = 10.0;
const ROW: f64 = 22.0;
const FONT: f64 = 12.0;
/// A clamp far beyond any real boot (about 30 years): sums of two times stay finite.
const MAX_MS: f64 = 1e12;
/// Stage colours by name; no red among them: red means failed.
const STAGE_COLORS: [(&str, &str); 7] = [
    ("mounts", "#4e79a7"),
    ("copy", "#f28e2b"),
    ("newroot", "#59a14f"),
    ("hardware", "#b07aa1"),
    ("modules", "#76b7b2"),
    ("debug", "#edc948"),
    ("switch", "#9c9c9c"),
];
pub const FAILED: &str = "#d62728";
const MODULE: &str = "#9c755f";

fn stage_color(name: &str, i: usize) -> &'static str {
    STAGE_COLORS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(STAGE_COLORS[i % STAGE_COLORS.len()].1, |(_, c)| c)
}

/// A time from the report, relative to `t0`, clamped into [0, MAX_MS].
fn clamp_ms(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, MAX_MS)
    }
}

/// Render the report at `path` (its text in `json`).
pub fn render(path: &str, json: &str) -> Result<String, TimelineError> {
    let bad = |why: &str| TimelineError::Format {
        path: path.into(),
        why: why.into(),
    };
    let v: Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let t0 = v["started_ms"].as_f64().ok_or_else(|| bad("no started_ms"))?;
    let bars = |key: &str| -> Result<Vec<Bar>, TimelineError> {
        v[key]
            .as_array()
            .ok_or_else(|| bad(&format!("no {key} list")))?
            .iter()
            .map(|s| {
                let num = |k: &str| {
                    s[k].as_f64()
                        .ok_or_else(|| bad(&format!("a bar without a numeric {k}")))
                };
                Ok(Bar {
                    label: s["name"].as_str().ok_or_else(|| bad("a bar without name"))?.to_string(),
                    start: clamp_ms(num("start_ms")? - t0),
                    dur: clamp_ms(num("duration_ms")?),
                    failed: s.get("error").is_some_and(|e| !e.is_null()),
                })
            })
            .collect()
    };
    let stages = bars("stages")?;
    let modules = bars("modules")?;
    let total = clamp_ms(
        v["init_phase_ms"]
            .as_f64()
            .unwrap_or_else(|| stages.iter().map(|b| b.start + b.dur).fold(0.0, f64::max)),
    );
    let span = stages
        .iter()
        .chain(&modules)
        .map(|b| b.start + b.dur)
        .fold(total.max(1.0), f64::max);
    let scale = (WIDTH - LEFT - RIGHT) / span;

    let placed: Vec<Placed> = modules.iter().map(|b| place(b, scale, true)).collect();
    let lanes = pack(&placed);
    let lane_count = lanes.iter().max().map_or(0, |m| m + 1);
    let top = 62.0;
    let modules_top = top + ROW * stages.len() as f64;
    let axis_y = modules_top
        + if lane_count > 0 {
            20.0 + ROW * lane_count as f64
        } else {
            0.0
        };
    let height = axis_y + 22.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let exec = v["exec"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let title = format!("zos-init: {} from /init to exec {exec}", fmt_ms(total));
    text(&mut s, 10.0, 20.0, 14.0, "#000", &fit(&title, 14.0, WIDTH - 20.0));
    legend(&mut s, 40.0);

    let mut y = top;
    for (i, b) in stages.iter().enumerate() {
        let color = if b.failed { FAILED } else { stage_color(&b.label, i) };
        text(&mut s, 10.0, y + 14.0, FONT, "#000", &fit(&b.label, FONT, LEFT - 20.0));
        bar(&mut s, b, &place(b, scale, false), y, color);
        y += ROW;
    }
    if lane_count > 0 {
        let head = format!("modules ({})", modules.len());
        text(&mut s, 10.0, y + 14.0, FONT, "#555", &fit(&head, FONT, LEFT - 20.0));
        y += 20.0;
        for ((b, p), lane) in modules.iter().zip(&placed).zip(&lanes) {
            bar(
                &mut s,
                b,
                p,
                y + *lane as f64 * ROW,
                if b.failed { FAILED } else { MODULE },
            );
        }
    }
    axis(&mut s, span, scale, top - 4.0, axis_y);
    s.push_str("</svg>\n");
    Ok(s)
}

/// Greedy lanes on the pixel extent of bar plus label, so that neither parallel
/// module loads nor their names hide each other.
fn pack(placed: &[Placed]) -> Vec<usize> {
    const GAP: f64 = 6.0;
    let mut ends: Vec<f64> = Vec::new();
    placed
        .iter()
        .map(|p| match ends.iter().position(|&e| e + GAP <= p.left) {
            Some(i) => {
                ends[i] = p.right;
                i
            }
            None => {
                ends.push(p.right);
                ends.len() - 1
            }
        })
        .collect()
}

fn text(s: &mut String, x: f64, y: f64, size: f64, fill: &str, t: &str) {
    let _ = writeln!(
        s,
        r##"<text x="{x:.1}" y="{y:.1}" font-size="{size}" fill="{fill}">{}</text>"##,
        xml(t)
    );
}

fn bar(s: &mut String, b: &Bar, p: &Placed, y: f64, color: &str) {
    let _ = writeln!(
        s,
        r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{} {} at +{}</title></rect>"##,
        p.bar_x,
        p.bar_w,
        ROW - 6.0,
        xml(&b.label),
        fmt_ms(b.dur),
        fmt_ms(b.start)
    );
    text(s, p.text_x, y + 13.0, FONT, "#333", &p.text);
}

fn legend(s: &mut String, y: f64) {
    let mut x = 10.0;
    let items = [
        ("#4e79a7", "stage (one colour each)"),
        (MODULE, "module loaded"),
        (FAILED, "failed"),
    ];
    for (color, label) in items {
        let _ = writeln!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{color}"/>"##,
            y - 10.0
        );
        text(s, x + 16.0, y, FONT, "#333", label);
        x += 16.0 + text_width(label, FONT) + 18.0;
    }
}

fn axis(s: &mut String, span: f64, scale: f64, y0: f64, y1: f64) {
    for (t, label) in ticks(span, scale) {
        let x = LEFT + t * scale;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}" stroke="#ddd"/>"##
        );
        text(s, x, y1 + 14.0, 10.0, "#777", &label);
    }
}

/// Escaped for XML; control characters (which XML 1.0 forbids, and a report may hold)
/// become U+FFFD.
fn xml(v: &str) -> String {
    let v: String = v.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
