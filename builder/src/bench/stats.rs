//! Median and spread of a handful of runs. TCG timings are skewed by the odd slow run
//! (another job on the host), so the median is the figure and min-max the spread.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Summary {
    /// None for no samples.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }

    /// `1234 ms [1200-1300]`, with `unit` after the median.
    pub fn show(&self, unit: &str) -> String {
        format!("{:.0} {unit} [{:.0}-{:.0}]", self.median, self.min, self.max)
    }
}

/// Index of the sample nearest the median: that run is drawn in the chart.
pub fn median_index(samples: &[f64]) -> Option<usize> {
    let m = Summary::of(samples)?.median;
    (0..samples.len()).min_by(|&a, &b| (samples[a] - m).abs().total_cmp(&(samples[b] - m).abs()))
}

/// `a / b` as `0.12x`, or `n/a` when b is not positive (a cost can be ~0 under noise).
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1.0, 5.0, 3));
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
        assert!(Summary::of(&[]).is_none());
        assert_eq!(
            Summary::of(&[1234.4, 1200.0, 1300.2]).unwrap().show("ms"),
            "1234 ms [1200-1300]"
        );
    }

    #[test]
    fn median_run_and_ratios() {
        assert_eq!(median_index(&[9.0, 1.0, 4.0]), Some(2));
        assert_eq!(median_index(&[]), None);
        assert_eq!(ratio(1.0, 8.0), "0.12x");
        assert_eq!(ratio(1.0, 0.0), "n/a");
        assert_eq!(ratio(1.0, -3.0), "n/a");
    }
}
