//! The manifests a scenario applies: the paths in `apply` / `delete` exist inside the folder,
//! every document is a Kubernetes object without a namespace that fits its kind's schema
//! ([`super::kube`]), and what is applied where is recorded for the reference checks.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::super::Diagnostic;
use super::super::load::{suggest, yaml_error};
use super::super::located::{Node, YamlPath};
use super::super::model::Op;
use super::{Cx, kube, vars};

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

/// One manifest file, parsed.
pub(super) struct ManifestFile {
    pub path: PathBuf,
    pub source: Arc<str>,
    pub docs: Vec<Doc>,
}

/// One object of a manifest file: its located tree and its value.
pub(super) struct Doc {
    pub tree: Node,
    pub value: Value,
}

impl ManifestFile {
    /// A finding at `path` inside document `doc`.
    pub fn at(&self, doc: usize, path: &YamlPath, message: impl Into<String>) -> Diagnostic {
        let pos = self
            .docs
            .get(doc)
            .map(|d| d.tree.find(path))
            .unwrap_or_default();
        Diagnostic::new(&self.path, message).pos(&self.source, pos)
    }

    /// A finding at the key ending `path` inside document `doc`.
    pub fn at_key(&self, doc: usize, path: &YamlPath, message: impl Into<String>) -> Diagnostic {
        let pos = self
            .docs
            .get(doc)
            .map(|d| d.tree.find_key(path))
            .unwrap_or_default();
        Diagnostic::new(&self.path, message).pos(&self.source, pos)
    }
}

/// An object a step applies, and the namespace it goes to (`None`: the scenario's own;
/// `Some(x)`: `apply: { namespace: x }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Applied {
    pub file: usize,
    pub doc: usize,
    pub namespace: Option<String>,
}

/// Every manifest the scenario names, and what it applies where.
#[derive(Default)]
pub(super) struct Inventory {
    pub files: Vec<ManifestFile>,
    pub applied: Vec<Applied>,
    /// Every manifest path resolved and parsed: without that, a reference to a missing object
    /// may only be a consequence, so the reference checks stay quiet.
    pub complete: bool,
}

impl Inventory {
    pub fn load(cx: &mut Cx) -> Inventory {
        let mut inv = Inventory {
            complete: true,
            ..Inventory::default()
        };
        let targets: Vec<(YamlPath, String, Option<Option<String>>)> = cx
            .ops
            .iter()
            .filter_map(|o| match o.op {
                Op::Apply(a) => Some((
                    o.path.key("apply").key("path"),
                    a.path.clone(),
                    Some(a.namespace.clone()),
                )),
                Op::Delete(d) => d
                    .path
                    .as_ref()
                    .map(|p| (o.path.key("delete").key("path"), p.clone(), None)),
                _ => None,
            })
            .collect();
        for (at, rel, applied_into) in targets {
            let Some(files) = resolve(cx, &at, &rel) else {
                inv.complete = false;
                continue;
            };
            for path in files {
                let index = match inv.files.iter().position(|f| f.path == path) {
                    Some(i) => Some(i),
                    None => read(cx, &path).map(|f| {
                        inv.files.push(f);
                        inv.files.len() - 1
                    }),
                };
                if index.is_none() {
                    inv.complete = false;
                }
                let (Some(index), Some(namespace)) = (index, &applied_into) else {
                    continue;
                };
                for doc in 0..inv.files[index].docs.len() {
                    let a = Applied {
                        file: index,
                        doc,
                        namespace: namespace.clone(),
                    };
                    if !inv.applied.contains(&a) {
                        inv.applied.push(a);
                    }
                }
            }
        }
        for f in &inv.files {
            check_objects(cx, f);
        }
        inv
    }

    /// The objects applied into `namespace`, as (file, doc index, value).
    pub fn objects_in<'a>(
        &'a self,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ManifestFile, usize, &'a Value)> + 'a {
        self.applied
            .iter()
            .filter(move |a| a.namespace.as_deref() == namespace)
            .filter_map(|a| {
                let f = self.files.get(a.file)?;
                Some((f, a.doc, &f.docs.get(a.doc)?.value))
            })
    }

    /// Every namespace something is applied into (`None` first).
    pub fn namespaces(&self) -> Vec<Option<&str>> {
        let mut out: Vec<Option<&str>> = vec![None];
        for a in &self.applied {
            if !out.contains(&a.namespace.as_deref()) {
                out.push(a.namespace.as_deref());
            }
        }
        out
    }
}

/// The files a manifest path stands for, or a finding.
fn resolve(cx: &mut Cx, at: &YamlPath, rel: &str) -> Option<Vec<PathBuf>> {
    let escapes = Path::new(rel)
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::RootDir));
    if escapes {
        cx.push(
            cx.at(
                at,
                format!("`{rel}` must stay inside the scenario folder (no '..' or absolute paths)"),
            )
            .label("outside the folder")
            .help("copy the manifest into this scenario's folder"),
        );
        return None;
    }
    let dir = &cx.loaded.dir;
    let full = dir.join(rel);
    if !full.exists() {
        // Folders as the path names them: with a trailing '/' when it has one.
        let slash = rel.ends_with('/');
        let candidates: Vec<String> = folder_entries(dir)
            .into_iter()
            .filter(|c| !dir.join(c).is_dir() || c.ends_with('/') == slash)
            .collect();
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let mut d = cx
            .at(
                at,
                format!(
                    "manifest path `{rel}` does not exist (relative to {})",
                    dir.display()
                ),
            )
            .label("no such file or folder");
        d = match suggest(rel, &refs) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("paths are relative to the scenario folder"),
        };
        cx.push(d);
        return None;
    }
    match manifest_files(&full) {
        Ok(files) if files.is_empty() => {
            cx.push(
                cx.at(at, format!("`{rel}` holds no *.yaml files"))
                    .label("nothing to apply")
                    .help("manifests are `*.yaml` or `*.yml` files; name a file or a folder holding some"),
            );
            None
        }
        Ok(files) => Some(files),
        Err(e) => {
            cx.push(
                cx.at(at, format!("cannot list `{rel}`: {e}"))
                    .help("check the folder's permissions"),
            );
            None
        }
    }
}

/// The files and folders (with a trailing '/') under a scenario folder, relative to it.
fn folder_entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            let Ok(rel) = p.strip_prefix(dir) else {
                continue;
            };
            let rel = rel.display().to_string();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                out.push(rel);
                stack.push(p);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn read(cx: &mut Cx, path: &Path) -> Option<ManifestFile> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            cx.push(
                Diagnostic::new(path, format!("cannot read: {e}"))
                    .help("check the file's permissions and that it is UTF-8 text"),
            );
            return None;
        }
    };
    let source: Arc<str> = Arc::from(text.as_str());
    let parsed = Node::parse_all(&text).and_then(|trees| {
        serde_saphyr::from_str_multiple::<Value, Vec<_>>(&text).map(|values| (trees, values))
    });
    let (trees, values) = match parsed {
        Ok(p) => p,
        Err(e) => {
            cx.push(yaml_error(path, &source, &e));
            return None;
        }
    };
    let docs = trees
        .into_iter()
        .zip(values)
        .filter(|(_, v)| !v.is_null())
        .map(|(tree, value)| Doc { tree, value })
        .collect();
    Some(ManifestFile {
        path: path.to_owned(),
        source,
        docs,
    })
}

/// Each document: an object with apiVersion, kind and a name, no namespace, fitting its schema
/// for every provider's variables.
fn check_objects(cx: &mut Cx, f: &ManifestFile) {
    let root = YamlPath::root();
    for (i, doc) in f.docs.iter().enumerate() {
        let mut complete = true;
        for key in ["apiVersion", "kind", "metadata.name"] {
            let present = doc
                .value
                .pointer(&format!("/{}", key.replace('.', "/")))
                .is_some_and(Value::is_string);
            if !present {
                complete = false;
                cx.push(
                    f.at(i, &root, format!("document {} has no `{key}`", i + 1))
                        .label(format!("`{key}` missing"))
                        .help("every document is a Kubernetes object: apiVersion, kind, metadata.name"),
                );
            }
        }
        if doc.value.pointer("/metadata/namespace").is_some() {
            cx.push(
                f.at_key(
                    i,
                    &YamlPath::parse("metadata.namespace"),
                    format!("document {} sets metadata.namespace", i + 1),
                )
                .label("set by the run")
                .help("leave it out: every scenario runs in its own fresh namespace (and `apply: { namespace }` picks a second one)"),
            );
        }
        if !complete {
            continue;
        }
        let texts = [f.source.as_ref()];
        for p in cx.s.spec.providers.clone() {
            let vars = vars::for_provider(cx, p, &texts);
            let value = vars::expand(&vars, &doc.value);
            for issue in kube::check(&value) {
                let d = if issue.at_key {
                    f.at_key(i, &issue.path, issue.message)
                } else {
                    f.at(i, &issue.path, issue.message)
                };
                let mut d = d.label(issue.label).code("kubernetes-schema");
                if let Some(h) = issue.help {
                    d = d.help(h);
                }
                cx.push(d);
            }
        }
    }
}
