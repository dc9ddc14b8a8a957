//! A tiny deterministic PRNG (splitmix64), so ground truth is reproducible from a seed without
//! pulling in the `rand` crate.

/// splitmix64: a fast 64-bit generator whose every state yields a well-mixed output.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// An independent stream for item `index` of purpose `salt`, so per-vertex values do not
    /// depend on the order in which vertices are visited.
    pub(crate) fn for_item(seed: u64, salt: u64, index: u64) -> SplitMix64 {
        let mut g = SplitMix64::new(seed ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let mixed = g.next_u64() ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        SplitMix64::new(mixed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), with 53 random bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [-1, 1).
    pub(crate) fn next_signed(&mut self) -> f64 {
        2.0 * self.next_f64() - 1.0
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn next_gaussian(&mut self) -> f64 {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u = 1.0 - self.next_f64();
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A uniformly distributed unit vector.
    pub(crate) fn next_unit_vector(&mut self) -> [f64; 3] {
        let z = self.next_signed();
        let phi = std::f64::consts::TAU * self.next_f64();
        let r = (1.0 - z * z).max(0.0).sqrt();
        [r * phi.cos(), r * phi.sin(), z]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
        let mut g = SplitMix64::new(7);
        let mut sum = 0.0;
        let mut sum_sq = 0.0;
        let n = 20_000;
        for _ in 0..n {
            let u = g.next_f64();
            assert!((0.0..1.0).contains(&u));
            let z = g.next_gaussian();
            sum += z;
            sum_sq += z * z;
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        let v = g.next_unit_vector();
        assert!(((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) - 1.0).abs() < 1e-12);
        assert_ne!(SplitMix64::for_item(1, 2, 3).next_u64(), SplitMix64::for_item(1, 2, 4).next_u64());
    }
}
