#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Every committed bug reproduction (`scenarios/repro/*`) is a complete report: a known-bug
//! expectation naming a step, a link, a README with the report's headings, and a row in the
//! index `scenarios/repro/README.md`.

use std::path::PathBuf;

use secretbench::scenario::model::Outcome;
use secretbench::scenario::{lint, load_file};

const HEADINGS: [&str; 5] = [
    "## Upstream issue",
    "## Versions",
    "## What should happen",
    "## What happens",
    "## How to run",
];

#[test]
fn every_repro_is_a_complete_report() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/repro");
    let report = lint::lint_paths(std::slice::from_ref(&root));
    assert!(report.is_clean(), "{report}");
    assert!(report.files.len() >= 6, "{report}");
    let index = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (file, _) in &report.files {
        let loaded = load_file(file).unwrap();
        let s = &loaded.scenario;
        let name = &s.metadata.name;
        let expect = s
            .spec
            .expect
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no expect"));
        assert_eq!(expect.outcome, Outcome::Fail, "{name}");
        assert!(expect.step.is_some(), "{name}: expect.step");
        assert!(!s.metadata.links.is_empty(), "{name}: no links");
        assert_eq!(
            s.metadata.labels.get("kind").map(String::as_str),
            Some("repro"),
            "{name}"
        );
        let readme = std::fs::read_to_string(loaded.dir.join("README.md"))
            .unwrap_or_else(|e| panic!("{name}: README.md: {e}"));
        for h in HEADINGS {
            assert!(
                readme.contains(&format!("{h}\n")),
                "{name}: README lacks {h}"
            );
        }
        for link in &s.metadata.links {
            if link.url.contains("github.com") {
                assert!(
                    readme.contains(&link.url),
                    "{name}: README lacks {}",
                    link.url
                );
            }
        }
        assert!(
            index.contains(&format!("[`{name}`]({name}/)")),
            "{name} is not listed in scenarios/repro/README.md"
        );
    }
}
