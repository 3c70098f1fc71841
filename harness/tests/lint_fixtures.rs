#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Broken scenarios, each a copy of a committed one with one mistake a user makes
//! (`tests/lint_fixtures/<case>/<scenario>/`): lint must fail on every one with exactly one
//! problem, at the line of the mistake, with a message that names the fix. The rendered output
//! of each is an insta snapshot (`tests/snapshots/`), so the wording does not drift unseen.

use std::path::{Path, PathBuf};

use secretbench::scenario::{Style, lint};

struct Case {
    /// The fixture folder, `tests/lint_fixtures/<name>`.
    name: &'static str,
    /// The file the finding is in, relative to the scenario folder.
    file: &'static str,
    /// Its line (None: about a whole file).
    line: Option<u64>,
    /// Part of the message.
    message: &'static str,
    /// Part of the message or the help that says what to do.
    fix: &'static str,
}

const fn case(
    name: &'static str,
    file: &'static str,
    line: u64,
    message: &'static str,
    fix: &'static str,
) -> Case {
    Case {
        name,
        file,
        line: Some(line),
        message,
        fix,
    }
}

const CASES: &[Case] = &[
    case(
        "absent-kind-plural",
        "scenario.yaml",
        75,
        "unknown kind `Secrets`",
        "did you mean `Secret`?",
    ),
    case(
        "aws-objecttype-typo",
        "scenario.yaml",
        21,
        "unknown field `objectTyp`",
        "did you mean `objectType`?",
    ),
    case(
        "azure-objecttype-typo",
        "scenario.yaml",
        40,
        "azure objectType `secrte`",
        "did you mean `secret`?",
    ),
    case(
        "capture-before-use",
        "scenario.yaml",
        38,
        "`${before}` is used before it is captured (at line 42)",
        "move the `capture` before this step",
    ),
    case(
        "csi-driver-name",
        "manifests/pod.yaml",
        19,
        "no CSI driver is named `secrets-store.csi.x-k8s.io`",
        "is `secrets-store.csi.k8s.io`",
    ),
    case(
        "deadline-bare-number",
        "scenario.yaml",
        73,
        "`90` has no unit",
        "write it like `30s`",
    ),
    case(
        "duplicate-snapshot",
        "scenario.yaml",
        95,
        "`db-volume` is already used at line 87",
        "snapshot names are unique",
    ),
    case(
        "expect-step-typo",
        "scenario.yaml",
        24,
        "`env-update` does not name a step",
        "did you mean `env-updated`?",
    ),
    case(
        "files-pod-unknown",
        "scenario.yaml",
        79,
        "names Pod `sample-ap`",
        "did you mean `sample-app`?",
    ),
    case(
        "jmespath-not-json",
        "scenario.yaml",
        20,
        "jmesPath reads a JSON secret",
        "seed the secret with a JSON object",
    ),
    case(
        "manifest-namespace",
        "manifests/serviceaccount.yaml",
        5,
        "sets metadata.namespace",
        "leave it out",
    ),
    case(
        "manifest-path-typo",
        "scenario.yaml",
        72,
        "manifest path `manifest/` does not exist",
        "did you mean `manifests/`?",
    ),
    case(
        "manifest-unknown-field",
        "manifests/pod.yaml",
        15,
        "unknown field `readonly`",
        "did you mean `readOnly`?",
    ),
    case(
        "manifest-wrong-type",
        "manifests/pod.yaml",
        7,
        "`spec.terminationGracePeriodSeconds`: invalid type",
        "write a number here",
    ),
    case(
        "objects-bad-indentation",
        "scenario.yaml",
        20,
        "did not find expected key",
        "indentation does not match",
    ),
    case(
        "parameter-typo",
        "scenario.yaml",
        34,
        "`keyVaultName` is not a parameter of azure",
        "did you mean `keyvaultName`?",
    ),
    case(
        "provider-delete-not-exclusive",
        "scenario.yaml",
        107,
        "deleting `vault-csi-provider-hmac-key` in the providers' namespace",
        "spec.exclusive",
    ),
    case(
        "repro-link-placeholder",
        "scenario.yaml",
        11,
        "placeholder OWNER/REPO/NUMBER",
        "fill in",
    ),
    case(
        "run-action-typo",
        "scenario.yaml",
        69,
        "`run: sed` names no action",
        "did you mean `seed`?",
    ),
    case(
        "secret-key-typo",
        "manifests/pod.yaml",
        19,
        "has no key `jokes`",
        "did you mean `joke`?",
    ),
    case(
        "service-account-typo",
        "manifests/pod.yaml",
        6,
        "ServiceAccount `sample-ap`",
        "did you mean `sample-app`?",
    ),
    case(
        "snapshot-dedented",
        "scenario.yaml",
        84,
        "expected end of mapping",
        "indent `snapshot` under `files`",
    ),
    Case {
        name: "snapshot-renamed",
        file: "snapshots/journal@azure.snap",
        line: None,
        message: "stray snapshot: the scenario records no snapshot named `journal`",
        fix: "was it renamed to `journal-calls`?",
    },
    case(
        "spc-name-typo",
        "manifests/pod.yaml",
        22,
        "SecretProviderClass `my-db-secrt`",
        "did you mean `my-db-secret`?",
    ),
    case(
        "step-kind-typo",
        "scenario.yaml",
        73,
        "unknown variant `waitFor`",
        "did you mean `wait`?",
    ),
    case(
        "sync-object-name",
        "manifests/secretproviderclass.yaml",
        16,
        "objectName `jokes` is not a file",
        "did you mean `joke`?",
    ),
    case(
        "try-misindented",
        "scenario.yaml",
        67,
        "missing field `try`",
        "there is a `try` at line 68",
    ),
    case(
        "var-typo",
        "scenario.yaml",
        83,
        "`${readSvc}` is not defined",
        "did you mean `${readService}`?",
    ),
    case(
        "vault-objects-map",
        "scenario.yaml",
        25,
        "vault objects is a mapping",
        "as a list item",
    ),
    case(
        "volume-mount-name",
        "manifests/pod.yaml",
        13,
        "mounts volume `db-secret`",
        "did you mean `my-db-secret`?",
    ),
    case(
        "wait-condition-typo",
        "scenario.yaml",
        73,
        "has no condition `Readdy`",
        "did you mean `Ready`?",
    ),
    case(
        "wait-kind-lowercase",
        "scenario.yaml",
        73,
        "unknown kind `pod`",
        "did you mean `Pod`?",
    ),
];

const FIXTURES: &str = "tests/lint_fixtures";

#[test]
fn every_fixture_has_a_case() {
    let mut dirs: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.name.to_owned()).collect();
    cases.sort();
    assert_eq!(dirs, cases);
}

/// The one scenario folder inside a fixture.
fn scenario_dir(case: &str) -> PathBuf {
    let dir = Path::new(FIXTURES).join(case);
    let mut inner: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(inner.len(), 1, "{case}: one scenario folder");
    inner.remove(0)
}

#[test]
fn every_broken_scenario_fails_at_its_line_with_its_fix() {
    let mut failures = Vec::new();
    for c in CASES {
        let scenario = scenario_dir(c.name);
        let report = lint::lint_paths(&[PathBuf::from(FIXTURES).join(c.name)]);
        let diags: Vec<_> = report.files.iter().flat_map(|(_, d)| d).collect();
        let rendered = report.render(Style::Plain);
        if diags.len() != 1 {
            failures.push(format!("{}: {} problems:\n{rendered}", c.name, diags.len()));
            continue;
        }
        let d = diags[0];
        let words = format!("{} {}", d.message, d.help.clone().unwrap_or_default());
        let checks = [
            (d.file == scenario.join(c.file), "file"),
            (d.line == c.line, "line"),
            (d.message.contains(c.message), "message"),
            (words.contains(c.fix), "fix"),
            (c.line.is_none() || d.span.is_some(), "snippet"),
            (c.line.is_none() || d.label.is_some(), "label"),
            (d.help.is_some(), "help"),
        ];
        for (ok, what) in checks {
            if !ok {
                failures.push(format!("{}: wrong {what}:\n{rendered}", c.name));
            }
        }
        insta::assert_snapshot!(c.name, rendered);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
