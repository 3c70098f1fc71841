//! The real AWS provider (chart and image 3.1.1) against the AWS emulator, set up the way a user
//! points it at a private endpoint: environment variables the AWS SDK for Go v2 reads, on the
//! provider's DaemonSet, and SecretProviderClass parameters. The provider is not modified.
//!
//! Where it talks, and how each call reaches the emulator (provider sources at 3.1.1):
//! - Secrets Manager and SSM: `secretsmanager.NewFromConfig(cfg)` / `ssm.NewFromConfig(cfg)`
//!   (`provider/secrets_manager_provider.go`, `provider/parameter_store_provider.go`) resolve
//!   their base endpoint from `AWS_ENDPOINT_URL_<SDK id>` (aws-sdk-go-v2
//!   `config/env_config.go`, `GetServiceBaseEndpoint`: upper case, spaces to `_`), so
//!   `AWS_ENDPOINT_URL_SECRETS_MANAGER` and `AWS_ENDPOINT_URL_SSM` name the emulator.
//! - Credentials: Pod Identity (SPC `usePodIdentity: "true"`, `server/server.go`). The provider
//!   sends the driver's `pods.eks.amazonaws.com` token to the fixed agent URL
//!   `http://169.254.170.23/v1/credentials` (`credential_provider/pod_identity_credential_provider.go`)
//!   through `endpointcreds`, whose HTTP client is the SDK's `BuildableClient` with
//!   `Proxy: http.ProxyFromEnvironment` (aws-sdk-go-v2 `aws/transport/http/client.go`). So
//!   `HTTP_PROXY` = the emulator carries that one plain-HTTP request there, and the emulator,
//!   which also serves `/v1/credentials`, answers it as the agent would. `NO_PROXY` = the
//!   emulator's host keeps the Secrets Manager/SSM calls direct; the API server is HTTPS, which
//!   `HTTP_PROXY` never touches. No node setup, no privileged pod, no link-local address.
//! - IRSA is not wired: its STS client is `sts.New(sts.Options{Region})`
//!   (`credential_provider/irsa_credential_provider.go`), which reads no endpoint variable and
//!   always dials `https://sts.<region>.amazonaws.com`; reaching the emulator would need that
//!   name redirected to a TLS listener on 443 with a CA the provider trusts, and the AWS
//!   emulator serves plain HTTP only. The seeded role still trusts the cluster's issuer for
//!   `AssumeRoleWithWebIdentity`, so IRSA works the day STS can be reached.
//!
//! The emulator's seed: one role that may read secrets and parameters, associated (Pod
//! Identity) with service account `sample-app` in every namespace and trusted (IRSA) for the
//! same subject; the cluster's service-account JWKS, so the emulator verifies token signatures
//! instead of trusting claims alone.

use serde_json::{Value, json};

use super::{WireCtx, Wiring, WiringError};
use crate::kubectl::Kubectl;
use crate::scenario::model::Provider;

/// The region scenarios use (`${awsRegion}`, SPC `region`); the emulator's default region.
pub const REGION: &str = "us-east-1";
/// The emulator's account (its default, set explicitly so the role ARN cannot drift from it).
pub const ACCOUNT_ID: &str = "123456789012";
/// The role the provider acts as for scenario pods.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/secretbench-sample-app";
/// The service account every scenario's pods run as.
pub const SERVICE_ACCOUNT: &str = "sample-app";

/// Where the chart installs the provider (release `aws` in kube-system).
pub const NAMESPACE: &str = "kube-system";
/// The chart's selector labels for release `aws` (`templates/_helpers.tpl`,
/// `provider.selectorLabels`); `app.kubernetes.io/name` is the chart name.
pub const SELECTOR: &str =
    "app.kubernetes.io/instance=aws,app.kubernetes.io/name=secrets-store-csi-driver-provider-aws";
/// The provider container in the chart's DaemonSet (`templates/daemonset.yaml`).
pub const CONTAINER: &str = "provider-aws-installer";

/// The token audiences the provider reads (`utils/token_parser.go`): the driver's CSIDriver must
/// request both (`tokenRequests`), or every mount fails with a CSI token error.
pub const IRSA_AUDIENCE: &str = "sts.amazonaws.com";
pub const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";
/// The Pod Identity agent URL the provider dials (IPv4, tried first).
pub const POD_IDENTITY_AGENT_URL: &str = "http://169.254.170.23/v1/credentials";

/// What the emulator needs to know about the cluster's service-account token issuer.
#[derive(Debug, Clone, PartialEq)]
pub struct Issuer {
    /// `iss` of the cluster's tokens (`/.well-known/openid-configuration`).
    pub url: String,
    /// The keys that sign them (`/openid/v1/jwks`).
    pub jwks: Value,
}

/// The environment the provider container gets: endpoint overrides for the two services it
/// calls, and the proxy that carries the Pod Identity agent request to the emulator.
pub fn provider_env(aws_url: &str, host: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", aws_url.to_owned()),
        ("AWS_ENDPOINT_URL_SSM", aws_url.to_owned()),
        ("HTTP_PROXY", aws_url.to_owned()),
        // Go matches NO_PROXY entries against the bare host, without brackets.
        (
            "NO_PROXY",
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        ),
    ]
}

/// A strategic-merge patch of the provider DaemonSet that sets `env` on its container
/// (entries merge by name, so re-running the wiring only updates values).
pub fn daemonset_patch(env: &[(&str, String)]) -> Value {
    let env: Vec<Value> = env
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    json!({
        "spec": { "template": { "spec": { "containers": [
            { "name": CONTAINER, "env": env }
        ] } } }
    })
}

/// The emulator seed document (`{"aws": ...}`).
pub fn seed(issuer: &Issuer) -> Value {
    json!({
        "aws": {
            "accountId": ACCOUNT_ID,
            "roles": [{
                "arn": ROLE_ARN,
                // IRSA's trust policy: the cluster as OIDC provider, the STS audience, and the
                // scenario service account in any (per-scenario) namespace.
                "trust": {
                    "issuer": issuer.url,
                    "audience": IRSA_AUDIENCE,
                    "subjects": [format!("system:serviceaccount:*:{SERVICE_ACCOUNT}")],
                },
                // Exactly the calls the provider makes: GetSecretValue and DescribeSecret (on
                // remount), GetParameters (batches of 10) — nothing that writes.
                "policy": [
                    {
                        "effect": "allow",
                        "actions": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                        "resources": [format!("arn:aws:secretsmanager:*:{ACCOUNT_ID}:secret:*")],
                    },
                    {
                        "effect": "allow",
                        "actions": ["ssm:GetParameters"],
                        "resources": [format!("arn:aws:ssm:*:{ACCOUNT_ID}:parameter/*")],
                    },
                ],
            }],
            // Scenario namespaces are created per run, so the association names them by pattern.
            "podIdentityAssociations": [{
                "namespace": "*",
                "serviceAccount": SERVICE_ACCOUNT,
                "roleArn": ROLE_ARN,
            }],
            "webIdentity": { "jwks": issuer.jwks },
        }
    })
}

/// What every AWS scenario gets.
pub fn wiring(seed: Value) -> Wiring {
    let mut w = Wiring {
        seed,
        ..Wiring::default()
    };
    w.parameters.insert("region".into(), REGION.into());
    w.parameters.insert("usePodIdentity".into(), "true".into());
    w.vars.insert("awsRegion".into(), REGION.into());
    w
}

fn bad(message: impl Into<String>) -> WiringError {
    WiringError::Provider {
        provider: Provider::Aws,
        message: message.into(),
    }
}

/// `issuer` of an OpenID discovery document.
pub fn parse_issuer(discovery: &str) -> Result<String, WiringError> {
    let doc: Value = serde_json::from_str(discovery).map_err(|e| {
        bad(format!(
            "the API server's OpenID configuration is not JSON: {e}"
        ))
    })?;
    doc["issuer"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| bad("the API server's OpenID configuration names no issuer"))
}

/// A JWKS with at least one key.
pub fn parse_jwks(text: &str) -> Result<Value, WiringError> {
    let jwks: Value = serde_json::from_str(text)
        .map_err(|e| bad(format!("the API server's JWKS is not JSON: {e}")))?;
    match jwks["keys"].as_array() {
        Some(keys) if !keys.is_empty() => Ok(jwks),
        _ => Err(bad("the API server's JWKS has no keys")),
    }
}

/// The cluster's service-account issuer, from the API server's discovery endpoints (served to
/// any authenticated user since Kubernetes 1.21; the harness is cluster admin).
pub async fn cluster_issuer(kubectl: &Kubectl) -> Result<Issuer, WiringError> {
    let discovery = kubectl
        .run(["get", "--raw", "/.well-known/openid-configuration"])
        .await?;
    let jwks = kubectl.run(["get", "--raw", "/openid/v1/jwks"]).await?;
    Ok(Issuer {
        url: parse_issuer(&discovery)?,
        jwks: parse_jwks(&jwks)?,
    })
}

pub async fn wire(ctx: &WireCtx<'_>) -> Result<Wiring, WiringError> {
    let kubectl = ctx.kubectl;
    let aws_url = super::emulator_url("http", ctx.host, &ctx.endpoints.aws_url, 4566);
    let issuer = cluster_issuer(kubectl).await?;

    let ds = super::daemonset(kubectl, Provider::Aws, NAMESPACE, SELECTOR).await?;
    let containers = kubectl
        .run([
            "-n",
            NAMESPACE,
            "get",
            "daemonset",
            &ds,
            "-o",
            "jsonpath={.spec.template.spec.containers[*].name}",
        ])
        .await?;
    // A strategic merge on a missing name would add a container with no image.
    if !containers.split_whitespace().any(|c| c == CONTAINER) {
        return Err(bad(format!(
            "DaemonSet {NAMESPACE}/{ds} has no container {CONTAINER} (containers: {})",
            containers.trim()
        )));
    }
    let patch = daemonset_patch(&provider_env(&aws_url, ctx.host));
    kubectl
        .run([
            "-n",
            NAMESPACE,
            "patch",
            "daemonset",
            &ds,
            "--type",
            "strategic",
            "-p",
            &patch.to_string(),
        ])
        .await?;
    super::rollout(kubectl, NAMESPACE, &ds).await?;
    tracing::info!(daemonset = %ds, %aws_url, issuer = %issuer.url, "AWS provider wired to the emulator");
    Ok(wiring(seed(&issuer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        Issuer {
            url: "https://kubernetes.default.svc.cluster.local".into(),
            jwks: json!({"keys": []}),
        }
    }

    #[test]
    fn provider_env_points_both_services_and_the_agent_request_at_the_emulator() {
        let env = provider_env("http://172.18.0.1:4566", "172.18.0.1");
        let names: Vec<&str> = env.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                "AWS_ENDPOINT_URL_SSM",
                "HTTP_PROXY",
                "NO_PROXY"
            ]
        );
        assert!(
            env[..3]
                .iter()
                .all(|(_, v)| v.as_str() == "http://172.18.0.1:4566")
        );
        assert_eq!(env[3].1, "172.18.0.1");
        // No HTTPS proxy: the provider's API-server client must stay direct.
        assert!(!names.iter().any(|n| n.eq_ignore_ascii_case("HTTPS_PROXY")));
        assert_eq!(
            provider_env("http://[fd00::1]:4566", "fd00::1")[3].1,
            "fd00::1"
        );
    }

    #[test]
    fn the_patch_only_sets_env_on_the_provider_container() {
        let patch = daemonset_patch(&provider_env("http://h:4566", "h"));
        let containers = &patch["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(1));
        assert_eq!(containers[0]["name"], "provider-aws-installer");
        assert_eq!(
            containers[0]["env"][0]["name"],
            "AWS_ENDPOINT_URL_SECRETS_MANAGER"
        );
        assert_eq!(containers[0]["env"][0]["value"], "http://h:4566");
        assert_eq!(
            containers[0].as_object().map(|o| o.len()),
            Some(2),
            "only name and env: {patch}"
        );
    }

    #[test]
    fn scenarios_get_the_region_and_pod_identity() {
        let w = wiring(seed(&issuer()));
        assert_eq!(w.parameters["region"], "us-east-1");
        assert_eq!(w.parameters["usePodIdentity"], "true");
        assert_eq!(w.vars["awsRegion"], "us-east-1");
        assert!(w.node_publish_secret.is_none());
        assert!(w.namespace_manifests.is_empty());
        assert_eq!(
            w.seed["aws"]["roles"][0]["trust"]["issuer"],
            "https://kubernetes.default.svc.cluster.local"
        );
    }

    #[test]
    fn the_seed_parses_with_the_emulators_own_parser() {
        let doc = secretbench_emulators::core::seed::parse(&seed(&issuer()).to_string())
            .expect("a seed document");
        let section: secretbench_emulators::aws::seed::AwsSeed =
            secretbench_emulators::core::seed::section("aws", doc["aws"].clone())
                .expect("a valid aws section");
        assert_eq!(section.roles.len(), 1);
        assert_eq!(section.roles[0].arn, ROLE_ARN);
        assert_eq!(section.pod_identity_associations[0].namespace, "*");
        assert_eq!(section.account_id.as_deref(), Some(ACCOUNT_ID));
    }

    #[test]
    fn discovery_and_jwks_are_read_strictly() {
        assert_eq!(
            parse_issuer(
                r#"{"issuer":"https://kubernetes.default.svc.cluster.local","jwks_uri":"x"}"#
            )
            .expect("issuer"),
            "https://kubernetes.default.svc.cluster.local"
        );
        assert!(parse_issuer(r#"{"jwks_uri":"x"}"#).is_err());
        assert!(parse_issuer("<html>").is_err());
        assert!(parse_jwks(r#"{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}"#).is_ok());
        assert!(parse_jwks(r#"{"keys":[]}"#).is_err());
    }
}
