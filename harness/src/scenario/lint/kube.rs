//! Manifests against the Kubernetes API schema: each object is deserialised into its
//! k8s-openapi type (Kubernetes v1.34, the minor the bench runs), with `serde_ignored`
//! reporting every field the type does not have and `serde_path_to_error` naming the field of a
//! wrong type or a missing required one. The SecretProviderClass has its own type, following
//! the driver's CRD (`apis/v1/secretproviderclass_types.go`, driver v1.6.0). The types' JSON
//! Schemas give the "did you mean" for a misspelt field.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use k8s_openapi::api::{apps, batch, core, networking, policy, rbac};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::super::load::suggest;
use super::super::located::{Seg, YamlPath};

/// One way an object does not fit its kind's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub path: YamlPath,
    /// The path names a key (an unknown field) rather than a value.
    pub at_key: bool,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

type Checker = fn(&Value) -> Vec<Issue>;

/// The kinds whose schema lint knows, by (apiVersion, kind).
const SCHEMAS: &[(&str, &str, Checker)] = &[
    ("v1", "Pod", strict::<core::v1::Pod>),
    ("v1", "ServiceAccount", strict::<core::v1::ServiceAccount>),
    ("v1", "Secret", strict::<core::v1::Secret>),
    ("v1", "ConfigMap", strict::<core::v1::ConfigMap>),
    ("v1", "Service", strict::<core::v1::Service>),
    (
        "v1",
        "PersistentVolumeClaim",
        strict::<core::v1::PersistentVolumeClaim>,
    ),
    ("apps/v1", "Deployment", strict::<apps::v1::Deployment>),
    ("apps/v1", "StatefulSet", strict::<apps::v1::StatefulSet>),
    ("apps/v1", "DaemonSet", strict::<apps::v1::DaemonSet>),
    ("apps/v1", "ReplicaSet", strict::<apps::v1::ReplicaSet>),
    ("batch/v1", "Job", strict::<batch::v1::Job>),
    ("batch/v1", "CronJob", strict::<batch::v1::CronJob>),
    (
        "rbac.authorization.k8s.io/v1",
        "Role",
        strict::<rbac::v1::Role>,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        strict::<rbac::v1::RoleBinding>,
    ),
    (
        "networking.k8s.io/v1",
        "NetworkPolicy",
        strict::<networking::v1::NetworkPolicy>,
    ),
    (
        "policy/v1",
        "PodDisruptionBudget",
        strict::<policy::v1::PodDisruptionBudget>,
    ),
    (
        "secrets-store.csi.x-k8s.io/v1",
        "SecretProviderClass",
        strict::<SecretProviderClass>,
    ),
];

/// Checks one object (after `${var}` substitution) against the schema of its kind.
pub fn check(doc: &Value) -> Vec<Issue> {
    let api_version = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    if let Some((_, _, checker)) = SCHEMAS
        .iter()
        .find(|(a, k, _)| *a == api_version && *k == kind)
    {
        return checker(doc);
    }
    let mut issue = Issue {
        path: YamlPath::root().key("kind"),
        at_key: false,
        message: format!("lint does not know kind `{kind}` in apiVersion `{api_version}`"),
        label: "unknown kind".to_owned(),
        help: None,
    };
    if let Some((a, k, _)) = SCHEMAS.iter().find(|(_, k, _)| *k == kind) {
        issue.path = YamlPath::root().key("apiVersion");
        issue.message = format!("`{k}` is in apiVersion `{a}`, not `{api_version}`");
        issue.label = "wrong apiVersion".to_owned();
        issue.help = Some(format!("write `apiVersion: {a}`"));
    } else {
        let kinds: Vec<&str> = SCHEMAS.iter().map(|(_, k, _)| *k).collect();
        issue.help = Some(match suggest(kind, &kinds) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("scenarios apply these kinds: {}", kinds.join(", ")),
        });
    }
    vec![issue]
}

/// Deserialises `doc` as a `T`, collecting unknown fields and the first type error.
fn strict<T: DeserializeOwned + JsonSchema>(doc: &Value) -> Vec<Issue> {
    let mut unknown: Vec<YamlPath> = Vec::new();
    let result = {
        let mut record = |p: serde_ignored::Path<'_>| unknown.push(ignored_path(&p));
        let de = serde_ignored::Deserializer::new(doc.clone(), &mut record);
        serde_path_to_error::deserialize::<_, T>(de).map(|_| ())
    };
    let mut out = Vec::new();
    let schema = schema_of::<T>();
    // k8s-openapi fills a missing required field with its default; the schema knows better.
    for path in missing_required(doc, &schema, &schema, &YamlPath::root()) {
        let Some(Seg::Key(field)) = path.0.last().cloned() else {
            continue;
        };
        out.push(Issue {
            message: format!("missing field `{field}` (required at `{}`)", path.parent()),
            path: path.parent(),
            at_key: false,
            label: "required field missing".to_owned(),
            help: Some(format!("add `{field}`")),
        });
    }
    if !unknown.is_empty() {
        for path in unknown {
            let Some(Seg::Key(field)) = path.0.last().cloned() else {
                continue;
            };
            let known = field_names(&schema, &path.parent());
            let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let help = match suggest(&field, &known_refs) {
                Some(s) => format!("did you mean `{s}`?"),
                None if known.is_empty() => "remove it".to_owned(),
                None => format!("fields here: {}", known.join(", ")),
            };
            out.push(Issue {
                message: format!("unknown field `{field}` at `{path}`"),
                path,
                at_key: true,
                label: "not in the API schema".to_owned(),
                help: Some(help),
            });
        }
    }
    if let Err(e) = result {
        let mut path = YamlPath::root();
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => path = path.index(*index),
                serde_path_to_error::Segment::Map { key } => path = path.key(key.clone()),
                _ => {}
            }
        }
        let inner = e.into_inner().to_string();
        let (label, help) = if inner.starts_with("missing field") {
            ("required field missing", None)
        } else if inner.starts_with("invalid type") {
            let expected = inner.rsplit("expected ").next().unwrap_or_default();
            let help = if ["i32", "i64", "u32", "u64", "f64", "integer", "number"]
                .iter()
                .any(|t| expected.contains(t))
            {
                "write a number here (no unit, no quotes)"
            } else if expected.contains("bool") {
                "write true or false here (no quotes)"
            } else if expected.contains("sequence") || expected.contains("Vec") {
                "write a list here (`- item` lines or `[a, b]`)"
            } else if expected.contains("map") || expected.contains("struct") {
                "write a mapping here (`key: value` lines)"
            } else {
                "write a string here (quote numbers and booleans: \"0644\", \"true\")"
            };
            ("wrong type", Some(help))
        } else {
            (
                "does not fit the schema",
                Some("see this field in the Kubernetes API reference (kubectl explain)"),
            )
        };
        out.push(Issue {
            message: if path.0.is_empty() {
                inner
            } else {
                format!("`{path}`: {inner}")
            },
            path,
            at_key: false,
            label: label.to_owned(),
            help: help.map(str::to_owned),
        });
    }
    out
}

/// The JSON Schema of `T`, made once per type.
fn schema_of<T: JsonSchema>() -> Arc<Value> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Arc<Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let name = std::any::type_name::<T>();
    if let Ok(map) = cache.lock()
        && let Some(s) = map.get(name)
    {
        return Arc::clone(s);
    }
    let schema = Arc::new(serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default());
    if let Ok(mut map) = cache.lock() {
        map.insert(name, Arc::clone(&schema));
    }
    schema
}

/// Paths of required fields `doc` lacks, per the schema's `required` lists.
fn missing_required(doc: &Value, schema: &Value, root: &Value, at: &YamlPath) -> Vec<YamlPath> {
    let schema = resolve(root, schema);
    let mut out = Vec::new();
    match doc {
        Value::Object(map) => {
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(r) {
                    out.push(at.key(r));
                }
            }
            for (k, v) in map {
                let sub = schema
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                if let Some(sub) = sub {
                    out.extend(missing_required(v, sub, root, &at.key(k.clone())));
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    out.extend(missing_required(v, sub, root, &at.index(i)));
                }
            }
        }
        _ => {}
    }
    out
}

fn ignored_path(p: &serde_ignored::Path<'_>) -> YamlPath {
    match p {
        serde_ignored::Path::Root => YamlPath::root(),
        serde_ignored::Path::Seq { parent, index } => ignored_path(parent).index(*index),
        serde_ignored::Path::Map { parent, key } => ignored_path(parent).key(key.clone()),
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

/// The property names of the object schema at `path` (for suggestions).
fn field_names(root: &Value, path: &YamlPath) -> Vec<String> {
    let mut schema = resolve(root, root);
    for seg in &path.0 {
        let next = match seg {
            Seg::Key(k) => schema
                .get("properties")
                .and_then(|p| p.get(k))
                .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object())),
            Seg::Index(_) => schema.get("items"),
        };
        match next {
            Some(n) => schema = resolve(root, n),
            None => return Vec::new(),
        }
    }
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Follows `$ref` into `$defs`.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let name = r.rsplit('/').next().unwrap_or_default();
        match root.get("$defs").and_then(|d| d.get(name)) {
            Some(s) => schema = s,
            None => break,
        }
    }
    schema
}

/// `secrets-store.csi.x-k8s.io/v1` SecretProviderClass, as the driver's CRD defines it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SecretProviderClass {
    api_version: String,
    kind: String,
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    #[serde(default)]
    spec: SpcSpec,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SpcSpec {
    /// The provider (`aws`, `azure`, `vault`; the run sets it from the binding).
    #[serde(default)]
    provider: Option<String>,
    /// Provider parameters: a map of strings.
    #[serde(default)]
    parameters: Option<BTreeMap<String, String>>,
    /// Kubernetes Secrets to sync from the mounted files.
    #[serde(default)]
    secret_objects: Option<Vec<SecretObject>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SecretObject {
    #[serde(default)]
    secret_name: Option<String>,
    #[serde(default, rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    data: Option<Vec<SecretObjectData>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SecretObjectData {
    #[serde(default)]
    object_name: Option<String>,
    #[serde(default)]
    key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn a_valid_pod_has_no_issues() {
        let p = pod(json!({"containers": [{"name": "c", "image": "i",
            "resources": {"limits": {"cpu": 1, "memory": "64Mi"}}}]}));
        assert_eq!(check(&p), vec![]);
    }

    #[test]
    fn unknown_fields_are_found_with_a_suggestion() {
        let p =
            pod(json!({"containers": [{"name": "c", "image": "i", "imagePullPolicyy": "Never"}]}));
        let issues = check(&p);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].path.to_string(),
            "spec.containers[0].imagePullPolicyy"
        );
        assert_eq!(
            issues[0].help.as_deref(),
            Some("did you mean `imagePullPolicy`?")
        );
        assert!(issues[0].at_key);
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        let p = pod(
            json!({"containers": [{"name": "c", "image": "i"}], "terminationGracePeriodSeconds": "soon"}),
        );
        let issues = check(&p);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].path.to_string(),
            "spec.terminationGracePeriodSeconds"
        );
        assert!(issues[0].message.contains("invalid type"), "{issues:?}");
        let p = pod(json!({"containers": [{"image": "i"}]}));
        let issues = check(&p);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(
            issues[0].message.contains("missing field `name`"),
            "{issues:?}"
        );
        assert_eq!(issues[0].path.to_string(), "spec.containers[0]");
    }

    #[test]
    fn secret_provider_classes_are_strict_too() {
        let spc = json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
            "metadata": {"name": "x"}, "spec": {"provider": "aws", "secretObject": []}});
        let issues = check(&spc);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].help.as_deref(),
            Some("did you mean `secretObjects`?")
        );
    }

    #[test]
    fn kinds_and_api_versions_are_known() {
        let d = json!({"apiVersion": "v1", "kind": "Deployment", "metadata": {"name": "x"}});
        assert_eq!(
            check(&d)[0].help.as_deref(),
            Some("write `apiVersion: apps/v1`")
        );
        let d = json!({"apiVersion": "v1", "kind": "pod", "metadata": {"name": "x"}});
        assert_eq!(check(&d)[0].help.as_deref(), Some("did you mean `Pod`?"));
    }
}
