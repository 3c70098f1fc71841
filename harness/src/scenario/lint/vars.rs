//! `${var}`s: each must be defined for every provider (or built in), and the values a run would
//! substitute, so that the manifest checks see what each provider's run applies.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::super::Diagnostic;
use super::super::load::suggest;
use super::super::located::{Node, Seg, YamlPath};
use super::super::model::{Op, Provider};
use super::manifests::Inventory;
use super::{BUILTIN_VARS, Cx};
use crate::runner::vars::Vars;

/// The variables a run for `provider` defines, with stand-ins for the values only a run knows
/// (region, tenant, Vault address). An undefined variable stays as it is written (the
/// `${name}` check reports it).
pub(super) fn for_provider(cx: &Cx, provider: Provider, texts: &[&str]) -> Vars {
    let mut vars = Vars::new();
    for (_, _, name) in texts.iter().flat_map(|t| var_refs(t)) {
        vars.set(&name, format!("${{{name}}}"));
    }
    let name = &cx.s.metadata.name;
    vars.set("namespace", crate::runner::namespace_for(name, provider));
    vars.set("provider", provider.as_str());
    vars.set("scenario", name.as_str());
    vars.set("awsRegion", "us-east-1");
    vars.set("awsAccountId", "111111111111");
    vars.set("awsOidcIssuer", "https://oidc.example/cluster");
    vars.set("azureTenantId", "tenant");
    vars.set("azureVault", "vault");
    vars.set("vaultAddress", "https://vault.example:8200");
    vars.set("awsEndpoint", "http://aws.example:4566");
    vars.set("awsSecretsManagerEndpoint", "http://aws.example:4566");
    vars.set("awsSsmEndpoint", "http://aws.example:4566");
    vars.set("awsStsEndpoint", "http://aws.example:4566");
    vars.set("azureKeyVaultUrl", "https://vault.vault.example:8443/");
    vars.set("azureKeyVaultHost", "vault.vault.example");
    vars.set("azureAuthorityHost", "https://login.example:8443/");
    vars.set("azureLoginHost", "login.example");
    vars.set("emulatorHost", "192.0.2.1");
    if let Some(b) = cx.s.spec.bindings.get(&provider) {
        vars.extend(&b.vars);
    }
    vars
}

/// `value` with `vars` substituted (as a run does), or as it is if that fails.
pub(super) fn expand(vars: &Vars, value: &Value) -> Value {
    vars.expand_value(value).unwrap_or_else(|_| value.clone())
}

/// A string with `vars` substituted.
pub(super) fn expand_str(vars: &Vars, s: &str) -> String {
    vars.expand(s).unwrap_or_else(|_| s.to_owned())
}

/// Where a `${var}` is written: scenario.yaml at a path, or a manifest.
#[derive(Clone, Copy)]
enum Place<'a> {
    Scenario(&'a YamlPath),
    Manifest,
}

/// Whether a captured variable can be used at `place`: after the `capture` that sets it. In
/// scenario.yaml, the operation that holds the reference runs after one of its captures (run
/// order: the steps' try, catch, finally, then spec.catch and spec.finally), or the reference
/// is in a binding action (run by a later `backend: { run }`). A manifest may use any captured
/// variable (the run refuses it when the manifest is applied before the capture).
fn captured_before(cx: &Cx, captures: &[(usize, &str)], var: &str, place: Place) -> bool {
    let mut of_var = captures.iter().filter(|(_, n)| *n == var).peekable();
    if of_var.peek().is_none() {
        return false;
    }
    let path = match place {
        Place::Manifest => return true,
        Place::Scenario(p) => p,
    };
    let actions = |p: &YamlPath| {
        matches!(p.0.as_slice(), [Seg::Key(a), Seg::Key(b), _, Seg::Key(c), ..]
            if a == "spec" && b == "bindings" && c == "actions")
    };
    if actions(path) {
        return true;
    }
    let Some(user) = cx.ops.iter().position(|o| path.0.starts_with(&o.path.0)) else {
        return false;
    };
    of_var.any(|(i, _)| *i < user)
}

pub(super) fn check(cx: &mut Cx, inventory: &Inventory) {
    let captures: Vec<(usize, &str)> = cx
        .ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o.op {
            Op::Capture(c) => Some((i, c.as_.as_str())),
            _ => None,
        })
        .collect();
    let mut sources: Vec<(&Path, &Arc<str>, &Node, bool)> =
        vec![(&cx.loaded.file, &cx.loaded.source, &cx.loaded.tree, true)];
    for f in &inventory.files {
        for d in &f.docs {
            sources.push((&f.path, &f.source, &d.tree, false));
        }
    }
    let mut found = Vec::new();
    for (file, source, tree, is_scenario) in sources {
        let keys = tree.keys_with_paths();
        let scalars = tree.scalars();
        let texts = scalars
            .iter()
            .filter_map(|(p, n)| Some((n.as_str()?, n.pos, p)))
            .chain(keys.iter().map(|(p, k)| (k.name.as_str(), k.pos, p)));
        for (text, start, path) in texts {
            let place = if is_scenario {
                Place::Scenario(path)
            } else {
                Place::Manifest
            };
            for (_, _, var) in var_refs(text) {
                if BUILTIN_VARS.contains(&var.as_str()) {
                    continue;
                }
                if captured_before(cx, &captures, &var, place) {
                    continue;
                }
                let missing: Vec<String> =
                    cx.s.spec
                        .providers
                        .iter()
                        .filter(|p| {
                            cx.s.spec
                                .bindings
                                .get(p)
                                .is_some_and(|b| !b.vars.contains_key(&var))
                        })
                        .map(|p| p.to_string())
                        .collect();
                if missing.is_empty() {
                    continue;
                }
                // The reference itself, at or after the scalar's start.
                let needle = format!("${{{var}}}");
                let mut pos = start;
                if let Some(i) = source.get(pos.offset..).and_then(|rest| rest.find(&needle)) {
                    let offset = pos.offset + i;
                    let before = &source[..offset];
                    pos.line = before.matches('\n').count() as u64 + 1;
                    pos.column = before[before.rfind('\n').map_or(0, |n| n + 1)..]
                        .chars()
                        .count() as u64
                        + 1;
                    pos.offset = offset;
                    pos.len = needle.len();
                }
                let later = captures.iter().find(|(_, n)| *n == var);
                if let Some((i, _)) = later {
                    let line = cx.loaded.tree.find(&cx.ops[*i].path).line;
                    found.push(
                        Diagnostic::new(
                            file,
                            format!("`${{{var}}}` is used before it is captured (at line {line})"),
                        )
                        .pos(source, pos)
                        .label("not captured yet")
                        .help("move the `capture` before this step, or use the variable after it"),
                    );
                    continue;
                }
                let mut d = Diagnostic::new(
                    file,
                    format!(
                        "`${{{var}}}` is not defined in spec.bindings.<provider>.vars for {}",
                        missing.join(", ")
                    ),
                )
                .pos(source, pos)
                .label("undefined");
                let mut known: Vec<&str> = BUILTIN_VARS.to_vec();
                for b in cx.s.spec.bindings.values() {
                    known.extend(b.vars.keys().map(String::as_str));
                }
                known.extend(captures.iter().map(|(_, n)| *n));
                known.sort_unstable();
                known.dedup();
                d = match suggest(&var, &known) {
                    Some(sug) => d.help(format!("did you mean `${{{sug}}}`?")),
                    None => d.help(format!(
                        "define it in spec.bindings.<provider>.vars, capture it with `capture: {{ as: {var}, ... }}`, or use a built-in: {}",
                        BUILTIN_VARS.join(", ")
                    )),
                };
                found.push(d);
            }
        }
    }
    cx.diags.extend(found);
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
                out.push((
                    i as u64 + 1,
                    j as u64 + 1,
                    line[j + 2..j + 2 + end].to_owned(),
                ));
                j += 2 + end;
                continue;
            }
            j += 1;
        }
    }
    out
}
