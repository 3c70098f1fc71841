//! SSM Parameter Store's input constraints, member by member, from its service model (botocore
//! `data/ssm/2014-11-06/service-2.json`): what the front end refuses with a ValidationException
//! before any operation runs.

use crate::aws::validate::{Member, Operation, Pattern, Shape, Table, opt, req, str};

const NAME: Member = req("Name", str(1, 2048));
const NAMES: Shape = Shape::StrList {
    min: 1,
    max: 10,
    item_min: 1,
    item_max: 2048,
    item_pattern: None,
};
const LABELS: Shape = Shape::StrList {
    min: 1,
    max: 10,
    item_min: 1,
    item_max: 100,
    item_pattern: None,
};
const FILTER_VALUES: Shape = Shape::StrList {
    min: 1,
    max: 50,
    item_min: 1,
    item_max: 1024,
    item_pattern: None,
};

fn key_id_ok(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-'))
}

/// `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`: letters, separators and numbers of any script, and a few
/// punctuation marks.
fn tag_text_ok(t: &str) -> bool {
    t.chars().all(|c| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
    })
}

fn filter_key_ok(k: &str) -> bool {
    k.strip_prefix("tag:").is_some_and(|t| !t.is_empty())
        || ["Name", "Type", "KeyId", "Path", "Label", "Tier", "DataType"].contains(&k)
}

const TAG_TEXT: Pattern = Pattern {
    text: "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
    ok: tag_text_ok,
};
const TAG: &[Member] = &[
    req(
        "Key",
        Shape::Str {
            min: 1,
            max: 128,
            pattern: Some(TAG_TEXT),
            sensitive: false,
        },
    ),
    req(
        "Value",
        Shape::Str {
            min: 0,
            max: 256,
            pattern: Some(TAG_TEXT),
            sensitive: false,
        },
    ),
];
const STRING_FILTER: &[Member] = &[
    req(
        "Key",
        Shape::Str {
            min: 1,
            max: 132,
            pattern: Some(Pattern {
                text: "tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType",
                ok: filter_key_ok,
            }),
            sensitive: false,
        },
    ),
    opt("Option", str(1, 10)),
    opt("Values", FILTER_VALUES),
];
const STRING_FILTERS: Member = opt(
    "ParameterFilters",
    Shape::List {
        min: 0,
        max: usize::MAX,
        item: STRING_FILTER,
    },
);

pub(crate) const TABLE: Table = &[
    Operation {
        name: "PutParameter",
        members: &[
            NAME,
            opt("Description", str(0, 1024)),
            req(
                "Value",
                Shape::Str {
                    min: 0,
                    max: usize::MAX,
                    pattern: None,
                    sensitive: true,
                },
            ),
            opt(
                "Type",
                Shape::Enum(&["String", "StringList", "SecureString"]),
            ),
            opt(
                "KeyId",
                Shape::Str {
                    min: 1,
                    max: 256,
                    pattern: Some(Pattern {
                        text: "^([a-zA-Z0-9:/_-]+)$",
                        ok: key_id_ok,
                    }),
                    sensitive: false,
                },
            ),
            opt("AllowedPattern", str(0, 1024)),
            opt(
                "Tags",
                Shape::List {
                    min: 0,
                    max: 1000,
                    item: TAG,
                },
            ),
            opt(
                "Tier",
                Shape::Enum(&["Standard", "Advanced", "Intelligent-Tiering"]),
            ),
            opt("Policies", str(1, 4096)),
            opt("DataType", str(0, 128)),
        ],
    },
    Operation {
        name: "GetParameter",
        members: &[NAME],
    },
    Operation {
        name: "GetParameters",
        members: &[req("Names", NAMES)],
    },
    Operation {
        name: "GetParametersByPath",
        members: &[
            req("Path", str(1, 2048)),
            STRING_FILTERS,
            opt("MaxResults", Shape::Long { min: 1, max: 10 }),
        ],
    },
    Operation {
        name: "DeleteParameter",
        members: &[NAME],
    },
    Operation {
        name: "DeleteParameters",
        members: &[req("Names", NAMES)],
    },
    Operation {
        name: "DescribeParameters",
        members: &[
            opt(
                "Filters",
                Shape::List {
                    min: 0,
                    max: usize::MAX,
                    item: &[
                        req("Key", Shape::Enum(&["Name", "Type", "KeyId"])),
                        req("Values", FILTER_VALUES),
                    ],
                },
            ),
            STRING_FILTERS,
            opt("MaxResults", Shape::Long { min: 1, max: 50 }),
        ],
    },
    Operation {
        name: "GetParameterHistory",
        members: &[NAME, opt("MaxResults", Shape::Long { min: 1, max: 50 })],
    },
    Operation {
        name: "LabelParameterVersion",
        members: &[NAME, req("Labels", LABELS)],
    },
    Operation {
        name: "UnlabelParameterVersion",
        members: &[
            NAME,
            req("ParameterVersion", Shape::Free),
            req("Labels", LABELS),
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
    fn names_and_values_follow_the_model() {
        check(TABLE, "GetParameter", &json!({ "Name": "/a/b" })).expect("fine");
        let e =
            check(TABLE, "GetParameter", &json!({ "Name": "x".repeat(2049) })).expect_err("long");
        assert!(
            e.message
                .contains("Member must have length less than or equal to 2048")
        );
        let e = check(
            TABLE,
            "PutParameter",
            &json!({ "Name": "n", "Value": "v", "Tags": [{ "Key": "a<b", "Value": "x" }] }),
        )
        .expect_err("tag pattern");
        assert!(
            e.message.contains("Value 'a<b' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            "{}",
            e.message
        );
        check(
            TABLE,
            "PutParameter",
            &json!({ "Name": "n", "Value": "v", "Tags": [{ "Key": "Environment", "Value": "prod 1" }] }),
        )
        .expect("unicode letters, spaces and digits");
    }
}
