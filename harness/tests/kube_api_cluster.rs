//! The API client against a real cluster: apply → wait ready → scale → delete → wait gone,
//! all in a namespace of its own (`kubetest-…`), without starting kubectl.
//!
//! `SECRETBENCH_KUBECONFIG=$(secretbench kubeconfig | cut -d= -f2) cargo test -p secretbench \
//!   --test kube_api_cluster -- --ignored`

use std::time::Duration;

use secretbench::kube_api::{self, ApiError};
use secretbench::kubectl::Kubectl;
use secretbench::wait::Poll;
use serde_json::json;

/// The sandbox image every node already has, so nothing is pulled.
const PAUSE: &str = "registry.k8s.io/pause:3.10.1";

#[tokio::test]
#[ignore = "needs a cluster: set SECRETBENCH_KUBECONFIG"]
async fn apply_wait_scale_delete_against_a_cluster() {
    let kubeconfig = std::env::var("SECRETBENCH_KUBECONFIG").expect("SECRETBENCH_KUBECONFIG");
    // No kubectl binary: every step below must go through the API client.
    let kubectl = Kubectl::new("/nonexistent/kubectl", kubeconfig);
    let api = kubectl.api().await.unwrap();
    let ns = format!("kubetest-{}", std::process::id());
    let limit = Duration::from_secs(90);

    api.apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .await
        .unwrap();
    api.wait_exists(limit, Some(&ns), "serviceaccount", "default")
        .await
        .unwrap();
    let spec = json!({
        "containers": [{"name": "pause", "image": PAUSE, "imagePullPolicy": "Never"}],
        "terminationGracePeriodSeconds": 0, "automountServiceAccountToken": false});
    api.apply(&json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns},
         "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
         "spec": spec},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": ns},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                  "template": {"metadata": {"labels": {"app": "d"}}, "spec": spec}}},
    ]}))
    .await
    .unwrap();
    // Applying again is a no-op, not a conflict (server-side apply, same field manager).
    api.apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": ns}, "data": {"k": "v2"}}))
        .await
        .unwrap();
    let cm = api.get(Some(&ns), "configmap", "c").await.unwrap().unwrap();
    assert_eq!(cm["data"]["k"], "v2");
    assert!(
        api.get(Some(&ns), "configmap", "nope")
            .await
            .unwrap()
            .is_none()
    );

    api.wait_for("pod p to be Ready", limit, Some(&ns), "Pod", "p", |o| {
        kube_api::condition("Ready", o)
    })
    .await
    .unwrap();
    api.wait_for(
        "deployment d to be Available",
        limit,
        Some(&ns),
        "deployments.apps",
        "d",
        |o| kube_api::condition("Available", o),
    )
    .await
    .unwrap();
    api.scale(Some(&ns), "Deployment", "d", 2).await.unwrap();
    api.wait_for(
        "d to have 2 ready",
        limit,
        Some(&ns),
        "Deployment",
        "d",
        |o| kube_api::replicas(2, o),
    )
    .await
    .unwrap();
    let pods = api.list(Some(&ns), "pods", Some("app=d")).await.unwrap();
    assert_eq!(pods.len(), 2);

    // A wait that cannot be met times out naming the object and what it last saw.
    let e = api
        .wait_for(
            "configmap c to have k=never",
            Duration::from_secs(2),
            Some(&ns),
            "ConfigMap",
            "c",
            |o| match o.map(|o| &o["data"]["k"]) {
                Some(v) if v == "never" => Poll::Done(()),
                v => Poll::NotYet(format!("k is {}", v.cloned().unwrap_or_default())),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Timeout(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "timed out after 2s waiting for configmap c to have k=never; last seen: k is \"v2\""
    );

    api.delete(Some(&ns), "pod", "p").await.unwrap();
    api.wait_gone(limit, Some(&ns), "pod", "p").await.unwrap();
    // Deleting what is not there is not an error.
    api.delete(Some(&ns), "pod", "p").await.unwrap();

    api.delete(None, "namespace", &ns).await.unwrap();
    api.wait_gone(Duration::from_secs(120), None, "namespace", &ns)
        .await
        .unwrap();
    assert_eq!(kubectl.processes_started(), 0);
}
