#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The scenario format rejects typos, unknown fields, bad durations, missing bindings and
//! missing manifests with a located, useful message; every committed scenario lints clean.

use std::path::{Path, PathBuf};

use secretbench::scenario::{Diagnostic, lint, load_str};

const GOOD: &str = r#"apiVersion: secretbench.dev/v1alpha1
kind: Scenario
metadata:
  name: demo
  description: a demo
spec:
  providers: [aws]
  bindings:
    aws:
      parameters: { region: us-east-1 }
      vars: { file: MyDBSecret }
      actions:
        seed:
          - aws.secretsmanager.createSecret: { name: MyDBSecret, secretString: hello }
  steps:
    - id: deploy
      try:
        - backend: { run: seed }
        - apply: { path: manifests/ }
        - wait: { kind: Pod, name: sample-app, condition: Ready, within: 60s }
        - files:
            pod: sample-app
            path: /mnt/secrets-store
            expect: { "${file}": { contents: hello } }
            within: rotation + 30s
            snapshot: mounted
  catch:
    - collect: [events, logs, journal]
"#;

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: sample-app\n";

/// Writes `text` as demo/scenario.yaml (with manifests/pod.yaml) and lints it.
fn lint_text(text: &str) -> Vec<Diagnostic> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/pod.yaml"), POD).unwrap();
    std::fs::write(dir.join("scenario.yaml"), text).unwrap();
    let report = lint::lint_paths(&[dir]);
    assert_eq!(report.files.len(), 1);
    report.files.into_iter().next().unwrap().1
}

/// For each `(ops, want)`: `lint(ops)` finds exactly one problem, located, whose message holds
/// `want`.
fn assert_each_lints_once(lint: impl Fn(&str) -> Vec<Diagnostic>, cases: &[(&str, &str)]) {
    for (ops, want) in cases {
        let diags = lint(ops);
        assert_eq!(diags.len(), 1, "{ops}: {diags:#?}");
        assert!(
            diags[0].message.contains(want),
            "{ops}: want {want:?}, got {:?}",
            diags[0].message
        );
        assert!(diags[0].line.is_some(), "{ops}: located");
    }
}

/// Lints `GOOD` with `from` replaced by `to`, expecting exactly one problem.
fn one_problem(from: &str, to: &str) -> Diagnostic {
    assert!(GOOD.contains(from), "test bug: {from:?} not in GOOD");
    let diags = lint_text(&GOOD.replacen(from, to, 1));
    assert_eq!(diags.len(), 1, "expected one problem, got {diags:#?}");
    diags.into_iter().next().unwrap()
}

#[test]
fn the_good_scenario_is_clean() {
    assert_eq!(lint_text(GOOD), vec![]);
}

#[test]
fn misspelt_key_is_rejected_with_location_and_suggestion() {
    let d = one_problem("within: 60s", "withn: 60s");
    assert!(d.message.contains("unknown field `withn`"), "{d}");
    assert_eq!(d.line, Some(20), "{d}");
    assert!(d.column.is_some());
    assert_eq!(d.help.as_deref(), Some("did you mean `within`?"));
    assert!(d.to_string().contains("scenario.yaml:20:"), "{d}");
}

#[test]
fn unknown_fields_are_rejected_everywhere() {
    for (from, to, field) in [
        ("kind: Scenario", "kind: Scenario\nextra: 1", "extra"),
        (
            "  description: a demo",
            "  description: a demo\n  owner: me",
            "owner",
        ),
        (
            "  providers: [aws]",
            "  providers: [aws]\n  timeout: 1m",
            "timeout",
        ),
        ("      vars:", "      params: {}\n      vars:", "params"),
        (
            "    - id: deploy",
            "    - id: deploy\n      name: x",
            "name",
        ),
        (
            "secretString: hello",
            "secretString: hello, kmsKeyId: k",
            "kmsKeyId",
        ),
        ("contents: hello", "contents: hello, owner: root", "owner"),
    ] {
        let d = one_problem(from, to);
        assert!(
            d.message.contains(&format!("unknown field `{field}`")),
            "{field}: {d}"
        );
        assert!(d.line.is_some(), "{field}: no line in {d}");
    }
}

#[test]
fn misspelt_step_kind_and_action_are_rejected() {
    let d = one_problem("- wait:", "- wiat:");
    assert!(d.message.contains("wiat"), "{d}");
    assert_eq!(d.help.as_deref(), Some("did you mean `wait`?"), "{d}");
    let d = one_problem(
        "aws.secretsmanager.createSecret",
        "aws.secretsmanager.createSecrets",
    );
    assert_eq!(
        d.help.as_deref(),
        Some("did you mean `aws.secretsmanager.createSecret`?"),
        "{d}"
    );
}

#[test]
fn bad_durations_are_rejected() {
    for bad in ["60", "60 s", "1.5m", "60sec", "0s", "rotation+30s", "5h"] {
        let d = one_problem("within: 60s", &format!("within: \"{bad}\""));
        assert!(
            d.message.contains("duration") || d.message.contains("deadline"),
            "{bad}: {d}"
        );
        assert_eq!(d.line, Some(20), "{bad}: {d}");
    }
    // A sleep cannot be written at all.
    let d = one_problem("- wait:", "- sleep: 5s\n        - wait:");
    assert!(d.message.contains("unknown variant `sleep`"), "{d}");
}

#[test]
fn a_wait_without_deadline_is_rejected() {
    let d = one_problem(", within: 60s }", " }");
    assert!(d.message.contains("missing field `within`"), "{d}");
}

#[test]
fn missing_binding_is_rejected() {
    let d = one_problem("providers: [aws]", "providers: [aws, vault]");
    assert!(
        d.message
            .contains("provider `vault` is in spec.providers but has no entry in spec.bindings"),
        "{d}"
    );
    assert_eq!(d.line, Some(7));
}

#[test]
fn missing_manifest_is_rejected() {
    let d = one_problem("path: manifests/ }", "path: manifest/ }");
    assert!(
        d.message
            .contains("manifest path `manifest/` does not exist"),
        "{d}"
    );
    assert_eq!(d.line, Some(19));
    let d = one_problem("path: manifests/ }", "path: ../elsewhere }");
    assert!(d.message.contains("inside the scenario folder"), "{d}");
    // Applied into another namespace, the pod is also out of the steps' reach.
    let diags = lint_text(&GOOD.replace(
        "path: manifests/ }",
        "path: manifests/, namespace: Other_NS }",
    ));
    assert!(
        diags[0].message.contains("apply namespace `Other_NS`"),
        "{diags:#?}"
    );
    assert!(
        diags[1..]
            .iter()
            .all(|d| d.message.contains("which is applied only into")),
        "{diags:#?}"
    );
    let twice = GOOD.replace(
        "        - apply: { path: manifests/ }\n",
        "        - apply: { path: manifests/ }\n        - apply: { path: manifests/, namespace: other }\n",
    );
    assert_eq!(lint_text(&twice), vec![]);
}

#[test]
fn cross_references_are_checked() {
    let d = one_problem("run: seed", "run: sed");
    assert!(d.message.contains("`run: sed` names no action"), "{d}");
    assert_eq!(d.help.as_deref(), Some("did you mean `seed`?"));

    let d = one_problem("\"${file}\"", "\"${flie}\"");
    assert!(d.message.contains("`${flie}` is not defined"), "{d}");
    assert_eq!(d.help.as_deref(), Some("did you mean `${file}`?"));

    let dup = GOOD.replacen(
        "  catch:\n",
        "    - id: deploy\n      try:\n        - files: { pod: p, path: /x, snapshot: mounted }\n  catch:\n",
        1,
    );
    let diags = lint_text(&dup);
    let msgs: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("step id `deploy` is used twice")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("snapshot name `mounted` is already used")),
        "{msgs:#?}"
    );

    let d = one_problem(
        "  steps:",
        "  expect: { outcome: fail, reason: bug, step: deplyo }\n  steps:",
    );
    assert!(
        d.message
            .contains("spec.expect.step `deplyo` does not name a step"),
        "{d}"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `deploy`?"));

    let d = one_problem("  steps:", "  expect: { outcome: fail }\n  steps:");
    assert!(d.message.contains("without a `reason`"), "{d}");

    let d = one_problem("  name: demo", "  name: other");
    assert!(
        d.message.contains("differs from the folder name `demo`"),
        "{d}"
    );
}

#[test]
fn provider_specific_action_in_a_multi_provider_step_is_rejected() {
    let text = GOOD
        .replacen("providers: [aws]", "providers: [aws, vault]", 1)
        .replacen(
            "  steps:",
            "    vault: { vars: { file: f }, actions: { seed: [ { vault.kv2.put: { mount: secret, path: p, data: { k: v } } } ] } }\n  steps:",
            1,
        )
        .replacen(
            "        - backend: { run: seed }",
            "        - backend: { run: seed }\n        - backend: { aws.ssm.putParameter: { name: /a, value: b } }",
            1,
        );
    let diags = lint_text(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0].message.contains("talks to the aws backend"),
        "{}",
        diags[0]
    );
}

#[test]
fn manifests_must_be_kubernetes_objects_without_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(
        dir.join("manifests/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: sample-app\n  namespace: default\n---\nkind: Pod\n",
    )
    .unwrap();
    std::fs::write(dir.join("scenario.yaml"), GOOD).unwrap();
    let report = lint::lint_paths(&[dir]);
    let msgs: Vec<String> = report.files[0].1.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert!(msgs[0].contains("sets metadata.namespace"));
    assert!(msgs[1].contains("document 2 has no `apiVersion`"));
    assert!(msgs[2].contains("document 2 has no `metadata.name`"));
}

#[test]
fn wrong_api_version_is_rejected() {
    let d = one_problem("secretbench.dev/v1alpha1", "secretbench.dev/v1");
    assert!(d.message.contains("secretbench.dev/v1alpha1"), "{d}");
    assert_eq!(d.line, Some(1));
}

#[test]
fn a_path_without_scenarios_is_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let report = lint::lint_paths(&[tmp.path().to_owned(), tmp.path().join("nope")]);
    assert_eq!(report.problems(), 2, "{report}");
    assert!(!report.is_clean());
}

#[test]
fn load_str_parses_the_model() {
    let loaded = load_str(Path::new("demo/scenario.yaml"), GOOD).unwrap();
    assert_eq!(loaded.scenario.metadata.name, "demo");
    assert_eq!(loaded.scenario.spec.steps[0].try_.len(), 4);
}

#[test]
fn every_committed_scenario_lints_clean() {
    let scenarios = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let report = lint::lint_paths(&[scenarios]);
    assert!(report.files.len() >= 6, "{report}");
    assert!(report.is_clean(), "{report}");
}

#[test]
fn findings_point_at_their_node_not_at_the_first_matching_text() {
    // `rotate` also appears in the description, before the step that names it.
    let text = GOOD
        .replacen(
            "  description: a demo",
            "  description: we rotate the secret",
            1,
        )
        .replacen(
            "        - backend: { run: seed }\n",
            "        - backend: { run: seed }\n        - backend: { run: rotate }\n",
            1,
        );
    let diags = lint_text(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(
        (diags[0].line, diags[0].column),
        (Some(19), Some(27)),
        "{}",
        diags[0]
    );

    // A duplicate snapshot name is reported at its second use.
    let dup = GOOD.replacen(
        "  catch:\n",
        "    - id: again\n      try:\n        - files: { pod: sample-app, path: /x, snapshot: mounted }\n  catch:\n",
        1,
    );
    let diags = lint_text(&dup);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0].message.contains("already used at line 26"),
        "{}",
        diags[0]
    );
    assert_eq!(diags[0].line, Some(29), "{}", diags[0]);
}

#[test]
fn identity_paths_and_roles_are_checked() {
    // An aws binding may choose IRSA and make the role it needs.
    let irsa = GOOD
        .replacen(
            "      vars: { file: MyDBSecret }",
            "      identity: irsa\n      vars: { file: MyDBSecret }",
            1,
        )
        .replacen(
            "          - aws.secretsmanager.createSecret: { name: MyDBSecret, secretString: hello }",
            "          - aws.secretsmanager.createSecret: { name: MyDBSecret, secretString: hello }\n          - aws.iam.createRole:\n              roleName: MySampleAppSecretsManager\n              trust: { issuer: '${awsOidcIssuer}', subjects: ['system:serviceaccount:${namespace}:sample-app'] }\n              policy:\n                - actions: [secretsmanager:GetSecretValue]\n                  resources: ['arn:aws:secretsmanager:${awsRegion}:${awsAccountId}:secret:MyDBSecret-*']",
            1,
        );
    assert_eq!(lint_text(&irsa), vec![]);

    let d = one_problem(
        "      vars: { file: MyDBSecret }",
        "      identity: workloadIdentity\n      vars: { file: MyDBSecret }",
    );
    assert!(d.message.contains("workloadIdentity"), "{d}");

    // A role's trust must name its issuer; typos in a statement are refused.
    let no_issuer = irsa.replacen("trust: { issuer: '${awsOidcIssuer}', ", "trust: { ", 1);
    assert_eq!(lint_text(&no_issuer).len(), 1);
    let typo = irsa.replacen("- actions:", "- action:", 1);
    assert_eq!(lint_text(&typo).len(), 1);
}

#[test]
fn identity_paths_belong_to_their_provider() {
    let text = GOOD
        .replacen("providers: [aws]", "providers: [aws, vault]", 1)
        .replacen(
            "  steps:",
            "    vault: { identity: irsa, vars: { file: f }, actions: { seed: [ { vault.kv2.put: { mount: secret, path: p, data: { k: v } } } ] } }\n  steps:",
            1,
        );
    let diags = lint_text(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0].message.contains(
            "spec.bindings.vault.identity: `irsa` is not an identity path of the vault provider"
        ),
        "{}",
        diags[0]
    );
}

/// `GOOD` with these operations appended to its `deploy` step's `try`.
fn with_ops(ops: &str) -> String {
    let anchor = "            snapshot: mounted\n";
    assert!(GOOD.contains(anchor));
    GOOD.replacen(anchor, &format!("{anchor}{ops}"), 1)
}

#[test]
fn captured_variables_are_usable_after_their_capture() {
    let text = with_ops(
        "        - capture: { as: before, file: { pod: sample-app, path: /mnt/secrets-store/x } }
        - check: { file: { pod: sample-app, path: /mnt/secrets-store/x }, differs: '${before}', within: rotation + 30s }
        - check: { value: '${before}', matches: '^h', for: 5s }
",
    );
    assert!(lint_text(&text).is_empty(), "{:#?}", lint_text(&text));
}

#[test]
fn a_variable_used_before_its_capture_is_located() {
    let text = with_ops(
        "        - check: { value: '${before}', equals: x }
        - capture: { as: before, file: { pod: sample-app, path: /mnt/secrets-store/x } }
",
    );
    let diags = lint_text(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert!(
        d.message
            .starts_with("`${before}` is used before it is captured (at line"),
        "{}",
        d.message
    );
    assert!(d.span.is_some() && d.line.is_some());
    // A misspelt captured name gets a did-you-mean among the captures.
    let text = with_ops(
        "        - capture: { as: before, file: { pod: sample-app, path: /mnt/secrets-store/x } }
        - check: { value: '${befor}', equals: x }
",
    );
    let diags = lint_text(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].help.as_deref(), Some("did you mean `${before}`?"));
}

#[test]
fn capture_and_check_are_checked() {
    let cases: &[(&str, &str)] = &[
        (
            "        - check: { file: { pod: sample-app, path: /x }, within: 5s }\n",
            "`check` needs an expectation",
        ),
        ("        - check: { equals: x }\n", "`check` needs a source"),
        (
            "        - check: { value: a, exec: { pod: sample-app, command: [cat, /x] }, equals: x }\n",
            "`check` has several sources",
        ),
        (
            "        - check: { value: a, equals: a, within: 5s, for: 5s }\n",
            "`check` has both `within` and `for`",
        ),
        (
            "        - check: { value: a, matches: '(' }\n",
            "check `matches` is not a valid pattern",
        ),
        (
            "        - check: { value: '1', atLeast: lots }\n",
            "check `atLeast`: `lots` is not a number",
        ),
        (
            "        - capture: { as: 1st, file: { pod: sample-app, path: /x } }\n",
            "capture name `1st` is not a variable name",
        ),
        (
            "        - capture: { as: namespace, file: { pod: sample-app, path: /x } }\n",
            "would redefine a built-in variable",
        ),
        (
            "        - capture: { as: file, file: { pod: sample-app, path: /x } }\n",
            "would redefine spec.bindings.aws.vars.file",
        ),
        (
            "        - capture: { as: v, object: { kind: SecretProviderClassPodStatus, name: x, jsonPath: 'status.x' } }\n",
            "jsonPath `status.x`: unexpected `s`",
        ),
        (
            "        - capture: { as: v, object: { kind: secret, name: x, jsonPath: .data } }\n",
            "unknown kind `secret`",
        ),
        (
            "        - check: { logs: { container: secrets-store }, notMatches: x }\n",
            "`logs` needs exactly one of `pod` and `selector`",
        ),
        (
            "        - check: { metric: { pod: sample-app, selector: b, port: 8095, name: total_node_publish }, atLeast: 1 }\n",
            "`metric` needs exactly one of `pod` and `selector`",
        ),
        (
            "        - check: { file: { pod: sample-ap, path: /x }, equals: x }\n",
            "`check` names Pod `sample-ap`",
        ),
        (
            "        - capture: { as: v, value: x }\n",
            "unknown field `value`",
        ),
    ];
    assert_each_lints_once(|ops| lint_text(&with_ops(ops)), cases);
}

#[test]
fn logs_and_metrics_in_other_namespaces_parse() {
    let text = with_ops(
        "        - check:
            logs: { selector: app=secrets-store-csi-driver, namespace: kube-system, container: secrets-store }
            notMatches: '^E.*failed to clean and unmount target path.*$'
            for: 10s
        - capture: { as: publishes, metric: { selector: app=secrets-store-csi-driver, namespace: kube-system, port: 8095, name: total_node_publish, labels: { provider: aws } } }
        - check:
            metric: { selector: app=secrets-store-csi-driver, namespace: kube-system, port: 8095, name: total_node_publish }
            greaterThan: '${publishes}'
            within: 30s
",
    );
    let diags = lint_text(&text);
    assert!(diags.is_empty(), "{diags:#?}");
}

/// An Azure scenario with one certificate fixture, and `ops` in its only step.
fn azure_with_ops(ops: &str) -> Vec<Diagnostic> {
    let text = format!(
        r#"apiVersion: secretbench.dev/v1alpha1
kind: Scenario
metadata:
  name: demo
  description: a demo
spec:
  providers: [azure]
  bindings:
    azure:
      parameters:
        keyvaultName: secretbench
        objects: |
          array:
            - |
              objectName: c1
              objectType: cert
  steps:
    - id: deploy
      try:
        - apply: {{ path: manifests/ }}
{ops}"#
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::create_dir_all(dir.join("fixtures")).unwrap();
    std::fs::write(dir.join("manifests/pod.yaml"), POD).unwrap();
    std::fs::write(dir.join("fixtures/c1.pem"), "not checked by lint").unwrap();
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/azure-certs-keys/fixtures");
    for key in ["rsakey1.pem", "eckey1.pem", "jwkkey1.json"] {
        std::fs::copy(keys.join(key), dir.join("fixtures").join(key)).unwrap();
    }
    std::fs::write(
        dir.join("fixtures/oct.json"),
        r#"{"kty": "oct", "k": "AAECAwQFBgcICQoLDA0ODw"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("scenario.yaml"), text).unwrap();
    let report = lint::lint_paths(&[dir]);
    report.files.into_iter().next().unwrap().1
}

#[test]
fn certificate_imports_and_created_keys_are_checked() {
    let ok = azure_with_ops(
        "        - backend: { azure.importCertificate: { vault: secretbench, name: c1, file: fixtures/c1.pem } }
        - backend: { azure.createKey: { vault: secretbench, name: k1, kty: EC, curve: P-384 } }
        - backend: { azure.createKey: { vault: secretbench, name: k2, kty: RSA, keySize: 4096 } }
",
    );
    assert!(ok.is_empty(), "{ok:#?}");
    let cases: &[(&str, &str)] = &[
        (
            "        - backend: { azure.importCertificate: { vault: secretbench, name: c1, file: fixtures/c2.pem } }\n",
            "certificate file `fixtures/c2.pem` does not exist",
        ),
        (
            "        - backend: { azure.importCertificate: { vault: secretbench, name: c1, file: fixtures/c1.crt } }\n",
            "is neither *.pem nor *.pfx",
        ),
        (
            "        - backend: { azure.importCertificate: { vault: secretbench, name: c1, file: ../c1.pem } }\n",
            "must stay inside the scenario folder",
        ),
        (
            "        - backend: { azure.importCertificate: { vault: secretbench, name: c1, file: fixtures/c1.pem, password: x } }\n",
            "a PEM import takes no password",
        ),
        (
            "        - backend: { azure.createKey: { vault: secretbench, name: k1, kty: RSA, curve: P-256 } }\n",
            "`curve` is for EC keys",
        ),
        (
            "        - backend: { azure.createKey: { vault: secretbench, name: k1, kty: RSA, keySize: 1024 } }\n",
            "RSA key size 1024 is not one Key Vault makes",
        ),
        (
            "        - backend: { azure.createKey: { vault: secretbench, name: k1, kty: EC, curve: P-192 } }\n",
            "curve `P-192` is not one Key Vault makes",
        ),
    ];
    assert_each_lints_once(azure_with_ops, cases);
}

/// `azure.importKey`: lint reads the key file as the run does, so a file Key Vault's import
/// would not take (or that is not there) fails lint, named.
#[test]
fn key_imports_read_their_files() {
    let ok = azure_with_ops(
        "        - backend: { azure.importKey: { vault: secretbench, name: k1, file: fixtures/rsakey1.pem } }
        - backend: { azure.importKey: { vault: secretbench, name: k2, file: fixtures/eckey1.pem } }
        - backend: { azure.importKey: { vault: secretbench, name: k3, file: fixtures/jwkkey1.json } }
",
    );
    assert!(ok.is_empty(), "{ok:#?}");
    let cases: &[(&str, &str)] = &[
        (
            "        - backend: { azure.importKey: { vault: secretbench, name: k1, file: fixtures/k9.pem } }\n",
            "key file `fixtures/k9.pem` does not exist",
        ),
        (
            "        - backend: { azure.importKey: { vault: secretbench, name: k1, file: ../rsakey1.pem } }\n",
            "must stay inside the scenario folder",
        ),
        (
            // The certificate fixture's stand-in holds no key.
            "        - backend: { azure.importKey: { vault: secretbench, name: k1, file: fixtures/c1.pem } }\n",
            "key file `fixtures/c1.pem` cannot be imported: no key in it",
        ),
        (
            "        - backend: { azure.importKey: { vault: secretbench, name: k1, file: fixtures/oct.json } }\n",
            "key file `fixtures/oct.json` cannot be imported: `kty` `oct`",
        ),
        (
            "        - backend: { azure.importKey: { vault: secretbench, name: k1, file: fixtures/rsakey1.pem, hsm: true } }\n",
            "hsm",
        ),
    ];
    assert_each_lints_once(azure_with_ops, cases);
}

#[test]
fn binary_file_expectations_are_checked() {
    let ok = with_ops(
        "        - files: { pod: sample-app, path: /mnt/secrets-store, within: 5s, expect: { a: { base64: AAEC/w== }, b: { hex: CAFE00ff } } }\n",
    );
    assert!(lint_text(&ok).is_empty(), "{:#?}", lint_text(&ok));
    let cases: &[(&str, &str)] = &[
        (
            "        - files: { pod: sample-app, path: /mnt/secrets-store, within: 5s, expect: { a: { base64: 'AAE!' } } }\n",
            "`a`: `base64` does not decode",
        ),
        (
            "        - files: { pod: sample-app, path: /mnt/secrets-store, within: 5s, expect: { a: { hex: abc } } }\n",
            "`a`: `hex` does not decode",
        ),
        (
            "        - files: { pod: sample-app, path: /mnt/secrets-store, within: 5s, expect: { a: { contents: x, hex: '00' } } }\n",
            "`a` gives contents and hex; give one",
        ),
        (
            "        - files: { pod: sample-app, path: /mnt/secrets-store, within: 5s, expect: { a: { base64: AA==, exists: false } } }\n",
            "`a` must not exist, yet its base64 is given",
        ),
    ];
    assert_each_lints_once(|ops| lint_text(&with_ops(ops)), cases);
}

#[test]
fn ssm_labels_are_checked_as_ssm_does() {
    let ok = with_ops(
        "        - backend: { aws.ssm.labelParameterVersion: { name: /a, version: 2, labels: [prod, Release-1.2_b] } }\n",
    );
    assert!(lint_text(&ok).is_empty(), "{:#?}", lint_text(&ok));
    let cases: &[(&str, &str)] = &[
        (
            "        - backend: { aws.ssm.labelParameterVersion: { name: /a, labels: [1st] } }\n",
            "SSM refuses the label `1st`",
        ),
        (
            "        - backend: { aws.ssm.labelParameterVersion: { name: /a, labels: [awsprod] } }\n",
            "SSM refuses the label `awsprod`",
        ),
        (
            "        - backend: { aws.ssm.labelParameterVersion: { name: /a, labels: [] } }\n",
            "0 labels; SSM takes 1 to 10 per version",
        ),
        (
            "        - backend: { aws.ssm.labelParameterVersion: { name: /a, labels: [a,b,c,d,e,f,g,h,i,j,k] } }\n",
            "11 labels; SSM takes 1 to 10 per version",
        ),
        (
            "        - backend: { aws.ssm.labelParameterVersion: { name: /a, version: 0, labels: [x] } }\n",
            "parameter versions start at 1",
        ),
    ];
    assert_each_lints_once(|ops| lint_text(&with_ops(ops)), cases);
}

/// `GOOD` with a Deployment `web` beside its pod, and `ops` appended.
fn lint_with_deployment(ops: &str) -> Vec<Diagnostic> {
    const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - { name: web, image: registry.k8s.io/e2e-test-images/busybox:1.29-4 }
";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/pod.yaml"), POD).unwrap();
    std::fs::write(dir.join("manifests/web.yaml"), DEPLOYMENT).unwrap();
    std::fs::write(dir.join("scenario.yaml"), with_ops(ops)).unwrap();
    let report = lint::lint_paths(&[dir]);
    report.files.into_iter().next().unwrap().1
}

#[test]
fn pods_of_a_deployment_are_addressed_by_owner() {
    let ok = lint_with_deployment(
        "        - files: { deployment: web, path: /mnt/secrets-store, within: 5s, expect: { a: { contents: x } } }
        - exec: { deployment: web, command: [cat, /x], stdout: x, within: 5s }
        - check: { file: { deployment: web, path: /mnt/secrets-store/a }, equals: x }
        - check: { exec: { deployment: web, command: [printenv, X] }, equals: x }
        - check: { logs: { deployment: web }, notMatches: error }
",
    );
    assert!(ok.is_empty(), "{ok:#?}");
    let cases: &[(&str, &str)] = &[
        (
            "        - exec: { deployment: webb, command: [cat, /x], stdout: x, within: 5s }\n",
            "webb",
        ),
        (
            "        - exec: { pod: sample-app, deployment: web, command: [cat, /x], stdout: x, within: 5s }\n",
            "`exec` gives both `pod` and `deployment`; give one",
        ),
        (
            "        - files: { path: /mnt/secrets-store, within: 5s, expect: { a: { contents: x } } }\n",
            "`files` needs `pod` or `deployment`",
        ),
        (
            "        - check: { file: { path: /mnt/secrets-store/a }, equals: x }\n",
            "`file` needs `pod` or `deployment`",
        ),
        (
            "        - check: { logs: { deployment: web, selector: app=web }, notMatches: error }\n",
            "exactly one of `pod`, `selector` and `deployment`",
        ),
        (
            "        - check: { logs: { deployment: web, namespace: kube-system }, notMatches: error }\n",
            "in the scenario's namespace",
        ),
        // A Pod's name given as a Deployment is not one.
        (
            "        - exec: { deployment: sample-app, command: [cat, /x], stdout: x, within: 5s }\n",
            "sample-app",
        ),
    ];
    assert_each_lints_once(lint_with_deployment, cases);
}

/// A Vault scenario whose class mounts `objects` (a YAML list, indented for the block) after
/// the steps in `ops`.
fn vault_scenario(objects: &str, ops: &str) -> String {
    format!(
        r#"apiVersion: secretbench.dev/v1alpha1
kind: Scenario
metadata:
  name: demo
  description: a demo
spec:
  providers: [vault]
  bindings:
    vault:
      parameters:
        roleName: pki-role
        objects: |
{objects}
  steps:
    - id: seed
      try:
{ops}
    - id: deploy
      try:
        - apply: {{ path: manifests/ }}
"#
    )
}

const PKI_SEED: &str = "        - backend: { vault.secrets.enable: { path: pki, type: pki } }
        - backend: { vault.pki.generateRoot: { mount: pki, commonName: example.com } }
        - backend: { vault.pki.role: { mount: pki, name: example-dot-com, allowedDomains: [example.com], allowSubdomains: true } }
        - backend: { vault.policy.write: { name: pki-policy, rules: 'path \"pki/issue/example-dot-com\" { capabilities = [\"update\"] }' } }
        - backend: { vault.kubernetes.role: { name: pki-role, boundServiceAccountNames: [nginx-pki], boundServiceAccountNamespaces: ['${namespace}'], audience: vault, policies: [pki-policy], ttl: 20m } }
";

const PKI_PUT: &str = "          - objectName: certs
            secretPath: pki/issue/example-dot-com
            method: PUT
            secretArgs: { common_name: test.example.com, ttl: 24h }";

#[test]
fn vault_engines_are_configured_and_checked() {
    let ok = vault_scenario(PKI_PUT, PKI_SEED);
    assert!(lint_text(&ok).is_empty(), "{:#?}", lint_text(&ok));
    let get = PKI_PUT.replace("            method: PUT\n", "");
    let diags = lint_text(&vault_scenario(&get, PKI_SEED));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]
            .message
            .contains("`pki/issue/example-dot-com` issues a certificate only on a write; the provider sends GET"),
        "{}",
        diags[0].message
    );
    let db_seed = "        - backend: { vault.secrets.enable: { path: database, type: database } }
        - backend: { vault.database.config: { mount: database, name: postgres, pluginName: postgresql-database-plugin, allowedRoles: [test-role], username: root, password: pw } }
        - backend: { vault.database.role: { mount: database, name: test-role, dbName: postgres, creationStatements: ['CREATE ROLE x'], defaultTtl: 1h } }
";
    let put_creds = "          - objectName: dbUsername
            secretPath: database/creds/test-role
            secretKey: username
            method: PUT";
    let diags = lint_text(&vault_scenario(put_creds, db_seed));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]
            .message
            .contains("makes credentials only on a read"),
        "{}",
        diags[0].message
    );
    let cases: &[(&str, &str)] = &[
        ("allowedRoles: [test-role]", "allowedRoles: []"),
        ("type: database", "type: postgres"),
        (", username: root, password: pw", ""),
    ];
    for (from, to) in cases {
        let text = vault_scenario(
            put_creds.trim_end_matches("\n            method: PUT"),
            &db_seed.replace(from, to),
        );
        let diags = lint_text(&text);
        assert_eq!(diags.len(), 1, "{to}: {diags:#?}");
    }
    let bad_policy = PKI_SEED.replace("capabilities = [", "capabilities = ");
    let diags = lint_text(&vault_scenario(PKI_PUT, &bad_policy));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]
            .message
            .starts_with("policy `pki-policy` does not parse"),
        "{}",
        diags[0].message
    );
    let no_names = PKI_SEED.replace(
        "boundServiceAccountNames: [nginx-pki]",
        "boundServiceAccountNames: []",
    );
    let diags = lint_text(&vault_scenario(PKI_PUT, &no_names));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let no_domains = PKI_SEED.replace("allowedDomains: [example.com], ", "");
    let diags = lint_text(&vault_scenario(PKI_PUT, &no_domains));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0].message.contains("allows no name"),
        "{}",
        diags[0].message
    );
}

#[test]
fn json_fields_and_certificates_are_checked() {
    let ok = with_ops(
        "        - capture: { as: ca, file: { pod: sample-app, path: /mnt/secrets-store/certs }, jsonPath: .data.issuing_ca }
        - check: { file: { pod: sample-app, path: /mnt/secrets-store/certs }, jsonPath: .data.certificate, certificate: { commonName: test.example.com, signedBy: '${ca}', maxLifetime: 24h1m }, within: 10s }
        - check: { value: '${awsSecretsManagerEndpoint} ${azureKeyVaultUrl} ${emulatorHost}', matches: '^http' }
",
    );
    assert!(lint_text(&ok).is_empty(), "{:#?}", lint_text(&ok));
    let cases: &[(&str, &str)] = &[
        (
            "        - check: { object: { kind: Pod, name: sample-app, jsonPath: .metadata.uid }, jsonPath: .x, equals: y }\n",
            "an `object` source takes its field in `object.jsonPath`",
        ),
        (
            "        - check: { file: { pod: sample-app, path: /mnt/secrets-store/x }, jsonPath: 'data[', equals: y }\n",
            "jsonPath `data[`",
        ),
        (
            "        - check: { file: { pod: sample-app, path: /mnt/secrets-store/x }, certificate: { signedBy: ca } }\n",
            "`signedBy` holds no PEM certificate",
        ),
    ];
    assert_each_lints_once(|ops| lint_text(&with_ops(ops)), cases);
}

/// A pattern holding `${var}`s is compiled with them replaced, so the rest is still checked
/// (a variable's value, e.g. an emulator URL, is known only to the run).
#[test]
fn patterns_with_variables_are_checked_around_them() {
    let ok = with_ops(
        "        - event: { object: { kind: Pod, name: sample-app }, reason: FailedMount, message: '(?s)GET ${azureKeyVaultUrl}secrets/x|${vaultAddress}', within: 30s }
        - check: { value: '${awsStsEndpoint}', matches: '^${awsEndpoint}$' }
",
    );
    assert!(lint_text(&ok).is_empty(), "{:#?}", lint_text(&ok));
    let bad = with_ops(
        "        - event: { object: { kind: Pod, name: sample-app }, reason: FailedMount, message: '${vaultAddress}(', within: 30s }\n",
    );
    let diags = lint_text(&bad);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]
            .message
            .starts_with("event message is not a valid pattern"),
        "{}",
        diags[0].message
    );
}

/// `GOOD` with a second step `gone` after `deploy`, and this `expect`.
fn with_trigger(expect: &str) -> Vec<String> {
    let text = GOOD
        .replacen(
            "  catch:\n",
            "    - id: gone\n      try:\n        - absent: { kind: Secret, name: s, within: 5s }\n  catch:\n",
            1,
        )
        .replacen("  steps:", &format!("  expect: {expect}\n  steps:"), 1);
    lint_text(&text)
        .iter()
        .map(|d| {
            format!(
                "{}{}",
                d.message,
                d.help
                    .as_deref()
                    .map(|h| format!(" / {h}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn a_trigger_names_an_earlier_step_of_a_repro() {
    let ok =
        with_trigger("{ outcome: fail, reason: bug, step: gone, trigger: deploy, attempts: 3 }");
    assert_eq!(ok, Vec::<String>::new());
    let typo = with_trigger("{ outcome: fail, reason: bug, step: gone, trigger: deplyo }");
    assert_eq!(typo.len(), 1, "{typo:#?}");
    assert!(
        typo[0].contains("spec.expect.trigger `deplyo` does not name a step")
            && typo[0].contains("did you mean `deploy`?"),
        "{typo:#?}"
    );
    let late = with_trigger("{ outcome: fail, reason: bug, step: deploy, trigger: gone }");
    assert_eq!(late.len(), 1, "{late:#?}");
    assert!(
        late[0].contains("spec.expect.trigger `gone` comes after spec.expect.step `deploy`"),
        "{late:#?}"
    );
    let same = with_trigger("{ outcome: fail, reason: bug, step: gone, trigger: gone }");
    assert!(same[0].contains("is the bug's step itself"), "{same:#?}");
    let no_step = with_trigger("{ outcome: fail, reason: bug, trigger: deploy }");
    assert!(
        no_step[0].contains("spec.expect.trigger without spec.expect.step"),
        "{no_step:#?}"
    );
    let pass = with_trigger("{ outcome: pass, step: gone, trigger: deploy }");
    assert!(pass[0].contains("needs `outcome: fail`"), "{pass:#?}");
    let lone = with_trigger("{ outcome: fail, reason: bug, step: gone, attempts: 4 }");
    assert_eq!(lone.len(), 1, "{lone:#?}");
    assert!(
        lone[0].contains("spec.expect.attempts without spec.expect.trigger"),
        "{lone:#?}"
    );
    let zero =
        with_trigger("{ outcome: fail, reason: bug, step: gone, trigger: deploy, attempts: 0 }");
    assert!(!zero.is_empty(), "attempts is at least 1");
}

#[test]
fn absent_takes_a_name_or_a_selector() {
    for ok in [
        "        - absent: { kind: Pod, selector: app=sample-app, within: 30s }\n",
        "        - absent: { kind: Pod, name: sample-app, within: 30s }\n",
    ] {
        assert!(lint_text(&with_ops(ok)).is_empty(), "{ok}");
    }
    let cases: &[(&str, &str)] = &[
        (
            "        - absent: { kind: Pod, within: 30s }\n",
            "`absent` needs exactly one of `name` and `selector`",
        ),
        (
            "        - absent: { kind: Pod, name: x, selector: app=x, within: 30s }\n",
            "`absent` needs exactly one of `name` and `selector`",
        ),
        (
            "        - absent: { kind: Pod, selector: app=x }\n",
            "how long to wait for Pod[app=x] to go",
        ),
    ];
    assert_each_lints_once(|ops| lint_text(&with_ops(ops)), cases);
}
