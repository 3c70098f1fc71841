#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The API client against a real cluster: apply → wait ready → scale → delete → wait gone,
//! all in a namespace of its own (`kubetest-…`), without starting kubectl.
//!
//! `SECRETBENCH_KUBECONFIG=$(secretbench kubeconfig | cut -d= -f2) cargo test -p secretbench \
//!   --test kube_api_cluster -- --ignored`
//!
//! (with `SECRETBENCH_KUBECTL` naming a kubectl for the second test); `just test-cluster` sets
//! both.

use std::time::Duration;

use secretbench::cluster::existing;
use secretbench::kube_api::{self, ApiError};
use secretbench::kubectl::Kubectl;
use secretbench::wait::Poll;
use serde_json::json;

/// The sandbox image every node already has, so nothing is pulled.
const PAUSE: &str = "registry.k8s.io/pause:3.10.1";
/// An image with a shell, for `kubectl exec`; also on the node already.
const BUSYBOX: &str = "registry.k8s.io/e2e-test-images/busybox:1.29-4";

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
    // No namespace lists the whole cluster (kubectl's -A): this namespace's pods among others,
    // and the driver's DaemonSet, which lives in a namespace of its own.
    let all = api.list(None, "pods", None).await.unwrap();
    let namespaces: std::collections::BTreeSet<&str> = all
        .iter()
        .filter_map(|p| p["metadata"]["namespace"].as_str())
        .collect();
    assert!(
        namespaces.contains(ns.as_str()) && namespaces.len() > 1,
        "{namespaces:?}"
    );
    let daemonsets = existing::daemonsets(api).await.unwrap();
    let driver = existing::find_driver(&daemonsets).expect("the driver's DaemonSet");
    assert_ne!(driver.namespace, ns);
    assert!(driver.desired >= 1, "{driver:?}");

    // A list watch judges the list only once it has it: "none left" is not met by the empty
    // set it starts from while the Deployment's two pods exist.
    let none_left = |left: &[serde_json::Value]| {
        if left.is_empty() {
            Poll::Done(())
        } else {
            Poll::NotYet(format!("{} left", left.len()))
        }
    };
    let selected = kube::runtime::watcher::Config::default().labels("app=d");
    let e = api
        .wait_list(
            "no pod of d",
            Duration::from_secs(2),
            Some(&ns),
            "pods",
            selected.clone(),
            none_left,
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "timed out after 2s waiting for no pod of d; last seen: 2 left"
    );
    api.scale(Some(&ns), "Deployment", "d", 0).await.unwrap();
    api.wait_list("no pod of d", limit, Some(&ns), "pods", selected, none_left)
        .await
        .unwrap();
    assert!(
        api.list(Some(&ns), "pods", Some("app=d"))
            .await
            .unwrap()
            .is_empty()
    );

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

/// The kubectl processes one mount-like case starts: the mount scenario's operations (apply
/// three manifests, wait for the pod to be Ready, read the mounted files, assert an object)
/// with a ConfigMap volume standing in for the CSI one, then the runner's teardown. Only the
/// file read starts kubectl (`exec`); the rest is API requests and watches.
#[tokio::test]
#[ignore = "needs a cluster: set SECRETBENCH_KUBECONFIG and SECRETBENCH_KUBECTL"]
async fn a_mount_like_case_starts_kubectl_only_to_read_files() {
    use secretbench::runner::backend::Backend;
    use secretbench::runner::exec::Case;
    use secretbench::runner::manifests::Shaping;
    use secretbench::runner::snapshot::{Mode, Redactor, Snapshots};
    use secretbench::runner::timeline::Recorder;
    use secretbench::runner::vars::Vars;
    use secretbench::scenario::model::{Binding, Op};
    use secretbench::wiring::Endpoints;
    use secretbench_emulators::{Options, start};

    let kubeconfig = std::env::var("SECRETBENCH_KUBECONFIG").expect("SECRETBENCH_KUBECONFIG");
    let bin = std::env::var("SECRETBENCH_KUBECTL").expect("SECRETBENCH_KUBECTL");
    let kubectl = Kubectl::new(bin, kubeconfig).counted();
    let api = kubectl.api().await.unwrap();
    let ns = format!("kubetest-case-{}", std::process::id());

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(
        dir.path().join("manifests/all.yaml"),
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sample-app}}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: db}}\ndata: {{password: s3cret}}\n---\n\
             apiVersion: v1\nkind: Pod\nmetadata: {{name: sample-app}}\nspec:\n  \
             serviceAccountName: sample-app\n  terminationGracePeriodSeconds: 0\n  containers:\n  \
             - {{name: app, image: {BUSYBOX}, imagePullPolicy: Never, command: [sleep, '3600'],\n     \
             volumeMounts: [{{name: s, mountPath: /mnt/secrets-store}}]}}\n  \
             volumes: [{{name: s, configMap: {{name: db}}}}]\n"
        ),
    )
    .unwrap();

    let loopback = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let running = start(Options {
        aws: loopback,
        azure: loopback,
        vault: loopback,
        ..Options::default()
    })
    .await
    .unwrap();
    let endpoints = Endpoints::from_ready_line(&running.ready_line()).unwrap();
    let backend = Backend::new(endpoints, "127.0.0.1", "us-east-1").unwrap();
    let binding = Binding::default();
    let mut case = Case {
        kubectl: &kubectl,
        backend: &backend,
        namespace: ns.clone(),
        dir: dir.path().to_owned(),
        vars: Vars::new(),
        binding: &binding,
        shaping: Shaping {
            namespace: ns.clone(),
            provider: "aws".into(),
            ..Shaping::default()
        },
        snapshots: Snapshots::new(dir.path(), "test", "aws", Mode::Check),
        redactor: Redactor::new(&ns).unwrap(),
        rotation: Duration::from_secs(10),
        artifacts: dir.path().join("artifacts"),
        applied: Vec::new(),
        extra_namespaces: Vec::new(),
        notes: Vec::new(),
        timeline: Recorder::new(&ns),
        started: time::OffsetDateTime::now_utc(),
    };

    // The runner's setup.
    api.apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .await
        .unwrap();
    api.wait_exists(
        Duration::from_secs(30),
        Some(&ns),
        "serviceaccount",
        "default",
    )
    .await
    .unwrap();
    let ops = [
        json!({"apply": {"path": "manifests/"}}),
        json!({"wait": {"kind": "Pod", "name": "sample-app", "condition": "Ready", "within": "90s"}}),
        json!({"files": {"pod": "sample-app", "path": "/mnt/secrets-store",
            "expect": {"password": {"contents": "s3cret"}}, "within": "10s"}}),
        json!({"assert": {"object": {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "sample-app"}, "status": {"phase": "Running"}}, "within": "10s"}}),
    ];
    for op in ops {
        let op: Op = serde_json::from_value(op).unwrap();
        case.run(&op).await.unwrap();
    }
    // The runner's teardown.
    let mut applied = std::mem::take(&mut case.applied);
    applied.reverse();
    case.delete_objects(&applied).await.unwrap();
    api.delete(None, "namespace", &ns).await.unwrap();
    api.wait_gone(Duration::from_secs(120), None, "namespace", &ns)
        .await
        .unwrap();
    eprintln!("kubectl processes: {}", kubectl.processes_started());
    assert_eq!(kubectl.processes_started(), 1, "one exec, for the files");
}
