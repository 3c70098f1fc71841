//! `secretbench lint`: the format (via [`super::load`]) plus cross-references: bindings for
//! every provider, manifest paths, `${var}` substitutions, snapshot names, step ids, action names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::model::{BackendAction, Op, Outcome, Scenario};
use super::{Diagnostic, FILE_NAME, Loaded, load_file};

/// Variables the runner always defines.
pub const BUILTIN_VARS: [&str; 8] = [
    "namespace",
    "provider",
    "scenario",
    "awsRegion",
    "awsAccountId",
    "awsOidcIssuer",
    "azureTenantId",
    "vaultAddress",
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
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.other {
            writeln!(f, "{d}")?;
        }
        for (file, diags) in &self.files {
            if diags.is_empty() {
                writeln!(f, "ok   {}", file.display())?;
            } else {
                writeln!(f, "FAIL {}", file.display())?;
                for d in diags {
                    for line in d.to_string().lines() {
                        writeln!(f, "     {line}")?;
                    }
                }
            }
        }
        let bad = self.files.iter().filter(|(_, d)| !d.is_empty()).count();
        write!(
            f,
            "{} scenario(s), {} with problems, {} problem(s)",
            self.files.len(),
            bad,
            self.problems()
        )
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
                problems.push(Diagnostic::new(
                    p,
                    format!("not a scenario file (scenario files are named `{FILE_NAME}`)"),
                ));
            }
        } else if p.is_dir() {
            let before = found.len();
            walk(p, &mut found);
            if found.len() == before {
                problems.push(Diagnostic::new(p, format!("no `{FILE_NAME}` found here")));
            }
        } else {
            problems.push(Diagnostic::new(p, "no such file or directory"));
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

/// The manifest files a `path` in `apply` / `delete` stands for: the file itself, or every
/// `*.yaml` / `*.yml` in the folder (recursively, sorted).
pub fn manifest_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

struct Ctx<'a> {
    loaded: &'a Loaded,
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Reports a problem, pointing at the first occurrence of `near` in the source.
    fn error(&mut self, near: &str, message: String) -> &mut Diagnostic {
        let (line, col) = self.loaded.locate(near);
        self.diags
            .push(Diagnostic::new(&self.loaded.file, message).at(line, col));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }
}

/// Cross-reference checks on a scenario that parsed.
pub fn check(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut cx = Ctx {
        loaded,
        diags: Vec::new(),
    };
    let s: &Scenario = &loaded.scenario;

    // metadata
    let name = &s.metadata.name;
    if !is_dns_label(name) {
        cx.error(
            name,
            format!(
                "metadata.name `{name}` must be lowercase letters, digits and '-' (at most 63)"
            ),
        );
    }
    if let Some(folder) = loaded.dir.file_name().and_then(|f| f.to_str())
        && folder != name
    {
        cx.error(
            name,
            format!("metadata.name `{name}` differs from the folder name `{folder}`"),
        )
        .help = Some("rename one of them; the folder is the scenario's identity".to_owned());
    }
    if s.metadata.description.trim().is_empty() {
        cx.error("description", "metadata.description is empty".to_owned());
    }

    // providers and bindings
    if s.spec.providers.is_empty() {
        cx.error(
            "providers",
            "spec.providers is empty: list aws, azure and/or vault".into(),
        );
    }
    let mut seen = BTreeSet::new();
    for p in &s.spec.providers {
        if !seen.insert(*p) {
            cx.error(
                "providers",
                format!("provider `{p}` is listed twice in spec.providers"),
            );
        }
        if !s.spec.bindings.contains_key(p) {
            cx.error(
                "providers",
                format!("provider `{p}` is in spec.providers but has no entry in spec.bindings"),
            )
            .help = Some(format!(
                "add `bindings: {{ {p}: {{ parameters: ..., vars: ... }} }}`"
            ));
        }
    }
    for (p, b) in &s.spec.bindings {
        if let Some(identity) = b.identity
            && !identity.providers().contains(p)
        {
            cx.error(
                "identity",
                format!("spec.bindings.{p}.identity: `{identity}` is not an identity path of the {p} provider"),
            );
        }
    }
    for p in s.spec.bindings.keys() {
        if !seen.contains(p) {
            cx.error(
                &format!("{p}:"),
                format!("spec.bindings.{p} is not used: `{p}` is not in spec.providers"),
            );
        }
    }
    if let Some(v) = &s.spec.versions {
        for p in v.providers.keys() {
            if !seen.contains(p) {
                cx.error(
                    "versions",
                    format!("spec.versions.providers.{p}: `{p}` is not in spec.providers"),
                );
            }
        }
    }

    // binding actions: only the binding's own provider, no nested `run`
    for (p, b) in &s.spec.bindings {
        for (action, list) in &b.actions {
            if list.is_empty() {
                cx.error(
                    action,
                    format!("spec.bindings.{p}.actions.{action} is empty"),
                );
            }
            for a in list {
                match a.provider() {
                    None => {
                        cx.error(
                            action,
                            format!("spec.bindings.{p}.actions.{action}: `run` cannot be nested"),
                        );
                    }
                    Some(q) if q != *p => {
                        cx.error(
                            action,
                            format!(
                                "spec.bindings.{p}.actions.{action} talks to the {q} backend; a {p} binding can only act on {p}"
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
    }

    // steps
    if s.spec.steps.is_empty() {
        cx.error("steps", "spec.steps is empty".into());
    }
    let mut step_ids = BTreeSet::new();
    for (i, step) in s.spec.steps.iter().enumerate() {
        if let Some(id) = &step.id {
            if !is_dns_label(id) {
                cx.error(
                    id,
                    format!("step id `{id}` must be lowercase letters, digits and '-'"),
                );
            }
            if !step_ids.insert(id.clone()) {
                cx.error(id, format!("step id `{id}` is used twice"));
            }
        }
        if step.try_.is_empty() {
            cx.error("try", format!("spec.steps[{i}].try is empty"));
        }
    }
    if let Some(expect) = &s.spec.expect {
        if expect.outcome == Outcome::Fail
            && expect.reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            cx.error(
                "outcome",
                "spec.expect.outcome is `fail` without a `reason`: say which bug this reproduces"
                    .into(),
            );
        }
        if let Some(step) = &expect.step
            && !step_ids.contains(step)
        {
            let ids: Vec<&str> = step_ids.iter().map(String::as_str).collect();
            let d = cx.error(
                step,
                format!("spec.expect.step `{step}` does not name a step (no step has this id)"),
            );
            if let Some(s) = super::load::suggest(step, &ids) {
                d.help = Some(format!("did you mean `{s}`?"));
            }
        }
    }

    // operations
    let mut ops: Vec<(String, &Op)> = Vec::new();
    for (i, step) in s.spec.steps.iter().enumerate() {
        for (block, list) in [
            ("try", &step.try_),
            ("catch", &step.catch),
            ("finally", &step.finally),
        ] {
            for (j, op) in list.iter().enumerate() {
                ops.push((format!("spec.steps[{i}].{block}[{j}]"), op));
            }
        }
    }
    for (block, list) in [("catch", &s.spec.catch), ("finally", &s.spec.finally)] {
        for (j, op) in list.iter().enumerate() {
            ops.push((format!("spec.{block}[{j}]"), op));
        }
    }
    let mut snapshots: BTreeMap<String, String> = BTreeMap::new();
    let mut manifest_paths: Vec<(String, String)> = Vec::new();
    for (at, op) in &ops {
        let mut snapshot = |cx: &mut Ctx, name: &str| {
            if !is_snapshot_name(name) {
                cx.error(
                    name,
                    format!("{at}: snapshot name `{name}` must be lowercase letters, digits, '-' and '_'"),
                );
            }
            if let Some(first) = snapshots.insert(name.to_owned(), at.clone()) {
                cx.error(
                    name,
                    format!("{at}: snapshot name `{name}` is already used at {first}"),
                );
            }
        };
        match op {
            Op::Backend(a) => check_backend(&mut cx, at, a, s),
            Op::Apply(a) => {
                if let Some(ns) = &a.namespace
                    && (!is_dns_label(ns) || ns.len() > 20)
                {
                    cx.error(
                        ns,
                        format!("{at}: apply namespace `{ns}` must be a short DNS label (at most 20 of a-z, 0-9, '-'): it is appended to the scenario namespace"),
                    );
                }
                manifest_paths.push((at.clone(), a.path.clone()));
            }
            Op::Delete(d) => match (&d.path, &d.object) {
                (Some(p), None) => manifest_paths.push((at.clone(), p.clone())),
                (None, Some(_)) => {}
                _ => {
                    cx.error(
                        "delete",
                        format!("{at}: delete needs exactly one of `path` or `object`"),
                    );
                }
            },
            Op::Absent(o) if o.within.is_none() => {
                cx.error(
                    &o.name,
                    format!(
                        "{at}: `absent` needs `within` (how long to wait for `{}` to go)",
                        o.name
                    ),
                );
            }
            Op::Files(f) => {
                if f.snapshot.is_none() && f.expect.is_empty() {
                    cx.error(
                        &f.path,
                        format!("{at}: `files` needs `snapshot`, `expect` or both"),
                    );
                }
                if !f.expect.is_empty() && f.within.is_none() {
                    cx.error(
                        &f.path,
                        format!("{at}: `files` with `expect` needs `within` (its deadline)"),
                    );
                }
                for (file, e) in &f.expect {
                    if let Some(mode) = &e.mode
                        && !(mode.len() == 4
                            && mode.starts_with('0')
                            && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                    {
                        cx.error(
                            mode,
                            format!("{at}: mode `{mode}` of `{file}` must be 4 octal digits, like \"0644\""),
                        );
                    }
                }
                if let Some(n) = &f.snapshot {
                    snapshot(&mut cx, n);
                }
            }
            Op::Exec(e) => {
                if e.command.is_empty() {
                    cx.error("command", format!("{at}: exec `command` is empty"));
                }
                if e.stdout.is_none() && e.snapshot.is_none() {
                    cx.error(
                        "command",
                        format!(
                            "{at}: `exec` needs `stdout`, `snapshot` or both (what does it check?)"
                        ),
                    );
                }
                if let Some(n) = &e.snapshot {
                    snapshot(&mut cx, n);
                }
            }
            Op::Journal(j) => {
                if let (Some(lo), Some(hi)) = (j.at_least, j.at_most)
                    && lo > hi
                {
                    cx.error(
                        &j.operation,
                        format!("{at}: journal atLeast {lo} is more than atMost {hi}"),
                    );
                }
                if let Some(n) = &j.snapshot {
                    snapshot(&mut cx, n);
                }
            }
            Op::Snapshot(sn) => snapshot(&mut cx, &sn.name),
            Op::Assert(a) => {
                let obj = a.object.as_object();
                let has = |k: &str| obj.is_some_and(|o| o.contains_key(k));
                let named = a
                    .object
                    .pointer("/metadata/name")
                    .is_some_and(|n| n.is_string());
                if !has("kind") || !named {
                    cx.error(
                        "assert",
                        format!("{at}: assert.object needs at least `kind` and `metadata.name`"),
                    );
                }
            }
            Op::Event(e) => {
                if let Some(m) = &e.message
                    && let Err(err) = regex_lite::Regex::new(m)
                {
                    cx.error(
                        m,
                        format!("{at}: event message is not a valid pattern: {err}"),
                    );
                }
            }
            Op::Collect(c) if c.is_empty() => {
                cx.error("collect", format!("{at}: collect is empty"));
            }
            _ => {}
        }
    }

    // manifests
    let mut manifest_texts: Vec<(PathBuf, String)> = Vec::new();
    for (at, rel) in &manifest_paths {
        let escapes = Path::new(rel)
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir));
        if escapes {
            cx.error(
                rel,
                format!(
                    "{at}: `{rel}` must stay inside the scenario folder (no '..' or absolute paths)"
                ),
            );
            continue;
        }
        let full = loaded.dir.join(rel);
        if !full.exists() {
            cx.error(
                rel,
                format!(
                    "{at}: manifest path `{rel}` does not exist (relative to {})",
                    loaded.dir.display()
                ),
            );
            continue;
        }
        match manifest_files(&full) {
            Ok(files) if files.is_empty() => {
                cx.error(rel, format!("{at}: `{rel}` holds no *.yaml files"));
            }
            Ok(files) => {
                for f in files {
                    if manifest_texts.iter().any(|(p, _)| *p == f) {
                        continue;
                    }
                    match std::fs::read_to_string(&f) {
                        Ok(text) => {
                            cx.diags.extend(check_manifest(&f, &text));
                            manifest_texts.push((f, text));
                        }
                        Err(e) => {
                            cx.error(rel, format!("{at}: cannot read {}: {e}", f.display()));
                        }
                    }
                }
            }
            Err(e) => {
                cx.error(rel, format!("{at}: cannot list `{rel}`: {e}"));
            }
        }
    }

    // ${var} references: defined for every provider (or built in)
    let mut sources: Vec<(PathBuf, &str)> = vec![(loaded.file.clone(), loaded.source.as_str())];
    sources.extend(manifest_texts.iter().map(|(p, t)| (p.clone(), t.as_str())));
    for (file, text) in sources {
        for (line, col, var) in var_refs(text) {
            if BUILTIN_VARS.contains(&var.as_str()) {
                continue;
            }
            let missing: Vec<String> = s
                .spec
                .providers
                .iter()
                .filter(|p| {
                    s.spec
                        .bindings
                        .get(p)
                        .is_some_and(|b| !b.vars.contains_key(&var))
                })
                .map(|p| p.to_string())
                .collect();
            if !missing.is_empty() {
                let mut d = Diagnostic::new(
                    &file,
                    format!(
                        "`${{{var}}}` is not defined in spec.bindings.<provider>.vars for {}",
                        missing.join(", ")
                    ),
                )
                .at(Some(line), Some(col));
                let mut known: Vec<&str> = BUILTIN_VARS.to_vec();
                for b in s.spec.bindings.values() {
                    known.extend(b.vars.keys().map(String::as_str));
                }
                if let Some(sug) = super::load::suggest(&var, &known) {
                    d = d.help(format!("did you mean `${{{sug}}}`?"));
                }
                cx.diags.push(d);
            }
        }
    }

    cx.diags
}

fn check_backend(cx: &mut Ctx, at: &str, a: &BackendAction, s: &Scenario) {
    match a {
        BackendAction::Run(name) => {
            for p in &s.spec.providers {
                let Some(b) = s.spec.bindings.get(p) else {
                    continue;
                };
                if !b.actions.contains_key(name) {
                    let known: Vec<&str> = b.actions.keys().map(String::as_str).collect();
                    let d = cx.error(
                        name,
                        format!(
                            "{at}: `run: {name}` but spec.bindings.{p}.actions has no `{name}`"
                        ),
                    );
                    if let Some(sug) = super::load::suggest(name, &known) {
                        d.help = Some(format!("did you mean `{sug}`?"));
                    }
                }
            }
        }
        other => {
            if let Some(q) = other.provider()
                && s.spec.providers.iter().any(|p| *p != q)
            {
                let d = cx.error(
                    "backend",
                    format!(
                        "{at}: this action talks to the {q} backend, but the scenario also runs for other providers"
                    ),
                );
                d.help = Some(
                    "put provider-specific actions in spec.bindings.<provider>.actions and call them with `backend: { run: NAME }`"
                        .into(),
                );
            }
        }
    }
}

/// Every document in a manifest file must parse and have `apiVersion`, `kind` and a name.
fn check_manifest(file: &Path, text: &str) -> Vec<Diagnostic> {
    let docs = match serde_saphyr::from_str_multiple::<serde_json::Value, Vec<_>>(text) {
        Ok(docs) => docs,
        Err(e) => {
            let loc = e.location();
            return vec![Diagnostic::new(file, format!("not valid YAML: {e}")).at(
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
            )];
        }
    };
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        for key in ["/apiVersion", "/kind", "/metadata/name"] {
            if !doc.pointer(key).is_some_and(|v| v.is_string()) {
                out.push(Diagnostic::new(
                    file,
                    format!(
                        "document {} has no `{}`",
                        i + 1,
                        &key[1..].replace('/', ".")
                    ),
                ));
            }
        }
        if doc.pointer("/metadata/namespace").is_some() {
            out.push(
                Diagnostic::new(file, format!("document {} sets metadata.namespace", i + 1))
                    .help("leave it out: every scenario runs in its own fresh namespace"),
            );
        }
    }
    out
}

/// `${name}` references in a text, with 1-based line and column. `$${` escapes.
pub fn var_refs(text: &str) -> Vec<(u64, u64, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut j = 0;
        while j + 1 < bytes.len() {
            if bytes[j] == b'$' && bytes.get(j + 1) == Some(&b'$') {
                j += 2;
                continue;
            }
            if bytes[j] == b'$'
                && bytes[j + 1] == b'{'
                && let Some(end) = line[j + 2..].find('}')
            {
                {
                    out.push((
                        i as u64 + 1,
                        j as u64 + 1,
                        line[j + 2..j + 2 + end].to_owned(),
                    ));
                    j += 2 + end;
                    continue;
                }
            }
            j += 1;
        }
    }
    out
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_snapshot_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
