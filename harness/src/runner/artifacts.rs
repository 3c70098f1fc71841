//! Diagnostics for a failed (or curious) run, in the case's artifacts folder: events,
//! `describe` output, logs of the scenario's pods, the driver and the providers, and the
//! emulator journal. Best effort: what cannot be collected says why in its file.

use std::path::Path;

use super::exec::Case;
use crate::kubectl::Kubectl;
use crate::scenario::model::Collect;

/// Every DaemonSet in kube-system is the driver or a provider on the clusters the bench makes.
const SYSTEM_NAMESPACE: &str = "kube-system";

pub async fn collect(case: &Case<'_>, what: &[Collect]) {
    if let Err(e) = std::fs::create_dir_all(&case.artifacts) {
        tracing::warn!(dir = %case.artifacts.display(), error = %e, "cannot create the artifacts folder");
        return;
    }
    for item in what {
        match item {
            Collect::Events => {
                let out = text(
                    case.kubectl
                        .run([
                            "-n",
                            &case.namespace,
                            "get",
                            "events",
                            "--sort-by=.lastTimestamp",
                            "-o",
                            "wide",
                        ])
                        .await,
                );
                write(&case.artifacts, "events.txt", &out);
            }
            Collect::Describe => {
                let out = text(
                    case.kubectl
                        .run(["-n", &case.namespace, "describe", "pods,deployments,secrets,secretproviderclasses,secretproviderclasspodstatuses"])
                        .await,
                );
                write(&case.artifacts, "describe.txt", &out);
            }
            Collect::Logs => logs(case.kubectl, &case.namespace, &case.artifacts).await,
            Collect::Journal => {
                let out = match case.backend.journal_all().await {
                    Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                    Err(e) => format!("could not read the journal: {e}"),
                };
                write(&case.artifacts, "journal.json", &out);
            }
        }
    }
}

/// Logs are kubectl's (its text is the artifact); which pods and DaemonSets to read comes
/// from the API.
async fn logs(kubectl: &Kubectl, namespace: &str, dir: &Path) {
    for pod in names(kubectl, namespace, "pods").await {
        let out = text(
            kubectl
                .run(["-n", namespace, "logs", &pod, "--all-containers"])
                .await,
        );
        write(dir, &format!("pod-{pod}.log"), &out);
    }
    for ds in names(kubectl, SYSTEM_NAMESPACE, "daemonsets").await {
        let out = text(
            kubectl
                .run([
                    "-n",
                    SYSTEM_NAMESPACE,
                    "logs",
                    &format!("daemonset/{ds}"),
                    "--all-containers",
                    "--tail=2000",
                ])
                .await,
        );
        write(dir, &format!("{ds}.log"), &out);
    }
}

/// The names of a resource's objects in `namespace`; none (and a warning) when they cannot
/// be listed, as collecting is best effort.
async fn names(kubectl: &Kubectl, namespace: &str, resource: &str) -> Vec<String> {
    let listed = match kubectl.api().await {
        Ok(api) => api.list(Some(namespace), resource, None).await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(items) => items
            .iter()
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
            .collect(),
        Err(e) => {
            tracing::warn!(namespace, resource, error = %e, "artifacts: cannot list");
            Vec::new()
        }
    }
}

fn text(r: Result<String, crate::cmd::CmdError>) -> String {
    r.unwrap_or_else(|e| format!("could not collect: {e}\n"))
}

fn write(dir: &Path, name: &str, contents: &str) {
    let path = dir.join(name);
    if let Err(e) = std::fs::write(&path, contents) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write artifact");
    }
}
