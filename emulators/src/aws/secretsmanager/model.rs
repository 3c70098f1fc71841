//! Secrets Manager's input constraints, member by member, from its service model (botocore
//! `data/secretsmanager/2017-10-17/service-2.json`): what the front end refuses with a
//! ValidationException before any operation runs.

use crate::aws::validate::{Member, Operation, Pattern, Shape, Table, opt, req, str};

const SECRET_ID: Member = req("SecretId", str(1, 2048));
const CLIENT_REQUEST_TOKEN: Member = opt("ClientRequestToken", str(32, 64));
const VERSION_ID: Shape = str(32, 64);
const VERSION_STAGE: Shape = str(1, 256);
const DESCRIPTION: Member = opt("Description", str(0, 2048));
const KMS_KEY_ID: Member = opt("KmsKeyId", str(0, 2048));
const TYPE: Member = opt("Type", str(0, 256));
const SECRET_STRING: Member = opt(
    "SecretString",
    Shape::Str {
        min: 1,
        max: 65_536,
        pattern: None,
        sensitive: true,
    },
);
const SECRET_BINARY: Member = opt(
    "SecretBinary",
    Shape::Blob {
        min: 1,
        max: 65_536,
    },
);
const NEXT_TOKEN: Member = opt("NextToken", str(1, 4096));
const TAG: &[Member] = &[opt("Key", str(1, 128)), opt("Value", str(0, 256))];
const TAGS: Shape = Shape::List {
    min: 0,
    max: usize::MAX,
    item: TAG,
};

fn filter_value_ok(v: &str) -> bool {
    let v = v.strip_prefix('!').unwrap_or(v);
    v.chars()
        .all(|c| c.is_ascii_alphanumeric() || " :_@/+=.-!".contains(c))
}

const FILTER: &[Member] = &[
    opt(
        "Key",
        Shape::Enum(&[
            "description",
            "name",
            "tag-key",
            "tag-value",
            "primary-region",
            "owning-service",
            "all",
        ]),
    ),
    opt(
        "Values",
        Shape::StrList {
            min: 1,
            max: 10,
            item_min: 0,
            item_max: 512,
            item_pattern: Some(Pattern {
                text: "^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$",
                ok: filter_value_ok,
            }),
        },
    ),
];
const FILTERS: Member = opt(
    "Filters",
    Shape::List {
        min: 0,
        max: 10,
        item: FILTER,
    },
);

fn hours_ok(v: &str) -> bool {
    v.strip_suffix('h')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn schedule_ok(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "()#?*-/, ".contains(c))
}

fn rotation_token_ok(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

const ROTATION_RULES: &[Member] = &[
    opt("AutomaticallyAfterDays", Shape::Long { min: 1, max: 1000 }),
    opt(
        "Duration",
        Shape::Str {
            min: 2,
            max: 3,
            pattern: Some(Pattern {
                text: "[0-9]+h",
                ok: hours_ok,
            }),
            sensitive: false,
        },
    ),
    opt(
        "ScheduleExpression",
        Shape::Str {
            min: 1,
            max: 256,
            pattern: Some(Pattern {
                text: "[0-9A-Za-z\\(\\)#\\?\\*\\-\\/, ]+",
                ok: schedule_ok,
            }),
            sensitive: false,
        },
    ),
];

pub(crate) const TABLE: Table = &[
    Operation {
        name: "CreateSecret",
        members: &[
            req("Name", str(1, 512)),
            CLIENT_REQUEST_TOKEN,
            DESCRIPTION,
            KMS_KEY_ID,
            SECRET_BINARY,
            SECRET_STRING,
            opt("Tags", TAGS),
            TYPE,
        ],
    },
    Operation {
        name: "GetSecretValue",
        members: &[
            SECRET_ID,
            opt("VersionId", VERSION_ID),
            opt("VersionStage", VERSION_STAGE),
        ],
    },
    Operation {
        name: "BatchGetSecretValue",
        members: &[
            opt(
                "SecretIdList",
                Shape::StrList {
                    min: 1,
                    max: 20,
                    item_min: 1,
                    item_max: 2048,
                    item_pattern: None,
                },
            ),
            FILTERS,
            opt("MaxResults", Shape::Long { min: 1, max: 20 }),
            NEXT_TOKEN,
        ],
    },
    Operation {
        name: "DescribeSecret",
        members: &[SECRET_ID],
    },
    Operation {
        name: "PutSecretValue",
        members: &[
            SECRET_ID,
            CLIENT_REQUEST_TOKEN,
            SECRET_BINARY,
            SECRET_STRING,
            opt(
                "VersionStages",
                Shape::StrList {
                    min: 1,
                    max: 20,
                    item_min: 1,
                    item_max: 256,
                    item_pattern: None,
                },
            ),
            opt(
                "RotationToken",
                Shape::Str {
                    min: 36,
                    max: 256,
                    pattern: Some(Pattern {
                        text: "^[a-zA-Z0-9\\-]+$",
                        ok: rotation_token_ok,
                    }),
                    sensitive: true,
                },
            ),
        ],
    },
    Operation {
        name: "UpdateSecret",
        members: &[
            SECRET_ID,
            CLIENT_REQUEST_TOKEN,
            DESCRIPTION,
            KMS_KEY_ID,
            SECRET_BINARY,
            SECRET_STRING,
            TYPE,
        ],
    },
    Operation {
        name: "UpdateSecretVersionStage",
        members: &[
            SECRET_ID,
            req("VersionStage", VERSION_STAGE),
            opt("RemoveFromVersionId", VERSION_ID),
            opt("MoveToVersionId", VERSION_ID),
        ],
    },
    Operation {
        name: "RotateSecret",
        members: &[
            SECRET_ID,
            CLIENT_REQUEST_TOKEN,
            opt("RotationLambdaARN", str(0, 2048)),
            opt("RotationRules", Shape::Struct(ROTATION_RULES)),
            opt("ExternalSecretRotationRoleArn", str(20, 2048)),
        ],
    },
    Operation {
        name: "DeleteSecret",
        members: &[SECRET_ID],
    },
    Operation {
        name: "RestoreSecret",
        members: &[SECRET_ID],
    },
    Operation {
        name: "ListSecrets",
        members: &[
            opt("MaxResults", Shape::Long { min: 1, max: 100 }),
            NEXT_TOKEN,
            FILTERS,
            opt("SortOrder", Shape::Enum(&["asc", "desc"])),
            opt(
                "SortBy",
                Shape::Enum(&[
                    "created-date",
                    "last-accessed-date",
                    "last-changed-date",
                    "name",
                ]),
            ),
        ],
    },
    Operation {
        name: "ListSecretVersionIds",
        members: &[
            SECRET_ID,
            opt("MaxResults", Shape::Long { min: 1, max: 100 }),
            NEXT_TOKEN,
        ],
    },
    Operation {
        name: "TagResource",
        members: &[SECRET_ID, req("Tags", TAGS)],
    },
    Operation {
        name: "UntagResource",
        members: &[
            SECRET_ID,
            req(
                "TagKeys",
                Shape::StrList {
                    min: 0,
                    max: usize::MAX,
                    item_min: 1,
                    item_max: 128,
                    item_pattern: None,
                },
            ),
        ],
    },
    Operation {
        name: "GetRandomPassword",
        members: &[
            opt("PasswordLength", Shape::Long { min: 1, max: 4096 }),
            opt("ExcludeCharacters", str(0, 4096)),
        ],
    },
];

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;
    use crate::aws::validate::check;
    use serde_json::json;

    #[test]
    fn a_secret_id_over_2048_characters_is_refused_in_coral_words() {
        let long = "a".repeat(2049);
        let e = check(TABLE, "GetSecretValue", &json!({ "SecretId": long })).expect_err("long");
        assert_eq!(
            e.message,
            format!(
                "1 validation error detected: Value '{long}' at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048"
            )
        );
        check(
            TABLE,
            "GetSecretValue",
            &json!({ "SecretId": "a".repeat(2048) }),
        )
        .expect("at the limit");
    }

    #[test]
    fn secret_values_are_counted_but_never_echoed() {
        let e = check(
            TABLE,
            "CreateSecret",
            &json!({ "Name": "n", "SecretString": "" }),
        )
        .expect_err("empty");
        assert!(
            e.message
                .contains("Value at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1"),
            "{}",
            e.message
        );
        let e = check(
            TABLE,
            "RotateSecret",
            &json!({ "SecretId": "s", "RotationRules": { "AutomaticallyAfterDays": 1_000_000_000_000_i64 } }),
        )
        .expect_err("days");
        assert!(
            e.message.contains(
                "at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value less than or equal to 1000"
            ),
            "{}",
            e.message
        );
    }
}
