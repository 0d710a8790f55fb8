//! Deterministic pseudo-random numbers and GUIDs for the simulations. SplitMix64 (Steele, Lea,
//! Flood 2014) is written out here because scenario runs must give the same organisation for
//! the same seed forever, which a general-purpose RNG crate does not promise across versions.

use uuid::Uuid;

/// SplitMix64: a 64-bit state, one addition and a mix per number.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in [0, 1).
    pub fn next_fraction(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random-looking (version 4) GUID.
    pub fn next_guid(&mut self) -> Uuid {
        let high = self.next_u64().to_be_bytes();
        let low = self.next_u64().to_be_bytes();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&high);
        bytes[8..].copy_from_slice(&low);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let mut first = SplitMix64::new(7);
        let mut second = SplitMix64::new(7);
        let first_values: Vec<u64> = (0..4).map(|_| first.next_u64()).collect();
        let second_values: Vec<u64> = (0..4).map(|_| second.next_u64()).collect();
        assert_eq!(first_values, second_values);
        assert_ne!(first_values[0], first_values[1]);
        let fraction = first.next_fraction();
        assert!((0.0..1.0).contains(&fraction));
    }
}
