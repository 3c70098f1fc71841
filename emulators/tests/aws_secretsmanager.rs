//! Secrets Manager conformance: the official aws-sdk-secretsmanager against the emulator.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};

const REGION: &str = "us-east-1";

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_owned()
}

async fn create(client: &Client, name: &str, value: &str) -> (String, String) {
    let out = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create");
    (
        out.arn().expect("arn").to_owned(),
        out.version_id().expect("version").to_owned(),
    )
}

#[tokio::test]
async fn create_get_and_describe_a_json_secret_like_seed_001() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let value = r#"{"username":"mamezou","password":"s3cr3t"}"#;
    let out = sm
        .create_secret()
        .name("sample-app/db")
        .description("db credentials")
        .secret_string(value)
        .tags(Tag::builder().key("team").value("platform").build())
        .send()
        .await
        .expect("create");
    let arn = out.arn().expect("arn");
    let suffix = arn.rsplit('-').next().expect("suffix");
    assert!(arn.starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:sample-app/db-"));
    assert_eq!(suffix.len(), 6);
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    let version = out.version_id().expect("version id");

    let got = sm
        .get_secret_value()
        .secret_id("sample-app/db")
        .send()
        .await
        .expect("get");
    assert_eq!(got.secret_string(), Some(value));
    assert_eq!(got.version_id(), Some(version));
    assert_eq!(got.version_stages(), ["AWSCURRENT"]);
    assert_eq!(got.arn(), Some(arn));
    assert!(got.created_date().is_some());

    let d = sm
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(d.name(), Some("sample-app/db"));
    assert_eq!(d.description(), Some("db credentials"));
    assert_eq!(d.tags().len(), 1);
    let stages = d.version_ids_to_stages().expect("stages");
    assert_eq!(
        stages.get(version).map(|s| s.as_slice()),
        Some(&["AWSCURRENT".to_owned()][..])
    );
    assert!(
        d.last_accessed_date().is_some(),
        "GetSecretValue records the access day"
    );
    assert_eq!(
        d.rotation_enabled(),
        None,
        "never rotated: AWS omits RotationEnabled"
    );
}

#[tokio::test]
async fn lookup_by_full_and_partial_arn() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let (arn, _) = create(&sm, "SecretsManagerTest2-cfg", "v").await;
    let partial = &arn[..arn.len() - 7];
    for id in [arn.as_str(), partial, "SecretsManagerTest2-cfg"] {
        let got = sm
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .expect("found");
        assert_eq!(got.secret_string(), Some("v"), "lookup by {id}");
    }
    let wrong = format!("{partial}-XXXXXX");
    let err = sm
        .get_secret_value()
        .secret_id(wrong)
        .send()
        .await
        .expect_err("wrong suffix");
    assert_eq!(code(&err.into_service_error()), "ResourceNotFoundException");
}

#[tokio::test]
async fn binary_secrets_round_trip() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let bytes = vec![0u8, 159, 146, 150, 255];
    sm.create_secret()
        .name("bin")
        .secret_binary(Blob::new(bytes.clone()))
        .send()
        .await
        .expect("create");
    let got = sm
        .get_secret_value()
        .secret_id("bin")
        .send()
        .await
        .expect("get");
    assert_eq!(
        got.secret_binary().map(|b| b.as_ref().to_vec()),
        Some(bytes)
    );
    assert_eq!(got.secret_string(), None);
}

#[tokio::test]
async fn put_secret_value_moves_current_and_previous_like_aws() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let (_, v1) = create(&sm, "rotating", "one").await;
    let put = sm
        .put_secret_value()
        .secret_id("rotating")
        .secret_string("two")
        .send()
        .await
        .expect("put");
    let v2 = put.version_id().expect("v2").to_owned();
    assert_eq!(put.version_stages(), ["AWSCURRENT"]);
    let d = sm
        .describe_secret()
        .secret_id("rotating")
        .send()
        .await
        .expect("describe");
    let stages = d.version_ids_to_stages().expect("stages");
    assert_eq!(stages[&v1], ["AWSPREVIOUS"]);
    assert_eq!(stages[&v2], ["AWSCURRENT"]);

    let prev = sm
        .get_secret_value()
        .secret_id("rotating")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .expect("previous");
    assert_eq!(prev.secret_string(), Some("one"));
    let by_id = sm
        .get_secret_value()
        .secret_id("rotating")
        .version_id(&v1)
        .send()
        .await
        .expect("by id");
    assert_eq!(by_id.secret_string(), Some("one"));

    // A third value leaves the first version without labels: deprecated, hidden by default.
    sm.put_secret_value()
        .secret_id("rotating")
        .secret_string("three")
        .send()
        .await
        .expect("put");
    let listed = sm
        .list_secret_version_ids()
        .secret_id("rotating")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.versions().len(), 2);
    let all = sm
        .list_secret_version_ids()
        .secret_id("rotating")
        .include_deprecated(true)
        .send()
        .await
        .expect("list");
    assert_eq!(all.versions().len(), 3);
}

#[tokio::test]
async fn put_with_an_existing_token_is_idempotent_only_for_the_same_value() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    create(&sm, "idem", "one").await;
    let token = "11111111-2222-3333-4444-555555555555";
    let a = sm
        .put_secret_value()
        .secret_id("idem")
        .client_request_token(token)
        .secret_string("two")
        .send()
        .await
        .expect("put");
    let b = sm
        .put_secret_value()
        .secret_id("idem")
        .client_request_token(token)
        .secret_string("two")
        .send()
        .await
        .expect("same put again");
    assert_eq!(a.version_id(), b.version_id());
    let err = sm
        .put_secret_value()
        .secret_id("idem")
        .client_request_token(token)
        .secret_string("different")
        .send()
        .await
        .expect_err("versions are immutable");
    assert_eq!(code(&err.into_service_error()), "ResourceExistsException");
}

#[tokio::test]
async fn get_secret_value_errors() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let (_, v1) = create(&sm, "errs", "x").await;
    let missing = sm
        .get_secret_value()
        .secret_id("nope")
        .send()
        .await
        .expect_err("missing");
    let missing = missing.into_service_error();
    assert_eq!(code(&missing), "ResourceNotFoundException");
    assert_eq!(
        missing.message(),
        Some("Secrets Manager can't find the specified secret.")
    );

    let stage = sm
        .get_secret_value()
        .secret_id("errs")
        .version_stage("AWSPENDING")
        .send()
        .await
        .expect_err("no pending")
        .into_service_error();
    assert_eq!(code(&stage), "ResourceNotFoundException");
    assert_eq!(
        stage.message(),
        Some("Secrets Manager can't find the specified secret value for staging label: AWSPENDING")
    );

    let mismatch = sm
        .get_secret_value()
        .secret_id("errs")
        .version_id(&v1)
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .expect_err("mismatch")
        .into_service_error();
    assert_eq!(code(&mismatch), "InvalidRequestException");
}

#[tokio::test]
async fn create_errors() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    create(&sm, "dup", "x").await;
    let dup = sm
        .create_secret()
        .name("dup")
        .secret_string("y")
        .send()
        .await
        .expect_err("dup");
    assert_eq!(code(&dup.into_service_error()), "ResourceExistsException");

    let bad = sm
        .create_secret()
        .name("bad name!")
        .secret_string("y")
        .send()
        .await
        .expect_err("invalid");
    assert_eq!(code(&bad.into_service_error()), "ValidationException");

    let both = sm
        .create_secret()
        .name("both")
        .secret_string("y")
        .secret_binary(Blob::new(b"y".to_vec()))
        .send()
        .await
        .expect_err("both");
    assert_eq!(
        code(&both.into_service_error()),
        "InvalidParameterException"
    );

    let huge = sm
        .create_secret()
        .name("huge")
        .secret_string("x".repeat(65_537))
        .send()
        .await
        .expect_err("too large");
    assert_eq!(code(&huge.into_service_error()), "ValidationException");

    // A secret without a value exists but has no version to read.
    let empty = sm
        .create_secret()
        .name("empty")
        .send()
        .await
        .expect("create without value");
    assert!(empty.version_id().is_none());
    let err = sm
        .get_secret_value()
        .secret_id("empty")
        .send()
        .await
        .expect_err("no value");
    assert_eq!(code(&err.into_service_error()), "ResourceNotFoundException");
}

#[tokio::test]
async fn delete_restore_and_force_delete() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    create(&sm, "gone", "x").await;
    let del = sm
        .delete_secret()
        .secret_id("gone")
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("delete");
    assert!(del.deletion_date().is_some());

    let get = sm
        .get_secret_value()
        .secret_id("gone")
        .send()
        .await
        .expect_err("deleted");
    let get = get.into_service_error();
    assert_eq!(code(&get), "InvalidRequestException");
    assert_eq!(
        get.message(),
        Some("You can't perform this operation on the secret because it was marked for deletion.")
    );
    let recreate = sm
        .create_secret()
        .name("gone")
        .secret_string("y")
        .send()
        .await
        .expect_err("scheduled");
    assert_eq!(
        code(&recreate.into_service_error()),
        "InvalidRequestException"
    );
    let again = sm
        .delete_secret()
        .secret_id("gone")
        .send()
        .await
        .expect_err("already scheduled");
    assert_eq!(code(&again.into_service_error()), "InvalidRequestException");

    let listed = sm.list_secrets().send().await.expect("list");
    assert!(
        listed.secret_list().is_empty(),
        "deleted secrets are hidden"
    );
    let planned = sm
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .expect("list");
    assert_eq!(planned.secret_list().len(), 1);
    assert!(planned.secret_list()[0].deleted_date().is_some());

    sm.restore_secret()
        .secret_id("gone")
        .send()
        .await
        .expect("restore");
    let got = sm
        .get_secret_value()
        .secret_id("gone")
        .send()
        .await
        .expect("restored");
    assert_eq!(got.secret_string(), Some("x"));

    let both = sm
        .delete_secret()
        .secret_id("gone")
        .recovery_window_in_days(7)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect_err("exclusive");
    assert_eq!(
        code(&both.into_service_error()),
        "InvalidParameterException"
    );
    let window = sm
        .delete_secret()
        .secret_id("gone")
        .recovery_window_in_days(3)
        .send()
        .await
        .expect_err("window");
    assert_eq!(
        code(&window.into_service_error()),
        "InvalidParameterException"
    );

    sm.delete_secret()
        .secret_id("gone")
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("force");
    let err = sm
        .describe_secret()
        .secret_id("gone")
        .send()
        .await
        .expect_err("gone");
    assert_eq!(code(&err.into_service_error()), "ResourceNotFoundException");
    // A forced delete of a missing secret succeeds, as on AWS.
    sm.delete_secret()
        .secret_id("never-was")
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("force missing");
    create(&sm, "gone", "fresh").await;
}

#[tokio::test]
async fn scheduled_deletion_happens_when_the_window_passes() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    create(&sm, "expiring", "x").await;
    sm.delete_secret()
        .secret_id("expiring")
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("delete");
    env.running
        .core
        .clock
        .advance(time::Duration::days(8))
        .expect("eight days");
    let err = sm
        .describe_secret()
        .secret_id("expiring")
        .send()
        .await
        .expect_err("purged");
    assert_eq!(code(&err.into_service_error()), "ResourceNotFoundException");
    create(&sm, "expiring", "again").await;
}

#[tokio::test]
async fn update_secret_and_version_stages() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let (_, v1) = create(&sm, "staged", "one").await;
    let meta = sm
        .update_secret()
        .secret_id("staged")
        .description("new")
        .send()
        .await
        .expect("update");
    assert!(meta.version_id().is_none(), "no value, no version");
    let upd = sm
        .update_secret()
        .secret_id("staged")
        .secret_string("two")
        .send()
        .await
        .expect("update");
    let v2 = upd.version_id().expect("v2").to_owned();
    let d = sm
        .describe_secret()
        .secret_id("staged")
        .send()
        .await
        .expect("describe");
    assert_eq!(d.description(), Some("new"));
    assert_eq!(
        d.version_ids_to_stages().expect("stages")[&v2],
        ["AWSCURRENT"]
    );

    // Moving AWSCURRENT back without naming where it is now fails, with AWS's explanation.
    let err = sm
        .update_secret_version_stage()
        .secret_id("staged")
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .send()
        .await
        .expect_err("needs RemoveFromVersionId")
        .into_service_error();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(err.message().unwrap_or_default().contains(&v2));

    sm.update_secret_version_stage()
        .secret_id("staged")
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .remove_from_version_id(&v2)
        .send()
        .await
        .expect("move back");
    let stages = sm
        .describe_secret()
        .secret_id("staged")
        .send()
        .await
        .expect("describe");
    let stages = stages.version_ids_to_stages().expect("stages");
    assert_eq!(stages[&v1], ["AWSCURRENT"]);
    assert_eq!(stages[&v2], ["AWSPREVIOUS"]);

    // A custom label on its own.
    sm.update_secret_version_stage()
        .secret_id("staged")
        .version_stage("BLUE")
        .move_to_version_id(&v2)
        .send()
        .await
        .expect("custom label");
    let blue = sm
        .get_secret_value()
        .secret_id("staged")
        .version_stage("BLUE")
        .send()
        .await
        .expect("blue");
    assert_eq!(blue.secret_string(), Some("two"));
}

#[tokio::test]
async fn rotate_secret_without_lambda_is_refused_and_with_one_promotes_a_new_version() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let (_, v1) = create(&sm, "rot", r#"{"username":"app","password":"old"}"#).await;
    let err = sm
        .rotate_secret()
        .secret_id("rot")
        .send()
        .await
        .expect_err("no lambda");
    assert_eq!(code(&err.into_service_error()), "InvalidRequestException");

    let out = sm
        .rotate_secret()
        .secret_id("rot")
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:rotator")
        .send()
        .await
        .expect("rotate");
    let v2 = out.version_id().expect("new version").to_owned();
    let got = sm
        .get_secret_value()
        .secret_id("rot")
        .send()
        .await
        .expect("get");
    assert_eq!(got.version_id(), Some(v2.as_str()));
    let value: serde_json::Value =
        serde_json::from_str(got.secret_string().expect("string")).expect("json kept");
    assert_eq!(value["username"], "app");
    assert_ne!(value["password"], "old");
    let d = sm
        .describe_secret()
        .secret_id("rot")
        .send()
        .await
        .expect("describe");
    assert_eq!(d.rotation_enabled(), Some(true));
    assert!(d.last_rotated_date().is_some());
    assert_eq!(
        d.version_ids_to_stages().expect("stages")[&v1],
        ["AWSPREVIOUS"]
    );
}

#[tokio::test]
async fn rotation_rules_give_a_next_rotation_date_at_the_end_of_the_day() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    create(&sm, "scheduled", "x").await;
    sm.rotate_secret()
        .secret_id("scheduled")
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:rotator")
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(7)
                .build(),
        )
        .send()
        .await
        .expect("rotate");
    let d = sm
        .describe_secret()
        .secret_id("scheduled")
        .send()
        .await
        .expect("describe");
    let last = d.last_rotated_date().expect("last rotated").secs();
    let next = d.next_rotation_date().expect("next rotation").secs();
    let end_of_day = (last + 7 * 86_400) / 86_400 * 86_400 + 86_399;
    assert_eq!(next, end_of_day);
    let listed = sm.list_secrets().send().await.expect("list");
    let entry = listed
        .secret_list()
        .iter()
        .find(|e| e.name() == Some("scheduled"))
        .expect("listed");
    assert_eq!(entry.next_rotation_date().map(|t| t.secs()), Some(next));
}

#[tokio::test]
async fn list_secrets_filters_and_pages() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    for i in 0..5 {
        create(&sm, &format!("app/{i}"), "x").await;
    }
    create(&sm, "other", "x").await;
    sm.tag_resource()
        .secret_id("other")
        .tags(Tag::builder().key("env").value("prod").build())
        .send()
        .await
        .expect("tag");

    let by_name = sm
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values("app/")
                .build(),
        )
        .send()
        .await
        .expect("filter");
    assert_eq!(by_name.secret_list().len(), 5);
    let negated = sm
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values("!app/")
                .build(),
        )
        .send()
        .await
        .expect("negated");
    assert_eq!(negated.secret_list().len(), 1);
    let by_tag = sm
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::TagValue)
                .values("prod")
                .build(),
        )
        .send()
        .await
        .expect("tag filter");
    assert_eq!(by_tag.secret_list()[0].name(), Some("other"));
    assert!(
        by_tag.secret_list()[0]
            .secret_versions_to_stages()
            .is_some()
    );

    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = sm
            .list_secrets()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .expect("page");
        assert!(page.secret_list().len() <= 2);
        names.extend(
            page.secret_list()
                .iter()
                .filter_map(|s| s.name().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        ["app/0", "app/1", "app/2", "app/3", "app/4", "other"]
    );

    let bad = sm
        .list_secrets()
        .next_token("%%%")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(code(&bad.into_service_error()), "InvalidNextTokenException");

    sm.untag_resource()
        .secret_id("other")
        .tag_keys("env")
        .send()
        .await
        .expect("untag");
    let d = sm
        .describe_secret()
        .secret_id("other")
        .send()
        .await
        .expect("describe");
    assert!(d.tags().is_empty());
}

#[tokio::test]
async fn batch_get_secret_value_reports_each_missing_secret() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    create(&sm, "b1", "one").await;
    create(&sm, "b2", "two").await;
    let out = sm
        .batch_get_secret_value()
        .secret_id_list("b1")
        .secret_id_list("b2")
        .secret_id_list("missing")
        .send()
        .await
        .expect("batch");
    let mut values: Vec<_> = out
        .secret_values()
        .iter()
        .filter_map(|v| v.secret_string())
        .collect();
    values.sort_unstable();
    assert_eq!(values, ["one", "two"]);
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].secret_id(), Some("missing"));
    assert_eq!(
        out.errors()[0].error_code(),
        Some("ResourceNotFoundException")
    );

    let filtered = sm
        .batch_get_secret_value()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values("b")
                .build(),
        )
        .max_results(1)
        .send()
        .await
        .expect("filters");
    assert_eq!(filtered.secret_values().len(), 1);
    assert!(filtered.next_token().is_some());

    let neither = sm
        .batch_get_secret_value()
        .send()
        .await
        .expect_err("neither");
    assert_eq!(
        code(&neither.into_service_error()),
        "InvalidParameterException"
    );
}

#[tokio::test]
async fn get_random_password_follows_the_rules() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let out = sm
        .get_random_password()
        .password_length(20)
        .exclude_punctuation(true)
        .send()
        .await
        .expect("password");
    let p = out.random_password().expect("password");
    assert_eq!(p.len(), 20);
    assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
}

#[tokio::test]
async fn get_random_password_length_out_of_range_names_the_broken_bound() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    for (length, bound) in [
        (5000, "less than or equal to 4096"),
        (0, "greater than or equal to 1"),
    ] {
        let err = sm
            .get_random_password()
            .password_length(length)
            .send()
            .await
            .expect_err("out of range")
            .into_service_error();
        assert_eq!(code(&err), "ValidationException");
        assert_eq!(
            err.message(),
            Some(
                format!(
                    "1 validation error detected: Value '{length}' at 'passwordLength' failed to satisfy constraint: Member must have value {bound}"
                )
                .as_str()
            )
        );
    }
}

#[tokio::test]
async fn regions_are_isolated() {
    let env = common::emulator().await;
    let east = env.secretsmanager("us-east-1").await;
    let west = env.secretsmanager("us-west-2").await;
    create(&east, "regional", "east").await;
    let err = west
        .get_secret_value()
        .secret_id("regional")
        .send()
        .await
        .expect_err("other region");
    assert_eq!(code(&err.into_service_error()), "ResourceNotFoundException");
    let (arn, _) = create(&west, "regional", "west").await;
    assert!(arn.contains(":us-west-2:"));
    let got = east
        .get_secret_value()
        .secret_id("regional")
        .send()
        .await
        .expect("east");
    assert_eq!(got.secret_string(), Some("east"));
}

#[tokio::test]
async fn seeded_secrets_are_readable() {
    let env = common::emulator().await;
    env.seed(
        r#"
aws:
  secrets:
    - name: MySecret
      secretString: '{"username":"memeuser","password":"hoge"}'
    - name: west-only
      region: us-west-2
      secretString: w
"#,
    )
    .await;
    let sm = env.secretsmanager(REGION).await;
    let got = sm
        .get_secret_value()
        .secret_id("MySecret")
        .send()
        .await
        .expect("seeded");
    assert_eq!(
        got.secret_string(),
        Some(r#"{"username":"memeuser","password":"hoge"}"#)
    );
    let west = env.secretsmanager("us-west-2").await;
    assert_eq!(
        west.get_secret_value()
            .secret_id("west-only")
            .send()
            .await
            .expect("west")
            .secret_string(),
        Some("w")
    );
}

#[tokio::test]
async fn a_refused_tag_resource_leaves_the_tags_as_they_were() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    create(&sm, "tagged", "x").await;
    let tags = |range: std::ops::Range<usize>| {
        range
            .map(|i| Tag::builder().key(format!("k{i}")).value("v").build())
            .collect::<Vec<_>>()
    };
    sm.tag_resource()
        .secret_id("tagged")
        .set_tags(Some(tags(0..45)))
        .send()
        .await
        .expect("45 tags");
    // Overwriting existing keys does not count against the limit.
    sm.tag_resource()
        .secret_id("tagged")
        .set_tags(Some(tags(40..50)))
        .send()
        .await
        .expect("50 tags");
    let err = sm
        .tag_resource()
        .secret_id("tagged")
        .set_tags(Some(tags(50..52)))
        .send()
        .await
        .expect_err("over the limit");
    assert_eq!(code(&err.into_service_error()), "ValidationException");
    let d = sm
        .describe_secret()
        .secret_id("tagged")
        .send()
        .await
        .expect("describe");
    assert_eq!(d.tags().len(), 50, "the refused call added nothing");
}

/// A client retrying CreateSecret with the token of its first call gets the first call's answer
/// back ("the request is ignored"); the same token with another value is refused, since a
/// version cannot change (API reference, CreateSecret `ClientRequestToken`).
#[tokio::test]
async fn create_secret_is_idempotent_per_client_request_token() {
    let env = common::emulator().await;
    let sm = env.secretsmanager(REGION).await;
    let token = "a1b2c3d4-0000-4000-8000-00000000c0de";
    let first = sm
        .create_secret()
        .name("retried")
        .client_request_token(token)
        .secret_string("v1")
        .send()
        .await
        .expect("first");
    let again = sm
        .create_secret()
        .name("retried")
        .client_request_token(token)
        .secret_string("v1")
        .send()
        .await
        .expect("a retry of the same request succeeds");
    assert_eq!(again.arn(), first.arn());
    assert_eq!(again.name(), Some("retried"));
    assert_eq!(again.version_id(), Some(token));
    let versions = sm
        .list_secret_version_ids()
        .secret_id("retried")
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 1, "the retry made no version");

    let changed = sm
        .create_secret()
        .name("retried")
        .client_request_token(token)
        .secret_string("v2")
        .send()
        .await
        .expect_err("another value under the same token");
    let changed = changed.into_service_error();
    assert_eq!(code(&changed), "ResourceExistsException");
    assert_eq!(
        changed.message(),
        Some("You can't modify an existing version, you can only create a new version.")
    );
    let other_token = sm
        .create_secret()
        .name("retried")
        .secret_string("v1")
        .send()
        .await
        .expect_err("a new request for an existing name");
    assert_eq!(
        code(&other_token.into_service_error()),
        "ResourceExistsException"
    );
}

async fn strict_client(env: &common::Env, policy: &str) -> Client {
    env.seed(&format!(
        r#"
aws:
  authorization: strict
  users:
    - accessKeyId: AKIABATCH00000000001
      secretAccessKey: batch-secret
      policy:
{policy}
  secrets:
    - {{ name: app/one, secretString: one }}
    - {{ name: other/two, secretString: two }}
"#
    ))
    .await;
    let creds = aws_credential_types::Credentials::new(
        "AKIABATCH00000000001",
        "batch-secret",
        None,
        None,
        "test",
    );
    Client::new(&common::sdk_config(&env.url, REGION, creds).await)
}

#[tokio::test]
async fn batch_get_secret_value_needs_its_own_permission_besides_get_secret_value() {
    let env = common::emulator().await;
    let sm = strict_client(
        &env,
        r#"        - actions: ["secretsmanager:GetSecretValue"]
          resources: ["*"]"#,
    )
    .await;
    sm.get_secret_value()
        .secret_id("app/one")
        .send()
        .await
        .expect("GetSecretValue is allowed");
    let err = sm
        .batch_get_secret_value()
        .secret_id_list("app/one")
        .send()
        .await
        .expect_err("no secretsmanager:BatchGetSecretValue");
    let err = err.into_service_error();
    assert_eq!(code(&err), "AccessDeniedException");
    assert!(
        err.message()
            .unwrap_or_default()
            .contains("is not authorized to perform: secretsmanager:BatchGetSecretValue"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_secret_the_caller_may_not_read_is_access_denied_whether_or_not_it_exists() {
    let env = common::emulator().await;
    let sm = strict_client(
        &env,
        r#"        - actions: ["secretsmanager:BatchGetSecretValue"]
          resources: ["*"]
        - actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
          resources: ["arn:aws:secretsmanager:*:*:secret:app/*"]"#,
    )
    .await;
    let out = sm
        .batch_get_secret_value()
        .secret_id_list("app/one")
        .secret_id_list("app/missing")
        .secret_id_list("other/two")
        .secret_id_list("other/missing")
        .send()
        .await
        .expect("batch");
    let values: Vec<&str> = out
        .secret_values()
        .iter()
        .filter_map(|v| v.name())
        .collect();
    assert_eq!(values, ["app/one"]);
    let errors: Vec<(&str, &str)> = out
        .errors()
        .iter()
        .map(|e| {
            (
                e.secret_id().unwrap_or_default(),
                e.error_code().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("app/missing", "ResourceNotFoundException"),
            ("other/two", "AccessDeniedException"),
            ("other/missing", "AccessDeniedException"),
        ],
        "absence is only told to a caller who may read the name"
    );
    for id in ["other/two", "other/missing"] {
        let err = sm
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .expect_err("denied");
        assert_eq!(
            code(&err.into_service_error()),
            "AccessDeniedException",
            "{id}"
        );
    }
    let missing = sm
        .get_secret_value()
        .secret_id("app/missing")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(
        code(&missing.into_service_error()),
        "ResourceNotFoundException"
    );
    // Filters list secrets, so they need secretsmanager:ListSecrets too.
    let filtered = sm
        .batch_get_secret_value()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values("app/")
                .build(),
        )
        .send()
        .await
        .expect_err("no ListSecrets");
    let filtered = filtered.into_service_error();
    assert_eq!(code(&filtered), "AccessDeniedException");
    assert!(
        filtered
            .message()
            .unwrap_or_default()
            .contains("secretsmanager:ListSecrets")
    );
}
