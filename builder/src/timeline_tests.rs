use super::*;
use crate::timeline_layout::Placed;

const REPORT: &str = r##"{"version": 1, "started_ms": 1600.0, "handover_ms": 1727.0, "init_phase_ms": 127.0,
  "exec": ["/sbin/zinit", "init"],
  "stages": [{"name": "mounts", "start_ms": 1601.0, "duration_ms": 8.1},
             {"name": "copy", "start_ms": 1609.1, "duration_ms": 52.6},
             {"name": "hardware", "start_ms": 1662.0, "duration_ms": 20.0}],
  "modules": [{"name": "virtio_blk", "via": "coldplug", "start_ms": 1650.0, "duration_ms": 3.0, "error": null},
              {"name": "virtio_net", "via": "coldplug", "start_ms": 1651.0, "duration_ms": 2.0, "error": "EEXIST"}],
  "copy": null, "warnings": [], "errors": []}"##;

#[test]
fn draws_stages_and_parallel_modules_in_lanes() {
    let svg = render("boot.json", REPORT).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("127.0 ms from /init to exec /sbin/zinit init"));
    assert!(svg.contains(">mounts</text>") && svg.contains(">copy</text>"));
    assert!(svg.contains("<title>copy 52.6 ms at +9.1 ms</title>"));
    assert!(svg.contains("modules (2)"));
    assert!(
        svg.contains(">virtio_blk 3.0 ms</text>"),
        "module names sit by their bars"
    );
    assert!(svg.contains(FAILED), "the failed module is red");
    assert!(
        svg.contains(">failed</text>") && svg.contains(">module loaded</text>"),
        "a legend"
    );
}

#[test]
fn no_stage_colour_is_the_failure_red() {
    for (name, color) in STAGE_COLORS {
        assert_ne!(color, FAILED, "{name}");
    }
    let svg = render("boot.json", REPORT).unwrap();
    let hardware_row = svg
        .lines()
        .skip_while(|l| !l.contains(">hardware</text>"))
        .nth(1)
        .unwrap();
    assert!(hardware_row.contains(r##"fill="#b07aa1""##), "{hardware_row}");
}

fn placed(left: f64, right: f64) -> Placed {
    Placed {
        bar_x: left,
        bar_w: 1.0,
        text: String::new(),
        text_x: left,
        left,
        right,
    }
}

#[test]
fn lanes_count_the_labels_too() {
    // The second starts after the first's bar but inside its label: another lane.
    assert_eq!(
        pack(&[placed(0.0, 100.0), placed(50.0, 80.0), placed(200.0, 300.0)]),
        vec![0, 1, 0]
    );
}

#[test]
fn ticks_adapt_and_stay_few() {
    for span in [1.0, 7.0, 127.0, 999.0, 25_000.0, 3.6e6, 2e9, 1e12] {
        let scale = (WIDTH - LEFT - RIGHT) / span;
        let t = crate::timeline_layout::ticks(span, scale);
        assert!((2..=13).contains(&t.len()), "span {span}: {t:?}");
        for pair in t.windows(2) {
            let gap = (pair[1].0 - pair[0].0) * scale;
            let w = crate::timeline_layout::text_width(&pair[0].1, 10.0);
            assert!(gap >= w + 12.0, "span {span}: {pair:?} {gap} px apart");
        }
    }
}

fn report_with(stage_ms: &str, module_ms: &str) -> String {
    format!(
        r#"{{"started_ms": 0, "init_phase_ms": {stage_ms}, "exec": ["/sbin/zinit"],
        "stages": [{{"name": "copy", "start_ms": 1, "duration_ms": {stage_ms}}}],
        "modules": [{{"name": "m", "start_ms": {module_ms}, "duration_ms": {module_ms}, "error": null}}]}}"#
    )
}

#[test]
fn any_durations_give_a_small_picture() {
    for (st, m) in [
        ("2e9", "1"),
        ("1e308", "1e308"),
        ("-5", "-1e308"),
        ("0", "0"),
        ("1.7976931348623157e308", "5"),
    ] {
        let svg = render("r", &report_with(st, m)).unwrap_or_else(|e| panic!("{st} {m}: {e}"));
        assert!(svg.len() < 8192, "{st} {m}: {} bytes", svg.len());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{st} {m}\n{svg}");
    }
}

#[test]
fn garbage_is_an_error_naming_the_file() {
    let e = render("x.json", "{\"stages\": 3}").unwrap_err().to_string();
    assert!(e.starts_with("x.json: not a boot report"), "{e}");
    let nan = report_with("\"NaN\"", "1");
    let e = render("n.json", &nan).unwrap_err().to_string();
    assert_eq!(e, "n.json: not a boot report: a bar without a numeric duration_ms");
}
