//! An emulator seed's `vault` section applied to a real Vault server through its HTTP API, the
//! calls a user makes (`vault secrets enable`, `vault policy write`, `vault auth enable`,
//! `vault write auth/<path>/config|role/<name>`, `vault kv put`), so the scenarios' wiring is
//! one document for both backends.
//!
//! Endpoints (hashicorp/vault v1.21.1 `website/content/api-docs`): `system/mounts.mdx`,
//! `system/policies.mdx`, `system/auth.mdx`, `auth/token.mdx`, `auth/kubernetes.mdx`,
//! `secret/kv/kv-v1.mdx`, `secret/kv/kv-v2.mdx`.

use secretbench_emulators::vault::seed::VaultSeed;
use serde_json::{Map, Value, json};

use super::RealVaultError;
use super::api::VaultApi;

fn bad(message: String) -> RealVaultError {
    RealVaultError::Seed(message)
}

/// The seed's `vault` section of a seed document (`{"vault": {...}}`), or `None` without one.
pub fn section(doc: &Value) -> Result<Option<VaultSeed>, RealVaultError> {
    match doc.get("vault") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| bad(format!("the seed's vault section: {e}"))),
    }
}

/// Applies `seed` in the order the emulator does: mounts, KV data, policies, tokens, auth.
pub async fn apply(api: &VaultApi, seed: &VaultSeed) -> Result<(), RealVaultError> {
    if seed.root_token.is_some() {
        return Err(bad(
            "rootToken: a real server's root token is fixed when it starts (-dev-root-token-id)"
                .into(),
        ));
    }
    for m in &seed.mounts {
        let mut body = json!({"type": m.kind, "description": m.description});
        if let Some(v) = m.version {
            body["options"] = json!({"version": v.to_string()});
        }
        api.write(&format!("sys/mounts/{}", m.path.trim_matches('/')), &body)
            .await?;
    }
    for kv in &seed.kv {
        let mount = kv.mount.trim_matches('/');
        let mut versions: Vec<&Map<String, Value>> = kv.versions.iter().collect();
        versions.extend(kv.data.as_ref());
        if versions.is_empty() {
            return Err(bad(format!("kv entry {}: give data or versions", kv.path)));
        }
        let info = api.read(&format!("sys/mounts/{mount}")).await?;
        let v2 = info["data"]["options"]["version"] == "2" || info["options"]["version"] == "2";
        for data in versions {
            if v2 {
                api.write(
                    &format!("{mount}/data/{}", kv.path),
                    &json!({ "data": data }),
                )
                .await?;
            } else {
                api.write(
                    &format!("{mount}/{}", kv.path),
                    &Value::Object(data.clone()),
                )
                .await?;
            }
        }
    }
    for p in &seed.policies {
        api.write(
            &format!("sys/policies/acl/{}", p.name),
            &json!({ "policy": p.rules }),
        )
        .await?;
    }
    for t in &seed.tokens {
        let mut body = json!({
            "id": t.id,
            "policies": t.policies,
            "renewable": t.renewable.unwrap_or(true),
        });
        if let Some(ttl) = &t.ttl {
            body["ttl"] = json!(ttl);
        }
        api.write("auth/token/create-orphan", &body).await?;
    }
    if !seed.auth.is_empty() {
        let enabled = api.read("sys/auth").await?;
        for a in &seed.auth {
            let path = a.path.trim_matches('/');
            if enabled["data"].get(format!("{path}/")).is_none() {
                api.write(&format!("sys/auth/{path}"), &json!({ "type": a.kind }))
                    .await?;
            }
            if let Some(c) = &a.config {
                api.write(
                    &format!("auth/{path}/config"),
                    &json!({
                        "kubernetes_host": c.kubernetes_host,
                        "kubernetes_ca_cert": c.kubernetes_ca_cert,
                        "token_reviewer_jwt": c.token_reviewer_jwt,
                        "disable_local_ca_jwt": c.disable_local_ca_jwt,
                    }),
                )
                .await?;
            }
            for r in &a.roles {
                let mut body = json!({
                    "bound_service_account_names": r.bound_service_account_names,
                    "bound_service_account_namespaces": r.bound_service_account_namespaces,
                    "token_policies": r.policies,
                });
                if !r.audience.is_empty() {
                    body["audience"] = json!(r.audience);
                }
                if let Some(ttl) = &r.ttl {
                    body["token_ttl"] = json!(ttl);
                }
                api.write(&format!("auth/{path}/role/{}", r.name), &body)
                    .await?;
            }
        }
    }
    Ok(())
}
