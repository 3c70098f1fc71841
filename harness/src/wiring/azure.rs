//! The Azure provider against the Key Vault emulator, as verified by hand in
//! docs/wiring/azure: the provider trusts the emulator's CA (a file in its Go trust directory),
//! reads a custom cloud environment (`cloudName: AzureStackCloud` + `cloudEnvFileName`), and
//! resolves the vault and login names to the emulator through `hostAliases`. Credentials are a
//! service principal in a `nodePublishSecretRef` Secret, the provider's documented default.
//!
//! `tenantId: adfs` is the Azure Stack Hub (AD FS) authority: it keeps MSAL from calling
//! instance discovery on login.microsoftonline.com:443 (the emulator listens on 8443, or
//! whichever port its ready line names: every URL below carries it).

use std::collections::BTreeMap;

use serde_json::json;

use super::emulators::AZURE_PORT;
use super::{NodePublishSecret, WireCtx, Wiring, WiringError};

/// The provider DaemonSet the chart (release `azure`) creates, and its container.
pub const DAEMONSET: &str = "azure-csi-secrets-store-provider-azure";
const CONTAINER: &str = "provider-azure-installer";
const NAMESPACE: &str = "kube-system";

/// Names the provider and the harness use for the emulated cloud.
pub const VAULT: &str = "secretbench";
pub const VAULT_SUFFIX: &str = "vault.kv.test";
pub const LOGIN_HOST: &str = "login.kv.test";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "5e0c0f7e-3c53-4a8e-9a4b-3c0de1e1a001";
pub const CLIENT_SECRET: &str = "secretbench-sp-secret";
/// Where the provider container sees the cloud environment file and the CA.
pub const ENV_FILE: &str = "/etc/kubernetes/secretbench-azure-env.json";
const CA_FILE: &str = "/etc/ssl/certs/secretbench-emulator-ca.crt";
const CA_CONFIGMAP: &str = "secretbench-emulator-ca";
const ENV_CONFIGMAP: &str = "secretbench-azure-cloudenv";
/// The Secret each scenario namespace gets for `nodePublishSecretRef`.
pub const CREDS_SECRET: &str = "secretbench-azure-creds";
/// The pod template annotation that follows the emulator's port.
const PORT_ANNOTATION: &str = "secretbench/azure-emulator-port";

/// Every name the provider resolves to the emulator: the login host, the wiring's vault and
/// the case vaults.
pub fn hostnames() -> Vec<String> {
    let mut names = vec![vault_host(VAULT), LOGIN_HOST.to_owned()];
    names.extend((0..CASE_VAULTS).map(|slot| vault_host(&case_vault(slot))));
    names
}

pub fn vault_host(vault: &str) -> String {
    format!("{vault}.{VAULT_SUFFIX}")
}

/// The custom cloud: AD FS login and the vault DNS suffix, both on the emulator's port.
pub fn cloud_env(port: u16) -> serde_json::Value {
    json!({
        "name": "AzureStackCloud",
        "activeDirectoryEndpoint": format!("https://{LOGIN_HOST}:{port}/"),
        "resourceManagerEndpoint": format!("https://management.kv.test:{port}/"),
        "keyVaultEndpoint": format!("https://{VAULT_SUFFIX}:{port}/"),
        "keyVaultDNSSuffix": format!("{VAULT_SUFFIX}:{port}"),
    })
}

/// The emulator seed: one principal (used by the provider and by the harness's own writes)
/// and the vault `secretbench`, challenging with the AD FS authority on the emulator's `port`.
pub fn seed(port: u16) -> serde_json::Value {
    json!({"azure": {
        "loginHost": LOGIN_HOST,
        "principals": [{
            "clientId": CLIENT_ID,
            "tenantId": TENANT,
            "clientSecret": CLIENT_SECRET,
        }],
        "vaults": [{
            "name": VAULT,
            "suffix": VAULT_SUFFIX,
            "tenantId": TENANT,
            "authority": format!("https://{LOGIN_HOST}:{port}/adfs"),
            // The Azure provider (v1.8.2, pkg/provider/provider.go getSecret/getKey/
            // getCertificate and getKeyVaultObjectVersions) reads with "get" per object type
            // (`secret`, `key`, `cert`) and lists versions with "list" for
            // `objectVersionHistory`; the harness, the same principal, also imports
            // certificates and creates keys.
            "accessPolicies": [{
                "objectId": CLIENT_ID,
                "permissions": {
                    "secrets": ["get", "list", "set", "delete"],
                    "keys": ["get", "list", "create", "import", "delete"],
                    "certificates": ["get", "list", "create", "import", "delete"],
                },
            }],
        }],
    }})
}

/// How many cases can have a vault of their own at once: their names must resolve in the
/// provider's pods, whose `hostAliases` are fixed when the wiring patches the DaemonSet, so the
/// names are a fixed pool ([`case_vault`]) and `--jobs` is capped at its size.
pub const CASE_VAULTS: usize = 16;

/// The vault of concurrent case slot `slot` (below [`CASE_VAULTS`]).
pub fn case_vault(slot: usize) -> String {
    format!("{VAULT}-{slot}")
}

/// One case's own vault (a tenant): the wiring's vault under the case's name, with the same
/// authority and access policy; the principal and login host are shared by every vault.
pub fn tenant_seed(wiring_seed: &serde_json::Value, vault: &str) -> serde_json::Value {
    let mut vaults = wiring_seed["azure"]["vaults"].clone();
    if let Some(list) = vaults.as_array_mut() {
        list.truncate(1);
        for v in list {
            v["name"] = json!(vault);
        }
    }
    json!({"azure": {"vaults": vaults}})
}

/// Strategic-merge patch of the provider DaemonSet: the CA and environment file mounted from
/// ConfigMaps, and the emulated names resolving to `host`. The environment file is mounted
/// with `subPath`, which the kubelet never refreshes, so the pods carry the emulator's `port`
/// as an annotation: when the port (and so the file) changes, the pods are replaced.
pub fn daemonset_patch(host: &str, port: u16) -> serde_json::Value {
    json!({"spec": {"template": {
        "metadata": {"annotations": {PORT_ANNOTATION: port.to_string()}},
        "spec": {
        "hostAliases": [{"ip": host, "hostnames": hostnames()}],
        "volumes": [
            {"name": CA_CONFIGMAP, "configMap": {"name": CA_CONFIGMAP}},
            {"name": ENV_CONFIGMAP, "configMap": {"name": ENV_CONFIGMAP}},
        ],
        "containers": [{
            "name": CONTAINER,
            "volumeMounts": [
                {"name": CA_CONFIGMAP, "mountPath": CA_FILE, "subPath": "ca.crt", "readOnly": true},
                {"name": ENV_CONFIGMAP, "mountPath": ENV_FILE, "subPath": "env.json", "readOnly": true},
            ],
        }],
    }}}})
}

pub async fn wire(ctx: &WireCtx<'_>) -> Result<Wiring, WiringError> {
    let port = super::ready_port(&ctx.endpoints.azure_url, AZURE_PORT);
    let ca = std::fs::read_to_string(&ctx.endpoints.azure_ca_file).map_err(|source| {
        WiringError::Io {
            action: "reading",
            path: ctx.endpoints.azure_ca_file.clone(),
            source,
        }
    })?;
    let configmaps = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": CA_CONFIGMAP, "namespace": NAMESPACE},
         "data": {"ca.crt": ca}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": ENV_CONFIGMAP, "namespace": NAMESPACE},
         "data": {"env.json": cloud_env(port).to_string()}},
    ]});
    let api = ctx.kubectl.api().await?;
    api.apply(&configmaps).await?;
    api.patch_strategic(
        Some(NAMESPACE),
        "daemonsets",
        DAEMONSET,
        &daemonset_patch(ctx.host, port),
    )
    .await?;
    super::rollout(ctx.kubectl, NAMESPACE, DAEMONSET).await?;
    Ok(Wiring {
        parameters: BTreeMap::from([
            ("tenantId".to_owned(), "adfs".to_owned()),
            ("cloudName".to_owned(), "AzureStackCloud".to_owned()),
            ("cloudEnvFileName".to_owned(), ENV_FILE.to_owned()),
            ("keyvaultName".to_owned(), VAULT.to_owned()),
        ]),
        vars: BTreeMap::from([
            ("azureTenantId".to_owned(), "adfs".to_owned()),
            ("azureVault".to_owned(), VAULT.to_owned()),
        ]),
        seed: seed(port),
        node_publish_secret: Some(NodePublishSecret {
            name: CREDS_SECRET.to_owned(),
            string_data: BTreeMap::from([
                ("clientid".to_owned(), CLIENT_ID.to_owned()),
                ("clientsecret".to_owned(), CLIENT_SECRET.to_owned()),
            ]),
        }),
        namespace_manifests: Vec::new(),
        ..Wiring::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_parses_with_the_emulators_parser() {
        let doc = secretbench_emulators::core::seed::parse(&seed(8443).to_string()).unwrap();
        assert!(doc.contains_key("azure"));
    }

    #[test]
    fn patch_points_names_at_the_host_and_mounts_both_files() {
        let p = daemonset_patch("10.244.0.1", 18443);
        assert_eq!(
            p["spec"]["template"]["metadata"]["annotations"][PORT_ANNOTATION], "18443",
            "a new port replaces the pods, which read the env file once"
        );
        let spec = &p["spec"]["template"]["spec"];
        assert_eq!(spec["hostAliases"][0]["ip"], "10.244.0.1");
        assert_eq!(
            spec["hostAliases"][0]["hostnames"][0],
            "secretbench.vault.kv.test"
        );
        assert_eq!(spec["containers"][0]["name"], CONTAINER);
        assert_eq!(
            spec["containers"][0]["volumeMounts"][1]["mountPath"],
            ENV_FILE
        );
        assert_eq!(cloud_env(8443)["keyVaultDNSSuffix"], "vault.kv.test:8443");
        assert_eq!(
            cloud_env(18443)["activeDirectoryEndpoint"],
            "https://login.kv.test:18443/"
        );
        assert_eq!(
            seed(18443)["azure"]["vaults"][0]["authority"],
            "https://login.kv.test:18443/adfs"
        );
    }
}
