//! `report.json`: what a run did and when, for the HTML report and for other tools. The
//! schema is documented in `docs/report.md`; [`VERSION`] changes when a field changes meaning
//! or goes away (added fields keep the version).
//!
//! Times are RFC 3339 in UTC with millisecond precision; durations and latencies are
//! milliseconds. Secret contents never appear: observed values of files, Secret keys and
//! command output are a SHA-256 prefix and a size.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::scenario::model::Provider;

/// The schema version of `report.json`.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub version: u32,
    /// `secretbench <version>`.
    pub generator: String,
    pub run: RunInfo,
    pub summary: Summary,
    pub cases: Vec<CaseReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// `host`, `kind` or `existing`.
    pub backend: String,
    /// The driver's version: the run's current one (a case may have run on others, see
    /// the case's `versions`).
    pub driver: String,
    /// Each provider's version.
    pub providers: BTreeMap<Provider, String>,
    /// The driver's `--rotation-poll-interval`.
    pub rotation_interval_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub still_reproduces: usize,
    pub no_longer_reproduces: usize,
    /// Repros whose trigger step never held (absent in reports from before it existed).
    #[serde(default)]
    pub inconclusive: usize,
    pub skipped: usize,
    pub duration_ms: u64,
}

/// How a case ended (the runner's verdict, flattened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VerdictKind {
    Passed,
    Failed,
    StillReproduces,
    NoLongerReproduces,
    /// A repro whose trigger step (`expect.trigger`) never held: no verdict on the bug.
    Inconclusive,
    Skipped,
}

/// One scenario × provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseReport {
    /// `<scenario>-<provider>`, unique in the run (also the artifacts folder's name); a case
    /// run on several sets of versions has the versions appended.
    pub id: String,
    pub scenario: String,
    pub provider: Provider,
    pub verdict: VerdictKind,
    /// The table's word for the verdict (`pass`, `FAIL`, `still reproduces`, ...), or the
    /// count of a repeated case (`reproduces 2/5`).
    pub verdict_label: String,
    /// The versions the case ran on (`driver v1.6.0, azure v1.8.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    /// The step that failed (failed and still-reproduces cases; for an inconclusive one, the
    /// trigger step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Runs stopped by the repro's trigger step, not counted in `verdictLabel`'s k/N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untriggered: Option<u32>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The case's artifacts folder, relative to the report's folder when inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<String>,
    /// What happened when; absent for skipped cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// Backend write → provider read → file changed → Secret changed, per backend write that
    /// changed something the case was watching.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotations: Vec<Rotation>,
}

/// Everything recorded during one case, on one wall clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub namespace: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    /// Setup, steps, each operation, catch/finally and teardown, in start order.
    pub spans: Vec<Span>,
    /// The emulators' request journal for the case (the emulators' clock).
    pub journal: Vec<JournalEntry>,
    /// Kubernetes events of the case's namespaces, collected at the end of the case.
    pub events: Vec<KubeEvent>,
    /// When a watched value (a mounted file, a Secret key, a condition, command output) was
    /// first seen and each time it was seen to change.
    pub observations: Vec<Observation>,
    /// Snapshots that differed from the stored ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_mismatches: Vec<SnapshotMismatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SpanKind {
    /// Namespace, wiring objects, emulator reset and seed.
    Setup,
    /// A scenario step (try, catch and finally together).
    Step,
    /// One operation inside a step or the scenario's catch/finally.
    Op,
    /// The scenario's own `catch` or `finally` list.
    Cleanup,
    /// Deleting what the case applied and its namespaces.
    Teardown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub kind: SpanKind,
    /// Step id, or the operation's key (`files`, `backend`, `assert`, ...).
    pub name: String,
    /// What the operation touched (never a secret value).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The step an operation ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One emulator request (from the admin API's journal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// When the answer was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub service: String,
    pub operation: String,
    pub status: u16,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What was touched (secret id, vault, parameter names, role).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, String>,
}

/// One Kubernetes event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeEvent {
    /// First occurrence (`eventTime`, else `firstTimestamp`, else creation; second precision
    /// for the older fields).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Last occurrence when the event repeated.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_at: Option<OffsetDateTime>,
    pub count: u64,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    /// `Kind/name` of the object the event is about.
    pub object: String,
    pub message: String,
    /// The component that reported it (`kubelet`, `secrets-store-csi-driver`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// A watched value: text for harmless values (conditions), else a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Seen {
    Absent,
    Text {
        text: String,
    },
    /// First 12 hex digits of the SHA-256 of the bytes, and their count (plus the file mode
    /// for mounted files).
    Digest {
        sha256: String,
        bytes: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
    },
}

impl Seen {
    pub fn is_absent(&self) -> bool {
        matches!(self, Seen::Absent)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// The first time the case looked.
    FirstSeen,
    Appeared,
    Changed,
    Disappeared,
}

/// One observed change of a watched subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// When the new value was first seen (the change happened in `(previousSeenAt, at]`).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `file <pod>:<path>`, `secret <name>/<key>`, `condition <Kind>/<name> <type>`,
    /// `exec <pod>: <command>`.
    pub subject: String,
    pub change: Change,
    pub value: Seen,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Seen>,
    /// The last time the previous value was seen.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub previous_seen_at: Option<OffsetDateTime>,
}

/// A stored snapshot and what this run saw instead, aligned line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMismatch {
    pub name: String,
    /// The stored `.snap` file and the `.snap.new` written beside it.
    pub stored: String,
    pub new: String,
    pub rows: Vec<DiffRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DiffKind {
    Same,
    Changed,
    Removed,
    Added,
}

/// One row of a side-by-side diff: the stored line (`old`) and the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffRow {
    pub kind: DiffKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// One point in time of a rotation, and how long after the backend write it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub after_write_ms: u64,
    /// What was seen (the journal operation, the file or the Secret key).
    pub what: String,
    /// For polled observations: how long after the write the old value was last seen (0 when
    /// only before it), so the change happened between this and `afterWriteMs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<u64>,
}

/// A backend write and what followed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// When the write was acknowledged (end of the `backend` operation).
    #[serde(with = "time::serde::rfc3339")]
    pub write_at: OffsetDateTime,
    /// The operation's detail (`run rotate: azure.setSecret secretbench/joke`).
    pub write: String,
    /// The provider's first successful secret read after the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Mark>,
    /// The first mounted file seen changed after the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Mark>,
    /// The first synced Secret key seen changed after the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Mark>,
}
