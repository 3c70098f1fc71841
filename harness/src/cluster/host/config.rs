//! The configuration files of the host cluster, rendered as `stack/NOTES.md`
//! specifies them: containerd, CNI, kubelet, kube-proxy and the kubeconfigs. Rendering is pure;
//! [`write_all`] puts them in the state dir.

use std::path::Path;

use base64::Engine as _;

use super::{
    BRIDGE, HostError, NODE, NODE_IP, POD_CIDR, StateDir, api_server_url, io_err, write_file,
};

/// containerd 1.6 `config.toml` (version 2). `restrict_oom_score_adj`: root here lacks
/// CAP_SYS_RESOURCE, so runc cannot set the negative oom_score_adj kubelet asks for sandboxes.
pub fn containerd_toml(state: &Path, pause_image: &str) -> String {
    let s = state.display();
    format!(
        r#"version = 2
root = "{s}/containerd/root"
state = "{s}/containerd/state"
[grpc]
  address = "{s}/containerd/containerd.sock"
[ttrpc]
  address = "{s}/containerd/containerd-ttrpc.sock"
[debug]
  address = "{s}/containerd/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{s}/cni/net.d"
"#
    )
}

/// The CNI conflist: bridge (with the default route into pods: without `isDefaultGateway`
/// pods cannot reach the Service CIDR), portmap, loopback.
pub fn cni_conflist(state: &Path) -> String {
    let s = state.display();
    format!(
        r#"{{
  "cniVersion": "0.4.0",
  "name": "secretbench",
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "{BRIDGE}",
      "isGateway": true,
      "isDefaultGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {{
        "type": "host-local",
        "ranges": [[{{"subnet": "{POD_CIDR}", "gateway": "{NODE_IP}"}}]],
        "dataDir": "{s}/cni/ipam"
      }}
    }},
    {{"type": "portmap", "capabilities": {{"portMappings": true}}}},
    {{"type": "loopback"}}
  ]
}}
"#
    )
}

/// KubeletConfiguration. `syncFrequency: 10s`: kubelet republishes CSI volumes (the driver's
/// rotation with requiresRepublish) on its pod sync, so this bounds how soon rotation shows.
/// `imageGCHighThresholdPercent: 100`: the imported images cannot be pulled again.
pub fn kubelet_yaml(state: &Path) -> String {
    let s = state.display();
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{s}/containerd/containerd.sock
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {s}/pki/ca.crt}}
authorization: {{mode: Webhook}}
tlsCertFile: {s}/pki/kubelet-server.crt
tlsPrivateKeyFile: {s}/pki/kubelet-server.key
address: {NODE_IP}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
failSwapOn: false
syncFrequency: 10s
fileCheckFrequency: 10s
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
evictionHard: {{memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}}
imageGCHighThresholdPercent: 100
serializeImagePulls: false
"#
    )
}

/// KubeProxyConfiguration: iptables mode, everything on loopback or the bridge address,
/// `conntrack.maxPerCore: 0` so the machine's conntrack sysctls are left alone.
pub fn kube_proxy_yaml(state: &Path) -> String {
    let s = state.display();
    format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: {s}/kubeconfig/kube-proxy.conf}}
hostnameOverride: {NODE}
mode: iptables
clusterCIDR: {POD_CIDR}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [{NODE_IP}/32]
conntrack: {{maxPerCore: 0}}
"#
    )
}

/// A kubeconfig with embedded CA and client pair: the same document
/// `kubectl config set-cluster sb … --embed-certs; set-credentials USER …; set-context sb;
/// use-context sb` writes.
pub fn kubeconfig(
    server: &str,
    user: &str,
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> String {
    let b = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    format!(
        r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: sb
contexts:
- context:
    cluster: sb
    user: {user}
  name: sb
current-context: sb
kind: Config
preferences: {{}}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
"#,
        ca = b(ca_pem),
        cert = b(cert_pem),
        key = b(key_pem),
    )
}

/// Writes the kubeconfig of each client identity (PKI must exist).
pub async fn write_kubeconfigs(state: &StateDir) -> Result<(), HostError> {
    let read = |p: std::path::PathBuf| async move {
        tokio::fs::read(&p)
            .await
            .map_err(|e| io_err("reading", &p, e))
    };
    let ca = read(state.pki("ca.crt")).await?;
    for user in super::pki::CLIENTS {
        let cert = read(state.pki(&format!("{user}.crt"))).await?;
        let key = read(state.pki(&format!("{user}.key"))).await?;
        let doc = kubeconfig(&api_server_url(), user, &ca, &cert, &key);
        write_file(&state.kubeconfig(user), doc.as_bytes(), 0o600).await?;
    }
    Ok(())
}

/// Writes containerd, CNI, kubelet and kube-proxy configs into the state dir.
pub async fn write_all(state: &StateDir, pause_image: &str) -> Result<(), HostError> {
    let root = state.root();
    for d in ["containerd", "cni/net.d", "cni/ipam"] {
        let p = root.join(d);
        tokio::fs::create_dir_all(&p)
            .await
            .map_err(|e| io_err("creating", &p, e))?;
    }
    let files = [
        ("containerd/config.toml", containerd_toml(root, pause_image)),
        ("cni/net.d/10-secretbench.conflist", cni_conflist(root)),
        ("kubelet-config.yaml", kubelet_yaml(root)),
        ("kube-proxy-config.yaml", kube_proxy_yaml(root)),
    ];
    for (name, text) in files {
        write_file(&root.join(name), text.as_bytes(), 0o644).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "/st/host";

    #[test]
    fn containerd_points_everything_at_the_state_dir() {
        let t = containerd_toml(Path::new(S), "registry.k8s.io/pause:3.10.1");
        assert!(t.starts_with("version = 2\nroot = \"/st/host/containerd/root\"\n"));
        assert!(t.contains("  address = \"/st/host/containerd/containerd.sock\"\n"));
        assert!(t.contains("sandbox_image = \"registry.k8s.io/pause:3.10.1\""));
        assert!(t.contains("restrict_oom_score_adj = true"));
        assert!(t.contains("SystemdCgroup = false"));
        assert!(t.contains("bin_dir = \"/usr/lib/cni\"\n    conf_dir = \"/st/host/cni/net.d\"\n"));
    }

    #[test]
    fn cni_is_valid_json_with_the_bridge() {
        let v: serde_json::Value = serde_json::from_str(&cni_conflist(Path::new(S))).unwrap();
        let b = &v["plugins"][0];
        assert_eq!(b["type"], "bridge");
        assert_eq!(b["bridge"], "sbbr0");
        assert_eq!(b["isDefaultGateway"], true);
        assert_eq!(b["ipMasq"], false);
        assert_eq!(b["ipam"]["ranges"][0][0]["subnet"], "10.244.0.0/24");
        assert_eq!(b["ipam"]["ranges"][0][0]["gateway"], "10.244.0.1");
        assert_eq!(b["ipam"]["dataDir"], "/st/host/cni/ipam");
        assert_eq!(v["plugins"][1]["type"], "portmap");
        assert_eq!(v["plugins"][2]["type"], "loopback");
    }

    #[test]
    fn kubelet_and_proxy_settings() {
        let k = kubelet_yaml(Path::new(S));
        for line in [
            "failCgroupV1: false",
            "cgroupDriver: cgroupfs",
            "containerRuntimeEndpoint: unix:///st/host/containerd/containerd.sock",
            "  x509: {clientCAFile: /st/host/pki/ca.crt}",
            "address: 10.244.0.1",
            "syncFrequency: 10s",
            "imageGCHighThresholdPercent: 100",
            "readOnlyPort: 0",
        ] {
            assert!(
                k.lines().any(|l| l == line),
                "kubelet config lacks `{line}`"
            );
        }
        let p = kube_proxy_yaml(Path::new(S));
        for line in [
            "clientConnection: {kubeconfig: /st/host/kubeconfig/kube-proxy.conf}",
            "mode: iptables",
            "nodePortAddresses: [10.244.0.1/32]",
            "conntrack: {maxPerCore: 0}",
        ] {
            assert!(
                p.lines().any(|l| l == line),
                "kube-proxy config lacks `{line}`"
            );
        }
    }

    #[test]
    fn kubeconfig_embeds_base64() {
        let k = kubeconfig("https://10.244.0.1:6443", "admin", b"CA", b"CRT", b"KEY");
        assert!(k.contains("    certificate-authority-data: Q0E=\n"));
        assert!(k.contains("    server: https://10.244.0.1:6443\n"));
        assert!(k.contains(
            "- name: admin\n  user:\n    client-certificate-data: Q1JU\n    client-key-data: S0VZ\n"
        ));
        assert!(k.contains("current-context: sb\n"));
    }
}
