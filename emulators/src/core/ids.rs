//! Identifiers: random in normal runs, a seeded sequence in deterministic mode so snapshots are stable.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Debug)]
pub enum Ids {
    Random,
    // Boxed: the generator's state is large and most runs use `Random`.
    Seeded(Box<Mutex<ChaCha8Rng>>),
}

impl Ids {
    pub fn deterministic(seed: u64) -> Self {
        Self::Seeded(Box::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))))
    }

    fn fill(&self, buf: &mut [u8]) {
        match self {
            Self::Random => rand::rng().fill_bytes(buf),
            Self::Seeded(rng) => rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .fill_bytes(buf),
        }
    }

    /// A value in [0, 1), for probabilistic fault rules.
    pub fn unit(&self) -> f64 {
        match self {
            Self::Random => rand::rng().random::<f64>(),
            Self::Seeded(rng) => rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .random::<f64>(),
        }
    }

    pub fn uuid(&self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    pub fn alphanumeric(&self, len: usize) -> String {
        self.from_alphabet(ALPHANUMERIC, len)
    }

    pub fn from_alphabet(&self, alphabet: &[u8], len: usize) -> String {
        let mut bytes = vec![0u8; len];
        self.fill(&mut bytes);
        bytes
            .iter()
            .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
            .collect()
    }

    pub fn bytes(&self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        self.fill(&mut bytes);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_repeat_for_the_same_seed() {
        let (a, b) = (Ids::deterministic(7), Ids::deterministic(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.alphanumeric(6), b.alphanumeric(6));
        assert_ne!(Ids::deterministic(8).uuid(), Ids::deterministic(7).uuid());
    }

    #[test]
    fn uuid_is_version_4_and_alphanumeric_has_the_length_asked() {
        let id = Ids::Random.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let s = Ids::Random.alphanumeric(6);
        assert_eq!(s.len(), 6);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
