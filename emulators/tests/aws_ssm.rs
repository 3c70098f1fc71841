//! SSM Parameter Store, exercised with the official aws-sdk-ssm and raw JSON 1.1 requests.
// A failed expectation is the test failing, with the reason in its message.
#![allow(clippy::expect_used)]

mod common;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType, ParametersFilter, ParametersFilterKey, Tag,
};
use base64::Engine;

const ARN_PREFIX: &str = "arn:aws:ssm:us-east-1:123456789012:parameter";

async fn put(client: &Client, name: &str, value: &str) -> i64 {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {name}: {e:?}"))
        .version()
}

async fn overwrite(client: &Client, name: &str, value: &str) -> i64 {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("overwrite {name}: {e:?}"))
        .version()
}

/// The error code of a failed SDK call.
macro_rules! code_of {
    ($call:expr) => {{
        let err = $call
            .await
            .expect_err("call should fail")
            .into_service_error();
        (
            err.code().unwrap_or_default().to_owned(),
            err.message().unwrap_or_default().to_owned(),
        )
    }};
}

// ---------------------------------------------------------------- PutParameter

#[tokio::test]
async fn put_creates_versions_and_overwrite_is_required() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    let out = ssm
        .put_parameter()
        .name("/app/db/user")
        .value("alice")
        .r#type(ParameterType::String)
        .description("db user")
        .send()
        .await
        .expect("create");
    assert_eq!(out.version(), 1);
    assert_eq!(out.tier(), Some(&ParameterTier::Standard));

    let (code, message) = code_of!(ssm.put_parameter().name("/app/db/user").value("bob").send());
    assert_eq!(code, "ParameterAlreadyExists");
    assert!(message.contains("set the overwrite option"), "{message}");

    assert_eq!(overwrite(&ssm, "/app/db/user", "bob").await, 2);
    let got = ssm
        .get_parameter()
        .name("/app/db/user")
        .send()
        .await
        .expect("get");
    let p = got.parameter().expect("parameter");
    assert_eq!(p.value(), Some("bob"));
    assert_eq!(p.version(), 2);
    assert_eq!(p.r#type(), Some(&ParameterType::String));
    assert_eq!(p.data_type(), Some("text"));
    assert_eq!(p.arn(), Some(format!("{ARN_PREFIX}/app/db/user").as_str()));
    assert!(p.selector().is_none(), "no selector was used");
    assert!(p.last_modified_date().is_some());

    // The description is kept across an overwrite that does not repeat it.
    let meta = ssm.describe_parameters().send().await.expect("describe");
    assert_eq!(meta.parameters()[0].description(), Some("db user"));
}

#[tokio::test]
async fn put_requires_a_type_on_create_and_refuses_type_changes() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    let (code, message) = code_of!(ssm.put_parameter().name("untyped").value("v").send());
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "A parameter type is required when you create a parameter."
    );

    put(&ssm, "typed", "v").await;
    let (code, _) = code_of!(
        ssm.put_parameter()
            .name("typed")
            .value("v2")
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
    );
    assert_eq!(code, "HierarchyTypeMismatchException");
}

#[tokio::test]
async fn put_refuses_tags_with_overwrite_and_keeps_tags_on_create() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    let tag = Tag::builder()
        .key("team")
        .value("core")
        .build()
        .expect("tag");
    ssm.put_parameter()
        .name("/tagged/a")
        .value("v")
        .r#type(ParameterType::String)
        .tags(tag.clone())
        .send()
        .await
        .expect("create with tags");
    let (code, message) = code_of!(
        ssm.put_parameter()
            .name("/tagged/a")
            .value("v2")
            .overwrite(true)
            .tags(tag)
            .send()
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("Invalid request: tags and overwrite can't be used together."),
        "{message}"
    );

    let filter = ParameterStringFilter::builder()
        .key("tag:team")
        .values("core")
        .build()
        .expect("filter");
    let found = ssm
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .expect("describe");
    assert_eq!(found.parameters().len(), 1);
}

#[tokio::test]
async fn put_enforces_name_rules() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    for (name, expected) in [
        ("no/leading/slash", "ValidationException"),
        ("/double//slash", "ValidationException"),
        ("/bad*char", "ValidationException"),
        ("inner space", "ValidationException"),
        ("awsReserved", "ValidationException"),
        ("/ssm/reserved/path", "ValidationException"),
        ("/aws/reserved/path", "AccessDeniedException"),
    ] {
        let (code, _) = code_of!(
            ssm.put_parameter()
                .name(name)
                .value("v")
                .r#type(ParameterType::String)
                .send()
        );
        assert_eq!(code, expected, "{name}");
    }
    let fifteen: String = (1..=15).map(|i| format!("/l{i}")).collect();
    put(&ssm, &fifteen, "deep").await;
    let (code, _) = code_of!(
        ssm.put_parameter()
            .name(format!("{fifteen}/l16"))
            .value("v")
            .r#type(ParameterType::String)
            .send()
    );
    assert_eq!(code, "HierarchyLevelLimitExceededException");

    // Surrounding spaces are trimmed rather than refused.
    put(&ssm, "  trimmed  ", "v").await;
    let got = ssm
        .get_parameter()
        .name("trimmed")
        .send()
        .await
        .expect("trimmed name");
    assert_eq!(got.parameter().and_then(|p| p.name()), Some("trimmed"));
}

#[tokio::test]
async fn put_enforces_tier_limits() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    let big = "x".repeat(5000);
    let (code, message) = code_of!(
        ssm.put_parameter()
            .name("big")
            .value(&big)
            .r#type(ParameterType::String)
            .send()
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("Standard tier parameters support a maximum parameter value of 4096"),
        "{message}"
    );

    let exactly = "x".repeat(4096);
    put(&ssm, "edge", &exactly).await;

    let out = ssm
        .put_parameter()
        .name("big")
        .value(&big)
        .r#type(ParameterType::String)
        .tier(ParameterTier::IntelligentTiering)
        .send()
        .await
        .expect("intelligent tiering picks advanced");
    assert_eq!(out.tier(), Some(&ParameterTier::Advanced));

    let (code, message) = code_of!(
        ssm.put_parameter()
            .name("big")
            .value("small")
            .overwrite(true)
            .tier(ParameterTier::Standard)
            .send()
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("can't downgrade"), "{message}");

    // Without a tier, an advanced parameter stays advanced.
    let out = ssm
        .put_parameter()
        .name("big")
        .value("small")
        .overwrite(true)
        .send()
        .await
        .expect("stay");
    assert_eq!(out.tier(), Some(&ParameterTier::Advanced));

    let (code, _) = code_of!(
        ssm.put_parameter()
            .name("huge")
            .value("x".repeat(8193))
            .r#type(ParameterType::String)
            .tier(ParameterTier::Advanced)
            .send()
    );
    assert_eq!(code, "ValidationException");
}

#[tokio::test]
async fn put_checks_allowed_pattern_data_type_and_enums() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    ssm.put_parameter()
        .name("port")
        .value("8080")
        .r#type(ParameterType::String)
        .allowed_pattern(r"^\d+$")
        .send()
        .await
        .expect("matches");
    // The pattern sticks to the parameter, so a later overwrite is checked against it.
    let (code, message) = code_of!(
        ssm.put_parameter()
            .name("port")
            .value("http")
            .overwrite(true)
            .send()
    );
    assert_eq!(code, "ParameterPatternMismatchException");
    assert_eq!(
        message,
        r"Parameter value, cannot be validated against allowedPattern: ^\d+$"
    );

    let (code, _) = code_of!(
        ssm.put_parameter()
            .name("badpattern")
            .value("v")
            .r#type(ParameterType::String)
            .allowed_pattern("([a-z")
            .send()
    );
    assert_eq!(code, "InvalidAllowedPatternException");

    let (code, message) = code_of!(
        ssm.put_parameter()
            .name("dt")
            .value("v")
            .r#type(ParameterType::String)
            .data_type("Text")
            .send()
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("The following data type is not supported: Text"),
        "{message}"
    );

    let (code, _) = code_of!(
        ssm.put_parameter()
            .name("ami")
            .value("not-an-ami")
            .r#type(ParameterType::String)
            .data_type("aws:ec2:image")
            .send()
    );
    assert_eq!(code, "ValidationException");
    ssm.put_parameter()
        .name("ami")
        .value("ami-0123456789abcdef0")
        .r#type(ParameterType::String)
        .data_type("aws:ec2:image")
        .send()
        .await
        .expect("valid ami");
    let got = ssm
        .get_parameter()
        .name("ami")
        .send()
        .await
        .expect("get ami");
    assert_eq!(
        got.parameter().and_then(|p| p.data_type()),
        Some("aws:ec2:image")
    );

    let raw = env
        .raw_json(
            "AmazonSSM.PutParameter",
            r#"{"Name":"e","Value":"v","Type":"Bogus"}"#,
        )
        .await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.error_type(), "ValidationException");
    assert!(
        raw.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Member must satisfy enum value set")
    );
}

#[tokio::test]
async fn securestring_is_opaque_without_decryption() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    ssm.put_parameter()
        .name("/app/password")
        .value("hunter2")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("create secure");
    let plain = ssm
        .get_parameter()
        .name("/app/password")
        .with_decryption(true)
        .send()
        .await
        .expect("decrypt");
    assert_eq!(plain.parameter().and_then(|p| p.value()), Some("hunter2"));

    let opaque = ssm
        .get_parameter()
        .name("/app/password")
        .send()
        .await
        .expect("no decrypt");
    let value = opaque
        .parameter()
        .and_then(|p| p.value())
        .unwrap_or_default()
        .to_owned();
    assert_ne!(value, "hunter2");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&value)
        .expect("base64 blob");
    assert_eq!(
        String::from_utf8(decoded).expect("utf8"),
        "secretbench:kms:alias/aws/ssm:hunter2"
    );

    let meta = ssm.describe_parameters().send().await.expect("describe");
    assert_eq!(meta.parameters()[0].key_id(), Some("alias/aws/ssm"));
    assert_eq!(
        meta.parameters()[0].r#type(),
        Some(&ParameterType::SecureString)
    );
}

// ---------------------------------------------------------------- GetParameter

#[tokio::test]
async fn get_parameter_selectors_and_arns() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/sel/p", "one").await;
    overwrite(&ssm, "/sel/p", "two").await;
    ssm.label_parameter_version()
        .name("/sel/p")
        .parameter_version(1)
        .labels("stable")
        .send()
        .await
        .expect("label");

    for (selector, value, version, echoed) in [
        ("/sel/p", "two", 2, None),
        ("/sel/p:1", "one", 1, Some(":1")),
        ("/sel/p:stable", "one", 1, Some(":stable")),
        (&format!("{ARN_PREFIX}/sel/p") as &str, "two", 2, None),
        (
            &format!("{ARN_PREFIX}/sel/p:1") as &str,
            "one",
            1,
            Some(":1"),
        ),
    ] {
        let got = ssm
            .get_parameter()
            .name(selector)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e:?}"));
        let p = got.parameter().expect("parameter");
        assert_eq!(p.name(), Some("/sel/p"), "Name is always bare ({selector})");
        assert_eq!(p.value(), Some(value), "{selector}");
        assert_eq!(p.version(), version, "{selector}");
        assert_eq!(p.selector(), echoed, "{selector}");
    }

    let (code, message) = code_of!(ssm.get_parameter().name("/sel/missing").send());
    assert_eq!((code.as_str(), message.as_str()), ("ParameterNotFound", ""));
    let (code, message) = code_of!(ssm.get_parameter().name("/sel/p:9").send());
    assert_eq!(code, "ParameterVersionNotFound");
    assert!(
        message.contains("could not find version 9 of /sel/p"),
        "{message}"
    );
    let (code, _) = code_of!(ssm.get_parameter().name("/sel/p:nolabel").send());
    assert_eq!(code, "ParameterNotFound");
    let (code, _) = code_of!(ssm.get_parameter().name("sel/p").send());
    assert_eq!(code, "ValidationException");
}

#[tokio::test]
async fn root_names_with_and_without_slash_are_one_parameter() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/rooted", "v").await;
    let (code, _) = code_of!(
        ssm.put_parameter()
            .name("rooted")
            .value("w")
            .r#type(ParameterType::String)
            .send()
    );
    assert_eq!(code, "ParameterAlreadyExists");
    let got = ssm
        .get_parameter()
        .name("rooted")
        .send()
        .await
        .expect("other spelling");
    let p = got.parameter().expect("parameter");
    assert_eq!(p.name(), Some("/rooted"));
    assert_eq!(p.arn(), Some(format!("{ARN_PREFIX}/rooted").as_str()));
}

// ---------------------------------------------------------------- GetParameters

/// The CSI provider's call: batches of up to 10 selectors with WithDecryption=true, matched back
/// by `Name` (else `ARN`); a non-bare Name crashes it.
#[tokio::test]
async fn get_parameters_answers_like_the_provider_needs() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/mnt/b", "b1").await;
    overwrite(&ssm, "/mnt/b", "b2").await;
    put(&ssm, "/mnt/a", "a1").await;
    ssm.put_parameter()
        .name("/mnt/secure")
        .value("s3cret")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("secure");
    ssm.label_parameter_version()
        .name("/mnt/b")
        .parameter_version(1)
        .labels("old")
        .send()
        .await
        .expect("label");

    let requested = [
        "/mnt/secure".to_owned(),
        "/mnt/b:1".to_owned(),
        "/mnt/a".to_owned(),
        format!("{ARN_PREFIX}/mnt/b"),
        "/mnt/b:old".to_owned(),
    ];
    let out = ssm
        .get_parameters()
        .set_names(Some(requested.to_vec()))
        .with_decryption(true)
        .send()
        .await
        .expect("batch");
    assert!(
        out.invalid_parameters().is_empty(),
        "{:?}",
        out.invalid_parameters()
    );
    let params = out.parameters();
    assert_eq!(params.len(), 5);
    let names: Vec<&str> = params.iter().filter_map(|p| p.name()).collect();
    assert_eq!(
        names,
        ["/mnt/a", "/mnt/b", "/mnt/b", "/mnt/b", "/mnt/secure"],
        "sorted by bare name"
    );
    for p in params {
        let name = p.name().unwrap_or_default();
        assert!(!name.contains(':'), "Name must be bare, got {name}");
        assert_eq!(p.arn(), Some(format!("{ARN_PREFIX}{name}").as_str()));
    }
    let by_selector = |s: Option<&str>| {
        params
            .iter()
            .filter(|p| p.selector() == s)
            .collect::<Vec<_>>()
    };
    assert_eq!(by_selector(Some(":1"))[0].value(), Some("b1"));
    assert_eq!(by_selector(Some(":old"))[0].value(), Some("b1"));
    assert_eq!(
        params
            .iter()
            .find(|p| p.name() == Some("/mnt/secure"))
            .and_then(|p| p.value()),
        Some("s3cret")
    );
    // The ARN request has no selector and reads the latest version.
    assert!(
        by_selector(None)
            .iter()
            .any(|p| p.name() == Some("/mnt/b") && p.value() == Some("b2"))
    );
}

#[tokio::test]
async fn get_parameters_takes_a_full_batch_of_ten_selectors() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    let mut names = Vec::new();
    for i in 0..10 {
        let name = format!("/batch/p{i}");
        put(&ssm, &name, &format!("v{i}")).await;
        overwrite(&ssm, &name, &format!("w{i}")).await;
        // Half the batch pins version 1, as `objectVersion` does in a SecretProviderClass.
        names.push(if i % 2 == 0 {
            format!("{name}:1")
        } else {
            name
        });
    }
    let out = ssm
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
        .expect("batch of ten");
    assert!(out.invalid_parameters().is_empty());
    let got: Vec<(String, String, i64)> = out
        .parameters()
        .iter()
        .map(|p| {
            let name = p.name().unwrap_or_default().to_owned();
            (name, p.value().unwrap_or_default().to_owned(), p.version())
        })
        .collect();
    let expected: Vec<(String, String, i64)> = (0..10)
        .map(|i| {
            let (value, version) = if i % 2 == 0 {
                (format!("v{i}"), 1)
            } else {
                (format!("w{i}"), 2)
            };
            (format!("/batch/p{i}"), value, version)
        })
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn get_parameters_reports_unknowns_and_collapses_duplicates() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/dup/x", "v").await;
    let out = ssm
        .get_parameters()
        .names("/dup/x")
        .names("/dup/missing")
        .names("/dup/x")
        .names("/dup/x:7")
        .names("/dup/x:nolabel")
        .names("/dup/missing")
        .names("arn:aws:ssm:us-west-2:123456789012:parameter/dup/x")
        .send()
        .await
        .expect("batch");
    assert_eq!(out.parameters().len(), 1);
    assert_eq!(
        out.invalid_parameters(),
        [
            "/dup/missing",
            "/dup/x:7",
            "/dup/x:nolabel",
            "arn:aws:ssm:us-west-2:123456789012:parameter/dup/x"
        ]
    );

    let eleven: Vec<String> = (0..11).map(|i| format!("/n{i}")).collect();
    let (code, message) = code_of!(ssm.get_parameters().set_names(Some(eleven)).send());
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("Member must have length less than or equal to 10"),
        "{message}"
    );
}

// ---------------------------------------------------------------- GetParametersByPath

#[tokio::test]
async fn get_parameters_by_path_levels_filters_and_paging() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    for name in [
        "/p/a",
        "/p/b",
        "/p/c",
        "/p/sub/d",
        "/p/sub/deeper/e",
        "/other/x",
        "rootlevel",
    ] {
        put(&ssm, name, name).await;
    }
    ssm.put_parameter()
        .name("/p/s")
        .value("secure")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("secure");

    let names =
        |out: &aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathOutput| {
            out.parameters()
                .iter()
                .filter_map(|p| p.name().map(str::to_owned))
                .collect::<Vec<_>>()
        };
    let one = ssm
        .get_parameters_by_path()
        .path("/p")
        .send()
        .await
        .expect("one level");
    assert_eq!(names(&one), ["/p/a", "/p/b", "/p/c", "/p/s"]);
    let all = ssm
        .get_parameters_by_path()
        .path("/p/")
        .recursive(true)
        .send()
        .await
        .expect("recursive");
    assert_eq!(names(&all).len(), 6);
    let root = ssm
        .get_parameters_by_path()
        .path("/")
        .send()
        .await
        .expect("root");
    assert_eq!(names(&root), ["rootlevel"]);

    let secure_only = ParameterStringFilter::builder()
        .key("Type")
        .values("SecureString")
        .build()
        .expect("f");
    let out = ssm
        .get_parameters_by_path()
        .path("/p")
        .recursive(true)
        .parameter_filters(secure_only)
        .with_decryption(true)
        .send()
        .await
        .expect("filtered");
    assert_eq!(names(&out), ["/p/s"]);
    assert_eq!(out.parameters()[0].value(), Some("secure"));

    // Paging with a tiny page size walks every parameter exactly once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = ssm
            .get_parameters_by_path()
            .path("/p")
            .recursive(true)
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        assert!(page.parameters().len() <= 2);
        seen.extend(names(&page));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 6);

    let (code, _) = code_of!(
        ssm.get_parameters_by_path()
            .path("/p")
            .max_results(11)
            .send()
    );
    assert_eq!(code, "ValidationException");
    let (code, _) = code_of!(
        ssm.get_parameters_by_path()
            .path("/p")
            .next_token("garbage")
            .send()
    );
    assert_eq!(code, "InvalidNextToken");
    let (code, _) = code_of!(ssm.get_parameters_by_path().path("p").send());
    assert_eq!(code, "ValidationException");
    let name_filter = ParameterStringFilter::builder()
        .key("Name")
        .values("/p/a")
        .build()
        .expect("f");
    let (code, _) = code_of!(
        ssm.get_parameters_by_path()
            .path("/p")
            .parameter_filters(name_filter)
            .send()
    );
    assert_eq!(code, "InvalidFilterKey");
}

#[tokio::test]
async fn get_parameters_by_path_label_filter_returns_the_labelled_version() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/lbl/a", "a1").await;
    overwrite(&ssm, "/lbl/a", "a2").await;
    put(&ssm, "/lbl/b", "b1").await;
    ssm.label_parameter_version()
        .name("/lbl/a")
        .parameter_version(1)
        .labels("prod")
        .send()
        .await
        .expect("label");
    let filter = ParameterStringFilter::builder()
        .key("Label")
        .values("prod")
        .build()
        .expect("f");
    let out = ssm
        .get_parameters_by_path()
        .path("/lbl")
        .parameter_filters(filter)
        .send()
        .await
        .expect("by label");
    assert_eq!(out.parameters().len(), 1);
    assert_eq!(out.parameters()[0].value(), Some("a1"));
    assert_eq!(out.parameters()[0].version(), 1);
}

// ---------------------------------------------------------------- Deletes

#[tokio::test]
async fn delete_parameter_and_delete_parameters() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/del/a", "v").await;
    put(&ssm, "/del/b", "v").await;
    put(&ssm, "/del/c", "v").await;
    ssm.delete_parameter()
        .name("/del/a")
        .send()
        .await
        .expect("delete");
    let (code, _) = code_of!(ssm.get_parameter().name("/del/a").send());
    assert_eq!(code, "ParameterNotFound");
    let (code, _) = code_of!(ssm.delete_parameter().name("/del/a").send());
    assert_eq!(code, "ParameterNotFound");

    let out = ssm
        .delete_parameters()
        .names("/del/b")
        .names("/del/missing")
        .names("/del/c")
        .send()
        .await
        .expect("batch delete");
    assert_eq!(out.deleted_parameters(), ["/del/b", "/del/c"]);
    assert_eq!(out.invalid_parameters(), ["/del/missing"]);
    let left = ssm.describe_parameters().send().await.expect("describe");
    assert!(left.parameters().is_empty());

    // A deleted name can be created again from version 1.
    assert_eq!(put(&ssm, "/del/a", "again").await, 1);

    let eleven: Vec<String> = (0..11).map(|i| format!("/n{i}")).collect();
    let (code, _) = code_of!(ssm.delete_parameters().set_names(Some(eleven)).send());
    assert_eq!(code, "ValidationException");
}

// ---------------------------------------------------------------- DescribeParameters

#[tokio::test]
async fn describe_parameters_filters_and_pages() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    for name in [
        "/d/app/one",
        "/d/app/two",
        "/d/app/deep/three",
        "/d/web/four",
        "plain",
    ] {
        put(&ssm, name, "v").await;
    }
    ssm.put_parameter()
        .name("/d/app/secret")
        .value("v")
        .r#type(ParameterType::SecureString)
        .key_id("alias/custom")
        .tier(ParameterTier::Advanced)
        .send()
        .await
        .expect("secure");

    let query = |key: &str, option: Option<&str>, values: &[&str]| {
        let mut b = ParameterStringFilter::builder()
            .key(key)
            .set_option(option.map(str::to_owned));
        for v in values {
            b = b.values(*v);
        }
        b.build().expect("filter")
    };
    let names = |out: aws_sdk_ssm::operation::describe_parameters::DescribeParametersOutput| {
        out.parameters()
            .iter()
            .filter_map(|p| p.name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let run = |f: ParameterStringFilter| ssm.describe_parameters().parameter_filters(f).send();

    assert_eq!(
        names(run(query("Name", None, &["plain"])).await.expect("eq")),
        ["plain"]
    );
    assert_eq!(
        names(
            run(query("Name", Some("BeginsWith"), &["/d/app/"]))
                .await
                .expect("bw")
        )
        .len(),
        4
    );
    assert_eq!(
        names(
            run(query("Name", Some("Contains"), &["two"]))
                .await
                .expect("contains")
        ),
        ["/d/app/two"]
    );
    assert_eq!(
        names(
            run(query("Path", None, &["/d/app"]))
                .await
                .expect("onelevel")
        )
        .len(),
        3
    );
    assert_eq!(
        names(
            run(query("Path", Some("Recursive"), &["/d"]))
                .await
                .expect("recursive")
        )
        .len(),
        5
    );
    assert_eq!(
        names(
            run(query("Type", None, &["SecureString"]))
                .await
                .expect("type")
        ),
        ["/d/app/secret"]
    );
    assert_eq!(
        names(
            run(query("KeyId", None, &["alias/custom"]))
                .await
                .expect("keyid")
        ),
        ["/d/app/secret"]
    );
    assert_eq!(
        names(run(query("Tier", None, &["Advanced"])).await.expect("tier")),
        ["/d/app/secret"]
    );

    let legacy = ParametersFilter::builder()
        .key(ParametersFilterKey::Name)
        .values("/d/web")
        .build()
        .expect("legacy");
    let out = ssm
        .describe_parameters()
        .filters(legacy.clone())
        .send()
        .await
        .expect("legacy filter");
    assert_eq!(names(out), ["/d/web/four"]);

    let (code, _) = code_of!(
        ssm.describe_parameters()
            .filters(legacy)
            .parameter_filters(query("Type", None, &["String"]))
            .send()
    );
    assert_eq!(code, "ValidationException");
    let (code, _) = code_of!(run(query("Label", None, &["x"])));
    assert_eq!(code, "InvalidFilterKey");
    let (code, _) = code_of!(run(query("Type", Some("Contains"), &["String"])));
    assert_eq!(code, "InvalidFilterOption");
    let (code, _) = code_of!(run(query("Path", Some("Sideways"), &["/d"])));
    assert_eq!(code, "InvalidFilterOption");
    let (code, _) = code_of!(ssm.describe_parameters().max_results(51).send());
    assert_eq!(code, "ValidationException");

    let first = ssm
        .describe_parameters()
        .max_results(4)
        .send()
        .await
        .expect("page 1");
    assert_eq!(first.parameters().len(), 4);
    let token = first.next_token().expect("more pages").to_owned();
    let second = ssm
        .describe_parameters()
        .max_results(4)
        .next_token(token)
        .send()
        .await
        .expect("page 2");
    assert_eq!(second.parameters().len(), 2);
    assert!(second.next_token().is_none());

    let meta = &first.parameters()[0];
    assert!(meta.arn().is_some_and(|a| a.starts_with(ARN_PREFIX)));
    assert_eq!(
        meta.last_modified_user(),
        Some("arn:aws:iam::123456789012:root")
    );
    assert!(meta.policies().is_empty());
}

// ---------------------------------------------------------------- History and labels

#[tokio::test]
async fn history_lists_versions_with_labels_and_pages() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    ssm.put_parameter()
        .name("/h/p")
        .value("s1")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("create");
    for i in 2..=5 {
        overwrite(&ssm, "/h/p", &format!("s{i}")).await;
    }
    ssm.label_parameter_version()
        .name("/h/p")
        .parameter_version(3)
        .labels("three")
        .send()
        .await
        .expect("label");

    let all = ssm
        .get_parameter_history()
        .name("/h/p")
        .with_decryption(true)
        .send()
        .await
        .expect("history");
    let versions: Vec<i64> = all.parameters().iter().map(|h| h.version()).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    assert_eq!(all.parameters()[2].labels(), ["three"]);
    assert_eq!(all.parameters()[2].value(), Some("s3"));
    assert!(all.parameters()[0].labels().is_empty());
    assert!(all.next_token().is_none());

    let opaque = ssm
        .get_parameter_history()
        .name("/h/p")
        .send()
        .await
        .expect("history");
    assert_ne!(opaque.parameters()[0].value(), Some("s1"));

    let page = ssm
        .get_parameter_history()
        .name("/h/p")
        .max_results(2)
        .send()
        .await
        .expect("page");
    assert_eq!(page.parameters().len(), 2);
    let page2 = ssm
        .get_parameter_history()
        .name("/h/p")
        .max_results(2)
        .next_token(page.next_token().expect("token"))
        .send()
        .await
        .expect("page 2");
    assert_eq!(
        page2
            .parameters()
            .iter()
            .map(|h| h.version())
            .collect::<Vec<_>>(),
        [3, 4]
    );

    let (code, _) = code_of!(ssm.get_parameter_history().name("/h/none").send());
    assert_eq!(code, "ParameterNotFound");
    let (code, _) = code_of!(
        ssm.get_parameter_history()
            .name("/h/p")
            .max_results(51)
            .send()
    );
    assert_eq!(code, "ValidationException");
}

#[tokio::test]
async fn labels_move_are_validated_and_limited() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/l/p", "v1").await;
    overwrite(&ssm, "/l/p", "v2").await;

    // No version: the latest is labelled. Bad labels come back instead of failing the call.
    let out = ssm
        .label_parameter_version()
        .name("/l/p")
        .labels("live")
        .labels("1bad")
        .labels("awsnope")
        .send()
        .await
        .expect("label latest");
    assert_eq!(out.parameter_version(), 2);
    assert_eq!(out.invalid_labels(), ["1bad", "awsnope"]);

    // Labelling version 1 moves the label off version 2.
    ssm.label_parameter_version()
        .name("/l/p")
        .parameter_version(1)
        .labels("live")
        .send()
        .await
        .expect("move");
    let got = ssm
        .get_parameter()
        .name("/l/p:live")
        .send()
        .await
        .expect("by label");
    assert_eq!(got.parameter().map(|p| p.version()), Some(1));
    let history = ssm
        .get_parameter_history()
        .name("/l/p")
        .send()
        .await
        .expect("history");
    assert!(history.parameters()[1].labels().is_empty());

    let ten: Vec<String> = (0..10).map(|i| format!("l{i}")).collect();
    ssm.label_parameter_version()
        .name("/l/p")
        .parameter_version(2)
        .set_labels(Some(ten))
        .send()
        .await
        .expect("ten labels");
    let (code, _) = code_of!(
        ssm.label_parameter_version()
            .name("/l/p")
            .parameter_version(2)
            .labels("eleventh")
            .send()
    );
    assert_eq!(code, "ParameterVersionLabelLimitExceeded");

    let (code, _) = code_of!(
        ssm.label_parameter_version()
            .name("/l/p")
            .parameter_version(9)
            .labels("x")
            .send()
    );
    assert_eq!(code, "ParameterVersionNotFound");
    let (code, _) = code_of!(
        ssm.label_parameter_version()
            .name("/l/none")
            .labels("x")
            .send()
    );
    assert_eq!(code, "ParameterNotFound");
    let (code, _) = code_of!(
        ssm.label_parameter_version()
            .name("/l/p")
            .labels("x".repeat(101))
            .send()
    );
    assert_eq!(code, "ValidationException");

    let out = ssm
        .unlabel_parameter_version()
        .name("/l/p")
        .parameter_version(2)
        .labels("l0")
        .labels("absent")
        .send()
        .await
        .expect("unlabel");
    assert_eq!(out.removed_labels(), ["l0"]);
    assert_eq!(out.invalid_labels(), ["absent"]);
}

#[tokio::test]
async fn the_oldest_of_a_hundred_versions_is_dropped_unless_labelled() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/v/p", "1").await;
    ssm.label_parameter_version()
        .name("/v/p")
        .parameter_version(1)
        .labels("first")
        .send()
        .await
        .expect("label");
    for i in 2..=100 {
        overwrite(&ssm, "/v/p", &i.to_string()).await;
    }
    let (code, message) = code_of!(
        ssm.put_parameter()
            .name("/v/p")
            .value("101")
            .overwrite(true)
            .send()
    );
    assert_eq!(code, "ParameterMaxVersionLimitExceeded");
    assert!(
        message.contains("Version 1, the oldest version, can't be deleted"),
        "{message}"
    );

    ssm.unlabel_parameter_version()
        .name("/v/p")
        .parameter_version(1)
        .labels("first")
        .send()
        .await
        .expect("unlabel");
    assert_eq!(overwrite(&ssm, "/v/p", "101").await, 101);
    let (code, _) = code_of!(ssm.get_parameter().name("/v/p:1").send());
    assert_eq!(code, "ParameterVersionNotFound");
    assert!(ssm.get_parameter().name("/v/p:2").send().await.is_ok());
}

// ---------------------------------------------------------------- Regions, seeding, raw input

#[tokio::test]
async fn regions_are_isolated() {
    let env = common::emulator().await;
    let east = env.ssm("us-east-1").await;
    let west = env.ssm("us-west-2").await;
    put(&east, "/region/p", "east").await;
    let (code, _) = code_of!(west.get_parameter().name("/region/p").send());
    assert_eq!(code, "ParameterNotFound");
    put(&west, "/region/p", "west").await;
    let got = west
        .get_parameter()
        .name("/region/p")
        .send()
        .await
        .expect("west");
    let p = got.parameter().expect("parameter");
    assert_eq!(p.value(), Some("west"));
    assert_eq!(
        p.arn(),
        Some("arn:aws:ssm:us-west-2:123456789012:parameter/region/p")
    );
    let got = east
        .get_parameter()
        .name("/region/p")
        .send()
        .await
        .expect("east");
    assert_eq!(got.parameter().and_then(|p| p.value()), Some("east"));
}

#[tokio::test]
async fn seeding_creates_parameters_versions_and_labels() {
    let env = common::emulator().await;
    env.seed(
        r#"
aws:
  parameters:
    - name: /seed/plain
      value: hello
    - name: /seed/rotating
      value: v1
      labels: [previous]
    - name: /seed/rotating
      value: v2
      labels: [current]
    - name: /seed/secure
      type: SecureString
      value: s3cret
      description: seeded
      keyId: alias/seed
      tier: Advanced
      tags: { team: core }
    - name: /seed/west
      region: us-west-2
      type: StringList
      value: a,b
"#,
    )
    .await;
    let ssm = env.ssm("us-east-1").await;
    let out = ssm
        .get_parameters()
        .names("/seed/plain")
        .names("/seed/rotating:previous")
        .names("/seed/rotating:current")
        .names("/seed/secure")
        .with_decryption(true)
        .send()
        .await
        .expect("seeded");
    assert!(
        out.invalid_parameters().is_empty(),
        "{:?}",
        out.invalid_parameters()
    );
    let values: Vec<(&str, i64)> = out
        .parameters()
        .iter()
        .map(|p| (p.value().unwrap_or_default(), p.version()))
        .collect();
    assert_eq!(values, [("hello", 1), ("v1", 1), ("v2", 2), ("s3cret", 1)]);

    let meta = ssm.describe_parameters().send().await.expect("describe");
    let secure = meta
        .parameters()
        .iter()
        .find(|p| p.name() == Some("/seed/secure"))
        .expect("secure");
    assert_eq!(secure.key_id(), Some("alias/seed"));
    assert_eq!(secure.tier(), Some(&ParameterTier::Advanced));
    assert_eq!(secure.description(), Some("seeded"));

    // Seeding the same document again changes nothing.
    env.seed("aws:\n  parameters:\n    - name: /seed/plain\n      value: hello\n")
        .await;
    let plain = ssm
        .get_parameter()
        .name("/seed/plain")
        .send()
        .await
        .expect("plain");
    assert_eq!(plain.parameter().map(|p| p.version()), Some(1));

    let west = env.ssm("us-west-2").await;
    let got = west
        .get_parameter()
        .name("/seed/west")
        .send()
        .await
        .expect("west");
    assert_eq!(
        got.parameter().and_then(|p| p.r#type()),
        Some(&ParameterType::StringList)
    );
}

#[tokio::test]
async fn a_bad_seed_is_refused() {
    let env = common::emulator().await;
    let response = env
        .admin_request(reqwest::Method::POST, "/seed")
        .body("aws:\n  parameters:\n    - name: awsReserved\n      value: x\n")
        .send()
        .await
        .expect("seed request");
    assert!(response.status().is_client_error(), "{}", response.status());
}

#[tokio::test]
async fn raw_requests_get_well_formed_errors() {
    let env = common::emulator().await;
    let raw = env.raw_json("AmazonSSM.GetParameter", "{not json").await;
    assert_eq!(
        (raw.status, raw.error_type().as_str()),
        (400, "SerializationException")
    );

    let raw = env.raw_json("AmazonSSM.GetParameter", "{}").await;
    assert_eq!(
        (raw.status, raw.error_type().as_str()),
        (400, "ValidationException")
    );
    assert_eq!(
        raw.json()["message"],
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    );

    let raw = env
        .raw_json("AmazonSSM.GetParameter", r#"{"Name": 42}"#)
        .await;
    assert_eq!(
        (raw.status, raw.error_type().as_str()),
        (400, "SerializationException")
    );

    let raw = env.raw_json("AmazonSSM.FlyToTheMoon", "{}").await;
    assert_eq!(
        (raw.status, raw.error_type().as_str()),
        (400, "UnknownOperationException")
    );

    let raw = env
        .raw_json("AmazonSSM.GetParameters", r#"{"Names": []}"#)
        .await;
    assert_eq!(
        (raw.status, raw.error_type().as_str()),
        (400, "ValidationException")
    );

    let raw = env
        .raw_json("AmazonSSM.GetParameter", r#"{"Name": "/none"}"#)
        .await;
    assert_eq!(
        (raw.status, raw.error_type().as_str()),
        (400, "ParameterNotFound")
    );

    let raw = env
        .raw_json(
            "AmazonSSM.PutParameter",
            r#"{"Name":"/raw/p","Value":"v","Type":"String"}"#,
        )
        .await;
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.json(),
        serde_json::json!({"Version": 1, "Tier": "Standard"})
    );
    let raw = env
        .raw_json("AmazonSSM.GetParameter", r#"{"Name":"/raw/p"}"#)
        .await;
    let p = &raw.json()["Parameter"];
    assert!(
        p["LastModifiedDate"].is_f64() || p["LastModifiedDate"].is_i64(),
        "epoch seconds: {p}"
    );
    assert!(p.get("Selector").is_none() && p.get("SourceResult").is_none());
}

#[tokio::test]
async fn strict_authorization_applies_to_parameter_arns() {
    let env = common::emulator().await;
    env.seed(
        r#"
aws:
  authorization: strict
  users:
    - accessKeyId: AKIATESTTESTTEST
      secretAccessKey: test-secret-key
      policy:
        - actions: ["ssm:GetParameter", "ssm:GetParameters"]
          resources: ["arn:aws:ssm:us-east-1:123456789012:parameter/allowed/*"]
  parameters:
    - name: /allowed/p
      value: granted
    - name: /denied/p
      value: refused
"#,
    )
    .await;
    let ssm = env.ssm("us-east-1").await;
    let got = ssm
        .get_parameter()
        .name("/allowed/p")
        .send()
        .await
        .expect("allowed");
    assert_eq!(got.parameter().and_then(|p| p.value()), Some("granted"));
    let (code, message) = code_of!(ssm.get_parameter().name("/denied/p").send());
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.contains("arn:aws:ssm:us-east-1:123456789012:parameter/denied/p"),
        "{message}"
    );
    let (code, _) = code_of!(
        ssm.get_parameters()
            .names("/allowed/p")
            .names("/denied/p")
            .send()
    );
    assert_eq!(code, "AccessDeniedException");
    let (code, _) = code_of!(
        ssm.put_parameter()
            .name("/allowed/q")
            .value("v")
            .r#type(ParameterType::String)
            .send()
    );
    assert_eq!(code, "AccessDeniedException");
}

#[tokio::test]
async fn calls_are_journaled_with_parameter_names() {
    let env = common::emulator().await;
    let ssm = env.ssm("us-east-1").await;
    put(&ssm, "/j/p", "v").await;
    let _ = ssm
        .get_parameters()
        .names("/j/p")
        .names("/j/q")
        .send()
        .await
        .expect("batch");
    let journal: serde_json::Value = env
        .admin_request(reqwest::Method::GET, "/journal?service=ssm")
        .send()
        .await
        .expect("journal")
        .json()
        .await
        .expect("journal json");
    let text = journal.to_string();
    assert!(
        text.contains("GetParameters") && text.contains("/j/p,/j/q"),
        "{text}"
    );
}
