//! Stored snapshots (`snapshots/<name>@<provider>.snap`, and `.snap.new` awaiting review) must
//! belong to a snapshot of the scenario and a provider it runs for: a renamed snapshot or a
//! dropped provider leaves a file nothing compares any more. Each must also carry insta's
//! header, which `cargo insta review` reads.

use std::collections::BTreeSet;

use super::super::Diagnostic;
use super::super::load::suggest;
use super::super::model::Op;
use super::Cx;

/// The snapshot names the scenario records.
pub(super) fn names(cx: &Cx) -> BTreeSet<String> {
    cx.ops
        .iter()
        .filter_map(|o| match o.op {
            Op::Files(f) => f.snapshot.clone(),
            Op::Exec(e) => e.snapshot.clone(),
            Op::Journal(j) => j.snapshot.clone(),
            Op::Snapshot(s) => Some(s.name.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn check(cx: &mut Cx) {
    let dir = cx.loaded.dir.join("snapshots");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let names = names(cx);
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let providers: Vec<&str> = cx.s.spec.providers.iter().map(|p| p.as_str()).collect();
    let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if file.starts_with('.') || path.is_dir() {
            continue;
        }
        let Some(stem) = file
            .strip_suffix(".snap.new")
            .or_else(|| file.strip_suffix(".snap"))
        else {
            cx.push(
                Diagnostic::new(
                    &path,
                    "not a snapshot: snapshots/ holds `<name>@<provider>.snap` files only",
                )
                .help("move it elsewhere in the scenario folder, or remove it"),
            );
            continue;
        };
        let Some((name, provider)) = stem.rsplit_once('@') else {
            cx.push(
                Diagnostic::new(
                    &path,
                    format!("snapshot file `{file}` is not named `<name>@<provider>.snap`"),
                )
                .help("the runner writes and reads `<snapshot name>@<provider>.snap`"),
            );
            continue;
        };
        if !names.contains(name) {
            let mut help = match suggest(name, &name_refs) {
                Some(s) => format!("was it renamed to `{s}`? "),
                None => String::new(),
            };
            help.push_str(&format!(
                "remove this file (the scenario's snapshots: {})",
                if name_refs.is_empty() {
                    "none".to_owned()
                } else {
                    name_refs.join(", ")
                }
            ));
            cx.push(
                Diagnostic::new(
                    &path,
                    format!("stray snapshot: the scenario records no snapshot named `{name}`"),
                )
                .code("stray-snapshot")
                .help(help),
            );
            continue;
        }
        if !providers.contains(&provider) {
            cx.push(
                Diagnostic::new(
                    &path,
                    format!("stray snapshot: the scenario does not run for provider `{provider}`"),
                )
                .code("stray-snapshot")
                .help(format!(
                    "remove this file, or add `{provider}` to spec.providers (it runs for: {})",
                    providers.join(", ")
                )),
            );
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) if has_insta_header(&text) => {}
            Ok(_) => cx.push(
                Diagnostic::new(&path, "snapshot file has no insta header (`---`, `source:`, `expression:`, `---`)")
                    .help("let the runner write it (`secretbench run --update-snapshots`), or restore the header"),
            ),
            Err(e) => cx.push(
                Diagnostic::new(&path, format!("cannot read: {e}"))
                    .help("check the file's permissions"),
            ),
        }
    }
}

/// `---`, header lines (`key: value`), `---`: what insta's snapshot reader expects.
fn has_insta_header(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("---\n") else {
        return false;
    };
    let Some(end) = rest.find("\n---\n") else {
        return false;
    };
    rest[..end]
        .lines()
        .all(|l| l.starts_with(' ') || l.split_once(": ").is_some() || l.ends_with(':'))
}
