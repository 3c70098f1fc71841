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
//! - IRSA (a binding's `identity: irsa`; the provider's default when the SPC has no
//!   `usePodIdentity`): the provider reads the role from the ServiceAccount annotation
//!   `eks.amazonaws.com/role-arn` (`server/server.go`, `getRoleARN`) and builds its STS client
//!   as `sts.New(sts.Options{Region: p.region})` (`credential_provider/irsa_credential_provider.go`):
//!   no `BaseEndpoint`, so no endpoint variable reaches it, and aws-sdk-go-v2's resolver
//!   (service/sts v1.42.1 `endpoints.go`) always yields `https://sts.<region>.amazonaws.com`
//!   (`https://sts.amazonaws.com` for `aws-global`), port 443. Its HTTP client is the SDK's
//!   default, whose TLS roots are Go's system pool. So, as a user behind a private STS endpoint
//!   would: `hostAliases` resolve every STS name the SDK may form ([`sts_hosts`]) to the
//!   emulator host, where the emulator serves HTTPS on 443 (`emulators.rs`) with a certificate
//!   for those names; its CA comes from a ConfigMap mounted as a directory named by
//!   `SSL_CERT_DIR`, which Go's `crypto/x509` reads beside the system bundle file
//!   (`root_unix.go` `loadSystemRoots`: `SSL_CERT_DIR` replaces only the directory list, which
//!   [`provider_env`] keeps; `SSL_CERT_FILE` would replace the bundle). The API-server client is
//!   untouched: `rest.InClusterConfig` pins the service-account `ca.crt` as its `RootCAs`
//!   (client-go v0.36.1 `rest/config.go`, `transport/transport.go`), and no `HTTPS_PROXY` is
//!   set. Pod Identity is untouched too: its agent call is plain HTTP through `HTTP_PROXY`.
//!
//! The emulator's seed: the cluster's issuer registered as an IAM OIDC provider (client id
//! `sts.amazonaws.com`) with its JWKS, so STS and the agent verify token signatures instead of
//! trusting claims; one role that may read secrets and parameters, associated (Pod Identity)
//! with service account `sample-app` in every namespace and trusted (IRSA) for the same
//! subject. IRSA scenarios make their own roles (`aws.iam.createRole`) and annotate their own
//! ServiceAccounts, as seed 001 does.

use serde_json::{Value, json};

use super::emulators::AWS_HTTPS_PORT;
use super::{Endpoints, IdentityPath, WireCtx, Wiring, WiringError};
use crate::kubectl::Kubectl;
use crate::scenario::model::{Identity, Provider};

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

/// The ConfigMap holding the AWS emulator's CA, and the directory the provider sees it in.
pub const CA_CONFIGMAP: &str = "secretbench-aws-ca";
pub const CA_DIR: &str = "/etc/secretbench/aws-ca";
/// Go's default certificate directories on Linux (`crypto/x509/root_linux.go`
/// `certDirectories`), kept after ours so setting `SSL_CERT_DIR` drops nothing.
const GO_CERT_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// Every STS host name aws-sdk-go-v2 may form for the provider: `sts.<region>.<suffix>` for the
/// regions of its partitions, and the global `sts.amazonaws.com`. (The certificate also covers
/// regions not listed, on demand; a hosts entry cannot.)
pub fn sts_hosts() -> Vec<String> {
    use secretbench_emulators::aws::tls::{GLOBAL_STS_HOST, PARTITIONS};
    let mut hosts = vec![GLOBAL_STS_HOST.to_owned()];
    for (suffix, regions) in PARTITIONS {
        hosts.extend(regions.iter().map(|r| format!("sts.{r}.{suffix}")));
    }
    hosts
}

/// Whether IRSA can run: the emulators serve HTTPS on 443, the only port the provider's STS
/// client dials, and wrote out the CA to trust.
pub fn irsa_readiness(endpoints: &Endpoints) -> Result<std::path::PathBuf, String> {
    let (Some(url), Some(ca)) = (&endpoints.aws_https_url, &endpoints.aws_ca_file) else {
        return Err(format!(
            "the AWS emulator has no HTTPS listener (port {AWS_HTTPS_PORT} could not be bound; \
             run as root or lower net.ipv4.ip_unprivileged_port_start): the provider's IRSA STS \
             client only dials https://sts.<region>.amazonaws.com on {AWS_HTTPS_PORT}"
        ));
    };
    let port = url
        .trim_end_matches('/')
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(AWS_HTTPS_PORT);
    if port != AWS_HTTPS_PORT {
        return Err(format!(
            "the AWS emulator serves HTTPS on port {port} ({url}), but the provider's IRSA STS \
             client only dials {AWS_HTTPS_PORT}"
        ));
    }
    Ok(ca.clone())
}

/// What the emulator needs to know about the cluster's service-account token issuer.
#[derive(Debug, Clone, PartialEq)]
pub struct Issuer {
    /// `iss` of the cluster's tokens (`/.well-known/openid-configuration`).
    pub url: String,
    /// The keys that sign them (`/openid/v1/jwks`).
    pub jwks: Value,
}

/// The environment the provider container gets: endpoint overrides for the two services it
/// calls, the proxy that carries the Pod Identity agent request to the emulator, and (with
/// `irsa`) the directory holding the emulator's CA ahead of Go's own.
pub fn provider_env(aws_url: &str, host: &str, irsa: bool) -> Vec<(&'static str, String)> {
    let mut env = vec![
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
    ];
    if irsa {
        let dirs: Vec<&str> = std::iter::once(CA_DIR).chain(GO_CERT_DIRS).collect();
        env.push(("SSL_CERT_DIR", dirs.join(":")));
    }
    env
}

/// A strategic-merge patch of the provider DaemonSet that sets `env` on its container (entries
/// merge by name, so re-running the wiring only updates values) and, with `irsa_host`, resolves
/// the STS names to that address and mounts the CA ConfigMap at [`CA_DIR`].
pub fn daemonset_patch(env: &[(&str, String)], irsa_host: Option<&str>) -> Value {
    let env: Vec<Value> = env
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let mut container = json!({ "name": CONTAINER, "env": env });
    let mut spec = json!({});
    if let Some(host) = irsa_host {
        container["volumeMounts"] =
            json!([{ "name": CA_CONFIGMAP, "mountPath": CA_DIR, "readOnly": true }]);
        spec["hostAliases"] = json!([{
            "ip": host.trim_start_matches('[').trim_end_matches(']'),
            "hostnames": sts_hosts(),
        }]);
        spec["volumes"] = json!([{ "name": CA_CONFIGMAP, "configMap": { "name": CA_CONFIGMAP } }]);
    }
    spec["containers"] = json!([container]);
    json!({ "spec": { "template": { "spec": spec } } })
}

/// The emulator seed document (`{"aws": ...}`).
pub fn seed(issuer: &Issuer) -> Value {
    json!({
        "aws": {
            "accountId": ACCOUNT_ID,
            "roles": [{
                "arn": ROLE_ARN,
                // IRSA's trust policy: the cluster as OIDC provider, the STS audience, and the
                // scenario service account in any (per-scenario) namespace (StringLike).
                "trust": {
                    "issuer": issuer.url,
                    "audience": IRSA_AUDIENCE,
                    "subjectsLike": [format!("system:serviceaccount:*:{SERVICE_ACCOUNT}")],
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
            // `eksctl utils associate-iam-oidc-provider`: the cluster's issuer, for STS's audience.
            "openIdConnectProviders": [{ "url": issuer.url, "clientIds": [IRSA_AUDIENCE] }],
            "webIdentity": { "jwks": issuer.jwks },
        }
    })
}

/// The IAM side of one case's own account (a tenant): the wiring's role and OIDC provider
/// again in `account`, the role associated (Pod Identity) with the service account in the
/// case's `namespace` only (an exact association wins over the wiring's `*`), and a user whose
/// keys the harness writes with, so its writes land in the account too. IAM is shared by all
/// accounts, so this is applied once per case and names the account in every ARN.
pub fn tenant_seed(wiring_seed: &Value, account: &str, namespace: &str) -> Value {
    let mut iam = json!({
        "roles": wiring_seed["aws"]["roles"],
        "openIdConnectProviders": wiring_seed["aws"]["openIdConnectProviders"],
    });
    // Every ARN and resource pattern of the wiring names the emulator's account: moving the
    // whole document moves them all, and nothing else in it is twelve digits.
    let text = iam.to_string().replace(ACCOUNT_ID, account);
    iam = serde_json::from_str(&text).unwrap_or(iam);
    if let Some(providers) = iam["openIdConnectProviders"].as_array_mut() {
        for p in providers {
            p["accountId"] = json!(account);
        }
    }
    json!({"aws": {
        "roles": iam["roles"],
        "openIdConnectProviders": iam["openIdConnectProviders"],
        "podIdentityAssociations": [{
            "namespace": namespace,
            "serviceAccount": SERVICE_ACCOUNT,
            "roleArn": ROLE_ARN.replace(ACCOUNT_ID, account),
        }],
        "users": [{
            "accessKeyId": harness_access_key(account),
            "secretAccessKey": "secretbench",
            "arn": format!("arn:aws:iam::{account}:user/secretbench-harness"),
            "policy": [{"effect": "allow", "actions": ["*"], "resources": ["*"]}],
        }],
    }})
}

/// The access key of the harness's own user in `account` (see [`tenant_seed`]).
pub fn harness_access_key(account: &str) -> String {
    format!("AKIASB{account}HB")
}

/// What every AWS scenario gets. `irsa_unavailable`: why IRSA cannot run on this cluster.
pub fn wiring(seed: Value, issuer: &str, irsa_unavailable: Option<String>) -> Wiring {
    let mut w = Wiring {
        seed,
        ..Wiring::default()
    };
    w.parameters.insert("region".into(), REGION.into());
    w.vars.insert("awsRegion".into(), REGION.into());
    w.vars.insert("awsAccountId".into(), ACCOUNT_ID.into());
    w.vars.insert("awsOidcIssuer".into(), issuer.into());
    w.identities.insert(
        Identity::PodIdentity,
        IdentityPath {
            parameters: [("usePodIdentity".to_owned(), "true".to_owned())].into(),
            unavailable: None,
        },
    );
    // The provider's default: no `usePodIdentity` at all, as in seed 001's SecretProviderClass.
    w.identities.insert(
        Identity::Irsa,
        IdentityPath {
            parameters: Default::default(),
            unavailable: irsa_unavailable,
        },
    );
    w.default_identity = Some(Identity::PodIdentity);
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
    let api = kubectl.api().await?;
    let discovery = api.get_raw("/.well-known/openid-configuration").await?;
    let jwks = api.get_raw("/openid/v1/jwks").await?;
    Ok(Issuer {
        url: parse_issuer(&discovery)?,
        jwks: parse_jwks(&jwks)?,
    })
}

pub async fn wire(ctx: &WireCtx<'_>) -> Result<Wiring, WiringError> {
    let kubectl = ctx.kubectl;
    let aws_url = super::emulator_url("http", ctx.host, &ctx.endpoints.aws_url, 4566);
    let issuer = cluster_issuer(kubectl).await?;
    let irsa = irsa_readiness(ctx.endpoints);

    let ds = super::daemonset(kubectl, Provider::Aws, NAMESPACE, SELECTOR).await?;
    let api = kubectl.api().await?;
    let object = api
        .get(Some(NAMESPACE), "daemonsets", &ds)
        .await?
        .ok_or_else(|| bad(format!("DaemonSet {NAMESPACE}/{ds} is gone")))?;
    let containers: Vec<&str> = object["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    // A strategic merge on a missing name would add a container with no image.
    if !containers.contains(&CONTAINER) {
        return Err(bad(format!(
            "DaemonSet {NAMESPACE}/{ds} has no container {CONTAINER} (containers: {})",
            containers.join(" ")
        )));
    }
    if let Ok(ca_file) = &irsa {
        let ca = std::fs::read_to_string(ca_file).map_err(|source| WiringError::Io {
            action: "reading",
            path: ca_file.clone(),
            source,
        })?;
        api.apply(&json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CA_CONFIGMAP, "namespace": NAMESPACE},
            "data": {"ca.crt": ca},
        }))
        .await?;
    }
    let patch = daemonset_patch(
        &provider_env(&aws_url, ctx.host, irsa.is_ok()),
        irsa.is_ok().then_some(ctx.host),
    );
    api.patch_strategic(Some(NAMESPACE), "daemonsets", &ds, &patch)
        .await?;
    super::rollout(kubectl, NAMESPACE, &ds).await?;
    let irsa_unavailable = irsa.err();
    tracing::info!(daemonset = %ds, %aws_url, issuer = %issuer.url, irsa = irsa_unavailable.is_none(), "AWS provider wired to the emulator");
    Ok(wiring(seed(&issuer), &issuer.url, irsa_unavailable))
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
        let env = provider_env("http://172.18.0.1:4566", "172.18.0.1", false);
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
        // No HTTPS proxy: the provider's API-server client (and STS) must stay direct.
        assert!(!names.iter().any(|n| n.eq_ignore_ascii_case("HTTPS_PROXY")));
        assert_eq!(
            provider_env("http://[fd00::1]:4566", "fd00::1", false)[3].1,
            "fd00::1"
        );
    }

    #[test]
    fn irsa_adds_our_ca_directory_ahead_of_gos_own_and_no_bundle_override() {
        let env = provider_env("http://h:4566", "h", true);
        let dirs = &env
            .iter()
            .find(|(n, _)| *n == "SSL_CERT_DIR")
            .expect("set")
            .1;
        assert_eq!(
            dirs,
            "/etc/secretbench/aws-ca:/etc/ssl/certs:/etc/pki/tls/certs"
        );
        // SSL_CERT_FILE would replace the system bundle the image ships.
        assert!(!env.iter().any(|(n, _)| *n == "SSL_CERT_FILE"));
        assert!(
            !env.iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("HTTPS_PROXY"))
        );
    }

    #[test]
    fn the_patch_only_sets_env_on_the_provider_container_without_irsa() {
        let patch = daemonset_patch(&provider_env("http://h:4566", "h", false), None);
        let spec = &patch["spec"]["template"]["spec"];
        assert_eq!(spec.as_object().map(|o| o.len()), Some(1), "{patch}");
        let containers = &spec["containers"];
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
    fn with_irsa_the_sts_names_resolve_to_the_emulator_and_the_ca_is_mounted() {
        let patch = daemonset_patch(
            &provider_env("http://10.1.0.1:4566", "10.1.0.1", true),
            Some("10.1.0.1"),
        );
        let spec = &patch["spec"]["template"]["spec"];
        let aliases = spec["hostAliases"].as_array().expect("hostAliases");
        assert_eq!(aliases.len(), 1);
        assert_eq!(aliases[0]["ip"], "10.1.0.1");
        let names: Vec<&str> = aliases[0]["hostnames"]
            .as_array()
            .expect("names")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for wanted in [
            "sts.amazonaws.com",
            "sts.us-east-1.amazonaws.com",
            "sts.ap-northeast-1.amazonaws.com",
            "sts.us-gov-west-1.amazonaws.com",
            "sts.cn-north-1.amazonaws.com.cn",
        ] {
            assert!(names.contains(&wanted), "{wanted} missing");
        }
        // Only STS: Secrets Manager and SSM keep their endpoint variables, and the API server
        // (kubernetes.default.svc) is never redirected.
        assert!(names.iter().all(|n| n.starts_with("sts.")));
        assert_eq!(spec["volumes"][0]["configMap"]["name"], CA_CONFIGMAP);
        assert_eq!(
            spec["containers"][0]["volumeMounts"][0]["mountPath"],
            CA_DIR
        );
        assert_eq!(spec["containers"][0]["volumeMounts"][0]["readOnly"], true);
        // An IPv6 host goes in bare.
        let v6 = daemonset_patch(&[], Some("[fd00::1]"));
        assert_eq!(
            v6["spec"]["template"]["spec"]["hostAliases"][0]["ip"],
            "fd00::1"
        );
    }

    fn endpoints(https: Option<&str>) -> Endpoints {
        Endpoints {
            aws_https_url: https.map(str::to_owned),
            aws_ca_file: https.map(|_| std::path::PathBuf::from("/s/aws-ca.pem")),
            ..Endpoints::default()
        }
    }

    #[test]
    fn irsa_needs_https_on_443() {
        assert_eq!(
            irsa_readiness(&endpoints(Some("https://10.1.0.1:443"))),
            Ok(std::path::PathBuf::from("/s/aws-ca.pem"))
        );
        let e = irsa_readiness(&endpoints(Some("https://10.1.0.1:8443"))).expect_err("not 443");
        assert!(e.contains("port 8443"), "{e}");
        let e = irsa_readiness(&endpoints(None)).expect_err("no listener");
        assert!(e.contains("no HTTPS listener"), "{e}");
    }

    #[test]
    fn scenarios_get_the_region_and_pod_identity_by_default() {
        let w = wiring(seed(&issuer()), &issuer().url, None);
        assert_eq!(w.parameters["region"], "us-east-1");
        assert!(
            !w.parameters.contains_key("usePodIdentity"),
            "the identity path sets it"
        );
        assert_eq!(w.default_identity, Some(Identity::PodIdentity));
        assert_eq!(
            w.identities[&Identity::PodIdentity].parameters["usePodIdentity"],
            "true"
        );
        assert!(w.identities[&Identity::Irsa].parameters.is_empty());
        assert_eq!(w.identities[&Identity::Irsa].unavailable, None);
        assert_eq!(w.vars["awsRegion"], "us-east-1");
        assert_eq!(w.vars["awsAccountId"], "123456789012");
        assert_eq!(
            w.vars["awsOidcIssuer"],
            "https://kubernetes.default.svc.cluster.local"
        );
        assert!(w.node_publish_secret.is_none());
        assert!(w.namespace_manifests.is_empty());
        assert_eq!(
            w.seed["aws"]["roles"][0]["trust"]["issuer"],
            "https://kubernetes.default.svc.cluster.local"
        );
        let w = wiring(seed(&issuer()), "i", Some("no 443".into()));
        assert_eq!(
            w.identities[&Identity::Irsa].unavailable.as_deref(),
            Some("no 443")
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
        assert_eq!(
            section.open_id_connect_providers[0].url,
            "https://kubernetes.default.svc.cluster.local"
        );
        let trust = section.roles[0].trust.clone().expect("trust");
        assert_eq!(trust.subjects_like, ["system:serviceaccount:*:sample-app"]);
        assert!(trust.subjects.is_empty());
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
