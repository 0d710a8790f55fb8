//! Event and command ids: UUID v7 (time-ordered) whose random part comes from a seeded
//! generator, so that a simulation run twice gives the same ids.

use std::hash::{BuildHasher, Hasher};

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    pub fn seeded(seed: u64) -> IdGenerator {
        IdGenerator { state: seed ^ 0x9E37_79B9_7F4A_7C15 }
    }

    /// Seeded from the process's hash randomness and the time: distinct across runs.
    pub fn from_entropy(now: DateTime<Utc>) -> IdGenerator {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
        IdGenerator::seeded(hasher.finish())
    }

    /// splitmix64: small, fast and well distributed.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    pub fn next_id(&mut self, now: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        random[8..].copy_from_slice(&self.next_u64().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_repeat_and_are_time_ordered() {
        let now = DateTime::from_timestamp(1_767_225_600, 0).expect("valid time");
        let later = DateTime::from_timestamp(1_767_225_601, 0).expect("valid time");
        let (mut first, mut second) = (IdGenerator::seeded(7), IdGenerator::seeded(7));
        let ids: Vec<Uuid> = (0..3).map(|_| first.next_id(now)).collect();
        assert_eq!(ids, (0..3).map(|_| second.next_id(now)).collect::<Vec<_>>());
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids[0].get_version_num(), 7);
        assert!(first.next_id(later) > ids[2]);
    }
}
