//! The smallest guest RAM that boots: a bisection over `-m`, each probe one boot.
//! A boot is monotone in RAM only roughly (TCG timing can tip a borderline case), so
//! the answer is "the smallest size seen to work, with the largest seen to fail below
//! it", to the given resolution.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Smallest size (MiB) that booted with every file present.
    pub ok_mb: u32,
    /// Largest size that failed, below `ok_mb` (the search's lower bound if none did).
    pub fail_mb: u32,
    /// Every probe in order: (MiB, booted).
    pub probes: Vec<(u32, bool)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BisectError {
    #[error("does not boot even with {0} MiB: raise --mem-max or look at the serial log")]
    NeverBoots(u32),
    #[error("bad search range {lo}-{hi} MiB (step {step})")]
    Range { lo: u32, hi: u32, step: u32 },
}

/// Search `lo..=hi` (lo assumed to fail, hi checked first) down to `step` MiB.
/// `boots(mb)` runs one boot; its error stops the search.
pub fn smallest<E>(
    lo: u32,
    hi: u32,
    step: u32,
    mut boots: impl FnMut(u32) -> Result<bool, E>,
) -> Result<Result<Found, BisectError>, E> {
    if step == 0 || lo >= hi {
        return Ok(Err(BisectError::Range { lo, hi, step }));
    }
    let mut probes = Vec::new();
    let ok = boots(hi)?;
    probes.push((hi, ok));
    if !ok {
        return Ok(Err(BisectError::NeverBoots(hi)));
    }
    let (mut fail, mut good) = (lo, hi);
    while good - fail > step {
        // Round to the step so the sizes tried are the same from run to run.
        let mid = (fail + (good - fail) / 2) / step * step;
        let mid = if mid <= fail { fail + step } else { mid };
        let ok = boots(mid)?;
        probes.push((mid, ok));
        if ok {
            good = mid;
        } else {
            fail = mid;
        }
    }
    Ok(Ok(Found {
        ok_mb: good,
        fail_mb: fail,
        probes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(threshold: u32, lo: u32, hi: u32, step: u32) -> Result<Found, BisectError> {
        smallest::<()>(lo, hi, step, |mb| Ok(mb >= threshold)).unwrap()
    }

    #[test]
    fn finds_the_threshold_to_the_step() {
        let f = search(301, 64, 1024, 8).unwrap();
        assert!(f.ok_mb >= 301 && f.ok_mb - f.fail_mb <= 8, "{f:?}");
        assert!(f.fail_mb < 301);
        assert_eq!(f.probes[0], (1024, true));
        assert!(f.probes.len() <= 9, "{} boots", f.probes.len());
        for &(mb, _) in &f.probes[1..] {
            assert_eq!(mb % 8, 0, "{mb} is not on the grid");
        }
    }

    #[test]
    fn edges() {
        assert_eq!(search(2000, 64, 1024, 8), Err(BisectError::NeverBoots(1024)));
        let f = search(0, 64, 1024, 8).unwrap();
        assert!(f.ok_mb <= 72, "{f:?}");
        assert!(matches!(search(1, 64, 64, 8), Err(BisectError::Range { .. })));
        assert!(matches!(search(1, 64, 128, 0), Err(BisectError::Range { .. })));
    }

    #[test]
    fn a_boot_error_stops_the_search() {
        let mut n = 0;
        let r = smallest(64, 1024, 8, |_| {
            n += 1;
            if n == 3 {
                Err("qemu died")
            } else {
                Ok(true)
            }
        });
        assert_eq!(r, Err("qemu died"));
        assert_eq!(n, 3);
    }
}
