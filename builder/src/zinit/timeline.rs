//! One boot timeline from a serial log. The kernel's and the init's lines carry the
//! time since boot, and so do zinit's: zinit 0.2.11 writes every log line to stdout and
//! to /dev/kmsg (`zinit: INFO (target) message`), and the kernel stamps the kmsg copy
//! and echoes it on the console. So all three are on one clock without any clock
//! arithmetic. The kmsg rate limit would drop most of zinit's lines (10 per 5 s), so
//! `zos-builder run` and the tests boot with `printk.devkmsg=on`.

use std::fmt;

pub use super::report::REPORT_PREFIX;

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
    /// `zinit list` as the report printed it (`name: State`).
    pub zinit_list: Vec<String>,
    pub powered_off: bool,
    pub panicked: bool,
}

impl Timeline {
    /// The state zinit listed for `unit` (`Running`, `Success`, `Error(Exited(...))`).
    pub fn state(&self, unit: &str) -> Option<&str> {
        self.zinit_list.iter().find_map(|l| {
            let (name, state) = l.split_once(':')?;
            (name.trim().trim_matches('"') == unit).then(|| state.trim().trim_matches('"'))
        })
    }
}

pub fn parse(log: &str) -> Timeline {
    let mut t = Timeline::default();
    for raw in log.lines() {
        let line = raw.trim_end();
        if line.contains("Kernel panic") {
            t.panicked = true;
        }
        if let Some((at, rest)) = kernel_stamp(line) {
            if rest.starts_with("reboot: Power down") {
                t.powered_off = true;
            }
            let keep_kernel = ["Linux version", "Run /init as init process", "reboot: Power down"]
                .iter()
                .any(|k| rest.starts_with(k));
            if let Some(msg) = rest.strip_prefix("zos-init: ") {
                if msg.contains(": done in ") || msg.contains("starting as pid 1") || msg.starts_with("init phase done")
                {
                    t.events.push(event(at, Source::Init, msg));
                }
            } else if let Some(msg) = rest.strip_prefix("zinit: ") {
                // DEBUG lines (zinit -d) are left out of the timeline.
                if !msg.starts_with("DEBUG") {
                    t.events.push(event(at, Source::Zinit, msg));
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
            } else if let Some(up) = msg.strip_prefix("services up at ") {
                t.services_up = up.split(' ').next().and_then(|s| s.parse().ok());
                if let Some(at) = t.services_up {
                    t.events
                        .push(event(at, Source::Report, "services up (every unit settled)"));
                }
            }
        }
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

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.events {
            writeln!(f, "{:>9.3} s  {:<6}  {}", e.at, e.source.as_str(), e.text)?;
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
        [    1.787193] zos-init: init phase done in 134.9 ms (started at 1.652 s, handover at 1.786 s): exec /sbin/zinit init\n\
        zinit: INFO (zinit::zinit) service 'udevd' is scheduled\n\
        [    1.900000] zinit: INFO (zinit::app) skipping /etc/environment file because it does not exist\n\
        [    1.950000] zinit: DEBUG (zinit::zinit) noise\n\
        zos-boot: services up at 3.40 s\n\
        zos-boot: | ---\n\
        zos-boot: | udevd: Running\n\
        zos-boot: | fail: \"Error(Exited(Pid(45), 1))\"\n\
        [    4.100000] reboot: Power down\n";

    #[test]
    fn kernel_init_and_zinit_on_the_kernel_clock() {
        let t = parse(LOG);
        let lines: Vec<String> = t.events.iter().map(|e| format!("{:.3} {}", e.at, e.text)).collect();
        assert_eq!(
            lines,
            vec![
                "0.000 Linux version 6.1.0-1-cloud-amd64",
                "1.655 zos-init 0.1.0 starting as pid 1",
                "1.678 Run /init as init process",
                "1.681 mounts: done in 6.5 ms",
                "1.787 init phase done in 134.9 ms (started at 1.652 s, handover at 1.786 s): exec /sbin/zinit init",
                "1.900 INFO (zinit::app) skipping /etc/environment file because it does not exist",
                "3.400 services up (every unit settled)",
                "4.100 reboot: Power down",
            ]
        );
        assert_eq!(t.services_up, Some(3.4));
        assert_eq!(t.state("udevd"), Some("Running"));
        assert_eq!(t.state("fail"), Some("Error(Exited(Pid(45), 1))"));
        assert_eq!(t.state("nope"), None);
        assert!(t.powered_off && !t.panicked);
        assert!(parse("[ 9.0] Kernel panic - not syncing\n").panicked);
    }
}
