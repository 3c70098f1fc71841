//! The JSON Schema of the scenario format, generated from [`super::model`].

use super::model::Scenario;

/// Path of the committed schema, relative to the repository root.
pub const COMMITTED_PATH: &str = "scenarios/scenario.schema.json";

/// The JSON Schema as pretty-printed JSON with a trailing newline.
pub fn json() -> String {
    let schema = schemars::schema_for!(Scenario);
    let mut out = serde_json::to_string_pretty(&schema).unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    /// Every property of every type (and every variant key) has a description, so editors and
    /// scenarios/FORMAT.md explain each field.
    #[test]
    fn every_property_is_described() {
        fn walk(at: &str, v: &serde_json::Value, missing: &mut Vec<String>) {
            let Some(m) = v.as_object() else { return };
            if let Some(props) = m.get("properties").and_then(|p| p.as_object()) {
                for (k, p) in props {
                    if p.get("description").is_none() {
                        missing.push(format!("{at}.{k}"));
                    }
                }
            }
            for (k, child) in m {
                match child {
                    serde_json::Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            walk(&format!("{at}.{k}[{i}]"), item, missing);
                        }
                    }
                    other => walk(&format!("{at}.{k}"), other, missing),
                }
            }
        }
        let schema: serde_json::Value = serde_json::from_str(&super::json()).unwrap();
        let mut missing = Vec::new();
        walk("", &schema, &mut missing);
        assert!(
            missing.is_empty(),
            "properties without a description: {missing:#?}"
        );
    }

    #[test]
    fn committed_schema_is_up_to_date() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let committed = std::fs::read_to_string(root.join(super::COMMITTED_PATH))
            .expect("scenarios/scenario.schema.json exists (run `secretbench schema > scenarios/scenario.schema.json`)");
        assert!(
            committed == super::json(),
            "scenarios/scenario.schema.json is stale: run `cargo run -p secretbench -- schema > scenarios/scenario.schema.json`"
        );
    }
}
