//! The region's parameters and their versions, as persisted in the state file.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::names;

/// Parameter Store keeps this many versions of a parameter; older ones are dropped on write.
pub const MAX_VERSIONS: usize = 100;
/// The AWS-managed key used for SecureString parameters created without a `KeyId`.
pub const DEFAULT_KEY_ID: &str = "alias/aws/ssm";

/// One region's parameters, keyed by [`names::key`] so `/name` and `name` are one parameter.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ParamType {
    String,
    StringList,
    SecureString,
}

impl ParamType {
    pub const NAMES: &'static str = "[SecureString, StringList, String]";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "String" => Some(Self::String),
            "StringList" => Some(Self::StringList),
            "SecureString" => Some(Self::SecureString),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::StringList => "StringList",
            Self::SecureString => "SecureString",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Tier {
    Standard,
    Advanced,
    #[serde(rename = "Intelligent-Tiering")]
    IntelligentTiering,
}

impl Tier {
    pub const NAMES: &'static str = "[Standard, Advanced, Intelligent-Tiering]";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Standard" => Some(Self::Standard),
            "Advanced" => Some(Self::Advanced),
            "Intelligent-Tiering" => Some(Self::IntelligentTiering),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "Standard",
            Self::Advanced => "Advanced",
            Self::IntelligentTiering => "Intelligent-Tiering",
        }
    }
}

/// One stored version. Every version carries its own metadata because GetParameterHistory
/// reports the description, pattern, key and tier each version was written with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub version: u64,
    pub value: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Always Standard or Advanced: Intelligent-Tiering resolves to one of them on write.
    pub tier: Tier,
    pub data_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    pub last_modified_user: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    /// The name as first created (with or without the leading slash); answers echo it.
    pub name: String,
    /// Oldest first, never empty.
    pub versions: Vec<Version>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Parameter {
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }

    pub fn version(&self, number: u64) -> Option<&Version> {
        self.versions.iter().find(|v| v.version == number)
    }

    pub fn labelled(&self, label: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.labels.iter().any(|l| l == label))
    }
}

impl Store {
    pub fn get(&self, name: &str) -> Option<&Parameter> {
        self.parameters.get(&names::key(name))
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Parameter> {
        self.parameters.get_mut(&names::key(name))
    }

    pub fn remove(&mut self, name: &str) -> Option<Parameter> {
        self.parameters.remove(&names::key(name))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    #[test]
    fn the_persisted_form_round_trips() {
        let version = Version {
            version: 3,
            value: "v".into(),
            kind: ParamType::SecureString,
            description: Some("d".into()),
            allowed_pattern: None,
            key_id: Some(DEFAULT_KEY_ID.into()),
            tier: Tier::Advanced,
            data_type: "text".into(),
            last_modified: OffsetDateTime::UNIX_EPOCH,
            last_modified_user: "arn:aws:iam::123456789012:root".into(),
            labels: vec!["prod".into()],
        };
        let mut store = Store::default();
        store.parameters.insert(
            names::key("/a/b"),
            Parameter {
                name: "/a/b".into(),
                versions: vec![version],
                tags: BTreeMap::from([("team".to_owned(), "core".to_owned())]),
            },
        );
        let text = serde_json::to_string(&store).expect("serialize");
        assert!(
            text.contains("\"type\":\"SecureString\"") && text.contains("\"tier\":\"Advanced\""),
            "{text}"
        );
        let back: Store = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, store);
    }
}
