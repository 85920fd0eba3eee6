//! Booting the images: timing runs (the variants alternated, so a slow spell on the
//! host hits all of them) and the RAM bisections (run in parallel: they measure
//! whether a boot completes, not how fast).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use zos_host::launch::Boot;
use zos_host::Kernel;

use super::bisect::{self, Found};
use super::image::BenchImage;
use super::parse::{observe, Observation};
use super::variant::Variant;
use super::BenchError;

/// Devices that give coldplug work: a NIC and an RNG on virtio-pci (the machine's own
/// PCI, ATA and serial devices come with it).
pub const QEMU_DEVICES: [&str; 4] = ["-nic", "user,model=virtio-net-pci", "-device", "virtio-rng-pci"];

pub struct Booter<'a> {
    pub kernel: &'a Kernel,
    pub image: &'a BenchImage,
    pub dir: PathBuf,
    pub timeout: Duration,
}

impl Booter<'_> {
    fn initrd(&self, v: Variant) -> &Path {
        &self
            .image
            .images
            .iter()
            .find(|(x, _, _)| *x == v.image())
            .expect("every variant is packed")
            .1
    }

    /// One boot at `-smp smp`; `tag` names its serial log.
    pub fn boot(
        &self,
        v: Variant,
        smp: u32,
        memory_mb: u32,
        ramfs: bool,
        tag: &str,
    ) -> Result<Observation, BenchError> {
        let mut b = Boot::new(self.kernel, self.initrd(v));
        b.memory_mb = memory_mb;
        b.append = v.cmdline(ramfs);
        b.timeout = self.timeout;
        b.extra_args = QEMU_DEVICES.iter().map(|s| s.to_string()).collect();
        b.extra_args.extend(["-smp".to_string(), smp.max(1).to_string()]);
        b.serial_log = self.dir.join(format!("{}-{tag}.log", v.as_str()));
        let out = b.run()?;
        // Beside its serial log, for `zos-builder timeline`; the shell and floor inits
        // write no report, so its absence is no error here.
        let _ = crate::boot_json::save(&out.log, &self.dir.join(format!("{}-{tag}.boot.json", v.as_str())));
        let mut o = observe(&out.log);
        if out.timed_out {
            // A hung boot reached no handover as far as the benchmark is concerned.
            o.handover = None;
        }
        Ok(o)
    }

    /// Handover reached with every file, all bytes.
    pub fn complete(&self, o: &Observation) -> bool {
        o.handover.is_some() && o.files == Some(self.image.expected)
    }

    /// `runs` rounds of `variants` in turn at `-smp smp`; every run must be complete.
    pub fn timing(
        &self,
        variants: &[Variant],
        smp: u32,
        runs: usize,
        memory_mb: u32,
    ) -> Result<Vec<(Variant, Vec<Observation>)>, BenchError> {
        let mut all: Vec<(Variant, Vec<Observation>)> = variants.iter().map(|v| (*v, Vec::new())).collect();
        for r in 0..runs {
            for (v, obs) in all.iter_mut() {
                let tag = format!("smp{smp}-time{r}");
                let o = self.boot(*v, smp, memory_mb, false, &tag)?;
                if !self.complete(&o) || o.phase_ms().is_none() {
                    return Err(BenchError::Incomplete {
                        variant: v.as_str(),
                        memory_mb,
                        log: self.dir.join(format!("{}-{tag}.log", v.as_str())),
                        files: o.files,
                        expected: self.image.expected,
                    });
                }
                eprintln!(
                    "bench: -smp {smp} run {}/{runs} {}: init phase {:.1} ms, handover at {:.3} s{}",
                    r + 1,
                    v.as_str(),
                    o.phase_ms().unwrap_or(f64::NAN),
                    o.handover.unwrap_or(f64::NAN),
                    o.root_by
                        .as_ref()
                        .map_or(String::new(), |m| format!(", new root by {m}"))
                );
                obs.push(o);
            }
        }
        Ok(all)
    }

    /// The smallest RAM per (variant, with root=?) pair at -smp 1, `jobs` searches at
    /// a time.
    pub fn memory(&self, variants: &[Variant], range: MemRange, jobs: usize) -> Result<Vec<MemResult>, BenchError> {
        let cases = memory_cases(variants);
        let queue = Mutex::new(cases.into_iter());
        let results = Mutex::new(Vec::new());
        // In a closure so the queue's lock is released before the boot, not held by
        // a `while let` temporary for the whole loop body.
        let next = || queue.lock().ok().and_then(|mut q| q.next());
        std::thread::scope(|s| {
            for _ in 0..jobs.max(1) {
                s.spawn(|| {
                    while let Some((v, ramfs)) = next() {
                        let r = self.search(v, ramfs, range);
                        if let Ok(mut res) = results.lock() {
                            res.push(r);
                        }
                    }
                });
            }
        });
        let mut out = results
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|m| (m.variant, m.ramfs));
        Ok(out)
    }

    fn search(&self, v: Variant, ramfs: bool, range: MemRange) -> Result<MemResult, BenchError> {
        let tag = if ramfs { "ramfs" } else { "tmpfs" };
        let found = bisect::smallest(range.lo, range.hi, range.step, |mb| {
            let o = self.boot(v, 1, mb, ramfs, &format!("mem-{tag}-{mb}"))?;
            let ok = self.complete(&o);
            eprintln!(
                "bench: {} {tag} -m {mb}: {}",
                v.as_str(),
                if ok { "complete" } else { "failed" }
            );
            Ok::<bool, BenchError>(ok)
        })?;
        let found = found.map_err(|e| BenchError::Memory {
            variant: v.as_str(),
            cmdline: v.cmdline(ramfs),
            cause: e,
        })?;
        Ok(MemResult {
            variant: v,
            ramfs,
            found,
        })
    }
}

/// The RAM search's range and resolution, MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemRange {
    pub lo: u32,
    pub hi: u32,
    pub step: u32,
}

/// The RAM searches: each variant without and with `root=`, except the floor with
/// modules (its module set changes no memory figure the plain floor does not give).
pub fn memory_cases(variants: &[Variant]) -> Vec<(Variant, bool)> {
    variants
        .iter()
        .filter(|v| **v != Variant::FloorModules)
        .flat_map(|v| [(*v, false), (*v, true)])
        .collect()
}

#[derive(Debug, Clone)]
pub struct MemResult {
    pub variant: Variant,
    /// `root=/dev/ram0` on the cmdline (the initramfs in ramfs, no cap).
    pub ramfs: bool,
    pub found: Found,
}
