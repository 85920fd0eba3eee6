//! The boot timelines as one SVG: a row per init (the run nearest its median), its
//! stages on one axis of seconds since the kernel ran /init, so where each init spends
//! its time is seen side by side. The kernel's part before /init is the same work for
//! every image but varies by seconds from run to run under TCG (unpacking 150 MiB),
//! so it is a number in the row's label, not a bar that would misalign the rows.

use std::fmt::Write;

use super::parse::Observation;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 150.0;
const ROW: f64 = 34.0;
const TOP: f64 = 40.0;
/// Same colour for the same stage name in every row.
const STAGES: [(&str, &str); 9] = [
    ("start", "#bab0ac"),
    ("mounts", "#4e79a7"),
    ("copy", "#f28e2b"),
    ("newroot", "#59a14f"),
    ("hardware", "#e15759"),
    ("modules", "#76b7b2"),
    ("debug", "#edc948"),
    ("switch", "#b07aa1"),
    ("exec", "#9c755f"),
];

fn colour(name: &str) -> &'static str {
    STAGES.iter().find(|s| s.0 == name).map_or("#d37295", |s| s.1)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `rows`: (label, observation). Rows without a handover are skipped.
pub fn timelines(title: &str, rows: &[(&str, &Observation)]) -> String {
    let rows: Vec<_> = rows
        .iter()
        .filter(|(_, o)| o.handover.is_some() && o.start.is_some())
        .collect();
    let end = rows.iter().filter_map(|(_, o)| o.phase_ms()).fold(100.0, f64::max) / 1e3;
    let scale = (WIDTH - LEFT - 60.0) / end;
    let x = |t: f64| LEFT + t * scale;
    let height = TOP + ROW * rows.len() as f64 + 70.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="14">{}</text>"#,
        esc(title)
    );
    for (i, (label, o)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let (start, handover) = (o.start.unwrap_or(0.0), o.handover.unwrap_or(0.0));
        let _ = writeln!(s, r#"<text x="10" y="{:.1}">{}</text>"#, y + 11.0, esc(label));
        let _ = writeln!(
            s,
            r##"<text x="10" y="{:.1}" font-size="10" fill="#666">/init at {start:.2} s</text>"##,
            y + 24.0
        );
        // What the stages do not cover (gaps between the Rust init's stages) shows as
        // the row's outline.
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="24" fill="none" stroke="#444"/>"##,
            x(0.0),
            ((handover - start) * scale).max(1.0)
        );
        for st in &o.stages {
            let w = ((st.end - st.start) * scale).max(0.5);
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{y:.1}" width="{w:.1}" height="24" fill="{}"><title>{}: {:.1} ms</title></rect>"#,
                x(st.start - start),
                colour(&st.name),
                esc(&st.name),
                (st.end - st.start) * 1e3
            );
            if w > 50.0 {
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" fill="white">{}</text>"#,
                    x(st.start - start) + 3.0,
                    y + 16.0,
                    esc(&st.name)
                );
            }
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11">{:.0} ms</text>"#,
            x(handover - start) + 4.0,
            y + 16.0,
            (handover - start) * 1e3
        );
    }
    // Axis: about 4-10 ticks whatever the length.
    let axis_y = TOP + ROW * rows.len() as f64 + 5.0;
    let tick = match end {
        e if e > 4.0 => 1.0,
        e if e > 1.0 => 0.5,
        _ => 0.1,
    };
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#444"/>"##,
        x(end)
    );
    let mut t = 0.0;
    while t <= end + 1e-9 {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{t:.1}</text>"#,
            x(t),
            axis_y + 14.0
        );
        t += tick;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">s since the kernel ran /init</text>"#,
        x(end),
        axis_y + 28.0
    );
    let mut lx = LEFT;
    for (name, c) in STAGES
        .iter()
        .filter(|(n, _)| rows.iter().any(|(_, o)| o.stages.iter().any(|s| s.name == *n)))
    {
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{c}"/><text x="{:.1}" y="{:.1}" font-size="11">{name}</text>"#,
            axis_y + 38.0,
            lx + 16.0,
            axis_y + 48.0
        );
        lx += 90.0;
    }
    s.push_str("</svg>\n");
    s
}
