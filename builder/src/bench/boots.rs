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
use super::{BenchError, Variant};

/// Devices that give coldplug work: a NIC and an RNG on virtio-pci (the machine's own
/// PCI, ATA and serial devices come with it).
pub const QEMU_DEVICES: [&str; 4] = ["-nic", "user,model=virtio-net-pci", "-device", "virtio-rng-pci"];

pub struct Booter<'a> {
    pub kernel: &'a Kernel,
    pub image: &'a BenchImage,
    pub dir: PathBuf,
    pub timeout: Duration,
    /// Guest CPUs (`-smp`); 1 unless asked: TCG on a shared 2-core host.
    pub smp: u32,
}

impl Booter<'_> {
    fn initrd(&self, v: Variant) -> &Path {
        &self
            .image
            .images
            .iter()
            .find(|(x, _, _)| *x == v)
            .expect("every variant is packed")
            .1
    }

    /// One boot; `tag` names its serial log.
    pub fn boot(&self, v: Variant, memory_mb: u32, append: &str, tag: &str) -> Result<Observation, BenchError> {
        let mut b = Boot::new(self.kernel, self.initrd(v));
        b.memory_mb = memory_mb;
        b.append = append.into();
        b.timeout = self.timeout;
        b.extra_args = QEMU_DEVICES.iter().map(|s| s.to_string()).collect();
        b.extra_args.extend(["-smp".to_string(), self.smp.to_string()]);
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

    /// `runs` rounds of floor, shell, rust; every run must be complete.
    pub fn timing(&self, runs: usize, memory_mb: u32) -> Result<Vec<(Variant, Vec<Observation>)>, BenchError> {
        let mut all: Vec<(Variant, Vec<Observation>)> = Variant::ALL.iter().map(|v| (*v, Vec::new())).collect();
        for r in 0..runs {
            for (v, obs) in all.iter_mut() {
                let o = self.boot(*v, memory_mb, "", &format!("time{r}"))?;
                if !self.complete(&o) || o.phase_ms().is_none() {
                    return Err(BenchError::Incomplete {
                        variant: v.as_str(),
                        memory_mb,
                        log: self.dir.join(format!("{}-time{r}.log", v.as_str())),
                        files: o.files,
                        expected: self.image.expected,
                    });
                }
                eprintln!(
                    "bench: run {}/{runs} {}: init phase {:.1} ms, handover at {:.3} s",
                    r + 1,
                    v.as_str(),
                    o.phase_ms().unwrap_or(f64::NAN),
                    o.handover.unwrap_or(f64::NAN)
                );
                obs.push(o);
            }
        }
        Ok(all)
    }

    /// The smallest RAM per (variant, with root=?) pair, `jobs` searches at a time.
    pub fn memory(&self, lo: u32, hi: u32, step: u32, jobs: usize) -> Result<Vec<MemResult>, BenchError> {
        let cases: Vec<(Variant, bool)> = Variant::ALL.iter().flat_map(|v| [(*v, false), (*v, true)]).collect();
        let queue = Mutex::new(cases.into_iter());
        let results = Mutex::new(Vec::new());
        // In a closure so the queue's lock is released before the boot, not held by
        // a `while let` temporary for the whole loop body.
        let next = || queue.lock().ok().and_then(|mut q| q.next());
        std::thread::scope(|s| {
            for _ in 0..jobs.max(1) {
                s.spawn(|| {
                    while let Some((v, ramfs)) = next() {
                        let r = self.search(v, ramfs, lo, hi, step);
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

    fn search(&self, v: Variant, ramfs: bool, lo: u32, hi: u32, step: u32) -> Result<MemResult, BenchError> {
        let append = if ramfs { "root=/dev/ram0" } else { "" };
        let tag = if ramfs { "ramfs" } else { "tmpfs" };
        let found = bisect::smallest(lo, hi, step, |mb| {
            let o = self.boot(v, mb, append, &format!("mem-{tag}-{mb}"))?;
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
            cmdline: append,
            cause: e,
        })?;
        Ok(MemResult {
            variant: v,
            ramfs,
            found,
        })
    }
}

#[derive(Debug, Clone)]
pub struct MemResult {
    pub variant: Variant,
    /// `root=/dev/ram0` on the cmdline (the initramfs in ramfs, no cap).
    pub ramfs: bool,
    pub found: Found,
}
