//! A `repro new` scaffold still holding its placeholders (`TODO: ...`, the
//! `https://github.com/OWNER/REPO/issues/NUMBER` link) is not a report yet.

use std::path::Path;
use std::sync::Arc;

use super::super::Diagnostic;
use super::super::located::{Node, Pos};
use super::Cx;
use super::manifests::Inventory;

const HELP: &str = "`repro new` left this for you to fill in: replace it with what the report says";

/// A placeholder in a string value.
fn placeholder(text: &str) -> Option<&'static str> {
    if text.contains("OWNER/REPO") || text.contains("/issues/NUMBER") {
        Some("OWNER/REPO/NUMBER")
    } else if text
        .match_indices("TODO")
        .any(|(i, _)| !text[i + 4..].starts_with(|c: char| c.is_ascii_alphanumeric()))
    {
        Some("TODO")
    } else {
        None
    }
}

fn scan(file: &Path, source: &Arc<str>, tree: &Node, out: &mut Vec<Diagnostic>) {
    for (path, node) in tree.scalars() {
        let Some(text) = node.as_str() else { continue };
        if let Some(what) = placeholder(text) {
            out.push(
                Diagnostic::new(file, format!("`{path}` still holds the placeholder {what}"))
                    .pos(source, node.pos)
                    .label("fill this in")
                    .code("unfilled-placeholder")
                    .help(HELP),
            );
        }
    }
}

pub(super) fn check(cx: &mut Cx, inventory: &Inventory) {
    let mut out = Vec::new();
    scan(
        &cx.loaded.file,
        &cx.loaded.source,
        &cx.loaded.tree,
        &mut out,
    );
    for f in &inventory.files {
        for d in &f.docs {
            scan(&f.path, &f.source, &d.tree, &mut out);
        }
    }
    // The scaffold's README: its `TODO:` lines.
    let readme = cx.loaded.dir.join("README.md");
    if let Ok(text) = std::fs::read_to_string(&readme) {
        let source: Arc<str> = Arc::from(text.as_str());
        for (i, line) in text.lines().enumerate() {
            let Some(col) = line.find("TODO:") else {
                continue;
            };
            out.push(
                Diagnostic::new(&readme, "README.md still holds a TODO")
                    .pos(&source, Pos::at(&text, i as u64 + 1, col as u64 + 1, 5))
                    .label("fill this in")
                    .code("unfilled-placeholder")
                    .help(HELP),
            );
        }
    }
    cx.diags.extend(out);
}
