//! What `up` changes outside the state dir and how `down` undoes it: the bookkeeping
//! (which global paths existed before, the sysctls' values before) taken at `up`, and the
//! unmounting, cgroup removal, path removal and sysctl restore done at `down`.

use std::path::{Path, PathBuf};

use super::{HostError, KUBELET_DIR, StateDir, io_err, write_file};
use crate::cmd::Cmd;

/// Paths outside the state dir that the cluster creates (kubelet, containerd, CNI, the
/// driver chart's hostPaths); `down` removes those that did not exist before `up`.
pub const GLOBAL_PATHS: &[&str] = &[
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/log/containers",
    "/var/lib/cni",
    "/run/containerd",
    "/run/netns",
    "/var/run/secrets-store-csi-providers",
    "/etc/kubernetes",
];

/// Sysctls that kubelet (protectKernelDefaults=false), kube-proxy and the bridge plugin change.
pub const SYSCTLS: &[&str] = &[
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
];

/// `/proc/sys/…` for a dotted sysctl name.
pub fn sysctl_path(key: &str) -> PathBuf {
    Path::new("/proc/sys").join(key.replace('.', "/"))
}

/// `key=value` lines (the format kept in `sysctl.orig`).
pub fn render_sysctls(values: &[(String, String)]) -> String {
    values.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

pub fn parse_sysctls(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| SYSCTLS.contains(&k.as_str()))
        .collect()
}

/// The global paths to remove at `down`: those not listed in `preexisting`.
pub fn paths_to_remove(preexisting: &str) -> Vec<&'static str> {
    GLOBAL_PATHS
        .iter()
        .copied()
        .filter(|p| !preexisting.lines().any(|l| l == *p))
        .collect()
}

/// Records, before `up` changes anything, which global paths exist and the sysctls' values.
pub async fn snapshot(state: &StateDir) -> Result<(), HostError> {
    let existing: String = GLOBAL_PATHS
        .iter()
        .filter(|p| Path::new(p).exists())
        .map(|p| format!("{p}\n"))
        .collect();
    write_file(
        &state.root().join("preexisting"),
        existing.as_bytes(),
        0o644,
    )
    .await?;
    let mut values = Vec::new();
    for key in SYSCTLS {
        // Like `sysctl -e`: a key this kernel does not have is skipped.
        if let Ok(v) = tokio::fs::read_to_string(sysctl_path(key)).await {
            values.push(((*key).to_owned(), v.trim().to_owned()));
        }
    }
    write_file(
        &state.root().join("sysctl.orig"),
        render_sysctls(&values).as_bytes(),
        0o644,
    )
    .await
}

/// Writes back the sysctls recorded at `up` (only those that differ now).
pub async fn restore_sysctls(state: &StateDir) {
    let Ok(text) = tokio::fs::read_to_string(state.root().join("sysctl.orig")).await else {
        return;
    };
    for (key, value) in parse_sysctls(&text) {
        let p = sysctl_path(&key);
        let now = tokio::fs::read_to_string(&p).await.unwrap_or_default();
        if now.trim() != value
            && let Err(e) = tokio::fs::write(&p, format!("{value}\n")).await
        {
            tracing::warn!(%key, %value, error = %e, "could not restore sysctl");
        }
    }
}

/// Removes the global paths that did not exist before `up` (nothing when there is no record:
/// without it we cannot tell what was there before).
pub async fn remove_global_paths(state: &StateDir) {
    let Ok(pre) = tokio::fs::read_to_string(state.root().join("preexisting")).await else {
        tracing::warn!("no record of pre-existing paths: leaving the global paths alone");
        return;
    };
    for p in paths_to_remove(&pre) {
        match tokio::fs::remove_dir_all(p).await {
            Ok(()) => tracing::debug!(path = p, "removed"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(path = p, error = %e, "could not remove"),
        }
    }
}

/// Mount targets from /proc/self/mounts, octal escapes (`\040` for a space) decoded.
pub fn parse_mount_targets(mounts: &str) -> Vec<String> {
    mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .map(unescape_octal)
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mounts `down` removes: at or under the kubelet dir, `/run/netns` or the state dir,
/// deepest first (reverse lexical order puts a child before its parent), without repeats.
pub fn mounts_to_remove(targets: &[String], state: &Path) -> Vec<String> {
    let state = state.to_string_lossy();
    let roots = [KUBELET_DIR, "/run/netns", state.as_ref()];
    let under = |t: &str| {
        roots
            .iter()
            .any(|r| t == *r || t.strip_prefix(*r).is_some_and(|rest| rest.starts_with('/')))
    };
    let mut v: Vec<String> = targets.iter().filter(|t| under(t)).cloned().collect();
    v.sort();
    v.dedup();
    v.reverse();
    v
}

/// Unmounts pod volumes, the kubelet bind mount, network namespaces, container rootfs and
/// shm mounts; repeats while a pass makes progress (stacked mounts on one target).
pub async fn unmount_all(state: &StateDir) {
    for _ in 0..5 {
        let Ok(text) = tokio::fs::read_to_string("/proc/self/mounts").await else {
            return;
        };
        let todo = mounts_to_remove(&parse_mount_targets(&text), state.root());
        if todo.is_empty() {
            return;
        }
        for m in &todo {
            if !Cmd::new("umount").arg(m).succeeds().await
                && !Cmd::new("umount").args(["-l", m]).succeeds().await
            {
                tracing::warn!(mount = %m, "could not unmount");
            }
        }
    }
}

/// Removes kubelet's `kubepods` cgroup tree in every cgroup v1 hierarchy (deepest first;
/// only empty cgroups can be removed, which they are once every container is gone).
pub async fn remove_cgroups() -> Result<(), HostError> {
    let base = Path::new("/sys/fs/cgroup");
    let mut hierarchies = match tokio::fs::read_dir(base).await {
        Ok(d) => d,
        Err(e) => return Err(io_err("listing", base, e)),
    };
    while let Ok(Some(h)) = hierarchies.next_entry().await {
        let top = h.path().join("kubepods");
        if !top.is_dir() {
            continue;
        }
        let mut dirs = vec![top.clone()];
        let mut i = 0;
        while i < dirs.len() {
            if let Ok(mut rd) = tokio::fs::read_dir(&dirs[i]).await {
                while let Ok(Some(e)) = rd.next_entry().await {
                    if e.file_type().await.is_ok_and(|t| t.is_dir()) {
                        dirs.push(e.path());
                    }
                }
            }
            i += 1;
        }
        for d in dirs.iter().rev() {
            if let Err(e) = tokio::fs::remove_dir(d).await {
                tracing::debug!(dir = %d.display(), error = %e, "rmdir");
            }
        }
    }
    Ok(())
}

/// Cluster data that does not survive `down`; PKI, kubeconfigs, logs and the containerd
/// root (with the imported images, so the next `up` skips the import) are kept.
pub const DROPPED_AT_DOWN: &[&str] = &[
    "etcd",
    "containerd/state",
    "cni/ipam",
    "pids",
    "up",
    "helm",
    "install",
];

pub async fn remove_cluster_data(state: &StateDir) {
    for rel in DROPPED_AT_DOWN {
        let p = state.root().join(rel);
        let r = if p.is_dir() {
            tokio::fs::remove_dir_all(&p).await
        } else {
            tokio::fs::remove_file(&p).await
        };
        if let Err(e) = r
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %p.display(), error = %e, "could not remove");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_roundtrip_and_paths() {
        let v = vec![
            ("net.ipv4.ip_forward".to_owned(), "0".to_owned()),
            ("kernel.panic".to_owned(), "1".to_owned()),
        ];
        let text = render_sysctls(&v);
        assert_eq!(text, "net.ipv4.ip_forward=0\nkernel.panic=1\n");
        assert_eq!(parse_sysctls(&text), v);
        // `sysctl` output with ` = ` separators parses too; unknown keys are ignored.
        assert_eq!(
            parse_sysctls("kernel.panic = 1\nfs.evil=1\n"),
            vec![("kernel.panic".to_owned(), "1".to_owned())]
        );
        assert_eq!(
            sysctl_path("net.bridge.bridge-nf-call-iptables"),
            Path::new("/proc/sys/net/bridge/bridge-nf-call-iptables")
        );
    }

    #[test]
    fn removes_only_paths_that_were_not_there() {
        let r = paths_to_remove("/var/lib/kubelet\n/etc/kubernetes\n");
        assert!(!r.contains(&"/var/lib/kubelet"));
        assert!(!r.contains(&"/etc/kubernetes"));
        assert!(r.contains(&"/run/netns"));
        assert_eq!(paths_to_remove("").len(), GLOBAL_PATHS.len());
        // A prefix is not a match.
        assert!(paths_to_remove("/var/lib/kubelet/pods\n").contains(&"/var/lib/kubelet"));
    }

    #[test]
    fn picks_mounts_deepest_first() {
        let mounts = "proc /proc proc rw 0 0\n\
            /dev/sda1 /var/lib/kubelet ext4 rw 0 0\n\
            tmpfs /var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/s\\040x/mount tmpfs rw 0 0\n\
            /dev/sda1 /var/lib/kubelet ext4 rw 0 0\n\
            nsfs /run/netns/cni-1 nsfs rw 0 0\n\
            tmpfs /run/netns tmpfs rw 0 0\n\
            overlay /st/host/containerd/state/x/rootfs overlay rw 0 0\n\
            /dev/sda1 /var/lib/kubelet-other ext4 rw 0 0\n\
            /dev/sda1 /st/hostile ext4 rw 0 0\n";
        let t = parse_mount_targets(mounts);
        assert!(
            t.contains(&"/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/s x/mount".to_owned())
        );
        assert_eq!(
            mounts_to_remove(&t, Path::new("/st/host")),
            vec![
                "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/s x/mount",
                "/var/lib/kubelet",
                "/st/host/containerd/state/x/rootfs",
                "/run/netns/cni-1",
                "/run/netns",
            ]
        );
    }
}
