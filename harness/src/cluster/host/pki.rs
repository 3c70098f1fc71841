//! The cluster's certificates, made with the `openssl` command exactly as stack/NOTES.md specifies
//! them (one CA, RSA 2048, the same subjects, extensions and SANs).
//!
//! Why openssl and not rcgen: rcgen cannot generate RSA keys (only sign with them), so
//! matching the RSA 2048 keys NOTES.md specifies would need a second crypto crate (`rsa` or aws-lc-rs)
//! and minutes of compile time on 2 cores; openssl is already a prerequisite of the stack,
//! and calling it like the script makes the certificates identical in form by construction.
//! PKI is made once per state dir and kept across `down` (as NOTES.md specifies).

use super::{API_SERVICE_IP, HostError, NODE, NODE_IP, StateDir, io_err};
use crate::cmd::Cmd;

/// Client identities that get a kubeconfig.
pub const CLIENTS: &[&str] = &[
    "admin",
    "controller-manager",
    "scheduler",
    "kube-proxy",
    "kubelet",
];

/// One certificate signed by the cluster CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    pub name: &'static str,
    pub cn: String,
    pub org: Option<&'static str>,
    /// SANs; a cert with SANs is a serving cert (serverAuth + clientAuth).
    pub san: Option<String>,
}

/// Every certificate the cluster needs (stack/NOTES.md), in order.
pub fn cert_specs() -> Vec<CertSpec> {
    let c = |name, cn: &str, org, san: Option<String>| CertSpec {
        name,
        cn: cn.to_owned(),
        org,
        san,
    };
    vec![
        c(
            "apiserver",
            "kube-apiserver",
            None,
            Some(format!(
                "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,\
                 DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,\
                 IP:{API_SERVICE_IP},IP:{NODE_IP}"
            )),
        ),
        c(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            Some("system:masters"),
            None,
        ),
        c("admin", "kubernetes-admin", Some("system:masters"), None),
        c(
            "controller-manager",
            "system:kube-controller-manager",
            None,
            None,
        ),
        c("scheduler", "system:kube-scheduler", None, None),
        c("kube-proxy", "system:kube-proxy", None, None),
        c(
            "kubelet",
            &format!("system:node:{NODE}"),
            Some("system:nodes"),
            None,
        ),
        c(
            "kubelet-server",
            NODE,
            None,
            Some(format!("DNS:{NODE},IP:{NODE_IP},IP:127.0.0.1")),
        ),
    ]
}

impl CertSpec {
    /// `-subj` argument: `/CN=…[/O=…]`.
    pub fn subject(&self) -> String {
        match self.org {
            Some(o) => format!("/CN={}/O={o}", self.cn),
            None => format!("/CN={}", self.cn),
        }
    }

    /// The openssl extension file for a certificate's SANs.
    pub fn extfile(&self) -> String {
        let mut s = String::from(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
        );
        match &self.san {
            Some(san) => {
                s.push_str("extendedKeyUsage=serverAuth,clientAuth\n");
                s.push_str(&format!("subjectAltName={san}\n"));
            }
            None => s.push_str("extendedKeyUsage=clientAuth\n"),
        }
        s
    }
}

/// Makes the CA, the service-account key pair, every cert and the kubeconfigs, unless the
/// CA already exists. Returns whether anything was made.
pub async fn ensure(state: &StateDir) -> Result<bool, HostError> {
    if state.pki("ca.crt").is_file() {
        if !state.kubeconfig("admin").is_file() {
            super::config::write_kubeconfigs(state).await?;
        }
        return Ok(false);
    }
    for d in [state.root().join("pki"), state.root().join("kubeconfig")] {
        tokio::fs::create_dir_all(&d)
            .await
            .map_err(|e| io_err("creating", &d, e))?;
    }
    Cmd::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(state.pki("ca.key"))
        .arg("-out")
        .arg(state.pki("ca.crt"))
        .args(["-days", "3650", "-subj", "/CN=secretbench-ca"])
        .output()
        .await?;
    Cmd::new("openssl")
        .args(["genrsa", "-out"])
        .arg(state.pki("sa.key"))
        .arg("2048")
        .output()
        .await?;
    Cmd::new("openssl")
        .args(["rsa", "-in"])
        .arg(state.pki("sa.key"))
        .arg("-pubout")
        .arg("-out")
        .arg(state.pki("sa.pub"))
        .output()
        .await?;
    for spec in cert_specs() {
        sign(state, &spec).await?;
    }
    super::config::write_kubeconfigs(state).await?;
    Ok(true)
}

async fn sign(state: &StateDir, spec: &CertSpec) -> Result<(), HostError> {
    let n = spec.name;
    let csr = state.pki(&format!("{n}.csr"));
    let ext = state.pki(&format!("{n}.ext"));
    Cmd::new("openssl")
        .args(["req", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(state.pki(&format!("{n}.key")))
        .arg("-out")
        .arg(&csr)
        .arg("-subj")
        .arg(spec.subject())
        .output()
        .await?;
    super::write_file(&ext, spec.extfile().as_bytes(), 0o644).await?;
    Cmd::new("openssl")
        .args(["x509", "-req", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(state.pki("ca.crt"))
        .arg("-CAkey")
        .arg(state.pki("ca.key"))
        .arg("-CAcreateserial")
        .arg("-out")
        .arg(state.pki(&format!("{n}.crt")))
        .args(["-days", "3650", "-extfile"])
        .arg(&ext)
        .output()
        .await?;
    for p in [csr, ext] {
        tokio::fs::remove_file(&p)
            .await
            .map_err(|e| io_err("removing", &p, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_match_host_ref() {
        let specs = cert_specs();
        assert_eq!(specs.len(), 8);
        let admin = specs.iter().find(|s| s.name == "admin").unwrap();
        assert_eq!(admin.subject(), "/CN=kubernetes-admin/O=system:masters");
        assert_eq!(
            admin.extfile(),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
        );
        let kubelet = specs.iter().find(|s| s.name == "kubelet").unwrap();
        assert_eq!(
            kubelet.subject(),
            "/CN=system:node:secretbench/O=system:nodes"
        );
        let api = specs.iter().find(|s| s.name == "apiserver").unwrap();
        assert_eq!(api.subject(), "/CN=kube-apiserver");
        assert!(
            api.extfile()
                .contains("extendedKeyUsage=serverAuth,clientAuth\n")
        );
        assert!(api.extfile().contains(
            "subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:10.96.0.1,IP:10.244.0.1\n"
        ));
        let ks = specs.iter().find(|s| s.name == "kubelet-server").unwrap();
        assert_eq!(
            ks.san.as_deref(),
            Some("DNS:secretbench,IP:10.244.0.1,IP:127.0.0.1")
        );
        for c in CLIENTS {
            assert!(specs.iter().any(|s| s.name == *c), "no cert for client {c}");
        }
    }
}
