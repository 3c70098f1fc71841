//! Waits with a deadline, and the one [`Timeout`] every wait in the harness ends with.
//!
//! A wait on a Kubernetes object watches it ([`crate::kube_api::KubeApi::wait_for`] and its
//! kin, which fail with this same `Timeout`). Polling through [`until`] (a condition must become
//! true in time) and [`holds`] (it must stay true for a period) remains only where there is
//! nothing to watch: file contents and command output read through `kubectl exec`, logs, HTTP
//! endpoints (emulator journals, metrics, the API server's `/readyz`), processes on the machine,
//! and a cluster backend's bring-up before its API answers (node Ready, still through kubectl).
//! A refused request that is retried (a Pod admitted before its ServiceAccount is cached) also
//! polls: there is no object to watch, only the request to repeat.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
#[error("timed out after {}s waiting for {what}{}", limit.as_secs_f32(), last.as_ref().map(|l| format!("; last seen: {l}")).unwrap_or_default())]
pub struct Timeout {
    pub what: String,
    pub limit: Duration,
    /// Why the last check was not yet satisfied, when the check says.
    pub last: Option<String>,
}

/// One look at a condition: met, or not yet and why (the why ends up in the timeout error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T = ()> {
    /// Met, with what the check found.
    Done(T),
    NotYet(String),
}

/// Calls `check` every `every` until it yields `Ok(true)` or `limit` has passed. A check
/// that returns `Err` stops the wait at once with that error (for example a daemon that died).
pub async fn until<F, Fut, E>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: F,
) -> Result<(), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, E>>,
    E: From<Timeout>,
{
    until_poll(what, limit, every, || {
        let fut = check();
        async move {
            Ok(if fut.await? {
                Poll::Done(())
            } else {
                Poll::NotYet(String::new())
            })
        }
    })
    .await
}

/// [`until`] for checks that say why they are not yet satisfied; returns what the last,
/// successful check found.
pub async fn until_poll<T, F, Fut, E>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
    E: From<Timeout>,
{
    let deadline = Instant::now() + limit;
    loop {
        let last = match check().await? {
            Poll::Done(found) => return Ok(found),
            Poll::NotYet(why) => why,
        };
        if Instant::now() >= deadline {
            return Err(Timeout {
                what: what.to_owned(),
                limit,
                last: Some(last).filter(|l| !l.is_empty()),
            }
            .into());
        }
        tokio::time::sleep(every).await;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{what} stopped holding after {}s of {}s: {why}", after.as_secs_f32(), period.as_secs_f32())]
pub struct Broken {
    pub what: String,
    /// How long it held before the look that found it broken.
    pub after: Duration,
    pub period: Duration,
    /// Why that look was not satisfied.
    pub why: String,
}

/// The other half of [`until_poll`]: `check` must be met at every look for `period`, looked at
/// every `every` from now until (and once at) the end of the period. Fails at the first look
/// that is not met, without waiting out the period; a check that returns `Err` stops it at
/// once with that error. Returns what the last look found.
pub async fn holds<T, F, Fut, E>(
    what: &str,
    period: Duration,
    every: Duration,
    mut check: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
    E: From<Broken>,
{
    let start = Instant::now();
    let end = start + period;
    loop {
        let found = match check().await? {
            Poll::Done(found) => found,
            Poll::NotYet(why) => {
                return Err(Broken {
                    what: what.to_owned(),
                    after: start.elapsed(),
                    period,
                    why,
                }
                .into());
            }
        };
        let now = Instant::now();
        if now >= end {
            return Ok(found);
        }
        tokio::time::sleep(every.min(end - now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn succeeds_and_times_out() {
        let mut n = 0;
        until::<_, _, Timeout>(
            "n",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                n += 1;
                let done = n >= 3;
                async move { Ok(done) }
            },
        )
        .await
        .unwrap();
        assert_eq!(n, 3);
        let e = until::<_, _, Timeout>(
            "never",
            Duration::from_millis(20),
            Duration::from_millis(5),
            || async { Ok(false) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.what, "never");
        let e = until_poll::<(), _, _, Timeout>(
            "file",
            Duration::from_millis(20),
            Duration::from_millis(5),
            || async { Ok(Poll::NotYet("old value".into())) },
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("waiting for file; last seen: old value"),
            "{e}"
        );
    }

    #[derive(Debug)]
    enum E {
        Broken(Broken),
        Other(&'static str),
    }
    impl From<Broken> for E {
        fn from(b: Broken) -> Self {
            E::Broken(b)
        }
    }

    #[tokio::test]
    async fn holds_for_the_whole_period_and_looks_at_its_end() {
        let t0 = Instant::now();
        let mut looks = 0;
        let last = holds::<_, _, _, E>(
            "value unchanged",
            Duration::from_millis(60),
            Duration::from_millis(10),
            || {
                looks += 1;
                let n = looks;
                async move { Ok(Poll::Done(n)) }
            },
        )
        .await
        .unwrap();
        assert!(
            t0.elapsed() >= Duration::from_millis(60),
            "waited out the period"
        );
        assert!(
            looks >= 3,
            "looked repeatedly, not once after a sleep: {looks}"
        );
        assert_eq!(last, looks, "returns what the last look found");
    }

    #[tokio::test]
    async fn fails_at_the_first_broken_look_without_waiting_out_the_period() {
        let t0 = Instant::now();
        let mut looks = 0;
        let e = holds::<(), _, _, E>(
            "old value",
            Duration::from_secs(30),
            Duration::from_millis(5),
            || {
                looks += 1;
                let n = looks;
                async move {
                    Ok(if n < 3 {
                        Poll::Done(())
                    } else {
                        Poll::NotYet("file changed to \"new\"".into())
                    })
                }
            },
        )
        .await
        .unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(5), "did not wait 30s");
        assert_eq!(looks, 3);
        let E::Broken(b) = e else {
            panic!("want Broken, got {e:?}")
        };
        let msg = b.to_string();
        assert!(
            msg.starts_with("old value stopped holding after ")
                && msg.ends_with("of 30s: file changed to \"new\""),
            "{msg}"
        );
        // A broken first look fails at once; an error stops it too.
        let e = holds::<(), _, _, E>(
            "x",
            Duration::from_secs(30),
            Duration::from_millis(5),
            || async { Ok(Poll::NotYet("no".into())) },
        )
        .await
        .unwrap_err();
        assert!(matches!(e, E::Broken(b) if b.after < Duration::from_secs(1)));
        let e = holds::<(), _, _, E>(
            "x",
            Duration::from_secs(30),
            Duration::from_millis(5),
            || async { Err(E::Other("kubectl failed")) },
        )
        .await
        .unwrap_err();
        assert!(matches!(e, E::Other("kubectl failed")));
    }
}
