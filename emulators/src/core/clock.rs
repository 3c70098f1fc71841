//! The one source of "now" for every emulator, so deterministic runs and expiry tests can steer time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Duration, OffsetDateTime};

/// Where deterministic mode starts its clock: a fixed instant, so snapshots never see the real date.
pub const DETERMINISTIC_EPOCH: OffsetDateTime = time::macros::datetime!(2025-01-01 00:00:00 UTC);

/// The latest instant the clock may be moved to. Services add durations of up to a few
/// centuries to "now" (a Vault TTL may be 292 years, Go's longest duration); stopping a
/// millennium short of the year 9999 the time library can represent keeps every such sum valid.
pub const LATEST: OffsetDateTime = time::macros::datetime!(9000-01-01 00:00:00 UTC);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the clock only moves forward")]
    Backward,
    #[error("moving the clock by {0} seconds would take it past {latest}", latest = rfc3339(LATEST))]
    TooFar(i128),
}

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

    /// Moves time forward (never backward: a clock that goes back would break version ordering),
    /// and never past [`LATEST`].
    pub fn advance(&self, by: Duration) -> Result<(), ClockError> {
        if by.is_negative() {
            return Err(ClockError::Backward);
        }
        let too_far = || ClockError::TooFar(by.whole_nanoseconds() / 1_000_000_000);
        match &self.mode {
            Mode::System { offset_nanos } => {
                let nanos = i64::try_from(by.whole_nanoseconds()).map_err(|_| too_far())?;
                // One compare-and-swap, so two concurrent advances cannot both pass the check.
                offset_nanos
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                        let moved = offset.checked_add(nanos)?;
                        let then =
                            OffsetDateTime::now_utc().checked_add(Duration::nanoseconds(moved))?;
                        (then <= LATEST).then_some(moved)
                    })
                    .map(drop)
                    .map_err(|_| too_far())
            }
            Mode::Manual { now } => {
                let mut guard = now.lock().unwrap_or_else(|p| p.into_inner());
                let then = guard
                    .checked_add(by)
                    .filter(|t| *t <= LATEST)
                    .ok_or_else(too_far)?;
                *guard = then;
                Ok(())
            }
        }
    }

    /// Jumps to `to`, which must lie ahead (and not past [`LATEST`]).
    pub fn set(&self, to: OffsetDateTime) -> Result<(), ClockError> {
        let current = self.peek();
        if to <= current {
            return Err(ClockError::Backward);
        }
        self.advance(to - current)
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

/// The HTTP `Date` format (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(t: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
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
        c.advance(Duration::hours(1)).expect("an hour");
        assert_eq!(c.peek(), DETERMINISTIC_EPOCH + Duration::hours(1));
        assert_eq!(c.set(DETERMINISTIC_EPOCH), Err(ClockError::Backward));
        c.set(DETERMINISTIC_EPOCH + Duration::days(2))
            .expect("ahead");
        assert_eq!(c.peek(), DETERMINISTIC_EPOCH + Duration::days(2));
        assert_eq!(c.advance(Duration::seconds(-1)), Err(ClockError::Backward));
        let s = Clock::system();
        let before = s.now();
        s.advance(Duration::days(1)).expect("a day");
        assert!(s.now() - before >= Duration::days(1));
    }

    #[test]
    fn overflowing_moves_are_refused_and_leave_the_clock_alone() {
        for c in [Clock::deterministic(), Clock::system()] {
            let before = c.peek();
            // Twice 200 years passes i64 nanoseconds: it used to wrap to 1842.
            c.advance(Duration::seconds(6_307_200_000))
                .expect("200 years");
            assert!(matches!(
                c.advance(Duration::seconds(6_307_200_000)),
                Ok(()) | Err(ClockError::TooFar(_))
            ));
            assert!(c.peek() > before, "never backwards");
            assert_eq!(
                c.advance(Duration::seconds(i64::MAX)),
                Err(ClockError::TooFar(i128::from(i64::MAX)))
            );
            assert!(c.set(LATEST + Duration::days(1)).is_err());
            assert!(c.peek() <= LATEST);
        }
    }

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(
            http_date(time::macros::datetime!(1994-11-06 08:49:37 UTC)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn epoch_seconds_keeps_milliseconds() {
        let t = time::macros::datetime!(2025-01-01 00:00:00.123456 UTC);
        assert_eq!(epoch_seconds(t), 1_735_689_600.123);
    }
}
