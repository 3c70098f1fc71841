//! The operations of a step, run against the cluster and the emulators. A wait on an object
//! watches it through [`KubeApi`]; what cannot be watched (files and output read through
//! `kubectl exec`, logs, metrics, the emulators' journal) is polled through
//! [`crate::wait::until_poll`]. Either way a failure says what was expected and what was last
//! seen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::runtime::watcher;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::backend::Backend;
use super::manifests::{self, Shaping};
use super::snapshot::{self, Redactor, Snapshots};
use super::values;
use super::vars::Vars;
use crate::kube_api::{self, KubeApi};
use crate::kubectl::Kubectl;
use crate::report::model::Seen;
use crate::scenario::duration::Deadline;
use crate::scenario::jsonpath::JsonPath;
use crate::scenario::model::{self as m, Binding, Op};
use crate::wait::{Broken, Poll, Timeout, until_poll};

/// How often polls look again.
const EVERY: Duration = Duration::from_millis(500);

/// Why an operation failed, in words a scenario author acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

impl Failure {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl From<Broken> for Failure {
    fn from(b: Broken) -> Self {
        Self(b.to_string())
    }
}

impl From<Timeout> for Failure {
    fn from(t: Timeout) -> Self {
        Self(t.to_string())
    }
}

macro_rules! fail_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                Self(e.to_string())
            }
        }
    )*};
}
fail_from!(
    crate::cmd::CmdError,
    crate::kube_api::ApiError,
    super::backend::BackendError,
    super::manifests::ManifestError,
    super::vars::ExpandError,
    snapshot::SnapshotError
);

/// An object the run applied, for cleanup in reverse order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub namespace: String,
    pub resource: String,
    pub name: String,
}

impl Applied {
    /// The object a rendered manifest document names, in `namespace`.
    pub fn of(doc: &Value, namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            resource: resource(
                doc["apiVersion"].as_str(),
                doc["kind"].as_str().unwrap_or_default(),
            ),
            name: doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// The object a scenario names by kind and name, in `namespace` (the scenario's) unless it
    /// names another.
    pub fn named(o: &m::ObjectRef, namespace: &str) -> Self {
        let namespace = match o.namespace {
            None => namespace,
            Some(m::ObjectNamespace::Provider) => crate::install::plan::NAMESPACE,
        };
        Self {
            namespace: namespace.to_owned(),
            resource: resource(o.api_version.as_deref(), &o.kind),
            name: o.name.clone(),
        }
    }
}

/// Everything one scenario × provider run needs to execute operations.
#[derive(Debug)]
pub struct Case<'a> {
    pub kubectl: &'a Kubectl,
    pub backend: &'a Backend,
    pub namespace: String,
    pub dir: PathBuf,
    pub vars: Vars,
    pub binding: &'a Binding,
    pub shaping: Shaping,
    pub snapshots: Snapshots,
    pub redactor: Redactor,
    pub rotation: Duration,
    pub artifacts: PathBuf,
    pub applied: Vec<Applied>,
    /// Second namespaces `apply: { namespace }` made (removed with the scenario's).
    pub extra_namespaces: Vec<String>,
    /// Snapshots recorded or updated by this run.
    pub notes: Vec<String>,
    /// What happened when, for the run report.
    pub timeline: super::timeline::Recorder,
    /// When the case started (before its setup): `logs` sources read the lines since then.
    pub started: OffsetDateTime,
}

/// The arguments of `kubectl logs` for one container of a `logs` source. Unless the source
/// says `since: all`, only the lines logged since the case `started` (`--since-time`): the
/// driver's and the providers' pods serve every case, and lines another case caused must
/// not pass or fail this one. The API takes whole seconds, so the time is rounded down
/// rather than lose a line logged in the second the case started.
pub fn logs_args(
    ns: &str,
    pod: &str,
    source: &m::LogsSource,
    started: OffsetDateTime,
) -> Result<Vec<String>, Failure> {
    let mut args = vec![
        "-n".to_owned(),
        ns.to_owned(),
        "logs".to_owned(),
        pod.to_owned(),
    ];
    if let Some(c) = &source.container {
        args.extend(["-c".to_owned(), c.clone()]);
    }
    if source.since.unwrap_or_default() == m::LogsSince::Case {
        let utc = started.to_offset(time::UtcOffset::UTC);
        let whole = utc - time::Duration::nanoseconds(i64::from(utc.nanosecond()));
        let since = whole
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| Failure::new(format!("logs since {started}: {e}")))?;
        args.push(format!("--since-time={since}"));
    }
    Ok(args)
}

/// `kind` (+ `apiVersion`) as a kubectl-style resource name, which [`KubeApi`] resolves:
/// `Kind.version.group` when a group is known.
pub fn resource(api_version: Option<&str>, kind: &str) -> String {
    match api_version.and_then(|a| a.split_once('/')) {
        Some((group, version)) => format!("{kind}.{version}.{group}"),
        None => kind.to_owned(),
    }
}

/// Whether `actual` has everything `expected` has (objects by key, arrays element by element
/// with equal length, scalars equal). `Err` names the first difference.
pub fn partial_match(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => partial_match(ev, av, &p)?,
                    None => return Err(format!("{p} is missing (want {ev})")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path} has {} items, want {}", a.len(), e.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                partial_match(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        // Numbers and booleans written as YAML strings (`"3"`) match their values.
        (Value::String(e), a) if !a.is_string() && e.as_str() == a.to_string().as_str() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path} is {a}, want {e}")),
    }
}

impl<'a> Case<'a> {
    /// The API client; borrowed from the kubectl handle, not from the case, so a watch's
    /// check can still look at the case (its timeline).
    async fn api(&self) -> Result<&'a KubeApi, Failure> {
        Ok(self.kubectl.api().await?)
    }
}

impl Case<'_> {
    fn within(&self, d: Deadline) -> Duration {
        d.resolve(self.rotation)
    }

    fn ns(&self) -> &str {
        &self.namespace
    }

    fn snapshot(&mut self, name: &str, value: &Value) -> Result<(), Failure> {
        let outcome = self.snapshots.assert(name, value);
        if let Err(snapshot::SnapshotError::Mismatch { stored, new, .. }) = &outcome {
            self.timeline
                .snapshot_mismatch(name, Path::new(stored), Path::new(new));
        }
        match outcome? {
            snapshot::Outcome::Matched => {}
            snapshot::Outcome::Recorded(p) => {
                self.notes.push(format!("new snapshot {}", p.display()));
            }
            snapshot::Outcome::Updated(p) => {
                self.notes.push(format!("updated snapshot {}", p.display()));
            }
        }
        Ok(())
    }

    /// Runs one operation (variables already substituted by the caller).
    pub async fn run(&mut self, op: &Op) -> Result<(), Failure> {
        match op {
            Op::Backend(action) => self.backend_action(action).await,
            Op::Faults(m::Faults::Add(rule)) => Ok(self.backend.add_fault(rule).await?),
            Op::Faults(m::Faults::Clear(c)) => {
                Ok(self.backend.clear_faults(c.service.as_deref()).await?)
            }
            Op::Journal(j) => self.journal(j).await,
            Op::Apply(a) => self.apply(a).await,
            Op::Delete(d) => self.delete(d).await,
            Op::Scale(s) => self.scale(s).await,
            Op::Assert(a) => self.assert(a).await,
            Op::Absent(o) => self.absent(o).await,
            Op::Event(e) => self.event(e).await,
            Op::Wait(w) => self.wait(w).await,
            Op::Files(f) => self.files(f).await,
            Op::Exec(e) => self.exec(e).await,
            Op::Snapshot(s) => self.snapshot_object(s).await,
            Op::Capture(c) => self.capture(c).await,
            Op::Check(c) => self.check(c).await,
            Op::Collect(what) => {
                super::artifacts::collect(self, what).await;
                Ok(())
            }
        }
    }

    async fn backend_action(&mut self, action: &m::BackendAction) -> Result<(), Failure> {
        if let m::BackendAction::Run(name) = action {
            let list =
                self.binding.actions.get(name).ok_or_else(|| {
                    Failure::new(format!("the binding has no action list `{name}`"))
                })?;
            for a in list {
                let a = self.vars.expand_typed(a)?;
                self.backend.act_in(&a, &self.dir).await?;
            }
            return Ok(());
        }
        Ok(self.backend.act_in(action, &self.dir).await?)
    }

    async fn journal(&mut self, j: &m::JournalAssert) -> Result<(), Failure> {
        let need = j
            .at_least
            .unwrap_or(if j.at_most == Some(0) { 0 } else { 1 }) as usize;
        let what = format!("{} {} in the journal", j.service, j.operation);
        let seen = until_poll::<_, _, _, Failure>(&what, self.within(j.within), EVERY, || async {
            let entries = self.backend.journal(&j.service, &j.operation).await?;
            let seen: Vec<Value> = entries
                .into_iter()
                .filter(|e| j.status.is_none_or(|s| e["status"] == s))
                .collect();
            Ok(if seen.len() >= need {
                Poll::Done(seen)
            } else {
                Poll::NotYet(format!(
                    "{} matching entries, want at least {need}",
                    seen.len()
                ))
            })
        })
        .await?;
        if let Some(max) = j.at_most
            && seen.len() > max as usize
        {
            return Err(Failure::new(format!(
                "{what}: {} entries, want at most {max}",
                seen.len()
            )));
        }
        if let Some(name) = &j.snapshot {
            // Republishes repeat the same calls a timing-dependent number of times: the
            // snapshot keeps each distinct redacted entry once, in first-seen order.
            let mut distinct: Vec<Value> = Vec::new();
            for e in self
                .redactor
                .journal(&seen)
                .as_array()
                .into_iter()
                .flatten()
            {
                if !distinct.contains(e) {
                    distinct.push(e.clone());
                }
            }
            self.snapshot(name, &Value::Array(distinct))?;
        }
        Ok(())
    }

    fn render(&self, path: &str) -> Result<Vec<Value>, Failure> {
        Ok(manifests::render(
            &self.dir.join(path),
            &self.vars,
            &self.shaping,
        )?)
    }

    async fn apply(&mut self, a: &m::Apply) -> Result<(), Failure> {
        let mut docs = self.render(&a.path)?;
        let namespace = match &a.namespace {
            None => self.namespace.clone(),
            Some(suffix) => {
                let ns = format!("{}-{suffix}", self.namespace);
                if !self.extra_namespaces.contains(&ns) {
                    self.api()
                        .await?
                        .apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
                        .await?;
                    self.extra_namespaces.push(ns.clone());
                }
                for doc in &mut docs {
                    doc["metadata"]["namespace"] = json!(ns);
                }
                ns
            }
        };
        for doc in docs {
            let applied = Applied::of(&doc, &namespace);
            let result = self.apply_one(&doc, &applied).await;
            match (&a.rejected, result) {
                (None, Ok(_)) => {
                    if !self.applied.contains(&applied) {
                        self.applied.push(applied);
                    }
                }
                (None, Err(e)) => return Err(e),
                (Some(pattern), Err(e)) => {
                    let re = regex_lite::Regex::new(pattern)
                        .map_err(|err| Failure::new(format!("rejected: bad pattern: {err}")))?;
                    if !re.is_match(&e.to_string()) {
                        return Err(Failure::new(format!(
                            "{} {} was rejected, but not with /{pattern}/: {e}",
                            applied.resource, applied.name
                        )));
                    }
                }
                (Some(pattern), Ok(_)) => {
                    self.applied.push(applied.clone());
                    return Err(Failure::new(format!(
                        "{} {} was accepted; want a rejection matching /{pattern}/",
                        applied.resource, applied.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Applies one object. A Pod may be refused for a ServiceAccount created a moment before
    /// (admission reads a cache); that refusal is polled away for a few seconds.
    async fn apply_one(&self, doc: &Value, applied: &Applied) -> Result<(), Failure> {
        let api = self.api().await?;
        let what = format!("{} {} to be accepted", applied.resource, applied.name);
        let every = Duration::from_millis(200);
        until_poll::<_, _, _, Failure>(&what, Duration::from_secs(10), every, || async {
            match api.apply(doc).await {
                Ok(_) => Ok(Poll::Done(())),
                Err(e) if e.to_string().contains("error looking up service account") => {
                    Ok(Poll::NotYet(e.to_string()))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Waits until every object is gone (finalizers done), all within one `limit`.
    async fn gone(&self, objects: &[Applied], limit: Duration) -> Result<(), Failure> {
        let api = self.api().await?;
        let deadline = tokio::time::Instant::now() + limit;
        for o in objects {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            api.wait_gone(left, Some(&o.namespace), &o.resource, &o.name)
                .await?;
        }
        Ok(())
    }

    /// Deletes objects without waiting (callers wait for them to be gone).
    pub async fn delete_objects(&self, objects: &[Applied]) -> Result<(), Failure> {
        let api = self.api().await?;
        for o in objects {
            api.delete(Some(&o.namespace), &o.resource, &o.name).await?;
        }
        Ok(())
    }

    async fn delete(&mut self, d: &m::Delete) -> Result<(), Failure> {
        let mut objects = Vec::new();
        if let Some(path) = &d.path {
            for doc in self.render(path)? {
                objects.push(Applied::of(&doc, &self.namespace));
            }
        }
        if let Some(o) = &d.object {
            objects.push(Applied::named(o, &self.namespace));
        }
        self.delete_objects(&objects).await?;
        self.gone(&objects, self.within(d.within)).await?;
        self.applied.retain(|a| !objects.contains(a));
        Ok(())
    }

    async fn scale(&mut self, s: &m::Scale) -> Result<(), Failure> {
        let api = self.api().await?;
        api.scale(Some(self.ns()), &s.kind, &s.name, s.replicas)
            .await?;
        let want = u64::from(s.replicas);
        let what = format!("{} {} to have {want} ready replicas", s.kind, s.name);
        Ok(api
            .wait_for(
                &what,
                self.within(s.within),
                Some(self.ns()),
                &s.kind,
                &s.name,
                |obj| kube_api::replicas(want, obj),
            )
            .await?)
    }

    async fn assert(&mut self, a: &m::AssertObject) -> Result<(), Failure> {
        let kind = a.object["kind"].as_str().unwrap_or_default().to_owned();
        let name = a.object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if kind.is_empty() || name.is_empty() {
            return Err(Failure::new(
                "assert: the object needs kind and metadata.name",
            ));
        }
        let res = resource(a.object["apiVersion"].as_str(), &kind);
        let what = format!("{kind} {name} to match");
        let api = self.api().await?;
        let limit = self.within(a.within);
        Ok(api
            .wait_for(&what, limit, Some(self.ns()), &res, &name, |found| {
                if kind == "Secret" {
                    self.timeline.observe_secret(&name, found);
                }
                let Some(actual) = found else {
                    return Poll::NotYet("it does not exist".into());
                };
                match partial_match(&a.object, actual, "") {
                    Ok(()) => Poll::Done(()),
                    Err(why) => Poll::NotYet(why),
                }
            })
            .await?)
    }

    async fn absent(&mut self, o: &m::Absent) -> Result<(), Failure> {
        let limit = o
            .within
            .map(|d| self.within(d))
            .unwrap_or(Duration::from_secs(30));
        let resource = resource(o.api_version.as_deref(), &o.kind);
        let namespace = match o.namespace {
            None => self.ns(),
            Some(m::ObjectNamespace::Provider) => crate::install::plan::NAMESPACE,
        };
        match (&o.name, &o.selector) {
            (Some(name), _) => {
                let obj = Applied {
                    namespace: namespace.to_owned(),
                    resource,
                    name: name.clone(),
                };
                self.gone(std::slice::from_ref(&obj), limit).await
            }
            (None, selector) => {
                let what = format!("no {} left", o.describe());
                let mut config = watcher::Config::default();
                if let Some(sel) = selector {
                    config = config.labels(sel);
                }
                let api = self.api().await?;
                Ok(api
                    .wait_list(&what, limit, Some(namespace), &resource, config, |left| {
                        let names: Vec<&str> = left
                            .iter()
                            .filter_map(|o| o["metadata"]["name"].as_str())
                            .collect();
                        if names.is_empty() {
                            Poll::Done(())
                        } else {
                            Poll::NotYet(format!("still there: {}", names.join(", ")))
                        }
                    })
                    .await?)
            }
        }
    }

    async fn event(&mut self, e: &m::EventAssert) -> Result<(), Failure> {
        let re = match &e.message {
            Some(p) => Some(
                regex_lite::Regex::new(p)
                    .map_err(|err| Failure::new(format!("event message pattern: {err}")))?,
            ),
            None => None,
        };
        let what = format!(
            "a {} event on {} {}",
            e.reason, e.object.kind, e.object.name
        );
        // Only the events about the object: the API server filters, the watch reacts.
        let about = format!(
            "involvedObject.kind={},involvedObject.name={}",
            e.object.kind, e.object.name
        );
        let api = self.api().await?;
        let limit = self.within(e.within);
        Ok(api
            .wait_list(
                &what,
                limit,
                Some(self.ns()),
                "events",
                watcher::Config::default().fields(&about),
                |about| {
                    let hit = about.iter().any(|ev| {
                        ev["reason"] == e.reason.as_str()
                            && e.type_.is_none_or(|t| ev["type"] == format!("{t:?}"))
                            && re.as_ref().is_none_or(|re| {
                                re.is_match(ev["message"].as_str().unwrap_or_default())
                            })
                    });
                    if hit {
                        return Poll::Done(());
                    }
                    let seen: Vec<String> = about
                        .iter()
                        .map(|ev| {
                            format!(
                                "{}: {}",
                                ev["reason"].as_str().unwrap_or("?"),
                                ev["message"].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    Poll::NotYet(if seen.is_empty() {
                        "no events about it".into()
                    } else {
                        seen.join(" | ")
                    })
                },
            )
            .await?)
    }

    async fn wait(&mut self, w: &m::Wait) -> Result<(), Failure> {
        let what = format!("{} {} to be {}", w.kind, w.name, w.condition);
        let subject = format!("condition {}/{} {}", w.kind, w.name, w.condition);
        let api = self.api().await?;
        let limit = self.within(w.within);
        Ok(api
            .wait_for(&what, limit, Some(self.ns()), &w.kind, &w.name, |obj| {
                let seen = match obj {
                    None => Seen::Absent,
                    Some(o) => Seen::Text {
                        text: kube_api::condition_status(&w.condition, o).to_owned(),
                    },
                };
                self.timeline.observe(&subject, seen);
                kube_api::condition(&w.condition, obj)
            })
            .await?)
    }

    async fn files(&mut self, f: &m::Files) -> Result<(), Failure> {
        let limit = f
            .within
            .map(|d| self.within(d))
            .unwrap_or(Duration::from_secs(10));
        let target = pod_target(f.target())?;
        let what = format!("files under {} in {target}", f.path);
        let listing = until_poll::<_, _, _, Failure>(&what, limit, EVERY, || async {
            let pod = match self.resolve_pod(target).await? {
                Ok(p) => p,
                Err(why) => return Ok(Poll::NotYet(why)),
            };
            let listing = match list_files(
                self.kubectl,
                self.ns(),
                &pod,
                f.container.as_deref(),
                &f.path,
            )
            .await
            {
                Ok(l) => l,
                Err(e) => return Ok(Poll::NotYet(e.to_string())),
            };
            self.timeline
                .observe_files(target.name(), &f.path, &listing);
            Ok(match check_files(&f.expect, &listing) {
                Ok(()) => Poll::Done(listing),
                Err(why) => Poll::NotYet(why),
            })
        })
        .await?;
        if let Some(name) = &f.snapshot {
            let v: serde_json::Map<String, Value> = listing
                .iter()
                .map(|(k, file)| {
                    (
                        k.clone(),
                        json!({"mode": file.mode, "contents": file.contents}),
                    )
                })
                .collect();
            let v = self.redactor.value(&Value::Object(v));
            self.snapshot(name, &v)?;
        }
        Ok(())
    }

    async fn exec(&mut self, e: &m::Exec) -> Result<(), Failure> {
        let target = pod_target(e.target())?;
        let what = format!("`{}` in {target}", e.command.join(" "));
        let subject = format!("exec {}: {}", target.name(), e.command.join(" "));
        let out = until_poll::<_, _, _, Failure>(&what, self.within(e.within), EVERY, || async {
            let pod = match self.resolve_pod(target).await? {
                Ok(p) => p,
                Err(why) => return Ok(Poll::NotYet(why)),
            };
            let mut args: Vec<&str> = vec!["-n", self.ns(), "exec", &pod];
            if let Some(c) = &e.container {
                args.extend(["-c", c]);
            }
            args.push("--");
            args.extend(e.command.iter().map(String::as_str));
            let out = match self.kubectl.run(args).await {
                Ok(o) => o.strip_suffix('\n').unwrap_or(&o).to_owned(),
                Err(err) => return Ok(Poll::NotYet(err.to_string())),
            };
            self.timeline
                .observe(&subject, super::timeline::digest(out.as_bytes(), None));
            Ok(match &e.stdout {
                Some(want) if *want != out => {
                    Poll::NotYet(format!("stdout {out:?}, want {want:?}"))
                }
                _ => Poll::Done(out),
            })
        })
        .await?;
        if let Some(name) = &e.snapshot {
            let v = json!({"command": e.command, "stdout": self.redactor.string(&out)});
            self.snapshot(name, &v)?;
        }
        Ok(())
    }

    async fn snapshot_object(&mut self, s: &m::SnapshotObject) -> Result<(), Failure> {
        let res = resource(s.object.api_version.as_deref(), &s.object.kind);
        let limit = s
            .object
            .within
            .map(|d| self.within(d))
            .unwrap_or(Duration::from_secs(10));
        let found = self
            .api()
            .await?
            .wait_exists(limit, Some(self.ns()), &res, &s.object.name)
            .await?;
        let obj = self.redactor.object(&found);
        self.snapshot(&s.name, &obj)
    }

    /// Stores a value under `c.as_` once its source can be read.
    async fn capture(&mut self, c: &m::Capture) -> Result<(), Failure> {
        let source = one_source(c.sources())?;
        let limit = c
            .within
            .map(|d| self.within(d))
            .unwrap_or(Duration::from_secs(10));
        let field = json_field_of(c.json_path.as_deref())?;
        let what = format!(
            "{}{} to capture as ${{{}}}",
            describe_source(&source),
            describe_field(c.json_path.as_deref()),
            c.as_
        );
        let value = until_poll::<_, _, _, Failure>(&what, limit, EVERY, || async {
            self.read_field(&source, field.as_ref()).await
        })
        .await?;
        self.vars.set(&c.as_, value);
        Ok(())
    }

    /// Checks a value against expectations: polled (`within`), held (`for`) or once.
    async fn check(&mut self, c: &m::Check) -> Result<(), Failure> {
        let source = one_source(c.sources())?;
        let expect = values::Expectations::new(c).map_err(Failure::new)?;
        let field = json_field_of(c.json_path.as_deref())?;
        let what = format!(
            "{}{} {}",
            describe_source(&source),
            describe_field(c.json_path.as_deref()),
            expect.describe()
        );
        let timing = match (c.within, c.for_) {
            (Some(_), Some(_)) => {
                return Err(Failure::new("check has both `within` and `for`; give one"));
            }
            (Some(d), None) => values::Timing::Within(self.within(d)),
            (None, Some(d)) => values::Timing::For(self.within(d)),
            (None, None) => values::Timing::Once,
        };
        values::run_check(&what, timing, EVERY, &expect, || {
            self.read_field(&source, field.as_ref())
        })
        .await
    }

    /// One look at a source, narrowed to a JSON field of its value when `field` is given.
    async fn read_field(
        &self,
        source: &m::Source<'_>,
        field: Option<&(JsonPath, String)>,
    ) -> Result<Poll<String>, Failure> {
        let look = self.read_source(source).await?;
        Ok(match (look, field) {
            (Poll::Done(v), Some((path, text))) => match values::json_field(&v, path, text) {
                Ok(f) => Poll::Done(f),
                Err(why) => Poll::NotYet(why),
            },
            (look, _) => look,
        })
    }

    /// One look at a source: its value, or why it cannot be read yet.
    async fn read_source(&self, source: &m::Source<'_>) -> Result<Poll<String>, Failure> {
        Ok(match source {
            m::Source::Value(v) => Poll::Done((*v).to_owned()),
            m::Source::File(f) => {
                let (dir, name) = match f.path.trim_end_matches('/').rsplit_once('/') {
                    Some(("", name)) => ("/", name),
                    Some((dir, name)) => (dir, name),
                    None => {
                        return Err(Failure::new(format!(
                            "file path `{}` is not absolute",
                            f.path
                        )));
                    }
                };
                let pod = match self.resolve_pod(pod_target(f.target())?).await? {
                    Ok(p) => p,
                    Err(why) => return Ok(Poll::NotYet(why)),
                };
                match list_files(self.kubectl, self.ns(), &pod, f.container.as_deref(), dir).await {
                    Err(e) => Poll::NotYet(e.to_string()),
                    Ok(listing) => match listing.get(name) {
                        Some(file) => Poll::Done(file.contents.clone()),
                        None => Poll::NotYet(format!("{} does not exist", f.path)),
                    },
                }
            }
            m::Source::Object(o) => {
                let path = crate::scenario::jsonpath::JsonPath::parse(&o.json_path)
                    .map_err(|e| Failure::new(format!("jsonPath `{}`: {e}", o.json_path)))?;
                let res = resource(o.api_version.as_deref(), &o.kind);
                match self
                    .api()
                    .await?
                    .get(Some(self.ns()), &res, &o.name)
                    .await?
                {
                    None => Poll::NotYet(format!("{} {} does not exist", o.kind, o.name)),
                    Some(obj) => match path.select(&obj) {
                        Ok(v) => Poll::Done(crate::scenario::jsonpath::text(v)),
                        Err(why) => Poll::NotYet(why),
                    },
                }
            }
            m::Source::Secret(s) => {
                use base64::Engine as _;
                match self
                    .api()
                    .await?
                    .get(Some(self.ns()), "secret", &s.name)
                    .await?
                {
                    None => Poll::NotYet(format!("Secret {} does not exist", s.name)),
                    Some(obj) => match obj["data"][&s.key].as_str() {
                        None => {
                            let keys: Vec<&String> = obj["data"]
                                .as_object()
                                .map(|d| d.keys().collect())
                                .unwrap_or_default();
                            Poll::NotYet(format!(
                                "Secret {} has no key {} (keys: {keys:?})",
                                s.name, s.key
                            ))
                        }
                        Some(b64) => {
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(b64.as_bytes())
                                .map_err(|e| {
                                    Failure::new(format!("Secret {} key {}: {e}", s.name, s.key))
                                })?;
                            Poll::Done(String::from_utf8_lossy(&bytes).into_owned())
                        }
                    },
                }
            }
            m::Source::Exec(e) => {
                let pod = match self.resolve_pod(pod_target(e.target())?).await? {
                    Ok(p) => p,
                    Err(why) => return Ok(Poll::NotYet(why)),
                };
                let mut args: Vec<&str> = vec!["-n", self.ns(), "exec", &pod];
                if let Some(c) = &e.container {
                    args.extend(["-c", c]);
                }
                args.push("--");
                args.extend(e.command.iter().map(String::as_str));
                match self.kubectl.run(args).await {
                    Ok(o) => Poll::Done(o.strip_suffix('\n').unwrap_or(&o).to_owned()),
                    Err(err) => Poll::NotYet(err.to_string()),
                }
            }
            m::Source::Logs(l) => {
                let ns = l.namespace.as_deref().unwrap_or(self.ns());
                let pods = match (&l.deployment, &l.pod, &l.selector) {
                    (Some(d), None, None) => {
                        match self.resolve_pod(m::PodTarget::Deployment(d)).await? {
                            Ok(p) => vec![p],
                            Err(why) => return Ok(Poll::NotYet(why)),
                        }
                    }
                    (Some(_), ..) => {
                        return Err(Failure::new(
                            "logs: give exactly one of `pod`, `selector` and `deployment`",
                        ));
                    }
                    (None, pod, selector) => {
                        match self.pods(ns, pod.as_deref(), selector.as_deref()).await? {
                            Ok(p) => p,
                            Err(why) => return Ok(Poll::NotYet(why)),
                        }
                    }
                };
                let mut text = String::new();
                for pod in &pods {
                    let args = logs_args(ns, pod, l, self.started)?;
                    match self.kubectl.run(args.iter().map(String::as_str)).await {
                        Ok(out) => text.push_str(&out),
                        Err(e) => return Ok(Poll::NotYet(e.to_string())),
                    }
                }
                Poll::Done(text)
            }
            m::Source::Metric(mt) => {
                let ns = mt.namespace.as_deref().unwrap_or(self.ns());
                let pods = match self
                    .pods(ns, mt.pod.as_deref(), mt.selector.as_deref())
                    .await?
                {
                    Ok(p) => p,
                    Err(why) => return Ok(Poll::NotYet(why)),
                };
                let path = mt.path.as_deref().unwrap_or("/metrics");
                let mut sum = 0.0;
                for pod in &pods {
                    let url = format!(
                        "/api/v1/namespaces/{ns}/pods/{pod}:{}/proxy/{}",
                        mt.port,
                        path.trim_start_matches('/')
                    );
                    let text = match self.api().await?.get_raw(&url).await {
                        Ok(t) => t,
                        Err(e) => return Ok(Poll::NotYet(e.to_string())),
                    };
                    let samples = values::parse_metrics(&text)
                        .map_err(|e| Failure::new(format!("pod {pod}: {e}")))?;
                    match values::metric_value(&samples, &mt.name, &mt.labels) {
                        Ok(v) => sum += v,
                        Err(why) => return Ok(Poll::NotYet(format!("pod {pod}: {why}"))),
                    }
                }
                Poll::Done(values::format_number(sum))
            }
        })
    }

    /// The name of the pod a target names: the pod itself, or a Ready pod of the Deployment's
    /// current ReplicaSet (`Ok(Err(why))` while there is none).
    async fn resolve_pod(
        &self,
        target: m::PodTarget<'_>,
    ) -> Result<Result<String, String>, Failure> {
        let name = match target {
            m::PodTarget::Pod(p) => return Ok(Ok(p.to_owned())),
            m::PodTarget::Deployment(d) => d,
        };
        let ns = Some(self.ns());
        let Some(deployment) = self.kubectl.get_json(ns, "deployment", Some(name)).await? else {
            return Ok(Err(format!("Deployment {name} does not exist")));
        };
        let list = |v: Option<Value>| -> Vec<Value> {
            v.and_then(|l| l["items"].as_array().cloned())
                .unwrap_or_default()
        };
        let replicasets = list(self.kubectl.get_json(ns, "replicasets", None).await?);
        let pods = list(self.kubectl.get_json(ns, "pods", None).await?);
        Ok(ready_pod_of(&deployment, &replicasets, &pods))
    }

    /// The pods a `logs` or `metric` source names: one by name, or those of a selector
    /// (`Ok(Err(why))` when there is none yet).
    async fn pods(
        &self,
        ns: &str,
        pod: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Result<Vec<String>, String>, Failure> {
        match (pod, selector) {
            (Some(p), None) => Ok(Ok(vec![p.to_owned()])),
            (None, Some(sel)) => {
                let pods: Vec<String> = self
                    .api()
                    .await?
                    .list(Some(ns), "pods", Some(sel))
                    .await?
                    .iter()
                    .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
                    .collect();
                Ok(if pods.is_empty() {
                    Err(format!("no pod in {ns} matches `{sel}`"))
                } else {
                    Ok(pods)
                })
            }
            _ => Err(Failure::new("give exactly one of `pod` and `selector`")),
        }
    }
}

/// A `jsonPath` of a capture or check, parsed (with its text for messages).
fn json_field_of(path: Option<&str>) -> Result<Option<(JsonPath, String)>, Failure> {
    path.map(|p| {
        JsonPath::parse(p)
            .map(|parsed| (parsed, p.to_owned()))
            .map_err(|e| Failure::new(format!("jsonPath `{p}`: {e}")))
    })
    .transpose()
}

/// ` field .data.x` after a source's description, when a `jsonPath` narrows it.
fn describe_field(path: Option<&str>) -> String {
    path.map(|p| format!(" field {p}")).unwrap_or_default()
}

/// The pod target of an operation, or the failure lint reports ahead of the run.
fn pod_target(target: Option<m::PodTarget<'_>>) -> Result<m::PodTarget<'_>, Failure> {
    target.ok_or_else(|| Failure::new("give exactly one of `pod` and `deployment`"))
}

/// Whether `obj` is controlled by the object with this uid.
fn owned_by(obj: &Value, uid: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["uid"] == uid && r["controller"] == true)
}

/// A Ready pod (first by name, not being deleted) of the Deployment's current ReplicaSet: the
/// one it controls whose `deployment.kubernetes.io/revision` is the Deployment's. Pods of an
/// older ReplicaSet still terminating during a rollout are never picked. `Err` says why none
/// is there yet.
pub fn ready_pod_of(
    deployment: &Value,
    replicasets: &[Value],
    pods: &[Value],
) -> Result<String, String> {
    const REVISION: &str = "deployment.kubernetes.io/revision";
    let name = deployment["metadata"]["name"].as_str().unwrap_or_default();
    let uid = deployment["metadata"]["uid"].as_str().unwrap_or_default();
    let revision = &deployment["metadata"]["annotations"][REVISION];
    if revision.is_null() {
        return Err(format!("Deployment {name} has no revision yet"));
    }
    let Some(current) = replicasets
        .iter()
        .find(|rs| owned_by(rs, uid) && rs["metadata"]["annotations"][REVISION] == *revision)
    else {
        return Err(format!(
            "Deployment {name} has no ReplicaSet of its revision {revision}"
        ));
    };
    let rs_name = current["metadata"]["name"].as_str().unwrap_or_default();
    let rs_uid = current["metadata"]["uid"].as_str().unwrap_or_default();
    let ready = |p: &&Value| {
        p["metadata"]["deletionTimestamp"].is_null()
            && p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
    };
    let mut names: Vec<&str> = pods
        .iter()
        .filter(|p| owned_by(p, rs_uid))
        .filter(ready)
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    names.sort_unstable();
    names
        .first()
        .map(|n| (*n).to_owned())
        .ok_or_else(|| format!("no Ready pod of Deployment {name} (ReplicaSet {rs_name}) yet"))
}

/// The one source of a `capture` or `check` (lint says the same ahead of the run).
fn one_source(sources: Vec<m::Source<'_>>) -> Result<m::Source<'_>, Failure> {
    match sources.as_slice() {
        [one] => Ok(*one),
        [] => Err(Failure::new(format!(
            "no source: give one of {}",
            m::SOURCE_KEYS.join(", ")
        ))),
        many => Err(Failure::new(format!(
            "several sources ({}); give one",
            many.iter().map(|s| s.key()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// A source in words, without its value (`file /mnt/x in pod app`).
pub fn describe_source(source: &m::Source<'_>) -> String {
    let target = |t: Option<m::PodTarget<'_>>| match t {
        Some(t) => t.to_string(),
        None => "no pod".to_owned(),
    };
    let pods = |pod: &Option<String>, sel: &Option<String>, ns: &Option<String>| {
        let who = match (pod, sel) {
            (Some(p), _) => format!("pod {p}"),
            (None, Some(s)) => format!("pods {s}"),
            (None, None) => "no pod".to_owned(),
        };
        match ns {
            Some(ns) => format!("{who} in {ns}"),
            None => who,
        }
    };
    match source {
        m::Source::File(f) => format!("file {} in {}", f.path, target(f.target())),
        m::Source::Object(o) => format!("{} {} {}", o.kind, o.name, o.json_path),
        m::Source::Secret(s) => format!("Secret {} key {}", s.name, s.key),
        m::Source::Exec(e) => format!("`{}` in {}", e.command.join(" "), target(e.target())),
        m::Source::Logs(l) => format!(
            "logs of {}{}{}",
            match &l.deployment {
                Some(d) => format!("a pod of Deployment {d}"),
                None => pods(&l.pod, &l.selector, &l.namespace),
            },
            l.container
                .as_ref()
                .map(|c| format!(" container {c}"))
                .unwrap_or_default(),
            match l.since.unwrap_or_default() {
                m::LogsSince::Case => " since the case started",
                m::LogsSince::All => "",
            }
        ),
        m::Source::Metric(mt) => format!(
            "metric {}{} of {}",
            mt.name,
            if mt.labels.is_empty() {
                String::new()
            } else {
                format!("{:?}", mt.labels)
            },
            pods(&mt.pod, &mt.selector, &mt.namespace)
        ),
        m::Source::Value(_) => "the value".to_owned(),
    }
}

/// One file seen in a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFile {
    pub mode: String,
    /// The contents as text (bytes that are not UTF-8 replaced), for messages and snapshots.
    pub contents: String,
    /// The exact bytes, for `base64` / `hex` expectations.
    pub bytes: Vec<u8>,
}

/// Lists the regular files under `path` in a pod (following the driver's `..data` symlinks,
/// skipping its `..`-prefixed bookkeeping), with octal modes and contents (base64 on the wire so
/// any byte survives).
pub async fn list_files(
    kubectl: &Kubectl,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    path: &str,
) -> Result<BTreeMap<String, SeenFile>, crate::cmd::CmdError> {
    let script = r#"cd "$1" || exit 3
find -L . -type f | grep -v '/\.\.' | sort | while read -r f; do
  printf '@@ %s %s\n' "$(stat -L -c %a "$f")" "${f#./}"
  base64 "$f"
done"#;
    let mut args: Vec<&str> = vec!["-n", ns, "exec", pod];
    if let Some(c) = container {
        args.extend(["-c", c]);
    }
    args.extend(["--", "sh", "-c", script, "sh", path]);
    let out = kubectl.run(args).await?;
    Ok(parse_listing(&out))
}

/// Parses `@@ MODE NAME` headers each followed by base64 lines.
pub fn parse_listing(out: &str) -> BTreeMap<String, SeenFile> {
    use base64::Engine as _;
    let mut files = BTreeMap::new();
    let mut current: Option<(String, String, String)> = None;
    let finish = |cur: Option<(String, String, String)>, files: &mut BTreeMap<String, SeenFile>| {
        if let Some((name, mode, b64)) = cur {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .unwrap_or_default();
            files.insert(
                name,
                SeenFile {
                    mode: format!("{:0>4}", mode),
                    contents: String::from_utf8_lossy(&bytes).into_owned(),
                    bytes,
                },
            );
        }
    };
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("@@ ") {
            finish(current.take(), &mut files);
            let (mode, name) = rest.split_once(' ').unwrap_or((rest, ""));
            current = Some((name.to_owned(), mode.to_owned(), String::new()));
        } else if let Some((_, _, b64)) = current.as_mut() {
            b64.push_str(line.trim());
        }
    }
    finish(current, &mut files);
    files
}

/// Checks the expected files against a listing; `Err` says the first difference.
pub fn check_files(
    expect: &BTreeMap<String, m::FileExpect>,
    seen: &BTreeMap<String, SeenFile>,
) -> Result<(), String> {
    for (name, want) in expect {
        match (seen.get(name), want.exists) {
            (None, true) => {
                let names: Vec<&str> = seen.keys().map(String::as_str).collect();
                return Err(format!("{name} does not exist (files: {names:?})"));
            }
            (Some(_), false) => return Err(format!("{name} exists; want it absent")),
            (None, false) => {}
            (Some(f), true) => {
                // Compared as bytes: a file that is not UTF-8 never equals a text.
                if let Some(c) = &want.contents
                    && c.as_bytes() != f.bytes.as_slice()
                {
                    return Err(format!("{name} contains {:?}, want {c:?}", f.contents));
                }
                if let Some(bytes) = want.expected_bytes()? {
                    compare_bytes(name, &bytes, &f.bytes)?;
                }
                if let Some(mode) = &want.mode
                    && format!("{:0>4}", mode.trim_start_matches("0o")) != f.mode
                {
                    return Err(format!("{name} has mode {}, want {mode}", f.mode));
                }
            }
        }
    }
    Ok(())
}

/// Byte-for-byte comparison; `Err` names the first differing offset and both lengths, with
/// the bytes around it in hex.
fn compare_bytes(name: &str, want: &[u8], seen: &[u8]) -> Result<(), String> {
    if want == seen {
        return Ok(());
    }
    let at = want
        .iter()
        .zip(seen)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(seen.len()));
    let around = |b: &[u8]| hex::encode(&b[at.min(b.len())..(at + 8).min(b.len())]);
    Err(format!(
        "{name} differs from byte {at}: {} bytes, want {}; there it has {:?}, want {:?}",
        seen.len(),
        want.len(),
        around(seen),
        around(want)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs_source(yaml: &str) -> m::LogsSource {
        serde_saphyr::from_str(yaml).expect("a logs source")
    }

    #[test]
    fn logs_read_from_the_second_the_case_started_unless_all_is_asked_for() {
        let started = time::macros::datetime!(2026-12-06 04:10:18.734 +01:00);
        let driver = "{ selector: app=secrets-store-csi-driver, namespace: kube-system, container: secrets-store }";
        // No `since`: the case's lines, from its start rounded down to the second, in UTC.
        assert_eq!(
            logs_args("kube-system", "csi-abc", &logs_source(driver), started).expect("args"),
            [
                "-n",
                "kube-system",
                "logs",
                "csi-abc",
                "-c",
                "secrets-store",
                "--since-time=2026-12-06T03:10:18Z"
            ]
        );
        let case = logs_source(
            "{ selector: app=secrets-store-csi-driver, namespace: kube-system, since: case }",
        );
        assert_eq!(
            logs_args("kube-system", "csi-abc", &case, started).expect("args"),
            [
                "-n",
                "kube-system",
                "logs",
                "csi-abc",
                "--since-time=2026-12-06T03:10:18Z"
            ]
        );
        // `since: all`: the whole log, as before cases ran side by side.
        let all = logs_source("{ pod: app, since: all }");
        assert_eq!(
            logs_args("sb-x", "app", &all, started).expect("args"),
            ["-n", "sb-x", "logs", "app"]
        );
        assert!(serde_saphyr::from_str::<m::LogsSource>("{ pod: app, since: ever }").is_err());
    }

    #[test]
    fn a_named_object_is_in_the_scenario_namespace_unless_it_names_the_providers() {
        let mut o = m::ObjectRef {
            api_version: None,
            kind: "Secret".into(),
            name: "vault-csi-provider-hmac-key".into(),
            namespace: None,
            within: None,
        };
        assert_eq!(Applied::named(&o, "sb-x-vault").namespace, "sb-x-vault");
        o.namespace = Some(m::ObjectNamespace::Provider);
        let a = Applied::named(&o, "sb-x-vault");
        assert_eq!(
            (a.namespace.as_str(), a.resource.as_str(), a.name.as_str()),
            ("kube-system", "Secret", "vault-csi-provider-hmac-key")
        );
    }

    #[test]
    fn partial_match_reports_the_first_difference() {
        let actual =
            json!({"status": {"mounted": true, "podName": "p", "objects": [{"id": "a"}]}, "x": 1});
        assert!(partial_match(&json!({"status": {"mounted": true}}), &actual, "").is_ok());
        assert_eq!(
            partial_match(&json!({"status": {"podName": "q"}}), &actual, "").unwrap_err(),
            ".status.podName is \"p\", want \"q\""
        );
        assert_eq!(
            partial_match(&json!({"status": {"objects": []}}), &actual, "").unwrap_err(),
            ".status.objects has 1 items, want 0"
        );
        assert!(partial_match(&json!({"x": "1"}), &actual, "").is_ok());
        assert!(
            partial_match(&json!({"y": 1}), &actual, "")
                .unwrap_err()
                .contains(".y is missing")
        );
    }

    #[test]
    fn parses_file_listings_and_checks_expectations() {
        // "secret" = c2VjcmV0, "a\nb" = YQpi
        let out = "@@ 644 db-password\nc2VjcmV0\n@@ 600 dir/x\nYQpi\n@@ 644 empty\n";
        let seen = parse_listing(out);
        assert_eq!(
            seen["db-password"],
            SeenFile {
                mode: "0644".into(),
                contents: "secret".into(),
                bytes: b"secret".to_vec(),
            }
        );
        assert_eq!(seen["dir/x"].contents, "a\nb");
        assert_eq!(seen["empty"].contents, "");
        let want = |contents: Option<&str>, mode: Option<&str>, exists: bool| m::FileExpect {
            contents: contents.map(str::to_owned),
            base64: None,
            hex: None,
            mode: mode.map(str::to_owned),
            exists,
        };
        let ok = BTreeMap::from([
            (
                "db-password".to_owned(),
                want(Some("secret"), Some("0644"), true),
            ),
            ("nope".to_owned(), want(None, None, false)),
        ]);
        assert!(check_files(&ok, &seen).is_ok());
        let bad = BTreeMap::from([("db-password".to_owned(), want(Some("other"), None, true))]);
        assert_eq!(
            check_files(&bad, &seen).unwrap_err(),
            "db-password contains \"secret\", want \"other\""
        );
        let mode = BTreeMap::from([("dir/x".to_owned(), want(None, Some("0644"), true))]);
        assert_eq!(
            check_files(&mode, &seen).unwrap_err(),
            "dir/x has mode 0600, want 0644"
        );
    }

    #[test]
    fn binary_files_compare_byte_for_byte() {
        // 00 01 02 ff = AAEC/w==, not UTF-8: the text form has a replacement character.
        let seen = parse_listing("@@ 644 pfx\nAAEC/w==\n");
        assert_eq!(seen["pfx"].bytes, [0, 1, 2, 0xff]);
        let want = |b64: Option<&str>, hex: Option<&str>| {
            BTreeMap::from([(
                "pfx".to_owned(),
                m::FileExpect {
                    contents: None,
                    base64: b64.map(str::to_owned),
                    hex: hex.map(str::to_owned),
                    mode: None,
                    exists: true,
                },
            )])
        };
        assert!(check_files(&want(Some("AAEC/w=="), None), &seen).is_ok());
        assert!(check_files(&want(None, Some("000102FF")), &seen).is_ok());
        assert_eq!(
            check_files(&want(None, Some("000103ff")), &seen).unwrap_err(),
            "pfx differs from byte 2: 4 bytes, want 4; there it has \"02ff\", want \"03ff\""
        );
        assert_eq!(
            check_files(&want(None, Some("0001")), &seen).unwrap_err(),
            "pfx differs from byte 2: 4 bytes, want 2; there it has \"02ff\", want \"\""
        );
        assert!(
            check_files(&want(Some("AAEC/w=="), Some("00")), &seen)
                .unwrap_err()
                .contains("one of `base64` and `hex`")
        );
        // The lossy text never equals bytes that are not UTF-8.
        let text = BTreeMap::from([(
            "pfx".to_owned(),
            m::FileExpect {
                contents: Some(seen["pfx"].contents.clone()),
                base64: None,
                hex: None,
                mode: None,
                exists: true,
            },
        )]);
        assert!(check_files(&text, &seen).is_err());
    }

    #[test]
    fn a_deployment_resolves_to_a_ready_pod_of_its_current_replicaset() {
        let owner = |uid: &str| json!([{"uid": uid, "controller": true}]);
        let deployment = json!({"metadata": {"name": "web", "uid": "d1",
            "annotations": {"deployment.kubernetes.io/revision": "2"}}});
        let rs = |name: &str, uid: &str, rev: &str, by: &str| {
            json!({"metadata": {"name": name, "uid": uid, "ownerReferences": owner(by),
                "annotations": {"deployment.kubernetes.io/revision": rev}}})
        };
        let pod = |name: &str, by: &str, ready: bool, deleting: bool| {
            let mut p = json!({"metadata": {"name": name, "ownerReferences": owner(by)},
                "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
            if deleting {
                p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            }
            p
        };
        let replicasets = [
            rs("web-old", "r1", "1", "d1"),
            rs("web-new", "r2", "2", "d1"),
            rs("other", "r3", "2", "d9"),
        ];
        let pods = [
            pod("web-old-a", "r1", true, false),
            pod("other-a", "r3", true, false),
            pod("web-new-c", "r2", true, false),
            pod("web-new-b", "r2", true, true),
            pod("web-new-a", "r2", false, false),
        ];
        assert_eq!(
            ready_pod_of(&deployment, &replicasets, &pods).unwrap(),
            "web-new-c",
            "Ready, not deleting, of the current ReplicaSet only"
        );
        assert_eq!(
            ready_pod_of(&deployment, &replicasets, &pods[..2]).unwrap_err(),
            "no Ready pod of Deployment web (ReplicaSet web-new) yet"
        );
        assert!(
            ready_pod_of(&deployment, &replicasets[..1], &pods)
                .unwrap_err()
                .contains("no ReplicaSet of its revision")
        );
        let fresh = json!({"metadata": {"name": "web", "uid": "d1"}});
        assert!(
            ready_pod_of(&fresh, &replicasets, &pods)
                .unwrap_err()
                .contains("no revision yet")
        );
    }

    #[test]
    fn resources_carry_the_group_when_known() {
        assert_eq!(
            resource(
                Some("secrets-store.csi.x-k8s.io/v1"),
                "SecretProviderClassPodStatus"
            ),
            "SecretProviderClassPodStatus.v1.secrets-store.csi.x-k8s.io"
        );
        assert_eq!(resource(Some("v1"), "Secret"), "Secret");
        assert_eq!(resource(None, "Pod"), "Pod");
    }
}
