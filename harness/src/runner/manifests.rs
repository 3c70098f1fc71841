//! Turning a scenario's manifest files into the objects applied for one provider: variables
//! substituted, the scenario namespace set, the binding's parameters merged into every
//! SecretProviderClass, and the wiring's credentials Secret referenced by CSI volumes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::vars::{UndefinedVar, Vars};
use crate::scenario::lint::manifest_files;

pub const CSI_DRIVER: &str = "secrets-store.csi.k8s.io";
pub const SPC_API: &str = "secrets-store.csi.x-k8s.io/v1";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid YAML: {message}")]
    Yaml { path: String, message: String },
    #[error("{path}: {source}")]
    Var {
        path: String,
        #[source]
        source: UndefinedVar,
    },
}

/// What the run adds to every manifest of one provider.
#[derive(Debug, Clone, Default)]
pub struct Shaping {
    pub namespace: String,
    pub provider: String,
    /// Wiring parameters, then the binding's (the binding wins).
    pub parameters: BTreeMap<String, String>,
    /// Secret name for `nodePublishSecretRef` on CSI volumes that name none.
    pub node_publish_secret: Option<String>,
}

/// Reads every document of `path` (a file or a folder), substitutes and shapes it.
pub fn render(path: &Path, vars: &Vars, shaping: &Shaping) -> Result<Vec<Value>, ManifestError> {
    let files = manifest_files(path).map_err(|source| ManifestError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Io {
            path: name.clone(),
            source,
        })?;
        let docs = serde_saphyr::from_str_multiple::<Value, Vec<_>>(&text).map_err(|e| {
            ManifestError::Yaml {
                path: name.clone(),
                message: e.to_string(),
            }
        })?;
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let mut doc = vars
                .expand_value(&doc)
                .map_err(|source| ManifestError::Var {
                    path: name.clone(),
                    source,
                })?;
            shape(&mut doc, shaping);
            out.push(doc);
        }
    }
    // Dependencies first, as helm orders an install: a Pod is refused while its
    // ServiceAccount does not exist yet.
    out.sort_by_key(|d| apply_rank(d["kind"].as_str().unwrap_or_default()));
    Ok(out)
}

/// Where a kind goes in apply order (stable sort keeps file order within a rank).
pub fn apply_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "ServiceAccount" => 1,
        "Secret" | "ConfigMap" => 2,
        "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => 3,
        "SecretProviderClass" => 4,
        "Service" => 5,
        _ => 6,
    }
}

/// Applies [`Shaping`] to one object.
pub fn shape(doc: &mut Value, s: &Shaping) {
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("namespace".into(), json!(s.namespace));
    }
    let kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if kind == "SecretProviderClass" && doc.is_object() {
        if !doc["spec"].is_object() {
            doc["spec"] = json!({});
        }
        doc["spec"]["provider"] = json!(s.provider);
        if !doc["spec"]["parameters"].is_object() {
            doc["spec"]["parameters"] = json!({});
        }
        for (k, v) in &s.parameters {
            doc["spec"]["parameters"][k] = json!(v);
        }
    }
    if let Some(secret) = &s.node_publish_secret
        && let Some(pod_spec) = pod_spec_mut(doc, &kind)
        && let Some(volumes) = pod_spec.get_mut("volumes").and_then(Value::as_array_mut)
    {
        for csi in volumes.iter_mut().filter_map(|v| v.get_mut("csi")) {
            let ours = csi.get("driver").and_then(Value::as_str) == Some(CSI_DRIVER);
            if ours
                && let Some(csi) = csi.as_object_mut()
                && !csi.contains_key("nodePublishSecretRef")
            {
                csi.insert("nodePublishSecretRef".into(), json!({ "name": secret }));
            }
        }
    }
}

/// The pod spec inside a Pod or a workload's template.
fn pod_spec_mut<'v>(doc: &'v mut Value, kind: &str) -> Option<&'v mut Value> {
    match kind {
        "Pod" => doc.get_mut("spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            doc.pointer_mut("/spec/template/spec")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaping() -> Shaping {
        Shaping {
            namespace: "sb-x".into(),
            provider: "azure".into(),
            parameters: BTreeMap::from([
                ("keyvaultName".to_owned(), "secretbench".to_owned()),
                ("tenantId".to_owned(), "adfs".to_owned()),
            ]),
            node_publish_secret: Some("creds".into()),
        }
    }

    #[test]
    fn merges_parameters_and_sets_provider_and_namespace() {
        let mut spc = json!({
            "apiVersion": SPC_API, "kind": "SecretProviderClass",
            "metadata": {"name": "a"},
            "spec": {"provider": "placeholder", "parameters": {"objects": "x", "tenantId": "old"}}
        });
        shape(&mut spc, &shaping());
        assert_eq!(spc["metadata"]["namespace"], "sb-x");
        assert_eq!(spc["spec"]["provider"], "azure");
        assert_eq!(
            spc["spec"]["parameters"],
            json!({"objects": "x", "tenantId": "adfs", "keyvaultName": "secretbench"})
        );
    }

    #[test]
    fn references_the_credentials_secret_only_where_none_is_named() {
        let mut dep = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"volumes": [
                {"name": "a", "csi": {"driver": CSI_DRIVER}},
                {"name": "b", "csi": {"driver": CSI_DRIVER, "nodePublishSecretRef": {"name": "mine"}}},
                {"name": "c", "csi": {"driver": "other.csi"}},
                {"name": "d", "emptyDir": {}}
            ]}}}
        });
        shape(&mut dep, &shaping());
        let vols = &dep["spec"]["template"]["spec"]["volumes"];
        assert_eq!(vols[0]["csi"]["nodePublishSecretRef"]["name"], "creds");
        assert_eq!(vols[1]["csi"]["nodePublishSecretRef"]["name"], "mine");
        assert!(vols[2]["csi"].get("nodePublishSecretRef").is_none());
        assert_eq!(dep["metadata"]["namespace"], "sb-x");
    }
}
