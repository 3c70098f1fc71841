//! The one source of "now" for every emulator, so deterministic runs and expiry tests can steer time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

/// Where deterministic mode starts its clock: a fixed instant, so snapshots never see the real date.
pub const DETERMINISTIC_EPOCH: OffsetDateTime = time::macros::datetime!(2025-01-01 00:00:00 UTC);

#[derive(Debug)]
enum Mode {
    /// Wall time plus an offset the admin API can move forward.
    System { offset_nanos: AtomicI64 },
    /// A manual clock that ticks one millisecond per reading, so two events never share a
    /// timestamp and the same request sequence always yields the same times.
    Manual { now: Mutex<OffsetDateTime> },
}

#[derive(Debug)]
pub struct Clock {
    mode: Mode,
}

impl Clock {
    pub fn system() -> Self {
        Self {
            mode: Mode::System {
                offset_nanos: AtomicI64::new(0),
            },
        }
    }

    pub fn deterministic() -> Self {
        Self {
            mode: Mode::Manual {
                now: Mutex::new(DETERMINISTIC_EPOCH),
            },
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        match &self.mode {
            Mode::System { offset_nanos } => {
                OffsetDateTime::now_utc()
                    + Duration::nanoseconds(offset_nanos.load(Ordering::Relaxed))
            }
            Mode::Manual { now } => {
                let mut guard = now.lock().unwrap_or_else(|p| p.into_inner());
                *guard += Duration::milliseconds(1);
                *guard
            }
        }
    }

    /// Moves time forward (never backward: a clock that goes back would break version ordering).
    pub fn advance(&self, by: Duration) {
        if by.is_negative() {
            return;
        }
        match &self.mode {
            Mode::System { offset_nanos } => {
                let nanos = i64::try_from(by.whole_nanoseconds()).unwrap_or(i64::MAX);
                offset_nanos.fetch_add(nanos, Ordering::Relaxed);
            }
            Mode::Manual { now } => {
                let mut guard = now.lock().unwrap_or_else(|p| p.into_inner());
                *guard += by;
            }
        }
    }

    /// Jumps to `to` when it lies in the future; returns whether it moved.
    pub fn set(&self, to: OffsetDateTime) -> bool {
        let current = self.peek();
        if to <= current {
            return false;
        }
        self.advance(to - current);
        true
    }

    /// Reads the time without ticking the manual clock.
    pub fn peek(&self) -> OffsetDateTime {
        match &self.mode {
            Mode::System { .. } => self.now(),
            Mode::Manual { now } => *now.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// Seconds since the epoch as a float, the timestamp format of the AWS JSON protocols.
pub fn epoch_seconds(t: OffsetDateTime) -> f64 {
    let nanos = t.unix_timestamp_nanos();
    // Millisecond precision, as AWS sends it.
    ((nanos / 1_000_000) as f64) / 1000.0
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_clock_is_reproducible_and_strictly_increasing() {
        let a = Clock::deterministic();
        let b = Clock::deterministic();
        let (a1, a2) = (a.now(), a.now());
        assert_eq!(a1, b.now());
        assert!(a2 > a1);
        assert_eq!(a1, DETERMINISTIC_EPOCH + Duration::milliseconds(1));
    }

    #[test]
    fn advance_and_set_only_move_forward() {
        let c = Clock::deterministic();
        c.advance(Duration::hours(1));
        assert_eq!(c.peek(), DETERMINISTIC_EPOCH + Duration::hours(1));
        assert!(!c.set(DETERMINISTIC_EPOCH));
        assert!(c.set(DETERMINISTIC_EPOCH + Duration::days(2)));
        assert_eq!(c.peek(), DETERMINISTIC_EPOCH + Duration::days(2));
        let s = Clock::system();
        let before = s.now();
        s.advance(Duration::days(1));
        assert!(s.now() - before >= Duration::days(1));
    }

    #[test]
    fn epoch_seconds_keeps_milliseconds() {
        let t = time::macros::datetime!(2025-01-01 00:00:00.123456 UTC);
        assert_eq!(epoch_seconds(t), 1_735_689_600.123);
    }
}
