//! Snapshot assertions: what a user would look at (mounted files, objects, the journal),
//! redacted of what changes between runs, stored as YAML in insta's `.snap` format next to the
//! scenario (`snapshots/<name>@<provider>.snap`). A mismatch writes `.snap.new` beside it
//! (review with `cargo insta review` or `secretbench run --update-snapshots`) and fails with a
//! line diff; a snapshot seen for the first time is recorded and reported, not failed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::report::model::{DiffKind, DiffRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Compare; mismatches fail; a snapshot seen for the first time is recorded.
    Check,
    /// Compare; a missing snapshot fails too (CI never records silently, as insta does when
    /// `CI` is set).
    Verify,
    /// Overwrite stored snapshots with what this run saw.
    Update,
}

impl Mode {
    /// `--update-snapshots`, else [`Mode::Verify`] when the `CI` variable is set (to anything
    /// but `false`/`0`, insta's reading of it), else [`Mode::Check`].
    pub fn from_env(update: bool) -> Self {
        let ci = std::env::var("CI")
            .ok()
            .is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        match (update, ci) {
            (true, _) => Mode::Update,
            (false, true) => Mode::Verify,
            (false, false) => Mode::Check,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Matched,
    /// No stored snapshot: this run's is now stored (review it and commit it).
    Recorded(PathBuf),
    /// `--update-snapshots` replaced a different stored snapshot.
    Updated(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "snapshot `{name}` has no stored file {stored}, and CI never records one (this run's is in \
         {new}): run the case without CI set, review the snapshot and commit it"
    )]
    Missing {
        name: String,
        stored: String,
        new: String,
    },
    #[error("snapshot `{name}` differs from {stored} (new one in {new}):\n{diff}")]
    Mismatch {
        name: String,
        stored: String,
        new: String,
        diff: String,
    },
    #[error("snapshot {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot `{name}`: {message}")]
    Yaml { name: String, message: String },
}

/// The snapshots of one scenario folder, for one provider.
#[derive(Debug, Clone)]
pub struct Snapshots {
    dir: PathBuf,
    source: String,
    provider: String,
    mode: Mode,
}

impl Snapshots {
    pub fn new(scenario_dir: &Path, source: &str, provider: &str, mode: Mode) -> Self {
        Self {
            dir: scenario_dir.join("snapshots"),
            source: source.to_owned(),
            provider: provider.to_owned(),
            mode,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}@{}.snap", self.provider))
    }

    /// Compares (or records) `value` as snapshot `name`.
    pub fn assert(&self, name: &str, value: &Value) -> Result<Outcome, SnapshotError> {
        let body = serde_saphyr::to_string(value).map_err(|e| SnapshotError::Yaml {
            name: name.to_owned(),
            message: e.to_string(),
        })?;
        let file = format!(
            "---\nsource: {}\nexpression: {name}\n---\n{}",
            self.source,
            body.trim_end()
        ) + "\n";
        let path = self.path(name);
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| SnapshotError::Io { path, source }
        };
        let write = |p: &Path| -> Result<(), SnapshotError> {
            std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
            std::fs::write(p, &file).map_err(io(p))
        };
        let new_path = path.with_extension("snap.new");
        let stored = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.mode == Mode::Verify => {
                write(&new_path)?;
                return Err(SnapshotError::Missing {
                    name: name.to_owned(),
                    stored: path.display().to_string(),
                    new: new_path.display().to_string(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write(&path)?;
                return Ok(Outcome::Recorded(path));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        if body_of(&stored) == body_of(&file) {
            let _ = std::fs::remove_file(&new_path);
            return Ok(Outcome::Matched);
        }
        if self.mode == Mode::Update {
            write(&path)?;
            let _ = std::fs::remove_file(&new_path);
            return Ok(Outcome::Updated(path));
        }
        write(&new_path)?;
        Err(SnapshotError::Mismatch {
            name: name.to_owned(),
            stored: path.display().to_string(),
            new: new_path.display().to_string(),
            diff: line_diff(body_of(&stored), body_of(&file)),
        })
    }
}

/// The part of a `.snap` file after its header.
pub fn body_of(file: &str) -> &str {
    let rest = file.strip_prefix("---\n").unwrap_or(file);
    match rest.find("\n---\n") {
        Some(i) => rest[i + 5..].trim_end(),
        None => rest.trim_end(),
    }
}

/// The line-by-line edit script from `old` to `new`: `' '` kept, `'-'` removed, `'+'` added.
fn diff_ops<'a>(old: &'a str, new: &'a str) -> Vec<(char, &'a str)> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table; snapshots are small (hundreds of lines at most).
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    ops
}

/// The stored (`old`) and new snapshot side by side: removed lines paired with the added
/// lines that replace them, the rest aligned with a gap on the other side.
pub fn side_by_side(old: &str, new: &str) -> Vec<DiffRow> {
    let ops = diff_ops(old, new);
    let mut rows = Vec::new();
    let mut k = 0;
    while k < ops.len() {
        if ops[k].0 == ' ' {
            rows.push(DiffRow {
                kind: DiffKind::Same,
                old: Some(ops[k].1.to_owned()),
                new: Some(ops[k].1.to_owned()),
            });
            k += 1;
            continue;
        }
        let removed: Vec<&str> = ops[k..]
            .iter()
            .take_while(|(c, _)| *c == '-')
            .map(|(_, l)| *l)
            .collect();
        k += removed.len();
        let added: Vec<&str> = ops[k..]
            .iter()
            .take_while(|(c, _)| *c == '+')
            .map(|(_, l)| *l)
            .collect();
        k += added.len();
        for n in 0..removed.len().max(added.len()) {
            let (o, a) = (removed.get(n), added.get(n));
            rows.push(DiffRow {
                kind: match (o, a) {
                    (Some(_), Some(_)) => DiffKind::Changed,
                    (Some(_), None) => DiffKind::Removed,
                    _ => DiffKind::Added,
                },
                old: o.map(|l| (*l).to_owned()),
                new: a.map(|l| (*l).to_owned()),
            });
        }
    }
    rows
}

/// A unified-style diff (`-` stored, `+` new) with two lines of context.
pub fn line_diff(old: &str, new: &str) -> String {
    let ops = diff_ops(old, new);
    let near_change = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|(c, _)| *c != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if *c == ' ' && !near_change(k) {
            skipped = true;
            continue;
        }
        if skipped {
            out.push_str("   ...\n");
            skipped = false;
        }
        out.push_str(&format!(" {c} {line}\n"));
    }
    if skipped {
        out.push_str("   ...\n");
    }
    out
}

/// The driver's label naming the node of a SecretProviderClassPodStatus.
const NODE_LABEL: &str = "internal.secrets-store.csi.k8s.io/node-name";

/// What changes from run to run, replaced by placeholders so snapshots compare.
#[derive(Debug, Clone)]
pub struct Redactor {
    namespace: String,
    /// The provider reports object versions that are HMACs keyed by a Secret each install
    /// makes at random (vault-csi-provider: the `--hmac-secret-name` Secret), so they differ
    /// on every fresh cluster.
    hmac_versions: bool,
    /// Other run-specific values and their placeholders (the cluster's OIDC issuer, ...).
    values: Vec<(String, String)>,
    uuid: regex_lite::Regex,
    hex_id: regex_lite::Regex,
    time: regex_lite::Regex,
    access_key: regex_lite::Regex,
    session: regex_lite::Regex,
}

impl Redactor {
    pub fn new(namespace: &str) -> Result<Self, regex_lite::Error> {
        use regex_lite::Regex;
        Ok(Self {
            namespace: namespace.to_owned(),
            hmac_versions: false,
            values: Vec::new(),
            uuid: Regex::new(
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            )?,
            hex_id: Regex::new(r"\b[0-9a-f]{32}\b")?,
            time: Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")?,
            // Temporary and long-term AWS access key ids the emulator hands out.
            access_key: Regex::new(r"\b(?:ASIA|AKIA)[A-Z0-9]{16}\b")?,
            // The session of an assumed role: the SDK's default is the time in nanoseconds
            // (aws-sdk-go-v2 `stscreds`), Pod Identity's holds a fresh uuid.
            session: Regex::new(r"(:assumed-role/[^/\s]+/)[\w+=,.@-]+")?,
        })
    }

    /// Object versions in SecretProviderClassPodStatus are per-install HMACs: shown as `[hmac]`.
    pub fn with_hmac_versions(mut self, yes: bool) -> Self {
        self.hmac_versions = yes;
        self
    }

    /// Also replaces `value` (when not empty) with `placeholder`.
    pub fn with_value(mut self, value: &str, placeholder: &str) -> Self {
        if !value.is_empty() {
            self.values.push((value.to_owned(), placeholder.to_owned()));
        }
        self
    }

    pub fn string(&self, s: &str) -> String {
        let mut s = s.replace(&self.namespace, "[namespace]");
        for (value, placeholder) in &self.values {
            s = s.replace(value, placeholder);
        }
        let s = self.session.replace_all(&s, "${1}[session]");
        let s = self.access_key.replace_all(&s, "[access-key-id]");
        let s = self.time.replace_all(&s, "[time]");
        let s = self.uuid.replace_all(&s, "[uuid]");
        self.hex_id.replace_all(&s, "[id]").into_owned()
    }

    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.string(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.string(k), self.value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A Kubernetes object as a user reads it: without server bookkeeping, redacted.
    pub fn object(&self, obj: &Value) -> Value {
        let mut o = obj.clone();
        if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "managedFields",
                "generation",
                "generateName",
                "selfLink",
            ] {
                meta.remove(k);
            }
            if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                ann.remove("kubectl.kubernetes.io/last-applied-configuration");
                if ann.is_empty() {
                    meta.remove("annotations");
                }
            }
            // The node differs by backend (`secretbench`, `secretbench-control-plane`, ...).
            if let Some(node) = meta.get_mut("labels").and_then(|l| l.get_mut(NODE_LABEL)) {
                *node = Value::String("[node]".into());
            }
            if let Some(owners) = meta
                .get_mut("ownerReferences")
                .and_then(Value::as_array_mut)
            {
                for owner in owners.iter_mut().filter_map(Value::as_object_mut) {
                    owner.remove("uid");
                }
            }
        }
        if self.hmac_versions && o["kind"] == "SecretProviderClassPodStatus" {
            let objects = o
                .pointer_mut("/status/objects")
                .and_then(Value::as_array_mut);
            for obj in objects.into_iter().flatten() {
                if let Some(v) = obj.get_mut("version").filter(|v| v.is_string()) {
                    *v = Value::String("[hmac]".into());
                }
            }
        }
        self.value(&o)
    }

    /// Journal entries: what was called and answered, not when or how fast, nor in which of
    /// the emulators' tenants (an isolation detail of the run; a Key Vault entry names its vault
    /// under `keys` already).
    pub fn journal(&self, entries: &[Value]) -> Value {
        Value::Array(
            entries
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    if let Some(m) = e.as_object_mut() {
                        for k in ["seq", "time", "latencyMicros", "latency_micros", "tenant"] {
                            m.remove(k);
                        }
                    }
                    if let Some(session) = e.pointer_mut("/keys/roleSessionName") {
                        *session = Value::String("[session]".into());
                    }
                    self.value(&e)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_matches_and_reports_mismatch_with_diff() {
        let dir = tempfile::tempdir().unwrap();
        let s = Snapshots::new(
            dir.path(),
            "scenarios/x/scenario.yaml",
            "azure",
            Mode::Check,
        );
        let v = json!({"a": 1, "b": "two"});
        assert!(matches!(
            s.assert("files", &v).unwrap(),
            Outcome::Recorded(_)
        ));
        assert_eq!(s.assert("files", &v).unwrap(), Outcome::Matched);
        let e = s
            .assert("files", &json!({"a": 1, "b": "three"}))
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(" - b: two") && msg.contains(" + b: three"),
            "{msg}"
        );
        assert!(dir.path().join("snapshots/files@azure.snap.new").exists());
        let up = Snapshots::new(
            dir.path(),
            "scenarios/x/scenario.yaml",
            "azure",
            Mode::Update,
        );
        assert!(matches!(
            up.assert("files", &json!({"a": 2})).unwrap(),
            Outcome::Updated(_)
        ));
        assert!(!dir.path().join("snapshots/files@azure.snap.new").exists());
        let stored =
            std::fs::read_to_string(dir.path().join("snapshots/files@azure.snap")).unwrap();
        assert!(
            stored.starts_with("---\nsource: scenarios/x/scenario.yaml\nexpression: files\n---\n")
        );
    }

    #[test]
    fn redacts_namespace_ids_times_and_bookkeeping() {
        let r = Redactor::new("sb-mount-azure-1").unwrap();
        let obj = json!({
            "metadata": {"name": "p-sb-mount-azure-1-x", "uid": "u", "resourceVersion": "9",
                          "labels": {"internal.secrets-store.csi.k8s.io/node-name": "secretbench-control-plane"},
                          "ownerReferences": [{"kind": "Pod", "uid": "u"}]},
            "status": {"objects": [{"version": "794eacf3ab754e5ebe3d67401e1bce21"}],
                       "at": "2026-11-22T10:00:01.5Z", "id": "5e0c0f7e-3c53-4a8e-9a4b-3c0de1e1a001"}
        });
        assert_eq!(
            r.object(&obj),
            json!({
                "metadata": {"name": "p-[namespace]-x", "ownerReferences": [{"kind": "Pod"}],
                             "labels": {"internal.secrets-store.csi.k8s.io/node-name": "[node]"}},
                "status": {"objects": [{"version": "[id]"}], "at": "[time]", "id": "[uuid]"}
            })
        );
    }

    #[test]
    fn ci_never_records_a_missing_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let s = Snapshots::new(dir.path(), "s.yaml", "vault", Mode::Verify);
        let e = s.assert("pod-status", &json!({"a": 1})).unwrap_err();
        assert!(matches!(e, SnapshotError::Missing { .. }), "{e}");
        assert!(e.to_string().contains("CI never records"), "{e}");
        assert!(!dir.path().join("snapshots/pod-status@vault.snap").exists());
        assert!(
            dir.path()
                .join("snapshots/pod-status@vault.snap.new")
                .exists()
        );
        // Once recorded, Verify compares like Check.
        let local = Snapshots::new(dir.path(), "s.yaml", "vault", Mode::Check);
        assert!(matches!(
            local.assert("pod-status", &json!({"a": 1})).unwrap(),
            Outcome::Recorded(_)
        ));
        assert_eq!(
            s.assert("pod-status", &json!({"a": 1})).unwrap(),
            Outcome::Matched
        );
        assert_eq!(Mode::from_env(true), Mode::Update);
    }

    #[test]
    fn hmac_object_versions_are_redacted_by_what_they_are() {
        let status = json!({
            "kind": "SecretProviderClassPodStatus",
            "status": {"objects": [
                {"id": "kv/db:password", "version": "3P9Q7b0mLq2n-Hc8ZxYwVu1tRs6kJi5hGf4eDc3bA2_"},
                {"id": "other", "version": "1"}
            ]}
        });
        let vault = Redactor::new("ns").unwrap().with_hmac_versions(true);
        assert_eq!(
            vault.object(&status)["status"]["objects"],
            json!([{"id": "kv/db:password", "version": "[hmac]"}, {"id": "other", "version": "[hmac]"}])
        );
        let aws = Redactor::new("ns").unwrap();
        assert_eq!(aws.object(&status)["status"]["objects"][1]["version"], "1");
        // Only the pod status carries them.
        let pod = json!({"kind": "Pod", "status": {"objects": [{"version": "x"}]}});
        assert_eq!(vault.object(&pod)["status"]["objects"][0]["version"], "x");
    }

    #[test]
    fn journal_entries_lose_sessions_access_keys_and_the_issuer() {
        let r = Redactor::new("sb-irsa-aws")
            .unwrap()
            .with_value("https://kubernetes.default.svc", "[oidc-issuer]")
            .with_value("", "[never]");
        assert_eq!(
            r.string("no OIDC provider for https://kubernetes.default.svc in the role's account"),
            "no OIDC provider for [oidc-issuer] in the role's account"
        );
        let entries = [
            json!({"seq": 3, "service": "sts", "operation": "AssumeRoleWithWebIdentity",
                   "identity": "system:serviceaccount:sb-irsa-aws:sample-app",
                   "keys": {"roleSessionName": "1767225600000000000", "accessKeyId": "ASIAABCDEFGHIJKLMNOP",
                            "roleArn": "arn:aws:iam::123456789012:role/MySampleAppSecretsManager"}}),
            json!({"service": "secretsmanager", "operation": "GetSecretValue", "tenant": "aws/111122223333",
                   "identity": "arn:aws:sts::123456789012:assumed-role/MySampleAppSecretsManager/1767225600000000000"}),
        ];
        assert_eq!(
            r.journal(&entries),
            json!([
                {"service": "sts", "operation": "AssumeRoleWithWebIdentity",
                 "identity": "system:serviceaccount:[namespace]:sample-app",
                 "keys": {"roleSessionName": "[session]", "accessKeyId": "[access-key-id]",
                          "roleArn": "arn:aws:iam::123456789012:role/MySampleAppSecretsManager"}},
                {"service": "secretsmanager", "operation": "GetSecretValue",
                 "identity": "arn:aws:sts::123456789012:assumed-role/MySampleAppSecretsManager/[session]"}
            ])
        );
    }

    #[test]
    fn diff_shows_context_only_near_changes() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n";
        let new = "1\n2\n3\n4\nX\n6\n7\n8\n";
        let d = line_diff(old, new);
        assert_eq!(d, "   ...\n   3\n   4\n - 5\n + X\n   6\n   7\n   ...\n");
    }

    #[test]
    fn side_by_side_pairs_replacements_and_pads_the_rest() {
        let rows = side_by_side("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");
        let kinds: Vec<DiffKind> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                DiffKind::Same,
                DiffKind::Changed,
                DiffKind::Same,
                DiffKind::Same,
                DiffKind::Added
            ]
        );
        assert_eq!(
            (rows[1].old.as_deref(), rows[1].new.as_deref()),
            (Some("b"), Some("B"))
        );
        assert_eq!(
            (rows[4].old.as_deref(), rows[4].new.as_deref()),
            (None, Some("e"))
        );
        let gone = side_by_side("x\ny\n", "x\n");
        assert_eq!(gone[1].kind, DiffKind::Removed);
        assert_eq!(gone[1].new, None);
    }
}
