//! Coldplug: load the drivers of the devices present at boot.
//!
//! Native (the default): every device that wants a driver has a `modalias` in /sys;
//! match it against modules.alias and load what matches. Loading a bus driver makes
//! new devices appear (virtio devices only exist once virtio_pci has bound), so scan
//! again after each round, and listen to the kernel's uevents for devices that show
//! up on their own; stop once nothing new came for a quiet period, or at an overall
//! bound. No global `settle`: unrelated slow devices are not waited for.
//!
//! udev mode ([`udev`]): the shell /init's way with the image's own udevd.

pub mod late;
pub mod rules;
pub mod sysfs;
pub mod udev;

use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Where devices come from (a fake in tests).
pub trait Devices {
    /// Every modalias present now.
    fn scan(&mut self) -> Vec<String>;
    /// Wait up to `timeout` for uevents. None: none came (quiet). Some: the MODALIAS
    /// of the `add` events among those that came (maybe none).
    fn wait(&mut self, timeout: Duration) -> Option<Vec<String>>;
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NativeSummary {
    /// Rounds that found new devices.
    pub rounds: u32,
    /// Distinct modaliases seen.
    pub devices: usize,
    /// Modaliases no module matched.
    pub unmatched: Vec<String>,
    /// Stopped by the overall bound, not by quiet.
    pub timed_out: bool,
}

/// The native loop. `handle` matches and loads a batch of new modaliases and returns
/// those it found no module for; `quiet` is the window to wait now (it grows once a
/// driver with a delayed scan is loaded, [`late`]).
pub fn native(
    devs: &mut dyn Devices,
    bound: Duration,
    quiet: &dyn Fn() -> Duration,
    handle: &mut dyn FnMut(&[String]) -> Vec<String>,
) -> NativeSummary {
    let t0 = Instant::now();
    let mut seen: HashSet<String> = HashSet::new();
    let mut sum = NativeSummary::default();
    let mut pending = devs.scan();
    loop {
        let fresh: Vec<String> = pending.drain(..).filter(|a| seen.insert(a.clone())).collect();
        if !fresh.is_empty() {
            sum.rounds += 1;
            sum.unmatched.extend(handle(&fresh));
            // What we just loaded may have added devices (a bus driver's children).
            pending = devs.scan();
            continue;
        }
        let left = bound.saturating_sub(t0.elapsed());
        if left.is_zero() {
            sum.timed_out = true;
            break;
        }
        match devs.wait(quiet().min(left)) {
            None => break,
            Some(events) => pending = events,
        }
    }
    sum.devices = seen.len();
    sum.unmatched.sort();
    sum.unmatched.dedup();
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Devices that appear when a given module is "loaded", and queued uevents.
    struct Fake {
        present: Vec<String>,
        /// Appear from the second scan on (a bus driver bound in the first round).
        children: Vec<String>,
        scans: u32,
        events: VecDeque<Option<Vec<String>>>,
        waits: u32,
    }

    impl Devices for Fake {
        fn scan(&mut self) -> Vec<String> {
            self.scans += 1;
            if self.scans == 2 {
                self.present.append(&mut self.children);
            }
            self.present.clone()
        }
        fn wait(&mut self, _t: Duration) -> Option<Vec<String>> {
            self.waits += 1;
            self.events.pop_front().flatten()
        }
    }

    #[test]
    fn rescans_after_a_bus_driver_and_stops_when_quiet() {
        let mut f = Fake {
            present: vec!["pci:v00001AF4d00001000".into(), "pci:v00008086d00001237".into()],
            children: vec!["virtio:d00000001v00001AF4".into()],
            scans: 0,
            // A module uevent (no modalias), then a USB device late, then quiet.
            events: VecDeque::from([Some(vec![]), Some(vec!["usb:v1234p5678".into()]), None]),
            waits: 0,
        };
        let mut batches: Vec<Vec<String>> = Vec::new();
        let mut handle = |b: &[String]| {
            batches.push(b.to_vec());
            b.iter().filter(|a| a.starts_with("pci:v00008086")).cloned().collect()
        };
        let s = native(
            &mut f,
            Duration::from_secs(5),
            &|| Duration::from_millis(10),
            &mut handle,
        );
        assert_eq!(batches[0].len(), 2);
        assert_eq!(batches[1], vec!["virtio:d00000001v00001AF4"]);
        assert_eq!(batches[2], vec!["usb:v1234p5678"]);
        assert_eq!(s.rounds, 3);
        assert_eq!(s.devices, 4);
        assert_eq!(s.unmatched, vec!["pci:v00008086d00001237"]);
        assert!(!s.timed_out);
        assert_eq!(f.waits, 3);
    }

    #[test]
    fn an_endless_event_stream_hits_the_bound() {
        struct Noisy;
        impl Devices for Noisy {
            fn scan(&mut self) -> Vec<String> {
                Vec::new()
            }
            fn wait(&mut self, t: Duration) -> Option<Vec<String>> {
                std::thread::sleep(t.min(Duration::from_millis(5)));
                Some(Vec::new())
            }
        }
        let s = native(
            &mut Noisy,
            Duration::from_millis(50),
            &|| Duration::from_millis(20),
            &mut |_| Vec::new(),
        );
        assert!(s.timed_out);
    }
}
