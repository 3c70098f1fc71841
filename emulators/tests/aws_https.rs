//! The AWS listener over HTTPS: the CA it writes out and names in the ready line, a certificate
//! a client trusting only that CA accepts for the AWS host names (listed regions, the global
//! name, and regions the SDK may form that are not listed), and the same services behind it.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::net::SocketAddr;

use secretbench_emulators::{Options, start};

fn loopback() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 0)))
}

fn https_addr(url: &str) -> SocketAddr {
    url.strip_prefix("https://").unwrap().parse().unwrap()
}

/// The AWS emulator with its HTTPS listener, in memory: the CA it wrote and the HTTPS address.
async fn https_emulator() -> (secretbench_emulators::Running, Vec<u8>, SocketAddr) {
    let running = start(Options {
        aws: loopback(),
        aws_https: loopback(),
        ..Options::default()
    })
    .await
    .unwrap();
    let info = &running.endpoints["aws"].info;
    let ca = std::fs::read(info["caFile"].as_str().unwrap()).unwrap();
    let https = https_addr(info["httpsUrl"].as_str().unwrap());
    (running, ca, https)
}

/// An HTTP client that trusts only `ca` and resolves `names` to `addr`, as the provider pod does
/// through hostAliases and SSL_CERT_DIR.
fn client_for(ca: &[u8], addr: SocketAddr, names: &[&str]) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(ca).unwrap())
        .no_proxy();
    for n in names {
        b = b.resolve(n, addr);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn the_ready_line_names_the_https_listener_and_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(Options {
        aws: loopback(),
        aws_https: loopback(),
        state_dir: Some(dir.path().to_owned()),
        ..Options::default()
    })
    .await
    .unwrap();
    let line: serde_json::Value = serde_json::from_str(&running.ready_line()).unwrap();
    let aws = &line["aws"];
    assert!(
        aws["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let https = aws["httpsUrl"].as_str().unwrap();
    assert!(https.starts_with("https://127.0.0.1:"), "{line}");
    assert_eq!(
        aws["caFile"].as_str().unwrap(),
        dir.path().join("aws-ca.pem").display().to_string()
    );
    let ca = std::fs::read(dir.path().join("aws-ca.pem")).unwrap();
    running.shutdown().await;

    // A restart in the same state dir keeps the CA the cluster was given.
    let again = start(Options {
        aws: loopback(),
        aws_https: loopback(),
        state_dir: Some(dir.path().to_owned()),
        ..Options::default()
    })
    .await
    .unwrap();
    assert_eq!(std::fs::read(dir.path().join("aws-ca.pem")).unwrap(), ca);
    again.shutdown().await;

    // Without --aws-https nothing changes in the line.
    let plain = start(Options::ephemeral()).await.unwrap();
    let line: serde_json::Value = serde_json::from_str(&plain.ready_line()).unwrap();
    assert!(line["aws"].get("httpsUrl").is_none() && line["aws"].get("caFile").is_none());
    plain.shutdown().await;
    let refused = start(Options {
        aws_https: loopback(),
        ..Options::default()
    })
    .await;
    assert!(matches!(
        refused,
        Err(secretbench_emulators::StartError::HttpsWithoutAws)
    ));
}

#[tokio::test]
async fn aws_host_names_verify_against_the_generated_ca_only() {
    let (running, ca, https) = https_emulator().await;
    let names = [
        "sts.us-east-1.amazonaws.com",
        "sts.ap-northeast-1.amazonaws.com",
        "sts.amazonaws.com",
        "secretsmanager.eu-west-3.amazonaws.com",
        "sts.cn-north-1.amazonaws.com.cn",
        // Not in the SDK's region list: covered on demand from the server name.
        "sts.xx-future-7.amazonaws.com",
        "localhost",
    ];
    let client = client_for(&ca, https, &names);
    for name in names {
        let url = format!("https://{name}:{}/", https.port());
        let r = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("Action=GetCallerIdentity&Version=2011-06-15")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(r.status().as_u16(), 200, "{name}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("<GetCallerIdentityResult>")
        );
    }
    // Names the emulator does not stand in for get no certificate of theirs.
    let other = client_for(&ca, https, &["example.com"]);
    let e = other
        .get(format!("https://example.com:{}/", https.port()))
        .send()
        .await
        .expect_err("not an AWS name");
    assert!(e.is_connect(), "{e:?}");
    // And a client that trusts the system roots only refuses the emulator.
    let system = reqwest::Client::builder()
        .no_proxy()
        .resolve("sts.us-east-1.amazonaws.com", https)
        .build()
        .unwrap();
    assert!(
        system
            .get(format!(
                "https://sts.us-east-1.amazonaws.com:{}/",
                https.port()
            ))
            .send()
            .await
            .is_err()
    );
    running.shutdown().await;
}

#[tokio::test]
async fn sts_answers_over_https_in_its_xml_wire_format_for_the_dialled_region() {
    let (running, ca, https) = https_emulator().await;
    let client = client_for(&ca, https, &["sts.eu-west-3.amazonaws.com"]);
    // What aws-sdk-go-v2 sends for AssumeRoleWithWebIdentity: an unsigned form POST.
    let r = client
        .post(format!(
            "https://sts.eu-west-3.amazonaws.com:{}/",
            https.port()
        ))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fany&RoleSessionName=1700000000000000000&WebIdentityToken=not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/xml")
    );
    let body = r.text().await.unwrap();
    assert!(
        body.starts_with(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidIdentityToken</Code>\n    <Message>The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)</Message>"
        ),
        "{body}"
    );
    let entries: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/_secretbench/journal?service=sts",
            running.url("aws").unwrap()
        ))
        .bearer_auth(running.admin_token().expect("admin token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Unsigned, so the region comes from the host name the client dialled.
    assert_eq!(entries["entries"][0]["region"], "eu-west-3", "{entries}");
    assert_eq!(entries["entries"][0]["error"], "InvalidIdentityToken");
    running.shutdown().await;
}
