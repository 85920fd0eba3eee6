//! One boot timeline from a serial log: the kernel's and the init's lines carry the
//! time since boot; zinit 0.1 (tracing) stamps its lines with the wall clock. Two ways
//! to put them on one clock, best first:
//! - the kernel's `rtc_cmos ...: setting system clock to ... (SECS)`: the wall clock was
//!   set to SECS + 0.5 at that line's boot time, and nothing sets it again in these
//!   images (no NTP), so the offset is exact to well under a millisecond;
//! - the `boot-report` unit's `zos-boot: clock uptime=U wall=W`, both clocks read by a
//!   shell at one moment: good to a few tens of ms under TCG (forks, and /proc/uptime
//!   has 10 ms steps).

use std::fmt;

/// Who printed a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Kernel,
    Init,
    Zinit,
    Report,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Kernel => "kernel",
            Source::Init => "init",
            Source::Zinit => "zinit",
            Source::Report => "report",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since boot.
    pub at: f64,
    pub source: Source,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Timeline {
    /// Sorted by time.
    pub events: Vec<Event>,
    /// When the report saw every unit settled.
    pub services_up: Option<f64>,
    /// `zinit list` as the report printed it.
    pub zinit_list: Vec<String>,
    /// zinit lines that could not be placed (no clock line from the report).
    pub unplaced_zinit_lines: usize,
    pub powered_off: bool,
    pub panicked: bool,
}

/// The report's line prefix (configs/zinit/toml/scripts/zos-boot-report).
pub const REPORT_PREFIX: &str = "zos-boot: ";

pub fn parse(log: &str) -> Timeline {
    let mut t = Timeline::default();
    let mut offset = None;
    let mut rtc_offset = None;
    let mut zinit: Vec<(f64, String)> = Vec::new();
    for raw in log.lines() {
        let line = strip_ansi(raw);
        let line = line.trim_end();
        if line.contains("Kernel panic") {
            t.panicked = true;
        }
        if let Some((at, rest)) = kernel_stamp(line) {
            if rest.starts_with("reboot: Power down") {
                t.powered_off = true;
            }
            if let Some(secs) = rest.split("setting system clock to ").nth(1).and_then(rtc_seconds) {
                // The RTC counts whole seconds; hctosys sets the clock to the middle of
                // the second it read (tv_nsec = NSEC_PER_SEC / 2).
                rtc_offset = Some(secs + 0.5 - at);
            }
            let init = rest.strip_prefix("zos-init: ");
            let keep_kernel = ["Linux version", "Run /init as init process", "reboot: Power down"]
                .iter()
                .any(|k| rest.starts_with(k));
            if let Some(msg) = init {
                if msg.contains(": done in ") || msg.contains("starting as pid 1") || msg.starts_with("init phase done")
                {
                    t.events.push(event(at, Source::Init, msg));
                }
            } else if keep_kernel {
                let text = rest.split(" (").next().unwrap_or(rest);
                t.events.push(event(at, Source::Kernel, text));
            }
            continue;
        }
        if let Some(msg) = line.find(REPORT_PREFIX).map(|i| &line[i + REPORT_PREFIX.len()..]) {
            if let Some(list) = msg.strip_prefix("| ") {
                t.zinit_list.push(list.to_string());
            } else if let Some(c) = msg.strip_prefix("clock ") {
                offset = clock_offset(c);
            } else if let Some(up) = msg.strip_prefix("services up at ") {
                t.services_up = up.split(' ').next().and_then(|s| s.parse().ok());
                if let Some(at) = t.services_up {
                    t.events
                        .push(event(at, Source::Report, "services up (every unit settled)"));
                }
            }
            continue;
        }
        if let Some((wall, msg)) = zinit_line(line) {
            zinit.push((wall, msg));
        }
    }
    match rtc_offset.or(offset) {
        Some(off) => t.events.extend(
            zinit
                .into_iter()
                .map(|(wall, msg)| event(wall - off, Source::Zinit, &msg)),
        ),
        None => t.unplaced_zinit_lines = zinit.len(),
    }
    t.events.sort_by(|a, b| a.at.total_cmp(&b.at));
    t
}

fn event(at: f64, source: Source, text: &str) -> Event {
    Event {
        at,
        source,
        text: text.to_string(),
    }
}

/// `[    1.903113] rest` -> (1.903113, "rest").
fn kernel_stamp(line: &str) -> Option<(f64, &str)> {
    let start = line.find('[')?;
    let rest = &line[start + 1..];
    let end = rest.find(']')?;
    let at = rest[..end].trim().parse().ok()?;
    Some((at, rest[end + 1..].trim_start()))
}

/// `2026-11-25T18:06:16 UTC (1795629976)` -> 1795629976.
fn rtc_seconds(s: &str) -> Option<f64> {
    let inner = s.rsplit_once('(')?.1.strip_suffix(')')?;
    inner.parse::<u64>().ok().map(|v| v as f64)
}

/// `uptime=2.53 wall=1795630340.695052` -> wall - uptime.
fn clock_offset(s: &str) -> Option<f64> {
    let get = |k: &str| {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some(get("wall=")? - get("uptime=")?)
}

/// A tracing line `2026-11-25T18:10:00.123456Z  INFO message` (possibly after other
/// console output on the same line) -> (unix seconds, "INFO message"). DEBUG and TRACE
/// lines are left out of the timeline.
fn zinit_line(line: &str) -> Option<(f64, String)> {
    let bytes = line.as_bytes();
    (0..line.len()).find_map(|i| {
        if i > 0 && !bytes[i - 1].is_ascii_whitespace() || !bytes[i].is_ascii_digit() {
            return None;
        }
        let rest = line.get(i..)?;
        let (stamp, msg) = rest.split_once(' ')?;
        let wall = rfc3339(stamp)?;
        let msg = msg.trim_start();
        let level = msg.split(' ').next()?;
        ["INFO", "WARN", "ERROR"]
            .contains(&level)
            .then(|| (wall, msg.to_string()))
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.frac]Z` -> seconds since the epoch.
fn rfc3339(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let d: Vec<i64> = date.split('-').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 || date.len() != 10 {
        return None;
    }
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    let days = days_from_civil(d[0], d[1], d[2]);
    Some((days * 86_400 + t[0] * 3_600 + t[1] * 60 + t[2]) as f64 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Remove ANSI escape sequences (tracing colours its levels on a terminal).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.events {
            writeln!(f, "{:>9.3} s  {:<6}  {}", e.at, e.source.as_str(), e.text)?;
        }
        if self.unplaced_zinit_lines > 0 {
            writeln!(
                f,
                "({} zinit lines not placed: the boot-report unit printed no clock line)",
                self.unplaced_zinit_lines
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "[    0.000000] Linux version 6.1.0-1-cloud-amd64 (debian-kernel@lists) #1 SMP\n\
        [    1.677561] Run /init as init process\n\
        [    1.655327] zos-init: zos-init 0.1.0 starting as pid 1\n\
        [    1.673982] zos-init: mount -t sysfs sysfs /sys\n\
        [    1.680588] zos-init: mounts: done in 6.5 ms\n\
        [    1.787193] zos-init: init phase done in 134.9 ms (started at 1.652 s, handover at 1.786 s): exec /sbin/zinit-pid1\n\
        \u{1b}[2m2026-11-25T18:10:01.900000Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m Spawned zinit-server pid=120\n\
        ~ # 2026-11-25T18:10:02.500000Z  INFO service started service=udevd pid=130\n\
        2026-11-25T18:10:02.600000Z DEBUG noise\n\
        zos-boot: clock uptime=3.00 wall=1795630203.000000\n\
        zos-boot: services up at 3.40 s\n\
        zos-boot: | ● udevd Running (pid: 130)\n\
        [    4.100000] reboot: Power down\n";

    #[test]
    fn merges_the_three_clocks() {
        let t = parse(LOG);
        let lines: Vec<String> = t.events.iter().map(|e| format!("{:.3} {}", e.at, e.text)).collect();
        // 18:10:01.9 is 1795630201.9 on the epoch clock; the report says 3.0 s of
        // uptime is 1795630203.0, so zinit's lines land 1.1 s and 0.5 s before it.
        assert_eq!(
            lines,
            vec![
                "0.000 Linux version 6.1.0-1-cloud-amd64",
                "1.655 zos-init 0.1.0 starting as pid 1",
                "1.678 Run /init as init process",
                "1.681 mounts: done in 6.5 ms",
                "1.787 init phase done in 134.9 ms (started at 1.652 s, handover at 1.786 s): exec /sbin/zinit-pid1",
                "1.900 INFO Spawned zinit-server pid=120",
                "2.500 INFO service started service=udevd pid=130",
                "3.400 services up (every unit settled)",
                "4.100 reboot: Power down",
            ]
        );
        assert_eq!(t.services_up, Some(3.4));
        assert_eq!(t.zinit_list, vec!["● udevd Running (pid: 130)"]);
        assert!(t.powered_off && !t.panicked);
    }

    #[test]
    fn zinit_lines_need_a_clock_and_the_rtc_line_wins() {
        let t = parse("2026-11-25T18:10:01.900000Z  INFO x\n[ 9.0] Kernel panic - not syncing\n");
        assert_eq!(t.unplaced_zinit_lines, 1);
        assert!(t.panicked);
        // The kernel's RTC line wins over the report's clock line.
        let t = parse(
            "[    1.321802] rtc_cmos 00:05: setting system clock to 2026-11-25T18:06:16 UTC (1795629976)\n\
             zos-boot: clock uptime=3.00 wall=1795629978.000000\n\
             2026-11-25T18:06:17.000000Z  INFO x\n",
        );
        assert!((t.events[0].at - 1.821802).abs() < 1e-6, "{t}");
        assert_eq!(rfc3339("1970-01-02T00:00:01.5Z"), Some(86_401.5));
    }
}
