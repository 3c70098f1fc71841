//! Polling with a deadline: every wait in the harness goes through [`until`].

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
}
