//! What one case did and saw, on the wall clock, for the run report: spans of the setup,
//! steps and operations, changes of the values the operations poll (mounted files, synced
//! Secrets, conditions, command output), snapshot mismatches, and at the end the emulator
//! journal and the namespace's events.
//!
//! One [`Recorder`] lives in each [`Case`]; it takes `&self` (a mutex inside, never held
//! across an await) so polls that borrow the case can record, and cases running side by side
//! each keep their own.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::exec::{Case, SeenFile};
use super::snapshot;
use crate::report::model::{
    Change, JournalEntry, KubeEvent, Observation, Seen, SnapshotMismatch, Span, SpanKind, Timeline,
};
use crate::scenario::model::{self as m, BackendAction, Op};

/// Now, to the millisecond (the precision the report keeps).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t)
}

/// A value's digest as the report shows it: never the value itself.
pub fn digest(bytes: &[u8], mode: Option<&str>) -> Seen {
    let sum = Sha256::digest(bytes);
    Seen::Digest {
        sha256: hex::encode(&sum[..6]),
        bytes: bytes.len(),
        mode: mode.map(str::to_owned),
    }
}

/// Handle of a span [`Recorder::begin`] opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanId(usize);

#[derive(Debug)]
pub struct Recorder {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    timeline: Timeline,
    step: Option<String>,
    /// Per subject: the value last seen and when.
    last: BTreeMap<String, (Seen, OffsetDateTime)>,
}

impl Recorder {
    pub fn new(namespace: &str) -> Self {
        let t = now();
        Self {
            inner: Mutex::new(Inner {
                timeline: Timeline {
                    namespace: namespace.to_owned(),
                    started_at: t,
                    ended_at: t,
                    spans: Vec::new(),
                    journal: Vec::new(),
                    events: Vec::new(),
                    observations: Vec::new(),
                    snapshot_mismatches: Vec::new(),
                },
                step: None,
                last: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a span; a step becomes the step of the operations that follow until it ends.
    pub fn begin(&self, kind: SpanKind, name: &str, detail: String) -> SpanId {
        let mut inner = self.lock();
        let t = now();
        if kind == SpanKind::Step {
            inner.step = Some(name.to_owned());
        }
        let step = if kind == SpanKind::Op {
            inner.step.clone()
        } else {
            None
        };
        inner.timeline.spans.push(Span {
            kind,
            name: name.to_owned(),
            detail,
            step,
            started_at: t,
            ended_at: t,
            ok: true,
            error: None,
        });
        SpanId(inner.timeline.spans.len() - 1)
    }

    /// Opens the span of one operation, described without secret values.
    pub fn begin_op(&self, op: &Op) -> SpanId {
        let (name, detail) = describe(op);
        self.begin(SpanKind::Op, name, detail)
    }

    pub fn end(&self, id: SpanId, error: Option<&str>) {
        let mut inner = self.lock();
        let t = now();
        let mut ended_step = false;
        if let Some(span) = inner.timeline.spans.get_mut(id.0) {
            span.ended_at = t;
            span.ok = error.is_none();
            span.error = error.map(str::to_owned);
            ended_step = span.kind == SpanKind::Step;
        }
        if ended_step {
            inner.step = None;
        }
    }

    /// Records `value` for `subject` if it differs from what was seen last.
    pub fn observe(&self, subject: &str, value: Seen) {
        let t = now();
        let mut inner = self.lock();
        inner.observe(subject, value, t);
    }

    /// Records a whole set under `prefix` (the files of a folder): subjects seen before under
    /// the prefix and missing now are recorded as absent.
    pub fn observe_set(&self, prefix: &str, values: Vec<(String, Seen)>) {
        let t = now();
        let mut inner = self.lock();
        let present: Vec<String> = values.iter().map(|(s, _)| s.clone()).collect();
        let gone: Vec<String> = inner
            .last
            .iter()
            .filter(|(s, (v, _))| s.starts_with(prefix) && !v.is_absent() && !present.contains(s))
            .map(|(s, _)| s.clone())
            .collect();
        for (subject, value) in values {
            inner.observe(&subject, value, t);
        }
        for subject in gone {
            inner.observe(&subject, Seen::Absent, t);
        }
    }

    /// The files of one listing, as `file <pod>:<path>/<name>` subjects.
    pub fn observe_files(&self, pod: &str, path: &str, listing: &BTreeMap<String, SeenFile>) {
        let prefix = format!("file {pod}:{}/", path.trim_end_matches('/'));
        let values = listing
            .iter()
            .map(|(name, f)| {
                (
                    format!("{prefix}{name}"),
                    digest(f.contents.as_bytes(), Some(&f.mode)),
                )
            })
            .collect();
        self.observe_set(&prefix, values);
    }

    /// A Secret's data as one digest over its keys and values (absent when it is missing).
    pub fn observe_secret(&self, name: &str, object: Option<&Value>) {
        let value = match object {
            None => Seen::Absent,
            Some(obj) => {
                let data: BTreeMap<&str, &str> = obj["data"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()))
                    .collect();
                let canonical: String = data.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                digest(canonical.as_bytes(), None)
            }
        };
        self.observe(&format!("secret {name}"), value);
    }

    /// A snapshot that differed: the stored and the new body side by side.
    pub fn snapshot_mismatch(&self, name: &str, stored: &Path, new: &Path) {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let (old_file, new_file) = (read(stored), read(new));
        let rows =
            snapshot::side_by_side(snapshot::body_of(&old_file), snapshot::body_of(&new_file));
        self.lock()
            .timeline
            .snapshot_mismatches
            .push(SnapshotMismatch {
                name: name.to_owned(),
                stored: stored.display().to_string(),
                new: new.display().to_string(),
                rows,
            });
    }

    pub fn set_journal(&self, entries: Vec<JournalEntry>) {
        self.lock().timeline.journal = entries;
    }

    pub fn set_events(&self, events: Vec<KubeEvent>) {
        self.lock().timeline.events = events;
    }

    /// The timeline so far, ending now.
    pub fn finish(&self) -> Timeline {
        let mut inner = self.lock();
        inner.timeline.ended_at = now();
        inner.timeline.clone()
    }
}

impl Inner {
    fn observe(&mut self, subject: &str, value: Seen, t: OffsetDateTime) {
        let previous = self.last.get(subject).cloned();
        match &previous {
            Some((v, _)) if *v == value => {
                self.last.insert(subject.to_owned(), (value, t));
                return;
            }
            _ => {}
        }
        let change = match (&previous, &value) {
            (None, _) => Change::FirstSeen,
            (Some((p, _)), Seen::Absent) if !p.is_absent() => Change::Disappeared,
            (Some((p, _)), _) if p.is_absent() => Change::Appeared,
            _ => Change::Changed,
        };
        self.timeline.observations.push(Observation {
            at: t,
            subject: subject.to_owned(),
            change,
            value: value.clone(),
            previous: previous.as_ref().map(|(v, _)| v.clone()),
            previous_seen_at: previous.as_ref().map(|(_, at)| *at),
        });
        self.last.insert(subject.to_owned(), (value, t));
    }
}

/// The emulator journal and the events of the case's namespaces, into the case's recorder.
/// Best effort: what cannot be read is logged and left out.
pub async fn collect(case: &Case<'_>) {
    match case.backend.journal_all().await {
        Ok(v) => case.timeline.set_journal(
            v["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(journal_entry)
                .collect(),
        ),
        Err(e) => tracing::warn!(error = %e, "timeline: cannot read the emulator journal"),
    }
    let mut events = Vec::new();
    let mut namespaces = vec![case.namespace.clone()];
    namespaces.extend(case.extra_namespaces.iter().cloned());
    for ns in &namespaces {
        let listed = match case.kubectl.api().await {
            Ok(api) => api.list(Some(ns), "events", None).await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(list) => events.extend(list.iter().filter_map(kube_event)),
            Err(e) => tracing::warn!(namespace = %ns, error = %e, "timeline: cannot list events"),
        }
    }
    events.sort_by_key(|e| e.at);
    case.timeline.set_events(events);
}

fn parse_time(v: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.as_str()?, &time::format_description::well_known::Rfc3339).ok()
}

/// One entry of the admin API's journal (`emulators/src/core/journal.rs`).
pub fn journal_entry(e: &Value) -> Option<JournalEntry> {
    Some(JournalEntry {
        at: parse_time(&e["time"])?,
        service: e["service"].as_str()?.to_owned(),
        operation: e["operation"].as_str().unwrap_or_default().to_owned(),
        status: u16::try_from(e["status"].as_u64()?).ok()?,
        latency_ms: e["latencyMicros"].as_u64().unwrap_or(0) as f64 / 1000.0,
        error: e["error"].as_str().map(str::to_owned),
        region: e["region"].as_str().map(str::to_owned),
        keys: e["keys"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect(),
    })
}

/// One `v1` Event (core events carry `firstTimestamp`/`lastTimestamp`/`count`; events made
/// through `events.k8s.io` carry `eventTime` and `series`).
pub fn kube_event(e: &Value) -> Option<KubeEvent> {
    let at = parse_time(&e["eventTime"])
        .or_else(|| parse_time(&e["firstTimestamp"]))
        .or_else(|| parse_time(&e["metadata"]["creationTimestamp"]))?;
    let last_at = parse_time(&e["series"]["lastObservedTime"])
        .or_else(|| parse_time(&e["lastTimestamp"]))
        .filter(|l| *l > at);
    let count = e["series"]["count"]
        .as_u64()
        .or_else(|| e["count"].as_u64())
        .unwrap_or(1);
    let source = e["reportingComponent"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or_else(|| e["source"]["component"].as_str())
        .unwrap_or_default();
    Some(KubeEvent {
        at,
        last_at,
        count,
        type_: e["type"].as_str().unwrap_or("Normal").to_owned(),
        reason: e["reason"].as_str().unwrap_or_default().to_owned(),
        object: format!(
            "{}/{}",
            e["involvedObject"]["kind"].as_str().unwrap_or("?"),
            e["involvedObject"]["name"].as_str().unwrap_or("?")
        ),
        message: e["message"].as_str().unwrap_or_default().to_owned(),
        source: source.to_owned(),
    })
}

/// An operation's key and what it touches, without values (backend writes name their target,
/// never the secret they write).
pub fn describe(op: &Op) -> (&'static str, String) {
    match op {
        Op::Backend(a) => ("backend", backend_target(a)),
        Op::Faults(m::Faults::Add(r)) => (
            "faults",
            format!(
                "add {} {} {}",
                r.service,
                r.operation.as_deref().unwrap_or("*"),
                r.status.map(|s| s.to_string()).unwrap_or_default()
            )
            .trim_end()
            .to_owned(),
        ),
        Op::Faults(m::Faults::Clear(c)) => (
            "faults",
            format!("clear {}", c.service.as_deref().unwrap_or("all")),
        ),
        Op::Journal(j) => ("journal", format!("{} {}", j.service, j.operation)),
        Op::Apply(a) => ("apply", a.path.clone()),
        Op::Delete(d) => (
            "delete",
            d.path
                .clone()
                .or_else(|| d.object.as_ref().map(|o| format!("{}/{}", o.kind, o.name)))
                .unwrap_or_default(),
        ),
        Op::Scale(s) => ("scale", format!("{}/{} to {}", s.kind, s.name, s.replicas)),
        Op::Assert(a) => (
            "assert",
            format!(
                "{}/{}",
                a.object["kind"].as_str().unwrap_or("?"),
                a.object["metadata"]["name"].as_str().unwrap_or("?")
            ),
        ),
        Op::Absent(o) => ("absent", o.describe()),
        Op::Event(e) => (
            "event",
            format!("{} on {}/{}", e.reason, e.object.kind, e.object.name),
        ),
        Op::Wait(w) => ("wait", format!("{}/{} {}", w.kind, w.name, w.condition)),
        Op::Files(f) => (
            "files",
            format!("{}:{}", f.target().map_or("?", |t| t.name()), f.path),
        ),
        Op::Exec(e) => (
            "exec",
            format!(
                "{}: {}",
                e.target().map_or("?", |t| t.name()),
                e.command.join(" ")
            ),
        ),
        Op::Snapshot(s) => (
            "snapshot",
            format!("{} of {}/{}", s.name, s.object.kind, s.object.name),
        ),
        Op::Capture(c) => (
            "capture",
            format!(
                "${{{}}} from {}",
                c.as_,
                c.sources()
                    .first()
                    .map(super::exec::describe_source)
                    .unwrap_or_default()
            ),
        ),
        Op::Check(c) => {
            let timing = match (c.within, c.for_) {
                (_, Some(d)) => format!(" for {d}"),
                (Some(d), None) => format!(" within {d}"),
                (None, None) => String::new(),
            };
            (
                "check",
                format!(
                    "{}{timing}",
                    c.sources()
                        .first()
                        .map(super::exec::describe_source)
                        .unwrap_or_default()
                ),
            )
        }
        Op::Collect(what) => (
            "collect",
            what.iter()
                .map(|c| format!("{c:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// `azure.setSecret secretbench/joke`: the action's name and what it writes to.
pub fn backend_target(a: &BackendAction) -> String {
    use BackendAction as A;
    let (name, target) = match a {
        A::Run(list) => return format!("run {list}"),
        A::AwsCreateSecret(x) => ("aws.secretsmanager.createSecret", x.name.clone()),
        A::AwsPutSecretValue(x) => ("aws.secretsmanager.putSecretValue", x.secret_id.clone()),
        A::AwsDeleteSecret(x) => ("aws.secretsmanager.deleteSecret", x.secret_id.clone()),
        A::AwsPutParameter(x) => ("aws.ssm.putParameter", x.name.clone()),
        A::AwsDeleteParameter(x) => ("aws.ssm.deleteParameter", x.name.clone()),
        A::AwsLabelParameterVersion(x) => (
            "aws.ssm.labelParameterVersion",
            format!(
                "{}:{} {}",
                x.name,
                x.version.map_or("latest".to_owned(), |v| v.to_string()),
                x.labels.join(",")
            ),
        ),
        A::AwsCreateRole(x) => ("aws.iam.createRole", x.role_name.clone()),
        A::AzureSetSecret(x) => ("azure.setSecret", format!("{}/{}", x.vault, x.name)),
        A::AzureDeleteSecret(x) => ("azure.deleteSecret", format!("{}/{}", x.vault, x.name)),
        A::AzureImportCertificate(x) => (
            "azure.importCertificate",
            format!("{}/{} from {}", x.vault, x.name, x.file),
        ),
        A::AzureCreateKey(x) => ("azure.createKey", format!("{}/{}", x.vault, x.name)),
        A::AzureImportKey(x) => (
            "azure.importKey",
            format!("{}/{} from {}", x.vault, x.name, x.file),
        ),
        A::VaultKv2Put(x) => ("vault.kv2.put", format!("{}/{}", x.mount, x.path)),
        A::VaultKv2Delete(x) => ("vault.kv2.delete", format!("{}/{}", x.mount, x.path)),
        A::VaultKv1Put(x) => ("vault.kv1.put", format!("{}/{}", x.mount, x.path)),
        A::VaultSecretsEnable(x) => (
            "vault.secrets.enable",
            format!("{} at {}", x.type_.as_str(), x.path),
        ),
        A::VaultPolicyWrite(x) => ("vault.policy.write", x.name.clone()),
        A::VaultKubernetesRole(x) => ("vault.kubernetes.role", x.name.clone()),
        A::VaultPkiGenerateRoot(x) => (
            "vault.pki.generateRoot",
            format!("{} CN={}", x.mount, x.common_name),
        ),
        A::VaultPkiRole(x) => ("vault.pki.role", format!("{}/{}", x.mount, x.name)),
        A::VaultDatabaseConfig(x) => ("vault.database.config", format!("{}/{}", x.mount, x.name)),
        A::VaultDatabaseRole(x) => ("vault.database.role", format!("{}/{}", x.mount, x.name)),
    };
    format!("{name} {target}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seen(subject: &str, r: &Recorder) -> Vec<(Change, Seen)> {
        r.finish()
            .observations
            .into_iter()
            .filter(|o| o.subject == subject)
            .map(|o| (o.change, o.value))
            .collect()
    }

    #[test]
    fn observations_keep_changes_only_and_bracket_them() {
        let r = Recorder::new("ns");
        r.observe("secret joke", Seen::Absent);
        r.observe("secret joke", Seen::Absent);
        let a = digest(b"old", None);
        r.observe("secret joke", a.clone());
        r.observe("secret joke", a.clone());
        let b = digest(b"new", None);
        r.observe("secret joke", b.clone());
        r.observe("secret joke", Seen::Absent);
        assert_eq!(
            seen("secret joke", &r),
            vec![
                (Change::FirstSeen, Seen::Absent),
                (Change::Appeared, a.clone()),
                (Change::Changed, b.clone()),
                (Change::Disappeared, Seen::Absent),
            ]
        );
        let t = r.finish();
        let changed = &t.observations[2];
        assert_eq!(changed.previous, Some(a));
        // The old value was last seen by the second look at it, before the change was seen.
        assert!(changed.previous_seen_at.is_some_and(|p| p <= changed.at));
    }

    #[test]
    fn file_sets_record_files_that_went_away_and_never_their_contents() {
        let r = Recorder::new("ns");
        let file = |c: &str| SeenFile {
            mode: "0644".into(),
            contents: c.into(),
            bytes: c.as_bytes().to_vec(),
        };
        let one = BTreeMap::from([
            ("a".to_owned(), file("s3cr3t")),
            ("b".to_owned(), file("x")),
        ]);
        r.observe_files("app", "/mnt/secrets-store/", &one);
        let two = BTreeMap::from([("a".to_owned(), file("s3cr3t-2"))]);
        r.observe_files("app", "/mnt/secrets-store", &two);
        let t = r.finish();
        let changes: Vec<(&str, Change)> = t
            .observations
            .iter()
            .map(|o| (o.subject.as_str(), o.change))
            .collect();
        assert_eq!(
            changes,
            vec![
                ("file app:/mnt/secrets-store/a", Change::FirstSeen),
                ("file app:/mnt/secrets-store/b", Change::FirstSeen),
                ("file app:/mnt/secrets-store/a", Change::Changed),
                ("file app:/mnt/secrets-store/b", Change::Disappeared),
            ]
        );
        let text = serde_json::to_string(&t).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_eq!(
            t.observations[0].value,
            Seen::Digest {
                sha256: hex::encode(&Sha256::digest(b"s3cr3t")[..6]),
                bytes: 6,
                mode: Some("0644".into())
            }
        );
    }

    #[test]
    fn spans_nest_operations_in_their_step() {
        let r = Recorder::new("ns");
        let step = r.begin(SpanKind::Step, "rotate", String::new());
        let op: Op = serde_json::from_value(json!({"backend": {"azure.setSecret":
            {"vault": "secretbench", "name": "joke", "value": "the secret value"}}}))
        .unwrap();
        let o = r.begin_op(&op);
        r.end(o, Some("boom"));
        r.end(step, Some("boom"));
        let after = r.begin(SpanKind::Teardown, "teardown", String::new());
        r.end(after, None);
        let t = r.finish();
        assert_eq!(t.spans[1].name, "backend");
        assert_eq!(t.spans[1].detail, "azure.setSecret secretbench/joke");
        assert_eq!(t.spans[1].step.as_deref(), Some("rotate"));
        assert!(!t.spans[1].ok);
        assert_eq!(t.spans[1].error.as_deref(), Some("boom"));
        assert_eq!(t.spans[2].step, None);
        assert!(
            !serde_json::to_string(&t)
                .unwrap()
                .contains("the secret value")
        );
    }

    #[test]
    fn parses_journal_entries_and_both_event_shapes() {
        let j = journal_entry(&json!({"seq": 3, "time": "2026-01-02T03:04:05.123456789Z",
            "service": "keyvault", "operation": "GetSecret", "status": 200,
            "latencyMicros": 1500, "keys": {"name": "joke", "vault": "secretbench"}}))
        .unwrap();
        assert_eq!(j.latency_ms, 1.5);
        assert_eq!(j.keys["name"], "joke");
        assert_eq!(j.at.nanosecond(), 123_456_789);
        let core = kube_event(&json!({"type": "Warning", "reason": "FailedMount",
            "involvedObject": {"kind": "Pod", "name": "app"}, "message": "m", "count": 3,
            "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:04:35Z",
            "source": {"component": "kubelet"}}))
        .unwrap();
        assert_eq!(
            (core.count, core.object.as_str(), core.source.as_str()),
            (3, "Pod/app", "kubelet")
        );
        assert_eq!(
            core.last_at.map(|l| (l - core.at).whole_seconds()),
            Some(30)
        );
        let new = kube_event(&json!({"type": "Normal", "reason": "Scheduled",
            "involvedObject": {"kind": "Pod", "name": "app"}, "message": "m",
            "eventTime": "2026-01-02T03:04:05.250000Z", "firstTimestamp": null,
            "reportingComponent": "default-scheduler"}))
        .unwrap();
        assert_eq!(new.at.millisecond(), 250);
        assert_eq!((new.count, new.last_at), (1, None));
    }
}
