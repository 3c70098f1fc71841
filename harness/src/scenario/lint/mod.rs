//! `secretbench lint`: everything that can be known about a scenario before a cluster exists.
//!
//! - the format ([`super::load`]): strict types, durations, "did you mean", indentation hints;
//! - the scenario itself ([`steps`]): names, providers and bindings, step ids, snapshot names,
//!   kinds and wait conditions, `${var}`s ([`vars`]);
//! - its manifests ([`manifests`]): Kubernetes objects checked against the API schema of their
//!   kind ([`kube`]), and their references to each other and from the steps ([`refs`]);
//! - the providers' `objects` parameter, parsed as each provider parses it ([`objects`]);
//! - stored snapshots that belong to no snapshot of the scenario ([`snapshots`]);
//! - `repro new` scaffolds with their placeholders still in ([`placeholders`]).
//!
//! Every finding is located by the parser's spans and rendered by [`super::diagnostic`].
//! Reference findings a scenario means to have are declared in `spec.lint.allow`.

mod kinds;
mod kube;
mod manifests;
mod objects;
mod placeholders;
mod refs;
mod snapshots;
mod steps;
mod vars;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use kinds::{KINDS, KindInfo};
pub use manifests::manifest_files;
pub use vars::var_refs;

use super::located::YamlPath;
use super::model::{Op, Scenario};
use super::{Diagnostic, FILE_NAME, Loaded, Style, load_file};

/// Variables the runner always defines (the emulators' addresses: `runner::emulator_vars` and
/// `runner::key_vault_vars`).
pub const BUILTIN_VARS: [&str; 18] = [
    "namespace",
    "provider",
    "scenario",
    "awsRegion",
    "awsAccountId",
    "awsOidcIssuer",
    "azureTenantId",
    "azureVault",
    "vaultAddress",
    "awsEndpoint",
    "awsSecretsManagerEndpoint",
    "awsSsmEndpoint",
    "awsStsEndpoint",
    "azureKeyVaultUrl",
    "azureKeyVaultHost",
    "azureAuthorityHost",
    "azureLoginHost",
    "emulatorHost",
];

/// The result of linting a set of scenario files.
#[derive(Debug, Default)]
pub struct Report {
    /// Every scenario file found, with its problems (empty = clean).
    pub files: Vec<(PathBuf, Vec<Diagnostic>)>,
    /// Problems not tied to a scenario file (a path that holds no scenario).
    pub other: Vec<Diagnostic>,
}

impl Report {
    pub fn problems(&self) -> usize {
        self.other.len() + self.files.iter().map(|(_, d)| d.len()).sum::<usize>()
    }

    pub fn is_clean(&self) -> bool {
        self.problems() == 0
    }

    /// Every diagnostic drawn with its snippet, then a summary line.
    pub fn render(&self, style: Style) -> String {
        let mut out = String::new();
        for d in &self.other {
            out.push_str(&d.render(style));
            out.push('\n');
        }
        for (file, diags) in &self.files {
            if diags.is_empty() {
                out.push_str(&format!("ok   {}\n", file.display()));
            } else {
                out.push_str(&format!("FAIL {}\n", file.display()));
                for d in diags {
                    out.push_str(&d.render(style));
                    out.push('\n');
                }
            }
        }
        let bad = self.files.iter().filter(|(_, d)| !d.is_empty()).count();
        out.push_str(&format!(
            "{} scenario(s), {} with problems, {} problem(s)",
            self.files.len(),
            bad,
            self.problems()
        ));
        out
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Style::Plain))
    }
}

/// Finds the scenario files under `paths` (a `scenario.yaml`, a scenario folder, or a folder
/// searched recursively). A path that holds no scenario is reported, never skipped silently.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut found = BTreeSet::new();
    let mut problems = Vec::new();
    for p in paths {
        if p.is_file() {
            if p.file_name().is_some_and(|n| n == FILE_NAME) {
                found.insert(p.clone());
            } else {
                problems.push(
                    Diagnostic::new(
                        p,
                        format!("not a scenario file (scenario files are named `{FILE_NAME}`)"),
                    )
                    .help("name the scenario's folder, or its scenario.yaml"),
                );
            }
        } else if p.is_dir() {
            let before = found.len();
            walk(p, &mut found);
            if found.len() == before {
                problems.push(
                    Diagnostic::new(p, format!("no `{FILE_NAME}` found here"))
                        .help("name a scenario folder, or a folder holding scenario folders"),
                );
            }
        } else {
            problems.push(
                Diagnostic::new(p, "no such file or directory")
                    .help("paths are relative to the current directory"),
            );
        }
    }
    (found.into_iter().collect(), problems)
}

fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>) {
    let candidate = dir.join(FILE_NAME);
    if candidate.is_file() {
        found.insert(candidate);
        return; // a scenario's own folders (manifests/, snapshots/) hold no scenarios
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        walk(&d, found);
    }
}

/// Lints every scenario under `paths`.
pub fn lint_paths(paths: &[PathBuf]) -> Report {
    let (files, other) = discover(paths);
    let files = files
        .into_iter()
        .map(|f| {
            let diags = match load_file(&f) {
                Ok(loaded) => check(&loaded),
                Err(diags) => diags,
            };
            (f, diags)
        })
        .collect();
    Report { files, other }
}

/// One operation of the scenario and where it is.
pub(crate) struct OpAt<'a> {
    pub path: YamlPath,
    pub op: &'a Op,
}

/// What the checks share: the scenario, its operations, and the findings so far.
pub(crate) struct Cx<'a> {
    pub loaded: &'a Loaded,
    pub s: &'a Scenario,
    pub ops: Vec<OpAt<'a>>,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    fn new(loaded: &'a Loaded) -> Self {
        let s = &loaded.scenario;
        let mut ops = Vec::new();
        let spec = YamlPath::root().key("spec");
        for (i, step) in s.spec.steps.iter().enumerate() {
            let at = spec.key("steps").index(i);
            for (block, list) in [
                ("try", &step.try_),
                ("catch", &step.catch),
                ("finally", &step.finally),
            ] {
                for (j, op) in list.iter().enumerate() {
                    ops.push(OpAt {
                        path: at.key(block).index(j),
                        op,
                    });
                }
            }
        }
        for (block, list) in [("catch", &s.spec.catch), ("finally", &s.spec.finally)] {
            for (j, op) in list.iter().enumerate() {
                ops.push(OpAt {
                    path: spec.key(block).index(j),
                    op,
                });
            }
        }
        Cx {
            loaded,
            s,
            ops,
            diags: Vec::new(),
        }
    }

    /// A finding at the value of `path` in scenario.yaml.
    pub fn at(&self, path: &YamlPath, message: impl Into<String>) -> Diagnostic {
        self.loaded.at(path, message)
    }

    /// A finding at the key that ends `path` in scenario.yaml.
    pub fn at_key(&self, path: &YamlPath, message: impl Into<String>) -> Diagnostic {
        self.loaded.at_key(path, message)
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

/// Every check on a scenario that parsed.
pub fn check(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut cx = Cx::new(loaded);
    steps::check(&mut cx);
    let inventory = manifests::Inventory::load(&mut cx);
    refs::check(&mut cx, &inventory);
    objects::check(&mut cx, &inventory);
    vars::check(&mut cx, &inventory);
    snapshots::check(&mut cx);
    placeholders::check(&mut cx, &inventory);
    let found = std::mem::take(&mut cx.diags);
    let mut diags = apply_allow(&cx, found);
    // One finding per place and message, even when every provider's pass found it.
    let mut seen = BTreeSet::new();
    diags.retain(|d| seen.insert((d.file.clone(), d.span, d.message.clone())));
    diags
}

/// Drops the reference findings `spec.lint.allow` declares intended; an entry that matches
/// nothing is a finding of its own.
fn apply_allow(cx: &Cx, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let Some(settings) = &cx.s.spec.lint else {
        return diags;
    };
    let mut used = vec![false; settings.allow.len()];
    let mut out: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| {
            let hit = settings.allow.iter().position(|a| {
                Some(a.check.code()) == d.code && d.subject.as_deref() == Some(a.subject.as_str())
            });
            if let Some(i) = hit {
                used[i] = true;
            }
            hit.is_none()
        })
        .collect();
    let base = YamlPath::root().key("spec").key("lint").key("allow");
    for (i, a) in settings.allow.iter().enumerate() {
        if a.reason.trim().is_empty() {
            out.push(
                cx.at(&base.index(i).key("reason"), "`reason` is empty")
                    .label("say why")
                    .help("say what the scenario checks with this finding"),
            );
        }
        if !used[i] {
            out.push(
                cx.at(
                    &base.index(i).key("subject"),
                    format!(
                        "spec.lint.allow: no `{}` finding about `{}`",
                        a.check.code(),
                        a.subject
                    ),
                )
                .label("matches nothing")
                .help("remove this entry, or correct `check` and `subject` to the finding lint prints"),
            );
        }
    }
    out
}

/// Lowercase letters, digits and '-', at most 63, not starting or ending with '-'.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
