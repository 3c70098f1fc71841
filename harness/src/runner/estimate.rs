//! How long a case is expected to take, read off its scenario before it runs, so concurrent
//! cases can start longest first (a long case started last decides when the run ends) and a
//! set of versions with few cases can take on cases from another that fit beside them.
//!
//! What a scenario fixes is what it waits for by the clock: periods an expectation must hold
//! (`for: rotation + 5s`) and waits that end with the driver's rotation poll (`within: rotation
//! + 30s` ends about one interval in). A repro's failing step runs to its deadline: while the
//! bug is there, the wait it names ends only when it gives up. A pod starting is the rest, a
//! few seconds per `apply`.
//! Measured on the host backend: 8 s for `mount`, 50 to 62 s for the rotation repros.

use std::time::Duration;

use serde_json::Value;

use crate::scenario::duration::Deadline;
use crate::scenario::model::{Outcome, Scenario};

/// Namespace, tenants, setup and teardown, whatever the steps.
const BASE: Duration = Duration::from_secs(5);
/// A pod scheduled, its volume mounted, its container started.
const PER_APPLY: Duration = Duration::from_secs(4);

/// The expected duration of one run of `sc` with the driver polling every `rotation`.
pub fn expected(sc: &Scenario, rotation: Duration) -> Duration {
    let steps = serde_json::to_value(&sc.spec.steps).unwrap_or(Value::Null);
    let failing = sc
        .spec
        .expect
        .as_ref()
        .filter(|e| e.outcome == Outcome::Fail)
        .and_then(|e| e.step.as_deref())
        .and_then(|id| sc.spec.steps.iter().find(|s| s.id.as_deref() == Some(id)))
        .and_then(|s| serde_json::to_value(s).ok())
        .map_or(Duration::ZERO, |s| longest_give_up(&s));
    BASE + clocked(&steps, rotation) + failing
}

/// What the longest `within` of a step adds to [`clocked`] when it runs out: all of a fixed
/// deadline, the margin of one derived from the rotation interval (the interval is counted).
fn longest_give_up(v: &Value) -> Duration {
    match v {
        Value::Array(items) => items.iter().map(longest_give_up).max().unwrap_or_default(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match (k.as_str(), v) {
                ("within", Value::String(s)) => match s.parse::<Deadline>() {
                    Ok(Deadline::Fixed(d)) => d,
                    Ok(Deadline::Rotation { plus, .. }) => plus,
                    Err(_) => Duration::ZERO,
                },
                _ => longest_give_up(v),
            })
            .max()
            .unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

fn clocked(v: &Value, rotation: Duration) -> Duration {
    match v {
        Value::Array(items) => items.iter().map(|i| clocked(i, rotation)).sum(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match (k.as_str(), v) {
                ("apply", _) => PER_APPLY + clocked(v, rotation),
                ("for", Value::String(s)) => s
                    .parse::<Deadline>()
                    .map_or(Duration::ZERO, |d| d.resolve(rotation)),
                ("within", Value::String(s)) => match s.parse::<Deadline>() {
                    Ok(Deadline::Rotation { times, .. }) => rotation * times,
                    _ => Duration::ZERO,
                },
                _ => clocked(v, rotation),
            })
            .sum(),
        _ => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(steps: &str) -> Scenario {
        let text = format!(
            "apiVersion: secretbench.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: s, description: d}}\n\
             spec:\n  providers: [azure]\n  bindings: {{azure: {{}}}}\n  steps:\n{steps}"
        );
        crate::scenario::load_str(Path::new("s/scenario.yaml"), &text)
            .unwrap()
            .scenario
    }

    #[test]
    fn holds_and_rotation_waits_count_fixed_deadlines_do_not() {
        let rotation = Duration::from_secs(10);
        let quick = scenario(
            "    - id: a\n      try:\n        - apply: { path: manifests/ }\n        \
             - wait: { kind: Pod, name: p, condition: Ready, within: 90s }\n",
        );
        assert_eq!(expected(&quick, rotation), Duration::from_secs(9));
        let slow = scenario(
            "    - id: a\n      try:\n        - apply: { path: manifests/ }\n        \
             - check: { file: { pod: p, path: /f }, equals: x, within: 2 * rotation + 30s }\n        \
             - check: { file: { pod: p, path: /f }, equals: x, for: rotation + 5s }\n",
        );
        assert_eq!(
            expected(&slow, rotation),
            Duration::from_secs(5 + 4 + 20 + 15)
        );
        let repro = scenario(
            "    - id: a\n      try:\n        - apply: { path: manifests/ }\n    \
             - id: b\n      try:\n        \
             - check: { file: { pod: p, path: /f }, equals: x, within: 5s }\n        \
             - check: { file: { pod: p, path: /f }, equals: y, within: rotation + 30s }\n  \
             expect: { outcome: fail, reason: r, step: b }\n",
        );
        assert_eq!(
            expected(&repro, rotation),
            Duration::from_secs(5 + 4 + 10 + 30)
        );
    }
}
