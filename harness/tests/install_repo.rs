#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.
//! The kind backend's install path, run here: the same [`Installer`] the kind backend uses,
//! with charts from a Helm repository (`--repo`, as kind installs them from upstream), served on
//! loopback from the stack's own charts (`helm package` + `helm repo index` + a static server),
//! against the running host cluster. What stays kind-only and untested here is cluster creation
//! and `kind load`.
//!
//! Needs the host cluster up (root): `just test-cluster`, which `.ci/run` runs after `just e2e`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use secretbench::cluster::Progress;
use secretbench::cluster::host::{HostCluster, StateDir};
use secretbench::install::helm::Helm;
use secretbench::install::{ChartSources, Component, Images, Installer, Plan, State};
use secretbench::stack::Stack;

/// Files of one folder over HTTP on loopback; every path asked for is recorded.
async fn serve(dir: PathBuf, asked: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    use axum::extract::Path as UrlPath;
    use axum::http::StatusCode;
    let app = axum::Router::new().route(
        "/{file}",
        axum::routing::get(move |UrlPath(file): UrlPath<String>| {
            let dir = dir.clone();
            let asked = asked.clone();
            async move {
                asked.lock().unwrap().push(file.clone());
                if file.contains('/') || file.starts_with('.') {
                    return Err(StatusCode::NOT_FOUND);
                }
                tokio::fs::read(dir.join(&file))
                    .await
                    .map_err(|_| StatusCode::NOT_FOUND)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn helm_revision(helm: &Helm, release: &str) -> u64 {
    let out = helm
        .cmd(["list", "-n", "kube-system", "-o", "json", "--filter"])
        .arg(format!("^{release}$"))
        .output()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["revision"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
#[ignore = "needs the host cluster up (root): `just test-cluster`"]
async fn the_kind_installer_installs_from_a_helm_repository() {
    let stack = Stack::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack")).unwrap();
    let built = stack.ensure_built().await.unwrap();
    let cluster = HostCluster::with_state(stack.clone(), StateDir::from_env());
    let kubectl = cluster.kubectl_any().await.unwrap();
    assert!(
        kubectl.node_ready(secretbench::cluster::host::NODE).await,
        "the host cluster is not up: `just up` first"
    );

    // The repository: the stack's driver and Azure charts, packaged and indexed as a chart
    // repository publishes them.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let helm = Helm::new(&built.helm, tmp.path().join("helm"), &cluster.kubeconfig());
    for chart in [&built.driver_chart, &built.azure_chart] {
        helm.cmd(["package"])
            .arg(chart)
            .arg("-d")
            .arg(&repo)
            .output()
            .await
            .unwrap();
    }
    let asked = Arc::new(Mutex::new(Vec::new()));
    let addr = serve(repo.clone(), asked.clone()).await;
    let url = format!("http://{addr}");
    helm.cmd(["repo", "index"])
        .arg(&repo)
        .args(["--url", &url])
        .output()
        .await
        .unwrap();

    // The plan as kind uses it, with the repositories pointed at ours and only the releases it
    // serves (the others' repositories are on the internet).
    let mut plan = Plan::from_versions(stack.versions()).unwrap();
    plan.releases
        .retain(|r| matches!(r.component, Component::Driver | Component::Azure));
    for r in &mut plan.releases {
        r.repo = Some(url.clone());
    }
    let before: BTreeMap<_, _> = {
        let mut m = BTreeMap::new();
        for r in &plan.releases {
            m.insert(r.name, helm_revision(&helm, r.name).await);
        }
        m
    };
    let installer = Installer {
        plan: &plan,
        helm: &helm,
        kubectl: &kubectl,
        work: tmp.path().join("work"),
    };
    let sources = ChartSources {
        stack: BTreeMap::new(),
        bundle: None,
        repositories: true,
    };
    let mut pr = Progress::new("install-repo test");
    let outcome = installer
        .install(&sources, &Images::Pulled, true, &mut pr)
        .await
        .unwrap();
    assert_eq!(
        outcome.releases,
        [
            (Component::Driver, State::Installed),
            (Component::Azure, State::Installed)
        ]
    );
    for r in &plan.releases {
        assert_eq!(
            helm_revision(&helm, r.name).await,
            before[r.name] + 1,
            "{} upgraded from the repository",
            r.name
        );
    }
    let asked = asked.lock().unwrap().clone();
    assert!(asked.iter().any(|f| f == "index.yaml"), "{asked:?}");
    for r in &plan.releases {
        let tgz = format!("{}-{}.tgz", r.chart, r.version);
        assert!(asked.contains(&tgz), "{tgz} not fetched: {asked:?}");
    }

    // Installed again without force: both releases are up to date and left alone.
    let again = installer
        .install(&sources, &Images::Pulled, false, &mut pr)
        .await
        .unwrap();
    assert_eq!(
        again.releases,
        [
            (Component::Driver, State::Unchanged),
            (Component::Azure, State::Unchanged)
        ]
    );
}
