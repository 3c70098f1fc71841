//! The Kubernetes kinds scenarios name, with their apiVersion, their status condition types
//! (for `wait`) and where their pod template is. Conditions are the types the API documents for
//! Kubernetes v1.34 (`k8s.io/api` core/v1 `PodConditionType`, apps/v1 `DeploymentConditionType`,
//! `ReplicaSetConditionType`, batch/v1 `JobConditionType`, core/v1 `NodeConditionType`).

/// One kind.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub kind: &'static str,
    pub api_version: &'static str,
    /// Status condition types `wait` can wait for (empty: the kind has none to wait for).
    pub conditions: &'static [&'static str],
    /// Where the pod spec is, for workloads (`spec`, `spec.template.spec`, ...).
    pub pod_spec: Option<&'static [&'static str]>,
}

const fn kind(kind: &'static str, api_version: &'static str) -> KindInfo {
    KindInfo {
        kind,
        api_version,
        conditions: &[],
        pod_spec: None,
    }
}

const TEMPLATE: &[&str] = &["spec", "template", "spec"];

pub const KINDS: &[KindInfo] = &[
    KindInfo {
        conditions: &[
            "PodScheduled",
            "PodReadyToStartContainers",
            "Initialized",
            "ContainersReady",
            "Ready",
            "DisruptionTarget",
        ],
        pod_spec: Some(&["spec"]),
        ..kind("Pod", "v1")
    },
    KindInfo {
        conditions: &["Available", "Progressing", "ReplicaFailure"],
        pod_spec: Some(TEMPLATE),
        ..kind("Deployment", "apps/v1")
    },
    KindInfo {
        conditions: &["ReplicaFailure"],
        pod_spec: Some(TEMPLATE),
        ..kind("ReplicaSet", "apps/v1")
    },
    KindInfo {
        pod_spec: Some(TEMPLATE),
        ..kind("StatefulSet", "apps/v1")
    },
    KindInfo {
        pod_spec: Some(TEMPLATE),
        ..kind("DaemonSet", "apps/v1")
    },
    KindInfo {
        conditions: &[
            "Complete",
            "Failed",
            "Suspended",
            "FailureTarget",
            "SuccessCriteriaMet",
        ],
        pod_spec: Some(TEMPLATE),
        ..kind("Job", "batch/v1")
    },
    KindInfo {
        pod_spec: Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        ..kind("CronJob", "batch/v1")
    },
    KindInfo {
        conditions: &[
            "Ready",
            "MemoryPressure",
            "DiskPressure",
            "PIDPressure",
            "NetworkUnavailable",
        ],
        ..kind("Node", "v1")
    },
    kind("ServiceAccount", "v1"),
    kind("Secret", "v1"),
    kind("ConfigMap", "v1"),
    kind("Service", "v1"),
    kind("Namespace", "v1"),
    kind("Event", "v1"),
    kind("PersistentVolumeClaim", "v1"),
    kind("Role", "rbac.authorization.k8s.io/v1"),
    kind("RoleBinding", "rbac.authorization.k8s.io/v1"),
    kind("ClusterRole", "rbac.authorization.k8s.io/v1"),
    kind("ClusterRoleBinding", "rbac.authorization.k8s.io/v1"),
    kind("NetworkPolicy", "networking.k8s.io/v1"),
    kind("PodDisruptionBudget", "policy/v1"),
    kind("SecretProviderClass", "secrets-store.csi.x-k8s.io/v1"),
    kind(
        "SecretProviderClassPodStatus",
        "secrets-store.csi.x-k8s.io/v1",
    ),
];

/// The kind named exactly `name`.
pub fn find(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.kind == name)
}

/// Every kind name, for suggestions.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.kind).collect()
}
