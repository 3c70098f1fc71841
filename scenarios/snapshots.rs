#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The scenarios' stored snapshots, as cargo-insta reads them. This file is a test target of
//! the `secretbench` package (harness/Cargo.toml) so that cargo-insta, which searches the
//! folders of a package's targets, finds `scenarios/**/snapshots/*.snap.new`:
//! `cargo insta review` / `accept` / `pending-snapshots` work on a scenario run's snapshots as
//! on any insta test's. `just snapshots-check` runs the ignored test below with cargo-insta.

use std::path::{Path, PathBuf};

use secretbench::runner::snapshot::{Mode, Snapshots};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Every stored snapshot names, in insta's header, the scenario file and the snapshot it is.
#[test]
fn stored_snapshots_name_their_scenario_and_snapshot() {
    let report = secretbench::scenario::lint::lint_paths(&[scenarios()]);
    let mut seen = 0;
    for (file, _) in &report.files {
        let dir = file.parent().unwrap();
        let Ok(entries) = std::fs::read_dir(dir.join("snapshots")) else {
            continue;
        };
        let rel = Path::new("scenarios").join(file.strip_prefix(scenarios()).unwrap());
        for e in entries {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".snap") else {
                continue;
            };
            let (snapshot, _provider) = stem.rsplit_once('@').unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let header = format!(
                "---\nsource: {}\nexpression: {snapshot}\n---\n",
                rel.display()
            );
            assert!(
                text.starts_with(&header),
                "{}: header is not\n{header}",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} snapshots");
}

/// cargo-insta sees a scenario's changed snapshot, lists it, and accepting it stores the new
/// value. Needs `cargo-insta` (`just snapshots-check` installs the pinned version).
#[test]
#[ignore = "needs cargo-insta; run by `just snapshots-check`"]
fn cargo_insta_lists_and_accepts_a_changed_scenario_snapshot() {
    let root = scenarios().join("..").canonicalize().unwrap();
    // A scenario folder of its own, removed at the end (also when the test fails).
    let dir = root.join("scenarios/zz-insta-workflow-check");
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());
    std::fs::create_dir_all(&dir).unwrap();
    let source = "scenarios/zz-insta-workflow-check/scenario.yaml";
    let check = Snapshots::new(&dir, source, "azure", Mode::Check);
    let old = serde_json::json!({"joke": {"contents": "first", "mode": "0644"}});
    let new = serde_json::json!({"joke": {"contents": "second", "mode": "0644"}});
    check.assert("mounted", &old).unwrap();
    // What a run that sees another value leaves behind: the stored one and a `.snap.new`.
    assert!(check.assert("mounted", &new).is_err());
    let stored = dir.join("snapshots/mounted@azure.snap");
    assert!(dir.join("snapshots/mounted@azure.snap.new").is_file());

    let insta = |args: &[&str]| {
        let out = std::process::Command::new("cargo")
            .arg("insta")
            .args(args)
            .current_dir(&root)
            .output()
            .expect("cargo insta (install it: `just snapshots-check`)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "cargo insta {args:?}:\n{text}");
        text
    };
    let pending = insta(&["pending-snapshots"]);
    assert!(
        pending.contains("scenarios/zz-insta-workflow-check/snapshots/mounted@azure.snap"),
        "{pending}"
    );
    let key = "scenarios/zz-insta-workflow-check/snapshots/mounted@azure.snap";
    insta(&["accept", "--snapshot", key]);
    assert!(!dir.join("snapshots/mounted@azure.snap.new").exists());
    // The runner now matches the accepted value.
    let after = Snapshots::new(&dir, source, "azure", Mode::Check);
    assert_eq!(
        after.assert("mounted", &new).unwrap(),
        secretbench::runner::snapshot::Outcome::Matched,
        "{}",
        std::fs::read_to_string(&stored).unwrap()
    );
    // Rejecting a change keeps the stored value.
    assert!(after.assert("mounted", &old).is_err());
    insta(&["reject", "--snapshot", key]);
    assert!(!dir.join("snapshots/mounted@azure.snap.new").exists());
    assert_eq!(
        after.assert("mounted", &new).unwrap(),
        secretbench::runner::snapshot::Outcome::Matched
    );
}
