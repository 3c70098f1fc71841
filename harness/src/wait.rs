//! Polling with a deadline: every wait in the harness goes through [`until`].

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
#[error("timed out after {}s waiting for {what}", limit.as_secs_f32())]
pub struct Timeout {
    pub what: String,
    pub limit: Duration,
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
    let deadline = Instant::now() + limit;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Timeout {
                what: what.to_owned(),
                limit,
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
    }
}
