//! Geometry of the `timeline` SVG: text widths, where a bar's label goes, the ticks.
//! Text widths are estimated (no font is loaded) on the generous side for DejaVu Sans,
//! rsvg-convert's default sans-serif, so a label never takes more room than we booked.

use crate::timeline::{Bar, LEFT, RIGHT, WIDTH};

/// Estimated width of `s` at font `size`, in px.
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ' ' | '|' | '\'' | '!' | ':' | ';' | '(' | ')' => 0.4,
            'm' | 'M' | 'W' => 1.0,
            'w' => 0.85,
            'A'..='Z' => 0.8,
            c if c.is_ascii() => 0.65,
            _ => 1.05,
        })
        .sum::<f64>()
        * size
}

/// `s` cut (with an ellipsis) to fit in `max_w` px.
pub fn fit(s: &str, size: f64, max_w: f64) -> String {
    if text_width(s, size) <= max_w {
        return s.to_string();
    }
    let budget = max_w - text_width("…", size);
    let mut used = 0.0;
    let mut out = String::new();
    for c in s.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), size);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// A time for people: ms below a second, then seconds, then powers of ten (a bounded
/// length whatever the value).
pub fn fmt_ms(ms: f64) -> String {
    let s = ms / 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 1e5 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2e} s")
    }
}

/// Where a bar and its label go, and the horizontal extent of both together.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub bar_x: f64,
    pub bar_w: f64,
    pub text: String,
    pub text_x: f64,
    pub left: f64,
    pub right: f64,
}

/// The label (`name 3.0 ms` with `with_name`, else `3.0 ms`) goes right of the bar if
/// it fits, else left of it, else over the bar, ending at the right edge.
pub(crate) fn place(b: &Bar, scale: f64, with_name: bool) -> Placed {
    const FONT: f64 = 12.0;
    let plot_end = WIDTH - RIGHT;
    let bar_w = (b.dur * scale).clamp(1.0, plot_end - LEFT);
    let bar_x = (LEFT + b.start * scale).min(plot_end - bar_w);
    let label = match with_name {
        true => format!("{} {}", b.label, fmt_ms(b.dur)),
        false => fmt_ms(b.dur),
    };
    let text = fit(&label, FONT, plot_end - LEFT - 8.0);
    let tw = text_width(&text, FONT);
    let (text_x, left, right) = if bar_x + bar_w + 4.0 + tw <= WIDTH - 2.0 {
        let x = bar_x + bar_w + 4.0;
        (x, bar_x, x + tw)
    } else if bar_x - 4.0 - tw >= LEFT {
        let x = bar_x - 4.0 - tw;
        (x, x, bar_x + bar_w)
    } else {
        let x = (WIDTH - 2.0 - tw).max(LEFT);
        (x, x.min(bar_x), (x + tw).max(bar_x + bar_w))
    };
    Placed {
        bar_x,
        bar_w,
        text,
        text_x,
        left,
        right,
    }
}

/// Axis ticks `(ms, label)` for a span of `span` ms at `scale` px/ms: a 1-2-5 step that
/// gives at most 12 ticks whose labels do not touch, only ticks whose label ends inside
/// the picture.
pub fn ticks(span: f64, scale: f64) -> Vec<(f64, String)> {
    const SIZE: f64 = 10.0;
    let label = |t: f64, step: f64| -> String {
        if step < 1.0 {
            format!("{t:.1} ms")
        } else if step < 1000.0 {
            format!("{t:.0} ms")
        } else if t < 1e9 {
            format!("{:.0} s", t / 1000.0)
        } else {
            format!("{:.1e} s", t / 1000.0)
        }
    };
    let first = (span / 12.0).log10().floor() as i32 - 1;
    let mut step = 1.0;
    // At most a few dozen candidates: each decade is 10x the one before.
    'search: for exp in first..first + 64 {
        for m in [1.0, 2.0, 5.0] {
            step = m * 10f64.powi(exp);
            let n = (span / step).floor();
            let widest = text_width(&label(n * step, step), SIZE);
            if n <= 12.0 && step * scale >= widest + 12.0 {
                break 'search;
            }
        }
    }
    let n = (span / step).floor().min(12.0) as usize;
    (0..=n)
        .map(|i| i as f64 * step)
        .map(|t| (t, label(t, step)))
        .filter(|(t, l)| LEFT + t * scale + text_width(l, SIZE) <= WIDTH - 2.0)
        .collect()
}
