//! Seed documents: YAML (or JSON) files that preload secrets, parameters and identities.
//! The top level has one section per service; a service reads its own section strictly.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("seed document is not valid YAML: {0}")]
    Syntax(String),
    #[error("unknown section '{0}' in seed document (expected aws, azure or vault)")]
    UnknownSection(String),
    #[error("invalid '{service}' section in seed document: {message}")]
    Invalid {
        service: &'static str,
        message: String,
    },
}

pub const SECTIONS: [&str; 3] = ["aws", "azure", "vault"];

pub type Document = BTreeMap<String, serde_json::Value>;

pub fn parse(text: &str) -> Result<Document, SeedError> {
    let doc: Option<Document> =
        serde_saphyr::from_str(text).map_err(|e| SeedError::Syntax(e.to_string()))?;
    let doc = doc.unwrap_or_default();
    if let Some(unknown) = doc.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
        return Err(SeedError::UnknownSection(unknown.clone()));
    }
    Ok(doc)
}

pub fn read(path: &Path) -> Result<Document, SeedError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text)
}

/// Deserializes a service's section, rejecting unknown fields (the section types deny them).
pub fn section<T: serde::de::DeserializeOwned>(
    service: &'static str,
    value: serde_json::Value,
) -> Result<T, SeedError> {
    serde_json::from_value(value).map_err(|e| SeedError::Invalid {
        service,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_rejects_unknown_ones() {
        let doc = parse("aws:\n  accountId: '111122223333'\n").expect("valid");
        assert_eq!(doc["aws"]["accountId"], "111122223333");
        assert!(matches!(parse("gcp: {}\n"), Err(SeedError::UnknownSection(s)) if s == "gcp"));
        assert!(matches!(parse("aws: [\n"), Err(SeedError::Syntax(_))));
        assert!(parse("").expect("empty is fine").is_empty());
    }
}
