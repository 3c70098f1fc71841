//! The real Vault provider (vault-csi-provider 1.7.4, from the hashicorp/vault chart with the
//! server and injector off) against the Vault emulator. Nothing on the provider changes: the
//! SecretProviderClass names the emulator and the role, as a user of an external Vault does.
//!
//! What the provider does, and what that asks of the emulator (provider sources at v1.7.4):
//! - Address: SPC `vaultAddress` overrides the flag and the env (`internal/client/client.go`,
//!   `New`: env < flags < SPC), so the chart's `VAULT_ADDR` (its agent socket) is bypassed.
//! - Login: `POST /v1/auth/<vaultKubernetesMountPath|kubernetes>/login {jwt, role}`
//!   (`internal/auth/kubernetes_jwt.go`). The JWT is the driver's token for audience `audience`
//!   (SPC), default `"vault"` (`internal/config/config.go`, `parseParameters`); the driver is
//!   installed with a `vault` token request, so the default needs no self-minted token. The
//!   role checks `aud` = `vault` like the provider's own e2e roles.
//! - The emulator's Kubernetes auth then asks the cluster's TokenReview API, as Vault does. It
//!   runs on the harness's machine, so `kubernetes_host` is the API server URL of the
//!   kubeconfig (reachable from there) with its CA. The review needs a reviewer JWT: with none,
//!   Vault reviews with the login JWT itself, whose audience (`vault`) the API server does not
//!   accept as a bearer (hashicorp/vault-csi-provider#231). So a service account bound to
//!   `system:auth-delegator` gets a long-lived token Secret, and that token is the reviewer.
//! - Reads: `GET /v1/<secretPath>` (`secret/data/...` for KV v2), one per distinct path.
//!
//! The same seed configures a real Vault under `--vault real` (`crate::realvault::seed`), so the
//! two backends are wired alike.
//!
//! The emulator's seed: policy `sample-app` (read `secret/data/*` and the KV v1 mount `kv/*`),
//! a KV v1 mount at `kv/` for `vault.kv1.put`, and auth method `kubernetes` with that config
//! and role `sample-app` for the service account `sample-app` in every namespace (so a pod running as
//! another service account is denied, as a user's role would deny it).

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::{WireCtx, Wiring, WiringError};
use crate::kubectl::Kubectl;
use crate::scenario::model::Provider;

/// The role and policy scenarios log in with (`roleName: sample-app`).
pub const ROLE: &str = "sample-app";
pub const POLICY: &str = "sample-app";
/// The provider's default token audience, which the driver is installed to request.
pub const AUDIENCE: &str = "vault";
/// Auth mount path: the provider's `-vault-mount` default.
pub const AUTH_MOUNT: &str = "kubernetes";
/// A KV v1 mount beside the dev server's KV v2 `secret/`.
pub const KV1_MOUNT: &str = "kv";

/// Where the chart installs the provider (release `vault` in kube-system): the DaemonSet's
/// selector labels (hashicorp/vault-helm `templates/csi-daemonset.yaml`).
pub const NAMESPACE: &str = "kube-system";
pub const SELECTOR: &str =
    "app.kubernetes.io/instance=vault,app.kubernetes.io/name=vault-csi-provider";

/// The service account whose token reviews logins, and its token Secret.
pub const REVIEWER: &str = "secretbench-token-reviewer";
pub const REVIEWER_NAMESPACE: &str = "kube-system";
/// How long the token controller may take to fill the reviewer's Secret.
const TOKEN_LIMIT: Duration = Duration::from_secs(60);

/// The policy text (HCL, as `vault policy write` takes it).
pub const POLICY_RULES: &str = r#"path "secret/data/*" {
  capabilities = ["read"]
}

path "kv/*" {
  capabilities = ["read"]
}
"#;

/// The API server as the emulators' machine reaches it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiServer {
    pub url: String,
    /// PEM; empty when the kubeconfig trusts the system roots.
    pub ca_pem: String,
}

fn bad(message: impl Into<String>) -> WiringError {
    WiringError::Provider {
        provider: Provider::Vault,
        message: message.into(),
    }
}

/// The current context's cluster from `kubectl config view --minify --flatten -o json`
/// (`--flatten` inlines a CA given as a file, so one field covers both forms).
pub fn parse_kubeconfig(json_text: &str) -> Result<ApiServer, WiringError> {
    let config: Value = serde_json::from_str(json_text)
        .map_err(|e| bad(format!("kubectl config view is not JSON: {e}")))?;
    let cluster = &config["clusters"][0]["cluster"];
    let url = cluster["server"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("the kubeconfig's current context has no cluster server"))?
        .to_owned();
    let ca_pem = match cluster["certificate-authority-data"].as_str() {
        Some(b64) if !b64.is_empty() => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| bad(format!("certificate-authority-data is not base64: {e}")))?;
            String::from_utf8(bytes)
                .map_err(|_| bad("certificate-authority-data is not PEM text"))?
        }
        _ => String::new(),
    };
    Ok(ApiServer { url, ca_pem })
}

/// The reviewer's ServiceAccount, its `system:auth-delegator` binding (the right to create
/// TokenReviews) and a long-lived token Secret, as one `List` for `kubectl apply -f -`.
pub fn reviewer_manifests() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": { "name": REVIEWER, "namespace": REVIEWER_NAMESPACE },
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": { "name": REVIEWER },
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "system:auth-delegator",
                },
                "subjects": [{
                    "kind": "ServiceAccount",
                    "name": REVIEWER,
                    "namespace": REVIEWER_NAMESPACE,
                }],
            },
            {
                // A token that outlives the run, unlike a TokenRequest token: the emulator keeps
                // it in its seed, re-applied after every reset.
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/service-account-token",
                "metadata": {
                    "name": REVIEWER,
                    "namespace": REVIEWER_NAMESPACE,
                    "annotations": { "kubernetes.io/service-account.name": REVIEWER },
                },
            },
        ],
    })
}

/// The emulator seed document (`{"vault": ...}`).
pub fn seed(api: &ApiServer, reviewer_jwt: &str) -> Value {
    json!({
        "vault": {
            "mounts": [{
                "path": KV1_MOUNT,
                "type": "kv",
                "version": 1,
                "description": "KV v1 for scenarios (secretbench wiring)",
            }],
            "policies": [{ "name": POLICY, "rules": POLICY_RULES }],
            "auth": [{
                "path": AUTH_MOUNT,
                "type": "kubernetes",
                "config": {
                    "kubernetesHost": api.url,
                    "kubernetesCaCert": api.ca_pem,
                    "tokenReviewerJwt": reviewer_jwt,
                    // Vault runs outside the cluster: everything it needs is given here, and
                    // it must not look for a pod's CA and token (a real server refuses the
                    // config when the CA file it would read is missing).
                    "disableLocalCaJwt": true,
                },
                "roles": [{
                    "name": ROLE,
                    // Any namespace (scenario namespaces are made per run), one service account:
                    // a pod running as another one must be denied, as with a user's role.
                    "boundServiceAccountNames": ["sample-app"],
                    "boundServiceAccountNamespaces": ["*"],
                    "audience": AUDIENCE,
                    "policies": [POLICY],
                    "ttl": "20m",
                }],
            }],
        }
    })
}

/// The mount the dev server has at `secret/` (KV v2), which scenarios write to and the policy
/// names.
pub const KV2_MOUNT: &str = "secret";

/// One case's own namespace (a tenant): the wiring's mounts, policy and Kubernetes auth again
/// inside it, plus the KV v2 `secret/` a dev server has at its root but a new namespace lacks.
pub fn tenant_seed(wiring_seed: &Value) -> Value {
    let mut section = wiring_seed["vault"].clone();
    if let Some(mounts) = section["mounts"].as_array_mut() {
        mounts.push(json!({
            "path": KV2_MOUNT,
            "type": "kv",
            "version": 2,
            "description": "KV v2 as a dev server's secret/ (secretbench wiring)",
        }));
    }
    json!({ "vault": section })
}

/// What every Vault scenario gets.
pub fn wiring(vault_address: &str, seed: Value) -> Wiring {
    let mut w = Wiring {
        seed,
        ..Wiring::default()
    };
    w.parameters
        .insert("vaultAddress".into(), vault_address.to_owned());
    w.parameters.insert("roleName".into(), ROLE.into());
    w.vars
        .insert("vaultAddress".into(), vault_address.to_owned());
    w
}

/// The API server URL and CA of the harness's kubeconfig.
pub async fn api_server(kubectl: &Kubectl) -> Result<ApiServer, WiringError> {
    let text = kubectl
        .run(["config", "view", "--minify", "--flatten", "-o", "json"])
        .await?;
    let api = parse_kubeconfig(&text)?;
    if api.ca_pem.is_empty() && api.url.starts_with("https://") {
        tracing::warn!(url = %api.url, "the kubeconfig has no CA; the Vault emulator will verify the API server against the system roots");
    }
    Ok(api)
}

/// Creates (or keeps) the reviewer and returns its token once the token controller wrote it.
pub async fn reviewer_token(kubectl: &Kubectl) -> Result<String, WiringError> {
    let api = kubectl.api().await?;
    api.apply(&reviewer_manifests()).await?;
    let b64 = api
        .wait_for(
            &format!("the token of Secret {REVIEWER_NAMESPACE}/{REVIEWER}"),
            TOKEN_LIMIT,
            Some(REVIEWER_NAMESPACE),
            "secret",
            REVIEWER,
            |secret| match secret.and_then(|s| s["data"]["token"].as_str()) {
                Some(t) if !t.is_empty() => crate::wait::Poll::Done(t.to_owned()),
                _ => crate::wait::Poll::NotYet("no token yet".into()),
            },
        )
        .await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| bad(format!("the reviewer token is not base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| bad("the reviewer token is not text"))
}

pub async fn wire(ctx: &WireCtx<'_>) -> Result<Wiring, WiringError> {
    let kubectl = ctx.kubectl;
    let address = super::emulator_url("http", ctx.host, &ctx.endpoints.vault_url, 8200);
    // The provider is not changed, only waited for: a mount before its socket exists fails.
    let ds = super::daemonset(kubectl, Provider::Vault, NAMESPACE, SELECTOR).await?;
    super::rollout(kubectl, NAMESPACE, &ds).await?;
    let api = api_server(kubectl).await?;
    let jwt = reviewer_token(kubectl).await?;
    tracing::info!(daemonset = %ds, %address, kubernetes_host = %api.url, "Vault provider wired to the emulator");
    Ok(wiring(&address, seed(&api, &jwt)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn the_kubeconfig_gives_the_server_and_its_ca() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(CA);
        let text = json!({
            "clusters": [{"name": "kind-secretbench", "cluster": {
                "server": "https://127.0.0.1:40231",
                "certificate-authority-data": b64,
            }}],
        })
        .to_string();
        let api = parse_kubeconfig(&text).expect("parsed");
        assert_eq!(api.url, "https://127.0.0.1:40231");
        assert_eq!(api.ca_pem, CA);
        let no_ca = json!({"clusters": [{"cluster": {"server": "https://h:6443"}}]}).to_string();
        assert_eq!(parse_kubeconfig(&no_ca).expect("parsed").ca_pem, "");
        assert!(parse_kubeconfig(r#"{"clusters": []}"#).is_err());
        let bad_ca = json!({"clusters": [{"cluster": {"server": "https://h", "certificate-authority-data": "%%"}}]});
        assert!(parse_kubeconfig(&bad_ca.to_string()).is_err());
    }

    #[test]
    fn the_reviewer_can_review_tokens_and_has_a_long_lived_token() {
        let list = reviewer_manifests();
        let items = list["items"].as_array().expect("items");
        let kinds: Vec<&str> = items.iter().filter_map(|i| i["kind"].as_str()).collect();
        assert_eq!(kinds, ["ServiceAccount", "ClusterRoleBinding", "Secret"]);
        assert_eq!(items[1]["roleRef"]["name"], "system:auth-delegator");
        assert_eq!(items[1]["subjects"][0]["namespace"], "kube-system");
        assert_eq!(items[2]["type"], "kubernetes.io/service-account-token");
        assert_eq!(
            items[2]["metadata"]["annotations"]["kubernetes.io/service-account.name"],
            REVIEWER
        );
    }

    #[test]
    fn scenarios_get_the_address_and_the_role() {
        let api = ApiServer {
            url: "https://127.0.0.1:6443".into(),
            ca_pem: String::new(),
        };
        let w = wiring("http://172.18.0.1:8200", seed(&api, "jwt"));
        assert_eq!(w.parameters["vaultAddress"], "http://172.18.0.1:8200");
        assert_eq!(w.parameters["roleName"], "sample-app");
        assert_eq!(w.vars["vaultAddress"], "http://172.18.0.1:8200");
        assert!(
            !w.parameters.contains_key("audience"),
            "the provider default is the wired one"
        );
        assert!(w.node_publish_secret.is_none());
    }

    #[test]
    fn the_seed_parses_with_the_emulators_own_parser() {
        let api = ApiServer {
            url: "https://127.0.0.1:6443".into(),
            ca_pem: String::new(),
        };
        let doc = secretbench_emulators::core::seed::parse(&seed(&api, "jwt").to_string())
            .expect("a seed document");
        let section: secretbench_emulators::vault::seed::VaultSeed =
            secretbench_emulators::core::seed::section("vault", doc["vault"].clone())
                .expect("a valid vault section");
        assert_eq!(section.auth.len(), 1);
        assert_eq!(section.auth[0].roles[0].name, ROLE);
        assert_eq!(section.auth[0].roles[0].audience, AUDIENCE);
        assert_eq!(section.policies[0].rules, POLICY_RULES);
        assert_eq!(section.mounts[0].version, Some(1));
        secretbench_emulators::vault::policy::Policy::parse(POLICY_RULES).expect("valid HCL");
    }
}
