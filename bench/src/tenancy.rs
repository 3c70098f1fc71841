//! Tenants at scale: the time and memory to create many Vault namespaces and AWS accounts with
//! one secret each (one tenant-scoped seed per tenant through the admin API, one keep-alive
//! connection), then to read every tenant's secret back over the wire as its own client would
//! (`X-Vault-Namespace`; SigV4 credentials of a user in the account), in memory and with a state
//! dir (where every seed is written to disk before it is answered).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::{Emulator, Endpoint, Failure, Target, VAULT_TOKEN};

/// One keep-alive connection and the admin token.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
    admin: String,
}

impl Client {
    async fn new(endpoint: &Endpoint, emulator: &Emulator) -> Result<Self, Failure> {
        Ok(Self {
            sender: endpoint.connect().await?,
            host: endpoint.host.clone(),
            admin: emulator.ready["adminToken"]
                .as_str()
                .map(|t| format!("Bearer {t}"))
                .unwrap_or_default(),
        })
    }

    async fn send(
        &mut self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<(u16, Bytes), Failure> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.host.as_str());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.sender.ready().await?;
        let response = self
            .sender
            .send_request(req.body(Full::new(Bytes::from(body)))?)
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }

    async fn seed(&mut self, tenant: &str, doc: String) -> Result<(), Failure> {
        let admin = self.admin.clone();
        let (status, body) = self
            .send(
                http::Method::POST,
                &format!("/_secretbench/seed?tenant={tenant}"),
                &[("authorization", admin.as_str())],
                doc,
            )
            .await?;
        if status != 200 {
            return Err(format!(
                "seed of {tenant}: {status} {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        Ok(())
    }
}

fn account(i: usize) -> String {
    format!("{:012}", 100_000_000_000 + i)
}

/// What one scale run measured.
struct Scale {
    create: Duration,
    read: Duration,
    rss_before: f64,
    rss_after: f64,
}

async fn vault_namespaces(
    binary: &std::path::Path,
    n: usize,
    state_dir: Option<&str>,
) -> Result<Scale, Failure> {
    let mut args = vec!["--vault", "127.0.0.1:0"];
    if let Some(dir) = state_dir {
        args.extend(["--state-dir", dir]);
    }
    let emulator = Emulator::start(binary, &args)?;
    let endpoint = Endpoint::plain(&emulator.url("vault")?);
    let mut client = Client::new(&endpoint, &emulator).await?;
    let rss_before = emulator.rss_mib();
    let started = Instant::now();
    for i in 0..n {
        let doc = format!(
            "vault:\n  mounts: [{{ path: secret, type: kv-v2 }}]\n  kv: [{{ mount: secret, path: db, data: {{ password: p{i} }} }}]\n"
        );
        client.seed(&format!("vault/case-{i}"), doc).await?;
    }
    let create = started.elapsed();
    let started = Instant::now();
    for i in 0..n {
        let ns = format!("case-{i}");
        let (status, body) = client
            .send(
                http::Method::GET,
                "/v1/secret/data/db",
                &[("x-vault-token", VAULT_TOKEN), ("x-vault-namespace", &ns)],
                String::new(),
            )
            .await?;
        if status != 200 || !String::from_utf8_lossy(&body).contains(&format!("\"p{i}\"")) {
            return Err(format!("namespace {ns} read: {status}").into());
        }
    }
    Ok(Scale {
        create,
        read: started.elapsed(),
        rss_before,
        rss_after: emulator.rss_mib(),
    })
}

async fn aws_accounts(
    binary: &std::path::Path,
    n: usize,
    state_dir: Option<&str>,
) -> Result<Scale, Failure> {
    let mut args = vec!["--aws", "127.0.0.1:0"];
    if let Some(dir) = state_dir {
        args.extend(["--state-dir", dir]);
    }
    let emulator = Emulator::start(binary, &args)?;
    let endpoint = Endpoint::plain(&emulator.url("aws")?);
    let mut client = Client::new(&endpoint, &emulator).await?;
    let rss_before = emulator.rss_mib();
    let started = Instant::now();
    for i in 0..n {
        let a = account(i);
        // The account's secret, and a user of that account to read it as.
        let doc = format!(
            "aws:\n  secrets: [{{ name: db, secretString: s{i} }}]\n  users: [{{ accessKeyId: AKIA{a}, secretAccessKey: k, arn: 'arn:aws:iam::{a}:user/ci' }}]\n"
        );
        client.seed(&format!("aws/{a}"), doc).await?;
    }
    let create = started.elapsed();
    let started = Instant::now();
    for i in 0..n {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIA{}/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
            account(i)
        );
        let (status, body) = client
            .send(
                http::Method::POST,
                "/",
                &[
                    ("content-type", "application/x-amz-json-1.1"),
                    ("x-amz-target", "secretsmanager.GetSecretValue"),
                    ("authorization", &auth),
                ],
                r#"{"SecretId":"db"}"#.to_owned(),
            )
            .await?;
        if status != 200 || !String::from_utf8_lossy(&body).contains(&format!("\"s{i}\"")) {
            return Err(format!("account {} read: {status}", account(i)).into());
        }
    }
    Ok(Scale {
        create,
        read: started.elapsed(),
        rss_before,
        rss_after: emulator.rss_mib(),
    })
}

/// Runs the measurements and prints them; returns targets for the summary table.
pub async fn run(
    binary: &std::path::Path,
    namespaces: usize,
    accounts: usize,
) -> Result<Vec<Target>, Failure> {
    println!(
        "\n{:<44} {:>10} {:>10} {:>12} {:>12}",
        "tenants (one secret each)", "create ms", "read ms", "RSS MiB", "growth MiB"
    );
    let mut targets = Vec::new();
    for persisted in [false, true] {
        let dir = tempfile::tempdir()?;
        let state = persisted.then(|| dir.path().to_string_lossy().into_owned());
        let how = if persisted { "state dir" } else { "in memory" };
        let runs = [
            (
                format!("{namespaces} Vault namespaces, {how}"),
                vault_namespaces(binary, namespaces, state.as_deref()).await?,
            ),
            (
                format!("{accounts} AWS accounts, {how}"),
                aws_accounts(binary, accounts, state.as_deref()).await?,
            ),
        ];
        for (name, s) in runs {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "{name:<44} {:>10.0} {:>10.0} {:>12.1} {:>12.1}",
                ms(s.create),
                ms(s.read),
                s.rss_after,
                s.rss_after - s.rss_before
            );
            if !persisted {
                targets.push(Target {
                    name: format!("create {name}"),
                    measured: ms(s.create),
                    limit: 5_000.0,
                    at_least: false,
                    unit: "ms",
                });
            }
        }
    }
    Ok(targets)
}
