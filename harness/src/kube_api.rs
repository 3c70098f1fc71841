//! The harness's Kubernetes API work over kube-rs: server-side apply, get, delete, scale, and
//! waits that watch the object, so a case reacts when it changes instead of on the next poll
//! (and starts no kubectl process for it).
//!
//! Objects are named the way kubectl names them (`Pod`, `secret`, `deployments.apps`,
//! `SecretProviderClassPodStatus.v1.secrets-store.csi.x-k8s.io`) because scenarios and
//! [`crate::runner::exec::resource`] already do; the names are resolved against the cluster's
//! discovery, fetched once and again only when a name is not found (a CRD installed later).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams,
    PropagationPolicy,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiCapabilities, Discovery, Scope};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::RwLock;

use crate::wait::{Poll, Timeout};

/// The field manager of everything the harness applies.
const FIELD_MANAGER: &str = "secretbench";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        path: PathBuf,
        source: kube::config::KubeconfigError,
    },
    #[error("client for kubeconfig {}: {source}", path.display())]
    Client { path: PathBuf, source: kube::Error },
    #[error("API discovery: {0}")]
    Discovery(String),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("{0}")]
    BadObject(String),
    /// The API server refused or failed a request about `object`.
    #[error("{action} {object}: {message}")]
    Request {
        action: &'static str,
        object: String,
        message: String,
    },
    #[error(transparent)]
    Timeout(#[from] Timeout),
}

impl ApiError {
    /// The API server's own message, when it gave one (for matching refusals by text).
    fn request(action: &'static str, object: impl Into<String>, e: &kube::Error) -> Self {
        Self::Request {
            action,
            object: object.into(),
            message: describe(e),
        }
    }
}

/// A kube error in the API server's words (`pods "x" is forbidden: ...`), without the debug
/// dump kube's own Display appends.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({}, {})", s.message, s.reason, s.code),
        other => other.to_string(),
    }
}

/// Why a kubectl-style resource name does not name exactly one resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("the cluster serves no resource `{0}`")]
    Unknown(String),
    #[error("`{name}` is served by several API groups ({}); name one, e.g. `{}`", candidates.join(", "), candidates.first().map(String::as_str).unwrap_or_default())]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
}

/// One served resource: what discovery says about a group/version/kind.
#[derive(Debug, Clone)]
pub struct Served {
    pub resource: ApiResource,
    pub caps: ApiCapabilities,
    /// Whether `resource.version` is its group's preferred version (bare names resolve to it).
    pub preferred: bool,
}

/// Resolves a kubectl-style name (`kind`, `plural`, `singular`, optionally followed by
/// `.version.group` or `.group`) among `served`. Bare names prefer the core group, as kubectl
/// does (`events` is core/v1, not events.k8s.io); a name several other groups serve is an
/// error rather than a guess.
pub fn resolve<'a>(name: &str, served: &'a [Served]) -> Result<&'a Served, ResolveError> {
    let (base, rest) = match name.split_once('.') {
        Some((b, r)) => (b, Some(r)),
        None => (name, None),
    };
    let names_it = |s: &Served| {
        let r = &s.resource;
        r.kind.eq_ignore_ascii_case(base)
            || r.plural.eq_ignore_ascii_case(base)
            || r.kind.to_lowercase() == base.to_lowercase()
    };
    // `name.version.group` when the first segment looks like a version, else `name.group`.
    let qualified = |s: &Served| match rest {
        None => s.preferred,
        Some(rest) => {
            // A bare version (`Pod.v1`) is the core group's.
            let (v, g) = rest.split_once('.').unwrap_or((rest, ""));
            let versioned =
                looks_like_version(v) && s.resource.version == v && s.resource.group == g;
            versioned || (s.resource.group == rest && s.preferred)
        }
    };
    let hits: Vec<&Served> = served
        .iter()
        .filter(|s| names_it(s) && qualified(s))
        .collect();
    if let Some(core) = hits.iter().find(|s| s.resource.group.is_empty()) {
        return Ok(core);
    }
    match hits.as_slice() {
        [] => Err(ResolveError::Unknown(name.to_owned())),
        [one] => Ok(one),
        many => Err(ResolveError::Ambiguous {
            name: name.to_owned(),
            candidates: many
                .iter()
                .map(|s| {
                    format!(
                        "{}.{}.{}",
                        s.resource.kind, s.resource.version, s.resource.group
                    )
                })
                .collect(),
        }),
    }
}

fn looks_like_version(v: &str) -> bool {
    v.strip_prefix('v')
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// An object by kubectl-style resource name, namespace and name, for messages.
fn object_name(resource: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{resource} {ns}/{name}"),
        None => format!("{resource} {name}"),
    }
}

/// A connection to one cluster's API server, with its discovery cached.
pub struct KubeApi {
    client: Client,
    kubeconfig: PathBuf,
    served: RwLock<Option<std::sync::Arc<Vec<Served>>>>,
}

impl fmt::Debug for KubeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeApi")
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

impl KubeApi {
    /// A client for the current context of the kubeconfig at `path`.
    pub async fn from_kubeconfig(path: &Path) -> Result<Self, ApiError> {
        let kubeconfig_err = |source| ApiError::Kubeconfig {
            path: path.to_owned(),
            source,
        };
        let kubeconfig = Kubeconfig::read_from(path).map_err(kubeconfig_err)?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(kubeconfig_err)?;
        let client = Client::try_from(config).map_err(|source| ApiError::Client {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            client,
            kubeconfig: path.to_owned(),
            served: RwLock::new(None),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn discover(&self) -> Result<std::sync::Arc<Vec<Served>>, ApiError> {
        // Aggregated discovery: two requests for the whole API (Kubernetes 1.30+).
        let discovery = Discovery::new(self.client.clone())
            .run_aggregated()
            .await
            .map_err(|e| ApiError::Discovery(describe(&e)))?;
        let mut served = Vec::new();
        for group in discovery.groups() {
            let preferred = group.preferred_version_or_latest().to_owned();
            for version in group.versions() {
                for (resource, caps) in group.versioned_resources(version) {
                    served.push(Served {
                        resource,
                        caps,
                        preferred: version == preferred,
                    });
                }
            }
        }
        tracing::debug!(resources = served.len(), "API discovery");
        let served = std::sync::Arc::new(served);
        *self.served.write().await = Some(served.clone());
        Ok(served)
    }

    /// The resource a kubectl-style name stands for; discovery runs again once on a miss.
    pub async fn resolve(&self, name: &str) -> Result<Served, ApiError> {
        let cached = self.served.read().await.clone();
        let served = match cached {
            Some(s) => s,
            None => self.discover().await?,
        };
        match resolve(name, &served) {
            Ok(s) => Ok(s.clone()),
            Err(ResolveError::Unknown(_)) => Ok(resolve(name, &self.discover().await?)?.clone()),
            Err(e) => Err(e.into()),
        }
    }

    fn api(&self, served: &Served, namespace: Option<&str>) -> Api<DynamicObject> {
        match (served.caps.scope == Scope::Namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &served.resource),
            (true, None) => Api::default_namespaced_with(self.client.clone(), &served.resource),
            (false, _) => Api::all_with(self.client.clone(), &served.resource),
        }
    }

    /// Server-side apply (field manager `secretbench`, forced) of one object or of each item
    /// of a `List`. A namespaced object without a namespace lands in the context's default.
    pub async fn apply(&self, object: &Value) -> Result<(), ApiError> {
        if object["kind"] == "List" {
            for item in object["items"].as_array().into_iter().flatten() {
                Box::pin(self.apply(item)).await?;
            }
            return Ok(());
        }
        let (Some(api_version), Some(kind), Some(name)) = (
            object["apiVersion"].as_str(),
            object["kind"].as_str(),
            object["metadata"]["name"].as_str(),
        ) else {
            return Err(ApiError::BadObject(format!(
                "cannot apply an object without apiVersion, kind and metadata.name: {object}"
            )));
        };
        let qualified = match api_version.split_once('/') {
            Some((group, version)) => format!("{kind}.{version}.{group}"),
            None => format!("{kind}.{api_version}"),
        };
        let served = self.resolve(&qualified).await?;
        let namespace = object["metadata"]["namespace"].as_str();
        let what = object_name(kind, namespace, name);
        self.api(&served, namespace)
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(object),
            )
            .await
            .map_err(|e| ApiError::request("apply", what, &e))?;
        tracing::debug!(object = %object_name(kind, namespace, name), "applied");
        Ok(())
    }

    /// The object as JSON; `None` when it does not exist.
    pub async fn get(
        &self,
        namespace: Option<&str>,
        resource: &str,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        let served = self.resolve(resource).await?;
        let what = object_name(resource, namespace, name);
        let found = self
            .api(&served, namespace)
            .get_opt(name)
            .await
            .map_err(|e| ApiError::request("get", what.clone(), &e))?;
        found
            .map(|o| to_json(o, &served.resource, &what))
            .transpose()
    }

    /// The objects of a resource in `namespace`, or in every namespace when it is `None` (as
    /// `kubectl get -A`): all of them, or those `labels` selects.
    pub async fn list(
        &self,
        namespace: Option<&str>,
        resource: &str,
        labels: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        let served = self.resolve(resource).await?;
        let mut params = ListParams::default();
        if let Some(l) = labels {
            params = params.labels(l);
        }
        let what = format!("{resource} in {}", namespace.unwrap_or("the cluster"));
        let api = match namespace {
            Some(_) => self.api(&served, namespace),
            None => Api::all_with(self.client.clone(), &served.resource),
        };
        let list = api
            .list(&params)
            .await
            .map_err(|e| ApiError::request("list", what.clone(), &e))?;
        list.items
            .into_iter()
            .map(|o| to_json(o, &served.resource, &what))
            .collect()
    }

    /// Deletes without waiting (background propagation, as kubectl does); an object that does
    /// not exist is not an error. Callers wait with [`KubeApi::wait_gone`].
    pub async fn delete(
        &self,
        namespace: Option<&str>,
        resource: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let served = self.resolve(resource).await?;
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match self.api(&served, namespace).delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(ApiError::request(
                "delete",
                object_name(resource, namespace, name),
                &e,
            )),
        }
    }

    /// A GET of an API server path as text (`/api/v1/namespaces/N/pods/P:9090/proxy/metrics`,
    /// `/openid/v1/jwks`), what `kubectl get --raw` prints.
    pub async fn get_raw(&self, path: &str) -> Result<String, ApiError> {
        let request = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| ApiError::BadObject(format!("GET {path}: {e}")))?;
        self.client
            .request_text(request)
            .await
            .map_err(|e| ApiError::request("GET", path, &e))
    }

    /// A strategic merge patch, for objects someone else manages (a Helm release's
    /// DaemonSet): only the fields given change, and no field ownership is taken.
    pub async fn patch_strategic(
        &self,
        namespace: Option<&str>,
        resource: &str,
        name: &str,
        patch: &Value,
    ) -> Result<(), ApiError> {
        let served = self.resolve(resource).await?;
        self.api(&served, namespace)
            .patch(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .map_err(|e| ApiError::request("patch", object_name(resource, namespace, name), &e))?;
        Ok(())
    }

    /// Sets `spec.replicas` through the scale subresource.
    pub async fn scale(
        &self,
        namespace: Option<&str>,
        resource: &str,
        name: &str,
        replicas: u32,
    ) -> Result<(), ApiError> {
        let served = self.resolve(resource).await?;
        self.api(&served, namespace)
            .patch_scale(
                name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}})),
            )
            .await
            .map_err(|e| ApiError::request("scale", object_name(resource, namespace, name), &e))?;
        Ok(())
    }

    /// Watches one object until `check` is met (`check` sees `None` while it does not exist),
    /// at most `limit`; returns what the check found. The timeout names `what` and the last
    /// reason `check` gave, like [`crate::wait::until_poll`]'s.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        namespace: Option<&str>,
        resource: &str,
        name: &str,
        mut check: impl FnMut(Option<&Value>) -> Poll<T>,
    ) -> Result<T, ApiError> {
        let served = self.resolve(resource).await?;
        let api = self.api(&served, namespace);
        let mut last = String::new();
        let watch = async {
            let mut events = std::pin::pin!(watcher::watch_object(api, name).default_backoff());
            while let Some(event) = events.next().await {
                let seen = match event {
                    Ok(obj) => obj
                        .map(|o| {
                            to_json(o, &served.resource, &object_name(resource, namespace, name))
                        })
                        .transpose()?,
                    Err(e) => {
                        // The watcher relists after its backoff; a lasting error ends in the
                        // timeout with this as the last thing seen.
                        tracing::debug!(error = %e, what, "watch error");
                        last = format!("watch error: {e}");
                        continue;
                    }
                };
                match check(seen.as_ref()) {
                    Poll::Done(found) => return Ok(Some(found)),
                    Poll::NotYet(why) => last = why,
                }
            }
            Ok(None)
        };
        match tokio::time::timeout(limit, watch).await {
            Ok(Ok(Some(found))) => Ok(found),
            Ok(Err(e)) => Err(e),
            // The watch stream never ends on its own; treat an end like a deadline.
            Ok(Ok(None)) | Err(_) => Err(Timeout {
                what: what.to_owned(),
                limit,
                last: Some(last).filter(|l| !l.is_empty()),
            }
            .into()),
        }
    }

    /// Waits until the object no longer exists: deleted and its finalizers done (a namespace
    /// goes only once everything in it has).
    pub async fn wait_gone(
        &self,
        limit: Duration,
        namespace: Option<&str>,
        resource: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let what = format!("{} to be deleted", object_name(resource, namespace, name));
        self.wait_for(&what, limit, namespace, resource, name, gone)
            .await
    }

    /// Waits until the object exists; returns it.
    pub async fn wait_exists(
        &self,
        limit: Duration,
        namespace: Option<&str>,
        resource: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let what = format!("{} to exist", object_name(resource, namespace, name));
        self.wait_for(&what, limit, namespace, resource, name, exists)
            .await
    }

    /// Watches the list of a resource in `namespace` (narrowed by the selectors in `config`,
    /// e.g. `involvedObject.name=x` or `app=web`) until `check` is met by the objects seen so far.
    pub async fn wait_list<T>(
        &self,
        what: &str,
        limit: Duration,
        namespace: Option<&str>,
        resource: &str,
        config: watcher::Config,
        mut check: impl FnMut(&[Value]) -> Poll<T>,
    ) -> Result<T, ApiError> {
        let served = self.resolve(resource).await?;
        let api = self.api(&served, namespace);
        let mut last = String::new();
        let watch = async {
            // Objects by uid; a relist starts the set over.
            let mut objects: std::collections::BTreeMap<String, Value> = Default::default();
            let mut pending: std::collections::BTreeMap<String, Value> = Default::default();
            let mut events = std::pin::pin!(watcher::watcher(api, config).default_backoff());
            while let Some(event) = events.try_next().await.transpose() {
                let key = |o: &DynamicObject| o.metadata.uid.clone().unwrap_or_default();
                match event {
                    Err(e) => {
                        tracing::debug!(error = %e, what, "watch error");
                        last = format!("watch error: {e}");
                        continue;
                    }
                    // Until the relist is done, the objects seen so far are not the list: an
                    // empty set here would pass a check for "none left".
                    Ok(watcher::Event::Init) => {
                        pending.clear();
                        continue;
                    }
                    Ok(watcher::Event::InitApply(o)) => {
                        pending.insert(key(&o), to_json(o, &served.resource, what)?);
                        continue;
                    }
                    Ok(watcher::Event::InitDone) => objects = std::mem::take(&mut pending),
                    Ok(watcher::Event::Apply(o)) => {
                        objects.insert(key(&o), to_json(o, &served.resource, what)?);
                    }
                    Ok(watcher::Event::Delete(o)) => {
                        objects.remove(&key(&o));
                    }
                }
                let all: Vec<Value> = objects.values().cloned().collect();
                match check(&all) {
                    Poll::Done(found) => return Ok(Some(found)),
                    Poll::NotYet(why) => last = why,
                }
            }
            Ok::<_, ApiError>(None)
        };
        match tokio::time::timeout(limit, watch).await {
            Ok(Ok(Some(found))) => Ok(found),
            Ok(Err(e)) => Err(e),
            Ok(Ok(None)) | Err(_) => Err(Timeout {
                what: what.to_owned(),
                limit,
                last: Some(last).filter(|l| !l.is_empty()),
            }
            .into()),
        }
    }
}

/// An object as JSON, with the `apiVersion` and `kind` the API server leaves out of list
/// items (and so out of a watch's first look), as kubectl fills them in: asserts and
/// snapshots compare whole objects.
fn to_json(mut o: DynamicObject, resource: &ApiResource, what: &str) -> Result<Value, ApiError> {
    if o.types.is_none() {
        o.types = Some(kube::core::TypeMeta {
            api_version: resource.api_version.clone(),
            kind: resource.kind.clone(),
        });
    }
    serde_json::to_value(o).map_err(|e| ApiError::BadObject(format!("{what}: {e}")))
}

/// Met once the object does not exist; else says where its deletion stands.
pub fn gone(obj: Option<&Value>) -> Poll {
    let Some(obj) = obj else {
        return Poll::Done(());
    };
    let meta = &obj["metadata"];
    let finalizers: Vec<&str> = meta["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let phase = obj["status"]["phase"].as_str();
    Poll::NotYet(
        match (meta["deletionTimestamp"].is_string(), finalizers.is_empty()) {
            (false, _) => "still exists, not being deleted".to_owned(),
            (true, true) => format!(
                "being deleted{}",
                phase.map(|p| format!(", phase {p}")).unwrap_or_default()
            ),
            (true, false) => format!(
                "being deleted, waiting for finalizers {}{}",
                finalizers.join(", "),
                phase.map(|p| format!(", phase {p}")).unwrap_or_default()
            ),
        },
    )
}

/// Met once the object exists; returns it.
pub fn exists(obj: Option<&Value>) -> Poll<Value> {
    match obj {
        Some(o) => Poll::Done(o.clone()),
        None => Poll::NotYet("it does not exist".into()),
    }
}

/// Met when `status.conditions` has `type` with status `True` (Pod `Ready`, Deployment
/// `Available`, Job `Complete`); else says the condition's status and the object's state.
pub fn condition(type_: &str, obj: Option<&Value>) -> Poll {
    let Some(obj) = obj else {
        return Poll::NotYet("it does not exist".into());
    };
    match condition_status(type_, obj) {
        "True" => Poll::Done(()),
        status => Poll::NotYet(format!("{type_} is {status}; {}", describe_state(obj))),
    }
}

/// The status of condition `type_` (`True`, `False`, `Unknown`), `unset` when absent.
pub fn condition_status<'a>(type_: &str, obj: &'a Value) -> &'a str {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str())
        .unwrap_or("unset")
}

/// An object's state in a few words: a pod's container waiting reasons or phase; else the
/// message of a condition that is not True.
pub fn describe_state(obj: &Value) -> String {
    let waiting: Vec<&str> = obj["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["state"]["waiting"]["reason"].as_str())
        .collect();
    if !waiting.is_empty() {
        return format!("waiting: {}", waiting.join(", "));
    }
    if let Some(phase) = obj["status"]["phase"].as_str() {
        return format!("phase {phase}");
    }
    let unmet: Vec<String> = obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "True")
        .map(|c| {
            format!(
                "{} {}: {}",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?"),
                c["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    if unmet.is_empty() {
        "no status yet".to_owned()
    } else {
        unmet.join(" | ")
    }
}

/// Met when every pod of a DaemonSet runs its current template and is available, as
/// `kubectl rollout status` decides it.
pub fn rolled_out(obj: Option<&Value>) -> Poll {
    let Some(obj) = obj else {
        return Poll::NotYet("it does not exist".into());
    };
    let status = &obj["status"];
    let n = |k: &str| status[k].as_u64().unwrap_or(0);
    let generation = obj["metadata"]["generation"].as_u64().unwrap_or(0);
    if n("observedGeneration") < generation {
        return Poll::NotYet(format!(
            "generation {generation} not yet observed (at {})",
            n("observedGeneration")
        ));
    }
    let desired = n("desiredNumberScheduled");
    let (updated, available) = (n("updatedNumberScheduled"), n("numberAvailable"));
    if updated < desired || available < desired {
        return Poll::NotYet(format!(
            "{updated} of {desired} pods updated, {available} available"
        ));
    }
    Poll::Done(())
}

/// Met when a workload has exactly `want` replicas, all ready.
pub fn replicas(want: u64, obj: Option<&Value>) -> Poll {
    let Some(obj) = obj else {
        return Poll::NotYet("it does not exist".into());
    };
    let count = |k: &str| obj["status"][k].as_u64().unwrap_or(0);
    let (replicas, ready) = (count("replicas"), count("readyReplicas"));
    if replicas == want && ready == want {
        Poll::Done(())
    } else {
        Poll::NotYet(format!("replicas {replicas}, ready {ready}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn served(group: &str, version: &str, kind: &str, plural: &str, preferred: bool) -> Served {
        let api_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        Served {
            resource: ApiResource {
                group: group.into(),
                version: version.into(),
                api_version,
                kind: kind.into(),
                plural: plural.into(),
            },
            caps: ApiCapabilities {
                scope: Scope::Namespaced,
                subresources: vec![],
                operations: vec![],
            },
            preferred,
        }
    }

    fn cluster() -> Vec<Served> {
        vec![
            served("", "v1", "Pod", "pods", true),
            served("", "v1", "Event", "events", true),
            served("events.k8s.io", "v1", "Event", "events", true),
            served("apps", "v1", "Deployment", "deployments", true),
            served(
                "secrets-store.csi.x-k8s.io",
                "v1",
                "SecretProviderClassPodStatus",
                "secretproviderclasspodstatuses",
                true,
            ),
            served(
                "secrets-store.csi.x-k8s.io",
                "v1alpha1",
                "SecretProviderClassPodStatus",
                "secretproviderclasspodstatuses",
                false,
            ),
            served("example.com", "v1", "Widget", "widgets", true),
            served("other.example.org", "v1", "Widget", "widgets", true),
        ]
    }

    fn gvk(s: &Served) -> String {
        format!(
            "{}/{}/{}",
            s.resource.group, s.resource.version, s.resource.kind
        )
    }

    #[test]
    fn resolves_kubectl_names() {
        let c = cluster();
        for (name, want) in [
            ("Pod", "/v1/Pod"),
            ("pods", "/v1/Pod"),
            ("pod", "/v1/Pod"),
            ("Pod.v1", "/v1/Pod"),
            ("events", "/v1/Event"),
            ("deployment", "apps/v1/Deployment"),
            ("deployments.apps", "apps/v1/Deployment"),
            ("Deployment.v1.apps", "apps/v1/Deployment"),
            (
                "SecretProviderClassPodStatus",
                "secrets-store.csi.x-k8s.io/v1/SecretProviderClassPodStatus",
            ),
            (
                "SecretProviderClassPodStatus.v1alpha1.secrets-store.csi.x-k8s.io",
                "secrets-store.csi.x-k8s.io/v1alpha1/SecretProviderClassPodStatus",
            ),
            ("widgets.example.com", "example.com/v1/Widget"),
        ] {
            assert_eq!(gvk(resolve(name, &c).unwrap()), want, "{name}");
        }
    }

    #[test]
    fn unknown_and_ambiguous_names_are_errors_that_say_what_to_write() {
        let c = cluster();
        assert_eq!(
            resolve("Podd", &c).unwrap_err(),
            ResolveError::Unknown("Podd".into())
        );
        assert_eq!(
            resolve("Deployment.v2.apps", &c).unwrap_err(),
            ResolveError::Unknown("Deployment.v2.apps".into())
        );
        let e = resolve("widget", &c).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`widget` is served by several API groups (Widget.v1.example.com, \
             Widget.v1.other.example.org); name one, e.g. `Widget.v1.example.com`"
        );
    }

    #[test]
    fn conditions_over_objects() {
        let pod = |ready: &str| {
            json!({"kind": "Pod", "status": {"phase": "Pending",
                "conditions": [{"type": "Ready", "status": ready}],
                "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}})
        };
        assert_eq!(condition("Ready", Some(&pod("True"))), Poll::Done(()));
        assert_eq!(
            condition("Ready", Some(&pod("False"))),
            Poll::NotYet("Ready is False; waiting: ContainerCreating".into())
        );
        assert_eq!(
            condition("Ready", None),
            Poll::NotYet("it does not exist".into())
        );
        let deploy = json!({"status": {"conditions": [
            {"type": "Available", "status": "False", "message": "0 of 1 ready"}]}});
        assert_eq!(
            condition("Available", Some(&deploy)),
            Poll::NotYet("Available is False; Available False: 0 of 1 ready".into())
        );
        assert_eq!(
            condition("Complete", Some(&json!({}))),
            Poll::NotYet("Complete is unset; no status yet".into())
        );
        let d = json!({"status": {"replicas": 3, "readyReplicas": 2}});
        assert_eq!(
            replicas(3, Some(&d)),
            Poll::NotYet("replicas 3, ready 2".into())
        );
        assert_eq!(replicas(0, Some(&json!({"status": {}}))), Poll::Done(()));
        let ds = |observed: u64, updated: u64, available: u64| {
            json!({"metadata": {"generation": 2}, "status": {"observedGeneration": observed,
                "desiredNumberScheduled": 1, "updatedNumberScheduled": updated,
                "numberAvailable": available}})
        };
        assert_eq!(rolled_out(Some(&ds(2, 1, 1))), Poll::Done(()));
        assert_eq!(
            rolled_out(Some(&ds(1, 1, 1))),
            Poll::NotYet("generation 2 not yet observed (at 1)".into())
        );
        assert_eq!(
            rolled_out(Some(&ds(2, 0, 1))),
            Poll::NotYet("0 of 1 pods updated, 1 available".into())
        );
    }

    #[test]
    fn deletion_states() {
        assert_eq!(gone(None), Poll::Done(()));
        assert_eq!(
            gone(Some(&json!({"metadata": {"name": "x"}}))),
            Poll::NotYet("still exists, not being deleted".into())
        );
        let ns = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z",
            "finalizers": ["kubernetes"]}, "status": {"phase": "Terminating"}});
        assert_eq!(
            gone(Some(&ns)),
            Poll::NotYet(
                "being deleted, waiting for finalizers kubernetes, phase Terminating".into()
            )
        );
        assert_eq!(exists(Some(&json!({"a": 1}))), Poll::Done(json!({"a": 1})));
    }

    #[test]
    fn list_items_get_the_api_version_and_kind_back() {
        let pods = served("", "v1", "Pod", "pods", true).resource;
        let item: DynamicObject =
            serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {}})).unwrap();
        let v = to_json(item, &pods, "Pod p").unwrap();
        assert_eq!(
            (&v["apiVersion"], &v["kind"]),
            (&json!("v1"), &json!("Pod"))
        );
        assert_eq!(v["metadata"]["name"], "p");
        assert_eq!(v["spec"], json!({}));
    }

    #[test]
    fn request_errors_quote_the_api_server() {
        let status = kube::core::Status::failure(
            "pods \"x\" is forbidden: error looking up service account ns/default",
            "Forbidden",
        )
        .with_code(403);
        let e = ApiError::request("apply", "Pod ns/x", &kube::Error::Api(Box::new(status)));
        assert_eq!(
            e.to_string(),
            "apply Pod ns/x: pods \"x\" is forbidden: error looking up service account \
             ns/default (Forbidden, 403)"
        );
        let t: ApiError = Timeout {
            what: "Pod ns/x to be deleted".into(),
            limit: Duration::from_secs(30),
            last: Some("being deleted".into()),
        }
        .into();
        assert_eq!(
            t.to_string(),
            "timed out after 30s waiting for Pod ns/x to be deleted; last seen: being deleted"
        );
    }
}
