//! Pure helpers of the benchmarks: latency percentiles and the Zipf
//! popularity of SKUs. No I/O; unit tests beside them.

use std::time::Duration;

/// Latency percentiles of a set of samples (nearest-rank method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// None for no samples. Sorts `samples` in place.
    pub fn of(samples: &mut [Duration]) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        Some(Percentiles {
            count: samples.len(),
            p50: nearest_rank(samples, 50.0),
            p95: nearest_rank(samples, 95.0),
            p99: nearest_rank(samples, 99.0),
            max: samples[samples.len() - 1],
        })
    }
}

/// The nearest-rank percentile of sorted samples: the smallest sample with
/// at least `p` percent of the samples at or below it.
fn nearest_rank(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds with two decimals, for the report.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A Zipf distribution over ranks `0..n`: rank `k` has weight `1 / (k+1)^s`.
/// Sampling takes a uniform number in [0, 1) and finds its rank by binary
/// search over the cumulative weights, so the caller owns the randomness.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Zipf {
        assert!(n > 0, "a Zipf distribution needs at least one rank");
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(n);
        for k in 0..n {
            total += 1.0 / ((k + 1) as f64).powf(s);
            cumulative.push(total);
        }
        for c in &mut cumulative {
            *c /= total;
        }
        Zipf { cumulative }
    }

    /// The probability of rank `k`.
    pub fn probability(&self, k: usize) -> f64 {
        let below = if k == 0 { 0.0 } else { self.cumulative[k - 1] };
        self.cumulative[k] - below
    }

    /// The rank that the uniform number `u` in [0, 1) falls on.
    pub fn rank(&self, u: f64) -> usize {
        let i = self.cumulative.partition_point(|&c| c <= u);
        i.min(self.cumulative.len() - 1)
    }
}

/// Thousands separated by commas, for figures a person reads.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        // 1..=100 ms: the p-th percentile is p ms.
        let mut samples = millis(&(1..=100).rev().collect::<Vec<_>>());
        let p = Percentiles::of(&mut samples).unwrap();
        assert_eq!(p.count, 100);
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p95, Duration::from_millis(95));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
    }

    #[test]
    fn one_slow_request_in_ten_is_the_p95_and_p99() {
        let mut samples = millis(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 40]);
        let p = Percentiles::of(&mut samples).unwrap();
        assert_eq!(p.p50, Duration::from_millis(1));
        assert_eq!(p.p95, Duration::from_millis(40));
        assert_eq!(p.p99, Duration::from_millis(40));
    }

    #[test]
    fn no_samples_have_no_percentiles() {
        assert_eq!(Percentiles::of(&mut []), None);
    }

    #[test]
    fn zipf_weights_fall_as_one_over_rank() {
        let z = Zipf::new(4, 1.0);
        // Weights 1, 1/2, 1/3, 1/4; total 25/12.
        let total = 25.0 / 12.0;
        assert!((z.probability(0) - 1.0 / total).abs() < 1e-12);
        assert!((z.probability(1) - 0.5 / total).abs() < 1e-12);
        assert!((z.probability(3) - 0.25 / total).abs() < 1e-12);
        let sum: f64 = (0..4).map(|k| z.probability(k)).sum();
        assert!((sum - 1.0).abs() < 1e-12);
    }

    #[test]
    fn zipf_ranks_cover_the_unit_interval() {
        let z = Zipf::new(4, 1.0);
        assert_eq!(z.rank(0.0), 0);
        assert_eq!(z.rank(0.47), 0); // p0 = 0.48
        assert_eq!(z.rank(0.49), 1);
        assert_eq!(z.rank(0.999_999), 3);
        assert_eq!(z.rank(1.0), 3);
    }

    #[test]
    fn figures_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(12_345_678), "12,345,678");
    }
}
