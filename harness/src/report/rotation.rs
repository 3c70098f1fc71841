//! Rotation latency from a case's timeline: for each backend write, the provider's first
//! secret read after it, the first mounted file and the first synced Secret seen changed after
//! it (before the next write). A write that nothing watched change (a seed before the pod
//! existed, a delete) yields no rotation.

use time::OffsetDateTime;

use super::model::{Change, Mark, Observation, Rotation, SpanKind, Timeline};

/// Journal operations that hand secret material to a caller: what a provider calls when it
/// mounts (`emulators/`: AWS targets, Key Vault routes, Vault `<engine>.<verb>` names).
pub fn is_secret_read(operation: &str) -> bool {
    matches!(
        operation,
        "GetSecretValue"
            | "BatchGetSecretValue"
            | "GetParameter"
            | "GetParameters"
            | "GetParametersByPath"
            | "GetSecret"
            | "GetKey"
            | "GetCertificate"
            | "kv1.read"
            | "kv2.read"
    ) || operation.starts_with("pki.")
        || operation.starts_with("database.")
}

fn after_ms(at: OffsetDateTime, write: OffsetDateTime) -> u64 {
    u64::try_from((at - write).whole_milliseconds().max(0)).unwrap_or(u64::MAX)
}

fn first_change<'a>(
    t: &'a Timeline,
    prefix: &str,
    from: OffsetDateTime,
    until: Option<OffsetDateTime>,
) -> Option<&'a Observation> {
    t.observations.iter().find(|o| {
        o.subject.starts_with(prefix)
            && matches!(
                o.change,
                Change::Changed | Change::Appeared | Change::Disappeared
            )
            && o.at > from
            && until.is_none_or(|u| o.at <= u)
    })
}

fn mark(o: &Observation, write: OffsetDateTime, prefix: &str) -> Mark {
    Mark {
        at: o.at,
        after_write_ms: after_ms(o.at, write),
        what: o
            .subject
            .strip_prefix(prefix)
            .unwrap_or(&o.subject)
            .to_owned(),
        // 0 when the old value was last seen before the write: the change lies anywhere
        // between the write and `at`.
        not_before_ms: o.previous_seen_at.map(|p| after_ms(p, write)),
    }
}

pub fn rotations(t: &Timeline) -> Vec<Rotation> {
    let mut writes: Vec<_> = t
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Op && s.name == "backend" && s.ok)
        .collect();
    writes.sort_by_key(|s| s.ended_at);
    let mut out = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        let from = w.ended_at;
        let until = writes.get(i + 1).map(|n| n.started_at);
        let file = first_change(t, "file ", from, until);
        let secret = first_change(t, "secret ", from, until);
        let Some(last) = [file, secret].into_iter().flatten().map(|o| o.at).max() else {
            continue;
        };
        let read = t
            .journal
            .iter()
            .filter(|j| {
                is_secret_read(&j.operation)
                    && (200..300).contains(&j.status)
                    && j.at > from
                    && j.at <= last
            })
            .min_by_key(|j| j.at)
            .map(|j| Mark {
                at: j.at,
                after_write_ms: after_ms(j.at, from),
                what: format!("{} {}", j.service, j.operation),
                not_before_ms: None,
            });
        out.push(Rotation {
            write_at: from,
            write: w.detail.clone(),
            read,
            file: file.map(|o| mark(o, from, "file ")),
            secret: secret.map(|o| mark(o, from, "secret ")),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{JournalEntry, Seen, Span};
    use time::Duration;

    pub(crate) fn at(s: i64) -> OffsetDateTime {
        time::macros::datetime!(2026-01-01 00:00:00 UTC) + Duration::milliseconds(s)
    }

    fn span(name: &str, from: i64, to: i64) -> Span {
        Span {
            kind: SpanKind::Op,
            name: name.into(),
            detail: format!("{name} detail"),
            step: None,
            started_at: at(from),
            ended_at: at(to),
            ok: true,
            error: None,
        }
    }

    fn seen(subject: &str, t: i64, change: Change, prev: Option<i64>) -> Observation {
        Observation {
            at: at(t),
            subject: subject.into(),
            change,
            value: Seen::Text { text: "x".into() },
            previous: prev.map(|_| Seen::Text { text: "y".into() }),
            previous_seen_at: prev.map(at),
        }
    }

    fn read(t: i64, op: &str, status: u16) -> JournalEntry {
        JournalEntry {
            at: at(t),
            service: "keyvault".into(),
            operation: op.into(),
            status,
            latency_ms: 1.0,
            error: None,
            region: None,
            keys: Default::default(),
        }
    }

    fn timeline() -> Timeline {
        Timeline {
            namespace: "ns".into(),
            started_at: at(0),
            ended_at: at(200_000),
            spans: vec![
                // The seed: the file is first seen after it, which is no rotation.
                span("backend", 1_000, 1_100),
                span("files", 5_000, 9_000),
                span("backend", 10_000, 10_200),
            ],
            journal: vec![
                read(3_000, "GetSecret", 200),
                read(10_100, "SetSecret", 200),
                read(40_000, "GetSecret", 503),
                read(70_000, "GetSecret", 200),
                read(130_000, "GetSecret", 200),
            ],
            events: vec![],
            observations: vec![
                seen("file app:/mnt/joke", 8_000, Change::FirstSeen, None),
                seen("secret joke", 8_500, Change::FirstSeen, None),
                seen("file app:/mnt/joke", 71_000, Change::Changed, Some(70_400)),
                seen("secret joke", 72_000, Change::Changed, Some(9_000)),
            ],
            snapshot_mismatches: vec![],
        }
    }

    #[test]
    fn a_write_followed_by_changes_is_one_rotation() {
        let r = rotations(&timeline());
        assert_eq!(r.len(), 1, "{r:?}");
        let r = &r[0];
        assert_eq!(r.write_at, at(10_200));
        assert_eq!(r.write, "backend detail");
        // The failed read and the harness's own write are not the provider's read.
        let read = r.read.as_ref().unwrap();
        assert_eq!(
            (read.after_write_ms, read.what.as_str()),
            (59_800, "keyvault GetSecret")
        );
        let file = r.file.as_ref().unwrap();
        assert_eq!(file.what, "app:/mnt/joke");
        assert_eq!(file.after_write_ms, 60_800);
        assert_eq!(file.not_before_ms, Some(60_200));
        let secret = r.secret.as_ref().unwrap();
        assert_eq!(
            (secret.after_write_ms, secret.not_before_ms),
            // Last seen old before the write: the change lies anywhere after it.
            (61_800, Some(0))
        );
    }

    #[test]
    fn a_later_write_takes_the_changes_after_it() {
        let mut t = timeline();
        t.spans.push(span("backend", 100_000, 100_100));
        t.observations.push(seen(
            "file app:/mnt/joke",
            131_000,
            Change::Changed,
            Some(129_000),
        ));
        let r = rotations(&t);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].file.as_ref().unwrap().after_write_ms, 30_900);
        assert_eq!(r[1].read.as_ref().unwrap().after_write_ms, 29_900);
        assert!(r[1].secret.is_none());
    }

    #[test]
    fn secret_reads_are_named_by_operation() {
        for op in [
            "GetSecretValue",
            "GetParameters",
            "GetSecret",
            "kv2.read",
            "pki.issue",
        ] {
            assert!(is_secret_read(op), "{op}");
        }
        for op in [
            "SetSecret",
            "PutSecretValue",
            "kv2.write",
            "DescribeSecret",
            "token",
        ] {
            assert!(!is_secret_read(op), "{op}");
        }
    }
}
