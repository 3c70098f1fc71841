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
