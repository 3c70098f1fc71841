//! The probe `up` runs before installing anything: a pod connects to the address the
//! emulators will be advertised at, where the harness listens for the moment on the address
//! they will listen on. A setup whose pods cannot reach this machine (a host firewall such as
//! UFW dropping bridge-to-host traffic, a rootless network driver that does not carry the
//! connection) then fails `up` with what to change, instead of every provider timing out later.
//!
//! The pod runs the plan's shell image (`SHELL_IMAGE`, busybox) with its `wget`; the harness
//! answers with a one-off token, so only a real round trip to this listener counts.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::kubectl::Kubectl;
use crate::wait::{self, Poll};

pub const POD: &str = "secretbench-probe";
pub const NAMESPACE: &str = "default";
/// busybox `wget -T`: how long the pod waits for the connection.
const CONNECT_TIMEOUT_SECS: u32 = 5;

/// How the probe went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Reached,
    /// No answer at all: packets dropped on the way (a firewall's DROP).
    TimedOut(String),
    /// Refused or unreachable: a firewall's REJECT, or nothing there.
    Refused(String),
    /// The pod did not get to try (its image could not be pulled, scheduling): unknown.
    NotRun(String),
}

/// What the pod's log says, given the token the listener answers with.
pub fn classify(log: &str, token: &str) -> Outcome {
    let last = log.trim().to_owned();
    if log.contains(token) {
        Outcome::Reached
    } else if log.contains("timed out") {
        Outcome::TimedOut(last)
    } else {
        // busybox: "can't connect to remote host (ADDR): Connection refused" / "No route to
        // host" (firewalld's icmp-host-prohibited) / "Host is unreachable".
        Outcome::Refused(last)
    }
}

/// The probe pod: `wget` of `url`, once.
pub fn pod(image: &str, url: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": POD,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "secretbench"},
        },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 0,
            "containers": [{
                "name": "probe",
                "image": image,
                "command": ["wget", "-T", CONNECT_TIMEOUT_SECS.to_string(), "-q", "-O", "-", url],
            }],
        },
    })
}

/// Answers every connection with `token` as a tiny HTTP response, until dropped.
struct Listener {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen(ip: IpAddr, token: String) -> std::io::Result<Listener> {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let token = token.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await;
                let reply = format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{token}",
                    token.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    Ok(Listener { port, task })
}

fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("secretbench-probe-{}-{nanos}", std::process::id())
}

/// `http://ADDR:PORT/` with brackets for IPv6.
fn url(advertise: IpAddr, port: u16) -> String {
    format!("http://{}/", std::net::SocketAddr::new(advertise, port))
}

/// Listens on `bind` (an ephemeral port), has a pod fetch from `advertise` on that port, and
/// says what happened. `limit` bounds the whole wait, image pull included.
pub async fn run(
    kubectl: &Kubectl,
    image: &str,
    bind: IpAddr,
    advertise: IpAddr,
    limit: Duration,
) -> Result<(u16, Outcome), super::KindError> {
    let token = token();
    let listener = listen(bind, token.clone())
        .await
        .map_err(|source| super::KindError::Listen { ip: bind, source })?;
    let port = listener.port;
    remove(kubectl, true).await;
    kubectl
        .apply_json(&pod(image, &url(advertise, port)))
        .await?;
    let finished = wait::until_poll(
        &format!("probe pod {NAMESPACE}/{POD}"),
        limit,
        Duration::from_secs(1),
        || async {
            let state = kubectl
                .run([
                    "-n",
                    NAMESPACE,
                    "get",
                    "pod",
                    POD,
                    "-o",
                    "jsonpath={.status.phase} {.status.containerStatuses[0].state.waiting.reason}",
                ])
                .await
                .unwrap_or_default();
            let state = state.trim().to_owned();
            Ok::<_, wait::Timeout>(match state.split_whitespace().next() {
                Some("Succeeded" | "Failed") => Poll::Done(()),
                _ => Poll::NotYet(state),
            })
        },
    )
    .await;
    let outcome = match finished {
        Err(timeout) => Outcome::NotRun(timeout.to_string()),
        Ok(()) => {
            let log = kubectl
                .run(["-n", NAMESPACE, "logs", POD])
                .await
                .unwrap_or_default();
            classify(&log, &token)
        }
    };
    remove(kubectl, false).await;
    drop(listener);
    Ok((port, outcome))
}

async fn remove(kubectl: &Kubectl, wait: bool) {
    let _ = kubectl
        .cmd([
            "-n",
            NAMESPACE,
            "delete",
            "pod",
            POD,
            "--ignore-not-found",
            if wait { "--wait=true" } else { "--wait=false" },
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .await;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What a client gets from `GET /` on loopback `port` (the whole reply, headers included).
    pub(crate) async fn fetch(port: u16) -> String {
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        c.read_to_string(&mut reply).await.unwrap();
        reply
    }

    #[test]
    fn busybox_wget_outcomes() {
        let t = "secretbench-probe-1-2";
        assert_eq!(classify("secretbench-probe-1-2", t), Outcome::Reached);
        // busybox 1.29 wget (e2e-test-images/busybox:1.29-4), libbb/xconnect.c and
        // networking/wget.c messages.
        assert!(matches!(
            classify("wget: download timed out\n", t),
            Outcome::TimedOut(_)
        ));
        assert!(matches!(
            classify(
                "wget: can't connect to remote host (172.18.0.1): Connection refused\n",
                t
            ),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            classify(
                "wget: can't connect to remote host (172.18.0.1): No route to host\n",
                t
            ),
            Outcome::Refused(_)
        ));
        assert!(
            matches!(classify("secretbench-probe-9-9", t), Outcome::Refused(_)),
            "another listener's answer is not ours"
        );
    }

    #[test]
    fn the_pod_fetches_the_advertised_address() {
        let p = pod(
            "registry.k8s.io/e2e-test-images/busybox:1.29-4",
            &url("fd00::2".parse().unwrap(), 4566),
        );
        let c = &p["spec"]["containers"][0];
        assert_eq!(c["image"], "registry.k8s.io/e2e-test-images/busybox:1.29-4");
        assert_eq!(
            c["command"],
            json!(["wget", "-T", "5", "-q", "-O", "-", "http://[fd00::2]:4566/"])
        );
        assert_eq!(p["spec"]["restartPolicy"], "Never");
    }

    #[tokio::test]
    async fn the_listener_answers_with_the_token() {
        let l = listen("127.0.0.1".parse().unwrap(), "tok-1".into())
            .await
            .unwrap();
        let reply = fetch(l.port).await;
        assert!(reply.starts_with("HTTP/1.0 200 OK\r\n"), "{reply}");
        assert!(reply.ends_with("\r\n\r\ntok-1"), "{reply}");
    }
}
