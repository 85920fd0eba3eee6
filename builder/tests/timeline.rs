//! `zos-builder timeline` on test reports: every label box computed from the emitted
//! SVG lies inside the picture and overlaps no other, and rsvg-convert (librsvg2-bin,
//! installed by .ci/run) renders it to a PNG of the SVG's size.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use zos_builder::timeline_layout::text_width;

struct Label {
    text: String,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

fn attr(tag: &str, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let at = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
    tag[at..].split('"').next().unwrap().parse().unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The box of every `<text>`: width from the same estimate the renderer used, height
/// from the font size (ascent 0.8, descent 0.25 of it).
fn labels(svg: &str) -> Vec<Label> {
    svg.lines()
        .filter(|l| l.starts_with("<text "))
        .map(|l| {
            let open = &l[..l.find('>').unwrap()];
            let text = unescape(&l[open.len() + 1..l.rfind("</text>").unwrap()]);
            let (x, y, size) = (attr(open, "x"), attr(open, "y"), attr(open, "font-size"));
            Label {
                x1: x + text_width(&text, size),
                x0: x,
                y0: y - 0.8 * size,
                y1: y + 0.25 * size,
                text,
            }
        })
        .collect()
}

fn size(svg: &str) -> (f64, f64) {
    let head = svg.lines().next().unwrap();
    (attr(head, "width"), attr(head, "height"))
}

fn check_layout(name: &str, svg: &str) {
    let (w, h) = size(svg);
    let ls = labels(svg);
    assert!(ls.len() >= 5, "{name}: {} labels", ls.len());
    for l in &ls {
        assert!(
            l.x0 >= 0.0 && l.x1 <= w && l.y0 >= 0.0 && l.y1 <= h,
            "{name}: {:?} at {:.1}..{:.1} x {:.1}..{:.1} leaves the {w}x{h} picture",
            l.text,
            l.x0,
            l.x1,
            l.y0,
            l.y1
        );
    }
    for (i, a) in ls.iter().enumerate() {
        for b in &ls[i + 1..] {
            let apart = a.x1 <= b.x0 || b.x1 <= a.x0 || a.y1 <= b.y0 || b.y1 <= a.y0;
            assert!(apart, "{name}: {:?} and {:?} overlap", a.text, b.text);
        }
    }
}

/// rsvg-convert renders the SVG; the PNG has the SVG's size.
fn check_renders(dir: &Path, name: &str, svg_path: &Path, svg: &str) {
    let png = dir.join(format!("{name}.png"));
    let out = Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(svg_path)
        .output()
        .unwrap_or_else(|e| {
            panic!("rsvg-convert: {e}: this test needs it (apt-get install librsvg2-bin; .ci/run does)")
        });
    assert!(
        out.status.success(),
        "{name}: rsvg-convert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG", "{name}");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as f64;
    let (w, h) = size(svg);
    assert_eq!((be(16), be(20)), (w.ceil(), h.ceil()), "{name}: PNG size");
}

fn stage(name: &str, start: f64, dur: f64) -> String {
    format!(r#"{{"name": "{name}", "start_ms": {start}, "duration_ms": {dur}}}"#)
}

fn module(name: &str, start: f64, dur: f64, err: bool) -> String {
    let e = if err { "\"ENOENT\"" } else { "null" };
    let name = serde_json::to_string(name).unwrap();
    format!(r#"{{"name": {name}, "via": "coldplug", "start_ms": {start}, "duration_ms": {dur}, "error": {e}}}"#)
}

fn report(total: f64, stages: &[String], modules: &[String]) -> String {
    format!(
        r#"{{"version": 1, "started_ms": 0, "init_phase_ms": {total}, "exec": ["/sbin/zinit", "init"],
        "stages": [{}], "modules": [{}], "copy": null, "warnings": [], "errors": []}}"#,
        stages.join(","),
        modules.join(",")
    )
}

fn seven_stages(scale: f64) -> Vec<String> {
    let names = ["mounts", "copy", "newroot", "hardware", "modules", "debug", "switch"];
    let durs = [8.0, 52.0, 3.0, 40.0, 20.0, 0.1, 1.0];
    let mut t = 1.0;
    names
        .iter()
        .zip(durs)
        .map(|(n, d)| {
            let s = stage(n, t * scale, d * scale);
            t += d;
            s
        })
        .collect()
}

fn reports() -> Vec<(&'static str, String)> {
    // A boot of the usual shape: parallel coldplug loads, one failed.
    let parallel: Vec<String> = (0..24)
        .map(|i| {
            module(
                &format!("virtio_mod_{i}"),
                60.0 + (i % 6) as f64 * 0.5,
                3.0 + i as f64,
                i == 5,
            )
        })
        .collect();
    // Names that share a lane in time; labels near the right edge; long names.
    let edge: Vec<String> = (0..12)
        .map(|i| {
            module(
                &format!("a_very_long_module_name_number_{i}"),
                120.0 + i as f64 * 0.3,
                0.5,
                false,
            )
        })
        .collect();
    let slow: Vec<String> = (0..8)
        .map(|i| module(&format!("m{i}"), i as f64 * 3000.0, 2500.0, false))
        .collect();
    let odd = vec![
        module("<&\"weird\">\u{1}ünïcødé_名前", 10.0, 1.0, true),
        module(&"x".repeat(5000), 20.0, 1e308, false),
        module("neg", -50.0, -3.0, false),
    ];
    vec![
        ("typical", report(125.0, &seven_stages(1.0), &parallel)),
        ("right-edge", report(125.0, &seven_stages(1.0), &edge)),
        ("25-seconds", report(25_000.0, &seven_stages(200.0), &slow)),
        ("2e9-ms", report(2e9, &[stage("copy", 1.0, 2e9)], &parallel)),
        ("1e308-ms", report(1e308, &[stage("copy", 1e308, 1e308)], &odd)),
        ("no-modules", report(12.0, &seven_stages(0.1), &[])),
    ]
}

#[test]
fn labels_never_overlap_or_leave_the_picture_and_the_svg_renders() {
    let dir = tempfile::tempdir().unwrap();
    for (name, json) in reports() {
        let input = dir.path().join(format!("{name}.json"));
        fs::write(&input, &json).unwrap();
        let out = dir.path().join(format!("{name}.svg"));
        let o = Command::new(env!("CARGO_BIN_EXE_zos-builder"))
            .args(["timeline", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let svg = fs::read_to_string(&out).unwrap();
        // Bounded whatever the durations: linear in the number of bars.
        assert!(svg.len() < 40_000, "{name}: {} bytes", svg.len());
        check_layout(name, &svg);
        check_renders(dir.path(), name, &out, &svg);
    }
}
